//! Gaussian emissions, p(x_t | z_t = s) = N(x_t | μ_s, Σ_s), with full, diagonal, spherical
//! or tied covariances, on sequences stored as T×D matrices (one step per row).
//!
//! The mathematics is the family layer's, shared with the `gmm` crate's mixtures through
//! [`GaussianFamily`] (which [`Gaussian`] wraps, delegating its [`Family`] implementation to
//! it): Cholesky factors (never an inverse) and their singular-pivot
//! rule, log-densities by triangular solves along the contiguous columns of a sequence,
//! per-state statistics (N_s, mean, centred scatter: [`GaussianStats`]) merged across
//! sequences with the pairwise update of Chan, Golub and LeVeque (1979) so that data far from
//! the origin keep full precision, and the maximum-likelihood M-step with the `reg_covar`
//! ridge. The covariance structures are the family's ([`CovarianceType`], [`Covariances`]),
//! with the states as the components. This module adds what is particular to the HMM: states
//! named in errors and the random start (the k-means start is in `kmeans_start.rs`).

use std::ops::Range;

use em_core::EmError;
use em_family::gaussian::{GaussianDraws, GaussianFamily, MissingValues};
use em_family::{Family, Gaussians};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

pub use em_family::gaussian::{CovarianceType, Covariances, GaussianStats, Scatter};

use crate::model::Hmm;
use crate::sequence::{bad_sequence, name_sequence};

