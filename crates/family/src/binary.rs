//! A dense matrix of 0/1 values, one observation per row: the data of the multivariate
//! Bernoulli family.

use em_core::{Dataset, EmError};
use nalgebra::DMatrix;

use crate::Observations;

/// An N×D matrix of binary values stored row-major, one observation per row.
///
/// Values are `bool`, so a `BinaryMatrix` cannot hold anything but 0 and 1; the constructors
/// from floating-point data ([`from_f64`](Self::from_f64), [`from_dmatrix`](Self::from_dmatrix))
/// reject any other value with its row and column.
///
/// ```
/// use em_family::BinaryMatrix;
/// let x = BinaryMatrix::from_f64(2, 3, &[1.0, 0.0, 1.0, 0.0, 0.0, 1.0])?;
/// assert_eq!(x.row(1), Some(&[false, false, true][..]));
/// let err = BinaryMatrix::from_f64(1, 2, &[1.0, 0.5]).unwrap_err();
/// assert!(matches!(err, em_core::EmError::InvalidInput { row: 0, column: Some(1), .. }));
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BinaryMatrix {
    n_rows: usize,
    n_cols: usize,
    values: Vec<bool>,
}

impl BinaryMatrix {
    /// A matrix from `n_rows × n_cols` values in row-major order.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`values`) if `values.len() != n_rows * n_cols`.
    pub fn new(n_rows: usize, n_cols: usize, values: Vec<bool>) -> Result<Self, EmError> {
        if Some(values.len()) != n_rows.checked_mul(n_cols) {
            return Err(EmError::InvalidParameter {
                name: "values",
                reason: format!("expected {n_rows} × {n_cols} values, got {}", values.len()),
            });
        }
        Ok(BinaryMatrix {
            n_rows,
            n_cols,
            values,
        })
    }

    /// A matrix from rows of equal length.
    ///
    /// # Errors
    /// [`EmError::InvalidInput`] naming the first row whose length differs from row 0's.
    pub fn from_rows<R: AsRef<[bool]>>(rows: &[R]) -> Result<Self, EmError> {
        let n_cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut values = Vec::with_capacity(rows.len() * n_cols);
        for (row, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != n_cols {
                return Err(EmError::InvalidInput {
                    row,
                    column: None,
                    reason: format!("row has {} values but row 0 has {n_cols}", r.len()),
                });
            }
            values.extend_from_slice(r);
        }
        BinaryMatrix::new(rows.len(), n_cols, values)
    }

    /// A matrix from `n_rows × n_cols` floating-point values in row-major order, each of
    /// which must be exactly 0 or 1.
    ///
    /// # Errors
    /// * [`EmError::InvalidParameter`] (`values`) if the length is not `n_rows * n_cols`;
    /// * [`EmError::NonFinite`] for the first NaN or ±∞ (row-major order);
    /// * [`EmError::InvalidInput`] with row and column for the first other value ≠ 0, 1.
    pub fn from_f64(n_rows: usize, n_cols: usize, values: &[f64]) -> Result<Self, EmError> {
        if Some(values.len()) != n_rows.checked_mul(n_cols) {
            return Err(EmError::InvalidParameter {
                name: "values",
                reason: format!("expected {n_rows} × {n_cols} values, got {}", values.len()),
            });
        }
        let bits = values
            .iter()
            .enumerate()
            .map(|(i, &v)| to_bit(v, i / n_cols.max(1), i % n_cols.max(1)))
            .collect::<Result<Vec<_>, _>>()?;
        BinaryMatrix::new(n_rows, n_cols, bits)
    }

    /// A matrix from an nalgebra matrix of 0.0/1.0 values (one observation per row), with the
    /// checks of [`from_f64`](Self::from_f64).
    pub fn from_dmatrix(x: &DMatrix<f64>) -> Result<Self, EmError> {
        let (n_rows, n_cols) = x.shape();
        let mut bits = Vec::with_capacity(n_rows * n_cols);
        for row in 0..n_rows {
            for column in 0..n_cols {
                bits.push(to_bit(x[(row, column)], row, column)?);
            }
        }
        BinaryMatrix::new(n_rows, n_cols, bits)
    }

    /// Number of observations N.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of binary features D.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Row `i`, or `None` if `i ≥ N`.
    pub fn row(&self, i: usize) -> Option<&[bool]> {
        (i < self.n_rows).then(|| &self.values[i * self.n_cols..(i + 1) * self.n_cols])
    }

    /// The rows in order.
    pub fn rows(&self) -> impl Iterator<Item = &[bool]> {
        (0..self.n_rows).map(|i| &self.values[i * self.n_cols..(i + 1) * self.n_cols])
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[bool] {
        &self.values
    }

    /// Appends a row whose length the caller guarantees to be `n_cols` (the families'
    /// samplers).
    pub(crate) fn push_row(&mut self, row: impl IntoIterator<Item = bool>) {
        self.values.extend(row);
        self.n_rows += 1;
    }
}

fn to_bit(v: f64, row: usize, column: usize) -> Result<bool, EmError> {
    if !v.is_finite() {
        return Err(EmError::NonFinite {
            row,
            column,
            value: v,
        });
    }
    if v == 0.0 {
        Ok(false)
    } else if v == 1.0 {
        Ok(true)
    } else {
        Err(EmError::InvalidInput {
            row,
            column: Some(column),
            reason: format!("binary data must be 0 or 1, got {v}"),
        })
    }
}

impl Dataset for BinaryMatrix {
    fn n_obs(&self) -> usize {
        self.n_rows
    }
}

impl Observations for BinaryMatrix {
    type Obs<'a> = &'a [bool];
    type Owned = BinaryMatrix;

    fn obs(&self, row: usize) -> &[bool] {
        &self.values[row * self.n_cols..(row + 1) * self.n_cols]
    }

    fn n_features(&self) -> usize {
        self.n_cols
    }

    fn with_capacity(n_features: usize, capacity: usize) -> BinaryMatrix {
        BinaryMatrix {
            n_rows: 0,
            n_cols: n_features,
            values: Vec::with_capacity(n_features * capacity),
        }
    }
}
