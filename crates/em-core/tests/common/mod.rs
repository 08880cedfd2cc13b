//! A small, correct model for testing the driver and the checker: a K-component 1-D
//! Gaussian mixture whose variances are kept ≥ `VAR_FLOOR` (a constrained M-step, which is
//! still the exact maximiser of the ELBO over the allowed set), and ways to break it.

#![allow(dead_code)]

use std::ops::Range;

use em_core::{
    EStep, EmError, LatentModel, ParameterVector, ScalableStatistics, Statistics, StdRng,
};
use rand::RngExt;

pub const VAR_FLOOR: f64 = 1e-3;
const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// Deliberate mistakes the checker must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    None,
    /// The M-step moves every mean half a unit away from its weighted average.
    ShiftedMeans,
    /// The E-step reports half the posterior entropy.
    HalfEntropy,
    /// The expected complete-data log-likelihood forgets the mixing weights.
    EcllWithoutWeights,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mixture1d {
    pub weights: Vec<f64>,
    pub means: Vec<f64>,
    pub vars: Vec<f64>,
    pub bug: Bug,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stats1d {
    pub n: Vec<f64>,
    pub sx: Vec<f64>,
    pub sxx: Vec<f64>,
}

impl Statistics for Stats1d {
    fn merge(&mut self, o: &Self) {
        for k in 0..self.n.len() {
            self.n[k] += o.n[k];
            self.sx[k] += o.sx[k];
            self.sxx[k] += o.sxx[k];
        }
    }
}

impl ScalableStatistics for Stats1d {
    fn scale(&mut self, factor: f64) {
        for v in [&mut self.n, &mut self.sx, &mut self.sxx] {
            v.iter_mut().for_each(|x| *x *= factor);
        }
    }
}

impl Mixture1d {
    pub fn new(weights: Vec<f64>, means: Vec<f64>, vars: Vec<f64>) -> Self {
        Mixture1d {
            weights,
            means,
            vars,
            bug: Bug::None,
        }
    }

    pub fn with_bug(mut self, bug: Bug) -> Self {
        self.bug = bug;
        self
    }

    /// Random start: K data points as means, the data variance, uniform weights.
    pub fn random_start(data: &[f64], k: usize, rng: &mut StdRng) -> Result<Self, EmError> {
        if data.len() < k {
            return Err(EmError::TooFewObservations {
                n_obs: data.len(),
                n_components: k,
            });
        }
        let mean = data.iter().sum::<f64>() / data.len() as f64;
        let var = data.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / data.len() as f64;
        let means = (0..k)
            .map(|_| data[rng.random_range(0..data.len())])
            .collect();
        Ok(Mixture1d::new(
            vec![1.0 / k as f64; k],
            means,
            vec![var.max(VAR_FLOOR); k],
        ))
    }

    fn log_joint(&self, x: f64, k: usize) -> f64 {
        self.weights[k].ln()
            - 0.5 * (LN_2PI + self.vars[k].ln() + (x - self.means[k]).powi(2) / self.vars[k])
    }
}

impl LatentModel for Mixture1d {
    type Data = [f64];
    type Stats = Stats1d;

    fn e_step(&self, data: &[f64], rows: Range<usize>) -> Result<EStep<Stats1d>, EmError> {
        let k_count = self.weights.len();
        let mut s = Stats1d {
            n: vec![0.0; k_count],
            sx: vec![0.0; k_count],
            sxx: vec![0.0; k_count],
        };
        let (mut ll, mut h) = (0.0, 0.0);
        let mut lj = vec![0.0; k_count];
        for &x in &data[rows] {
            for (k, l) in lj.iter_mut().enumerate() {
                *l = self.log_joint(x, k);
            }
            let m = lj.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + lj.iter().map(|l| (l - m).exp()).sum::<f64>().ln();
            ll += lse;
            for (k, &l) in lj.iter().enumerate() {
                let log_g = l - lse;
                let g = log_g.exp();
                if g > 0.0 {
                    h -= g * log_g;
                }
                s.n[k] += g;
                s.sx[k] += g * x;
                s.sxx[k] += g * x * x;
            }
        }
        if self.bug == Bug::HalfEntropy {
            h *= 0.5;
        }
        Ok(EStep {
            stats: s,
            log_likelihood: ll,
            entropy: h,
        })
    }

    fn m_step(&mut self, s: &Stats1d) -> Result<(), EmError> {
        let total: f64 = s.n.iter().sum();
        for k in 0..self.weights.len() {
            if s.n[k] <= 1e-12 {
                return Err(EmError::EmptyComponent {
                    component: k,
                    weight: s.n[k],
                });
            }
            let mean = s.sx[k] / s.n[k];
            self.weights[k] = s.n[k] / total;
            self.vars[k] = (s.sxx[k] / s.n[k] - mean * mean).max(VAR_FLOOR);
            self.means[k] = if self.bug == Bug::ShiftedMeans {
                mean + 0.5
            } else {
                mean
            };
        }
        Ok(())
    }

    fn expected_complete_log_likelihood(&self, s: &Stats1d) -> f64 {
        (0..self.weights.len())
            .map(|k| {
                let (mu, var) = (self.means[k], self.vars[k]);
                let log_w = if self.bug == Bug::EcllWithoutWeights {
                    0.0
                } else {
                    s.n[k] * self.weights[k].ln()
                };
                let sq = s.sxx[k] - 2.0 * mu * s.sx[k] + s.n[k] * mu * mu;
                log_w - 0.5 * (s.n[k] * (LN_2PI + var.ln()) + sq / var)
            })
            .sum()
    }
}

/// Deterministic two-cluster data: n points, a quarter near 6, the rest near 0.
pub fn two_clusters(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let jitter = ((i as f64) * 0.618_033_988_7).fract() * 2.0 - 1.0;
            if i % 4 == 0 {
                6.0 + jitter
            } else {
                jitter * 1.5
            }
        })
        .collect()
}

