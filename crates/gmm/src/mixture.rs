//! The Gaussian mixture model: the Gaussian family ([`GaussianFamily`]: K Gaussians with the
//! `reg_covar` ridge and an optional conjugate prior) in the one mixture engine
//! ([`mixture::Mixture`]), with the API practitioners know from scikit-learn.

use std::ops::Range;

use em_core::{EStep, EmError, LabelledEStep, LatentModel};
use mixture::Mixture;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::gaussian::{
    CovarianceType, Covariances, GaussianFamily, GaussianStats, Gaussians, MissingValues, Prior,
    check_means, check_symmetric, cholesky,
};

/// A mixture of K Gaussians in D dimensions: p(x) = Σ_k π_k N(x | μ_k, Σ_k).
///
/// The Gaussian family in the one mixture engine, [`mixture::Mixture`]`<`[`GaussianFamily`]`>`
/// ([`as_mixture`](Self::as_mixture)): the E-step, M-step, prediction, scoring, sampling and
/// criteria are the engine's, the Gaussian arithmetic (Cholesky factors, the vectorised
/// kernel, statistics merged with Chan's update, the M-step of the four covariance
/// structures and the conjugate prior) is the family's.
///
/// A value of this type is always valid: weights are positive and sum to 1, covariances are
/// positive definite and their Cholesky factors are cached. Build one with
/// [`GaussianMixture::new`] (known parameters) or fit one with
/// [`GaussianMixture::builder`].
///
/// It implements [`LatentModel`] on `DMatrix<f64>` data (one observation per row), so the
/// em-core driver and invariant checker apply to it directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MixtureSpec", into = "MixtureSpec")]
pub struct GaussianMixture {
    inner: Mixture<GaussianFamily>,
}

/// The serialised form of a [`GaussianMixture`]; loading validates it like
/// [`GaussianMixture::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MixtureSpec {
    weights: DVector<f64>,
    means: DMatrix<f64>,
    covariances: Covariances,
    #[serde(default)]
    reg_covar: f64,
    #[serde(default)]
    prior: Option<Prior>,
    #[serde(default, skip_serializing_if = "is_error")]
    missing_values: MissingValues,
}

/// Model files written before missing values were modelled carry no `missing_values`; the
/// default is left out when writing, so that such files stay as they were.
fn is_error(missing: &MissingValues) -> bool {
    *missing == MissingValues::Error
}

impl TryFrom<MixtureSpec> for GaussianMixture {
    type Error = EmError;
    fn try_from(s: MixtureSpec) -> Result<Self, EmError> {
        GaussianMixture::new(s.weights, s.means, s.covariances)?
            .with_reg_covar(s.reg_covar)?
            .with_prior(s.prior)
            .map(|m| m.with_missing_values(s.missing_values))
    }
}

impl From<GaussianMixture> for MixtureSpec {
    fn from(m: GaussianMixture) -> Self {
        let family = m.inner.family();
        MixtureSpec {
            weights: m.inner.weight_vector().clone(),
            means: family.gaussians().means().clone(),
            covariances: family.gaussians().covariances().clone(),
            reg_covar: family.reg_covar(),
            prior: family.prior().cloned(),
            missing_values: family.missing_values(),
        }
    }
}

impl From<GaussianMixture> for Mixture<GaussianFamily> {
    fn from(m: GaussianMixture) -> Self {
        m.inner
    }
}

impl From<Mixture<GaussianFamily>> for GaussianMixture {
    fn from(inner: Mixture<GaussianFamily>) -> Self {
        GaussianMixture { inner }
    }
}

