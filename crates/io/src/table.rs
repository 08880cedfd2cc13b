//! Numeric CSV read whole into memory: a [`Table`] (the matrix, column names, and the file line
//! of every row). The rules are those of [`csv`](crate::csv), which the streamed
//! [`CsvSource`](crate::CsvSource) reads files with too. Every error names the file, the line
//! and the column.
//!
//! A file is read twice, line by line: once to count its lines, then to parse them straight
//! into a column-major matrix of that capacity. Peak memory is the matrix itself (plus one
//! line), not the text, a row-major copy and the matrix, which for a large file was five times
//! the data.
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
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use nalgebra::DMatrix;

use crate::csv::{Layout, LineReader, Lines, TextLines};
use crate::error::ReadError;
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
    fn push(&mut self, row: usize, line: usize) {
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
    /// Rows × columns and the column names, for summaries: `272 rows × 2 columns (eruptions, waiting)`.
    pub fn describe(&self) -> String {
        format!(
            "{} rows × {} column{} ({})",
            self.x.nrows(),
            self.x.ncols(),
            if self.x.ncols() == 1 { "" } else { "s" },
            self.columns.join(", ")
        )
    }
}

/// Reads and parses a CSV file (see the [module docs](self)).
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
    read_selected(path, &Selection::default())
}

/// Reads the columns of a CSV file that `selection` chooses ([`crate::select`]); the others
/// are not parsed.
pub fn read_selected(path: impl AsRef<Path>, selection: &Selection) -> Result<Table, ReadError> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    let open = || {
        File::open(path).map_err(|e| ReadError::Open {
            origin: origin.clone(),
            reason: e.to_string(),
        })
    };
    let capacity =
        count_lines(BufReader::with_capacity(1 << 16, open()?)).map_err(|e| ReadError::Read {
            origin: origin.clone(),
            line: None,
            reason: e.to_string(),
        })?;
    let mut lines = LineReader::new(open()?, origin.as_str());
    parse_lines(&mut lines, capacity, &origin, selection)
}

/// Reads standard input to its end (it cannot be read twice, so it is held in memory) and
/// parses it; messages name it `<stdin>`.
pub fn read_stdin() -> Result<Table, ReadError> {
    read_stdin_selected(&Selection::default())
}

/// [`read_stdin`], reading the columns `selection` chooses.
pub fn read_stdin_selected(selection: &Selection) -> Result<Table, ReadError> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| ReadError::Stdin {
            reason: e.to_string(),
        })?;
    let text = String::from_utf8(buf).map_err(|e| ReadError::NotUtf8 {
        origin: "<stdin>".into(),
        line: None,
        offset: Some(e.utf8_error().valid_up_to()),
    })?;
    parse_selected(&text, "<stdin>", selection)
}

/// Lines of the file that are not blank (ASCII whitespace only): an upper bound on its
/// records, since every line `str::trim` leaves non-empty is counted.
fn count_lines(mut reader: impl BufRead) -> std::io::Result<usize> {
    let (mut count, mut blank) = (0, true);
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(count + usize::from(!blank));
        }
        for &b in chunk {
            if b == b'\n' {
                count += usize::from(!blank);
                blank = true;
            } else if !b.is_ascii_whitespace() {
                blank = false;
            }
        }
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
    parse_selected(text, source, &Selection::default())
}

/// [`parse`], reading the columns `selection` chooses ([`crate::select`]).
pub fn parse_selected(text: &str, source: &str, selection: &Selection) -> Result<Table, ReadError> {
    let capacity = text.lines().filter(|l| !l.trim().is_empty()).count();
    parse_lines(&mut TextLines::new(text), capacity, source, selection)
}

/// The parser behind [`read`] and [`parse`]: `capacity` is at least the number of non-blank
/// lines. The layout comes from the first non-blank line and every record is parsed by
/// [`Layout::record`], as in the streamed [`CsvSource`](crate::CsvSource). Values go straight
/// into a column-major matrix of `capacity` rows, compacted in place to the rows found.
fn parse_lines(
    lines: &mut impl Lines,
    capacity: usize,
    source: &str,
    selection: &Selection,
) -> Result<Table, ReadError> {
    let Some(first_line) = lines.next_record()? else {
        return Err(ReadError::Empty {
            origin: source.to_string(),
        });
    };
    let mut layout = Layout::new(lines.text(), first_line);
    layout.select(selection, source)?;
    let width = layout.out_width();
    let stride = capacity.max(1);
    let size = stride
        .checked_mul(width)
        .ok_or_else(|| ReadError::TooLarge {
            origin: source.to_string(),
            lines: capacity,
            columns: width,
        })?;
    let mut values = vec![0.0; size];
    let mut row = Vec::with_capacity(width);
    let mut line_map = LineMap::default();
    let mut n = 0usize;
    let mut store = |line: u64, text: &str| -> Result<(), ReadError> {
        row.clear();
        layout.record(source, text, line, n, &mut row)?;
        if n == stride {
            return Err(ReadError::Changed {
                origin: source.to_string(),
            });
        }
        for (j, v) in row.iter().enumerate() {
            values[j * stride + n] = *v;
        }
        line_map.push(n, line as usize);
        n += 1;
        Ok(())
    };
    if !layout.has_header {
        store(first_line, lines.text())?;
    }
    while let Some(line) = lines.next_record()? {
        store(line, lines.text())?;
    }
    if n == 0 {
        return Err(ReadError::HeaderOnly {
            origin: source.to_string(),
            header_line: first_line,
        });
    }
    // Columns of stride `capacity` → columns of length n, moving each one left in order.
    for j in 1..width {
        values.copy_within(j * stride..j * stride + n, j * n);
    }
    values.truncate(n * width);
    Ok(Table {
        source: source.to_string(),
        x: DMatrix::from_vec(n, width, values),
        lines: line_map,
        columns: layout.out_columns().to_vec(),
        has_header: layout.has_header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            err("1,2\nnan,4\n").starts_with("t.csv: line 2, column 1: \"nan\" is not a finite")
        );
        assert!(err("1,1e999\n").starts_with("t.csv: line 1, column 2: \"1e999\" is not a finite"));
        assert_eq!(err(""), "t.csv: the file is empty (no data rows)");
        assert_eq!(err("\n  \n"), "t.csv: the file is empty (no data rows)");
        assert_eq!(
            err("a,b\n"),
            "t.csv: no data rows (only a header, on line 1)"
        );
        assert_eq!(err("1,\n"), "t.csv: line 1, column 2: \"\" is not a number");
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
}
