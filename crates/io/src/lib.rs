//! # em-io
//!
//! Reading data, for every model of the workspace and for the `em` command line. File formats
//! live here rather than in a model crate: a model fits a matrix, or a
//! [`ChunkSource`](em_core::ChunkSource) of matrices for data larger than memory, and does not
//! care where the rows came from.
//!
//! | module | what it reads |
//! | --- | --- |
//! | [`csv`] | the CSV rules, and [`CsvSource`], a CSV file read chunk by chunk (streamed) |
//! | [`binary`] | a minimal binary table (`EMF64LE1`), much faster to stream than CSV |
//!
//! ```
//! use em_core::ChunkSource;
//! use em_io::CsvSource;
//!
//! let text = "x,y\n1,2\n\n3,4\n";
//! let mut csv = CsvSource::new(std::io::Cursor::new(text), "points.csv")?;
//! assert_eq!(csv.columns(), ["x", "y"]);
//! csv.rewind()?;
//! assert_eq!(csv.next_chunk(10)?.unwrap(), nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]);
//! # Ok::<(), em_core::EmError>(())
//! ```

#![warn(missing_docs)]

pub mod binary;
pub mod csv;

pub use binary::{BinarySource, BinaryWriter, csv_to_binary, is_binary_file};
pub use csv::CsvSource;
