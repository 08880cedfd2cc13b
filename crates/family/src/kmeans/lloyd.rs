//! Lloyd's k-means: alternating assignment and update steps from k-means++ seedings, the
//! options ([`KMeans`]), the result ([`KMeansFit`]) and the assignment step on its own
//! ([`nearest_centre`]).

use em_core::EmError;
use nalgebra::DMatrix;
use rand::Rng;
use rayon::prelude::*;

use super::plus_plus::seed;
use super::{
    CHUNK, CheckedData, check_data_finite, n_clusters_error, row_major, sq_dist_block,
    validate_clusters, validate_data,
};

/// Options of Lloyd's k-means algorithm, run from [`kmeans_plus_plus`](super::kmeans_plus_plus) seedings.
///
/// Build it with [`KMeans::new`] and the builder-style setters, then call [`KMeans::fit`].
/// The defaults follow scikit-learn: 300 iterations at most, tolerance 1e-4, and one seeding
/// (scikit-learn's mixtures also use a single k-means run to initialise).
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Number of clusters K (at least 1, at most the number of observations).
    pub n_clusters: usize,
    /// Maximum number of Lloyd iterations per run (at least 1). Default 300.
    pub max_iter: usize,
    /// Convergence tolerance, relative to the data's scale: a run stops once the squared
    /// shift of the centres, summed over all centres, is at most `tol` times the mean of the
    /// per-column (population) variances of the data. Finite and non-negative; 0 runs until
    /// the centres stop moving or `max_iter` is reached. Default 1e-4.
    pub tol: f64,
    /// Number of runs, each from its own seeding; the one with the lowest inertia is kept
    /// (at least 1). Default 1.
    pub n_init: usize,
}

impl KMeans {
    /// k-means with `n_clusters` clusters and default options (`max_iter` 300, `tol` 1e-4,
    /// `n_init` 1). Nothing is validated until [`KMeans::fit`].
    #[must_use]
    pub fn new(n_clusters: usize) -> Self {
        Self {
            n_clusters,
            max_iter: 300,
            tol: 1e-4,
            n_init: 1,
        }
    }

    /// Sets the maximum number of Lloyd iterations per run (see [`KMeans::max_iter`](field@KMeans::max_iter)).
    #[must_use]
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets the relative convergence tolerance (see [`KMeans::tol`](field@KMeans::tol)).
    #[must_use]
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the number of seeded runs whose best is kept (see
    /// [`KMeans::n_init`](field@KMeans::n_init)).
    #[must_use]
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Clusters the rows of `data`: k-means++ seeding, then Lloyd iterations, `n_init` times.
    ///
    /// Each run takes its seeding from `rng` in turn (run 1 draws first), then alternates an
    /// assignment step (each row to its nearest centre; ties go to the lowest index) and an
    /// update step (each centre to the mean of its rows) until the centres move less than the
    /// tolerance or `max_iter` iterations are done. A final assignment step makes the labels
    /// and inertia of the result consistent with its centres. The run with the lowest inertia
    /// wins (the earliest on ties). Only the seedings use `rng`, so the result is
    /// deterministic given its state.
    ///
    /// **Empty clusters:** if a cluster receives no row in an assignment step it is re-seeded,
    /// as in scikit-learn, with the row farthest from its currently assigned centre (the
    /// empty clusters, in index order, take the farthest rows in decreasing order of distance,
    /// ties to the lowest row index). This is deterministic given the data. A cluster left
    /// without rows by such a move keeps its previous centre.
    ///
    /// # Errors
    ///
    /// * [`EmError::InvalidParameter`] if `n_clusters`, `max_iter` or `n_init` is 0, or `tol` is
    ///   negative or not finite;
    /// * [`EmError::EmptyData`] if `data` has no rows;
    /// * [`EmError::TooFewObservations`] if `data` has fewer rows than `n_clusters`;
    /// * [`EmError::NonFinite`] for the first NaN or ±∞ in row-major order;
    /// * [`EmError::NonFiniteObjective`] if the inertia overflows (values beyond about 1e154
    ///   in magnitude; rescale the data).
    ///
    /// # Example
    ///
    /// ```
    /// use em_core::StdRng;
    /// use em_family::kmeans::KMeans;
    /// use nalgebra::DMatrix;
    /// use rand::SeedableRng;
    ///
    /// // Two obvious groups on a line.
    /// let data = DMatrix::from_row_slice(6, 1, &[0.0, 0.1, 0.2, 10.0, 10.1, 10.2]);
    /// let mut rng = StdRng::seed_from_u64(7);
    /// let fit = KMeans::new(2).n_init(3).fit(&data, &mut rng)?;
    /// assert!(fit.converged);
    /// assert_eq!(fit.labels[0], fit.labels[2]);
    /// assert_ne!(fit.labels[0], fit.labels[3]);
    /// assert!((fit.inertia - 0.04).abs() < 1e-12);
    /// let centre_of_first = fit.centres[(fit.labels[0], 0)];
    /// assert!((centre_of_first - 0.1).abs() < 1e-12);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn fit<R: Rng + ?Sized>(
        &self,
        data: &DMatrix<f64>,
        rng: &mut R,
    ) -> Result<KMeansFit, EmError> {
        self.validate()?;
        validate_data(data, self.n_clusters)?;
        self.run(data, rng)
    }

