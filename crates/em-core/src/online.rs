//! Online (stepwise) EM: parameters updated after every mini-batch, for data that arrive in
//! a stream or are too large to read many times.
//!
//! # The update
//!
//! Batch EM maximises with the statistics of *all* the data. Online EM (Cappé & Moulines
//! 2009; "stepwise EM", Liang & Klein 2009) keeps a running average s of the statistics per
//! observation and, after the E-step of mini-batch t (ŝ_t over n_t observations, at the
//! current parameters), sets
//!
//! ```text
//! s ← (1 − ρ_t) s + ρ_t ŝ_t / n_t,      ρ_t = (t + 2)^(−α),  α ∈ (½, 1],  t = 0, 1, …
//! θ ← M-step( N · s / w )
//! ```
//!
//! where w ← (1 − ρ_t) w + ρ_t (from w = 0) is the total weight of the average, so that s / w
//! is a proper weighted average of the mini-batches' statistics from the very first update
//! (no arbitrary initial statistics are needed), and N is the number of observations the
//! M-step sees the average as: those seen so far, or a known total
//! ([`OnlineOptions::total`]). N only matters for a model with a prior on its parameters,
//! which it weighs against N observations; a maximum-likelihood M-step is the same for any N.
//!
//! The sum of the ρ_t diverges and the sum of their squares converges for α ∈ (½, 1], which
//! is what makes s converge to a stationary point of the expected log-likelihood (Cappé &
//! Moulines, Theorem 1). α = 1 is the running mean of all mini-batches (slow to forget a poor
//! start); α near ½ forgets fastest. The default α = 0.7 and mini-batches of
//! [`DEFAULT_BATCH_SIZE`] observations were chosen by measurement (`bench/README.md`).
//!
//! # Two ways in
//!
//! * [`OnlineEm::partial_fit`] updates a model from one batch the caller holds (scikit-learn's
//!   `partial_fit`): data that arrive over time.
//! * [`Em::fit_online`](crate::Em::fit_online) makes passes over a
//!   [`ChunkSource`] (a file), one update per mini-batch of
//!   [`OnlineOptions::batch_size`] observations, with the driver's threads, E-step batches and
//!   observer; the next mini-batch is read while the current one is E-stepped.
//!
//! Both work for every model whose statistics scale ([`ScalableStatistics`]): every bundled
//! model. Each mini-batch's E-step is split into the driver's fixed batches and merged in
//! order, so the result does not depend on the number of threads.
//!
//! Online EM does not increase the log-likelihood at every update (each update sees one
//! mini-batch), so there is no monotonicity to check and no convergence test: it runs a given
//! number of passes. Its trace records each mini-batch's log-likelihood *before* the update
//! that uses it: an honest, out-of-sample estimate of the fit as it goes ("progressive
//! validation").
//!
//! ```
//! use em_core::online::{OnlineEm, OnlineOptions};
//! use em_core::{EStep, EmError, LatentModel, ScalableStatistics, Statistics};
//! use std::ops::Range;
//!
//! /// The mean of unit-variance normal data (no latent variable: online EM is a running mean).
//! struct Mean(f64);
//! #[derive(Clone)]
//! struct Sums { n: f64, sx: f64 }
//! impl Statistics for Sums {
//!     fn merge(&mut self, o: &Self) { self.n += o.n; self.sx += o.sx; }
//! }
//! impl ScalableStatistics for Sums {
//!     fn scale(&mut self, f: f64) { self.n *= f; self.sx *= f; }
//! }
//! impl LatentModel for Mean {
//!     type Data = [f64];
//!     type Stats = Sums;
//!     fn e_step(&self, x: &[f64], rows: Range<usize>) -> Result<EStep<Sums>, EmError> {
//!         let x = &x[rows];
//!         let ll = -0.5 * x.iter().map(|v| (v - self.0).powi(2)).sum::<f64>();
//!         Ok(EStep { stats: Sums { n: x.len() as f64, sx: x.iter().sum() }, log_likelihood: ll, entropy: 0.0 })
//!     }
//!     fn m_step(&mut self, s: &Sums) -> Result<(), EmError> { self.0 = s.sx / s.n; Ok(()) }
//!     fn expected_complete_log_likelihood(&self, _: &Sums) -> f64 { 0.0 }
//! }
//!
//! let mut online = OnlineEm::new(Mean(0.0));
//! for batch in [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]] {
//!     online.partial_fit(&batch[..])?;
//! }
//! assert_eq!(online.state().updates(), 3);
//! assert!((online.model().0 - 2.0).abs() < 1e-12); // every batch has mean 2
//! # Ok::<(), EmError>(())
//! ```

