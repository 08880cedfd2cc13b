//! Categorical emissions, p(x_t = m | z_t = s) = B_sm, on sequences of symbols 0..M: a
//! [`Family`] of S categorical distributions over the same M symbols, evaluated S at once.

use std::ops::Range;

use em_core::{EmError, ScalableStatistics, Statistics};
use em_family::Family;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::gaussian::sticky_transitions;
use crate::model::{Hmm, check_stochastic_rows, draw};

/// Categorical emissions for S states over M symbols; sequences are `Vec<usize>` of symbols
/// in `0..M`. As a [`Family`] its data are `[usize]` and its components the states' rows of
/// B, so it is also a component family of a `mixture::Mixture`.
///
/// Always valid: every row of the S×M emission matrix is a probability vector (zeros
/// allowed). The M-step is maximum likelihood: B_sm ∝ expected count of symbol m in state s.
///
/// ```
/// use hmm::Categorical;
/// use nalgebra::dmatrix;
/// let c = Categorical::new(dmatrix![0.5, 0.5, 0.0; 0.1, 0.2, 0.7])?;
/// assert_eq!((c.n_states(), c.n_symbols()), (2, 3));
/// assert!(Categorical::new(dmatrix![0.5, 0.6]).is_err()); // a row must sum to 1
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CategoricalSpec", into = "CategoricalSpec")]
pub struct Categorical {
    probabilities: DMatrix<f64>,
    log_probabilities: DMatrix<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CategoricalSpec {
    probabilities: DMatrix<f64>,
}

impl TryFrom<CategoricalSpec> for Categorical {
    type Error = EmError;
    fn try_from(s: CategoricalSpec) -> Result<Self, EmError> {
        Categorical::new(s.probabilities)
    }
}

impl From<Categorical> for CategoricalSpec {
    fn from(c: Categorical) -> Self {
        CategoricalSpec {
            probabilities: c.probabilities,
        }
    }
}

impl Categorical {
    /// Emissions with probabilities B (S×M, row s = p(x | z = s)). Fails with
    /// [`EmError::InvalidParameter`] named `emission_probabilities` when B is empty, an entry
    /// is negative or not finite, or a row does not sum to 1 within 1e-8.
    pub fn new(probabilities: DMatrix<f64>) -> Result<Self, EmError> {
        let (s, m) = probabilities.shape();
        if s == 0 || m == 0 {
            return Err(EmError::InvalidParameter {
                name: "emission_probabilities",
                reason: format!("need at least one state and one symbol, got {s}×{m}"),
            });
        }
        check_stochastic_rows("emission_probabilities", &probabilities)?;
        let log_probabilities = probabilities.map(f64::ln);
        Ok(Categorical {
            probabilities,
            log_probabilities,
        })
    }

    /// Number of states S.
    pub fn n_states(&self) -> usize {
        self.probabilities.nrows()
    }

    /// Number of symbols M.
    pub fn n_symbols(&self) -> usize {
        self.probabilities.ncols()
    }

    /// The emission probabilities B, S×M.
    pub fn probabilities(&self) -> &DMatrix<f64> {
        &self.probabilities
    }
}

/// Expected symbol counts per state.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalStats {
    /// Σ_t γ_t(s) [x_t = m], S×M.
    pub counts: DMatrix<f64>,
    /// Σ_t γ_t(s) per state: the row sums of `counts` (length S).
    pub weights: Vec<f64>,
}

impl CategoricalStats {
    /// Statistics of the expected symbol counts `counts` (S×M); the weights are their row
    /// sums.
    ///
    /// ```
    /// use hmm::CategoricalStats;
    /// use nalgebra::dmatrix;
    /// let stats = CategoricalStats::from_counts(dmatrix![1.0, 2.0; 0.5, 0.0]);
    /// assert_eq!(stats.weights, vec![3.0, 0.5]);
    /// ```
    pub fn from_counts(counts: DMatrix<f64>) -> Self {
        let weights = counts.row_iter().map(|r| r.sum()).collect();
        CategoricalStats { counts, weights }
    }
}

