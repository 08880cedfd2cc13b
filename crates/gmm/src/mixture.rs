//! The Gaussian mixture model: parameters, the EM contract, and the fitted-model API.

use std::ops::Range;

use em_core::{EStep, EmError, LatentModel, chunked_log_likelihood};
use nalgebra::{DMatrix, DVector};
use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::gaussian::{
    self, CovarianceType, Covariances, GaussianStats, Gaussians, HALF_LN_2PI, Prior, check_means,
    check_reg_covar, check_symmetric, cholesky, maximise,
};
use crate::validate::{check_data, check_weights_sum};

/// Rows per batch for prediction and scoring (the driver uses its own chunk size for fits).
const PREDICT_CHUNK: usize = 4096;

/// A mixture of K Gaussians in D dimensions: p(x) = Σ_k π_k N(x | μ_k, Σ_k).
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
    weights: DVector<f64>,
    components: Gaussians,
    log_weights: Vec<f64>,
    reg_covar: f64,
    prior: Option<Prior>,
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
}

impl TryFrom<MixtureSpec> for GaussianMixture {
    type Error = EmError;
    fn try_from(s: MixtureSpec) -> Result<Self, EmError> {
        GaussianMixture::new(s.weights, s.means, s.covariances)?
            .with_reg_covar(s.reg_covar)?
            .with_prior(s.prior)
    }
}

impl From<GaussianMixture> for MixtureSpec {
    fn from(m: GaussianMixture) -> Self {
        let (means, covariances) = m.components.into_parts();
        MixtureSpec {
            weights: m.weights,
            means,
            covariances,
            reg_covar: m.reg_covar,
            prior: m.prior,
        }
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
        let k = means.nrows();
        if weights.len() != k {
            return Err(EmError::InvalidParameter {
                name: "weights",
                reason: format!(
                    "expected {k} weights (one per row of means), got {}",
                    weights.len()
                ),
            });
        }
        check_weights_sum(weights.as_slice())?;
        let components = Gaussians::new_in_context(means, covariances, context)?;
        let log_weights = weights.iter().map(|w| w.ln()).collect();
        Ok(GaussianMixture {
            weights,
            components,
            log_weights,
            reg_covar: 0.0,
            prior: None,
        })
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
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Result<Self, EmError> {
        check_reg_covar(reg_covar)?;
        self.reg_covar = reg_covar;
        Ok(self)
    }

    /// Sets (or removes) the conjugate prior of MAP-EM; the reported objective then is the
    /// log-posterior log p(x | θ) + log p(θ).
    pub fn with_prior(mut self, prior: Option<Prior>) -> Result<Self, EmError> {
        if let Some(p) = &prior {
            p.validate(self.n_features())?;
        }
        self.prior = prior;
        Ok(self)
    }

    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.components.n_components()
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.components.n_features()
    }

    /// The covariance structure.
    pub fn covariance_type(&self) -> CovarianceType {
        self.components.covariance_type()
    }

    /// Mixing weights π (length K, summing to 1).
    pub fn weights(&self) -> &DVector<f64> {
        &self.weights
    }

    /// Component means, K×D (row k is μ_k).
    pub fn means(&self) -> &DMatrix<f64> {
        self.components.means()
    }

    /// Covariances in the compact form of their structure.
    pub fn covariances(&self) -> &Covariances {
        self.components.covariances()
    }

    /// The K Gaussian components N(μ_k, Σ_k), without the weights.
    pub fn components(&self) -> &Gaussians {
        &self.components
    }

    /// The full D×D covariance matrix of component `k` (any structure), or `None` if
    /// `k ≥ K`.
    pub fn covariance(&self, k: usize) -> Option<DMatrix<f64>> {
        (k < self.n_components()).then(|| self.covariances().full_matrix(k, self.n_features()))
    }

    /// The lower Cholesky factor L of component `k`'s covariance (Σ_k = L Lᵀ), or `None` if
    /// `k ≥ K`.
    pub fn covariance_cholesky(&self, k: usize) -> Option<DMatrix<f64>> {
        self.components.cholesky(k)
    }

    /// The precision matrix Σ_k⁻¹ of component `k`, computed from its Cholesky factor on
    /// request (the model itself never forms it), or `None` if `k ≥ K`.
    pub fn precision(&self, k: usize) -> Option<DMatrix<f64>> {
        let l = self.covariance_cholesky(k)?;
        let d = self.n_features();
        let l_inv = l.solve_lower_triangular(&DMatrix::identity(d, d))?;
        Some(l_inv.transpose() * l_inv)
    }

    /// The `reg_covar` ridge used by the M-step.
    pub fn reg_covar(&self) -> f64 {
        self.reg_covar
    }

    /// The prior used by the M-step, if any.
    pub fn prior(&self) -> Option<&Prior> {
        self.prior.as_ref()
    }

