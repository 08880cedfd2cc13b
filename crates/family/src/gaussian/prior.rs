//! A conjugate prior for MAP-EM, so that a fit can be regularised by a proper prior whose
//! log-density is part of the reported objective (and the EM invariants still hold).
//!
//! - weights: symmetric Dirichlet(α), α ≥ 1;
//! - `full`: (μ_k, Σ_k) ~ Normal-inverse-Wishart: μ_k | Σ_k ~ N(μ₀, Σ_k / κ), Σ_k ~ IW(Ψ, ν);
//! - `tied`: Σ ~ IW(Ψ, ν) once, μ_k | Σ ~ N(μ₀, Σ / κ) for each k;
//! - `diag`: per feature d, μ_kd | σ²_kd ~ N(μ₀_d, σ²_kd / κ), σ²_kd ~ InvGamma(ν/2, Ψ_dd/2);
//! - `spherical`: μ_k | σ²_k ~ N(μ₀, σ²_k I / κ), σ²_k ~ InvGamma(ν/2, tr(Ψ)/(2D)).
//!
//! [`Prior::mclust_default`] takes the defaults of Fraley & Raftery (2007), "Bayesian
//! regularization for normal mixture estimation and model-based clustering", as R's mclust
//! does: μ₀ = the data mean, κ = 0.01, ν = D + 2, Ψ = cov(data) / K^{2/D}, α = 1.

use em_core::EmError;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

use super::Gaussians;
use super::covariance::{
    Covariances, Factor, cholesky, log_det_from_cholesky, mahalanobis_sq, trace_of_solve,
};
use super::kernel::HALF_LN_2PI;

/// Hyper-parameters of the conjugate prior (see the module documentation for the model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    /// α of the symmetric Dirichlet on the weights (≥ 1; 1 is flat).
    pub weight_concentration: f64,
    /// μ₀, the prior mean of every component mean (length D).
    pub mean: DVector<f64>,
    /// κ > 0: how many observations the prior mean is worth.
    pub mean_precision: f64,
    /// ν > D − 1: degrees of freedom of the (inverse-Wishart / inverse-gamma) covariance prior.
    pub dof: f64,
    /// Ψ, the D×D symmetric positive-definite scale matrix (only its diagonal is used by
    /// `diag`, only its trace by `spherical`).
    pub scale: DMatrix<f64>,
}

