//! The contract of a family of K components taken all at once: what the mixture engine
//! (`mixture::Mixture<F>`) needs from the distributions it mixes.
//!
//! A [`Family`] evaluates all K components on a batch of rows, accumulates their weighted
//! statistics from a K × c matrix of responsibilities, and runs the M-step for all K at once,
//! so that parameters shared across components (a tied covariance) and priors over all of
//! them fit. A simple one-component family ([`Component`]) is lifted to a [`Family`] by a
//! `Vec` of its components: `Vec<C>` is the family of K independent components of C.
//!
//! Buffers over a batch of rows `rows` (c = `rows.len()` of them) are **component-major**:
//! `buf[k·c + i]` belongs to component k and row `rows.start + i`.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Range;

use em_core::{Dataset, EmError, ScalableStatistics, ScaledParameters, Statistics};
use nalgebra::DVector;
use rand::Rng;
use statrs::function::gamma::ln_gamma;

use crate::component::{Component, OwnedData};
use crate::observations::Observations;

/// K components of one distribution family, evaluated and updated together.
///
/// The mixture engine's EM over a batch is: [`log_densities`](Self::log_densities) with the
/// log-weights as offsets → normalise each row (responsibilities γ, log-likelihood, entropy)
/// → [`accumulate`](Self::accumulate); statistics of batches merge; then
/// [`maximise`](Self::maximise). Three identities make the EM invariants hold, and the
/// invariant checker of [`em_core::testing`] verifies them:
///
/// * [`expected_log_density`](Self::expected_log_density) of statistics accumulated with
///   weights γ_ik equals Σ_i Σ_k γ_ik log f_k(x_i) at the same parameters (up to rounding);
/// * [`maximise`](Self::maximise) maximises `expected_log_density(stats) + log_prior()`;
/// * [`component_weights`](Self::component_weights) of those statistics is Σ_i γ_ik per
///   component (the sample-weighted sum when sample weights are given).
pub trait Family: Clone + fmt::Debug + Send + Sync {
    /// How the observations are stored; a batch is a range of its rows.
    type Data: Dataset + ?Sized;
    /// Weighted sufficient statistics of all K components; `merge` adds disjoint batches.
    type Stats: Statistics + Clone + fmt::Debug;
    /// What draws collect into ([`new_sample`](Self::new_sample), [`draw`](Self::draw)).
    type Sample;
    /// Owned observations: drawn ones ([`finish_sample`](Self::finish_sample)), and the
    /// sequences of a hidden Markov model over the family (`hmm::Hmm<F>` fits a slice of them).
    type Owned: Borrow<Self::Data> + Clone + fmt::Debug + Send + Sync;

    /// Number of components K.
    fn n_components(&self) -> usize;

    /// Number of values in one observation.
    fn n_features(&self) -> usize;

    /// Free parameters of all K components (the mixture adds its K − 1 weights).
    fn n_parameters(&self) -> usize;

