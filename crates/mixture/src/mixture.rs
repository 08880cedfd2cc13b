//! The one mixture engine: p(x) = Σ_k π_k f_k(x) over any [`Family`] — weights, the EM
//! contract, and the fitted-model API (predict, score, sample, criteria), written once for
//! every family.

use std::ops::Range;

use em_core::{
    Dataset, EStep, Em, EmError, Fitted, Initializer, LatentModel, Observer, ScaledParameters,
    Step, chunked_log_likelihood,
};
use em_family::gaussian::normalise;
use em_family::{
    Component, ComponentStats, Family, Observations, mixture_weights,
    symmetric_dirichlet_log_density,
};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows per batch for prediction and scoring (fits use the driver's chunk size).
const PREDICT_CHUNK: usize = 4096;

/// Expected sufficient statistics of a mixture of a one-component family: N_k and each
/// component's statistics (the statistics of the `Vec<C>` family).
pub type MixtureStats<S> = ComponentStats<S>;

/// A mixture of K components of one family: p(x) = Σ_k π_k f_k(x).
///
/// The family `F` is any [`Family`]: `Vec<C>` for K components of a one-component family C
/// (Poisson, geometric, exponential, Gaussian, Bernoulli, a zero-inflated count family, your
/// own [`Component`]), or a family that holds its K components together, such as
/// [`em_family::gaussian::GaussianFamily`] (the `gmm` crate's `GaussianMixture`).
///
/// A value of this type is always valid: K ≥ 1, weights finite, positive and summing to 1,
/// and a valid family. Build one with [`Mixture::new`] (one-component families) or
/// [`Mixture::from_family`], or fit one with [`Mixture::fit`] / the em-core driver.
///
/// It implements [`LatentModel`] on the family's data, so the em-core driver (restarts,
/// SQUAREM, streaming) and the invariant checker apply to every family:
///
/// * **E-step**, per batch (in sub-blocks of [`Family::block_rows`] rows), in log space:
///   ℓ_ik = log π_k + log f_k(x_i), log p(x_i) = logsumexp_k ℓ_ik, γ_ik = exp(ℓ_ik −
///   log p(x_i)) (vectorised exp and ln, within 2 ulp of libm); the family accumulates its
///   statistics from γ; the entropy is −Σ_ik γ_ik log γ_ik (γ = 0 contributes 0). A component
///   with density 0 at x_i (ℓ = −∞) gets γ = 0; an observation with density 0 under *every*
///   component is an [`EmError::InvalidInput`] naming its row.
/// * **M-step**: π_k = (N_k + α − 1) / (N + K(α − 1)) with α the family's Dirichlet
///   concentration ([`Family::weight_concentration`]; without a prior α = 1, π_k = N_k / N);
///   a component whose weight is not positive is [`EmError::EmptyComponent`]; then the
///   family's [`Family::maximise`].
/// * **E_q[log p(x, z | θ)]** = Σ_k N_k log π_k + [`Family::expected_log_density`], and the
///   log-prior is the Dirichlet's plus [`Family::log_prior`].
#[derive(Debug, Clone, PartialEq)]
pub struct Mixture<F> {
    weights: DVector<f64>,
    log_weights: Vec<f64>,
    family: F,
}

/// Checks mixture weights for K components: K of them, finite, > 0 and summing to 1 within
/// 1e-8 ([`EmError::InvalidParameter`] naming `weights` otherwise).
///
/// ```
/// assert!(mixture::check_weights(&[0.25, 0.75], 2).is_ok());
/// assert!(mixture::check_weights(&[0.5, 0.6], 2).is_err());
/// assert!(mixture::check_weights(&[1.0], 2).is_err());
/// ```
pub fn check_weights(weights: &[f64], k: usize) -> Result<(), EmError> {
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
            reason: format!("weight of component {j} is {w}; every weight must be finite and > 0"),
        });
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > 1e-8 {
        return Err(EmError::InvalidParameter {
            name: "weights",
            reason: format!("weights sum to {sum}, not 1"),
        });
    }
    Ok(())
}

