//! The zero-inflated Poisson (ZIP) model of the lecture notes, fitted by EM.
//!
//! Counts y_i ∈ {0, 1, 2, …}. A latent z_i = 1 marks a *structural zero*, with probability π;
//! otherwise (z_i = 0) y_i ~ Poisson(λ). So
//!
//! - P(y = 0) = π + (1 − π) e^{−λ},
//! - P(y = k) = (1 − π) e^{−λ} λ^k / k! for k > 0.
//!
//! EM: the E-step computes γ_i = P(z_i = 1 | y_i) — which is 0 for y_i > 0 and
//! π / (π + (1 − π) e^{−λ}) for y_i = 0 — and the M-step sets π = Σγ_i / n and
//! λ = Σ(1 − γ_i) y_i / Σ(1 − γ_i).
//!
//! # Whose arithmetic
//!
//! [`ZeroInflatedPoisson`] is a typed model around the family layer's generic wrapper,
//! [`ZeroInflated`]`<`[`Poisson`]`>`, run as a one-component [`Mixture`]. The wrapper does the
//! structural-zero E-step inside [`Component::accumulate`], its M-step, its log-density and
//! Σγ log f (the inner ELBO, with the entropy of the γ_i); the mixture engine does the E-step
//! over batches, the log-likelihood, `score_samples` and the expected complete log-likelihood.
//! None of that is written again here. What this module adds is what is specific to the ZIP
//! as a model of count data: the parameter space (π < 1, 0 < λ ≤ [`MAX_COUNT`]), the check of
//! the counts, the all-zero rule, the moment start and [`counts_from_f64`].
//!
//! ```
//! use em_core::Em;
//! use mixture::ZeroInflatedPoisson;
//! use rand::SeedableRng;
//!
//! let truth = ZeroInflatedPoisson::new(0.3, 2.5)?;
//! let (counts, _structural) = truth.sample(5_000, &mut rand::rngs::StdRng::seed_from_u64(1));
//! let fit = ZeroInflatedPoisson::fit(&counts, &Em::new())?; // within 1e-6 of the MLE
//! assert!(fit.report.converged);
//! assert!((fit.model.pi() - 0.3).abs() < 0.03);
//! assert!((fit.model.lambda() - 2.5).abs() < 0.1);
//! println!("log-likelihood {:.3}", fit.report.objective());
//! # Ok::<(), em_core::EmError>(())
//! ```
//!
//! # Data
//!
//! Counts are `u64` (`type Data = [u64]`): every non-negative integer a count can be, with
//! no sign to check. They enter the arithmetic as `f64`, which is exact up to
//! [`MAX_COUNT`] = 2⁵³; larger values (a `-1` cast to `u64` is one) are rejected with
//! [`EmError::InvalidInput`] naming the row. log(y!) is computed by the [`Poisson`] family as
//! `ln Γ(y + 1)` (statrs' `ln_factorial`), finite for every accepted count. Data held as floats
//! can be converted with [`counts_from_f64`], which rejects negative, fractional and
//! non-finite values by row.
//!
//! # Boundary cases
//!
//! - **π = 0** is a valid parameter (a plain Poisson). On data with no zeros it is the exact
//!   maximum-likelihood estimate: the first E-step gives Σγ = 0 and the M-step sets π = 0
//!   exactly; the 0·log 0 terms of the ELBO are taken as 0, so nothing becomes NaN. π = 0 is
//!   absorbing (γ = 0 for every zero), so EM *started* at π = 0 stays at π = 0;
//!   [`ZeroInflatedPoisson::fit`] never starts there. When the data have zeros but no excess
//!   of them, the MLE is also π = 0 and EM approaches it geometrically (reaching 0 only by
//!   underflow, after many iterations).
//! - **π = 1** is rejected: no count could then be positive, and λ would be unidentified.
//!   (The generic wrapper allows π = 1; this model does not.)
//! - **λ** must be positive, finite and at most [`MAX_COUNT`] (the M-step's λ never exceeds
//!   the largest count, so this bound costs nothing).
//! - **All counts zero**: the likelihood grows towards 0 as π → 1 or λ → 0 and has no
//!   maximiser inside the parameter space; [`ZeroInflatedPoisson::fit`] and the M-step return
//!   [`EmError::InvalidParameter`] with `name: "data"` rather than a degenerate model.
//! - **Empty data**: [`EmError::EmptyData`].
//!
//! # One maximum
//!
//! In the parameterisation (p₀ = P(y = 0), λ) the log-likelihood separates into a binomial
//! part in p₀ and a zero-truncated Poisson part in λ, both log-concave; so (with at least one
//! positive count) the maximum-likelihood estimate is unique and a single EM run from the
//! moment start ([`ZeroInflatedPoisson::moment_start`]) finds it. On the RAND Health
//! Insurance Experiment's doctor visits (20,190 counts) EM agrees with statsmodels' fit to
//! 1e-6 after 5 iterations and to its optimiser's own precision (6e-13) after about 15
//! (`crates/gmm/tests/zip.rs`, through the `gmm` re-export).

