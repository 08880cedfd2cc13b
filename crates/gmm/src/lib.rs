//! # gmm
//!
//! Gaussian mixture models fitted by EM on the [`em_core`] driver: full, diagonal,
//! spherical and tied covariances, mclust's hierarchical start and k-means starts
//! ([`Init`]; [`hc`]), restarts, sample
//! weights, a `reg_covar` ridge or a proper conjugate prior (MAP-EM), and the API
//! practitioners know from scikit-learn (`predict`, `predict_proba`, `score_samples`,
//! `score`, `sample`, `bic`, `aic`; and mclust's `icl`). Slowly converging fits can be
//! accelerated by SQUAREM ([`GaussianMixtureBuilder::accelerate`]; the parameter vectors are
//! in [`accelerate`]). Data too large for memory can be fitted from a CSV or binary file
//! read in chunks on every iteration, with the same result ([`stream`]).
//!
//! A fit can succeed and still mean nothing — a constant column, more parameters than rows, a
//! component collapsed onto a few points and its unbounded likelihood: [`diagnostics`] says
//! so, naming the column or component. A model fitted in other units (column z-scores,
//! [`Standardization`]) is brought back by [`GaussianMixture::affine_transform`].
//!
//! The Gaussian machinery itself — K Gaussians evaluated on batches of rows, their weighted
//! statistics and M-step — lives in the family layer, [`em_family::gaussian`], re-exported
//! here as [`gaussian`]; models with Gaussian parts other than mixtures (the `hmm` crate's
//! emissions) use it from there.
//!
//! ```
//! use gmm::GaussianMixture;
//! use nalgebra::DMatrix;
//! use rand::SeedableRng;
//!
//! // Draw 1,000 points from a known two-component mixture, then fit it back.
//! let truth = GaussianMixture::new(
//!     nalgebra::dvector![0.3, 0.7],
//!     nalgebra::dmatrix![-4.0, 0.0; 4.0, 1.0],
//!     gmm::Covariances::Spherical(nalgebra::dvector![1.0, 0.5]),
//! )?;
//! let (x, _) = truth.sample(1000, &mut rand::rngs::StdRng::seed_from_u64(7));
//! let fit = GaussianMixture::builder(2).n_init(2).fit(&x)?;
//! let w = fit.model.weights();
//! assert!((w.min() - 0.3).abs() < 0.05);
//! println!("BIC {:.1}", fit.model.bic(&x)?);
//! # Ok::<(), em_core::EmError>(())
//! ```

#![warn(missing_docs)]

pub mod accelerate;
mod affine;
pub mod diagnostics;
mod fit;
pub mod gradient;
mod init;
mod mixture;
pub mod online;
pub mod stream;
pub mod student;
mod two_component;
mod validate;
mod weighted;

/// k-means++ seeding and Lloyd's k-means, which live in the family layer
/// ([`em_family::kmeans`]) so that the Gaussian mixture's and the Gaussian HMM's starts share
/// them; re-exported here so that `gmm::kmeans::…` keeps working.
pub use em_family::hc;
pub use em_family::kmeans;

/// The zero-inflated Poisson model, which lives in the `mixture` crate (its EM is the
/// one-component mixture of the family layer's zero-inflation wrapper over a Poisson); re-exported
/// here so that `gmm::ZeroInflatedPoisson` and `gmm::zip::…` keep working.
pub mod zip {
    pub use ::mixture::zip::{
        MAX_COUNT, PI_START_MIN, ZeroInflatedPoisson, ZipStats, counts_from_f64,
    };
}

pub use ::mixture::{ZeroInflatedPoisson, ZipStats};
pub use affine::{Standardization, StandardizeError};
pub use diagnostics::Warning;
pub use em_core::{
    Acceleration, EmError, FitReport, Fitted, Labelled, LabelledEStep, ParameterVector, Stopping,
};
pub use em_family::gaussian;
pub use fit::{
    DEFAULT_N_INIT, DEFAULT_REG_COVAR, GaussianMixtureBuilder, MIN_COMPLETE_ROWS_PER_PARAMETER,
    PriorChoice,
};
pub use gaussian::{
    CovarianceType, Covariances, GaussianStats, Gaussians, MissingValues, Prior, Scatter,
    ScatterForm,
};
pub use init::{AUTO_HIERARCHICAL_MAX_FEATURES, Init, SHORT_EM_MAX_ROWS, ShortEm};
pub use mixture::GaussianMixture;
pub use student::{Dof, StudentMixture, StudentMixtureBuilder};
pub use two_component::TwoComponentMixture;
pub use weighted::SampleWeighted;
