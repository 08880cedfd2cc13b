//! Missing values in Gaussian data, modelled rather than dropped: see [`MissingValues`] for
//! the mathematics.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, PoisonError, RwLock};

use em_core::EmError;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::family::check_shape;
use super::kernel::HALF_LN_2PI;
use super::{GaussianStats, Gaussians, Scatter, ScatterForm};

/// What a NaN entry of the data means to a Gaussian model.
///
/// With [`MissingValues::Model`], a NaN entry is a coordinate that was not observed, and EM
/// treats it as one more latent variable (Ghahramani & Jordan 1994).
///
/// For a row with observed coordinates o (d_o of them) and missing ones m (d_m), and a
/// component with mean μ and covariance Σ, permuted to the order (o, m) and factored
/// Σ = L Lᵀ with L = [L_oo 0; L_mo L_mm]:
///
/// * **density**: the component's density of the row is the marginal of its observed
///   coordinates, N(x_o | μ_o, Σ_oo) with Σ_oo = L_oo L_ooᵀ:
///   log f = −(d_o/2) log 2π − log|L_oo| − ½‖u‖², u = L_oo⁻¹ (x_o − μ_o);
/// * **the missing coordinates given the observed ones** are N(x̂_m, C) with
///   x̂_m = μ_m + L_mo u (which is μ_m + Σ_mo Σ_oo⁻¹ (x_o − μ_o)) and C = L_mm L_mmᵀ (the
///   Schur complement Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om);
/// * **statistics**: the expected complete-data statistics under that posterior. With weight
///   v = w γ_k, the row counts as the completed row (x_o, x̂_m) and adds v·C to the (m, m)
///   block of the component's scatter (its diagonal, for diagonal and spherical models); the
///   entropy of N(x̂_m, C), H = d_m (½ + ½ log 2π) + log|L_mm|, is summed with the same
///   weights into [`GaussianStats::conditional_entropy`].
///
/// The M-step is the complete-data M-step on these statistics, for every covariance structure
/// and with or without a prior. Σγ log f from the statistics (the family's
/// `expected_log_density`, E[log N(x | μ, Σ)] + H) equals Σγ log f(x_o) at the parameters of
/// the E-step (the inner Kullback–Leibler gap is 0) and is a lower bound elsewhere: EM with
/// missing values is exact EM, and the invariant checker's relations hold.
///
/// ```
/// use em_family::gaussian::MissingValues;
/// assert_eq!(MissingValues::default(), MissingValues::Error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingValues {
    /// A NaN is an error naming its row and column (the default: a NaN is more often a bug
    /// upstream than a value known to be missing).
    #[default]
    Error,
    /// A NaN is a value that was not observed: the row counts through the marginal density
    /// of its observed coordinates, and EM fills the missing ones in by their conditional
    /// distribution (see above).
    Model,
}

/// Checks Gaussian data in which NaN marks a missing value: rows, `n_features` columns (when
/// given), no ±∞, and at least one observed value in every row. (A fit needs an observed
/// value in every column too: [`check_observed_columns`].)
///
/// ```
/// use em_family::gaussian::check_data_with_missing;
/// use nalgebra::dmatrix;
/// let nan = f64::NAN;
/// assert!(check_data_with_missing(&dmatrix![1.0, nan; nan, 2.0], Some(2)).is_ok());
/// assert!(check_data_with_missing(&dmatrix![1.0, 2.0; nan, nan], None).is_err()); // row 1
/// assert!(check_data_with_missing(&dmatrix![1.0, f64::INFINITY], None).is_err());
/// ```
///
/// # Errors
/// [`EmError::EmptyData`]; [`EmError::DimensionMismatch`]; [`EmError::InvalidParameter`]
/// (`data`) for no columns; [`EmError::NonFinite`] for the first ±∞ in row order;
/// [`EmError::InvalidInput`] naming the first row with no observed value.
pub fn check_data_with_missing(x: &DMatrix<f64>, n_features: Option<usize>) -> Result<(), EmError> {
    check_shape(x, n_features)?;
    let (n, d) = x.shape();
    if x.as_slice().iter().any(|v| v.is_infinite()) {
        for row in 0..n {
            for column in 0..d {
                let value = x[(row, column)];
                if value.is_infinite() {
                    return Err(EmError::NonFinite { row, column, value });
                }
            }
        }
    }
    // One pass down the columns (the matrix's own order) counts each row's missing values.
    if !has_missing(x) {
        return Ok(());
    }
    let mut missing = vec![0usize; n];
    for col in x.column_iter() {
        for (count, v) in missing.iter_mut().zip(col.iter()) {
            *count += usize::from(v.is_nan());
        }
    }
    if let Some(row) = missing.iter().position(|&m| m == d) {
        return Err(EmError::InvalidInput {
            row,
            column: None,
            reason: "every value of the row is missing; drop the row".into(),
        });
    }
    Ok(())
}

