//! K Poisson (log-link) regressions: y | x, z = k ~ Poisson(exp(xᵀβ_k)), whose M-step — K
//! weighted Poisson GLMs — is solved exactly by Newton's method (IRLS) on the γ-weighted
//! rows the statistics carry.

use std::ops::Range;

use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use em_family::Family;
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};

use crate::data::RegressionData;
use crate::family::{
    RegressionFamily, check_coefficients, check_design, check_theta, coefficients_from_rows,
    coefficients_to_rows,
};
use crate::linalg::{cholesky, cholesky_solve, positive, singular_reason};

/// Settings of [`PoissonRegressions`]' M-step (Newton's method on each weighted GLM).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PoissonSettings {
    /// Most Newton steps per component and M-step (default 100; at least 1).
    pub max_newton: usize,
    /// Newton's method stops when a step changes no coefficient by more than `tol · (1 +
    /// max_j |β_j|)` (default 1e-10; the step is taken, and Newton's quadratic convergence
    /// leaves an error of order tol²).
    pub tol: f64,
}

impl Default for PoissonSettings {
    fn default() -> Self {
        PoissonSettings {
            max_newton: 100,
            tol: 1e-10,
        }
    }
}

/// K Poisson regressions with the log link on P design columns: y | x, z = k ~
/// Poisson(μ = exp(xᵀβ_k)).
///
/// **Why the statistics carry the rows.** The M-step of component k maximises
/// Q_k(β) = Σ_i γ_ik (y_i x_iᵀβ − exp(x_iᵀβ) − log y_i!), a weighted Poisson GLM. The term
/// Σ_i γ_ik exp(x_iᵀβ) is not a function of any fixed-size statistic of the data (for a
/// general design), so neither the maximiser nor — what the EM invariants need — Q_k at the
/// *new* β can be computed from sums accumulated at the old one. The statistics are
/// therefore the γ-weighted rows themselves: for every batch, a reference to its rows (the
/// data are shared, not copied) and its K × c responsibilities. They merge by concatenation,
/// exactly like flexmix's posterior matrix; the memory is N·K numbers, not a fixed size (a
/// streamed fit keeps them all).
///
/// **M-step.** For each component, Newton's method (= IRLS) on Q_k from the better of the
/// current β_k and glm's own start (one weighted least-squares step from μ = y + 0.1), with
/// step halving: a step is taken only if it does not lower Q_k, so the M-step never lowers
/// the expected complete log-likelihood even when stopped early (a generalised EM then);
/// at convergence it is the exact maximiser ([`PoissonSettings`]). A singular weighted
/// design XᵀWX is an [`EmError::DegenerateComponent`] naming the component.
///
/// ```
/// use em_regression::{PoissonRegressions, RegressionData, RegressionMixture};
/// use nalgebra::{DMatrix, dmatrix};
///
/// // log μ = 0 + 1·x and log μ = 3 − 1·x.
/// let family = PoissonRegressions::new(dmatrix![0.0, 1.0; 3.0, -1.0])?;
/// let model = RegressionMixture::new(vec![0.5, 0.5], family)?;
/// let x = DMatrix::from_column_slice(2, 1, &[3.0, 0.0]);
/// let data = RegressionData::with_intercept(&x, vec![20.0, 21.0])?;
/// assert_eq!(model.predict(&data)?, vec![0, 1]);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PoissonSpec", into = "PoissonSpec")]
pub struct PoissonRegressions {
    coefficients: DMatrix<f64>,
    settings: PoissonSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PoissonSpec {
    coefficients: Vec<Vec<f64>>,
    #[serde(default)]
    settings: PoissonSettings,
}

impl TryFrom<PoissonSpec> for PoissonRegressions {
    type Error = EmError;
    fn try_from(spec: PoissonSpec) -> Result<Self, EmError> {
        PoissonRegressions::new(coefficients_from_rows(&spec.coefficients)?)?
            .with_settings(spec.settings)
    }
}

impl From<PoissonRegressions> for PoissonSpec {
    fn from(f: PoissonRegressions) -> Self {
        PoissonSpec {
            coefficients: coefficients_to_rows(&f.coefficients),
            settings: f.settings,
        }
    }
}

impl PoissonRegressions {
    /// K Poisson regressions with coefficients β (K×P, row k for component k) on the log
    /// scale, with the default settings.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `coefficients` (empty, non-finite).
    ///
    /// ```
    /// use em_regression::PoissonRegressions;
    /// use nalgebra::dmatrix;
    /// assert!(PoissonRegressions::new(dmatrix![0.0, 0.5; 1.0, -0.5]).is_ok());
    /// assert!(PoissonRegressions::new(dmatrix![f64::NAN, 0.5]).is_err());
    /// ```
    pub fn new(coefficients: DMatrix<f64>) -> Result<Self, EmError> {
        check_coefficients(&coefficients)?;
        Ok(PoissonRegressions {
            coefficients,
            settings: PoissonSettings::default(),
        })
    }

