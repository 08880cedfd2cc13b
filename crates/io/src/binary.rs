//! A minimal binary format for numeric tables, much faster to stream than CSV (no parsing).
//!
//! # Format
//!
//! | bytes | content |
//! | --- | --- |
//! | 0..8 | the magic bytes `EMF64LE1` (ASCII) |
//! | 8..16 | the number of columns D, an unsigned 64-bit little-endian integer, D ≥ 1 |
//! | 16.. | the rows, one after another, each D IEEE-754 `f64` values in little-endian order |
//!
//! The number of rows is implied by the file length, which must be 16 + 8·D·N bytes. A NaN
//! is a missing value; ±∞ is refused by the [`BinaryWriter`] and by the [`BinarySource`],
//! which checks every value it reads and treats a NaN as its [`Missing`] option says
//! (an error by default, as for CSV). Write one with [`BinaryWriter`] or convert a CSV file with
//! [`csv_to_binary`] (or `em convert data.csv data.f64`).

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use em_core::{ChunkSource, EmError};

use crate::csv::Missing;
use nalgebra::DMatrix;

use crate::csv::{CsvSource, ReadOptions};

/// The first eight bytes of every file of this format.
pub const MAGIC: [u8; 8] = *b"EMF64LE1";

/// Header length in bytes: the magic and the number of columns.
pub const HEADER_LEN: u64 = 16;

fn io_error(name: &str, reason: String) -> EmError {
    EmError::Io {
        origin: name.to_string(),
        line: None,
        column: None,
        reason,
    }
}

/// A binary table (see the [module docs](self) for the format) read chunk by chunk: a
/// [`ChunkSource`] of `DMatrix<f64>` chunks of exactly the requested number of rows (but the
/// last). ±∞ is an [`EmError::NonFinite`] with the global (0-based) row and column; so is a
/// NaN (a missing value) unless [`with_missing`](Self::with_missing) says to drop or keep
/// it.
///
/// ```
/// use em_core::ChunkSource;
/// use em_io::binary::{BinarySource, BinaryWriter};
/// use std::io::Cursor;
///
/// let mut w = BinaryWriter::new(Cursor::new(Vec::new()), 2, "mem")?;
/// w.write_rows(&nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0; 5.0, 6.0])?;
/// let bytes = w.finish()?.into_inner();
/// assert_eq!(bytes.len(), 16 + 3 * 2 * 8);
///
/// let mut src = BinarySource::new(Cursor::new(bytes), "mem")?;
/// assert_eq!((src.n_rows(), src.n_columns()), (3, 2));
/// src.rewind()?;
/// assert_eq!(src.next_chunk(2)?.unwrap(), nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]);
/// assert_eq!(src.next_chunk(2)?.unwrap(), nalgebra::dmatrix![5.0, 6.0]);
/// assert_eq!(src.next_chunk(2)?, None);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug)]
pub struct BinarySource<R> {
    reader: R,
    name: String,
    n_columns: usize,
    n_rows: usize,
    row: usize,
    bytes: Vec<u8>,
    missing: Missing,
    dropped: usize,
}

impl BinarySource<File> {
    /// Opens a binary table file, checking its header and length.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EmError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| io_error(&name, format!("cannot open: {e}")))?;
        BinarySource::new(file, name)
    }
}

/// Whether `path` starts with the magic bytes of the binary format (false when it cannot be
/// read).
pub fn is_binary_file(path: impl AsRef<Path>) -> bool {
    let mut magic = [0u8; 8];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == MAGIC
}