use std::borrow::Borrow;
use std::time::{Duration, Instant};

use crate::chunked::{DEFAULT_CHUNK_SIZE, chunked_e_step};
use crate::driver::on_pool;
use crate::observer::{Control, Iteration, Observer};
use crate::stream::ChunkSource;
use crate::{Dataset, EStep, Em, EmError, LatentModel, ScalableStatistics};

/// Default exponent α of the step sizes ρ_t = (t + 2)^(−α).
pub const DEFAULT_STEP_EXPONENT: f64 = 0.7;

/// Default number of observations per mini-batch of [`Em::fit_online`].
pub const DEFAULT_BATCH_SIZE: usize = 10_000;

/// How online EM steps: the step sizes, the mini-batches and the number of passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnlineOptions {
    /// α of ρ_t = (t + 2)^(−α), in (½, 1] (default [`DEFAULT_STEP_EXPONENT`]).
    pub step_exponent: f64,
    /// Observations per mini-batch (≥ 1) for [`Em::fit_online`] (default
    /// [`DEFAULT_BATCH_SIZE`]); [`OnlineEm::partial_fit`] takes the batches it is given.
    pub batch_size: usize,
    /// Passes over the source for [`Em::fit_online`] (≥ 1; default 1).
    pub passes: usize,
    /// The number of observations N the M-step weighs the averaged statistics as (finite and
    /// positive); `None` (the default) for the observations seen so far ([`Em::fit_online`]:
    /// in the first pass; after it, the size of one pass). Set it to the size of the data
    /// when it is known and the model has a prior.
    pub total: Option<f64>,
}

impl Default for OnlineOptions {
    fn default() -> Self {
        OnlineOptions {
            step_exponent: DEFAULT_STEP_EXPONENT,
            batch_size: DEFAULT_BATCH_SIZE,
            passes: 1,
            total: None,
        }
    }
}

impl OnlineOptions {
    /// Checks every option.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `step_exponent`, `batch_size`, `passes` or `total`.
    pub fn validate(&self) -> Result<(), EmError> {
        let alpha = self.step_exponent;
        if !(alpha > 0.5 && alpha <= 1.0) {
            return Err(EmError::InvalidParameter {
                name: "step_exponent",
                reason: format!("must be in (0.5, 1] for the step sizes to converge, got {alpha}"),
            });
        }
        if self.batch_size == 0 {
            return Err(EmError::InvalidParameter {
                name: "batch_size",
                reason: "must be at least 1".into(),
            });
        }
        if self.passes == 0 {
            return Err(EmError::InvalidParameter {
                name: "passes",
                reason: "must be at least 1".into(),
            });
        }
        if let Some(total) = self.total
            && !(total.is_finite() && total > 0.0)
        {
            return Err(EmError::InvalidParameter {
                name: "total",
                reason: format!("must be finite and > 0, got {total}"),
            });
        }
        Ok(())
    }

    /// ρ_t = (t + 2)^(−α), the weight of mini-batch `t` (0-based).
    ///
    /// ```
    /// use em_core::online::OnlineOptions;
    /// let o = OnlineOptions { step_exponent: 1.0, ..Default::default() };
    /// assert_eq!(o.step_size(0), 0.5);
    /// assert_eq!(o.step_size(2), 0.25);
    /// ```
    pub fn step_size(&self, t: usize) -> f64 {
        (t as f64 + 2.0).powf(-self.step_exponent)
    }
}

/// What one online update did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Update {
    /// Updates so far, this one included (1 after the first).
    pub update: usize,
    /// Units in the mini-batch (rows, sequences: what the model's data split on).
    pub n_obs: usize,
    /// Observations in the mini-batch ([`LatentModel::n_observations`]: an HMM's steps).
    pub n_observations: usize,
    /// Σ log p(x | θ) over the mini-batch at the parameters *before* this update.
    pub log_likelihood: f64,
    /// The step size ρ_t this update used.
    pub step_size: f64,
}

impl Update {
    /// The mini-batch's log-likelihood per observation, before the update.
    pub fn mean_log_likelihood(&self) -> f64 {
        self.log_likelihood / self.n_observations as f64
    }
}

/// The running average of online EM's statistics (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct OnlineState<S> {
    /// s: the weighted average of the mini-batches' statistics per unit, times `weight`.
    running: Option<S>,
    /// w: the total weight of the average.
    weight: f64,
    updates: usize,
    n_seen: usize,
}