/// Checks that every column of data to be fitted has an observed (non-NaN) value: a column
/// with none leaves its mean and variances undetermined.
///
/// ```
/// use em_family::gaussian::check_observed_columns;
/// use nalgebra::dmatrix;
/// let nan = f64::NAN;
/// assert!(check_observed_columns(&dmatrix![1.0, nan; nan, 2.0]).is_ok());
/// assert!(check_observed_columns(&dmatrix![1.0, nan; 3.0, nan]).is_err()); // column 1
/// ```
///
/// # Errors
/// [`EmError::InvalidParameter`] (`data`) naming the first column with no observed value.
pub fn check_observed_columns(x: &DMatrix<f64>) -> Result<(), EmError> {
    match (0..x.ncols()).find(|&j| x.column(j).iter().all(|v| v.is_nan())) {
        Some(column) => Err(EmError::InvalidParameter {
            name: "data",
            reason: format!("column {column} has no observed value; drop the column"),
        }),
        None => Ok(()),
    }
}

/// Whether any entry of `x` is NaN (a missing value).
pub fn has_missing(x: &DMatrix<f64>) -> bool {
    // The contiguous slice, not the matrix iterator: a scan the compiler vectorises.
    x.as_slice().iter().any(|v| v.is_nan())
}

/// The rows of a batch that miss the same coordinates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern {
    /// The coordinates observed, increasing.
    observed: Vec<usize>,
    /// The coordinates missing, increasing (never empty).
    missing: Vec<usize>,
    /// Offsets in the batch (row − rows.start) of the rows with this pattern, increasing.
    rows: Vec<usize>,
}

impl Pattern {
    /// Offsets in the batch of the rows with this pattern.
    pub(crate) fn rows(&self) -> &[usize] {
        &self.rows
    }
}

/// The rows of `rows` that have a NaN, grouped by which coordinates are missing, in a fixed
/// order (so results do not depend on anything but the data); empty when the batch is
/// complete, which is the only cost complete data pay: one scan of the batch.
pub(crate) fn incomplete_patterns(x: &DMatrix<f64>, rows: &Range<usize>) -> Vec<Pattern> {
    let (n, d, c) = (x.nrows(), x.ncols(), rows.len());
    let values = x.as_slice();
    // Bit j of a row's mask (word j / 64) is set when coordinate j is missing.
    let words = d.div_ceil(64);
    let mut masks = vec![0u64; c * words];
    let mut any = false;
    for j in 0..d {
        let column = &values[j * n + rows.start..j * n + rows.end];
        let bit = 1u64 << (j % 64);
        for (i, v) in column.iter().enumerate() {
            if v.is_nan() {
                masks[i * words + j / 64] |= bit;
                any = true;
            }
        }
    }
    if !any {
        return Vec::new();
    }
    let mask = |i: usize| &masks[i * words..(i + 1) * words];
    let mut incomplete: Vec<usize> = (0..c)
        .filter(|&i| mask(i).iter().any(|&w| w != 0))
        .collect();
    // Rows of one pattern stay in increasing order (the row breaks ties).
    if words == 1 {
        incomplete.sort_unstable_by_key(|&i| (masks[i], i));
    } else {
        incomplete.sort_by(|&a, &b| mask(a).cmp(mask(b)));
    }
    let mut patterns: Vec<Pattern> = Vec::new();
    for i in incomplete {
        match patterns.last_mut() {
            Some(p) if mask(p.rows[0]) == mask(i) => p.rows.push(i),
            _ => {
                let missing_bit = |j: usize| mask(i)[j / 64] & (1u64 << (j % 64)) != 0;
                patterns.push(Pattern {
                    observed: (0..d).filter(|&j| !missing_bit(j)).collect(),
                    missing: (0..d).filter(|&j| missing_bit(j)).collect(),
                    rows: vec![i],
                });
            }
        }
    }
    patterns
}

