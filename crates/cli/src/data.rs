//! The command line's data: a CSV file read into memory by [`em_io::table`] (the reader the
//! streamed fit shares its parser and messages with), `-` for standard input, and the bundled
//! Old Faithful data when no FILE is given. Every error is bad input (exit status 2) naming
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
    let table = if path.as_os_str() == "-" {
        em_io::table::read_stdin_with(options)
    } else {
        em_io::table::read_with(path, options)
    };
    Ok(table?)
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
    fn read_errors_are_bad_input_with_the_readers_message() {
        let e = parse("a,b\n1,2\n3,x\n", "t.csv").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.message,
            "t.csv: line 3, column 2 (b): \"x\" is not a number"
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
