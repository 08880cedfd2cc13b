//! [`ParquetSource`]: a Parquet file read row group by row group, a batch of rows at a time,
//! as a [`ChunkSource`] for streamed fits. The in-memory reader drains the same source, so
//! both read every value by one code path.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use ::parquet::file::reader::{FileReader, SerializedFileReader};
use em_core::{ChunkSource, EmError};
use nalgebra::DMatrix;

use super::column::Column;
use super::schema::{self, Kind};
use crate::csv::{Missing, ReadOptions};
use crate::error::{ReadError, ValueError};
use crate::select::Selection;

/// A column read from the file.
#[derive(Debug, Clone)]
struct Selected {
    /// Its zero-based position among the file's (leaf) columns.
    index: usize,
    name: String,
    kind: Kind,
    /// The definition level of a present value (0: the column cannot hold nulls).
    max_def: i16,
}

/// A Parquet file read chunk by chunk: a [`ChunkSource`] of `DMatrix<f64>` chunks of exactly
/// the requested number of rows (but the last), which may span row groups.
///
/// Numeric columns are read (`DOUBLE`, `FLOAT`, `INT32`, `INT64`, whatever their encoding or
/// compression, dictionary-encoded included; unsigned integers and decimals as their value);
/// choosing a text, boolean, date or timestamp column is a [`ReadError::NotNumeric`] when
/// the source is opened, before any row is read. A null or NaN is a missing value, handled as
/// [`ReadOptions::missing`] says (an error, a row dropped, or NaN in a row kept) (the delimiter and header options mean nothing here: a
/// Parquet file has typed, named columns). Errors name the file, the row (counted from the
/// file's first) and the column.
///
/// ```
/// use std::sync::Arc;
/// use em_core::ChunkSource;
/// use em_io::parquet::ParquetSource;
/// use parquet::data_type::DoubleType;
/// use parquet::file::{properties::WriterProperties, writer::SerializedFileWriter};
/// use parquet::schema::parser::parse_message_type;
///
/// // A file of one column, `x`, in two row groups.
/// let schema = Arc::new(parse_message_type("message m { required double x; }")?);
/// let mut bytes = Vec::new();
/// let mut w = SerializedFileWriter::new(&mut bytes, schema, Arc::new(WriterProperties::default()))?;
/// for group in [[1.0, 2.0], [3.0, 4.0]] {
///     let mut rg = w.next_row_group()?;
///     if let Some(mut col) = rg.next_column()? {
///         col.typed::<DoubleType>().write_batch(&group, None, None)?;
///         col.close()?;
///     }
///     rg.close()?;
/// }
/// w.close()?;
///
/// let mut src = ParquetSource::from_bytes(bytes, "x.parquet", &Default::default(), &Default::default())?;
/// assert_eq!((src.n_rows(), src.columns()), (4, &["x".to_string()][..]));
/// src.rewind()?;
/// assert_eq!(src.next_chunk(3)?.unwrap(), nalgebra::dmatrix![1.0; 2.0; 3.0]);
/// assert_eq!(src.next_chunk(3)?.unwrap(), nalgebra::dmatrix![4.0]);
/// assert_eq!(src.next_chunk(3)?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParquetSource {
    file: Box<dyn FileReader>,
    origin: String,
    selected: Vec<Selected>,
    names: Vec<String>,
    missing: Missing,
    n_rows: usize,
    /// The next row group to open.
    group: usize,
    /// The readers of the columns read, in the row group being read.
    readers: Vec<Column>,
    /// Rows of that row group not read yet.
    left: usize,
    /// The file row (zero-based) of the next row read.
    row: usize,
    /// Rows dropped for missing values since the last rewind.
    dropped: usize,
    /// Whether a read failed since the last rewind.
    failed: bool,
    /// One batch: each column's values and whether each is present (not null).
    values: Vec<Vec<f64>>,
    present: Vec<Vec<bool>>,
    /// The chunk being built, column by column.
    out: Vec<Vec<f64>>,
}

impl std::fmt::Debug for ParquetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSource")
            .field("origin", &self.origin)
            .field("columns", &self.names)
            .field("n_rows", &self.n_rows)
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

