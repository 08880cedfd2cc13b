//! The two-component mixture of the lecture notes, in their parameterisation:
//! P(x) = (1 − α) N(x | μ₀, Σ₀) + α N(x | μ₁, Σ₁), with z_i = 1 meaning "from component 1".
//!
//! It is a [`GaussianMixture`] with K = 2 full covariances seen through (α, μ₀, Σ₀, μ₁, Σ₁):
//! the E- and M-steps, the EM loop and the checks are the shared ones. The M-step is the
//! notes' γ-weighted formulas, e.g. α = Σγ_i / n and μ₁ = Σγ_i x_i / Σγ_i.

use std::ops::Range;

use em_core::{EStep, EmError, LatentModel};
use nalgebra::{DMatrix, DVector, dvector};

use crate::fit::GaussianMixtureBuilder;
use crate::gaussian::GaussianStats;
use crate::gaussian::{CovarianceType, Covariances};
use crate::mixture::GaussianMixture;

/// (1 − α) N(μ₀, Σ₀) + α N(μ₁, Σ₁). Always valid: 0 < α < 1 and both covariances positive
/// definite.
///
/// ```
/// use gmm::TwoComponentMixture;
/// use nalgebra::{dmatrix, dvector};
///
/// let m = TwoComponentMixture::new(0.25, dvector![0.0], dmatrix![1.0], dvector![5.0], dmatrix![1.0])?;
/// let x = dmatrix![0.1; 2.6; 2.8; 4.9];
/// // γ_i = P(z_i = 1 | x_i); the hard rule assigns z_i = 1 when γ_i ≥ 1/2, which here
/// // (α = 1/4 pulls the boundary towards μ₁) is x ≥ 2.5 + ln(3)/5 ≈ 2.72.
/// assert_eq!(m.classify(&x)?, vec![false, false, true, true]);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TwoComponentMixture {
    inner: GaussianMixture,
}

impl TwoComponentMixture {
    /// The mixture with weight α on component 1 (0 < α < 1).
    pub fn new(
        alpha: f64,
        mu0: DVector<f64>,
        sigma0: DMatrix<f64>,
        mu1: DVector<f64>,
        sigma1: DMatrix<f64>,
    ) -> Result<Self, EmError> {
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(EmError::InvalidParameter {
                name: "alpha",
                reason: format!("must lie strictly between 0 and 1, got {alpha}"),
            });
        }
        if mu0.len() != mu1.len() {
            return Err(EmError::InvalidParameter {
                name: "mu1",
                reason: format!("μ₀ has {} features but μ₁ has {}", mu0.len(), mu1.len()),
            });
        }
        let means = DMatrix::from_rows(&[mu0.transpose(), mu1.transpose()]);
        let inner = GaussianMixture::new(
            dvector![1.0 - alpha, alpha],
            means,
            Covariances::Full(vec![sigma0, sigma1]),
        )?;
        Ok(TwoComponentMixture { inner })
    }

    /// Fitting options preset to two full-covariance components; turn the fitted mixture
    /// into this parameterisation with `TwoComponentMixture::try_from(fit.model)`.
    pub fn builder() -> GaussianMixtureBuilder {
        GaussianMixture::builder(2).covariance_type(CovarianceType::Full)
    }

    /// α, the weight of component 1 (P(z = 1)).
    pub fn alpha(&self) -> f64 {
        self.inner.weights()[1]
    }

    /// μ₀, the mean of component 0.
    pub fn mu0(&self) -> DVector<f64> {
        self.inner.means().row(0).transpose()
    }

    /// μ₁, the mean of component 1.
    pub fn mu1(&self) -> DVector<f64> {
        self.inner.means().row(1).transpose()
    }

    /// Σ₀, the covariance of component 0.
    pub fn sigma0(&self) -> DMatrix<f64> {
        self.inner
            .covariances()
            .full_matrix(0, self.inner.n_features())
    }

    /// Σ₁, the covariance of component 1.
    pub fn sigma1(&self) -> DMatrix<f64> {
        self.inner
            .covariances()
            .full_matrix(1, self.inner.n_features())
    }

    /// γ_i = P(z_i = 1 | x_i) for every row.
    pub fn gamma(&self, x: &DMatrix<f64>) -> Result<DVector<f64>, EmError> {
        Ok(self.inner.predict_proba(x)?.column(1).into_owned())
    }

    /// The hard classification rule of the notes: z_i = 1 exactly when γ_i ≥ 1/2.
    pub fn classify(&self, x: &DMatrix<f64>) -> Result<Vec<bool>, EmError> {
        Ok(self.gamma(x)?.iter().map(|&g| g >= 0.5).collect())
    }

    /// The same model as a general [`GaussianMixture`] (for scoring, sampling, saving …).
    pub fn as_mixture(&self) -> &GaussianMixture {
        &self.inner
    }
}

impl TryFrom<GaussianMixture> for TwoComponentMixture {
    type Error = EmError;
    /// Accepts a mixture with exactly two full-covariance components; component 1 carries α.
    fn try_from(inner: GaussianMixture) -> Result<Self, EmError> {
        if inner.n_components() != 2 || inner.covariance_type() != CovarianceType::Full {
            return Err(EmError::InvalidParameter {
                name: "model",
                reason: format!(
                    "a two-component model needs K = 2 full covariances, got K = {} {}",
                    inner.n_components(),
                    inner.covariance_type()
                ),
            });
        }
        Ok(TwoComponentMixture { inner })
    }
}

impl From<TwoComponentMixture> for GaussianMixture {
    fn from(m: TwoComponentMixture) -> Self {
        m.inner
    }
}

impl LatentModel for TwoComponentMixture {
    type Data = DMatrix<f64>;
    type Stats = GaussianStats;

    fn e_step(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
    ) -> Result<EStep<GaussianStats>, EmError> {
        self.inner.e_step(x, rows)
    }

    fn m_step(&mut self, stats: &GaussianStats) -> Result<(), EmError> {
        self.inner.m_step(stats)
    }

    fn expected_complete_log_likelihood(&self, stats: &GaussianStats) -> f64 {
        self.inner.expected_complete_log_likelihood(stats)
    }

    /// The mixture's weights, means and covariances with their scales
    /// ([`Gaussians::scaled_parameters`](em_family::gaussian::Gaussians::scaled_parameters)).
    fn scaled_parameters(&self) -> Option<em_core::ScaledParameters> {
        self.inner.scaled_parameters()
    }

    fn log_prior(&self) -> f64 {
        self.inner.log_prior()
    }
}
