//! # em-core
//!
//! The machinery of Expectation–Maximization, independent of any model: the
//! [`LatentModel`] contract, the [`Em`] driver (restarts, parallel chunked E-steps, observers,
//! and [`stopping`] rules: by default a fit runs until its parameters are within about 1e-7,
//! relative, of the optimum), the steps an iteration can take ([`Plain`] EM, or [`Squarem`] for any
//! model that implements [`ParameterVector`], set with [`Em::accelerate`]; a new acceleration is
//! one more [`Step`]), streaming fits over data that do not fit in memory ([`stream`]: any
//! [`ChunkSource`], through [`Em::fit_stream`]), [`online`] EM that updates the parameters
//! after every mini-batch ([`OnlineEm::partial_fit`], [`Em::fit_online`]) and the invariant
//! checker in [`testing`].
//! Every combination of step, data source, restarts and observer runs the same loop.
//!
//! For the research around a fit, a model that can differentiate its expected complete
//! log-likelihood ([`Differentiable`]) gets the score of its log-likelihood from one E-step
//! (Fisher's identity, [`gradient::score`]), gradient ascent as one more step
//! ([`GradientAscent`]), the picture of EM's lower bound ([`gradient::bound_profile`]),
//! standard errors and EM's rate of convergence ([`information`]); every bundled model is
//! one.
//!
//! A model provides an E-step that returns *expected sufficient statistics* of a batch of
//! observations (plus the batch's log-likelihood and posterior entropy), an M-step from
//! statistics, and E_q[log p(x, z | θ)] for given statistics. The driver does the rest:
//!
//! ```
//! use em_core::{EStep, Em, EmError, LatentModel, Statistics};
//! use std::ops::Range;
//!
//! /// Two-component mixture of unit-variance normals with unknown means and weight.
//! struct TwoNormals { w: f64, mu: [f64; 2] }
//! #[derive(Default)]
//! struct Stats { n: [f64; 2], sx: [f64; 2], sxx: [f64; 2] }
//! impl Statistics for Stats {
//!     fn merge(&mut self, o: &Self) {
//!         for k in 0..2 { self.n[k] += o.n[k]; self.sx[k] += o.sx[k]; self.sxx[k] += o.sxx[k]; }
//!     }
//! }
//! const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
//! impl TwoNormals {
//!     fn log_joint(&self, x: f64) -> [f64; 2] {
//!         let lw = [(1.0 - self.w).ln(), self.w.ln()];
//!         [0, 1].map(|k| lw[k] - HALF_LN_2PI - 0.5 * (x - self.mu[k]).powi(2))
//!     }
//! }
//! impl LatentModel for TwoNormals {
//!     type Data = [f64];
//!     type Stats = Stats;
//!     fn e_step(&self, data: &[f64], rows: Range<usize>) -> Result<EStep<Stats>, EmError> {
//!         let (mut s, mut ll, mut h) = (Stats::default(), 0.0, 0.0);
//!         for &x in &data[rows] {
//!             let lj = self.log_joint(x);
//!             let m = lj[0].max(lj[1]);
//!             let lse = m + ((lj[0] - m).exp() + (lj[1] - m).exp()).ln();
//!             ll += lse;
//!             for k in 0..2 {
//!                 let g = (lj[k] - lse).exp();
//!                 if g > 0.0 { h -= g * (lj[k] - lse); }
//!                 s.n[k] += g; s.sx[k] += g * x; s.sxx[k] += g * x * x;
//!             }
//!         }
//!         Ok(EStep { stats: s, log_likelihood: ll, entropy: h })
//!     }
//!     fn m_step(&mut self, s: &Stats) -> Result<(), EmError> {
//!         self.w = s.n[1] / (s.n[0] + s.n[1]);
//!         self.mu = [0, 1].map(|k| s.sx[k] / s.n[k]);
//!         Ok(())
//!     }
//!     fn expected_complete_log_likelihood(&self, s: &Stats) -> f64 {
//!         let lw = [(1.0 - self.w).ln(), self.w.ln()];
//!         (0..2).map(|k| s.n[k] * (lw[k] - HALF_LN_2PI)
//!             - 0.5 * (s.sxx[k] - 2.0 * self.mu[k] * s.sx[k] + s.n[k] * self.mu[k].powi(2))).sum()
//!     }
//! }
//!
//! let data: Vec<f64> = (0..400).map(|i| if i % 4 == 0 { 5.0 } else { 0.0 } + (i as f64 * 0.37).sin()).collect();
//! let mut model = TwoNormals { w: 0.5, mu: [-1.0, 1.0] };
//! let report = Em::new().tol(1e-10).max_iter(500).fit(&mut model, &data[..])?;
//! assert!(report.converged);
//! assert!((model.w - 0.25).abs() < 0.01);
//! // …and the same model passes the invariant checker:
//! let check = em_core::testing::check_invariants(TwoNormals { w: 0.5, mu: [-1.0, 1.0] }, &data[..], 20, Default::default())?;
//! assert!(check.is_ok(), "{check}");
//! # Ok::<(), EmError>(())
//! ```

#![warn(missing_docs)]

mod chunked;
pub mod criteria;
mod driver;
mod error;
pub mod gradient;
#[cfg(feature = "nalgebra")]
pub mod information;
pub mod labelled;
mod model;
mod observer;
pub mod online;
mod report;
pub mod squarem;
mod step;
pub mod stopping;
pub mod stream;
pub mod testing;

pub use chunked::{DEFAULT_CHUNK_SIZE, batches, chunked_e_step, chunked_log_likelihood};
pub use driver::{DEFAULT_MAX_ITER, Em, EmOptions, Initializer, restart_seed};
pub use error::{EmError, check_finite};
pub use gradient::{Differentiable, GradientAscent, Score, StepSize};
pub use labelled::{Labelled, LabelledEStep};
pub use model::{Dataset, EStep, LatentModel, ScalableStatistics, Statistics};
pub use observer::{Control, Iteration, Observer, Silent};
pub use online::{OnlineEm, OnlineOptions, OnlineReport};
pub use report::{FitReport, Fitted, RestartOutcome, StopReason};
pub use squarem::{Acceleration, ParameterVector, Squarem};
pub use step::{Evaluated, Evaluator, Plain, Step, Stepped};
pub use stopping::{ScaledParameters, Stopping};
pub use stream::ChunkSource;

/// rand's seedable generator used for restarts, re-exported so that initialisers need no
/// direct `rand` dependency to name it.
pub use rand::rngs::StdRng;
