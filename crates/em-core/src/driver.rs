//! The EM driver: the loop, convergence control, restarts, threads and observers, for any
//! [`LatentModel`].

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::chunked::{DEFAULT_CHUNK_SIZE, chunked_e_step};
use crate::squarem::{self, Acceleration, ParameterVector};
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
    /// Iterations run (M-steps taken); for an accelerated fit ([`Em::fit_accelerated`] with
    /// [`Acceleration::Squarem`]), SQUAREM cycles, each of up to three M-steps (see
    /// `m_steps`). Always `trace.len() - 1`.
    pub iterations: usize,
    /// Whether the run met the tolerance.
    pub converged: bool,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Number of observations ([`LatentModel::n_observations`]), by which `tol` and the mean
    /// objective are scaled.
    pub n_obs: usize,
    /// Largest decrease of the objective between two iterations (0 when it never decreased).
    /// Exact EM never decreases it; a ridge such as `reg_covar`, or rounding, can.
    pub largest_decrease: f64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// E-steps computed, over all data, including the one at the initial parameters (plain EM:
    /// `iterations + 1`). Rejected SQUAREM extrapolations count too: this is the work done.
    pub e_steps: usize,
    /// M-steps taken, including those of rejected SQUAREM extrapolations (plain EM:
    /// `iterations`). Never more than `max_iter`.
    pub m_steps: usize,
    /// SQUAREM cycles whose extrapolation was rejected — invalid parameters, a failed E- or
    /// M-step, or a lower objective than the plain EM step — and that fell back to two plain EM
    /// steps (0 for plain EM).
    pub fallbacks: usize,
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
    /// Acceleration used by [`Em::fit_accelerated`] (default: none, plain EM).
    /// [`Em::fit`] and [`Em::fit_restarts`] run plain EM only and reject any other value.
    pub acceleration: Acceleration,
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
            acceleration: Acceleration::None,
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

    /// Sets the acceleration that [`Em::fit_accelerated`] uses, e.g. [`Acceleration::Squarem`].
    /// The model must then implement [`ParameterVector`]; [`Em::fit`] and
    /// [`Em::fit_restarts`] reject an accelerated driver with [`EmError::InvalidParameter`]
    /// rather than silently running plain EM.
    pub fn accelerate(mut self, acceleration: Acceleration) -> Self {
        self.opts.acceleration = acceleration;
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
        self.plain_only()?;
        self.run(model, data, &self.pool()?, 0, observer)
    }

    /// Runs EM from the model's current parameters with the driver's [`Acceleration`]:
    /// SQUAREM after [`Em::accelerate`]`(`[`Acceleration::Squarem`]`)`, plain EM (exactly as
    /// [`Em::fit`]) otherwise.
    ///
    /// With SQUAREM (see [`crate::squarem`] for the algorithm and the guard):
    ///
    /// - `max_iter` caps the **M-steps** (EM-map evaluations), as for plain EM, so the budget
    ///   means the same work with and without acceleration; the last cycle is cut short when it
    ///   runs out;
    /// - the report's `trace` holds the objective at the start and after every cycle, and never
    ///   falls below the plain EM step of that cycle; `iterations` counts cycles, the observer
    ///   sees one [`Iteration`] per cycle, and `e_steps`, `m_steps` and `fallbacks` count the
    ///   work;
    /// - `tol` applies to the change of the per-observation objective over one cycle.
    ///
    /// On error the model holds the last accepted parameters or a plain EM iterate after them.
    ///
    /// ```
    /// use em_core::{Acceleration, EStep, Em, EmError, LatentModel, ParameterVector, Statistics};
    /// use std::ops::Range;
    ///
    /// /// Mixture of two Poisson distributions, π Pois(λ₀) + (1 − π) Pois(λ₁).
    /// #[derive(Clone)]
    /// struct Poisson2 { pi: f64, lambda: [f64; 2] }
    /// struct Stats { n: [f64; 2], s: [f64; 2], log_fact: f64 }
    /// impl Statistics for Stats {
    ///     fn merge(&mut self, o: &Self) {
    ///         for k in 0..2 { self.n[k] += o.n[k]; self.s[k] += o.s[k]; }
    ///         self.log_fact += o.log_fact;
    ///     }
    /// }
    /// fn ln_fact(y: u32) -> f64 { (2..=y).map(|i| f64::from(i).ln()).sum() }
    /// impl LatentModel for Poisson2 {
    ///     type Data = [u32];
    ///     type Stats = Stats;
    ///     fn e_step(&self, data: &[u32], rows: Range<usize>) -> Result<EStep<Stats>, EmError> {
    ///         let mut st = Stats { n: [0.0; 2], s: [0.0; 2], log_fact: 0.0 };
    ///         let (mut ll, mut h) = (0.0, 0.0);
    ///         let w = [self.pi.ln(), (1.0 - self.pi).ln()];
    ///         for &y in &data[rows] {
    ///             let yf = f64::from(y);
    ///             let lj = [0, 1].map(|k| w[k] + yf * self.lambda[k].ln() - self.lambda[k] - ln_fact(y));
    ///             let m = lj[0].max(lj[1]);
    ///             let lse = m + ((lj[0] - m).exp() + (lj[1] - m).exp()).ln();
    ///             ll += lse;
    ///             st.log_fact += ln_fact(y);
    ///             for k in 0..2 {
    ///                 let g = (lj[k] - lse).exp();
    ///                 if g > 0.0 { h -= g * (lj[k] - lse); }
    ///                 st.n[k] += g;
    ///                 st.s[k] += g * yf;
    ///             }
    ///         }
    ///         Ok(EStep { stats: st, log_likelihood: ll, entropy: h })
    ///     }
    ///     fn m_step(&mut self, st: &Stats) -> Result<(), EmError> {
    ///         self.pi = st.n[0] / (st.n[0] + st.n[1]);
    ///         self.lambda = [0, 1].map(|k| st.s[k] / st.n[k]);
    ///         Ok(())
    ///     }
    ///     fn expected_complete_log_likelihood(&self, st: &Stats) -> f64 {
    ///         let w = [self.pi.ln(), (1.0 - self.pi).ln()];
    ///         (0..2).map(|k| st.n[k] * (w[k] - self.lambda[k]) + st.s[k] * self.lambda[k].ln())
    ///             .sum::<f64>() - st.log_fact
    ///     }
    /// }
    /// // Raw coordinates (π, λ₀, λ₁); extrapolations outside the parameter space are refused.
    /// impl ParameterVector for Poisson2 {
    ///     fn parameters(&self) -> Vec<f64> { vec![self.pi, self.lambda[0], self.lambda[1]] }
    ///     fn set_parameters(&mut self, t: &[f64]) -> Result<(), EmError> {
    ///         if t.len() != 3 || !(t[0] > 0.0 && t[0] < 1.0 && t[1] > 0.0 && t[2] > 0.0) {
    ///             return Err(EmError::InvalidParameter { name: "theta", reason: format!("{t:?}") });
    ///         }
    ///         *self = Poisson2 { pi: t[0], lambda: [t[1], t[2]] };
    ///         Ok(())
    ///     }
    /// }
    ///
    /// // Hasselblad's (1969) deaths per day: value y observed counts[y] times.
    /// let counts = [162, 267, 271, 185, 111, 61, 27, 8, 3, 1];
    /// let deaths: Vec<u32> = (0u32..).zip(counts).flat_map(|(y, c)| std::iter::repeat_n(y, c)).collect();
    /// let em = Em::new().tol(1e-12).max_iter(10_000);
    ///
    /// let mut plain = Poisson2 { pi: 0.3, lambda: [1.0, 2.5] };
    /// let slow = em.fit(&mut plain, &deaths[..])?;
    /// let mut fast = Poisson2 { pi: 0.3, lambda: [1.0, 2.5] };
    /// let quick = em.clone().accelerate(Acceleration::Squarem).fit_accelerated(&mut fast, &deaths[..])?;
    ///
    /// assert!(quick.converged && slow.converged);
    /// // ~110 E-steps instead of ~1500, and a higher log-likelihood at the end.
    /// assert!(quick.e_steps * 5 < slow.e_steps, "{} vs {}", quick.e_steps, slow.e_steps);
    /// assert!(quick.objective() > slow.objective());
    /// // The objective never fell, beyond the rounding of its evaluation (here 2e-11 once, at the MLE).
    /// assert!(quick.largest_decrease <= 1e-12 * quick.objective().abs());
    /// # Ok::<(), EmError>(())
    /// ```
    pub fn fit_accelerated<M: ParameterVector>(
        &self,
        model: &mut M,
        data: &M::Data,
    ) -> Result<FitReport, EmError> {
        self.fit_accelerated_observed(model, data, &mut Silent)
    }

    /// [`Em::fit_accelerated`] with an observer, called after every SQUAREM cycle (or every
    /// iteration of plain EM).
    pub fn fit_accelerated_observed<M: ParameterVector>(
        &self,
        model: &mut M,
        data: &M::Data,
        observer: &mut dyn Observer,
    ) -> Result<FitReport, EmError> {
        self.validate()?;
        let pool = self.pool()?;
        match self.opts.acceleration {
            Acceleration::None => self.run(model, data, &pool, 0, observer),
            Acceleration::Squarem => squarem::run(&self.opts, model, data, &pool, 0, observer),
        }
    }

    /// [`Em::fit_restarts_observed`] for models with a [`ParameterVector`]: the same restarts
    /// (seeded by [`restart_seed`], the highest final objective wins, a failed restart is
    /// recorded), each run by [`Em::fit_accelerated_observed`], so with the acceleration that
    /// is set. The observer sees the restart index.
    pub fn fit_accelerated_restarts_observed<M, I>(
        &self,
        init: &I,
        data: &M::Data,
        observer: &mut dyn Observer,
    ) -> Result<Fitted<M>, EmError>
    where
        M: ParameterVector,
        I: Initializer<M> + ?Sized,
    {
        self.validate()?;
        let pool = self.pool()?;
        self.best_of_restarts(|index, rng| {
            let mut model = init.initialize(data, rng)?;
            let report = match self.opts.acceleration {
                Acceleration::None => self.run(&mut model, data, &pool, index, observer)?,
                Acceleration::Squarem => {
                    squarem::run(&self.opts, &mut model, data, &pool, index, observer)?
                }
            };
            Ok((report, model))
        })
    }

    /// An error when an acceleration is set: the plain entry points cannot honour it.
    pub(crate) fn plain_only(&self) -> Result<(), EmError> {
        match self.opts.acceleration {
            Acceleration::None => Ok(()),
            other => Err(EmError::InvalidParameter {
                name: "acceleration",
                reason: format!(
                    "{other:?} needs a model implementing ParameterVector and Em::fit_accelerated; Em::fit and Em::fit_restarts run plain EM only"
                ),
            }),
        }
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
        self.plain_only()?;
        let pool = self.pool()?;
        self.best_of_restarts(|index, rng| {
            let mut model = init.initialize(data, rng)?;
            Ok((self.run(&mut model, data, &pool, index, observer)?, model))
        })
    }

    /// Runs `n_init` restarts, restart `index` by `run_one(index, rng)` with its own generator
    /// seeded by [`restart_seed`]`(seed, index)`, and keeps the highest final objective. Fails
    /// only when every restart fails (with the first restart's error).
    pub(crate) fn best_of_restarts<M>(
        &self,
        mut run_one: impl FnMut(usize, &mut StdRng) -> Result<(FitReport, M), EmError>,
    ) -> Result<Fitted<M>, EmError> {
        let mut best: Option<(usize, M, FitReport)> = None;
        let mut restarts = Vec::with_capacity(self.opts.n_init);
        for index in 0..self.opts.n_init {
            let mut rng = StdRng::seed_from_u64(restart_seed(self.opts.seed, index));
            match run_one(index, &mut rng) {
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

    /// The pool E-steps run on: a dedicated one when `threads` is set, else rayon's global one.
    pub(crate) fn pool(&self) -> Result<Option<rayon::ThreadPool>, EmError> {
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

    /// One EM run on in-memory data: E-step at θ_0, then (M-step, E-step) per iteration, so
    /// that every entry of the trace is the objective of parameters the caller could hold.
    fn run<M: LatentModel>(
        &self,
        model: &mut M,
        data: &M::Data,
        pool: &Option<rayon::ThreadPool>,
        restart: usize,
        observer: &mut dyn Observer,
    ) -> Result<FitReport, EmError> {
        let chunk_size = self.opts.chunk_size;
        let start = Instant::now();
        if data.n_obs() == 0 {
            return Err(EmError::EmptyData);
        }
        let n_obs = model.n_observations(data);
        if n_obs == 0 {
            return Err(EmError::EmptyData);
        }
        let mut e_step = |model: &M| {
            let e = match pool {
                Some(pool) => pool.install(|| chunked_e_step(model, data, chunk_size)),
                None => chunked_e_step(model, data, chunk_size),
            }?;
            Ok(Pass { e, n_obs })
        };
        self.iterate(model, &mut e_step, start, restart, observer)
    }

    /// The EM loop shared by the in-memory and the streaming drivers: `e_step` is one full
    /// pass over the data at the model's current parameters, however the data are held.
    pub(crate) fn iterate<M: LatentModel>(
        &self,
        model: &mut M,
        e_step: &mut PassFn<'_, M>,
        start: Instant,
        restart: usize,
        observer: &mut dyn Observer,
    ) -> Result<FitReport, EmError> {
        let objective_of = |model: &M, e: &EStep<M::Stats>, iteration: usize| {
            let value = e.log_likelihood + model.log_prior();
            if value.is_finite() {
                Ok(value)
            } else {
                Err(EmError::NonFiniteObjective { iteration, value })
            }
        };
        let Pass { mut e, n_obs } = e_step(model)?;
        if n_obs == 0 {
            return Err(EmError::EmptyData);
        }
        let mut trace = vec![objective_of(model, &e, 0)?];
        let mut largest_decrease = 0.0_f64;
        let mut stop_reason = StopReason::MaxIterations;
        for iteration in 1..=self.opts.max_iter {
            model.m_step(&e.stats)?;
            e = e_step(model)?.e;
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
        let trace_len = trace.len();
        Ok(FitReport {
            iterations: trace.len() - 1,
            trace,
            converged: stop_reason == StopReason::Converged,
            stop_reason,
            n_obs,
            largest_decrease,
            elapsed: start.elapsed(),
            e_steps: trace_len,
            m_steps: trace_len - 1,
            fallbacks: 0,
        })
    }
}

/// One full E-step pass at the model's parameters, however the data are held.
pub(crate) type PassFn<'a, M> =
    dyn FnMut(&M) -> Result<Pass<<M as LatentModel>::Stats>, EmError> + 'a;

/// One E-step over all the data: the merged result and the number of observations it covered
/// ([`LatentModel::n_observations`], summed over chunks for a stream).
pub(crate) struct Pass<S> {
    pub(crate) e: EStep<S>,
    pub(crate) n_obs: usize,
}
