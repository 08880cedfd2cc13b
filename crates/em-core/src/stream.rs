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
//! The in-memory driver ([`Em::fit`](crate::Em::fit)) splits the data into batches of
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
//! Both drivers share one iteration loop, so the stopping rule, `max_iter`, observers, restarts
//! and the [`FitReport`](crate::FitReport) mean exactly the same. While a chunk is being E-stepped, the next one is read on another worker
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

use crate::chunked::batch_e_steps;
use crate::{Dataset, EStep, EmError, LatentModel};

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