    /// The same regressions with other settings.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `max_newton` (0) or `tol` (negative or not
    /// finite).
    ///
    /// ```
    /// use em_regression::{PoissonRegressions, PoissonSettings};
    /// use nalgebra::dmatrix;
    /// let f = PoissonRegressions::new(dmatrix![0.0, 0.5])?;
    /// assert!(f.clone().with_settings(PoissonSettings { max_newton: 20, tol: 1e-12 }).is_ok());
    /// assert!(f.with_settings(PoissonSettings { max_newton: 0, ..Default::default() }).is_err());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn with_settings(mut self, settings: PoissonSettings) -> Result<Self, EmError> {
        if settings.max_newton == 0 {
            return Err(EmError::InvalidParameter {
                name: "max_newton",
                reason: "at least one Newton step is needed".into(),
            });
        }
        if !(settings.tol.is_finite() && settings.tol >= 0.0) {
            return Err(EmError::InvalidParameter {
                name: "tol",
                reason: format!("{}: must be finite and ≥ 0", settings.tol),
            });
        }
        self.settings = settings;
        Ok(self)
    }
}

/// One batch's rows and their responsibilities.
#[derive(Debug, Clone)]
struct Part {
    data: RegressionData,
    rows: Range<usize>,
    /// γ_ik times the sample weight, component-major (K × c).
    gamma: Vec<f64>,
}

/// Statistics of K Poisson regressions: N_k = Σγ per component and the γ-weighted rows of
/// every batch (see [`PoissonRegressions`] for why a fixed-size summary cannot be exact).
#[derive(Debug, Clone)]
pub struct PoissonRegressionStats {
    weights: Vec<f64>,
    parts: Vec<Part>,
}

impl PoissonRegressionStats {
    /// N_k = Σ_i γ_ik per component.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Number of weighted rows held.
    pub fn n_rows(&self) -> usize {
        self.parts.iter().map(|p| p.rows.len()).sum()
    }
}

impl Statistics for PoissonRegressionStats {
    /// Adds N_k and appends the later batch's rows.
    fn merge(&mut self, later: &Self) {
        for (a, b) in self.weights.iter_mut().zip(&later.weights) {
            *a += b;
        }
        self.parts.extend(later.parts.iter().cloned());
    }
}

/// N_k and every held row's weight scale (the rows themselves are kept).
impl ScalableStatistics for PoissonRegressionStats {
    fn scale(&mut self, factor: f64) {
        self.weights.iter_mut().for_each(|w| *w *= factor);
        for part in &mut self.parts {
            part.gamma.iter_mut().for_each(|g| *g *= factor);
        }
    }
}

