//! The score check: the analytic gradient of a [`Differentiable`] model (Fisher's identity)
//! against central differences of its log-likelihood.

use std::cmp::Ordering;
use std::fmt;

use crate::EmError;
use crate::chunked::{DEFAULT_CHUNK_SIZE, chunked_log_likelihood};
use crate::gradient::{Differentiable, score};

/// What [`check_score`] saw: per coordinate, the analytic score and the central difference of
/// the objective (log-likelihood + log-prior).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreCheck {
    /// The coordinates' names.
    pub names: Vec<String>,
    /// ∇ℓ by Fisher's identity ([`score`]).
    pub analytic: Vec<f64>,
    /// (ℓ(η + h e_j) − ℓ(η − h e_j)) / 2h.
    pub numeric: Vec<f64>,
    /// The error the central differences themselves allow, per coordinate: the rounding of
    /// the objective divided by the step, plus the step's truncation, estimated from the
    /// difference between steps h and 2h.
    pub allowance: Vec<f64>,
}

impl ScoreCheck {
    /// The coordinates whose analytic and numeric scores differ by more than
    /// `relative · max(|analytic|, |numeric|, 1) + allowance`.
    pub fn failures(&self, relative: f64) -> Vec<usize> {
        (0..self.names.len())
            .filter(|&j| {
                let (a, n) = (self.analytic[j], self.numeric[j]);
                let allowed = relative * a.abs().max(n.abs()).max(1.0) + self.allowance[j];
                // A NaN on either side fails too.
                !matches!(
                    (a - n).abs().partial_cmp(&allowed),
                    Some(Ordering::Less | Ordering::Equal)
                )
            })
            .collect()
    }
}

impl fmt::Display for ScoreCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for j in 0..self.names.len() {
            writeln!(
                f,
                "{:<28} analytic {:>+.12e}  numeric {:>+.12e}  (allowance {:.1e})",
                self.names[j], self.analytic[j], self.numeric[j], self.allowance[j]
            )?;
        }
        Ok(())
    }
}

/// Compares the model's score with central differences of its objective along every
/// coordinate, with step h_j = `step` · max(1, |η_j|).
///
/// ```
/// use em_core::testing::check_score;
/// # fn run<M: em_core::Differentiable>(model: &M, data: &M::Data) -> Result<(), em_core::EmError> {
/// let check = check_score(model, data, 1e-5)?;
/// assert!(check.failures(1e-6).is_empty(), "{check}");
/// # Ok(()) }
/// ```
///
/// # Errors
/// The model's E-step, likelihood and coordinate errors.
pub fn check_score<M: Differentiable>(
    model: &M,
    data: &M::Data,
    step: f64,
) -> Result<ScoreCheck, EmError> {
    let eta = model.coordinates()?;
    let analytic = score(model, data)?.gradient;
    let objective = |delta: f64, j: usize| -> Result<f64, EmError> {
        let mut moved = eta.clone();
        moved[j] += delta;
        let mut m = model.clone();
        m.set_coordinates(&moved)?;
        Ok(chunked_log_likelihood(&m, data, DEFAULT_CHUNK_SIZE)? + m.log_prior())
    };
    let centre = chunked_log_likelihood(model, data, DEFAULT_CHUNK_SIZE)? + model.log_prior();
    let mut numeric = Vec::with_capacity(eta.len());
    let mut allowance = Vec::with_capacity(eta.len());
    for (j, value) in eta.iter().enumerate() {
        let h = step * value.abs().max(1.0);
        let near = (objective(h, j)? - objective(-h, j)?) / (2.0 * h);
        let far = (objective(2.0 * h, j)? - objective(-2.0 * h, j)?) / (4.0 * h);
        numeric.push(near);
        // Truncation error of the near difference is a quarter of the far one's, so
        // (far − near) / 3 estimates it; rounding of ℓ is ~1e-15 |ℓ| per evaluation.
        allowance.push((far - near).abs() / 3.0 * 2.0 + 1e-14 * centre.abs() / h);
    }
    Ok(ScoreCheck {
        names: model.coordinate_names(),
        analytic,
        numeric,
        allowance,
    })
}
