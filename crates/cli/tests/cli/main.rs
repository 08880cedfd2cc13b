//! Tests that run the `em` binary on good and bad input (one test binary, one module per area).

mod bad_input;
mod bound;
mod columns;
mod common;
mod diagnostics;
mod fit;
mod inference;
mod input;
mod labels;
mod missing;
mod model_files;
mod models;
mod online;
#[cfg(feature = "parquet")]
mod parquet;
mod plots;
mod select;
mod standardize;
mod stream;
mod zip;