impl Prior {
    /// The data-dependent default of Fraley & Raftery (2007) for `n_components` components.
    pub fn mclust_default(x: &DMatrix<f64>, n_components: usize) -> Result<Prior, EmError> {
        let (n, d) = x.shape();
        if n < 2 {
            return Err(EmError::TooFewObservations {
                n_obs: n,
                n_components: 2,
            });
        }
        if n_components == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_components",
                reason: "must be at least 1".into(),
            });
        }
        let mean = x.row_mean().transpose();
        let centred = DMatrix::from_fn(n, d, |i, j| x[(i, j)] - mean[j]);
        let cov = centred.transpose() * &centred / (n - 1) as f64;
        let shrink = (n_components as f64).powf(2.0 / d as f64);
        Ok(Prior {
            weight_concentration: 1.0,
            mean,
            mean_precision: 0.01,
            dof: d as f64 + 2.0,
            scale: cov / shrink,
        })
    }

    /// Checks the hyper-parameters against the number of features.
    pub fn validate(&self, n_features: usize) -> Result<(), EmError> {
        let bad = |name, reason: String| Err(EmError::InvalidParameter { name, reason });
        if !(self.weight_concentration >= 1.0 && self.weight_concentration.is_finite()) {
            return bad(
                "prior.weight_concentration",
                format!("must be finite and ≥ 1, got {}", self.weight_concentration),
            );
        }
        if self.mean.len() != n_features || self.mean.iter().any(|v| !v.is_finite()) {
            return bad("prior.mean", format!("must be {n_features} finite values"));
        }
        if !(self.mean_precision > 0.0 && self.mean_precision.is_finite()) {
            return bad(
                "prior.mean_precision",
                format!("must be finite and > 0, got {}", self.mean_precision),
            );
        }
        if !(self.dof > n_features as f64 - 1.0 && self.dof.is_finite()) {
            return bad(
                "prior.dof",
                format!(
                    "must be finite and > D − 1 = {}, got {}",
                    n_features as f64 - 1.0,
                    self.dof
                ),
            );
        }
        if self.scale.shape() != (n_features, n_features) {
            return bad("prior.scale", format!("must be {n_features}×{n_features}"));
        }
        let asymmetric = (0..n_features).any(|i| {
            (0..i).any(|j| {
                let (a, b) = (self.scale[(i, j)], self.scale[(j, i)]);
                (a - b).abs() > 1e-10 * a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
            })
        });
        if asymmetric {
            return bad("prior.scale", "must be symmetric".into());
        }
        cholesky(&self.scale, 0, "prior.scale").map_err(|_| EmError::InvalidParameter {
            name: "prior.scale",
            reason: "must be symmetric positive definite".into(),
        })?;
        Ok(())
    }

    /// log p(π, μ, Σ) of mixture weights `weights` (length K) and the components
    /// `gaussians`, with all normalising constants: the term MAP-EM adds to the objective.
    /// NaN when the shapes disagree (weights not of length K, a prior of another dimension).
    ///
    /// ```
    /// use em_family::gaussian::{Covariances, Gaussians, Prior};
    /// use nalgebra::{dmatrix, dvector};
    /// let x = dmatrix![0.0, 1.0; 1.0, 0.5; 2.0, 2.5; 4.0, 3.0];
    /// let prior = Prior::mclust_default(&x, 2)?;
    /// let g = Gaussians::new(dmatrix![0.5, 0.5; 3.0, 3.0], Covariances::Spherical(dvector![1.0, 1.0]))?;
    /// assert!(prior.log_density(&dvector![0.5, 0.5], &g).is_finite());
    /// assert!(prior.log_density(&dvector![1.0], &g).is_nan());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn log_density(&self, weights: &DVector<f64>, gaussians: &Gaussians) -> f64 {
        if weights.len() != gaussians.n_components() {
            return f64::NAN;
        }
        crate::family::symmetric_dirichlet_log_density(
            self.weight_concentration,
            weights.as_slice(),
        ) + self.log_density_components(gaussians)
    }

    /// The normal / inverse-Wishart (or inverse-gamma) part of [`Prior::log_density`]: the
    /// log-density of the means and covariances alone, without the Dirichlet on the weights
    /// (which a mixture adds). NaN for Gaussians of another dimension.
    pub fn log_density_components(&self, gaussians: &Gaussians) -> f64 {
        let (means, covariances, factored) = (
            gaussians.means(),
            gaussians.covariances(),
            gaussians.factored(),
        );
        let (k_count, d) = means.shape();
        if self.mean.len() != d || self.scale.shape() != (d, d) {
            return f64::NAN;
        }
        let df = d as f64;
        let (kappa, nu) = (self.mean_precision, self.dof);
        let mut total = 0.0;
        let delta = |k: usize| DVector::from_fn(d, |j, _| means[(k, j)] - self.mean[j]);
        // log N(μ | μ₀, Σ/κ) given log|Σ| and (μ−μ₀)ᵀΣ⁻¹(μ−μ₀).
        let ln_normal = |log_det: f64, maha: f64| {
            -df * HALF_LN_2PI + 0.5 * df * kappa.ln() - 0.5 * log_det - 0.5 * kappa * maha
        };
        // log IW(Σ | Ψ, ν) given log|Σ| and tr(ΨΣ⁻¹).
        let ln_scale_det = cholesky(&self.scale, 0, "prior.scale")
            .map(|l| log_det_from_cholesky(&l))
            .unwrap_or(f64::NAN);
        let ln_mv_gamma = df * (df - 1.0) / 4.0 * std::f64::consts::PI.ln()
            + (1..=d)
                .map(|j| ln_gamma(0.5 * nu + 0.5 * (1.0 - j as f64)))
                .sum::<f64>();
        let ln_iw = |log_det: f64, trace: f64| {
            0.5 * nu * ln_scale_det
                - 0.5 * nu * df * std::f64::consts::LN_2
                - ln_mv_gamma
                - 0.5 * (nu + df + 1.0) * log_det
                - 0.5 * trace
        };
        // log InvGamma(x | a, b).
        let ln_ig = |x: f64, a: f64, b: f64| a * b.ln() - ln_gamma(a) - (a + 1.0) * x.ln() - b / x;
        match (covariances, &factored.factor) {
            (Covariances::Full(_), Factor::Full(ls)) => {
                for (k, l) in ls.iter().enumerate() {
                    let ld = factored.log_det[k];
                    total += ln_normal(ld, mahalanobis_sq(l, &delta(k)))
                        + ln_iw(ld, trace_of_solve(l, &self.scale));
                }
            }
            (Covariances::Tied(_), Factor::Tied(l)) => {
                let ld = factored.log_det[0];
                for k in 0..k_count {
                    total += ln_normal(ld, mahalanobis_sq(l, &delta(k)));
                }
                total += ln_iw(ld, trace_of_solve(l, &self.scale));
            }
            (Covariances::Diag(var), _) => {
                for k in 0..k_count {
                    for j in 0..d {
                        let v = var[(k, j)];
                        let dj = means[(k, j)] - self.mean[j];
                        total += -HALF_LN_2PI + 0.5 * kappa.ln()
                            - 0.5 * v.ln()
                            - 0.5 * kappa * dj * dj / v
                            + ln_ig(v, 0.5 * nu, 0.5 * self.scale[(j, j)]);
                    }
                }
            }
            (Covariances::Spherical(var), _) => {
                let s = self.scale.trace() / df;
                for k in 0..k_count {
                    let v = var[k];
                    total += ln_normal(df * v.ln(), delta(k).norm_squared() / v)
                        + ln_ig(v, 0.5 * nu, 0.5 * s);
                }
            }
            _ => return f64::NAN,
        }
        total
    }
}
