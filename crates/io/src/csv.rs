//! Numeric CSV, record by record: the parsing rules shared with the `em` command line, and a
//! [`ChunkSource`] that reads a file chunk by chunk.
//!
//! The rules: comma-separated fields, each trimmed and stripped of surrounding double quotes;
//! blank lines are skipped; the first non-blank line is a header when any of its non-empty
//! fields is not a number; every data line has as many fields as the first line, each a
//! number. A UTF-8 byte-order mark is ignored.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use em_core::{ChunkSource, EmError};
use nalgebra::DMatrix;

/// One field, trimmed and with surrounding double quotes removed.
///
/// ```
/// assert_eq!(em_io::csv::clean_field(r#" "1.5" "#), "1.5");
/// ```
pub fn clean_field(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"')
        .and_then(|g| g.strip_suffix('"'))
        .map(str::trim)
        .unwrap_or(f)
}

/// Whether a first line is a header: any of its non-empty (cleaned) fields is not a number.
/// An empty field is a missing value, not a column name.
pub fn is_header(line: &str) -> bool {
    line.split(',')
        .map(clean_field)
        .any(|f| !f.is_empty() && f.parse::<f64>().is_err())
}

/// What is wrong with one CSV record.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordError {
    /// The record has `found` fields instead of the expected number.
    Ragged {
        /// Fields in the record.
        found: usize,
    },
    /// Field `column` (zero-based) is not a number; `field` is its cleaned text.
    NotANumber {
        /// Zero-based field index.
        column: usize,
        /// The field as read (cleaned).
        field: String,
    },
    /// Field `column` (zero-based) parses to NaN or ±∞.
    NonFinite {
        /// Zero-based field index.
        column: usize,
        /// The field as read (cleaned).
        field: String,
        /// The value it parses to.
        value: f64,
    },
}

/// Parses one data line of `width` fields, appending the values to `out` (left unchanged on
/// error).
///
/// ```
/// use em_io::csv::{parse_record, RecordError};
/// let mut v = Vec::new();
/// parse_record(" 1, \"2e1\"", 2, &mut v)?;
/// assert_eq!(v, [1.0, 20.0]);
/// assert!(matches!(parse_record("1,x", 2, &mut v), Err(RecordError::NotANumber { column: 1, .. })));
/// # Ok::<(), RecordError>(())
/// ```
pub fn parse_record(line: &str, width: usize, out: &mut Vec<f64>) -> Result<(), RecordError> {
    let found = line.split(',').count();
    if found != width {
        return Err(RecordError::Ragged { found });
    }
    let start = out.len();
    for (j, raw) in line.split(',').enumerate() {
        let field = clean_field(raw);
        let error = match field.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                out.push(v);
                continue;
            }
            Ok(value) => RecordError::NonFinite {
                column: j,
                field: field.to_string(),
                value,
            },
            Err(_) => RecordError::NotANumber {
                column: j,
                field: field.to_string(),
            },
        };
        out.truncate(start);
        return Err(error);
    }
    Ok(())
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Ragged { found } => write!(
                f,
                "ragged row with {found} field{}",
                if *found == 1 { "" } else { "s" }
            ),
            RecordError::NotANumber { field, .. } => write!(f, "{field:?} is not a number"),
            RecordError::NonFinite { field, .. } => write!(
                f,
                "{field:?} is not a finite number (NaN and infinities are not allowed)"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// A numeric CSV file read chunk by chunk, for a streamed fit (`gmm`'s
/// `GaussianMixtureBuilder::fit_stream`, [`em_core::Em::fit_stream`]): one
/// observation per line (see the [module docs](self) for the rules), yielding `DMatrix<f64>`
/// chunks of exactly the requested number of rows (but the last).
///
/// Only the header is read when the source is opened; every value is validated as it is
/// read. A field that is not a number is an [`EmError::Io`] naming the file, the line (1-based)
/// and the column (1-based); NaN or ±∞ is an [`EmError::NonFinite`] naming the observation by
/// its global (0-based) row and column. The input must be seekable (a file, not a pipe).
///
/// ```
/// use em_core::ChunkSource;
/// use em_io::csv::CsvSource;
/// let text = "a,b\n1,2\n\n3,4\n5,6\n";
/// let mut csv = CsvSource::new(std::io::Cursor::new(text), "t.csv")?;
/// assert_eq!(csv.columns(), ["a", "b"]);
/// csv.rewind()?;
/// let first = csv.next_chunk(2)?.unwrap();
/// assert_eq!(first, nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]);
/// assert_eq!(csv.next_chunk(2)?.unwrap(), nalgebra::dmatrix![5.0, 6.0]);
/// assert_eq!(csv.next_chunk(2)?, None);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug)]
pub struct CsvSource<R> {
    reader: BufReader<R>,
    name: String,
    columns: Vec<String>,
    has_header: bool,
    /// Byte offset and 1-based line number of the first data line's start (after the header).
    data_start: u64,
    data_start_line: u64,
    /// Line number of the last line read, and global index of the next observation.
    line_no: u64,
    row: usize,
    /// The line that fixed the width (for the ragged-row message).
    first_line: u64,
    line: String,
    values: Vec<f64>,
}

impl CsvSource<File> {
    /// Opens a CSV file (reading its first line only).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EmError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file =
            File::open(path).map_err(|e| io_error(&name, None, format!("cannot open: {e}")))?;
        CsvSource::new(file, name)
    }
}

