//! Warnings a statistician would give about a fit that succeeded but should not be trusted.
//!
//! Why: maximum likelihood for a Gaussian mixture is unbounded. A component that collapses
//! onto a few points, a constant column, or more parameters than rows all let the
//! log-likelihood grow without limit (or until a `reg_covar` ridge stops it), and the fit
//! then reports a large positive log-likelihood and a very negative BIC as if they were
//! good news. These checks say so, name the column or component, and say what to do.
//!
//! Three groups, so that a caller can check what it knows when it knows it:
//! - [`check_columns`]: the data alone, before a fit (constant and duplicate columns);
//! - [`check_design`]: the data and the model to be fitted, before the fit (more free
//!   parameters than rows, fewer distinct rows than the components need);
//! - [`check_model`]: a fitted model and its data (components that own too few rows,
//!   components whose covariance is singular relative to the data's spread).
//!
//! [`diagnose`] runs all three. None of them fires on ordinary fits: the tests fit the bundled
//! data sets at K = 1…5 with every covariance structure and expect no warning.
//!
//! ```
//! use gmm::diagnostics::{self, Warning};
//! use nalgebra::dmatrix;
//! let x = dmatrix![1.0, 5.0; 2.0, 5.0; 3.0, 5.0];
//! let names = ["a".to_string(), "b".to_string()];
//! let w = diagnostics::check_columns(&x, Some(&names));
//! assert!(matches!(&w[0], Warning::ConstantColumn { column, .. } if column.index == 1));
//! assert!(w[0].to_string().starts_with("column \"b\" is constant"));
//! ```

use std::collections::HashMap;
use std::fmt;

use em_core::EmError;
use nalgebra::{DMatrix, SymmetricEigen};

use crate::gaussian::CovarianceType;
use crate::mixture::GaussianMixture;

/// A column, by zero-based index and, when the caller knows it, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Zero-based index in the data.
    pub index: usize,
    /// The column's name (a CSV header), if known.
    pub name: Option<String>,
}

impl Column {
    fn of(index: usize, names: Option<&[String]>) -> Self {
        Column {
            index,
            name: names.and_then(|n| n.get(index)).cloned(),
        }
    }
}

impl fmt::Display for Column {
    /// `column "name"`, or `column 3` (zero-based) without a name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "column {n:?}"),
            None => write!(f, "column {}", self.index),
        }
    }
}

/// The smallest variance, in units of the data's column variances, below which a
/// component's covariance (without the `reg_covar` ridge) counts as singular: a standard
/// deviation of 10⁻⁵ of the columns' in some direction. Real clusters, even of strongly
/// correlated measurements, stay orders of magnitude above it; a component collapsed onto
/// points in a subspace is at rounding level, 10⁻¹⁵ or below.
pub const SINGULAR_RATIO: f64 = 1e-10;

/// The variance ratio (with the ridge) above which a singular component is harmless: the
/// `reg_covar` ridge has then made its variance comparable to the data's, and its density
/// is not inflated.
pub const RIDGE_RESCUES_RATIO: f64 = 1e-2;

