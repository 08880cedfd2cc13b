//! Missing values in Gaussian data, modelled rather than dropped: a NaN entry is a
//! coordinate that was not observed, and EM treats it as one more latent variable
//! (Ghahramani & Jordan 1994).
//!
//! For a row with observed coordinates o (d_o of them) and missing ones m (d_m), and a
//! component with mean μ and covariance Σ, permuted to the order (o, m) and factored
//! Σ = L Lᵀ with L = [L_oo 0; L_mo L_mm]:
//!
//! * **density**: the component's density of the row is the marginal of its observed
//!   coordinates, N(x_o | μ_o, Σ_oo) with Σ_oo = L_oo L_ooᵀ:
//!   log f = −(d_o/2) log 2π − log|L_oo| − ½‖u‖², u = L_oo⁻¹ (x_o − μ_o);
//! * **the missing coordinates given the observed ones** are N(x̂_m, C) with
//!   x̂_m = μ_m + L_mo u (which is μ_m + Σ_mo Σ_oo⁻¹ (x_o − μ_o)) and C = L_mm L_mmᵀ (the
//!   Schur complement Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om);
//! * **statistics**: the expected complete-data statistics under that posterior. With weight
//!   v = w γ_k, the row counts as the completed row (x_o, x̂_m) and adds v·C to the (m, m)
//!   block of the component's scatter (its diagonal, for diagonal and spherical models); the
//!   entropy of N(x̂_m, C), H = d_m (½ + ½ log 2π) + log|L_mm|, is summed with the same
//!   weights into [`GaussianStats::conditional_entropy`].
//!
//! The M-step is the complete-data M-step on these statistics, for every covariance structure
//! and with or without a prior. Σγ log f from the statistics (the family's
//! `expected_log_density`, E[log N(x | μ, Σ)] + H) equals Σγ log f(x_o) at the parameters of
//! the E-step (the inner Kullback–Leibler gap is 0) and is a lower bound elsewhere: EM with
//! missing values is exact EM, and the invariant checker's relations hold.

use std::collections::BTreeMap;
use std::ops::Range;

use em_core::EmError;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::kernel::HALF_LN_2PI;
use super::{GaussianStats, Gaussians, Scatter, ScatterForm};

/// What a NaN entry of the data means to a Gaussian model.
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
    /// distribution (see the [module documentation](self)).
    Model,
}

/// Checks Gaussian data in which NaN marks a missing value: rows, `n_features` columns (when
/// given), no ±∞, and at least one observed value in every row and in every column.
///
/// ```
/// use em_family::gaussian::check_data_with_missing;
/// use nalgebra::dmatrix;
/// let nan = f64::NAN;
/// assert!(check_data_with_missing(&dmatrix![1.0, nan; nan, 2.0], Some(2)).is_ok());
/// assert!(check_data_with_missing(&dmatrix![1.0, 2.0; nan, nan], None).is_err()); // row 1
/// assert!(check_data_with_missing(&dmatrix![1.0, nan; 3.0, nan], None).is_err()); // column 1
/// assert!(check_data_with_missing(&dmatrix![1.0, f64::INFINITY], None).is_err());
/// ```
///
/// # Errors
/// [`EmError::EmptyData`]; [`EmError::DimensionMismatch`]; [`EmError::InvalidParameter`]
/// (`data`) for no columns or a column with no observed value; [`EmError::NonFinite`] for
/// the first ±∞ in row order; [`EmError::InvalidInput`] naming the first row with no
/// observed value.
pub fn check_data_with_missing(x: &DMatrix<f64>, n_features: Option<usize>) -> Result<(), EmError> {
    let (n, d) = x.shape();
    if n == 0 {
        return Err(EmError::EmptyData);
    }
    match n_features {
        Some(expected) if expected != d => {
            return Err(EmError::DimensionMismatch { expected, found: d });
        }
        None if d == 0 => {
            return Err(EmError::InvalidParameter {
                name: "data",
                reason: "the data have no columns".into(),
            });
        }
        _ => {}
    }
    if x.iter().any(|v| v.is_infinite()) {
        for row in 0..n {
            for column in 0..d {
                let value = x[(row, column)];
                if value.is_infinite() {
                    return Err(EmError::NonFinite { row, column, value });
                }
            }
        }
    }
    if let Some(row) = (0..n).find(|&i| x.row(i).iter().all(|v| v.is_nan())) {
        return Err(EmError::InvalidInput {
            row,
            column: None,
            reason: "every value of the row is missing; drop the row".into(),
        });
    }
    if let Some(column) = (0..d).find(|&j| x.column(j).iter().all(|v| v.is_nan())) {
        return Err(EmError::InvalidParameter {
            name: "data",
            reason: format!("column {column} has no observed value; drop the column"),
        });
    }
    Ok(())
}