/// Gaussian emissions for S states in D dimensions; sequences are `DMatrix<f64>` with one
/// step per row (T×D).
///
/// Always valid: means finite, covariances symmetric positive definite (their Cholesky
/// factors are cached). The M-step is maximum likelihood, then the optional
/// [`reg_covar`](Self::with_reg_covar) ridge; a state with no expected observations keeps its
/// mean and covariance.
///
/// It is the family layer's [`GaussianFamily`] with the states named in its errors ("state 1,
/// after the M-step: …", "the tied covariance shared by all states, …"): its [`Family`]
/// implementation delegates to that family.
///
/// The four covariance structures: `full` (Σ_s), `diag` (a diagonal Σ_s), `spherical`
/// (σ²_s I) and `tied` (one Σ shared by all states).
///
/// ```
/// use hmm::{CovarianceType, Covariances, Gaussian};
/// use nalgebra::{dmatrix, dvector};
/// let g = Gaussian::new(dmatrix![0.0; 5.0], Covariances::Diag(dmatrix![1.0; 2.0]))?;
/// assert_eq!((g.n_states(), g.n_features()), (2, 1));
/// let tied = Gaussian::new(dmatrix![0.0, 0.0; 3.0, 3.0], Covariances::Tied(dmatrix![1.0, 0.5; 0.5, 2.0]))?;
/// assert_eq!(tied.covariance(1), Some(dmatrix![1.0, 0.5; 0.5, 2.0]));
/// let spherical = Gaussian::new(dmatrix![0.0; 3.0], Covariances::Spherical(dvector![1.0, 0.5]))?;
/// assert_eq!(spherical.covariance_type(), CovarianceType::Spherical);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GaussianSpec", into = "GaussianSpec")]
pub struct Gaussian {
    /// The means and covariances with their factors and the `reg_covar` ridge: all the
    /// mathematics.
    family: GaussianFamily,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GaussianSpec {
    means: DMatrix<f64>,
    covariances: Covariances,
    #[serde(default)]
    reg_covar: f64,
    #[serde(default, skip_serializing_if = "is_error")]
    missing_values: MissingValues,
}

/// Files written before missing values were modelled carry no `missing_values`; the default
/// is left out when writing.
fn is_error(missing: &MissingValues) -> bool {
    *missing == MissingValues::Error
}

impl TryFrom<GaussianSpec> for Gaussian {
    type Error = EmError;
    fn try_from(s: GaussianSpec) -> Result<Self, EmError> {
        Ok(Gaussian::new(s.means, s.covariances)?
            .with_reg_covar(s.reg_covar)?
            .with_missing_values(s.missing_values))
    }
}

impl From<Gaussian> for GaussianSpec {
    fn from(g: Gaussian) -> Self {
        let (reg_covar, missing_values) = (g.family.reg_covar(), g.family.missing_values());
        let (means, covariances) = g.family.gaussians().clone().into_parts();
        GaussianSpec {
            means,
            covariances,
            reg_covar,
            missing_values,
        }
    }
}

/// The family layer names the component of a covariance that is not positive definite; the
/// HMM's message also says it is a state ("state 1, after the M-step: …"), or, for `tied`
/// covariances (component 0), the covariance shared by all states.
fn name_state(kind: CovarianceType) -> impl Fn(EmError) -> EmError {
    move |e| match e {
        EmError::NotPositiveDefinite { component, detail } => EmError::NotPositiveDefinite {
            component,
            detail: match kind {
                CovarianceType::Tied => {
                    format!("the tied covariance shared by all states, {detail}")
                }
                _ => format!("state {component}, {detail}"),
            },
        },
        other => other,
    }
}

impl Gaussian {
    /// Gaussian emissions with means (S×D, row s = μ_s) and covariances of any of the four
    /// structures: S matrices of D×D (`full`), an S×D matrix of variances (`diag`), S
    /// variances (`spherical`) or one D×D matrix shared by all states (`tied`).
    ///
    /// Fails with [`EmError::InvalidParameter`] for shapes that disagree or non-finite means,
    /// and with [`EmError::NotPositiveDefinite`] naming the state (for `tied`: the shared
    /// covariance, component 0) for a covariance that is not symmetric positive definite (or
    /// a variance ≤ 0).
    pub fn new(means: DMatrix<f64>, covariances: Covariances) -> Result<Self, EmError> {
        let (s, d) = means.shape();
        if s == 0 || d == 0 {
            return Err(EmError::InvalidParameter {
                name: "means",
                reason: format!("need at least one state and one feature, got {s}×{d}"),
            });
        }
        if let Some((k, v)) = means.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "means",
                reason: format!("state {} has a non-finite mean {v}", k % s),
            });
        }
        let ok = match &covariances {
            Covariances::Full(c) => c.len() == s && c.iter().all(|m| m.shape() == (d, d)),
            Covariances::Diag(v) => v.shape() == (s, d),
            Covariances::Spherical(v) => v.len() == s,
            Covariances::Tied(m) => m.shape() == (d, d),
        };
        if !ok {
            return Err(EmError::InvalidParameter {
                name: "covariances",
                reason: match covariances {
                    Covariances::Full(_) => format!("expected {s} matrices of {d}×{d}"),
                    Covariances::Diag(_) => format!("expected a {s}×{d} matrix of variances"),
                    Covariances::Spherical(_) => format!("expected {s} variances, one per state"),
                    Covariances::Tied(_) => {
                        format!("expected one {d}×{d} matrix, shared by all states")
                    }
                },
            });
        }
        let kind = covariances.covariance_type();
        let gaussians = Gaussians::new(means, covariances).map_err(name_state(kind))?;
        Ok(Gaussian {
            family: GaussianFamily::new(gaussians),
        })
    }

    /// Sets the ridge added to every variance after each M-step (scikit-learn's
    /// `reg_covar`; default 0).
    ///
    /// It keeps covariances positive definite when a state collapses onto few points, but it
    /// is **not a prior**: with `reg_covar > 0` the M-step is no longer the exact maximiser
    /// and the log-likelihood may (rarely, by tiny amounts) decrease.
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Result<Self, EmError> {
        self.family = self.family.with_reg_covar(reg_covar)?;
        Ok(self)
    }

    /// Sets what a NaN in a sequence means: an error (the default) or a value that was not
    /// observed ([`MissingValues::Model`]): a step with missing values is emitted with the
    /// marginal density of its observed coordinates, and the M-step uses the conditional
    /// expectations of the missing ones — the family layer's exact EM for missing values,
    /// the same as a Gaussian mixture's.
    pub fn with_missing_values(mut self, missing: MissingValues) -> Self {
        self.family = self.family.with_missing_values(missing);
        self
    }

    /// Number of states S.
    pub fn n_states(&self) -> usize {
        self.gaussians().n_components()
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.gaussians().n_features()
    }

    /// State means, S×D (row s is μ_s).
    pub fn means(&self) -> &DMatrix<f64> {
        self.gaussians().means()
    }

    /// The covariances, in the form of their structure.
    pub fn covariances(&self) -> &Covariances {
        self.gaussians().covariances()
    }

    /// The covariance structure.
    pub fn covariance_type(&self) -> CovarianceType {
        self.gaussians().covariance_type()
    }

    /// The full D×D covariance matrix of state `s` (whatever the structure), or `None` if
    /// `s ≥ S`.
    pub fn covariance(&self, s: usize) -> Option<DMatrix<f64>> {
        (s < self.n_states()).then(|| {
            self.gaussians()
                .covariances()
                .full_matrix(s, self.n_features())
        })
    }

    /// The `reg_covar` ridge of the M-step.
    pub fn reg_covar(&self) -> f64 {
        self.family.reg_covar()
    }

    /// The states' Gaussians as the family layer's [`em_family::Gaussians`] (S components),
    /// which evaluate them.
    pub fn gaussians(&self) -> &Gaussians {
        self.family.gaussians()
    }

    /// The family layer's [`GaussianFamily`] of the states (the Gaussians and the ridge),
    /// to which the [`Family`] implementation delegates.
    pub fn family(&self) -> &GaussianFamily {
        &self.family
    }

    /// The emissions of `family`'s Gaussians, keeping its settings.
    pub(crate) fn from_family(family: GaussianFamily) -> Self {
        Gaussian { family }
    }
}

