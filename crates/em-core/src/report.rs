//! What a fit returns: the report of one run, and the best of several restarts.

use std::time::Duration;

use crate::{EmError, Stopping};

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The stopping rule held ([`FitReport::stopping`] says which, with its tolerance).
    Converged,
    /// `max_iter` M-steps ran without converging.
    MaxIterations,
    /// The observer asked to stop.
    Observer,
}

/// The record of one EM run.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// Objective (log-likelihood + log-prior) at the initial parameters (`trace[0]`) and after
    /// each iteration; its last entry is the objective of the returned parameters.
    pub trace: Vec<f64>,
    /// Iterations run: M-steps for plain EM; for an accelerated step such as
    /// [`Squarem`](crate::Squarem), cycles, each of up to three M-steps (see `m_steps`).
    /// Always `trace.len() - 1`.
    pub iterations: usize,
    /// Whether the stopping rule held ([`FitReport::stopping`]): `stop_reason` is
    /// [`StopReason::Converged`].
    pub converged: bool,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// The stopping rule that applied, with its tolerance: the one of the options, except
    /// that [`Stopping::Parameters`] on a model that exposes no parameters is
    /// [`Stopping::Aitken`] at the same tolerance.
    pub stopping: Stopping,
    /// Aitken's estimate of the gap between the limit of the objective and its last value,
    /// per observation ((ℓ∞ − ℓ_t) / n, [`aitken_gap`](crate::stopping::aitken_gap)), from the
    /// last three values of `trace`, whatever the rule; `None` with fewer than three values or
    /// when the last three do not look like monotone linear convergence.
    pub estimated_gap: Option<f64>,
    /// The estimated relative distance of the parameters to their limit at the end
    /// ([`distance_to_limit`](crate::stopping::distance_to_limit)), under the parameter rule;
    /// `None` under the other rules, before three parameter vectors exist, or when the last
    /// changes do not shrink.
    pub estimated_distance: Option<f64>,
    /// Number of observations ([`LatentModel::n_observations`](crate::LatentModel::n_observations)),
    /// by which the objective's change, Aitken's gap and the mean objective are scaled.
    pub n_obs: usize,
    /// Largest decrease of the objective between two iterations (0 when it never decreased).
    /// Exact EM never decreases it; a ridge such as `reg_covar`, or rounding, can.
    pub largest_decrease: f64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// E-steps computed, over all data, including the one at the initial parameters (plain EM:
    /// `iterations + 1`). Rejected extrapolations count too: this is the work done.
    pub e_steps: usize,
    /// M-steps taken, including those of rejected extrapolations (plain EM: `iterations`).
    /// Never more than `max_iter`.
    pub m_steps: usize,
    /// Accelerated iterations whose extrapolation was rejected — invalid parameters, a failed
    /// E- or M-step, or a lower objective than the plain EM steps — and that fell back to
    /// plain EM (0 for plain EM).
    pub fallbacks: usize,
}

impl FitReport {
    /// The objective at the returned parameters.
    pub fn objective(&self) -> f64 {
        self.trace.last().copied().unwrap_or(f64::NAN)
    }

    /// The objective per observation.
    pub fn mean_objective(&self) -> f64 {
        self.objective() / self.n_obs as f64
    }
}

/// The outcome of one restart in [`Em::fit_restarts`](crate::Em::fit_restarts).
#[derive(Debug, Clone, PartialEq)]
pub struct RestartOutcome {
    /// Restart index; its RNG was seeded with [`restart_seed`](crate::restart_seed)`(seed, index)`.
    pub index: usize,
    /// The run's report, or why it failed.
    pub result: Result<FitReport, EmError>,
}

/// The best model over all restarts, with every restart's outcome.
#[derive(Debug, Clone)]
pub struct Fitted<M> {
    /// The model with the highest final objective.
    pub model: M,
    /// Its report.
    pub report: FitReport,
    /// Index of the winning restart.
    pub best_restart: usize,
    /// Every restart, in order (the winner's report is repeated in `report`).
    pub restarts: Vec<RestartOutcome>,
}
