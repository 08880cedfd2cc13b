//! Streaming (out-of-core) EM: fitting data that do not fit in memory by reading them again,
//! chunk by chunk, on every iteration.
//!
//! # Why this works, and why it gives the same answer
//!
//! An E-step only produces *expected sufficient statistics*, and those are additive over
//! disjoint parts of the data ([`Statistics::merge`](crate::Statistics::merge)). So one EM
//! iteration over a file needs only one chunk in memory at a time: rewind the
//! [`ChunkSource`], E-step each chunk, fold its statistics into a running total, M-step. Memory
//! is O(chunk), whatever the number of observations; the price is one pass over the data per
//! iteration (plus the one at the initial parameters).
//!
//! The in-memory driver ([`Em::fit`]) splits the data into batches of
//! [`chunk_size`](crate::EmOptions::chunk_size) observations and merges them by a left fold
//! in batch order. The streaming driver asks the source for chunks of
//! `chunk_size ×` [`BATCHES_PER_CHUNK`] observations, splits each chunk into batches of
//! `chunk_size` (E-stepped in parallel, as in memory) and folds every batch, in order, into one
//! running total. When every chunk but the last holds a multiple of `chunk_size` observations
//! — which every source that fills its requests does — the batches, and therefore every
//! floating-point operation, are those of the in-memory fit: the two fits are **bit-for-bit
//! identical** (parameters, trace, iterations), whatever the thread count. A source that
//! returns shorter chunks still gives a correct fit, merely rounded differently.
//!
//! Both drivers share one iteration loop, so convergence (`tol` on the change of the
//! per-observation objective), `max_iter`, observers, restarts and the [`FitReport`] mean
//! exactly the same. While a chunk is being E-stepped, the next one is read on another worker
//! (so at most two chunks are in memory).
//!
//! ```
//! use em_core::stream::SliceSource;
//! use em_core::{EStep, Em, EmError, LatentModel, Statistics};
//! use std::ops::Range;
//!
//! /// The mean of unit-variance normal data, by a (trivial) EM.
//! struct Mean(f64);
//! struct Sums { n: f64, sx: f64, sxx: f64 }
//! impl Statistics for Sums {
//!     fn merge(&mut self, o: &Self) { self.n += o.n; self.sx += o.sx; self.sxx += o.sxx; }
//! }
//! impl LatentModel for Mean {
//!     type Data = [f64];
//!     type Stats = Sums;
//!     fn e_step(&self, x: &[f64], rows: Range<usize>) -> Result<EStep<Sums>, EmError> {
//!         let x = &x[rows];
//!         let s = Sums { n: x.len() as f64, sx: x.iter().sum(), sxx: x.iter().map(|v| v * v).sum() };
//!         let ll = -0.5 * (s.sxx - 2.0 * self.0 * s.sx + s.n * self.0 * self.0)
//!             - s.n * 0.918_938_533_204_672_8;
//!         Ok(EStep { stats: s, log_likelihood: ll, entropy: 0.0 })
//!     }
//!     fn m_step(&mut self, s: &Sums) -> Result<(), EmError> { self.0 = s.sx / s.n; Ok(()) }
//!     fn expected_complete_log_likelihood(&self, s: &Sums) -> f64 {
//!         -0.5 * (s.sxx - 2.0 * self.0 * s.sx + s.n * self.0 * self.0) - s.n * 0.918_938_533_204_672_8
//!     }
//! }
//!
//! let data: Vec<f64> = (0..10_000).map(|i| (i % 7) as f64).collect();
//! let em = Em::new().chunk_size(1000).max_iter(5);
//!
//! let mut in_memory = Mean(0.0);
//! let a = em.fit(&mut in_memory, &data[..])?;
//! // Any re-readable source of `Vec<f64>` chunks will do; this one reads from a slice.
//! let mut source = SliceSource::new(&data);
//! let mut streamed = Mean(0.0);
//! let b = em.fit_stream(&mut streamed, &mut source)?;
//! assert_eq!(a.trace, b.trace);
//! assert_eq!(in_memory.0.to_bits(), streamed.0.to_bits());
//! assert_eq!(source.passes(), b.e_steps); // one pass per E-step
//! # Ok::<(), EmError>(())
//! ```

use std::borrow::Borrow;
use std::time::Instant;

use crate::chunked::batch_e_steps;
use crate::driver::Pass;
use crate::{Dataset, EStep, Em, EmError, FitReport, Fitted, Initializer, LatentModel, Observer};
use crate::{Silent, StdRng};

