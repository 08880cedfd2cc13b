//! Small dense linear algebra for the M-steps: a Cholesky solve that calls a matrix singular
//! by a relative rule, not only when a pivot is exactly non-positive.

use nalgebra::{DMatrix, DVector};

/// A pivot of the Cholesky factor whose square is at most this fraction of its diagonal
/// entry marks the matrix singular: the column is a linear combination of the ones before
/// it to within 1 − R² ≤ 1e-13 (R's `lm` uses a QR tolerance of 1e-7 on |R_jj|, the same
/// order).
pub(crate) const SINGULAR_PIVOT: f64 = 1e-13;

/// The lower Cholesky factor of a symmetric P×P matrix, or `Err(j)` with the first column j
/// that makes it singular (relative pivot ≤ [`SINGULAR_PIVOT`], or a non-finite entry).
pub(crate) fn cholesky(a: &DMatrix<f64>) -> Result<DMatrix<f64>, usize> {
    let p = a.nrows();
    let mut l = DMatrix::zeros(p, p);
    for j in 0..p {
        let mut d = a[(j, j)];
        for m in 0..j {
            d -= l[(j, m)] * l[(j, m)];
        }
        if !(d > SINGULAR_PIVOT * a[(j, j)] && d > 0.0 && d.is_finite()) {
            return Err(j);
        }
        let root = d.sqrt();
        l[(j, j)] = root;
        for i in j + 1..p {
            let mut s = a[(i, j)];
            for m in 0..j {
                s -= l[(i, m)] * l[(j, m)];
            }
            l[(i, j)] = s / root;
        }
    }
    Ok(l)
}

/// v > 0 (false for NaN): the test of a weight, a residual sum or a count that must be
/// positive.
pub(crate) fn positive(v: f64) -> bool {
    v > 0.0
}

/// Solves L Lᵀ b = r given the lower factor L.
pub(crate) fn cholesky_solve(l: &DMatrix<f64>, r: &DVector<f64>) -> DVector<f64> {
    let p = l.nrows();
    let mut z = r.clone();
    for i in 0..p {
        let mut s = z[i];
        for m in 0..i {
            s -= l[(i, m)] * z[m];
        }
        z[i] = s / l[(i, i)];
    }
    for i in (0..p).rev() {
        let mut s = z[i];
        for m in i + 1..p {
            s -= l[(m, i)] * z[m];
        }
        z[i] = s / l[(i, i)];
    }
    z
}

/// The message of a singular weighted design for component `k`, naming the design column.
pub(crate) fn singular_reason(what: &str, column: usize) -> String {
    format!(
        "{what} is singular at design column {column}: among the observations this component \
         holds, that column is constant or a linear combination of the columns before it \
         (too few observations for the number of predictors, or collinear predictors); use \
         fewer components or predictors, or another start"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{dmatrix, dvector};

    #[test]
    fn cholesky_solve_matches_the_exact_solution() {
        let a = dmatrix![4.0, 2.0; 2.0, 3.0];
        let l = cholesky(&a).unwrap();
        let b = cholesky_solve(&l, &dvector![2.0, 1.0]);
        assert!((&a * &b - dvector![2.0, 1.0]).norm() < 1e-14);
    }

    #[test]
    fn cholesky_names_the_first_dependent_column() {
        // Column 2 = column 0 + column 1.
        let x = dmatrix![1.0, 0.0, 1.0; 1.0, 1.0, 2.0; 1.0, 2.0, 3.0; 1.0, 5.0, 6.0];
        assert_eq!(cholesky(&(x.transpose() * &x)), Err(2));
    }
}
