//! A block of whole lines cut into pieces at line breaks and parsed in parallel.
//!
//! Records are single lines (a line break inside quotes is refused as an unclosed quote on
//! its line), so a cut after a line break never falls inside a record or a quoted field, and
//! every line is parsed exactly as it would be alone. The pieces come back in file order with
//! their first line numbers; the pieces after the first one with an error are dropped, so the
//! first error in file order is the one reported.

use rayon::prelude::*;

use super::piece::{Piece, parse_piece};
use crate::csv::Layout;

/// Bytes below which a block is parsed as one piece (splitting costs more than it saves).
const MIN_PIECE: usize = 64 * 1024;

/// A parsed piece and the (one-based) file line its first line is on.
#[derive(Debug)]
pub(crate) struct Numbered {
    pub(crate) piece: Piece,
    pub(crate) first_line: u64,
}

/// Parses `bytes`, whole lines whose first is file line `first_line` (one-based), by `layout`,
/// in pieces on the threads of the current rayon pool. The pieces are in file order and end
/// with the first that has an error, if any.
pub(crate) fn parse_block(bytes: &[u8], layout: &Layout, first_line: u64) -> Vec<Numbered> {
    let cuts = cut(bytes, rayon::current_num_threads() * 4);
    let pieces: Vec<Piece> = cuts
        .par_windows(2)
        .map(|w| parse_piece(&bytes[w[0]..w[1]], layout, first_line == 1 && w[0] == 0))
        .collect();
    let mut line = first_line;
    let mut out = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let (lines, stop) = (piece.lines, piece.error.is_some());
        out.push(Numbered {
            piece,
            first_line: line,
        });
        if stop {
            break;
        }
        line += lines;
    }
    out
}

/// Offsets cutting `bytes` into about `n` pieces, each but the last ending after a line break:
/// `[0, …, bytes.len()]`.
fn cut(bytes: &[u8], n: usize) -> Vec<usize> {
    let size = (bytes.len() / n.max(1)).max(MIN_PIECE);
    let mut cuts = vec![0];
    let mut at = 0;
    while bytes.len() - at > size {
        match memchr::memchr(b'\n', &bytes[at + size..]) {
            Some(i) if at + size + i + 1 < bytes.len() => {
                at += size + i + 1;
                cuts.push(at);
            }
            _ => break,
        }
    }
    cuts.push(bytes.len());
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_fall_after_line_breaks_and_cover_the_block() {
        let line = b"1.25,-3\n";
        let bytes: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 100_000)
            .collect();
        let cuts = cut(&bytes, 8);
        assert!(cuts.len() > 2);
        assert_eq!((cuts[0], *cuts.last().unwrap()), (0, bytes.len()));
        for c in &cuts[1..cuts.len() - 1] {
            assert_eq!(bytes[c - 1], b'\n');
        }
        assert_eq!(cut(b"", 4), [0, 0]);
        assert_eq!(cut(b"1\n2", 4), [0, 3]);
    }
}