    /// [`KMeans::fit`] on data already validated by [`CheckedData::new`]: the same result
    /// from the same generator state, bit for bit, without scanning the data for non-finite
    /// values again. This is the entry for fits that check their data once at their boundary
    /// (the Gaussian mixture's and the Gaussian HMM's k-means starts).
    ///
    /// # Errors
    ///
    /// Those of [`KMeans::fit`] but the data's own ([`EmError::EmptyData`],
    /// [`EmError::NonFinite`]), which `data` cannot have.
    ///
    /// # Example
    ///
    /// ```
    /// use em_core::StdRng;
    /// use em_family::kmeans::{CheckedData, KMeans};
    /// use nalgebra::DMatrix;
    /// use rand::SeedableRng;
    ///
    /// let data = DMatrix::from_row_slice(6, 1, &[0.0, 0.1, 0.2, 10.0, 10.1, 10.2]);
    /// let checked = CheckedData::new(&data, Some(1))?; // the one scan
    /// let fit = KMeans::new(2).fit_checked(checked, &mut StdRng::seed_from_u64(7))?;
    /// assert_eq!(fit, KMeans::new(2).fit(&data, &mut StdRng::seed_from_u64(7))?);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn fit_checked<R: Rng + ?Sized>(
        &self,
        data: CheckedData<'_>,
        rng: &mut R,
    ) -> Result<KMeansFit, EmError> {
        self.validate()?;
        validate_clusters(data, self.n_clusters)?;
        self.run(data.matrix(), rng)
    }

    /// The `n_init` runs on validated data and options; the best is kept.
    fn run<R: Rng + ?Sized>(&self, data: &DMatrix<f64>, rng: &mut R) -> Result<KMeansFit, EmError> {
        let tol_abs = self.tol * mean_column_variance(data);
        let mut best: Option<KMeansFit> = None;
        for _ in 0..self.n_init {
            let init = seed(data, self.n_clusters, rng);
            let run = lloyd(data, &init, self.max_iter, tol_abs)?;
            if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                best = Some(run);
            }
        }
        best.ok_or_else(|| EmError::InvalidParameter {
            name: "n_init",
            reason: "must be at least 1".into(),
        })
    }

    /// Checks the options that do not depend on the data.
    fn validate(&self) -> Result<(), EmError> {
        if self.n_clusters == 0 {
            return Err(n_clusters_error());
        }
        if self.max_iter == 0 {
            return Err(EmError::InvalidParameter {
                name: "max_iter",
                reason: "must be at least 1".into(),
            });
        }
        if self.n_init == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_init",
                reason: "must be at least 1".into(),
            });
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(EmError::InvalidParameter {
                name: "tol",
                reason: format!("must be finite and non-negative, got {}", self.tol),
            });
        }
        Ok(())
    }
}

