//! Numeric CSV, record by record: the rules, the one parser that both CSV readers use (the
//! in-memory [`table`](crate::table) and the streamed [`CsvSource`]), and [`CsvSource`], a
//! [`ChunkSource`] that reads a file chunk by chunk.
//!
//! The rules: comma-separated fields, each trimmed and stripped of surrounding double quotes;
//! blank lines are skipped; the first non-blank line is a header when any of its non-empty
//! fields is not a number; every data line has as many fields as the first line, each a
//! finite number. A UTF-8 byte-order mark opening the file is ignored.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use em_core::{ChunkSource, EmError};
use nalgebra::DMatrix;

use crate::error::ReadError;

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

/// Parses the fields of one data line of `width` fields that `slots` selects: `slots[j]` is the
/// output position of field `j`, or `None` to skip it unparsed. Appends one value per selected
/// field to `out` in output order (left unchanged on error); errors name the field's position
/// in the line.
pub(crate) fn parse_selected(
    line: &str,
    width: usize,
    slots: &[Option<usize>],
    n_out: usize,
    out: &mut Vec<f64>,
) -> Result<(), RecordError> {
    let found = line.split(',').count();
    if found != width {
        return Err(RecordError::Ragged { found });
    }
    let start = out.len();
    out.resize(start + n_out, 0.0);
    for (j, raw) in line.split(',').enumerate() {
        let Some(slot) = slots.get(j).copied().flatten() else {
            continue;
        };
        let field = clean_field(raw);
        let error = match field.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                out[start + slot] = v;
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

/// The layout the first non-blank line fixes: the column names (the header's, or `x0`, `x1`, …)
/// and the number of columns every record must have. Both readers take it from
/// [`Layout::new`] and parse records with [`Layout::record`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub(crate) columns: Vec<String>,
    pub(crate) has_header: bool,
    /// When only some columns are read ([`Layout::select`]): the output position of every
    /// file column (`None`: skipped), and the names of the columns read, in output order.
    pub(crate) selected: Option<(Vec<Option<usize>>, Vec<String>)>,
    /// The one-based line of the first non-blank line (named in ragged-row messages).
    pub(crate) first_line: u64,
}

impl Layout {
    /// The layout of a file whose first non-blank line, `text`, is on line `first_line`.
    pub(crate) fn new(text: &str, first_line: u64) -> Layout {
        let has_header = is_header(text);
        let fields = text.split(',').map(clean_field);
        let columns = if has_header {
            fields.map(str::to_string).collect()
        } else {
            (0..fields.count()).map(|j| format!("x{j}")).collect()
        };
        Layout {
            columns,
            has_header,
            selected: None,
            first_line,
        }
    }

    /// Reads only the columns `selection` chooses; errors name `origin`.
    pub(crate) fn select(
        &mut self,
        selection: &crate::Selection,
        origin: &str,
    ) -> Result<(), ReadError> {
        if selection.is_all() {
            return Ok(());
        }
        let keep = selection
            .resolve(&self.columns)
            .map_err(|error| ReadError::Select {
                origin: origin.to_string(),
                error,
            })?;
        let mut slots = vec![None; self.columns.len()];
        for (out, &j) in keep.iter().enumerate() {
            slots[j] = Some(out);
        }
        let names = keep.iter().map(|&j| self.columns[j].clone()).collect();
        self.selected = Some((slots, names));
        Ok(())
    }

    /// Number of columns in the file (every record must have as many fields).
    pub(crate) fn width(&self) -> usize {
        self.columns.len()
    }

    /// Number of columns read (the file's width unless [`Layout::select`] chose some).
    pub(crate) fn out_width(&self) -> usize {
        self.selected
            .as_ref()
            .map_or(self.columns.len(), |(_, names)| names.len())
    }

    /// The names of the columns read, in output order.
    pub(crate) fn out_columns(&self) -> &[String] {
        self.selected
            .as_ref()
            .map_or(&self.columns, |(_, names)| names)
    }

    /// Parses the record `text` (on line `line`, the `row`-th data row, both counted from the
    /// file's start) onto `out` (left unchanged on error); errors name `origin`, the line, the
    /// column and its header name.
    #[inline]
    pub(crate) fn record(
        &self,
        origin: &str,
        text: &str,
        line: u64,
        row: usize,
        out: &mut Vec<f64>,
    ) -> Result<(), ReadError> {
        match &self.selected {
            None => parse_record(text, self.width(), out),
            Some((slots, names)) => parse_selected(text, self.width(), slots, names.len(), out),
        }
        .map_err(|e| self.record_error(origin, line, row, e))
    }

    #[cold]
    fn record_error(&self, origin: &str, line: u64, row: usize, error: RecordError) -> ReadError {
        let width = self.width();
        let (column, label) = match &error {
            RecordError::Ragged { found } => ((*found).min(width), None),
            RecordError::NotANumber { column, .. } | RecordError::NonFinite { column, .. } => {
                let name = self.columns.get(*column).filter(|name| !name.is_empty());
                (*column, name.filter(|_| self.has_header).cloned())
            }
        };
        ReadError::Record {
            origin: origin.to_string(),
            line,
            row,
            column,
            label,
            width,
            first_line: self.first_line,
            error: Box::new(error),
        }
    }
}

/// Lines of CSV text, as both readers see them: one at a time, numbered from 1, without the
/// line ending, and without a byte-order mark on line 1.
pub(crate) trait Lines {
    /// Moves to the next line and returns its number, or `None` at the end.
    fn advance(&mut self) -> Result<Option<u64>, ReadError>;

    /// The current line.
    fn text(&self) -> &str;

    /// Moves to the next line that is not blank (whitespace only) and returns its number.
    fn next_record(&mut self) -> Result<Option<u64>, ReadError> {
        while let Some(line) = self.advance()? {
            if !self.text().trim().is_empty() {
                return Ok(Some(line));
            }
        }
        Ok(None)
    }
}

/// The lines of a text held in memory.
pub(crate) struct TextLines<'a> {
    lines: std::str::Lines<'a>,
    line_no: u64,
    text: &'a str,
}

