//! The contract between a one-component distribution family and the models built on it: what
//! one component must provide for a mixture's EM to work.

use std::fmt;
use std::ops::Range;

use em_core::{Dataset, EmError, ScaledParameters, Statistics};
use rand::{Rng, RngExt};

use crate::Observations;

/// One observation of family `C`: `f64`, `u64`, `&[bool]` ….
pub type Obs<'a, C> = <<C as Component>::Data as Observations>::Obs<'a>;

/// The owned data type of family `C` (`Vec<f64>`, `Vec<u64>`, [`BinaryMatrix`](crate::BinaryMatrix)).
pub type OwnedData<C> = <<C as Component>::Data as Observations>::Owned;

/// A distribution family f(x | θ) that can be a component of a mixture (the `mixture` crate's
/// `Mixture<C>`).
///
/// A family provides what EM needs from one component, and nothing about mixing:
///
/// * **densities**: [`ln_pdf`](Self::ln_pdf) of one observation, or
///   [`ln_pdf_batch`](Self::ln_pdf_batch) of a range of rows into a buffer (override it when
///   a batch is cheaper than a loop);
/// * **weighted sufficient statistics** [`Stats`](Self::Stats): start from
///   [`zero_stats`](Self::zero_stats), add an observation with weight γ by
///   [`accumulate`](Self::accumulate), combine disjoint batches by
///   [`Statistics::merge`];
/// * **the weighted maximum-likelihood update** [`maximise`](Self::maximise):
///   θ ← argmax_θ Σ_i γ_i log f(x_i | θ), computed from the statistics alone;
/// * **the expected complete-data term** [`expected_ln_pdf`](Self::expected_ln_pdf):
///   Σ_i γ_i log f(x_i | θ) at the *current* θ, computed from the statistics alone.
///
/// The last two must agree exactly with `ln_pdf`: for statistics accumulated from
/// observations x_i with weights γ_i, `expected_ln_pdf(stats)` equals Σ_i γ_i ln_pdf(x_i) up to
/// rounding — constants included (−log y! for Poisson, −½ log 2π for Gaussian). That identity
/// is what makes the mixture's ELBO tight after an E-step, and the invariant checker of
/// [`em_core::testing`] verifies it. Where a parameter sits on the boundary of its space
/// (a Poisson rate or a Bernoulli probability of 0 or 1), the convention is 0 · log 0 = 0:
/// a term with zero weight contributes 0, never NaN.
///
/// A mixture guarantees that the E-step only passes observations that
/// [`check_obs`](Self::check_obs) accepted and whose dimension matches
/// [`n_features`](Self::n_features), and that `maximise` only sees statistics with positive
/// total weight; a family still returns a typed error rather than panicking when handed
/// anything else.
///
/// A complete family, the geometric distribution P(y) = (1 − p)^y p on counts:
///
/// ```
/// use em_core::{EmError, Statistics};
/// use em_family::{Component, OwnedData};
/// use rand::{Rng, RngExt};
///
/// #[derive(Debug, Clone, PartialEq)]
/// struct Geometric { p: f64 }
///
/// #[derive(Debug, Clone, Default)]
/// struct GeoStats { n: f64, sum: f64 } // Σγ and Σγy
/// impl Statistics for GeoStats {
///     fn merge(&mut self, later: &Self) { self.n += later.n; self.sum += later.sum; }
/// }
///
/// impl Component for Geometric {
///     type Data = [u64];
///     type Stats = GeoStats;
///     fn n_parameters(&self) -> usize { 1 }
///     fn ln_pdf(&self, y: u64) -> f64 {
///         let tail = if y == 0 { 0.0 } else { y as f64 * (1.0 - self.p).ln() }; // 0 · log 0 = 0
///         tail + self.p.ln()
///     }
///     fn zero_stats(&self, _: &[u64]) -> GeoStats { GeoStats::default() }
///     fn accumulate(&self, s: &mut GeoStats, w: f64, y: u64) { s.n += w; s.sum += w * y as f64; }
///     fn maximise(&mut self, s: &GeoStats, component: usize) -> Result<(), EmError> {
///         if !(s.n > 0.0) { return Err(EmError::EmptyComponent { component, weight: s.n }); }
///         self.p = s.n / (s.n + s.sum); // 1 / (1 + weighted mean), in (0, 1]
///         Ok(())
///     }
///     fn expected_ln_pdf(&self, s: &GeoStats) -> f64 {
///         // 0 · log 0 = 0: with p = 1 every weighted count is 0.
///         let tail = if s.sum > 0.0 { s.sum * (1.0 - self.p).ln() } else { 0.0 };
///         tail + s.n * self.p.ln()
///     }
///     fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<u64>) {
///         let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
///         out.push(if self.p >= 1.0 { 0 } else { (u.ln() / (1.0 - self.p).ln()).floor() as u64 });
///     }
/// }
///
/// // The contract: Σγ log f from the statistics equals the sum of weighted log-densities,
/// // and the M-step increases it.
/// let counts = [0u64, 3, 1, 0, 7];
/// let gamma = [0.5, 1.0, 0.25, 1.0, 0.75];
/// let mut g = Geometric { p: 0.9 };
/// let mut stats = g.zero_stats(&counts[..]);
/// for (&y, &w) in counts.iter().zip(&gamma) {
///     g.accumulate(&mut stats, w, y);
/// }
/// let direct: f64 = counts.iter().zip(&gamma).map(|(&y, &w)| w * g.ln_pdf(y)).sum();
/// assert!((g.expected_ln_pdf(&stats) - direct).abs() < 1e-12);
/// let before = g.expected_ln_pdf(&stats);
/// g.maximise(&stats, 0)?;
/// assert!(g.expected_ln_pdf(&stats) > before);
/// # Ok::<(), EmError>(())
/// ```
///
/// It is then a mixture component like any bundled family: `mixture::Mixture::new(weights,
/// vec![Geometric { p: 0.6 }, Geometric { p: 0.1 }])` fits by EM, and the invariant checker of
/// [`em_core::testing`] verifies the identity above (the `mixture` crate's documentation
/// runs this example end to end).
pub trait Component: Clone + fmt::Debug + Send + Sync {
    /// How the family's observations are stored; a batch is a range of its rows.
    type Data: Observations + ?Sized;

