//! The k-means start of a Gaussian HMM: the family layer's k-means ([`em_family::kmeans`],
//! the clustering the Gaussian mixture starts from) on all steps of all sequences pooled,
//! its clusters made the states.

use em_core::EmError;
use em_family::gaussian::CheckedData;
use em_family::kmeans::KMeans;
use nalgebra::{DMatrix, DVector};
use rand::Rng;

use crate::gaussian::{CovarianceType, Covariances, Gaussian, check_n_states, start_from};
use crate::model::Hmm;
use crate::sequence::{bad_sequence, name_sequence};

/// The ridge added to every variance of a k-means start, relative to that feature's pooled
/// variance: small enough not to move the start, large enough that a cluster whose steps
/// span fewer than D dimensions still has a positive definite covariance.
const RIDGE: f64 = 1e-6;

impl Hmm<Gaussian> {
    /// A k-means start for EM on `sequences`: k-means++ seeding then Lloyd's k-means
    /// ([`KMeans`] with its defaults: at most 300 iterations, tolerance 1e-4, one seeding
    /// drawn from `rng`) on all steps of all sequences pooled, one cluster per state.
    ///
    /// * the states' means are the k-means centres;
    /// * a state's covariance is that of its cluster (the biased one, about the cluster's
    ///   mean), shaped for `covariance_type`: `full` Σ_s, `diag` its diagonal, `spherical`
    ///   tr(Σ_s)/D; `tied` the within-cluster covariance Σ_s n_s Σ_s / N. A cluster too small
    ///   to have one (at most D steps for `full`, fewer than 2 for `diag` and `spherical`)
    ///   takes the pooled covariance of all steps instead;
    /// * then a ridge of 10⁻⁶ times each feature's pooled variance is added to that feature's
    ///   variance (the mean of those for `spherical`), so a cluster whose steps lie in a
    ///   subspace still has a positive definite covariance;
    /// * start probabilities are uniform and the transitions the same sticky
    ///   A = ½ I + 1/(2S) as [`random_start`](Self::random_start)'s.
    ///
    /// The data are scanned for non-finite values once, for k-means and this start together.
    /// Deterministic given `rng`'s state; use it as the initialiser of
    /// [`Em::fit_restarts`](em_core::Em::fit_restarts), which seeds each restart's generator.
    ///
    /// # Errors
    ///
    /// * [`EmError::InvalidParameter`] (`n_states`) if `n_states` is 0;
    /// * [`EmError::EmptyData`] if there are no sequences;
    /// * [`EmError::InvalidInput`] naming the sequence for one with no features, no steps or
    ///   another number of features than sequence 0 (shapes are checked first, in sequence
    ///   order), then naming the sequence and step for the first NaN or ±∞;
    /// * [`EmError::TooFewObservations`] with fewer steps in all than states;
    /// * [`EmError::NotPositiveDefinite`] naming the state when a covariance is singular even
    ///   with the ridge — a feature that is constant over all steps;
    /// * [`EmError::NonFiniteObjective`] from k-means for values so large (beyond about
    ///   1e154) that squared distances overflow.
    ///
    /// ```
    /// use em_core::{Em, StdRng};
    /// use hmm::{CovarianceType, Covariances, Gaussian, GaussianHmm};
    /// use nalgebra::{DMatrix, dmatrix, dvector};
    /// use rand::SeedableRng;
    ///
    /// let truth = GaussianHmm::new(
    ///     dvector![0.5, 0.5],
    ///     dmatrix![0.9, 0.1; 0.1, 0.9],
    ///     Gaussian::new(dmatrix![-3.0; 3.0], Covariances::Spherical(dvector![1.0, 1.0]))?,
    /// )?;
    /// let mut rng = StdRng::seed_from_u64(5);
    /// let data: Vec<_> = (0..4).map(|_| truth.sample(200, &mut rng).0).collect();
    ///
    /// // The start alone: one state per cluster, its mean near a true mean.
    /// let start = GaussianHmm::kmeans_start(2, CovarianceType::Full, &data, &mut rng)?;
    /// let mut means: Vec<f64> = start.emission().means().iter().copied().collect();
    /// means.sort_by(f64::total_cmp);
    /// assert!((means[0] + 3.0).abs() < 0.5 && (means[1] - 3.0).abs() < 0.5, "{means:?}");
    ///
    /// // As the initialiser of seeded restarts.
    /// let init = |x: &[DMatrix<f64>], rng: &mut StdRng| {
    ///     GaussianHmm::kmeans_start(2, CovarianceType::Diag, x, rng)
    /// };
    /// let fit = Em::new().tol(1e-8).n_init(2).fit_restarts(&init, &data[..])?;
    /// assert!(fit.report.converged);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn kmeans_start<R: Rng + ?Sized>(
        n_states: usize,
        covariance_type: CovarianceType,
        sequences: &[DMatrix<f64>],
        rng: &mut R,
    ) -> Result<Self, EmError> {
        check_n_states(n_states)?;
        let (pooled, offsets) = pool(sequences)?;
        let checked = CheckedData::new(&pooled, None).map_err(|e| name_pooled(e, &offsets))?;
        if pooled.nrows() < n_states {
            return Err(EmError::TooFewObservations {
                n_obs: pooled.nrows(),
                n_components: n_states,
            });
        }
        let fit = KMeans::new(n_states).fit_checked(checked, rng)?;
        let covariances = cluster_covariances(&pooled, &fit.labels, n_states, covariance_type);
        start_from(
            fit.centres,
            covariances,
            "k-means start from the clusters' covariances; is a feature constant over all steps?",
        )
    }
}

