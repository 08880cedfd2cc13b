//! The Gaussian family as a [`Family`]: K Gaussians with their M-step settings (the
//! `reg_covar` ridge and an optional conjugate prior), for the mixture engine.

use std::ops::Range;

use em_core::{EmError, Statistics};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use super::missing::{
    ConditionalCache, MissingValues, check_data_with_missing, incomplete_log_densities,
    incomplete_patterns, incomplete_statistics, zero_filled,
};
use super::mstep::gaussian_parameters;
use super::{GaussianStats, Gaussians, Prior, block_rows, check_reg_covar};
use crate::family::{Family, check_batch_shape};

/// K Gaussians N(μ_k, Σ_k) and how their M-step runs: scikit-learn's `reg_covar` ridge and an
/// optional conjugate [`Prior`] (MAP-EM). Always valid.
///
/// ```
/// use em_family::Family;
/// use em_family::gaussian::{Covariances, GaussianFamily, Gaussians};
/// use nalgebra::{dmatrix, dvector};
///
/// let g = Gaussians::new(dmatrix![0.0; 4.0], Covariances::Spherical(dvector![1.0, 1.0]))?;
/// let family = GaussianFamily::new(g).with_reg_covar(1e-6)?;
/// assert_eq!((family.n_components(), family.n_parameters()), (2, 4));
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianFamily {
    gaussians: Gaussians,
    reg_covar: f64,
    prior: Option<Prior>,
    missing: MissingValues,
    /// The missing values' conditional distributions at the current parameters, computed
    /// once per pattern; replaced whenever `gaussians` changes.
    conditionals: ConditionalCache,
}

/// Draws of a [`GaussianFamily`]: row-major values and each component's Cholesky factor.
#[derive(Debug, Clone)]
pub struct GaussianDraws {
    values: Vec<f64>,
    cholesky: Vec<DMatrix<f64>>,
}

impl GaussianFamily {
    /// The family of `gaussians`, maximum likelihood without a ridge.
    pub fn new(gaussians: Gaussians) -> Self {
        GaussianFamily {
            gaussians,
            reg_covar: 0.0,
            prior: None,
            missing: MissingValues::Error,
            conditionals: ConditionalCache::default(),
        }
    }

    /// Sets what a NaN in the data means: an error (the default) or a missing value that EM
    /// models ([`MissingValues::Model`]: the E-step uses the marginal density of the observed
    /// coordinates, the M-step their conditional expectations; see
    /// [`MissingValues`](super::MissingValues)).
    ///
    /// ```
    /// use em_family::Family;
    /// use em_family::gaussian::{Covariances, GaussianFamily, Gaussians, MissingValues};
    /// use nalgebra::dmatrix;
    ///
    /// let g = Gaussians::new(dmatrix![0.0, 0.0], Covariances::Full(vec![dmatrix![1.0, 0.5; 0.5, 1.0]]))?;
    /// let x = dmatrix![1.0, f64::NAN; 0.5, 2.0];
    /// assert!(GaussianFamily::new(g.clone()).check_data(&x).is_err());
    /// let family = GaussianFamily::new(g).with_missing_values(MissingValues::Model);
    /// family.check_data(&x)?;
    /// // The density of a row with x_1 missing is the marginal N(x_0 | 0, 1).
    /// let mut out = [0.0];
    /// family.log_densities(&x, 0..1, None, &mut out, &mut Vec::new());
    /// assert!((out[0] - (-0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5)).abs() < 1e-15);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn with_missing_values(mut self, missing: MissingValues) -> Self {
        self.missing = missing;
        self
    }

    /// What a NaN in the data means to this family.
    pub fn missing_values(&self) -> MissingValues {
        self.missing
    }

    /// Sets the ridge the M-step adds to every variance (see
    /// [`Gaussians::maximise`]; not a prior).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`reg_covar`) unless it is finite and ≥ 0.
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Result<Self, EmError> {
        check_reg_covar(reg_covar)?;
        self.reg_covar = reg_covar;
        Ok(self)
    }

    /// Sets (or removes) the conjugate prior of MAP-EM.
    ///
    /// # Errors
    /// The prior's own validation against the number of features.
    pub fn with_prior(mut self, prior: Option<Prior>) -> Result<Self, EmError> {
        if let Some(p) = &prior {
            p.validate(self.gaussians.n_features())?;
        }
        self.prior = prior;
        Ok(self)
    }

    /// The Gaussians.
    pub fn gaussians(&self) -> &Gaussians {
        &self.gaussians
    }

    /// Replaces the Gaussians, keeping the M-step settings.
    pub fn set_gaussians(&mut self, gaussians: Gaussians) {
        self.gaussians = gaussians;
        self.conditionals = ConditionalCache::default();
    }

    /// The `reg_covar` ridge.
    pub fn reg_covar(&self) -> f64 {
        self.reg_covar
    }

    /// The prior, if any.
    pub fn prior(&self) -> Option<&Prior> {
        self.prior.as_ref()
    }
}

