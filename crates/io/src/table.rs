//! Numeric CSV read whole into memory: a [`Table`] (the matrix, column names, and the file line
//! of every row). The rules are those of [`csv`](crate::csv), which the streamed
//! [`CsvSource`](crate::CsvSource) reads files with too. Every error names the file, the line
//! and the column.
//!
//! A file is read in blocks of whole lines, each parsed in parallel pieces while the next is
//! read, and copied into a column-major matrix made for the rows that the file's size and the
//! bytes per row read so far promise (grown if they fall short; a gzip file's lines are
//! counted first instead). Peak memory is the matrix itself plus two blocks (8 MiB of text
//! each, and their values), not the text, a row-major copy and the matrix, which for a large
//! file was five times the data.
//!
//! ```
//! let t = em_io::table::parse("eruptions,waiting\n3.6,79\n\n1.8,54\n", "faithful.csv")?;
//! assert_eq!(t.columns, ["eruptions", "waiting"]);
//! assert_eq!(t.x, nalgebra::dmatrix![3.6, 79.0; 1.8, 54.0]);
//! assert_eq!(t.lines.line(1), 4); // the blank line 3 is skipped
//! assert_eq!(t.describe(), "2 rows × 2 columns (eruptions, waiting)");
//! # Ok::<(), em_io::ReadError>(())
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;

use em_core::{ChunkSource, EmError};
use nalgebra::DMatrix;

use crate::binary::BinarySource;
use crate::csv::{Layout, LineReader, Lines, ReadOptions};
use crate::error::ReadError;
use crate::fast::block::{Numbered, parse_block};
use crate::fast::blocks::Blocks;
use crate::fast::columns::{Capacity, Columns};
use crate::input::{Format, Gunzip};
use crate::select::Selection;

/// A numeric table read from CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where it came from, as messages should name it (a path, `<stdin>`, or the name given to
    /// [`parse`]).
    pub source: String,
    /// Column names: the header's, or `x0`, `x1`, … when the file has none.
    pub columns: Vec<String>,
    /// Whether the first line was a header.
    pub has_header: bool,
    /// The values, one observation per row.
    pub x: DMatrix<f64>,
    /// The file's line number (1-based) of every row, so that checks after parsing can name
    /// the line of a bad value.
    pub lines: LineMap,
    /// Rows dropped for missing values ([`Missing::Drop`](crate::csv::Missing::Drop)); 0 otherwise.
    pub dropped: usize,
}

/// The file line (1-based) of each row, stored as the rows where the numbering jumps (after a
/// header or blank lines): a few entries for any file, not one per row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMap {
    /// (first row of a run of consecutive lines, its line number), rows increasing.
    runs: Vec<(usize, usize)>,
}

impl LineMap {
    /// Records that `row` is on line `line` (rows in increasing order).
    pub(crate) fn push(&mut self, row: usize, line: usize) {
        if let Some(&(r, l)) = self.runs.last()
            && line == l + (row - r)
        {
            return;
        }
        self.runs.push((row, line));
    }

    /// The line of `row` (row + 1 for a table that did not come from a file).
    pub fn line(&self, row: usize) -> usize {
        match self.runs.partition_point(|&(r, _)| r <= row) {
            0 => row + 1,
            i => {
                let (r, l) = self.runs[i - 1];
                l + (row - r)
            }
        }
    }
}

impl Table {
    /// Rows × columns and the column names, for summaries: `272 rows × 2 columns (eruptions,
    /// waiting)`, with `, 3 values missing` after them when values were read as missing
    /// ([`Missing::Keep`](crate::Missing::Keep)).
    pub fn describe(&self) -> String {
        let missing = self.x.as_slice().iter().filter(|v| v.is_nan()).count();
        format!(
            "{} rows × {} column{} ({}){}",
            self.x.nrows(),
            self.x.ncols(),
            if self.x.ncols() == 1 { "" } else { "s" },
            self.columns.join(", "),
            match missing {
                0 => String::new(),
                1 => ", 1 value missing".to_string(),
                m => format!(", {m} values missing"),
            }
        )
    }
}

