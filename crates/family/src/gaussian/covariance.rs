//! Covariance structures and their Cholesky factors.
//!
//! Densities never use an explicit inverse: a full or tied covariance Σ = L Lᵀ is kept with
//! its lower Cholesky factor L, Mahalanobis distances come from the triangular solve
//! L y = x − μ, and log|Σ| = 2 Σ log L_ii.

use std::fmt;
use std::str::FromStr;

use em_core::EmError;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// How the components' covariance matrices are constrained (scikit-learn's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CovarianceType {
    /// Each component has its own general covariance matrix.
    #[default]
    Full,
    /// Each component has its own diagonal covariance matrix.
    Diag,
    /// Each component has its own single variance (σ²_k I).
    Spherical,
    /// All components share one general covariance matrix.
    Tied,
}

impl CovarianceType {
    /// All four structures, in the order `full, diag, spherical, tied`.
    pub const ALL: [CovarianceType; 4] = [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
        CovarianceType::Tied,
    ];

    /// Free parameters of the covariances of `k` components in `d` dimensions.
    pub fn n_parameters(self, k: usize, d: usize) -> usize {
        match self {
            CovarianceType::Full => k * d * (d + 1) / 2,
            CovarianceType::Diag => k * d,
            CovarianceType::Spherical => k,
            CovarianceType::Tied => d * (d + 1) / 2,
        }
    }

    /// The name as scikit-learn and the command line spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CovarianceType::Full => "full",
            CovarianceType::Diag => "diag",
            CovarianceType::Spherical => "spherical",
            CovarianceType::Tied => "tied",
        }
    }
}

impl fmt::Display for CovarianceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CovarianceType {
    type Err = EmError;
    fn from_str(s: &str) -> Result<Self, EmError> {
        CovarianceType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| EmError::InvalidParameter {
                name: "covariance_type",
                reason: format!(
                    "unknown covariance type {s:?}; expected full, diag, spherical or tied"
                ),
            })
    }
}

/// The covariance parameters of a mixture, in the compact form of its structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Covariances {
    /// K matrices of D×D.
    Full(Vec<DMatrix<f64>>),
    /// K×D variances (row k = component k).
    Diag(DMatrix<f64>),
    /// K variances.
    Spherical(DVector<f64>),
    /// One D×D matrix shared by all components.
    Tied(DMatrix<f64>),
}

impl Covariances {
    /// The structure of these covariances.
    pub fn covariance_type(&self) -> CovarianceType {
        match self {
            Covariances::Full(_) => CovarianceType::Full,
            Covariances::Diag(_) => CovarianceType::Diag,
            Covariances::Spherical(_) => CovarianceType::Spherical,
            Covariances::Tied(_) => CovarianceType::Tied,
        }
    }

    /// The full D×D covariance matrix of component `k` in `n_features` dimensions.
    pub fn full_matrix(&self, k: usize, n_features: usize) -> DMatrix<f64> {
        match self {
            Covariances::Full(c) => c[k].clone(),
            Covariances::Diag(v) => DMatrix::from_diagonal(&v.row(k).transpose()),
            Covariances::Spherical(v) => {
                DMatrix::from_diagonal_element(n_features, n_features, v[k])
            }
            Covariances::Tied(c) => c.clone(),
        }
    }
}

/// Precomputed factors for evaluating Gaussian log-densities.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Factor {
    /// Lower Cholesky factor per component.
    Full(Vec<DMatrix<f64>>),
    /// Lower Cholesky factor of the shared covariance.
    Tied(DMatrix<f64>),
    /// K×D precisions 1/σ²_kd (a diagonal "inverse" is an exact reciprocal, not a solve).
    Diag(DMatrix<f64>),
    /// K precisions 1/σ²_k.
    Spherical(Vec<f64>),
}

/// Factors plus log|Σ_k| for each component.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Factored {
    pub factor: Factor,
    pub log_det: Vec<f64>,
}

/// Smallest fraction of a feature's variance that its Cholesky pivot may retain before the
/// matrix is treated as singular (≈ 4500 ulps: far below any real conditional variance).
const SINGULAR_PIVOT: f64 = 1e-12;

