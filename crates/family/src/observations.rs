//! How a family's observations are stored: one observation per row, so that a batch is a
//! range of rows and the EM driver can split the data into chunks.

use std::borrow::Borrow;
use std::fmt;

use em_core::Dataset;

/// A collection of observations that a [`Component`](crate::Component) family is fitted on.
///
/// Observations are addressed by row; the driver splits the data into consecutive row ranges
/// and the model (a mixture of the `mixture` crate, say) reads each observation with
/// [`obs`](Observations::obs). Scalar families use
/// a plain slice (`[f64]`, `[u64]`), where one observation is one element; the multivariate
/// Bernoulli family uses a [`BinaryMatrix`](crate::BinaryMatrix), where one observation is a
/// row `&[bool]`.
///
/// ```
/// use em_family::Observations;
/// let counts: &[u64] = &[3, 0, 7];
/// assert_eq!(counts.obs(2), 7);
/// assert_eq!(counts.n_features(), 1);
/// ```
pub trait Observations: Dataset {
    /// One observation, borrowed from the collection (`f64`, `u64`, `&[bool]` …).
    type Obs<'a>: Copy
    where
        Self: 'a;

    /// An owned collection of the same kind (`Vec<T>` for `[T]`), which sampling fills.
    type Owned: Borrow<Self> + Clone + fmt::Debug + Send + Sync;

    /// The observation in row `row` (`row < n_obs()`; the mixture only asks for rows the
    /// driver gave it).
    fn obs(&self, row: usize) -> Self::Obs<'_>;

    /// The number of values in one observation: 1 for scalars, the row length for matrices.
    fn n_features(&self) -> usize {
        1
    }

    /// An empty owned collection of observations with `n_features` values each, with room for
    /// `capacity` of them.
    fn with_capacity(n_features: usize, capacity: usize) -> Self::Owned;
}

impl<T: Copy + Send + Sync + fmt::Debug> Observations for [T] {
    type Obs<'a>
        = T
    where
        T: 'a;
    type Owned = Vec<T>;

    fn obs(&self, row: usize) -> T {
        self[row]
    }

    fn with_capacity(_n_features: usize, capacity: usize) -> Vec<T> {
        Vec::with_capacity(capacity)
    }
}
