//! Per-observation sample weights: the E-step multiplies each row's responsibilities, log-
//! likelihood and entropy by its weight, so the objective is Σ_i w_i log p(x_i) and EM still
//! maximises it (an integer weight acts exactly like repeating the row).

use std::ops::Range;

use em_core::labelled::check_row_labels;
use em_core::{EStep, EmError, LabelledEStep, LatentModel};
use nalgebra::DMatrix;

use crate::gaussian::GaussianStats;
use crate::mixture::GaussianMixture;

/// A [`GaussianMixture`] fitted with per-row sample weights (the EM problem the builder's
/// `fit_weighted` solves; exposed so the invariant checker can run on it too).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleWeighted<'w> {
    /// The mixture being fitted.
    pub model: GaussianMixture,
    /// One weight per row of the data, or `None` for unit weights.
    pub sample_weight: Option<&'w [f64]>,
}

impl<'w> SampleWeighted<'w> {
    /// The sample weights of the rows `rows` of `x`, after checking the data's width and the
    /// number of weights.
    fn batch_weights(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
    ) -> Result<Option<&'w [f64]>, EmError> {
        if x.ncols() != self.model.n_features() {
            return Err(EmError::DimensionMismatch {
                expected: self.model.n_features(),
                found: x.ncols(),
            });
        }
        match self.sample_weight {
            Some(w) if w.len() != x.nrows() => Err(EmError::InvalidParameter {
                name: "sample_weight",
                reason: format!(
                    "expected {} weights (one per row), got {}",
                    x.nrows(),
                    w.len()
                ),
            }),
            Some(w) => w
                .get(rows.clone())
                .map(Some)
                .ok_or_else(|| EmError::InvalidParameter {
                    name: "rows",
                    reason: format!("rows {rows:?} are not within the data's {} rows", x.nrows()),
                }),
            None => Ok(None),
        }
    }
}

/// Labelled rows with sample weights: a labelled row's one-hot responsibilities, and its
/// log p(x_i, z_i = k), are multiplied by its weight as an unlabelled row's are.
impl LabelledEStep for SampleWeighted<'_> {
    type Label = Option<usize>;

    fn e_step_labelled(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        labels: &[Option<usize>],
    ) -> Result<EStep<GaussianStats>, EmError> {
        let weights = self.batch_weights(x, rows.clone())?;
        self.model
            .as_mixture()
            .e_step_labelled(x, rows, labels, weights)
    }

    fn check_labels(&self, x: &DMatrix<f64>, labels: &[Option<usize>]) -> Result<(), EmError> {
        check_row_labels(labels, x.nrows(), self.model.n_components())
    }
}

impl LatentModel for SampleWeighted<'_> {
    type Data = DMatrix<f64>;
    type Stats = GaussianStats;

    fn e_step(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
    ) -> Result<EStep<GaussianStats>, EmError> {
        let weights = self.batch_weights(x, rows.clone())?;
        self.model.e_step_weighted(x, rows, weights)
    }

    fn m_step(&mut self, stats: &GaussianStats) -> Result<(), EmError> {
        self.model.m_step(stats)
    }

    fn expected_complete_log_likelihood(&self, stats: &GaussianStats) -> f64 {
        self.model.expected_complete_log_likelihood(stats)
    }

    /// The mixture's weights, means and covariances with their scales
    /// ([`Gaussians::scaled_parameters`](em_family::gaussian::Gaussians::scaled_parameters)).
    fn scaled_parameters(&self) -> Option<em_core::ScaledParameters> {
        self.model.scaled_parameters()
    }

    fn log_prior(&self) -> f64 {
        self.model.log_prior()
    }
}
