//! One factor analyser: x = μ + W z + ε, z ~ N(0, I_q), ε ~ N(0, Ψ) with Ψ diagonal, so that
//! x ~ N(μ, W Wᵀ + Ψ). Everything it computes costs O(D q²) per component and O(D q) per
//! row: the D × D covariance is never formed (except by [`FactorAnalyser::covariance`], on
//! request).
//!
//! With M = I_q + Wᵀ Ψ⁻¹ W (q × q, Cholesky L Lᵀ):
//!
//! * log det Σ = Σ_d log ψ_d + log det M (the matrix determinant lemma);
//! * Σ⁻¹ = Ψ⁻¹ − Ψ⁻¹ W M⁻¹ Wᵀ Ψ⁻¹ (Woodbury), so with e = x − μ and r = Wᵀ Ψ⁻¹ e,
//!   eᵀ Σ⁻¹ e = Σ_d e_d² / ψ_d − ‖L⁻¹ r‖²;
//! * the posterior of the factors is q(z | x) = N(M⁻¹ r, M⁻¹): one covariance for every row.

use em_core::EmError;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// ½ log 2π.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// One factor analyser N(μ, W Wᵀ + Ψ) in D dimensions with q factors, with the q × q
/// quantities its density and posterior need cached. Always valid: finite mean and loadings,
/// noise variances finite and > 0, 1 ≤ q < D.
///
/// ```
/// use em_factor::FactorAnalyser;
/// use nalgebra::{dmatrix, dvector};
///
/// // D = 3, q = 1: Σ = w wᵀ + diag(ψ).
/// let fa = FactorAnalyser::new(
///     dvector![0.0, 1.0, 2.0],
///     dmatrix![1.0; 2.0; 0.5],
///     dvector![0.5, 0.25, 1.0],
/// )?;
/// let sigma = fa.covariance();
/// assert!((sigma[(0, 1)] - 2.0).abs() < 1e-15 && (sigma[(1, 1)] - 4.25).abs() < 1e-15);
/// // The log-density through Woodbury equals the one from the D × D matrix.
/// let x = dvector![0.3, -1.0, 2.5];
/// let e = &x - fa.mean();
/// let chol = sigma.clone().cholesky().unwrap();
/// let direct = -1.5 * (2.0 * std::f64::consts::PI).ln()
///     - 0.5 * sigma.determinant().ln()
///     - 0.5 * e.dot(&chol.solve(&e));
/// assert!((fa.ln_pdf(x.as_slice()) - direct).abs() < 1e-12);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "AnalyserSpec", into = "AnalyserSpec")]
pub struct FactorAnalyser {
    mean: DVector<f64>,
    loadings: DMatrix<f64>,
    noise: DVector<f64>,
    /// 1 / ψ_d.
    inv_noise: DVector<f64>,
    /// Ψ⁻¹ W (D × q).
    scaled_loadings: DMatrix<f64>,
    /// M⁻¹ = (I + Wᵀ Ψ⁻¹ W)⁻¹, the posterior covariance of the factors (q × q).
    posterior_cov: DMatrix<f64>,
    /// The lower Cholesky factor of M.
    chol: DMatrix<f64>,
    /// log det Σ.
    log_det: f64,
    /// log det M.
    log_det_m: f64,
}

/// The serialised form of a [`FactorAnalyser`]: μ (D values), W (D rows of q values) and ψ
/// (D values); loading recomputes and validates the rest.
#[derive(Serialize, Deserialize)]
struct AnalyserSpec {
    mean: Vec<f64>,
    loadings: Vec<Vec<f64>>,
    noise: Vec<f64>,
}

impl TryFrom<AnalyserSpec> for FactorAnalyser {
    type Error = EmError;
    fn try_from(s: AnalyserSpec) -> Result<Self, EmError> {
        let d = s.loadings.len();
        let q = s.loadings.first().map_or(0, Vec::len);
        if let Some(j) = s.loadings.iter().position(|row| row.len() != q) {
            return Err(EmError::InvalidParameter {
                name: "loadings",
                reason: format!(
                    "row {j} of the loadings has {} values, row 0 has {q}",
                    s.loadings[j].len()
                ),
            });
        }
        let loadings = DMatrix::from_fn(d, q, |i, j| s.loadings[i][j]);
        FactorAnalyser::new(
            DVector::from_vec(s.mean),
            loadings,
            DVector::from_vec(s.noise),
        )
    }
}

