//! The EM driver: the loop, convergence control, restarts, threads and observers, for any
//! [`LatentModel`].

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::chunked::{DEFAULT_CHUNK_SIZE, chunked_e_step};
use crate::{Dataset, EStep, EmError, LatentModel};

/// What the observer sees after every iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Iteration {
    /// Which restart this is (0-based); 0 for a single fit.
    pub restart: usize,
    /// Iterations completed in this run (1 after the first M-step).
    pub iteration: usize,
    /// log p(x | θ) + log p(θ) at the parameters after this iteration's M-step.
    pub objective: f64,
    /// Change of the per-observation objective since the previous iteration.
    pub change: f64,
    /// Time since this run started.
    pub elapsed: Duration,
}

/// An observer's answer: go on, or stop the run now (the run then ends with
/// [`StopReason::Observer`], keeping the parameters of the last iteration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep iterating.
    Continue,
    /// Stop this run.
    Stop,
}

/// Called after every iteration: progress bars, logging, early stopping. The driver knows
/// nothing about terminals; an observer does.
pub trait Observer {
    /// Sees one iteration; may ask to stop.
    fn observe(&mut self, iteration: &Iteration) -> Control;
}

impl<F: FnMut(&Iteration) -> Control> Observer for F {
    fn observe(&mut self, iteration: &Iteration) -> Control {
        self(iteration)
    }
}

/// The observer that watches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn observe(&mut self, _: &Iteration) -> Control {
        Control::Continue
    }
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The per-observation objective changed by less than `tol`.
    Converged,
    /// `max_iter` iterations ran without converging.
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
    /// Iterations run (M-steps taken).
    pub iterations: usize,
    /// Whether the run met the tolerance.
    pub converged: bool,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Number of observations, by which `tol` is scaled.
    pub n_obs: usize,
    /// Largest decrease of the objective between two iterations (0 when it never decreased).
    /// Exact EM never decreases it; a ridge such as `reg_covar`, or rounding, can.
    pub largest_decrease: f64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl FitReport {
    /// The objective at the returned parameters.
    pub fn objective(&self) -> f64 {
        self.trace.last().copied().unwrap_or(f64::NAN)
    }

    /// The objective per observation (what `tol` is compared against).
    pub fn mean_objective(&self) -> f64 {
        self.objective() / self.n_obs as f64
    }
}

/// The outcome of one restart in [`Em::fit_restarts`].
#[derive(Debug, Clone, PartialEq)]
pub struct RestartOutcome {
    /// Restart index; its RNG was seeded with [`restart_seed`]`(seed, index)`.
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

/// Builds a model's starting parameters from data and a random generator: the hook that makes
/// restarts possible. Closures `Fn(&Data, &mut StdRng) -> Result<M, EmError>` implement it.
pub trait Initializer<M: LatentModel> {
    /// A fresh model to start EM from.
    fn initialize(&self, data: &M::Data, rng: &mut StdRng) -> Result<M, EmError>;
}

impl<M, F> Initializer<M> for F
where
    M: LatentModel,
    F: Fn(&M::Data, &mut StdRng) -> Result<M, EmError>,
{
    fn initialize(&self, data: &M::Data, rng: &mut StdRng) -> Result<M, EmError> {
        self(data, rng)
    }
}

/// The seed of restart `index` of a fit seeded with `seed`.
///
/// Each restart gets its own stream derived from `(seed, index)` by SplitMix64, so restarts
/// are independent of one another and of the order in which they run.
pub fn restart_seed(seed: u64, index: usize) -> u64 {
    fn splitmix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    splitmix(seed ^ splitmix(index as u64))
}

/// The EM driver: a validated set of options that fits any [`LatentModel`].
///
/// ```
/// use em_core::Em;
/// let em = Em::new().tol(1e-6).max_iter(500).n_init(4).seed(7).threads(2);
/// assert_eq!(em.options().max_iter, 500);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Em {
    opts: EmOptions,
}

