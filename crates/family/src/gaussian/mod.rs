//! K Gaussians N(μ_k, Σ_k) evaluated on batches of rows: the Gaussian machinery shared by
//! the `gmm` crate's `GaussianMixture` and the `hmm` crate's Gaussian emissions, so that
//! neither keeps a copy.
//!
//! [`Gaussians`] holds validated means and covariances with their Cholesky factors (or
//! precisions) cached, and provides the four pieces of an EM step for Gaussian parts:
//!
//! * [`log_densities`](Gaussians::log_densities): log N(x_i | μ_k, Σ_k) for rows of a matrix;
//! * [`accumulate`](Gaussians::accumulate): the statistics ([`GaussianStats`]: N_k, weighted
//!   mean, centred scatter) of rows with per-row, per-component weights γ_ik, which merge
//!   across batches with Chan et al.'s update ([`em_core::Statistics::merge`]);
//! * [`expected_log_density`](Gaussians::expected_log_density): Σ_i Σ_k γ_ik log N(x_i | μ_k,
//!   Σ_k) from the statistics alone;
//! * [`maximise`](Gaussians::maximise): the maximum-likelihood means and covariances for the
//!   statistics, plus scikit-learn's `reg_covar` ridge.
//!
//! Data are N×D matrices, one observation per row. Per-batch buffers are **component-major**:
//! for the rows a..b of a batch (c = b − a of them), `buf[k·c + i]` belongs to component k
//! and row a + i.
//!
//! Besides [`Gaussians`], the module provides the covariance structures ([`CovarianceType`],
//! [`Covariances`]), the statistics ([`GaussianStats`]), the conjugate [`Prior`] of MAP-EM
//! and the mixture M-step built on it ([`maximise`]), and the batch primitives a mixture's
//! E-step is made of ([`Gaussians::log_joint`], [`normalise`], [`accumulate`]). The inner
//! loops are written so that the compiler vectorises them (branch-free `exp` and `ln`, loops
//! along the contiguous columns of the data, blocked triangular solves and GEMM for many
//! features), and are compiled for AVX-512F, AVX2 and the baseline target, the widest the CPU
//! has being picked at run time; all three give the same bits.
//!
//! ```
//! use em_core::Statistics;
//! use em_family::gaussian::{Covariances, Gaussians};
//! use nalgebra::dmatrix;
//!
//! let g = Gaussians::new(dmatrix![0.0; 4.0], Covariances::Diag(dmatrix![1.0; 2.0]))?;
//! let x = dmatrix![0.0; 1.0; 3.0; 5.0]; // four rows, one feature
//!
//! // log N(x_i | μ_k, σ²_k) at out[k·4 + i].
//! let (mut out, mut scratch) = (vec![0.0; 2 * 4], Vec::new());
//! g.log_densities(&x, 0..4, &mut out, &mut scratch);
//! let log_n = |x: f64, mu: f64, var: f64| {
//!     -0.5 * (2.0 * std::f64::consts::PI * var).ln() - 0.5 * (x - mu) * (x - mu) / var
//! };
//! assert!((out[4 + 2] - log_n(3.0, 4.0, 2.0)).abs() < 1e-14);
//!
//! // Statistics of two batches with hard assignments (rows 0, 1 → 0; rows 2, 3 → 1), merged.
//! let mut stats = g.accumulate(&x, 0..2, &[1.0, 1.0, 0.0, 0.0], None, &mut scratch);
//! stats.merge(&g.accumulate(&x, 2..4, &[0.0, 0.0, 1.0, 1.0], None, &mut scratch));
//! assert_eq!(stats.n.as_slice(), &[2.0, 2.0]);
//!
//! // The M-step: μ_k = m_k, σ²_k = M2_k / N_k (+ reg_covar).
//! let next = g.maximise(&stats, 0.0)?;
//! assert_eq!(next.means(), &dmatrix![0.5; 4.0]);
//! assert_eq!(next.covariances(), &Covariances::Diag(dmatrix![0.25; 1.0]));
//! assert!(next.expected_log_density(&stats) > g.expected_log_density(&stats));
//! # Ok::<(), em_core::EmError>(())
//! ```

use std::ops::Range;

use em_core::{EmError, ScaledParameters};
use nalgebra::{DMatrix, DVector};

