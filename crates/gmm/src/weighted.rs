//! Per-observation sample weights: the E-step multiplies each row's responsibilities, log-
//! likelihood and entropy by its weight, so the objective is Σ_i w_i log p(x_i) and EM still
//! maximises it (an integer weight acts exactly like repeating the row).

use std::ops::Range;

use em_core::{EStep, EmError, LatentModel};
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

impl LatentModel for SampleWeighted<'_> {
    type Data = DMatrix<f64>;
    type Stats = GaussianStats;

    fn e_step(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
    ) -> Result<EStep<GaussianStats>, EmError> {
        if x.ncols() != self.model.n_features() {
            return Err(EmError::DimensionMismatch {
                expected: self.model.n_features(),
                found: x.ncols(),
            });
        }
        let weights = match self.sample_weight {
            Some(w) if w.len() != x.nrows() => {
                return Err(EmError::InvalidParameter {
                    name: "sample_weight",
                    reason: format!(
                        "expected {} weights (one per row), got {}",
                        x.nrows(),
                        w.len()
                    ),
                });
            }
            Some(w) => Some(&w[rows.clone()]),
            None => None,
        };
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
