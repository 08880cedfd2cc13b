//! Sequences at the boundary between the HMM and its emission family: their checks and
//! errors, and the change of layout between the family's buffers (component-major, S×T) and
//! the forward–backward ones (step-major, T×S).

use em_core::{Dataset, EmError};
use em_family::Family;

/// The error for a bad value at `step` of sequence `sequence`.
pub(crate) fn bad_step(
    sequence: usize,
    step: usize,
    column: Option<usize>,
    what: impl std::fmt::Display,
) -> EmError {
    EmError::InvalidInput {
        row: sequence,
        column,
        reason: format!("sequence {sequence}, step {step}: {what}"),
    }
}

/// The error for a problem with sequence `sequence` as a whole.
pub(crate) fn bad_sequence(sequence: usize, what: impl std::fmt::Display) -> EmError {
    EmError::InvalidInput {
        row: sequence,
        column: None,
        reason: format!("sequence {sequence}: {what}"),
    }
}

/// A family's error about the rows (steps) of one sequence, restated for sequence `index`:
/// the family's row is the step, its column the feature ("sequence 2, step 17: value NaN in
/// feature 1 is not finite", "sequence 1: dimension mismatch …", "sequence 4: is empty …").
pub(crate) fn name_sequence(index: usize, e: EmError) -> EmError {
    match e {
        EmError::EmptyData => bad_sequence(
            index,
            "is empty (0 steps); every sequence needs at least one step",
        ),
        EmError::DimensionMismatch { expected, found } => bad_sequence(
            index,
            format!("dimension mismatch: it has {found} features, the model has {expected}"),
        ),
        EmError::NonFinite { row, column, value } => bad_step(
            index,
            row,
            Some(column),
            format!("value {value} in feature {column} is not finite"),
        ),
        EmError::InvalidInput {
            row,
            column,
            reason,
        } => bad_step(index, row, column, reason),
        other => other,
    }
}

/// Checks sequence `index` with the family's [`Family::check_data`] and returns its number
/// of steps T ≥ 1; errors name the sequence and step ([`name_sequence`]).
pub(crate) fn check_sequence<F: Family>(
    family: &F,
    sequence: &F::Data,
    index: usize,
) -> Result<usize, EmError> {
    let steps = sequence.n_obs();
    if steps == 0 {
        return Err(name_sequence(index, EmError::EmptyData));
    }
    family
        .check_data(sequence)
        .map_err(|e| name_sequence(index, e))?;
    Ok(steps)
}

/// `dst[j·rows + i] = src[i·cols + j]`: a row-major rows×cols buffer made column-major
/// (between the HMM's step-major layout and the family's component-major one). `dst` is
/// resized to rows·cols.
pub(crate) fn transpose_into(src: &[f64], rows: usize, cols: usize, dst: &mut Vec<f64>) {
    debug_assert_eq!(src.len(), rows * cols);
    dst.clear();
    dst.resize(rows * cols, 0.0);
    for (j, col) in dst.chunks_exact_mut(rows.max(1)).enumerate().take(cols) {
        for (i, v) in col.iter_mut().enumerate() {
            *v = src[i * cols + j];
        }
    }
}
