//! EM on [Apache DataFusion](https://datafusion.apache.org): the E-step as an aggregate
//! function, one query per EM iteration, over any DataFusion table (Parquet, CSV, Arrow in
//! memory), and `GROUP BY` fits of one model per key.
//!
//! Expected sufficient statistics of disjoint batches merge, which is what an aggregate's
//! accumulator does (`update_batch` on a partition's batches, `state` and `merge_batch` across
//! partitions, `evaluate` at the end). So one E-step over a table is one aggregate query, run
//! on all of DataFusion's partitions in parallel; the M-step, the stopping rule and the rest of
//! the loop are em-core's driver ([`em_core::Em::fit_passes`]) on the client.
//!
//! - [`fit`] / [`fit_async`]: one model over a table.
//! - [`fit_grouped`]: one model per value of a key column, every group's E-step in the same
//!   `GROUP BY` query.
//! - [`EStepAggregate`]: the aggregate functions themselves, for SQL or plans of your own.
//! - [`head`] and [`group_heads`]: rows to start fits from.
//! - [`encode_e_step`] and [`decode_e_step`]: the functions with their parameters as bytes,
//!   for codecs that ship plans to other processes (the crate `em-ballista` runs fits on a
//!   Ballista cluster with them).
//!
//! Results do not depend on the order in which partitions finish: each query keeps the
//! statistics of every batch and merges them in an order fixed by their values
//! ([`MergeOrder::Canonical`]). A fit is therefore the same, bit for bit, on 1, 2 or 4
//! partitions of a Parquet file, and equal to the in-memory fit to rounding (the batches are
//! merged in another order).
//!
//! The models: [`gmm::GaussianMixture`] (full, diagonal, spherical and tied covariances, the
//! conjugate prior, missing values as `NULL`) and [`gmm::StudentMixture`]; any other model whose
//! data are rows of a matrix joins by implementing [`EngineModel`].

#![warn(missing_docs)]

pub mod cli;
mod columns;
mod error;
mod fit;
mod model;
mod partials;
mod sample;
mod udaf;
mod wire;

pub use error::EngineError;
pub use fit::{EngineFit, EngineOptions, fit, fit_async, fit_grouped};
pub use model::EngineModel;
pub use partials::MergeOrder;
pub use sample::{group_heads, head};
pub use udaf::EStepAggregate;
pub use wire::{decode_e_step, encode_e_step};

/// The code blocks of `docs/datafusion.md`, compiled and run as doctests so that the guide
/// cannot drift from the crate.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/datafusion.md")]
pub struct GuideDoctests;
