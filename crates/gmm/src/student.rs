//! Mixtures of multivariate Student-t distributions: the robust mixture (McLachlan & Peel 2000,
//! ch. 7). The family is [`StudentFamily`] (the latent scale u per row, the four covariance
//! structures, degrees of freedom estimated or fixed); this module is the typed model around
//! the one mixture engine, with the Gaussian mixture's starts and restarts.
//!
//! A t component gives each row the weight E[u | x] = (ν + D)/(ν + δ) in its M-step, δ the row's
//! Mahalanobis distance, so a gross outlier pulls its component's mean and covariance by little
//! where a Gaussian component follows it. [`StudentMixture::outlier_weights`] returns E[u | x]
//! per row (averaged over the components by the posterior): values well below 1 flag outliers.
//!
//! ```
//! use gmm::StudentMixture;
//! use nalgebra::DMatrix;
//!
//! // Two clusters, and 5 gross outliers.
//! let x = DMatrix::from_fn(205, 2, |i, j| match i {
//!     0..=99 => ((i * 7 + j * 13) % 17) as f64 / 17.0,
//!     100..=199 => 6.0 + ((i * 11 + j * 5) % 19) as f64 / 19.0,
//!     _ => 40.0 + 10.0 * (i - 200) as f64,
//! });
//! let fit = StudentMixture::builder(2).seed(1).fit(&x)?;
//! let weights = fit.model.outlier_weights(&x)?;
//! assert!(weights[204] < 0.05 && weights[0] > 0.5);
//! # Ok::<(), em_core::EmError>(())
//! ```

use em_core::{EStep, EmError, Fitted, LatentModel, ParameterVector, Silent, Stopping};
use em_family::gaussian::{CheckedData, Covariances, Gaussians};
/// The statistics of a [`StudentMixture`]'s E-step (its [`LatentModel::Stats`]), from the
/// family layer.
pub use em_family::student::StudentStats;
use em_family::student::{DofRule, StudentFamily, check_dof};
use mixture::Mixture;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::ops::Range;

use crate::fit::GaussianMixtureBuilder;
use crate::gaussian::CovarianceType;
use crate::init::{Init, Starter};
use crate::mixture::GaussianMixture;

/// The degrees of freedom every component starts with when they are estimated: heavy enough
/// tails that outliers get small weights from the first E-step, light enough that the start's
/// clusters keep their rows.
pub const DEFAULT_INITIAL_DOF: f64 = 10.0;

/// Restarts of a t-mixture fit by default (each from K random rows).
pub const DEFAULT_T_RESTARTS: usize = 10;

/// How the degrees of freedom are set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dof {
    /// Estimated per component by the M-step, from `initial`.
    Estimated {
        /// Every component's ν at the start.
        initial: f64,
    },
    /// The same ν for every component, held fixed (ν = 1 is the Cauchy mixture).
    Fixed(f64),
}

impl Dof {
    /// ν: the fixed value, or the value every component starts from.
    pub fn value(self) -> f64 {
        match self {
            Dof::Estimated { initial } => initial,
            Dof::Fixed(nu) => nu,
        }
    }
}

impl Default for Dof {
    fn default() -> Self {
        Dof::Estimated {
            initial: DEFAULT_INITIAL_DOF,
        }
    }
}

/// A mixture of K Student-t distributions in D dimensions: p(x) = Σ_k π_k t_ν_k(x | μ_k, Σ_k).
/// Always valid; build one with [`StudentMixture::new`] or fit one with
/// [`StudentMixture::builder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StudentSpec", into = "StudentSpec")]
pub struct StudentMixture {
    inner: Mixture<StudentFamily>,
}

/// The serialised form; loading validates it like [`StudentMixture::new`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StudentSpec {
    weights: DVector<f64>,
    means: DMatrix<f64>,
    covariances: Covariances,
    dof: Vec<f64>,
    #[serde(default = "estimated")]
    dof_rule: DofRule,
    #[serde(default)]
    reg_covar: f64,
}

fn estimated() -> DofRule {
    DofRule::Estimated
}

impl TryFrom<StudentSpec> for StudentMixture {
    type Error = EmError;
    fn try_from(s: StudentSpec) -> Result<Self, EmError> {
        let family =
            StudentFamily::new(Gaussians::new(s.means, s.covariances)?, s.dof, s.dof_rule)?
                .with_reg_covar(s.reg_covar)?;
        Ok(StudentMixture {
            inner: Mixture::from_family(s.weights.as_slice().to_vec(), family)?,
        })
    }
}