    /// Number of free parameters: K−1 weights, K·D means and the covariances' own.
    pub fn n_parameters(&self) -> usize {
        let (k, d) = (self.n_components(), self.n_features());
        k - 1 + k * d + self.covariance_type().n_parameters(k, d)
    }

    /// log p(x_i) for every row of `x`.
    pub fn score_samples(&self, x: &DMatrix<f64>) -> Result<DVector<f64>, EmError> {
        self.per_row(x, |lj, c, out| {
            let mut lse = Vec::new();
            // normalise() leaves the row log-sum-exps in `lse`.
            gaussian::normalise(lj, c, None, &mut lse);
            out.copy_from_slice(&lse);
        })
    }

    /// Mean log-likelihood per row (scikit-learn's `score`).
    pub fn score(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        Ok(self.log_likelihood_total(x)? / x.nrows() as f64)
    }

    /// Σ_i log p(x_i): the total log-likelihood of `x`.
    pub fn log_likelihood_total(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        check_data(x, Some(self.n_features()))?;
        chunked_log_likelihood(self, x, PREDICT_CHUNK)
    }

    /// Responsibilities p(z_i = k | x_i), N×K.
    pub fn predict_proba(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>, EmError> {
        check_data(x, Some(self.n_features()))?;
        let (n, k_count) = (x.nrows(), self.n_components());
        let parts = self.batches(x, |lj, c| {
            let mut lse = Vec::new();
            gaussian::normalise(lj, c, None, &mut lse);
            lj.to_vec()
        })?;
        let mut out = DMatrix::zeros(n, k_count);
        for (start, part) in parts {
            let c = part.len() / k_count;
            for k in 0..k_count {
                for i in 0..c {
                    out[(start + i, k)] = part[k * c + i];
                }
            }
        }
        Ok(out)
    }

    /// The most probable component of every row (ties go to the lower index).
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<Vec<usize>, EmError> {
        let k_count = self.n_components();
        let labels = self.per_row(x, |lj, c, out| {
            for i in 0..c {
                let mut best = 0;
                for k in 1..k_count {
                    if lj[k * c + i] > lj[best * c + i] {
                        best = k;
                    }
                }
                out[i] = best as f64;
            }
        })?;
        Ok(labels.iter().map(|&v| v as usize).collect())
    }

    /// Draws `n` observations (N×D) and the component each came from.
    pub fn sample<R: rand::Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> (DMatrix<f64>, Vec<usize>) {
        let d = self.n_features();
        let cumulative: Vec<f64> = self
            .weights
            .iter()
            .scan(0.0, |acc, w| {
                *acc += w;
                Some(*acc)
            })
            .collect();
        let chols: Vec<DMatrix<f64>> = (0..self.n_components())
            .filter_map(|k| self.covariance_cholesky(k))
            .collect();
        let mut x = DMatrix::zeros(n, d);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let u: f64 = rng.random::<f64>() * cumulative[cumulative.len() - 1];
            let k = cumulative
                .iter()
                .position(|&c| u < c)
                .unwrap_or(cumulative.len() - 1);
            let z = DVector::from_fn(d, |_, _| rng.sample::<f64, _>(StandardNormal));
            let row = self.means().row(k).transpose() + &chols[k] * z;
            x.set_row(i, &row.transpose());
            labels.push(k);
        }
        (x, labels)
    }

    /// Bayesian information criterion −2 log L + p log N (lower is better, as scikit-learn).
    pub fn bic(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        let ll = self.log_likelihood_total(x)?;
        Ok(em_core::criteria::bic(ll, self.n_parameters(), x.nrows()))
    }

    /// Akaike information criterion −2 log L + 2p (lower is better).
    pub fn aic(&self, x: &DMatrix<f64>) -> Result<f64, EmError> {
        let ll = self.log_likelihood_total(x)?;
        Ok(em_core::criteria::aic(ll, self.n_parameters()))
    }

    /// Validates `x`, then runs `f` on the log-joint of each batch in parallel, returning the
    /// batch start and its result.
    fn batches<T: Send>(
        &self,
        x: &DMatrix<f64>,
        f: impl Fn(&mut [f64], usize) -> T + Sync,
    ) -> Result<Vec<(usize, T)>, EmError> {
        check_data(x, Some(self.n_features()))?;
        let k_count = self.n_components();
        Ok(em_core::batches(x.nrows(), PREDICT_CHUNK)?
            .into_par_iter()
            .map(|rows| {
                let mut lj = vec![0.0; k_count * rows.len()];
                let mut scratch = Vec::new();
                let c = rows.len();
                self.components.log_joint(
                    x,
                    rows.clone(),
                    &self.log_weights,
                    &mut lj,
                    &mut scratch,
                );
                (rows.start, f(&mut lj, c))
            })
            .collect())
    }

