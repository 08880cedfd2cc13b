//! Model-based hierarchical agglomeration (Banfield & Raftery 1993; Fraley 1998): the start
//! mclust gives its Gaussian mixtures, here for every covariance structure.
//!
//! EM only finds a local optimum, and k-means on raw units often starts it in the wrong
//! basin when features have very different scales. mclust instead agglomerates the rows,
//! merging at each step the two clusters whose union loses the least classification
//! likelihood under Gaussian clusters with unconstrained covariances, in coordinates that
//! do not depend on the units ([`HcScaling::Svd`]), and starts EM for K components from the
//! tree cut into K clusters. One tree serves every K and every covariance structure.
//!
//! * [`scale_for_hc`]: the coordinates ([`HcScaling`]);
//! * [`Agglomeration`]: the tree ([`Agglomeration::new`]) and its cuts
//!   ([`Agglomeration::partition`]);
//! * [`quantile_classes`]: mclust's start for one feature, classes between quantiles;
//! * [`hierarchical_partition`]: all of it, as a mixture start uses it.
//!
//! The agglomeration costs O(G²) memory and about O(G²·p³) time for G distinct rows, so
//! like mclust a start on more than [`DEFAULT_SUBSET`] rows agglomerates a random subset of
//! that size.

mod agglomerate;
mod quantile;
mod scaling;

pub use agglomerate::{Agglomeration, Merge, StoredScatter, VvvCriterion};
pub use quantile::quantile_classes;
pub use scaling::{HcScaling, scale_for_hc};

use em_core::EmError;
use nalgebra::DMatrix;

/// The most rows an agglomeration runs on by default (mclust's `subset` option).
pub const DEFAULT_SUBSET: usize = 2000;

/// The start mclust would use for `k` clusters of the rows of `x`: with one feature, the
/// quantile classes; otherwise the agglomeration in `scaling`'s coordinates cut into `k`.
///
/// # Errors
///
/// Those of [`scale_for_hc`], [`Agglomeration::new`] and [`Agglomeration::partition`]
/// (fewer than `k` distinct rows), or [`quantile_classes`].
///
/// ```
/// use em_family::hc::{HcScaling, hierarchical_partition};
/// use nalgebra::DMatrix;
///
/// // Three groups along a line, in units that differ by a factor 1000.
/// let x = DMatrix::from_fn(9, 2, |i, j| {
///     let centre = (i / 3) as f64 * 10.0 + 0.3 * (i % 3) as f64;
///     if j == 0 { centre } else { 1000.0 * (centre + 0.1 * ((i * 5) % 3) as f64) }
/// });
/// let labels = hierarchical_partition(&x, 3, HcScaling::Svd)?;
/// assert_eq!(labels, vec![0, 0, 0, 1, 1, 1, 2, 2, 2]);
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn hierarchical_partition(
    x: &DMatrix<f64>,
    k: usize,
    scaling: HcScaling,
) -> Result<Vec<usize>, EmError> {
    if x.ncols() == 1 {
        let values: Vec<f64> = x.column(0).iter().copied().collect();
        return quantile_classes(&values, k);
    }
    let z = scale_for_hc(x, scaling)?;
    Agglomeration::new(&z, VvvCriterion::default())?.partition(k)
}