/// The lower Cholesky factor L (M = L Lᵀ) of a symmetric positive-definite matrix `m`, or
/// [`EmError::NotPositiveDefinite`] naming `component`, with a detail starting "`context`: ",
/// when `m` has non-finite entries, is not positive definite, or is singular in all but name:
/// a pivot L_jj² that is at most 10⁻¹² of the feature's own variance M_jj (a feature that is,
/// to rounding, a linear combination of the features before it). Only the lower triangle of
/// `m` is read; check symmetry first with [`check_symmetric`].
///
/// ```
/// use em_family::gaussian::cholesky;
/// use nalgebra::dmatrix;
/// let l = cholesky(&dmatrix![4.0, 2.0; 2.0, 2.0], 0, "given covariances")?;
/// assert_eq!(l, dmatrix![2.0, 0.0; 1.0, 1.0]);
/// assert!(cholesky(&dmatrix![1.0, 1.0; 1.0, 1.0], 3, "given covariances").is_err());
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn cholesky(
    m: &DMatrix<f64>,
    component: usize,
    context: &str,
) -> Result<DMatrix<f64>, EmError> {
    let fail = |why: &str| EmError::NotPositiveDefinite {
        component,
        detail: format!("{context}: {why}"),
    };
    if m.iter().any(|v| !v.is_finite()) {
        return Err(fail("it has non-finite entries"));
    }
    let l = nalgebra::Cholesky::new(m.clone())
        .ok_or_else(|| fail("Cholesky factorisation failed"))?
        .unpack();
    if l.diagonal().iter().any(|&v| !(v > 0.0 && v.is_finite())) {
        return Err(fail("a pivot is zero"));
    }
    // L_jj² is the variance of feature j left unexplained by features 0..j. When it is a
    // rounding-level fraction of the feature's own variance, the matrix is singular in all
    // but name (collinear or constant features) and densities would be fitted to noise.
    if let Some(j) = (0..m.nrows()).find(|&j| l[(j, j)] * l[(j, j)] <= SINGULAR_PIVOT * m[(j, j)]) {
        return Err(fail(&format!(
            "feature {j} is (numerically) a linear combination of the features before it"
        )));
    }
    Ok(l)
}