/// [`GaussianFamily`]'s, with the states named in the M-step's errors.
impl Family for Gaussian {
    type Data = DMatrix<f64>;
    type Stats = GaussianStats;
    type Sample = GaussianDraws;
    type Owned = DMatrix<f64>;

    fn n_components(&self) -> usize {
        self.family.n_components()
    }

    fn n_features(&self) -> usize {
        self.family.n_features()
    }

    /// S·D means and the covariances' own.
    fn n_parameters(&self) -> usize {
        self.family.n_parameters()
    }

    /// The family layer's ([`Gaussians::scaled_parameters`]).
    fn scaled_parameters(&self) -> Option<em_core::ScaledParameters> {
        self.family.scaled_parameters()
    }

    /// Steps, D features, finite values.
    fn check_data(&self, x: &DMatrix<f64>) -> Result<(), EmError> {
        self.family.check_data(x)
    }

    fn check_batch(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<(), EmError> {
        self.family.check_batch(x, rows)
    }

    fn block_rows(&self) -> usize {
        self.family.block_rows()
    }

    /// [`Gaussians::log_densities`] over the rows (vectorised along the feature columns).
    fn log_densities(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        offsets: Option<&[f64]>,
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        self.family.log_densities(x, rows, offsets, out, scratch);
    }

    fn zero_stats(&self, x: &DMatrix<f64>) -> GaussianStats {
        self.family.zero_stats(x)
    }

    /// [`Gaussians::accumulate`] with the posteriors γ_t(s) as weights (per state: N_s, the
    /// γ-weighted mean, shifted by the first row so that a constant feature has an exactly
    /// zero scatter, and the centred scatter); statistics of sequences merge with Chan's
    /// update.
    fn accumulate(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        gamma: &[f64],
        sample_weights: Option<&[f64]>,
        scratch: &mut Vec<f64>,
    ) -> GaussianStats {
        self.family
            .accumulate(x, rows, gamma, sample_weights, scratch)
    }

    fn component_weights<'s>(&self, stats: &'s GaussianStats) -> &'s [f64] {
        self.family.component_weights(stats)
    }

    /// Σ_s [N_s (−(D/2) log 2π − ½ log|Σ_s|) − ½ tr(Σ_s⁻¹ (M2_s + N_s δ_s δ_sᵀ))],
    /// δ_s = m_s − μ_s; NaN for statistics of another shape
    /// ([`Gaussians::expected_log_density`]).
    fn expected_log_density(&self, stats: &GaussianStats) -> f64 {
        self.family.expected_log_density(stats)
    }

    /// μ_s = m_s and Σ_s = M2_s / N_s (+ `reg_covar` on the diagonal) for every state with
    /// N_s > 0 (`diag`: the diagonal of M2_s / N_s; `spherical`: tr(M2_s) / (N_s D); `tied`:
    /// Σ_s M2_s / Σ_s N_s); a state with N_s = 0 keeps its parameters
    /// ([`Gaussians::maximise`]). Fails with [`EmError::NotPositiveDefinite`] naming the state
    /// (or the tied covariance) when a new covariance is singular, and with
    /// [`EmError::InvalidParameter`] for statistics of another shape.
    fn maximise(&mut self, stats: &GaussianStats) -> Result<(), EmError> {
        let kind = self.covariance_type();
        self.family.maximise(stats).map_err(name_state(kind))
    }

    fn log_prior(&self) -> f64 {
        self.family.log_prior()
    }

    fn new_sample(&self, capacity: usize) -> GaussianDraws {
        self.family.new_sample(capacity)
    }

    /// μ_s + L_s z with z ~ N(0, I) and Σ_s = L_s L_sᵀ.
    fn draw<R: Rng + ?Sized>(&self, s: usize, rng: &mut R, sample: &mut GaussianDraws) {
        self.family.draw(s, rng, sample);
    }

    fn finish_sample(&self, sample: GaussianDraws) -> DMatrix<f64> {
        self.family.finish_sample(sample)
    }
}

