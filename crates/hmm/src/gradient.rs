//! The score, gradient ascent, standard errors and the rate of convergence for hidden Markov
//! models: [`Differentiable`] for [`Hmm`] over any family with a [`FamilyGradient`] — the same
//! family gradients as the mixtures'.
//!
//! Coordinates: the S − 1 log-ratios of the initial distribution log(π_i / π_{S−1}), each row
//! of the transition matrix as S − 1 log-ratios log(A_ij / A_i,S−1), then the emission
//! family's. Their gradients from the forward–backward statistics are c_i − (Σc) π_i for the
//! expected initial counts and ξ_ij − (Σ_j ξ_ij) A_ij for the expected transitions. A
//! probability of exactly 0 (a transition that never happens) is on the boundary of the
//! parameter space and has no coordinate ([`EmError::NotAvailable`]).
//!
//! ```
//! use em_core::{gradient::score, Differentiable};
//! use hmm::Hmm;
//! use em_family::families::Poisson;
//! use nalgebra::{dmatrix, dvector};
//!
//! let model = Hmm::new(dvector![0.5, 0.5], dmatrix![0.9, 0.1; 0.2, 0.8],
//!     vec![Poisson::new(1.0)?, Poisson::new(12.0)?])?;
//! let sequences = vec![vec![0u64, 2, 15, 11, 9, 1, 0]];
//! let s = score(&model, &sequences[..])?;
//! assert_eq!(s.gradient.len(), 1 + 2 + 2);
//! assert_eq!(model.coordinate_names()[1], "log(A[0,0]/A[0,1])");
//! # Ok::<(), em_core::EmError>(())
//! ```

use em_core::{Differentiable, EmError};
use em_family::gradient::{from_log_ratios, log_ratio_names, log_ratios, simplex_gradient};
use em_family::{Family, FamilyGradient};
use nalgebra::{DMatrix, DVector};

use crate::categorical::{Categorical, CategoricalStats};
use crate::gaussian::Gaussian;
use crate::model::{Hmm, HmmStats};

/// Each row of a row-stochastic matrix as log-ratios to its last entry.
fn row_log_ratios(m: &DMatrix<f64>, name: &str) -> Result<Vec<f64>, EmError> {
    let mut out = Vec::new();
    for (i, row) in m.row_iter().enumerate() {
        let row: Vec<f64> = row.iter().copied().collect();
        out.extend(log_ratios(&row, &format!("{name}[{i}]"))?);
    }
    Ok(out)
}

/// The row-stochastic S×M matrix with rows of log-ratios `eta` (consumed).
fn rows_from_log_ratios(eta: &[f64], s: usize, m: usize) -> DMatrix<f64> {
    let free = m.saturating_sub(1);
    let mut out = DMatrix::zeros(s, m);
    for i in 0..s {
        let p = from_log_ratios(eta.get(i * free..(i + 1) * free).unwrap_or(&[]));
        out.row_mut(i).iter_mut().zip(p).for_each(|(o, v)| *o = v);
    }
    out
}

fn row_names(name: &str, s: usize, m: usize) -> Vec<String> {
    (0..s)
        .flat_map(|i| {
            (0..m.saturating_sub(1))
                .map(move |j| format!("log({name}[{i},{j}]/{name}[{i},{}])", m - 1))
        })
        .collect()
}

fn row_gradient(counts: &DMatrix<f64>, p: &DMatrix<f64>) -> Vec<f64> {
    let mut out = Vec::new();
    for (c, q) in counts.row_iter().zip(p.row_iter()) {
        let c: Vec<f64> = c.iter().copied().collect();
        let q: Vec<f64> = q.iter().copied().collect();
        out.extend(simplex_gradient(&c, &q));
    }
    out
}

fn entries_row_major(m: &DMatrix<f64>) -> impl Iterator<Item = f64> + '_ {
    m.row_iter()
        .flat_map(|r| r.iter().copied().collect::<Vec<_>>())
}

fn entry_names(name: &str, s: usize, m: usize) -> Vec<String> {
    (0..s)
        .flat_map(|i| (0..m).map(move |j| format!("{name}[{i},{j}]")))
        .collect()
}

fn wrong_length(expected: usize, found: usize) -> EmError {
    EmError::InvalidParameter {
        name: "coordinates",
        reason: format!("expected {expected} values, got {found}"),
    }
}

