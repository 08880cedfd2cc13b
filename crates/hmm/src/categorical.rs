//! Categorical emissions, p(x_t = m | z_t = s) = B_sm, on sequences of symbols 0..M.

use em_core::{EmError, Statistics};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::emission::{Emission, bad_sequence, bad_step};
use crate::gaussian::sticky_transitions;
use crate::model::{Hmm, check_stochastic_rows, draw};

/// Categorical emissions for S states over M symbols; sequences are `Vec<usize>` of symbols
/// in `0..M`.
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
}

impl Statistics for CategoricalStats {
    fn merge(&mut self, later: &Self) {
        self.counts += &later.counts;
    }
}

impl Emission for Categorical {
    type Sequence = Vec<usize>;
    type Stats = CategoricalStats;

    fn n_states(&self) -> usize {
        self.probabilities.nrows()
    }

    fn steps(&self, sequence: &Vec<usize>) -> usize {
        sequence.len()
    }

    fn check(&self, sequence: &Vec<usize>, index: usize) -> Result<usize, EmError> {
        if sequence.is_empty() {
            return Err(bad_sequence(
                index,
                "is empty (0 steps); every sequence needs at least one step",
            ));
        }
        let m = self.n_symbols();
        if let Some((t, &x)) = sequence.iter().enumerate().find(|(_, x)| **x >= m) {
            return Err(bad_step(
                index,
                t,
                None,
                format!(
                    "symbol {x} is out of range: the model has {m} symbols (0 to {})",
                    m - 1
                ),
            ));
        }
        Ok(sequence.len())
    }

    fn log_densities(&self, sequence: &Vec<usize>, out: &mut [f64]) {
        let s = self.n_states();
        let lp = self.log_probabilities.as_slice();
        for (row, &x) in out.chunks_exact_mut(s).zip(sequence) {
            // Column x of the column-major S×M matrix: log B_·x.
            row.copy_from_slice(&lp[x * s..(x + 1) * s]);
        }
    }

    fn zero_stats(&self) -> CategoricalStats {
        CategoricalStats {
            counts: DMatrix::zeros(self.n_states(), self.n_symbols()),
        }
    }

    fn accumulate(&self, sequence: &Vec<usize>, gamma: &[f64], stats: &mut CategoricalStats) {
        let s = self.n_states();
        let counts = stats.counts.as_mut_slice();
        for (g, &x) in gamma.chunks_exact(s).zip(sequence) {
            for (c, gi) in counts[x * s..(x + 1) * s].iter_mut().zip(g) {
                *c += gi;
            }
        }
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

    fn sample<R: Rng + ?Sized>(&self, states: &[usize], rng: &mut R) -> Vec<usize> {
        let rows: Vec<Vec<f64>> = (0..self.n_states())
            .map(|s| self.probabilities.row(s).iter().copied().collect())
            .collect();
        states.iter().map(|&s| draw(&rows[s], rng)).collect()
    }

    fn n_parameters(&self) -> usize {
        self.n_states() * (self.n_symbols() - 1)
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
