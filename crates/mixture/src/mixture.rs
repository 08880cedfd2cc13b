//! The finite mixture p(x) = Σ_k π_k f(x | θ_k) over any [`Component`] family: parameters,
//! the EM contract, and the fitted-model API.

use std::ops::Range;

use em_core::{
    Dataset, EStep, Em, EmError, Fitted, Initializer, LatentModel, Statistics,
    chunked_log_likelihood,
};
use nalgebra::DMatrix;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use em_family::Observations;
use em_family::{Component, Obs, OwnedData};

/// Rows per batch for prediction and scoring (fits use the driver's chunk size).
const PREDICT_CHUNK: usize = 4096;

/// A mixture of K components of one family: p(x) = Σ_k π_k f(x | θ_k).
///
/// A value of this type is always valid: K ≥ 1, weights are finite, positive and sum to 1,
/// each component is a valid member of its family, and all components have the same number
/// of features. Build one with [`Mixture::new`] (known parameters) or fit one with
/// [`Mixture::fit`].
///
/// It implements [`LatentModel`] on the family's data (`C::Data`), so the em-core driver and
/// invariant checker apply to any family:
///
/// * **E-step**, per batch, in log space: ℓ_ik = log π_k + log f(x_i | θ_k),
///   log p(x_i) = logsumexp_k ℓ_ik, γ_ik = exp(ℓ_ik − log p(x_i)); the statistics are
///   N_k = Σ_i γ_ik and the family's weighted statistics per component; the entropy is
///   −Σ_ik γ_ik log γ_ik (terms with γ = 0 contribute 0). Components with density 0 at x_i
///   (ℓ = −∞) simply get γ = 0; an observation with density 0 under *every* component is an
///   [`EmError::InvalidInput`] naming its row.
/// * **M-step**: π_k = N_k / Σ_j N_j, θ_k from the family's [`Component::maximise`];
///   a component with N_k = 0 is [`EmError::EmptyComponent`].
/// * **E_q[log p(x, z | θ)]** = Σ_k N_k log π_k + Σ_k Σ_i γ_ik log f(x_i | θ_k), the second
///   term from [`Component::expected_ln_pdf`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "MixtureSpec<C>",
    into = "MixtureSpec<C>",
    bound(
        serialize = "C: Component + Serialize",
        deserialize = "C: Component + Deserialize<'de>"
    )
)]
pub struct Mixture<C> {
    weights: Vec<f64>,
    log_weights: Vec<f64>,
    components: Vec<C>,
}

/// The serialised form of a [`Mixture`]; loading validates it like [`Mixture::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MixtureSpec<C> {
    weights: Vec<f64>,
    components: Vec<C>,
}

impl<C: Component> TryFrom<MixtureSpec<C>> for Mixture<C> {
    type Error = EmError;
    fn try_from(s: MixtureSpec<C>) -> Result<Self, EmError> {
        Mixture::new(s.weights, s.components)
    }
}

impl<C> From<Mixture<C>> for MixtureSpec<C> {
    fn from(m: Mixture<C>) -> Self {
        MixtureSpec {
            weights: m.weights,
            components: m.components,
        }
    }
}

/// Expected sufficient statistics of a mixture: N_k = Σ_i γ_ik and the family's weighted
/// statistics, per component. Statistics of disjoint batches merge component by component.
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureStats<S> {
    /// N_k: the summed responsibility of each component.
    pub weights: Vec<f64>,
    /// The family's statistics of each component, accumulated with weights γ_ik.
    pub components: Vec<S>,
}

impl<S: Statistics> Statistics for MixtureStats<S> {
    fn merge(&mut self, later: &Self) {
        for (a, b) in self.weights.iter_mut().zip(&later.weights) {
            *a += b;
        }
        for (a, b) in self.components.iter_mut().zip(&later.components) {
            a.merge(b);
        }
    }
}

impl<S> MixtureStats<S> {
    /// Σ_k N_k: the total weight of the observations.
    pub fn total(&self) -> f64 {
        self.weights.iter().sum()
    }
}