impl<F: Family> Mixture<F> {
    /// A mixture of the K components of `family` with weights π (length K).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `components` for a family of no components or
    /// whose components disagree ([`Family::check_components`]), and naming `weights` as
    /// [`check_weights`] says.
    pub fn from_family(weights: Vec<f64>, family: F) -> Result<Self, EmError> {
        let k = family.n_components();
        if k == 0 {
            return Err(EmError::InvalidParameter {
                name: "components",
                reason: "at least one component is needed".into(),
            });
        }
        family.check_components()?;
        check_weights(&weights, k)?;
        Ok(Mixture::from_parts(DVector::from_vec(weights), family))
    }

    /// The one-component mixture of `family`'s single component, weight 1 (for models built
    /// on one family member, such as the zero-inflated Poisson, which run their EM through
    /// it). `family` must have one component.
    pub(crate) fn single(family: F) -> Self {
        Mixture::from_parts(DVector::from_element(1, 1.0), family)
    }

    fn from_parts(weights: DVector<f64>, family: F) -> Self {
        let log_weights = weights.iter().map(|w| w.ln()).collect();
        Mixture {
            weights,
            log_weights,
            family,
        }
    }

    /// Replaces weights and family (validated as [`Mixture::from_family`]); the mixture is
    /// unchanged on error.
    pub fn set_parts(&mut self, weights: Vec<f64>, family: F) -> Result<(), EmError> {
        *self = Mixture::from_family(weights, family)?;
        Ok(())
    }