impl From<StudentMixture> for StudentSpec {
    fn from(m: StudentMixture) -> Self {
        let family = m.inner.family();
        StudentSpec {
            weights: m.inner.weight_vector().clone(),
            means: family.gaussians().means().clone(),
            covariances: family.gaussians().covariances().clone(),
            dof: family.dof().to_vec(),
            dof_rule: family.dof_rule(),
            reg_covar: family.reg_covar(),
        }
    }
}

impl StudentMixture {
    /// The mixture with weights π (K, summing to 1), locations (K×D), scale matrices in the
    /// form of their structure and degrees of freedom (K), estimated by later fits.
    ///
    /// ```
    /// use gmm::{Covariances, StudentMixture};
    /// use nalgebra::{dmatrix, dvector};
    /// let t = StudentMixture::new(dvector![0.5, 0.5], dmatrix![0.0; 5.0],
    ///     Covariances::Spherical(dvector![1.0, 1.0]), vec![3.0, 3.0])?;
    /// assert_eq!(t.predict(&dmatrix![4.0])?, vec![1]);
    /// assert!(StudentMixture::new(dvector![0.5, 0.5], dmatrix![0.0; 5.0],
    ///     Covariances::Spherical(dvector![1.0, 1.0]), vec![3.0, 0.0]).is_err());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Errors
    /// As [`GaussianMixture::new`] for the weights, locations and scales;
    /// [`EmError::InvalidParameter`] naming `dof` for degrees of freedom outside
    /// [`DOF_RANGE`](em_family::student::DOF_RANGE) or not one per component.
    pub fn new(
        weights: DVector<f64>,
        means: DMatrix<f64>,
        covariances: Covariances,
        dof: Vec<f64>,
    ) -> Result<Self, EmError> {
        StudentSpec {
            weights,
            means,
            covariances,
            dof,
            dof_rule: DofRule::Estimated,
            reg_covar: 0.0,
        }
        .try_into()
    }

    /// The t mixture with a Gaussian mixture's weights, means and covariances (as scale
    /// matrices) and ν set by `dof`, keeping its ridge.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `dof` for ν outside its range.
    pub fn from_gaussian(gm: &GaussianMixture, dof: Dof) -> Result<Self, EmError> {
        let rule = match dof {
            Dof::Estimated { .. } => DofRule::Estimated,
            Dof::Fixed(_) => DofRule::Fixed,
        };
        let nu = dof.value();
        let family =
            StudentFamily::new(gm.components().clone(), vec![nu; gm.n_components()], rule)?
                .with_reg_covar(gm.reg_covar())?;
        Ok(StudentMixture {
            inner: Mixture::from_family(gm.weights().as_slice().to_vec(), family)?,
        })
    }

    /// Options for fitting a mixture of `n_components` t distributions: those of
    /// [`GaussianMixture::builder`] (its stopping rule, ridge 0), except the start — each of
    /// [`DEFAULT_T_RESTARTS`] restarts from K random rows as locations
    /// ([`Init::RandomFromData`]) — and ν estimated from [`DEFAULT_INITIAL_DOF`].
    ///
    /// Why random rows: the Gaussian mixture's starts (mclust's hierarchical one, short
    /// Gaussian EM from k-means) give the outliers a component of their own, which is what a t
    /// mixture is meant to avoid. On two clusters with 4 % gross outliers
    /// (`crates/gmm/tests/student.rs`) all 10 such starts end at log-likelihood −1928.8 with
    /// one component on the outliers; random rows end at −1666.4 or −1658.4, both with the
    /// two clusters found.
    pub fn builder(n_components: usize) -> StudentMixtureBuilder {
        StudentMixtureBuilder {
            gaussian: GaussianMixture::builder(n_components)
                .init(Init::RandomFromData)
                .n_init(DEFAULT_T_RESTARTS),
            dof: Dof::default(),
        }
    }

