//! The variational Bayes Gaussian mixture: builder, fitted model and its [`LatentModel`]
//! contract.

use std::ops::Range;

use em_core::{
    EStep, EmError, Initializer, LatentModel, ScalableStatistics, ScaledParameters, Statistics,
    StdRng,
};
use em_family::gaussian::{
    CheckedData, GaussianStats, Scatter, ScatterForm, accumulate, check_data, check_reg_covar,
    normalise,
};
use em_family::kmeans::KMeans;
use em_family::{CovarianceType, Covariances, Gaussians};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::digamma;

use crate::priors::{CovariancePrior, Priors, WeightPrior};
use crate::special::{kl_beta, kl_dirichlet, kl_wishart, wishart_expected_log_det_offset};

/// Expected sufficient statistics of q(z): per component N_k = Σ γ_nk, the weighted mean
/// and the centred scatter (em-family's [`GaussianStats`]), with [`ScalableStatistics`] for
/// online EM.
///
/// ```
/// use em_core::{LatentModel, ScalableStatistics, Statistics};
/// use em_variational::BayesianGaussianMixture;
/// use nalgebra::DMatrix;
/// let x = DMatrix::from_fn(40, 1, |i, _| (i % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
/// let model = BayesianGaussianMixture::builder(2).kmeans_start(&x, 0)?;
/// let mut half = model.e_step(&x, 0..20)?.stats;
/// half.merge(&model.e_step(&x, 20..40)?.stats);
/// half.scale(0.5); // the statistics of "half the data", as online EM averages them
/// assert!((half.0.n.sum() - 20.0).abs() < 1e-12);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VbStats(pub GaussianStats);

impl Statistics for VbStats {
    fn merge(&mut self, later: &Self) {
        self.0.merge(&later.0);
    }
}

impl ScalableStatistics for VbStats {
    /// Scales N_k and the scatter (sums over observations); the means are ratios of sums and
    /// do not change.
    fn scale(&mut self, factor: f64) {
        let s = &mut self.0;
        s.n *= factor;
        match &mut s.scatter {
            Scatter::Full(m) => m.iter_mut().for_each(|m| *m *= factor),
            Scatter::Diag(m) => *m *= factor,
        }
        s.conditional_entropy *= factor;
    }
}

/// The variational posterior of the weights.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightConcentration {
    /// q(π) = Dir(α_1, …, α_K) (the Dirichlet-distribution prior).
    Dirichlet(DVector<f64>),
    /// q(v_k) = Beta(a_k, b_k) for the K sticks (the Dirichlet-process prior): scikit-learn's
    /// tuple `(a, b)`.
    Beta {
        /// a_k = 1 + N_k.
        a: DVector<f64>,
        /// b_k = α₀ + Σ_{j>k} N_j.
        b: DVector<f64>,
    },
}

/// How to build a [`BayesianGaussianMixture`]: the number of components, the covariance type,
/// the weight prior, the priors (scikit-learn's defaults unless set), `reg_covar`. Validated
/// when a start is made ([`from_responsibilities`](Self::from_responsibilities),
/// [`kmeans_start`](Self::kmeans_start)).
///
/// It is also an [`Initializer`] (the k-means start), so restarts run through
/// [`em_core::Em::fit_restarts`].
///
/// ```
/// use em_core::Em;
/// use em_variational::{BayesianGaussianMixture, WeightPrior};
/// use em_family::CovarianceType;
/// use nalgebra::DMatrix;
///
/// let x = DMatrix::from_fn(60, 1, |i, _| if i < 30 { i as f64 * 0.01 } else { 5.0 + i as f64 * 0.01 });
/// let builder = BayesianGaussianMixture::builder(4)
///     .covariance_type(CovarianceType::Diag)
///     .weight_prior(WeightPrior::DirichletDistribution)
///     .weight_concentration_prior(0.01);
/// let fitted = Em::new().n_init(2).seed(1).max_iter(500).fit_restarts(&builder, &x)?;
/// assert_eq!(fitted.model.n_effective_components(0.05), 2);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BayesianGaussianMixtureBuilder {
    n_components: usize,
    covariance_type: CovarianceType,
    weight_prior: WeightPrior,
    weight_concentration_prior: Option<f64>,
    mean_precision_prior: Option<f64>,
    mean_prior: Option<DVector<f64>>,
    degrees_of_freedom_prior: Option<f64>,
    covariance_prior: Option<CovariancePrior>,
    reg_covar: f64,
    kmeans_n_init: usize,
}