    /// The family of the K components.
    pub fn family(&self) -> &F {
        &self.family
    }

    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.family.n_components()
    }

    /// Number of values per observation.
    pub fn n_features(&self) -> usize {
        self.family.n_features()
    }

    /// Mixing weights π (length K, summing to 1).
    pub fn weights(&self) -> &[f64] {
        self.weights.as_slice()
    }

    /// Mixing weights π as a vector.
    pub fn weight_vector(&self) -> &DVector<f64> {
        &self.weights
    }

    /// Number of free parameters: K − 1 weights plus the family's own.
    pub fn n_parameters(&self) -> usize {
        self.n_components() - 1 + self.family.n_parameters()
    }

    /// Checks data for this mixture: at least one observation, the right dimension, every
    /// value in the family's support ([`Family::check_data`]); errors name the row (and column).
    pub fn check_data(&self, data: &F::Data) -> Result<(), EmError> {
        self.family.check_data(data)
    }

    /// log p(x_i) for every observation.
    ///
    /// # Errors
    /// Those of [`check_data`](Self::check_data), and [`EmError::InvalidInput`] for an
    /// observation of density 0 under every component.
    pub fn score_samples(&self, data: &F::Data) -> Result<Vec<f64>, EmError> {
        let parts = self.batches(data, false, |_, _, lse| lse.to_vec())?;
        Ok(parts.into_iter().flat_map(|(_, part)| part).collect())
    }

    /// Σ_i log p(x_i): the total log-likelihood (errors as
    /// [`score_samples`](Self::score_samples)).
    pub fn log_likelihood_total(&self, data: &F::Data) -> Result<f64, EmError> {
        self.check_data(data)?;
        chunked_log_likelihood(self, data, PREDICT_CHUNK)
    }

    /// Mean log-likelihood per observation (scikit-learn's `score`).
    pub fn score(&self, data: &F::Data) -> Result<f64, EmError> {
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
    pub fn predict_proba(&self, data: &F::Data) -> Result<DMatrix<f64>, EmError> {
        let k_count = self.n_components();
        let parts = self.batches(data, false, |_, gamma, _| gamma.to_vec())?;
        let mut out = DMatrix::zeros(data.n_obs(), k_count);
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

    /// The most probable component of every observation (ties go to the lower index; errors
    /// as [`score_samples`](Self::score_samples)).
    pub fn predict(&self, data: &F::Data) -> Result<Vec<usize>, EmError> {
        let k_count = self.n_components();
        let parts = self.batches(data, true, |lj, _, lse| {
            let c = lse.len();
            (0..c)
                .map(|i| {
                    let mut best = 0;
                    for k in 1..k_count {
                        if lj[k * c + i] > lj[best * c + i] {
                            best = k;
                        }
                    }
                    best
                })
                .collect::<Vec<usize>>()
        })?;
        Ok(parts.into_iter().flat_map(|(_, part)| part).collect())
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
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (F::Owned, Vec<usize>) {
        let cumulative: Vec<f64> = self
            .weights
            .iter()
            .scan(0.0, |acc, w| {
                *acc += w;
                Some(*acc)
            })
            .collect();
        let last = cumulative.len() - 1;
        let mut out = self.family.new_sample(n);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let u = rng.random::<f64>() * cumulative[last];
            let k = cumulative.iter().position(|&c| u < c).unwrap_or(last);
            self.family.draw(k, rng, &mut out);
            labels.push(k);
        }
        (self.family.finish_sample(out), labels)
    }

    /// Bayesian information criterion −2 log L + p log N (lower is better).
    pub fn bic(&self, data: &F::Data) -> Result<f64, EmError> {
        let ll = self.log_likelihood_total(data)?;
        Ok(em_core::criteria::bic(
            ll,
            self.n_parameters(),
            data.n_obs(),
        ))
    }

    /// Akaike information criterion −2 log L + 2p (lower is better).
    pub fn aic(&self, data: &F::Data) -> Result<f64, EmError> {
        let ll = self.log_likelihood_total(data)?;
        Ok(em_core::criteria::aic(ll, self.n_parameters()))
    }

    /// Integrated complete-data likelihood criterion (lower is better):
    /// ICL = −2 log L + p log N − 2 Σ_i log max_k γ_ik = BIC − 2 Σ_i log max_k γ_ik, with
    /// γ_ik = p(z_i = k | x_i) the responsibilities of [`predict_proba`](Self::predict_proba).
    ///
    /// The MAP form of Biernacki, Celeux & Govaert (2000), and the negative of mclust's
    /// `icl()`, whose sign is the opposite (see [`em_core::criteria::icl`]). The penalty
    /// −2 Σ_i log max_k γ_ik is ≥ 0, so ICL ≥ BIC, with equality when every observation
    /// belongs to one component with certainty (always for K = 1): ICL prefers models whose
    /// components are well separated. The log-likelihood is
    /// [`log_likelihood_total`](Self::log_likelihood_total)'s, so ICL − BIC is exactly the
    /// classification penalty.
    ///
    /// ```
    /// use mixture::{Gaussian, Mixture};
    /// let m = Mixture::new(vec![0.5, 0.5], vec![Gaussian::new(0.0, 1.0)?, Gaussian::new(4.0, 1.0)?])?;
    /// // x = 2 lies halfway (γ = ½, ½); x = 10 belongs to the second component all but surely.
    /// let x = [2.0, 10.0];
    /// let penalty = -2.0 * (0.5f64.ln() + m.predict_proba(&x[..])?[(1, 1)].ln());
    /// assert!((m.icl(&x[..])? - (m.bic(&x[..])? + penalty)).abs() < 1e-9);
    /// assert!((penalty - 2.0 * 2f64.ln()).abs() < 1e-12);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Errors
    /// As [`score_samples`](Self::score_samples).
    pub fn icl(&self, data: &F::Data) -> Result<f64, EmError> {
        let ll = self.log_likelihood_total(data)?;
        let map_log_posterior = self.map_log_posterior(data)?;
        Ok(em_core::criteria::icl(
            ll,
            self.n_parameters(),
            data.n_obs(),
            map_log_posterior,
        ))
    }

    /// Σ_i log max_k γ_ik: the log posterior probability of each observation's most probable
    /// component, summed (≤ 0; errors as [`score_samples`](Self::score_samples)).
    fn map_log_posterior(&self, data: &F::Data) -> Result<f64, EmError> {
        let k_count = self.n_components();
        let parts = self.batches(data, false, |_, gamma, lse| {
            let c = lse.len();
            (0..c)
                .map(|i| {
                    let top = (0..k_count)
                        .map(|k| gamma[k * c + i])
                        .fold(f64::NEG_INFINITY, f64::max);
                    // γ ≤ 1 up to rounding; the clamp keeps the penalty ≥ 0.
                    top.ln().min(0.0)
                })
                .sum::<f64>()
        })?;
        Ok(parts.into_iter().map(|(_, s)| s).sum())
    }

    /// The E-step over `rows` with optional per-row sample weights for those rows (length
    /// `rows.len()`): statistics weighted by w_i γ_ik, log-likelihood Σ_i w_i log p(x_i) and
    /// entropy Σ_i w_i H(γ_i). The batch is processed in sub-blocks of
    /// [`Family::block_rows`] rows whose buffers stay in cache, merged in order.
    pub fn e_step_weighted(
        &self,
        data: &F::Data,
        rows: Range<usize>,
        sample_weights: Option<&[f64]>,
    ) -> Result<EStep<F::Stats>, EmError> {
        self.e_step_batch(data, rows, None, sample_weights)
    }

    /// The semi-supervised E-step over `rows`: `labels[i]` is the known component of row
    /// `rows.start + i` (`labels.len() == rows.len()`), or `None` for a row whose component is
    /// inferred. A labelled row with label k has responsibilities exactly one-hot on k
    /// (γ_ik = 1), entropy 0, and adds log p(x_i, z_i = k) = log π_k + log f_k(x_i) to the
    /// log-likelihood; an unlabelled row is as in [`e_step_weighted`](Self::e_step_weighted).
    /// Optional sample weights multiply each row's share as there. It is the same block loop
    /// as the unlabelled E-step: the log-joint of a labelled row is set to −∞ for every
    /// other component before it is normalised.
    ///
    /// ```
    /// use em_core::LatentModel;
    /// use mixture::{Mixture, Poisson};
    /// let m = Mixture::new(vec![0.5, 0.5], vec![Poisson::new(1.0)?, Poisson::new(8.0)?])?;
    /// let y = [0u64, 8, 4];
    /// // Row 1 is known to come from component 0, although component 1 explains it better.
    /// let e = m.e_step_labelled(&y[..], 0..3, &[None, Some(0), None], None)?;
    /// assert_eq!(e.stats.weights[0] + e.stats.weights[1], 3.0);
    /// let plain = m.e_step(&y[..], 0..3)?;
    /// assert!(e.log_likelihood < plain.log_likelihood);
    /// assert!(m.e_step_labelled(&y[..], 0..3, &[None, Some(2), None], None).is_err());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `labels` for a count other than `rows.len()`;
    /// [`EmError::InvalidInput`] naming the row and the label for a label ≥ K, and naming
    /// the row for one of density 0 under its labelled component; otherwise those of
    /// [`e_step_weighted`](Self::e_step_weighted).
    pub fn e_step_labelled(
        &self,
        data: &F::Data,
        rows: Range<usize>,
        labels: &[Option<usize>],
        sample_weights: Option<&[f64]>,
    ) -> Result<EStep<F::Stats>, EmError> {
        if labels.len() != rows.len() {
            return Err(EmError::InvalidParameter {
                name: "labels",
                reason: format!(
                    "expected {} labels for the batch (one per row), got {}",
                    rows.len(),
                    labels.len()
                ),
            });
        }
        em_core::labelled::check_label_range(labels, rows.start, self.n_components())?;
        self.e_step_batch(data, rows, Some(labels), sample_weights)
    }

    /// The E-step of a batch, with labels (checked) or without.
    fn e_step_batch(
        &self,
        data: &F::Data,
        rows: Range<usize>,
        labels: Option<&[Option<usize>]>,
        sample_weights: Option<&[f64]>,
    ) -> Result<EStep<F::Stats>, EmError> {
        self.family.check_batch(data, rows.clone())?;
        if let Some(w) = sample_weights
            && w.len() != rows.len()
        {
            return Err(EmError::InvalidParameter {
                name: "sample_weight",
                reason: format!(
                    "expected {} weights for the batch, got {}",
                    rows.len(),
                    w.len()
                ),
            });
        }
        let mut total = EStep {
            stats: self.family.zero_stats(data),
            log_likelihood: 0.0,
            entropy: 0.0,
        };
        self.for_each_block(
            data,
            rows,
            labels,
            sample_weights,
            |sub, gamma, w, ll, h, scratch| {
                let stats = self.family.accumulate(data, sub, gamma, w, scratch);
                total.merge(&EStep {
                    stats,
                    log_likelihood: ll,
                    entropy: h,
                });
            },
        )?;
        Ok(total)
    }

    /// The E-step's loop over the sub-blocks of [`Family::block_rows`] rows of a checked
    /// batch: the log-joint (with −∞ for every component but its label on a labelled row,
    /// `labels` being one per row of the batch), normalised into responsibilities (a
    /// non-finite log-likelihood is explained by [`Mixture::diagnose`]), then
    /// `on_block(sub-block, γ, its sample weights, Σ w log p, Σ w H, scratch)`.
    fn for_each_block(
        &self,
        data: &F::Data,
        rows: Range<usize>,
        labels: Option<&[Option<usize>]>,
        sample_weights: Option<&[f64]>,
        mut on_block: impl FnMut(Range<usize>, &[f64], Option<&[f64]>, f64, f64, &mut Vec<f64>),
    ) -> Result<(), EmError> {
        let (mut lj, mut scratch, mut lse) = (Vec::new(), Vec::new(), Vec::new());
        let block = self.family.block_rows().max(1);
        for start in rows.clone().step_by(block) {
            let sub = start..start.saturating_add(block).min(rows.end);
            let c = sub.len();
            lj.resize(self.n_components() * c, 0.0);
            self.family.log_densities(
                data,
                sub.clone(),
                Some(&self.log_weights),
                &mut lj,
                &mut scratch,
            );
            let offset = start - rows.start;
            let block_labels = labels.map(|l| &l[offset..offset + c]);
            if let Some(block_labels) = block_labels {
                mask_labelled(&mut lj, c, block_labels);
            }
            let w = sample_weights.map(|w| &w[offset..offset + c]);
            let (log_likelihood, entropy) = normalise(&mut lj, c, w, &mut lse);
            if !log_likelihood.is_finite() {
                self.diagnose(data, sub.clone(), &lse)?;
                if let Some(block_labels) = block_labels {
                    impossible_label(sub.start, block_labels, &lse)?;
                }
            }
            on_block(sub, &lj, w, log_likelihood, entropy, &mut scratch);
        }
        Ok(())
    }

    /// The M-step from `stats`, starting from the family `family` (its settings and, for
    /// components it keeps, parameters): weights with the family's Dirichlet concentration,
    /// then the family's M-step.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`stats`) for statistics of another number of
    /// components, [`EmError::EmptyComponent`] for a component with no weight, and the
    /// family's M-step errors.
    pub fn maximise(mut family: F, stats: &F::Stats) -> Result<Self, EmError> {
        let n = family.component_weights(stats);
        let k_count = family.n_components();
        if n.len() != k_count {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics for {} components, but the mixture has {k_count}",
                    n.len()
                ),
            });
        }
        let weights = mixture_weights(n, family.weight_concentration())?;
        family.maximise(stats)?;
        Ok(Mixture::from_parts(weights, family))
    }

    /// Explains a sub-block whose log-likelihood is not finite: the first row whose
    /// log-density is NaN or +∞ under some component, or 0 under every component, is an
    /// [`EmError::InvalidInput`]. A block with no such row (a sum that overflowed) passes;
    /// the driver then reports the non-finite objective.
    fn diagnose(&self, data: &F::Data, rows: Range<usize>, lse: &[f64]) -> Result<(), EmError> {
        let Some(i) = lse.iter().position(|v| !v.is_finite()) else {
            return Ok(());
        };
        let row = rows.start + i;
        let k_count = self.n_components();
        let mut lj = vec![0.0; k_count];
        self.family.log_densities(
            data,
            row..row + 1,
            Some(&self.log_weights),
            &mut lj,
            &mut Vec::new(),
        );
        if let Some((k, v)) = lj
            .iter()
            .enumerate()
            .find(|(_, v)| v.is_nan() || **v == f64::INFINITY)
        {
            return Err(EmError::InvalidInput {
                row,
                column: None,
                reason: format!("component {k} gives the log-density {v}"),
            });
        }
        if lj.iter().all(|&v| v == f64::NEG_INFINITY) {
            let detail = self
                .family
                .zero_density_reason(data, row)
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            return Err(EmError::InvalidInput {
                row,
                column: None,
                reason: format!(
                    "the observation has probability 0 under every component{detail}; no \
                     mixture component can have produced it"
                ),
            });
        }
        Ok(())
    }

    /// Checks `data`, then runs `f(log-joint, γ, log p)` on each batch in parallel, returning
    /// the batch start and its result in order. `f` sees the log-joint ℓ_ik (component-major;
    /// empty unless `keep_joint`, which costs a copy), the responsibilities and the per-row
    /// log p(x_i).
    fn batches<T: Send>(
        &self,
        data: &F::Data,
        keep_joint: bool,
        f: impl Fn(&[f64], &[f64], &[f64]) -> T + Sync,
    ) -> Result<Vec<(usize, T)>, EmError> {
        self.check_data(data)?;
        let k_count = self.n_components();
        em_core::batches(data.n_obs(), PREDICT_CHUNK)?
            .into_par_iter()
            .map(|rows| {
                let c = rows.len();
                let (mut lj, mut scratch, mut lse) =
                    (vec![0.0; k_count * c], Vec::new(), Vec::new());
                self.family.log_densities(
                    data,
                    rows.clone(),
                    Some(&self.log_weights),
                    &mut lj,
                    &mut scratch,
                );
                let joint = if keep_joint { lj.clone() } else { Vec::new() };
                let (ll, _) = normalise(&mut lj, c, None, &mut lse);
                if !ll.is_finite() {
                    self.diagnose(data, rows.clone(), &lse)?;
                }
                Ok((rows.start, f(&joint, &lj, &lse)))
            })
            .collect()
    }
}