impl<F: FamilyGradient> Differentiable for Hmm<F> {
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        let start: Vec<f64> = self.start().iter().copied().collect();
        let mut out = log_ratios(&start, "π")?;
        out.extend(row_log_ratios(self.transitions(), "A")?);
        out.extend(self.emission().coordinates()?);
        Ok(out)
    }

    fn set_coordinates(&mut self, eta: &[f64]) -> Result<(), EmError> {
        let s = self.n_states();
        let chain = (s - 1) * (s + 1);
        if eta.len() < chain || eta.iter().any(|v| !v.is_finite()) {
            return Err(wrong_length(
                chain + self.emission().coordinate_names().len(),
                eta.len(),
            ));
        }
        let start = DVector::from_vec(from_log_ratios(&eta[..s - 1]));
        let transitions = rows_from_log_ratios(&eta[s - 1..chain], s, s);
        let emission = self.emission().with_coordinates(&eta[chain..])?;
        *self = Hmm::new(start, transitions, emission)?;
        Ok(())
    }

    fn coordinate_names(&self) -> Vec<String> {
        let s = self.n_states();
        let mut out = log_ratio_names("π", s);
        out.extend(row_names("A", s, s));
        out.extend(self.emission().coordinate_names());
        out
    }

    fn complete_gradient(&self, stats: &HmmStats<F::Stats>) -> Result<Vec<f64>, EmError> {
        let s = self.n_states();
        if stats.start.len() != s || stats.transitions.shape() != (s, s) {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!("expected the statistics of {s} states"),
            });
        }
        let counts: Vec<f64> = stats.start.iter().copied().collect();
        let start: Vec<f64> = self.start().iter().copied().collect();
        let mut out = simplex_gradient(&counts, &start);
        out.extend(row_gradient(&stats.transitions, self.transitions()));
        out.extend(self.emission().gradient(&stats.emission)?);
        Ok(out)
    }

    fn natural_parameters(&self) -> Vec<f64> {
        let mut out: Vec<f64> = self.start().iter().copied().collect();
        out.extend(entries_row_major(self.transitions()));
        out.extend(self.emission().natural_parameters());
        out
    }

    fn natural_parameter_names(&self) -> Vec<String> {
        let s = self.n_states();
        let mut out: Vec<String> = (0..s).map(|i| format!("π_{i}")).collect();
        out.extend(entry_names("A", s, s));
        out.extend(self.emission().natural_parameter_names());
        out
    }
}

/// Each state's symbol probabilities as log-ratios to the last symbol.
impl FamilyGradient for Categorical {
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        row_log_ratios(self.probabilities(), "B")
    }

    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        let (s, m) = (self.n_states(), self.n_symbols());
        if eta.len() != s * (m - 1) || eta.iter().any(|v| !v.is_finite()) {
            return Err(wrong_length(s * (m - 1), eta.len()));
        }
        Categorical::new(rows_from_log_ratios(eta, s, m))
    }

    fn coordinate_names(&self) -> Vec<String> {
        row_names("B", self.n_states(), self.n_symbols())
    }

    fn gradient(&self, stats: &CategoricalStats) -> Result<Vec<f64>, EmError> {
        if stats.counts.shape() != self.probabilities().shape() {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: "symbol counts of another shape than the emission probabilities".into(),
            });
        }
        Ok(row_gradient(&stats.counts, self.probabilities()))
    }

    fn natural_parameters(&self) -> Vec<f64> {
        entries_row_major(self.probabilities()).collect()
    }

    fn natural_parameter_names(&self) -> Vec<String> {
        entry_names("B", self.n_states(), self.n_symbols())
    }
}

/// The Gaussian family's ([`em_family::gaussian::gradient`]).
impl FamilyGradient for Gaussian {
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        self.family().coordinates()
    }

    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        Ok(Gaussian::from_family(self.family().with_coordinates(eta)?))
    }

    fn coordinate_names(&self) -> Vec<String> {
        self.family().coordinate_names()
    }

    fn gradient(&self, stats: &<Self as Family>::Stats) -> Result<Vec<f64>, EmError> {
        self.family().gradient(stats)
    }

    fn natural_parameters(&self) -> Vec<f64> {
        self.family().natural_parameters()
    }

    fn natural_parameter_names(&self) -> Vec<String> {
        self.family().natural_parameter_names()
    }
}
