//! One Parquet column of one row group, read a batch of rows at a time into `f64` values and
//! a flag per row saying whether the value is there (not null). The column reader of the
//! `parquet` crate decodes pages, dictionaries and compression; this only converts.

use ::parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use ::parquet::data_type::{DataType, DoubleType, FloatType, Int32Type, Int64Type};
use ::parquet::errors::ParquetError;

use super::schema::{Integer, Kind};

/// The typed reader of one column chunk, with its reusable buffers.
pub(super) struct Column {
    reader: Typed,
    /// The definition level of a present (non-null) value: 0 for a required column.
    max_def: i16,
    defs: Vec<i16>,
}

enum Typed {
    Double(ColumnReaderImpl<DoubleType>, Vec<f64>),
    Float(ColumnReaderImpl<FloatType>, Vec<f32>),
    Int32(ColumnReaderImpl<Int32Type>, Vec<i32>, Integer),
    Int64(ColumnReaderImpl<Int64Type>, Vec<i64>, Integer),
}

impl Column {
    /// The reader for a column of `kind` (checked against the schema by
    /// [`schema::kind`](super::schema::kind)); `None` if the stored type is not that kind.
    pub(super) fn new(reader: ColumnReader, kind: Kind, max_def: i16) -> Option<Column> {
        let reader = match (reader, kind) {
            (ColumnReader::DoubleColumnReader(r), Kind::Double) => Typed::Double(r, Vec::new()),
            (ColumnReader::FloatColumnReader(r), Kind::Float) => Typed::Float(r, Vec::new()),
            (ColumnReader::Int32ColumnReader(r), Kind::Int32(i)) => Typed::Int32(r, Vec::new(), i),
            (ColumnReader::Int64ColumnReader(r), Kind::Int64(i)) => Typed::Int64(r, Vec::new(), i),
            _ => return None,
        };
        Some(Column {
            reader,
            max_def,
            defs: Vec::new(),
        })
    }

    /// Reads the next `n` rows: `values[i]` is row i's value (NaN for a null) and
    /// `present[i]` whether it is not null; both are replaced. Returns the rows read, fewer
    /// than `n` only when the column chunk ends early.
    pub(super) fn read(
        &mut self,
        n: usize,
        values: &mut Vec<f64>,
        present: &mut Vec<bool>,
    ) -> Result<usize, ParquetError> {
        let (max_def, defs) = (self.max_def, &mut self.defs);
        match &mut self.reader {
            Typed::Double(r, buf) => fill(r, n, max_def, defs, buf, values, present, |v| v),
            Typed::Float(r, buf) => fill(r, n, max_def, defs, buf, values, present, f64::from),
            Typed::Int32(r, buf, i) => {
                let i = *i;
                fill(r, n, max_def, defs, buf, values, present, |v| {
                    i.convert_i32(v)
                })
            }
            Typed::Int64(r, buf, i) => {
                let i = *i;
                fill(r, n, max_def, defs, buf, values, present, |v| {
                    i.convert_i64(v)
                })
            }
        }
    }
}

/// [`Column::read`] for one stored type `T`, converting each value with `convert`.
#[allow(clippy::too_many_arguments)]
fn fill<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    n: usize,
    max_def: i16,
    defs: &mut Vec<i16>,
    buf: &mut Vec<T::T>,
    values: &mut Vec<f64>,
    present: &mut Vec<bool>,
    convert: impl Fn(T::T) -> f64,
) -> Result<usize, ParquetError>
where
    T::T: Copy,
{
    defs.clear();
    buf.clear();
    values.clear();
    present.clear();
    let (rows, _, _) = reader.read_records(n, Some(&mut *defs), None, buf)?;
    if max_def == 0 {
        // A required column: one value per row, no definition levels.
        values.extend(buf.iter().take(rows).map(|&v| convert(v)));
        present.resize(values.len(), true);
        return Ok(values.len());
    }
    let mut stored = buf.iter();
    for &d in defs.iter().take(rows) {
        if d < max_def {
            values.push(f64::NAN);
            present.push(false);
            continue;
        }
        let Some(&v) = stored.next() else {
            return Err(ParquetError::General(
                "fewer values than the definition levels announce".into(),
            ));
        };
        values.push(convert(v));
        present.push(true);
    }
    Ok(values.len())
}