/// Sets the log-joint ℓ_jk (component-major, `c` rows) of a labelled row to −∞ for every
/// component j but its label k: the point mass on k after normalisation.
fn mask_labelled(log_joint: &mut [f64], c: usize, labels: &[Option<usize>]) {
    for (i, label) in labels.iter().enumerate() {
        if let Some(k) = *label {
            for (j, column) in log_joint.chunks_exact_mut(c).enumerate() {
                if j != k {
                    column[i] = f64::NEG_INFINITY;
                }
            }
        }
    }
}

/// The error for a labelled row of density 0 under its labelled component (its log-joint
/// all −∞ after masking, so its normalised log p is not finite, although some other
/// component could have produced it), if there is one in the sub-block starting at row
/// `first_row`. Called after [`Mixture::diagnose`] has ruled out NaN and +∞ densities.
fn impossible_label(
    first_row: usize,
    labels: &[Option<usize>],
    lse: &[f64],
) -> Result<(), EmError> {
    match lse
        .iter()
        .zip(labels)
        .enumerate()
        .find_map(|(i, (v, l))| l.filter(|_| !v.is_finite()).map(|l| (i, l)))
    {
        Some((i, l)) => Err(EmError::InvalidInput {
            row: first_row + i,
            column: None,
            reason: format!(
                "the observation is labelled component {l}, under which it has probability 0"
            ),
        }),
        None => Ok(()),
    }
}