/// A copy of the batch `rows` of `x` (c × D) with the NaN entries set to 0, for the complete-
/// data kernels: the rows that had them are then given weight 0 or overwritten.
pub(crate) fn zero_filled(x: &DMatrix<f64>, rows: &Range<usize>) -> DMatrix<f64> {
    DMatrix::from_fn(rows.len(), x.ncols(), |i, j| {
        let v = x[(rows.start + i, j)];
        if v.is_nan() { 0.0 } else { v }
    })
}

/// One component's distribution of the missing coordinates of a pattern given the observed
/// ones (see the [`MissingValues`]).
struct Conditional {
    observed: Vec<usize>,
    missing: Vec<usize>,
    /// μ_o and μ_m.
    mean_o: DVector<f64>,
    mean_m: DVector<f64>,
    /// L_oo (d_o × d_o) and L_mo (d_m × d_o).
    l_oo: DMatrix<f64>,
    l_mo: DMatrix<f64>,
    /// L_mm (d_m × d_m), the Cholesky factor of C.
    l_mm: DMatrix<f64>,
    /// −(d_o/2) log 2π − log|L_oo|.
    log_norm: f64,
    /// C = L_mm L_mmᵀ.
    covariance: DMatrix<f64>,
    /// d_m (½ + ½ log 2π) + log|L_mm|.
    entropy: f64,
}

impl Conditional {
    /// Component `k`'s conditional for `pattern`, or `None` when the permuted covariance does
    /// not factorise (it always does for the positive-definite covariances a [`Gaussians`]
    /// holds, short of rounding at the edge of singularity).
    fn new(g: &Gaussians, k: usize, pattern: &Pattern) -> Option<Self> {
        let d = g.n_features();
        let sigma = g.covariances().full_matrix(k, d);
        let order: Vec<usize> = pattern
            .observed
            .iter()
            .chain(&pattern.missing)
            .copied()
            .collect();
        let permuted = DMatrix::from_fn(d, d, |r, c| sigma[(order[r], order[c])]);
        let l = nalgebra::Cholesky::new(permuted)?.unpack();
        let (d_o, d_m) = (pattern.observed.len(), pattern.missing.len());
        let l_oo = l.view((0, 0), (d_o, d_o)).into_owned();
        let l_mm = l.view((d_o, d_o), (d_m, d_m)).into_owned();
        let log_diag = |m: &DMatrix<f64>| m.diagonal().iter().map(|v| v.ln()).sum::<f64>();
        let mean = g.means().row(k);
        Some(Conditional {
            mean_o: DVector::from_iterator(d_o, pattern.observed.iter().map(|&j| mean[j])),
            mean_m: DVector::from_iterator(d_m, pattern.missing.iter().map(|&j| mean[j])),
            log_norm: -(d_o as f64) * HALF_LN_2PI - log_diag(&l_oo),
            entropy: d_m as f64 * (0.5 + HALF_LN_2PI) + log_diag(&l_mm),
            covariance: &l_mm * l_mm.transpose(),
            l_mo: l.view((d_o, 0), (d_m, d_o)).into_owned(),
            l_oo,
            l_mm,
            observed: pattern.observed.clone(),
            missing: pattern.missing.clone(),
        })
    }

