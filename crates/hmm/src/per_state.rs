//! Any one-component family as HMM emissions: S distributions of the family, one per state.
//!
//! A family written once for mixtures (an [`em_family::Component`]: Poisson, geometric,
//! exponential, 1-D Gaussian, Bernoulli, a zero-inflated count family, or your own) is an HMM
//! emission through [`PerState`], with no HMM-specific code: the forward–backward pass gives
//! the state posteriors γ_t(s), and each state's component accumulates its observations with
//! those weights, exactly as a mixture component does with responsibilities.

use std::borrow::Borrow;

use em_core::{Dataset, EmError, Statistics};
use em_family::{Component, Observations, OwnedData};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::emission::{Emission, bad_sequence, bad_step};

/// S emission distributions of one family `C`, one per state; sequences are the family's
/// owned data (`Vec<u64>` of counts, `Vec<f64>` of reals, a `BinaryMatrix` …).
///
/// ```
/// use em_core::Em;
/// use em_family::families::Geometric;
/// use hmm::{Hmm, PerState};
/// use nalgebra::{dmatrix, dvector};
/// use rand::SeedableRng;
///
/// // Quiet days and busy days: counts from two geometric distributions, regime-switching.
/// let truth = Hmm::new(
///     dvector![0.5, 0.5],
///     dmatrix![0.9, 0.1; 0.2, 0.8],
///     PerState::new(vec![Geometric::new(0.8)?, Geometric::new(0.1)?])?,
/// )?;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
/// let data: Vec<Vec<u64>> = (0..4).map(|_| truth.sample(500, &mut rng).0).collect();
/// let mut model = Hmm::new(
///     dvector![0.5, 0.5],
///     dmatrix![0.5, 0.5; 0.5, 0.5],
///     PerState::new(vec![Geometric::new(0.6)?, Geometric::new(0.3)?])?,
/// )?;
/// Em::new().tol(1e-9).max_iter(500).fit(&mut model, &data[..])?;
/// let p: Vec<f64> = model.emission().states().iter().map(Geometric::p).collect();
/// assert!((p[0] - 0.8).abs() < 0.05 && (p[1] - 0.1).abs() < 0.02, "{p:?}");
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PerStateSpec<C>", into = "PerStateSpec<C>")]
#[serde(bound(
    serialize = "C: Serialize + Clone",
    deserialize = "C: Deserialize<'de> + Component"
))]
pub struct PerState<C> {
    states: Vec<C>,
}

#[derive(Serialize, Deserialize)]
struct PerStateSpec<C> {
    states: Vec<C>,
}

impl<C: Component> TryFrom<PerStateSpec<C>> for PerState<C> {
    type Error = EmError;
    fn try_from(s: PerStateSpec<C>) -> Result<Self, EmError> {
        PerState::new(s.states)
    }
}

impl<C> From<PerState<C>> for PerStateSpec<C> {
    fn from(p: PerState<C>) -> Self {
        PerStateSpec { states: p.states }
    }
}

impl<C: Component> PerState<C> {
    /// One component per state (at least one, all of the same dimension).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`states`) for no states or components of different
    /// dimensions.
    pub fn new(states: Vec<C>) -> Result<Self, EmError> {
        let Some(first) = states.first() else {
            return Err(EmError::InvalidParameter {
                name: "states",
                reason: "at least one state is needed".into(),
            });
        };
        let d = first.n_features();
        if let Some((s, c)) = states.iter().enumerate().find(|(_, c)| c.n_features() != d) {
            return Err(EmError::InvalidParameter {
                name: "states",
                reason: format!("state {s} has {} features, state 0 has {d}", c.n_features()),
            });
        }
        Ok(PerState { states })
    }

    /// The emission distribution of every state.
    pub fn states(&self) -> &[C] {
        &self.states
    }
}

/// Per-state statistics: each state's expected number of steps and its component's
/// statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct PerStateStats<S> {
    /// Σ_t γ_t(s), per state.
    pub weights: Vec<f64>,
    /// The component statistics of every state, weighted by γ_t(s).
    pub states: Vec<S>,
}

impl<S: Statistics> Statistics for PerStateStats<S> {
    fn merge(&mut self, later: &Self) {
        for (w, l) in self.weights.iter_mut().zip(&later.weights) {
            *w += l;
        }
        for (s, l) in self.states.iter_mut().zip(&later.states) {
            s.merge(l);
        }
    }
}