/// The result of [`KMeans::fit`]: the best run's centres, labels and inertia.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    /// K×D matrix of cluster centres, one per row.
    pub centres: DMatrix<f64>,
    /// For each of the N observations, the index of its nearest centre (ties to the lowest).
    pub labels: Vec<usize>,
    /// Sum over observations of the squared Euclidean distance to the assigned centre.
    pub inertia: f64,
    /// Lloyd iterations performed by the winning run.
    pub n_iter: usize,
    /// Whether the winning run met the tolerance before `max_iter` was exhausted.
    pub converged: bool,
}

impl KMeansFit {
    /// Labels each row of `data` with the index of its nearest centre (ties to the lowest
    /// index), e.g. to assign new data to the clusters found by [`KMeans::fit`]. Data with no
    /// rows gives an empty vector.
    ///
    /// # Errors
    ///
    /// * [`EmError::DimensionMismatch`] if `data` has a different number of columns than the
    ///   centres;
    /// * [`EmError::NonFinite`] for the first NaN or ±∞ of `data` in row-major order;
    /// * [`EmError::InvalidParameter`] (`centres`) if the (public) centres were replaced by a
    ///   matrix with no rows or with a non-finite value.
    ///
    /// # Example
    ///
    /// ```
    /// use em_core::StdRng;
    /// use em_family::kmeans::KMeans;
    /// use nalgebra::DMatrix;
    /// use rand::SeedableRng;
    ///
    /// let data = DMatrix::from_row_slice(4, 1, &[0.0, 1.0, 100.0, 101.0]);
    /// let fit = KMeans::new(2).fit(&data, &mut StdRng::seed_from_u64(1))?;
    /// let new = DMatrix::from_row_slice(2, 1, &[0.4, 99.0]);
    /// let labels = fit.predict(&new)?;
    /// assert_eq!(labels, vec![fit.labels[0], fit.labels[2]]);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn predict(&self, data: &DMatrix<f64>) -> Result<Vec<usize>, EmError> {
        nearest_centre(data, &self.centres)
    }
}

/// The index of the nearest of `centres` (K×D, one centre per row) for every row of `data`,
/// ties to the lowest index: the assignment step of k-means, on its own.
///
/// # Errors
///
/// As [`KMeansFit::predict`].
pub fn nearest_centre(data: &DMatrix<f64>, centres: &DMatrix<f64>) -> Result<Vec<usize>, EmError> {
    check_centres(data.ncols(), centres)?;
    check_data_finite(data)?;
    Ok(labels_of(data, centres))
}

/// [`nearest_centre`] for data already validated by [`CheckedData::new`]: the same labels
/// without scanning the data for non-finite values again.
///
/// # Errors
///
/// [`EmError::DimensionMismatch`] if `data` has a different number of columns than the
/// centres; [`EmError::InvalidParameter`] (`centres`) if there are no centres or one has a
/// non-finite value.
///
/// # Example
///
/// ```
/// use em_family::kmeans::{CheckedData, nearest_centre_checked};
/// use nalgebra::DMatrix;
///
/// let data = DMatrix::from_row_slice(3, 1, &[0.0, 2.0, -3.0]);
/// let centres = DMatrix::from_row_slice(2, 1, &[1.0, -1.0]);
/// let labels = nearest_centre_checked(CheckedData::new(&data, None)?, &centres)?;
/// assert_eq!(labels, vec![0, 0, 1]);
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn nearest_centre_checked(
    data: CheckedData<'_>,
    centres: &DMatrix<f64>,
) -> Result<Vec<usize>, EmError> {
    check_centres(data.ncols(), centres)?;
    Ok(labels_of(data.matrix(), centres))
}

/// Checks that `centres` has rows, `d` columns and finite values.
fn check_centres(d: usize, centres: &DMatrix<f64>) -> Result<(), EmError> {
    if centres.nrows() == 0 {
        return Err(EmError::InvalidParameter {
            name: "centres",
            reason: "there are no centres".into(),
        });
    }
    if d != centres.ncols() {
        return Err(EmError::DimensionMismatch {
            expected: centres.ncols(),
            found: d,
        });
    }
    if let Some(v) = centres.iter().find(|v| !v.is_finite()) {
        return Err(EmError::InvalidParameter {
            name: "centres",
            reason: format!("contains the non-finite value {v}"),
        });
    }
    Ok(())
}

