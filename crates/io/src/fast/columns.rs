//! The in-memory reader's matrix while it fills: column-major, each column `stride` values
//! long of which the first `rows` are written, compacted to a `rows × width` matrix at the end.
//! Pieces are copied into their parts of every column in parallel.
//!
//! Its capacity is either counted (the lines of the text: more rows than that means the input
//! changed while it was read) or estimated from the size of the file and the bytes per row of
//! what has been read, growing when the estimate falls short. A plain file then needs no
//! counting pass; the pages of an overestimate are never touched, and are returned at the end.

use nalgebra::DMatrix;
use rayon::prelude::*;

use super::block::Numbered;
use crate::error::ReadError;
use crate::table::LineMap;

/// How many rows the matrix is made for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Capacity {
    /// At most this many (the lines counted): more means the input grew while it was read.
    AtMost(usize),
    /// As many as `bytes` of text hold, estimated as it is read; grows as needed.
    Bytes(u64),
}

/// Rows made room for before any bytes per row are known.
const FIRST_ROWS: usize = 1024;

/// The matrix being filled.
pub(crate) struct Columns {
    values: Vec<f64>,
    stride: usize,
    width: usize,
    capacity: Capacity,
    /// Rows written.
    pub(crate) rows: usize,
    /// The file line of every row.
    pub(crate) lines: LineMap,
    /// Rows dropped for missing values.
    pub(crate) dropped: usize,
}

impl Columns {
    /// An empty matrix of `width` columns; `origin` names the input in errors.
    pub(crate) fn new(width: usize, capacity: Capacity, origin: &str) -> Result<Self, ReadError> {
        let stride = match capacity {
            Capacity::AtMost(n) => n.max(1),
            Capacity::Bytes(_) => FIRST_ROWS,
        };
        Ok(Columns {
            values: zeros(stride, width, origin)?,
            stride,
            width,
            capacity,
            rows: 0,
            lines: LineMap::default(),
            dropped: 0,
        })
    }

    /// Makes room for `extra` more rows, `bytes_read` bytes into the input.
    fn reserve(&mut self, extra: usize, bytes_read: u64, origin: &str) -> Result<(), ReadError> {
        let needed = self.rows + extra;
        if needed <= self.stride {
            return Ok(());
        }
        let stride = match self.capacity {
            Capacity::AtMost(_) => {
                return Err(ReadError::Changed {
                    origin: origin.to_string(),
                });
            }
            Capacity::Bytes(total) => {
                // The rows of the whole input at the bytes per row read so far, and a margin,
                // but never more than it can hold (a record of `width` fields takes at least
                // `width` bytes with its delimiters and line break).
                let per_row = bytes_read.max(1) as f64 / needed as f64;
                let estimate = (total as f64 / per_row * 1.02) as usize + 64;
                let most =
                    usize::try_from(total / self.width.max(1) as u64 + 1).unwrap_or(usize::MAX);
                estimate
                    .min(most)
                    .max(needed)
                    .max(self.stride + self.stride / 2)
            }
        };
        let mut values = zeros(stride, self.width, origin)?;
        for j in 0..self.width {
            values[j * stride..][..self.rows]
                .copy_from_slice(&self.values[j * self.stride..][..self.rows]);
        }
        (self.values, self.stride) = (values, stride);
        Ok(())
    }

    /// Appends one row, on file line `line`.
    pub(crate) fn push_row(
        &mut self,
        row: &[f64],
        line: u64,
        bytes_read: u64,
        origin: &str,
    ) -> Result<(), ReadError> {
        self.reserve(1, bytes_read, origin)?;
        self.lines.push(self.rows, line as usize);
        for (j, &v) in row.iter().enumerate() {
            self.values[j * self.stride + self.rows] = v;
        }
        self.rows += 1;
        Ok(())
    }

    /// Appends the rows of `pieces` (in order), `bytes_read` bytes into the input, copying them
    /// into the columns in parallel.
    pub(crate) fn append(
        &mut self,
        pieces: &[Numbered],
        bytes_read: u64,
        origin: &str,
    ) -> Result<(), ReadError> {
        let total: usize = pieces.iter().map(|p| p.piece.rows).sum();
        self.reserve(total, bytes_read, origin)?;
        let start = self.rows;
        for Numbered { piece, first_line } in pieces {
            for &(r, line) in &piece.runs {
                self.lines.push(self.rows + r, (first_line + line) as usize);
            }
            self.dropped += piece.drops.len();
            self.rows += piece.rows;
        }
        // Every piece's part of every column: disjoint slices, filled in parallel.
        let mut parts: Vec<Vec<&mut [f64]>> = pieces.iter().map(|_| Vec::new()).collect();
        for column in self.values.chunks_mut(self.stride) {
            let mut rest = &mut column[start..start + total];
            for (part, p) in parts.iter_mut().zip(pieces) {
                let (mine, after) = rest.split_at_mut(p.piece.rows);
                part.push(mine);
                rest = after;
            }
        }
        let width = self.width;
        parts.into_par_iter().zip(pieces).for_each(|(part, p)| {
            for (j, column) in part.into_iter().enumerate() {
                for (v, row) in column.iter_mut().zip(p.piece.values.chunks_exact(width)) {
                    *v = row[j];
                }
            }
        });
        Ok(())
    }

    /// The `rows × width` matrix: the columns moved left, in order, to length `rows`.
    pub(crate) fn into_matrix(self) -> DMatrix<f64> {
        let (mut values, n, stride) = (self.values, self.rows, self.stride);
        for j in 1..self.width {
            values.copy_within(j * stride..j * stride + n, j * n);
        }
        values.truncate(n * self.width);
        values.shrink_to_fit();
        DMatrix::from_vec(n, self.width, values)
    }
}

/// `stride × width` zeros (pages the allocator maps on first write), or the error for a table
/// too large to address.
fn zeros(stride: usize, width: usize, origin: &str) -> Result<Vec<f64>, ReadError> {
    let size = stride
        .checked_mul(width)
        .ok_or_else(|| ReadError::TooLarge {
            origin: origin.to_string(),
            lines: stride,
            columns: width,
        })?;
    Ok(vec![0.0; size])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::piece::Piece;

    fn piece(rows: &[[f64; 2]], first_line: u64) -> Numbered {
        Numbered {
            piece: Piece {
                values: rows.iter().flatten().copied().collect(),
                rows: rows.len(),
                lines: rows.len() as u64,
                runs: vec![(0, 0)],
                ..Piece::default()
            },
            first_line,
        }
    }

    #[test]
    fn an_estimated_capacity_grows_and_a_counted_one_does_not() {
        let mut c = Columns::new(2, Capacity::Bytes(10), "t").unwrap();
        c.push_row(&[1.0, 2.0], 1, 4, "t").unwrap();
        let many: Vec<[f64; 2]> = (0..5000).map(|i| [i as f64, -(i as f64)]).collect();
        c.append(&[piece(&many, 2), piece(&many[..3], 5002)], 8, "t")
            .unwrap();
        assert_eq!(c.rows, 5004);
        assert_eq!(c.lines.line(5003), 5004);
        let x = c.into_matrix();
        assert_eq!(
            (x[(0, 1)], x[(4000, 0)], x[(4000, 1)], x[(5003, 1)]),
            (2.0, 3999.0, -3999.0, -2.0)
        );
        let mut c = Columns::new(2, Capacity::AtMost(2), "t").unwrap();
        assert!(matches!(
            c.append(&[piece(&many[..3], 1)], 8, "t"),
            Err(ReadError::Changed { .. })
        ));
    }
}