use std::fmt;
use std::ops::Range;

use em_core::{
    Differentiable, EStep, Em, EmError, Fitted, LatentModel, Observer, ParameterVector,
    RestartOutcome, ScalableStatistics, ScaledParameters, Statistics, Step,
};
use em_family::families::{Poisson, PoissonStats, ZeroInflated, ZeroInflatedStats};
use em_family::gradient::logistic;
use em_family::{Component, ComponentParameters, Family};
use serde::{Deserialize, Serialize};

use crate::mixture::{Mixture, MixtureStats};

/// The largest count accepted: 2⁵³, the largest integer up to which every integer is exactly
/// an `f64`.
pub const MAX_COUNT: u64 = 1 << 53;

/// The moment start's π is clamped into [`PI_START_MIN`, 1 − `PI_START_MIN`], so that EM never
/// starts on the absorbing boundary π = 0.
pub const PI_START_MIN: f64 = 1e-3;

/// The zero-inflated Poisson distribution: a structural zero with probability π, otherwise a
/// Poisson(λ) count. Always valid: 0 ≤ π < 1 and 0 < λ ≤ [`MAX_COUNT`].
///
/// It holds one [`ZeroInflated`]`<`[`Poisson`]`>` ([`component`](Self::component)) and runs
/// EM as the one-component [`Mixture`] of it ([`to_mixture`](Self::to_mixture)); see the
/// module docs. It implements [`LatentModel`] with `Data = [u64]`, so any [`Em`] driver fits
/// it, and [`ParameterVector`] (π, λ), so SQUAREM applies; the usual entry point is
/// [`ZeroInflatedPoisson::fit`]. It serialises with serde as `{"pi": …, "lambda": …}` and is
/// validated when loaded.
///
/// ```
/// use mixture::ZeroInflatedPoisson;
///
/// let m = ZeroInflatedPoisson::new(0.25, 3.0)?;
/// // P(y = 0) = 0.25 + 0.75 e^{-3}
/// let p0 = 0.25 + 0.75 * (-3.0_f64).exp();
/// assert!((m.ln_pmf(0) - p0.ln()).abs() < 1e-15);
/// // A positive count is never a structural zero.
/// assert_eq!(m.structural_zero_probability(4), 0.0);
/// assert!((m.structural_zero_probability(0) - 0.25 / p0).abs() < 1e-15);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ZipSpec", into = "ZipSpec")]
pub struct ZeroInflatedPoisson {
    component: ZeroInflated<Poisson>,
}

/// The serde form of [`ZeroInflatedPoisson`]; loading validates it like
/// [`ZeroInflatedPoisson::new`].
#[derive(Serialize, Deserialize)]
struct ZipSpec {
    pi: f64,
    lambda: f64,
}

impl TryFrom<ZipSpec> for ZeroInflatedPoisson {
    type Error = EmError;
    fn try_from(raw: ZipSpec) -> Result<Self, EmError> {
        ZeroInflatedPoisson::new(raw.pi, raw.lambda)
    }
}