impl<'a> TextLines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        TextLines {
            lines: text.lines(),
            line_no: 0,
            text: "",
        }
    }
}

impl Lines for TextLines<'_> {
    fn advance(&mut self) -> Result<Option<u64>, ReadError> {
        let Some(text) = self.lines.next() else {
            return Ok(None);
        };
        self.line_no += 1;
        self.text = if self.line_no == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        Ok(Some(self.line_no))
    }

    fn text(&self) -> &str {
        self.text
    }
}

/// The lines of a file (or any reader), read one at a time through a buffer: a line that is not
/// UTF-8 or a failed read is an error naming `origin` and the line.
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    pub(crate) reader: BufReader<R>,
    pub(crate) origin: String,
    line: String,
    /// Number of the current line (the last one read).
    pub(crate) line_no: u64,
    /// Byte offsets, from where reading started, of the current line's start and of its end.
    pub(crate) line_start: u64,
    pub(crate) offset: u64,
}

impl<R: Read> LineReader<R> {
    pub(crate) fn new(reader: R, origin: impl Into<String>) -> Self {
        LineReader {
            reader: BufReader::with_capacity(1 << 16, reader),
            origin: origin.into(),
            line: String::new(),
            line_no: 0,
            line_start: 0,
            offset: 0,
        }
    }
}

impl<R: Read> Lines for LineReader<R> {
    fn advance(&mut self) -> Result<Option<u64>, ReadError> {
        self.line.clear();
        let n = self.reader.read_line(&mut self.line).map_err(|e| {
            let (origin, line) = (self.origin.clone(), Some(self.line_no + 1));
            if e.kind() == std::io::ErrorKind::InvalidData {
                ReadError::NotUtf8 {
                    origin,
                    line,
                    offset: None,
                }
            } else {
                ReadError::Read {
                    origin,
                    line,
                    reason: e.to_string(),
                }
            }
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        self.line_start = self.offset;
        self.offset += n as u64;
        let end = self.line.strip_suffix('\n').unwrap_or(&self.line);
        let end = end.strip_suffix('\r').unwrap_or(end).len();
        self.line.truncate(end);
        if self.line_no == 1 && self.line.starts_with('\u{feff}') {
            self.line.drain(..'\u{feff}'.len_utf8());
        }
        Ok(Some(self.line_no))
    }

    fn text(&self) -> &str {
        &self.line
    }
}

/// A numeric CSV file read chunk by chunk, for a streamed fit (`gmm`'s
/// `GaussianMixtureBuilder::fit_stream`, [`em_core::Em::fit_stream`]): one
/// observation per line (see the [module docs](self) for the rules), yielding `DMatrix<f64>`
/// chunks of exactly the requested number of rows (but the last).
///
/// Only the header is read when the source is opened; every value is validated as it is
/// read, by the parser of the in-memory [`table`](crate::table) reader. Errors are that
/// reader's [`ReadError`]s, converted to the [`EmError`] of the [`ChunkSource`] trait: a field
/// that is not a number is an [`EmError::Io`] naming the file, the line (1-based) and the
/// column (1-based); NaN or ±∞ is an [`EmError::NonFinite`] naming the observation by its
/// global (0-based) row and column. The input must be seekable (a file, not a pipe).
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
    lines: LineReader<R>,
    layout: Layout,
    /// Byte offset and 1-based line number of the first data line's start (after the header).
    data_start: u64,
    data_start_line: u64,
    /// Global index of the next observation.
    row: usize,
    values: Vec<f64>,
}

impl CsvSource<File> {
    /// Opens a CSV file (reading its first line only).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EmError> {
        Self::open_selected(path, &crate::Selection::default())
    }