impl<C: Component> Mixture<Vec<C>> {
    /// A mixture of a one-component family with the given weights π (one per component) and
    /// components.
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
        Mixture::from_family(weights, components)
    }

    /// Fits a mixture to `data`: validates the data (non-empty, every observation in the
    /// family's support), then runs [`Em::fit_restarts`] with `init` building each restart's
    /// starting mixture, and returns the best run.
    ///
    /// `init` is any [`Initializer`]: a [`Start`](crate::Start) (the family's partition start
    /// or random responsibilities), or a closure `Fn(&C::Data, &mut StdRng) -> Result<Mixture<Vec<C>>,
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
    /// The data errors of [`Mixture::check_family_data`], invalid driver options, or — when
    /// every restart fails — the first restart's error.
    pub fn fit<I, A, O>(data: &C::Data, init: &I, em: &Em<A, O>) -> Result<Fitted<Self>, EmError>
    where
        I: Initializer<Self> + ?Sized,
        A: Step<Self>,
        O: Observer,
    {
        em.validate()?;
        Self::check_family_data(data)?;
        em.fit_restarts(init, data)
    }

    /// Checks data for family C without a mixture at hand: at least one observation, and
    /// every observation in the family's support ([`Component::check_obs`]), reporting the
    /// first bad one by row (and column).
    pub fn check_family_data(data: &C::Data) -> Result<(), EmError> {
        let n = data.n_obs();
        if n == 0 {
            return Err(EmError::EmptyData);
        }
        (0..n).try_for_each(|i| C::check_obs(data.obs(i), i))
    }

    /// The components θ_1 … θ_K.
    pub fn components(&self) -> &[C] {
        &self.family
    }

    /// Component `k`, or `None` if `k ≥ K`.
    pub fn component(&self, k: usize) -> Option<&C> {
        self.family.get(k)
    }
}

