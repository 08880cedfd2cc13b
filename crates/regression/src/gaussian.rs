//! K Gaussian (identity-link) regressions: y | x, z = k ~ N(xᵀβ_k, σ_k²), with exact
//! sufficient statistics and a closed-form M-step.

use std::ops::Range;

use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use em_family::Family;
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::data::RegressionData;
use crate::family::{
    RegressionFamily, check_coefficients, check_design, check_theta, coefficients_from_rows,
    coefficients_to_rows,
};
use crate::linalg::{cholesky, cholesky_solve, positive, singular_reason};

/// ½ log(2π).
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// A residual variance this many rounding units of Σγy² (or fewer) is indistinguishable from
/// 0: the component fits its observations exactly, and the likelihood is unbounded there.
const COLLAPSE_ULPS: f64 = 1e3;

/// How the M-step sets σ_k² from the weighted residual sum of squares RSS_k = Σ_i γ_ik
/// (y_i − x_iᵀβ_k)² and N_k = Σ_i γ_ik.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceEstimator {
    /// σ_k² = RSS_k / N_k: the maximiser of the expected complete log-likelihood, so EM is
    /// exact and the EM invariants hold. The default.
    #[default]
    MaximumLikelihood,
    /// flexmix's rule (`FLXMRglm(family = "gaussian")`): σ_k² = RSS_k / N_k · N / (N − P),
    /// with N = Σ_k N_k the number of observations and P the number of design columns. Not
    /// the maximiser (σ² is inflated by N / (N − P)), so this is *not* EM: the
    /// log-likelihood need not increase at every step and the invariant checker does not
    /// apply. For reproducing flexmix's numbers only.
    Flexmix,
}

/// Settings of [`GaussianRegressions`] that are not parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct GaussianSettings {
    /// How σ_k² is set from the residuals.
    #[serde(default)]
    pub variance: VarianceEstimator,
    /// A lower bound on σ_k² (0, the default: none). With a floor, a component whose
    /// residual variance falls below it gets σ_k² = floor — the maximiser under the
    /// constraint σ_k² ≥ floor, so EM stays exact and monotone. Without one, a collapsed
    /// variance is an [`EmError::DegenerateComponent`].
    #[serde(default)]
    pub variance_floor: f64,
}

/// K Gaussian regressions on P design columns: y | x, z = k ~ N(xᵀβ_k, σ_k²).
///
/// **Statistics** (per component, all additive over batches): N_k = Σγ, XᵀWX (P×P), XᵀWy,
/// yᵀWy with W = diag(γ_·k) — enough for the exact M-step and for Σγ log f at any
/// parameters. **M-step**: β_k solves XᵀWX β = XᵀWy (Cholesky; a singular XᵀWX is an
/// [`EmError::DegenerateComponent`] naming the component and the design column), σ_k² =
/// RSS_k / N_k ([`VarianceEstimator`]), RSS_k = yᵀWy − 2βᵀXᵀWy + βᵀXᵀWXβ.
///
/// ```
/// use em_core::EmError;
/// use em_regression::{GaussianRegressions, RegressionData, RegressionMixture};
/// use nalgebra::{DMatrix, dmatrix};
///
/// // Two lines through the origin, slopes 1 and −1.
/// let family = GaussianRegressions::new(dmatrix![0.0, 1.0; 0.0, -1.0], vec![0.25, 0.25])?;
/// let model = RegressionMixture::new(vec![0.5, 0.5], family)?;
/// let x = DMatrix::from_column_slice(2, 1, &[2.0, 2.0]);
/// let data = RegressionData::with_intercept(&x, vec![2.1, -1.9])?;
/// assert_eq!(model.predict(&data)?, vec![0, 1]);
/// # Ok::<(), EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GaussianSpec", into = "GaussianSpec")]
pub struct GaussianRegressions {
    coefficients: DMatrix<f64>,
    variances: Vec<f64>,
    settings: GaussianSettings,
    /// −½ log(2π σ_k²).
    log_normalisers: Vec<f64>,
}