/// How many driver batches (of [`EmOptions::chunk_size`](crate::EmOptions::chunk_size)
/// observations each) the streaming driver asks a [`ChunkSource`] for at a time: enough
/// batches to keep every core busy, few enough that a chunk stays small (16 × 4096 rows by
/// default).
pub const BATCHES_PER_CHUNK: usize = 16;

/// A re-readable source of data in chunks: a file read front to back on every EM iteration.
///
/// The streaming driver calls [`rewind`](Self::rewind) before every pass, then
/// [`next_chunk`](Self::next_chunk) until it returns `Ok(None)`. A source must yield the same
/// observations in the same order on every pass (the driver checks that their number does not
/// change). Only the chunks currently being read or E-stepped are held in memory.
///
/// Errors about the data (a value that cannot be parsed, NaN or ±∞) should name the
/// observation by its *global* index — counted from the start of the data, not of the chunk —
/// e.g. [`EmError::NonFinite`] or [`EmError::Io`].
pub trait ChunkSource {
    /// A chunk of consecutive observations: for a model whose data are `M::Data`, anything
    /// that borrows as `M::Data` (a `DMatrix<f64>` for a matrix model, a `Vec<T>` for `[T]`).
    type Chunk;

    /// Goes back to the first observation.
    fn rewind(&mut self) -> Result<(), EmError>;

    /// The next chunk of at most `max_obs` observations (`max_obs ≥ 1`), or `None` at the end.
    ///
    /// A source should return exactly `max_obs` observations in every chunk but the last: the
    /// streaming fit is then bit-for-bit the in-memory fit (see the [module docs](self)).
    /// Fewer is allowed (the fit stays correct, only rounded differently); an empty chunk is
    /// skipped.
    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<Self::Chunk>, EmError>;
}

impl<S: ChunkSource + ?Sized> ChunkSource for &mut S {
    type Chunk = S::Chunk;
    fn rewind(&mut self) -> Result<(), EmError> {
        (**self).rewind()
    }
    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<S::Chunk>, EmError> {
        (**self).next_chunk(max_obs)
    }
}

/// A [`ChunkSource`] over a slice already in memory, yielding `Vec<T>` chunks: for tests of
/// streaming models, and for data that arrive as a slice but should be processed like a file.
/// It counts its passes (rewinds).
#[derive(Debug, Clone)]
pub struct SliceSource<'a, T> {
    data: &'a [T],
    position: usize,
    passes: usize,
}

impl<'a, T: Clone> SliceSource<'a, T> {
    /// A source reading `data` front to back.
    pub fn new(data: &'a [T]) -> Self {
        SliceSource {
            data,
            position: 0,
            passes: 0,
        }
    }

    /// How many times the source was rewound (the streaming driver rewinds once per pass).
    pub fn passes(&self) -> usize {
        self.passes
    }
}

impl<T: Clone> ChunkSource for SliceSource<'_, T> {
    type Chunk = Vec<T>;

    fn rewind(&mut self) -> Result<(), EmError> {
        self.position = 0;
        self.passes += 1;
        Ok(())
    }

    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<Vec<T>>, EmError> {
        let rest = &self.data[self.position..];
        if rest.is_empty() {
            return Ok(None);
        }
        let take = max_obs.clamp(1, rest.len());
        self.position += take;
        Ok(Some(rest[..take].to_vec()))
    }
}

/// One E-step over a whole source: rewind, then E-step every chunk in batches of `chunk_size`
/// and fold every batch, in order, into one total; the next chunk is read while the current
/// one is E-stepped. Runs on the current rayon pool.
pub fn stream_e_step<M, S>(
    model: &M,
    source: &mut S,
    chunk_size: usize,
) -> Result<(EStep<M::Stats>, usize), EmError>
where
    M: LatentModel,
    S: ChunkSource + Send + ?Sized,
    S::Chunk: Borrow<M::Data> + Send,
{
    if chunk_size == 0 {
        return Err(EmError::InvalidParameter {
            name: "chunk_size",
            reason: "must be at least 1".into(),
        });
    }
    let max_obs = chunk_size.saturating_mul(BATCHES_PER_CHUNK);
    source.rewind()?;
    let mut total: Option<EStep<M::Stats>> = None;
    let mut n_obs = 0usize;
    let mut next = source.next_chunk(max_obs)?;
    while let Some(chunk) = next {
        let data: &M::Data = chunk.borrow();
        if data.n_obs() == 0 {
            next = source.next_chunk(max_obs)?;
            continue;
        }
        let (following, parts) = rayon::join(
            || source.next_chunk(max_obs),
            || batch_e_steps(model, data, chunk_size),
        );
        for part in parts? {
            match &mut total {
                None => total = Some(part),
                Some(t) => t.merge(&part),
            }
        }
        n_obs += model.n_observations(data);
        drop(chunk);
        next = following?;
    }
    let total = total.ok_or(EmError::EmptyData)?;
    Ok((total, n_obs))
}