/// Checks that `x` has rows, `n_features` columns (when given) and only finite values; a bad
/// value is reported by row and column (the first in row order).
pub fn check_data(x: &DMatrix<f64>, n_features: Option<usize>) -> Result<(), EmError> {
    check_shape(x, n_features)?;
    let (n, d) = x.shape();
    // Column-major scan of the contiguous values (fast), then report the first offending
    // row in row order.
    if x.as_slice().iter().any(|v| !v.is_finite()) {
        for row in 0..n {
            for column in 0..d {
                let value = x[(row, column)];
                if !value.is_finite() {
                    return Err(EmError::NonFinite { row, column, value });
                }
            }
        }
    }
    Ok(())
}

/// Checks that `x` has rows and `n_features` columns (when given; at least one otherwise):
/// the part of the data checks that does not look at the values.
pub(crate) fn check_shape(x: &DMatrix<f64>, n_features: Option<usize>) -> Result<(), EmError> {
    let (n, d) = x.shape();
    if n == 0 {
        return Err(EmError::EmptyData);
    }
    match n_features {
        Some(expected) if expected != d => Err(EmError::DimensionMismatch { expected, found: d }),
        None if d == 0 => Err(EmError::InvalidParameter {
            name: "data",
            reason: "the data have no columns".into(),
        }),
        _ => Ok(()),
    }
}

/// Gaussian data that passed [`check_data`]: a matrix with at least one row, at least one
/// column (the expected number, when one was given) and only finite values.
///
/// A value of this type proves the scan was done, so code that takes one does not scan the
/// N×D values again: a fit validates its data once, into a `CheckedData`, and hands that to
/// the k-means start ([`KMeans::fit_checked`](crate::kmeans::KMeans::fit_checked) and the
/// other `_checked` entries of [`kmeans`](crate::kmeans)). It borrows the matrix, so the data
/// cannot change while the proof exists. It dereferences to the matrix.
///
/// ```
/// use em_family::gaussian::CheckedData;
/// use nalgebra::dmatrix;
///
/// let x = dmatrix![0.0, 1.0; 2.0, 3.0];
/// let checked = CheckedData::new(&x, Some(2))?;
/// assert_eq!(checked.nrows(), 2);
/// assert!(CheckedData::new(&dmatrix![0.0, f64::NAN], None).is_err());
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CheckedData<'a> {
    x: &'a DMatrix<f64>,
}

impl<'a> CheckedData<'a> {
    /// Checks `x` with [`check_data`] (rows, `n_features` columns when given, finite values)
    /// and, if it passes, returns the proof.
    ///
    /// # Errors
    ///
    /// Those of [`check_data`]: [`EmError::EmptyData`], [`EmError::DimensionMismatch`],
    /// [`EmError::InvalidParameter`] (`data`) for no columns, [`EmError::NonFinite`] for the
    /// first NaN or ±∞ in row order.
    pub fn new(x: &'a DMatrix<f64>, n_features: Option<usize>) -> Result<Self, EmError> {
        check_data(x, n_features)?;
        Ok(CheckedData { x })
    }

