//! The gradient of Σ_i Σ_k γ_ik log N(x_i | μ_k, Σ_k) in unconstrained coordinates, from the
//! statistics (N_k, m_k, M2_k), for the four covariance structures.
//!
//! Coordinates, in order: the K·D means (row k = μ_k); then for `full` each component's
//! Cholesky factor L_k (Σ_k = L_k L_kᵀ) row by row, lower triangle, its diagonal as log L_ii;
//! for `tied` the one shared factor the same way; for `diag` the K·D log-variances; for
//! `spherical` the K log-variances. With δ_k = m_k − μ_k and S_k = M2_k + N_k δ_k δ_kᵀ (the
//! scatter about μ_k):
//!
//! * ∂/∂μ_k = N_k Σ_k⁻¹ δ_k;
//! * ∂/∂L_k = L_k⁻ᵀ (L_k⁻¹ S_k L_k⁻ᵀ − N_k I), lower triangle (two triangular solves, no
//!   inverse), times L_ii on the diagonal for its logarithm; `tied` sums S_k and N_k;
//! * ∂/∂log σ²_kd = −N_k / 2 + S_k,dd / (2σ²_kd); `spherical`: −N_k D / 2 + tr S_k / (2σ²_k).
//!
//! The statistics of missing values (conditional means and covariances in m_k and M2_k) need
//! nothing more: their conditional entropy does not depend on the parameters. The `reg_covar`
//! ridge is not part of the likelihood and has no gradient; the conjugate prior's gradient is
//! not provided ([`EmError::NotAvailable`]).

use em_core::EmError;
use nalgebra::{DMatrix, DVector};

use super::Gaussians;
use super::covariance::{CovarianceType, Covariances};
use super::family::GaussianFamily;
use super::stats::{GaussianStats, Scatter};
use crate::gradient::FamilyGradient;

fn stats_mismatch() -> EmError {
    EmError::InvalidParameter {
        name: "stats",
        reason: "the statistics do not have the shape of the Gaussians".into(),
    }
}

/// The scatter S_k about μ_k: M2_k + N_k δ δᵀ (full form), or its diagonal.
fn scatter_about_mean(
    g: &Gaussians,
    stats: &GaussianStats,
    k: usize,
) -> (DVector<f64>, DMatrix<f64>) {
    let n = stats.n[k];
    let delta: DVector<f64> = (stats.means.row(k) - g.means().row(k)).transpose();
    let s = match &stats.scatter {
        Scatter::Full(m2) => &m2[k] + (&delta * delta.transpose()) * n,
        Scatter::Diag(m2) => DMatrix::from_diagonal(&DVector::from_iterator(
            delta.len(),
            (0..delta.len()).map(|d| m2[(k, d)] + n * delta[d] * delta[d]),
        )),
    };
    (delta, s)
}

/// ∂/∂L (lower triangle, log diagonal) of −(N/2) log|LLᵀ| − ½ tr((LLᵀ)⁻¹ S), appended row by row.
fn factor_gradient(l: &DMatrix<f64>, s: &DMatrix<f64>, n: f64, out: &mut Vec<f64>) -> Option<()> {
    let d = l.nrows();
    let half = l.solve_lower_triangular(s)?; // L⁻¹ S
    let mut a = l.solve_lower_triangular(&half.transpose())?; // L⁻¹ S L⁻ᵀ
    for i in 0..d {
        a[(i, i)] -= n;
    }
    let g = l.tr_solve_lower_triangular(&a)?; // L⁻ᵀ (A − N I)
    for i in 0..d {
        for j in 0..=i {
            out.push(if i == j {
                g[(i, i)] * l[(i, i)]
            } else {
                g[(i, j)]
            });
        }
    }
    Some(())
}

/// The factor's lower triangle row by row, log diagonal.
fn push_factor(l: &DMatrix<f64>, out: &mut Vec<f64>) {
    for i in 0..l.nrows() {
        for j in 0..=i {
            out.push(if i == j { l[(i, i)].ln() } else { l[(i, j)] });
        }
    }
}

/// Σ = L Lᵀ from a factor's coordinates (consumed from `eta`).
fn covariance_from(eta: &mut impl Iterator<Item = f64>, d: usize) -> DMatrix<f64> {
    let mut l = DMatrix::zeros(d, d);
    for i in 0..d {
        for j in 0..=i {
            let v = eta.next().unwrap_or(f64::NAN);
            l[(i, j)] = if i == j { v.exp() } else { v };
        }
    }
    &l * l.transpose()
}