/// One warning. `Display` says what is wrong, names the column or component, and says what
/// to do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// A column takes one value in every row. It carries no information; without a ridge
    /// every covariance but a spherical one is singular, and with one the column's density is set by the ridge,
    /// which inflates the log-likelihood by an arbitrary amount.
    ConstantColumn {
        /// The column.
        column: Column,
        /// Its value.
        value: f64,
    },
    /// Two columns hold identical values: the covariance is singular in their difference,
    /// with the same consequences as a constant column.
    DuplicateColumns {
        /// The first of the two.
        first: Column,
        /// The later one, identical to `first`.
        second: Column,
    },
    /// More free parameters than rows: the model is not identified by the data, and the
    /// likelihood can be made as large as one likes.
    TooManyParameters {
        /// Free parameters of the model.
        n_parameters: usize,
        /// Rows of the data.
        n_rows: usize,
        /// Components.
        k: usize,
        /// The covariance structure.
        covariance_type: CovarianceType,
    },
    /// Fewer distinct rows than K components of this structure need to be determined by
    /// the data (D+1 each for `full`, 2 for `diag` and `spherical`, K + D in all for `tied`):
    /// some component will collapse onto too few points. Reported only when some rows
    /// repeat: with every row distinct, fewer rows than that are also fewer than the free
    /// parameters ([`Warning::TooManyParameters`]).
    FewDistinctRows {
        /// Distinct rows of the data.
        distinct: usize,
        /// Distinct rows needed.
        needed: usize,
        /// Components.
        k: usize,
        /// The covariance structure.
        covariance_type: CovarianceType,
    },
    /// A component owns (by hard assignment, the most probable component of each row) fewer
    /// rows than its covariance needs: D+1 for `full` (the scatter of n points has rank at
    /// most n − 1), 2 for `diag` and `spherical`. Not checked for `tied`, whose covariance
    /// is pooled over all rows.
    SmallComponent {
        /// Zero-based component.
        component: usize,
        /// Rows it owns.
        rows: usize,
        /// Rows its covariance needs.
        needed: usize,
    },
    /// A component's covariance is (nearly) singular relative to the data's spread: in some
    /// direction its variance without the ridge, in units of the column variances, is below
    /// [`SINGULAR_RATIO`]. Its density there is unbounded, so the log-likelihood, BIC and
    /// AIC are inflated and not comparable.
    SingularComponent {
        /// Zero-based component; `None` for the covariance all components share (`tied`).
        component: Option<usize>,
        /// The smallest eigenvalue of its covariance without the ridge, in units of the
        /// column variances (D⁻¹(Σ_k − reg I)D⁻¹, D the column standard deviations).
        ratio: f64,
        /// The column the direction of that eigenvalue mostly lies along, when it is the
        /// only singular direction and one column carries more than half of it.
        along: Option<Column>,
        /// The model's `reg_covar` ridge, left out of `ratio`.
        reg_covar: f64,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::ConstantColumn { column, value } => write!(
                f,
                "{column} is constant (every value is {value}): it carries no information, \
                 makes every covariance but a spherical one singular, and with a reg_covar \
                 ridge inflates the log-likelihood and BIC by an arbitrary amount; drop it"
            ),
            Warning::DuplicateColumns { first, second } => write!(
                f,
                "{second} is identical to {first}: the covariance is singular in their \
                 difference, which inflates the log-likelihood and BIC; drop one of them"
            ),
            Warning::TooManyParameters {
                n_parameters,
                n_rows,
                k,
                covariance_type,
            } => write!(
                f,
                "{n_parameters} free parameters (K = {k}, {covariance_type} covariance) but only \
                 {n_rows} row{}: the data cannot determine the model, and its log-likelihood \
                 and BIC are not meaningful; lower K, use a diag or spherical covariance, or \
                 add rows",
                if *n_rows == 1 { "" } else { "s" }
            ),
            Warning::FewDistinctRows {
                distinct,
                needed,
                k,
                covariance_type,
            } => write!(
                f,
                "the data have only {distinct} distinct row{} but K = {k} {covariance_type} \
                 components need at least {needed}: some component will collapse onto too \
                 few points, where its density is unbounded; lower K",
                if *distinct == 1 { "" } else { "s" }
            ),
            Warning::SmallComponent {
                component,
                rows,
                needed,
            } => write!(
                f,
                "component {component} is the most probable for only {rows} row{}, fewer than \
                 the {needed} its covariance needs, so that covariance is determined by too \
                 few points; lower K or use a simpler covariance structure",
                if *rows == 1 { "" } else { "s" }
            ),
            Warning::SingularComponent {
                component,
                ratio,
                along,
                reg_covar,
            } => {
                match component {
                    Some(c) => write!(f, "component {c} has collapsed: its covariance")?,
                    None => write!(f, "the shared (tied) covariance")?,
                }
                let less_ridge = if *reg_covar > 0.0 {
                    ", less the reg_covar ridge,"
                } else {
                    ""
                };
                // Below about 1e-15 the value is rounding noise.
                if *ratio < 1e-15 {
                    write!(
                        f,
                        " is singular (its smallest variance{less_ridge} is 0 up to rounding"
                    )?;
                } else {
                    write!(
                        f,
                        " is singular (its smallest variance{less_ridge} is {ratio:.1e} of \
                         the data's"
                    )?;
                }
                if let Some(c) = along {
                    write!(f, ", mostly along {c}")?;
                }
                if *reg_covar > 0.0 {
                    write!(
                        f,
                        "), so its density there is set by the ridge, not by the data, and the \
                         log-likelihood, BIC and AIC are inflated and not meaningful; lower K or \
                         drop duplicate or collinear columns"
                    )
                } else {
                    write!(
                        f,
                        "), so its density is unbounded and the log-likelihood, BIC and AIC are \
                         inflated and not meaningful; lower K, drop duplicate or collinear \
                         columns, or regularise (reg_covar, a prior)"
                    )
                }
            }
        }
    }
}

