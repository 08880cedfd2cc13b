//! The EM driver: options, the one iteration loop, restarts, threads and observers, for any
//! [`LatentModel`], any [`Step`] (plain EM, SQUAREM) and any data source (in memory, streamed).

use std::borrow::Borrow;
use std::cell::RefCell;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::chunked::{DEFAULT_CHUNK_SIZE, chunked_e_step};
use crate::observer::{Control, Iteration, Observer, Silent};
use crate::report::{FitReport, Fitted, RestartOutcome, StopReason};
use crate::step::{Evaluator, PassFn, Plain, Step};
use crate::stopping::{Monitor, Stopping};
use crate::stream::{ChunkSource, stream_e_step};
use crate::{Dataset, EmError, LatentModel};

/// Builds a model's starting parameters from data and a random generator: the hook that makes
/// restarts possible. Closures `Fn(&Data, &mut StdRng) -> Result<M, EmError>` implement it.
pub trait Initializer<M: LatentModel> {
    /// A fresh model to start EM from.
    fn initialize(&self, data: &M::Data, rng: &mut StdRng) -> Result<M, EmError>;

    /// The start of restart `restart` (0-based); the driver calls this one. By default every
    /// restart is started the same way, by [`Initializer::initialize`]; a strategy that starts
    /// its restarts differently (a deterministic first start, random ones after) overrides it.
    fn initialize_restart(
        &self,
        data: &M::Data,
        restart: usize,
        rng: &mut StdRng,
    ) -> Result<M, EmError> {
        let _ = restart;
        self.initialize(data, rng)
    }
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

/// The default budget of M-steps per run ([`EmOptions::max_iter`]): enough for the default
/// stopping rule on the slowly converging fits measured in `docs/stopping.md`; a run that
/// spends it reports `converged: false`.
pub const DEFAULT_MAX_ITER: usize = 10_000;

/// The options of an [`Em`] driver (read them with [`Em::options`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EmOptions {
    /// When a run stops: the rule and its tolerance ([`Stopping::DEFAULT`] unless set). A
    /// tolerance of 0 runs exactly `max_iter` M-steps.
    pub stopping: Stopping,
    /// Maximum number of M-steps per run (for plain EM, iterations).
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
            stopping: Stopping::DEFAULT,
            max_iter: DEFAULT_MAX_ITER,
            n_init: 1,
            seed: 0,
            threads: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

/// The EM driver: options, a [`Step`] and an [`Observer`], for any [`LatentModel`].
///
/// One builder serves every combination: the step ([`Plain`] EM by default,
/// [`Squarem`](crate::Squarem) or a run-time [`Acceleration`](crate::Acceleration) with
/// [`Em::accelerate`]), an observer attached once ([`Em::observer`]), restarts
/// ([`Em::n_init`], [`Em::fit_restarts`]) and the data source (in memory: [`Em::fit`]; read
/// in chunks on every pass: [`Em::fit_stream`]). All run the same loop, so convergence,
/// `max_iter`, the observer and the [`FitReport`] mean the same everywhere.
///
/// ```
/// use em_core::{Em, Squarem};
/// let em = Em::new().tol(1e-6).max_iter(500).n_init(4).seed(7).threads(2);
/// assert_eq!(em.options().max_iter, 500);
/// let accelerated = em.accelerate(Squarem);
/// assert_eq!(accelerated.options().n_init, 4);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Em<A = Plain, O = Silent> {
    opts: EmOptions,
    step: A,
    pub(crate) observer: RefCell<O>,
}

impl Default for Em {
    fn default() -> Self {
        Em::new()
    }
}