impl GaussianMixture {
    /// A mixture with the given weights (K), means (K×D, one component per row) and
    /// covariances (in the form of their structure). Fails with a typed error naming the
    /// parameter or component when shapes disagree, weights are negative or do not sum to 1
    /// (within 1e-8), or a covariance is not positive definite.
    ///
    /// The M-step options start at `reg_covar = 0` and no prior; set them with
    /// [`with_reg_covar`](Self::with_reg_covar) and [`with_prior`](Self::with_prior).
    ///
    /// ```
    /// use gmm::{Covariances, GaussianMixture};
    /// use nalgebra::{dmatrix, dvector};
    /// let gm = GaussianMixture::new(
    ///     dvector![0.3, 0.7],
    ///     dmatrix![0.0, 0.0; 5.0, 5.0],
    ///     Covariances::Spherical(dvector![1.0, 2.0]),
    /// )?;
    /// assert_eq!(gm.predict(&dmatrix![4.0, 4.5])?, vec![1]);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn new(
        weights: DVector<f64>,
        means: DMatrix<f64>,
        covariances: Covariances,
    ) -> Result<Self, EmError> {
        Self::new_in_context(weights, means, covariances, "given covariances")
    }

    /// [`new`](Self::new), naming `context` (where the parameters came from) in errors.
    pub(crate) fn new_in_context(
        weights: DVector<f64>,
        means: DMatrix<f64>,
        covariances: Covariances,
        context: &str,
    ) -> Result<Self, EmError> {
        check_means(&means)?;
        mixture::check_weights(weights.as_slice(), means.nrows())?;
        let gaussians = Gaussians::new_in_context(means, covariances, context)?;
        let inner =
            Mixture::from_family(weights.as_slice().to_vec(), GaussianFamily::new(gaussians))?;
        Ok(GaussianMixture { inner })
    }

    /// Like [`new`](Self::new) but with precision matrices (inverse covariances) for `full`
    /// and `tied`, or precisions (inverse variances) for `diag` and `spherical`.
    pub fn from_precisions(
        weights: DVector<f64>,
        means: DMatrix<f64>,
        precisions: Covariances,
    ) -> Result<Self, EmError> {
        let d = means.ncols();
        let invert = |m: &DMatrix<f64>, component: usize| -> Result<DMatrix<f64>, EmError> {
            if m.shape() != (d, d) {
                return Err(EmError::InvalidParameter {
                    name: "precisions",
                    reason: format!(
                        "matrix {component} is {}×{}, expected {d}×{d}",
                        m.nrows(),
                        m.ncols()
                    ),
                });
            }
            check_symmetric(m, component, "given precisions")?;
            let l = cholesky(m, component, "given precisions")?;
            let l_inv = l
                .solve_lower_triangular(&DMatrix::identity(d, d))
                .ok_or_else(|| EmError::NotPositiveDefinite {
                    component,
                    detail: "given precisions: singular Cholesky factor".into(),
                })?;
            Ok(l_inv.transpose() * l_inv)
        };
        let reciprocal = |v: f64, component: usize| {
            if v > 0.0 && v.is_finite() {
                Ok(1.0 / v)
            } else {
                Err(EmError::NotPositiveDefinite {
                    component,
                    detail: format!("given precisions: precision {v:e} is not positive"),
                })
            }
        };
        let covariances = match precisions {
            Covariances::Full(p) => Covariances::Full(
                p.iter()
                    .enumerate()
                    .map(|(k, m)| invert(m, k))
                    .collect::<Result<_, _>>()?,
            ),
            Covariances::Tied(p) => Covariances::Tied(invert(&p, 0)?),
            Covariances::Diag(p) => {
                let mut v = p.clone();
                for k in 0..p.nrows() {
                    for j in 0..p.ncols() {
                        v[(k, j)] = reciprocal(p[(k, j)], k)?;
                    }
                }
                Covariances::Diag(v)
            }
            Covariances::Spherical(p) => Covariances::Spherical(DVector::from_iterator(
                p.len(),
                p.iter()
                    .enumerate()
                    .map(|(k, &v)| reciprocal(v, k))
                    .collect::<Result<Vec<_>, _>>()?,
            )),
        };
        GaussianMixture::new(weights, means, covariances)
    }

    /// Sets the ridge added to every variance after each M-step (scikit-learn's `reg_covar`).
    ///
    /// It keeps covariances positive definite when a component collapses onto few points,
    /// but it is *not* a prior: with `reg_covar > 0` the M-step is no longer the exact
    /// maximiser, and the objective may (rarely, by tiny amounts) decrease. Use
    /// [`with_prior`](Self::with_prior) for regularisation that EM provably respects.
    pub fn with_reg_covar(self, reg_covar: f64) -> Result<Self, EmError> {
        let family = self.inner.family().clone().with_reg_covar(reg_covar)?;
        self.with_family(family)
    }

    /// Sets (or removes) the conjugate prior of MAP-EM; the reported objective then is the
    /// log-posterior log p(x | θ) + log p(θ).
    pub fn with_prior(self, prior: Option<Prior>) -> Result<Self, EmError> {
        let family = self.inner.family().clone().with_prior(prior)?;
        self.with_family(family)
    }

    /// Sets what a NaN in the data given to this model means: an error (the default) or a
    /// missing value ([`MissingValues::Model`]): scoring and prediction then use the marginal
    /// density of each row's observed values, and EM's statistics their conditional
    /// expectations (exact EM; see [`MissingValues`]). A fit with
    /// [`GaussianMixtureBuilder::missing_values`](crate::GaussianMixtureBuilder::missing_values)
    /// returns a model with the setting it was fitted with.
    ///
    /// ```
    /// use gmm::{Covariances, GaussianMixture};
    /// use gmm::gaussian::MissingValues;
    /// use nalgebra::{dmatrix, dvector};
    ///
    /// let gm = GaussianMixture::new(
    ///     dvector![0.5, 0.5],
    ///     dmatrix![0.0, 0.0; 6.0, 6.0],
    ///     Covariances::Spherical(dvector![1.0, 1.0]),
    /// )?;
    /// let x = dmatrix![5.5, f64::NAN];
    /// assert!(gm.predict(&x).is_err()); // a NaN is an error by default
    /// let gm = gm.with_missing_values(MissingValues::Model);
    /// assert_eq!(gm.predict(&x)?, vec![1]); // decided by the observed coordinate
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn with_missing_values(self, missing: MissingValues) -> Self {
        let weights = self.inner.weights().to_vec();
        let family = self.inner.family().clone().with_missing_values(missing);
        match Mixture::from_family(weights, family) {
            Ok(inner) => GaussianMixture { inner },
            // The weights and components were valid a moment ago and only the data
            // policy changed; keep the model as it was if the engine disagrees.
            Err(_) => self,
        }
    }

    /// What a NaN in data given to this model means.
    pub fn missing_values(&self) -> MissingValues {
        self.inner.family().missing_values()
    }

    /// `x` with every missing value (NaN) replaced by its conditional expectation given the
    /// row's observed values under this mixture, E[x_m | x_o] = Σ_k p(k | x_o) E[x_m | x_o,
    /// k] (the imputation that goes with a fit on data with missing values; whatever the
    /// model's [`missing_values`](Self::missing_values) setting, a NaN here is a missing
    /// value). Observed values are returned as they are.
    ///
    /// ```
    /// use gmm::{Covariances, GaussianMixture};
    /// use nalgebra::{dmatrix, dvector};
    ///
    /// // One component with correlation 0.8: x_1 is predicted from x_0.
    /// let gm = GaussianMixture::new(
    ///     dvector![1.0],
    ///     dmatrix![0.0, 10.0],
    ///     Covariances::Full(vec![dmatrix![1.0, 0.8; 0.8, 1.0]]),
    /// )?;
    /// let filled = gm.impute(&dmatrix![2.0, f64::NAN; 1.0, 3.0])?;
    /// assert!((filled[(0, 1)] - (10.0 + 0.8 * 2.0)).abs() < 1e-12);
    /// assert_eq!(filled[(1, 1)], 3.0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`check_data_with_missing`](crate::gaussian::check_data_with_missing): the
    /// wrong number of columns, ±∞, a row with no observed value.
    pub fn impute(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>, EmError> {
        let model = self.clone().with_missing_values(MissingValues::Model);
        let proba = model.predict_proba(x)?;
        Ok(self.components().conditional_means(x, &proba))
    }

    fn with_family(self, family: GaussianFamily) -> Result<Self, EmError> {
        let inner = Mixture::from_family(self.inner.weights().to_vec(), family)?;
        Ok(GaussianMixture { inner })
    }

    /// The mixture in the engine's own type: the Gaussian family's K Gaussians and M-step
    /// settings, and the weights.
    pub fn as_mixture(&self) -> &Mixture<GaussianFamily> {
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

    /// The covariance structure.
    pub fn covariance_type(&self) -> CovarianceType {
        self.components().covariance_type()
    }

    /// Mixing weights π (length K, summing to 1).
    pub fn weights(&self) -> &DVector<f64> {
        self.inner.weight_vector()
    }

    /// Component means, K×D (row k is μ_k).
    pub fn means(&self) -> &DMatrix<f64> {
        self.components().means()
    }

    /// Covariances in the compact form of their structure.
    pub fn covariances(&self) -> &Covariances {
        self.components().covariances()
    }

    /// The K Gaussian components N(μ_k, Σ_k), without the weights.
    pub fn components(&self) -> &Gaussians {
        self.inner.family().gaussians()
    }

    /// The full D×D covariance matrix of component `k` (any structure), or `None` if
    /// `k ≥ K`.
    pub fn covariance(&self, k: usize) -> Option<DMatrix<f64>> {
        (k < self.n_components()).then(|| self.covariances().full_matrix(k, self.n_features()))
    }

    /// The lower Cholesky factor L of component `k`'s covariance (Σ_k = L Lᵀ), or `None` if
    /// `k ≥ K`.
    pub fn covariance_cholesky(&self, k: usize) -> Option<DMatrix<f64>> {
        self.components().cholesky(k)
    }

    /// The upper-triangular U = L⁻ᵀ of component `k`, with Σ_k⁻¹ = U Uᵀ (scikit-learn's
    /// `precisions_cholesky_`), from the cached factor L, or `None` if `k ≥ K`.
    pub fn precision_cholesky(&self, k: usize) -> Option<DMatrix<f64>> {
        let l = self.covariance_cholesky(k)?;
        let d = self.n_features();
        Some(
            l.solve_lower_triangular(&DMatrix::identity(d, d))?
                .transpose(),
        )
    }

    /// The precision matrix Σ_k⁻¹ of component `k`, computed from its Cholesky factor on
    /// request (the model itself never forms it), or `None` if `k ≥ K`.
    pub fn precision(&self, k: usize) -> Option<DMatrix<f64>> {
        let u = self.precision_cholesky(k)?;
        Some(&u * u.transpose())
    }

    /// The `reg_covar` ridge used by the M-step.
    pub fn reg_covar(&self) -> f64 {
        self.inner.family().reg_covar()
    }

    /// The prior used by the M-step, if any.
    pub fn prior(&self) -> Option<&Prior> {
        self.inner.family().prior()
    }

    /// Number of free parameters: K−1 weights, K·D means and the covariances' own.
    pub fn n_parameters(&self) -> usize {
        self.inner.n_parameters()
    }

    /// log p(x_i) for every row of `x`.
    pub fn score_samples(&self, x: &DMatrix<f64>) -> Result<DVector<f64>, EmError> {
        Ok(DVector::from_vec(self.inner.score_samples(x)?))
    }

    /// Mean log-likelihood per row (scikit-learn's `score`).
    pub fn score(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.score(x)
    }

    /// Σ_i log p(x_i): the total log-likelihood of `x`.
    pub fn log_likelihood_total(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.log_likelihood_total(x)
    }

    /// Responsibilities p(z_i = k | x_i), N×K.
    pub fn predict_proba(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>, EmError> {
        self.inner.predict_proba(x)
    }

    /// The most probable component of every row (ties go to the lower index).
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<Vec<usize>, EmError> {
        self.inner.predict(x)
    }

    /// Draws `n` observations (N×D) and the component each came from.
    pub fn sample<R: rand::Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> (DMatrix<f64>, Vec<usize>) {
        self.inner.sample(n, rng)
    }

    /// Bayesian information criterion −2 log L + p log N (lower is better, as scikit-learn).
    pub fn bic(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.bic(x)
    }

    /// Akaike information criterion −2 log L + 2p (lower is better).
    pub fn aic(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.aic(x)
    }

    /// Integrated complete-data likelihood criterion (lower is better, as [`bic`](Self::bic)):
    /// ICL = BIC − 2 Σ_i log max_k γ_ik, with γ the responsibilities of
    /// [`predict_proba`](Self::predict_proba). The negative of R mclust's `icl()`, which is
    /// larger-is-better; the formula and its sources are at [`em_core::criteria::icl`].
    ///
    /// ICL ≥ BIC, with equality when every row belongs to one component with certainty: it
    /// penalises overlapping components, and so tends to choose fewer, better-separated
    /// clusters than BIC does.
    ///
    /// ```
    /// use gmm::{Covariances, GaussianMixture};
    /// use nalgebra::{dmatrix, dvector};
    /// let m = GaussianMixture::new(
    ///     dvector![0.5, 0.5],
    ///     dmatrix![0.0; 4.0],
    ///     Covariances::Spherical(dvector![1.0, 1.0]),
    /// )?;
    /// // Row 0 lies halfway between the means: its most probable component has γ = ½.
    /// let x = dmatrix![2.0; 10.0];
    /// let gamma = m.predict_proba(&x)?;
    /// let penalty = -2.0 * (0.5f64.ln() + gamma[(1, 1)].ln());
    /// assert!((m.icl(&x)? - (m.bic(&x)? + penalty)).abs() < 1e-9);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Errors
    /// As [`score_samples`](Self::score_samples): the wrong number of columns, a NaN or ±∞
    /// value (named by row and column).
    pub fn icl(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        self.inner.icl(x)
    }

    /// The E-step over `rows`, with optional per-row sample weights for those rows.
    pub(crate) fn e_step_weighted(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        weights: Option<&[f64]>,
    ) -> Result<EStep<GaussianStats>, EmError> {
        self.inner.e_step_weighted(x, rows, weights)
    }

    /// Replaces the parameters (keeping the M-step options), re-deriving the cached factors.
    pub(crate) fn set_parameters(
        &mut self,
        weights: DVector<f64>,
        means: DMatrix<f64>,
        covariances: Covariances,
        context: &str,
    ) -> Result<(), EmError> {
        let mut family = self.inner.family().clone();
        family.set_gaussians(Gaussians::new_in_context(means, covariances, context)?);
        self.inner.set_parts(weights.as_slice().to_vec(), family)
    }
}

/// Labelled rows ([`Mixture::e_step_labelled`]): a Gaussian mixture fitted by
/// semi-supervised EM through [`em_core::Labelled`] (or
/// [`GaussianMixtureBuilder::fit_labelled`](crate::GaussianMixtureBuilder::fit_labelled)).
impl LabelledEStep for GaussianMixture {
    type Label = Option<usize>;

    fn e_step_labelled(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        labels: &[Option<usize>],
    ) -> Result<EStep<GaussianStats>, EmError> {
        self.inner.e_step_labelled(x, rows, labels, None)
    }

    fn check_labels(&self, x: &DMatrix<f64>, labels: &[Option<usize>]) -> Result<(), EmError> {
        em_core::labelled::check_row_labels(labels, x.nrows(), self.n_components())
    }
}

impl LatentModel for GaussianMixture {
    type Data = DMatrix<f64>;
    type Stats = GaussianStats;

    /// The E-step of rows `rows`. The data's shape and finiteness are checked by the fitting
    /// entry points once, not per batch; a NaN that slips through shows up as a non-finite
    /// objective or a row named in an [`EmError::InvalidInput`].
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

    fn log_likelihood(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<f64, EmError> {
        self.inner.log_likelihood(x, rows)
    }
}
