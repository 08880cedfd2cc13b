//! Gaussian emissions, p(x_t | z_t = s) = N(x_t | μ_s, Σ_s), with full, diagonal, spherical
//! or tied covariances, on sequences stored as T×D matrices (one step per row).
//!
//! The mathematics is the family layer's, shared with the `gmm` crate's mixtures through
//! [`em_family::Gaussians`]: Cholesky factors (never an inverse) and their singular-pivot
//! rule, log-densities by triangular solves along the contiguous columns of a sequence,
//! per-state statistics (N_s, mean, centred scatter: [`GaussianStats`]) merged across
//! sequences with the pairwise update of Chan, Golub and LeVeque (1979) so that data far from
//! the origin keep full precision, and the maximum-likelihood M-step with the `reg_covar`
//! ridge. The covariance structures are the family's ([`CovarianceType`], [`Covariances`]),
//! with the states as the components. This module adds what is particular to the HMM: states
//! named in errors, sequences and their errors, and the random start.

use em_core::{EmError, Statistics};
use em_family::Gaussians;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

pub use em_family::gaussian::{CovarianceType, Covariances, GaussianStats, Scatter};

use crate::emission::{Emission, bad_sequence, bad_step};
use crate::model::Hmm;

/// Gaussian emissions for S states in D dimensions; sequences are `DMatrix<f64>` with one
/// step per row (T×D).
///
/// Always valid: means finite, covariances symmetric positive definite (their Cholesky
/// factors are cached). The M-step is maximum likelihood, then the optional
/// [`reg_covar`](Self::with_reg_covar) ridge.
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
    reg_covar: f64,
    /// The means and covariances with their factors: all the mathematics.
    gaussians: Gaussians,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GaussianSpec {
    means: DMatrix<f64>,
    covariances: Covariances,
    #[serde(default)]
    reg_covar: f64,
}

impl TryFrom<GaussianSpec> for Gaussian {
    type Error = EmError;
    fn try_from(s: GaussianSpec) -> Result<Self, EmError> {
        Gaussian::new(s.means, s.covariances)?.with_reg_covar(s.reg_covar)
    }
}

impl From<Gaussian> for GaussianSpec {
    fn from(g: Gaussian) -> Self {
        let (means, covariances) = g.gaussians.into_parts();
        GaussianSpec {
            means,
            covariances,
            reg_covar: g.reg_covar,
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

/// `dst[j·rows + i] = src[i·cols + j]`: a row-major rows×cols buffer made column-major
/// (between the HMM's step-major layout and the family layer's component-major one).
fn transpose_into(src: &[f64], rows: usize, cols: usize, dst: &mut [f64]) {
    debug_assert_eq!((src.len(), dst.len()), (rows * cols, rows * cols));
    for (j, col) in dst.chunks_exact_mut(rows.max(1)).enumerate().take(cols) {
        for (i, v) in col.iter_mut().enumerate() {
            *v = src[i * cols + j];
        }
    }
}

/// Checks one sequence against `d` features: at least one step, `d` columns, finite values.
fn check_sequence(x: &DMatrix<f64>, d: usize, index: usize) -> Result<usize, EmError> {
    if x.nrows() == 0 {
        return Err(bad_sequence(
            index,
            "is empty (0 steps); every sequence needs at least one step",
        ));
    }
    if x.ncols() != d {
        return Err(bad_sequence(
            index,
            format!(
                "dimension mismatch: it has {} features, the model has {d}",
                x.ncols()
            ),
        ));
    }
    if x.iter().any(|v| !v.is_finite()) {
        for t in 0..x.nrows() {
            for j in 0..d {
                let v = x[(t, j)];
                if !v.is_finite() {
                    return Err(bad_step(
                        index,
                        t,
                        Some(j),
                        format!("value {v} in feature {j} is not finite"),
                    ));
                }
            }
        }
    }
    Ok(x.nrows())
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
            reg_covar: 0.0,
            gaussians,
        })
    }

    /// Sets the ridge added to every variance after each M-step (scikit-learn's
    /// `reg_covar`; default 0).
    ///
    /// It keeps covariances positive definite when a state collapses onto few points, but it
    /// is **not a prior**: with `reg_covar > 0` the M-step is no longer the exact maximiser
    /// and the log-likelihood may (rarely, by tiny amounts) decrease.
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Result<Self, EmError> {
        em_family::gaussian::check_reg_covar(reg_covar)?;
        self.reg_covar = reg_covar;
        Ok(self)
    }

    /// Number of states S.
    pub fn n_states(&self) -> usize {
        self.gaussians.n_components()
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.gaussians.n_features()
    }

    /// State means, S×D (row s is μ_s).
    pub fn means(&self) -> &DMatrix<f64> {
        self.gaussians.means()
    }

    /// The covariances, in the form of their structure.
    pub fn covariances(&self) -> &Covariances {
        self.gaussians.covariances()
    }

    /// The covariance structure.
    pub fn covariance_type(&self) -> CovarianceType {
        self.gaussians.covariance_type()
    }

    /// The full D×D covariance matrix of state `s` (whatever the structure), or `None` if
    /// `s ≥ S`.
    pub fn covariance(&self, s: usize) -> Option<DMatrix<f64>> {
        (s < self.n_states()).then(|| {
            self.gaussians
                .covariances()
                .full_matrix(s, self.n_features())
        })
    }

    /// The `reg_covar` ridge of the M-step.
    pub fn reg_covar(&self) -> f64 {
        self.reg_covar
    }

    /// The states' Gaussians as the family layer's [`em_family::Gaussians`] (S components),
    /// which evaluate them.
    pub fn gaussians(&self) -> &Gaussians {
        &self.gaussians
    }
}