impl Statistics for CategoricalStats {
    fn merge(&mut self, later: &Self) {
        self.counts += &later.counts;
        for (w, l) in self.weights.iter_mut().zip(&later.weights) {
            *w += l;
        }
    }
}

impl ScalableStatistics for CategoricalStats {
    fn scale(&mut self, factor: f64) {
        self.counts *= factor;
        self.weights.iter_mut().for_each(|w| *w *= factor);
    }
}

impl Categorical {
    /// The error for a symbol out of range in row `row`, if `x` is one.
    fn check_symbol(&self, x: usize, row: usize) -> Result<(), EmError> {
        let m = self.n_symbols();
        if x < m {
            return Ok(());
        }
        Err(EmError::InvalidInput {
            row,
            column: None,
            reason: format!(
                "symbol {x} is out of range: the model has {m} symbols (0 to {})",
                m - 1
            ),
        })
    }
}

impl Family for Categorical {
    type Data = [usize];
    type Stats = CategoricalStats;
    type Sample = Vec<usize>;
    type Owned = Vec<usize>;

    fn n_components(&self) -> usize {
        self.probabilities.nrows()
    }

    /// 1: an observation is one symbol.
    fn n_features(&self) -> usize {
        1
    }

    /// S(M − 1).
    fn n_parameters(&self) -> usize {
        self.n_states() * (self.n_symbols() - 1)
    }

    /// B row by row (state by state), as probabilities.
    fn scaled_parameters(&self) -> Option<em_core::ScaledParameters> {
        let (s_count, m) = (self.n_states(), self.n_symbols());
        let mut out = em_core::ScaledParameters::with_capacity(s_count * m);
        for s in 0..s_count {
            for j in 0..m {
                out.push_probability(self.probabilities[(s, j)]);
            }
        }
        Some(out)
    }

    /// At least one symbol, every symbol in `0..M` (the error names the row).
    fn check_data(&self, x: &[usize]) -> Result<(), EmError> {
        if x.is_empty() {
            return Err(EmError::EmptyData);
        }
        self.check_batch(x, 0..x.len())
    }

    fn check_batch(&self, x: &[usize], rows: Range<usize>) -> Result<(), EmError> {
        let batch = x
            .get(rows.clone())
            .ok_or_else(|| EmError::InvalidParameter {
                name: "rows",
                reason: format!("rows {rows:?} are not within the data's {} rows", x.len()),
            })?;
        batch
            .iter()
            .enumerate()
            .try_for_each(|(i, &symbol)| self.check_symbol(symbol, rows.start + i))
    }

    /// `out[s·c + i] = log B_{s, x_i}` (+ the offset of state s).
    fn log_densities(
        &self,
        x: &[usize],
        rows: Range<usize>,
        offsets: Option<&[f64]>,
        out: &mut [f64],
        _: &mut Vec<f64>,
    ) {
        let (s_count, c) = (self.n_states(), rows.len());
        let lp = self.log_probabilities.as_slice();
        for (s, slot) in out.chunks_exact_mut(c.max(1)).enumerate().take(s_count) {
            let offset = offsets.map_or(0.0, |o| o[s]);
            for (o, &symbol) in slot.iter_mut().zip(&x[rows.clone()]) {
                // Entry (s, symbol) of the column-major S×M matrix.
                *o = lp[symbol * s_count + s] + offset;
            }
        }
    }

    fn zero_stats(&self, _: &[usize]) -> CategoricalStats {
        CategoricalStats {
            counts: DMatrix::zeros(self.n_states(), self.n_symbols()),
            weights: vec![0.0; self.n_states()],
        }
    }

