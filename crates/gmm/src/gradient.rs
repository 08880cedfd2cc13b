//! The score, gradient ascent, standard errors and the rate of convergence for the Gaussian
//! mixtures: [`Differentiable`] for [`GaussianMixture`] and [`TwoComponentMixture`], those of the
//! one mixture engine over the Gaussian family.
//!
//! Coordinates: the K − 1 log-ratio weights log(π_k / π_{K−1}), the K·D means, then the
//! covariances unconstrained — the log-Cholesky factor of each (`full`) or the shared
//! (`tied`) covariance, log-variances for `diag` and `spherical` (see
//! [`em_family::gaussian::gradient`]). Standard errors are reported for the weights, the means
//! and the covariances in the compact form of their structure. A model fitted with a
//! conjugate prior has no gradient here ([`EmError::NotAvailable`]); one fitted with the
//! `reg_covar` ridge is slightly off the maximum of the likelihood, by the ridge.
//!
//! ```
//! use em_core::information::{convergence_rate, standard_errors, InformationMethod};
//! use gmm::GaussianMixture;
//! use nalgebra::DMatrix;
//!
//! let x = DMatrix::from_fn(400, 1, |i, _| if i % 3 == 0 { 4.0 } else { 0.0 } + ((i * 37 % 101) as f64 / 50.0 - 1.0));
//! let fit = GaussianMixture::builder(2).reg_covar(0.0).seed(1).fit(&x)?;
//! let se = standard_errors(&fit.model, &x, InformationMethod::Observed)?;
//! assert_eq!(se.names[..4], ["π_0", "π_1", "μ_0[0]", "μ_1[0]"]);
//! let rate = convergence_rate(&fit.model, &x)?;
//! assert!(rate.rate > 0.0 && rate.rate < 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use em_core::{Differentiable, EmError};

use crate::gaussian::GaussianStats;
use crate::mixture::GaussianMixture;
use crate::two_component::TwoComponentMixture;

/// [`Differentiable`] for a model that holds a differentiable one and can be rebuilt from it.
macro_rules! differentiable_through {
    ($model:ty, $inner:ty, $get:expr, $rebuild:expr) => {
        impl Differentiable for $model {
            fn coordinates(&self) -> Result<Vec<f64>, EmError> {
                $get(self).coordinates()
            }
            fn set_coordinates(&mut self, eta: &[f64]) -> Result<(), EmError> {
                let mut inner: $inner = $get(self).clone();
                inner.set_coordinates(eta)?;
                *self = $rebuild(inner)?;
                Ok(())
            }
            fn coordinate_names(&self) -> Vec<String> {
                $get(self).coordinate_names()
            }
            fn complete_gradient(&self, stats: &GaussianStats) -> Result<Vec<f64>, EmError> {
                $get(self).complete_gradient(stats)
            }
            fn natural_parameters(&self) -> Vec<f64> {
                $get(self).natural_parameters()
            }
            fn natural_parameter_names(&self) -> Vec<String> {
                $get(self).natural_parameter_names()
            }
        }
    };
}

differentiable_through!(
    GaussianMixture,
    mixture::Mixture<crate::gaussian::GaussianFamily>,
    GaussianMixture::as_mixture,
    |m| Ok::<_, EmError>(GaussianMixture::from(m))
);

differentiable_through!(
    TwoComponentMixture,
    GaussianMixture,
    TwoComponentMixture::as_mixture,
    TwoComponentMixture::try_from
);
