//! The univariate Gaussian N(μ, σ²) on reals:
//! log f(x | μ, σ²) = −½ log 2π − ½ log σ² − (x − μ)² / (2σ²).
//!
//! * **Statistics**: n = Σγ, the weighted mean m (as a reference point plus an offset) and
//!   the centred scatter M2 = Σγ(x − m)², accumulated by Welford's weighted update and merged
//!   with the pairwise update of Chan et al. — no cancellation when the data sit far from 0.
//! * **M-step**: μ = m, σ² = M2 / n, then σ² = max(σ², floor) with the component's
//!   [`min_variance`](Gaussian::min_variance) floor (0 by default).
//! * **Σγ log f** = −n(½ log 2π + ½ log σ²) − (M2 + n(m − μ)²) / (2σ²).
//! * **Degenerate case σ² = 0**: when a component's responsibility sits on a single value
//!   (M2 = 0) the likelihood is unbounded. Without a floor the M-step returns
//!   [`EmError::DegenerateComponent`] for the component. With a floor σ²_min > 0 the variance
//!   is clamped to it: because Σγ log f is unimodal in σ², the clamped value is the *exact*
//!   maximiser over σ² ≥ σ²_min, so EM on that constrained parameter space keeps all its
//!   invariants (unlike an additive ridge).
//! * **Empty component** (n = 0): [`EmError::EmptyComponent`].
//! * **Support**: NaN or ±∞ is [`EmError::NonFinite`] with its row (column 0).

use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::quantile_partition;
use crate::component::Component;
use crate::gaussian::HALF_LN_2PI;

/// The Gaussian N(μ, σ²) on `f64` observations, with an optional variance floor for the
/// M-step.
///
/// ```
/// use em_family::Component;
/// use em_family::families::Gaussian;
/// let g = Gaussian::new(1.0, 4.0)?;
/// let expected = -0.5 * (2.0 * std::f64::consts::PI * 4.0).ln() - 0.5 * 0.25;
/// assert!((g.ln_pdf(2.0) - expected).abs() < 1e-15);
/// // A floor keeps a collapsing component at σ² ≥ 1e-6 instead of failing.
/// let floored = Gaussian::default().with_min_variance(1e-6)?;
/// assert_eq!(floored.min_variance(), 1e-6);
/// assert!(Gaussian::new(0.0, 0.0).is_err());
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GaussianSpec", into = "GaussianSpec")]
pub struct Gaussian {
    mean: f64,
    variance: f64,
    ln_variance: f64,
    min_variance: f64,
}

#[derive(Serialize, Deserialize)]
struct GaussianSpec {
    mean: f64,
    variance: f64,
    #[serde(default)]
    min_variance: f64,
}

impl TryFrom<GaussianSpec> for Gaussian {
    type Error = EmError;
    fn try_from(s: GaussianSpec) -> Result<Self, EmError> {
        Gaussian::new(s.mean, s.variance)?.with_min_variance(s.min_variance)
    }
}

impl From<Gaussian> for GaussianSpec {
    fn from(g: Gaussian) -> Self {
        GaussianSpec {
            mean: g.mean,
            variance: g.variance,
            min_variance: g.min_variance,
        }
    }
}

impl Default for Gaussian {
    /// N(0, 1) without a variance floor.
    fn default() -> Self {
        Gaussian {
            mean: 0.0,
            variance: 1.0,
            ln_variance: 0.0,
            min_variance: 0.0,
        }
    }
}

impl Gaussian {
    /// N(mean, variance), without a variance floor.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`mean`, `variance`) unless the mean is finite and the
    /// variance finite and > 0.
    pub fn new(mean: f64, variance: f64) -> Result<Self, EmError> {
        if !mean.is_finite() {
            return Err(EmError::InvalidParameter {
                name: "mean",
                reason: format!("must be finite, got {mean}"),
            });
        }
        if !(variance.is_finite() && variance > 0.0) {
            return Err(EmError::InvalidParameter {
                name: "variance",
                reason: format!("must be finite and > 0, got {variance}"),
            });
        }
        Ok(Gaussian {
            mean,
            variance,
            ln_variance: variance.ln(),
            min_variance: 0.0,
        })
    }

    /// Sets the variance floor σ²_min of the M-step (see the module docs: the M-step stays
    /// exact on the constrained space σ² ≥ σ²_min).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`min_variance`) unless it is finite, ≥ 0 and not above
    /// the current variance.
    pub fn with_min_variance(mut self, min_variance: f64) -> Result<Self, EmError> {
        if !(min_variance.is_finite() && min_variance >= 0.0 && min_variance <= self.variance) {
            return Err(EmError::InvalidParameter {
                name: "min_variance",
                reason: format!(
                    "must be finite, ≥ 0 and ≤ the variance {}, got {min_variance}",
                    self.variance
                ),
            });
        }
        self.min_variance = min_variance;
        Ok(self)
    }

    /// The mean μ.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The variance σ².
    pub fn variance(&self) -> f64 {
        self.variance
    }

