//! k-means++ seeding and Lloyd's k-means, used to start Gaussian mixtures and Gaussian HMMs.
//!
//! EM for a mixture only finds a local optimum, and where it ends up depends mostly on where
//! it starts. The usual start (as in scikit-learn) is a k-means clustering: its centres become
//! the initial means and its labels give the initial weights and covariances. This module
//! provides that clustering:
//!
//! * [`kmeans_plus_plus`] (in `plus_plus.rs`) — greedy k-means++ seeding (Arthur & Vassilvitskii 2007), the
//!   variant scikit-learn uses;
//! * [`KMeans`] (in `lloyd.rs`) — Lloyd's algorithm from that seeding, with several restarts
//!   ([`KMeans::n_init`]); its result is a [`KMeansFit`], which can label new data with
//!   [`KMeansFit::predict`].
//!
//! **Validation, once.** The public functions validate their data (every value finite) so
//! that any caller can use them. A caller that has validated already — a mixture or HMM fit
//! checks its data at its boundary — passes the proof of it instead, a [`CheckedData`], to the
//! `_checked` entries ([`KMeans::fit_checked`], [`kmeans_plus_plus_checked`],
//! [`nearest_centre_checked`]), which give the same results without scanning the N×D values
//! again.
//!
//! Data is a `DMatrix<f64>` with one observation per row (N×D). The hot loops work on the
//! matrix's contiguous columns in fixed-size row blocks, in parallel with rayon; partial sums
//! are combined in block order, so every result is deterministic given the data and the state
//! of the random generator, whatever the number of threads.

use em_core::{EmError, check_finite};
use nalgebra::DMatrix;
use rayon::prelude::*;

mod lloyd;
mod plus_plus;
#[cfg(test)]
mod test_data;

pub use crate::gaussian::CheckedData;
pub use lloyd::{KMeans, KMeansFit, nearest_centre, nearest_centre_checked};
pub use plus_plus::{kmeans_plus_plus, kmeans_plus_plus_checked};

/// Rows per parallel work unit. Fixed (not adaptive) so that floating-point sums are always
/// grouped the same way and results do not depend on the thread count.
const CHUNK: usize = 4096;

/// The error for `n_clusters == 0`.
fn n_clusters_error() -> EmError {
    EmError::InvalidParameter {
        name: "n_clusters",
        reason: "must be at least 1".into(),
    }
}

/// Validates `n_clusters` against the data and the data itself.
fn validate_data(data: &DMatrix<f64>, n_clusters: usize) -> Result<(), EmError> {
    if n_clusters == 0 {
        return Err(n_clusters_error());
    }
    let n = data.nrows();
    if n == 0 {
        return Err(EmError::EmptyData);
    }
    if n < n_clusters {
        return Err(EmError::TooFewObservations {
            n_obs: n,
            n_components: n_clusters,
        });
    }
    check_data_finite(data)
}

/// Validates `n_clusters` against data that passed the Gaussian data check (so it has rows
/// and only finite values): the cheap part of [`validate_data`], without the scan.
fn validate_clusters(data: CheckedData<'_>, n_clusters: usize) -> Result<(), EmError> {
    if n_clusters == 0 {
        return Err(n_clusters_error());
    }
    if data.nrows() < n_clusters {
        return Err(EmError::TooFewObservations {
            n_obs: data.nrows(),
            n_components: n_clusters,
        });
    }
    Ok(())
}

/// Reports the first non-finite value in row-major order (fast path: one contiguous scan).
fn check_data_finite(data: &DMatrix<f64>) -> Result<(), EmError> {
    if data.as_slice().par_iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    let (n, d) = data.shape();
    check_finite((0..n).flat_map(|i| (0..d).map(move |j| (i, j, &data[(i, j)]))))
}

/// The K×D matrix's entries with each centre contiguous (`k * D + j`).
fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
    m.transpose().as_slice().to_vec()
}

/// Copies row `i` of the column-major N×D slice `x` into `out`.
fn push_row(x: &[f64], n: usize, d: usize, i: usize, out: &mut Vec<f64>) {
    out.extend((0..d).map(|j| x[j * n + i]));
}

/// Writes the squared distances of rows `a .. a + out.len()` of the column-major matrix `x`
/// (N rows) to `centre` (length D) into `out`, one contiguous column at a time.
fn sq_dist_block(x: &[f64], n: usize, a: usize, centre: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    let len = out.len();
    for (j, &c) in centre.iter().enumerate() {
        let col = &x[j * n + a..j * n + a + len];
        for (o, &v) in out.iter_mut().zip(col) {
            let t = v - c;
            *o += t * t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_data::uniform_data;
    use super::*;
    use em_core::StdRng;
    use rand::SeedableRng;

    #[test]
    fn rejects_zero_clusters() {
        let data = uniform_data(5, 2, 0);
        let mut rng = StdRng::seed_from_u64(0);
        for r in [
            kmeans_plus_plus(&data, 0, &mut rng).map(|_| ()),
            KMeans::new(0).fit(&data, &mut rng).map(|_| ()),
        ] {
            assert!(matches!(
                r,
                Err(EmError::InvalidParameter {
                    name: "n_clusters",
                    ..
                })
            ));
        }
    }

    #[test]
    fn rejects_fewer_rows_than_clusters() {
        let data = uniform_data(3, 2, 0);
        let mut rng = StdRng::seed_from_u64(0);
        let want = Err(EmError::TooFewObservations {
            n_obs: 3,
            n_components: 4,
        });
        assert_eq!(kmeans_plus_plus(&data, 4, &mut rng).map(|_| ()), want);
        assert_eq!(KMeans::new(4).fit(&data, &mut rng).map(|_| ()), want);
    }

    #[test]
    fn rejects_empty_data() {
        let data = DMatrix::<f64>::zeros(0, 2);
        let mut rng = StdRng::seed_from_u64(0);
        assert_eq!(
            kmeans_plus_plus(&data, 1, &mut rng).map(|_| ()),
            Err(EmError::EmptyData)
        );
        assert_eq!(
            KMeans::new(1).fit(&data, &mut rng).map(|_| ()),
            Err(EmError::EmptyData)
        );
    }

    #[test]
    fn reports_the_first_non_finite_value_by_row_and_column() {
        let mut data = uniform_data(6, 3, 0);
        data[(3, 0)] = f64::INFINITY;
        data[(2, 1)] = f64::NAN;
        let mut rng = StdRng::seed_from_u64(0);
        for r in [
            kmeans_plus_plus(&data, 2, &mut rng).map(|_| ()),
            KMeans::new(2).fit(&data, &mut rng).map(|_| ()),
        ] {
            match r {
                Err(EmError::NonFinite { row, column, value }) => {
                    assert_eq!((row, column), (2, 1));
                    assert!(value.is_nan());
                }
                other => panic!("expected NonFinite, got {other:?}"),
            }
        }
        data[(2, 1)] = 0.5;
        assert_eq!(
            KMeans::new(2).fit(&data, &mut rng).map(|_| ()),
            Err(EmError::NonFinite {
                row: 3,
                column: 0,
                value: f64::INFINITY
            })
        );
    }
}
