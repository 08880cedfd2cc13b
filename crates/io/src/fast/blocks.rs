//! A reader cut into blocks of whole lines: the bytes read, up to the last line break, with
//! the partial line after it carried into the next block. A line longer than a block makes
//! its block longer. A read error is held back until the lines read before it have been
//! handed out, so that an error on an earlier line is reported first, as when the file is
//! read line by line.

use std::io::{self, Read};

/// Bytes read per block.
pub(crate) const BLOCK: usize = 8 << 20;

/// The state of a reader read block by block (the reader itself is passed to
/// [`Blocks::next`], so that its owner can seek it between passes).
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    /// The partial line after the last block's last line break.
    carry: Vec<u8>,
    eof: bool,
    failed: Option<io::Error>,
}

impl Blocks {
    /// Blocks starting with `prefix` (bytes already read from the reader).
    pub(crate) fn with_prefix(prefix: &[u8]) -> Self {
        Blocks {
            carry: prefix.to_vec(),
            ..Blocks::default()
        }
    }

    /// Fills `buf` with the next block of whole lines (the last line of the input may have no
    /// line break); `Ok(false)` at the end of the input. A read error comes after the lines
    /// read before it.
    pub(crate) fn next(&mut self, reader: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        // Copied, not swapped, so that `buf` keeps its large allocation from block to block.
        buf.extend_from_slice(&self.carry);
        self.carry.clear();
        // Bytes of `buf` known to hold no line break.
        let mut searched = 0;
        loop {
            if self.eof {
                return Ok(!buf.is_empty());
            }
            if buf.len() >= BLOCK {
                match memchr::memrchr(b'\n', &buf[searched..]) {
                    Some(i) => {
                        let end = searched + i + 1;
                        self.carry.extend_from_slice(&buf[end..]);
                        buf.truncate(end);
                        return Ok(true);
                    }
                    None => searched = buf.len(),
                }
            }
            // `read_to_end` reads into the spare capacity without zeroing it first; room is made
            // first, so that the reads go straight into it.
            let want = BLOCK.max(buf.len() / 2);
            buf.reserve(want);
            let want = want as u64;
            match reader.by_ref().take(want).read_to_end(buf) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) => {
                    // Hand out the whole lines read so far; the error comes next.
                    let end = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
                    self.carry.extend_from_slice(&buf[end..]);
                    buf.truncate(end);
                    if buf.is_empty() {
                        return Err(e);
                    }
                    self.failed = Some(e);
                    return Ok(true);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_end_at_line_breaks_and_join_to_the_input() {
        let text: Vec<u8> = (0..2_000_000)
            .flat_map(|i| format!("{i},{i}\n").into_bytes())
            .collect();
        let mut blocks = Blocks::with_prefix(b"x,y\n");
        let mut reader = text.as_slice();
        let (mut all, mut buf) = (Vec::new(), Vec::new());
        let mut n = 0;
        while blocks.next(&mut reader, &mut buf).unwrap() {
            assert_eq!(buf.last(), Some(&b'\n'));
            all.extend_from_slice(&buf);
            n += 1;
        }
        assert!(n > 1);
        assert_eq!((&all[..4], &all[4..]), (&b"x,y\n"[..], &text[..]));
    }
}