/// Component k's weighted Poisson log-likelihood Q_k(β) without the log y! terms,
/// optionally with its gradient and the negative Hessian Σγμxxᵀ.
fn weighted_objective(
    parts: &[Part],
    k: usize,
    beta: &DVector<f64>,
    derivatives: Option<(&mut DVector<f64>, &mut DMatrix<f64>)>,
    eta: &mut Vec<f64>,
) -> f64 {
    let p = beta.len();
    let mut total = 0.0;
    let (mut grad, mut info) = match derivatives {
        Some((g, h)) => {
            g.fill(0.0);
            h.fill(0.0);
            (Some(g), Some(h))
        }
        None => (None, None),
    };
    for part in parts {
        let c = part.rows.len();
        let gamma = &part.gamma[k * c..(k + 1) * c];
        eta.resize(c, 0.0);
        part.data
            .linear_predictor(part.rows.clone(), |j| beta[j], eta);
        let y = &part.data.y()[part.rows.clone()];
        let x = part.data.x();
        for (i, row) in part.rows.clone().enumerate() {
            let g = gamma[i];
            if !positive(g) {
                continue;
            }
            let mu = eta[i].exp();
            total += g * (y[i] * eta[i] - mu);
            if let (Some(gr), Some(h)) = (grad.as_deref_mut(), info.as_deref_mut()) {
                let r = g * (y[i] - mu);
                let w = g * mu;
                for a in 0..p {
                    let xa = x[(row, a)];
                    gr[a] += r * xa;
                    for b in a..p {
                        h[(b, a)] += w * xa * x[(row, b)];
                    }
                }
            }
        }
    }
    if let Some(h) = info {
        for a in 0..p {
            for b in a + 1..p {
                h[(a, b)] = h[(b, a)];
            }
        }
    }
    total
}

/// glm's start for a weighted Poisson fit: one weighted least-squares step from μ = y + 0.1
/// (z = log μ + (y − μ)/μ, weights γμ). `None` when that system is singular.
fn glm_start(parts: &[Part], k: usize, p: usize) -> Option<DVector<f64>> {
    let mut a = DMatrix::zeros(p, p);
    let mut b = DVector::zeros(p);
    for part in parts {
        let c = part.rows.len();
        let gamma = &part.gamma[k * c..(k + 1) * c];
        let x = part.data.x();
        let y = part.data.y();
        for (i, row) in part.rows.clone().enumerate() {
            let g = gamma[i];
            if !positive(g) {
                continue;
            }
            let mu = y[row] + 0.1;
            let z = mu.ln() + (y[row] - mu) / mu;
            let w = g * mu;
            for s in 0..p {
                let xs = x[(row, s)];
                b[s] += w * xs * z;
                for t in s..p {
                    a[(t, s)] += w * xs * x[(row, t)];
                }
            }
        }
    }
    for s in 0..p {
        for t in s + 1..p {
            a[(s, t)] = a[(t, s)];
        }
    }
    let l = cholesky(&a).ok()?;
    let beta = cholesky_solve(&l, &b);
    beta.iter().all(|v| v.is_finite()).then_some(beta)
}