    /// Weighted sufficient statistics of a batch; `merge` adds disjoint batches.
    type Stats: Statistics + Clone + fmt::Debug;

    /// Number of free parameters (for BIC/AIC).
    fn n_parameters(&self) -> usize;

    /// The component's parameters with the scales their changes are measured in, for the
    /// driver's parameter stopping rule
    /// ([`LatentModel::scaled_parameters`](em_core::LatentModel::scaled_parameters), whose
    /// docs say how to scale each kind). `None` (the default) opts out: a mixture or HMM of the
    /// family then stops by Aitken's rule instead. Every bundled family provides them.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        None
    }

    /// Number of values in one observation (1 for scalar families).
    fn n_features(&self) -> usize {
        1
    }

    /// Checks that observation `x`, found in row `row`, lies in the family's support;
    /// the error names the row (and column). The default accepts everything (for families
    /// whose observation type admits only valid values, such as counts as `u64`).
    fn check_obs(x: Obs<'_, Self>, row: usize) -> Result<(), EmError> {
        let _ = (x, row);
        Ok(())
    }

    /// log f(x | θ). May be −∞ where the density is 0 (a count > 0 under a Poisson rate of
    /// 0); must never be NaN or +∞ for an observation that `check_obs` accepts.
    fn ln_pdf(&self, x: Obs<'_, Self>) -> f64;

    /// log f(x_i | θ) for the observations `rows` of `data`, into `out` (`out.len() ==
    /// rows.len()`). The default calls [`ln_pdf`](Self::ln_pdf) row by row.
    fn ln_pdf_batch(&self, data: &Self::Data, rows: Range<usize>, out: &mut [f64]) {
        for (o, i) in out.iter_mut().zip(rows) {
            *o = self.ln_pdf(data.obs(i));
        }
    }

    /// Why `x` has density 0 under this component, if it has: used to explain an observation
    /// that no component can have produced. The default gives no reason.
    fn zero_density_reason(&self, x: Obs<'_, Self>) -> Option<String> {
        let _ = x;
        None
    }

    /// Statistics of an empty batch, shaped for `data` (e.g. one entry per column).
    fn zero_stats(&self, data: &Self::Data) -> Self::Stats;

    /// Adds observation `x` with weight `weight ≥ 0` (a responsibility γ) to `stats`.
    fn accumulate(&self, stats: &mut Self::Stats, weight: f64, x: Obs<'_, Self>);

    /// The weighted maximum-likelihood update: sets θ to argmax_θ Σ_i γ_i log f(x_i | θ) for
    /// the statistics `stats`, keeping the family's own settings (such as a variance floor).
    /// `component` is this component's index, for error messages.
    ///
    /// # Errors
    /// A typed error naming `component` when the maximiser does not exist or leaves the
    /// parameter space (no weight, a collapsed variance …); `self` is then unspecified and the
    /// mixture discards it.
    fn maximise(&mut self, stats: &Self::Stats, component: usize) -> Result<(), EmError>;

    /// Σ_i γ_i log f(x_i | θ) at the current θ, from the statistics of the γ-weighted
    /// observations: exactly what [`ln_pdf`](Self::ln_pdf) sums to (0 · log 0 = 0).
    fn expected_ln_pdf(&self, stats: &Self::Stats) -> f64;

    /// Draws one observation from f(· | θ) and appends it to `out`.
    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut OwnedData<Self>);

    /// A starting partition of the rows of `data` into `k` groups (a group index `< k` per
    /// row), from which a start (the `mixture` crate's `Start`) builds initial components. The
    /// default draws
    /// every row's group uniformly at random; the bundled scalar families split the sorted
    /// values at jittered quantiles, the Bernoulli family groups rows around random seed rows.
    fn initial_partition<R: Rng + ?Sized>(
        &self,
        data: &Self::Data,
        k: usize,
        rng: &mut R,
    ) -> Vec<usize> {
        (0..data.n_obs())
            .map(|_| rng.random_range(0..k.max(1)))
            .collect()
    }
}
