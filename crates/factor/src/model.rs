//! The typed model: a mixture of K factor analysers (or probabilistic PCAs) on the mixture
//! engine, with accessors, serde and SQUAREM's parameter vector.

use std::ops::Range;

use em_core::{EStep, EmError, LatentModel, ParameterVector, ScaledParameters};
use em_family::Family;
use mixture::Mixture;
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::analyser::FactorAnalyser;
use crate::family::{FactorFamily, FactorStats, NoiseStructure, check_noise_floor, push_noise};

/// A mixture of K factor analysers, p(x) = Σ_k π_k N(x | μ_k, W_k W_kᵀ + Ψ_k), with Ψ_k
/// diagonal, shared, or σ_k² I (mixtures of probabilistic PCA). Always valid.
///
/// Fit one with [`FactorMixture::builder`]; build one from parameters with
/// [`FactorMixture::new`]. Scoring, prediction, sampling and the information criteria are
/// the mixture engine's ([`mixture::Mixture`]), in O(D q) per row and component.
///
/// ```
/// use em_factor::{FactorAnalyser, FactorMixture, NoiseStructure};
/// use nalgebra::{dmatrix, dvector, DMatrix};
/// use rand::SeedableRng;
///
/// let a = FactorAnalyser::new(dvector![0.0, 0.0, 0.0], dmatrix![2.0; 1.0; 0.0], dvector![0.1, 0.1, 0.1])?;
/// let b = FactorAnalyser::new(dvector![9.0, 9.0, 9.0], dmatrix![0.0; 1.0; 2.0], dvector![0.1, 0.1, 0.1])?;
/// let model = FactorMixture::new(vec![0.5, 0.5], vec![a, b], NoiseStructure::Isotropic)?;
/// let (x, z): (DMatrix<f64>, Vec<usize>) = model.sample(200, &mut em_core::StdRng::seed_from_u64(1));
/// assert_eq!(model.predict(&x)?, z);
/// assert_eq!(model.covariance(1).map(|s| s[(2, 2)]), Some(4.1));
/// let json = serde_json::to_string(&model).unwrap();
/// let back: FactorMixture = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, model);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FactorMixture {
    inner: Mixture<FactorFamily>,
}

/// The serialised form of a [`FactorMixture`]; loading validates it like
/// [`FactorMixture::new`].
#[derive(Serialize, Deserialize)]
struct MixtureSpec {
    weights: Vec<f64>,
    noise_structure: NoiseStructure,
    #[serde(default)]
    noise_floor: f64,
    components: Vec<FactorAnalyser>,
}

impl Serialize for FactorMixture {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MixtureSpec {
            weights: self.weights().to_vec(),
            noise_structure: self.noise_structure(),
            noise_floor: self.noise_floor(),
            components: self.components().to_vec(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FactorMixture {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec = MixtureSpec::deserialize(deserializer)?;
        FactorMixture::new(spec.weights, spec.components, spec.noise_structure)
            .and_then(|m| m.with_noise_floor(spec.noise_floor))
            .map_err(serde::de::Error::custom)
    }
}

impl FactorMixture {
    /// The mixture of `components` with weights π and noise structure `noise`.
    ///
    /// # Errors
    /// Those of [`FactorFamily::new`] and of the weights ([`mixture::check_weights`]).
    pub fn new(
        weights: Vec<f64>,
        components: Vec<FactorAnalyser>,
        noise: NoiseStructure,
    ) -> Result<Self, EmError> {
        let family = FactorFamily::new(components, noise)?;
        Ok(FactorMixture {
            inner: Mixture::from_family(weights, family)?,
        })
    }

    /// The mixture over `family` with weights π.
    ///
    /// # Errors
    /// Those of [`mixture::check_weights`].
    pub fn from_family(weights: Vec<f64>, family: FactorFamily) -> Result<Self, EmError> {
        Ok(FactorMixture {
            inner: Mixture::from_family(weights, family)?,
        })
    }

    /// Sets the noise floor of the M-step ([`FactorFamily::with_noise_floor`]).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`noise_floor`) unless finite and ≥ 0.
    pub fn with_noise_floor(self, floor: f64) -> Result<Self, EmError> {
        check_noise_floor(floor)?;
        let family = self.family().clone().with_noise_floor(floor)?;
        FactorMixture::from_family(self.weights().to_vec(), family)
    }