impl<R: Read + Seek> BinarySource<R> {
    /// A source reading `reader` (from its start); `name` names it in errors. Checks the magic
    /// bytes, the number of columns and that the length is a whole number of rows.
    pub fn new(mut reader: R, name: impl Into<String>) -> Result<Self, EmError> {
        let name = name.into();
        let len = reader
            .seek(SeekFrom::End(0))
            .and_then(|len| reader.seek(SeekFrom::Start(0)).map(|_| len))
            .map_err(|e| io_error(&name, format!("cannot seek: {e}")))?;
        if len == 0 {
            return Err(io_error(
                &name,
                "the file is empty (no header, no data rows)".into(),
            ));
        }
        let mut header = [0u8; HEADER_LEN as usize];
        if len < HEADER_LEN {
            return Err(io_error(
                &name,
                format!("not an EMF64LE1 table: {len} bytes, shorter than the 16-byte header"),
            ));
        }
        reader
            .read_exact(&mut header)
            .map_err(|e| io_error(&name, format!("cannot read the header: {e}")))?;
        if header[..8] != MAGIC {
            return Err(io_error(
                &name,
                "not an EMF64LE1 table (the first 8 bytes are not \"EMF64LE1\")".into(),
            ));
        }
        let mut d = [0u8; 8];
        d.copy_from_slice(&header[8..]);
        let d = u64::from_le_bytes(d);
        if d == 0 || d > (1 << 24) {
            return Err(io_error(
                &name,
                format!("the header gives {d} columns; expected between 1 and 2^24"),
            ));
        }
        let row_bytes = 8 * d;
        let body = len - HEADER_LEN;
        if !body.is_multiple_of(row_bytes) {
            return Err(io_error(
                &name,
                format!(
                    "truncated: {body} data bytes are not a whole number of {d}-column rows ({} bytes left over)",
                    body % row_bytes
                ),
            ));
        }
        let n_rows = usize::try_from(body / row_bytes)
            .map_err(|_| io_error(&name, "too many rows for this platform".into()))?;
        Ok(BinarySource {
            reader,
            name,
            n_columns: d as usize,
            n_rows,
            row: 0,
            bytes: Vec::new(),
            missing: Missing::Error,
            dropped: 0,
        })
    }

    /// What a NaN (a missing value) does: an [`EmError::NonFinite`] error
    /// ([`Missing::Error`], the default), the row dropped ([`Missing::Drop`]; chunks are
    /// still filled to the requested size) or kept as NaN ([`Missing::Keep`]).
    ///
    /// ```
    /// use em_core::ChunkSource;
    /// use em_io::binary::{BinarySource, BinaryWriter};
    /// use em_io::Missing;
    /// use std::io::Cursor;
    ///
    /// let mut w = BinaryWriter::new(Cursor::new(Vec::new()), 2, "mem")?;
    /// w.write_rows(&nalgebra::dmatrix![1.0, f64::NAN; 3.0, 4.0])?;
    /// let bytes = w.finish()?.into_inner();
    /// let mut src = BinarySource::new(Cursor::new(bytes.clone()), "mem")?;
    /// assert!(src.next_chunk(2).is_err());
    /// let mut src = BinarySource::new(Cursor::new(bytes), "mem")?.with_missing(Missing::Drop);
    /// assert_eq!(src.next_chunk(2)?.unwrap(), nalgebra::dmatrix![3.0, 4.0]);
    /// assert_eq!(src.dropped_rows(), 1);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn with_missing(mut self, missing: Missing) -> Self {
        self.missing = missing;
        self
    }

    /// Rows dropped for missing values since the last rewind.
    pub fn dropped_rows(&self) -> usize {
        self.dropped
    }

    /// Number of columns (features), from the header.
    pub fn n_columns(&self) -> usize {
        self.n_columns
    }

    /// Number of rows (observations), from the file length.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
}

impl<R: Read + Seek> ChunkSource for BinarySource<R> {
    type Chunk = DMatrix<f64>;

    fn rewind(&mut self) -> Result<(), EmError> {
        self.reader
            .seek(SeekFrom::Start(HEADER_LEN))
            .map_err(|e| io_error(&self.name, format!("cannot seek: {e}")))?;
        self.row = 0;
        self.dropped = 0;
        Ok(())
    }

    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        let want = max_obs.max(1);
        let d = self.n_columns;
        // Row-major values of the rows kept; with rows dropped, read on until `want` rows.
        let mut kept: Vec<f64> = Vec::with_capacity(want.min(self.n_rows - self.row) * d);
        let mut values = vec![0.0; d];
        while kept.len() / d < want && self.row < self.n_rows {
            let n = (want - kept.len() / d).min(self.n_rows - self.row);
            self.bytes.resize(n * d * 8, 0);
            self.reader.read_exact(&mut self.bytes).map_err(|e| {
                io_error(
                    &self.name,
                    format!("cannot read rows {}..{}: {e}", self.row, self.row + n),
                )
            })?;
            for (i, row) in self.bytes.chunks_exact(8 * d).enumerate() {
                let mut has_missing = false;
                for (j, b) in row.chunks_exact(8).enumerate() {
                    let mut v = [0u8; 8];
                    v.copy_from_slice(b);
                    let value = f64::from_le_bytes(v);
                    let missing = value.is_nan() && self.missing != Missing::Error;
                    if !value.is_finite() && !missing {
                        return Err(EmError::NonFinite {
                            row: self.row + i,
                            column: j,
                            value,
                        });
                    }
                    has_missing |= missing;
                    values[j] = value;
                }
                if has_missing && self.missing == Missing::Drop {
                    self.dropped += 1;
                } else {
                    kept.extend_from_slice(&values);
                }
            }
            self.row += n;
        }
        if kept.is_empty() {
            return Ok(None);
        }
        Ok(Some(DMatrix::from_row_slice(kept.len() / d, d, &kept)))
    }
}