/// Newton's method with step halving on Q_k from `start`, never accepting a step that lowers
/// Q_k. Returns the new β.
fn newton(
    parts: &[Part],
    k: usize,
    start: DVector<f64>,
    settings: &PoissonSettings,
) -> Result<DVector<f64>, EmError> {
    let p = start.len();
    let mut eta = Vec::new();
    let mut beta = start;
    let mut grad = DVector::zeros(p);
    let mut info = DMatrix::zeros(p, p);
    let mut value = weighted_objective(parts, k, &beta, Some((&mut grad, &mut info)), &mut eta);
    if !value.is_finite() {
        return Err(EmError::DegenerateComponent {
            component: k,
            reason: format!(
                "the weighted Poisson log-likelihood is {value} at the start of its M-step"
            ),
        });
    }
    for _ in 0..settings.max_newton {
        let l = cholesky(&info).map_err(|j| EmError::DegenerateComponent {
            component: k,
            reason: singular_reason("the weighted Poisson design XᵀWX (W = diag γμ)", j),
        })?;
        let step = cholesky_solve(&l, &grad);
        let size = step.amax();
        let last = size <= settings.tol * (1.0 + beta.amax());
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..60 {
            let trial = &beta + &step * t;
            let v = weighted_objective(parts, k, &trial, None, &mut eta);
            if v.is_finite() && v >= value {
                beta = trial;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted || last {
            break;
        }
        value = weighted_objective(parts, k, &beta, Some((&mut grad, &mut info)), &mut eta);
    }
    Ok(beta)
}

impl Family for PoissonRegressions {
    type Data = RegressionData;
    type Stats = PoissonRegressionStats;
    type Sample = Vec<f64>;
    type Owned = RegressionData;

    fn n_components(&self) -> usize {
        self.coefficients.nrows()
    }

    /// P, the number of design columns.
    fn n_features(&self) -> usize {
        self.coefficients.ncols()
    }

    /// K·P coefficients.
    fn n_parameters(&self) -> usize {
        self.coefficients.len()
    }

    /// Every β_kj on its own (log) scale: a change of 1e-7 is a relative change of the mean
    /// of 1e-7 per unit of the predictor.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut out = ScaledParameters::with_capacity(self.n_parameters());
        for k in 0..self.n_components() {
            for &b in self.coefficients.row(k).iter() {
                out.push(b, 1.0);
            }
        }
        Some(out)
    }

    /// The number of design columns, and every response a count (errors name the row and
    /// the response's column).
    fn check_data(&self, data: &RegressionData) -> Result<(), EmError> {
        check_design(self.n_features(), data, 0..data.n_obs())?;
        data.check_counts()
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
        let lf = &data.ln_y_factorial()[rows.clone()];
        for (k, slot) in out
            .chunks_exact_mut(c.max(1))
            .enumerate()
            .take(self.n_components())
        {
            data.linear_predictor(rows.clone(), |j| self.coefficients[(k, j)], slot);
            let offset = offsets.map_or(0.0, |o| o[k]);
            for ((v, &yi), &l) in slot.iter_mut().zip(y).zip(lf) {
                let eta = *v;
                // 0 · η = 0 even when η = −∞.
                let term = if yi == 0.0 { 0.0 } else { yi * eta };
                *v = term - eta.exp() - l + offset;
            }
        }
    }

    fn zero_stats(&self, _: &RegressionData) -> PoissonRegressionStats {
        PoissonRegressionStats {
            weights: vec![0.0; self.n_components()],
            parts: Vec::new(),
        }
    }

    fn accumulate(
        &self,
        data: &RegressionData,
        rows: Range<usize>,
        gamma: &[f64],
        sample_weights: Option<&[f64]>,
        _: &mut Vec<f64>,
    ) -> PoissonRegressionStats {
        let k_count = self.n_components();
        let c = rows.len();
        let mut weighted = gamma[..k_count * c].to_vec();
        if let Some(w) = sample_weights {
            for k in 0..k_count {
                for (g, &wi) in weighted[k * c..(k + 1) * c].iter_mut().zip(w) {
                    *g *= wi;
                }
            }
        }
        let weights = (0..k_count)
            .map(|k| {
                weighted[k * c..(k + 1) * c]
                    .iter()
                    .filter(|g| **g > 0.0)
                    .sum()
            })
            .collect();
        PoissonRegressionStats {
            weights,
            parts: vec![Part {
                data: data.clone(),
                rows,
                gamma: weighted,
            }],
        }
    }

    fn component_weights<'s>(&self, stats: &'s PoissonRegressionStats) -> &'s [f64] {
        &stats.weights
    }

    /// Σ_i Σ_k γ_ik (y_i x_iᵀβ_k − exp(x_iᵀβ_k) − log y_i!), from the rows the statistics
    /// carry (exact at any β).
    fn expected_log_density(&self, stats: &PoissonRegressionStats) -> f64 {
        let mut eta = Vec::new();
        let mut total = 0.0;
        for k in (0..self.n_components()).filter(|&k| stats.weights[k] > 0.0) {
            let beta = self.coefficients.row(k).transpose();
            total += weighted_objective(&stats.parts, k, &beta, None, &mut eta);
            for part in &stats.parts {
                let c = part.rows.len();
                let lf = &part.data.ln_y_factorial()[part.rows.clone()];
                total -= part.gamma[k * c..(k + 1) * c]
                    .iter()
                    .zip(lf)
                    .filter(|(g, _)| **g > 0.0)
                    .map(|(g, l)| g * l)
                    .sum::<f64>();
            }
        }
        total
    }

    /// Newton's method on each component's weighted GLM; see the type's docs.
    fn maximise(&mut self, stats: &PoissonRegressionStats) -> Result<(), EmError> {
        let (k_count, p) = (self.n_components(), self.n_features());
        if stats.weights.len() != k_count {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics for {} components, but the family has {k_count}",
                    stats.weights.len()
                ),
            });
        }
        if let Some(part) = stats
            .parts
            .iter()
            .find(|part| part.data.n_predictors() != p)
        {
            return Err(EmError::DimensionMismatch {
                expected: p,
                found: part.data.n_predictors(),
            });
        }
        let mut coefficients = self.coefficients.clone();
        let mut eta = Vec::new();
        for k in 0..k_count {
            if !positive(stats.weights[k]) {
                continue;
            }
            let current = self.coefficients.row(k).transpose();
            let mut start = current.clone();
            if let Some(glm) = glm_start(&stats.parts, k, p) {
                let here = weighted_objective(&stats.parts, k, &current, None, &mut eta);
                let there = weighted_objective(&stats.parts, k, &glm, None, &mut eta);
                // The current β unless glm's start is better (or the current one is not finite).
                if there.is_finite() && (here.is_nan() || here < there) {
                    start = glm;
                }
            }
            let beta = newton(&stats.parts, k, start, &self.settings)?;
            coefficients.set_row(k, &beta.transpose());
        }
        self.coefficients = coefficients;
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