/// The serialised form of [`GaussianRegressions`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GaussianSpec {
    coefficients: Vec<Vec<f64>>,
    variances: Vec<f64>,
    #[serde(default)]
    settings: GaussianSettings,
}

impl TryFrom<GaussianSpec> for GaussianRegressions {
    type Error = EmError;
    fn try_from(spec: GaussianSpec) -> Result<Self, EmError> {
        GaussianRegressions::new(coefficients_from_rows(&spec.coefficients)?, spec.variances)?
            .with_settings(spec.settings)
    }
}

impl From<GaussianRegressions> for GaussianSpec {
    fn from(f: GaussianRegressions) -> Self {
        GaussianSpec {
            coefficients: coefficients_to_rows(&f.coefficients),
            variances: f.variances,
            settings: f.settings,
        }
    }
}

impl GaussianRegressions {
    /// K regressions with coefficients β (K×P, row k for component k) and variances σ_k²
    /// (length K), with the default settings.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `coefficients` (empty, non-finite) or
    /// `variances` (not K of them, not finite and > 0).
    ///
    /// ```
    /// use em_regression::GaussianRegressions;
    /// use nalgebra::dmatrix;
    /// assert!(GaussianRegressions::new(dmatrix![1.0, 2.0], vec![1.0]).is_ok());
    /// assert!(GaussianRegressions::new(dmatrix![1.0, 2.0], vec![0.0]).is_err());
    /// ```
    pub fn new(coefficients: DMatrix<f64>, variances: Vec<f64>) -> Result<Self, EmError> {
        check_coefficients(&coefficients)?;
        let k = coefficients.nrows();
        if variances.len() != k {
            return Err(EmError::InvalidParameter {
                name: "variances",
                reason: format!(
                    "expected {k} variances (one per component), got {}",
                    variances.len()
                ),
            });
        }
        check_variances(&variances, 0.0)?;
        Ok(Self::from_parts(
            coefficients,
            variances,
            GaussianSettings::default(),
        ))
    }

    fn from_parts(
        coefficients: DMatrix<f64>,
        variances: Vec<f64>,
        settings: GaussianSettings,
    ) -> Self {
        let log_normalisers = variances
            .iter()
            .map(|v| -HALF_LN_2PI - 0.5 * v.ln())
            .collect();
        GaussianRegressions {
            coefficients,
            variances,
            settings,
            log_normalisers,
        }
    }

    /// The same regressions with other settings.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `variance_floor` when the floor is negative or
    /// not finite, or `variances` when a variance is below it.
    ///
    /// ```
    /// use em_regression::{GaussianRegressions, GaussianSettings};
    /// use nalgebra::dmatrix;
    /// let f = GaussianRegressions::new(dmatrix![0.0], vec![1.0])?;
    /// let floored = f.clone().with_settings(GaussianSettings { variance_floor: 0.01, ..Default::default() })?;
    /// assert_eq!(floored.variances(), &[1.0]);
    /// assert!(f.with_settings(GaussianSettings { variance_floor: 2.0, ..Default::default() }).is_err());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn with_settings(mut self, settings: GaussianSettings) -> Result<Self, EmError> {
        check_floor(settings.variance_floor)?;
        check_variances(&self.variances, settings.variance_floor)?;
        self.settings = settings;
        Ok(self)
    }

    /// The variances σ_k².
    pub fn variances(&self) -> &[f64] {
        &self.variances
    }

    /// The standard deviations σ_k.
    pub fn sigmas(&self) -> Vec<f64> {
        self.variances.iter().map(|v| v.sqrt()).collect()
    }
}

fn check_floor(floor: f64) -> Result<(), EmError> {
    if floor.is_finite() && floor >= 0.0 {
        Ok(())
    } else {
        Err(EmError::InvalidParameter {
            name: "variance_floor",
            reason: format!("{floor}: must be finite and ≥ 0"),
        })
    }
}