/// Writes a binary table (see the [module docs](self)): the header at creation, then rows.
/// A NaN is written as a missing value; ±∞ and rows of the wrong width are refused.
#[derive(Debug)]
pub struct BinaryWriter<W: Write> {
    writer: W,
    name: String,
    n_columns: usize,
    rows: usize,
}

impl BinaryWriter<BufWriter<File>> {
    /// Creates (or truncates) `path` and writes the header for `n_columns` columns.
    pub fn create(path: impl AsRef<Path>, n_columns: usize) -> Result<Self, EmError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file =
            File::create(path).map_err(|e| io_error(&name, format!("cannot create: {e}")))?;
        BinaryWriter::new(BufWriter::with_capacity(1 << 20, file), n_columns, name)
    }
}

impl<W: Write> BinaryWriter<W> {
    /// Writes the header for `n_columns ≥ 1` columns to `writer`; `name` names it in errors.
    pub fn new(mut writer: W, n_columns: usize, name: impl Into<String>) -> Result<Self, EmError> {
        let name = name.into();
        if n_columns == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_columns",
                reason: "a table needs at least one column".into(),
            });
        }
        writer
            .write_all(&MAGIC)
            .and_then(|_| writer.write_all(&(n_columns as u64).to_le_bytes()))
            .map_err(|e| io_error(&name, format!("cannot write: {e}")))?;
        Ok(BinaryWriter {
            writer,
            name,
            n_columns,
            rows: 0,
        })
    }

    /// Appends one row of `n_columns` values: finite, or NaN for a missing value.
    pub fn write_row(&mut self, row: &[f64]) -> Result<(), EmError> {
        if row.len() != self.n_columns {
            return Err(EmError::DimensionMismatch {
                expected: self.n_columns,
                found: row.len(),
            });
        }
        if let Some((column, &value)) = row.iter().enumerate().find(|(_, v)| v.is_infinite()) {
            return Err(EmError::NonFinite {
                row: self.rows,
                column,
                value,
            });
        }
        for v in row {
            self.writer
                .write_all(&v.to_le_bytes())
                .map_err(|e| io_error(&self.name, format!("cannot write: {e}")))?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Appends every row of `x`.
    pub fn write_rows(&mut self, x: &DMatrix<f64>) -> Result<(), EmError> {
        let mut row = vec![0.0; x.ncols()];
        for i in 0..x.nrows() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = x[(i, j)];
            }
            self.write_row(&row)?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> Result<W, EmError> {
        self.writer
            .flush()
            .map_err(|e| io_error(&self.name, format!("cannot write: {e}")))?;
        Ok(self.writer)
    }
}

/// Converts a numeric CSV file to the binary format chunk by chunk (never holding the whole
/// file), returning the number of rows written. Errors name the CSV line and column.
pub fn csv_to_binary(csv: impl AsRef<Path>, binary: impl AsRef<Path>) -> Result<usize, EmError> {
    csv_to_binary_with(csv, binary, &ReadOptions::default()).map(|(rows, _)| rows)
}

/// [`csv_to_binary`] reading the CSV file (plain or gzip-compressed) with [`ReadOptions`];
/// returns the rows written and the rows dropped for missing values.
///
/// ```
/// use em_io::{Missing, ReadOptions};
/// let dir = std::env::temp_dir();
/// let (csv, bin) = (dir.join(format!("em-io-conv-{}.csv", std::process::id())),
///                   dir.join(format!("em-io-conv-{}.f64", std::process::id())));
/// std::fs::write(&csv, "a;b\n1;2\nNA;3\n").unwrap();
/// let options = ReadOptions { missing: Missing::Drop, ..Default::default() };
/// assert_eq!(em_io::binary::csv_to_binary_with(&csv, &bin, &options)?, (1, 1));
/// # std::fs::remove_file(&csv).ok(); std::fs::remove_file(&bin).ok();
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn csv_to_binary_with(
    csv: impl AsRef<Path>,
    binary: impl AsRef<Path>,
    options: &ReadOptions,
) -> Result<(usize, usize), EmError> {
    let mut source = CsvSource::open_with(csv, options)?;
    let mut writer = BinaryWriter::create(binary, source.n_columns())?;
    source.rewind()?;
    while let Some(chunk) = source.next_chunk(1 << 16)? {
        writer.write_rows(&chunk)?;
    }
    let rows = writer.rows();
    writer.finish()?;
    Ok((rows, source.dropped_rows()))
}
