//! # em-family
//!
//! The family layer: what a distribution family provides to the models built on it — densities
//! of a batch, weighted sufficient statistics that merge across batches, the M-step and the
//! expected complete-data log-density from statistics, sampling. It sits between `em-core`
//! and the models so that mixtures (`mixture`, `gmm`) and hidden Markov models (`hmm`) share
//! one implementation of each family instead of depending on one another.
//!
//! * [`gaussian`]: the Gaussian machinery — K Gaussians with full, diagonal, spherical or tied
//!   covariances ([`Gaussians`]) evaluated on batches of rows by a vectorised kernel (Cholesky
//!   solves, never an inverse; branch-free `exp` and `ln`; AVX-512F, AVX2 and baseline builds
//!   picked at run time, all giving the same bits), their statistics, M-step and conjugate
//!   prior. `gmm`'s mixtures and `hmm`'s Gaussian emissions are built on it.
//! * [`kmeans`]: k-means++ seeding and Lloyd's k-means, the start of Gaussian mixtures and
//!   Gaussian HMMs, with entries that take data validated once ([`gaussian::CheckedData`]).
//! * [`Component`]: the one-component contract of the `mixture` crate, with
//!   [`Observations`] (data stored one observation per row) and [`BinaryMatrix`]; the bundled
//!   families — Poisson, exponential, 1-D Gaussian, multivariate Bernoulli — are in
//!   [`families`].
//!
//! ```
//! use em_core::Statistics;
//! use em_family::families::Poisson;
//! use em_family::{Component, CovarianceType, Covariances, Gaussians};
//! use nalgebra::{dmatrix, dvector};
//!
//! // One family, one component: a weighted M-step from merged statistics.
//! let counts = [0u64, 2, 4, 9];
//! let mut poisson = Poisson::new(1.0)?;
//! let mut stats = poisson.zero_stats(&counts[..]);
//! for (&y, w) in counts.iter().zip([1.0, 1.0, 0.5, 0.5]) {
//!     poisson.accumulate(&mut stats, w, y);
//! }
//! poisson.maximise(&stats, 0)?;
//! assert_eq!(poisson.lambda(), (2.0 + 2.0 + 4.5) / 3.0); // Σγy / Σγ
//!
//! // K Gaussians in 2-D, spherical, and the log-densities of three rows under each.
//! let g = Gaussians::new(
//!     dmatrix![0.0, 0.0; 5.0, 5.0],
//!     Covariances::Spherical(dvector![1.0, 2.0]),
//! )?;
//! let x = dmatrix![0.1, -0.2; 4.0, 6.0; 5.5, 4.5];
//! let (mut log_p, mut scratch) = (vec![0.0; 2 * 3], Vec::new());
//! g.log_densities(&x, 0..3, &mut log_p, &mut scratch); // log_p[k·3 + i]
//! assert!(log_p[0] > log_p[3] && log_p[3 + 2] > log_p[2]);
//!
//! // One EM step with hard assignments: statistics of two batches, merged, then the M-step.
//! let mut stats = g.accumulate(&x, 0..1, &[1.0, 0.0], None, &mut scratch);
//! stats.merge(&g.accumulate(&x, 1..3, &[0.0, 0.0, 1.0, 1.0], None, &mut scratch));
//! let next = g.maximise(&stats, 1e-6)?;
//! assert_eq!(next.covariance_type(), CovarianceType::Spherical);
//! assert_eq!(next.means().row(1), dmatrix![4.75, 5.25]);
//! # Ok::<(), em_core::EmError>(())
//! ```

#![warn(missing_docs)]

mod binary;
mod component;
pub mod families;
mod family;
pub mod gaussian;
pub mod gradient;
pub mod hc;
pub mod kmeans;
mod observations;
mod parameters;
pub mod student;

pub use binary::BinaryMatrix;
pub use component::{Component, Obs, OwnedData};
pub use family::{
    ComponentStats, Family, check_batch_shape, mixture_weights, symmetric_dirichlet_log_density,
};
pub use gaussian::{CovarianceType, Covariances, Gaussians};
pub use gradient::{ComponentGradient, FamilyGradient};
pub use observations::Observations;
pub use parameters::ComponentParameters;