/// The serialised form of a mixture of a one-component family; loading validates it like
/// [`Mixture::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MixtureSpec<C> {
    weights: Vec<f64>,
    components: Vec<C>,
}

impl<C: Component + Serialize> Serialize for Mixture<Vec<C>> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MixtureSpec {
            weights: self.weights.as_slice().to_vec(),
            components: self.family.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de, C: Component + Deserialize<'de>> Deserialize<'de> for Mixture<Vec<C>> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec = MixtureSpec::<C>::deserialize(deserializer)?;
        Mixture::new(spec.weights, spec.components).map_err(serde::de::Error::custom)
    }
}

impl<F: Family> LatentModel for Mixture<F> {
    type Data = F::Data;
    type Stats = F::Stats;

    /// The E-step of observations `rows` ([`Mixture::e_step_weighted`] without sample
    /// weights).
    fn e_step(&self, data: &F::Data, rows: Range<usize>) -> Result<EStep<F::Stats>, EmError> {
        self.e_step_weighted(data, rows, None)
    }

    /// The M-step ([`Mixture::maximise`] from the current family). On error the parameters
    /// are unchanged.
    fn m_step(&mut self, stats: &F::Stats) -> Result<(), EmError> {
        *self = Self::maximise(self.family.clone(), stats)?;
        Ok(())
    }

