//! Table columns into the matrix a model's E-step reads, with the checks that name the column.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::Float64Type;
use datafusion::error::DataFusionError;
use nalgebra::DMatrix;

/// The rows of `features` (one `Float64` array per feature, as the aggregate's signature casts
/// them) as an n × D matrix.
///
/// A `NULL` becomes NaN when the model takes missing values, and is an error naming the column
/// otherwise; so is a NaN or ±∞ value. `names` are the table's column names, for the errors.
pub(crate) fn matrix(
    features: &[ArrayRef],
    names: &[String],
    accepts_missing: bool,
) -> Result<DMatrix<f64>, DataFusionError> {
    if features.len() != names.len() {
        return Err(DataFusionError::Execution(format!(
            "the aggregate was given {} feature columns, the model has {}",
            features.len(),
            names.len()
        )));
    }
    let n = features.first().map_or(0, |a| a.len());
    let mut x = DMatrix::zeros(n, features.len());
    for (j, (array, name)) in features.iter().zip(names).enumerate() {
        let Some(values) = array.as_primitive_opt::<Float64Type>() else {
            return Err(DataFusionError::Execution(format!(
                "column `{name}` reached the aggregate as {}, not Float64",
                array.data_type()
            )));
        };
        let column = x.column_mut(j);
        for ((slot, value), i) in column.into_iter().zip(values.values().iter()).zip(0..) {
            let missing = values.is_null(i);
            if missing && !accepts_missing {
                return Err(DataFusionError::Execution(format!(
                    "column `{name}` holds a NULL; drop or fill such rows, or fit a model that takes missing values"
                )));
            }
            let allowed = missing || value.is_finite() || (accepts_missing && value.is_nan());
            if !allowed {
                return Err(DataFusionError::Execution(format!(
                    "column `{name}` holds the non-finite value {value}"
                )));
            }
            *slot = if missing { f64::NAN } else { *value };
        }
    }
    Ok(x)
}