/// Reads and parses a CSV file (see the [module docs](self)) with the default
/// [`ReadOptions`]: [`read_with`].
///
/// ```
/// let path = std::env::temp_dir().join(format!("em-io-read-doc-{}.csv", std::process::id()));
/// std::fs::write(&path, "1,2\n3,4\n").map_err(|e| em_io::ReadError::Open {
///     origin: path.display().to_string(), reason: e.to_string() })?;
/// let t = em_io::table::read(&path)?;
/// assert_eq!((t.x.nrows(), t.x.ncols(), t.has_header), (2, 2, false));
/// assert_eq!(t.columns, ["x0", "x1"]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), em_io::ReadError>(())
/// ```
pub fn read(path: impl AsRef<Path>) -> Result<Table, ReadError> {
    read_with(path, &ReadOptions::default())
}

/// Reads a file into memory: CSV read with `options`, gzip-compressed CSV (decompressed as it
/// is read), or the [binary format](crate::binary), each recognised by its first bytes. A
/// binary table has no header (columns `x0`, `x1`, …) and no line numbers: its errors name the
/// row instead.
///
/// ```
/// use std::io::Write;
/// let dir = std::env::temp_dir();
/// let path = dir.join(format!("em-io-read-with-doc-{}.csv.gz", std::process::id()));
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
/// gz.write_all(b"a\tb\n1\t2\n").unwrap();
/// std::fs::write(&path, gz.finish().unwrap()).unwrap();
/// let t = em_io::table::read_with(&path, &Default::default())?;
/// assert_eq!(t.columns, ["a", "b"]);
/// assert_eq!(t.x, nalgebra::dmatrix![1.0, 2.0]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), em_io::ReadError>(())
/// ```
pub fn read_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Table, ReadError> {
    read_selected(path, options, &Selection::default())
}

/// [`read_with`], reading only the columns of a CSV file that `selection` chooses
/// ([`crate::select`]); the others are not parsed, and a missing value matters only in a column
/// read. Choosing columns from a binary table is an error ([`crate::SelectError::Binary`]).
pub fn read_selected(
    path: impl AsRef<Path>,
    options: &ReadOptions,
    selection: &Selection,
) -> Result<Table, ReadError> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    let open = || {
        File::open(path).map_err(|e| ReadError::Open {
            origin: origin.clone(),
            reason: e.to_string(),
        })
    };
    let read_error = |e: std::io::Error| ReadError::Read {
        origin: origin.clone(),
        line: None,
        reason: e.to_string(),
    };
    let mut file = open()?;
    match Format::of(&mut file).map_err(read_error)? {
        Format::Binary => {
            no_binary_selection(selection, &origin)?;
            read_binary(file, &origin, options.missing)
        }
        Format::Parquet => crate::parquet::read_file(file, &origin, options, selection),
        Format::Gzip => {
            let capacity = count_lines(BufReader::with_capacity(1 << 20, Gunzip::new(file)))
                .map_err(read_error)?;
            let lines = LineReader::new(Gunzip::new(open()?), origin.as_str());
            parse_lines(
                lines,
                Capacity::AtMost(capacity),
                &origin,
                options,
                selection,
            )
        }
        Format::Text => {
            let bytes = file.metadata().map_err(read_error)?.len();
            let lines = LineReader::new(file, origin.as_str());
            parse_lines(lines, Capacity::Bytes(bytes), &origin, options, selection)
        }
    }
}

/// An error when `selection` chooses columns of the binary table `origin` (it has no header
/// to name them, and its columns are read whole).
fn no_binary_selection(selection: &Selection, origin: &str) -> Result<(), ReadError> {
    if selection.is_all() {
        return Ok(());
    }
    Err(ReadError::Select {
        origin: origin.to_string(),
        error: crate::SelectError::Binary,
    })
}

