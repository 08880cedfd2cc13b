//! The command line's data: a CSV file (or a Parquet file, recognised by its first bytes) read
//! into memory by [`em_io::table`] (the reader the streamed fit shares its parser and messages
//! with), `-` for standard input, and the bundled Old Faithful data when no FILE is given. Every error is bad input (exit status 2) naming
//! the file, the line and the column.

use std::path::Path;

use nalgebra::DMatrix;

pub use em_io::table::{LineMap, Table};

use crate::error::CliError;

/// R's `datasets::faithful` (272 eruptions of Old Faithful: `eruptions`, `waiting`), compiled
/// into the binary: what `em fit` and `em select` use when no FILE is given.
pub const FAITHFUL_CSV: &str = include_str!("../../../data/faithful.csv");

/// How the bundled data are named in messages and summaries.
pub const FAITHFUL_NAME: &str = "the bundled Old Faithful data";

/// The bundled Old Faithful data.
pub fn faithful() -> Table {
    // The bundled file is well-formed; a failure here would be a build defect, and is still
    // reported rather than panicking.
    parse(FAITHFUL_CSV, FAITHFUL_NAME).unwrap_or_else(|_| Table {
        source: FAITHFUL_NAME.into(),
        columns: vec![],
        has_header: false,
        x: DMatrix::zeros(0, 0),
        lines: LineMap::default(),
        dropped: 0,
    })
}

/// Reads and parses a CSV file ([`em_io::table::read`]); `-` reads standard input (which is
/// read into memory first, as it cannot be read twice).
pub fn read(path: &Path) -> Result<Table, CliError> {
    let table = if path.as_os_str() == "-" {
        em_io::table::read_stdin()
    } else {
        em_io::table::read(path)
    };
    Ok(table?)
}

/// Reads a file as [`em_io::table::read_with`] does (CSV with `options`, gzip-compressed CSV
/// or a binary table, by its first bytes); `-` reads standard input.
pub fn read_with(path: &Path, options: &em_io::ReadOptions) -> Result<Table, CliError> {
    read_selected(path, options, &em_io::Selection::default())
}

/// [`read_with`], reading the columns of a CSV file that `selection` chooses (`--columns`,
/// `--drop`; an error for a binary table); `-` reads standard input.
pub fn read_selected(
    path: &Path,
    options: &em_io::ReadOptions,
    selection: &em_io::Selection,
) -> Result<Table, CliError> {
    let table = if path.as_os_str() == "-" {
        em_io::table::read_stdin_selected(options, selection)
    } else {
        em_io::table::read_selected(path, options, selection)
    };
    Ok(table?)
}

/// The bundled Old Faithful data, with the columns `selection` chooses.
pub fn faithful_selected(selection: &em_io::Selection) -> Result<Table, CliError> {
    Ok(em_io::table::parse_selected(
        FAITHFUL_CSV,
        FAITHFUL_NAME,
        &em_io::ReadOptions::default(),
        selection,
    )?)
}

/// A warning when the first column looks like a row identifier rather than a feature: an
/// empty header name (a pandas index written by `to_csv`), or whole numbers that go up by one
/// from row to row. `None` when it does not, or when there is a single column.
pub fn id_like_first_column(table: &Table) -> Option<String> {
    let (n, d) = table.x.shape();
    if d < 2 || n == 0 {
        return None;
    }
    let why = if table.has_header && table.columns[0].is_empty() {
        "has no name in the header (a pandas index?)"
    } else {
        let first = table.x[(0, 0)];
        let consecutive =
            n >= 3 && first.fract() == 0.0 && (0..n).all(|i| table.x[(i, 0)] == first + i as f64);
        if !consecutive {
            return None;
        }
        "holds consecutive whole numbers (a row number or id?)"
    };
    let name = &table.columns[0];
    let (label, flag) = if name.is_empty() {
        ("1".to_string(), "1".to_string())
    } else {
        (format!("1 ({name})"), name.clone())
    };
    Some(format!(
        "em: warning: {}: column {label} {why}; it is fitted as a feature. \
         Leave it out with --drop {flag}",
        table.source
    ))
}

/// Parses CSV text ([`em_io::table::parse`]); `source` names it in errors.
pub fn parse(text: &str, source: &str) -> Result<Table, CliError> {
    Ok(em_io::table::parse(text, source)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_faithful_data_parse() {
        let t = faithful();
        assert_eq!(t.x.shape(), (272, 2));
        assert_eq!(t.columns, vec!["eruptions", "waiting"]);
        assert_eq!(t.x[(0, 0)], 3.6);
    }

    #[test]
    fn id_like_first_columns_are_recognised() {
        let warn = |text: &str| id_like_first_column(&parse(text, "t.csv").unwrap());
        assert!(warn(",a\n0,1.5\n1,2.5\n").unwrap().contains("--drop 1"));
        assert!(
            warn("id,a\n7,1.5\n8,2.5\n9,0.1\n")
                .unwrap()
                .contains("--drop id")
        );
        assert_eq!(warn("id,a\n7,1.5\n9,2.5\n10,0.1\n"), None);
        assert_eq!(warn("a\n1\n2\n3\n"), None);
        assert_eq!(id_like_first_column(&faithful()), None);
    }

    #[test]
    fn read_errors_are_bad_input_with_the_readers_message() {
        let e = parse("a,b\n1,2\n3,x\n", "t.csv").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.message,
            "t.csv: line 3, column 2 (b): \"x\" is not a number; to leave this column out, \
             pass --drop b (or choose the columns with --columns)"
        );
        let e = read(Path::new("no-such-file.csv")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.message.starts_with("cannot read no-such-file.csv: "),
            "{}",
            e.message
        );
    }
}