    /// U = L_oo⁻¹ (X_o − μ_o), d_o × r: column t for row `start + rows[t]` of `x`. One
    /// triangular solve for all the rows of a pattern.
    fn whiten(&self, x: &DMatrix<f64>, start: usize, rows: &[usize]) -> DMatrix<f64> {
        let mut u = DMatrix::from_fn(self.observed.len(), rows.len(), |a, t| {
            x[(start + rows[t], self.observed[a])] - self.mean_o[a]
        });
        self.l_oo.solve_lower_triangular_unchecked_mut(&mut u);
        u
    }

    /// log N(x_o | μ_o, Σ_oo) of the row whose whitened residual is column `t` of `u`.
    fn log_density(&self, u: &DMatrix<f64>, t: usize) -> f64 {
        self.log_norm - 0.5 * u.column(t).norm_squared()
    }

    /// X̂_m = μ_m + L_mo U, d_m × r: the conditional means of the missing coordinates.
    fn complete(&self, u: &DMatrix<f64>) -> DMatrix<f64> {
        let mut x_m = &self.l_mo * u;
        for mut column in x_m.column_iter_mut() {
            column += &self.mean_m;
        }
        x_m
    }

    /// How many f64 values it holds (for the cache's budget).
    fn size(&self) -> usize {
        let (o, m) = (self.observed.len(), self.missing.len());
        2 * (o + m) + o * o + m * o + 2 * m * m
    }
}

/// The conditionals of all K components for one pattern (`None` for a component whose
/// permuted covariance did not factorise).
type Conditionals = Arc<Vec<Option<Conditional>>>;

/// The most f64 values the cache of conditionals holds (128 MiB); past it, the conditionals
/// of further patterns are computed for each batch that meets them.
const CACHE_BUDGET: usize = 1 << 24;

/// The conditionals of every component for the missingness patterns met so far, at the
/// current parameters: factorised once per pattern and parameter set rather than for every
/// batch of rows that meets the pattern. Its owner replaces it whenever the parameters
/// change; clones start empty (and it compares equal to any other cache: it holds nothing
/// but what the parameters determine).
#[derive(Default)]
pub(crate) struct ConditionalCache {
    entries: RwLock<(usize, BTreeMap<Vec<usize>, Conditionals>)>,
}

impl ConditionalCache {
    /// The conditionals of `pattern` under `g`, from the cache or computed (and kept while
    /// the budget allows).
    fn get(&self, g: &Gaussians, pattern: &Pattern) -> Conditionals {
        if let Some(found) = self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .get(&pattern.missing)
        {
            return Arc::clone(found);
        }
        let computed: Conditionals = Arc::new(
            (0..g.n_components())
                .map(|k| Conditional::new(g, k, pattern))
                .collect(),
        );
        let size: usize = computed.iter().flatten().map(Conditional::size).sum();
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.0 + size <= CACHE_BUDGET {
            entries.0 += size;
            entries
                .1
                .insert(pattern.missing.clone(), Arc::clone(&computed));
        }
        computed
    }
}

impl Clone for ConditionalCache {
    fn clone(&self) -> Self {
        ConditionalCache::default()
    }
}

impl PartialEq for ConditionalCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for ConditionalCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        write!(f, "ConditionalCache({} patterns)", entries.1.len())
    }
}

/// Overwrites `out[k·c + i]` (component-major over the batch `rows`, c rows) for the rows of
/// `patterns` with log N(x_o | μ_k,o, Σ_k,oo) + `offsets[k]` (0 without offsets). A component
/// whose conditional does not factorise gives NaN, which the mixture engine reports by row.
pub(crate) fn incomplete_log_densities(
    g: &Gaussians,
    cache: &ConditionalCache,
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    patterns: &[Pattern],
    offsets: Option<&[f64]>,
    out: &mut [f64],
) {
    let c = rows.len();
    for pattern in patterns {
        let conditionals = cache.get(g, pattern);
        for (k, conditional) in conditionals.iter().enumerate() {
            let offset = offsets.map_or(0.0, |o| o[k]);
            let Some(cond) = conditional else {
                pattern.rows.iter().for_each(|&i| out[k * c + i] = f64::NAN);
                continue;
            };
            let u = cond.whiten(x, rows.start, &pattern.rows);
            for (t, &i) in pattern.rows.iter().enumerate() {
                out[k * c + i] = cond.log_density(&u, t) + offset;
            }
        }
    }
}