impl From<FactorAnalyser> for AnalyserSpec {
    fn from(f: FactorAnalyser) -> Self {
        AnalyserSpec {
            mean: f.mean.iter().copied().collect(),
            loadings: f
                .loadings
                .row_iter()
                .map(|r| r.iter().copied().collect())
                .collect(),
            noise: f.noise.iter().copied().collect(),
        }
    }
}

impl FactorAnalyser {
    /// The factor analyser with mean μ (length D), loadings W (D × q) and noise variances ψ
    /// (length D).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `mean`, `loadings` or `noise` for shapes that do
    /// not agree, q = 0 or q ≥ D, a non-finite value, or a noise variance that is not > 0
    /// (the feature is named); [`EmError::NotPositiveDefinite`] if I + Wᵀ Ψ⁻¹ W cannot be
    /// factorised (loadings so large that it overflows).
    pub fn new(
        mean: DVector<f64>,
        loadings: DMatrix<f64>,
        noise: DVector<f64>,
    ) -> Result<Self, EmError> {
        Self::new_in_component(mean, loadings, noise, 0)
    }

    /// [`FactorAnalyser::new`], with errors naming component `component`.
    pub(crate) fn new_in_component(
        mean: DVector<f64>,
        loadings: DMatrix<f64>,
        noise: DVector<f64>,
        component: usize,
    ) -> Result<Self, EmError> {
        let d = mean.len();
        let q = loadings.ncols();
        if d == 0 {
            return Err(EmError::InvalidParameter {
                name: "mean",
                reason: format!("component {component}: at least one feature is needed"),
            });
        }
        if loadings.nrows() != d || noise.len() != d {
            return Err(EmError::InvalidParameter {
                name: "loadings",
                reason: format!(
                    "component {component}: the mean has {d} features but the loadings are \
                     {}×{} and the noise has {} variances",
                    loadings.nrows(),
                    q,
                    noise.len()
                ),
            });
        }
        check_factors(q, d)?;
        if let Some(j) = mean.iter().position(|v| !v.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "mean",
                reason: format!(
                    "component {component}, feature {j}: {} is not finite",
                    mean[j]
                ),
            });
        }
        if let Some(idx) = loadings.iter().position(|v| !v.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "loadings",
                reason: format!(
                    "component {component}, feature {}, factor {}: {} is not finite",
                    idx % d,
                    idx / d,
                    loadings[idx]
                ),
            });
        }
        if let Some(j) = noise.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(EmError::InvalidParameter {
                name: "noise",
                reason: format!(
                    "component {component}, feature {j}: the noise variance is {}; it must be \
                     finite and > 0",
                    noise[j]
                ),
            });
        }
        let inv_noise = noise.map(|v| 1.0 / v);
        let mut scaled_loadings = loadings.clone();
        for (mut col, _) in scaled_loadings.column_iter_mut().zip(0..q) {
            col.component_mul_assign(&inv_noise);
        }
        let mut m = loadings.tr_mul(&scaled_loadings);
        for j in 0..q {
            m[(j, j)] += 1.0;
        }
        // Symmetrise against rounding before the factorisation.
        let m = (&m + m.transpose()) * 0.5;
        let chol = m.cholesky().ok_or_else(|| EmError::NotPositiveDefinite {
            component,
            detail: "I + Wᵀ Ψ⁻¹ W of the factor analyser (loadings too large for the noise)".into(),
        })?;
        let l = chol.l();
        let log_det_m = 2.0 * l.diagonal().iter().map(|v| v.ln()).sum::<f64>();
        let posterior_cov = chol.inverse();
        let log_det = noise.iter().map(|v| v.ln()).sum::<f64>() + log_det_m;
        if !log_det.is_finite() || posterior_cov.iter().any(|v| !v.is_finite()) {
            return Err(EmError::NotPositiveDefinite {
                component,
                detail: format!("the covariance's log-determinant is {log_det}"),
            });
        }
        Ok(FactorAnalyser {
            mean,
            loadings,
            noise,
            inv_noise,
            scaled_loadings,
            posterior_cov,
            chol: l,
            log_det,
            log_det_m,
        })
    }

    /// The mean μ (length D).
    pub fn mean(&self) -> &DVector<f64> {
        &self.mean
    }

    /// The loadings W (D × q), defined up to a rotation W R (R orthogonal): only W Wᵀ is
    /// identified.
    pub fn loadings(&self) -> &DMatrix<f64> {
        &self.loadings
    }

    /// The loadings in their canonical rotation: W V with V the eigenvectors of Wᵀ W in
    /// decreasing order of eigenvalue, so that the columns are orthogonal and sorted by
    /// length, each column's largest entry (in magnitude) made positive. W W ᵀ is unchanged;
    /// two fits with the same W Wᵀ give the same canonical loadings (when the eigenvalues
    /// are distinct). O(D q²).
    ///
    /// ```
    /// use em_factor::FactorAnalyser;
    /// use nalgebra::{dmatrix, dvector};
    /// let w = dmatrix![1.0, 0.0; 0.0, 2.0; 0.0, 0.0];
    /// let c = 0.6f64; let s = 0.8f64; // a rotation
    /// let rotated = &w * dmatrix![c, -s; s, c];
    /// let a = FactorAnalyser::new(dvector![0.0, 0.0, 0.0], w, dvector![1.0, 1.0, 1.0])?;
    /// let b = FactorAnalyser::new(dvector![0.0, 0.0, 0.0], rotated, dvector![1.0, 1.0, 1.0])?;
    /// assert!((a.canonical_loadings() - b.canonical_loadings()).amax() < 1e-12);
    /// assert!((a.canonical_loadings()[(1, 0)] - 2.0).abs() < 1e-12);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn canonical_loadings(&self) -> DMatrix<f64> {
        let q = self.n_factors();
        let gram = self.loadings.tr_mul(&self.loadings);
        let eig = gram.symmetric_eigen();
        let mut order: Vec<usize> = (0..q).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let mut out = DMatrix::zeros(self.n_features(), q);
        for (j, &o) in order.iter().enumerate() {
            let mut col = &self.loadings * eig.eigenvectors.column(o);
            let peak = col
                .iter()
                .copied()
                .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
            if peak < 0.0 {
                col.neg_mut();
            }
            out.set_column(j, &col);
        }
        out
    }

    /// The noise variances ψ (the diagonal of Ψ, length D).
    pub fn noise(&self) -> &DVector<f64> {
        &self.noise
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// Number of factors q.
    pub fn n_factors(&self) -> usize {
        self.loadings.ncols()
    }

    /// The implied covariance Σ = W Wᵀ + Ψ (D × D: O(D²) memory; the fit never forms it).
    pub fn covariance(&self) -> DMatrix<f64> {
        let mut sigma = &self.loadings * self.loadings.transpose();
        for d in 0..self.n_features() {
            sigma[(d, d)] += self.noise[d];
        }
        sigma
    }

    /// log det Σ, from the determinant lemma.
    pub fn log_det_covariance(&self) -> f64 {
        self.log_det
    }

    /// The posterior covariance of the factors, M⁻¹ = (I + Wᵀ Ψ⁻¹ W)⁻¹ (the same for every
    /// observation).
    pub fn posterior_covariance(&self) -> &DMatrix<f64> {
        &self.posterior_cov
    }

    /// The entropy of the factors' posterior N(·, M⁻¹): q/2 (1 + log 2π) − ½ log det M.
    pub fn posterior_entropy(&self) -> f64 {
        self.n_factors() as f64 * (0.5 + HALF_LN_2PI) - 0.5 * self.log_det_m
    }

    /// log N(x | μ, W Wᵀ + Ψ) of one observation (length D; a wrong length gives NaN).
    pub fn ln_pdf(&self, x: &[f64]) -> f64 {
        if x.len() != self.n_features() {
            return f64::NAN;
        }
        let m = DMatrix::from_row_slice(1, x.len(), x);
        let mut out = [0.0];
        let mut buf = Buffers::default();
        self.log_densities_into(&m, 0..1, &mut out, &mut buf);
        out[0]
    }

    /// E[z | x] = M⁻¹ Wᵀ Ψ⁻¹ (x − μ) for every row of `x` (N × q).
    pub fn posterior_means(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        let mut buf = Buffers::default();
        self.centre(x, 0..x.nrows(), &mut buf.centred);
        let r = &buf.centred * &self.scaled_loadings;
        r * &self.posterior_cov
    }

    /// E = X[rows] − 1 μᵀ into `out` (c × D).
    pub(crate) fn centre(
        &self,
        x: &DMatrix<f64>,
        rows: std::ops::Range<usize>,
        out: &mut DMatrix<f64>,
    ) {
        let c = rows.len();
        let d = self.n_features();
        if out.shape() != (c, d) {
            *out = DMatrix::zeros(c, d);
        }
        for j in 0..d {
            let mu = self.mean[j];
            let column = x.column(j);
            let src = &column.as_slice()[rows.clone()];
            for (o, &v) in out.column_mut(j).iter_mut().zip(src) {
                *o = v - mu;
            }
        }
    }

    /// log N(x_i | μ, Σ) for the rows of a batch into `out` (length c), with the centred rows
    /// and r = E Ψ⁻¹ W left in `buf`.
    pub(crate) fn log_densities_into(
        &self,
        x: &DMatrix<f64>,
        rows: std::ops::Range<usize>,
        out: &mut [f64],
        buf: &mut Buffers,
    ) {
        let c = rows.len();
        let (d, q) = (self.n_features(), self.n_factors());
        self.centre(x, rows, &mut buf.centred);
        // Σ_d e_d² / ψ_d, column by column (contiguous).
        out[..c].fill(0.0);
        for j in 0..d {
            let w = self.inv_noise[j];
            for (o, &e) in out.iter_mut().zip(buf.centred.column(j).iter()) {
                *o += e * e * w;
            }
        }
        buf.projected = &buf.centred * &self.scaled_loadings; // c × q
        // ‖L⁻¹ r_i‖² by forward substitution, q small.
        let mut u = vec![0.0; q];
        let constant = -(d as f64) * HALF_LN_2PI - 0.5 * self.log_det;
        for (i, o) in out.iter_mut().enumerate().take(c) {
            let mut norm = 0.0;
            for a in 0..q {
                let mut s = buf.projected[(i, a)];
                for (b, ub) in u.iter().enumerate().take(a) {
                    s -= self.chol[(a, b)] * ub;
                }
                u[a] = s / self.chol[(a, a)];
                norm += u[a] * u[a];
            }
            *o = constant - 0.5 * (*o - norm);
        }
    }

    /// r = Wᵀ Ψ⁻¹ e of the rows centred in `buf`, times M⁻¹: the posterior means (c × q).
    pub(crate) fn posterior_means_of(&self, buf: &Buffers) -> DMatrix<f64> {
        &buf.projected * &self.posterior_cov
    }
}

/// Per-batch buffers of a factor analyser's kernels.
#[derive(Debug, Default, Clone)]
pub(crate) struct Buffers {
    /// X[rows] − 1 μᵀ (c × D).
    pub centred: DMatrix<f64>,
    /// (X[rows] − 1 μᵀ) Ψ⁻¹ W (c × q).
    pub projected: DMatrix<f64>,
}

/// 1 ≤ q < D, else [`EmError::InvalidParameter`] naming `n_factors`.
pub(crate) fn check_factors(q: usize, d: usize) -> Result<(), EmError> {
    if q == 0 || q >= d {
        return Err(EmError::InvalidParameter {
            name: "n_factors",
            reason: format!(
                "the number of factors q must satisfy 1 ≤ q < D = {d} (the number of features), \
                 got {q}"
            ),
        });
    }
    Ok(())
}
