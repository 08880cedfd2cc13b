//! Expected sufficient statistics of a Gaussian mixture, and how batches of them merge.
//!
//! Per component k the statistics are the total responsibility N_k, the responsibility-
//! weighted mean m_k and the centred scatter M2_k = Σ γ_nk (x_n − m_k)(x_n − m_k)ᵀ (its
//! diagonal only, for diagonal and spherical models). Keeping means and *centred* scatter
//! rather than raw Σγx and Σγxxᵀ avoids the cancellation that ruins Σγxxᵀ − N m mᵀ when the
//! data sit far from the origin; batches merge with the pairwise update of Chan, Golub and
//! LeVeque (1979).

use em_core::Statistics;
use nalgebra::{DMatrix, DVector};

/// The centred scatter of each component.
#[derive(Debug, Clone, PartialEq)]
pub enum Scatter {
    /// One D×D matrix per component (full and tied models).
    Full(Vec<DMatrix<f64>>),
    /// K×D diagonals (diagonal and spherical models).
    Diag(DMatrix<f64>),
}

/// Expected sufficient statistics of a batch of observations.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianStats {
    /// N_k: summed (sample-weighted) responsibilities, length K.
    pub n: DVector<f64>,
    /// m_k: responsibility-weighted means, K×D (row k is 0 when N_k = 0).
    pub means: DMatrix<f64>,
    /// M2_k: centred scatter about m_k.
    pub scatter: Scatter,
}

impl GaussianStats {
    /// Statistics of no observations.
    pub fn zeros(k: usize, d: usize, full_scatter: bool) -> Self {
        GaussianStats {
            n: DVector::zeros(k),
            means: DMatrix::zeros(k, d),
            scatter: if full_scatter {
                Scatter::Full(vec![DMatrix::zeros(d, d); k])
            } else {
                Scatter::Diag(DMatrix::zeros(k, d))
            },
        }
    }

    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.n.len()
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.means.ncols()
    }

    /// Σ_k N_k: the (weighted) number of observations.
    pub fn total(&self) -> f64 {
        self.n.sum()
    }

    /// The diagonal of M2_k, whatever the scatter's form.
    pub fn scatter_diagonal(&self, k: usize) -> DVector<f64> {
        match &self.scatter {
            Scatter::Full(m) => m[k].diagonal(),
            Scatter::Diag(m) => m.row(k).transpose(),
        }
    }
}

impl Statistics for GaussianStats {
    fn merge(&mut self, later: &Self) {
        let d = self.n_features();
        for k in 0..self.n_components() {
            let (na, nb) = (self.n[k], later.n[k]);
            let n = na + nb;
            if nb == 0.0 {
                continue;
            }
            if na == 0.0 {
                self.n[k] = nb;
                self.means.set_row(k, &later.means.row(k));
                match (&mut self.scatter, &later.scatter) {
                    (Scatter::Full(a), Scatter::Full(b)) => a[k].copy_from(&b[k]),
                    (Scatter::Diag(a), Scatter::Diag(b)) => a.set_row(k, &b.row(k)),
                    _ => unreachable_mismatch(),
                }
                continue;
            }
            let delta: Vec<f64> = (0..d)
                .map(|j| later.means[(k, j)] - self.means[(k, j)])
                .collect();
            let cross = na * nb / n;
            for (j, dj) in delta.iter().enumerate() {
                self.means[(k, j)] += dj * (nb / n);
            }
            match (&mut self.scatter, &later.scatter) {
                (Scatter::Full(a), Scatter::Full(b)) => {
                    let a = &mut a[k];
                    for c in 0..d {
                        for r in 0..d {
                            a[(r, c)] += b[k][(r, c)] + cross * delta[r] * delta[c];
                        }
                    }
                }
                (Scatter::Diag(a), Scatter::Diag(b)) => {
                    for (j, dj) in delta.iter().enumerate() {
                        a[(k, j)] += b[(k, j)] + cross * dj * dj;
                    }
                }
                _ => unreachable_mismatch(),
            }
            self.n[k] = n;
        }
    }
}

/// Statistics of one model always share one scatter form; mixing them is a bug in this crate,
/// never a consequence of user input.
#[cold]
fn unreachable_mismatch() {
    debug_assert!(false, "merging full and diagonal scatter");
}