/// A variational Bayes Gaussian mixture (Bishop 2006, §10.2): scikit-learn's
/// `BayesianGaussianMixture`, fitted by [`em_core::Em`].
///
/// The parameters are those of the variational posterior q(π) q(μ, Λ): the weights'
/// concentration, and per component N(m_k, (κ_k Λ_k)⁻¹) Wishart(Λ_k | W_k, ν_k). As in
/// scikit-learn, the covariances are stored as C_k = (ν_k W_k)⁻¹ = E\[Λ_k\]⁻¹. See the crate
/// documentation for the model, the objective and the contract mapping.
///
/// ```
/// use em_core::{Em, StdRng};
/// use em_variational::BayesianGaussianMixture;
/// use nalgebra::DMatrix;
/// use rand::SeedableRng;
/// use rand_distr::{Distribution, Normal};
///
/// // Two groups in 2-D, eight components: the posterior keeps two.
/// let (mut rng, noise) = (StdRng::seed_from_u64(1), Normal::new(0.0, 1.0).unwrap());
/// let x = DMatrix::from_fn(200, 2, |i, _| if i < 100 { 0.0 } else { 8.0 } + noise.sample(&mut rng));
/// let builder = BayesianGaussianMixture::builder(8).weight_concentration_prior(1e-3);
/// let mut model = builder.kmeans_start(&x, 0)?;
/// let report = Em::new().max_iter(2_000).fit(&mut model, &x)?;
/// assert!(report.converged);
/// assert_eq!(model.n_effective_components(0.01), 2);
/// let labels = model.predict(&x)?;
/// assert_ne!(labels[0], labels[199]);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "Spec", try_from = "Spec")]
pub struct BayesianGaussianMixture {
    covariance_type: CovarianceType,
    weight_prior: WeightPrior,
    reg_covar: f64,
    priors: Priors,
    /// Σ₀ as a matrix, and ln|W₀| = −ln|Σ₀| (in the form of the covariance type).
    prior_scale: DMatrix<f64>,
    ln_det_w0: f64,
    weight_concentration: WeightConcentration,
    mean_precision: DVector<f64>,
    degrees_of_freedom: DVector<f64>,
    /// Means m_k and covariances C_k = (ν_k W_k)⁻¹, factorised.
    gaussians: Gaussians,
    /// E\[ln π_k\] + ½(E\[ln|Λ_k|\] + ln|C_k|) − D/(2κ_k): ρ_nk − ln N(x_n | m_k, C_k).
    log_constants: Vec<f64>,
    /// −KL(q(θ) ‖ p(θ)).
    neg_kl: f64,
}

impl BayesianGaussianMixture {
    /// A builder for `n_components` components with scikit-learn's defaults: full
    /// covariances, the Dirichlet-process weight prior, α₀ = 1/K, κ₀ = 1, m₀ = the data mean,
    /// ν₀ = D, Σ₀ = the data covariance (in the form of the covariance type),
    /// `reg_covar` = 1e-6.
    pub fn builder(n_components: usize) -> BayesianGaussianMixtureBuilder {
        BayesianGaussianMixtureBuilder {
            n_components,
            covariance_type: CovarianceType::Full,
            weight_prior: WeightPrior::DirichletProcess,
            weight_concentration_prior: None,
            mean_precision_prior: None,
            mean_prior: None,
            degrees_of_freedom_prior: None,
            covariance_prior: None,
            reg_covar: 1e-6,
            kmeans_n_init: 1,
        }
    }
}

impl BayesianGaussianMixtureBuilder {
    /// The covariance structure (default full).
    pub fn covariance_type(mut self, covariance_type: CovarianceType) -> Self {
        self.covariance_type = covariance_type;
        self
    }

    /// The weight prior (default [`WeightPrior::DirichletProcess`]).
    pub fn weight_prior(mut self, weight_prior: WeightPrior) -> Self {
        self.weight_prior = weight_prior;
        self
    }

    /// α₀ > 0, the concentration of the weight prior (default 1/K).
    pub fn weight_concentration_prior(mut self, alpha0: f64) -> Self {
        self.weight_concentration_prior = Some(alpha0);
        self
    }

    /// κ₀ > 0, the precision of the prior on the means (default 1).
    pub fn mean_precision_prior(mut self, kappa0: f64) -> Self {
        self.mean_precision_prior = Some(kappa0);
        self
    }

    /// m₀, the prior mean of the means (default the data mean).
    pub fn mean_prior(mut self, mean: DVector<f64>) -> Self {
        self.mean_prior = Some(mean);
        self
    }

    /// ν₀ > D − 1, the Wishart degrees of freedom (default D).
    pub fn degrees_of_freedom_prior(mut self, nu0: f64) -> Self {
        self.degrees_of_freedom_prior = Some(nu0);
        self
    }

    /// Σ₀ = W₀⁻¹, the prior on the covariance structure (default the data's covariance,
    /// variances or mean variance, with the N − 1 divisor, as scikit-learn computes them).
    pub fn covariance_prior(mut self, covariance: CovariancePrior) -> Self {
        self.covariance_prior = Some(covariance);
        self
    }

    /// scikit-learn's `reg_covar` (default 1e-6): added to the diagonal of every component's
    /// scatter per unit of N_k (see the crate documentation; it is not part of the prior).
    pub fn reg_covar(mut self, reg_covar: f64) -> Self {
        self.reg_covar = reg_covar;
        self
    }

    /// Restarts of the k-means of [`kmeans_start`](Self::kmeans_start) (default 1, as
    /// scikit-learn's initialisation).
    pub fn kmeans_n_init(mut self, n_init: usize) -> Self {
        self.kmeans_n_init = n_init;
        self
    }

    /// The number of components K.
    pub fn n_components(&self) -> usize {
        self.n_components
    }