/// The options of an [`Em`] driver (read them with [`Em::options`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EmOptions {
    /// Convergence threshold on the change of the per-observation objective (as
    /// scikit-learn's `tol`). 0 runs exactly `max_iter` iterations.
    pub tol: f64,
    /// Maximum number of iterations (M-steps) per run.
    pub max_iter: usize,
    /// Number of restarts for [`Em::fit_restarts`]; the best final objective wins.
    pub n_init: usize,
    /// Seed of the restarts' random generators.
    pub seed: u64,
    /// Worker threads for the E-step; `None` uses rayon's global pool.
    pub threads: Option<usize>,
    /// Observations per E-step batch. Results are bit-identical for a given chunk size,
    /// whatever the thread count.
    pub chunk_size: usize,
}

impl Default for EmOptions {
    fn default() -> Self {
        EmOptions {
            tol: 1e-3,
            max_iter: 100,
            n_init: 1,
            seed: 0,
            threads: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

impl Default for Em {
    fn default() -> Self {
        Em::new()
    }
}

impl Em {
    /// A driver with scikit-learn's defaults: `tol = 1e-3`, `max_iter = 100`, one run.
    pub fn new() -> Self {
        Em {
            opts: EmOptions::default(),
        }
    }

    /// A driver with the given options.
    pub fn with_options(opts: EmOptions) -> Self {
        Em { opts }
    }

    /// The options in force.
    pub fn options(&self) -> &EmOptions {
        &self.opts
    }

    /// Sets the convergence tolerance on the per-observation objective (≥ 0).
    pub fn tol(mut self, tol: f64) -> Self {
        self.opts.tol = tol;
        self
    }

    /// Sets the maximum number of iterations per run.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.opts.max_iter = max_iter;
        self
    }

    /// Sets the number of restarts (≥ 1).
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.opts.n_init = n_init;
        self
    }

    /// Sets the seed for restarts.
    pub fn seed(mut self, seed: u64) -> Self {
        self.opts.seed = seed;
        self
    }

    /// Runs E-steps on a dedicated pool of `threads` workers (≥ 1).
    pub fn threads(mut self, threads: usize) -> Self {
        self.opts.threads = Some(threads);
        self
    }

    /// Sets the number of observations per E-step batch (≥ 1).
    pub fn chunk_size(mut self, chunk_size: usize) -> Self {
        self.opts.chunk_size = chunk_size;
        self
    }

    /// Checks the options; every `fit` calls this first.
    pub fn validate(&self) -> Result<(), EmError> {
        let o = &self.opts;
        if !(o.tol.is_finite() && o.tol >= 0.0) {
            return Err(EmError::InvalidParameter {
                name: "tol",
                reason: format!("must be finite and ≥ 0, got {}", o.tol),
            });
        }
        if o.n_init == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_init",
                reason: "must be at least 1".into(),
            });
        }
        if o.threads == Some(0) {
            return Err(EmError::InvalidParameter {
                name: "threads",
                reason: "must be at least 1".into(),
            });
        }
        if o.chunk_size == 0 {
            return Err(EmError::InvalidParameter {
                name: "chunk_size",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Runs EM from the model's current parameters (a warm start) until convergence,
    /// `max_iter`, or the observer stops it. On error the model holds the parameters of the
    /// last completed iteration.
    pub fn fit<M: LatentModel>(&self, model: &mut M, data: &M::Data) -> Result<FitReport, EmError> {
        self.fit_observed(model, data, &mut Silent)
    }

    /// [`Em::fit`] with an observer called after every iteration.
    pub fn fit_observed<M: LatentModel>(
        &self,
        model: &mut M,
        data: &M::Data,
        observer: &mut dyn Observer,
    ) -> Result<FitReport, EmError> {
        self.validate()?;
        self.run(model, data, &self.pool()?, 0, observer)
    }

    /// Fits `n_init` models, each started by `init` with its own random generator seeded by
    /// [`restart_seed`]`(seed, i)`, and returns the one with the highest final objective.
    /// A restart that fails is recorded; the fit fails only when every restart fails (with the
    /// first restart's error).
    pub fn fit_restarts<M, I>(&self, init: &I, data: &M::Data) -> Result<Fitted<M>, EmError>
    where
        M: LatentModel,
        I: Initializer<M> + ?Sized,
    {
        self.fit_restarts_observed(init, data, &mut Silent)
    }

    /// [`Em::fit_restarts`] with an observer (it sees the restart index in every [`Iteration`]).
    pub fn fit_restarts_observed<M, I>(
        &self,
        init: &I,
        data: &M::Data,
        observer: &mut dyn Observer,
    ) -> Result<Fitted<M>, EmError>
    where
        M: LatentModel,
        I: Initializer<M> + ?Sized,
    {
        self.validate()?;
        let pool = self.pool()?;
        {
            let mut best: Option<(usize, M, FitReport)> = None;
            let mut restarts = Vec::with_capacity(self.opts.n_init);
            for index in 0..self.opts.n_init {
                let mut rng = StdRng::seed_from_u64(restart_seed(self.opts.seed, index));
                let outcome = init.initialize(data, &mut rng).and_then(|mut model| {
                    Ok((self.run(&mut model, data, &pool, index, observer)?, model))
                });
                match outcome {
                    Ok((report, model)) => {
                        let better = best
                            .as_ref()
                            .is_none_or(|(_, _, b)| report.objective() > b.objective());
                        restarts.push(RestartOutcome {
                            index,
                            result: Ok(report.clone()),
                        });
                        if better {
                            best = Some((index, model, report));
                        }
                    }
                    Err(e) => restarts.push(RestartOutcome {
                        index,
                        result: Err(e),
                    }),
                }
            }
            match best {
                Some((best_restart, model, report)) => Ok(Fitted {
                    model,
                    report,
                    best_restart,
                    restarts,
                }),
                None => Err(restarts
                    .into_iter()
                    .find_map(|r| r.result.err())
                    .unwrap_or(EmError::EmptyData)),
            }
        }
    }

    /// The pool E-steps run on: a dedicated one when `threads` is set, else rayon's global one.
    fn pool(&self) -> Result<Option<rayon::ThreadPool>, EmError> {
        self.opts
            .threads
            .map(|threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| EmError::ThreadPool {
                        threads,
                        reason: e.to_string(),
                    })
            })
            .transpose()
    }

    /// One EM run: E-step at θ_0, then (M-step, E-step) per iteration, so that every entry of
    /// the trace is the objective of parameters the caller could hold.
    fn run<M: LatentModel>(
        &self,
        model: &mut M,
        data: &M::Data,
        pool: &Option<rayon::ThreadPool>,
        restart: usize,
        observer: &mut dyn Observer,
    ) -> Result<FitReport, EmError> {
        let chunk_size = self.opts.chunk_size;
        let e_step = |model: &M| match pool {
            Some(pool) => pool.install(|| chunked_e_step(model, data, chunk_size)),
            None => chunked_e_step(model, data, chunk_size),
        };
        let start = Instant::now();
        let n_obs = data.n_obs();
        if n_obs == 0 {
            return Err(EmError::EmptyData);
        }
        let objective_of = |model: &M, e: &EStep<M::Stats>, iteration: usize| {
            let value = e.log_likelihood + model.log_prior();
            if value.is_finite() {
                Ok(value)
            } else {
                Err(EmError::NonFiniteObjective { iteration, value })
            }
        };
        let mut e = e_step(model)?;
        let mut trace = vec![objective_of(model, &e, 0)?];
        let mut largest_decrease = 0.0_f64;
        let mut stop_reason = StopReason::MaxIterations;
        for iteration in 1..=self.opts.max_iter {
            model.m_step(&e.stats)?;
            e = e_step(model)?;
            let objective = objective_of(model, &e, iteration)?;
            let previous = trace[trace.len() - 1];
            trace.push(objective);
            largest_decrease = largest_decrease.max(previous - objective);
            let change = (objective - previous) / n_obs as f64;
            let seen = Iteration {
                restart,
                iteration,
                objective,
                change,
                elapsed: start.elapsed(),
            };
            if observer.observe(&seen) == Control::Stop {
                stop_reason = StopReason::Observer;
                break;
            }
            if change.abs() < self.opts.tol {
                stop_reason = StopReason::Converged;
                break;
            }
        }
        Ok(FitReport {
            iterations: trace.len() - 1,
            trace,
            converged: stop_reason == StopReason::Converged,
            stop_reason,
            n_obs,
            largest_decrease,
            elapsed: start.elapsed(),
        })
    }
}
