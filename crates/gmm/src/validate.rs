//! Input checks run once at the API boundary, so the inner loops can trust their data. The
//! data check is the Gaussian family's, made into the proof the start takes
//! ([`CheckedData`](em_family::gaussian::CheckedData)); mixture weights are checked by the
//! engine ([`mixture::check_weights`]).

use em_core::EmError;

/// Checks per-observation sample weights: one per row, finite, ≥ 0, not all zero.
pub(crate) fn check_sample_weights(weights: &[f64], n_rows: usize) -> Result<(), EmError> {
    if weights.len() != n_rows {
        return Err(EmError::InvalidParameter {
            name: "sample_weight",
            reason: format!(
                "expected {n_rows} weights (one per row), got {}",
                weights.len()
            ),
        });
    }
    if let Some((row, &w)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        return Err(EmError::InvalidInput {
            row,
            column: None,
            reason: format!("sample weight {w} must be finite and ≥ 0"),
        });
    }
    if weights.iter().all(|&w| w == 0.0) {
        return Err(EmError::InvalidParameter {
            name: "sample_weight",
            reason: "all weights are zero".into(),
        });
    }
    Ok(())
}
