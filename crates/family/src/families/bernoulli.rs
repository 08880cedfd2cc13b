//! The multivariate Bernoulli on binary rows x ∈ {0, 1}^D: D independent coordinates with
//! P(x_d = 1) = p_d, so log f(x | p) = Σ_d [x_d log p_d + (1 − x_d) log(1 − p_d)].
//!
//! * **Statistics**: n = Σγ and, per column d, the weight on ones a_d = Σγ x_d and on zeros
//!   b_d = Σγ (1 − x_d) (kept separately, so that a_d = 0 or b_d = 0 is exact).
//! * **M-step**: p_d = a_d / (a_d + b_d), the weighted frequency of ones; the logs are
//!   computed as log a_d − log(a_d + b_d) and log b_d − log(a_d + b_d).
//! * **Σγ log f** = Σ_d [a_d log p_d + b_d log(1 − p_d)].
//! * **Degenerate case p_d ∈ {0, 1}**: when a column is constant over the rows a component is
//!   responsible for, p_d = 0 or 1 is the MLE and is kept. Then log p_d or log(1 − p_d) is
//!   −∞, but it is only ever multiplied by a zero weight, and the convention 0 · log 0 = 0
//!   applies (the term is skipped, never NaN). A row with x_d = 1 where p_d = 0 (or x_d = 0
//!   where p_d = 1) has density 0 under that component and gets responsibility 0; a row with
//!   density 0 under *every* component is an [`EmError::InvalidInput`] naming the row and the
//!   offending column of each component.
//! * **Empty component** (n = 0): [`EmError::EmptyComponent`].
//! * **Support**: values are `bool` in a [`BinaryMatrix`], so only 0/1 can be represented;
//!   its constructors from `f64` data report any other value by row and column.

use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::binary::BinaryMatrix;
use crate::component::Component;

/// D independent Bernoulli coordinates with probabilities p = (p_1, …, p_D), a component
/// family on the rows of a [`BinaryMatrix`].
///
/// ```
/// use em_family::Component;
/// use em_family::families::Bernoulli;
/// let b = Bernoulli::new(vec![0.9, 0.2, 1.0])?;
/// let ln = b.ln_pdf(&[true, false, true]);
/// assert!((ln - (0.9f64.ln() + 0.8f64.ln())).abs() < 1e-15); // log 1 = 0 for the last
/// assert_eq!(b.ln_pdf(&[true, false, false]), f64::NEG_INFINITY); // p_3 = 1 but x_3 = 0
/// assert!(Bernoulli::new(vec![0.5, 1.5]).is_err());
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BernoulliSpec", into = "BernoulliSpec")]
pub struct Bernoulli {
    p: Vec<f64>,
    /// log p_d.
    ln_p: Vec<f64>,
    /// log(1 − p_d).
    ln_q: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct BernoulliSpec {
    p: Vec<f64>,
}

impl TryFrom<BernoulliSpec> for Bernoulli {
    type Error = EmError;
    fn try_from(s: BernoulliSpec) -> Result<Self, EmError> {
        Bernoulli::new(s.p)
    }
}

impl From<Bernoulli> for BernoulliSpec {
    fn from(b: Bernoulli) -> Self {
        BernoulliSpec { p: b.p }
    }
}

impl Default for Bernoulli {
    /// One coordinate with p = ½. As the template of a start (the `mixture` crate's `Start`)
    /// its dimension does not matter: the M-step takes D from the data.
    fn default() -> Self {
        Bernoulli {
            p: vec![0.5],
            ln_p: vec![0.5f64.ln()],
            ln_q: vec![0.5f64.ln()],
        }
    }
}

impl Bernoulli {
    /// Independent Bernoulli coordinates with probabilities `p` (each in [0, 1]; 0 and 1
    /// are allowed).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`p`) if `p` is empty or a value is not in [0, 1].
    pub fn new(p: Vec<f64>) -> Result<Self, EmError> {
        if p.is_empty() {
            return Err(EmError::InvalidParameter {
                name: "p",
                reason: "at least one coordinate is needed".into(),
            });
        }
        if let Some((d, v)) = p
            .iter()
            .enumerate()
            .find(|(_, v)| !(**v >= 0.0 && **v <= 1.0))
        {
            return Err(EmError::InvalidParameter {
                name: "p",
                reason: format!("p[{d}] = {v} is outside [0, 1]"),
            });
        }
        let ln_p = p.iter().map(|v| v.ln()).collect();
        let ln_q = p.iter().map(|v| (-v).ln_1p()).collect();
        Ok(Bernoulli { p, ln_p, ln_q })
    }

    /// D coordinates with p_d = ½.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`p`) if `d == 0`.
    pub fn uniform(d: usize) -> Result<Self, EmError> {
        Bernoulli::new(vec![0.5; d])
    }

    /// The probabilities p_d = P(x_d = 1).
    pub fn p(&self) -> &[f64] {
        &self.p
    }
}

/// Weighted sufficient statistics of binary rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BernoulliStats {
    /// n = Σγ.
    pub n: f64,
    /// a_d = Σγ x_d: the weight on ones in each column.
    pub ones: Vec<f64>,
    /// b_d = Σγ (1 − x_d): the weight on zeros in each column.
    pub zeros: Vec<f64>,
}

impl Statistics for BernoulliStats {
    fn merge(&mut self, later: &Self) {
        self.n += later.n;
        for (a, b) in self.ones.iter_mut().zip(&later.ones) {
            *a += b;
        }
        for (a, b) in self.zeros.iter_mut().zip(&later.zeros) {
            *a += b;
        }
    }
}