impl Hmm<Gaussian> {
    /// A random starting point for EM on `sequences`: means at S steps chosen by k-means++
    /// seeding (uniform first pick, then proportional to the squared distance to the nearest
    /// mean already chosen), every state's covariance the pooled covariance Σ of all steps
    /// (its diagonal for [`CovarianceType::Diag`], the mean variance tr(Σ)/D for
    /// [`CovarianceType::Spherical`], Σ itself once for [`CovarianceType::Tied`]), uniform
    /// initial probabilities and
    /// transitions A = ½ I + 1/(2S). Use it as the initialiser of
    /// [`Em::fit_restarts`](em_core::Em::fit_restarts).
    ///
    /// Errors: a bad sequence (named), [`EmError::TooFewObservations`] with fewer steps than
    /// states, [`EmError::NotPositiveDefinite`] when the pooled covariance is singular.
    ///
    /// [`kmeans_start`](Self::kmeans_start) runs k-means to the end and starts each state from
    /// its cluster's covariance; with several well-separated states it reaches the best optimum
    /// from far more seeds than this start does.
    pub fn random_start<R: Rng + ?Sized>(
        n_states: usize,
        covariance_type: CovarianceType,
        sequences: &[DMatrix<f64>],
        rng: &mut R,
    ) -> Result<Self, EmError> {
        check_n_states(n_states)?;
        let first = sequences.first().ok_or(EmError::EmptyData)?;
        let d = first.ncols();
        if d == 0 {
            return Err(bad_sequence(0, "has no features"));
        }
        let mut n_steps = 0;
        for (i, x) in sequences.iter().enumerate() {
            em_family::gaussian::check_data(x, Some(d)).map_err(|e| name_sequence(i, e))?;
            n_steps += x.nrows();
        }
        if n_steps < n_states {
            return Err(EmError::TooFewObservations {
                n_obs: n_steps,
                n_components: n_states,
            });
        }
        let rows: Vec<DVector<f64>> = sequences
            .iter()
            .flat_map(|x| x.row_iter().map(|r| r.transpose()).collect::<Vec<_>>())
            .collect();
        // k-means++ seeding.
        let mut means = DMatrix::zeros(n_states, d);
        let mut nearest = vec![f64::INFINITY; rows.len()];
        let mut pick = rng.random_range(0..rows.len());
        for s in 0..n_states {
            means.set_row(s, &rows[pick].transpose());
            for (dist, r) in nearest.iter_mut().zip(&rows) {
                *dist = dist.min((r - &rows[pick]).norm_squared());
            }
            let total: f64 = nearest.iter().sum();
            pick = if total > 0.0 && total.is_finite() {
                crate::model::draw(&nearest, rng)
            } else {
                rng.random_range(0..rows.len())
            };
        }
        // Pooled (biased) covariance.
        let n = rows.len() as f64;
        let mean = rows.iter().fold(DVector::zeros(d), |a, r| a + r) / n;
        let cov = rows.iter().fold(DMatrix::zeros(d, d), |a, r| {
            let c = r - &mean;
            a + &c * c.transpose()
        }) / n;
        let covariances = match covariance_type {
            CovarianceType::Full => Covariances::Full(vec![cov; n_states]),
            CovarianceType::Diag => {
                Covariances::Diag(DMatrix::from_fn(n_states, d, |_, j| cov[(j, j)]))
            }
            CovarianceType::Spherical => {
                Covariances::Spherical(DVector::from_element(n_states, cov.trace() / d as f64))
            }
            CovarianceType::Tied => Covariances::Tied(cov),
        };
        start_from(
            means,
            covariances,
            "random start from the pooled covariance of the data",
        )
    }

