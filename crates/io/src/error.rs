//! What can go wrong reading a table, with the file, line and column.

use em_core::EmError;

use crate::csv::RecordError;

/// An error reading a table: every variant names its origin (a path, `<stdin>`, or whatever
/// name the caller gave the text), and the line and column when there is one.
///
/// The messages (`Display`) are the ones the `em` command line prints. The streamed readers
/// ([`CsvSource`](crate::CsvSource)) implement [`ChunkSource`](em_core::ChunkSource), whose
/// error type is [`EmError`]; they report the same errors through
/// [`From<ReadError> for EmError`](#impl-From<ReadError>-for-EmError), which keeps the line and
/// column as fields of [`EmError::Io`] and a NaN or ±∞ as an [`EmError::NonFinite`] naming the
/// observation.
///
/// ```
/// use em_io::ReadError;
/// let e = em_io::table::parse("a,b\n1,2\n3,x\n", "t.csv").unwrap_err();
/// assert!(matches!(e, ReadError::Record { line: 3, column: 1, .. }));
/// assert_eq!(e.to_string(), r#"t.csv: line 3, column 2 (b): "x" is not a number"#);
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened.
    #[error("cannot read {origin}: {reason}")]
    Open {
        /// The path, as messages name it.
        origin: String,
        /// Why (the operating system's message).
        reason: String,
    },

    /// Reading failed part way (not a problem of the content).
    #[error("cannot read {origin}: {reason}")]
    Read {
        /// The path, as messages name it.
        origin: String,
        /// The one-based line being read, when known.
        line: Option<u64>,
        /// Why (the operating system's message).
        reason: String,
    },

    /// Standard input could not be read.
    #[error("cannot read standard input: {reason}")]
    Stdin {
        /// Why (the operating system's message).
        reason: String,
    },

    /// The input could not be repositioned (a streamed source must be a file, not a pipe).
    #[error("{origin}: cannot seek: {reason}")]
    Seek {
        /// The path, as messages name it.
        origin: String,
        /// Why (the operating system's message).
        reason: String,
    },

    /// The input is not UTF-8 text.
    #[error("{origin}: {}", not_utf8(*line, *offset))]
    NotUtf8 {
        /// The path, as messages name it.
        origin: String,
        /// The one-based line with the invalid bytes, when read line by line.
        line: Option<u64>,
        /// The byte offset of the first invalid byte, when read whole.
        offset: Option<usize>,
    },

    /// No line holds anything but whitespace.
    #[error("{origin}: the file is empty (no data rows)")]
    Empty {
        /// The path, as messages name it.
        origin: String,
    },

    /// The header is the only non-blank line.
    #[error("{origin}: no data rows (only a header, on line {header_line})")]
    HeaderOnly {
        /// The path, as messages name it.
        origin: String,
        /// The header's one-based line.
        header_line: u64,
    },

    /// A record (data line) is wrong: [`RecordError`] says how.
    #[error("{origin}: line {line}, column {}{}: {error}{}",
        column + 1,
        label.as_ref().map(|l| format!(" ({l})")).unwrap_or_default(),
        ragged_detail(error, *width, *first_line))]
    Record {
        /// The path, as messages name it.
        origin: String,
        /// The record's one-based line.
        line: u64,
        /// The record's zero-based index among the data rows (the observation).
        row: usize,
        /// The zero-based column of the bad field (for a ragged row, the first missing or
        /// extra one).
        column: usize,
        /// The header's name of that column, when there is a header and the name is not empty.
        label: Option<String>,
        /// The number of columns, fixed by the first non-blank line.
        width: usize,
        /// That first non-blank line (one-based).
        first_line: u64,
        /// What is wrong with the record (boxed to keep the error small).
        error: Box<RecordError>,
    },

    /// The table would not fit in memory.
    #[error("{origin}: too large ({lines} lines × {columns} columns)")]
    TooLarge {
        /// The path, as messages name it.
        origin: String,
        /// Non-blank lines counted.
        lines: usize,
        /// Columns.
        columns: usize,
    },

    /// The columns asked for ([`Selection`](crate::Selection)) do not fit the file's.
    #[error("{origin}: {error}")]
    Select {
        /// The path, as messages name it.
        origin: String,
        /// What does not fit.
        error: crate::select::SelectError,
    },

    /// The input is not in the format its first bytes announce (a damaged binary table).
    #[error("{origin}: {reason}")]
    Format {
        /// The path, as messages name it.
        origin: String,
        /// What is wrong.
        reason: String,
    },

    /// The file grew between the pass that counted its lines and the pass that parsed them.
    #[error("{origin}: the file changed while it was read (more lines than at first)")]
    Changed {
        /// The path, as messages name it.
        origin: String,
    },

    /// A column of a columnar file ([Parquet](crate::parquet)) that is read does not hold
    /// numbers: its type (text, booleans, dates, lists…) is known before any row is read.
    #[error("{origin}: column {} ({label}) holds {kind}, not numbers", column + 1)]
    NotNumeric {
        /// The path, as messages name it.
        origin: String,
        /// The zero-based column, among all the file's columns.
        column: usize,
        /// The column's name.
        label: String,
        /// What it holds instead, in words ("text", "booleans", "timestamps", …).
        kind: String,
    },

    /// A value of a file without lines ([Parquet](crate::parquet)) is wrong: named by its
    /// row instead.
    #[error("{origin}: row {}, column {} ({label}): {error}", row + 1, column + 1)]
    Value {
        /// The path, as messages name it.
        origin: String,
        /// The zero-based row, counted from the file's first (dropped rows included).
        row: usize,
        /// The zero-based column, among all the file's columns.
        column: usize,
        /// The column's name.
        label: String,
        /// What is wrong with the value.
        error: ValueError,
    },

    /// Every row of a file without lines had a missing value and was dropped
    /// ([`Missing::Drop`](crate::Missing::Drop)).
    #[error("{origin}: no data rows left: all {dropped} rows have missing values")]
    AllDropped {
        /// The path, as messages name it.
        origin: String,
        /// The rows dropped (all of them).
        dropped: usize,
    },
}