    /// Opens a CSV file, to read only the columns `selection` chooses.
    pub fn open_selected(
        path: impl AsRef<Path>,
        selection: &crate::Selection,
    ) -> Result<Self, EmError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let file = File::open(path).map_err(|e| ReadError::Open {
            origin: origin.clone(),
            reason: e.to_string(),
        })?;
        CsvSource::with_selection(file, origin, selection)
    }
}

impl<R: Read + Seek> CsvSource<R> {
    /// A source reading `reader` from its start; `name` names it in errors. Reads the first
    /// non-blank line to find the header and the number of columns; a file with no such line is
    /// an [`EmError::Io`] ("the file is empty").
    pub fn new(reader: R, name: impl Into<String>) -> Result<Self, EmError> {
        Self::with_selection(reader, name, &crate::Selection::default())
    }

    /// [`CsvSource::new`], reading only the columns `selection` chooses ([`crate::select`]).
    pub fn with_selection(
        reader: R,
        name: impl Into<String>,
        selection: &crate::Selection,
    ) -> Result<Self, EmError> {
        let mut lines = LineReader::new(reader, name);
        seek(&mut lines, 0, 0)?;
        let Some(first_line) = lines.next_record()? else {
            return Err(ReadError::Empty {
                origin: lines.origin,
            }
            .into());
        };
        let mut layout = Layout::new(lines.text(), first_line);
        layout.select(selection, &lines.origin)?;
        let (data_start, data_start_line) = if layout.has_header {
            (lines.offset, first_line + 1)
        } else {
            (lines.line_start, first_line)
        };
        let mut s = CsvSource {
            lines,
            layout,
            data_start,
            data_start_line,
            row: 0,
            values: Vec::new(),
        };
        s.rewind()?;
        Ok(s)
    }

    /// Column names: the header's, or `x0`, `x1`, … without one.
    pub fn columns(&self) -> &[String] {
        self.layout.out_columns()
    }

    /// Number of columns (features) read.
    pub fn n_columns(&self) -> usize {
        self.layout.out_width()
    }

    /// Whether the first non-blank line is a header.
    pub fn has_header(&self) -> bool {
        self.layout.has_header
    }

    /// The name used in errors.
    pub fn name(&self) -> &str {
        &self.lines.origin
    }
}

/// Moves `lines` to byte `offset`, the start of line `line_no + 1`.
fn seek<R: Read + Seek>(
    lines: &mut LineReader<R>,
    offset: u64,
    line_no: u64,
) -> Result<(), ReadError> {
    lines
        .reader
        .seek(SeekFrom::Start(offset))
        .map_err(|e| ReadError::Seek {
            origin: lines.origin.clone(),
            reason: e.to_string(),
        })?;
    (lines.line_no, lines.line_start, lines.offset) = (line_no, offset, offset);
    Ok(())
}

impl<R: Read + Seek> ChunkSource for CsvSource<R> {
    type Chunk = DMatrix<f64>;