/// Whether any entry of `x` is NaN (a missing value).
pub fn has_missing(x: &DMatrix<f64>) -> bool {
    x.iter().any(|v| v.is_nan())
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
    let mut incomplete = vec![false; c];
    let mut any = false;
    for j in 0..d {
        let column = &values[j * n + rows.start..j * n + rows.end];
        for (flag, v) in incomplete.iter_mut().zip(column) {
            if v.is_nan() {
                *flag = true;
                any = true;
            }
        }
    }
    if !any {
        return Vec::new();
    }
    let mut groups: BTreeMap<Vec<bool>, Vec<usize>> = BTreeMap::new();
    for i in (0..c).filter(|&i| incomplete[i]) {
        let key = (0..d).map(|j| x[(rows.start + i, j)].is_nan()).collect();
        groups.entry(key).or_default().push(i);
    }
    groups
        .into_iter()
        .map(|(missing, rows)| Pattern {
            observed: (0..d).filter(|&j| !missing[j]).collect(),
            missing: (0..d).filter(|&j| missing[j]).collect(),
            rows,
        })
        .collect()
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
/// ones (see the [module documentation](self)).
struct Conditional<'p> {
    pattern: &'p Pattern,
    mean: DVector<f64>,
    l_oo: DMatrix<f64>,
    l_mo: DMatrix<f64>,
    /// −(d_o/2) log 2π − log|L_oo|.
    log_norm: f64,
    /// L_mm, the Cholesky factor of C.
    l_mm: DMatrix<f64>,
    /// C = L_mm L_mmᵀ.
    covariance: DMatrix<f64>,
    /// d_m (½ + ½ log 2π) + log|L_mm|.
    entropy: f64,
}

impl<'p> Conditional<'p> {
    /// Component `k`'s conditional for `pattern`, or `None` when the permuted covariance does
    /// not factorise (it always does for the positive-definite covariances a [`Gaussians`]
    /// holds, short of rounding at the edge of singularity).
    fn new(g: &Gaussians, k: usize, pattern: &'p Pattern) -> Option<Self> {
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
        let l_mm = l.view((d_o, d_o), (d_m, d_m)).into_owned();
        let log_det = |m: &DMatrix<f64>| m.diagonal().iter().map(|v| v.ln()).sum::<f64>();
        let l_oo = l.view((0, 0), (d_o, d_o)).into_owned();
        Some(Conditional {
            pattern,
            mean: g.means().row(k).transpose(),
            log_norm: -(d_o as f64) * HALF_LN_2PI - log_det(&l_oo),
            entropy: d_m as f64 * (0.5 + HALF_LN_2PI) + log_det(&l_mm),
            covariance: &l_mm * l_mm.transpose(),
            l_mm,
            l_mo: l.view((d_o, 0), (d_m, d_o)).into_owned(),
            l_oo,
        })
    }

    /// u = L_oo⁻¹ (x_o − μ_o) for row `row` of `x`, into `u` (length d_o).
    fn whiten(&self, x: &DMatrix<f64>, row: usize, u: &mut [f64]) {
        for (a, &j) in self.pattern.observed.iter().enumerate() {
            let mut s = x[(row, j)] - self.mean[j];
            for (b, ub) in u.iter().enumerate().take(a) {
                s -= self.l_oo[(a, b)] * ub;
            }
            u[a] = s / self.l_oo[(a, a)];
        }
    }

    /// log N(x_o | μ_o, Σ_oo) from the whitened residual u.
    fn log_density(&self, u: &[f64]) -> f64 {
        self.log_norm - 0.5 * u.iter().map(|v| v * v).sum::<f64>()
    }

