//! Accelerated EM (SQUAREM) for the bundled models: their parameters as one vector of reals,
//! [`ParameterVector`], so that [`Em::accelerate`](em_core::Em::accelerate) and the
//! builder's [`accelerate`](crate::GaussianMixtureBuilder::accelerate) option can extrapolate
//! EM steps.
//!
//! # The coordinates of a [`GaussianMixture`]
//!
//! The vector holds the parameters **raw**, in the order
//!
//! 1. the K **weights** π_k;
//! 2. the K·D **means**, component by component (row k = μ_k);
//! 3. the **covariances** in the compact form of their structure: for `full` each component's
//!    matrix Σ_k row by row, lower triangle only (Σ_ij for j ≤ i, D(D+1)/2 values); for
//!    `tied` the same for the one shared matrix; for `diag` the K·D variances σ²_kj; for
//!    `spherical` the K variances σ²_k.
//!
//! Length K + K·D + the structure's [`n_parameters`](crate::CovarianceType::n_parameters), one
//! more than [`GaussianMixture::n_parameters`] (the weights are not reduced to K − 1 free ones).
//!
//! [`ParameterVector::set_parameters`] accepts exactly what [`GaussianMixture::new`] accepts:
//! it rejects, with a typed error, a vector of the wrong length, a non-finite entry, a weight
//! ≤ 0, weights that do not sum to 1 within 1e-8 (an extrapolation is an affine combination of
//! EM iterates, so its weights sum to 1 up to rounding), and a covariance that is not positive
//! definite or has collapsed below the rounding resolution of its mean (the Cholesky checks of
//! the M-step). The SQUAREM guard then falls back to the plain EM step.
//!
//! **Why raw, not unconstrained.** Log-ratio weights and log-Cholesky covariances make every
//! finite vector valid, so no extrapolation is ever *invalid*; but a straight line in those
//! coordinates is a curve in the mixture's own parameters, the long steps SQUAREM takes
//! (s = 4, 16, 64 …) magnify that curvature, and more extrapolations are then rejected for
//! *lowering the objective*. The EM map of a mixture is an average of sufficient statistics —
//! close to linear in the raw weights, means and covariances — and SQUAREM's linear
//! extrapolation fits it best there (Varadhan & Roland apply it to raw mixture parameters; the
//! em-core Hasselblad test does too). Measured on twelve slowly converging 2-D mixtures
//! (K = 2 and 3, full and diag, n = 3000, scikit-learn's rule at `tol = 1e-10`): 3,170 E-steps and 90 fallbacks in
//! raw coordinates against 3,520 E-steps and 284 fallbacks in log-ratio/log-Cholesky
//! coordinates, and 23,443 for plain EM (`coordinates_raw_vs_unconstrained` in
//! `tests/squarem.rs`, ignored by default; run it with `--ignored --nocapture`). An invalid
//! raw extrapolation — a small weight pushed below 0, a covariance pushed off the cone — costs
//! one fallback (two plain EM steps, as without acceleration), never an error.
//!
//! **The M-step options are kept.** `set_parameters` goes through the same code as the
//! M-step (the cached Cholesky factors, log-determinants and log-weights are re-derived), and
//! the model keeps its `reg_covar` and prior. The extrapolated point is only ever evaluated:
//! SQUAREM follows it with one EM step and accepts only the result of that step (or falls back
//! to the plain EM step), so every model an accelerated fit returns comes out of an M-step,
//! with the ridge and the prior applied, and its objective includes the log-prior.
//!
//! **Round trip.** `set_parameters(&m.parameters())` gives back `m` bit for bit when its
//! covariance matrices are exactly symmetric, as every M-step's are (a hand-made matrix
//! symmetric only to the 1e-10 that [`GaussianMixture::new`] allows gets its upper triangle
//! from the lower one); and `parameters()` after `set_parameters(θ)` is θ exactly.
//!
//! **Scales.** SQUAREM's step length is a ratio of Euclidean norms over the whole vector:
//! weights are unitless, means in the data's units, covariances in their squares. For
//! features of order 1 (standardised, or of comparable scale) this is balanced; for features
//! in units of 10⁴ the step length is set by the covariances alone, which still accelerates,
//! but less.
//!
//! # The other models
//!
//! - [`ZeroInflatedPoisson`] (implemented with the model, in the `mixture` crate): (π, λ) raw.
//!   π = 0 is a legitimate, absorbing value (the MLE on data with no excess zeros), which a
//!   logit could not represent; an extrapolation with π < 0, π ≥ 1 or λ ≤ 0 is rejected by
//!   [`ZeroInflatedPoisson::new`] and falls back.
//! - [`TwoComponentMixture`]: the vector of its [`GaussianMixture`] (K = 2, full): 1 − α, α,
//!   μ₀, μ₁, the lower triangles of Σ₀ and Σ₁.
//! - [`SampleWeighted`]: its mixture's vector (the weights of the rows are data, not
//!   parameters).

