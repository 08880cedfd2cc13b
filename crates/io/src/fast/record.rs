//! One record, parsed without allocating: the common case (no quotes, the right number of
//! fields, every field read a finite number) is split on the delimiter's byte in one scan of
//! the line and parsed by `f64::from_str`, the parser the rules are defined by, so values are
//! the same bits. Anything
//! else — a quote, a ragged row, a missing value, text, ±∞ — goes to the exact parser of
//! [`csv`](crate::csv) ([`Layout::parse_row_exact`]), which decides the outcome and the error
//! exactly as it always has.

use crate::csv::Layout;
use crate::csv::RecordError;

impl Layout {
    /// Parses the record `text` onto `out` (left unchanged on error or when the row is
    /// dropped): `Ok(true)` for a row read, `Ok(false)` for a row dropped for a missing value
    /// ([`Missing::Drop`](crate::csv::Missing::Drop)).
    #[inline]
    pub(crate) fn parse_row(&self, text: &str, out: &mut Vec<f64>) -> Result<bool, RecordError> {
        let start = out.len();
        if self
            .fast_record(text, out)
            .is_some_and(|end| end == text.len())
        {
            return Ok(true);
        }
        out.truncate(start);
        self.parse_row_exact(text, out)
    }

    /// The common case of a record at the start of `text` (which may hold more lines): no
    /// double quote, exactly [`Layout::width`] fields, every field read a finite number. Appends
    /// its values to `out` and returns the bytes it spans (through its line break, if any);
    /// `None` (with `out` partly written) for any other line, which the exact parser must read.
    #[inline]
    pub(crate) fn fast_record(&self, text: &str, out: &mut Vec<f64>) -> Option<usize> {
        let delimiter = u8::try_from(self.delimiter).ok()?;
        let bytes = text.as_bytes();
        let width = self.width();
        let slots = self.selected.as_ref().map(|(slots, names)| {
            let start = out.len();
            out.resize(start + names.len(), 0.0);
            (slots, start)
        });
        let (mut at, mut j) = (0, 0);
        loop {
            let end = at + stop(&bytes[at..], delimiter);
            let stop = bytes.get(end).copied();
            if stop == Some(b'"') || j == width {
                return None;
            }
            match slots {
                None => out.push(number(text.get(at..end)?)?),
                Some((slots, start)) => {
                    if let Some(&Some(slot)) = slots.get(j) {
                        out[start + slot] = number(text.get(at..end)?)?;
                    }
                }
            }
            j += 1;
            if stop != Some(delimiter) {
                return (j == width).then_some((end + 1).min(bytes.len()));
            }
            at = end + 1;
        }
    }
}

/// The index of the first delimiter, line break or double quote in `bytes` (its length when
/// there is none). Fields are short, so eight bytes are tested at a time in a word, which is
/// quicker here than a vectorised search that must first set itself up.
#[inline]
fn stop(bytes: &[u8], delimiter: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // High bit set in every byte of `w` equal to `b`, and possibly above such a byte (the
    // borrow of the subtraction), never below: the lowest is the first match.
    let matches = |w: u64, b: u8| {
        let x = w ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        let m = matches(w, delimiter) | matches(w, b'\n') | matches(w, b'"');
        if m != 0 {
            return at + (m.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| b == delimiter || b == b'\n' || b == b'"')
        .map_or(bytes.len(), |i| at + i)
}

/// A finite number, when the field (trimmed as [`str::trim`] does) is one.
#[inline]
fn number(field: &str) -> Option<f64> {
    let bytes = field.as_bytes();
    // Only a blank or a non-ASCII byte at either end can be trimmed.
    let plain = |b: u8| b > b' ' && b < 0x80;
    let field = match (bytes.first(), bytes.last()) {
        (Some(&a), Some(&z)) if plain(a) && plain(z) => field,
        _ => field.trim(),
    };
    field.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::{Delimiter, ReadOptions};

    fn layout(first: &str) -> Layout {
        Layout::new(first, 1, &ReadOptions::default(), "t.csv").unwrap()
    }

    #[test]
    fn fast_records_span_one_line_and_leave_the_rest_to_the_exact_parser() {
        let l = layout("a,b");
        let mut out = Vec::new();
        assert_eq!(l.fast_record("1, 2.5\n3,4", &mut out), Some(7));
        assert_eq!(out, [1.0, 2.5]);
        assert_eq!(l.fast_record("1,2\r\n", &mut out), Some(5));
        assert_eq!(l.fast_record("1,2", &mut out), Some(3));
        for other in [
            "1\n",
            "1,2,3\n",
            "\"1\",2\n",
            "1,NA\n",
            "1,x\n",
            "inf,1\n",
            "\n",
            ",\n",
            "1,2\"\n",
        ] {
            assert_eq!(l.fast_record(other, &mut out), None, "{other:?}");
        }
        let tab = Layout::new(
            "a\tb",
            1,
            &ReadOptions {
                delimiter: Delimiter::Tab,
                ..ReadOptions::default()
            },
            "t.tsv",
        )
        .unwrap();
        out.clear();
        assert_eq!(tab.fast_record("1\t2\n", &mut out), Some(4));
        assert_eq!(out, [1.0, 2.0]);
    }

    #[test]
    fn stop_finds_the_first_delimiter_line_break_or_quote() {
        let text = "0123456789abcdef,x\"y\nz";
        for start in 0..text.len() {
            let bytes = &text.as_bytes()[start..];
            let expected = bytes
                .iter()
                .position(|&b| b == b',' || b == b'\n' || b == b'"')
                .unwrap_or(bytes.len());
            assert_eq!(stop(bytes, b','), expected, "{start}");
        }
        // A byte above a match never hides it; bytes 0x80 and up are not matches.
        assert_eq!(stop(b"\x01,\x80\xff\n,,,,,,", b','), 1);
        assert_eq!(stop("é\u{2c}".as_bytes(), b','), 2);
        assert_eq!(stop(b"", b','), 0);
    }

    #[test]
    fn number_takes_only_finite_numbers_trimmed_as_str_trim() {
        assert_eq!(number(" 1.5 "), Some(1.5));
        assert_eq!(number("\u{a0}2\u{2003}"), Some(2.0));
        assert_eq!(number("\u{b}3"), Some(3.0));
        for bad in ["", "NA", "nan", "inf", "-infinity", "1_0", "x", "1e999"] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
    }
}