impl From<ZeroInflatedPoisson> for ZipSpec {
    fn from(m: ZeroInflatedPoisson) -> Self {
        ZipSpec {
            pi: m.pi(),
            lambda: m.lambda(),
        }
    }
}

impl fmt::Debug for ZeroInflatedPoisson {
    /// `ZeroInflatedPoisson { pi: …, lambda: … }`: the parameters, not the cached logarithms.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZeroInflatedPoisson")
            .field("pi", &self.pi())
            .field("lambda", &self.lambda())
            .finish()
    }
}

/// Expected sufficient statistics of a batch of counts for [`ZeroInflatedPoisson`]: those of
/// the one-component mixture of [`ZeroInflated`]`<`[`Poisson`]`>` (see
/// [`ZeroInflatedStats`]); they add over disjoint batches.
///
/// Because γ_i = 0 for every positive count, Σ(1 − γ_i) y_i = Σ y_i and
/// Σ(1 − γ_i) log(y_i!) = Σ log(y_i!) (log 0! = 0): only Σγ_i and the entropy depend on the
/// E-step's parameters. All are `f64` sums; the counts and their sum are exact while they stay
/// below 2⁵³.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipStats {
    stats: MixtureStats<ZeroInflatedStats<PoissonStats>>,
}

impl Default for ZipStats {
    /// The statistics of no counts (the identity of `merge`).
    fn default() -> Self {
        ZipStats {
            stats: vec![ZeroInflated::<Poisson>::default()].zero_stats(&[]),
        }
    }
}

impl ZipStats {
    fn field(&self, f: impl Fn(&ZeroInflatedStats<PoissonStats>) -> f64) -> f64 {
        self.stats.components.first().map_or(0.0, f)
    }

    /// Number of observations n (each has weight 1).
    pub fn n(&self) -> f64 {
        self.field(|s| s.n)
    }

    /// Σ γ_i: the expected number of structural zeros.
    pub fn sum_gamma(&self) -> f64 {
        self.field(|s| s.zeros)
    }

    /// Σ y_i (= Σ(1 − γ_i) y_i).
    pub fn sum_counts(&self) -> f64 {
        self.field(|s| s.counts.sum)
    }

    /// Σ log(y_i!) (= Σ(1 − γ_i) log(y_i!)).
    pub fn sum_ln_factorial(&self) -> f64 {
        self.field(|s| s.counts.sum_ln_factorial)
    }

    /// Σ H(γ_i), H the binary entropy: the entropy of the structural-zero posteriors (only
    /// zeros contribute). It is part of the wrapper's Σγ log f, so the E-step's own entropy
    /// (that of the one-component mixture's labels) is 0.
    pub fn entropy(&self) -> f64 {
        self.field(|s| s.entropy)
    }

    /// The statistics as the one-component mixture holds them.
    pub fn as_mixture_stats(&self) -> &MixtureStats<ZeroInflatedStats<PoissonStats>> {
        &self.stats
    }
}

impl Statistics for ZipStats {
    fn merge(&mut self, later: &Self) {
        self.stats.merge(&later.stats);
    }
}

impl ScalableStatistics for ZipStats {
    fn scale(&mut self, factor: f64) {
        self.stats.scale(factor);
    }
}

/// The error for data without a positive count (the MLE is degenerate).
fn all_zero_error(n: u64) -> EmError {
    EmError::InvalidParameter {
        name: "data",
        reason: format!(
            "all {n} counts are zero: the likelihood increases towards 0 as π → 1 or λ → 0 \
             and has no maximum with 0 ≤ π < 1, λ > 0; a zero-inflated Poisson needs at \
             least one positive count"
        ),
    }
}