impl<R: Read + Seek> CsvSource<R> {
    /// A source reading `reader` from its start; `name` names it in errors. Reads the first
    /// non-blank line to find the header and the number of columns; a file with no such line is
    /// an [`EmError::Io`] ("the file is empty").
    pub fn new(reader: R, name: impl Into<String>) -> Result<Self, EmError> {
        let mut s = CsvSource {
            reader: BufReader::with_capacity(1 << 16, reader),
            name: name.into(),
            columns: Vec::new(),
            has_header: false,
            data_start: 0,
            data_start_line: 1,
            line_no: 0,
            row: 0,
            first_line: 0,
            line: String::new(),
            values: Vec::new(),
        };
        s.reader
            .seek(SeekFrom::Start(0))
            .map_err(|e| io_error(&s.name, None, format!("cannot seek: {e}")))?;
        let mut offset = 0u64;
        loop {
            let start = offset;
            let n = s.read_line()?;
            if n == 0 {
                return Err(io_error(
                    &s.name,
                    None,
                    "the file is empty (no data rows)".into(),
                ));
            }
            offset += n as u64;
            let text = s.line.strip_prefix('\u{feff}').unwrap_or(&s.line);
            if text.trim().is_empty() {
                continue;
            }
            s.first_line = s.line_no;
            s.has_header = is_header(text);
            let fields: Vec<&str> = text.split(',').map(clean_field).collect();
            s.columns = if s.has_header {
                fields.iter().map(|f| f.to_string()).collect()
            } else {
                (0..fields.len()).map(|j| format!("x{j}")).collect()
            };
            (s.data_start, s.data_start_line) = if s.has_header {
                (offset, s.line_no + 1)
            } else {
                (start, s.line_no)
            };
            break;
        }
        s.rewind()?;
        Ok(s)
    }

    /// Column names: the header's, or `x0`, `x1`, … without one.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of columns (features).
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// Whether the first non-blank line is a header.
    pub fn has_header(&self) -> bool {
        self.has_header
    }

    /// The name used in errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads one line into `self.line` (0 at the end), counting it.
    fn read_line(&mut self) -> Result<usize, EmError> {
        self.line.clear();
        let n = self.reader.read_line(&mut self.line).map_err(|e| {
            let reason = if e.kind() == std::io::ErrorKind::InvalidData {
                "not UTF-8 text".to_string()
            } else {
                format!("cannot read: {e}")
            };
            io_error(&self.name, Some(self.line_no + 1), reason)
        })?;
        if n > 0 {
            self.line_no += 1;
        }
        Ok(n)
    }

    fn column_label(&self, j: usize) -> Option<&str> {
        (self.has_header && !self.columns[j].is_empty()).then(|| self.columns[j].as_str())
    }
}

fn io_error(name: &str, line: Option<u64>, reason: String) -> EmError {
    EmError::Io {
        origin: name.to_string(),
        line,
        column: None,
        reason,
    }
}

impl<R: Read + Seek> ChunkSource for CsvSource<R> {
    type Chunk = DMatrix<f64>;

    fn rewind(&mut self) -> Result<(), EmError> {
        self.reader
            .seek(SeekFrom::Start(self.data_start))
            .map_err(|e| io_error(&self.name, None, format!("cannot seek: {e}")))?;
        self.line_no = self.data_start_line - 1;
        self.row = 0;
        Ok(())
    }

    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        let width = self.columns.len();
        let max_obs = max_obs.max(1);
        let mut values = std::mem::take(&mut self.values);
        values.clear();
        let mut n = 0usize;
        while n < max_obs {
            if self.read_line()? == 0 {
                break;
            }
            let text = self.line.strip_prefix('\u{feff}').unwrap_or(&self.line);
            if text.trim().is_empty() {
                continue;
            }
            if let Err(e) = parse_record(text.trim_end_matches(['\n', '\r']), width, &mut values) {
                return Err(match e {
                    RecordError::NonFinite { column, value, .. } => EmError::NonFinite {
                        row: self.row + n,
                        column,
                        value,
                    },
                    RecordError::Ragged { found } => EmError::Io {
                        origin: self.name.clone(),
                        line: Some(self.line_no),
                        column: Some(found.min(width) + 1),
                        reason: format!("{e}, expected {width} as on line {}", self.first_line),
                    },
                    RecordError::NotANumber { column, .. } => EmError::Io {
                        origin: self.name.clone(),
                        line: Some(self.line_no),
                        column: Some(column + 1),
                        reason: match self.column_label(column) {
                            Some(label) => format!("{e} (column {label:?})"),
                            None => e.to_string(),
                        },
                    },
                });
            }
            n += 1;
        }
        if n == 0 {
            self.values = values;
            return Ok(None);
        }
        let chunk = DMatrix::from_row_slice(n, width, &values);
        self.row += n;
        self.values = values;
        Ok(Some(chunk))
    }
}
