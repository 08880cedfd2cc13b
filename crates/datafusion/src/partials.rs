//! Per-batch E-steps kept apart until the end, and merged in an order that does not depend on
//! how the engine partitioned the table or in which order the partitions finished.
//!
//! Statistics merge by floating-point additions, which are not associative: merging the same
//! batches in another order rounds differently. DataFusion gives no order among partitions
//! (and on a cluster, none among executors), so an accumulator that merged partial states as
//! they arrived would give bitwise different fits on every run. Instead every batch's E-step
//! is kept, flattened, and the final merge sorts them by their own bits first. Equal keys mean
//! equal statistics, so the sorted order — and with it every rounding — depends only on the
//! set of batches, not on their arrival.

use em_core::{EStep, EmError, LatentModel};

use crate::model::EngineModel;

/// How an aggregate merges the E-steps of the batches it sees.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MergeOrder {
    /// Keep every batch's statistics and merge them at the end in an order fixed by their
    /// values: the same fit, bit for bit, for every partitioning that cuts the table into the
    /// same batches (a Parquet file is cut by row groups, an in-memory table by its record
    /// batches), and whatever the arrival order. Memory: one statistics vector per batch
    /// (per batch *and group* in a `GROUP BY` fit).
    #[default]
    Canonical,
    /// Merge statistics as they arrive: constant memory per group, but a fit that may differ
    /// from run to run in the last bits.
    Arrival,
}

/// A pass's (or a batch's) result: the merged E-step and the rows it covered.
pub(crate) type Pass<M> = (EStep<<M as LatentModel>::Stats>, usize);

/// Flattened E-steps: runs of `width` values `[log-likelihood, entropy, rows, statistics…]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Partials {
    values: Vec<f64>,
}

/// Values before the statistics in each run.
const HEADER: usize = 3;

impl Partials {
    /// The flat values, for the aggregate's state.
    pub(crate) fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of values held (for the accumulator's size).
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Adds the E-step of a batch of `rows` rows.
    pub(crate) fn push<M: EngineModel>(
        &mut self,
        model: &M,
        order: MergeOrder,
        e: &EStep<M::Stats>,
        rows: usize,
    ) -> Result<(), EmError> {
        write_run(model, e, rows, &mut self.values);
        self.compact(model, order)
    }

    /// Adds runs written by another accumulator's [`Partials::values`].
    pub(crate) fn absorb<M: EngineModel>(
        &mut self,
        model: &M,
        order: MergeOrder,
        runs: &[f64],
    ) -> Result<(), EmError> {
        let width = HEADER + model.stats_len();
        if !runs.len().is_multiple_of(width) {
            return Err(state_error(runs.len(), width));
        }
        self.values.extend_from_slice(runs);
        self.compact(model, order)
    }

    /// For [`MergeOrder::Arrival`], merges what is held into one run (constant memory);
    /// [`MergeOrder::Canonical`] keeps every run for the final, sorted merge.
    fn compact<M: EngineModel>(&mut self, model: &M, order: MergeOrder) -> Result<(), EmError> {
        if order == MergeOrder::Arrival && self.values.len() > HEADER + model.stats_len() {
            let (e, rows) = self
                .merged(model, MergeOrder::Arrival)?
                .ok_or(EmError::EmptyData)?;
            self.values.clear();
            write_run(model, &e, rows, &mut self.values);
        }
        Ok(())
    }

    /// Merges every run: sorted by their bits first for [`MergeOrder::Canonical`], as held
    /// for [`MergeOrder::Arrival`]. `None` when there is none.
    pub(crate) fn merged<M: EngineModel>(
        &self,
        model: &M,
        order: MergeOrder,
    ) -> Result<Option<Pass<M>>, EmError> {
        let width = HEADER + model.stats_len();
        if !self.values.len().is_multiple_of(width) {
            return Err(state_error(self.values.len(), width));
        }
        let mut runs: Vec<&[f64]> = self.values.chunks_exact(width).collect();
        if order == MergeOrder::Canonical {
            runs.sort_unstable_by(|a, b| {
                a.iter()
                    .map(|v| v.to_bits())
                    .cmp(b.iter().map(|v| v.to_bits()))
            });
        }
        let mut total: Option<Pass<M>> = None;
        for run in runs {
            let (e, rows) = read_run(model, run)?;
            match total.as_mut() {
                None => total = Some((e, rows)),
                Some((sum, n)) => {
                    sum.merge(&e);
                    *n += rows;
                }
            }
        }
        Ok(total)
    }
}

/// Appends one run: the E-step's header and the model's flat statistics.
pub(crate) fn write_run<M: EngineModel>(
    model: &M,
    e: &EStep<M::Stats>,
    rows: usize,
    out: &mut Vec<f64>,
) {
    out.extend_from_slice(&[e.log_likelihood, e.entropy, rows as f64]);
    model.write_stats(&e.stats, out);
}

/// Reads one run written by [`write_run`] (of the right width).
pub(crate) fn read_run<M: EngineModel>(model: &M, run: &[f64]) -> Result<Pass<M>, EmError> {
    if run.len() != HEADER + model.stats_len() {
        return Err(state_error(run.len(), HEADER + model.stats_len()));
    }
    let rows = run[2];
    if !(rows >= 0.0 && rows.fract() == 0.0) {
        return Err(EmError::Io {
            origin: "the aggregate's statistics".into(),
            line: None,
            column: None,
            reason: format!("a row count of {rows}"),
        });
    }
    let stats = model.read_stats(&run[HEADER..])?;
    let e = EStep {
        stats,
        log_likelihood: run[0],
        entropy: run[1],
    };
    // An exact integer below 2^53, checked above.
    Ok((e, rows as usize))
}

fn state_error(len: usize, width: usize) -> EmError {
    EmError::Io {
        origin: "the aggregate's statistics".into(),
        line: None,
        column: None,
        reason: format!("{len} values, not a multiple of the {width} that one batch takes"),
    }
}
