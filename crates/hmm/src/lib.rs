//! # hmm
//!
//! Hidden Markov models fitted by Baum–Welch, which is EM, on the [`em_core`] driver. The
//! emissions are any family of the family layer ([`em_family::Family`]), the same families
//! the `mixture` crate mixes: [`Hmm<F>`](Hmm) runs the Markov-chain half and the family the
//! rest. Bundled: Gaussian emissions (full, diagonal, spherical or tied covariances;
//! [`Gaussian`], the family layer's Gaussians with the states named in errors), categorical
//! ones ([`Categorical`]), and any one-component family lifted to S states by a `Vec` of its
//! components (`Hmm<Vec<Geometric>>`, `Hmm<Vec<ZeroInflated<Poisson>>>` …).
//!
//! ```
//! use em_core::Em;
//! use hmm::{Covariances, CovarianceType, Gaussian, GaussianHmm};
//! use nalgebra::{dmatrix, dvector};
//! use rand::SeedableRng;
//!
//! // A known two-state model; draw three sequences of different lengths from it.
//! let truth = GaussianHmm::new(
//!     dvector![0.5, 0.5],
//!     dmatrix![0.95, 0.05; 0.10, 0.90],
//!     Gaussian::new(dmatrix![-2.0; 2.0], Covariances::Diag(dmatrix![1.0; 0.5]))?,
//! )?;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(1);
//! let data: Vec<_> = [400, 250, 90].iter().map(|&t| truth.sample(t, &mut rng).0).collect();
//!
//! // Fit from a random start (restarts are seeded), then decode. `GaussianHmm::kmeans_start`
//! // (k-means on all steps pooled, the clusters' covariances) is the other start.
//! let init = |x: &[nalgebra::DMatrix<f64>], rng: &mut em_core::StdRng| {
//!     GaussianHmm::random_start(2, CovarianceType::Diag, x, rng)
//! };
//! let fit = Em::new().n_init(2).fit_restarts(&init, &data[..])?;
//! let states = fit.model.predict(&data[0])?;          // Viterbi path
//! let proba = fit.model.predict_proba(&data[0])?;     // T×S posterior state probabilities
//! println!("log-likelihood {:.3}, A = {}", fit.report.objective(), fit.model.transitions());
//! assert_eq!((states.len(), proba.ncols()), (400, 2));
//! # Ok::<(), em_core::EmError>(())
//! ```
//!
//! A family written once for mixtures is an HMM emission with no HMM-specific code:
//!
//! ```
//! use em_core::Em;
//! use em_family::families::Geometric;
//! use hmm::Hmm;
//! use nalgebra::{dmatrix, dvector};
//! use rand::SeedableRng;
//!
//! // Quiet days and busy days: counts from two geometric distributions, regime-switching.
//! let truth = Hmm::new(
//!     dvector![0.5, 0.5],
//!     dmatrix![0.9, 0.1; 0.2, 0.8],
//!     vec![Geometric::new(0.8)?, Geometric::new(0.1)?],
//! )?;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(3);
//! let data: Vec<Vec<u64>> = (0..4).map(|_| truth.sample(500, &mut rng).0).collect();
//! let mut model = Hmm::new(
//!     dvector![0.5, 0.5],
//!     dmatrix![0.5, 0.5; 0.5, 0.5],
//!     vec![Geometric::new(0.6)?, Geometric::new(0.3)?],
//! )?;
//! Em::new().fit(&mut model, &data[..])?;
//! let p: Vec<f64> = model.emission().iter().map(Geometric::p).collect();
//! assert!((p[0] - 0.8).abs() < 0.05 && (p[1] - 0.1).abs() < 0.02, "{p:?}");
//! # Ok::<(), em_core::EmError>(())
//! ```
//!
//! ## Data
//!
//! The data are a slice of sequences of any (non-zero) lengths, each the family's owned
//! data (`Family::Owned`) with one step per row: `[DMatrix<f64>]` (T×D) for Gaussian
//! emissions, `[Vec<usize>]` of symbols `0..M` for categorical ones, `[Vec<u64>]` for count
//! families. The sequence is the unit the driver batches on ([`em_core::Dataset`]'s
//! `n_obs` is the number of sequences): statistics add over sequences, so batches of
//! sequences run in parallel and merge in order, bit-for-bit reproducibly. One long
//! sequence is one unit. The driver's `chunk_size` therefore counts sequences; its per-
//! observation quantities do not: the model's `n_observations` is the total number of steps,
//! so scikit-learn's rule (`Stopping::ObjectiveChange`) applies to the change of the
//! log-likelihood *per step*, as does Aitken's gap. The default rule, on the relative change of
//! π, A (as probabilities) and the emissions' parameters, stops within 1e-6 of the optimum
//! (`crates/hmm/tests/stopping.rs`).
//!
//! ## The E-step
//!
//! Forward–backward per sequence, **scaled** (normalised forward vectors and their
//! normalisers c_t; log p(x) = Σ log c_t), with each step's emission densities shifted by
//! their maximum so that they cannot underflow in any dimension. Scaling costs S²
//! multiply–adds per step where log space costs S² exponentials; when it would underflow
//! (a chain forced through states that explain an outlier e^−700 times worse than an
//! unreachable one) the sequence is recomputed in log space, which is exact. The E-step
//! returns [`HmmStats`]: expected initial-state counts, expected transition counts
//! Σ_t ξ_t(i, j), and the family's emission statistics, accumulated per sequence from the
//! posteriors γ_t(s) as a mixture accumulates them from responsibilities ([`GaussianStats`]:
//! N_s, mean and centred scatter merged with Chan's update; [`CategoricalStats`]: expected
//! symbol counts); plus log p(x) and the **entropy of the posterior over state paths**, computed
//! from its Markov-chain factorisation
//!
//! H = −Σ_i γ_1(i) log γ_1(i) − Σ_{t≥2} Σ_ij ξ_t(i, j) log p(z_t = j | z_{t−1} = i, x),
//! p(z_t = j | z_{t−1} = i, x) = ξ_t(i, j) / γ_{t−1}(i),
//!
//! so that the checker's "ELBO tight" invariant, E_q[log p(x, z)] + H = log p(x), is a real
//! test of the forward–backward pass.
//!
//! ## The M-step
//!
//! Maximum likelihood from the statistics: π ∝ initial counts, A_i· ∝ transition counts,
//! and the family's update ([`em_family::Family::maximise`]) (Gaussian: μ_s = m_s, Σ_s = M2_s / N_s — its diagonal, its
//! mean variance, or pooled over the states for `diag`, `spherical` and `tied` — plus the
//! optional `reg_covar` ridge, which is a numerical safeguard and not a prior; categorical:
//! B_s· ∝ symbol counts). Zero probabilities stay zero. A state that is never left keeps its
//! transition row and one with no expected observations keeps its emission parameters: they
//! do not enter the objective, so the M-step stays exact. A family with a prior (a
//! `GaussianFamily` with one) makes the fit MAP-EM, and its log-prior is part of the
//! reported objective.
//!
//! ## Errors
//!
//! Bad input is an [`em_core::EmError`], never a panic: [`EmError::InvalidInput`] with `row`
//! = the sequence's index and a message naming the sequence and step ("sequence 2, step 17:
//! value NaN in feature 1 is not finite", "sequence 0, step 3: symbol 7 is out of range",
//! "sequence 1: dimension mismatch …", "sequence 4: is empty"): the family's errors about
//! rows and columns ([`em_family::Family::check_data`]) restated with the sequence as the
//! row and the family's row as the step; single-sequence methods
//! ([`Hmm::score`], [`Hmm::viterbi`] …) call their sequence 0. Invalid parameters are
//! [`EmError::InvalidParameter`] naming `start`, `transitions` (and the row) or
//! `emission_probabilities`, or [`EmError::NotPositiveDefinite`] naming the state (for tied
//! covariances, the covariance shared by all states).

#![warn(missing_docs)]

mod categorical;
mod forward_backward;
mod gaussian;
pub mod gradient;
mod kmeans_start;
mod model;
mod sequence;

pub use categorical::{Categorical, CategoricalStats};
pub use em_core::{Em, EmError, FitReport, Fitted, Labelled, LabelledEStep, Stopping};
pub use em_family::gaussian::MissingValues;
pub use em_family::{ComponentStats, Family};
pub use gaussian::{CovarianceType, Covariances, Gaussian, GaussianStats, Scatter};
pub use model::{Hmm, HmmStats};

/// An HMM with Gaussian emissions; sequences are `DMatrix<f64>`, one step per row.
pub type GaussianHmm = Hmm<Gaussian>;

/// An HMM with categorical emissions; sequences are `Vec<usize>` of symbols.
pub type CategoricalHmm = Hmm<Categorical>;