mod covariance;
mod family;
mod fastmath;
pub mod gradient;
mod kernel;
mod missing;
mod mstep;
mod prior;
mod stats;

pub use covariance::{CovarianceType, Covariances, check_symmetric, cholesky};
pub use family::{CheckedData, GaussianDraws, GaussianFamily, check_data};
pub use kernel::{HALF_LN_2PI, block_rows};
pub use missing::{MissingValues, check_data_with_missing, check_observed_columns, has_missing};
pub use mstep::{Maximised, maximise};
pub use prior::Prior;
pub use stats::{GaussianStats, Scatter, ScatterForm};

use covariance::{Factor, Factored, check_resolution, mahalanobis_sq, trace_of_solve};
use mstep::gaussian_parameters;

/// K Gaussians N(μ_k, Σ_k) in D dimensions, with their covariances factorised once.
///
/// A value of this type is always valid: means finite, covariances of the right shapes,
/// symmetric and positive definite. It is what the `gmm` crate's `GaussianMixture` keeps
/// besides its weights, and what the `hmm` crate's Gaussian emissions are; see the
/// [module documentation](self) for an example.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussians {
    means: DMatrix<f64>,
    covariances: Covariances,
    factored: Factored,
}

/// Checks means for K Gaussians in D dimensions (K×D, row k = μ_k): at least one component
/// and one feature, and finite values; [`EmError::InvalidParameter`] naming `means` (and the
/// component of a non-finite value) otherwise. The rule of [`Gaussians::new`].
///
/// ```
/// use em_family::gaussian::check_means;
/// use nalgebra::dmatrix;
/// assert!(check_means(&dmatrix![0.0, 1.0; 2.0, 3.0]).is_ok());
/// assert!(check_means(&dmatrix![0.0, 1.0; f64::NAN, 3.0]).is_err());
/// ```
pub fn check_means(means: &DMatrix<f64>) -> Result<(), EmError> {
    let (k, d) = means.shape();
    if k == 0 {
        return Err(EmError::InvalidParameter {
            name: "means",
            reason: "at least one component is needed".into(),
        });
    }
    if d == 0 {
        return Err(EmError::InvalidParameter {
            name: "means",
            reason: "at least one feature is needed".into(),
        });
    }
    if let Some((i, v)) = means.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EmError::InvalidParameter {
            name: "means",
            reason: format!("component {} has a non-finite value {v}", i % k),
        });
    }
    Ok(())
}

/// Checks a `reg_covar` ridge: it must be finite and ≥ 0 ([`EmError::InvalidParameter`]
/// naming `reg_covar` otherwise). The rule of [`Gaussians::maximise`] and of every model that
/// takes the ridge.
///
/// ```
/// assert!(em_family::gaussian::check_reg_covar(1e-6).is_ok());
/// assert!(em_family::gaussian::check_reg_covar(-1.0).is_err());
/// ```
pub fn check_reg_covar(reg_covar: f64) -> Result<(), EmError> {
    if reg_covar >= 0.0 && reg_covar.is_finite() {
        Ok(())
    } else {
        Err(EmError::InvalidParameter {
            name: "reg_covar",
            reason: format!("must be finite and ≥ 0, got {reg_covar}"),
        })
    }
}

/// Checks the covariances' shapes for K components in D dimensions, and that the matrices
/// of `full` and `tied` covariances are symmetric.
fn check_covariances(
    covariances: &Covariances,
    k: usize,
    d: usize,
    context: &str,
) -> Result<(), EmError> {
    let shape_err = |expected: String| EmError::InvalidParameter {
        name: "covariances",
        reason: format!("expected {expected} for K = {k}, D = {d}"),
    };
    match covariances {
        Covariances::Full(c) => {
            if c.len() != k || c.iter().any(|m| m.shape() != (d, d)) {
                return Err(shape_err(format!("{k} matrices of {d}×{d}")));
            }
            for (i, m) in c.iter().enumerate() {
                check_symmetric(m, i, context)?;
            }
        }
        Covariances::Tied(m) => {
            if m.shape() != (d, d) {
                return Err(shape_err(format!("one {d}×{d} matrix")));
            }
            check_symmetric(m, 0, context)?;
        }
        Covariances::Diag(v) => {
            if v.shape() != (k, d) {
                return Err(shape_err(format!("a {k}×{d} matrix of variances")));
            }
        }
        Covariances::Spherical(v) => {
            if v.len() != k {
                return Err(shape_err(format!("{k} variances")));
            }
        }
    }
    Ok(())
}

