//! # em-io
//!
//! Reading data, for every model of the workspace and for the `em` command line. File formats
//! live here rather than in a model crate: a model fits a matrix, or a
//! [`ChunkSource`](em_core::ChunkSource) of matrices for data larger than memory, and does not
//! care where the rows came from; the next data feature (column selection, another delimiter,
//! missing values, another format) is written once here and serves every model.
//!
//! CSV has one set of rules ([`csv`]: header detection, field cleaning, [`csv::parse_record`])
//! and one set of errors ([`ReadError`]), shared by its two readers:
//!
//! | module | what it reads |
//! | --- | --- |
//! | [`table`] | a CSV file (or text, or standard input) whole into memory: a [`Table`] |
//! | [`csv`] | the CSV rules, and [`CsvSource`], a CSV file read chunk by chunk (streamed) |
//! | [`binary`] | a minimal binary table (`EMF64LE1`), much faster to stream than CSV |
//! | [`parquet`] | Parquet files' numeric columns, in memory or streamed (the `parquet` feature) |
//! | [`input`] | what a file holds from its first bytes (text, gzip, binary, Parquet); gzip decompression |
//!
//! Both CSV readers read the text in blocks of whole lines cut into pieces parsed in parallel
//! (a record is one line, so a cut never falls inside a quoted field), with an allocation-free
//! path for records of plain numbers; values are those of `f64::from_str`, and line numbers and
//! the first error in file order are those of reading line by line.
//!
//! [`table::read_with`] reads any of them into memory (CSV with [`ReadOptions`]: delimiter,
//! header, missing values); [`CsvSource::open_with`] streams CSV, plain or gzip-compressed,
//! and `ParquetSource::open_selected` streams a Parquet file.
//!
//! ```
//! use em_core::ChunkSource;
//! use em_io::{CsvSource, ReadError};
//!
//! let text = "x,y\n1,2\n\n3,4\n";
//!
//! // In memory: the matrix, column names and the line of every row.
//! let table = em_io::table::parse(text, "points.csv")?;
//! assert_eq!(table.columns, ["x", "y"]);
//! assert_eq!(table.x, nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]);
//! assert_eq!(table.lines.line(1), 4);
//!
//! // Streamed: the same rows, chunk by chunk (a file would use `CsvSource::open(path)`).
//! let mut csv = CsvSource::new(std::io::Cursor::new(text), "points.csv")?;
//! csv.rewind()?;
//! assert_eq!(csv.next_chunk(1)?.unwrap(), nalgebra::dmatrix![1.0, 2.0]);
//! assert_eq!(csv.next_chunk(1)?.unwrap(), nalgebra::dmatrix![3.0, 4.0]);
//!
//! // One parser, one set of errors.
//! let bad = "x,y\n1,2\n3,oops\n";
//! let e = em_io::table::parse(bad, "points.csv").unwrap_err();
//! assert_eq!(e.to_string(), r#"points.csv: line 3, column 2 (y): "oops" is not a number"#);
//! assert!(matches!(e, ReadError::Record { line: 3, column: 1, .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod binary;
pub mod csv;
mod error;
mod fast;
pub mod input;
pub mod parquet;
pub mod select;
pub mod table;

pub use binary::{BinarySource, BinaryWriter, csv_to_binary, is_binary_file};
pub use csv::{CsvSource, Delimiter, Missing, ReadOptions};
pub use error::{ReadError, ValueError};
#[cfg(feature = "parquet")]
pub use parquet::ParquetSource;
pub use parquet::is_parquet_file;
pub use select::{SelectError, Selection};
pub use table::{LineMap, Table};
