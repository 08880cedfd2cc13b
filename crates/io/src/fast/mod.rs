//! The fast path of both CSV readers: text read in blocks of whole lines
//! ([`blocks`]), each block cut at line breaks into pieces parsed in parallel ([`block`],
//! [`piece`]), each record parsed without allocating when it is plain numbers
//! ([`record`]). The rules and errors are those of [`csv`](crate::csv), unchanged: values are
//! parsed by `f64::from_str` (the same bits), anything unusual in a record is handed to the
//! exact parser, and the first error in file order is reported with its line, row and column.

pub(crate) mod block;
pub(crate) mod blocks;
pub(crate) mod columns;
pub(crate) mod piece;
mod record;

use crate::csv::Layout;
use crate::error::ReadError;
use piece::{LineError, PieceError};

impl PieceError {
    /// The [`ReadError`] of this error in a piece whose first line is file line `first_line`
    /// and which follows `rows_before` data rows; `origin` names the file.
    pub(crate) fn into_read_error(
        self,
        layout: &Layout,
        origin: &str,
        first_line: u64,
        rows_before: usize,
    ) -> ReadError {
        let line = first_line + self.line;
        match self.error {
            LineError::Record(error) => {
                layout.record_error(origin, line, rows_before + self.rows_before, error)
            }
            LineError::NotUtf8 => ReadError::NotUtf8 {
                origin: origin.to_string(),
                line: Some(line),
                offset: None,
            },
        }
    }
}

/// Line breaks in `bytes` (plus one, an upper bound on the records of a text: the capacity of
/// the in-memory reader's matrix).
pub(crate) fn count_lines(bytes: &[u8]) -> usize {
    // Byte-wide sums of at most 255 ones, which the compiler vectorises.
    bytes
        .chunks(255)
        .map(|c| usize::from(c.iter().map(|&b| u8::from(b == b'\n')).sum::<u8>()))
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn count_lines_counts_line_breaks() {
        let text: Vec<u8> = (0..1000)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        assert_eq!(super::count_lines(&text), 1000);
        assert_eq!(super::count_lines(b"a\r\nb"), 1);
        assert_eq!(super::count_lines(b""), 0);
    }
}

#[cfg(test)]
mod equivalence;