/// Checks that every count of `counts`, whose first is row `first_row` of the data, is at
/// most [`MAX_COUNT`].
fn check_counts(counts: &[u64], first_row: usize) -> Result<(), EmError> {
    match counts.iter().position(|&y| y > MAX_COUNT) {
        None => Ok(()),
        Some(i) => Err(EmError::InvalidInput {
            row: first_row + i,
            column: None,
            reason: format!(
                "count {} exceeds 2^53 = {MAX_COUNT}, the largest count represented exactly \
                 (a negative number cast to u64?)",
                counts[i]
            ),
        }),
    }
}

/// Checks the counts of `rows` (a range outside the data is the mixture engine's error).
fn check_rows(data: &[u64], rows: &Range<usize>) -> Result<(), EmError> {
    data.get(rows.clone())
        .map_or(Ok(()), |batch| check_counts(batch, rows.start))
}

/// Checks a whole data set: not empty, every count at most [`MAX_COUNT`].
fn check_data(data: &[u64]) -> Result<(), EmError> {
    if data.is_empty() {
        return Err(EmError::EmptyData);
    }
    check_counts(data, 0)
}

/// Converts counts held as floats (e.g. read from a CSV file) to `u64`, checking each one.
///
/// NaN or ±∞ is [`EmError::NonFinite`] (column 0); a negative or fractional value, or one
/// above [`MAX_COUNT`], is [`EmError::InvalidInput`] with its row.
///
/// ```
/// use mixture::zip::counts_from_f64;
/// use em_core::EmError;
///
/// assert_eq!(counts_from_f64(&[0.0, 3.0, 12.0])?, vec![0, 3, 12]);
/// assert!(matches!(counts_from_f64(&[1.0, -2.0]), Err(EmError::InvalidInput { row: 1, .. })));
/// assert!(matches!(counts_from_f64(&[0.5]), Err(EmError::InvalidInput { row: 0, .. })));
/// # Ok::<(), EmError>(())
/// ```
pub fn counts_from_f64(values: &[f64]) -> Result<Vec<u64>, EmError> {
    values
        .iter()
        .enumerate()
        .map(|(row, &value)| {
            if !value.is_finite() {
                return Err(EmError::NonFinite {
                    row,
                    column: 0,
                    value,
                });
            }
            let reason = if value < 0.0 {
                "a count cannot be negative"
            } else if value.fract() != 0.0 {
                "a count must be a whole number"
            } else if value > MAX_COUNT as f64 {
                "a count must be at most 2^53"
            } else {
                return Ok(value as u64);
            };
            Err(EmError::InvalidInput {
                row,
                column: None,
                reason: format!("{reason}, got {value}"),
            })
        })
        .collect()
}

impl ZeroInflatedPoisson {
    /// The model with structural-zero probability `pi` and Poisson mean `lambda`.
    ///
    /// Requires 0 ≤ π < 1 (π = 0 is a plain Poisson; π = 1 would leave λ unidentified) and
    /// 0 < λ ≤ [`MAX_COUNT`], finite; otherwise [`EmError::InvalidParameter`] names the
    /// parameter.
    ///
    /// ```
    /// use mixture::ZeroInflatedPoisson;
    /// assert!(ZeroInflatedPoisson::new(0.0, 2.0).is_ok());
    /// assert!(ZeroInflatedPoisson::new(1.0, 2.0).is_err());
    /// assert!(ZeroInflatedPoisson::new(0.2, 0.0).is_err());
    /// ```
    pub fn new(pi: f64, lambda: f64) -> Result<Self, EmError> {
        if !(0.0..1.0).contains(&pi) {
            return Err(EmError::InvalidParameter {
                name: "pi",
                reason: format!("must satisfy 0 ≤ π < 1, got {pi}"),
            });
        }
        if !(lambda > 0.0 && lambda <= MAX_COUNT as f64) {
            return Err(EmError::InvalidParameter {
                name: "lambda",
                reason: format!("must satisfy 0 < λ ≤ 2^53 (finite), got {lambda}"),
            });
        }
        Ok(ZeroInflatedPoisson {
            component: ZeroInflated::new(pi, Poisson::new(lambda)?)?,
        })
    }

