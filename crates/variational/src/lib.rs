//! # em-variational
//!
//! A variational Bayes Gaussian mixture (Bishop 2006, §10.2) — the model of scikit-learn's
//! `BayesianGaussianMixture`, with the Dirichlet-distribution and Dirichlet-process weight
//! priors and full, tied, diagonal and spherical covariances — fitted by the workspace's one
//! EM driver, [`em_core::Em`].
//!
//! ```
//! use em_core::Em;
//! use em_variational::{BayesianGaussianMixture, WeightPrior};
//! use nalgebra::DMatrix;
//!
//! // Three groups on a line; six components; the posterior empties the extra ones.
//! let x = DMatrix::from_fn(90, 1, |i, _| (i / 30) as f64 * 10.0 + (i % 30) as f64 * 0.05);
//! let builder = BayesianGaussianMixture::builder(6)
//!     .weight_prior(WeightPrior::DirichletProcess)
//!     .weight_concentration_prior(0.01);
//! let mut model = builder.kmeans_start(&x, 7)?;
//! let report = Em::new().max_iter(2_000).fit(&mut model, &x)?;
//! assert!(report.converged);
//! assert_eq!(model.n_effective_components(0.01), 3);
//! # Ok::<(), em_core::EmError>(())
//! ```
//!
//! ## The model and the objective
//!
//! π ~ Dir(α₀) or the stick-breaking of a truncated Dirichlet process; Λ_k ~ Wishart(W₀, ν₀),
//! μ_k | Λ_k ~ N(m₀, (κ₀Λ_k)⁻¹); z_n | π ~ Cat(π), x_n | z_n = k ~ N(μ_k, Λ_k⁻¹). The
//! variational posterior is q(z) q(π) Π_k q(μ_k | Λ_k) q(Λ_k), and the objective the driver
//! increases is the evidence lower bound (ELBO). The contract of [`em_core::LatentModel`]
//! maps onto it as follows (ρ_nk = E\[ln π_k\] + E\[ln N(x_n | μ_k, Λ_k)\]):
//!
//! - `e_step`: the statistics (N_k, weighted means, centred scatter) of q(z_n = k) ∝ exp ρ_nk,
//!   with `log_likelihood` = Σ_n ln Σ_k exp ρ_nk and `entropy` = Σ_n H(q(z_n));
//! - `expected_complete_log_likelihood(stats)` = Σ_nk γ_nk ρ_nk from the statistics;
//! - `log_prior()` = −KL(q(θ) ‖ p(θ)), with every normalising constant (Dirichlet or Beta
//!   sticks, Gaussian, Wishart);
//! - `m_step`: the VB update of q(θ), which maximises ECLL + log_prior.
//!
//! So ELBO = ECLL + entropy + log_prior, and right after an E-step it equals
//! `log_likelihood + log_prior` — the three EM invariants of [`em_core::testing`] hold (the
//! tests check them). E\[ln N(x | μ_k, Λ_k)\] is the Gaussian log-density
//! ln N(x | m_k, C_k) with C_k = (ν_k W_k)⁻¹ plus the per-component constant
//! ½(E\[ln|Λ_k|\] + ln|C_k|) − D/(2κ_k), so the E-step is em-family's Gaussian kernel.
//!
//! The four covariance types are scikit-learn's: the diagonal and spherical models keep
//! q(Λ_k) a Wishart whose scale W_k is diagonal or a multiple of the identity; the tied model
//! has K a-priori independent precisions whose variational factors are constrained to be one
//! q(Λ) (so its KL counts K times, and ν = ν₀ + N/K). Under these readings scikit-learn's
//! updates are the exact maximisers.
//!
//! `reg_covar` is applied as scikit-learn applies it: N_k · `reg_covar` is added to the
//! diagonal of component k's scatter (N/K · `reg_covar` for tied). It is not part of the
//! prior: with `reg_covar` > 0 the M-step maximises the ELBO of slightly inflated scatter,
//! and the objective may fall by O(N · `reg_covar`²) — invisible next to the default
//! tolerances, and zero with `reg_covar` = 0.
//!
//! See `docs/variational.md` for the mathematics in full and the parity with scikit-learn.

#![warn(missing_docs)]

mod model;
mod priors;
mod special;

pub use model::{
    BayesianGaussianMixture, BayesianGaussianMixtureBuilder, VbStats, WeightConcentration,
};
pub use priors::{CovariancePrior, Priors, WeightPrior};
