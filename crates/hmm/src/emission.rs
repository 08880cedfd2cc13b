//! What an emission family provides to the HMM: per-step log-densities, posterior-weighted
//! sufficient statistics, the M-step and E_q[log p(x | z)] from statistics, and sampling.

use em_core::{EmError, Statistics};
use rand::Rng;

/// The emission distributions p(x_t | z_t = s) of an HMM, one per state.
///
/// [`Hmm`](crate::Hmm) runs the Markov-chain half of Baum–Welch (forward–backward, start and
/// transition updates) for any family that implements this trait; the bundled families are
/// [`Gaussian`](crate::Gaussian) (full, diagonal, spherical or tied covariances) and
/// [`Categorical`](crate::Categorical). An implementation must keep three things consistent,
/// and the invariant checker of [`em_core::testing`] verifies that it does:
///
/// * [`accumulate`](Self::accumulate) and [`expected_log_density`](Self::expected_log_density):
///   Σ_t Σ_s γ_t(s) log p(x_t | s) must equal `expected_log_density` of the accumulated
///   statistics (at the same parameters);
/// * [`maximise`](Self::maximise) must maximise `expected_log_density` over the parameters;
/// * [`log_densities`](Self::log_densities) must be the log-densities used by both.
pub trait Emission: Clone + Send + Sync {
    /// One observed sequence (T steps).
    type Sequence: Sync;
    /// Expected sufficient statistics of the emissions, per state; additive over sequences.
    type Stats: Statistics + Clone + std::fmt::Debug;

    /// Number of hidden states S.
    fn n_states(&self) -> usize;

    /// Number of steps T of `sequence` (unchecked).
    fn steps(&self, sequence: &Self::Sequence) -> usize;

    /// Checks `sequence` (the `index`-th of the data) and returns its number of steps T ≥ 1.
    ///
    /// A bad value is an [`EmError::InvalidInput`] whose `row` is the sequence index and
    /// whose message names the sequence and the step (see the crate docs, "Errors").
    fn check(&self, sequence: &Self::Sequence, index: usize) -> Result<usize, EmError>;

    /// Writes log p(x_t | z_t = s) to `out[t * S + s]` for a checked sequence
    /// (`out.len() == T * S`).
    fn log_densities(&self, sequence: &Self::Sequence, out: &mut [f64]);

    /// Statistics of no observations.
    fn zero_stats(&self) -> Self::Stats;

    /// Adds the statistics of one checked sequence with posterior state probabilities
    /// `gamma[t * S + s]` to `stats`.
    fn accumulate(&self, sequence: &Self::Sequence, gamma: &[f64], stats: &mut Self::Stats);

    /// Σ_t Σ_s γ_t(s) log p(x_t | s) at the current parameters, from statistics.
    fn expected_log_density(&self, stats: &Self::Stats) -> f64;

    /// Sets the parameters that maximise [`expected_log_density`](Self::expected_log_density)
    /// for `stats`. A state with no expected observations keeps its parameters (they do not
    /// enter the objective). On error the parameters are unchanged.
    fn maximise(&mut self, stats: &Self::Stats) -> Result<(), EmError>;

    /// Draws one observation for each state of `states`, in order.
    fn sample<R: Rng + ?Sized>(&self, states: &[usize], rng: &mut R) -> Self::Sequence;

    /// Number of free parameters of the emissions (for BIC/AIC).
    fn n_parameters(&self) -> usize;
}

/// The error for a bad value at `step` of sequence `sequence`.
pub(crate) fn bad_step(
    sequence: usize,
    step: usize,
    column: Option<usize>,
    what: impl std::fmt::Display,
) -> EmError {
    EmError::InvalidInput {
        row: sequence,
        column,
        reason: format!("sequence {sequence}, step {step}: {what}"),
    }
}

/// The error for a problem with sequence `sequence` as a whole.
pub(crate) fn bad_sequence(sequence: usize, what: impl std::fmt::Display) -> EmError {
    EmError::InvalidInput {
        row: sequence,
        column: None,
        reason: format!("sequence {sequence}: {what}"),
    }
}
