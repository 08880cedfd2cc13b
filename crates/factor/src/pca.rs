//! The leading eigenpairs of a group's covariance by randomised subspace iteration, without
//! forming the D × D matrix: O(n D l) per iteration for l = min(q + 8, D) directions.

use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

/// Subspace iterations: enough for a start (EM refines it), cheap next to one E-step.
const ITERATIONS: usize = 8;

/// The PCA of some rows of `x`: the mean, the top-q eigenvectors (D × q, orthonormal) and
/// eigenvalues (descending) of the covariance with divisor n, and its trace.
pub(crate) struct Pca {
    pub mean: DVector<f64>,
    pub vectors: DMatrix<f64>,
    pub values: Vec<f64>,
    pub trace: f64,
}

/// PCA of rows `rows` of `x` (at least one row; 1 ≤ q < D).
pub(crate) fn pca<R: Rng + ?Sized>(x: &DMatrix<f64>, rows: &[usize], q: usize, rng: &mut R) -> Pca {
    let d = x.ncols();
    let n = rows.len().max(1);
    let mut mean = DVector::zeros(d);
    for &i in rows {
        mean += x.row(i).transpose();
    }
    mean /= n as f64;
    let centred = DMatrix::from_fn(rows.len(), d, |i, j| x[(rows[i], j)] - mean[j]);
    let trace = centred.norm_squared() / n as f64;
    let l = (q + 8).min(d);
    let mut basis = DMatrix::from_fn(d, l, |_, _| rng.sample::<f64, _>(StandardNormal));
    for _ in 0..ITERATIONS {
        let y = centred.tr_mul(&(&centred * &basis));
        basis = y.qr().q();
    }
    let projected = &centred * &basis; // n × l
    let small = projected.tr_mul(&projected) / n as f64;
    let small = (&small + small.transpose()) * 0.5;
    let eig = small.symmetric_eigen();
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let mut vectors = DMatrix::zeros(d, q);
    let mut values = Vec::with_capacity(q);
    for (j, &o) in order.iter().take(q).enumerate() {
        vectors.set_column(j, &(&basis * eig.eigenvectors.column(o)));
        values.push(eig.eigenvalues[o].max(0.0));
    }
    Pca {
        mean,
        vectors,
        values,
        trace,
    }
}