/// All steps of all sequences in one N×D matrix, in order, and the offset of each sequence's
/// first step in it (plus N at the end). Checks the shapes only: at least one sequence, D ≥ 1
/// features, every sequence non-empty with D features; errors name the sequence.
fn pool(sequences: &[DMatrix<f64>]) -> Result<(DMatrix<f64>, Vec<usize>), EmError> {
    let first = sequences.first().ok_or(EmError::EmptyData)?;
    let d = first.ncols();
    if d == 0 {
        return Err(bad_sequence(0, "has no features"));
    }
    let mut offsets = Vec::with_capacity(sequences.len() + 1);
    let mut n = 0;
    for (i, x) in sequences.iter().enumerate() {
        if x.nrows() == 0 {
            return Err(name_sequence(i, EmError::EmptyData));
        }
        if x.ncols() != d {
            return Err(name_sequence(
                i,
                EmError::DimensionMismatch {
                    expected: d,
                    found: x.ncols(),
                },
            ));
        }
        offsets.push(n);
        n += x.nrows();
    }
    offsets.push(n);
    let mut pooled = DMatrix::zeros(n, d);
    for (x, &start) in sequences.iter().zip(&offsets) {
        let t = x.nrows();
        for j in 0..d {
            pooled
                .column_mut(j)
                .rows_mut(start, t)
                .copy_from(&x.column(j));
        }
    }
    Ok((pooled, offsets))
}

/// An error about a row of the pooled matrix restated for the sequence and step it came from.
fn name_pooled(e: EmError, offsets: &[usize]) -> EmError {
    match e {
        EmError::NonFinite { row, column, value } => {
            // The last sequence whose first step is at or before `row`.
            let i = offsets.partition_point(|&o| o <= row).saturating_sub(1);
            let step = row - offsets.get(i).copied().unwrap_or(0);
            name_sequence(
                i,
                EmError::NonFinite {
                    row: step,
                    column,
                    value,
                },
            )
        }
        other => other,
    }
}