/// The assignment step on validated data and centres.
fn labels_of(data: &DMatrix<f64>, centres: &DMatrix<f64>) -> Vec<usize> {
    let n = data.nrows();
    let k = centres.nrows();
    let centres = row_major(centres);
    let mut labels = vec![0; n];
    let mut dist = vec![0.0; n];
    assign(data, &centres, k, &mut labels, &mut dist, false);
    labels
}

/// Mean over columns of the population variance of each column (0 without columns).
fn mean_column_variance(data: &DMatrix<f64>) -> f64 {
    let (n, d) = data.shape();
    if n == 0 || d == 0 {
        return 0.0;
    }
    let nf = n as f64;
    let total: f64 = data
        .as_slice()
        .chunks_exact(n)
        .map(|col| {
            let mean = col.iter().sum::<f64>() / nf;
            col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / nf
        })
        .sum();
    total / d as f64
}

/// Result of one assignment pass.
struct Pass {
    /// Σ of squared distances to the assigned centres.
    inertia: f64,
    /// Per-cluster coordinate sums, `k * D + j` (empty unless asked for).
    sums: Vec<f64>,
    /// Per-cluster row counts (empty unless asked for).
    counts: Vec<usize>,
}

/// Assigns every row to its nearest centre (ties to the lowest index), writing `labels` and
/// the squared distance to the assigned centre in `dist`. `centres` holds K centres of D
/// values each, contiguously. With `with_sums`, also accumulates per-cluster sums and counts.
fn assign(
    data: &DMatrix<f64>,
    centres: &[f64],
    k: usize,
    labels: &mut [usize],
    dist: &mut [f64],
    with_sums: bool,
) -> Pass {
    let (n, d) = data.shape();
    let x = data.as_slice();
    let partials: Vec<Pass> = labels
        .par_chunks_mut(CHUNK)
        .zip(dist.par_chunks_mut(CHUNK))
        .enumerate()
        .map(|(c, (lab, dis))| {
            let a = c * CHUNK;
            let mut tmp = vec![0.0; lab.len()];
            sq_dist_block(x, n, a, &centres[..d], dis);
            lab.fill(0);
            for kk in 1..k {
                sq_dist_block(x, n, a, &centres[kk * d..(kk + 1) * d], &mut tmp);
                for ((l, b), &t) in lab.iter_mut().zip(dis.iter_mut()).zip(&tmp) {
                    if t < *b {
                        *b = t;
                        *l = kk;
                    }
                }
            }
            let inertia = dis.iter().sum::<f64>();
            let (mut sums, mut counts) = (Vec::new(), Vec::new());
            if with_sums {
                sums = vec![0.0; k * d];
                counts = vec![0; k];
                for &l in lab.iter() {
                    counts[l] += 1;
                }
                for j in 0..d {
                    let col = &x[j * n + a..j * n + a + lab.len()];
                    for (&l, &v) in lab.iter().zip(col) {
                        sums[l * d + j] += v;
                    }
                }
            }
            Pass {
                inertia,
                sums,
                counts,
            }
        })
        .collect();
    let mut total = Pass {
        inertia: 0.0,
        sums: vec![0.0; if with_sums { k * d } else { 0 }],
        counts: vec![0; if with_sums { k } else { 0 }],
    };
    for p in &partials {
        total.inertia += p.inertia;
        for (t, v) in total.sums.iter_mut().zip(&p.sums) {
            *t += v;
        }
        for (t, v) in total.counts.iter_mut().zip(&p.counts) {
            *t += v;
        }
    }
    total
}

