//! Poisson(λ) on counts y ∈ {0, 1, 2, …}: f(y | λ) = λ^y e^(−λ) / y!.
//!
//! * **Statistics**: n = Σγ, s = Σγy and t = Σγ log y! (the constant is carried so that the
//!   expected complete-data term is exactly what the E-step's log-densities sum to).
//! * **M-step**: λ = s / n, the weighted mean.
//! * **Σγ log f** = s log λ − nλ − t.
//! * **Degenerate case λ = 0**: when every weighted count is 0 (s = 0), λ = 0 is the MLE and
//!   is kept — it is a legitimate Poisson (a point mass at 0). Under λ = 0, log f(0) = 0 and
//!   log f(y) = −∞ for y > 0; the convention 0 · log 0 = 0 makes y log λ = 0 for y = 0 and
//!   s log λ = 0 for s = 0, so no NaN ever appears. A mixture row with y > 0 simply gets
//!   responsibility 0 from a λ = 0 component.
//! * **Empty component** (n = 0): [`EmError::EmptyComponent`].

use em_core::stopping::PROBABILITY_FLOOR;
use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use rand::Rng;
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};
use statrs::function::factorial::ln_factorial;

use super::quantile_partition;
use crate::component::Component;

/// The Poisson distribution with rate λ ≥ 0, a component family on `u64` counts.
///
/// ```
/// use em_family::Component;
/// use em_family::families::Poisson;
/// let p = Poisson::new(2.0)?;
/// assert!((p.ln_pdf(3) - (8.0f64 / 6.0 * (-2.0f64).exp()).ln()).abs() < 1e-12);
/// // λ = 0 is allowed: a point mass at 0.
/// let zero = Poisson::new(0.0)?;
/// assert_eq!(zero.ln_pdf(0), 0.0);
/// assert_eq!(zero.ln_pdf(1), f64::NEG_INFINITY);
/// assert!(Poisson::new(-1.0).is_err());
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PoissonSpec", into = "PoissonSpec")]
pub struct Poisson {
    lambda: f64,
    ln_lambda: f64,
}

#[derive(Serialize, Deserialize)]
struct PoissonSpec {
    lambda: f64,
}

impl TryFrom<PoissonSpec> for Poisson {
    type Error = EmError;
    fn try_from(s: PoissonSpec) -> Result<Self, EmError> {
        Poisson::new(s.lambda)
    }
}

impl From<Poisson> for PoissonSpec {
    fn from(p: Poisson) -> Self {
        PoissonSpec { lambda: p.lambda }
    }
}

impl Default for Poisson {
    /// λ = 1.
    fn default() -> Self {
        Poisson {
            lambda: 1.0,
            ln_lambda: 0.0,
        }
    }
}

impl Poisson {
    /// Poisson(λ).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`lambda`) unless λ is finite and ≥ 0.
    pub fn new(lambda: f64) -> Result<Self, EmError> {
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(EmError::InvalidParameter {
                name: "lambda",
                reason: format!("must be finite and ≥ 0, got {lambda}"),
            });
        }
        Ok(Poisson {
            lambda,
            ln_lambda: lambda.ln(),
        })
    }

    /// The rate λ (the mean).
    pub fn lambda(&self) -> f64 {
        self.lambda
    }
}

/// Weighted sufficient statistics of Poisson observations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoissonStats {
    /// n = Σγ.
    pub n: f64,
    /// s = Σγy.
    pub sum: f64,
    /// t = Σγ log y!.
    pub sum_ln_factorial: f64,
}

impl Statistics for PoissonStats {
    fn merge(&mut self, later: &Self) {
        self.n += later.n;
        self.sum += later.sum;
        self.sum_ln_factorial += later.sum_ln_factorial;
    }
}

impl ScalableStatistics for PoissonStats {
    fn scale(&mut self, factor: f64) {
        self.n *= factor;
        self.sum *= factor;
        self.sum_ln_factorial *= factor;
    }
}

impl Component for Poisson {
    type Data = [u64];
    type Stats = PoissonStats;

    fn n_parameters(&self) -> usize {
        1
    }

    /// λ relative to itself, but to no less than 1e-3
    /// ([`PROBABILITY_FLOOR`](em_core::stopping::PROBABILITY_FLOOR)): a small rate is about
    /// the probability of a positive count, and EM approaches a rate of 0 geometrically.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut p = ScaledParameters::with_capacity(1);
        p.push(self.lambda, self.lambda.max(PROBABILITY_FLOOR));
        Some(p)
    }

    /// y log λ − λ − log y!, with 0 · log 0 = 0 (so log f(0 | λ = 0) = 0).
    fn ln_pdf(&self, y: u64) -> f64 {
        let rate_term = if y == 0 {
            0.0
        } else {
            y as f64 * self.ln_lambda
        };
        rate_term - self.lambda - ln_factorial(y)
    }

    fn zero_density_reason(&self, y: u64) -> Option<String> {
        (y > 0 && self.lambda == 0.0).then(|| format!("count {y} > 0 but λ = 0"))
    }

    fn zero_stats(&self, _data: &[u64]) -> PoissonStats {
        PoissonStats::default()
    }

    fn accumulate(&self, stats: &mut PoissonStats, weight: f64, y: u64) {
        stats.n += weight;
        if y > 0 {
            stats.sum += weight * y as f64;
            stats.sum_ln_factorial += weight * ln_factorial(y);
        }
    }

    /// λ = Σγy / Σγ (0 when every weighted count is 0).
    fn maximise(&mut self, stats: &PoissonStats, component: usize) -> Result<(), EmError> {
        if stats.n.is_nan() || stats.n <= 0.0 {
            return Err(EmError::EmptyComponent {
                component,
                weight: stats.n,
            });
        }
        let lambda = stats.sum / stats.n;
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(EmError::InvalidParameter {
                name: "lambda",
                reason: format!(
                    "the M-step of component {component} gives λ = {lambda} (Σγy = {}, Σγ = {})",
                    stats.sum, stats.n
                ),
            });
        }
        self.lambda = lambda;
        self.ln_lambda = lambda.ln();
        Ok(())
    }

    /// s log λ − nλ − t, with s log λ = 0 when s = 0.
    fn expected_ln_pdf(&self, stats: &PoissonStats) -> f64 {
        let rate_term = if stats.sum > 0.0 {
            stats.sum * self.ln_lambda
        } else {
            0.0
        };
        rate_term - stats.n * self.lambda - stats.sum_ln_factorial
    }

    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<u64>) {
        let y = if self.lambda == 0.0 {
            0
        } else {
            match rand_distr::Poisson::new(self.lambda) {
                Ok(d) => d.sample(rng) as u64,
                // Beyond rand_distr's largest rate (~1.8e19) the Poisson is λ to within
                // 1e-9 relative.
                Err(_) => self.lambda.round() as u64,
            }
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
