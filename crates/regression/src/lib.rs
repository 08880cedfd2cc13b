//! # em-regression
//!
//! Mixtures of regressions — flexmix's core model — fitted by EM on the family layer:
//! y | x, z = k ~ N(xᵀβ_k, σ_k²) ([`GaussianRegressions`]) or Poisson(exp(xᵀβ_k))
//! ([`PoissonRegressions`]), with mixing weights π_k.
//!
//! ```
//! use em_core::Em;
//! use em_regression::{PoissonRegressionMixture, RegressionData, Start, Strategy};
//! use nalgebra::DMatrix;
//!
//! // Counts from two regimes: log μ = 0.5 + 0.3x and log μ = 2.5 − 0.2x.
//! let x: Vec<f64> = (0..300).map(|i| (i % 10) as f64).collect();
//! let y: Vec<f64> = x.iter().enumerate()
//!     .map(|(i, &x)| if i % 3 == 0 { (0.5 + 0.3 * x).exp() } else { (2.5 - 0.2 * x).exp() }.round())
//!     .collect();
//! let data = RegressionData::with_intercept(&DMatrix::from_column_slice(300, 1, &x), y)?;
//! let start = Start::new(2).strategy(Strategy::KMeans);
//! let fit = PoissonRegressionMixture::fit(&data, &start, &Em::new().n_init(3).seed(7))?;
//! println!("β = {}, π = {:?}", fit.model.coefficients(), fit.model.weights());
//! assert!(fit.report.converged);
//! # Ok::<(), em_core::EmError>(())
//! ```
//!
//! * [`RegressionData`]: the design matrix X and the response y, validated once (errors name
//!   the row and column).
//! * [`GaussianRegressions`], [`PoissonRegressions`]: K regressions as an
//!   [`em_family::Family`], so that the mixture engine ([`mixture::Mixture`]) supplies the
//!   E-step, the weights' M-step, prediction, scores and criteria.
//! * [`RegressionMixture`] ([`GaussianRegressionMixture`], [`PoissonRegressionMixture`]): the
//!   typed model — `fit` with restarts from a [`Start`] (random partition, k-means on (x, y),
//!   or given posterior probabilities as flexmix's `cluster =`), `posterior`, `predict`,
//!   `log_likelihood`, `bic`/`aic`/`icl`, coefficients, sigmas, weights, serde model files,
//!   [`em_core::ParameterVector`] for SQUAREM.
//!
//! The Gaussian M-step is exact weighted least squares from fixed-size statistics. The
//! Poisson M-step is a weighted GLM with no fixed-size sufficient statistics: its statistics
//! carry the γ-weighted rows and the M-step runs Newton's method to convergence (see
//! [`PoissonRegressions`] and `docs/regression.md`).

#![warn(missing_docs)]

mod data;
mod family;
mod gaussian;
mod linalg;
mod model;
mod poisson;

pub use data::RegressionData;
pub use family::RegressionFamily;
pub use gaussian::{
    GaussianRegressionStats, GaussianRegressions, GaussianSettings, VarianceEstimator,
};
pub use model::{
    GaussianRegressionMixture, PARTITION_SMOOTHING, PoissonRegressionMixture, RegressionMixture,
    Start, Strategy,
};
pub use poisson::{PoissonRegressionStats, PoissonRegressions, PoissonSettings};

/// The README section's example (`docs/regression.md`, "README section") with this crate's
/// paths, compiled and run so that the pasted text works.
///
/// ```
/// use em_core::Em;
/// use em_regression::{GaussianRegressionMixture, RegressionData, Start};
/// use nalgebra::DMatrix;
///
/// // y = 1 + 2x on even rows, y = 8 − x on odd rows.
/// let x = DMatrix::from_fn(200, 1, |i, _| (i / 2) as f64 / 10.0);
/// let y: Vec<f64> = (0..200).map(|i| {
///     let (x, e) = ((i / 2) as f64 / 10.0, 0.3 * (i as f64 * 1.7).sin());
///     if i % 2 == 0 { 1.0 + 2.0 * x + e } else { 8.0 - x + e }
/// }).collect();
/// let data = RegressionData::with_intercept(&x, y)?; // errors name the row and column
/// let fit = GaussianRegressionMixture::fit(&data, &Start::new(2), &Em::new().n_init(5).seed(1))?;
/// println!("β =\n{}σ = {:?}, π = {:?}", fit.model.coefficients(), fit.model.sigmas(), fit.model.weights());
/// let labels = fit.model.predict(&data)?;
/// assert_ne!(labels[0], labels[1]); // far from the crossing at x = 7/3, the lines separate
/// let post = fit.model.posterior(&data)?;
/// assert_eq!(post.shape(), (200, 2));
/// assert!(serde_json::to_string(&fit.model).is_ok());
/// # Ok::<(), em_core::EmError>(())
/// ```
#[cfg(doctest)]
pub struct ReadmeExample;
