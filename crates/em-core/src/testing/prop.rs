//! proptest helpers, so that a model author's property test of the EM invariants is a few
//! lines:
//!
//! ```
//! use em_core::testing::prop::{assert_invariants, observations};
//! use proptest::prelude::*;
//! # use em_core::{EStep, EmError, LatentModel, Statistics};
//! # struct NoStats; impl Statistics for NoStats { fn merge(&mut self, _: &Self) {} }
//! # struct Flat;
//! # impl LatentModel for Flat {
//! #     type Data = [f64]; type Stats = NoStats;
//! #     fn e_step(&self, _: &[f64], r: std::ops::Range<usize>) -> Result<EStep<NoStats>, EmError> {
//! #         Ok(EStep { stats: NoStats, log_likelihood: 0.0, entropy: 0.0 }) }
//! #     fn m_step(&mut self, _: &NoStats) -> Result<(), EmError> { Ok(()) }
//! #     fn expected_complete_log_likelihood(&self, _: &NoStats) -> f64 { 0.0 }
//! # }
//! proptest!(|(data in observations(1..50, -10.0..10.0))| {
//!     assert_invariants(Flat, &data[..], 10)?;
//! });
//! ```

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::{Tolerance, check_invariants};
use crate::LatentModel;

/// Checks the three EM invariants over `steps` iterations with the default [`Tolerance`];
/// a model error or any violation fails the proptest case with the report as its message.
pub fn assert_invariants<M: LatentModel>(
    model: M,
    data: &M::Data,
    steps: usize,
) -> Result<(), TestCaseError> {
    assert_invariants_within(model, data, steps, Tolerance::default())
}

/// [`assert_invariants`] with an explicit tolerance.
pub fn assert_invariants_within<M: LatentModel>(
    model: M,
    data: &M::Data,
    steps: usize,
    tolerance: Tolerance,
) -> Result<(), TestCaseError> {
    let report = check_invariants(model, data, steps, tolerance)
        .map_err(|e| TestCaseError::fail(format!("the model returned an error: {e}")))?;
    if report.is_ok() {
        Ok(())
    } else {
        Err(TestCaseError::fail(report.to_string()))
    }
}

/// Vectors of finite observations with a length in `len` and values in `values`.
pub fn observations(
    len: std::ops::Range<usize>,
    values: std::ops::Range<f64>,
) -> impl Strategy<Value = Vec<f64>> {
    vec(values, len)
}

/// Row-major `rows × cols` matrices of finite values in `values`, as nalgebra matrices with
/// one observation per row.
#[cfg(feature = "nalgebra")]
pub fn matrix(
    rows: std::ops::Range<usize>,
    cols: usize,
    values: std::ops::Range<f64>,
) -> impl Strategy<Value = nalgebra::DMatrix<f64>> {
    rows.prop_flat_map(move |n| vec(values.clone(), n * cols))
        .prop_map(move |v| nalgebra::DMatrix::from_row_slice(v.len() / cols.max(1), cols, &v))
}