impl Em {
    /// A driver with the defaults: the parameter stopping rule at `tol = 1e-7`
    /// ([`Stopping::DEFAULT`]; Aitken's rule at the same `tol` for a model that exposes no
    /// parameters), `max_iter = 10_000` ([`DEFAULT_MAX_ITER`]), one run, plain EM, no observer.
    /// scikit-learn's rule is [`Stopping::SKLEARN`] (`tol = 1e-3` on the change of the
    /// per-observation objective), set with [`Em::stopping`]; scikit-learn's budget is
    /// `max_iter(100)`.
    pub fn new() -> Self {
        Em::with_options(EmOptions::default())
    }

    /// A plain-EM driver with the given options.
    pub fn with_options(opts: EmOptions) -> Self {
        Em {
            opts,
            step: Plain,
            observer: RefCell::new(Silent),
        }
    }
}

impl<A, O> Em<A, O> {
    /// The options in force.
    pub fn options(&self) -> &EmOptions {
        &self.opts
    }

    /// The step each iteration takes.
    pub fn step(&self) -> &A {
        &self.step
    }

    /// Sets the tolerance (≥ 0) of the stopping rule in force, keeping the rule (the
    /// parameter rule by default; see [`Stopping`] for what each rule's tolerance bounds).
    pub fn tol(mut self, tol: f64) -> Self {
        self.opts.stopping = self.opts.stopping.with_tol(tol);
        self
    }

    /// Sets the stopping rule and its tolerance.
    ///
    /// ```
    /// use em_core::{Em, Stopping};
    /// let em = Em::new().stopping(Stopping::Aitken { tol: 1e-12 }).max_iter(5_000);
    /// assert_eq!(em.options().stopping.tol(), 1e-12);
    /// ```
    pub fn stopping(mut self, stopping: Stopping) -> Self {
        self.opts.stopping = stopping;
        self
    }

    /// Sets the maximum number of M-steps per run.
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

    /// Replaces the options.
    pub fn options_mut(&mut self) -> &mut EmOptions {
        &mut self.opts
    }

    /// Sets the step every iteration takes: [`Squarem`](crate::Squarem) (the model must then
    /// implement [`ParameterVector`](crate::ParameterVector), which the compiler checks), a
    /// run-time [`Acceleration`](crate::Acceleration), or [`Plain`] EM.
    pub fn accelerate<B>(self, step: B) -> Em<B, O> {
        Em {
            opts: self.opts,
            step,
            observer: self.observer,
        }
    }

    /// Attaches an observer, called after every iteration of every run (restarts included;
    /// it sees the restart index). Closures `FnMut(&Iteration) -> Control` are observers.
    ///
    /// ```
    /// use em_core::{Control, Em, Iteration};
    /// let mut seen = 0;
    /// let mut count = |_: &Iteration| { seen += 1; Control::Continue };
    /// let em = Em::new().max_iter(3).observer(&mut count);
    /// # let _ = em;
    /// ```
    pub fn observer(self, observer: &mut dyn Observer) -> Em<A, &mut dyn Observer> {
        Em {
            opts: self.opts,
            step: self.step,
            observer: RefCell::new(observer),
        }
    }