    /// The K components' parameters with the scales their changes are measured in, for the
    /// driver's parameter stopping rule (see
    /// [`LatentModel::scaled_parameters`](em_core::LatentModel::scaled_parameters)); a
    /// mixture adds its weights, an HMM its chain. `None` (the default) opts out, and the
    /// models over the family stop by Aitken's rule instead.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        None
    }

    /// Checks that the components agree with one another (the same number of features …);
    /// the models built on a family call it when they are constructed. The default accepts.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `components`.
    fn check_components(&self) -> Result<(), EmError> {
        Ok(())
    }

    /// Checks all of `data` before it is scored or fitted: non-empty, the right dimension,
    /// every value in the support. Errors name the row (and column).
    fn check_data(&self, data: &Self::Data) -> Result<(), EmError>;

    /// The check an E-step makes of its batch `rows` (data checked once by
    /// [`check_data`](Self::check_data) need not be scanned again: a family may check the
    /// dimension only). Errors name the row (and column).
    fn check_batch(&self, data: &Self::Data, rows: Range<usize>) -> Result<(), EmError>;

    /// Rows per sub-block of an E-step batch, so that the per-row buffers stay in cache
    /// (the default processes a batch whole).
    fn block_rows(&self) -> usize {
        usize::MAX
    }

    /// `out[k·c + i] = log f_k(x_i) + offsets[k]` (offsets 0 when `None`) for the rows of a
    /// checked batch; `out.len() == K·c`. `scratch` is a reusable buffer.
    fn log_densities(
        &self,
        data: &Self::Data,
        rows: Range<usize>,
        offsets: Option<&[f64]>,
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    );

    /// Statistics of no observations, shaped for `data`.
    fn zero_stats(&self, data: &Self::Data) -> Self::Stats;

    /// Statistics of the rows of a checked batch with responsibilities `gamma[k·c + i]` and
    /// optional per-row sample weights (length c).
    fn accumulate(
        &self,
        data: &Self::Data,
        rows: Range<usize>,
        gamma: &[f64],
        sample_weights: Option<&[f64]>,
        scratch: &mut Vec<f64>,
    ) -> Self::Stats;

    /// Σ_i γ_ik for every component k (length K).
    fn component_weights<'s>(&self, stats: &'s Self::Stats) -> &'s [f64];

    /// Σ_i Σ_k γ_ik log f_k(x_i) at the current parameters, from statistics (0 · log 0 = 0).
    fn expected_log_density(&self, stats: &Self::Stats) -> f64;

    /// The M-step for all K components: argmax of `expected_log_density + log_prior`,
    /// keeping the family's settings (ridges, floors, priors).
    ///
    /// A component whose weight ([`component_weights`](Self::component_weights)) is 0 keeps
    /// its parameters when the objective does not determine them (no prior): its term of
    /// `expected_log_density` is 0 whatever they are. A mixture rejects such a component
    /// before it calls this (its weight would be 0); a hidden Markov model keeps the
    /// emissions of a state that received no expected observations.
    ///
    /// # Errors
    /// A typed error naming the component when the maximiser does not exist (a collapsed
    /// variance …); `self` is then unspecified and the caller discards it.
    fn maximise(&mut self, stats: &Self::Stats) -> Result<(), EmError>;

    /// log p(θ) of the components' parameters under the family's prior (0 without one).
    fn log_prior(&self) -> f64 {
        0.0
    }

    /// α of the symmetric Dirichlet prior on the mixture weights that goes with the family's
    /// prior, or `None` without one (maximum likelihood). With α the mixture's M-step sets
    /// π_k = (N_k + α − 1) / (N + K(α − 1)) and its log-prior adds
    /// [`symmetric_dirichlet_log_density`].
    fn weight_concentration(&self) -> Option<f64> {
        None
    }

    /// Why row `row` of `data` has density 0 under every component, if the family can say.
    fn zero_density_reason(&self, data: &Self::Data, row: usize) -> Option<String> {
        let _ = (data, row);
        None
    }

    /// An empty collection of draws with room for `capacity`.
    fn new_sample(&self, capacity: usize) -> Self::Sample;

    /// Draws one observation from component `k` into `sample`.
    fn draw<R: Rng + ?Sized>(&self, k: usize, rng: &mut R, sample: &mut Self::Sample);

    /// The draws as data.
    fn finish_sample(&self, sample: Self::Sample) -> Self::Owned;
}

/// log Dir(π | α, …, α) = log Γ(Kα) − K log Γ(α) + (α − 1) Σ_k log π_k, the log-density of
/// a symmetric Dirichlet prior on K weights (the (α − 1) term is skipped at α = 1, so that a
/// zero weight gives no NaN there).
///
/// ```
/// use em_family::symmetric_dirichlet_log_density;
/// // Flat on the simplex of 3 weights: the density is Γ(3) = 2 everywhere.
/// assert!((symmetric_dirichlet_log_density(1.0, &[0.2, 0.3, 0.5]) - 2f64.ln()).abs() < 1e-12);
/// ```
pub fn symmetric_dirichlet_log_density(alpha: f64, weights: &[f64]) -> f64 {
    let k = weights.len() as f64;
    let mut total = ln_gamma(k * alpha) - k * ln_gamma(alpha);
    if alpha != 1.0 {
        total += (alpha - 1.0) * weights.iter().map(|w| w.ln()).sum::<f64>();
    }
    total
}