fn check_variances(variances: &[f64], floor: f64) -> Result<(), EmError> {
    match variances
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v > 0.0 && **v >= floor))
    {
        Some((k, v)) => Err(EmError::InvalidParameter {
            name: "variances",
            reason: format!(
                "variance of component {k} is {v}; it must be finite, > 0 and at least the floor {floor}"
            ),
        }),
        None => Ok(()),
    }
}

/// Statistics of K Gaussian regressions: per component N_k = Σγ, XᵀWX, XᵀWy and yᵀWy
/// (W = diag γ_·k, times the sample weights when given).
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianRegressionStats {
    /// N_k.
    pub weights: Vec<f64>,
    /// XᵀWX per component (P×P).
    pub xtwx: Vec<DMatrix<f64>>,
    /// XᵀWy per component (length P).
    pub xtwy: Vec<DVector<f64>>,
    /// yᵀWy per component.
    pub ytwy: Vec<f64>,
}

impl Statistics for GaussianRegressionStats {
    fn merge(&mut self, later: &Self) {
        for k in 0..self.weights.len() {
            self.weights[k] += later.weights[k];
            self.xtwx[k] += &later.xtwx[k];
            self.xtwy[k] += &later.xtwy[k];
            self.ytwy[k] += later.ytwy[k];
        }
    }
}

impl ScalableStatistics for GaussianRegressionStats {
    fn scale(&mut self, factor: f64) {
        self.weights.iter_mut().for_each(|w| *w *= factor);
        self.xtwx.iter_mut().for_each(|m| *m *= factor);
        self.xtwy.iter_mut().for_each(|v| *v *= factor);
        self.ytwy.iter_mut().for_each(|v| *v *= factor);
    }
}

impl GaussianRegressions {
    /// RSS_k(β) = yᵀWy − 2βᵀXᵀWy + βᵀXᵀWXβ of component k's statistics at `beta`.
    fn weighted_rss(stats: &GaussianRegressionStats, k: usize, beta: &DVector<f64>) -> f64 {
        let quad = (stats.xtwx[k].clone() * beta).dot(beta);
        stats.ytwy[k] - 2.0 * beta.dot(&stats.xtwy[k]) + quad
    }

    fn beta(&self, k: usize) -> DVector<f64> {
        self.coefficients.row(k).transpose()
    }
}

impl Family for GaussianRegressions {
    type Data = RegressionData;
    type Stats = GaussianRegressionStats;
    type Sample = Vec<f64>;
    type Owned = RegressionData;

    fn n_components(&self) -> usize {
        self.coefficients.nrows()
    }

    /// P, the number of design columns.
    fn n_features(&self) -> usize {
        self.coefficients.ncols()
    }

    /// K(P + 1): the coefficients and a variance per component.
    fn n_parameters(&self) -> usize {
        self.coefficients.len() + self.variances.len()
    }