impl ScalableStatistics for BernoulliStats {
    fn scale(&mut self, factor: f64) {
        self.n *= factor;
        self.ones.iter_mut().for_each(|a| *a *= factor);
        self.zeros.iter_mut().for_each(|b| *b *= factor);
    }
}

impl Component for Bernoulli {
    type Data = BinaryMatrix;
    type Stats = BernoulliStats;

    /// D.
    fn n_parameters(&self) -> usize {
        self.p.len()
    }

    /// p_1 … p_D, probabilities.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut out = ScaledParameters::with_capacity(self.p.len());
        self.p.iter().for_each(|&p| out.push_probability(p));
        Some(out)
    }

    /// D.
    fn n_features(&self) -> usize {
        self.p.len()
    }

    /// Σ_d log p_d over the ones plus Σ_d log(1 − p_d) over the zeros; a zero-probability
    /// coordinate gives −∞ and nothing is ever multiplied by a log of 0. `x` must have D
    /// values (the mixture checks the data's width once per batch).
    fn ln_pdf(&self, x: &[bool]) -> f64 {
        x.iter()
            .zip(self.ln_p.iter().zip(&self.ln_q))
            .map(|(&x, (&lp, &lq))| if x { lp } else { lq })
            .sum()
    }

    fn zero_density_reason(&self, x: &[bool]) -> Option<String> {
        x.iter().zip(&self.p).enumerate().find_map(|(d, (&x, &p))| {
            if x && p == 0.0 {
                Some(format!("column {d} is 1 but p_{d} = 0"))
            } else if !x && p == 1.0 {
                Some(format!("column {d} is 0 but p_{d} = 1"))
            } else {
                None
            }
        })
    }

    fn zero_stats(&self, data: &BinaryMatrix) -> BernoulliStats {
        BernoulliStats {
            n: 0.0,
            ones: vec![0.0; data.n_cols()],
            zeros: vec![0.0; data.n_cols()],
        }
    }

    fn accumulate(&self, stats: &mut BernoulliStats, weight: f64, x: &[bool]) {
        stats.n += weight;
        for ((&x, a), b) in x.iter().zip(&mut stats.ones).zip(&mut stats.zeros) {
            if x {
                *a += weight;
            } else {
                *b += weight;
            }
        }
    }

    /// p_d = a_d / (a_d + b_d); D is taken from the statistics.
    fn maximise(&mut self, stats: &BernoulliStats, component: usize) -> Result<(), EmError> {
        if stats.n.is_nan() || stats.n <= 0.0 {
            return Err(EmError::EmptyComponent {
                component,
                weight: stats.n,
            });
        }
        let d = stats.ones.len();
        if d == 0 || stats.zeros.len() != d {
            return Err(EmError::InvalidParameter {
                name: "p",
                reason: format!(
                    "component {component}: statistics for {d} ones and {} zeros columns",
                    stats.zeros.len()
                ),
            });
        }
        let (mut p, mut ln_p, mut ln_q) = (
            Vec::with_capacity(d),
            Vec::with_capacity(d),
            Vec::with_capacity(d),
        );
        for (&a, &b) in stats.ones.iter().zip(&stats.zeros) {
            let t = a + b;
            if !(t > 0.0 && t.is_finite()) {
                return Err(EmError::EmptyComponent {
                    component,
                    weight: t,
                });
            }
            let ln_t = t.ln();
            p.push(a / t);
            ln_p.push(if a > 0.0 {
                a.ln() - ln_t
            } else {
                f64::NEG_INFINITY
            });
            ln_q.push(if b > 0.0 {
                b.ln() - ln_t
            } else {
                f64::NEG_INFINITY
            });
        }
        self.p = p;
        self.ln_p = ln_p;
        self.ln_q = ln_q;
        Ok(())
    }

    /// Σ_d [a_d log p_d + b_d log(1 − p_d)], skipping zero-weight terms (0 · log 0 = 0).
    fn expected_ln_pdf(&self, stats: &BernoulliStats) -> f64 {
        let term = |w: f64, ln: f64| if w > 0.0 { w * ln } else { 0.0 };
        stats
            .ones
            .iter()
            .zip(&stats.zeros)
            .zip(self.ln_p.iter().zip(&self.ln_q))
            .map(|((&a, &b), (&lp, &lq))| term(a, lp) + term(b, lq))
            .sum()
    }

    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut BinaryMatrix) {
        // U ∈ [0, 1): p = 0 never gives a one, p = 1 always does.
        let row: Vec<bool> = self.p.iter().map(|&p| rng.random::<f64>() < p).collect();
        out.push_row(row);
    }

    /// K distinct random seed rows; every row joins the seed nearest in Hamming distance
    /// (ties to the lower group). Seeds that happen to be identical rows leave later groups
    /// empty; the start's smoothing still gives every component weight.
    fn initial_partition<R: Rng + ?Sized>(
        &self,
        data: &BinaryMatrix,
        k: usize,
        rng: &mut R,
    ) -> Vec<usize> {
        let n = data.n_rows();
        let k = k.clamp(1, n.max(1));
        // Partial Fisher–Yates: the first k entries become a uniform sample without
        // replacement.
        let mut idx: Vec<usize> = (0..n).collect();
        for j in 0..k.min(n) {
            let pick = rng.random_range(j..n);
            idx.swap(j, pick);
        }
        let seeds: Vec<&[bool]> = idx[..k.min(n)]
            .iter()
            .filter_map(|&i| data.row(i))
            .collect();
        data.rows()
            .map(|row| {
                let mut best = (0, usize::MAX);
                for (g, seed) in seeds.iter().enumerate() {
                    let dist = row.iter().zip(seed.iter()).filter(|(a, b)| a != b).count();
                    if dist < best.1 {
                        best = (g, dist);
                    }
                }
                best.0
            })
            .collect()
    }
}
