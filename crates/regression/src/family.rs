//! What the typed model needs from a family of K regressions beyond the
//! [`em_family::Family`] contract: its settings, coefficients, raw parameter vector and the
//! draw of a response at a given design row.

use em_core::EmError;
use em_family::Family;
use nalgebra::DMatrix;
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::data::RegressionData;

/// A family of K regressions of one response distribution on a design matrix: the
/// [`Family`] the mixture engine fits, plus what [`RegressionMixture`](crate::RegressionMixture)
/// and [`Start`](crate::Start) need. Implemented by
/// [`GaussianRegressions`](crate::GaussianRegressions) and
/// [`PoissonRegressions`](crate::PoissonRegressions).
pub trait RegressionFamily:
    Family<Data = RegressionData, Owned = RegressionData> + PartialEq + Serialize + DeserializeOwned
{
    /// Settings that are not parameters (variance rule and floor, Newton iterations …),
    /// carried from the start through every M-step.
    type Settings: Clone + std::fmt::Debug + Default + PartialEq + Send + Sync;

    /// The response distribution's name in model files (`"gaussian"`, `"poisson"`).
    const RESPONSE: &'static str;

    /// K components on P design columns with the given settings and placeholder parameters
    /// (β = 0, σ² = 1), to accumulate the statistics of a start with.
    fn placeholder(settings: &Self::Settings, n_components: usize, n_predictors: usize) -> Self;

    /// The settings.
    fn settings(&self) -> &Self::Settings;

    /// The coefficients β as a K×P matrix (row k: component k).
    fn coefficients(&self) -> &DMatrix<f64>;

    /// The raw parameters of all K components, component by component (β_k, then the
    /// component's other parameters).
    fn parameters(&self) -> Vec<f64>;

    /// The family with the raw parameters `theta` (as [`parameters`](Self::parameters)
    /// returns them) and the same settings.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `theta` for a vector of the wrong length, a
    /// non-finite value or a value outside the parameter space.
    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError>;

    /// The value the k-means start clusters on for a response `y` (y itself, log(1 + y) for
    /// counts).
    fn kmeans_response(y: f64) -> f64 {
        y
    }

    /// E[y | x, z = k] at the linear predictor η = xᵀβ_k (η itself for the identity link,
    /// exp η for the log link).
    fn mean(&self, eta: f64) -> f64;

    /// Draws y | x, z = k at the linear predictor η = xᵀβ_k.
    fn draw_response<R: Rng + ?Sized>(&self, k: usize, eta: f64, rng: &mut R) -> f64;
}

/// `Err(InvalidParameter { name: "theta", … })` unless `theta` has `expected` finite values.
pub(crate) fn check_theta(theta: &[f64], expected: usize) -> Result<(), EmError> {
    if theta.len() != expected {
        return Err(EmError::InvalidParameter {
            name: "theta",
            reason: format!("expected {expected} values, got {}", theta.len()),
        });
    }
    if let Some((i, v)) = theta.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EmError::InvalidParameter {
            name: "theta",
            reason: format!("entry {i} is {v}"),
        });
    }
    Ok(())
}

/// Checks a K×P coefficient matrix: K ≥ 1, P ≥ 1, every value finite.
pub(crate) fn check_coefficients(coefficients: &DMatrix<f64>) -> Result<(), EmError> {
    if coefficients.nrows() == 0 || coefficients.ncols() == 0 {
        return Err(EmError::InvalidParameter {
            name: "coefficients",
            reason: format!(
                "a {}×{} matrix: at least one component (row) and one design column are needed",
                coefficients.nrows(),
                coefficients.ncols()
            ),
        });
    }
    for k in 0..coefficients.nrows() {
        for j in 0..coefficients.ncols() {
            let v = coefficients[(k, j)];
            if !v.is_finite() {
                return Err(EmError::InvalidParameter {
                    name: "coefficients",
                    reason: format!("coefficient {j} of component {k} is {v}"),
                });
            }
        }
    }
    Ok(())
}

/// The checks every family makes of a batch: the number of design columns, and rows within
/// the data (values were checked when the data were built).
pub(crate) fn check_design(
    n_predictors: usize,
    data: &RegressionData,
    rows: std::ops::Range<usize>,
) -> Result<(), EmError> {
    em_family::check_batch_shape(n_predictors, data.n_predictors(), &rows, data.n_obs())
}

/// Coefficient matrix from rows (model files store one row per component).
pub(crate) fn coefficients_from_rows(rows: &[Vec<f64>]) -> Result<DMatrix<f64>, EmError> {
    let k = rows.len();
    let p = rows.first().map_or(0, Vec::len);
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != p) {
        return Err(EmError::InvalidParameter {
            name: "coefficients",
            reason: format!(
                "component {i} has {} coefficients but component 0 has {p}",
                r.len()
            ),
        });
    }
    let m = DMatrix::from_fn(k, p, |i, j| rows[i][j]);
    check_coefficients(&m)?;
    Ok(m)
}

/// Coefficient matrix as rows.
pub(crate) fn coefficients_to_rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    (0..m.nrows())
        .map(|k| m.row(k).iter().copied().collect())
        .collect()
}