    /// The mixture engine's model (for everything this type does not forward).
    pub fn mixture(&self) -> &Mixture<FactorFamily> {
        &self.inner
    }

    /// The family of the K components.
    pub fn family(&self) -> &FactorFamily {
        self.inner.family()
    }

    /// The components.
    pub fn components(&self) -> &[FactorAnalyser] {
        self.family().components()
    }

    /// Component k, or `None` if k ≥ K.
    pub fn component(&self, k: usize) -> Option<&FactorAnalyser> {
        self.components().get(k)
    }

    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.inner.n_components()
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.inner.n_features()
    }

    /// Number of factors q.
    pub fn n_factors(&self) -> usize {
        self.family().n_factors()
    }

    /// The noise structure.
    pub fn noise_structure(&self) -> NoiseStructure {
        self.family().noise_structure()
    }

    /// The noise floor of the M-step (0: none).
    pub fn noise_floor(&self) -> f64 {
        self.family().noise_floor()
    }

    /// Mixing weights π (length K).
    pub fn weights(&self) -> &[f64] {
        self.inner.weights()
    }

    /// μ_k, or `None` if k ≥ K.
    pub fn mean(&self, k: usize) -> Option<&DVector<f64>> {
        self.component(k).map(FactorAnalyser::mean)
    }

    /// W_k (D × q, defined up to rotation), or `None` if k ≥ K.
    pub fn loadings(&self, k: usize) -> Option<&DMatrix<f64>> {
        self.component(k).map(FactorAnalyser::loadings)
    }

    /// The diagonal of Ψ_k (length D; all equal for isotropic noise), or `None` if k ≥ K.
    pub fn noise(&self, k: usize) -> Option<&DVector<f64>> {
        self.component(k).map(FactorAnalyser::noise)
    }

    /// The implied covariance W_k W_kᵀ + Ψ_k (D × D), or `None` if k ≥ K.
    pub fn covariance(&self, k: usize) -> Option<DMatrix<f64>> {
        self.component(k).map(FactorAnalyser::covariance)
    }

    /// Free parameters: K − 1 weights plus the components' ([`NoiseStructure::n_parameters`]).
    pub fn n_parameters(&self) -> usize {
        self.inner.n_parameters()
    }

    /// log p(x_i) for every row.
    ///
    /// # Errors
    /// [`EmError::EmptyData`], [`EmError::DimensionMismatch`], [`EmError::NonFinite`] (row and
    /// column of the first NaN or ±∞).
    pub fn score_samples(&self, x: &DMatrix<f64>) -> Result<Vec<f64>, EmError> {
        self.inner.score_samples(x)
    }

    /// Mean log-likelihood per row (errors as [`score_samples`](Self::score_samples)).
    pub fn score(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.score(x)
    }

    /// Σ_i log p(x_i) (errors as [`score_samples`](Self::score_samples)).
    pub fn log_likelihood_total(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.log_likelihood_total(x)
    }

    /// Responsibilities p(k | x_i), N × K (errors as [`score_samples`](Self::score_samples)).
    pub fn predict_proba(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>, EmError> {
        self.inner.predict_proba(x)
    }

    /// The most probable component of every row (errors as
    /// [`score_samples`](Self::score_samples)).
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<Vec<usize>, EmError> {
        self.inner.predict(x)
    }

    /// E[z | x_i, k] for every row under component k (N × q): the factor scores, scikit-learn's
    /// `FactorAnalysis.transform` for one component.
    ///
    /// # Errors
    /// As [`score_samples`](Self::score_samples), and [`EmError::InvalidParameter`]
    /// (`component`) for k ≥ K.
    pub fn transform(&self, x: &DMatrix<f64>, k: usize) -> Result<DMatrix<f64>, EmError> {
        let comp = self.component(k).ok_or_else(|| EmError::InvalidParameter {
            name: "component",
            reason: format!("component {k} of {}", self.n_components()),
        })?;
        self.inner.check_data(x)?;
        Ok(comp.posterior_means(x))
    }

    /// Draws n rows and the component of each.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (DMatrix<f64>, Vec<usize>) {
        self.inner.sample(n, rng)
    }