impl Gaussians {
    /// K Gaussians with means (K×D, row k = μ_k) and covariances of any structure.
    ///
    /// Fails with [`EmError::InvalidParameter`] naming `means` or `covariances` for shapes
    /// that disagree or non-finite means, and with [`EmError::NotPositiveDefinite`] naming
    /// the component for a covariance that is not symmetric positive definite (or a variance
    /// ≤ 0); its detail starts "given covariances: ".
    pub fn new(means: DMatrix<f64>, covariances: Covariances) -> Result<Self, EmError> {
        Self::new_in_context(means, covariances, "given covariances")
    }

    /// [`new`](Self::new), naming `context` — where the covariances came from, such as
    /// "after the M-step" or "at initialisation" — in errors instead of "given covariances":
    /// the detail of a [`EmError::NotPositiveDefinite`] starts with `context`.
    ///
    /// ```
    /// use em_core::EmError;
    /// use em_family::gaussian::{Covariances, Gaussians};
    /// use nalgebra::dmatrix;
    /// let e = Gaussians::new_in_context(
    ///     dmatrix![0.0; 1.0],
    ///     Covariances::Diag(dmatrix![1.0; 0.0]),
    ///     "after the M-step",
    /// )
    /// .unwrap_err();
    /// assert!(matches!(e, EmError::NotPositiveDefinite { component: 1, ref detail }
    ///     if detail.starts_with("after the M-step: ")));
    /// ```
    pub fn new_in_context(
        means: DMatrix<f64>,
        covariances: Covariances,
        context: &str,
    ) -> Result<Self, EmError> {
        check_means(&means)?;
        let (k, d) = means.shape();
        check_covariances(&covariances, k, d, context)?;
        Self::factorise(means, covariances, context)
    }