    /// The priors resolved against the data `x` (defaults filled in), validated.
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// let p = BayesianGaussianMixture::builder(4).resolve_priors(&x)?;
    /// assert_eq!((p.weight_concentration, p.mean_precision, p.degrees_of_freedom), (0.25, 1.0, 2.0));
    /// assert!((p.mean[1] - x.column(1).mean()).abs() < 1e-12);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn resolve_priors(&self, x: &DMatrix<f64>) -> Result<Priors, EmError> {
        let (n, d) = x.shape();
        let k = self.n_components;
        if k == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_components",
                reason: "must be at least 1".into(),
            });
        }
        check_data(x, None)?;
        if n < k {
            return Err(EmError::TooFewObservations {
                n_obs: n,
                n_components: k,
            });
        }
        let covariance = match &self.covariance_prior {
            Some(c) => c.clone(),
            None => {
                if n < 2 {
                    return Err(EmError::TooFewObservations {
                        n_obs: n,
                        n_components: k.max(2),
                    });
                }
                CovariancePrior::sklearn_default(x, self.covariance_type)
            }
        };
        let priors = Priors {
            weight_concentration: self.weight_concentration_prior.unwrap_or(1.0 / k as f64),
            mean_precision: self.mean_precision_prior.unwrap_or(1.0),
            mean: self
                .mean_prior
                .clone()
                .unwrap_or_else(|| x.row_mean().transpose()),
            degrees_of_freedom: self.degrees_of_freedom_prior.unwrap_or(d as f64),
            covariance,
        };
        priors.validate(d, self.covariance_type)?;
        Ok(priors)
    }

    /// The model after one M-step from the responsibilities `resp` (N×K, row n = the
    /// responsibilities of observation n): how scikit-learn initialises. Rows need not sum
    /// to 1; values must be finite and ≥ 0.
    ///
    /// ```
    /// use em_variational::BayesianGaussianMixture;
    /// use nalgebra::DMatrix;
    /// let x = DMatrix::from_row_slice(4, 1, &[0.0, 0.2, 5.0, 5.2]);
    /// let resp = DMatrix::from_row_slice(4, 2, &[1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0]);
    /// let model = BayesianGaussianMixture::builder(2).from_responsibilities(&x, &resp)?;
    /// assert!(model.means()[(0, 0)] < 2.6 && model.means()[(1, 0)] > 2.6);
    /// assert!(BayesianGaussianMixture::builder(2).from_responsibilities(&x, &(-resp)).is_err());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn from_responsibilities(
        &self,
        x: &DMatrix<f64>,
        resp: &DMatrix<f64>,
    ) -> Result<BayesianGaussianMixture, EmError> {
        let priors = self.resolve_priors(x)?;
        check_reg_covar(self.reg_covar)?;
        let (n, d) = x.shape();
        let k = self.n_components;
        if resp.shape() != (n, k) {
            return Err(EmError::InvalidParameter {
                name: "resp",
                reason: format!(
                    "must be {n}×{k} (one row per observation, one column per component), got {}×{}",
                    resp.nrows(),
                    resp.ncols()
                ),
            });
        }
        for row in 0..n {
            for column in 0..k {
                let v = resp[(row, column)];
                if !(v >= 0.0 && v.is_finite()) {
                    return Err(EmError::InvalidInput {
                        row,
                        column: Some(column),
                        reason: format!("responsibility {v} must be finite and ≥ 0"),
                    });
                }
            }
        }
        // Component-major responsibilities, as em-family's accumulate takes them.
        let gamma: Vec<f64> = resp.as_slice().to_vec();
        let mut scratch = Vec::new();
        let stats = accumulate(
            x,
            0..n,
            k,
            &gamma,
            None,
            ScatterForm::from(self.covariance_type),
            &mut scratch,
        );
        let prior_scale = priors.covariance.matrix(d);
        let ln_det_w0 = -em_family::gaussian::cholesky(&prior_scale, 0, "covariance_prior")
            .map(|l| 2.0 * l.diagonal().iter().map(|v| v.ln()).sum::<f64>())?;
        let mut model = BayesianGaussianMixture {
            covariance_type: self.covariance_type,
            weight_prior: self.weight_prior,
            reg_covar: self.reg_covar,
            priors,
            prior_scale,
            ln_det_w0,
            weight_concentration: WeightConcentration::Dirichlet(DVector::zeros(0)),
            mean_precision: DVector::zeros(0),
            degrees_of_freedom: DVector::zeros(0),
            gaussians: Gaussians::new(
                DMatrix::zeros(k, d),
                Covariances::Spherical(DVector::from_element(k, 1.0)),
            )?,
            log_constants: vec![0.0; k],
            neg_kl: 0.0,
        };
        model.update(&stats)?;
        Ok(model)
    }

    /// scikit-learn's default start (`init_params = "kmeans"`): k-means (k-means++ seeding,
    /// Lloyd's iterations, [`kmeans_n_init`](Self::kmeans_n_init) runs) seeded with `seed`,
    /// its labels as hard responsibilities, then [`from_responsibilities`](Self::from_responsibilities).
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// let a = BayesianGaussianMixture::builder(3).kmeans_start(&x, 5)?;
    /// assert_eq!(a, BayesianGaussianMixture::builder(3).kmeans_start(&x, 5)?); // reproducible
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn kmeans_start(
        &self,
        x: &DMatrix<f64>,
        seed: u64,
    ) -> Result<BayesianGaussianMixture, EmError> {
        use rand::SeedableRng;
        self.kmeans_start_with(x, &mut StdRng::seed_from_u64(seed))
    }

    fn kmeans_start_with(
        &self,
        x: &DMatrix<f64>,
        rng: &mut StdRng,
    ) -> Result<BayesianGaussianMixture, EmError> {
        self.resolve_priors(x)?;
        let checked = CheckedData::new(x, None)?;
        let fit = KMeans::new(self.n_components)
            .n_init(self.kmeans_n_init)
            .fit_checked(checked, rng)?;
        let mut resp = DMatrix::zeros(x.nrows(), self.n_components);
        for (i, &label) in fit.labels.iter().enumerate() {
            resp[(i, label)] = 1.0;
        }
        self.from_responsibilities(x, &resp)
    }
}