fn factor_names(prefix: &str, d: usize, out: &mut Vec<String>) {
    for i in 0..d {
        for j in 0..=i {
            out.push(if i == j {
                format!("{prefix}log L[{i},{i}]")
            } else {
                format!("{prefix}L[{i},{j}]")
            });
        }
    }
}

impl Gaussians {
    /// The unconstrained coordinates (see the [module docs](self)).
    pub fn coordinates(&self) -> Vec<f64> {
        let (k_count, d) = (self.n_components(), self.n_features());
        let mut out: Vec<f64> = (0..k_count)
            .flat_map(|k| (0..d).map(move |j| (k, j)))
            .map(|(k, j)| self.means()[(k, j)])
            .collect();
        match self.covariances() {
            Covariances::Full(_) => {
                for k in 0..k_count {
                    push_factor(&self.cholesky(k).unwrap_or_default(), &mut out);
                }
            }
            Covariances::Tied(_) => push_factor(&self.cholesky(0).unwrap_or_default(), &mut out),
            Covariances::Diag(v) => {
                out.extend((0..k_count).flat_map(|k| (0..d).map(move |j| v[(k, j)].ln())))
            }
            Covariances::Spherical(v) => out.extend(v.iter().map(|v| v.ln())),
        }
        out
    }

    /// The Gaussians of the same structure at coordinates `eta`.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] for a vector of the wrong length or not finite, and
    /// [`Gaussians::new`]'s errors (a covariance the coordinates overflow).
    pub fn with_coordinates(&self, eta: &[f64]) -> Result<Gaussians, EmError> {
        let (k_count, d) = (self.n_components(), self.n_features());
        let kind = self.covariance_type();
        let expected = k_count * d + kind.n_parameters(k_count, d);
        if eta.len() != expected || eta.iter().any(|v| !v.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "coordinates",
                reason: format!(
                    "expected {expected} finite values, got {} ({} not finite)",
                    eta.len(),
                    eta.iter().filter(|v| !v.is_finite()).count()
                ),
            });
        }
        let means = DMatrix::from_row_slice(k_count, d, &eta[..k_count * d]);
        let mut rest = eta[k_count * d..].iter().copied();
        let covariances = match kind {
            CovarianceType::Full => Covariances::Full(
                (0..k_count)
                    .map(|_| covariance_from(&mut rest, d))
                    .collect(),
            ),
            CovarianceType::Tied => Covariances::Tied(covariance_from(&mut rest, d)),
            CovarianceType::Diag => Covariances::Diag(
                DMatrix::from_iterator(d, k_count, rest.map(f64::exp)).transpose(),
            ),
            CovarianceType::Spherical => {
                Covariances::Spherical(DVector::from_iterator(k_count, rest.map(f64::exp)))
            }
        };
        Gaussians::new(means, covariances)
    }

    /// The names of [`coordinates`](Self::coordinates).
    pub fn coordinate_names(&self) -> Vec<String> {
        let (k_count, d) = (self.n_components(), self.n_features());
        let mut out: Vec<String> = (0..k_count)
            .flat_map(|k| (0..d).map(move |j| format!("μ_{k}[{j}]")))
            .collect();
        match self.covariance_type() {
            CovarianceType::Full => {
                (0..k_count).for_each(|k| factor_names(&format!("component {k}: "), d, &mut out))
            }
            CovarianceType::Tied => factor_names("tied: ", d, &mut out),
            CovarianceType::Diag => out
                .extend((0..k_count).flat_map(|k| (0..d).map(move |j| format!("log σ²_{k}[{j}]")))),
            CovarianceType::Spherical => out.extend((0..k_count).map(|k| format!("log σ²_{k}"))),
        }
        out
    }

    /// ∇ of [`Gaussians::expected_log_density`] in [`coordinates`](Self::coordinates).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`stats`) for statistics of another shape.
    pub fn gradient(&self, stats: &GaussianStats) -> Result<Vec<f64>, EmError> {
        let (k_count, d) = (self.n_components(), self.n_features());
        let kind = self.covariance_type();
        if !stats.fits(k_count, d, kind) {
            return Err(stats_mismatch());
        }
        let scatters: Vec<(DVector<f64>, DMatrix<f64>)> = (0..k_count)
            .map(|k| scatter_about_mean(self, stats, k))
            .collect();
        let mut out = Vec::with_capacity(k_count * d + kind.n_parameters(k_count, d));
        for (k, (delta, _)) in scatters.iter().enumerate() {
            let l = self.cholesky(k).ok_or_else(stats_mismatch)?;
            let z = l.solve_lower_triangular(delta).ok_or_else(stats_mismatch)?;
            let g = l.tr_solve_lower_triangular(&z).ok_or_else(stats_mismatch)?;
            out.extend(g.iter().map(|v| v * stats.n[k]));
        }
        match self.covariances() {
            Covariances::Full(_) => {
                for (k, (_, s)) in scatters.iter().enumerate() {
                    let l = self.cholesky(k).ok_or_else(stats_mismatch)?;
                    factor_gradient(&l, s, stats.n[k], &mut out).ok_or_else(stats_mismatch)?;
                }
            }
            Covariances::Tied(_) => {
                let total = scatters
                    .iter()
                    .fold(DMatrix::zeros(d, d), |acc, (_, s)| acc + s);
                let l = self.cholesky(0).ok_or_else(stats_mismatch)?;
                factor_gradient(&l, &total, stats.n.sum(), &mut out).ok_or_else(stats_mismatch)?;
            }
            Covariances::Diag(v) => {
                for (k, (_, s)) in scatters.iter().enumerate() {
                    out.extend((0..d).map(|j| -0.5 * stats.n[k] + 0.5 * s[(j, j)] / v[(k, j)]));
                }
            }
            Covariances::Spherical(v) => {
                for (k, (_, s)) in scatters.iter().enumerate() {
                    out.push(-0.5 * stats.n[k] * d as f64 + 0.5 * s.trace() / v[k]);
                }
            }
        }
        Ok(out)
    }

    /// The means, then the covariances in the compact form of their structure (lower
    /// triangles row by row for `full` and `tied`).
    pub fn parameters(&self) -> Vec<f64> {
        let (k_count, d) = (self.n_components(), self.n_features());
        let mut out: Vec<f64> = (0..k_count)
            .flat_map(|k| (0..d).map(move |j| (k, j)))
            .map(|(k, j)| self.means()[(k, j)])
            .collect();
        let lower = |m: &DMatrix<f64>, out: &mut Vec<f64>| {
            (0..d).for_each(|i| out.extend((0..=i).map(|j| m[(i, j)])))
        };
        match self.covariances() {
            Covariances::Full(ms) => ms.iter().for_each(|m| lower(m, &mut out)),
            Covariances::Tied(m) => lower(m, &mut out),
            Covariances::Diag(v) => {
                out.extend((0..k_count).flat_map(|k| (0..d).map(move |j| v[(k, j)])))
            }
            Covariances::Spherical(v) => out.extend(v.iter()),
        }
        out
    }

    /// The names of [`parameters`](Self::parameters).
    pub fn parameter_names(&self) -> Vec<String> {
        let (k_count, d) = (self.n_components(), self.n_features());
        let mut out: Vec<String> = (0..k_count)
            .flat_map(|k| (0..d).map(move |j| format!("μ_{k}[{j}]")))
            .collect();
        let lower = |prefix: String, out: &mut Vec<String>| {
            (0..d).for_each(|i| out.extend((0..=i).map(|j| format!("{prefix}[{i},{j}]"))))
        };
        match self.covariance_type() {
            CovarianceType::Full => (0..k_count).for_each(|k| lower(format!("Σ_{k}"), &mut out)),
            CovarianceType::Tied => lower("Σ".into(), &mut out),
            CovarianceType::Diag => {
                out.extend((0..k_count).flat_map(|k| (0..d).map(move |j| format!("σ²_{k}[{j}]"))))
            }
            CovarianceType::Spherical => out.extend((0..k_count).map(|k| format!("σ²_{k}"))),
        }
        out
    }
}

/// The Gaussians' coordinates and gradient; maximum likelihood only (the conjugate prior's
/// gradient is not provided).
impl FamilyGradient for GaussianFamily {
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        Ok(self.gaussians().coordinates())
    }

    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        let mut out = self.clone();
        out.set_gaussians(self.gaussians().with_coordinates(eta)?);
        Ok(out)
    }

    fn coordinate_names(&self) -> Vec<String> {
        self.gaussians().coordinate_names()
    }

    fn gradient(&self, stats: &GaussianStats) -> Result<Vec<f64>, EmError> {
        if self.prior().is_some() {
            return Err(EmError::NotAvailable {
                analysis: "the gradient",
                reason: "the Gaussians have a conjugate prior, whose gradient is not provided; \
                         fit without a prior"
                    .into(),
            });
        }
        self.gaussians().gradient(stats)
    }

    fn natural_parameters(&self) -> Vec<f64> {
        self.gaussians().parameters()
    }

    fn natural_parameter_names(&self) -> Vec<String> {
        self.gaussians().parameter_names()
    }
}
