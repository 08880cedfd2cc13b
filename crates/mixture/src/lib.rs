//! # mixture
//!
//! Finite mixtures p(x) = Σ_k π_k f(x | θ_k) whose components come from a pluggable
//! distribution family, fitted by one EM for all families on the [`em_core`] driver.
//!
//! ```
//! use em_core::Em;
//! use mixture::{Mixture, Poisson, Start};
//!
//! let counts: Vec<u64> = vec![0, 1, 1, 2, 0, 9, 11, 8, 10, 12, 1, 0, 2, 10, 9, 1, 12, 0];
//! let em = Em::new().tol(1e-10).max_iter(1000).n_init(3).seed(1);
//! let fit = Mixture::fit(&counts[..], &Start::new(Poisson::default(), 2), &em)?;
//! let labels = fit.model.predict(&counts[..])?;
//! assert_eq!(labels[0], labels[1]);    // 0 and 1 share the low-rate component …
//! assert_ne!(labels[0], labels[5]);    // … 9 does not
//! println!("π = {:?}, λ = {:?}", fit.model.weights(), fit.model.components());
//! # Ok::<(), em_core::EmError>(())
//! ```
//!
//! ## The pieces
//!
//! * [`Component`]: what a family provides — log-densities, weighted sufficient statistics,
//!   the weighted maximum-likelihood update and Σγ log f from statistics. Implement it for
//!   your own distribution and the mixture, its EM, restarts and the invariant checker of
//!   [`em_core::testing`] apply unchanged.
//! * [`Mixture`]: weights and K components of one family; implements
//!   [`em_core::LatentModel`]; `predict`, `predict_proba`, `score_samples`, `sample`, `bic`,
//!   `aic`; typed errors for bad data and degenerate fits.
//! * [`Start`]: an [`em_core::Initializer`] — the family's own partition of the data or
//!   random responsibilities — for [`Mixture::fit`] and [`em_core::Em::fit_restarts`].
//! * Families: [`Poisson`] on counts (`[u64]`), [`Exponential`] on non-negative reals and
//!   [`Gaussian`] on reals (`[f64]`), [`Bernoulli`] on the rows of a [`BinaryMatrix`]. Each
//!   module documents its M-step and its degenerate cases (λ = 0, p_d ∈ {0, 1}: kept, with
//!   0 · log 0 = 0; a collapsed exponential or Gaussian: a typed error, or a variance floor).

#![warn(missing_docs)]

pub mod accelerate;
mod binary;
mod component;
pub mod families;
mod init;
mod mixture;
mod observations;

pub use accelerate::ComponentParameters;
pub use binary::BinaryMatrix;
pub use component::{Component, Obs, OwnedData};
pub use em_core::{Em, EmError, FitReport, Fitted};
pub use families::bernoulli::{Bernoulli, BernoulliStats};
pub use families::exponential::{Exponential, ExponentialStats};
pub use families::gaussian::{Gaussian, GaussianStats};
pub use families::geometric::{Geometric, GeometricStats};
pub use families::poisson::{Poisson, PoissonStats};
pub use families::zero_inflated::{ZeroInflated, ZeroInflatedStats};
pub use init::{PARTITION_SMOOTHING, Start, Strategy};
pub use mixture::{Mixture, MixtureStats};
pub use observations::Observations;