    /// The row with its missing coordinates set to x̂_m = μ_m + L_mo u, into `out` (length D).
    fn complete(&self, x: &DMatrix<f64>, row: usize, u: &[f64], out: &mut [f64]) {
        for &j in &self.pattern.observed {
            out[j] = x[(row, j)];
        }
        for (a, &j) in self.pattern.missing.iter().enumerate() {
            out[j] = self.mean[j]
                + u.iter()
                    .enumerate()
                    .map(|(b, ub)| self.l_mo[(a, b)] * ub)
                    .sum::<f64>();
        }
    }
}

/// Overwrites `out[k·c + i]` (component-major over the batch `rows`, c rows) for the rows of
/// `patterns` with log N(x_o | μ_k,o, Σ_k,oo) + `offsets[k]` (0 without offsets). A component
/// whose conditional does not factorise gives NaN, which the mixture engine reports by row.
pub(crate) fn incomplete_log_densities(
    g: &Gaussians,
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    patterns: &[Pattern],
    offsets: Option<&[f64]>,
    out: &mut [f64],
) {
    let c = rows.len();
    let mut u = vec![0.0; g.n_features()];
    for pattern in patterns {
        for k in 0..g.n_components() {
            let offset = offsets.map_or(0.0, |o| o[k]);
            let conditional = Conditional::new(g, k, pattern);
            for &i in &pattern.rows {
                out[k * c + i] = match &conditional {
                    Some(cond) => {
                        let u = &mut u[..pattern.observed.len()];
                        cond.whiten(x, rows.start + i, u);
                        cond.log_density(u) + offset
                    }
                    None => f64::NAN,
                };
            }
        }
    }
}