impl RegressionFamily for PoissonRegressions {
    type Settings = PoissonSettings;
    const RESPONSE: &'static str = "poisson";

    fn placeholder(settings: &PoissonSettings, n_components: usize, n_predictors: usize) -> Self {
        PoissonRegressions {
            coefficients: DMatrix::zeros(n_components, n_predictors),
            settings: *settings,
        }
    }

    fn settings(&self) -> &PoissonSettings {
        &self.settings
    }

    fn coefficients(&self) -> &DMatrix<f64> {
        &self.coefficients
    }

    /// β_k of every component in turn.
    fn parameters(&self) -> Vec<f64> {
        (0..self.n_components())
            .flat_map(|k| self.coefficients.row(k).iter().copied().collect::<Vec<_>>())
            .collect()
    }

    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError> {
        let (k_count, p) = (self.n_components(), self.n_features());
        check_theta(theta, k_count * p)?;
        Ok(PoissonRegressions {
            coefficients: DMatrix::from_fn(k_count, p, |k, j| theta[k * p + j]),
            settings: self.settings,
        })
    }

    fn kmeans_response(y: f64) -> f64 {
        y.ln_1p()
    }

    fn mean(&self, eta: f64) -> f64 {
        eta.exp()
    }

    fn draw_response<R: Rng + ?Sized>(&self, _: usize, eta: f64, rng: &mut R) -> f64 {
        let lambda = eta.exp();
        if !positive(lambda) {
            return 0.0;
        }
        match rand_distr::Poisson::new(lambda) {
            Ok(d) => d.sample(rng),
            // Beyond rand_distr's largest rate the Poisson is λ to within 1e-9 relative.
            Err(_) => lambda.round(),
        }
    }
}