impl<C: Component> Mixture<C> {
    /// A mixture with the given weights π (one per component) and components.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] when there are no components (`components`), the number
    /// of weights differs from the number of components, a weight is not finite and > 0, the
    /// weights do not sum to 1 within 1e-8 (`weights`), or the components disagree on the
    /// number of features (`components`).
    ///
    /// ```
    /// use mixture::{Mixture, Poisson};
    /// let m = Mixture::new(vec![0.3, 0.7], vec![Poisson::new(1.0)?, Poisson::new(10.0)?])?;
    /// assert_eq!(m.predict(&[0, 12][..])?, vec![0, 1]);
    /// assert!(Mixture::new(vec![0.5, 0.6], vec![Poisson::new(1.0)?, Poisson::new(2.0)?]).is_err());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn new(weights: Vec<f64>, components: Vec<C>) -> Result<Self, EmError> {
        let k = components.len();
        if k == 0 {
            return Err(EmError::InvalidParameter {
                name: "components",
                reason: "at least one component is needed".into(),
            });
        }
        if weights.len() != k {
            return Err(EmError::InvalidParameter {
                name: "weights",
                reason: format!(
                    "expected {k} weights (one per component), got {}",
                    weights.len()
                ),
            });
        }
        if let Some((j, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w > 0.0))
        {
            return Err(EmError::InvalidParameter {
                name: "weights",
                reason: format!(
                    "weight of component {j} is {w}; every weight must be finite and > 0"
                ),
            });
        }
        let sum: f64 = weights.iter().sum();
        if (sum - 1.0).abs() > 1e-8 {
            return Err(EmError::InvalidParameter {
                name: "weights",
                reason: format!("weights sum to {sum}, not 1"),
            });
        }
        let d = components[0].n_features();
        if let Some((j, c)) = components
            .iter()
            .enumerate()
            .find(|(_, c)| c.n_features() != d)
        {
            return Err(EmError::InvalidParameter {
                name: "components",
                reason: format!(
                    "component {j} has {} features but component 0 has {d}",
                    c.n_features()
                ),
            });
        }
        Ok(Mixture::from_parts(weights, components))
    }

    /// Fits a mixture to `data`: validates the data (non-empty, every observation in the
    /// family's support), then runs [`Em::fit_restarts`] with `init` building each restart's
    /// starting mixture, and returns the best run.
    ///
    /// `init` is any [`Initializer`]: a [`Start`](crate::Start) (the family's partition start
    /// or random responsibilities), or a closure `Fn(&C::Data, &mut StdRng) -> Result<Mixture<C>,
    /// EmError>`.
    ///
    /// ```
    /// use em_core::Em;
    /// use mixture::{Exponential, Mixture, Start};
    ///
    /// // Waiting times from a fast and a slow process.
    /// let x: Vec<f64> = (1..=400).map(|i| {
    ///     let u = (i as f64 - 0.5) / 400.0;
    ///     if i % 2 == 0 { -u.ln() / 5.0 } else { -u.ln() * 2.0 }
    /// }).collect();
    /// let fit = Mixture::fit(&x[..], &Start::new(Exponential::default(), 2), &Em::new().tol(1e-9).max_iter(2000).n_init(3))?;
    /// let mut rates: Vec<f64> = fit.model.components().iter().map(|c| c.rate()).collect();
    /// rates.sort_by(f64::total_cmp);
    /// assert!(rates[0] < 1.0 && rates[1] > 2.0, "{rates:?}");
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Errors
    /// The data errors of [`check_data`](Self::check_data), invalid driver options, or — when
    /// every restart fails — the first restart's error.
    pub fn fit<I>(data: &C::Data, init: &I, em: &Em) -> Result<Fitted<Self>, EmError>
    where
        I: Initializer<Self> + ?Sized,
    {
        em.validate()?;
        Self::check_data(data)?;
        em.fit_restarts(init, data)
    }

    /// Checks data for this family: at least one observation, and every observation in the
    /// family's support ([`Component::check_obs`]), reporting the first bad one by row (and
    /// column).
    pub fn check_data(data: &C::Data) -> Result<(), EmError> {
        let n = data.n_obs();
        if n == 0 {
            return Err(EmError::EmptyData);
        }
        (0..n).try_for_each(|i| C::check_obs(data.obs(i), i))
    }

    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.components.len()
    }

    /// Number of values per observation (1 for scalar families).
    pub fn n_features(&self) -> usize {
        self.components[0].n_features()
    }

    /// Mixing weights π (length K, summing to 1).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The components θ_1 … θ_K.
    pub fn components(&self) -> &[C] {
        &self.components
    }

    /// Component `k`, or `None` if `k ≥ K`.
    pub fn component(&self, k: usize) -> Option<&C> {
        self.components.get(k)
    }

    /// Number of free parameters: K − 1 weights plus every component's own.
    pub fn n_parameters(&self) -> usize {
        self.n_components() - 1
            + self
                .components
                .iter()
                .map(Component::n_parameters)
                .sum::<usize>()
    }

    /// log p(x_i) for every observation.
    ///
    /// # Errors
    /// [`EmError::EmptyData`], a support error from the family, [`EmError::DimensionMismatch`],
    /// or [`EmError::InvalidInput`] for an observation of density 0 under every component.
    pub fn score_samples(&self, data: &C::Data) -> Result<Vec<f64>, EmError> {
        let mut out = Vec::with_capacity(data.n_obs());
        self.for_each_batch(data, |rows, lj| {
            let c = rows.len();
            for (i, row) in rows.enumerate() {
                out.push(self.row_lse(lj, c, i, data, row)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Σ_i log p(x_i): the total log-likelihood (errors as [`score_samples`](Self::score_samples)).
    pub fn log_likelihood_total(&self, data: &C::Data) -> Result<f64, EmError> {
        if data.n_obs() == 0 {
            return Err(EmError::EmptyData);
        }
        chunked_log_likelihood(self, data, PREDICT_CHUNK)
    }

    /// Mean log-likelihood per observation (scikit-learn's `score`).
    pub fn score(&self, data: &C::Data) -> Result<f64, EmError> {
        Ok(self.log_likelihood_total(data)? / data.n_obs() as f64)
    }

    /// Responsibilities p(z_i = k | x_i) as an N×K matrix (errors as
    /// [`score_samples`](Self::score_samples)).
    ///
    /// ```
    /// use mixture::{Gaussian, Mixture};
    /// let m = Mixture::new(vec![0.5, 0.5], vec![Gaussian::new(0.0, 1.0)?, Gaussian::new(4.0, 1.0)?])?;
    /// let r = m.predict_proba(&[2.0, 10.0][..])?;
    /// assert!((r[(0, 0)] - 0.5).abs() < 1e-12); // halfway: equal responsibility
    /// assert!(r[(1, 1)] > 0.999);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn predict_proba(&self, data: &C::Data) -> Result<DMatrix<f64>, EmError> {
        let mut out = DMatrix::zeros(data.n_obs(), self.n_components());
        self.for_each_batch(data, |rows, lj| {
            let c = rows.len();
            for (i, row) in rows.enumerate() {
                let lse = self.row_lse(lj, c, i, data, row)?;
                for k in 0..self.n_components() {
                    out[(row, k)] = (lj[k * c + i] - lse).exp();
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The most probable component of every observation (ties go to the lower index; errors
    /// as [`score_samples`](Self::score_samples)).
    pub fn predict(&self, data: &C::Data) -> Result<Vec<usize>, EmError> {
        let mut out = Vec::with_capacity(data.n_obs());
        self.for_each_batch(data, |rows, lj| {
            let c = rows.len();
            for (i, row) in rows.enumerate() {
                self.row_lse(lj, c, i, data, row)?;
                let mut best = 0;
                for k in 1..self.n_components() {
                    if lj[k * c + i] > lj[best * c + i] {
                        best = k;
                    }
                }
                out.push(best);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Draws `n` observations and the component each came from.
    ///
    /// ```
    /// use mixture::{Mixture, Poisson};
    /// use rand::SeedableRng;
    /// let m = Mixture::new(vec![0.2, 0.8], vec![Poisson::new(0.0)?, Poisson::new(6.0)?])?;
    /// let (y, z) = m.sample(1000, &mut em_core::StdRng::seed_from_u64(1));
    /// assert_eq!(y.len(), 1000);
    /// // λ = 0 produces only zeros.
    /// assert!(y.iter().zip(&z).all(|(&y, &z)| z == 1 || y == 0));
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (OwnedData<C>, Vec<usize>) {
        let mut out = C::Data::with_capacity(self.n_features(), n);
        let cumulative: Vec<f64> = self
            .weights
            .iter()
            .scan(0.0, |acc, w| {
                *acc += w;
                Some(*acc)
            })
            .collect();
        let last = cumulative.len() - 1;
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let u = rng.random::<f64>() * cumulative[last];
            let k = cumulative.iter().position(|&c| u < c).unwrap_or(last);
            self.components[k].sample_into(rng, &mut out);
            labels.push(k);
        }
        (out, labels)
    }

    /// Bayesian information criterion −2 log L + p log N (lower is better).
    pub fn bic(&self, data: &C::Data) -> Result<f64, EmError> {
        let ll = self.log_likelihood_total(data)?;
        Ok(em_core::criteria::bic(
            ll,
            self.n_parameters(),
            data.n_obs(),
        ))
    }

    /// Akaike information criterion −2 log L + 2p (lower is better).
    pub fn aic(&self, data: &C::Data) -> Result<f64, EmError> {
        let ll = self.log_likelihood_total(data)?;
        Ok(em_core::criteria::aic(ll, self.n_parameters()))
    }

    /// The M-step: π_k = N_k / Σ N_j and each component from its statistics, starting each
    /// component from `prototype(k)` (which carries the family's settings).
    pub(crate) fn maximise(
        prototype: impl Fn(usize) -> C,
        stats: &MixtureStats<C::Stats>,
    ) -> Result<Self, EmError> {
        let total = stats.total();
        let k_count = stats.weights.len();
        let mut weights = Vec::with_capacity(k_count);
        let mut components = Vec::with_capacity(k_count);
        for (k, (&n, s)) in stats.weights.iter().zip(&stats.components).enumerate() {
            let w = n / total;
            if !(n > 0.0 && w > 0.0 && w.is_finite()) {
                return Err(EmError::EmptyComponent {
                    component: k,
                    weight: n,
                });
            }
            let mut c = prototype(k);
            c.maximise(s, k)?;
            weights.push(w);
            components.push(c);
        }
        if components.is_empty() {
            return Err(EmError::InvalidParameter {
                name: "components",
                reason: "at least one component is needed".into(),
            });
        }
        Ok(Mixture::from_parts(weights, components))
    }

    /// Zero statistics shaped for `data`, one entry per component.
    pub(crate) fn zero_stats_for(components: &[C], data: &C::Data) -> MixtureStats<C::Stats> {
        MixtureStats {
            weights: vec![0.0; components.len()],
            components: components.iter().map(|c| c.zero_stats(data)).collect(),
        }
    }

    /// The one-component mixture of `component`, weight 1: valid for every component, so
    /// infallible (models built on one family member, such as the zero-inflated Poisson, run
    /// their EM through it).
    pub(crate) fn single(component: C) -> Self {
        Mixture::from_parts(vec![1.0], vec![component])
    }

    fn from_parts(weights: Vec<f64>, components: Vec<C>) -> Self {
        let log_weights = weights.iter().map(|w| w.ln()).collect();
        Mixture {
            weights,
            log_weights,
            components,
        }
    }

    /// Checks `rows` of `data` (dimension, range, support) and fills `out` with the log-joint
    /// ℓ_ik = log π_k + log f(x_i | θ_k), component-major: `out[k * c + i]` for the i-th row of
    /// the batch (c = rows.len()).
    fn log_joint(
        &self,
        data: &C::Data,
        rows: Range<usize>,
        out: &mut Vec<f64>,
    ) -> Result<(), EmError> {
        let d = self.n_features();
        if data.n_features() != d {
            return Err(EmError::DimensionMismatch {
                expected: d,
                found: data.n_features(),
            });
        }
        if rows.start > rows.end || rows.end > data.n_obs() {
            return Err(EmError::InvalidParameter {
                name: "rows",
                reason: format!(
                    "rows {rows:?} are not within the data's {} observations",
                    data.n_obs()
                ),
            });
        }
        for i in rows.clone() {
            C::check_obs(data.obs(i), i)?;
        }
        let c = rows.len();
        out.clear();
        out.resize(self.n_components() * c, 0.0);
        for ((comp, lw), slot) in self
            .components
            .iter()
            .zip(&self.log_weights)
            .zip(out.chunks_exact_mut(c.max(1)))
        {
            comp.ln_pdf_batch(data, rows.clone(), slot);
            for v in slot.iter_mut() {
                *v += lw;
            }
        }
        Ok(())
    }

    /// log p(x_row) = logsumexp_k ℓ_ik for the i-th row of a batch of c rows.
    fn row_lse(
        &self,
        lj: &[f64],
        c: usize,
        i: usize,
        data: &C::Data,
        row: usize,
    ) -> Result<f64, EmError> {
        let k_count = self.n_components();
        let mut max = f64::NEG_INFINITY;
        for k in 0..k_count {
            let v = lj[k * c + i];
            if v.is_nan() || v == f64::INFINITY {
                return Err(EmError::InvalidInput {
                    row,
                    column: None,
                    reason: format!("component {k} gives the log-density {v}"),
                });
            }
            max = max.max(v);
        }
        if max == f64::NEG_INFINITY {
            return Err(self.zero_density_error(data.obs(row), row));
        }
        let sum: f64 = (0..k_count).map(|k| (lj[k * c + i] - max).exp()).sum();
        Ok(max + sum.ln())
    }

    fn zero_density_error(&self, x: Obs<'_, C>, row: usize) -> EmError {
        let reasons: Vec<String> = self
            .components
            .iter()
            .enumerate()
            .filter_map(|(k, c)| {
                c.zero_density_reason(x)
                    .map(|r| format!("component {k}: {r}"))
            })
            .collect();
        let detail = if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join("; "))
        };
        EmError::InvalidInput {
            row,
            column: None,
            reason: format!(
                "the observation has probability 0 under every component{detail}; no mixture \
                 component can have produced it"
            ),
        }
    }

    /// Runs `f` on the log-joint of consecutive batches of all of `data`.
    fn for_each_batch(
        &self,
        data: &C::Data,
        mut f: impl FnMut(Range<usize>, &[f64]) -> Result<(), EmError>,
    ) -> Result<(), EmError> {
        let n = data.n_obs();
        if n == 0 {
            return Err(EmError::EmptyData);
        }
        let mut lj = Vec::new();
        for rows in em_core::batches(n, PREDICT_CHUNK)? {
            self.log_joint(data, rows.clone(), &mut lj)?;
            f(rows, &lj)?;
        }
        Ok(())
    }
}

impl<C: Component> LatentModel for Mixture<C> {
    type Data = C::Data;
    type Stats = MixtureStats<C::Stats>;

    /// The E-step of observations `rows`: checks them (dimension, support), then computes the
    /// log-joint, responsibilities, statistics, log-likelihood and entropy in log space.
    fn e_step(&self, data: &C::Data, rows: Range<usize>) -> Result<EStep<Self::Stats>, EmError> {
        let mut lj = Vec::new();
        self.log_joint(data, rows.clone(), &mut lj)?;
        let c = rows.len();
        let mut stats = Self::zero_stats_for(&self.components, data);
        let (mut log_likelihood, mut entropy) = (0.0, 0.0);
        for (i, row) in rows.enumerate() {
            let lse = self.row_lse(&lj, c, i, data, row)?;
            log_likelihood += lse;
            let x = data.obs(row);
            for (k, comp) in self.components.iter().enumerate() {
                let log_gamma = lj[k * c + i] - lse;
                let gamma = log_gamma.exp();
                if gamma > 0.0 {
                    entropy -= gamma * log_gamma;
                    stats.weights[k] += gamma;
                    comp.accumulate(&mut stats.components[k], gamma, x);
                }
            }
        }
        Ok(EStep {
            stats,
            log_likelihood,
            entropy,
        })
    }

    /// The M-step. On error (an empty or degenerate component, statistics for another
    /// number of components) the parameters are unchanged.
    fn m_step(&mut self, stats: &Self::Stats) -> Result<(), EmError> {
        let k = self.n_components();
        if stats.weights.len() != k || stats.components.len() != k {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics for {} weights and {} components, but the mixture has {k} components",
                    stats.weights.len(),
                    stats.components.len()
                ),
            });
        }
        *self = Self::maximise(|k| self.components[k].clone(), stats)?;
        Ok(())
    }

    fn expected_complete_log_likelihood(&self, stats: &Self::Stats) -> f64 {
        self.components
            .iter()
            .zip(&stats.components)
            .zip(stats.weights.iter().zip(&self.log_weights))
            .map(|((comp, s), (&n, &lw))| {
                let mixing = if n > 0.0 { n * lw } else { 0.0 };
                mixing + comp.expected_ln_pdf(s)
            })
            .sum()
    }

    fn log_likelihood(&self, data: &C::Data, rows: Range<usize>) -> Result<f64, EmError> {
        let mut lj = Vec::new();
        self.log_joint(data, rows.clone(), &mut lj)?;
        let c = rows.len();
        let mut total = 0.0;
        for (i, row) in rows.enumerate() {
            total += self.row_lse(&lj, c, i, data, row)?;
        }
        Ok(total)
    }
}