    /// The standard deviation σ.
    pub fn std_dev(&self) -> f64 {
        self.variance.sqrt()
    }

    /// The variance floor of the M-step (0: none).
    pub fn min_variance(&self) -> f64 {
        self.min_variance
    }
}

/// Weighted sufficient statistics of Gaussian observations, in centred form.
///
/// The weighted mean is kept as `shift + offset`, where `shift` is a reference point (the
/// first observation the batch saw with positive weight) and `offset` the mean's small
/// distance from it, so that differences such as m − μ keep full precision when the data sit
/// far from 0 (forming m itself would round at ulp(m)).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GaussianStats {
    /// n = Σγ.
    pub n: f64,
    /// The reference point (0 while n = 0).
    pub shift: f64,
    /// The weighted mean minus `shift`.
    pub offset: f64,
    /// The centred scatter M2 = Σγ(x − m)².
    pub m2: f64,
}

impl GaussianStats {
    /// The weighted mean m = Σγx / n (0 while n = 0).
    pub fn mean(&self) -> f64 {
        self.shift + self.offset
    }

    /// m − c, computed without rounding m first.
    pub(crate) fn mean_minus(&self, c: f64) -> f64 {
        (self.shift - c) + self.offset
    }
}

impl Statistics for GaussianStats {
    /// Chan et al.'s pairwise update, on `self`'s reference point.
    fn merge(&mut self, later: &Self) {
        if later.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *later;
            return;
        }
        let n = self.n + later.n;
        let delta = later.mean_minus(self.shift) - self.offset;
        self.offset += delta * (later.n / n);
        self.m2 += later.m2 + delta * delta * (self.n * later.n / n);
        self.n = n;
    }
}

/// n and M2 scale; the reference point and the mean do not.
impl ScalableStatistics for GaussianStats {
    fn scale(&mut self, factor: f64) {
        self.n *= factor;
        self.m2 *= factor;
    }
}

impl Component for Gaussian {
    type Data = [f64];
    type Stats = GaussianStats;

    fn n_parameters(&self) -> usize {
        2
    }

    /// The mean in units of the standard deviation, the variance relative to itself.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut p = ScaledParameters::with_capacity(2);
        p.push(self.mean, self.variance.sqrt());
        p.push_relative(self.variance);
        Some(p)
    }

    /// Finite.
    fn check_obs(x: f64, row: usize) -> Result<(), EmError> {
        if x.is_finite() {
            Ok(())
        } else {
            Err(EmError::NonFinite {
                row,
                column: 0,
                value: x,
            })
        }
    }

    fn ln_pdf(&self, x: f64) -> f64 {
        let d = x - self.mean;
        -HALF_LN_2PI - 0.5 * self.ln_variance - 0.5 * d * d / self.variance
    }

    fn zero_stats(&self, _data: &[f64]) -> GaussianStats {
        GaussianStats::default()
    }

    /// Welford's weighted update, relative to the batch's reference point.
    fn accumulate(&self, stats: &mut GaussianStats, weight: f64, x: f64) {
        if weight.is_nan() || weight <= 0.0 {
            return;
        }
        if stats.n == 0.0 {
            *stats = GaussianStats {
                n: weight,
                shift: x,
                offset: 0.0,
                m2: 0.0,
            };
            return;
        }
        let n = stats.n + weight;
        let y = x - stats.shift;
        let delta = y - stats.offset;
        stats.offset += delta * (weight / n);
        stats.m2 += weight * delta * (y - stats.offset);
        stats.n = n;
    }

    /// μ = m, σ² = max(M2 / n, floor).
    fn maximise(&mut self, stats: &GaussianStats, component: usize) -> Result<(), EmError> {
        if stats.n.is_nan() || stats.n <= 0.0 {
            return Err(EmError::EmptyComponent {
                component,
                weight: stats.n,
            });
        }
        let variance = (stats.m2 / stats.n).max(self.min_variance);
        let mean = stats.mean();
        if !(variance.is_finite() && variance > 0.0 && mean.is_finite()) {
            return Err(EmError::DegenerateComponent {
                component,
                reason: format!(
                    "Gaussian M-step: variance {variance:e} (weight {:e} on a single value); \
                     set a variance floor with Gaussian::with_min_variance or use fewer components",
                    stats.n
                ),
            });
        }
        self.mean = mean;
        self.variance = variance;
        self.ln_variance = variance.ln();
        Ok(())
    }

    fn expected_ln_pdf(&self, stats: &GaussianStats) -> f64 {
        let d = stats.mean_minus(self.mean);
        -stats.n * (HALF_LN_2PI + 0.5 * self.ln_variance)
            - 0.5 * (stats.m2 + stats.n * d * d) / self.variance
    }

    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<f64>) {
        let z: f64 = rng.sample(StandardNormal);
        out.push(self.mean + self.std_dev() * z);
    }

    /// Jittered quantiles of the sorted values.
    fn initial_partition<R: Rng + ?Sized>(
        &self,
        data: &[f64],
        k: usize,
        rng: &mut R,
    ) -> Vec<usize> {
        quantile_partition(data, k, rng)
    }
}
