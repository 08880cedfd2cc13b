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
//!   `aic`, `icl`; typed errors for bad data and degenerate fits.
//! * [`Start`]: an [`em_core::Initializer`] — the family's own partition of the data or
//!   random responsibilities — for [`Mixture::fit`] and [`em_core::Em::fit_restarts`].
//! * Families: [`Poisson`] on counts (`[u64]`), [`Exponential`] on non-negative reals and
//!   [`Gaussian`] on reals (`[f64]`), [`Bernoulli`] on the rows of a [`BinaryMatrix`]. Each
//!   module documents its M-step and its degenerate cases (λ = 0, p_d ∈ {0, 1}: kept, with
//!   0 · log 0 = 0; a collapsed exponential or Gaussian: a typed error, or a variance floor).
//! * [`ZeroInflatedPoisson`] ([`zip`]): the zero-inflated Poisson as a typed model — π, λ,
//!   a moment start, checks of the counts — whose EM is the one-component mixture of
//!   [`ZeroInflated`]`<`[`Poisson`]`>`.
//!
//! The one-component contract ([`Component`], [`Observations`], [`BinaryMatrix`]) and the
//! bundled families live in the family layer, the `em-family` crate, so that other models
//! (hidden Markov models, zero-inflated wrappers) can share them; they are re-exported here.
//!
//! ## Your own family
//!
//! A complete family, the geometric distribution P(y) = (1 − p)^y p on counts, as a mixture
//! component checked by the EM invariant checker:
//!
//! ```
//! use em_core::{EmError, Statistics};
//! use mixture::{Component, OwnedData};
//! use rand::{Rng, RngExt};
//!
//! #[derive(Debug, Clone, PartialEq)]
//! struct Geometric { p: f64 }
//!
//! #[derive(Debug, Clone, Default)]
//! struct GeoStats { n: f64, sum: f64 } // Σγ and Σγy
//! impl Statistics for GeoStats {
//!     fn merge(&mut self, later: &Self) { self.n += later.n; self.sum += later.sum; }
//! }
//!
//! impl Component for Geometric {
//!     type Data = [u64];
//!     type Stats = GeoStats;
//!     fn n_parameters(&self) -> usize { 1 }
//!     fn ln_pdf(&self, y: u64) -> f64 {
//!         let tail = if y == 0 { 0.0 } else { y as f64 * (1.0 - self.p).ln() }; // 0 · log 0 = 0
//!         tail + self.p.ln()
//!     }
//!     fn zero_stats(&self, _: &[u64]) -> GeoStats { GeoStats::default() }
//!     fn accumulate(&self, s: &mut GeoStats, w: f64, y: u64) { s.n += w; s.sum += w * y as f64; }
//!     fn maximise(&mut self, s: &GeoStats, component: usize) -> Result<(), EmError> {
//!         if !(s.n > 0.0) { return Err(EmError::EmptyComponent { component, weight: s.n }); }
//!         self.p = s.n / (s.n + s.sum); // 1 / (1 + weighted mean), in (0, 1]
//!         Ok(())
//!     }
//!     fn expected_ln_pdf(&self, s: &GeoStats) -> f64 {
//!         // 0 · log 0 = 0: with p = 1 every weighted count is 0.
//!         let tail = if s.sum > 0.0 { s.sum * (1.0 - self.p).ln() } else { 0.0 };
//!         tail + s.n * self.p.ln()
//!     }
//!     fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<u64>) {
//!         let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
//!         out.push(if self.p >= 1.0 { 0 } else { (u.ln() / (1.0 - self.p).ln()).floor() as u64 });
//!     }
//! }
//!
//! // It is now a mixture component like any bundled family:
//! let counts: Vec<u64> = (0..300).map(|i| if i % 3 == 0 { 20 + i % 7 } else { i % 2 }).collect();
//! let m = mixture::Mixture::new(vec![0.5, 0.5], vec![Geometric { p: 0.6 }, Geometric { p: 0.1 }])?;
//! let check = em_core::testing::check_invariants(m, &counts[..], 20, Default::default())?;
//! assert!(check.is_ok(), "{check}");
//! # Ok::<(), EmError>(())
//! ```

#![warn(missing_docs)]

pub mod accelerate;
pub mod gradient;
mod init;
pub mod labelled;
mod mixture;
pub mod zip;

pub use accelerate::ComponentParameters;
pub use em_core::{Em, EmError, FitReport, Fitted, Labelled, LabelledEStep, Stopping};
pub use em_family::families;
pub use em_family::families::{
    Bernoulli, BernoulliStats, Exponential, ExponentialStats, Gaussian, GaussianStats, Geometric,
    GeometricStats, Poisson, PoissonStats, ZeroInflated, ZeroInflatedStats,
};
pub use em_family::{BinaryMatrix, Component, Obs, Observations, OwnedData};
pub use init::{PARTITION_SMOOTHING, Start, Strategy};
pub use mixture::{Mixture, MixtureStats, check_weights};
pub use zip::{ZeroInflatedPoisson, ZipStats};
