//! Expected sufficient statistics of a Gaussian mixture, and how batches of them merge.
//!
//! Per component k the statistics are the total responsibility N_k, the responsibility-
//! weighted mean m_k and the centred scatter M2_k = Σ γ_nk (x_n − m_k)(x_n − m_k)ᵀ (its
//! diagonal only, for diagonal and spherical models). Keeping means and *centred* scatter
//! rather than raw Σγx and Σγxxᵀ avoids the cancellation that ruins Σγxxᵀ − N m mᵀ when the
//! data sit far from the origin; batches merge with the pairwise update of Chan, Golub and
//! LeVeque (1979).

use em_core::{ScalableStatistics, Statistics};
use nalgebra::{DMatrix, DVector};

use super::covariance::CovarianceType;

/// Which scatter statistics keep: the full D×D matrix of each component, or only its diagonal.
///
/// [`GaussianStats::zeros`] takes anything that converts into it: a [`CovarianceType`] (full
/// and tied models need full scatter, diagonal and spherical ones the diagonal) or a `bool`
/// (`true` = full, the flag `zeros` has always taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScatterForm {
    /// One D×D matrix per component.
    Full,
    /// The diagonal of each component's scatter.
    Diag,
}

impl From<CovarianceType> for ScatterForm {
    fn from(kind: CovarianceType) -> Self {
        match kind {
            CovarianceType::Full | CovarianceType::Tied => ScatterForm::Full,
            CovarianceType::Diag | CovarianceType::Spherical => ScatterForm::Diag,
        }
    }
}

impl From<bool> for ScatterForm {
    /// `true` for full scatter.
    fn from(full_scatter: bool) -> Self {
        if full_scatter {
            ScatterForm::Full
        } else {
            ScatterForm::Diag
        }
    }
}

/// The centred scatter of each component.
#[derive(Debug, Clone, PartialEq)]
pub enum Scatter {
    /// One D×D matrix per component (full and tied models).
    Full(Vec<DMatrix<f64>>),
    /// K×D diagonals (diagonal and spherical models).
    Diag(DMatrix<f64>),
}

impl Scatter {
    /// Whether this is full or diagonal scatter.
    pub fn form(&self) -> ScatterForm {
        match self {
            Scatter::Full(_) => ScatterForm::Full,
            Scatter::Diag(_) => ScatterForm::Diag,
        }
    }
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
    /// Σ_i Σ_k w_i γ_ik H_ik: the entropy of the missing coordinates' conditional
    /// distributions, for data with missing values (0 for complete data; see
    /// [`MissingValues::Model`](super::MissingValues::Model)). It is part of Σγ log f, so
    /// the family's `expected_log_density` adds it.
    pub conditional_entropy: f64,
}

impl GaussianStats {
    /// Statistics of no observations, for `k` components in `d` dimensions, keeping the
    /// scatter in the given form (a [`ScatterForm`], a [`CovarianceType`] or a `bool`, `true`
    /// for full scatter).
    pub fn zeros(k: usize, d: usize, scatter: impl Into<ScatterForm>) -> Self {
        GaussianStats {
            n: DVector::zeros(k),
            means: DMatrix::zeros(k, d),
            scatter: match scatter.into() {
                ScatterForm::Full => Scatter::Full(vec![DMatrix::zeros(d, d); k]),
                ScatterForm::Diag => Scatter::Diag(DMatrix::zeros(k, d)),
            },
            conditional_entropy: 0.0,
        }
    }

    /// Whether these statistics are of `k` components in `d` dimensions with scatter of the
    /// given form (every vector and matrix of the right shape).
    pub fn fits(&self, k: usize, d: usize, scatter: impl Into<ScatterForm>) -> bool {
        self.n.len() == k
            && self.means.shape() == (k, d)
            && match (&self.scatter, scatter.into()) {
                (Scatter::Full(m), ScatterForm::Full) => {
                    m.len() == k && m.iter().all(|m| m.shape() == (d, d))
                }
                (Scatter::Diag(m), ScatterForm::Diag) => m.shape() == (k, d),
                _ => false,
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
        self.conditional_entropy += later.conditional_entropy;
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
                    // The lower triangle, mirrored: (cross·δ_r)·δ_c and (cross·δ_c)·δ_r can
                    // round differently, and the scatter must stay exactly symmetric.
                    let a = &mut a[k];
                    for c in 0..d {
                        for r in c..d {
                            let v = a[(r, c)] + (b[k][(r, c)] + cross * delta[r] * delta[c]);
                            a[(r, c)] = v;
                            a[(c, r)] = v;
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

/// N_k, M2_k and the conditional entropy scale; the means are averages and do not.
impl ScalableStatistics for GaussianStats {
    fn scale(&mut self, factor: f64) {
        self.n *= factor;
        match &mut self.scatter {
            Scatter::Full(m) => m.iter_mut().for_each(|m| *m *= factor),
            Scatter::Diag(m) => *m *= factor,
        }
        self.conditional_entropy *= factor;
    }
}

/// Statistics of one model always share one scatter form; mixing them is a bug in this crate,
/// never a consequence of user input.
#[cold]
fn unreachable_mismatch() {
    debug_assert!(false, "merging full and diagonal scatter");
}