/// A value with -0.0 and 0.0 alike, for hashing rows and columns by their values.
fn key(v: f64) -> u64 {
    (v + 0.0).to_bits()
}

/// Constant columns and pairs of identical columns of `x` (N×D, one row per observation),
/// named from `names` (one per column) when given. Data-only: run it before fitting.
///
/// A constant column is reported once, not also as a duplicate of another constant column.
/// Values are compared exactly; NaN never equals anything (the fitting entry points reject
/// non-finite data anyway).
///
/// ```
/// use gmm::diagnostics::{check_columns, Warning};
/// use nalgebra::dmatrix;
/// let x = dmatrix![1.0, 4.0, 1.0; 2.0, 0.0, 2.0; 3.0, 7.0, 3.0];
/// let w = check_columns(&x, None);
/// assert_eq!(w.len(), 1);
/// assert_eq!(
///     w[0].to_string().split(':').next().unwrap(),
///     "column 2 is identical to column 0"
/// );
/// ```
pub fn check_columns(x: &DMatrix<f64>, names: Option<&[String]>) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if x.nrows() == 0 {
        return warnings;
    }
    let mut constant = vec![false; x.ncols()];
    for (j, col) in x.column_iter().enumerate() {
        // Missing values (NaN) do not count: a column is constant when its observed values
        // are (at least two of them).
        let mut observed = col.iter().filter(|v| !v.is_nan());
        let Some(&first) = observed.next() else {
            continue;
        };
        let mut count = 1;
        if observed.all(|&v| {
            count += 1;
            v == first
        }) && count > 1
        {
            constant[j] = true;
            warnings.push(Warning::ConstantColumn {
                column: Column::of(j, names),
                value: first,
            });
        }
    }
    // Group columns by a cheap signature of their values (one u64 each, not a copy of the
    // data: a wrapping sum of their bits, which vectorises), then compare the candidates
    // exactly.
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
    for (j, col) in x.column_iter().enumerate() {
        if constant[j] {
            continue;
        }
        let signature = col
            .iter()
            .fold(0u64, |acc, &v| acc.wrapping_mul(31).wrapping_add(key(v)));
        let group = seen.entry(signature).or_default();
        if let Some(&first) = group.iter().find(|&&i| x.column(i) == col) {
            warnings.push(Warning::DuplicateColumns {
                first: Column::of(first, names),
                second: Column::of(j, names),
            });
        } else {
            group.push(j);
        }
    }
    warnings
}

/// The rows K components of `kind` in `d` dimensions need, at the least, to be determined
/// by distinct points.
fn distinct_rows_needed(k: usize, d: usize, kind: CovarianceType) -> usize {
    match kind {
        CovarianceType::Full => k * (d + 1),
        CovarianceType::Diag | CovarianceType::Spherical => 2 * k,
        CovarianceType::Tied => k + d,
    }
}

/// Free parameters of a mixture of `k` components of `kind` in `d` dimensions: K−1
/// weights, K·D means and the covariances' own (as [`GaussianMixture::n_parameters`]).
pub fn n_parameters(k: usize, d: usize, kind: CovarianceType) -> usize {
    k.saturating_sub(1) + k * d + kind.n_parameters(k, d)
}