    /// The checked matrix.
    pub fn matrix(self) -> &'a DMatrix<f64> {
        self.x
    }
}

impl std::ops::Deref for CheckedData<'_> {
    type Target = DMatrix<f64>;
    fn deref(&self) -> &DMatrix<f64> {
        self.x
    }
}

impl GaussianFamily {
    /// The complete-data kernel: log-joints with offsets, log-densities without.
    fn kernel_log_densities(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        offsets: Option<&[f64]>,
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        match offsets {
            Some(log_weights) => self.gaussians.log_joint(x, rows, log_weights, out, scratch),
            None => self.gaussians.log_densities(x, rows, out, scratch),
        }
    }
}

impl Family for GaussianFamily {
    type Data = DMatrix<f64>;
    type Stats = GaussianStats;
    type Sample = GaussianDraws;
    type Owned = DMatrix<f64>;

    fn n_components(&self) -> usize {
        self.gaussians.n_components()
    }

    fn n_features(&self) -> usize {
        self.gaussians.n_features()
    }

    /// K·D means and the covariances' own.
    fn n_parameters(&self) -> usize {
        let (k, d) = (self.n_components(), self.n_features());
        k * d + self.gaussians.covariance_type().n_parameters(k, d)
    }

    /// [`Gaussians::scaled_parameters`].
    fn scaled_parameters(&self) -> Option<em_core::ScaledParameters> {
        Some(self.gaussians.scaled_parameters())
    }

    /// Rows, D columns, finite values — or, with [`MissingValues::Model`], no ±∞ and at
    /// least one observed value per row and column ([`check_data_with_missing`]).
    fn check_data(&self, x: &DMatrix<f64>) -> Result<(), EmError> {
        match self.missing {
            MissingValues::Error => check_data(x, Some(self.n_features())),
            MissingValues::Model => check_data_with_missing(x, Some(self.n_features())),
        }
    }