    fn accumulate(
        &self,
        x: &[usize],
        rows: Range<usize>,
        gamma: &[f64],
        sample_weights: Option<&[f64]>,
        _: &mut Vec<f64>,
    ) -> CategoricalStats {
        let (s_count, c) = (self.n_states(), rows.len());
        let mut stats = self.zero_stats(x);
        let counts = stats.counts.as_mut_slice();
        for (s, g) in gamma.chunks_exact(c.max(1)).enumerate().take(s_count) {
            let mut total = 0.0;
            for (i, (&gi, &symbol)) in g.iter().zip(&x[rows.clone()]).enumerate() {
                let w = gi * sample_weights.map_or(1.0, |w| w[i]);
                counts[symbol * s_count + s] += w;
                total += w;
            }
            stats.weights[s] = total;
        }
        stats
    }

    fn component_weights<'s>(&self, stats: &'s CategoricalStats) -> &'s [f64] {
        &stats.weights
    }

    /// Σ_sm n_sm log B_sm with 0 · log 0 = 0; NaN for counts of another shape.
    fn expected_log_density(&self, stats: &CategoricalStats) -> f64 {
        if stats.counts.shape() != self.probabilities.shape() {
            return f64::NAN;
        }
        stats
            .counts
            .iter()
            .zip(self.log_probabilities.iter())
            .filter(|(c, _)| **c != 0.0)
            .map(|(c, lp)| c * lp)
            .sum()
    }

    /// B_sm = n_sm / Σ_m n_sm; a state with no expected observations keeps its row.
    fn maximise(&mut self, stats: &CategoricalStats) -> Result<(), EmError> {
        if stats.counts.shape() != self.probabilities.shape() {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "expected {}×{} symbol counts, got {}×{}",
                    self.n_states(),
                    self.n_symbols(),
                    stats.counts.nrows(),
                    stats.counts.ncols()
                ),
            });
        }
        let mut probabilities = self.probabilities.clone();
        for s in 0..self.n_states() {
            let total: f64 = stats.counts.row(s).sum();
            if total > 0.0 && total.is_finite() {
                probabilities.set_row(s, &(stats.counts.row(s) / total));
            }
        }
        self.log_probabilities = probabilities.map(f64::ln);
        self.probabilities = probabilities;
        Ok(())
    }

    fn zero_density_reason(&self, x: &[usize], row: usize) -> Option<String> {
        let symbol = *x.get(row)?;
        Some(format!("symbol {symbol} has probability 0 in every state"))
    }

    fn new_sample(&self, capacity: usize) -> Vec<usize> {
        Vec::with_capacity(capacity)
    }

    fn draw<R: Rng + ?Sized>(&self, s: usize, rng: &mut R, sample: &mut Vec<usize>) {
        let row: Vec<f64> = self.probabilities.row(s).iter().copied().collect();
        sample.push(draw(&row, rng));
    }

    fn finish_sample(&self, sample: Vec<usize>) -> Vec<usize> {
        sample
    }
}

impl Hmm<Categorical> {
    /// A random starting point for EM: emission rows drawn as (½ + U(0, 1)) normalised (no
    /// near-zero probabilities), uniform initial probabilities and transitions
    /// A = ½ I + 1/(2S). Use it as the initialiser of
    /// [`Em::fit_restarts`](em_core::Em::fit_restarts).
    pub fn random_start<R: Rng + ?Sized>(
        n_states: usize,
        n_symbols: usize,
        rng: &mut R,
    ) -> Result<Self, EmError> {
        if n_states == 0 || n_symbols == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_states",
                reason: format!(
                    "need at least one state and one symbol, got {n_states} and {n_symbols}"
                ),
            });
        }
        let mut b = DMatrix::from_fn(n_states, n_symbols, |_, _| 0.5 + rng.random::<f64>());
        for s in 0..n_states {
            let total: f64 = b.row(s).sum();
            b.row_mut(s).iter_mut().for_each(|v| *v /= total);
        }
        Hmm::new(
            DVector::from_element(n_states, 1.0 / n_states as f64),
            sticky_transitions(n_states),
            Categorical::new(b)?,
        )
    }
}