/// Checks of the model to be fitted against the data, before the fit: more free parameters
/// than rows ([`Warning::TooManyParameters`]) and fewer distinct rows than `k` components of
/// `kind` need ([`Warning::FewDistinctRows`]).
///
/// ```
/// use gmm::{CovarianceType, diagnostics::{check_design, Warning}};
/// use nalgebra::DMatrix;
/// // Three distinct rows, each repeated ten times; K = 3.
/// let x = DMatrix::from_fn(30, 2, |i, j| ((i % 3) * (j + 1)) as f64);
/// let w = check_design(&x, 3, CovarianceType::Full);
/// assert!(matches!(w[0], Warning::FewDistinctRows { distinct: 3, needed: 9, .. }));
/// ```
pub fn check_design(x: &DMatrix<f64>, k: usize, kind: CovarianceType) -> Vec<Warning> {
    let (n, d) = x.shape();
    let mut warnings = Vec::new();
    let p = n_parameters(k, d, kind);
    if p > n {
        warnings.push(Warning::TooManyParameters {
            n_parameters: p,
            n_rows: n,
            k,
            covariance_type: kind,
        });
    }
    let needed = distinct_rows_needed(k, d, kind);
    let distinct = count_distinct_rows(x, needed);
    // With every row distinct, too few rows are already too few for the parameters.
    if distinct < needed && distinct < n {
        warnings.push(Warning::FewDistinctRows {
            distinct,
            needed,
            k,
            covariance_type: kind,
        });
    }
    warnings
}

/// The number of distinct rows of `x`, counting no further than `enough`.
fn count_distinct_rows(x: &DMatrix<f64>, enough: usize) -> usize {
    let mut seen = std::collections::HashSet::new();
    for row in x.row_iter() {
        seen.insert(row.iter().map(|&v| key(v)).collect::<Vec<u64>>());
        if seen.len() >= enough {
            break;
        }
    }
    seen.len()
}

/// Checks of a fitted `model` against the data `x` it was fitted to: components that own too
/// few rows ([`Warning::SmallComponent`]) and components whose covariance is singular
/// relative to the data's spread ([`Warning::SingularComponent`]). `names` names the
/// columns in the latter.
///
/// The singularity criterion is scale-aware, because a positive log-likelihood alone is
/// legal (data on a small scale have densities above 1): with s_j the standard deviation of
/// column j and D = diag(s), a component is singular when the smallest eigenvalue of
/// D⁻¹(Σ_k − reg·I)D⁻¹ is below [`SINGULAR_RATIO`] and that of D⁻¹Σ_kD⁻¹ is below
/// [`RIDGE_RESCUES_RATIO`]. Constant columns (s_j = 0) and the second of two identical
/// columns are left out of it: [`check_columns`] reports them.
///
/// # Errors
/// As [`GaussianMixture::predict`]: `x` with the wrong number of columns or a non-finite
/// value.
///
/// ```
/// use gmm::{Covariances, GaussianMixture, diagnostics::{check_model, Warning}};
/// use nalgebra::{dmatrix, dvector};
/// // Component 1 sits on one repeated point with a tiny variance.
/// let m = GaussianMixture::new(
///     dvector![0.5, 0.5],
///     dmatrix![0.0; 10.0],
///     Covariances::Spherical(dvector![1.0, 1e-14]),
/// )?;
/// let x = dmatrix![-1.0; 0.5; 1.0; -0.2; 10.0; 10.0];
/// let w = check_model(&m, &x, None)?;
/// assert!(w.iter().any(|w| matches!(w, Warning::SingularComponent { component: Some(1), .. })));
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn check_model(
    model: &GaussianMixture,
    x: &DMatrix<f64>,
    names: Option<&[String]>,
) -> Result<Vec<Warning>, EmError> {
    let mut warnings = Vec::new();
    let (k, d) = (model.n_components(), model.n_features());
    let labels = model.predict(x)?;
    let needed = match model.covariance_type() {
        CovarianceType::Full => Some(d + 1),
        CovarianceType::Diag | CovarianceType::Spherical => Some(2),
        CovarianceType::Tied => None,
    };
    if let Some(needed) = needed {
        let mut owned = vec![0usize; k];
        for &l in &labels {
            owned[l] += 1;
        }
        for (component, &rows) in owned.iter().enumerate() {
            if rows < needed {
                warnings.push(Warning::SmallComponent {
                    component,
                    rows,
                    needed,
                });
            }
        }
    }
    warnings.extend(singular_components(model, x, names));
    Ok(warnings)
}

