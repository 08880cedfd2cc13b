//! Geometric(p) on counts y ∈ {0, 1, 2, …}: f(y | p) = (1 − p)^y p, the number of failures
//! before the first success (mean (1 − p)/p). The negative binomial with r = 1.
//!
//! * **Statistics**: n = Σγ and s = Σγy.
//! * **M-step**: p = n / (n + s) = 1 / (1 + weighted mean), in (0, 1].
//! * **Σγ log f** = n log p + s log(1 − p).
//! * **Degenerate case p = 1**: when every weighted count is 0 (s = 0), p = 1 is the MLE and is
//!   kept — a point mass at 0. Under p = 1, log f(0) = 0 and log f(y) = −∞ for y > 0; with the
//!   convention 0 · log 0 = 0, no NaN ever appears.
//! * **Empty component** (n = 0): [`EmError::EmptyComponent`].
//!
//! The family is written once, here, and works everywhere a family does: as the components of
//! a mixture (`mixture::Mixture<Vec<Geometric>>`), as an HMM's emissions
//! (`hmm::Hmm<Vec<Geometric>>`), and inside [`ZeroInflated`](super::ZeroInflated).

use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::quantile_partition;
use crate::component::Component;
use crate::parameters::ComponentParameters;

/// The geometric distribution with success probability p ∈ (0, 1], a component family on
/// `u64` counts.
///
/// ```
/// use em_family::Component;
/// use em_family::families::Geometric;
/// let g = Geometric::new(0.25)?;
/// assert!((g.ln_pdf(2) - (0.75f64 * 0.75 * 0.25).ln()).abs() < 1e-15);
/// assert_eq!(g.mean(), 3.0);
/// assert!(Geometric::new(0.0).is_err());
///
/// // The weighted M-step: p = Σγ / (Σγ + Σγy) = 1 / (1 + weighted mean).
/// let counts = [0u64, 1, 3, 8];
/// let mut fitted = g.clone();
/// let mut stats = g.zero_stats(&counts[..]);
/// for &y in &counts {
///     g.accumulate(&mut stats, 1.0, y);
/// }
/// fitted.maximise(&stats, 0)?;
/// assert_eq!(fitted.p(), 4.0 / 16.0);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GeometricSpec", into = "GeometricSpec")]
pub struct Geometric {
    p: f64,
    ln_p: f64,
    ln_q: f64,
}

#[derive(Serialize, Deserialize)]
struct GeometricSpec {
    p: f64,
}

impl TryFrom<GeometricSpec> for Geometric {
    type Error = EmError;
    fn try_from(s: GeometricSpec) -> Result<Self, EmError> {
        Geometric::new(s.p)
    }
}

impl From<Geometric> for GeometricSpec {
    fn from(g: Geometric) -> Self {
        GeometricSpec { p: g.p }
    }
}

impl Default for Geometric {
    /// p = ½ (mean 1).
    fn default() -> Self {
        Geometric {
            p: 0.5,
            ln_p: 0.5f64.ln(),
            ln_q: 0.5f64.ln(),
        }
    }
}

impl Geometric {
    /// Geometric(p).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`p`) unless 0 < p ≤ 1.
    pub fn new(p: f64) -> Result<Self, EmError> {
        if !(p > 0.0 && p <= 1.0) {
            return Err(EmError::InvalidParameter {
                name: "p",
                reason: format!("must be in (0, 1], got {p}"),
            });
        }
        Ok(Geometric {
            p,
            ln_p: p.ln(),
            ln_q: (-p).ln_1p(),
        })
    }

    /// The success probability p.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The mean (1 − p) / p.
    pub fn mean(&self) -> f64 {
        (1.0 - self.p) / self.p
    }
}

/// Weighted sufficient statistics of geometric observations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GeometricStats {
    /// n = Σγ.
    pub n: f64,
    /// s = Σγy.
    pub sum: f64,
}

impl Statistics for GeometricStats {
    fn merge(&mut self, later: &Self) {
        self.n += later.n;
        self.sum += later.sum;
    }
}

impl ScalableStatistics for GeometricStats {
    fn scale(&mut self, factor: f64) {
        self.n *= factor;
        self.sum *= factor;
    }
}

impl Component for Geometric {
    type Data = [u64];
    type Stats = GeometricStats;

    fn n_parameters(&self) -> usize {
        1
    }

    /// p, a probability.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut out = ScaledParameters::with_capacity(1);
        out.push_probability(self.p);
        Some(out)
    }

    /// log p + y log(1 − p), with 0 · log 0 = 0 (so log f(0 | p = 1) = 0).
    fn ln_pdf(&self, y: u64) -> f64 {
        let tail = if y == 0 { 0.0 } else { y as f64 * self.ln_q };
        self.ln_p + tail
    }

    fn zero_density_reason(&self, y: u64) -> Option<String> {
        (y > 0 && self.p == 1.0).then(|| format!("count {y} > 0 but p = 1"))
    }

    fn zero_stats(&self, _data: &[u64]) -> GeometricStats {
        GeometricStats::default()
    }

    fn accumulate(&self, stats: &mut GeometricStats, weight: f64, y: u64) {
        stats.n += weight;
        if y > 0 {
            stats.sum += weight * y as f64;
        }
    }

    /// p = Σγ / (Σγ + Σγy).
    fn maximise(&mut self, stats: &GeometricStats, component: usize) -> Result<(), EmError> {
        if stats.n.is_nan() || stats.n <= 0.0 {
            return Err(EmError::EmptyComponent {
                component,
                weight: stats.n,
            });
        }
        let p = stats.n / (stats.n + stats.sum);
        *self = Geometric::new(p).map_err(|_| EmError::InvalidParameter {
            name: "p",
            reason: format!(
                "the M-step of component {component} gives p = {p} (Σγ = {}, Σγy = {})",
                stats.n, stats.sum
            ),
        })?;
        Ok(())
    }

    /// n log p + s log(1 − p), with s log(1 − p) = 0 when s = 0.
    fn expected_ln_pdf(&self, stats: &GeometricStats) -> f64 {
        let tail = if stats.sum > 0.0 {
            stats.sum * self.ln_q
        } else {
            0.0
        };
        stats.n * self.ln_p + tail
    }

    /// By inversion: ⌊log U / log(1 − p)⌋ for U uniform on (0, 1].
    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<u64>) {
        let u = 1.0 - rng.random::<f64>();
        let y = if self.p >= 1.0 {
            0
        } else {
            (u.ln() / self.ln_q).floor() as u64
        };
        out.push(y);
    }

    /// Jittered quantiles of the sorted counts.
    fn initial_partition<R: Rng + ?Sized>(
        &self,
        data: &[u64],
        k: usize,
        rng: &mut R,
    ) -> Vec<usize> {
        let values: Vec<f64> = data.iter().map(|&y| y as f64).collect();
        quantile_partition(&values, k, rng)
    }
}

impl ComponentParameters for Geometric {
    /// (p).
    fn parameters(&self) -> Vec<f64> {
        vec![self.p]
    }

    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError> {
        match theta {
            [p] => Geometric::new(*p),
            _ => Err(EmError::InvalidParameter {
                name: "theta",
                reason: format!("a geometric component takes 1 value, got {}", theta.len()),
            }),
        }
    }
}
