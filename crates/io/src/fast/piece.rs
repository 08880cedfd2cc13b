//! A run of whole lines parsed on its own: the unit of parallel work. A piece numbers its
//! lines and rows from zero and stops at its first error; the [`block`](super::block) that
//! cut it adds the lines and rows of the pieces before it, so line numbers and the first error
//! in file order come out as if the lines had been read one by one.

use crate::csv::{Layout, RecordError};

/// What is wrong on a line of a piece.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LineError {
    /// The record breaks a rule of [`csv`](crate::csv).
    Record(RecordError),
    /// The line is not UTF-8.
    NotUtf8,
}

/// The first error of a piece: its line (zero-based in the piece) and the rows read before it
/// in the piece.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PieceError {
    pub(crate) line: u64,
    pub(crate) rows_before: usize,
    pub(crate) error: LineError,
}

/// The rows of a piece, up to its first error.
#[derive(Debug, Default)]
pub(crate) struct Piece {
    /// The values read, row by row (`rows × out_width`).
    pub(crate) values: Vec<f64>,
    /// Rows read.
    pub(crate) rows: usize,
    /// Lines in the piece (a last line without a line break counts).
    pub(crate) lines: u64,
    /// (row, line) where the line numbering of the rows jumps (after blank or dropped lines),
    /// both zero-based in the piece: a few entries, not one per row.
    pub(crate) runs: Vec<(usize, u64)>,
    /// For every row dropped for a missing value, the rows read before it in the piece.
    pub(crate) drops: Vec<usize>,
    /// The first error, after which nothing was read.
    pub(crate) error: Option<PieceError>,
}

/// Parses the whole lines `bytes` (the first one opens line 1 of the file when `first_of_file`,
/// which then drops a UTF-8 byte-order mark) by `layout`.
pub(crate) fn parse_piece(bytes: &[u8], layout: &Layout, first_of_file: bool) -> Piece {
    let mut piece = Piece {
        values: Vec::with_capacity(bytes.len() / 8),
        ..Piece::default()
    };
    // Lines before the first invalid byte are read; the line holding it is the error, unless
    // a line before it has one.
    let (text, bad_utf8) = match std::str::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let end = memchr::memrchr(b'\n', valid).map_or(0, |i| i + 1);
            (std::str::from_utf8(&bytes[..end]).unwrap_or_default(), true)
        }
    };
    let mut rest = text;
    let mut line = 0u64;
    let mut last: Option<(usize, u64)> = None;
    while !rest.is_empty() {
        // Most lines are plain numbers, read in one scan; the others line by line, exactly.
        let start = piece.values.len();
        let (next, kept) = match layout.fast_record(rest, &mut piece.values) {
            Some(end) if !(line == 0 && first_of_file) => (&rest[end..], true),
            _ => {
                piece.values.truncate(start);
                let (mut record, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
                    Some(i) => (&rest[..i], &rest[i + 1..]),
                    None => (rest, ""),
                };
                record = record.strip_suffix('\r').unwrap_or(record);
                if line == 0 && first_of_file {
                    record = record.strip_prefix('\u{feff}').unwrap_or(record);
                }
                if is_blank(record) {
                    (next, false)
                } else {
                    match layout.parse_row(record, &mut piece.values) {
                        Ok(kept) => {
                            if !kept {
                                piece.drops.push(piece.rows);
                            }
                            (next, kept)
                        }
                        Err(error) => {
                            piece.error = Some(PieceError {
                                line,
                                rows_before: piece.rows,
                                error: LineError::Record(error),
                            });
                            piece.lines = line + 1;
                            return piece;
                        }
                    }
                }
            }
        };
        if kept {
            let row = piece.rows;
            if !matches!(last, Some((r, l)) if line == l + (row - r) as u64) {
                piece.runs.push((row, line));
                last = Some((row, line));
            }
            piece.rows += 1;
        }
        rest = next;
        line += 1;
    }
    if bad_utf8 {
        piece.error = Some(PieceError {
            line,
            rows_before: piece.rows,
            error: LineError::NotUtf8,
        });
        line += 1;
    }
    piece.lines = line;
    piece
}

/// Whether a line is blank (whitespace only, as [`str::trim`] sees it).
#[inline]
fn is_blank(line: &str) -> bool {
    match line.as_bytes().first() {
        Some(&b) if b > b' ' && b < 0x80 => false,
        _ => line.trim().is_empty(),
    }
}