/// What is wrong with one value of a file without lines ([`ReadError::Value`]).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A null or a NaN: a missing value, which the models do not support yet.
    #[error(
        "missing value ({}): missing values are not supported by the model yet (drop the rows that have them: `em --missing drop`)",
        if *null { "null" } else { "NaN" }
    )]
    Missing {
        /// Whether the value is a null (else a NaN).
        null: bool,
    },
    /// ±∞.
    #[error("{value} is not a finite number (infinities are not allowed)")]
    NonFinite {
        /// The value.
        value: f64,
    },
}

fn not_utf8(line: Option<u64>, offset: Option<usize>) -> String {
    match (line, offset) {
        (Some(line), _) => format!("line {line}: not UTF-8 text"),
        (None, Some(offset)) => format!("not UTF-8 text (invalid byte at offset {offset})"),
        (None, None) => "not UTF-8 text".to_string(),
    }
}

/// `, expected W as on line F` after a ragged-row message.
fn ragged_detail(error: &RecordError, width: usize, first_line: u64) -> String {
    match error {
        RecordError::Ragged { .. } => format!(", expected {width} as on line {first_line}"),
        _ => String::new(),
    }
}

impl From<ReadError> for EmError {
    /// The error as a streamed source reports it: [`EmError::Io`] with the origin, line and
    /// (one-based) column as fields, except a NaN or ±∞, which is an [`EmError::NonFinite`]
    /// naming the observation (zero-based row and column) like every model's input check.
    fn from(e: ReadError) -> Self {
        let io = |origin, line, column, reason| EmError::Io {
            origin,
            line,
            column,
            reason,
        };
        match e {
            ReadError::Open { origin, reason } => {
                io(origin, None, None, format!("cannot open: {reason}"))
            }
            ReadError::Read {
                origin,
                line,
                reason,
            } => io(origin, line, None, format!("cannot read: {reason}")),
            ReadError::Stdin { reason } => io(
                "<stdin>".into(),
                None,
                None,
                format!("cannot read: {reason}"),
            ),
            ReadError::Seek { origin, reason } => {
                io(origin, None, None, format!("cannot seek: {reason}"))
            }
            ReadError::NotUtf8 {
                origin,
                line: Some(line),
                ..
            } => io(origin, Some(line), None, "not UTF-8 text".into()),
            ReadError::NotUtf8 {
                origin,
                line: None,
                offset,
            } => io(origin, None, None, not_utf8(None, offset)),
            ReadError::Select { origin, error } => io(origin, None, None, error.to_string()),
            ReadError::Empty { origin } => io(
                origin,
                None,
                None,
                "the file is empty (no data rows)".into(),
            ),
            ReadError::HeaderOnly {
                origin,
                header_line,
            } => io(
                origin,
                None,
                None,
                format!("no data rows (only a header, on line {header_line})"),
            ),
            ReadError::Record {
                origin,
                line,
                row,
                column,
                label,
                width,
                first_line,
                error,
            } => {
                let reason = match (*error, label) {
                    (RecordError::NonFinite { value, .. }, _) => {
                        return EmError::NonFinite { row, column, value };
                    }
                    (error @ RecordError::Ragged { .. }, _) => {
                        format!("{error}{}", ragged_detail(&error, width, first_line))
                    }
                    (error, Some(label)) => format!("{error} (column {label:?})"),
                    (error, None) => error.to_string(),
                };
                io(origin, Some(line), Some(column + 1), reason)
            }
            ReadError::TooLarge {
                origin,
                lines,
                columns,
            } => io(
                origin,
                None,
                None,
                format!("too large ({lines} lines × {columns} columns)"),
            ),
            ReadError::Format { origin, reason } => io(origin, None, None, reason),
            ReadError::Changed { origin } => io(
                origin,
                None,
                None,
                "the file changed while it was read (more lines than at first)".into(),
            ),
            ReadError::NotNumeric {
                origin,
                column,
                label,
                kind,
            } => io(
                origin,
                None,
                Some(column + 1),
                format!("column {label:?} holds {kind}, not numbers"),
            ),
            ReadError::Value {
                row,
                column,
                error: ValueError::NonFinite { value },
                ..
            } => EmError::NonFinite { row, column, value },
            ReadError::Value {
                origin,
                row,
                column,
                label,
                error,
            } => io(
                origin,
                None,
                Some(column + 1),
                format!("row {}: {error} (column {label:?})", row + 1),
            ),
            ReadError::AllDropped { origin, dropped } => io(
                origin,
                None,
                None,
                format!("no data rows left: all {dropped} rows have missing values"),
            ),
        }
    }
}