    /// π, the probability of a structural zero (P(z = 1)).
    pub fn pi(&self) -> f64 {
        self.component.pi()
    }

    /// λ, the mean of the Poisson part.
    pub fn lambda(&self) -> f64 {
        self.component.counts().lambda()
    }

    /// The model as the family layer's component: zero inflation π over Poisson(λ).
    pub fn component(&self) -> &ZeroInflated<Poisson> {
        &self.component
    }

    /// The model as the one-component mixture its EM runs on, for the mixture API
    /// (`predict_proba`, `bic`, …).
    ///
    /// ```
    /// use mixture::ZeroInflatedPoisson;
    /// let m = ZeroInflatedPoisson::new(0.3, 2.0)?;
    /// let counts = [0, 0, 1, 4, 2];
    /// let bic = m.to_mixture().bic(&counts[..])?;
    /// let ll = m.log_likelihood_total(&counts)?;
    /// assert!((bic - (-2.0 * ll + 2.0 * 5f64.ln())).abs() < 1e-12);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn to_mixture(&self) -> Mixture<Vec<ZeroInflated<Poisson>>> {
        Mixture::single(vec![self.component])
    }

    /// The mean of the counts, (1 − π) λ.
    pub fn mean(&self) -> f64 {
        (1.0 - self.pi()) * self.lambda()
    }

    /// The variance of the counts, (1 − π) λ (1 + π λ).
    pub fn variance(&self) -> f64 {
        self.mean() * (1.0 + self.pi() * self.lambda())
    }

    /// Number of free parameters (2: π and λ), e.g. for an information criterion.
    pub fn n_parameters(&self) -> usize {
        self.component.n_parameters()
    }

    /// log P(y | π, λ), including the −log(y!) term. Finite for every count; `y` is used as an
    /// `f64`, exact up to [`MAX_COUNT`].
    ///
    /// ```
    /// use mixture::ZeroInflatedPoisson;
    /// let m = ZeroInflatedPoisson::new(0.1, 2.0)?;
    /// let p2 = 0.9 * (-2.0_f64).exp() * 4.0 / 2.0;
    /// assert!((m.ln_pmf(2) - p2.ln()).abs() < 1e-14);
    /// assert!(m.ln_pmf(u64::MAX).is_finite());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn ln_pmf(&self, y: u64) -> f64 {
        self.component.ln_pdf(y)
    }

    /// γ = P(z = 1 | y): the posterior probability that `y` is a structural zero.
    /// 0 for every positive count; π / (π + (1 − π) e^{−λ}) for y = 0 (computed in log space).
    ///
    /// ```
    /// use mixture::ZeroInflatedPoisson;
    /// let m = ZeroInflatedPoisson::new(0.5, 1.0)?;
    /// let g = m.structural_zero_probability(0);
    /// assert!((g - 0.5 / (0.5 + 0.5 * (-1.0_f64).exp())).abs() < 1e-15);
    /// assert_eq!(m.structural_zero_probability(1), 0.0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn structural_zero_probability(&self, y: u64) -> f64 {
        if y == 0 {
            self.component.structural_zero_probability()
        } else {
            0.0
        }
    }

    /// γ_i for every count (the "responsibilities"). Errors as [`Self::score_samples`].
    pub fn structural_zero_probabilities(&self, data: &[u64]) -> Result<Vec<f64>, EmError> {
        check_data(data)?;
        let gamma = self.component.structural_zero_probability();
        Ok(data
            .iter()
            .map(|&y| if y == 0 { gamma } else { 0.0 })
            .collect())
    }

    /// log P(y_i) for every count (scikit-learn's `score_samples`).
    ///
    /// [`EmError::EmptyData`] for no counts, [`EmError::InvalidInput`] for a count above
    /// [`MAX_COUNT`].
    ///
    /// ```
    /// use mixture::ZeroInflatedPoisson;
    /// let m = ZeroInflatedPoisson::new(0.2, 1.5)?;
    /// let ll = m.score_samples(&[0, 1, 4])?;
    /// assert_eq!(ll.len(), 3);
    /// assert!((ll.iter().sum::<f64>() - m.log_likelihood_total(&[0, 1, 4])?).abs() < 1e-12);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn score_samples(&self, data: &[u64]) -> Result<Vec<f64>, EmError> {
        check_data(data)?;
        self.to_mixture().score_samples(data)
    }

    /// Σ_i log P(y_i): the total log-likelihood, with the −log(y_i!) terms (as statsmodels'
    /// `llf`). Errors as [`Self::score_samples`].
    pub fn log_likelihood_total(&self, data: &[u64]) -> Result<f64, EmError> {
        check_data(data)?;
        self.to_mixture().log_likelihood_total(data)
    }

    /// The mean log-likelihood per count (scikit-learn's `score`). Errors as
    /// [`Self::score_samples`].
    pub fn score(&self, data: &[u64]) -> Result<f64, EmError> {
        Ok(self.log_likelihood_total(data)? / data.len() as f64)
    }

    /// The documented starting point of [`Self::fit`], from moments of the data:
    ///
    /// - λ₀ = the mean of the positive counts (≥ 1; it overstates λ by the factor
    ///   1 / (1 − e^{−λ}), which EM removes);
    /// - π₀ = (p₀ − e^{−λ₀}) / (1 − e^{−λ₀}), the excess of the observed fraction of zeros p₀
    ///   over the Poisson's, clamped into [[`PI_START_MIN`], 1 − [`PI_START_MIN`]] so that EM
    ///   does not start on the absorbing boundary π = 0.
    ///
    /// Errors: [`EmError::EmptyData`]; [`EmError::InvalidInput`] for a count above
    /// [`MAX_COUNT`]; [`EmError::InvalidParameter`] (`name: "data"`) when every count is 0.
    ///
    /// ```
    /// use mixture::ZeroInflatedPoisson;
    /// let start = ZeroInflatedPoisson::moment_start(&[0, 0, 0, 2, 4])?;
    /// assert_eq!(start.lambda(), 3.0);
    /// let e = (-3.0_f64).exp();
    /// assert!((start.pi() - (0.6 - e) / (1.0 - e)).abs() < 1e-15);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn moment_start(data: &[u64]) -> Result<Self, EmError> {
        check_data(data)?;
        let zeros = data.iter().filter(|&&y| y == 0).count() as u64;
        let sum: u128 = data.iter().map(|&y| u128::from(y)).sum();
        let n = data.len() as u64;
        if sum == 0 {
            return Err(all_zero_error(n));
        }
        let positives = (n - zeros) as f64;
        let lambda = sum as f64 / positives;
        let p0 = zeros as f64 / n as f64;
        let poisson_p0 = (-lambda).exp();
        let pi = ((p0 - poisson_p0) / (1.0 - poisson_p0)).clamp(PI_START_MIN, 1.0 - PI_START_MIN);
        ZeroInflatedPoisson::new(pi, lambda)
    }

    /// Fits the model to `data` by EM with the driver `em`, from [`Self::moment_start`].
    ///
    /// The data are validated first (errors as [`Self::moment_start`]); `em` supplies the
    /// tolerance, iteration limit, threads and chunk size. Its `n_init` is not used: the
    /// start is deterministic and the likelihood has one maximum (see the module docs), so the
    /// result holds one run (`best_restart = 0`).
    ///
    /// ```
    /// use em_core::Em;
    /// use mixture::ZeroInflatedPoisson;
    ///
    /// // Doctor visits: many people with none at all.
    /// let visits: Vec<u64> = vec![0, 0, 0, 0, 0, 0, 1, 2, 0, 3, 0, 5, 1, 0, 2, 4, 0, 0, 3, 1];
    /// let fit = ZeroInflatedPoisson::fit(&visits, &Em::new().tol(1e-12).max_iter(500))?;
    /// let m = fit.model;
    /// assert!(fit.report.converged);
    /// // At the MLE the fitted mean equals the sample mean.
    /// let mean = visits.iter().sum::<u64>() as f64 / visits.len() as f64;
    /// assert!((m.mean() - mean).abs() < 1e-9);
    /// println!("π = {:.4}, λ = {:.4}", m.pi(), m.lambda());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn fit<A, O>(data: &[u64], em: &Em<A, O>) -> Result<Fitted<Self>, EmError>
    where
        A: Step<Self>,
        O: Observer,
    {
        let mut model = ZeroInflatedPoisson::moment_start(data)?;
        let report = em.fit(&mut model, data)?;
        Ok(Fitted {
            model,
            report: report.clone(),
            best_restart: 0,
            restarts: vec![RestartOutcome {
                index: 0,
                result: Ok(report),
            }],
        })
    }

    /// Draws `n` counts, with the latent flags z (true = structural zero), by the wrapper's
    /// [`ZeroInflated::sample_with_indicator`].
    ///
    /// ```
    /// use mixture::ZeroInflatedPoisson;
    /// use rand::SeedableRng;
    ///
    /// let m = ZeroInflatedPoisson::new(0.4, 6.0)?;
    /// let (y, z) = m.sample(1_000, &mut rand::rngs::StdRng::seed_from_u64(3));
    /// assert_eq!(y.len(), 1_000);
    /// assert!(y.iter().zip(&z).all(|(&y, &z)| !z || y == 0)); // structural ⇒ zero
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn sample<R: rand::Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (Vec<u64>, Vec<bool>) {
        let mut counts = Vec::with_capacity(n);
        let structural = (0..n)
            .map(|_| self.component.sample_with_indicator(rng, &mut counts))
            .collect();
        (counts, structural)
    }
}