    /// Checks the options; every `fit` calls this first.
    pub fn validate(&self) -> Result<(), EmError> {
        let o = &self.opts;
        let tol = o.stopping.tol();
        if !(tol.is_finite() && tol >= 0.0) {
            return Err(EmError::InvalidParameter {
                name: "tol",
                reason: format!("must be finite and ≥ 0, got {tol}"),
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
}

impl<A, O: Observer> Em<A, O> {
    /// Runs EM from the model's current parameters (a warm start) until convergence,
    /// `max_iter` M-steps, or the observer stops it, taking the driver's step every
    /// iteration. On error the model holds the parameters of the last completed iteration
    /// (for an accelerated step, the last accepted parameters or a plain EM iterate after them).
    ///
    /// With [`Squarem`](crate::Squarem) (see [`crate::squarem`] for the algorithm and the guard):
    ///
    /// - `max_iter` caps the **M-steps** (EM-map evaluations), as for plain EM, so the budget
    ///   means the same work with and without acceleration; the last cycle is cut short when it
    ///   runs out;
    /// - the report's `trace` holds the objective at the start and after every cycle, and never
    ///   falls below the plain EM step of that cycle; `iterations` counts cycles, the observer
    ///   sees one [`Iteration`] per cycle, and `e_steps`, `m_steps` and `fallbacks` count the
    ///   work;
    /// - the stopping rule sees one value per cycle: the objective's change over the cycle,
    ///   Aitken's estimate from the objectives of the last three cycles, or the change of the
    ///   parameters over the last two cycles.
    ///
    /// ```
    /// use em_core::{
    ///     EStep, Em, EmError, LatentModel, ParameterVector, ScaledParameters, Squarem, Statistics,
    /// };
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
    ///     /// π as a probability, the rates relative to themselves: for the default stopping rule.
    ///     fn scaled_parameters(&self) -> Option<ScaledParameters> {
    ///         let mut p = ScaledParameters::new();
    ///         p.push_probability(self.pi);
    ///         self.lambda.iter().for_each(|&l| p.push_relative(l));
    ///         Some(p)
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
    /// // The defaults: stop within about 1e-7 (relative) of the optimum.
    /// let em = Em::new();
    ///
    /// let mut plain = Poisson2 { pi: 0.3, lambda: [1.0, 2.5] };
    /// let slow = em.fit(&mut plain, &deaths[..])?;
    /// let mut fast = Poisson2 { pi: 0.3, lambda: [1.0, 2.5] };
    /// let quick = em.clone().accelerate(Squarem).fit(&mut fast, &deaths[..])?;
    ///
    /// assert!(quick.converged && slow.converged);
    /// // About 100 E-steps instead of about 3000, to the same optimum.
    /// assert!(quick.e_steps * 10 < slow.e_steps, "{} vs {}", quick.e_steps, slow.e_steps);
    /// assert!((fast.pi - plain.pi).abs() < 1e-6 && (fast.lambda[0] - plain.lambda[0]).abs() < 1e-5);
    /// // The objective never fell, beyond the rounding of its evaluation (here 2e-11 once, at the MLE).
    /// assert!(quick.largest_decrease <= 1e-12 * quick.objective().abs());
    /// # Ok::<(), EmError>(())
    /// ```
    pub fn fit<M>(&self, model: &mut M, data: &M::Data) -> Result<FitReport, EmError>
    where
        M: LatentModel,
        A: Step<M>,
    {
        self.validate()?;
        let pool = self.pool()?;
        self.run(model, &mut self.in_memory(data, &pool), 0)
    }

    /// Fits `n_init` models, each started by `init` with its own random generator seeded by
    /// [`restart_seed`]`(seed, i)`, each run as [`Em::fit`] runs one, and returns the one with
    /// the highest final objective. A restart that fails is recorded; the fit fails only when
    /// every restart fails (with the first restart's error).
    pub fn fit_restarts<M, I>(&self, init: &I, data: &M::Data) -> Result<Fitted<M>, EmError>
    where
        M: LatentModel,
        A: Step<M>,
        I: Initializer<M> + ?Sized,
    {
        self.validate()?;
        let pool = self.pool()?;
        self.best_of_restarts(|index, rng| {
            let mut model = init.initialize_restart(data, index, rng)?;
            let report = self.run(&mut model, &mut self.in_memory(data, &pool), index)?;
            Ok((report, model))
        })
    }

    /// Runs EM from the model's current parameters over data read from `source`, one pass per
    /// E-step, holding only O(chunk) observations in memory. Same loop, step, convergence
    /// rule, observer and report as [`Em::fit`], and, for a source that fills its chunks, the
    /// same result bit for bit (see the [`stream`](crate::stream) module).
    ///
    /// Errors of the source (I/O, parsing, non-finite values) end the fit; the model then
    /// holds the parameters of the last completed iteration. A source whose number of
    /// observations changes between passes is an [`EmError::Io`]; an empty one is
    /// [`EmError::EmptyData`].
    ///
    /// ```
    /// # use em_core::{EStep, Em, EmError, LatentModel, Statistics};
    /// # struct Mean(f64); struct S(f64, f64);
    /// # impl Statistics for S { fn merge(&mut self, o: &Self) { self.0 += o.0; self.1 += o.1; } }
    /// # impl LatentModel for Mean {
    /// #     type Data = [f64]; type Stats = S;
    /// #     fn e_step(&self, x: &[f64], r: std::ops::Range<usize>) -> Result<EStep<S>, EmError> {
    /// #         let x = &x[r];
    /// #         let ll = -0.5 * x.iter().map(|v| (v - self.0).powi(2)).sum::<f64>();
    /// #         Ok(EStep { stats: S(x.len() as f64, x.iter().sum()), log_likelihood: ll, entropy: 0.0 }) }
    /// #     fn m_step(&mut self, s: &S) -> Result<(), EmError> { self.0 = s.1 / s.0; Ok(()) }
    /// #     fn expected_complete_log_likelihood(&self, _: &S) -> f64 { 0.0 }
    /// # }
    /// use em_core::stream::SliceSource;
    /// let data = vec![1.0, 2.0, 3.0, 6.0];
    /// let mut model = Mean(0.0);
    /// let report = Em::new().chunk_size(1).fit_stream(&mut model, &mut SliceSource::new(&data))?;
    /// assert!(report.converged);
    /// assert_eq!(model.0, 3.0);
    /// # Ok::<(), EmError>(())
    /// ```
    pub fn fit_stream<M, S>(&self, model: &mut M, source: &mut S) -> Result<FitReport, EmError>
    where
        M: LatentModel,
        A: Step<M>,
        S: ChunkSource + Send + ?Sized,
        S::Chunk: Borrow<M::Data> + Send,
    {
        self.validate()?;
        let pool = self.pool()?;
        self.run(model, &mut self.streamed(source, &pool), 0)
    }

    /// Restarts over a stream: `n_init` models, each built by `init` from `init_data` (a
    /// sample of the stream small enough for memory, or all of it) with its own generator
    /// seeded by [`restart_seed`]`(seed, i)`, each fitted as [`Em::fit_stream`] fits one; the
    /// highest final objective wins, as in [`Em::fit_restarts`]. When `init_data` holds the
    /// whole data in order, this is [`Em::fit_restarts`] bit for bit.
    pub fn fit_stream_restarts<M, I, S>(
        &self,
        init: &I,
        init_data: &M::Data,
        source: &mut S,
    ) -> Result<Fitted<M>, EmError>
    where
        M: LatentModel,
        A: Step<M>,
        I: Initializer<M> + ?Sized,
        S: ChunkSource + Send + ?Sized,
        S::Chunk: Borrow<M::Data> + Send,
    {
        self.validate()?;
        let pool = self.pool()?;
        self.best_of_restarts(|index, rng| {
            let mut model = init.initialize_restart(init_data, index, rng)?;
            let report = self.run(&mut model, &mut self.streamed(&mut *source, &pool), index)?;
            Ok((report, model))
        })
    }

    /// Runs EM from the model's current parameters with E-steps computed elsewhere: `pass(θ)`
    /// makes one pass over all the data at the parameters θ and returns the merged E-step and
    /// the number of observations it covered. This is how an external engine (a query engine
    /// running the E-step as an aggregate, a database, a cluster) drives the same loop, step,
    /// stopping rule, observer and report as [`Em::fit`]; `chunk_size` and `threads` do not
    /// apply, since the engine splits the work.
    ///
    /// An engine must give the same observations on every pass; one that reports a different
    /// number of observations than on its first pass is an [`EmError::Io`], and one that
    /// reports none an [`EmError::EmptyData`]. `pass`'s own errors end the fit; the model then
    /// holds the parameters of the last completed iteration.
    ///
    /// ```
    /// # use em_core::{EStep, Em, EmError, LatentModel, Statistics};
    /// # struct Mean(f64); struct S(f64, f64);
    /// # impl Statistics for S { fn merge(&mut self, o: &Self) { self.0 += o.0; self.1 += o.1; } }
    /// # impl LatentModel for Mean {
    /// #     type Data = [f64]; type Stats = S;
    /// #     fn e_step(&self, x: &[f64], r: std::ops::Range<usize>) -> Result<EStep<S>, EmError> {
    /// #         let x = &x[r];
    /// #         let ll = -0.5 * x.iter().map(|v| (v - self.0).powi(2)).sum::<f64>();
    /// #         Ok(EStep { stats: S(x.len() as f64, x.iter().sum()), log_likelihood: ll, entropy: 0.0 }) }
    /// #     fn m_step(&mut self, s: &S) -> Result<(), EmError> { self.0 = s.1 / s.0; Ok(()) }
    /// #     fn expected_complete_log_likelihood(&self, _: &S) -> f64 { 0.0 }
    /// # }
    /// let data = [1.0, 2.0, 3.0, 6.0];
    /// // An "engine" holding the data in two parts, E-stepping each and merging the results.
    /// let parts = [&data[..2], &data[2..]];
    /// let mut model = Mean(0.0);
    /// let report = Em::new().fit_passes(&mut model, |m: &Mean| {
    ///     let mut e = m.e_step(parts[0], 0..2)?;
    ///     e.merge(&m.e_step(parts[1], 0..2)?);
    ///     Ok((e, 4))
    /// })?;
    /// assert!(report.converged);
    /// assert_eq!(model.0, 3.0);
    /// # Ok::<(), EmError>(())
    /// ```
    pub fn fit_passes<M, P>(&self, model: &mut M, mut pass: P) -> Result<FitReport, EmError>
    where
        M: LatentModel,
        A: Step<M>,
        P: FnMut(&M) -> Result<(crate::EStep<M::Stats>, usize), EmError>,
    {
        self.validate()?;
        let mut first_n_obs: Option<usize> = None;
        let mut passes = 0usize;
        let mut checked = |model: &M| {
            passes += 1;
            let (e, n_obs) = pass(model)?;
            check_pass_size(&mut first_n_obs, passes, n_obs)?;
            Ok((e, n_obs))
        };
        self.run(model, &mut checked, 0)
    }

    /// Runs `n_init` restarts, restart `index` by `run_one(index, rng)` with its own generator
    /// seeded by [`restart_seed`]`(seed, index)`, and keeps the highest final objective. Fails
    /// only when every restart fails (with the first restart's error).
    fn best_of_restarts<M>(
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

    /// Passes over in-memory data: the chunked E-step on the run's pool.
    fn in_memory<'a, M: LatentModel>(
        &self,
        data: &'a M::Data,
        pool: &'a Option<rayon::ThreadPool>,
    ) -> impl FnMut(&M) -> Result<(crate::EStep<M::Stats>, usize), EmError> + 'a {
        let chunk_size = self.opts.chunk_size;
        move |model: &M| {
            if data.n_obs() == 0 {
                return Err(EmError::EmptyData);
            }
            let e = on_pool(pool, || chunked_e_step(model, data, chunk_size))?;
            Ok((e, model.n_observations(data)))
        }
    }

    /// Passes over a re-readable source, checking that every pass sees as many observations as
    /// the first.
    fn streamed<'a, M, S>(
        &self,
        source: &'a mut S,
        pool: &'a Option<rayon::ThreadPool>,
    ) -> impl FnMut(&M) -> Result<(crate::EStep<M::Stats>, usize), EmError> + 'a
    where
        M: LatentModel,
        S: ChunkSource + Send + ?Sized,
        S::Chunk: Borrow<M::Data> + Send,
    {
        let chunk_size = self.opts.chunk_size;
        let mut first_n_obs: Option<usize> = None;
        let mut pass = 0usize;
        move |model: &M| {
            pass += 1;
            let (e, n_obs) = on_pool(pool, || stream_e_step(model, &mut *source, chunk_size))?;
            check_pass_size(&mut first_n_obs, pass, n_obs)?;
            Ok((e, n_obs))
        }
    }

    /// The one EM loop, for every step and data source: E-step at θ_0, then one step per
    /// iteration, so that every entry of the trace is the objective of parameters the caller
    /// could hold; stops on the stopping rule, the M-step budget or the observer.
    fn run<M>(
        &self,
        model: &mut M,
        pass: &mut PassFn<'_, M>,
        restart: usize,
    ) -> Result<FitReport, EmError>
    where
        M: LatentModel,
        A: Step<M>,
    {
        let start = Instant::now();
        let mut evaluator = Evaluator::new(pass, self.opts.max_iter);
        let mut current = evaluator.checked_e_step(model)?;
        let n_obs = evaluator.n_obs();
        let monitor = Monitor::new(
            self.opts.stopping,
            n_obs,
            model.scaled_parameters().is_some(),
        );
        if monitor.wants_parameters() {
            evaluator.track_parameters();
        }
        let mut trace = vec![current.objective];
        let mut largest_decrease = 0.0_f64;
        let mut fallbacks = 0;
        let mut stop_reason = StopReason::MaxIterations;
        let mut state = A::State::default();
        let mut observer = self.observer.borrow_mut();
        let mut iteration = 0;
        let mut verdict = None;
        while evaluator.m_steps_left() > 0 {
            iteration += 1;
            evaluator.begin_iteration(iteration);
            let stepped = self.step.step(&mut state, &mut evaluator, model, current)?;
            current = stepped.next;
            fallbacks += usize::from(stepped.fallback);
            let objective = current.objective;
            let previous = trace[trace.len() - 1];
            trace.push(objective);
            largest_decrease = largest_decrease.max(previous - objective);
            let distance = evaluator.parameter_distance(model);
            let found = monitor.observe(&trace, distance);
            verdict = Some(found);
            let seen = Iteration {
                restart,
                iteration,
                objective,
                change: found.change,
                estimated_gap: found.gap,
                estimated_distance: found.distance,
                elapsed: start.elapsed(),
            };
            if observer.observe(&seen) == Control::Stop {
                stop_reason = StopReason::Observer;
                break;
            }
            if found.stop {
                stop_reason = StopReason::Converged;
                break;
            }
        }
        let (e_steps, m_steps) = evaluator.counts();
        Ok(FitReport {
            iterations: trace.len() - 1,
            trace,
            converged: stop_reason == StopReason::Converged,
            stop_reason,
            stopping: monitor.rule(),
            estimated_gap: verdict.and_then(|v| v.gap),
            estimated_distance: verdict.and_then(|v| v.distance),
            n_obs,
            largest_decrease,
            elapsed: start.elapsed(),
            e_steps,
            m_steps,
            fallbacks,
        })
    }
}

/// Runs `f` on `pool` when there is one, else on the current (global) pool.
pub(crate) fn on_pool<T: Send>(
    pool: &Option<rayon::ThreadPool>,
    f: impl FnOnce() -> T + Send,
) -> T {
    match pool {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

/// Checks that pass number `pass` over the data saw as many observations as the first one
/// (which it records): data that change during a fit make its iterations meaningless.
fn check_pass_size(first: &mut Option<usize>, pass: usize, n_obs: usize) -> Result<(), EmError> {
    match *first {
        None => *first = Some(n_obs),
        Some(first) if first != n_obs => {
            return Err(EmError::Io {
                origin: "the data source".into(),
                line: None,
                column: None,
                reason: format!(
                    "pass {pass} over the data saw {n_obs} observations, the first pass {first}; the data changed during the fit"
                ),
            });
        }
        Some(_) => {}
    }
    Ok(())
}