/// Re-seeds every cluster with no rows with one of the rows farthest from their assigned
/// centre (scikit-learn's rule): the empty clusters, in index order, take the farthest rows
/// in decreasing order of `dist` (ties to the lowest row index). Each moved row's
/// coordinates move from its old cluster's sums to the empty cluster's.
fn relocate_empty(
    data: &DMatrix<f64>,
    labels: &[usize],
    dist: &[f64],
    sums: &mut [f64],
    counts: &mut [usize],
) {
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if empty.is_empty() {
        return;
    }
    let (n, d) = data.shape();
    let x = data.as_slice();
    let m = empty.len();
    // The m farthest rows, sorted by decreasing distance then increasing index.
    let mut top: Vec<(f64, usize)> = Vec::with_capacity(m + 1);
    for (i, &di) in dist.iter().enumerate() {
        if top.len() < m || top.last().is_some_and(|&(t, _)| di > t) {
            let pos = top.partition_point(|&(t, _)| t >= di);
            top.insert(pos, (di, i));
            top.truncate(m);
        }
    }
    for (&e, &(_, i)) in empty.iter().zip(&top) {
        let old = labels[i];
        for j in 0..d {
            let v = x[j * n + i];
            sums[old * d + j] -= v;
            sums[e * d + j] = v;
        }
        counts[old] = counts[old].saturating_sub(1);
        counts[e] = 1;
    }
}

/// Lloyd's algorithm from the centres `init` (K×D) on validated data; `tol_abs` is the
/// absolute bound on the summed squared centre shift.
fn lloyd(
    data: &DMatrix<f64>,
    init: &DMatrix<f64>,
    max_iter: usize,
    tol_abs: f64,
) -> Result<KMeansFit, EmError> {
    let n = data.nrows();
    let (k, d) = init.shape();
    let mut centres = row_major(init);
    let mut labels = vec![0; n];
    let mut dist = vec![0.0; n];
    let mut n_iter = 0;
    let mut converged = false;
    for iteration in 0..max_iter {
        let Pass {
            inertia,
            mut sums,
            mut counts,
        } = assign(data, &centres, k, &mut labels, &mut dist, true);
        if !inertia.is_finite() {
            return Err(EmError::NonFiniteObjective {
                iteration,
                value: inertia,
            });
        }
        relocate_empty(data, &labels, &dist, &mut sums, &mut counts);
        let mut shift = 0.0;
        for (c, &count) in counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let cnt = count as f64;
            for j in 0..d {
                let new = sums[c * d + j] / cnt;
                let t = new - centres[c * d + j];
                shift += t * t;
                centres[c * d + j] = new;
            }
        }
        n_iter = iteration + 1;
        if shift <= tol_abs {
            converged = true;
            break;
        }
    }
    let inertia = assign(data, &centres, k, &mut labels, &mut dist, false).inertia;
    if !inertia.is_finite() {
        return Err(EmError::NonFiniteObjective {
            iteration: n_iter,
            value: inertia,
        });
    }
    Ok(KMeansFit {
        centres: DMatrix::from_row_slice(k, d, &centres),
        labels,
        inertia,
        n_iter,
        converged,
    })
}