    /// The mixture in the engine's own type.
    pub fn as_mixture(&self) -> &Mixture<StudentFamily> {
        &self.inner
    }

    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.inner.n_components()
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.inner.n_features()
    }

    /// Mixing weights π.
    pub fn weights(&self) -> &DVector<f64> {
        self.inner.weight_vector()
    }

    /// Locations μ_k, K×D.
    pub fn means(&self) -> &DMatrix<f64> {
        self.inner.family().gaussians().means()
    }

    /// Scale matrices Σ_k in the form of their structure (the covariance is Σ_k ν/(ν − 2) for
    /// ν > 2).
    pub fn scales(&self) -> &Covariances {
        self.inner.family().gaussians().covariances()
    }

    /// The covariance structure.
    pub fn covariance_type(&self) -> CovarianceType {
        self.inner.family().gaussians().covariance_type()
    }

    /// Degrees of freedom ν_k.
    pub fn dof(&self) -> &[f64] {
        self.inner.family().dof()
    }

    /// Free parameters: K − 1 weights, the locations and scales, and the ν estimated.
    pub fn n_parameters(&self) -> usize {
        self.inner.n_parameters()
    }

    /// The most probable component of each row.
    ///
    /// # Errors
    /// The data's errors (dimension, non-finite values by row and column).
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<Vec<usize>, EmError> {
        self.inner.predict(x)
    }

    /// Posterior probabilities of the components, N×K.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn predict_proba(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>, EmError> {
        self.inner.predict_proba(x)
    }

    /// log p(x_i) per row.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn score_samples(&self, x: &DMatrix<f64>) -> Result<Vec<f64>, EmError> {
        self.inner.score_samples(x)
    }

    /// Mean log-likelihood per row.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn score(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.score(x)
    }

    /// BIC = −2 log L + p log N.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn bic(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.bic(x)
    }

    /// AIC = −2 log L + 2p.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn aic(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.aic(x)
    }

    /// Draws `n` rows and the component each came from.
    pub fn sample<R: rand::Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> (DMatrix<f64>, Vec<usize>) {
        self.inner.sample(n, rng)
    }

    /// E[u | x_i] = Σ_k p(k | x_i) (ν_k + D)/(ν_k + δ_ik) per row: the weight the row carries in
    /// the M-step relative to a typical one (≈ 1 near a component's centre, → 0 for an
    /// outlier).
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn outlier_weights(&self, x: &DMatrix<f64>) -> Result<Vec<f64>, EmError> {
        let proba = self.predict_proba(x)?;
        let (n, k_count) = proba.shape();
        let mut u = vec![0.0; n * k_count];
        self.inner
            .family()
            .scale_weights(x, 0..n, &mut u, &mut Vec::new());
        Ok((0..n)
            .map(|i| (0..k_count).map(|k| proba[(i, k)] * u[k * n + i]).sum())
            .collect())
    }
}

/// Labelled rows: a labelled row's component responsibility is one-hot, its latent scale u
/// is inferred within that component as usual ([`Mixture::e_step_labelled`] over the t
/// family).
impl em_core::LabelledEStep for StudentMixture {
    type Label = Option<usize>;

    fn e_step_labelled(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        labels: &[Option<usize>],
    ) -> Result<EStep<StudentStats>, EmError> {
        self.inner.e_step_labelled(x, rows, labels, None)
    }

    fn check_labels(&self, x: &DMatrix<f64>, labels: &[Option<usize>]) -> Result<(), EmError> {
        em_core::labelled::check_row_labels(labels, x.nrows(), self.n_components())
    }
}

impl LatentModel for StudentMixture {
    type Data = DMatrix<f64>;
    type Stats = StudentStats;

    fn e_step(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<EStep<StudentStats>, EmError> {
        self.inner.e_step(x, rows)
    }

    fn m_step(&mut self, stats: &StudentStats) -> Result<(), EmError> {
        self.inner.m_step(stats)
    }

    fn expected_complete_log_likelihood(&self, stats: &StudentStats) -> f64 {
        self.inner.expected_complete_log_likelihood(stats)
    }

    fn scaled_parameters(&self) -> Option<em_core::ScaledParameters> {
        self.inner.scaled_parameters()
    }

    fn log_likelihood(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<f64, EmError> {
        self.inner.log_likelihood(x, rows)
    }
}

impl ParameterVector for StudentMixture {
    /// [`GaussianMixture`]'s raw vector of the weights, locations and scale matrices (see
    /// [`crate::accelerate`]), then the K degrees of freedom.
    fn parameters(&self) -> Vec<f64> {
        let mut out = self.weights().as_slice().to_vec();
        out.extend(self.inner.family().gaussians().parameters());
        out.extend(self.dof());
        out
    }

    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        let k = self.n_components();
        let Some(split) = theta.len().checked_sub(k) else {
            return Err(EmError::InvalidParameter {
                name: "theta",
                reason: format!("expected at least {k} values, got {}", theta.len()),
            });
        };
        let g = self.inner.family().gaussians();
        let mut gm = GaussianMixture::new(
            self.weights().clone(),
            g.means().clone(),
            g.covariances().clone(),
        )?;
        ParameterVector::set_parameters(&mut gm, &theta[..split])?;
        let family = self
            .inner
            .family()
            .with_parts(gm.components().clone(), theta[split..].to_vec())?;
        *self = StudentMixture {
            inner: Mixture::from_family(gm.weights().as_slice().to_vec(), family)?,
        };
        Ok(())
    }
}

/// Options for fitting a [`StudentMixture`]: the Gaussian mixture's starts, restarts and
/// stopping ([`GaussianMixtureBuilder`]) and how ν is set.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentMixtureBuilder {
    gaussian: GaussianMixtureBuilder,
    dof: Dof,
}