/// The states' covariances from the k-means clusters of the rows of `x` (see
/// [`Hmm::kmeans_start`] for the rule): per cluster, the biased covariance about its own
/// mean, or the pooled covariance for a cluster too small; then the ridge.
fn cluster_covariances(
    x: &DMatrix<f64>,
    labels: &[usize],
    s: usize,
    kind: CovarianceType,
) -> Covariances {
    let (n, d) = x.shape();
    let mut counts = vec![0usize; s];
    let mut sums = DMatrix::<f64>::zeros(s, d);
    for (i, &l) in labels.iter().enumerate() {
        counts[l] += 1;
        for j in 0..d {
            sums[(l, j)] += x[(i, j)];
        }
    }
    let means = DMatrix::from_fn(s, d, |c, j| sums[(c, j)] / counts[c].max(1) as f64);
    let mut scatter = vec![DMatrix::<f64>::zeros(d, d); s];
    let mut centred = vec![0.0; d];
    for (i, &l) in labels.iter().enumerate() {
        for (j, c) in centred.iter_mut().enumerate() {
            *c = x[(i, j)] - means[(l, j)];
        }
        let m = &mut scatter[l];
        for a in 0..d {
            for b in 0..=a {
                m[(a, b)] += centred[a] * centred[b];
            }
        }
    }
    for m in &mut scatter {
        m.fill_upper_triangle_with_lower_triangle();
    }
    let nf = n as f64;
    let mean = DVector::from_fn(d, |j, _| x.column(j).sum() / nf);
    let mut pooled = DMatrix::<f64>::zeros(d, d);
    for i in 0..n {
        for (j, c) in centred.iter_mut().enumerate() {
            *c = x[(i, j)] - mean[j];
        }
        for a in 0..d {
            for b in 0..=a {
                pooled[(a, b)] += centred[a] * centred[b];
            }
        }
    }
    pooled.fill_upper_triangle_with_lower_triangle();
    pooled /= nf;
    let ridge = DVector::from_fn(d, |j, _| RIDGE * pooled[(j, j)]);
    let with_ridge = |mut m: DMatrix<f64>| {
        for j in 0..d {
            m[(j, j)] += ridge[j];
        }
        m
    };
    let df = d as f64;
    match kind {
        CovarianceType::Full => Covariances::Full(
            (0..s)
                .map(|c| {
                    let cov = if counts[c] > d {
                        &scatter[c] / counts[c] as f64
                    } else {
                        pooled.clone()
                    };
                    with_ridge(cov)
                })
                .collect(),
        ),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(s, d, |c, j| {
            let v = if counts[c] >= 2 {
                scatter[c][(j, j)] / counts[c] as f64
            } else {
                pooled[(j, j)]
            };
            v + ridge[j]
        })),
        CovarianceType::Spherical => Covariances::Spherical(DVector::from_fn(s, |c, _| {
            let v = if counts[c] >= 2 {
                scatter[c].trace() / (counts[c] as f64 * df)
            } else {
                pooled.trace() / df
            };
            v + ridge.sum() / df
        })),
        CovarianceType::Tied => {
            let within = scatter.iter().fold(DMatrix::zeros(d, d), |a, m| a + m) / nf;
            Covariances::Tied(with_ridge(within))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::dmatrix;

    #[test]
    fn pooled_non_finite_values_are_named_by_sequence_and_step() {
        let offsets = [0, 3, 5, 9];
        for (row, want) in [(0, (0, 0)), (2, (0, 2)), (3, (1, 0)), (8, (2, 3))] {
            let e = name_pooled(
                EmError::NonFinite {
                    row,
                    column: 1,
                    value: f64::NAN,
                },
                &offsets,
            );
            let EmError::InvalidInput {
                row: seq, reason, ..
            } = e
            else {
                panic!("expected InvalidInput, got {e:?}");
            };
            assert_eq!(seq, want.0);
            assert!(
                reason.starts_with(&format!("sequence {}, step {}:", want.0, want.1)),
                "{reason}"
            );
        }
    }

    #[test]
    fn small_clusters_take_the_pooled_covariance_and_every_variance_the_ridge() {
        // Cluster 0 has three steps (more than D = 2), cluster 1 one step.
        let x = dmatrix![0.0, 0.0; 1.0, 0.0; 0.0, 1.0; 10.0, 10.0];
        let labels = [0, 0, 0, 1];
        let Covariances::Full(c) = cluster_covariances(&x, &labels, 2, CovarianceType::Full) else {
            panic!("full");
        };
        // Pooled: mean (2.75, 2.75); variance Σ(x − m)² / 4.
        let pooled_var = (2.75f64.powi(2) * 2.0 + 1.75f64.powi(2) + 7.25f64.powi(2)) / 4.0;
        let own_var = 2.0 / 9.0; // values 0, 1, 0 about 1/3
        assert!((c[0][(0, 0)] - own_var - RIDGE * pooled_var).abs() < 1e-12);
        assert!((c[1][(0, 0)] - pooled_var * (1.0 + RIDGE)).abs() < 1e-9);
        let Covariances::Spherical(v) =
            cluster_covariances(&x, &labels, 2, CovarianceType::Spherical)
        else {
            panic!("spherical");
        };
        assert!((v[1] - pooled_var * (1.0 + RIDGE)).abs() < 1e-9);
        assert!((v[0] - own_var - RIDGE * pooled_var).abs() < 1e-12);
    }
}
