//! Principal components: where data and Gaussians of D > 2 dimensions are drawn.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// The projection onto the two leading principal components of a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The data mean (length D).
    pub centre: DVector<f64>,
    /// D×2: the unit eigenvectors of the two largest eigenvalues of the data covariance.
    pub axes: DMatrix<f64>,
    /// The share of the total variance along each axis.
    pub explained: [f64; 2],
}

impl Projection {
    /// The identity map of the plane (D = 2): points and covariances unchanged.
    pub fn identity(d: usize) -> Projection {
        Projection {
            centre: DVector::zeros(d),
            axes: DMatrix::identity(d, 2),
            explained: [f64::NAN; 2],
        }
    }

    /// The two leading principal components of `x` (N×D, D ≥ 2), from the symmetric
    /// eigendecomposition of its covariance. Each axis is signed so that its largest entry is
    /// positive, which makes the picture deterministic.
    pub fn principal_components(x: &DMatrix<f64>) -> Projection {
        let (n, d) = x.shape();
        let centre = x.row_mean().transpose();
        let centred = DMatrix::from_fn(n, d, |i, j| x[(i, j)] - centre[j]);
        let cov = centred.transpose() * &centred / (n.saturating_sub(1).max(1)) as f64;
        let eig = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let total: f64 = eig.eigenvalues.iter().map(|v| v.max(0.0)).sum();
        let mut axes = DMatrix::zeros(d, 2);
        let mut explained = [0.0; 2];
        for (a, &i) in order.iter().take(2).enumerate() {
            let mut v = eig.eigenvectors.column(i).into_owned();
            let largest = v.iamax();
            if v[largest] < 0.0 {
                v = -v;
            }
            axes.set_column(a, &v);
            explained[a] = if total > 0.0 {
                eig.eigenvalues[i].max(0.0) / total
            } else {
                0.0
            };
        }
        Projection {
            centre,
            axes,
            explained,
        }
    }

    /// The coordinates of point `p` (length D).
    pub fn point(&self, p: &[f64]) -> (f64, f64) {
        let mut out = [0.0; 2];
        for (a, o) in out.iter_mut().enumerate() {
            *o = p
                .iter()
                .enumerate()
                .map(|(j, v)| (v - self.centre[j]) * self.axes[(j, a)])
                .sum();
        }
        (out[0], out[1])
    }

    /// The 2×2 covariance AᵀΣA of a Gaussian with covariance Σ, projected: the covariance of
    /// its projection, so its ellipses are exact, not approximations.
    pub fn covariance(&self, s: &DMatrix<f64>) -> [[f64; 2]; 2] {
        let p = self.axes.transpose() * s * &self.axes;
        [[p[(0, 0)], p[(0, 1)]], [p[(1, 0)], p[(1, 1)]]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_axis_follows_the_largest_spread() {
        // Spread mostly along (1, 1, 0)/√2, a little along z.
        let x = DMatrix::from_fn(200, 3, |i, j| {
            let t = i as f64 / 10.0 - 10.0;
            let s = ((i * 7) % 5) as f64 * 0.1;
            match j {
                0 => t + s,
                1 => t - s,
                _ => ((i * 3) % 4) as f64 * 0.01,
            }
        });
        let p = Projection::principal_components(&x);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((p.axes[(0, 0)] - h).abs() < 1e-3, "{}", p.axes);
        assert!((p.axes[(1, 0)] - h).abs() < 1e-3);
        assert!(p.explained[0] > 0.99);
        assert!(p.explained[0] + p.explained[1] <= 1.0 + 1e-12);
        // The centre maps to the origin.
        let c: Vec<f64> = p.centre.iter().copied().collect();
        let (a, b) = p.point(&c);
        assert!(a.abs() < 1e-12 && b.abs() < 1e-12);
    }
}
