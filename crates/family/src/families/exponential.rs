//! Exponential(rate) on non-negative reals: f(x | r) = r e^(−r x), x ≥ 0.
//!
//! * **Statistics**: n = Σγ, s = Σγx.
//! * **M-step**: r = n / s, the reciprocal of the weighted mean, then r = min(r, cap) with
//!   the component's [`max_rate`](Exponential::max_rate) cap (+∞ by default).
//! * **Σγ log f** = n log r − r s.
//! * **Degenerate case s = 0**: when every observation a component is responsible for is 0
//!   (in particular, all-zero data), the likelihood grows without bound as r → ∞ — the MLE is
//!   a point mass at 0, not an exponential distribution. Data with exact zeros (rounded
//!   times) can drive a component there. Without a cap the M-step then returns
//!   [`EmError::DegenerateComponent`] for the component (its variance 1/r² collapsed to 0),
//!   never an infinite rate. With a finite cap the rate is clamped to it: n log r − r s is
//!   concave in r, so the clamped value is the *exact* maximiser over r ≤ cap and EM keeps
//!   all its invariants.
//! * **Empty component** (n = 0): [`EmError::EmptyComponent`].
//! * **Support**: a negative observation is [`EmError::InvalidInput`] with its row (column 0),
//!   NaN or ±∞ is [`EmError::NonFinite`].

use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use rand::{Rng, RngExt};
use rand_distr::Exp1;
use serde::{Deserialize, Serialize};

use super::quantile_partition;
use crate::component::Component;

/// The exponential distribution with rate r > 0 (mean 1/r), a component family on `f64`
/// observations ≥ 0.
///
/// ```
/// use em_family::Component;
/// use em_family::families::Exponential;
/// let e = Exponential::new(2.0)?;
/// assert!((e.ln_pdf(1.5) - (2.0f64.ln() - 3.0)).abs() < 1e-15);
/// assert!(Exponential::check_obs(-0.1, 4).is_err());
/// assert!(Exponential::new(0.0).is_err());
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ExponentialSpec", into = "ExponentialSpec")]
pub struct Exponential {
    rate: f64,
    ln_rate: f64,
    max_rate: f64,
}

#[derive(Serialize, Deserialize)]
struct ExponentialSpec {
    rate: f64,
    /// Absent (or null) for no cap.
    #[serde(default)]
    max_rate: Option<f64>,
}

impl TryFrom<ExponentialSpec> for Exponential {
    type Error = EmError;
    fn try_from(s: ExponentialSpec) -> Result<Self, EmError> {
        let e = Exponential::new(s.rate)?;
        match s.max_rate {
            Some(cap) => e.with_max_rate(cap),
            None => Ok(e),
        }
    }
}

impl From<Exponential> for ExponentialSpec {
    fn from(e: Exponential) -> Self {
        ExponentialSpec {
            rate: e.rate,
            max_rate: e.max_rate.is_finite().then_some(e.max_rate),
        }
    }
}

impl Default for Exponential {
    /// Rate 1, no cap.
    fn default() -> Self {
        Exponential {
            rate: 1.0,
            ln_rate: 0.0,
            max_rate: f64::INFINITY,
        }
    }
}