    fn expected_complete_log_likelihood(&self, stats: &F::Stats) -> f64 {
        let mixing: f64 = self
            .family
            .component_weights(stats)
            .iter()
            .zip(&self.log_weights)
            .map(|(&n, &lw)| if n > 0.0 { n * lw } else { 0.0 })
            .sum();
        mixing + self.family.expected_log_density(stats)
    }

    /// The weights, as probabilities, then the family's
    /// ([`Family::scaled_parameters`]); `None` when the family exposes none.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut out = ScaledParameters::new();
        self.weights.iter().for_each(|&w| out.push_probability(w));
        out.append(self.family.scaled_parameters()?);
        Some(out)
    }

    /// The Dirichlet prior on the weights (when the family has one) plus the family's.
    fn log_prior(&self) -> f64 {
        match self.family.weight_concentration() {
            Some(alpha) => {
                symmetric_dirichlet_log_density(alpha, self.weights.as_slice())
                    + self.family.log_prior()
            }
            None => self.family.log_prior(),
        }
    }

    /// Σ log p(x_i) over `rows`, without the statistics.
    fn log_likelihood(&self, data: &F::Data, rows: Range<usize>) -> Result<f64, EmError> {
        self.family.check_batch(data, rows.clone())?;
        let mut total = 0.0;
        self.for_each_block(data, rows, None, None, |_, _, _, ll, _, _| total += ll)?;
        Ok(total)
    }
}