    /// Per component, each β_kj in units of σ_k (a change of the fitted mean of that size
    /// per unit of the predictor), then σ_k² relative to itself.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut out = ScaledParameters::with_capacity(self.n_parameters());
        for k in 0..self.n_components() {
            let sigma = self.variances[k].sqrt();
            for &b in self.coefficients.row(k).iter() {
                out.push(b, sigma);
            }
            out.push_relative(self.variances[k]);
        }
        Some(out)
    }

    fn check_data(&self, data: &RegressionData) -> Result<(), EmError> {
        check_design(self.n_features(), data, 0..data.n_obs())
    }

    fn check_batch(&self, data: &RegressionData, rows: Range<usize>) -> Result<(), EmError> {
        check_design(self.n_features(), data, rows)
    }

    fn log_densities(
        &self,
        data: &RegressionData,
        rows: Range<usize>,
        offsets: Option<&[f64]>,
        out: &mut [f64],
        _: &mut Vec<f64>,
    ) {
        let c = rows.len();
        let y = &data.y()[rows.clone()];
        for (k, slot) in out
            .chunks_exact_mut(c.max(1))
            .enumerate()
            .take(self.n_components())
        {
            data.linear_predictor(rows.clone(), |j| self.coefficients[(k, j)], slot);
            let half_precision = 0.5 / self.variances[k];
            let constant = self.log_normalisers[k] + offsets.map_or(0.0, |o| o[k]);
            for (v, &yi) in slot.iter_mut().zip(y) {
                let r = yi - *v;
                *v = constant - half_precision * r * r;
            }
        }
    }

    fn zero_stats(&self, _: &RegressionData) -> GaussianRegressionStats {
        let (k, p) = (self.n_components(), self.n_features());
        GaussianRegressionStats {
            weights: vec![0.0; k],
            xtwx: vec![DMatrix::zeros(p, p); k],
            xtwy: vec![DVector::zeros(p); k],
            ytwy: vec![0.0; k],
        }
    }

    fn accumulate(
        &self,
        data: &RegressionData,
        rows: Range<usize>,
        gamma: &[f64],
        sample_weights: Option<&[f64]>,
        scratch: &mut Vec<f64>,
    ) -> GaussianRegressionStats {
        let (k_count, p) = (self.n_components(), self.n_features());
        let c = rows.len();
        let mut stats = self.zero_stats(data);
        let x = data.x();
        scratch.resize(p, 0.0);
        for (i, row) in rows.enumerate() {
            for (j, s) in scratch.iter_mut().enumerate() {
                *s = x[(row, j)];
            }
            let yi = data.y()[row];
            let w = sample_weights.map_or(1.0, |w| w[i]);
            for k in 0..k_count {
                let g = gamma[k * c + i] * w;
                if !positive(g) {
                    continue;
                }
                stats.weights[k] += g;
                stats.ytwy[k] += g * yi * yi;
                let a = &mut stats.xtwx[k];
                let b = &mut stats.xtwy[k];
                for jj in 0..p {
                    let gx = g * scratch[jj];
                    b[jj] += gx * yi;
                    // The lower triangle; mirrored at the end.
                    for ii in jj..p {
                        a[(ii, jj)] += gx * scratch[ii];
                    }
                }
            }
        }
        for a in &mut stats.xtwx {
            for jj in 0..p {
                for ii in jj + 1..p {
                    a[(jj, ii)] = a[(ii, jj)];
                }
            }
        }
        stats
    }

    fn component_weights<'s>(&self, stats: &'s GaussianRegressionStats) -> &'s [f64] {
        &stats.weights
    }

    /// Σ_k [N_k (−½ log 2πσ_k²) − RSS_k(β_k) / (2σ_k²)] over components with N_k > 0.
    fn expected_log_density(&self, stats: &GaussianRegressionStats) -> f64 {
        (0..self.n_components())
            .filter(|&k| stats.weights[k] > 0.0)
            .map(|k| {
                let rss = Self::weighted_rss(stats, k, &self.beta(k));
                stats.weights[k] * self.log_normalisers[k] - 0.5 * rss / self.variances[k]
            })
            .sum()
    }

    /// Weighted least squares per component with positive weight; see the type's docs.
    fn maximise(&mut self, stats: &GaussianRegressionStats) -> Result<(), EmError> {
        let (k_count, p) = (self.n_components(), self.n_features());
        if stats.weights.len() != k_count || stats.xtwx.first().is_some_and(|a| a.nrows() != p) {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics for {} components, but the family has {k_count}",
                    stats.weights.len()
                ),
            });
        }
        let total: f64 = stats.weights.iter().sum();
        let mut coefficients = self.coefficients.clone();
        let mut variances = self.variances.clone();
        for (k, slot) in variances.iter_mut().enumerate() {
            let nk = stats.weights[k];
            if !positive(nk) {
                continue;
            }
            let l = cholesky(&stats.xtwx[k]).map_err(|j| EmError::DegenerateComponent {
                component: k,
                reason: singular_reason("the weighted design XᵀWX", j),
            })?;
            let beta = cholesky_solve(&l, &stats.xtwy[k]);
            let rss = Self::weighted_rss(stats, k, &beta).max(0.0);
            let mut variance = rss / nk;
            if self.settings.variance == VarianceEstimator::Flexmix {
                if !positive(total - p as f64) {
                    return Err(EmError::InvalidParameter {
                        name: "variance",
                        reason: format!(
                            "flexmix's variance rule needs more observations ({total}) than \
                             design columns ({p})"
                        ),
                    });
                }
                variance *= total / (total - p as f64);
            }
            let floor = self.settings.variance_floor;
            if floor > 0.0 {
                variance = variance.max(floor);
            } else if !positive(rss - COLLAPSE_ULPS * f64::EPSILON * stats.ytwy[k])
                || !variance.is_finite()
            {
                return Err(EmError::DegenerateComponent {
                    component: k,
                    reason: format!(
                        "the residual variance collapsed to {variance:e}: the component fits \
                         its observations exactly (as many weighted observations as design \
                         columns, or duplicated rows), so the likelihood is unbounded; set a \
                         variance floor, use fewer components, or another start"
                    ),
                });
            }
            if beta.iter().any(|b| !b.is_finite()) {
                return Err(EmError::DegenerateComponent {
                    component: k,
                    reason: "the weighted least-squares coefficients are not finite".into(),
                });
            }
            coefficients.set_row(k, &beta.transpose());
            *slot = variance;
        }
        *self = Self::from_parts(coefficients, variances, self.settings);
        Ok(())
    }

    fn new_sample(&self, capacity: usize) -> Vec<f64> {
        Vec::with_capacity(capacity)
    }

    /// Draws y from component k at the design row x = (1, 0, …, 0) — the intercept-only row
    /// when the first column is the intercept. (A regression mixture draws responses *given*
    /// a design: use [`RegressionMixture::sample`](crate::RegressionMixture::sample).)
    fn draw<R: Rng + ?Sized>(&self, k: usize, rng: &mut R, sample: &mut Vec<f64>) {
        let y = self.draw_response(k, self.coefficients[(k, 0)], rng);
        sample.push(y);
    }

    fn finish_sample(&self, sample: Vec<f64>) -> RegressionData {
        RegressionData::first_unit_rows(self.n_features(), sample)
    }
}