/// The mixture weights of the M-step from the components' weights N_k:
/// π_k = (N_k + α − 1) / (N + K(α − 1)) with α the concentration of a symmetric Dirichlet
/// prior, or N_k / N without one. Written once, for the mixture engine and for starts that
/// build a mixture from statistics.
///
/// ```
/// use em_family::mixture_weights;
/// assert_eq!(mixture_weights(&[1.0, 3.0], None)?.as_slice(), &[0.25, 0.75]);
/// assert_eq!(mixture_weights(&[0.0, 4.0], Some(2.0))?.as_slice(), &[1.0 / 6.0, 5.0 / 6.0]);
/// assert!(mixture_weights(&[0.0, 4.0], None).is_err()); // an empty component
/// # Ok::<(), em_core::EmError>(())
/// ```
///
/// # Errors
/// [`EmError::EmptyComponent`] for a component whose weight would not be positive and finite
/// (without a prior: N_k = 0); [`EmError::InvalidParameter`] (`components`) for K = 0.
pub fn mixture_weights(
    component_weights: &[f64],
    concentration: Option<f64>,
) -> Result<DVector<f64>, EmError> {
    let k_count = component_weights.len();
    if k_count == 0 {
        return Err(EmError::InvalidParameter {
            name: "components",
            reason: "at least one component is needed".into(),
        });
    }
    let total: f64 = component_weights.iter().sum();
    let alpha = concentration.unwrap_or(1.0);
    let weight_total = total + k_count as f64 * (alpha - 1.0);
    let mut weights = DVector::zeros(k_count);
    for (k, &nk) in component_weights.iter().enumerate() {
        let w = (nk + alpha - 1.0) / weight_total;
        if !(nk > 0.0 || alpha > 1.0) || !(w > 0.0 && w.is_finite()) {
            return Err(EmError::EmptyComponent {
                component: k,
                weight: nk,
            });
        }
        weights[k] = w;
    }
    Ok(weights)
}

/// The check every family's [`Family::check_batch`] makes of a batch's shape: the data's
/// `found` features against the family's `expected`, and `rows` within the data's `n_obs`
/// observations.
///
/// ```
/// use em_family::check_batch_shape;
/// assert!(check_batch_shape(2, 2, &(0..5), 5).is_ok());
/// assert!(check_batch_shape(2, 3, &(0..5), 5).is_err()); // dimension
/// assert!(check_batch_shape(2, 2, &(3..7), 5).is_err()); // past the end
/// ```
///
/// # Errors
/// [`EmError::DimensionMismatch`]; [`EmError::InvalidParameter`] naming `rows`.
pub fn check_batch_shape(
    expected: usize,
    found: usize,
    rows: &Range<usize>,
    n_obs: usize,
) -> Result<(), EmError> {
    if found != expected {
        return Err(EmError::DimensionMismatch { expected, found });
    }
    if rows.start > rows.end || rows.end > n_obs {
        return Err(EmError::InvalidParameter {
            name: "rows",
            reason: format!("rows {rows:?} are not within the data's {n_obs} observations"),
        });
    }
    Ok(())
}

/// Statistics of K independent components of a one-component family: each component's
/// weight and statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentStats<S> {
    /// N_k = Σ_i γ_ik (times the sample weight) per component.
    pub weights: Vec<f64>,
    /// Each component's statistics.
    pub components: Vec<S>,
}

impl<S: Statistics> Statistics for ComponentStats<S> {
    fn merge(&mut self, later: &Self) {
        for (a, b) in self.weights.iter_mut().zip(&later.weights) {
            *a += b;
        }
        for (a, b) in self.components.iter_mut().zip(&later.components) {
            a.merge(b);
        }
    }
}

impl<S: ScalableStatistics> ScalableStatistics for ComponentStats<S> {
    fn scale(&mut self, factor: f64) {
        self.weights.iter_mut().for_each(|w| *w *= factor);
        self.components.iter_mut().for_each(|c| c.scale(factor));
    }
}

impl<S> ComponentStats<S> {
    /// Σ_k N_k: the total weight of the observations.
    pub fn total(&self) -> f64 {
        self.weights.iter().sum()
    }
}

/// K independent components of a one-component family: the lift that makes every
/// [`Component`] a [`Family`].
impl<C: Component> Family for Vec<C> {
    type Data = C::Data;
    type Stats = ComponentStats<C::Stats>;
    type Sample = OwnedData<C>;
    type Owned = OwnedData<C>;

    fn n_components(&self) -> usize {
        self.len()
    }

    fn n_features(&self) -> usize {
        self.first().map_or(0, Component::n_features)
    }

    fn n_parameters(&self) -> usize {
        self.iter().map(Component::n_parameters).sum()
    }