/// The expected complete-data statistics of the rows of `patterns` with weights
/// `gamma[k·c + i]` times the optional sample weights (see the
/// [`MissingValues`]), in the scatter form of `g`'s covariance structure.
pub(crate) fn incomplete_statistics(
    g: &Gaussians,
    cache: &ConditionalCache,
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    patterns: &[Pattern],
    gamma: &[f64],
    sample_weights: Option<&[f64]>,
) -> GaussianStats {
    let form = ScatterForm::from(g.covariance_type());
    let (k_count, d, c) = (g.n_components(), g.n_features(), rows.len());
    let mut stats = GaussianStats::zeros(k_count, d, form);
    let conditionals: Vec<Conditionals> = patterns.iter().map(|p| cache.get(g, p)).collect();
    let n_rows: usize = patterns.iter().map(|p| p.rows.len()).sum();
    let full = form == ScatterForm::Full;
    for k in 0..k_count {
        // The completed rows (D × n_rows, one column per row) and their weights v = w γ_k;
        // Σ v C over the patterns; Σ v H.
        let mut completed = DMatrix::<f64>::zeros(d, n_rows);
        let mut weights = DVector::<f64>::zeros(n_rows);
        let mut expected_scatter = DMatrix::<f64>::zeros(d, d);
        let mut entropy = 0.0;
        let mut column = 0;
        for (pattern, pattern_conditionals) in patterns.iter().zip(&conditionals) {
            let r = pattern.rows.len();
            let mut pattern_weight = 0.0;
            for (t, &i) in pattern.rows.iter().enumerate() {
                let v = gamma[k * c + i] * sample_weights.map_or(1.0, |w| w[i]);
                weights[column + t] = v;
                pattern_weight += v;
            }
            match &pattern_conditionals[k] {
                Some(cond) => {
                    let x_m = cond.complete(&cond.whiten(x, rows.start, &pattern.rows));
                    for (t, &i) in pattern.rows.iter().enumerate() {
                        let mut out = completed.column_mut(column + t);
                        for &j in &pattern.observed {
                            out[j] = x[(rows.start + i, j)];
                        }
                        for (a, &j) in pattern.missing.iter().enumerate() {
                            out[j] = x_m[(a, t)];
                        }
                    }
                    for (a, &p) in pattern.missing.iter().enumerate() {
                        for (b, &q) in pattern.missing.iter().enumerate() {
                            expected_scatter[(p, q)] += pattern_weight * cond.covariance[(a, b)];
                        }
                    }
                    entropy += pattern_weight * cond.entropy;
                }
                None => {
                    completed.columns_mut(column, r).fill(f64::NAN);
                    entropy = f64::NAN;
                }
            }
            column += r;
        }
        let nk = weights.sum();
        if nk <= 0.0 {
            continue;
        }
        let mean = &completed * &weights / nk;
        for mut col in completed.column_iter_mut() {
            col -= &mean;
        }
        // Σ v (x̂ − m)(x̂ − m)ᵀ (its diagonal only, for diagonal scatter), added to Σ v C.
        if full {
            let mut weighted = completed.clone();
            for (mut col, v) in weighted.column_iter_mut().zip(weights.iter()) {
                col *= *v;
            }
            expected_scatter.gemm(1.0, &weighted, &completed.transpose(), 1.0);
            // The two triangles of a product can round differently; the scatter must be
            // exactly symmetric.
            for r in 0..d {
                for s in 0..r {
                    expected_scatter[(s, r)] = expected_scatter[(r, s)];
                }
            }
        } else {
            for j in 0..d {
                expected_scatter[(j, j)] += completed
                    .row(j)
                    .iter()
                    .zip(weights.iter())
                    .map(|(e, v)| v * e * e)
                    .sum::<f64>();
            }
        }
        stats.n[k] = nk;
        stats.means.set_row(k, &mean.transpose());
        match &mut stats.scatter {
            Scatter::Full(m2) => m2[k].copy_from(&expected_scatter),
            Scatter::Diag(m2) => {
                for j in 0..d {
                    m2[(k, j)] = expected_scatter[(j, j)];
                }
            }
        }
        stats.conditional_entropy += entropy;
    }
    stats
}

