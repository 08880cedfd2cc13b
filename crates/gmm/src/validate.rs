//! Input checks run once at the API boundary, so the inner loops can trust their data.

use em_core::EmError;
use nalgebra::DMatrix;

/// Checks that `x` has rows, the expected number of columns, and only finite values; a bad
/// value is reported by row and column.
pub(crate) fn check_data(x: &DMatrix<f64>, n_features: Option<usize>) -> Result<(), EmError> {
    let (n, d) = x.shape();
    if n == 0 {
        return Err(EmError::EmptyData);
    }
    match n_features {
        Some(expected) if expected != d => {
            return Err(EmError::DimensionMismatch { expected, found: d });
        }
        None if d == 0 => {
            return Err(EmError::InvalidParameter {
                name: "data",
                reason: "the data have no columns".into(),
            });
        }
        _ => {}
    }
    // Column-major scan (fast), then report the first offending row in row order.
    if x.iter().any(|v| !v.is_finite()) {
        for row in 0..n {
            for column in 0..d {
                let value = x[(row, column)];
                if !value.is_finite() {
                    return Err(EmError::NonFinite { row, column, value });
                }
            }
        }
    }
    Ok(())
}

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

/// Checks mixture weights: finite, > 0 and summing to 1 within 1e-8.
pub(crate) fn check_weights_sum(weights: &[f64]) -> Result<(), EmError> {
    if let Some((k, w)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w > 0.0))
    {
        return Err(EmError::InvalidParameter {
            name: "weights",
            reason: format!("weight of component {k} is {w}; every weight must be finite and > 0"),
        });
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > 1e-8 {
        return Err(EmError::InvalidParameter {
            name: "weights",
            reason: format!("weights sum to {sum}, not 1"),
        });
    }
    Ok(())
}