impl Initializer<BayesianGaussianMixture> for BayesianGaussianMixtureBuilder {
    /// The k-means start of [`BayesianGaussianMixtureBuilder::kmeans_start`], from the
    /// restart's generator.
    fn initialize(
        &self,
        data: &DMatrix<f64>,
        rng: &mut StdRng,
    ) -> Result<BayesianGaussianMixture, EmError> {
        self.kmeans_start_with(data, rng)
    }
}

impl BayesianGaussianMixture {
    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.gaussians.n_components()
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.gaussians.n_features()
    }

    /// The covariance structure.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariance_type
    }

    /// The weight prior.
    pub fn weight_prior(&self) -> WeightPrior {
        self.weight_prior
    }

    /// The resolved priors (scikit-learn's `*_prior_` attributes).
    pub fn priors(&self) -> &Priors {
        &self.priors
    }

    /// `reg_covar`.
    pub fn reg_covar(&self) -> f64 {
        self.reg_covar
    }

    /// The variational posterior of the weights (scikit-learn's `weight_concentration_`).
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// use em_variational::WeightConcentration;
    /// // The default weight prior is the Dirichlet process: Beta(a_k, b_k) sticks.
    /// let WeightConcentration::Beta { a, b } = model.weight_concentration() else { unreachable!() };
    /// assert!((a.sum() - (3.0 + 40.0)).abs() < 1e-9 && b[2] == 1.0 / 3.0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn weight_concentration(&self) -> &WeightConcentration {
        &self.weight_concentration
    }

    /// κ_k (scikit-learn's `mean_precision_`).
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// // κ_k = κ₀ + N_k.
    /// assert!((model.mean_precision().sum() - (3.0 + 40.0)).abs() < 1e-9);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn mean_precision(&self) -> &DVector<f64> {
        &self.mean_precision
    }

    /// ν_k (scikit-learn's `degrees_of_freedom_`): K values, or one for tied covariances.
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// // ν_k = ν₀ + N_k: they sum to K ν₀ + N.
    /// assert!((model.degrees_of_freedom().sum() - (3.0 * 2.0 + 40.0)).abs() < 1e-9);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn degrees_of_freedom(&self) -> &DVector<f64> {
        &self.degrees_of_freedom
    }

    /// m_k, K×D (scikit-learn's `means_`).
    pub fn means(&self) -> &DMatrix<f64> {
        self.gaussians.means()
    }

    /// C_k = (ν_k W_k)⁻¹ = E\[Λ_k\]⁻¹ in the form of the covariance type (scikit-learn's
    /// `covariances_`).
    pub fn covariances(&self) -> &Covariances {
        self.gaussians.covariances()
    }

    /// The expected weights E\[π_k\] (scikit-learn's `weights_`): α_k / Σα for the Dirichlet
    /// distribution; for the Dirichlet process E\[v_k\] Π_{j<k} E\[1 − v_j\], renormalised to
    /// sum to 1 as scikit-learn does.
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// assert!((model.weights().sum() - 1.0).abs() < 1e-12);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn weights(&self) -> DVector<f64> {
        match &self.weight_concentration {
            WeightConcentration::Dirichlet(alpha) => alpha / alpha.sum(),
            WeightConcentration::Beta { a, b } => {
                let k = a.len();
                let mut w = DVector::zeros(k);
                let mut rest = 1.0;
                for j in 0..k {
                    let total = a[j] + b[j];
                    w[j] = a[j] / total * rest;
                    rest *= b[j] / total;
                }
                let s = w.sum();
                w / s
            }
        }
    }

    /// The precisions E\[Λ_k\] = C_k⁻¹ (scikit-learn's `precisions_`), in the form of the
    /// covariance type.
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// use em_family::Covariances;
    /// let (Covariances::Full(p), Covariances::Full(c)) = (model.precisions(), model.covariances()) else { unreachable!() };
    /// let eye = &p[0] * &c[0];
    /// assert!((eye - DMatrix::<f64>::identity(2, 2)).amax() < 1e-10);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn precisions(&self) -> Covariances {
        let square = |u: &DMatrix<f64>| u * u.transpose();
        match self.precisions_cholesky() {
            Covariances::Full(u) => Covariances::Full(u.iter().map(square).collect()),
            Covariances::Tied(u) => Covariances::Tied(square(&u)),
            Covariances::Diag(v) => Covariances::Diag(v.map(|s| s * s)),
            Covariances::Spherical(v) => Covariances::Spherical(v.map(|s| s * s)),
        }
    }

    /// scikit-learn's `precisions_cholesky_`: for full and tied covariances the upper
    /// triangular U = (L⁻¹)ᵀ with C = L Lᵀ, so that C⁻¹ = U Uᵀ; for diagonal and spherical
    /// ones 1/√C.
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// use em_family::Covariances;
    /// let Covariances::Full(u) = model.precisions_cholesky() else { unreachable!() };
    /// assert_eq!(u[0][(1, 0)], 0.0); // upper triangular, as scikit-learn's
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn precisions_cholesky(&self) -> Covariances {
        let upper = |k: usize| -> DMatrix<f64> {
            let d = self.n_features();
            let l = self
                .gaussians
                .cholesky(k)
                .unwrap_or_else(|| DMatrix::zeros(d, d));
            let eye = DMatrix::<f64>::identity(d, d);
            l.solve_lower_triangular(&eye)
                .unwrap_or_else(|| DMatrix::from_element(d, d, f64::NAN))
                .transpose()
        };
        match self.gaussians.covariances() {
            Covariances::Full(c) => Covariances::Full((0..c.len()).map(upper).collect()),
            Covariances::Tied(_) => Covariances::Tied(upper(0)),
            Covariances::Diag(v) => Covariances::Diag(v.map(|s| 1.0 / s.sqrt())),
            Covariances::Spherical(v) => Covariances::Spherical(v.map(|s| 1.0 / s.sqrt())),
        }
    }

    /// The components whose expected weight exceeds `threshold`: the number of components
    /// the posterior uses.
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// assert!(model.n_effective_components(0.0) == 3);
    /// assert!(model.n_effective_components(1.0) == 0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn n_effective_components(&self, threshold: f64) -> usize {
        self.weights().iter().filter(|&&w| w > threshold).count()
    }

    /// −KL(q(θ) ‖ p(θ)): the part of the ELBO that does not depend on the data (this model's
    /// [`LatentModel::log_prior`]).
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// use em_core::LatentModel;
    /// assert!(model.neg_kl() < 0.0 && model.neg_kl() == model.log_prior());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn neg_kl(&self) -> f64 {
        self.neg_kl
    }

    /// The evidence lower bound at the current q(θ) with q(z) optimal for it:
    /// Σ_n ln Σ_k exp ρ_nk − KL(q(θ) ‖ p(θ)), the objective the driver reports. It differs
    /// from scikit-learn's `lower_bound_` by constants (see the crate documentation).
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// use em_core::Em;
    /// let mut fitted = model.clone();
    /// let report = Em::new().fit(&mut fitted, &x)?;
    /// assert!(fitted.elbo(&x)? >= model.elbo(&x)?);
    /// assert!((fitted.elbo(&x)? - report.objective()).abs() < 1e-9 * report.objective().abs());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn elbo(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        Ok(self.e_step(x, 0..x.nrows())?.log_likelihood + self.neg_kl)
    }

    /// ρ_nk = E\[ln π_k\] + E\[ln N(x_n | μ_k, Λ_k)\], N×K.
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// let rho = model.log_rho(&x)?;
    /// assert_eq!(rho.shape(), (40, 3));
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn log_rho(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>, EmError> {
        self.check(x, &(0..x.nrows()))?;
        let (n, k) = (x.nrows(), self.n_components());
        let mut out = vec![0.0; n * k];
        let mut scratch = Vec::new();
        self.gaussians
            .log_joint(x, 0..n, &self.log_constants, &mut out, &mut scratch);
        Ok(DMatrix::from_vec(n, k, out))
    }

    /// ln Σ_k exp ρ_nk per row (scikit-learn's `score_samples`).
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// use em_core::LatentModel;
    /// let total: f64 = model.score_samples(&x)?.sum();
    /// assert!((total - model.log_likelihood(&x, 0..40)?).abs() < 1e-9 * total.abs());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn score_samples(&self, x: &DMatrix<f64>) -> Result<DVector<f64>, EmError> {
        let rho = self.log_rho(x)?;
        Ok(DVector::from_fn(rho.nrows(), |i, _| {
            let m = rho.row(i).max();
            m + rho.row(i).iter().map(|v| (v - m).exp()).sum::<f64>().ln()
        }))
    }

    /// q(z_n = k) ∝ exp ρ_nk, N×K (scikit-learn's `predict_proba`).
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// let p = model.predict_proba(&x)?;
    /// assert!(p.row_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12));
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn predict_proba(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>, EmError> {
        let mut rho = self.log_rho(x)?;
        let lse = self.score_samples(x)?;
        for i in 0..rho.nrows() {
            for k in 0..rho.ncols() {
                rho[(i, k)] = (rho[(i, k)] - lse[i]).exp();
            }
        }
        Ok(rho)
    }

    /// The most probable component of each row (ties to the lowest index).
    ///
    /// ```
    /// # use em_variational::BayesianGaussianMixture;
    /// # use nalgebra::DMatrix;
    /// # let x = DMatrix::from_fn(40, 2, |i, j| ((i * (1 + 6 * j)) % 20) as f64 * 0.1 + if i < 20 { 0.0 } else { 5.0 });
    /// # let model = BayesianGaussianMixture::builder(3).kmeans_start(&x, 0)?;
    /// let labels = model.predict(&x)?;
    /// assert_ne!(labels[0], labels[39]);
    /// assert!(model.predict(&DMatrix::zeros(2, 3)).is_err()); // three columns, not two
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<Vec<usize>, EmError> {
        let rho = self.log_rho(x)?;
        Ok(rho
            .row_iter()
            .map(|r| {
                let mut best = 0;
                for (k, &v) in r.iter().enumerate() {
                    if v > r[best] {
                        best = k;
                    }
                }
                best
            })
            .collect())
    }

    /// The shape and finiteness of a batch.
    fn check(&self, x: &DMatrix<f64>, rows: &Range<usize>) -> Result<(), EmError> {
        em_family::check_batch_shape(self.n_features(), x.ncols(), rows, x.nrows())?;
        for column in 0..x.ncols() {
            for row in rows.clone() {
                let value = x[(row, column)];
                if !value.is_finite() {
                    return Err(EmError::NonFinite { row, column, value });
                }
            }
        }
        Ok(())
    }

    /// The VB update of q(θ) from the statistics of q(z) (scikit-learn's `_m_step`), then the
    /// cached constants and −KL.
    fn update(&mut self, stats: &GaussianStats) -> Result<(), EmError> {
        let (k_count, d) = (self.n_components(), self.n_features());
        if !stats.fits(k_count, d, self.covariance_type) {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics of another shape (expected {k_count} components, {d} features)"
                ),
            });
        }
        if let Some(k) = (0..k_count).find(|&k| !(stats.n[k] >= 0.0 && stats.n[k].is_finite())) {
            return Err(EmError::EmptyComponent {
                component: k,
                weight: stats.n[k],
            });
        }
        let p = &self.priors;
        let (alpha0, kappa0, nu0) = (
            p.weight_concentration,
            p.mean_precision,
            p.degrees_of_freedom,
        );
        let nk = &stats.n;
        let total = nk.sum();
        let reg = self.reg_covar;
        let kf = k_count as f64;

        // Weights.
        let weight_concentration = match self.weight_prior {
            WeightPrior::DirichletDistribution => {
                WeightConcentration::Dirichlet(nk.map(|n| alpha0 + n))
            }
            WeightPrior::DirichletProcess => {
                let mut b = DVector::zeros(k_count);
                let mut tail = 0.0;
                for k in (0..k_count).rev() {
                    b[k] = alpha0 + tail;
                    tail += nk[k];
                }
                WeightConcentration::Beta {
                    a: nk.map(|n| 1.0 + n),
                    b,
                }
            }
        };

        // Means: κ_k = κ₀ + N_k, m_k = (κ₀ m₀ + N_k x̄_k) / κ_k.
        let kappa = nk.map(|n| kappa0 + n);
        let means = DMatrix::from_fn(k_count, d, |k, j| {
            (kappa0 * p.mean[j] + nk[k] * stats.means[(k, j)]) / kappa[k]
        });
        let delta = |k: usize| DVector::from_fn(d, |j, _| stats.means[(k, j)] - p.mean[j]);
        let full_scatter = |k: usize| -> DMatrix<f64> {
            match &stats.scatter {
                Scatter::Full(m) => m[k].clone(),
                Scatter::Diag(m) => DMatrix::from_diagonal(&m.row(k).transpose()),
            }
        };

        // Precisions: C_k = W_k⁻¹ / ν_k.
        let (dof, covariances) = match (self.covariance_type, &self.priors.covariance) {
            (CovarianceType::Full, CovariancePrior::Full(s0)) => {
                let nu = nk.map(|n| nu0 + n);
                let c = (0..k_count)
                    .map(|k| {
                        let dk = delta(k);
                        let mut a = s0
                            + full_scatter(k)
                            + &dk * dk.transpose() * (nk[k] * kappa0 / kappa[k]);
                        for j in 0..d {
                            a[(j, j)] += nk[k] * reg;
                        }
                        symmetrise(a / nu[k])
                    })
                    .collect();
                (nu, Covariances::Full(c))
            }
            (CovarianceType::Tied, CovariancePrior::Full(s0)) => {
                let nu = nu0 + total / kf;
                let mut a = DMatrix::zeros(d, d);
                let mut means_part = DMatrix::zeros(d, d);
                for k in 0..k_count {
                    a += full_scatter(k);
                    let dk = delta(k);
                    means_part += &dk * dk.transpose() * (nk[k] / kappa[k]);
                }
                for j in 0..d {
                    a[(j, j)] += total * reg;
                }
                let a = s0 + a / kf + means_part * (kappa0 / kf);
                (
                    DVector::from_element(1, nu),
                    Covariances::Tied(symmetrise(a / nu)),
                )
            }
            (CovarianceType::Diag, CovariancePrior::Diag(s0)) => {
                let nu = nk.map(|n| nu0 + n);
                let var = DMatrix::from_fn(k_count, d, |k, j| {
                    let m2 = match &stats.scatter {
                        Scatter::Diag(m) => m[(k, j)],
                        Scatter::Full(m) => m[k][(j, j)],
                    };
                    let dj = stats.means[(k, j)] - p.mean[j];
                    (s0[j] + (m2 + nk[k] * reg) + nk[k] * (kappa0 / kappa[k]) * dj * dj) / nu[k]
                });
                (nu, Covariances::Diag(var))
            }
            (CovarianceType::Spherical, CovariancePrior::Spherical(s0)) => {
                let nu = nk.map(|n| nu0 + n);
                let df = d as f64;
                let var = DVector::from_fn(k_count, |k, _| {
                    let m2 = stats.scatter_diagonal(k).sum() / df;
                    let dd = delta(k).norm_squared() / df;
                    (s0 + (m2 + nk[k] * reg) + nk[k] * (kappa0 / kappa[k]) * dd) / nu[k]
                });
                (nu, Covariances::Spherical(var))
            }
            // The builder validated the prior's form against the covariance type.
            (kind, _) => {
                return Err(EmError::InvalidParameter {
                    name: "covariance_prior",
                    reason: format!("does not fit {kind} covariances"),
                });
            }
        };
        let gaussians = Gaussians::new_in_context(means, covariances, "after the VB M-step")?;
        self.weight_concentration = weight_concentration;
        self.mean_precision = kappa;
        self.degrees_of_freedom = dof;
        self.gaussians = gaussians;
        self.refresh();
        Ok(())
    }

    /// ν_k of component k (the shared ν for tied covariances).
    fn nu(&self, k: usize) -> f64 {
        if self.degrees_of_freedom.len() == 1 {
            self.degrees_of_freedom[0]
        } else {
            self.degrees_of_freedom[k]
        }
    }

    /// E\[ln π_k\] under q(π).
    fn expected_log_weights(&self) -> Vec<f64> {
        match &self.weight_concentration {
            WeightConcentration::Dirichlet(alpha) => {
                let psi_total = digamma(alpha.sum());
                alpha.iter().map(|&a| digamma(a) - psi_total).collect()
            }
            WeightConcentration::Beta { a, b } => {
                let mut out = Vec::with_capacity(a.len());
                let mut rest = 0.0;
                for k in 0..a.len() {
                    let psi_total = digamma(a[k] + b[k]);
                    out.push(digamma(a[k]) - psi_total + rest);
                    rest += digamma(b[k]) - psi_total;
                }
                out
            }
        }
    }

    /// Recomputes the per-component constants of ρ and −KL(q(θ) ‖ p(θ)).
    fn refresh(&mut self) {
        let (k_count, d) = (self.n_components(), self.n_features());
        let df = d as f64;
        let p = &self.priors;
        let (alpha0, kappa0, nu0) = (
            p.weight_concentration,
            p.mean_precision,
            p.degrees_of_freedom,
        );
        let log_w = self.expected_log_weights();
        self.log_constants = (0..k_count)
            .map(|k| {
                let nu = self.nu(k);
                log_w[k] + 0.5 * (wishart_expected_log_det_offset(nu, d) - df * nu.ln())
                    - 0.5 * df / self.mean_precision[k]
            })
            .collect();

        // KL of the weights.
        let kl_weights = match &self.weight_concentration {
            WeightConcentration::Dirichlet(alpha) => kl_dirichlet(alpha.as_slice(), alpha0),
            WeightConcentration::Beta { a, b } => {
                (0..k_count).map(|k| kl_beta(a[k], b[k], 1.0, alpha0)).sum()
            }
        };
        // E_q(Λ)[KL(q(μ_k | Λ_k) ‖ p(μ_k | Λ_k))] and KL(q(Λ_k) ‖ p(Λ_k)).
        let mut kl_components = 0.0;
        for k in 0..k_count {
            let nu = self.nu(k);
            let kappa = self.mean_precision[k];
            let ln_det_c = self.gaussians.log_det(k);
            let dk = DVector::from_fn(d, |j, _| self.gaussians.means()[(k, j)] - p.mean[j]);
            // (m_k − m₀)ᵀ C_k⁻¹ (m_k − m₀) and tr(Σ₀ C_k⁻¹), by Cholesky solves.
            let (maha, trace) = match self.gaussians.cholesky(k) {
                Some(l) => {
                    let y = l
                        .solve_lower_triangular(&dk)
                        .unwrap_or_else(|| dk.map(|_| f64::NAN));
                    let z = l
                        .solve_lower_triangular(&self.prior_scale)
                        .unwrap_or_else(|| self.prior_scale.map(|_| f64::NAN));
                    let t = l
                        .transpose()
                        .solve_upper_triangular(&z)
                        .unwrap_or_else(|| z.map(|_| f64::NAN));
                    (y.norm_squared(), t.trace())
                }
                None => (f64::NAN, f64::NAN),
            };
            kl_components +=
                0.5 * (df * kappa0 / kappa + kappa0 * maha - df + df * (kappa / kappa0).ln());
            let ln_det_w = -ln_det_c - df * nu.ln();
            let kl_l = kl_wishart(ln_det_w, nu, self.ln_det_w0, nu0, trace / nu, d);
            // Tied: one shared q(Λ) stands for K a-priori independent precisions, so its
            // divergence counts K times (scikit-learn's K · ln B(W, ν)); adding it per k does that.
            kl_components += kl_l;
        }
        self.neg_kl = -(kl_weights + kl_components);
    }
}

