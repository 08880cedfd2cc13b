//! # em-family
//!
//! The family layer: what a distribution family provides to the models built on it.
//!
//! [`gaussian`] is the Gaussian machinery — K Gaussians with full, diagonal, spherical or
//! tied covariances ([`Gaussians`]), evaluated on batches of rows by a vectorised kernel
//! (Cholesky solves, never an inverse; branch-free `exp` and `ln`; AVX-512F, AVX2 and
//! baseline builds picked at run time, giving the same bits), their sufficient statistics,
//! M-step and conjugate prior. The `gmm` crate's mixtures and the `hmm` crate's Gaussian
//! emissions both use it, so neither depends on the other.
//!
//! ```
//! use em_core::Statistics;
//! use em_family::{CovarianceType, Covariances, Gaussians};
//! use nalgebra::{dmatrix, dvector};
//!
//! // Two spherical Gaussians in 2-D, and the log-densities of three rows under each.
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
//! let gamma = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0]; // component-major: γ[k·3 + i]
//! let mut stats = g.accumulate(&x, 0..3, &gamma, None, &mut scratch);
//! stats.merge(&g.accumulate(&x, 0..0, &[], None, &mut scratch));
//! let next = g.maximise(&stats, 1e-6)?;
//! assert_eq!(next.covariance_type(), CovarianceType::Spherical);
//! assert_eq!(next.means().row(1), dmatrix![4.75, 5.25]);
//! # Ok::<(), em_core::EmError>(())
//! ```

#![warn(missing_docs)]

pub mod gaussian;

pub use gaussian::{CovarianceType, Covariances, Gaussians};