/// Reads a binary table whole, a NaN (a missing value) treated as `missing` says; errors
/// name `origin` and, for a value, the row and column.
fn read_binary<R: Read + Seek>(
    reader: R,
    origin: &str,
    missing: crate::Missing,
) -> Result<Table, ReadError> {
    let format = |e: EmError| {
        let reason = match e {
            EmError::Io { reason, .. } => reason,
            EmError::NonFinite { row, column, value } if value.is_nan() => format!(
                "row {}, column {}: missing value (NaN), refused by --missing error (the \
                 default, --missing model, fits the values that were observed; --missing drop \
                 drops the rows that have missing values)",
                row + 1,
                column + 1
            ),
            EmError::NonFinite { row, column, value } => format!(
                "row {}, column {}: {value} is not a finite number (infinities are not allowed)",
                row + 1,
                column + 1
            ),
            other => other.to_string(),
        };
        ReadError::Format {
            origin: origin.to_string(),
            reason,
        }
    };
    let mut source = BinarySource::new(reader, origin)
        .map_err(format)?
        .with_missing(missing);
    let (n, d) = (source.n_rows(), source.n_columns());
    if n == 0 {
        return Err(ReadError::Empty {
            origin: origin.to_string(),
        });
    }
    n.checked_mul(d).ok_or_else(|| ReadError::TooLarge {
        origin: origin.to_string(),
        lines: n,
        columns: d,
    })?;
    let mut x = DMatrix::zeros(n, d);
    source.rewind().map_err(format)?;
    let mut row = 0;
    while let Some(chunk) = source.next_chunk(1 << 16).map_err(format)? {
        x.rows_mut(row, chunk.nrows()).copy_from(&chunk);
        row += chunk.nrows();
    }
    let dropped = source.dropped_rows();
    if row == 0 {
        return Err(ReadError::Empty {
            origin: origin.to_string(),
        });
    }
    Ok(Table {
        source: origin.to_string(),
        columns: (0..d).map(|j| format!("x{j}")).collect(),
        has_header: false,
        // Rows dropped for missing values leave the end of the matrix unused.
        x: if row < n {
            x.resize_vertically(row, 0.0)
        } else {
            x
        },
        lines: LineMap::default(),
        dropped,
    })
}

/// Reads standard input to its end (it cannot be read twice, so it is held in memory) and
/// parses it; messages name it `<stdin>`.
pub fn read_stdin() -> Result<Table, ReadError> {
    read_stdin_with(&ReadOptions::default())
}

/// [`read_stdin`] with [`ReadOptions`]; like [`read_with`], standard input may also be
/// gzip-compressed or a binary table.
pub fn read_stdin_with(options: &ReadOptions) -> Result<Table, ReadError> {
    read_stdin_selected(options, &Selection::default())
}

/// [`read_stdin_with`], reading the columns `selection` chooses ([`read_selected`]).
pub fn read_stdin_selected(
    options: &ReadOptions,
    selection: &Selection,
) -> Result<Table, ReadError> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| ReadError::Stdin {
            reason: e.to_string(),
        })?;
    parse_bytes_selected(buf, "<stdin>", options, selection)
}

/// Parses a whole input held in memory: CSV text, gzip-compressed CSV or a binary table,
/// recognised by its first bytes; `source` names it in errors.
///
/// ```
/// let t = em_io::table::parse_bytes(b"x;y\n1;2\n".to_vec(), "t.csv", &Default::default())?;
/// assert_eq!(t.x, nalgebra::dmatrix![1.0, 2.0]);
/// # Ok::<(), em_io::ReadError>(())
/// ```
pub fn parse_bytes(
    bytes: Vec<u8>,
    source: &str,
    options: &ReadOptions,
) -> Result<Table, ReadError> {
    parse_bytes_selected(bytes, source, options, &Selection::default())
}