impl Em {
    /// Runs EM from the model's current parameters over data read from `source`, one pass per
    /// E-step, holding only O(chunk) observations in memory. Same loop, convergence rule,
    /// observers and report as [`Em::fit`], and, for a source that fills its chunks, the same
    /// result bit for bit (see the [module docs](crate::stream)).
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
        S: ChunkSource + Send + ?Sized,
        S::Chunk: Borrow<M::Data> + Send,
    {
        self.fit_stream_observed(model, source, &mut Silent)
    }

    /// [`Em::fit_stream`] with an observer that sees every iteration.
    pub fn fit_stream_observed<M, S>(
        &self,
        model: &mut M,
        source: &mut S,
        observer: &mut dyn Observer,
    ) -> Result<FitReport, EmError>
    where
        M: LatentModel,
        S: ChunkSource + Send + ?Sized,
        S::Chunk: Borrow<M::Data> + Send,
    {
        self.validate()?;
        self.plain_only()?;
        let pool = self.pool()?;
        self.run_stream(model, source, &pool, 0, observer)
    }

    /// Restarts over a stream: `n_init` models, each built by `init` from `init_data` (a
    /// sample of the stream small enough for memory, or all of it) with its own generator
    /// seeded by [`restart_seed`](crate::restart_seed)`(seed, i)`, each fitted by
    /// [`Em::fit_stream`]; the highest final objective wins, as in [`Em::fit_restarts`]. When
    /// `init_data` holds the whole data in order, this is [`Em::fit_restarts`] bit for bit.
    pub fn fit_stream_restarts<M, I, S>(
        &self,
        init: &I,
        init_data: &M::Data,
        source: &mut S,
    ) -> Result<Fitted<M>, EmError>
    where
        M: LatentModel,
        I: Initializer<M> + ?Sized,
        S: ChunkSource + Send + ?Sized,
        S::Chunk: Borrow<M::Data> + Send,
    {
        self.fit_stream_restarts_observed(init, init_data, source, &mut Silent)
    }

    /// [`Em::fit_stream_restarts`] with an observer (it sees the restart index).
    pub fn fit_stream_restarts_observed<M, I, S>(
        &self,
        init: &I,
        init_data: &M::Data,
        source: &mut S,
        observer: &mut dyn Observer,
    ) -> Result<Fitted<M>, EmError>
    where
        M: LatentModel,
        I: Initializer<M> + ?Sized,
        S: ChunkSource + Send + ?Sized,
        S::Chunk: Borrow<M::Data> + Send,
    {
        self.validate()?;
        self.plain_only()?;
        let pool = self.pool()?;
        self.best_of_restarts(|index, rng: &mut StdRng| {
            let mut model = init.initialize(init_data, rng)?;
            Ok((
                self.run_stream(&mut model, source, &pool, index, observer)?,
                model,
            ))
        })
    }

    /// One streaming EM run: the shared loop with a pass over the source as its E-step.
    fn run_stream<M, S>(
        &self,
        model: &mut M,
        source: &mut S,
        pool: &Option<rayon::ThreadPool>,
        restart: usize,
        observer: &mut dyn Observer,
    ) -> Result<FitReport, EmError>
    where
        M: LatentModel,
        S: ChunkSource + Send + ?Sized,
        S::Chunk: Borrow<M::Data> + Send,
    {
        let chunk_size = self.options().chunk_size;
        let start = Instant::now();
        let mut first_n_obs: Option<usize> = None;
        let mut pass = 0usize;
        let mut e_step = |model: &M| {
            pass += 1;
            let (e, n_obs) = match pool {
                Some(pool) => pool.install(|| stream_e_step(model, &mut *source, chunk_size)),
                None => stream_e_step(model, &mut *source, chunk_size),
            }?;
            match first_n_obs {
                None => first_n_obs = Some(n_obs),
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
            Ok(Pass { e, n_obs })
        };
        self.iterate(model, &mut e_step, start, restart, observer)
    }
}