impl<S> Default for OnlineState<S> {
    fn default() -> Self {
        OnlineState {
            running: None,
            weight: 0.0,
            updates: 0,
            n_seen: 0,
        }
    }
}

impl<S: ScalableStatistics + Clone> OnlineState<S> {
    /// The state before any update.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state with the running statistics s (`None` before any update), their total weight
    /// w, the updates made and the units seen: what [`OnlineState::running`] and the other
    /// getters return, to save the state between processes.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `online_state` for a weight outside (0, 1] with
    /// statistics, or a weight, update count or unit count that is not 0 without them.
    pub fn from_parts(
        running: Option<S>,
        weight: f64,
        updates: usize,
        n_seen: usize,
    ) -> Result<Self, EmError> {
        let consistent = match running {
            Some(_) => weight > 0.0 && weight <= 1.0 && updates > 0 && n_seen > 0,
            None => weight == 0.0 && updates == 0 && n_seen == 0,
        };
        if !consistent {
            return Err(EmError::InvalidParameter {
                name: "online_state",
                reason: format!(
                    "weight {weight}, {updates} updates and {n_seen} units seen do not describe \
                     {} running statistics",
                    if running.is_some() { "the" } else { "absent" }
                ),
            });
        }
        Ok(OnlineState {
            running,
            weight,
            updates,
            n_seen,
        })
    }

    /// The running statistics s (the average per unit times the weight w), `None` before the
    /// first update.
    pub fn running(&self) -> Option<&S> {
        self.running.as_ref()
    }

    /// The total weight w of the running average.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Updates made.
    pub fn updates(&self) -> usize {
        self.updates
    }

    /// Units (rows, sequences) seen, over all updates.
    pub fn n_seen(&self) -> usize {
        self.n_seen
    }

    /// The averaged statistics per unit (s / w), or `None` before the first update.
    pub fn average(&self) -> Option<S> {
        let mut s = self.running.clone()?;
        s.scale(1.0 / self.weight);
        Some(s)
    }

    /// Folds in the E-step `e` of a mini-batch of `n_obs` units (`n_observations`
    /// observations) made at `model`'s current parameters, then runs the model's M-step on the
    /// new average weighed as N observations.
    ///
    /// # Errors
    /// [`EmError::EmptyData`] for an empty batch; the M-step's errors. On error the state is
    /// unchanged, and the model is as its M-step leaves it on error (every bundled model keeps
    /// its parameters).
    pub fn update<M>(
        &mut self,
        model: &mut M,
        e: EStep<S>,
        n_obs: usize,
        n_observations: usize,
        options: &OnlineOptions,
    ) -> Result<Update, EmError>
    where
        M: LatentModel<Stats = S> + ?Sized,
    {
        if n_obs == 0 {
            return Err(EmError::EmptyData);
        }
        let rho = options.step_size(self.updates);
        let mut batch = e.stats;
        batch.scale(rho / n_obs as f64);
        let running = match &self.running {
            None => batch,
            Some(previous) => {
                let mut s = previous.clone();
                s.scale(1.0 - rho);
                s.merge(&batch);
                s
            }
        };
        let weight = (1.0 - rho) * self.weight + rho;
        let n_seen = self.n_seen + n_obs;
        let total = options.total.unwrap_or(n_seen as f64);
        let mut for_m_step = running.clone();
        for_m_step.scale(total / weight);
        model.m_step(&for_m_step)?;
        self.running = Some(running);
        self.weight = weight;
        self.n_seen = n_seen;
        self.updates += 1;
        Ok(Update {
            update: self.updates,
            n_obs,
            n_observations,
            log_likelihood: e.log_likelihood,
            step_size: rho,
        })
    }
}

/// A model fitted online, one batch at a time: scikit-learn's `partial_fit` for every model
/// whose statistics scale (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct OnlineEm<M: LatentModel> {
    model: M,
    state: OnlineState<M::Stats>,
    options: OnlineOptions,
    chunk_size: usize,
}

