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
    capacity
        .checked_mul(d)
        .filter(|&size| size <= isize::MAX as usize / 8)
        .ok_or_else(|| ReadError::TooLarge {
            origin: origin.clone(),
            lines: capacity,
            columns: d,
        })?;
    let mut x = DMatrix::zeros(capacity, d);
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