    /// One value per row from the log-joint of each batch.
    fn per_row(
        &self,
        x: &DMatrix<f64>,
        f: impl Fn(&mut [f64], usize, &mut [f64]) + Sync,
    ) -> Result<DVector<f64>, EmError> {
        let parts = self.batches(x, |lj, c| {
            let mut out = vec![0.0; c];
            f(lj, c, &mut out);
            out
        })?;
        let mut out = DVector::zeros(x.nrows());
        for (start, part) in parts {
            out.rows_mut(start, part.len()).copy_from_slice(&part);
        }
        Ok(out)
    }

    /// The E-step over `rows`, with optional per-row sample weights for those rows.
    ///
    /// The batch is processed in sub-blocks of [`gaussian::block_rows`] rows, whose per-row
    /// buffers fit in cache, and their statistics merged in order.
    pub(crate) fn e_step_weighted(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        weights: Option<&[f64]>,
    ) -> EStep<GaussianStats> {
        let (k_count, kind) = (self.n_components(), self.covariance_type());
        let mut total = EStep {
            stats: GaussianStats::zeros(k_count, self.n_features(), kind),
            log_likelihood: 0.0,
            entropy: 0.0,
        };
        let (mut lj, mut scratch, mut lse) = (Vec::new(), Vec::new(), Vec::new());
        let block = gaussian::block_rows(self.n_features());
        for start in rows.clone().step_by(block) {
            let sub = start..start.saturating_add(block).min(rows.end);
            let c = sub.len();
            lj.resize(k_count * c, 0.0);
            self.components
                .log_joint(x, sub.clone(), &self.log_weights, &mut lj, &mut scratch);
            let offset = start - rows.start;
            let w = weights.map(|w| &w[offset..offset + c]);
            let (log_likelihood, entropy) = gaussian::normalise(&mut lj, c, w, &mut lse);
            let stats = gaussian::accumulate(x, sub, k_count, &lj, w, kind, &mut scratch);
            total.merge(&EStep {
                stats,
                log_likelihood,
                entropy,
            });
        }
        total
    }

    /// Replaces the parameters (keeping the M-step options), re-deriving the cached factors.
    pub(crate) fn set_parameters(
        &mut self,
        weights: DVector<f64>,
        means: DMatrix<f64>,
        covariances: Covariances,
        context: &str,
    ) -> Result<(), EmError> {
        let components = Gaussians::new_in_context(means, covariances, context)?;
        self.log_weights = weights.iter().map(|w| w.ln()).collect();
        self.weights = weights;
        self.components = components;
        Ok(())
    }
}

impl LatentModel for GaussianMixture {
    type Data = DMatrix<f64>;
    type Stats = GaussianStats;

    /// The E-step of rows `rows`. The data's shape and finiteness are checked by the fitting
    /// entry points once, not per batch; a NaN that slips through shows up as a non-finite
    /// objective, which the driver reports.
    fn e_step(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
    ) -> Result<EStep<GaussianStats>, EmError> {
        if x.ncols() != self.n_features() {
            return Err(EmError::DimensionMismatch {
                expected: self.n_features(),
                found: x.ncols(),
            });
        }
        Ok(self.e_step_weighted(x, rows, None))
    }

    fn m_step(&mut self, stats: &GaussianStats) -> Result<(), EmError> {
        let new = maximise(
            stats,
            self.covariance_type(),
            self.reg_covar,
            self.prior.as_ref(),
        )?;
        self.set_parameters(new.weights, new.means, new.covariances, "after the M-step")
    }

    fn expected_complete_log_likelihood(&self, stats: &GaussianStats) -> f64 {
        expected_complete_log_likelihood(self, stats)
    }

    fn log_prior(&self) -> f64 {
        self.prior
            .as_ref()
            .map_or(0.0, |p| p.log_density(&self.weights, &self.components))
    }
}

/// E_q[log p(x, z | θ)] = Σ_k N_k log π_k − ½ Σ_k [N_k (D log 2π + log|Σ_k|)
/// + tr(Σ_k⁻¹ (M2_k + N_k (m_k − μ_k)(m_k − μ_k)ᵀ))].
fn expected_complete_log_likelihood(gm: &GaussianMixture, stats: &GaussianStats) -> f64 {
    let d = gm.n_features();
    let mut total = 0.0;
    for k in 0..gm.n_components() {
        let nk = stats.n[k];
        if nk == 0.0 {
            continue;
        }
        let quad = gm.components.expected_mahalanobis(stats, k);
        let log_det = gm.components.log_det(k);
        total +=
            nk * gm.log_weights[k] - nk * (d as f64 * HALF_LN_2PI + 0.5 * log_det) - 0.5 * quad;
    }
    total
}