impl Emission for Gaussian {
    type Sequence = DMatrix<f64>;
    type Stats = GaussianStats;

    fn n_states(&self) -> usize {
        self.gaussians.n_components()
    }

    fn steps(&self, sequence: &DMatrix<f64>) -> usize {
        sequence.nrows()
    }

    fn check(&self, sequence: &DMatrix<f64>, index: usize) -> Result<usize, EmError> {
        check_sequence(sequence, self.n_features(), index)
    }

    /// [`Gaussians::log_densities`] over the whole sequence (vectorised along its
    /// feature columns), rearranged from state-major to step-major.
    fn log_densities(&self, x: &DMatrix<f64>, out: &mut [f64]) {
        let (t_len, s_count) = (x.nrows(), self.n_states());
        let mut by_state = vec![0.0; s_count * t_len];
        self.gaussians
            .log_densities(x, 0..t_len, &mut by_state, &mut Vec::new());
        transpose_into(&by_state, s_count, t_len, out);
    }

    fn zero_stats(&self) -> GaussianStats {
        GaussianStats::zeros(self.n_states(), self.n_features(), self.covariance_type())
    }

    /// [`Gaussians::accumulate`] with the posteriors γ_t(s) as weights (per state: N_s,
    /// the γ-weighted mean, shifted by the sequence's first value so that a constant feature
    /// has an exactly zero scatter, and the centred scatter), merged into `stats` with Chan's
    /// update.
    fn accumulate(&self, x: &DMatrix<f64>, gamma: &[f64], stats: &mut GaussianStats) {
        let (t_len, s_count) = (x.nrows(), self.n_states());
        let mut by_state = vec![0.0; s_count * t_len];
        transpose_into(gamma, t_len, s_count, &mut by_state);
        let part = self
            .gaussians
            .accumulate(x, 0..t_len, &by_state, None, &mut Vec::new());
        stats.merge(&part);
    }

    /// Σ_s [N_s (−(D/2) log 2π − ½ log|Σ_s|) − ½ tr(Σ_s⁻¹ (M2_s + N_s δ_s δ_sᵀ))],
    /// δ_s = m_s − μ_s; NaN for statistics of another shape
    /// ([`Gaussians::expected_log_density`]).
    fn expected_log_density(&self, stats: &GaussianStats) -> f64 {
        self.gaussians.expected_log_density(stats)
    }

    /// μ_s = m_s and Σ_s = M2_s / N_s (+ `reg_covar` on the diagonal) for every state with
    /// N_s > 0 (`diag`: the diagonal of M2_s / N_s; `spherical`: tr(M2_s) / (N_s D); `tied`:
    /// Σ_s M2_s / Σ_s N_s); a state with N_s = 0 keeps its parameters
    /// ([`Gaussians::maximise`]). Fails with [`EmError::NotPositiveDefinite`] naming the state
    /// (or the tied covariance) when a new covariance is singular, and with
    /// [`EmError::InvalidParameter`] for statistics of another shape.
    fn maximise(&mut self, stats: &GaussianStats) -> Result<(), EmError> {
        let kind = self.covariance_type();
        self.gaussians = self
            .gaussians
            .maximise(stats, self.reg_covar)
            .map_err(name_state(kind))?;
        Ok(())
    }

    fn sample<R: Rng + ?Sized>(&self, states: &[usize], rng: &mut R) -> DMatrix<f64> {
        let d = self.n_features();
        let factors: Vec<DMatrix<f64>> = (0..self.n_states())
            .filter_map(|s| self.gaussians.cholesky(s))
            .collect();
        let mut x = DMatrix::zeros(states.len(), d);
        for (t, &s) in states.iter().enumerate() {
            let z = DVector::from_fn(d, |_, _| rng.sample::<f64, _>(StandardNormal));
            let v = self.means().row(s).transpose() + &factors[s] * z;
            x.set_row(t, &v.transpose());
        }
        x
    }

    fn n_parameters(&self) -> usize {
        let (s, d) = (self.n_states(), self.n_features());
        s * d + self.covariance_type().n_parameters(s, d)
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
    pub fn random_start<R: Rng + ?Sized>(
        n_states: usize,
        covariance_type: CovarianceType,
        sequences: &[DMatrix<f64>],
        rng: &mut R,
    ) -> Result<Self, EmError> {
        if n_states == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_states",
                reason: "must be at least 1".into(),
            });
        }
        let first = sequences.first().ok_or(EmError::EmptyData)?;
        let d = first.ncols();
        if d == 0 {
            return Err(bad_sequence(0, "has no features"));
        }
        let mut n_steps = 0;
        for (i, x) in sequences.iter().enumerate() {
            n_steps += check_sequence(x, d, i)?;
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
        let emission = Gaussian::new(means, covariances).map_err(|e| match e {
            EmError::NotPositiveDefinite { component, detail } => EmError::NotPositiveDefinite {
                component,
                detail: format!("random start from the pooled covariance of the data ({detail})"),
            },
            other => other,
        })?;
        Hmm::new(
            DVector::from_element(n_states, 1.0 / n_states as f64),
            sticky_transitions(n_states),
            emission,
        )
    }

    /// Sets the emissions' `reg_covar` ridge (see [`Gaussian::with_reg_covar`]).
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Result<Self, EmError> {
        let g = self.emission().clone().with_reg_covar(reg_covar)?;
        *self.emission_mut() = g;
        Ok(self)
    }
}

/// A = ½ I + 1/(2S): each state keeps itself with probability ½ + 1/(2S).
pub(crate) fn sticky_transitions(s: usize) -> DMatrix<f64> {
    DMatrix::from_fn(s, s, |i, j| if i == j { 0.5 } else { 0.0 } + 0.5 / s as f64)
}