impl<C> Emission for PerState<C>
where
    C: Component,
    C::Data: Observations,
{
    type Sequence = OwnedData<C>;
    type Stats = PerStateStats<C::Stats>;

    fn n_states(&self) -> usize {
        self.states.len()
    }

    fn steps(&self, sequence: &OwnedData<C>) -> usize {
        sequence.borrow().n_obs()
    }

    fn check(&self, sequence: &OwnedData<C>, index: usize) -> Result<usize, EmError> {
        let data: &C::Data = sequence.borrow();
        let steps = data.n_obs();
        if steps == 0 {
            return Err(bad_sequence(
                index,
                "is empty (0 steps); every sequence needs at least one step",
            ));
        }
        let d = self.states[0].n_features();
        if data.n_features() != d {
            return Err(bad_sequence(
                index,
                format!(
                    "dimension mismatch: the model has {d} features, the sequence {}",
                    data.n_features()
                ),
            ));
        }
        for t in 0..steps {
            if let Err(e) = C::check_obs(data.obs(t), t) {
                let (column, what) = match e {
                    EmError::InvalidInput { column, reason, .. } => (column, reason),
                    EmError::NonFinite { column, value, .. } => {
                        (Some(column), format!("value {value} is not finite"))
                    }
                    other => (None, other.to_string()),
                };
                return Err(bad_step(index, t, column, what));
            }
        }
        Ok(steps)
    }

    fn log_densities(&self, sequence: &OwnedData<C>, out: &mut [f64]) {
        let data: &C::Data = sequence.borrow();
        let s_count = self.states.len();
        for (t, row) in out.chunks_exact_mut(s_count).enumerate() {
            let x = data.obs(t);
            for (o, c) in row.iter_mut().zip(&self.states) {
                *o = c.ln_pdf(x);
            }
        }
    }

    fn zero_stats(&self) -> Self::Stats {
        let d = self.states[0].n_features();
        let empty = <C::Data as Observations>::with_capacity(d, 0);
        PerStateStats {
            weights: vec![0.0; self.states.len()],
            states: self
                .states
                .iter()
                .map(|c| c.zero_stats(empty.borrow()))
                .collect(),
        }
    }

    fn accumulate(&self, sequence: &OwnedData<C>, gamma: &[f64], stats: &mut Self::Stats) {
        let data: &C::Data = sequence.borrow();
        let s_count = self.states.len();
        for (t, g) in gamma.chunks_exact(s_count).enumerate() {
            let x = data.obs(t);
            for (s, (&w, c)) in g.iter().zip(&self.states).enumerate() {
                if w > 0.0 {
                    stats.weights[s] += w;
                    c.accumulate(&mut stats.states[s], w, x);
                }
            }
        }
    }

    fn expected_log_density(&self, stats: &Self::Stats) -> f64 {
        self.states
            .iter()
            .zip(&stats.states)
            .zip(&stats.weights)
            .filter(|(_, w)| **w > 0.0)
            .map(|((c, s), _)| c.expected_ln_pdf(s))
            .sum()
    }

    /// Each state with expected observations from its statistics; the others keep their
    /// parameters. On error (a family's M-step failing, naming the state as its component)
    /// the parameters are unchanged.
    fn maximise(&mut self, stats: &Self::Stats) -> Result<(), EmError> {
        let s_count = self.states.len();
        if stats.weights.len() != s_count || stats.states.len() != s_count {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics for {} states, but the model has {s_count}",
                    stats.weights.len()
                ),
            });
        }
        let mut next = self.states.clone();
        for (s, c) in next.iter_mut().enumerate() {
            if stats.weights[s] > 0.0 {
                c.maximise(&stats.states[s], s)?;
            }
        }
        self.states = next;
        Ok(())
    }

    fn sample<R: Rng + ?Sized>(&self, states: &[usize], rng: &mut R) -> OwnedData<C> {
        let d = self.states[0].n_features();
        let mut out = <C::Data as Observations>::with_capacity(d, states.len());
        for &s in states {
            self.states[s].sample_into(rng, &mut out);
        }
        out
    }

    fn n_parameters(&self) -> usize {
        self.states.iter().map(Component::n_parameters).sum()
    }
}
