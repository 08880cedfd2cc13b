//! `--standardize`: fit on column z-scores, report in the original units.
//!
//! The model fitted to z = (x − m) / s is brought back with
//! [`gmm::Standardization::to_original`] (μ = m + s∘μ_z, Σ = S Σ_z S), and the
//! log-likelihood trace moves by −N Σ_j log s_j, so that the summary, the JSON report, the
//! criteria and the model file are all in the units of the data: `em predict` reads raw
//! data with it. A spherical covariance is refused: σ²I on z-scores is σ² diag(s)² in the
//! original units, which is not spherical, so the model could be neither reported nor saved
//! as the structure that was asked for.

use em_core::{EmError, Fitted};
use gmm::{CovarianceType, GaussianMixture, Standardization, StandardizeError};
use nalgebra::DMatrix;

use crate::data::Table;
use crate::error::CliError;

/// The refusal of `--standardize` with a spherical covariance.
pub fn spherical_refused() -> CliError {
    CliError::bad_input(
        "--standardize cannot be used with a spherical covariance: σ²I fitted on z-scores is \
         σ² diag(s)² in the original units (s the column standard deviations), which is not \
         spherical, so the model could not be reported or saved in the units of the data; \
         use --covariance diag (one variance per column), or fit without --standardize",
    )
}

/// The column z-scores of `table`: the standardisation and the standardised data.
///
/// # Errors
/// Bad input naming a constant column (it has no z-score) and how to leave it out.
pub fn of(table: &Table) -> Result<(Standardization, DMatrix<f64>), CliError> {
    let bad = |e: StandardizeError| match e {
        StandardizeError::ConstantColumn { column, value } => {
            let name = table
                .columns
                .get(column)
                .cloned()
                .unwrap_or_else(|| (column + 1).to_string());
            CliError::bad_input(format!(
                "--standardize: column {name:?} of {} is constant (every value is {value}), so \
                 it has no z-score; leave it out with --drop {name}",
                table.source
            ))
        }
        other => CliError::bad_input(format!("--standardize: {} ({other})", table.source)),
    };
    let st = Standardization::of(&table.x).map_err(bad)?;
    let z = st.apply(&table.x).map_err(bad)?;
    Ok((st, z))
}

/// A fit on z-scores in the original units: the model transformed, the trace of
/// log-likelihoods moved by the log-Jacobian over the values observed in `x`.
///
/// # Errors
/// As [`gmm::GaussianMixture::affine_transform`] (a spherical model with unequal scales).
pub fn to_original(
    st: &Standardization,
    mut fitted: Fitted<GaussianMixture>,
    x: &DMatrix<f64>,
) -> Result<Fitted<GaussianMixture>, EmError> {
    fitted.model = st.to_original(&fitted.model)?;
    let shift = st.log_likelihood_shift_of(x);
    for v in &mut fitted.report.trace {
        *v += shift;
    }
    Ok(fitted)
}

/// Whether `--standardize` can fit `kind`.
pub fn allows(kind: CovarianceType) -> bool {
    kind != CovarianceType::Spherical
}