/// The serialised form of a [`BayesianGaussianMixture`]: the settings, the priors and the
/// variational parameters; everything derived (factors, constants, −KL) is rebuilt and
/// validated on deserialisation.
#[derive(serde::Serialize, serde::Deserialize)]
struct Spec {
    covariance_type: CovarianceType,
    weight_prior: WeightPrior,
    reg_covar: f64,
    priors: Priors,
    weight_concentration: WeightConcentration,
    mean_precision: DVector<f64>,
    degrees_of_freedom: DVector<f64>,
    means: DMatrix<f64>,
    covariances: Covariances,
}

impl From<BayesianGaussianMixture> for Spec {
    fn from(m: BayesianGaussianMixture) -> Spec {
        let (means, covariances) = m.gaussians.into_parts();
        Spec {
            covariance_type: m.covariance_type,
            weight_prior: m.weight_prior,
            reg_covar: m.reg_covar,
            priors: m.priors,
            weight_concentration: m.weight_concentration,
            mean_precision: m.mean_precision,
            degrees_of_freedom: m.degrees_of_freedom,
            means,
            covariances,
        }
    }
}

impl TryFrom<Spec> for BayesianGaussianMixture {
    type Error = EmError;
    fn try_from(s: Spec) -> Result<Self, EmError> {
        let gaussians = Gaussians::new(s.means, s.covariances)?;
        let (k, d) = (gaussians.n_components(), gaussians.n_features());
        if gaussians.covariance_type() != s.covariance_type {
            return Err(EmError::InvalidParameter {
                name: "covariances",
                reason: format!(
                    "{} covariances for a {} model",
                    gaussians.covariance_type(),
                    s.covariance_type
                ),
            });
        }
        s.priors.validate(d, s.covariance_type)?;
        check_reg_covar(s.reg_covar)?;
        let positive = |v: &DVector<f64>| v.iter().all(|x| *x > 0.0 && x.is_finite());
        let n_dof = if s.covariance_type == CovarianceType::Tied {
            1
        } else {
            k
        };
        let weights_ok = match (&s.weight_concentration, s.weight_prior) {
            (WeightConcentration::Dirichlet(a), WeightPrior::DirichletDistribution) => {
                a.len() == k && positive(a)
            }
            (WeightConcentration::Beta { a, b }, WeightPrior::DirichletProcess) => {
                a.len() == k && b.len() == k && positive(a) && positive(b)
            }
            _ => false,
        };
        if !weights_ok {
            return Err(EmError::InvalidParameter {
                name: "weight_concentration",
                reason: format!(
                    "must be {k} positive values of the {} form",
                    s.weight_prior.as_str()
                ),
            });
        }
        if s.mean_precision.len() != k || !positive(&s.mean_precision) {
            return Err(EmError::InvalidParameter {
                name: "mean_precision",
                reason: format!("must be {k} positive values"),
            });
        }
        if s.degrees_of_freedom.len() != n_dof
            || s.degrees_of_freedom
                .iter()
                .any(|v| !(*v > d as f64 - 1.0 && v.is_finite()))
        {
            return Err(EmError::InvalidParameter {
                name: "degrees_of_freedom",
                reason: format!("must be {n_dof} finite value(s) > D − 1"),
            });
        }
        let prior_scale = s.priors.covariance.matrix(d);
        let ln_det_w0 = -em_family::gaussian::cholesky(&prior_scale, 0, "covariance_prior")
            .map(|l| 2.0 * l.diagonal().iter().map(|v| v.ln()).sum::<f64>())?;
        let mut model = BayesianGaussianMixture {
            covariance_type: s.covariance_type,
            weight_prior: s.weight_prior,
            reg_covar: s.reg_covar,
            priors: s.priors,
            prior_scale,
            ln_det_w0,
            weight_concentration: s.weight_concentration,
            mean_precision: s.mean_precision,
            degrees_of_freedom: s.degrees_of_freedom,
            gaussians,
            log_constants: Vec::new(),
            neg_kl: 0.0,
        };
        model.refresh();
        Ok(model)
    }
}