/// [`parse_bytes`], reading the columns `selection` chooses ([`read_selected`]).
pub fn parse_bytes_selected(
    mut bytes: Vec<u8>,
    source: &str,
    options: &ReadOptions,
    selection: &Selection,
) -> Result<Table, ReadError> {
    match Format::sniff(&bytes) {
        Format::Binary => {
            no_binary_selection(selection, source)?;
            return read_binary(std::io::Cursor::new(bytes), source, options.missing);
        }
        Format::Parquet => return crate::parquet::read_bytes(bytes, source, options, selection),
        Format::Gzip => {
            let mut text = Vec::new();
            Gunzip::new(bytes.as_slice())
                .read_to_end(&mut text)
                .map_err(|e| ReadError::Read {
                    origin: source.to_string(),
                    line: None,
                    reason: e.to_string(),
                })?;
            bytes = text;
        }
        Format::Text => {}
    }
    let text = String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        origin: source.to_string(),
        line: None,
        offset: Some(e.utf8_error().valid_up_to()),
    })?;
    parse_selected(&text, source, options, selection)
}

/// Line breaks in the file, plus one: an upper bound on its records.
fn count_lines(mut reader: impl BufRead) -> std::io::Result<usize> {
    let mut count = 1;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(count);
        }
        count += crate::fast::count_lines(chunk);
        let n = chunk.len();
        reader.consume(n);
    }
}

/// Parses CSV text; `source` names it in errors.
///
/// The first non-blank line is a header when any of its non-empty fields is not a number. Every later
/// non-blank line must have as many fields as the first, each a finite number. The record rules
/// are those of [`crate::csv`], which the streamed [`CsvSource`](crate::CsvSource) reads files
/// with too.
pub fn parse(text: &str, source: &str) -> Result<Table, ReadError> {
    parse_with(text, source, &ReadOptions::default())
}

/// Parses CSV text with [`ReadOptions`] (delimiter, header, missing values); `source` names
/// it in errors.
///
/// ```
/// use em_io::csv::{Missing, ReadOptions};
/// let options = ReadOptions { missing: Missing::Drop, ..Default::default() };
/// let t = em_io::table::parse_with("\"a, b\"\tc\n1\tNA\n3\t4\n", "t.tsv", &options)?;
/// assert_eq!(t.columns, ["a, b", "c"]);
/// assert_eq!(t.x, nalgebra::dmatrix![3.0, 4.0]);
/// assert_eq!((t.dropped, t.lines.line(0)), (1, 3));
/// # Ok::<(), em_io::ReadError>(())
/// ```
pub fn parse_with(text: &str, source: &str, options: &ReadOptions) -> Result<Table, ReadError> {
    parse_selected(text, source, options, &Selection::default())
}

/// [`parse_with`], reading the columns `selection` chooses ([`crate::select`]); a missing
/// value matters only in a column read.
pub fn parse_selected(
    text: &str,
    source: &str,
    options: &ReadOptions,
    selection: &Selection,
) -> Result<Table, ReadError> {
    let capacity = Capacity::AtMost(crate::fast::count_lines(text.as_bytes()) + 1);
    let lines = LineReader::new(text.as_bytes(), source);
    parse_lines(lines, capacity, source, options, selection)
}