    /// Factorises covariances whose shapes have been checked.
    fn factorise(
        means: DMatrix<f64>,
        covariances: Covariances,
        context: &str,
    ) -> Result<Self, EmError> {
        check_resolution(&means, &covariances, context)?;
        let factored = Factored::new(&covariances, means.ncols(), context)?;
        Ok(Gaussians {
            means,
            covariances,
            factored,
        })
    }

    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.means.nrows()
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.means.ncols()
    }

    /// The means, K×D (row k is μ_k).
    pub fn means(&self) -> &DMatrix<f64> {
        &self.means
    }

    /// The covariances, in the compact form of their structure.
    pub fn covariances(&self) -> &Covariances {
        &self.covariances
    }

    /// The covariance structure.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariances.covariance_type()
    }

    /// The means and covariances with the scales the parameter stopping rule measures their
    /// changes in: the means μ_kj in units of the component's standard deviation √Σ_k,jj
    /// (so that neither the data's origin nor its units matter), then the covariances in the
    /// compact order of SQUAREM's coordinates — `full`/`tied`: the lower triangle row by
    /// row, Σ_ij in units of √(Σ_ii Σ_jj) (a variance relative to itself, a covariance on the
    /// scale of a correlation); `diag`, `spherical`: the variances, relative.
    ///
    /// ```
    /// use em_family::gaussian::{Covariances, Gaussians};
    /// use nalgebra::{dmatrix, dvector};
    /// let g = Gaussians::new(dmatrix![10.0, 0.0], Covariances::Full(vec![dmatrix![4.0, 1.0; 1.0, 9.0]]))?;
    /// let p = g.scaled_parameters();
    /// assert_eq!(p.values(), &[10.0, 0.0, 4.0, 1.0, 9.0]);
    /// assert_eq!(p.scales(), &[2.0, 3.0, 4.0, 6.0, 9.0]);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn scaled_parameters(&self) -> ScaledParameters {
        let (k_count, d) = (self.n_components(), self.n_features());
        let variance = |k: usize, j: usize| match &self.covariances {
            Covariances::Full(c) => c[k][(j, j)],
            Covariances::Tied(c) => c[(j, j)],
            Covariances::Diag(v) => v[(k, j)],
            Covariances::Spherical(v) => v[k],
        };
        let mut out = ScaledParameters::with_capacity(k_count * d + k_count * d * (d + 1) / 2);
        for k in 0..k_count {
            for j in 0..d {
                out.push(self.means[(k, j)], variance(k, j).sqrt());
            }
        }
        let lower = |out: &mut ScaledParameters, m: &DMatrix<f64>| {
            for i in 0..d {
                for j in 0..=i {
                    out.push(m[(i, j)], (m[(i, i)] * m[(j, j)]).sqrt());
                }
            }
        };
        match &self.covariances {
            Covariances::Full(c) => c.iter().for_each(|m| lower(&mut out, m)),
            Covariances::Tied(m) => lower(&mut out, m),
            Covariances::Diag(v) => v.transpose().iter().for_each(|&s| out.push_relative(s)),
            Covariances::Spherical(v) => v.iter().for_each(|&s| out.push_relative(s)),
        }
        out
    }

    /// The means and covariances, giving up the cached factors.
    pub fn into_parts(self) -> (DMatrix<f64>, Covariances) {
        (self.means, self.covariances)
    }

    pub(crate) fn factored(&self) -> &Factored {
        &self.factored
    }

    /// The lower Cholesky factor L of component `k`'s covariance (Σ_k = L Lᵀ), or `None` if
    /// `k ≥ K`.
    pub fn cholesky(&self, k: usize) -> Option<DMatrix<f64>> {
        if k >= self.n_components() {
            return None;
        }
        let d = self.n_features();
        Some(match &self.factored.factor {
            Factor::Full(ls) => ls[k].clone(),
            Factor::Tied(l) => l.clone(),
            Factor::Diag(p) => DMatrix::from_fn(d, d, |i, j| {
                if i == j {
                    p[(k, i)].sqrt().recip()
                } else {
                    0.0
                }
            }),
            Factor::Spherical(p) => DMatrix::from_diagonal_element(d, d, p[k].sqrt().recip()),
        })
    }

    /// log|Σ_k|, from the cached Cholesky factor (or variances); NaN if `k ≥ K`.
    ///
    /// ```
    /// use em_family::gaussian::{Covariances, Gaussians};
    /// use nalgebra::{dmatrix, dvector};
    /// let g = Gaussians::new(dmatrix![0.0, 0.0], Covariances::Spherical(dvector![2.0]))?;
    /// assert!((g.log_det(0) - 2.0 * 2f64.ln()).abs() < 1e-15);
    /// assert!(g.log_det(1).is_nan());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn log_det(&self, k: usize) -> f64 {
        if k >= self.n_components() {
            return f64::NAN;
        }
        match self.factored.factor {
            Factor::Tied(_) => self.factored.log_det[0],
            _ => self.factored.log_det[k],
        }
    }

    /// Writes log N(x_i | μ_k, Σ_k) for the rows i of `x` in `rows` and every component k to
    /// `out[k·c + i]` (component-major, c = `rows.len()`). `scratch` is a reusable buffer,
    /// resized as needed (D·c values for full and tied covariances).
    ///
    /// The loops run along the contiguous columns of `x` (nalgebra is column-major) and
    /// allocate nothing per row; Mahalanobis distances come from triangular solves, never an
    /// inverse.
    ///
    /// # Panics
    /// If `x` does not have D columns, `rows` is not within `x`'s rows, or
    /// `out.len() != K · c`.
    pub fn log_densities(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        self.check_batch(x, &rows, out.len(), "out");
        kernel::log_joint(x, &rows, None, &self.means, &self.factored, out, scratch);
    }

    /// Writes log π_k + log N(x_i | μ_k, Σ_k) — the log-joint of row i and component k in a
    /// mixture with log-weights `log_weights` (length K) — to `out[k·c + i]`, as
    /// [`log_densities`](Self::log_densities) does for the log-densities alone.
    ///
    /// ```
    /// use em_family::gaussian::{Covariances, Gaussians};
    /// use nalgebra::{dmatrix, dvector};
    /// let g = Gaussians::new(dmatrix![0.0; 3.0], Covariances::Spherical(dvector![1.0, 1.0]))?;
    /// let x = dmatrix![0.5; 2.0];
    /// let log_w = [0.25f64.ln(), 0.75f64.ln()];
    /// let (mut joint, mut density) = (vec![0.0; 4], vec![0.0; 4]);
    /// g.log_joint(&x, 0..2, &log_w, &mut joint, &mut Vec::new());
    /// g.log_densities(&x, 0..2, &mut density, &mut Vec::new());
    /// assert!((joint[2 + 1] - (log_w[1] + density[2 + 1])).abs() < 1e-15);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Panics
    /// If `x` does not have D columns, `rows` is not within `x`'s rows,
    /// `log_weights.len() != K` or `out.len() != K · c`.
    pub fn log_joint(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        log_weights: &[f64],
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        self.check_batch(x, &rows, out.len(), "out");
        assert_eq!(
            log_weights.len(),
            self.n_components(),
            "one log-weight per component"
        );
        kernel::log_joint(
            x,
            &rows,
            Some(log_weights),
            &self.means,
            &self.factored,
            out,
            scratch,
        );
    }

    /// The statistics of the rows i of `x` in `rows` with weights `gamma[k·c + i]`
    /// (component-major, c = `rows.len()`: e.g. posterior probabilities γ_ik) and optional
    /// per-row sample weights w_i (length c) multiplying them: N_k = Σ_i w_i γ_ik, the
    /// weighted means m_k and centred scatter M2_k = Σ_i w_i γ_ik (x_i − m_k)(x_i − m_k)ᵀ, in
    /// the form this structure needs. `scratch` is a reusable buffer.
    ///
    /// Components with N_k ≤ 0 are left at zero. Statistics of several batches combine with
    /// [`Statistics::merge`](em_core::Statistics::merge).
    ///
    /// # Panics
    /// If `x` does not have D columns, `rows` is not within `x`'s rows,
    /// `gamma.len() != K · c`, or `weights` is not of length c.
    pub fn accumulate(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        gamma: &[f64],
        weights: Option<&[f64]>,
        scratch: &mut Vec<f64>,
    ) -> GaussianStats {
        self.check_batch(x, &rows, gamma.len(), "gamma");
        let (k, kind) = (self.n_components(), self.covariance_type());
        accumulate(x, rows, k, gamma, weights, kind, scratch)
    }

    /// Asserts the shapes of a batch and its component-major buffer `name` of length `len`.
    fn check_batch(&self, x: &DMatrix<f64>, rows: &Range<usize>, len: usize, name: &str) {
        assert_eq!(x.ncols(), self.n_features(), "x must have D columns");
        assert!(
            rows.start <= rows.end && rows.end <= x.nrows(),
            "rows {rows:?} out of range for {} rows",
            x.nrows()
        );
        assert_eq!(
            len,
            self.n_components() * rows.len(),
            "{name} must hold K values per row"
        );
    }

    /// Σ_i γ_ik (x_i − μ_k)ᵀ Σ_k⁻¹ (x_i − μ_k) from the statistics of
    /// [`accumulate`](Self::accumulate): tr(Σ_k⁻¹ (M2_k + N_k δ δᵀ)) with δ = m_k − μ_k, by
    /// triangular solves. NaN if `k ≥ K` or for statistics of another shape (see
    /// [`GaussianStats::fits`]).
    ///
    /// With [`log_det`](Self::log_det) it gives component k's term of
    /// [`expected_log_density`](Self::expected_log_density), for models that add their own
    /// terms per component (a mixture's N_k log π_k).
    ///
    /// ```
    /// use em_family::gaussian::{Covariances, Gaussians};
    /// use nalgebra::{dmatrix, dvector};
    /// let g = Gaussians::new(dmatrix![0.0; 10.0], Covariances::Spherical(dvector![4.0, 1.0]))?;
    /// let x = dmatrix![1.0; 3.0];
    /// // Both rows in component 0: ((1 − 0)² + (3 − 0)²) / 4.
    /// let stats = g.accumulate(&x, 0..2, &[1.0, 1.0, 0.0, 0.0], None, &mut Vec::new());
    /// assert!((g.expected_mahalanobis(&stats, 0) - 2.5).abs() < 1e-14);
    /// assert_eq!(g.expected_mahalanobis(&stats, 1), 0.0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn expected_mahalanobis(&self, stats: &GaussianStats, k: usize) -> f64 {
        let d = self.n_features();
        if k >= self.n_components() || !stats.fits(self.n_components(), d, self.covariance_type()) {
            return f64::NAN;
        }
        let nk = stats.n[k];
        let delta = DVector::from_fn(d, |j, _| stats.means[(k, j)] - self.means[(k, j)]);
        match (&self.factored.factor, &stats.scatter) {
            (Factor::Full(ls), Scatter::Full(m2)) => {
                trace_of_solve(&ls[k], &m2[k]) + nk * mahalanobis_sq(&ls[k], &delta)
            }
            (Factor::Tied(l), Scatter::Full(m2)) => {
                trace_of_solve(l, &m2[k]) + nk * mahalanobis_sq(l, &delta)
            }
            (Factor::Diag(p), _) => {
                let m2 = stats.scatter_diagonal(k);
                (0..d)
                    .map(|j| p[(k, j)] * (m2[j] + nk * delta[j] * delta[j]))
                    .sum()
            }
            (Factor::Spherical(p), _) => {
                p[k] * (stats.scatter_diagonal(k).sum() + nk * delta.norm_squared())
            }
            _ => f64::NAN,
        }
    }

    /// Σ_k Σ_i γ_ik log N(x_i | μ_k, Σ_k) from the statistics of [`accumulate`](Self::accumulate):
    /// Σ_k [−N_k ((D/2) log 2π + ½ log|Σ_k|) − ½ tr(Σ_k⁻¹ (M2_k + N_k δ_k δ_kᵀ))] with
    /// δ_k = m_k − μ_k. Components with N_k = 0 contribute 0; statistics of another shape
    /// (see [`GaussianStats::fits`]) give NaN.
    pub fn expected_log_density(&self, stats: &GaussianStats) -> f64 {
        let (k_count, d) = (self.n_components(), self.n_features());
        if !stats.fits(k_count, d, self.covariance_type()) {
            return f64::NAN;
        }
        let mut total = 0.0;
        for k in 0..k_count {
            let nk = stats.n[k];
            if nk == 0.0 {
                continue;
            }
            total += -nk * (d as f64 * HALF_LN_2PI + 0.5 * self.log_det(k))
                - 0.5 * self.expected_mahalanobis(stats, k);
        }
        total
    }

    /// The Gaussians that maximise [`expected_log_density`](Self::expected_log_density) for
    /// `stats`, with `reg_covar` then added to every variance (scikit-learn's ridge; 0 for the
    /// exact maximiser): μ_k = m_k and Σ_k = M2_k / N_k (`diag`: its diagonal; `spherical`:
    /// tr(M2_k) / (N_k D); `tied`: Σ_k M2_k / Σ_k N_k). A component with no weight
    /// (N_k = 0, or not finite) keeps its mean and covariance: they do not enter the objective.
    ///
    /// These are the formulas of the mixture M-step [`maximise`] without a prior.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `stats` for statistics of another shape or
    /// `reg_covar` unless it is finite and ≥ 0; [`EmError::NotPositiveDefinite`] naming the
    /// component (detail "after the M-step: …") when a new covariance is singular.
    pub fn maximise(&self, stats: &GaussianStats, reg_covar: f64) -> Result<Gaussians, EmError> {
        let (k_count, d) = (self.n_components(), self.n_features());
        let kind = self.covariance_type();
        if !stats.fits(k_count, d, kind) {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "Gaussian statistics of another shape (expected {k_count} components, {d} \
                     features, {} scatter)",
                    match ScatterForm::from(kind) {
                        ScatterForm::Full => "full",
                        ScatterForm::Diag => "diagonal",
                    }
                ),
            });
        }
        check_reg_covar(reg_covar)?;
        let (mut means, mut covariances) = gaussian_parameters(stats, kind, reg_covar, None);
        for k in 0..k_count {
            let nk = stats.n[k];
            if nk > 0.0 && nk.is_finite() {
                continue;
            }
            means.set_row(k, &self.means.row(k));
            match (&mut covariances, &self.covariances) {
                (Covariances::Full(new), Covariances::Full(old)) => new[k].copy_from(&old[k]),
                (Covariances::Diag(new), Covariances::Diag(old)) => new.set_row(k, &old.row(k)),
                (Covariances::Spherical(new), Covariances::Spherical(old)) => new[k] = old[k],
                // Tied: the pooled covariance, to which an empty component adds nothing.
                _ => {}
            }
        }
        Self::new_in_context(means, covariances, "after the M-step")
    }
}