use em_core::{EmError, ParameterVector};
use nalgebra::{DMatrix, DVector};

use crate::gaussian::{CovarianceType, Covariances};
use crate::mixture::GaussianMixture;
use crate::two_component::TwoComponentMixture;
use crate::weighted::SampleWeighted;
#[cfg(doc)]
use crate::zip::ZeroInflatedPoisson;

/// Where an extrapolated parameter vector came from, in errors.
const CONTEXT: &str = "SQUAREM parameter vector";

fn invalid(reason: String) -> EmError {
    EmError::InvalidParameter {
        name: "theta",
        reason,
    }
}

/// Appends the lower triangle of `m`, row by row (j ≤ i).
fn push_lower(out: &mut Vec<f64>, m: &DMatrix<f64>) {
    for i in 0..m.nrows() {
        out.extend((0..=i).map(|j| m[(i, j)]));
    }
}

/// The symmetric D×D matrix whose lower triangle, row by row, is `t` (length D(D+1)/2).
fn symmetric_from_lower(t: &[f64], d: usize) -> DMatrix<f64> {
    let mut m = DMatrix::zeros(d, d);
    let mut it = t.iter().copied();
    for i in 0..d {
        for j in 0..=i {
            let v = it.next().unwrap_or(f64::NAN);
            m[(i, j)] = v;
            m[(j, i)] = v;
        }
    }
    m
}

