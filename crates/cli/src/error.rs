//! The command line's one error type: a one-line message and the exit status it maps to.

use std::fmt;

use em_core::EmError;

/// What kind of failure, which decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input (a CSV file, a model file, an option) is wrong: exit status 2, like a
    /// usage error.
    BadInput,
    /// The input was fine but the work failed (a fit that broke down numerically, a file
    /// that could not be written): exit status 1.
    Failed,
    /// Standard output was closed by the reader (`em sample … | head`): not an error,
    /// exit quietly with status 0.
    BrokenPipe,
}

/// An error to print as one line, `em: error: <message>`, before exiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Which exit status it maps to.
    pub kind: ErrorKind,
    /// The message, without the `em: error:` prefix and without a trailing newline.
    pub message: String,
}

impl CliError {
    /// Bad input (exit status 2).
    pub fn bad_input(message: impl Into<String>) -> Self {
        CliError {
            kind: ErrorKind::BadInput,
            message: message.into(),
        }
    }

    /// A failure of the work itself (exit status 1).
    pub fn failed(message: impl Into<String>) -> Self {
        CliError {
            kind: ErrorKind::Failed,
            message: message.into(),
        }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::BadInput => 2,
            ErrorKind::Failed => 1,
            ErrorKind::BrokenPipe => 0,
        }
    }

    /// Classifies an error of the model library: problems with what the user gave are bad
    /// input (2); a fit that breaks down numerically is a failure (1). `context` says what was
    /// being done ("fit failed", …) and prefixes failures.
    pub fn from_em(e: EmError, context: &str) -> Self {
        match e {
            EmError::NotPositiveDefinite { .. }
            | EmError::DegenerateComponent { .. }
            | EmError::EmptyComponent { .. }
            | EmError::NonFiniteObjective { .. }
            | EmError::NotAvailable { .. }
            | EmError::ThreadPool { .. } => CliError::failed(format!("{context}: {e}")),
            _ => CliError::bad_input(e.to_string()),
        }
    }

    /// An error reading a data file: always bad input (exit status 2), with the reader's
    /// message (file, line and column).
    ///
    /// A field that is not a number, or a Parquet column that is not numeric, adds how to
    /// leave its column out: `--drop NAME` (or its position when it has no name), or
    /// `--columns`. Columns are never dropped silently.
    pub fn from_read(e: em_io::ReadError) -> Self {
        let mut message = e.to_string();
        if let em_io::ReadError::Record {
            column,
            label,
            error,
            ..
        } = &e
            && matches!(**error, em_io::csv::RecordError::NotANumber { .. })
        {
            let flag = label.clone().unwrap_or_else(|| (column + 1).to_string());
            message.push_str(&format!(
                "; to leave this column out, pass --drop {flag} (or choose the columns with --columns)"
            ));
        }
        if let em_io::ReadError::NotNumeric { label, .. } = &e {
            message.push_str(&format!(
                "; to leave this column out, pass --drop {label} (or choose the columns with --columns)"
            ));
        }
        CliError::bad_input(message)
    }

    /// An I/O error while writing output: a closed pipe is not an error, anything else is a
    /// failure naming `what` was being written.
    pub fn from_write(e: std::io::Error, what: &str) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError {
                kind: ErrorKind::BrokenPipe,
                message: String::new(),
            }
        } else {
            CliError::failed(format!("cannot write {what}: {e}"))
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the message carries.
        f.write_str(&self.message.replace('\n', " "))
    }
}

impl std::error::Error for CliError {}

impl From<em_io::ReadError> for CliError {
    fn from(e: em_io::ReadError) -> Self {
        CliError::from_read(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerical_breakdown_is_exit_1_and_bad_parameters_exit_2() {
        let singular = EmError::NotPositiveDefinite {
            component: 1,
            detail: "after the M-step".into(),
        };
        let e = CliError::from_em(singular, "fit failed");
        assert_eq!(e.exit_code(), 1);
        assert!(
            e.message
                .starts_with("fit failed: covariance of component 1")
        );
        let too_few = EmError::TooFewObservations {
            n_obs: 2,
            n_components: 3,
        };
        assert_eq!(CliError::from_em(too_few, "fit failed").exit_code(), 2);
    }

    #[test]
    fn display_is_one_line() {
        let e = CliError::bad_input("a\nb");
        assert_eq!(e.to_string(), "a b");
    }
}