impl Exponential {
    /// Exponential(rate).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`rate`) unless the rate is finite and > 0.
    pub fn new(rate: f64) -> Result<Self, EmError> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(EmError::InvalidParameter {
                name: "rate",
                reason: format!("must be finite and > 0, got {rate}"),
            });
        }
        Ok(Exponential {
            rate,
            ln_rate: rate.ln(),
            max_rate: f64::INFINITY,
        })
    }

    /// Sets the cap on the rate used by the M-step (see the module docs: the M-step stays
    /// exact on the constrained space r ≤ cap). With a cap, a component responsible only for
    /// zeros settles at the cap instead of failing.
    ///
    /// ```
    /// use em_family::Component;
    /// use em_family::families::Exponential;
    /// let x = [0.0; 10]; // all zeros: no MLE without a cap
    /// let mut capped = Exponential::default().with_max_rate(1e3)?;
    /// let mut stats = capped.zero_stats(&x[..]);
    /// for &v in &x {
    ///     capped.accumulate(&mut stats, 1.0, v);
    /// }
    /// capped.maximise(&stats, 0)?;
    /// assert_eq!(capped.rate(), 1e3);
    /// assert!(Exponential::default().maximise(&stats, 0).is_err()); // uncapped: no maximiser
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`max_rate`) unless the cap is > 0, not NaN and not below
    /// the current rate (+∞ removes the cap).
    pub fn with_max_rate(mut self, max_rate: f64) -> Result<Self, EmError> {
        if max_rate.is_nan() || max_rate < self.rate {
            return Err(EmError::InvalidParameter {
                name: "max_rate",
                reason: format!(
                    "must be ≥ the rate {} (and not NaN), got {max_rate}",
                    self.rate
                ),
            });
        }
        self.max_rate = max_rate;
        Ok(self)
    }

    /// The rate cap of the M-step (+∞: none).
    pub fn max_rate(&self) -> f64 {
        self.max_rate
    }

    /// The rate r.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The mean 1/r.
    pub fn mean(&self) -> f64 {
        1.0 / self.rate
    }
}

/// Weighted sufficient statistics of exponential observations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExponentialStats {
    /// n = Σγ.
    pub n: f64,
    /// s = Σγx.
    pub sum: f64,
}

impl Statistics for ExponentialStats {
    fn merge(&mut self, later: &Self) {
        self.n += later.n;
        self.sum += later.sum;
    }
}

impl ScalableStatistics for ExponentialStats {
    fn scale(&mut self, factor: f64) {
        self.n *= factor;
        self.sum *= factor;
    }
}

impl Component for Exponential {
    type Data = [f64];
    type Stats = ExponentialStats;

    fn n_parameters(&self) -> usize {
        1
    }

    /// The rate, relative to itself.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut p = ScaledParameters::with_capacity(1);
        p.push_relative(self.rate);
        Some(p)
    }

    /// Finite and ≥ 0.
    fn check_obs(x: f64, row: usize) -> Result<(), EmError> {
        if !x.is_finite() {
            return Err(EmError::NonFinite {
                row,
                column: 0,
                value: x,
            });
        }
        if x < 0.0 {
            return Err(EmError::InvalidInput {
                row,
                column: Some(0),
                reason: format!("exponential observations must be ≥ 0, got {x}"),
            });
        }
        Ok(())
    }

    /// log r − r x.
    fn ln_pdf(&self, x: f64) -> f64 {
        self.ln_rate - self.rate * x
    }

    fn zero_stats(&self, _data: &[f64]) -> ExponentialStats {
        ExponentialStats::default()
    }

    fn accumulate(&self, stats: &mut ExponentialStats, weight: f64, x: f64) {
        stats.n += weight;
        stats.sum += weight * x;
    }

    /// r = min(Σγ / Σγx, cap).
    fn maximise(&mut self, stats: &ExponentialStats, component: usize) -> Result<(), EmError> {
        if stats.n.is_nan() || stats.n <= 0.0 {
            return Err(EmError::EmptyComponent {
                component,
                weight: stats.n,
            });
        }
        let rate = (stats.n / stats.sum).min(self.max_rate);
        if !(rate.is_finite() && rate > 0.0) {
            return Err(EmError::DegenerateComponent {
                component,
                reason: format!(
                    "exponential M-step: the observations it is responsible for sum to {:e} \
                     (weight {:e}), so the rate Σγ/Σγx = {rate} is not a finite positive \
                     number — the MLE is a point mass at 0, with variance 0; cap the rate with \
                     Exponential::with_max_rate or use fewer components",
                    stats.sum, stats.n
                ),
            });
        }
        self.rate = rate;
        self.ln_rate = rate.ln();
        Ok(())
    }

    /// n log r − r s.
    fn expected_ln_pdf(&self, stats: &ExponentialStats) -> f64 {
        stats.n * self.ln_rate - self.rate * stats.sum
    }

    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<f64>) {
        let e: f64 = rng.sample(Exp1);
        out.push(e / self.rate);
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