#[cfg(test)]
mod tests {
    use super::super::kmeans_plus_plus;
    use super::super::test_data::{blobs, sq, uniform_data};
    use super::*;
    use em_core::StdRng;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn recovers_three_well_separated_blobs() {
        let truth_centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]];
        let (data, truth) = blobs(&truth_centres, 200, 0.3, 11);
        let fit = KMeans::new(3)
            .fit(&data, &mut StdRng::seed_from_u64(3))
            .unwrap();
        assert!(fit.converged);
        // Each true centre has a fitted centre within 0.1, and the matching is a bijection.
        let mut map = [usize::MAX; 3];
        for (t, tc) in truth_centres.iter().enumerate() {
            let k = (0..3)
                .find(|&k| (fit.centres[(k, 0)] - tc[0]).hypot(fit.centres[(k, 1)] - tc[1]) < 0.1)
                .unwrap_or_else(|| panic!("no centre near {tc:?}: {}", fit.centres));
            map[t] = k;
        }
        assert!(map[0] != map[1] && map[1] != map[2] && map[0] != map[2]);
        for (i, &t) in truth.iter().enumerate() {
            assert_eq!(fit.labels[i], map[t], "row {i}");
        }
    }

    #[test]
    fn deterministic_for_a_fixed_seed_and_different_across_seeds() {
        let data = uniform_data(9000, 2, 4); // more than two parallel chunks
        let a = KMeans::new(5)
            .n_init(2)
            .fit(&data, &mut StdRng::seed_from_u64(9))
            .unwrap();
        let b = KMeans::new(5)
            .n_init(2)
            .fit(&data, &mut StdRng::seed_from_u64(9))
            .unwrap();
        assert_eq!(a, b);
        let s1 = kmeans_plus_plus(&data, 5, &mut StdRng::seed_from_u64(1)).unwrap();
        let s1b = kmeans_plus_plus(&data, 5, &mut StdRng::seed_from_u64(1)).unwrap();
        let s2 = kmeans_plus_plus(&data, 5, &mut StdRng::seed_from_u64(2)).unwrap();
        assert_eq!(s1, s1b);
        assert_ne!(s1, s2);
    }

    #[test]
    fn n_init_keeps_the_best_run() {
        let data = uniform_data(300, 2, 6);
        let single = KMeans::new(8)
            .fit(&data, &mut StdRng::seed_from_u64(5))
            .unwrap();
        let mut inertias = Vec::new();
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..6 {
            inertias.push(KMeans::new(8).fit(&data, &mut rng).unwrap().inertia);
        }
        // The first of six runs is the single run: runs draw their seedings in sequence.
        assert_eq!(inertias[0], single.inertia);
        let best = KMeans::new(8)
            .n_init(6)
            .fit(&data, &mut StdRng::seed_from_u64(5))
            .unwrap();
        let min = inertias.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(best.inertia, min);
        assert!(best.inertia <= single.inertia);
    }

    #[test]
    fn rejects_invalid_options() {
        let data = uniform_data(5, 2, 0);
        let mut rng = StdRng::seed_from_u64(0);
        let cases = [
            (KMeans::new(2).max_iter(0), "max_iter"),
            (KMeans::new(2).n_init(0), "n_init"),
            (KMeans::new(2).tol(-1e-3), "tol"),
            (KMeans::new(2).tol(f64::NAN), "tol"),
            (KMeans::new(2).tol(f64::INFINITY), "tol"),
        ];
        for (km, want) in cases {
            match km.fit(&data, &mut rng) {
                Err(EmError::InvalidParameter { name, .. }) => assert_eq!(name, want),
                other => panic!("{want}: expected InvalidParameter, got {other:?}"),
            }
        }
    }

    #[test]
    fn identical_rows_with_three_clusters_give_finite_centres() {
        let data = DMatrix::from_fn(10, 2, |_, j| if j == 0 { 1.5 } else { -2.0 });
        let mut rng = StdRng::seed_from_u64(0);
        let seeds = kmeans_plus_plus(&data, 3, &mut rng).unwrap();
        assert!(seeds.row_iter().all(|r| r[0] == 1.5 && r[1] == -2.0));
        let fit = KMeans::new(3).n_init(2).fit(&data, &mut rng).unwrap();
        assert_eq!(fit.centres.shape(), (3, 2));
        assert!(fit.centres.iter().all(|v| v.is_finite()));
        assert_eq!(fit.inertia, 0.0);
        assert!(fit.converged);
        assert!(fit.labels.iter().all(|&l| l < 3));
        // Also with exactly as many rows as clusters.
        let small = data.rows(0, 3).into_owned();
        let fit = KMeans::new(3).fit(&small, &mut rng).unwrap();
        assert!(fit.centres.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn empty_cluster_is_reseeded_with_the_farthest_point() {
        // Both initial centres at 1: every row ties and goes to cluster 0, cluster 1 is empty
        // and takes row 3 (value 10), the farthest from its centre.
        let data = DMatrix::from_row_slice(4, 1, &[0.0, 1.0, 2.0, 10.0]);
        let init = DMatrix::from_row_slice(2, 1, &[1.0, 1.0]);
        let fit = lloyd(&data, &init, 1, 0.0).unwrap();
        assert_eq!(fit.centres, DMatrix::from_row_slice(2, 1, &[1.0, 10.0]));
        assert_eq!(fit.labels, vec![0, 0, 0, 1]);
        assert_eq!(fit.inertia, 2.0);
        // Two empty clusters take the farthest rows in decreasing order of distance.
        let data = DMatrix::from_row_slice(5, 1, &[0.0, 1.0, 2.0, -5.0, 10.0]);
        let init = DMatrix::from_row_slice(3, 1, &[1.0, 1.0, 1.0]);
        let fit = lloyd(&data, &init, 1, 0.0).unwrap();
        assert_eq!(
            fit.centres,
            DMatrix::from_row_slice(3, 1, &[1.0, 10.0, -5.0])
        );
        assert_eq!(fit.labels, vec![0, 0, 0, 2, 1]);
    }

    #[test]
    fn checked_entries_give_the_same_bits_as_the_validating_ones() {
        let data = uniform_data(9000, 3, 31); // more than two parallel chunks
        let checked = CheckedData::new(&data, Some(3)).unwrap();
        let km = KMeans::new(7).n_init(2);
        let a = km.fit(&data, &mut StdRng::seed_from_u64(2)).unwrap();
        let b = km
            .fit_checked(checked, &mut StdRng::seed_from_u64(2))
            .unwrap();
        assert_eq!(a, b);
        let s = kmeans_plus_plus(&data, 7, &mut StdRng::seed_from_u64(4)).unwrap();
        let t = super::super::kmeans_plus_plus_checked(checked, 7, &mut StdRng::seed_from_u64(4))
            .unwrap();
        assert_eq!(s, t);
        assert_eq!(
            nearest_centre(&data, &s).unwrap(),
            nearest_centre_checked(checked, &s).unwrap()
        );
        // The checks that do not scan the data still apply.
        assert_eq!(
            KMeans::new(0).fit_checked(checked, &mut StdRng::seed_from_u64(0)),
            Err(n_clusters_error())
        );
        let few = uniform_data(3, 1, 0);
        assert_eq!(
            KMeans::new(4).fit_checked(
                CheckedData::new(&few, None).unwrap(),
                &mut StdRng::seed_from_u64(0)
            ),
            Err(EmError::TooFewObservations {
                n_obs: 3,
                n_components: 4
            })
        );
        assert!(matches!(
            nearest_centre_checked(checked, &DMatrix::zeros(2, 2)),
            Err(EmError::DimensionMismatch { .. })
        ));
    }

    #[test]
    fn ties_in_assignment_go_to_the_lowest_index() {
        let fit = KMeansFit {
            centres: DMatrix::from_row_slice(3, 1, &[1.0, -1.0, 1.0]),
            labels: vec![],
            inertia: 0.0,
            n_iter: 0,
            converged: true,
        };
        let data = DMatrix::from_row_slice(3, 1, &[0.0, 2.0, -3.0]);
        assert_eq!(fit.predict(&data).unwrap(), vec![0, 0, 1]);
    }

    #[test]
    fn predict_rejects_a_dimension_mismatch_and_non_finite_data() {
        let data = uniform_data(20, 2, 1);
        let fit = KMeans::new(2)
            .fit(&data, &mut StdRng::seed_from_u64(0))
            .unwrap();
        assert_eq!(
            fit.predict(&uniform_data(4, 3, 2)),
            Err(EmError::DimensionMismatch {
                expected: 2,
                found: 3
            })
        );
        let mut bad = uniform_data(4, 2, 2);
        bad[(1, 1)] = f64::NEG_INFINITY;
        assert_eq!(
            fit.predict(&bad),
            Err(EmError::NonFinite {
                row: 1,
                column: 1,
                value: f64::NEG_INFINITY
            })
        );
        assert_eq!(fit.predict(&DMatrix::zeros(0, 2)), Ok(vec![]));
        assert_eq!(fit.predict(&data).unwrap(), fit.labels);
    }

    #[test]
    fn stops_when_the_centre_shift_is_within_tol_times_the_mean_variance() {
        let data = uniform_data(400, 2, 21);
        let (n, seed) = (400.0, 17);
        // Lloyd iterates: the centres after m iterations (the seeding for m = 0).
        let mut iterates =
            vec![kmeans_plus_plus(&data, 6, &mut StdRng::seed_from_u64(seed)).unwrap()];
        for m in 1..=15 {
            let fit = KMeans::new(6)
                .max_iter(m)
                .tol(0.0)
                .fit(&data, &mut StdRng::seed_from_u64(seed))
                .unwrap();
            assert_eq!(fit.n_iter, m);
            iterates.push(fit.centres);
            if fit.converged {
                break; // the centres stopped moving (zero shift)
            }
        }
        let shifts: Vec<f64> = iterates
            .windows(2)
            .map(|w| (&w[1] - &w[0]).norm_squared())
            .collect();
        let var = |j: usize| {
            let col = data.column(j);
            let mean = col.sum() / n;
            col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n
        };
        let mean_var = (var(0) + var(1)) / 2.0;
        let tol = shifts[3] / mean_var * (1.0 + 1e-9);
        let expected = 1 + shifts.iter().position(|&s| s <= tol * mean_var).unwrap();
        assert!(expected >= 2, "shifts {shifts:?}");
        for scale in [1.0, 1000.0] {
            // The tolerance is relative to the data's variance: scaling changes nothing.
            let scaled = &data * scale;
            let fit = KMeans::new(6)
                .tol(tol)
                .fit(&scaled, &mut StdRng::seed_from_u64(seed))
                .unwrap();
            assert!(fit.converged);
            assert_eq!(fit.n_iter, expected, "scale {scale}, shifts {shifts:?}");
        }
    }

    #[test]
    fn inertia_is_non_increasing_over_lloyd_iterations() {
        let data = uniform_data(500, 2, 12);
        let inertias: Vec<f64> = (1..=20)
            .map(|m| {
                KMeans::new(6)
                    .max_iter(m)
                    .tol(0.0)
                    .fit(&data, &mut StdRng::seed_from_u64(4))
                    .unwrap()
                    .inertia
            })
            .collect();
        for w in inertias.windows(2) {
            assert!(w[1] <= w[0] * (1.0 + 1e-12), "inertia rose: {inertias:?}");
        }
        assert!(
            inertias[19] < inertias[0],
            "Lloyd made no progress: {inertias:?}"
        );
    }

    #[test]
    fn overflowing_data_is_an_error_not_a_panic() {
        let data = DMatrix::from_row_slice(4, 1, &[-1e300, -0.9e300, 0.9e300, 1e300]);
        let mut rng = StdRng::seed_from_u64(0);
        let seeds = kmeans_plus_plus(&data, 2, &mut rng).unwrap();
        assert!(seeds.iter().all(|v| v.is_finite()));
        assert!(matches!(
            KMeans::new(2).fit(&data, &mut rng),
            Err(EmError::NonFiniteObjective { .. })
        ));
    }

    fn small_data() -> impl Strategy<Value = (DMatrix<f64>, usize, u64)> {
        (1usize..30, 1usize..4).prop_flat_map(|(n, d)| {
            let value = prop_oneof![-100.0f64..100.0, (-2i32..3).prop_map(f64::from)];
            (
                prop::collection::vec(value, n * d),
                1..=n.min(5),
                any::<u64>(),
            )
                .prop_map(move |(v, k, seed)| (DMatrix::from_vec(n, d, v), k, seed))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn labels_are_nearest_centres_and_inertia_is_their_sum(
            (data, k, seed) in small_data(),
            max_iter in prop_oneof![1usize..4, Just(300)],
        ) {
            let fit = KMeans::new(k).max_iter(max_iter).fit(&data, &mut StdRng::seed_from_u64(seed)).unwrap();
            prop_assert_eq!(fit.centres.shape(), (k, data.ncols()));
            prop_assert_eq!(fit.labels.len(), data.nrows());
            prop_assert!(fit.n_iter >= 1 && fit.n_iter <= max_iter);
            let mut total = 0.0;
            for i in 0..data.nrows() {
                let d: Vec<f64> = (0..k).map(|c| sq(&data, i, &fit.centres, c)).collect();
                let min = d.iter().copied().fold(f64::INFINITY, f64::min);
                let first = d.iter().position(|&v| v == min).unwrap();
                prop_assert_eq!(fit.labels[i], first, "row {} distances {:?}", i, d);
                total += d[fit.labels[i]];
            }
            prop_assert!((fit.inertia - total).abs() <= 1e-9 * (1.0 + total));
            prop_assert_eq!(fit.predict(&data).unwrap(), fit.labels);
        }
    }
}