    /// The dimension and the range only: the data's values are checked once, by
    /// [`check_data`](Family::check_data) at the fit's boundary; a NaN that slips through
    /// shows up as a non-finite objective, which the driver reports.
    fn check_batch(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<(), EmError> {
        check_batch_shape(self.n_features(), x.ncols(), &rows, x.nrows())
    }

    /// Sub-blocks sized for the kernel's cache use, whatever the missing-values setting: so
    /// that complete data give the same bits with either setting.
    fn block_rows(&self) -> usize {
        block_rows(self.n_features())
    }

    fn log_densities(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        offsets: Option<&[f64]>,
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        if self.missing == MissingValues::Model {
            let patterns = incomplete_patterns(x, &rows);
            if !patterns.is_empty() {
                // The complete rows through the kernel (on a copy without NaN), then the
                // incomplete ones overwritten with their marginal densities.
                let filled = zero_filled(x, &rows);
                self.kernel_log_densities(&filled, 0..rows.len(), offsets, out, scratch);
                incomplete_log_densities(
                    &self.gaussians,
                    &self.conditionals,
                    x,
                    &rows,
                    &patterns,
                    offsets,
                    out,
                );
                return;
            }
        }
        self.kernel_log_densities(x, rows, offsets, out, scratch);
    }

    fn zero_stats(&self, _: &DMatrix<f64>) -> GaussianStats {
        GaussianStats::zeros(
            self.n_components(),
            self.n_features(),
            self.gaussians.covariance_type(),
        )
    }

    fn accumulate(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        gamma: &[f64],
        sample_weights: Option<&[f64]>,
        scratch: &mut Vec<f64>,
    ) -> GaussianStats {
        if self.missing == MissingValues::Model {
            let patterns = incomplete_patterns(x, &rows);
            if !patterns.is_empty() {
                // The complete rows through the kernel (the incomplete ones zeroed and given
                // no weight), merged with the expected statistics of the incomplete ones.
                let filled = zero_filled(x, &rows);
                let c = rows.len();
                let mut complete_gamma = gamma.to_vec();
                for pattern_rows in patterns.iter().map(|p| p.rows()) {
                    for k in 0..self.n_components() {
                        pattern_rows
                            .iter()
                            .for_each(|&i| complete_gamma[k * c + i] = 0.0);
                    }
                }
                let mut stats = self.gaussians.accumulate(
                    &filled,
                    0..c,
                    &complete_gamma,
                    sample_weights,
                    scratch,
                );
                stats.merge(&incomplete_statistics(
                    &self.gaussians,
                    &self.conditionals,
                    x,
                    &rows,
                    &patterns,
                    gamma,
                    sample_weights,
                ));
                return stats;
            }
        }
        self.gaussians
            .accumulate(x, rows, gamma, sample_weights, scratch)
    }

    fn component_weights<'s>(&self, stats: &'s GaussianStats) -> &'s [f64] {
        stats.n.as_slice()
    }

    /// Σ_k Σ_i γ_ik E[log N(x_i | μ_k, Σ_k)] from the statistics, plus the entropy of the
    /// missing values' conditional distributions when there are any
    /// ([`GaussianStats::conditional_entropy`]).
    fn expected_log_density(&self, stats: &GaussianStats) -> f64 {
        self.gaussians.expected_log_density(stats) + stats.conditional_entropy
    }

    /// μ_k, Σ_k by maximum likelihood ([`Gaussians::maximise`]: a component with no weight
    /// keeps its mean and covariance) or, with a prior, their posterior modes (finite for
    /// every component, empty or not); then the ridge (see [`maximise`](super::maximise)).
    fn maximise(&mut self, stats: &GaussianStats) -> Result<(), EmError> {
        let Some(prior) = self.prior.as_ref() else {
            self.gaussians = self.gaussians.maximise(stats, self.reg_covar)?;
            self.conditionals = ConditionalCache::default();
            return Ok(());
        };
        let (k, d) = (self.n_components(), self.n_features());
        let kind = self.gaussians.covariance_type();
        if !stats.fits(k, d, kind) {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics of {} components in {} features do not have the shapes or \
                     the scatter form of {kind} covariances",
                    stats.n_components(),
                    stats.n_features()
                ),
            });
        }
        let (means, covariances) = gaussian_parameters(stats, kind, self.reg_covar, Some(prior));
        self.gaussians = Gaussians::new_in_context(means, covariances, "after the M-step")?;
        self.conditionals = ConditionalCache::default();
        Ok(())
    }

    /// The normal / inverse-Wishart part of the prior (its Dirichlet part is the mixture's).
    fn log_prior(&self) -> f64 {
        self.prior
            .as_ref()
            .map_or(0.0, |p| p.log_density_components(&self.gaussians))
    }

    fn weight_concentration(&self) -> Option<f64> {
        self.prior.as_ref().map(|p| p.weight_concentration)
    }

    fn new_sample(&self, capacity: usize) -> GaussianDraws {
        GaussianDraws {
            values: Vec::with_capacity(capacity * self.n_features()),
            cholesky: (0..self.n_components())
                .filter_map(|k| self.gaussians.cholesky(k))
                .collect(),
        }
    }

    /// μ_k + L_k z with z ~ N(0, I) and Σ_k = L_k L_kᵀ.
    fn draw<R: Rng + ?Sized>(&self, k: usize, rng: &mut R, sample: &mut GaussianDraws) {
        let d = self.n_features();
        let z = DVector::from_fn(d, |_, _| rng.sample::<f64, _>(StandardNormal));
        let row = self.gaussians.means().row(k).transpose() + &sample.cholesky[k] * z;
        sample.values.extend(row.iter());
    }

    fn finish_sample(&self, sample: GaussianDraws) -> DMatrix<f64> {
        let d = self.n_features();
        let n = sample.values.len() / d.max(1);
        DMatrix::from_row_slice(n, d, &sample.values)
    }
}
