//! A Parquet file read whole into a [`Table`]: the streamed [`ParquetSource`] drained into one
//! matrix, so that the in-memory and the streamed readers cannot disagree on a value.

use nalgebra::DMatrix;

use super::ParquetSource;
use crate::error::ReadError;
use crate::table::{LineMap, Table};

/// Rows read at a time.
const BATCH: usize = 1 << 16;

/// Every row of `source` (from its start) in one matrix of the size the footer gives, cut to
/// the rows kept; [`Table::lines`] holds the file row (one-based) of every row kept.
pub(super) fn read_all(mut source: ParquetSource) -> Result<Table, ReadError> {
    let (capacity, d) = (source.n_rows(), source.n_columns());
    let origin = source.name().to_string();
    let too_large = || ReadError::TooLarge {
        origin: origin.clone(),
        lines: capacity,
        columns: d,
    };
    // The footer's count of rows sizes the matrix: an allocation that fails (a count too
    // large for this machine, or a damaged footer) is an error, not an abort.
    let size = capacity.checked_mul(d).ok_or_else(too_large)?;
    let mut values: Vec<f64> = Vec::new();
    values.try_reserve_exact(size).map_err(|_| too_large())?;
    values.resize(size, 0.0);
    let mut x = DMatrix::from_vec(capacity, d, values);
    let mut lines = LineMap::default();
    let mut rows = Vec::new();
    let mut n = 0;
    while let Some(chunk) = source.read_chunk(BATCH, Some(&mut rows))? {
        let m = chunk.nrows();
        if n + m > capacity {
            return Err(ReadError::Format {
                origin,
                reason: format!("more rows than the {capacity} the footer gives (a damaged file?)"),
            });
        }
        x.rows_mut(n, m).copy_from(&chunk);
        for (k, &row) in rows.iter().enumerate() {
            lines.push(n + k, row + 1);
        }
        n += m;
    }
    let dropped = source.dropped_rows();
    if n == 0 && dropped == 0 {
        return Err(ReadError::Empty { origin });
    }
    if n == 0 {
        return Err(ReadError::AllDropped { origin, dropped });
    }
    if n < capacity {
        x = x.rows(0, n).into_owned();
    }
    Ok(Table {
        source: origin,
        columns: source.columns().to_vec(),
        has_header: true,
        x,
        lines,
        dropped,
    })
}
