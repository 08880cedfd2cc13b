//! Starts built from a partition of the rows (or from responsibilities): one M-step.

use em_core::{EmError, Statistics, StdRng};
use em_family::hc::{DEFAULT_SUBSET, HcScaling, hierarchical_partition};
use nalgebra::DMatrix;

use super::InitContext;
use crate::gaussian::{self, GaussianStats, maximise};
use crate::mixture::GaussianMixture;

/// The responsibility a class that received no row gives every row, so that its M-step is
/// defined (mclust's remedy for missing groups).
const EMPTY_CLASS_FLOOR: f64 = 1.490_116_119_384_765_6e-8;

/// The M-step for hard labels: row `i` belongs to component `labels[i]`, or to none when
/// `None` (rows outside an agglomerated subset). With `floor_empty`, a component that received
/// no row gets a small responsibility from every row instead (mclust's remedy); without, it
/// stays empty and the M-step reports it.
pub(super) fn from_labels(
    x: &DMatrix<f64>,
    ctx: &InitContext<'_>,
    labels: &[Option<usize>],
    floor_empty: bool,
) -> Result<GaussianMixture, EmError> {
    let k = ctx.n_components;
    let mut counts = vec![0usize; k];
    for l in labels.iter().flatten() {
        counts[*l] += 1;
    }
    if !floor_empty || counts.iter().all(|&c| c > 0) {
        return from_responsibilities(x, ctx, |i, gamma| {
            if let Some(l) = labels[i] {
                gamma[l] = 1.0;
            }
        });
    }
    from_responsibilities(x, ctx, |i, gamma| {
        if let Some(l) = labels[i] {
            gamma.fill(EMPTY_CLASS_FLOOR);
            gamma[l] = 1.0;
            let total: f64 = gamma.iter().sum();
            gamma.iter_mut().for_each(|g| *g /= total);
        }
    })
}

/// mclust's start for K clusters: the agglomeration of the rows (of a random subset of
/// [`DEFAULT_SUBSET`] rows when there are more) cut into `k`; rows outside the subset get no
/// label.
pub(super) fn hierarchical_labels(
    x: &DMatrix<f64>,
    k: usize,
    rng: &mut StdRng,
) -> Result<Vec<Option<usize>>, EmError> {
    let n = x.nrows();
    if n <= DEFAULT_SUBSET {
        let labels = hierarchical_partition(x, k, HcScaling::Svd)?;
        return Ok(labels.into_iter().map(Some).collect());
    }
    let mut rows = rand::seq::index::sample(rng, n, DEFAULT_SUBSET).into_vec();
    rows.sort_unstable();
    let subset = DMatrix::from_fn(rows.len(), x.ncols(), |i, j| x[(rows[i], j)]);
    let labels = hierarchical_partition(&subset, k, HcScaling::Svd)?;
    let mut out = vec![None; n];
    for (&row, label) in rows.iter().zip(labels) {
        out[row] = Some(label);
    }
    Ok(out)
}

/// The columns' z-scores (n − 1 divisor); a constant column becomes zeros.
pub(super) fn standardized(x: &DMatrix<f64>) -> DMatrix<f64> {
    let n = x.nrows() as f64;
    let mut z = x.clone();
    for mut col in z.column_iter_mut() {
        let mean = col.sum() / n;
        let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0).max(1.0);
        let sd = var.sqrt();
        let scale = if sd > 0.0 && sd.is_finite() {
            1.0 / sd
        } else {
            0.0
        };
        col.iter_mut().for_each(|v| *v = (*v - mean) * scale);
    }
    z
}

/// The parameters an M-step gives for responsibilities set row by row by `fill(row, gamma)`
/// (gamma arrives zeroed, length K); batched so the N×K matrix never exists whole.
pub(super) fn from_responsibilities(
    x: &DMatrix<f64>,
    ctx: &InitContext<'_>,
    fill: impl Fn(usize, &mut [f64]),
) -> Result<GaussianMixture, EmError> {
    let k = ctx.n_components;
    let mut total: Option<GaussianStats> = None;
    let mut gamma_row = vec![0.0; k];
    let mut scratch = Vec::new();
    for rows in em_core::batches(x.nrows(), ctx.chunk_size)? {
        let c = rows.len();
        let mut gamma = vec![0.0; k * c];
        for i in 0..c {
            gamma_row.fill(0.0);
            fill(rows.start + i, &mut gamma_row);
            for (kk, g) in gamma_row.iter().enumerate() {
                gamma[kk * c + i] = *g;
            }
        }
        let weights = ctx.sample_weight.map(|w| &w[rows.clone()]);
        let kind = ctx.covariance_type;
        let part = gaussian::accumulate(x, rows, k, &gamma, weights, kind, &mut scratch);
        match &mut total {
            None => total = Some(part),
            Some(t) => t.merge(&part),
        }
    }
    let stats = total.ok_or(EmError::EmptyData)?;
    let new = maximise(&stats, ctx.covariance_type, ctx.reg_covar, ctx.prior)?;
    GaussianMixture::new_in_context(new.weights, new.means, new.covariances, "at initialisation")
}