impl Gaussians {
    /// The conditional expectation of every row of `x` given its observed values under the
    /// mixture whose posterior probabilities are `proba` (N×K, row i = p(k | x_i,o)):
    /// E[x_m | x_o] = Σ_k p(k | x_o) (μ_k,m + Σ_k,mo Σ_k,oo⁻¹ (x_o − μ_k,o)) in place of each
    /// NaN; observed values are copied. This is the imputation that goes with a fit on data
    /// with missing values.
    ///
    /// ```
    /// use em_family::gaussian::{Covariances, Gaussians};
    /// use nalgebra::dmatrix;
    /// // One component, correlation 0.5: E[x_1 | x_0 = 2] = 0.5 · 2.
    /// let g = Gaussians::new(dmatrix![0.0, 0.0], Covariances::Full(vec![dmatrix![1.0, 0.5; 0.5, 1.0]]))?;
    /// let filled = g.conditional_means(&dmatrix![2.0, f64::NAN], &dmatrix![1.0]);
    /// assert!((filled[(0, 1)] - 1.0).abs() < 1e-15);
    /// assert_eq!(filled[(0, 0)], 2.0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Panics
    /// If `x` does not have D columns or `proba` is not N×K.
    pub fn conditional_means(&self, x: &DMatrix<f64>, proba: &DMatrix<f64>) -> DMatrix<f64> {
        let (n, d) = x.shape();
        assert_eq!(d, self.n_features(), "x must have D columns");
        assert_eq!(proba.shape(), (n, self.n_components()), "proba must be N×K");
        let mut filled = x.clone();
        for pattern in &incomplete_patterns(x, &(0..n)) {
            for &j in &pattern.missing {
                for &row in &pattern.rows {
                    filled[(row, j)] = 0.0;
                }
            }
            for k in 0..self.n_components() {
                let Some(cond) = Conditional::new(self, k, pattern) else {
                    for &j in &pattern.missing {
                        pattern
                            .rows
                            .iter()
                            .for_each(|&row| filled[(row, j)] = f64::NAN);
                    }
                    continue;
                };
                let x_m = cond.complete(&cond.whiten(x, 0, &pattern.rows));
                for (t, &row) in pattern.rows.iter().enumerate() {
                    let p = proba[(row, k)];
                    for (a, &j) in pattern.missing.iter().enumerate() {
                        filled[(row, j)] += p * x_m[(a, t)];
                    }
                }
            }
        }
        filled
    }
}