impl LatentModel for ZeroInflatedPoisson {
    type Data = [u64];
    type Stats = ZipStats;

    /// Checks the counts of `rows` (at most [`MAX_COUNT`], the error naming the absolute row),
    /// then runs the one-component mixture's E-step: the wrapper's structural-zero posteriors
    /// and statistics, Σ log P(y_i). The entropy of the γ_i is in the statistics
    /// ([`ZipStats::entropy`]), counted by the expected complete log-likelihood; the E-step's
    /// own entropy, that of a single mixture label, is 0.
    fn e_step(&self, data: &[u64], rows: Range<usize>) -> Result<EStep<ZipStats>, EmError> {
        check_rows(data, &rows)?;
        let step = self.to_mixture().e_step(data, rows)?;
        Ok(EStep {
            stats: ZipStats { stats: step.stats },
            log_likelihood: step.log_likelihood,
            entropy: step.entropy,
        })
    }

    /// The wrapper's M-step, π = Σγ_i / n and λ = Σ(1 − γ_i) y_i / Σ(1 − γ_i), after the ZIP's
    /// own rule: no counts is [`EmError::EmptyData`], no positive count the all-zero
    /// [`EmError::InvalidParameter`] (`data`). On error the model is unchanged.
    fn m_step(&mut self, stats: &ZipStats) -> Result<(), EmError> {
        if stats.n() == 0.0 {
            return Err(EmError::EmptyData);
        }
        if stats.sum_counts() == 0.0 {
            return Err(all_zero_error(stats.n() as u64));
        }
        let mut next = self.to_mixture();
        next.m_step(&stats.stats)?;
        match next.components() {
            [c] => {
                *self = ZeroInflatedPoisson::new(c.pi(), c.counts().lambda())?;
                Ok(())
            }
            other => Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!("expected one component, got {}", other.len()),
            }),
        }
    }

    /// The one-component mixture's: the wrapper's inner ELBO
    /// Σγ log π + Σ(1 − γ)(log(1 − π) − λ) + Σy log λ − Σ log y! + Σ H(γ), with 0 · log 0 = 0.
    fn expected_complete_log_likelihood(&self, stats: &ZipStats) -> f64 {
        self.to_mixture()
            .expected_complete_log_likelihood(&stats.stats)
    }

    /// π as a probability (relative to min(π, 1 − π), floored at 1e-3, since the MLE can be
    /// π = 0, which EM approaches geometrically) and λ relative to itself.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        self.component.scaled_parameters()
    }

    fn log_likelihood(&self, data: &[u64], rows: Range<usize>) -> Result<f64, EmError> {
        check_rows(data, &rows)?;
        self.to_mixture().log_likelihood(data, rows)
    }
}