impl RegressionFamily for GaussianRegressions {
    type Settings = GaussianSettings;
    const RESPONSE: &'static str = "gaussian";

    fn placeholder(settings: &GaussianSettings, n_components: usize, n_predictors: usize) -> Self {
        let floor = settings.variance_floor.max(0.0);
        Self::from_parts(
            DMatrix::zeros(n_components, n_predictors),
            vec![1.0f64.max(floor); n_components],
            *settings,
        )
    }

    fn settings(&self) -> &GaussianSettings {
        &self.settings
    }

    fn coefficients(&self) -> &DMatrix<f64> {
        &self.coefficients
    }

    /// Per component: β_k (P values), then σ_k².
    fn parameters(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.n_parameters());
        for k in 0..self.n_components() {
            out.extend(self.coefficients.row(k).iter());
            out.push(self.variances[k]);
        }
        out
    }

    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError> {
        let (k_count, p) = (self.n_components(), self.n_features());
        check_theta(theta, k_count * (p + 1))?;
        let coefficients = DMatrix::from_fn(k_count, p, |k, j| theta[k * (p + 1) + j]);
        let variances: Vec<f64> = (0..k_count).map(|k| theta[k * (p + 1) + p]).collect();
        check_variances(&variances, self.settings.variance_floor).map_err(|e| match e {
            EmError::InvalidParameter { reason, .. } => EmError::InvalidParameter {
                name: "theta",
                reason,
            },
            other => other,
        })?;
        Ok(Self::from_parts(coefficients, variances, self.settings))
    }

    fn mean(&self, eta: f64) -> f64 {
        eta
    }

    fn draw_response<R: Rng + ?Sized>(&self, k: usize, eta: f64, rng: &mut R) -> f64 {
        let z: f64 = StandardNormal.sample(rng);
        eta + self.variances[k].sqrt() * z
    }
}