/// Turns the log-joint `log_joint` of a batch of `c` rows (component-major, K·c values:
/// log π_k + log p(x_i | k), as [`Gaussians::log_joint`] writes it) into posterior
/// probabilities γ_ik in place, leaves log p(x_i) = log Σ_k exp(log_joint[k·c + i]) in
/// `log_marginal` (resized to c), and returns (Σ_i w_i log p(x_i), Σ_i w_i H(γ_i)) — the
/// batch's log-likelihood and posterior entropy — with per-row sample weights w_i (length c;
/// 1 without them).
///
/// The log-sum-exp is shifted by each row's maximum, so nothing underflows; `exp` and `ln`
/// are this crate's vectorised versions (within 2 ulp of libm). Nothing here is specific to
/// Gaussians: any mixture's E-step can use it.
///
/// ```
/// use em_family::gaussian::normalise;
/// // Two components, two rows: log-joints (component-major).
/// let mut lj = vec![0.5f64.ln(), 0.1f64.ln(), 0.5f64.ln(), 0.3f64.ln()];
/// let mut log_p = Vec::new();
/// let (log_likelihood, entropy) = normalise(&mut lj, 2, None, &mut log_p);
/// assert!((lj[0] - 0.5).abs() < 1e-15 && (lj[1] - 0.25).abs() < 1e-15);
/// assert!((log_p[1] - 0.4f64.ln()).abs() < 1e-15);
/// assert!((log_likelihood - (1f64.ln() + 0.4f64.ln())).abs() < 1e-15);
/// assert!(entropy > 0.0);
/// ```
///
/// # Panics
/// If `c > 0` and `log_joint.len()` is not a multiple of `c`, or `weights` is not of
/// length c.
pub fn normalise(
    log_joint: &mut [f64],
    c: usize,
    weights: Option<&[f64]>,
    log_marginal: &mut Vec<f64>,
) -> (f64, f64) {
    if c == 0 {
        log_marginal.clear();
        return (0.0, 0.0);
    }
    assert_eq!(
        log_joint.len() % c,
        0,
        "log_joint must hold K values per row"
    );
    if let Some(w) = weights {
        assert_eq!(w.len(), c, "one sample weight per row");
    }
    kernel::normalise(log_joint, c, weights, log_marginal)
}