impl ParameterVector for ZeroInflatedPoisson {
    /// (π, λ), raw (the wrapper's [`ComponentParameters`]): π = 0 is a valid, absorbing value
    /// that a logit could not hold. An extrapolation with π < 0, π ≥ 1 or λ ≤ 0 is rejected by
    /// [`ZeroInflatedPoisson::new`], and SQUAREM falls back to the plain EM step.
    ///
    /// ```
    /// use em_core::ParameterVector;
    /// use mixture::ZeroInflatedPoisson;
    ///
    /// let mut m = ZeroInflatedPoisson::new(0.3, 2.5)?;
    /// assert_eq!(m.parameters(), vec![0.3, 2.5]);
    /// assert!(m.set_parameters(&[-0.1, 2.5]).is_err()); // outside 0 ≤ π < 1
    /// m.set_parameters(&[0.0, 4.0])?;
    /// assert_eq!((m.pi(), m.lambda()), (0.0, 4.0));
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    fn parameters(&self) -> Vec<f64> {
        self.component.parameters()
    }

    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        match theta {
            [pi, lambda] => {
                *self = ZeroInflatedPoisson::new(*pi, *lambda)?;
                Ok(())
            }
            _ => Err(EmError::InvalidParameter {
                name: "theta",
                reason: format!("expected 2 values (π, λ), got {}", theta.len()),
            }),
        }
    }
}