/// [`Warning::SingularComponent`] for every component singular relative to the column
/// variances of `x` (see [`check_model`]).
fn singular_components(
    model: &GaussianMixture,
    x: &DMatrix<f64>,
    names: Option<&[String]>,
) -> Vec<Warning> {
    let n = x.nrows();
    if n < 2 {
        return Vec::new();
    }
    // Column standard deviations; constant columns and the later of duplicate columns are
    // left out (check_columns names them; they would make every component singular).
    let mut repeated = vec![false; x.ncols()];
    for w in check_columns(x, None) {
        match w {
            Warning::ConstantColumn { column, .. }
            | Warning::DuplicateColumns { second: column, .. } => repeated[column.index] = true,
            _ => {}
        }
    }
    let mut kept = Vec::new();
    let mut sd = Vec::new();
    for (j, col) in x.column_iter().enumerate() {
        if repeated[j] {
            continue;
        }
        let mean = col.mean();
        let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        if var > 0.0 && var.is_finite() {
            kept.push(j);
            sd.push(var.sqrt());
        }
    }
    if kept.is_empty() {
        return Vec::new();
    }
    let reg = model.reg_covar();
    let m = kept.len();
    let mut warnings = Vec::new();
    let components = match model.covariance_type() {
        CovarianceType::Tied => 1,
        _ => model.n_components(),
    };
    for c in 0..components {
        let Some(cov) = model.covariance(c) else {
            continue;
        };
        let scaled = |ridge: f64| {
            DMatrix::from_fn(m, m, |a, b| {
                let v = cov[(kept[a], kept[b])] - if a == b { ridge } else { 0.0 };
                v / (sd[a] * sd[b])
            })
        };
        let with_ridge = SymmetricEigen::new(scaled(0.0)).eigenvalues.min();
        if with_ridge >= RIDGE_RESCUES_RATIO {
            continue;
        }
        let eig = SymmetricEigen::new(scaled(reg));
        let (i, &ratio) = eig
            .eigenvalues
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .unwrap_or((0, &f64::INFINITY));
        if ratio < SINGULAR_RATIO {
            let v = eig.eigenvectors.column(i);
            let singular_directions = eig
                .eigenvalues
                .iter()
                .filter(|&&e| e < SINGULAR_RATIO)
                .count();
            let along = (0..m)
                .find(|&a| singular_directions == 1 && v[a] * v[a] > 0.5)
                .map(|a| Column::of(kept[a], names));
            let component = (model.covariance_type() != CovarianceType::Tied).then_some(c);
            warnings.push(Warning::SingularComponent {
                component,
                ratio: ratio.max(0.0),
                along,
                reg_covar: reg,
            });
        }
    }
    warnings
}

/// Every check: [`check_columns`], [`check_design`] for the model's K and structure, and
/// [`check_model`], in that order. For a caller that fits first and asks afterwards; a
/// caller that wants the data checks before a (possibly failing) fit runs the first two
/// itself.
///
/// # Errors
/// As [`check_model`].
///
/// ```
/// use gmm::{GaussianMixture, diagnostics::diagnose};
/// use nalgebra::DMatrix;
/// // Two groups of pseudo-random points.
/// let x = DMatrix::from_fn(200, 2, |i, j| {
///     ((i * (j + 3) * 7919) % 1009) as f64 / 100.0 + if i % 2 == 0 { 0.0 } else { 30.0 }
/// });
/// let fit = GaussianMixture::builder(2).fit(&x)?;
/// assert!(diagnose(&fit.model, &x, None)?.is_empty());
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn diagnose(
    model: &GaussianMixture,
    x: &DMatrix<f64>,
    names: Option<&[String]>,
) -> Result<Vec<Warning>, EmError> {
    let mut w = check_columns(x, names);
    w.extend(check_design(
        x,
        model.n_components(),
        model.covariance_type(),
    ));
    w.extend(check_model(model, x, names)?);
    Ok(w)
}