    /// Sets what a NaN in a sequence means (see [`Gaussian::with_missing_values`]).
    ///
    /// ```
    /// use em_core::testing::{Tolerance, check_invariants};
    /// use hmm::{Covariances, GaussianHmm, MissingValues};
    /// use nalgebra::{dmatrix, dvector};
    ///
    /// let start = GaussianHmm::new(
    ///     dvector![0.5, 0.5],
    ///     dmatrix![0.9, 0.1; 0.2, 0.8],
    ///     hmm::Gaussian::new(dmatrix![0.0, 0.0; 3.0, 3.0], Covariances::Full(vec![
    ///         dmatrix![1.0, 0.3; 0.3, 1.0], dmatrix![1.0, -0.2; -0.2, 1.0]]))?,
    /// )?
    /// .with_missing_values(MissingValues::Model);
    /// let nan = f64::NAN;
    /// let sequence = dmatrix![0.1, nan; 0.3, -0.2; nan, 2.9; 3.2, 3.1; 2.8, nan; -0.1, 0.4];
    /// let report = check_invariants(start, &[sequence][..], 10, Tolerance::default())?;
    /// assert!(report.is_ok(), "{report}");
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn with_missing_values(mut self, missing: MissingValues) -> Self {
        let g = self.emission().clone().with_missing_values(missing);
        *self.emission_mut() = g;
        self
    }

    /// Sets the emissions' `reg_covar` ridge (see [`Gaussian::with_reg_covar`]).
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Result<Self, EmError> {
        let g = self.emission().clone().with_reg_covar(reg_covar)?;
        *self.emission_mut() = g;
        Ok(self)
    }
}

/// The error for `n_states == 0` (the number of states of a start).
pub(crate) fn check_n_states(n_states: usize) -> Result<(), EmError> {
    if n_states == 0 {
        return Err(EmError::InvalidParameter {
            name: "n_states",
            reason: "must be at least 1".into(),
        });
    }
    Ok(())
}

/// A start of a Gaussian HMM: uniform initial probabilities, [`sticky_transitions`], and
/// Gaussian emissions with these means (S×D) and covariances; a covariance that is not
/// positive definite is reported with the `origin` of the start ("random start from …").
pub(crate) fn start_from(
    means: DMatrix<f64>,
    covariances: Covariances,
    origin: &str,
) -> Result<Hmm<Gaussian>, EmError> {
    let n_states = means.nrows();
    let emission = Gaussian::new(means, covariances).map_err(|e| match e {
        EmError::NotPositiveDefinite { component, detail } => EmError::NotPositiveDefinite {
            component,
            detail: format!("{origin} ({detail})"),
        },
        other => other,
    })?;
    Hmm::new(
        DVector::from_element(n_states, 1.0 / n_states as f64),
        sticky_transitions(n_states),
        emission,
    )
}

/// A = ½ I + 1/(2S): each state keeps itself with probability ½ + 1/(2S).
pub(crate) fn sticky_transitions(s: usize) -> DMatrix<f64> {
    DMatrix::from_fn(s, s, |i, j| if i == j { 0.5 } else { 0.0 } + 0.5 / s as f64)
}