/// The score and standard errors of the ZIP in statsmodels' coordinates (logit π, log λ),
/// those of its `ZeroInflatedPoisson` with constant-only regressions: the one-component
/// mixture's ([`crate::gradient`]).
///
/// ```
/// use em_core::information::{standard_errors, InformationMethod};
/// use mixture::ZeroInflatedPoisson;
/// use rand::SeedableRng;
///
/// let truth = ZeroInflatedPoisson::new(0.3, 2.5)?;
/// let (counts, _) = truth.sample(5_000, &mut rand::rngs::StdRng::seed_from_u64(1));
/// let fit = ZeroInflatedPoisson::fit(&counts, &em_core::Em::new())?;
/// let se = standard_errors(&fit.model, &counts, InformationMethod::Observed)?;
/// assert_eq!(se.names, ["π", "λ"]);
/// assert!((fit.model.pi() - 0.3).abs() < 3.0 * se.standard_errors[0]);
/// # Ok::<(), em_core::EmError>(())
/// ```
impl Differentiable for ZeroInflatedPoisson {
    /// (logit π, log λ); π = 0 is on the boundary ([`EmError::NotAvailable`]).
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        self.to_mixture().coordinates()
    }

    fn set_coordinates(&mut self, eta: &[f64]) -> Result<(), EmError> {
        match eta {
            [t, log_lambda] if t.is_finite() && log_lambda.is_finite() => {
                *self = ZeroInflatedPoisson::new(logistic(*t), log_lambda.exp())?;
                Ok(())
            }
            _ => Err(EmError::InvalidParameter {
                name: "coordinates",
                reason: format!("expected 2 finite values (logit π, log λ), got {eta:?}"),
            }),
        }
    }

    fn coordinate_names(&self) -> Vec<String> {
        vec!["logit π".into(), "log λ".into()]
    }

    fn complete_gradient(&self, stats: &ZipStats) -> Result<Vec<f64>, EmError> {
        self.to_mixture().complete_gradient(&stats.stats)
    }

    fn natural_parameters(&self) -> Vec<f64> {
        vec![self.pi(), self.lambda()]
    }

    fn natural_parameter_names(&self) -> Vec<String> {
        vec!["π".into(), "λ".into()]
    }
}
