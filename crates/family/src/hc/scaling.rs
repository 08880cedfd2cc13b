//! The coordinates the agglomeration runs in.

use em_core::EmError;
use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Deserialize, Serialize};

/// How the data are transformed before the agglomeration. The criterion's regularisation is
/// not affine-invariant, so the coordinates matter; mclust's default is [`HcScaling::Svd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HcScaling {
    /// Standardise every column, rotate to the principal axes and divide each by the square
    /// root of its singular value: `Z = X_s V D^{-1/2}` where `X_s = U D Vᵀ` (mclust's
    /// `hcUse = "SVD"`, its default). Invariant to the units and the rotation of the data.
    #[default]
    Svd,
    /// Centre and divide every column by its standard deviation (mclust's `"STD"`).
    Standardize,
    /// The data as given (mclust's `"VARS"`).
    None,
}

/// `x` transformed as `scaling` says. Constant columns (zero standard deviation) are dropped,
/// as are directions of zero variance after the rotation; data with no variance at all
/// become one column of zeros, so that every row is a duplicate of every other.
///
/// # Errors
///
/// [`EmError::EmptyData`] when `x` has no rows or no columns.
///
/// ```
/// use em_family::hc::{HcScaling, scale_for_hc};
/// use nalgebra::dmatrix;
///
/// let x = dmatrix![1.0, 100.0; 2.0, 300.0; 4.0, 200.0; 3.0, 500.0];
/// let z = scale_for_hc(&x, HcScaling::Svd)?;
/// // Whitened up to the singular values: ZᵀZ = D, diagonal.
/// let ztz = z.transpose() * &z;
/// assert!(ztz[(0, 1)].abs() < 1e-12);
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn scale_for_hc(x: &DMatrix<f64>, scaling: HcScaling) -> Result<DMatrix<f64>, EmError> {
    let (n, p) = x.shape();
    if n == 0 || p == 0 {
        return Err(EmError::EmptyData);
    }
    if scaling == HcScaling::None {
        return Ok(x.clone());
    }
    let standardized = standardize(x);
    if scaling == HcScaling::Standardize || standardized.ncols() == 0 {
        return Ok(if standardized.ncols() == 0 {
            DMatrix::zeros(n, 1)
        } else {
            standardized
        });
    }
    // X_sᵀX_s = V D² Vᵀ: the right singular vectors and squared singular values of X_s.
    let gram = standardized.transpose() * &standardized;
    let eigen = SymmetricEigen::new(gram);
    let largest = eigen.eigenvalues.max();
    // Principal axes in decreasing order of variance, as the SVD gives them: the order of the
    // coordinates matters to the criterion's stored-factor arithmetic.
    let mut keep: Vec<usize> = (0..eigen.eigenvalues.len())
        .filter(|&c| eigen.eigenvalues[c] > largest * 1e-12)
        .collect();
    keep.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let mut rotation = DMatrix::zeros(standardized.ncols(), keep.len());
    for (out, &c) in keep.iter().enumerate() {
        let d = eigen.eigenvalues[c].sqrt();
        rotation.set_column(out, &(eigen.eigenvectors.column(c) / d.sqrt()));
    }
    Ok(standardized * rotation)
}

/// Columns centred and divided by their standard deviation (n − 1 divisor, as R's `scale`);
/// constant columns dropped.
fn standardize(x: &DMatrix<f64>) -> DMatrix<f64> {
    let n = x.nrows() as f64;
    let columns: Vec<_> = x
        .column_iter()
        .filter_map(|col| {
            let mean = col.sum() / n;
            let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
            let sd = var.sqrt();
            (sd > 0.0 && sd.is_finite()).then(|| col.map(|v| (v - mean) / sd))
        })
        .collect();
    if columns.is_empty() {
        return DMatrix::zeros(x.nrows(), 0);
    }
    DMatrix::from_columns(&columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::dmatrix;

    #[test]
    fn units_do_not_change_the_svd_coordinates_distances() {
        let x =
            dmatrix![1.0, 10.0, 0.3; 2.0, 30.0, 0.1; 4.0, 20.0, 0.2; 3.0, 50.0, 0.5; 0.5, 5.0, 0.9];
        let mut y = x.clone();
        y.column_mut(1).scale_mut(1000.0);
        y.column_mut(2).add_scalar_mut(7.0);
        let (zx, zy) = (
            scale_for_hc(&x, HcScaling::Svd).unwrap(),
            scale_for_hc(&y, HcScaling::Svd).unwrap(),
        );
        for i in 0..5 {
            for j in 0..5 {
                let dx = (zx.row(i) - zx.row(j)).norm();
                let dy = (zy.row(i) - zy.row(j)).norm();
                assert!((dx - dy).abs() < 1e-12, "{dx} {dy}");
            }
        }
    }

    #[test]
    fn constant_columns_are_dropped() {
        let x = dmatrix![1.0, 5.0; 2.0, 5.0; 4.0, 5.0];
        assert_eq!(scale_for_hc(&x, HcScaling::Svd).unwrap().ncols(), 1);
        let flat = dmatrix![5.0, 1.0; 5.0, 1.0];
        assert_eq!(
            scale_for_hc(&flat, HcScaling::Svd).unwrap(),
            DMatrix::zeros(2, 1)
        );
    }
}
