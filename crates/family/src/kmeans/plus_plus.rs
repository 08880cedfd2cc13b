//! k-means++ seeding: greedy D² sampling of the first centres.

use em_core::EmError;
use nalgebra::DMatrix;
use rand::{Rng, RngExt};
use rayon::prelude::*;

use super::{CHUNK, CheckedData, push_row, sq_dist_block, validate_clusters, validate_data};

/// Chooses `n_clusters` initial centres among the rows of `data` by greedy k-means++.
///
/// The first centre is a row drawn uniformly; every further centre is drawn with probability
/// proportional to its squared distance to the nearest centre chosen so far. As in
/// scikit-learn, each step draws `2 + floor(ln k)` candidates this way and keeps the one that
/// most reduces the potential (the summed squared distance of all rows to their nearest
/// centre); ties go to the earliest candidate. This spreads the centres out, which makes
/// Lloyd's algorithm (and EM after it) converge faster and to better optima than a uniform
/// start.
///
/// Returns a K×D matrix whose rows are the centres, each an exact copy of a data row. On data
/// with at least K distinct rows the centres are distinct rows.
///
/// **Duplicates:** when every row already coincides with a chosen centre (the data has fewer
/// distinct rows than K), the remaining centres are rows drawn uniformly, so the result then
/// contains duplicated centres. If squared distances overflow to infinity (values beyond about
/// 1e154 in magnitude), the next centre is drawn uniformly among the rows at infinite distance.
///
/// # Errors
///
/// * [`EmError::InvalidParameter`] (`n_clusters`) if `n_clusters == 0`;
/// * [`EmError::EmptyData`] if `data` has no rows;
/// * [`EmError::TooFewObservations`] if `data` has fewer rows than `n_clusters`;
/// * [`EmError::NonFinite`] for the first NaN or ±∞ in row-major order.
///
/// # Example
///
/// ```
/// use em_core::StdRng;
/// use em_family::kmeans::kmeans_plus_plus;
/// use nalgebra::DMatrix;
/// use rand::SeedableRng;
///
/// let data = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 0.1, 0.0, 9.0, 9.0, 9.1, 9.0]);
/// let mut rng = StdRng::seed_from_u64(42);
/// let centres = kmeans_plus_plus(&data, 2, &mut rng)?;
/// assert_eq!(centres.shape(), (2, 2));
/// // Every centre is one of the data rows.
/// for c in centres.row_iter() {
///     assert!(data.row_iter().any(|r| r == c));
/// }
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn kmeans_plus_plus<R: Rng + ?Sized>(
    data: &DMatrix<f64>,
    n_clusters: usize,
    rng: &mut R,
) -> Result<DMatrix<f64>, EmError> {
    validate_data(data, n_clusters)?;
    Ok(seed(data, n_clusters, rng))
}

/// [`kmeans_plus_plus`] on data already validated by [`CheckedData::new`]: the same centres
/// from the same generator state, without scanning the data for non-finite values again.
///
/// # Errors
///
/// * [`EmError::InvalidParameter`] (`n_clusters`) if `n_clusters == 0`;
/// * [`EmError::TooFewObservations`] if `data` has fewer rows than `n_clusters`.
///
/// # Example
///
/// ```
/// use em_core::StdRng;
/// use em_family::kmeans::{CheckedData, kmeans_plus_plus, kmeans_plus_plus_checked};
/// use nalgebra::DMatrix;
/// use rand::SeedableRng;
///
/// let data = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 0.1, 0.0, 9.0, 9.0, 9.1, 9.0]);
/// let checked = CheckedData::new(&data, None)?; // the one scan
/// let a = kmeans_plus_plus_checked(checked, 2, &mut StdRng::seed_from_u64(3))?;
/// let b = kmeans_plus_plus(&data, 2, &mut StdRng::seed_from_u64(3))?;
/// assert_eq!(a, b);
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn kmeans_plus_plus_checked<R: Rng + ?Sized>(
    data: CheckedData<'_>,
    n_clusters: usize,
    rng: &mut R,
) -> Result<DMatrix<f64>, EmError> {
    validate_clusters(data, n_clusters)?;
    Ok(seed(data.matrix(), n_clusters, rng))
}

/// Lowers `closest[i]` to the squared distance of row `i` to `centre` where that is smaller.
fn update_closest(x: &[f64], n: usize, centre: &[f64], closest: &mut [f64]) {
    closest
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, cl)| {
            let mut tmp = vec![0.0; cl.len()];
            sq_dist_block(x, n, c * CHUNK, centre, &mut tmp);
            for (p, &q) in cl.iter_mut().zip(&tmp) {
                if q < *p {
                    *p = q;
                }
            }
        });
}