    fn rewind(&mut self) -> Result<(), EmError> {
        seek(&mut self.lines, self.data_start, self.data_start_line - 1)?;
        self.row = 0;
        Ok(())
    }

    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        let width = self.layout.out_width();
        let max_obs = max_obs.max(1);
        let mut values = std::mem::take(&mut self.values);
        values.clear();
        let mut n = 0usize;
        while n < max_obs {
            let Some(line) = self.lines.next_record()? else {
                break;
            };
            let (origin, text) = (&self.lines.origin, self.lines.text());
            self.layout
                .record(origin, text, line, self.row + n, &mut values)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table;
    use std::io::Cursor;

    /// Every row of `text` through the streamed reader, in chunks of 2.
    fn stream(text: &str) -> Result<(Vec<String>, DMatrix<f64>), EmError> {
        let mut csv = CsvSource::new(Cursor::new(text), "t.csv")?;
        csv.rewind()?;
        let mut rows = Vec::new();
        while let Some(chunk) = csv.next_chunk(2)? {
            rows.extend(chunk.row_iter().map(|r| r.into_owned()));
        }
        let x = if rows.is_empty() {
            DMatrix::zeros(0, csv.n_columns())
        } else {
            DMatrix::from_rows(&rows)
        };
        Ok((csv.columns().to_vec(), x))
    }

    #[test]
    fn streamed_and_in_memory_readers_agree_on_rows_and_errors() {
        for text in [
            "a,b\n1,2\n3,4\n",
            "\u{feff}a,b\r\n\r\n1,2\r\n  \r\n3,4",
            "\u{feff}1,2\n3,4\n\n\n5,6",
            "\n\n\"x\"\n1\n\n2\n 3 \n",
            "a,b\n1,2\n3,x\n",
            "a,\n1,2\n3,x\n",
            "1,2\n\n3\n",
            "1,2\n3,4,5\n",
            "a,b\n1,2\nnan,4\n",
            "1,1e999\n",
            "1,2\n\u{feff}3,4\n",
            "",
            "\n \n",
        ] {
            let memory = table::parse(text, "t.csv");
            match (stream(text), memory) {
                (Ok((columns, x)), Ok(t)) => {
                    assert_eq!(columns, t.columns, "{text:?}");
                    assert_eq!(x, t.x, "{text:?}");
                }
                // Debug, not ==, so that NaN values compare equal.
                (Err(s), Err(m)) => {
                    assert_eq!(
                        format!("{s:?}"),
                        format!("{:?}", EmError::from(m)),
                        "{text:?}"
                    )
                }
                (s, m) => panic!("{text:?}: streamed {s:?} vs in memory {m:?}"),
            }
        }
    }

    #[test]
    fn a_byte_order_mark_is_ignored_only_at_the_start_of_the_file() {
        let t = table::parse("\u{feff}a,b\n1,2\n", "t.csv").unwrap();
        assert_eq!(t.columns, ["a", "b"]);
        let e = table::parse("a,b\n1,2\n\u{feff}3,4\n", "t.csv").unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::Record {
                    line: 3,
                    column: 0,
                    ..
                }
            ),
            "{e}"
        );
        assert!(stream("a,b\n1,2\n\u{feff}3,4\n").is_err());
    }

    #[test]
    fn streamed_errors_keep_line_and_column_as_fields() {
        let e = stream("a,b\n1,2\n3,x\n").unwrap_err();
        assert_eq!(
            e,
            EmError::Io {
                origin: "t.csv".into(),
                line: Some(3),
                column: Some(2),
                reason: "\"x\" is not a number (column \"b\")".into(),
            }
        );
        assert_eq!(
            stream("1,2\n3\n").unwrap_err().to_string(),
            "t.csv, line 2, column 2: ragged row with 1 field, expected 2 as on line 1"
        );
        assert!(matches!(
            stream("1,2\n3,4\n5,inf\n").unwrap_err(),
            EmError::NonFinite { row: 2, column: 1, value } if value == f64::INFINITY
        ));
        assert_eq!(
            stream("").unwrap_err().to_string(),
            "t.csv: the file is empty (no data rows)"
        );
        let mut bad = b"1,2\n".to_vec();
        bad.extend_from_slice(&[0xff, b'\n']);
        let mut csv = CsvSource::new(Cursor::new(bad), "bin.csv").unwrap();
        csv.rewind().unwrap();
        assert_eq!(
            csv.next_chunk(10).unwrap_err().to_string(),
            "bin.csv, line 2: not UTF-8 text"
        );
    }

    #[test]
    fn rewinding_rereads_the_same_rows_after_a_header_or_not() {
        for text in ["a,b\n\n1,2\n3,4\n", "\n1,2\n3,4\n"] {
            let mut csv = CsvSource::new(Cursor::new(text), "t.csv").unwrap();
            for _ in 0..2 {
                csv.rewind().unwrap();
                assert_eq!(
                    csv.next_chunk(10).unwrap().unwrap(),
                    nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]
                );
                assert_eq!(csv.next_chunk(10).unwrap(), None);
            }
        }
    }
}