/// Rejects a covariance (or precision) matrix that is not symmetric to 1e-10 relative to its
/// largest entry, with [`EmError::NotPositiveDefinite`] naming `component` (detail starting
/// "`context`: not symmetric") and the first entry that differs from its mirror image.
///
/// ```
/// use em_family::gaussian::check_symmetric;
/// use nalgebra::dmatrix;
/// assert!(check_symmetric(&dmatrix![2.0, 1.0; 1.0, 2.0], 0, "given covariances").is_ok());
/// assert!(check_symmetric(&dmatrix![2.0, 1.0; 0.0, 2.0], 0, "given covariances").is_err());
/// ```
pub fn check_symmetric(m: &DMatrix<f64>, component: usize, context: &str) -> Result<(), EmError> {
    let scale = m.amax().max(f64::MIN_POSITIVE);
    for i in 0..m.nrows() {
        for j in 0..i {
            let (a, b) = (m[(i, j)], m[(j, i)]);
            if (a - b).abs() > 1e-10 * scale || (a - b).is_nan() {
                return Err(EmError::NotPositiveDefinite {
                    component,
                    detail: format!(
                        "{context}: not symmetric, entry ({i}, {j}) = {a} but ({j}, {i}) = {b}"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// log|Σ| from the lower Cholesky factor of Σ.
pub(crate) fn log_det_from_cholesky(l: &DMatrix<f64>) -> f64 {
    2.0 * l.diagonal().iter().map(|v| v.ln()).sum::<f64>()
}

/// tr(Σ⁻¹ A) for symmetric A, with Σ = L Lᵀ: the trace of L⁻¹ A L⁻ᵀ, by two triangular solves.
pub(crate) fn trace_of_solve(l: &DMatrix<f64>, a: &DMatrix<f64>) -> f64 {
    let Some(z) = l.solve_lower_triangular(a) else {
        return f64::NAN;
    };
    let Some(w) = l.solve_lower_triangular(&z.transpose()) else {
        return f64::NAN;
    };
    w.trace()
}

/// ‖L⁻¹ v‖² = vᵀ Σ⁻¹ v.
pub(crate) fn mahalanobis_sq(l: &DMatrix<f64>, v: &DVector<f64>) -> f64 {
    l.solve_lower_triangular(v)
        .map(|y| y.norm_squared())
        .unwrap_or(f64::NAN)
}

impl Factored {
    /// Factorises validated covariances; `context` says where they came from for errors.
    pub(crate) fn new(
        cov: &Covariances,
        n_features: usize,
        context: &str,
    ) -> Result<Self, EmError> {
        let positive = |v: f64, component: usize, feature: Option<usize>| {
            if v > 0.0 && v.is_finite() {
                Ok(v)
            } else {
                let of = feature.map_or(String::new(), |j| format!(" of feature {j}"));
                Err(EmError::NotPositiveDefinite {
                    component,
                    detail: format!("{context}: variance {v:e}{of} is not positive"),
                })
            }
        };
        Ok(match cov {
            Covariances::Full(c) => {
                let ls = c
                    .iter()
                    .enumerate()
                    .map(|(k, m)| cholesky(m, k, context))
                    .collect::<Result<Vec<_>, _>>()?;
                let log_det = ls.iter().map(log_det_from_cholesky).collect();
                Factored {
                    factor: Factor::Full(ls),
                    log_det,
                }
            }
            Covariances::Tied(c) => {
                let l = cholesky(c, 0, context)?;
                let ld = log_det_from_cholesky(&l);
                Factored {
                    factor: Factor::Tied(l),
                    log_det: vec![ld],
                }
            }
            Covariances::Diag(v) => {
                let mut prec = DMatrix::zeros(v.nrows(), v.ncols());
                let mut log_det = vec![0.0; v.nrows()];
                for k in 0..v.nrows() {
                    for d in 0..v.ncols() {
                        let var = positive(v[(k, d)], k, Some(d))?;
                        prec[(k, d)] = 1.0 / var;
                        log_det[k] += var.ln();
                    }
                }
                Factored {
                    factor: Factor::Diag(prec),
                    log_det,
                }
            }
            Covariances::Spherical(v) => {
                let mut prec = Vec::with_capacity(v.len());
                let mut log_det = Vec::with_capacity(v.len());
                for (k, &var) in v.iter().enumerate() {
                    let var = positive(var, k, None)?;
                    prec.push(1.0 / var);
                    log_det.push(n_features as f64 * var.ln());
                }
                Factored {
                    factor: Factor::Spherical(prec),
                    log_det,
                }
            }
        })
    }
}

/// How many ulps of a component's mean its standard deviation must span: below
/// `RESOLUTION · ε · |μ|` the spread is rounding noise of the mean.
const RESOLUTION: f64 = 64.0;

/// Rejects a component that has collapsed onto a point: a variance that is subnormal, or
/// below the squared rounding resolution (`RESOLUTION · ε · |μ|`)² of its own mean. Such a
/// "variance" is noise — the likelihood is unbounded there and the log-density no longer
/// means anything — so it is a `NotPositiveDefinite` naming the component, as an exact zero
/// variance is.
pub(crate) fn check_resolution(
    means: &DMatrix<f64>,
    covariances: &Covariances,
    context: &str,
) -> Result<(), EmError> {
    let (k_count, d) = means.shape();
    for k in 0..k_count {
        for j in 0..d {
            let var = match covariances {
                Covariances::Full(c) => c[k][(j, j)],
                Covariances::Tied(c) => c[(j, j)],
                Covariances::Diag(v) => v[(k, j)],
                Covariances::Spherical(v) => v[k],
            };
            let floor = (RESOLUTION * f64::EPSILON * means[(k, j)].abs()).powi(2);
            if var < f64::MIN_POSITIVE || var <= floor {
                let component = if matches!(covariances, Covariances::Tied(_)) {
                    0
                } else {
                    k
                };
                return Err(EmError::NotPositiveDefinite {
                    component,
                    detail: format!(
                        "{context}: the variance of feature {j} is {var:e}, rounding noise for a \
                         mean of {:e}: the component has collapsed onto a point",
                        means[(k, j)]
                    ),
                });
            }
        }
    }
    Ok(())
}
