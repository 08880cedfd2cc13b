//! Parquet files: numeric columns read into memory (a [`Table`], through
//! [`table::read_selected`](crate::table::read_selected), which recognises a Parquet file by
//! its first bytes, `PAR1`) or streamed row group by row group ([`ParquetSource`]).
//!
//! Parquet is read with the `parquet` crate's column readers, without Arrow, behind this
//! crate's `parquet` feature (the `em` command line turns it on): a library that reads only
//! CSV does not build it. Without the feature, a Parquet file is still recognised, and
//! reading one is an error that says so rather than a complaint about bytes that are not
//! UTF-8 text. The codecs built in are Snappy, gzip, LZ4 and zstd (those pandas, pyarrow,
//! polars, DuckDB and Spark write by default); a file compressed otherwise (Brotli, LZO) is an
//! error naming the codec.
//!
//! What CSV has a rule for, Parquet has in its schema: column names, and a type per column.
//! So a column read must be numeric (`DOUBLE`, `FLOAT`, `INT32`, `INT64`, including unsigned
//! integers and decimals; encoding and compression do not matter, dictionary-encoded columns
//! included), or the read stops at once with [`ReadError::NotNumeric`] naming it, before any
//! row is read; columns left out by the [`Selection`] may hold anything. A null or a NaN is a
//! missing value, handled by [`ReadOptions::missing`](crate::ReadOptions::missing) as in CSV
//! (an error, a row dropped, or NaN in a row kept); ±∞ is an error. Rows have no lines: errors ([`ReadError::Value`]) and
//! [`Table::lines`](crate::Table::lines) count rows from the file's first, one-based.
//!
//! ```
//! use std::sync::Arc;
//! use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
//! use parquet::file::{properties::WriterProperties, writer::SerializedFileWriter};
//! use parquet::schema::parser::parse_message_type;
//!
//! // A small file: a float column, a nullable integer column and a text column.
//! let schema = "message m { required double x; optional int64 n; required binary name (UTF8); }";
//! let schema = Arc::new(parse_message_type(schema)?);
//! let mut bytes = Vec::new();
//! let mut w = SerializedFileWriter::new(&mut bytes, schema, Arc::new(WriterProperties::default()))?;
//! let mut rg = w.next_row_group()?;
//! let mut col = rg.next_column()?.unwrap();
//! col.typed::<DoubleType>().write_batch(&[0.5, 1.5, 2.5], None, None)?;
//! col.close()?;
//! let mut col = rg.next_column()?.unwrap();
//! // Definition level 0 is a null: the second row has none.
//! col.typed::<Int64Type>().write_batch(&[7, 9], Some(&[1, 0, 1]), None)?;
//! col.close()?;
//! let mut col = rg.next_column()?.unwrap();
//! let names: Vec<ByteArray> = ["a", "b", "c"].map(ByteArray::from).to_vec();
//! col.typed::<ByteArrayType>().write_batch(&names, None, None)?;
//! col.close()?;
//! rg.close()?;
//! w.close()?;
//!
//! use em_io::{Missing, ReadOptions, Selection};
//! let drop_name = Selection { columns: None, drop: vec!["name".into()] };
//! let drop_nulls = ReadOptions { missing: Missing::Drop, ..Default::default() };
//! let t = em_io::table::parse_bytes_selected(bytes.clone(), "m.parquet", &drop_nulls, &drop_name)?;
//! assert_eq!(t.columns, ["x", "n"]);
//! assert_eq!(t.x, nalgebra::dmatrix![0.5, 7.0; 2.5, 9.0]);
//! assert_eq!((t.dropped, t.lines.line(1)), (1, 3)); // the second kept row is the file's third
//!
//! // The text column, read: a typed error naming it.
//! let e = em_io::table::parse_bytes(bytes.clone(), "m.parquet", &drop_nulls).unwrap_err();
//! assert_eq!(e.to_string(), "m.parquet: column 3 (name) holds text, not numbers");
//!
//! // A null, by default: an error naming the row and the column.
//! let e = em_io::table::parse_bytes_selected(bytes, "m.parquet", &Default::default(), &drop_name)
//!     .unwrap_err();
//! assert!(e.to_string().starts_with("m.parquet: row 2, column 2 (n): missing value (null)"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::csv::ReadOptions;
use crate::error::ReadError;
use crate::select::Selection;
use crate::table::Table;

#[cfg(feature = "parquet")]
mod column;
#[cfg(feature = "parquet")]
mod memory;
#[cfg(feature = "parquet")]
mod schema;
#[cfg(feature = "parquet")]
mod source;
#[cfg(all(test, feature = "parquet"))]
mod tests;

#[cfg(feature = "parquet")]
pub use source::ParquetSource;

