//! Splitting an E-step into fixed-size batches, running them on a rayon pool and merging the
//! results in data order.
//!
//! The batch boundaries depend only on the chunk size, and the merge is a left fold in batch
//! order, so the result is bit-for-bit the same whatever the number of threads.

use std::ops::Range;

use rayon::prelude::*;

use crate::{Dataset, EStep, EmError, LatentModel};

/// Default number of observations per batch: large enough to amortise scheduling, small
/// enough that a batch's responsibilities (chunk × K) stay in cache.
pub const DEFAULT_CHUNK_SIZE: usize = 4096;

/// Runs `model.e_step` over `data` in batches of `chunk_size` observations on the current
/// rayon pool and merges them in order. `chunk_size` must be positive.
///
/// ```
/// use em_core::{chunked_e_step, EStep, EmError, LatentModel, Statistics};
/// # struct Count; impl Statistics for Count { fn merge(&mut self, _: &Self) {} }
/// # struct M;
/// # impl LatentModel for M {
/// #     type Data = [f64]; type Stats = Count;
/// #     fn e_step(&self, d: &[f64], r: std::ops::Range<usize>) -> Result<EStep<Count>, EmError> {
/// #         Ok(EStep { stats: Count, log_likelihood: d[r].iter().sum(), entropy: 0.0 }) }
/// #     fn m_step(&mut self, _: &Count) -> Result<(), EmError> { Ok(()) }
/// #     fn expected_complete_log_likelihood(&self, _: &Count) -> f64 { 0.0 }
/// # }
/// let data = vec![1.0; 10_000];
/// let e = chunked_e_step(&M, &data[..], 1000)?;
/// assert_eq!(e.log_likelihood, 10_000.0);
/// # Ok::<(), EmError>(())
/// ```
pub fn chunked_e_step<M: LatentModel>(
    model: &M,
    data: &M::Data,
    chunk_size: usize,
) -> Result<EStep<M::Stats>, EmError> {
    let mut parts = batch_e_steps(model, data, chunk_size)?.into_iter();
    let mut total = parts.next().ok_or(EmError::EmptyData)?;
    for part in parts {
        total.merge(&part);
    }
    Ok(total)
}

/// The E-steps of the batches of [`batches`]`(data.n_obs(), chunk_size)`, in batch order,
/// unmerged (run in parallel on the current rayon pool when there are several). The caller
/// folds them left to right, as [`chunked_e_step`] does; the streaming driver folds the
/// batches of successive chunks into one running total the same way.
pub(crate) fn batch_e_steps<M: LatentModel>(
    model: &M,
    data: &M::Data,
    chunk_size: usize,
) -> Result<Vec<EStep<M::Stats>>, EmError> {
    let batches = batches(data.n_obs(), chunk_size)?;
    if batches.len() == 1 {
        return Ok(vec![model.e_step(data, batches[0].clone())?]);
    }
    batches
        .into_par_iter()
        .map(|rows| model.e_step(data, rows))
        .collect()
}

/// Σ log p(x_n | θ) over all of `data`, batched like [`chunked_e_step`] and summed in order.
pub fn chunked_log_likelihood<M: LatentModel>(
    model: &M,
    data: &M::Data,
    chunk_size: usize,
) -> Result<f64, EmError> {
    let parts: Vec<f64> = batches(data.n_obs(), chunk_size)?
        .into_par_iter()
        .map(|rows| model.log_likelihood(data, rows))
        .collect::<Result<_, _>>()?;
    Ok(parts.into_iter().fold(0.0, |a, b| a + b))
}

/// The consecutive batches of at most `chunk_size` observations that cover `0..n`.
pub fn batches(n: usize, chunk_size: usize) -> Result<Vec<Range<usize>>, EmError> {
    if chunk_size == 0 {
        return Err(EmError::InvalidParameter {
            name: "chunk_size",
            reason: "must be at least 1".into(),
        });
    }
    if n == 0 {
        return Err(EmError::EmptyData);
    }
    Ok((0..n)
        .step_by(chunk_size)
        .map(|start| start..(start + chunk_size).min(n))
        .collect())
}