/// The mean of a matrix and its transpose: exactly symmetric.
fn symmetrise(m: DMatrix<f64>) -> DMatrix<f64> {
    let t = m.transpose();
    (m + t) * 0.5
}

impl LatentModel for BayesianGaussianMixture {
    type Data = DMatrix<f64>;
    type Stats = VbStats;

    /// Statistics of q(z_n = k) ∝ exp ρ_nk; `log_likelihood` is Σ_n ln Σ_k exp ρ_nk and
    /// `entropy` Σ_n H(q(z_n)).
    fn e_step(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<EStep<VbStats>, EmError> {
        self.check(x, &rows)?;
        let (k, c) = (self.n_components(), rows.len());
        let mut lj = vec![0.0; k * c];
        let mut scratch = Vec::new();
        self.gaussians
            .log_joint(x, rows.clone(), &self.log_constants, &mut lj, &mut scratch);
        let mut lse = Vec::new();
        let (log_likelihood, entropy) = normalise(&mut lj, c, None, &mut lse);
        let stats = accumulate(
            x,
            rows,
            k,
            &lj,
            None,
            ScatterForm::from(self.covariance_type),
            &mut scratch,
        );
        Ok(EStep {
            stats: VbStats(stats),
            log_likelihood,
            entropy,
        })
    }

    /// The VB update of q(θ), which maximises ECLL + log_prior for the statistics.
    fn m_step(&mut self, stats: &VbStats) -> Result<(), EmError> {
        self.update(&stats.0)
    }

    /// Σ_nk γ_nk ρ_nk from the statistics.
    fn expected_complete_log_likelihood(&self, stats: &VbStats) -> f64 {
        let s = &stats.0;
        if s.n.len() != self.n_components() {
            return f64::NAN;
        }
        self.gaussians.expected_log_density(s)
            + s.n
                .iter()
                .zip(&self.log_constants)
                .map(|(n, c)| if *n == 0.0 { 0.0 } else { n * c })
                .sum::<f64>()
    }

    /// The means in units of their component's standard deviation, the covariances as the
    /// Gaussian mixture scales them, and the expected weights as probabilities.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut p = self.gaussians.scaled_parameters();
        self.weights().iter().for_each(|&w| p.push_probability(w));
        Some(p)
    }

    /// −KL(q(θ) ‖ p(θ)), with all normalising constants.
    fn log_prior(&self) -> f64 {
        self.neg_kl
    }

    fn log_likelihood(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<f64, EmError> {
        self.check(x, &rows)?;
        let (k, c) = (self.n_components(), rows.len());
        let mut lj = vec![0.0; k * c];
        let mut scratch = Vec::new();
        self.gaussians
            .log_joint(x, rows, &self.log_constants, &mut lj, &mut scratch);
        let mut lse = Vec::new();
        Ok(normalise(&mut lj, c, None, &mut lse).0)
    }
}