    /// Every component's [`Component::scaled_parameters`], in order (`None` if one has none).
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut out = ScaledParameters::new();
        for c in self {
            out.append(c.scaled_parameters()?);
        }
        Some(out)
    }

    /// All components have the number of features of component 0.
    fn check_components(&self) -> Result<(), EmError> {
        let d = self.n_features();
        match self.iter().enumerate().find(|(_, c)| c.n_features() != d) {
            Some((j, c)) => Err(EmError::InvalidParameter {
                name: "components",
                reason: format!(
                    "component {j} has {} features but component 0 has {d}",
                    c.n_features()
                ),
            }),
            None => Ok(()),
        }
    }

    fn check_data(&self, data: &C::Data) -> Result<(), EmError> {
        let n = data.n_obs();
        if n == 0 {
            return Err(EmError::EmptyData);
        }
        self.check_batch(data, 0..n)
    }

    /// The dimension, and every observation in the family's support
    /// ([`Component::check_obs`]).
    fn check_batch(&self, data: &C::Data, rows: Range<usize>) -> Result<(), EmError> {
        check_batch_shape(self.n_features(), data.n_features(), &rows, data.n_obs())?;
        rows.into_iter()
            .try_for_each(|i| C::check_obs(data.obs(i), i))
    }

    fn log_densities(
        &self,
        data: &C::Data,
        rows: Range<usize>,
        offsets: Option<&[f64]>,
        out: &mut [f64],
        _: &mut Vec<f64>,
    ) {
        let c = rows.len();
        for (k, (comp, slot)) in self.iter().zip(out.chunks_exact_mut(c.max(1))).enumerate() {
            comp.ln_pdf_batch(data, rows.clone(), slot);
            if let Some(offsets) = offsets {
                let offset = offsets[k];
                for v in slot.iter_mut() {
                    *v += offset;
                }
            }
        }
    }

    fn zero_stats(&self, data: &C::Data) -> Self::Stats {
        ComponentStats {
            weights: vec![0.0; self.len()],
            components: self.iter().map(|c| c.zero_stats(data)).collect(),
        }
    }

    fn accumulate(
        &self,
        data: &C::Data,
        rows: Range<usize>,
        gamma: &[f64],
        sample_weights: Option<&[f64]>,
        _: &mut Vec<f64>,
    ) -> Self::Stats {
        let c = rows.len();
        let mut stats = self.zero_stats(data);
        for (i, row) in rows.enumerate() {
            let x = data.obs(row);
            let w = sample_weights.map_or(1.0, |w| w[i]);
            for (k, comp) in self.iter().enumerate() {
                let g = gamma[k * c + i] * w;
                if g > 0.0 {
                    stats.weights[k] += g;
                    comp.accumulate(&mut stats.components[k], g, x);
                }
            }
        }
        stats
    }

    fn component_weights<'s>(&self, stats: &'s Self::Stats) -> &'s [f64] {
        &stats.weights
    }

    /// Σ_k of the components' [`Component::expected_ln_pdf`], over the components with
    /// positive weight (the others contribute 0).
    fn expected_log_density(&self, stats: &Self::Stats) -> f64 {
        self.iter()
            .zip(&stats.components)
            .zip(&stats.weights)
            .filter(|(_, w)| **w > 0.0)
            .map(|((comp, s), _)| comp.expected_ln_pdf(s))
            .sum()
    }

    /// [`Component::maximise`] for every component with positive weight; a component with
    /// weight 0 keeps its parameters.
    fn maximise(&mut self, stats: &Self::Stats) -> Result<(), EmError> {
        if stats.components.len() != self.len() || stats.weights.len() != self.len() {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics for {} components, but the family has {}",
                    stats.components.len(),
                    self.len()
                ),
            });
        }
        for (k, ((comp, s), &w)) in self
            .iter_mut()
            .zip(&stats.components)
            .zip(&stats.weights)
            .enumerate()
        {
            if w > 0.0 {
                comp.maximise(s, k)?;
            }
        }
        Ok(())
    }

    fn zero_density_reason(&self, data: &C::Data, row: usize) -> Option<String> {
        let x = data.obs(row);
        let reasons: Vec<String> = self
            .iter()
            .enumerate()
            .filter_map(|(k, c)| {
                c.zero_density_reason(x)
                    .map(|r| format!("component {k}: {r}"))
            })
            .collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    fn new_sample(&self, capacity: usize) -> OwnedData<C> {
        <C::Data as Observations>::with_capacity(self.n_features(), capacity)
    }

    fn draw<R: Rng + ?Sized>(&self, k: usize, rng: &mut R, sample: &mut OwnedData<C>) {
        self[k].sample_into(rng, sample);
    }

    fn finish_sample(&self, sample: OwnedData<C>) -> OwnedData<C> {
        sample
    }
}