/// Whether `path` starts with the magic bytes of a Parquet file, `PAR1` (false when it cannot
/// be read). This does not need the `parquet` feature.
///
/// ```
/// let path = std::env::temp_dir().join(format!("em-io-is-parquet-{}.csv", std::process::id()));
/// std::fs::write(&path, "a,b\n1,2\n").unwrap();
/// assert!(!em_io::parquet::is_parquet_file(&path));
/// # std::fs::remove_file(&path).ok();
/// ```
pub fn is_parquet_file(path: impl AsRef<Path>) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == crate::input::PARQUET_MAGIC
}

/// The names of every column of a Parquet file, whatever their type, from its footer (what
/// `--columns` and `--drop` can name, and what a model's columns are matched against).
///
/// ```
/// # use std::sync::Arc;
/// # use parquet::file::{properties::WriterProperties, writer::SerializedFileWriter};
/// # let schema = "message m { required binary id (UTF8); optional double x; }";
/// # let schema = Arc::new(parquet::schema::parser::parse_message_type(schema)?);
/// let path = std::env::temp_dir().join(format!("em-io-names-{}.parquet", std::process::id()));
/// // … a file with a text column `id` and a number column `x` …
/// # let file = std::fs::File::create(&path)?;
/// # let w = SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::default()))?;
/// # w.close()?;
/// assert_eq!(em_io::parquet::column_names(&path)?, ["id", "x"]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "parquet")]
pub fn column_names(path: impl AsRef<Path>) -> Result<Vec<String>, ReadError> {
    source::column_names(path.as_ref())
}

/// Converts a Parquet file to the [binary format](crate::binary) chunk by chunk (never
/// holding the whole file), reading the columns `selection` chooses with `options` (missing
/// values); returns the rows written and the rows dropped for missing values.
#[cfg(feature = "parquet")]
pub fn parquet_to_binary(
    parquet: impl AsRef<Path>,
    binary: impl AsRef<Path>,
    options: &ReadOptions,
    selection: &Selection,
) -> Result<(usize, usize), em_core::EmError> {
    use em_core::ChunkSource;
    let mut source = ParquetSource::open_selected(parquet, options, selection)?;
    let mut writer = crate::BinaryWriter::create(binary, source.n_columns())?;
    source.rewind()?;
    while let Some(chunk) = source.next_chunk(1 << 16)? {
        writer.write_rows(&chunk)?;
    }
    let rows = writer.rows();
    writer.finish()?;
    Ok((rows, source.dropped_rows()))
}

/// Reads an open Parquet file whole into memory (what [`table::read_selected`](crate::table::read_selected)
/// does with one); `origin` names it in errors.
#[cfg(feature = "parquet")]
pub(crate) fn read_file(
    file: File,
    origin: &str,
    options: &ReadOptions,
    selection: &Selection,
) -> Result<Table, ReadError> {
    let source = ParquetSource::from_file(file, origin.to_string(), options, selection)?;
    memory::read_all(source)
}

/// Reads a Parquet file held in memory (standard input); `origin` names it in errors.
#[cfg(feature = "parquet")]
pub(crate) fn read_bytes(
    bytes: Vec<u8>,
    origin: &str,
    options: &ReadOptions,
    selection: &Selection,
) -> Result<Table, ReadError> {
    let source = ParquetSource::from_bytes(bytes, origin, options, selection)?;
    memory::read_all(source)
}

/// Without the `parquet` feature: an error saying the file is Parquet, which this build does
/// not read.
#[cfg(not(feature = "parquet"))]
pub(crate) fn read_file(
    _file: File,
    origin: &str,
    _options: &ReadOptions,
    _selection: &Selection,
) -> Result<Table, ReadError> {
    Err(not_built(origin))
}

/// Without the `parquet` feature: as [`read_file`].
#[cfg(not(feature = "parquet"))]
pub(crate) fn read_bytes(
    _bytes: Vec<u8>,
    origin: &str,
    _options: &ReadOptions,
    _selection: &Selection,
) -> Result<Table, ReadError> {
    Err(not_built(origin))
}

#[cfg(not(feature = "parquet"))]
fn not_built(origin: &str) -> ReadError {
    ReadError::Format {
        origin: origin.to_string(),
        reason: "a Parquet file, which this build cannot read (em-io's `parquet` feature is off)"
            .into(),
    }
}

#[cfg(all(test, not(feature = "parquet")))]
mod without_the_feature {
    #[test]
    fn a_parquet_file_is_recognised_and_refused_with_a_clear_error() {
        let bytes = b"PAR1\x15\x04 whatever follows PAR1".to_vec();
        let e = crate::table::parse_bytes(bytes, "t.parquet", &Default::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.parquet: a Parquet file, which this build cannot read (em-io's `parquet` feature \
             is off)"
        );
    }
}