    /// BIC = −2 log L + p log N (lower is better; errors as
    /// [`score_samples`](Self::score_samples)).
    pub fn bic(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.bic(x)
    }

    /// AIC = −2 log L + 2p (errors as [`score_samples`](Self::score_samples)).
    pub fn aic(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.aic(x)
    }

    /// ICL = BIC − 2 Σ_i log max_k γ_ik (errors as [`score_samples`](Self::score_samples)).
    pub fn icl(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.icl(x)
    }

    /// The E-step with one weight per row (`rows.len()` of them).
    ///
    /// # Errors
    /// Those of [`mixture::Mixture::e_step_weighted`].
    pub fn e_step_weighted(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        weights: Option<&[f64]>,
    ) -> Result<EStep<FactorStats>, EmError> {
        self.inner.e_step_weighted(x, rows, weights)
    }
}

impl LatentModel for FactorMixture {
    type Data = DMatrix<f64>;
    type Stats = FactorStats;

    /// The E-step of rows `rows`: responsibilities, then each component's posterior of the
    /// factors. Data are checked once by the fitting entry points, not per batch.
    fn e_step(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<EStep<FactorStats>, EmError> {
        self.inner.e_step(x, rows)
    }

    fn m_step(&mut self, stats: &FactorStats) -> Result<(), EmError> {
        self.inner.m_step(stats)
    }

    fn expected_complete_log_likelihood(&self, stats: &FactorStats) -> f64 {
        self.inner.expected_complete_log_likelihood(stats)
    }

    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        self.inner.scaled_parameters()
    }

    fn log_likelihood(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<f64, EmError> {
        self.inner.log_likelihood(x, rows)
    }
}

impl ParameterVector for FactorMixture {
    /// Raw coordinates: the K weights, then per component μ (D) and W (D q, column by column),
    /// then the noise: K × D variances (diagonal), D (shared) or K σ² (isotropic).
    fn parameters(&self) -> Vec<f64> {
        let mut out = self.weights().to_vec();
        for c in self.components() {
            out.extend(c.mean().iter());
            out.extend(c.loadings().iter());
        }
        push_noise(self.components(), self.noise_structure(), |v| out.push(v));
        out
    }

    /// Validated as [`FactorMixture::new`]; unchanged on error.
    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        let (k, d, q) = (self.n_components(), self.n_features(), self.n_factors());
        let noise_len = match self.noise_structure() {
            NoiseStructure::Diagonal => k * d,
            NoiseStructure::SharedDiagonal => d,
            NoiseStructure::Isotropic => k,
        };
        let expected = k + k * (d + d * q) + noise_len;
        if theta.len() != expected {
            return Err(EmError::InvalidParameter {
                name: "theta",
                reason: format!("expected {expected} values, got {}", theta.len()),
            });
        }
        let (weights, rest) = theta.split_at(k);
        let (params, noise) = rest.split_at(k * (d + d * q));
        let mut components = Vec::with_capacity(k);
        for (j, chunk) in params.chunks_exact(d + d * q).enumerate() {
            let psi = match self.noise_structure() {
                NoiseStructure::Diagonal => DVector::from_column_slice(&noise[j * d..(j + 1) * d]),
                NoiseStructure::SharedDiagonal => DVector::from_column_slice(noise),
                NoiseStructure::Isotropic => DVector::from_element(d, noise[j]),
            };
            components.push(FactorAnalyser::new_in_component(
                DVector::from_column_slice(&chunk[..d]),
                DMatrix::from_column_slice(d, q, &chunk[d..]),
                psi,
                j,
            )?);
        }
        let family = FactorFamily::new(components, self.noise_structure())?
            .with_noise_floor(self.noise_floor())?;
        if let Some(j) = (0..family.n_components()).find(|&j| {
            family.components()[j]
                .noise()
                .iter()
                .any(|&v| v < self.noise_floor())
        }) {
            return Err(EmError::InvalidParameter {
                name: "theta",
                reason: format!("component {j} has a noise variance below the noise floor"),
            });
        }
        *self = FactorMixture::from_family(weights.to_vec(), family)?;
        Ok(())
    }
}