impl Gaussians {
    /// `x` with every missing value (NaN) replaced by a draw from its conditional
    /// distribution given the row's observed values under component `k`,
    /// N(x̂_m, C) = N(μ_m + Σ_mo Σ_oo⁻¹ (x_o − μ_o), Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om): a single
    /// proper imputation, which keeps the data's spread and correlations where filling in
    /// means would pile rows onto one value (and give a start degenerate clusters).
    ///
    /// ```
    /// use em_family::gaussian::{Covariances, Gaussians};
    /// use nalgebra::dmatrix;
    /// use rand::SeedableRng;
    /// let g = Gaussians::new(dmatrix![0.0, 0.0], Covariances::Full(vec![dmatrix![1.0, 0.9; 0.9, 1.0]]))?;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let drawn = g.draw_missing(&dmatrix![3.0, f64::NAN; 1.0, 2.0], 0, &mut rng);
    /// // x₁ | x₀ = 3 ~ N(2.7, 0.19).
    /// assert!((drawn[(0, 1)] - 2.7).abs() < 5.0 * 0.19f64.sqrt());
    /// assert_eq!(drawn[(1, 1)], 2.0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Panics
    /// If `x` does not have D columns or `k ≥ K`.
    pub fn draw_missing<R: rand::Rng + ?Sized>(
        &self,
        x: &DMatrix<f64>,
        k: usize,
        rng: &mut R,
    ) -> DMatrix<f64> {
        use rand::RngExt;
        let (n, d) = x.shape();
        assert_eq!(d, self.n_features(), "x must have D columns");
        assert!(k < self.n_components(), "no component {k}");
        let mut drawn = x.clone();
        for pattern in &incomplete_patterns(x, &(0..n)) {
            let Some(cond) = Conditional::new(self, k, pattern) else {
                continue;
            };
            let x_m = cond.complete(&cond.whiten(x, 0, &pattern.rows));
            let d_m = pattern.missing.len();
            for (t, &row) in pattern.rows.iter().enumerate() {
                let z =
                    DVector::from_fn(d_m, |_, _| rng.sample::<f64, _>(rand_distr::StandardNormal));
                let noise = &cond.l_mm * z;
                for (a, &j) in pattern.missing.iter().enumerate() {
                    drawn[(row, j)] = x_m[(a, t)] + noise[a];
                }
            }
        }
        drawn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaussian::Covariances;
    use nalgebra::dmatrix;

    fn gaussians() -> Gaussians {
        Gaussians::new(
            dmatrix![0.0, 1.0, -1.0; 2.0, 0.0, 1.0],
            Covariances::Full(vec![
                dmatrix![2.0, 0.6, 0.3; 0.6, 1.0, -0.2; 0.3, -0.2, 1.5],
                dmatrix![1.0, -0.4, 0.0; -0.4, 2.0, 0.5; 0.0, 0.5, 0.7],
            ]),
        )
        .unwrap()
    }

    /// The marginal density of the observed coordinates, by its textbook formula.
    fn marginal(g: &Gaussians, k: usize, x: &[f64], observed: &[usize]) -> f64 {
        let sigma = g.covariances().full_matrix(k, 3);
        let s = DMatrix::from_fn(observed.len(), observed.len(), |a, b| {
            sigma[(observed[a], observed[b])]
        });
        let r = DVector::from_fn(observed.len(), |a, _| {
            x[observed[a]] - g.means()[(k, observed[a])]
        });
        let inv = s.clone().try_inverse().unwrap();
        -0.5 * (observed.len() as f64 * (2.0 * std::f64::consts::PI).ln()
            + s.determinant().ln()
            + (r.transpose() * inv * r)[0])
    }

    #[test]
    fn patterns_group_rows_by_missing_coordinates() {
        let nan = f64::NAN;
        let x = dmatrix![1.0, nan, 2.0; 1.0, 2.0, 3.0; nan, nan, 1.0; 4.0, nan, 0.0];
        let p = incomplete_patterns(&x, &(0..4));
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].missing, vec![1]);
        assert_eq!(p[0].rows, vec![0, 3]);
        assert_eq!(p[1].observed, vec![2]);
        assert_eq!(p[1].rows, vec![2]);
        assert!(incomplete_patterns(&x, &(1..2)).is_empty());
        // Offsets are within the batch.
        assert_eq!(incomplete_patterns(&x, &(2..4))[0].rows, vec![1]);
    }

    #[test]
    fn log_densities_are_the_marginals_of_the_observed_coordinates() {
        let g = gaussians();
        let nan = f64::NAN;
        let x = dmatrix![0.5, nan, -0.3; nan, nan, 2.0; nan, 0.7, 1.1];
        let patterns = incomplete_patterns(&x, &(0..3));
        let mut out = vec![0.0; 6];
        incomplete_log_densities(
            &g,
            &ConditionalCache::default(),
            &x,
            &(0..3),
            &patterns,
            Some(&[0.1, 0.2]),
            &mut out,
        );
        for (i, observed) in [vec![0, 2], vec![2], vec![1, 2]].iter().enumerate() {
            let row: Vec<f64> = x.row(i).iter().copied().collect();
            for k in 0..2 {
                let expected = marginal(&g, k, &row, observed) + [0.1, 0.2][k];
                assert!((out[k * 3 + i] - expected).abs() < 1e-12, "row {i}, k {k}");
            }
        }
    }

    #[test]
    fn statistics_of_an_incomplete_row_are_its_hand_completed_moments() {
        // Row 0 misses x₁: its statistics are those of the row completed with the
        // regression of x₁ on (x₀, x₂), plus the conditional variance and entropy.
        let g = gaussians();
        let nan = f64::NAN;
        let x = dmatrix![0.5, nan, -0.3; 1.5, 0.2, 0.4];
        let gamma = [0.7, 0.4, 0.3, 0.6];
        let rows = 0..2;
        let patterns = incomplete_patterns(&x, &rows);
        let inc = incomplete_statistics(
            &g,
            &ConditionalCache::default(),
            &x,
            &rows,
            &patterns,
            &gamma[..],
            None,
        );
        // Row 0 alone, filled in by hand, for component 0.
        let sigma = g.covariances().full_matrix(0, 3);
        let (o, m) = ([0usize, 2], 1usize);
        let s_oo = dmatrix![sigma[(o[0], o[0])], sigma[(o[0], o[1])]; sigma[(o[1], o[0])], sigma[(o[1], o[1])]];
        let s_mo = dmatrix![sigma[(m, o[0])], sigma[(m, o[1])]];
        let r = nalgebra::dvector![0.5 - g.means()[(0, 0)], -0.3 - g.means()[(0, 2)]];
        let inv = s_oo.try_inverse().unwrap();
        let x_hat = g.means()[(0, 1)] + (&s_mo * &inv * &r)[0];
        let c = sigma[(m, m)] - (&s_mo * &inv * s_mo.transpose())[0];
        assert!((inc.means[(0, 1)] - x_hat).abs() < 1e-12);
        assert_eq!(inc.n[0], 0.7);
        let Scatter::Full(m2) = &inc.scatter else {
            panic!("full")
        };
        assert!((m2[0][(1, 1)] - 0.7 * c).abs() < 1e-12);
        assert_eq!(m2[0][(0, 0)], 0.0);
        let h = 0.5 * (1.0 + (2.0 * std::f64::consts::PI * c).ln());
        assert!(
            (inc.conditional_entropy
                - 0.7 * h
                - 0.3 * {
                    let s = g.covariances().full_matrix(1, 3);
                    let inv = dmatrix![s[(0, 0)], s[(0, 2)]; s[(2, 0)], s[(2, 2)]]
                        .try_inverse()
                        .unwrap();
                    let s_mo = dmatrix![s[(1, 0)], s[(1, 2)]];
                    let c1 = s[(1, 1)] - (&s_mo * inv * s_mo.transpose())[0];
                    0.5 * (1.0 + (2.0 * std::f64::consts::PI * c1).ln())
                })
            .abs()
                < 1e-12
        );
    }

    #[test]
    fn conditional_means_average_the_components() {
        let g = gaussians();
        let nan = f64::NAN;
        let x = dmatrix![0.5, nan, -0.3; 1.0, 2.0, 3.0];
        let proba = dmatrix![0.25, 0.75; 0.5, 0.5];
        let filled = g.conditional_means(&x, &proba);
        let patterns = incomplete_patterns(&x, &(0..2));
        let inc = incomplete_statistics(
            &g,
            &ConditionalCache::default(),
            &x,
            &(0..1),
            &patterns,
            &[1.0, 0.0],
            None,
        );
        let inc1 = incomplete_statistics(
            &g,
            &ConditionalCache::default(),
            &x,
            &(0..1),
            &patterns,
            &[0.0, 1.0],
            None,
        );
        let expected = 0.25 * inc.means[(0, 1)] + 0.75 * inc1.means[(1, 1)];
        assert!((filled[(0, 1)] - expected).abs() < 1e-12);
        assert_eq!(filled.row(1), x.row(1));
    }
}