impl<M> OnlineEm<M>
where
    M: LatentModel,
    M::Stats: ScalableStatistics + Clone,
{
    /// Online EM from the parameters `model` holds, with the default options.
    pub fn new(model: M) -> Self {
        OnlineEm {
            model,
            state: OnlineState::new(),
            options: OnlineOptions::default(),
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// Online EM with `options` (its `batch_size` and `passes` are [`Em::fit_online`]'s and
    /// play no part here).
    ///
    /// # Errors
    /// [`OnlineOptions::validate`]'s.
    pub fn with_options(model: M, options: OnlineOptions) -> Result<Self, EmError> {
        options.validate()?;
        Ok(OnlineEm {
            options,
            ..OnlineEm::new(model)
        })
    }

    /// Sets the number of observations per E-step batch within a mini-batch (≥ 1; default
    /// [`DEFAULT_CHUNK_SIZE`]): batches run in parallel on the current rayon pool and merge in
    /// order, so results do not depend on the thread count.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `chunk_size` for 0.
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Result<Self, EmError> {
        if chunk_size == 0 {
            return Err(EmError::InvalidParameter {
                name: "chunk_size",
                reason: "must be at least 1".into(),
            });
        }
        self.chunk_size = chunk_size;
        Ok(self)
    }

    /// One online update from `batch`: its E-step at the current parameters, folded into the
    /// running statistics, then the M-step.
    ///
    /// # Errors
    /// [`EmError::EmptyData`] for an empty batch; the model's E-step errors (rows are numbered
    /// within the batch) and M-step errors. On error nothing is updated.
    pub fn partial_fit(&mut self, batch: &M::Data) -> Result<Update, EmError> {
        let n_obs = batch.n_obs();
        if n_obs == 0 {
            return Err(EmError::EmptyData);
        }
        let e = chunked_e_step(&self.model, batch, self.chunk_size)?;
        let n_observations = self.model.n_observations(batch);
        self.state
            .update(&mut self.model, e, n_obs, n_observations, &self.options)
    }

    /// The model at its current parameters.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, leaving online fitting.
    pub fn into_model(self) -> M {
        self.model
    }

    /// The running statistics.
    pub fn state(&self) -> &OnlineState<M::Stats> {
        &self.state
    }

    /// The options in force.
    pub fn options(&self) -> &OnlineOptions {
        &self.options
    }
}

/// The record of an online fit ([`Em::fit_online`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineReport {
    /// Updates made (one per mini-batch).
    pub updates: usize,
    /// Passes begun over the source.
    pub passes: usize,
    /// Units (rows, sequences) in one pass over the source (the last pass, when the observer
    /// stopped it early: those seen in it).
    pub n_obs: usize,
    /// Each mini-batch's log-likelihood per observation, at the parameters before its update.
    pub trace: Vec<f64>,
    /// Σ log p(x | θ) / Σ observations over the mini-batches of the last pass, each at the
    /// parameters before its update: a progressive (out-of-sample) estimate of the final
    /// fit's mean log-likelihood, biased low by the early mini-batches.
    pub last_pass_mean_log_likelihood: f64,
    /// Whether the observer stopped the fit before the last pass ended.
    pub stopped_by_observer: bool,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl<A, O: Observer> Em<A, O> {
    /// Online EM over `source` (see the [`online`](crate::online) module): `options.passes`
    /// passes, one update per mini-batch of `options.batch_size` observations, starting from
    /// the parameters `model` holds. Each mini-batch is E-stepped in the driver's batches of
    /// [`chunk_size`](crate::EmOptions::chunk_size) on its threads (results do not depend on
    /// the thread count) while the next one is read. The observer sees every update (its
    /// `objective` is the mini-batch's log-likelihood before the update) and may stop the fit.
    /// The driver's step, stopping rule, `max_iter` and restarts play no part.
    ///
    /// ```
    /// use em_core::online::OnlineOptions;
    /// use em_core::stream::SliceSource;
    /// use em_core::{EStep, Em, EmError, LatentModel, ScalableStatistics, Statistics};
    /// # use std::ops::Range;
    /// # struct Mean(f64);
    /// # #[derive(Clone)] struct Sums { n: f64, sx: f64 }
    /// # impl Statistics for Sums { fn merge(&mut self, o: &Self) { self.n += o.n; self.sx += o.sx; } }
    /// # impl ScalableStatistics for Sums { fn scale(&mut self, f: f64) { self.n *= f; self.sx *= f; } }
    /// # impl LatentModel for Mean {
    /// #     type Data = [f64]; type Stats = Sums;
    /// #     fn e_step(&self, x: &[f64], r: Range<usize>) -> Result<EStep<Sums>, EmError> {
    /// #         let x = &x[r];
    /// #         Ok(EStep { stats: Sums { n: x.len() as f64, sx: x.iter().sum() },
    /// #             log_likelihood: -0.5 * x.iter().map(|v| (v - self.0).powi(2)).sum::<f64>(), entropy: 0.0 })
    /// #     }
    /// #     fn m_step(&mut self, s: &Sums) -> Result<(), EmError> { self.0 = s.sx / s.n; Ok(()) }
    /// #     fn expected_complete_log_likelihood(&self, _: &Sums) -> f64 { 0.0 }
    /// # }
    /// let data: Vec<f64> = (0..10_000).map(|i| (i % 5) as f64).collect(); // mean 2
    /// let mut model = Mean(-10.0);
    /// let options = OnlineOptions { batch_size: 500, ..Default::default() };
    /// let report = Em::new().fit_online(&mut model, &mut SliceSource::new(&data), &options)?;
    /// assert_eq!(report.updates, 20);
    /// assert!((model.0 - 2.0).abs() < 1e-9);
    /// # Ok::<(), EmError>(())
    /// ```
    ///
    /// # Errors
    /// The options' errors; the source's, E-step's and M-step's errors (the model then holds
    /// the parameters of the last completed update); [`EmError::EmptyData`] for a source with
    /// no observations; an [`EmError::Io`] when a later pass sees another number of
    /// observations than the first.
    pub fn fit_online<M, S>(
        &self,
        model: &mut M,
        source: &mut S,
        options: &OnlineOptions,
    ) -> Result<OnlineReport, EmError>
    where
        M: LatentModel + Send,
        M::Stats: ScalableStatistics + Clone,
        S: ChunkSource + Send + ?Sized,
        S::Chunk: Borrow<M::Data> + Send,
    {
        self.validate()?;
        options.validate()?;
        let pool = self.pool()?;
        let start = Instant::now();
        let chunk_size = self.options().chunk_size;
        let batch_size = options.batch_size;
        let mut state = OnlineState::new();
        // After the first pass the size of the data is known: later passes weigh the average
        // as that many observations, not as all those seen over the passes.
        let mut options = *options;
        let mut trace = Vec::new();
        let mut observer = self.observer.borrow_mut();
        let mut first_pass_n: Option<usize> = None;
        let (mut pass_ll, mut pass_obs, mut pass_n) = (0.0, 0usize, 0usize);
        let mut passes = 0;
        let mut stopped = false;
        'passes: for pass in 0..options.passes {
            passes = pass + 1;
            (pass_ll, pass_obs, pass_n) = (0.0, 0, 0);
            source.rewind()?;
            let mut next = source.next_chunk(batch_size)?;
            while let Some(chunk) = next {
                let data: &M::Data = chunk.borrow();
                let n_obs = data.n_obs();
                if n_obs == 0 {
                    next = source.next_chunk(batch_size)?;
                    continue;
                }
                let state = &mut state;
                let model = &mut *model;
                let (following, updated) = on_pool(&pool, || {
                    rayon::join(
                        || source.next_chunk(batch_size),
                        || {
                            let e = chunked_e_step(&*model, data, chunk_size)?;
                            let n_observations = model.n_observations(data);
                            state.update(model, e, n_obs, n_observations, &options)
                        },
                    )
                });
                let update = updated?;
                trace.push(update.mean_log_likelihood());
                pass_ll += update.log_likelihood;
                pass_obs += update.n_observations;
                pass_n += n_obs;
                let previous = trace.len().checked_sub(2).map(|i| trace[i]);
                let seen = Iteration {
                    restart: 0,
                    iteration: update.update,
                    objective: update.log_likelihood,
                    change: previous.map_or(f64::NAN, |p| update.mean_log_likelihood() - p),
                    estimated_gap: None,
                    estimated_distance: None,
                    elapsed: start.elapsed(),
                };
                drop(chunk);
                if observer.observe(&seen) == Control::Stop {
                    stopped = true;
                    break 'passes;
                }
                next = following?;
            }
            match first_pass_n {
                None if pass_n == 0 => return Err(EmError::EmptyData),
                None => {
                    first_pass_n = Some(pass_n);
                    options.total = options.total.or(Some(pass_n as f64));
                }
                Some(first) if first != pass_n => {
                    return Err(EmError::Io {
                        origin: "the data source".into(),
                        line: None,
                        column: None,
                        reason: format!(
                            "pass {passes} over the data saw {pass_n} observations, the first pass {first}; the data changed during the fit"
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(OnlineReport {
            updates: state.updates(),
            passes,
            n_obs: pass_n,
            trace,
            last_pass_mean_log_likelihood: pass_ll / pass_obs as f64,
            stopped_by_observer: stopped,
            elapsed: start.elapsed(),
        })
    }
}