impl StudentMixtureBuilder {
    /// The covariance structure of the scale matrices (default full).
    pub fn covariance_type(mut self, kind: CovarianceType) -> Self {
        self.gaussian = self.gaussian.covariance_type(kind);
        self
    }

    /// How ν is set (default: estimated from [`DEFAULT_INITIAL_DOF`]).
    pub fn dof(mut self, dof: Dof) -> Self {
        self.dof = dof;
        self
    }

    /// The ridge added to the scale matrices' variances after each M-step (default 0).
    pub fn reg_covar(mut self, reg_covar: f64) -> Self {
        self.gaussian = self.gaussian.reg_covar(reg_covar);
        self
    }

    /// How the locations and scales start (the Gaussian mixture's [`Init`]; ν starts as set).
    pub fn init(mut self, init: Init) -> Self {
        self.gaussian = self.gaussian.init(init);
        self
    }

    /// Restarts; the best final log-likelihood wins.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.gaussian = self.gaussian.n_init(n_init);
        self
    }

    /// The seed of the restarts.
    pub fn seed(mut self, seed: u64) -> Self {
        self.gaussian = self.gaussian.seed(seed);
        self
    }

    /// The stopping rule.
    pub fn stopping(mut self, stopping: Stopping) -> Self {
        self.gaussian = self.gaussian.stopping(stopping);
        self
    }

    /// The budget of EM iterations per restart.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.gaussian = self.gaussian.max_iter(max_iter);
        self
    }

    /// Worker threads for the E-step.
    pub fn threads(mut self, threads: usize) -> Self {
        self.gaussian = self.gaussian.threads(threads);
        self
    }

    /// Restarts the fit runs ([`GaussianMixtureBuilder::restarts`]).
    pub fn restarts(&self) -> usize {
        self.gaussian.restarts()
    }

    /// Fits the mixture to `x` (one row per observation, no missing values).
    ///
    /// # Errors
    /// The data's errors (by row and column), [`EmError::TooFewObservations`],
    /// invalid options, and a fit's numerical failures when every restart fails.
    pub fn fit(&self, x: &DMatrix<f64>) -> Result<Fitted<StudentMixture>, EmError> {
        self.fit_observed(x, &mut Silent)
    }

    /// [`fit`](Self::fit) with an observer that sees every iteration.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_observed(
        &self,
        x: &DMatrix<f64>,
        observer: &mut dyn em_core::Observer,
    ) -> Result<Fitted<StudentMixture>, EmError> {
        let k = self.gaussian.n_components;
        let checked = CheckedData::new(x, None)?;
        if k == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_components",
                reason: "must be at least 1".into(),
            });
        }
        if x.nrows() < k {
            return Err(EmError::TooFewObservations {
                n_obs: x.nrows(),
                n_components: k,
            });
        }
        crate::gaussian::check_reg_covar(self.gaussian.reg_covar)?;
        self.gaussian.em.validate()?;
        self.gaussian.init.validate()?;
        // The starting ν is checked once, here, rather than by every restart.
        check_dof(0, self.dof.value())?;
        let ctx = self.gaussian.init_context(None, None);
        let dof = self.dof;
        let start = Starter {
            init: &self.gaussian.init,
            data: checked,
            ctx: &ctx,
            wrap: move |gm: GaussianMixture| StudentMixture::from_gaussian(&gm, dof),
        };
        self.gaussian
            .restart_driver()
            .observer(observer)
            .fit_restarts(&start, x)
    }
}