impl ParameterVector for GaussianMixture {
    /// Weights, means and covariances, raw (see the [module docs](crate::accelerate)):
    /// K + K·D + the covariance structure's values.
    ///
    /// ```
    /// use em_core::ParameterVector;
    /// use gmm::{Covariances, GaussianMixture};
    /// use nalgebra::{dmatrix, dvector};
    ///
    /// let mut gm = GaussianMixture::new(
    ///     dvector![0.25, 0.75],
    ///     dmatrix![0.0, 1.0; 3.0, 4.0],
    ///     Covariances::Full(vec![dmatrix![1.0, 0.5; 0.5, 2.0], dmatrix![3.0, 0.0; 0.0, 1.0]]),
    /// )?;
    /// let theta = gm.parameters();
    /// assert_eq!(
    ///     theta,
    ///     vec![0.25, 0.75, 0.0, 1.0, 3.0, 4.0, 1.0, 0.5, 2.0, 3.0, 0.0, 1.0]
    /// );
    ///
    /// // Outside the parameter space: a typed error, and the model is unchanged.
    /// let mut moved = theta.clone();
    /// moved[7] = 5.0; // Σ₀ = [1 5; 5 2] is not positive definite
    /// assert!(gm.set_parameters(&moved).is_err());
    /// moved[7] = 0.5;
    /// moved[0] = -0.25; // a negative weight
    /// moved[1] = 1.25;
    /// assert!(gm.set_parameters(&moved).is_err());
    /// assert_eq!(gm.parameters(), theta);
    ///
    /// moved[0] = 0.5;
    /// moved[1] = 0.5;
    /// gm.set_parameters(&moved)?;
    /// assert_eq!(gm.weights()[0], 0.5);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    fn parameters(&self) -> Vec<f64> {
        let k_count = self.n_components();
        let mut out = Vec::with_capacity(self.n_parameters() + 1);
        out.extend(self.weights().iter());
        let means = self.means();
        for k in 0..k_count {
            out.extend(means.row(k).iter());
        }
        match self.covariances() {
            Covariances::Full(c) => c.iter().for_each(|m| push_lower(&mut out, m)),
            Covariances::Tied(m) => push_lower(&mut out, m),
            Covariances::Diag(v) => {
                for k in 0..k_count {
                    out.extend(v.row(k).iter());
                }
            }
            Covariances::Spherical(v) => out.extend(v.iter()),
        }
        out
    }

    /// Sets the parameters from the coordinates of [`parameters`](Self::parameters),
    /// re-deriving the cached factors and keeping `reg_covar` and the prior; an error (and
    /// the model unchanged) for a vector [`GaussianMixture::new`] would refuse.
    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        let (k_count, d) = (self.n_components(), self.n_features());
        let expected = self.n_parameters() + 1;
        if theta.len() != expected {
            return Err(invalid(format!(
                "expected {expected} values for K = {k_count}, D = {d}, {} covariances; got {}",
                self.covariance_type(),
                theta.len()
            )));
        }
        if let Some((i, v)) = theta.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(invalid(format!("entry {i} is {v}")));
        }
        let (weights, rest) = theta.split_at(k_count);
        let (means, cov) = rest.split_at(k_count * d);
        mixture::check_weights(weights, k_count)?;
        let weights = DVector::from_column_slice(weights);
        let means = DMatrix::from_row_slice(k_count, d, means);
        let tri = d * (d + 1) / 2;
        let covariances = match self.covariance_type() {
            CovarianceType::Full => Covariances::Full(
                cov.chunks_exact(tri)
                    .map(|t| symmetric_from_lower(t, d))
                    .collect(),
            ),
            CovarianceType::Tied => Covariances::Tied(symmetric_from_lower(cov, d)),
            CovarianceType::Diag => Covariances::Diag(DMatrix::from_row_slice(k_count, d, cov)),
            CovarianceType::Spherical => Covariances::Spherical(DVector::from_column_slice(cov)),
        };
        // The same validation and factorisation as after an M-step; `self` changes only
        // when it succeeds.
        GaussianMixture::set_parameters(self, weights, means, covariances, CONTEXT)
    }
}

impl ParameterVector for SampleWeighted<'_> {
    /// The mixture's vector (see [`GaussianMixture`]'s implementation).
    fn parameters(&self) -> Vec<f64> {
        self.model.parameters()
    }

    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        ParameterVector::set_parameters(&mut self.model, theta)
    }
}

impl ParameterVector for TwoComponentMixture {
    /// (1 − α, α, μ₀, μ₁, lower triangles of Σ₀ and Σ₁): the vector of the underlying
    /// two-component full-covariance [`GaussianMixture`].
    ///
    /// ```
    /// use em_core::ParameterVector;
    /// use gmm::TwoComponentMixture;
    /// use nalgebra::{dmatrix, dvector};
    ///
    /// let m = TwoComponentMixture::new(0.2, dvector![0.0], dmatrix![1.0], dvector![3.0], dmatrix![4.0])?;
    /// let theta = m.parameters();
    /// assert_eq!(theta, vec![0.8, 0.2, 0.0, 3.0, 1.0, 4.0]);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    fn parameters(&self) -> Vec<f64> {
        self.as_mixture().parameters()
    }

    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        let mut inner = self.as_mixture().clone();
        ParameterVector::set_parameters(&mut inner, theta)?;
        *self = TwoComponentMixture::try_from(inner)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::dmatrix;

    #[test]
    fn lower_triangle_round_trips() {
        let s = dmatrix![4.0, 1.0, 0.5; 1.0, 3.0, -0.2; 0.5, -0.2, 2.0];
        let mut t = Vec::new();
        push_lower(&mut t, &s);
        assert_eq!(t, vec![4.0, 1.0, 3.0, 0.5, -0.2, 2.0]);
        assert_eq!(symmetric_from_lower(&t, 3), s);
    }
}
