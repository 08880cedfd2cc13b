//! Reading numeric CSV files: one observation per line, comma-separated, with or without a
//! header line, blank lines skipped. Every error names the file, the line and the column.

use std::io::Read;
use std::path::Path;

use gmm::stream::csv::{RecordError, clean_field, is_header, parse_record};
use nalgebra::DMatrix;

use crate::error::CliError;

/// R's `datasets::faithful` (272 eruptions of Old Faithful: `eruptions`, `waiting`), compiled
/// into the binary: what `em fit` and `em select` use when no FILE is given.
pub const FAITHFUL_CSV: &str = include_str!("../../../data/faithful.csv");

/// How the bundled data are named in messages and summaries.
pub const FAITHFUL_NAME: &str = "the bundled Old Faithful data";

/// A numeric table read from CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where it came from, as messages should name it (a path, `<stdin>`, or the bundled data).
    pub source: String,
    /// Column names: the header's, or `x0`, `x1`, … when the file has none.
    pub columns: Vec<String>,
    /// Whether the first line was a header.
    pub has_header: bool,
    /// The values, one observation per row.
    pub x: DMatrix<f64>,
    /// The file's line number (1-based) of every row, so that checks after parsing can name
    /// the line of a bad value.
    pub lines: Vec<usize>,
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

/// The bundled Old Faithful data.
pub fn faithful() -> Table {
    // The bundled file is well-formed; a failure here would be a build defect, and is still
    // reported rather than panicking.
    parse(FAITHFUL_CSV, FAITHFUL_NAME).unwrap_or_else(|_| Table {
        source: FAITHFUL_NAME.into(),
        columns: vec![],
        has_header: false,
        x: DMatrix::zeros(0, 0),
        lines: vec![],
    })
}

/// Reads and parses a CSV file; `-` reads standard input.
pub fn read(path: &Path) -> Result<Table, CliError> {
    let (source, bytes) = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::bad_input(format!("cannot read standard input: {e}")))?;
        ("<stdin>".to_string(), buf)
    } else {
        let source = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::bad_input(format!("cannot read {source}: {e}")))?;
        (source, bytes)
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        CliError::bad_input(format!(
            "{source}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    parse(&text, &source)
}

/// Parses CSV text; `source` names it in errors.
///
/// The first non-blank line is a header when any of its non-empty fields is not a number. Every later
/// non-blank line must have as many fields as the first, each a finite number. The record rules
/// are the library's ([`gmm::stream::csv`]), which the streaming fit reads files with too.
pub fn parse(text: &str, source: &str) -> Result<Table, CliError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((first_no, first)) = lines.next() else {
        return Err(CliError::bad_input(format!(
            "{source}: the file is empty (no data rows)"
        )));
    };
    let first_fields: Vec<&str> = first.split(',').map(clean_field).collect();
    let has_header = is_header(first);
    let width = first_fields.len();
    let columns: Vec<String> = if has_header {
        first_fields.iter().map(|s| s.to_string()).collect()
    } else {
        (0..width).map(|j| format!("x{j}")).collect()
    };
    let column_label = |j: usize| {
        if has_header && !columns[j].is_empty() {
            format!("column {} ({})", j + 1, columns[j])
        } else {
            format!("column {}", j + 1)
        }
    };
    let mut values: Vec<f64> = Vec::new();
    let mut row_lines = Vec::new();
    let mut n = 0usize;
    let data_lines = (!has_header)
        .then_some((first_no, first))
        .into_iter()
        .chain(lines);
    for (line_no, line) in data_lines {
        parse_record(line, width, &mut values).map_err(|e| {
            CliError::bad_input(match &e {
                RecordError::Ragged { found } => format!(
                    "{source}: line {line_no}, column {}: {e}, expected {width} as on line {first_no}",
                    found.min(&width) + 1
                ),
                RecordError::NotANumber { column, .. } | RecordError::NonFinite { column, .. } => {
                    format!("{source}: line {line_no}, {}: {e}", column_label(*column))
                }
            })
        })?;
        row_lines.push(line_no);
        n += 1;
    }
    if n == 0 {
        return Err(CliError::bad_input(format!(
            "{source}: no data rows (only a header, on line {first_no})"
        )));
    }
    Ok(Table {
        source: source.to_string(),
        columns,
        has_header,
        x: DMatrix::from_row_slice(n, width, &values),
        lines: row_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, "t.csv").unwrap_err().message
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

    #[test]
    fn bundled_faithful_data_parse() {
        let t = faithful();
        assert_eq!(t.x.shape(), (272, 2));
        assert_eq!(t.columns, vec!["eruptions", "waiting"]);
        assert_eq!(t.x[(0, 0)], 3.6);
    }
}