/// SQUAREM coordinates: the raw parameters (w_1..w_K, μ_1..μ_K, σ²_1..σ²_K). Weights must stay
/// positive and sum to 1 (within 1e-9, then renormalised), variances ≥ `VAR_FLOOR`: an
/// extrapolation outside that set is refused, and the driver falls back to the EM step.
impl ParameterVector for Mixture1d {
    fn parameters(&self) -> Vec<f64> {
        let mut theta = self.weights.clone();
        theta.extend(&self.means);
        theta.extend(&self.vars);
        theta
    }

    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        let k = self.weights.len();
        let invalid = |reason: String| {
            Err(EmError::InvalidParameter {
                name: "theta",
                reason,
            })
        };
        if theta.len() != 3 * k || theta.iter().any(|t| !t.is_finite()) {
            return invalid(format!("expected {} finite values, got {theta:?}", 3 * k));
        }
        let (w, rest) = theta.split_at(k);
        let (means, vars) = rest.split_at(k);
        let total: f64 = w.iter().sum();
        if w.iter().any(|&x| x <= 0.0) || (total - 1.0).abs() > 1e-9 {
            return invalid(format!("weights off the simplex: {w:?}"));
        }
        if vars.iter().any(|&v| v < VAR_FLOOR) {
            return invalid(format!("variance below {VAR_FLOOR}: {vars:?}"));
        }
        self.weights = w.iter().map(|x| x / total).collect();
        self.means = means.to_vec();
        self.vars = vars.to_vec();
        Ok(())
    }
}

/// `n` draws from (1 − w) N(0, 1) + w N(delta, 1), by Box–Muller from a seeded generator.
pub fn normal_mixture(n: usize, w: f64, delta: f64, seed: u64) -> Vec<f64> {
    use rand::SeedableRng;
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
            let u2: f64 = rng.random();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            if rng.random::<f64>() < w {
                delta + z
            } else {
                z
            }
        })
        .collect()
}