/// The parser behind [`read`] and [`parse`]. The layout comes from the first non-blank line
/// (read by `lines`); the rest of the input is read in blocks of whole lines, each parsed in
/// parallel pieces ([`parse_block`]) while the next block is read, every record by the rules of
/// [`Layout::record`], as in the streamed [`CsvSource`](crate::CsvSource). Values go into
/// [`Columns`] made for `capacity` rows.
fn parse_lines<R: Read + Send>(
    mut lines: LineReader<R>,
    capacity: Capacity,
    source: &str,
    options: &ReadOptions,
    selection: &Selection,
) -> Result<Table, ReadError> {
    let Some(first_line) = lines.next_record()? else {
        return Err(ReadError::Empty {
            origin: source.to_string(),
        });
    };
    let mut layout = Layout::new(lines.text(), first_line, options, source)?;
    layout.select(selection, source)?;
    let mut matrix = Columns::new(layout.out_width(), capacity, source)?;
    let mut bytes_read = lines.offset;
    if !layout.has_header {
        let mut row = Vec::with_capacity(layout.out_width());
        if layout.record(source, lines.text(), first_line, 0, &mut row)? {
            matrix.push_row(&row, first_line, bytes_read, source)?;
        } else {
            matrix.dropped += 1;
        }
    }
    let mut next_line = lines.line_no + 1;
    let (prefix, mut reader) = lines.into_rest();
    let mut blocks = Blocks::with_prefix(&prefix);
    let read_error = |e: std::io::Error, line: u64| ReadError::Read {
        origin: source.to_string(),
        line: Some(line),
        reason: e.to_string(),
    };
    let (mut block, mut next) = (Vec::new(), Vec::new());
    let mut more = blocks
        .next(&mut reader, &mut block)
        .map_err(|e| read_error(e, next_line))?;
    while more {
        // Parse this block while the next one is read.
        let (pieces, read) = rayon::join(
            || parse_block(&block, &layout, next_line),
            || blocks.next(&mut reader, &mut next),
        );
        bytes_read += block.len() as u64;
        let mut rows_before = matrix.rows;
        matrix.append(&pieces, bytes_read, source)?;
        for Numbered { piece, first_line } in pieces {
            if let Some(e) = piece.error {
                return Err(e.into_read_error(&layout, source, first_line, rows_before));
            }
            rows_before += piece.rows;
            next_line = first_line + piece.lines;
        }
        more = read.map_err(|e| read_error(e, next_line))?;
        std::mem::swap(&mut block, &mut next);
    }
    if matrix.rows == 0 {
        return Err(ReadError::HeaderOnly {
            origin: source.to_string(),
            header_line: first_line,
        });
    }
    let (line_map, dropped) = (std::mem::take(&mut matrix.lines), matrix.dropped);
    Ok(Table {
        source: source.to_string(),
        x: matrix.into_matrix(),
        lines: line_map,
        columns: layout.out_columns().to_vec(),
        has_header: layout.has_header,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::{Delimiter, Missing, RecordError, clean_field};

    fn err(text: &str) -> String {
        parse(text, "t.csv").unwrap_err().to_string()
    }

    #[test]
    fn header_is_detected_and_blank_lines_skipped() {
        let t = parse("a, b\n\n1,2\r\n 3 , 4\n\n", "t.csv").unwrap();
        assert!(t.has_header);
        assert_eq!(t.columns, vec!["a", "b"]);
        assert_eq!(t.x, nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]);
    }

    #[test]
    fn headerless_file_names_columns_x0_x1() {
        let t = parse("1,2\n3,4e1\n", "t.csv").unwrap();
        assert!(!t.has_header);
        assert_eq!(t.columns, vec!["x0", "x1"]);
        assert_eq!(t.x[(1, 1)], 40.0);
    }

    #[test]
    fn quoted_header_and_values_are_accepted() {
        let t = parse("\"a\",\"b\"\n\"1\",2\n", "t.csv").unwrap();
        assert_eq!(t.columns, vec!["a", "b"]);
        assert_eq!(t.x[(0, 0)], 1.0);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        assert_eq!(
            err("a,b\n1,2\n3,x\n"),
            "t.csv: line 3, column 2 (b): \"x\" is not a number"
        );
        assert_eq!(
            err("1,2\n\n3\n"),
            "t.csv: line 3, column 2: ragged row with 1 field, expected 2 as on line 1"
        );
        assert_eq!(
            err("1,2\n3,4,5\n"),
            "t.csv: line 2, column 3: ragged row with 3 fields, expected 2 as on line 1"
        );
        assert_eq!(
            err("1,2\nnan,4\n"),
            "t.csv: line 2, column 1: missing value \"nan\", refused by --missing error (the default, --missing model, fits the values that were observed; --missing drop drops the rows that have missing values)"
        );
        assert!(err("1,1e999\n").starts_with("t.csv: line 1, column 2: \"1e999\" is not a finite"));
        assert_eq!(err(""), "t.csv: the file is empty (no data rows)");
        assert_eq!(err("\n  \n"), "t.csv: the file is empty (no data rows)");
        assert_eq!(
            err("a,b\n"),
            "t.csv: no data rows (only a header, on line 1)"
        );
        assert!(
            err("1,\n").starts_with("t.csv: line 1, column 2: missing value (empty field), "),
            "{}",
            err("1,\n")
        );
    }

    /// Writes `text` to a temporary file and reads it with [`read`].
    fn read_text(text: &str) -> Result<Table, ReadError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    #[test]
    fn reading_a_file_equals_parsing_its_text() {
        for text in [
            "a,b\n1,2\n3,4\n",
            "\u{feff}a,b\r\n\r\n1,2\r\n  \r\n3,4",
            "\u{feff}\n\n1,2\n3,4\n\n\n5,6",
            "x\n1\n\n\n2\n3\n",
            "1\n",
            "\u{a0}\n1,2\n",
        ] {
            let (a, b) = (read_text(text), parse(text, "t.csv"));
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.x, b.x, "{text:?}");
                    assert_eq!(a.columns, b.columns);
                    assert_eq!(a.lines, b.lines);
                }
                (Err(a), Err(b)) => {
                    let (a, b) = (a.to_string(), b.to_string());
                    assert!(a.ends_with(&b[6..]), "{text:?}");
                }
                (a, b) => panic!("{text:?}: file {a:?} vs text {b:?}"),
            }
        }
        assert_eq!(
            read_text("a,b\n1,2\n3,x\n")
                .unwrap_err()
                .to_string()
                .split(": ")
                .nth(1),
            Some("line 3, column 2 (b)")
        );
        let mut bad = b"1,2\n3,4\n".to_vec();
        bad.extend_from_slice(&[0xff, b'\n']);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin.csv");
        std::fs::write(&path, bad).unwrap();
        let message = read(&path).unwrap_err().to_string();
        assert!(
            message.ends_with("bin.csv: line 3: not UTF-8 text"),
            "{message}"
        );
    }

    #[test]
    fn line_numbers_follow_headers_and_blank_lines() {
        let t = parse("a\n\n1\n2\n\n\n3\n4\n", "t.csv").unwrap();
        let lines: Vec<usize> = (0..4).map(|r| t.lines.line(r)).collect();
        assert_eq!(lines, [3, 4, 7, 8]);
        assert_eq!(
            t.lines.runs.len(),
            2,
            "one entry per run of consecutive lines"
        );
        assert_eq!(LineMap::default().line(5), 6);
    }
    fn with(text: &str, options: ReadOptions) -> Result<Table, ReadError> {
        parse_with(text, "t.csv", &options)
    }

    #[test]
    fn tab_and_semicolon_files_are_detected_from_the_first_line() {
        for text in [
            "a\tb\n1\t2\n3\t4\n",
            "a;b\n1;2\n3;4\n",
            "1\t2\n3\t4\n",
            "1;2\n3;4\n",
        ] {
            let t = parse(text, "t.csv").unwrap();
            assert_eq!(t.x, nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0], "{text:?}");
        }
        assert_eq!(parse("a;b\n1;2\n", "t").unwrap().columns, ["a", "b"]);
        // A single column stays one column.
        assert_eq!(parse("x\n1\n2\n", "t").unwrap().x.ncols(), 1);
    }

    #[test]
    fn a_forced_delimiter_overrides_detection() {
        let options = ReadOptions {
            delimiter: Delimiter::Semicolon,
            ..Default::default()
        };
        // Detected, the comma would win (3 fields against 2); forced, `;` splits the line.
        let e = with("a,b;c\n1,2;3\n", options).unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::Record {
                    line: 2,
                    column: 0,
                    ..
                }
            ),
            "{e}"
        );
        let t = with("a,b;c\n1;3\n", options).unwrap();
        assert_eq!(t.columns, ["a,b", "c"]);
        let tab = ReadOptions {
            delimiter: Delimiter::Tab,
            ..Default::default()
        };
        assert_eq!(with("1\t2\n", tab).unwrap().x.ncols(), 2);
    }

    #[test]
    fn quoted_fields_follow_rfc_4180() {
        let t = parse("\"a, b\",\"c \"\"d\"\"\"\n\"1\",\" 2 \"\n", "t.csv").unwrap();
        assert_eq!(t.columns, ["a, b", "c \"d\""]);
        assert_eq!(t.x, nalgebra::dmatrix![1.0, 2.0]);
        let t = parse("\"x;1\";\"y;2\";z\n1;2;3\n", "t.csv").unwrap();
        assert_eq!(t.columns, ["x;1", "y;2", "z"]);
        // A comma inside quotes in a data field is one (bad) field, not two.
        assert_eq!(
            err("a,b\n1,\"2,5\"\n"),
            "t.csv: line 2, column 2 (b): \"2,5\" is not a number"
        );
    }

    #[test]
    fn an_unclosed_quote_is_an_error_naming_line_and_column() {
        let m = err("\"a,b\n1,2\n");
        assert!(
            m.starts_with("t.csv: line 1, column 1: a double quote is not closed"),
            "{m}"
        );
        let m = err("a,b\n1,\"2\n3\",4\n");
        assert!(
            m.starts_with("t.csv: line 2, column 2 (b): a double quote is not closed"),
            "{m}"
        );
        assert!(
            m.contains("line breaks inside quotes are not supported"),
            "{m}"
        );
    }

    #[test]
    fn a_numeric_header_can_be_forced_and_a_header_can_be_refused() {
        let text = "2019,2020\n1,2\n";
        assert!(!parse(text, "t").unwrap().has_header);
        let header = ReadOptions {
            header: Some(true),
            ..Default::default()
        };
        let t = with(text, header).unwrap();
        assert_eq!(
            (t.columns.clone(), t.x.nrows()),
            (vec!["2019".into(), "2020".into()], 1)
        );
        assert_eq!(t.lines.line(0), 2);
        let no_header = ReadOptions {
            header: Some(false),
            ..Default::default()
        };
        let t = with(text, no_header).unwrap();
        assert_eq!(
            (t.columns.clone(), t.x.nrows()),
            (vec!["x0".into(), "x1".into()], 2)
        );
        let e = with("a,b\n1,2\n", no_header).unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::Record {
                    line: 1,
                    column: 0,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn missing_values_are_a_typed_error_naming_row_and_column() {
        for (text, field) in [
            ("a,b\n1,2\n3,NA\n", "NA"),
            ("a,b\n1,2\n3,\n", ""),
            ("a,b\n1,2\n3,nan\n", "nan"),
            ("a,b\n1,2\n3,NaN\n", "NaN"),
            ("a\tb\n1\t2\n3\t\"NA\"\n", "NA"),
        ] {
            let e = parse(text, "t.csv").unwrap_err();
            match &e {
                ReadError::Record {
                    line: 3,
                    row: 1,
                    column: 1,
                    label: Some(label),
                    error,
                    ..
                } if label == "b" => {
                    assert_eq!(
                        **error,
                        RecordError::Missing {
                            column: 1,
                            field: field.into()
                        }
                    )
                }
                other => panic!("{text:?}: {other:?}"),
            }
            assert!(e.to_string().contains("refused by --missing error"), "{e}");
        }
        // A bad field is reported even when the row also has a missing value.
        assert_eq!(
            err("a,b,c\nNA,2,x\n"),
            "t.csv: line 2, column 3 (c): \"x\" is not a number"
        );
        // Infinities are not missing values.
        assert!(err("1,inf\n").contains("is not a finite number"));
    }

    #[test]
    fn missing_drop_drops_rows_and_counts_them() {
        let drop = ReadOptions {
            missing: Missing::Drop,
            ..Default::default()
        };
        let t = with("a,b\nNA,1\n1,2\n3,\n\nnan,NaN\n5,6\n", drop).unwrap();
        assert_eq!(t.x, nalgebra::dmatrix![1.0, 2.0; 5.0, 6.0]);
        assert_eq!(t.dropped, 3);
        assert_eq!((t.lines.line(0), t.lines.line(1)), (3, 7));
        // Other errors still stop the run.
        assert!(with("a,b\nNA,1\n1,x\n", drop).is_err());
        // Every row dropped: no data rows.
        assert_eq!(
            with("a,b\nNA,1\n", drop).unwrap_err().to_string(),
            "t.csv: no data rows (only a header, on line 1)"
        );
        // A first line of missing values and numbers is data, not a header.
        let t = with("1,NA\n1,2\n", drop).unwrap();
        assert!(!t.has_header);
        assert_eq!(t.dropped, 1);
    }

    #[test]
    fn plain_comma_files_parse_bit_for_bit_as_rusts_float_parser() {
        let values = [
            "0.1",
            "-2.5e-300",
            "1.7976931348623157e308",
            "4.9e-324",
            "3",
            " 7.25 ",
            "\"8.5\"",
            "-0",
            "123456789.123456789",
        ];
        let text = values.join(",") + "\n";
        let t = parse(&text, "t.csv").unwrap();
        for (j, v) in values.iter().enumerate() {
            let expected: f64 = clean_field(v).parse().unwrap();
            assert_eq!(t.x[(0, j)].to_bits(), expected.to_bits(), "{v}");
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn gzip_files_read_as_their_text() {
        let text = "a;b\n1;2\n\n3;4\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv.gz");
        std::fs::write(&path, gzip(text.as_bytes())).unwrap();
        let t = read(&path).unwrap();
        let plain = parse(text, "t").unwrap();
        assert_eq!(
            (&t.x, &t.columns, &t.lines),
            (&plain.x, &plain.columns, &plain.lines)
        );
        let from_bytes = parse_bytes(gzip(text.as_bytes()), "t", &ReadOptions::default()).unwrap();
        assert_eq!(from_bytes.x, plain.x);
        // Errors name the line of the decompressed text.
        std::fs::write(&path, gzip(b"a,b\n1,2\n3,x\n")).unwrap();
        assert!(
            read(&path)
                .unwrap_err()
                .to_string()
                .ends_with("line 3, column 2 (b): \"x\" is not a number")
        );
        // Damaged compressed data is an error, not a panic.
        let mut bad = gzip(text.as_bytes());
        bad.truncate(bad.len() / 2);
        std::fs::write(&path, bad).unwrap();
        assert!(read(&path).is_err());
    }

    #[test]
    fn binary_tables_are_read_into_memory_by_their_magic_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        let bin = dir.path().join("t.f64");
        std::fs::write(&csv, "a,b\n1.5,2\n3,4e-3\n5,6\n").unwrap();
        crate::binary::csv_to_binary(&csv, &bin).unwrap();
        let t = read(&bin).unwrap();
        assert_eq!(t.x, read(&csv).unwrap().x);
        assert_eq!(t.columns, ["x0", "x1"]);
        let bytes = std::fs::read(&bin).unwrap();
        assert_eq!(
            parse_bytes(bytes.clone(), "t", &ReadOptions::default())
                .unwrap()
                .x,
            t.x
        );
        // A truncated table names the file and says what is wrong.
        std::fs::write(&bin, &bytes[..bytes.len() - 3]).unwrap();
        let m = read(&bin).unwrap_err().to_string();
        assert!(
            m.starts_with(&format!("{}: truncated", bin.display())),
            "{m}"
        );
        // A header with no rows is empty.
        std::fs::write(&bin, &bytes[..16]).unwrap();
        assert!(read(&bin).unwrap_err().to_string().contains("empty"));
    }
}