/// The expected complete-data statistics of the rows of `patterns` with weights
/// `gamma[k·c + i]` times the optional sample weights (see the
/// [module documentation](self)), in scatter form `form`.
pub(crate) fn incomplete_statistics(
    g: &Gaussians,
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    patterns: &[Pattern],
    gamma: &[f64],
    sample_weights: Option<&[f64]>,
    form: ScatterForm,
) -> GaussianStats {
    let (k_count, d, c) = (g.n_components(), g.n_features(), rows.len());
    let mut stats = GaussianStats::zeros(k_count, d, form);
    let (mut u, mut completed, mut weights) = (vec![0.0; d], Vec::new(), Vec::new());
    for k in 0..k_count {
        completed.clear();
        weights.clear();
        // Σ v C over the patterns, in full; Σ v H.
        let mut expected_scatter = DMatrix::<f64>::zeros(d, d);
        let mut entropy = 0.0;
        for pattern in patterns {
            let conditional = Conditional::new(g, k, pattern);
            let mut pattern_weight = 0.0;
            for &i in &pattern.rows {
                let v = gamma[k * c + i] * sample_weights.map_or(1.0, |w| w[i]);
                if v == 0.0 {
                    continue;
                }
                let start = completed.len();
                completed.resize(start + d, f64::NAN);
                if let Some(cond) = &conditional {
                    let u = &mut u[..pattern.observed.len()];
                    cond.whiten(x, rows.start + i, u);
                    cond.complete(x, rows.start + i, u, &mut completed[start..]);
                }
                weights.push(v);
                pattern_weight += v;
            }
            if pattern_weight == 0.0 {
                continue;
            }
            match &conditional {
                Some(cond) => {
                    for (a, &r) in pattern.missing.iter().enumerate() {
                        for (b, &s) in pattern.missing.iter().enumerate() {
                            expected_scatter[(r, s)] += pattern_weight * cond.covariance[(a, b)];
                        }
                    }
                    entropy += pattern_weight * cond.entropy;
                }
                None => entropy = f64::NAN,
            }
        }
        let nk: f64 = weights.iter().sum();
        if nk <= 0.0 {
            continue;
        }
        let mut mean = vec![0.0; d];
        for (row, v) in completed.chunks_exact(d).zip(&weights) {
            for (m, value) in mean.iter_mut().zip(row) {
                *m += v * value;
            }
        }
        mean.iter_mut().for_each(|m| *m /= nk);
        for (row, v) in completed.chunks_exact(d).zip(&weights) {
            for r in 0..d {
                let dr = v * (row[r] - mean[r]);
                for s in 0..=r {
                    expected_scatter[(r, s)] += dr * (row[s] - mean[s]);
                }
            }
        }
        // The upper triangle of Σ v C was summed too; the lower triangle is the one kept.
        for r in 0..d {
            for s in 0..r {
                expected_scatter[(s, r)] = expected_scatter[(r, s)];
            }
        }
        stats.n[k] = nk;
        for (j, m) in mean.iter().enumerate() {
            stats.means[(k, j)] = *m;
        }
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
        let patterns = incomplete_patterns(x, &(0..n));
        let (mut u, mut row_completed) = (vec![0.0; d], vec![0.0; d]);
        for pattern in &patterns {
            for &i in &pattern.missing {
                for &row in &pattern.rows {
                    filled[(row, i)] = 0.0;
                }
            }
            for k in 0..self.n_components() {
                let conditional = Conditional::new(self, k, pattern);
                for &row in &pattern.rows {
                    let p = proba[(row, k)];
                    if p == 0.0 {
                        continue;
                    }
                    match &conditional {
                        Some(cond) => {
                            let u = &mut u[..pattern.observed.len()];
                            cond.whiten(x, row, u);
                            cond.complete(x, row, u, &mut row_completed);
                            for &j in &pattern.missing {
                                filled[(row, j)] += p * row_completed[j];
                            }
                        }
                        None => pattern.missing.iter().for_each(|&j| {
                            filled[(row, j)] = f64::NAN;
                        }),
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
        let (mut u, mut completed) = (vec![0.0; d], vec![0.0; d]);
        for pattern in &incomplete_patterns(x, &(0..n)) {
            let Some(cond) = Conditional::new(self, k, pattern) else {
                continue;
            };
            let d_m = pattern.missing.len();
            for &row in &pattern.rows {
                let u = &mut u[..pattern.observed.len()];
                cond.whiten(x, row, u);
                cond.complete(x, row, u, &mut completed);
                let z: Vec<f64> = (0..d_m)
                    .map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal))
                    .collect();
                for (a, &j) in pattern.missing.iter().enumerate() {
                    let noise: f64 = (0..=a).map(|b| cond.l_mm[(a, b)] * z[b]).sum();
                    drawn[(row, j)] = completed[j] + noise;
                }
            }
        }
        drawn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaussian::{Covariances, accumulate};
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
        incomplete_log_densities(&g, &x, &(0..3), &patterns, Some(&[0.1, 0.2]), &mut out);
        for (i, observed) in [vec![0, 2], vec![2], vec![1, 2]].iter().enumerate() {
            let row: Vec<f64> = x.row(i).iter().copied().collect();
            for k in 0..2 {
                let expected = marginal(&g, k, &row, observed) + [0.1, 0.2][k];
                assert!((out[k * 3 + i] - expected).abs() < 1e-12, "row {i}, k {k}");
            }
        }
    }

    #[test]
    fn statistics_of_an_observed_row_equal_the_complete_data_ones() {
        // A "pattern" with nothing missing is not built, but a row whose missing entry is
        // certain (conditional variance → 0) is: compare against the complete-data kernel
        // with the conditional mean filled in, plus the conditional covariance.
        let g = gaussians();
        let nan = f64::NAN;
        let x = dmatrix![0.5, nan, -0.3; 1.5, 0.2, 0.4];
        let gamma = [0.7, 0.4, 0.3, 0.6];
        let rows = 0..2;
        let patterns = incomplete_patterns(&x, &rows);
        let inc = incomplete_statistics(
            &g,
            &x,
            &rows,
            &patterns,
            &gamma[..],
            None,
            ScatterForm::Full,
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
        // The complete row through the kernel agrees in shape and weight.
        let complete = accumulate(
            &x,
            1..2,
            2,
            &[0.4, 0.6],
            None,
            ScatterForm::Full,
            &mut Vec::new(),
        );
        assert_eq!(complete.n.as_slice(), &[0.4, 0.6]);
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
            &x,
            &(0..1),
            &patterns,
            &[1.0, 0.0],
            None,
            ScatterForm::Diag,
        );
        let inc1 = incomplete_statistics(
            &g,
            &x,
            &(0..1),
            &patterns,
            &[0.0, 1.0],
            None,
            ScatterForm::Diag,
        );
        let expected = 0.25 * inc.means[(0, 1)] + 0.75 * inc1.means[(1, 1)];
        assert!((filled[(0, 1)] - expected).abs() < 1e-12);
        assert_eq!(filled.row(1), x.row(1));
    }
}