impl ParquetSource {
    /// Opens a Parquet file, reading its footer (schema and row groups) only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        Self::open_selected(path, &ReadOptions::default(), &Selection::default())
    }

    /// [`ParquetSource::open`], reading only the columns `selection` chooses
    /// ([`crate::select`]), with missing values handled as `options` says.
    pub fn open_selected(
        path: impl AsRef<Path>,
        options: &ReadOptions,
        selection: &Selection,
    ) -> Result<Self, ReadError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let file = File::open(path).map_err(|e| ReadError::Open {
            origin: origin.clone(),
            reason: e.to_string(),
        })?;
        Self::from_file(file, origin, options, selection)
    }

    /// A source over an open file; `origin` names it in errors.
    pub(crate) fn from_file(
        file: File,
        origin: String,
        options: &ReadOptions,
        selection: &Selection,
    ) -> Result<Self, ReadError> {
        let len = file.metadata().map_or(u64::MAX, |m| m.len());
        match guard(&origin, || Ok(SerializedFileReader::new(file)))? {
            Ok(reader) => Self::new(Box::new(reader), len, origin, options, selection),
            Err(e) => Err(not_parquet(origin, e)),
        }
    }

    /// A source over a whole Parquet file held in memory (standard input, say); `name` names
    /// it in errors.
    pub fn from_bytes(
        bytes: Vec<u8>,
        name: impl Into<String>,
        options: &ReadOptions,
        selection: &Selection,
    ) -> Result<Self, ReadError> {
        let origin = name.into();
        let len = bytes.len() as u64;
        let bytes = bytes::Bytes::from(bytes);
        match guard(&origin, || Ok(SerializedFileReader::new(bytes)))? {
            Ok(reader) => Self::new(Box::new(reader), len, origin, options, selection),
            Err(e) => Err(not_parquet(origin, e)),
        }
    }

    /// The source of `file`, `len` bytes long, after checking that the footer's column chunks
    /// lie within those bytes (the `parquet` crate asserts it, and a damaged footer must be
    /// an error, not a panic).
    fn new(
        file: Box<dyn FileReader>,
        len: u64,
        origin: String,
        options: &ReadOptions,
        selection: &Selection,
    ) -> Result<Self, ReadError> {
        let metadata = file.metadata().file_metadata();
        let schema = metadata.schema_descr();
        let all: Vec<String> = schema.columns().iter().map(|c| schema::name(c)).collect();
        let keep = selection.resolve(&all).map_err(|error| ReadError::Select {
            origin: origin.clone(),
            error,
        })?;
        let mut selected = Vec::with_capacity(keep.len());
        for index in keep {
            let column = schema.column(index);
            let name = all[index].clone();
            let kind = schema::kind(&column).map_err(|kind| ReadError::NotNumeric {
                origin: origin.clone(),
                column: index,
                label: name.clone(),
                kind: kind.to_string(),
            })?;
            selected.push(Selected {
                index,
                name,
                kind,
                max_def: column.max_def_level(),
            });
        }
        let n_rows = usize::try_from(metadata.num_rows()).map_err(|_| ReadError::Format {
            origin: origin.clone(),
            reason: format!("the footer gives {} rows", metadata.num_rows()),
        })?;
        if n_rows == 0 {
            return Err(ReadError::Empty { origin });
        }
        check_chunks(file.as_ref(), len, &selected).map_err(|reason| ReadError::Format {
            origin: origin.clone(),
            reason,
        })?;
        let d = selected.len();
        Ok(ParquetSource {
            file,
            origin,
            names: selected.iter().map(|s| s.name.clone()).collect(),
            selected,
            missing: options.missing,
            n_rows,
            group: 0,
            readers: Vec::with_capacity(d),
            left: 0,
            row: 0,
            dropped: 0,
            failed: false,
            values: vec![Vec::new(); d],
            present: vec![Vec::new(); d],
            out: vec![Vec::new(); d],
        })
    }

    /// The names of the columns read, in output order (a nested field is `group.field`).
    pub fn columns(&self) -> &[String] {
        &self.names
    }

    /// Number of columns read.
    pub fn n_columns(&self) -> usize {
        self.names.len()
    }

    /// Number of rows in the file, from its footer (rows dropped for missing values included).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Rows dropped for missing values ([`Missing::Drop`]) since the last rewind: after a whole
    /// pass, those of the file.
    pub fn dropped_rows(&self) -> usize {
        self.dropped
    }

    /// The name used in errors.
    pub fn name(&self) -> &str {
        &self.origin
    }

    /// Opens the readers of the next row group that has rows; `false` after the last.
    fn next_group(&mut self) -> Result<bool, ReadError> {
        while self.group < self.file.num_row_groups() {
            let g = self.group;
            self.group += 1;
            let group = self
                .file
                .get_row_group(g)
                .map_err(|e| decode_error(&self.origin, format!("row group {g}"), e))?;
            let rows = group.metadata().num_rows();
            let Ok(rows @ 1..) = usize::try_from(rows) else {
                continue;
            };
            self.readers.clear();
            for s in &self.selected {
                let reader = group
                    .get_column_reader(s.index)
                    .map_err(|e| decode_error(&self.origin, column_label(s), e))?;
                let column =
                    Column::new(reader, s.kind, s.max_def).ok_or_else(|| ReadError::Format {
                        origin: self.origin.clone(),
                        reason: format!(
                            "{}: the stored type does not match the schema",
                            column_label(s)
                        ),
                    })?;
                self.readers.push(column);
            }
            self.left = rows;
            return Ok(true);
        }
        Ok(false)
    }

    /// The next chunk of up to `max_obs` rows (at least one), or `None` at the end; when
    /// `rows` is given, it is set to the file row (zero-based) of every row of the chunk.
    pub(crate) fn read_chunk(
        &mut self,
        max_obs: usize,
        rows: Option<&mut Vec<usize>>,
    ) -> Result<Option<DMatrix<f64>>, ReadError> {
        if self.failed {
            return Err(ReadError::Format {
                origin: self.origin.clone(),
                reason: "read again after an error without a rewind".into(),
            });
        }
        let origin = self.origin.clone();
        let read = guard(&origin, || self.read_rows(max_obs, rows));
        // Whatever state the readers were left in, the next read starts from a rewind.
        self.failed = read.is_err();
        read
    }

    /// [`ParquetSource::read_chunk`], unguarded.
    fn read_rows(
        &mut self,
        max_obs: usize,
        mut rows: Option<&mut Vec<usize>>,
    ) -> Result<Option<DMatrix<f64>>, ReadError> {
        let max_obs = max_obs.max(1);
        if let Some(rows) = rows.as_deref_mut() {
            rows.clear();
        }
        for out in &mut self.out {
            out.clear();
        }
        let mut n = 0;
        while n < max_obs {
            if self.left == 0 {
                if self.next_group()? {
                    continue;
                }
                break;
            }
            let want = (max_obs - n).min(self.left);
            self.read_batch(want)?;
            for i in 0..want {
                if self.check_row(i)? {
                    for (out, values) in self.out.iter_mut().zip(&self.values) {
                        out.push(values[i]);
                    }
                    if let Some(rows) = rows.as_deref_mut() {
                        rows.push(self.row + i);
                    }
                    n += 1;
                } else {
                    self.dropped += 1;
                }
            }
            self.row += want;
            self.left -= want;
        }
        if n == 0 {
            return Ok(None);
        }
        let d = self.out.len();
        let values = self.out.iter().flat_map(|c| c.iter().copied());
        Ok(Some(DMatrix::from_iterator(n, d, values)))
    }

    /// Reads the next `want` rows of every column read into the batch buffers.
    fn read_batch(&mut self, want: usize) -> Result<(), ReadError> {
        let columns = self.readers.iter_mut().zip(&self.selected);
        let buffers = self.values.iter_mut().zip(&mut self.present);
        for ((reader, s), (values, present)) in columns.zip(buffers) {
            let read = reader
                .read(want, values, present)
                .map_err(|e| decode_error(&self.origin, column_label(s), e))?;
            if read < want {
                return Err(ReadError::Format {
                    origin: self.origin.clone(),
                    reason: format!(
                        "{}: {read} values where the row group has {want} more rows \
                         (a damaged file?)",
                        column_label(s)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Whether row `i` of the batch is kept: an infinity is an error; a missing value (null or
    /// NaN) is an error, drops the row, or is kept as NaN, as [`Missing`] says.
    fn check_row(&self, i: usize) -> Result<bool, ReadError> {
        let mut missing = None;
        for (j, s) in self.selected.iter().enumerate() {
            let (value, present) = (self.values[j][i], self.present[j][i]);
            if !present || value.is_nan() {
                missing = missing.or(Some((s, ValueError::Missing { null: !present })));
            } else if value.is_infinite() {
                return Err(self.value_error(i, s, ValueError::NonFinite { value }));
            }
        }
        let Some((s, error)) = missing else {
            return Ok(true);
        };
        match self.missing {
            Missing::Error => Err(self.value_error(i, s, error)),
            Missing::Drop => Ok(false),
            // The batch holds NaN for a null already.
            Missing::Keep => Ok(true),
        }
    }

    #[cold]
    fn value_error(&self, i: usize, s: &Selected, error: ValueError) -> ReadError {
        ReadError::Value {
            origin: self.origin.clone(),
            row: self.row + i,
            column: s.index,
            label: s.name.clone(),
            error,
        }
    }
}

impl ChunkSource for ParquetSource {
    type Chunk = DMatrix<f64>;

    fn rewind(&mut self) -> Result<(), EmError> {
        self.group = 0;
        self.readers.clear();
        self.left = 0;
        self.row = 0;
        self.dropped = 0;
        self.failed = false;
        Ok(())
    }

    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        Ok(self.read_chunk(max_obs, None)?)
    }
}

/// Runs `f`, turning a panic of the `parquet` crate on damaged data into an error naming
/// `origin`: the decoder asserts some invariants of the bytes it reads, and a damaged file is
/// bad input, not a bug that may end the process.
fn guard<T>(origin: &str, f: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ReadError::Format {
            origin: origin.to_string(),
            reason: "the Parquet decoder failed on damaged data".into(),
        })
    })
}

/// Checks that the row groups add up to the footer's rows, that each has the schema's columns,
/// and that the chunks of the columns read lie within the file's `len` bytes.
fn check_chunks(file: &dyn FileReader, len: u64, selected: &[Selected]) -> Result<(), String> {
    let metadata = file.metadata();
    let width = metadata.file_metadata().schema_descr().num_columns();
    let rows = metadata
        .row_groups()
        .iter()
        .try_fold(0i64, |sum, g| sum.checked_add(g.num_rows().max(0)));
    if rows != Some(metadata.file_metadata().num_rows()) {
        return Err(format!(
            "the row groups do not add up to the {} rows of the footer (a damaged file?)",
            metadata.file_metadata().num_rows()
        ));
    }
    for (g, group) in metadata.row_groups().iter().enumerate() {
        if group.num_columns() != width {
            return Err(format!(
                "row group {g} has {} columns where the schema has {width} (a damaged file?)",
                group.num_columns()
            ));
        }
        for s in selected {
            let chunk = group.column(s.index);
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or_else(|| chunk.data_page_offset());
            let size = chunk.compressed_size();
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(size).ok())
                .and_then(|(start, size)| start.checked_add(size))
                .is_some_and(|end| end <= len)
                && chunk.data_page_offset() >= 0;
            if !inside {
                return Err(format!(
                    "row group {g}, {}: the column's data lies outside the file (a damaged \
                     file?)",
                    column_label(s)
                ));
            }
        }
    }
    Ok(())
}

/// [`column_names`](super::column_names): the footer only.
pub(super) fn column_names(path: &Path) -> Result<Vec<String>, ReadError> {
    let origin = path.display().to_string();
    let file = File::open(path).map_err(|e| ReadError::Open {
        origin: origin.clone(),
        reason: e.to_string(),
    })?;
    let reader = guard(&origin, || Ok(SerializedFileReader::new(file)))?
        .map_err(|e| not_parquet(origin, e))?;
    let schema = reader.metadata().file_metadata().schema_descr();
    Ok(schema.columns().iter().map(|c| schema::name(c)).collect())
}

/// `column 3 (name)`, as decoding errors name a column.
fn column_label(s: &Selected) -> String {
    format!("column {} ({})", s.index + 1, s.name)
}

fn not_parquet(origin: String, e: ::parquet::errors::ParquetError) -> ReadError {
    ReadError::Format {
        origin,
        reason: format!("not a readable Parquet file: {e}"),
    }
}

fn decode_error(origin: &str, what: String, e: ::parquet::errors::ParquetError) -> ReadError {
    ReadError::Format {
        origin: origin.to_string(),
        reason: format!("{what}: cannot decode: {e}"),
    }
}