/// The statistics of `n_components` (K) components from the rows i of `x` in `rows` with
/// weights `gamma[k·c + i]` (component-major, c = `rows.len()`) and optional per-row sample
/// weights, keeping the scatter in the given form (a [`ScatterForm`], a [`CovarianceType`]
/// or a `bool`, `true` for full scatter): what [`Gaussians::accumulate`] computes, for
/// callers that have weights but no [`Gaussians`] yet (an initialisation from a partition).
///
/// ```
/// use em_family::gaussian::{CovarianceType, accumulate};
/// use nalgebra::dmatrix;
/// let x = dmatrix![0.0; 2.0; 10.0];
/// let gamma = [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]; // rows 0, 1 → 0; row 2 → 1
/// let stats = accumulate(&x, 0..3, 2, &gamma, None, CovarianceType::Diag, &mut Vec::new());
/// assert_eq!(stats.n.as_slice(), &[2.0, 1.0]);
/// assert_eq!(stats.means[(0, 0)], 1.0);
/// assert_eq!(stats.scatter_diagonal(0)[0], 2.0);
/// ```
///
/// # Panics
/// If `rows` is not within `x`'s rows, `gamma.len() != K · c`, or `weights` is not of
/// length c.
pub fn accumulate(
    x: &DMatrix<f64>,
    rows: Range<usize>,
    n_components: usize,
    gamma: &[f64],
    weights: Option<&[f64]>,
    scatter: impl Into<ScatterForm>,
    scratch: &mut Vec<f64>,
) -> GaussianStats {
    let form = scatter.into();
    let c = rows.len();
    assert!(
        rows.start <= rows.end && rows.end <= x.nrows(),
        "rows {rows:?} out of range for {} rows",
        x.nrows()
    );
    if let Some(w) = weights {
        assert_eq!(w.len(), c, "one sample weight per row");
    }
    assert_eq!(
        gamma.len(),
        n_components * c,
        "gamma must hold K values per row"
    );
    if c == 0 {
        return GaussianStats::zeros(n_components, x.ncols(), form);
    }
    kernel::accumulate(x, &rows, gamma, weights, form == ScatterForm::Full, scratch)
}