/// Greedy k-means++ on validated data (see [`kmeans_plus_plus`]).
pub(super) fn seed<R: Rng + ?Sized>(data: &DMatrix<f64>, k: usize, rng: &mut R) -> DMatrix<f64> {
    let (n, d) = data.shape();
    let x = data.as_slice();
    let mut centres = Vec::with_capacity(k * d);
    push_row(x, n, d, rng.random_range(0..n), &mut centres);
    let mut closest = vec![f64::INFINITY; n];
    update_closest(x, n, &centres, &mut closest);
    let n_trials = n_local_trials(k);
    let mut cum: Vec<f64> = Vec::new();
    for _ in 1..k {
        let max = closest.par_iter().copied().reduce(|| 0.0, f64::max);
        let chosen = if max <= 0.0 {
            // Every row coincides with a chosen centre: duplicates are unavoidable.
            rng.random_range(0..n)
        } else if max.is_infinite() {
            let n_inf = closest.iter().filter(|c| c.is_infinite()).count();
            let t = rng.random_range(0..n_inf);
            closest
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_infinite())
                .nth(t)
                .map_or(0, |(i, _)| i)
        } else {
            // Weights scaled by the maximum so that their sum cannot overflow.
            cum.clear();
            let mut acc = 0.0;
            cum.extend(closest.iter().map(|&c| {
                acc += c / max;
                acc
            }));
            let candidates: Vec<usize> = (0..n_trials)
                .map(|_| {
                    let r = rng.random::<f64>() * acc;
                    // First row whose cumulative weight exceeds r: it has positive weight.
                    let i = cum.partition_point(|&v| v <= r);
                    if i < n {
                        i
                    } else {
                        // Only reachable through rounding: the last row of positive weight.
                        closest.iter().rposition(|&c| c > 0.0).unwrap_or(n - 1)
                    }
                })
                .collect();
            best_candidate(x, n, d, &closest, &candidates)
        };
        let start = centres.len();
        push_row(x, n, d, chosen, &mut centres);
        update_closest(x, n, &centres[start..], &mut closest);
    }
    DMatrix::from_row_slice(k, d, &centres)
}

/// Candidates drawn per greedy k-means++ step: `2 + floor(ln k)`, as in scikit-learn.
fn n_local_trials(k: usize) -> usize {
    2 + (k as f64).ln().floor() as usize
}

/// The candidate row that leaves the smallest potential `Σ min(closest, dist²(·, candidate))`
/// (the earliest on ties).
fn best_candidate(x: &[f64], n: usize, d: usize, closest: &[f64], candidates: &[usize]) -> usize {
    let rows: Vec<Vec<f64>> = candidates
        .iter()
        .map(|&i| {
            let mut r = Vec::with_capacity(d);
            push_row(x, n, d, i, &mut r);
            r
        })
        .collect();
    let partials: Vec<Vec<f64>> = closest
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, cl)| {
            let mut tmp = vec![0.0; cl.len()];
            rows.iter()
                .map(|row| {
                    sq_dist_block(x, n, c * CHUNK, row, &mut tmp);
                    cl.iter().zip(&tmp).map(|(&p, &q)| p.min(q)).sum::<f64>()
                })
                .collect()
        })
        .collect();
    let mut pots = vec![0.0; candidates.len()];
    for part in &partials {
        for (t, v) in pots.iter_mut().zip(part) {
            *t += v;
        }
    }
    let mut best = 0;
    for (l, &p) in pots.iter().enumerate().skip(1) {
        if p < pots[best] {
            best = l;
        }
    }
    candidates.get(best).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{blobs, uniform_data};
    use super::*;
    use em_core::StdRng;
    use rand::SeedableRng;

    #[test]
    fn kmeans_plus_plus_returns_distinct_data_rows_on_distinct_data() {
        let data = uniform_data(50, 3, 5);
        for seed in 0..20 {
            let c = kmeans_plus_plus(&data, 10, &mut StdRng::seed_from_u64(seed)).unwrap();
            assert_eq!(c.shape(), (10, 3));
            let mut rows: Vec<usize> = c
                .row_iter()
                .map(|r| {
                    data.row_iter()
                        .position(|x| x == r)
                        .expect("not a data row")
                })
                .collect();
            rows.sort_unstable();
            rows.dedup();
            assert_eq!(rows.len(), 10, "seed {seed}: duplicated centres");
        }
    }

    #[test]
    fn kmeans_plus_plus_with_k_equal_n_picks_every_row_once() {
        let data = uniform_data(12, 2, 8);
        let c = kmeans_plus_plus(&data, 12, &mut StdRng::seed_from_u64(1)).unwrap();
        let mut rows: Vec<usize> = c
            .row_iter()
            .filter_map(|r| data.row_iter().position(|x| x == r))
            .collect();
        rows.sort_unstable();
        assert_eq!(rows, (0..12).collect::<Vec<_>>());
    }

    #[test]
    fn kmeans_plus_plus_spreads_centres_over_separated_blobs() {
        // With greedy k-means++ each of three far-apart blobs gets exactly one centre.
        let (data, truth) = blobs(&[[0.0, 0.0], [50.0, 0.0], [0.0, 50.0]], 30, 0.5, 2);
        for seed in 0..10 {
            let c = kmeans_plus_plus(&data, 3, &mut StdRng::seed_from_u64(seed)).unwrap();
            let mut blob: Vec<usize> = c
                .row_iter()
                .map(|r| truth[data.row_iter().position(|x| x == r).unwrap()])
                .collect();
            blob.sort_unstable();
            assert_eq!(blob, vec![0, 1, 2], "seed {seed}");
        }
    }

    #[test]
    fn greedy_seeding_draws_two_plus_floor_ln_k_candidates() {
        let got: Vec<usize> = [1, 2, 3, 7, 8, 20, 21, 100].map(n_local_trials).to_vec();
        assert_eq!(got, vec![2, 2, 3, 3, 4, 4, 5, 6]);
    }

    #[test]
    fn greedy_step_keeps_the_candidate_that_most_reduces_the_potential() {
        // Rows 0, 1, 10, 11 on a line; the chosen centre is at 0 so far.
        let data = DMatrix::from_row_slice(4, 1, &[0.0, 1.0, 10.0, 11.0]);
        let closest = [0.0, 1.0, 100.0, 121.0];
        // Potentials: row 1 -> 0+0+81+100, row 2 -> 0+1+0+1, row 3 -> 0+1+1+0.
        assert_eq!(
            best_candidate(data.as_slice(), 4, 1, &closest, &[1, 2, 3]),
            2
        );
        assert_eq!(
            best_candidate(data.as_slice(), 4, 1, &closest, &[3, 1, 2]),
            3
        );
    }
}
