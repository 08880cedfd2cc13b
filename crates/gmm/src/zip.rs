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
//! λ = Σ(1 − γ_i) y_i / Σ(1 − γ_i) = Σ y_i / (n − Σγ_i).
//!
//! ```
//! use em_core::Em;
//! use gmm::ZeroInflatedPoisson;
//! use rand::SeedableRng;
//!
//! let truth = ZeroInflatedPoisson::new(0.3, 2.5)?;
//! let (counts, _structural) = truth.sample(5_000, &mut rand::rngs::StdRng::seed_from_u64(1));
//! let fit = ZeroInflatedPoisson::fit(&counts, &Em::new().tol(1e-10).max_iter(1_000))?;
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
//! [`EmError::InvalidInput`] naming the row. log(y!) is computed as `ln Γ(y + 1)`
//! ([`statrs::function::factorial::ln_factorial`]), finite for every accepted count. Data held
//! as floats can be converted with [`counts_from_f64`], which rejects negative, fractional and
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
//! (`crates/gmm/tests/zip.rs`).

use std::ops::Range;

use em_core::{EStep, Em, EmError, Fitted, LatentModel, RestartOutcome, Statistics};
use rand::RngExt;
use rand_distr::{Distribution, Poisson};
use serde::{Deserialize, Serialize};
use statrs::function::factorial::ln_factorial;

/// The largest count accepted: 2⁵³, the largest integer up to which every integer is exactly
/// an `f64`.
pub const MAX_COUNT: u64 = 1 << 53;

/// The moment start's π is clamped into [`PI_START_MIN`, 1 − `PI_START_MIN`], so that EM never
/// starts on the absorbing boundary π = 0.
pub const PI_START_MIN: f64 = 1e-3;

/// The zero-inflated Poisson distribution: a structural zero with probability π, otherwise a
/// Poisson(λ) count. Always valid: 0 ≤ π < 1 and 0 < λ ≤ [`MAX_COUNT`].
///
/// It implements [`LatentModel`] with `Data = [u64]`, so any [`Em`] driver fits it; the
/// usual entry point is [`ZeroInflatedPoisson::fit`]. It serialises with serde as
/// `{"pi": …, "lambda": …}` and is validated when loaded.
///
/// ```
/// use gmm::ZeroInflatedPoisson;
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawZip")]
pub struct ZeroInflatedPoisson {
    pi: f64,
    lambda: f64,
}

/// The unvalidated serde form of [`ZeroInflatedPoisson`].
#[derive(Deserialize)]
struct RawZip {
    pi: f64,
    lambda: f64,
}

impl TryFrom<RawZip> for ZeroInflatedPoisson {
    type Error = EmError;
    fn try_from(raw: RawZip) -> Result<Self, EmError> {
        ZeroInflatedPoisson::new(raw.pi, raw.lambda)
    }
}

/// Expected sufficient statistics of a batch of counts for [`ZeroInflatedPoisson`]; they add
/// over disjoint batches.
///
/// Because γ_i = 0 for every positive count, Σ(1 − γ_i) y_i = Σ y_i and
/// Σ(1 − γ_i) log(y_i!) = Σ log(y_i!) (log 0! = 0): only Σγ_i depends on the E-step's
/// parameters. Counts and sums of counts are kept as integers, so they merge exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZipStats {
    n: u64,
    n_zeros: u64,
    sum_counts: u128,
    sum_gamma: f64,
    sum_ln_factorial: f64,
}

impl ZipStats {
    /// Number of observations n.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Number of zero counts.
    pub fn n_zeros(&self) -> u64 {
        self.n_zeros
    }

    /// Σ y_i (= Σ(1 − γ_i) y_i).
    pub fn sum_counts(&self) -> u128 {
        self.sum_counts
    }

    /// Σ γ_i: the expected number of structural zeros.
    pub fn sum_gamma(&self) -> f64 {
        self.sum_gamma
    }

    /// Σ log(y_i!) (= Σ(1 − γ_i) log(y_i!)).
    pub fn sum_ln_factorial(&self) -> f64 {
        self.sum_ln_factorial
    }
}

impl Statistics for ZipStats {
    fn merge(&mut self, later: &Self) {
        self.n += later.n;
        self.n_zeros += later.n_zeros;
        self.sum_counts += later.sum_counts;
        self.sum_gamma += later.sum_gamma;
        self.sum_ln_factorial += later.sum_ln_factorial;
    }
}

/// log(e^a + e^b) without overflow; −∞ when both are −∞.
fn log_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if hi == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// `coefficient · ln(value)`, taking 0 · ln 0 = 0.
fn x_ln(coefficient: f64, value: f64) -> f64 {
    if coefficient == 0.0 {
        0.0
    } else {
        coefficient * value.ln()
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

fn check_count(row: usize, y: u64) -> Result<f64, EmError> {
    if y > MAX_COUNT {
        return Err(EmError::InvalidInput {
            row,
            column: None,
            reason: format!(
                "count {y} exceeds 2^53 = {MAX_COUNT}, the largest count represented exactly \
                 (a negative number cast to u64?)"
            ),
        });
    }
    Ok(y as f64)
}

/// Checks that every count is at most [`MAX_COUNT`]; counts the zeros and sums the counts.
fn summarise(data: &[u64]) -> Result<(u64, u128), EmError> {
    let (mut zeros, mut sum) = (0_u64, 0_u128);
    for (row, &y) in data.iter().enumerate() {
        check_count(row, y)?;
        if y == 0 {
            zeros += 1;
        }
        sum += u128::from(y);
    }
    Ok((zeros, sum))
}

/// Converts counts held as floats (e.g. read from a CSV file) to `u64`, checking each one.
///
/// NaN or ±∞ is [`EmError::NonFinite`] (column 0); a negative or fractional value, or one
/// above [`MAX_COUNT`], is [`EmError::InvalidInput`] with its row.
///
/// ```
/// use gmm::zip::counts_from_f64;
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
    /// use gmm::ZeroInflatedPoisson;
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
        Ok(ZeroInflatedPoisson { pi, lambda })
    }

    /// π, the probability of a structural zero (P(z = 1)).
    pub fn pi(&self) -> f64 {
        self.pi
    }

    /// λ, the mean of the Poisson part.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The mean of the counts, (1 − π) λ.
    pub fn mean(&self) -> f64 {
        (1.0 - self.pi) * self.lambda
    }

    /// The variance of the counts, (1 − π) λ (1 + π λ).
    pub fn variance(&self) -> f64 {
        self.mean() * (1.0 + self.pi * self.lambda)
    }

    /// Number of free parameters (2: π and λ), e.g. for an information criterion.
    pub fn n_parameters(&self) -> usize {
        2
    }

    /// log P(y = 0) = log(π + (1 − π) e^{−λ}), by log-sum-exp.
    fn ln_p_zero(&self) -> f64 {
        log_add_exp(self.pi.ln(), (-self.pi).ln_1p() - self.lambda)
    }

    /// log P(y = k > 0) = log(1 − π) + k log λ − λ − log k!.
    fn ln_p_positive(&self, y: f64, ln_factorial_y: f64) -> f64 {
        (-self.pi).ln_1p() + y * self.lambda.ln() - self.lambda - ln_factorial_y
    }

    /// log P(y | π, λ), including the −log(y!) term. Finite for every count; `y` is used as an
    /// `f64`, exact up to [`MAX_COUNT`].
    ///
    /// ```
    /// use gmm::ZeroInflatedPoisson;
    /// let m = ZeroInflatedPoisson::new(0.1, 2.0)?;
    /// let p2 = 0.9 * (-2.0_f64).exp() * 4.0 / 2.0;
    /// assert!((m.ln_pmf(2) - p2.ln()).abs() < 1e-14);
    /// assert!(m.ln_pmf(u64::MAX).is_finite());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn ln_pmf(&self, y: u64) -> f64 {
        if y == 0 {
            self.ln_p_zero()
        } else {
            self.ln_p_positive(y as f64, ln_factorial(y))
        }
    }

    /// γ = P(z = 1 | y): the posterior probability that `y` is a structural zero.
    /// 0 for every positive count; π / (π + (1 − π) e^{−λ}) for y = 0 (computed in log space).
    ///
    /// ```
    /// use gmm::ZeroInflatedPoisson;
    /// let m = ZeroInflatedPoisson::new(0.5, 1.0)?;
    /// let g = m.structural_zero_probability(0);
    /// assert!((g - 0.5 / (0.5 + 0.5 * (-1.0_f64).exp())).abs() < 1e-15);
    /// assert_eq!(m.structural_zero_probability(1), 0.0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn structural_zero_probability(&self, y: u64) -> f64 {
        if y == 0 {
            (self.pi.ln() - self.ln_p_zero()).exp()
        } else {
            0.0
        }
    }

    /// γ_i for every count (the "responsibilities"). Errors as [`Self::score_samples`].
    pub fn structural_zero_probabilities(&self, data: &[u64]) -> Result<Vec<f64>, EmError> {
        if data.is_empty() {
            return Err(EmError::EmptyData);
        }
        summarise(data)?;
        Ok(data
            .iter()
            .map(|&y| self.structural_zero_probability(y))
            .collect())
    }

    /// log P(y_i) for every count (scikit-learn's `score_samples`).
    ///
    /// [`EmError::EmptyData`] for no counts, [`EmError::InvalidInput`] for a count above
    /// [`MAX_COUNT`].
    ///
    /// ```
    /// use gmm::ZeroInflatedPoisson;
    /// let m = ZeroInflatedPoisson::new(0.2, 1.5)?;
    /// let ll = m.score_samples(&[0, 1, 4])?;
    /// assert_eq!(ll.len(), 3);
    /// assert!((ll.iter().sum::<f64>() - m.log_likelihood_total(&[0, 1, 4])?).abs() < 1e-12);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn score_samples(&self, data: &[u64]) -> Result<Vec<f64>, EmError> {
        if data.is_empty() {
            return Err(EmError::EmptyData);
        }
        summarise(data)?;
        Ok(data.iter().map(|&y| self.ln_pmf(y)).collect())
    }

    /// Σ_i log P(y_i): the total log-likelihood, with the −log(y_i!) terms (as statsmodels'
    /// `llf`). Errors as [`Self::score_samples`].
    pub fn log_likelihood_total(&self, data: &[u64]) -> Result<f64, EmError> {
        if data.is_empty() {
            return Err(EmError::EmptyData);
        }
        Ok(self.e_step(data, 0..data.len())?.log_likelihood)
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
    /// use gmm::ZeroInflatedPoisson;
    /// let start = ZeroInflatedPoisson::moment_start(&[0, 0, 0, 2, 4])?;
    /// assert_eq!(start.lambda(), 3.0);
    /// let e = (-3.0_f64).exp();
    /// assert!((start.pi() - (0.6 - e) / (1.0 - e)).abs() < 1e-15);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn moment_start(data: &[u64]) -> Result<Self, EmError> {
        if data.is_empty() {
            return Err(EmError::EmptyData);
        }
        let (zeros, sum) = summarise(data)?;
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
    /// use gmm::ZeroInflatedPoisson;
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
    pub fn fit(data: &[u64], em: &Em) -> Result<Fitted<Self>, EmError> {
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

    /// Draws `n` counts, with the latent flags z (true = structural zero).
    ///
    /// ```
    /// use gmm::ZeroInflatedPoisson;
    /// use rand::SeedableRng;
    ///
    /// let m = ZeroInflatedPoisson::new(0.4, 6.0)?;
    /// let (y, z) = m.sample(1_000, &mut rand::rngs::StdRng::seed_from_u64(3));
    /// assert_eq!(y.len(), 1_000);
    /// assert!(y.iter().zip(&z).all(|(&y, &z)| !z || y == 0)); // structural ⇒ zero
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn sample<R: rand::Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (Vec<u64>, Vec<bool>) {
        // λ ∈ (0, 2^53] is within rand_distr's range, so this cannot fail; a normal
        // approximation covers the impossible case rather than a panic.
        let poisson = Poisson::new(self.lambda).ok();
        let mut counts = Vec::with_capacity(n);
        let mut structural = Vec::with_capacity(n);
        for _ in 0..n {
            let z = rng.random::<f64>() < self.pi;
            let y = if z {
                0
            } else {
                match &poisson {
                    Some(p) => p.sample(rng) as u64,
                    None => {
                        let normal: f64 = rng.sample(rand_distr::StandardNormal);
                        (self.lambda + self.lambda.sqrt() * normal).round().max(0.0) as u64
                    }
                }
            };
            counts.push(y);
            structural.push(z);
        }
        (counts, structural)
    }
}

impl LatentModel for ZeroInflatedPoisson {
    type Data = [u64];
    type Stats = ZipStats;

    /// γ_i for the zeros (all zeros share one value), Σ log P(y_i), and the entropy
    /// Σ h(γ_i) with h the binary entropy (only zeros contribute: γ_i = 0 for y_i > 0).
    fn e_step(&self, data: &[u64], rows: Range<usize>) -> Result<EStep<ZipStats>, EmError> {
        let first = rows.start;
        let mut stats = ZipStats::default();
        let mut positive_ll = 0.0;
        for (offset, &y) in data[rows].iter().enumerate() {
            stats.n += 1;
            if y == 0 {
                stats.n_zeros += 1;
                continue;
            }
            let yf = check_count(first + offset, y)?;
            let lf = ln_factorial(y);
            stats.sum_counts += u128::from(y);
            stats.sum_ln_factorial += lf;
            positive_ll += self.ln_p_positive(yf, lf);
        }
        // Every zero has the same posterior: log γ = log π − log P(0) and
        // log(1 − γ) = log(1 − π) − λ − log P(0).
        let ln_p0 = self.ln_p_zero();
        let ln_gamma = self.pi.ln() - ln_p0;
        let ln_not_gamma = (-self.pi).ln_1p() - self.lambda - ln_p0;
        let (gamma, not_gamma) = (ln_gamma.exp(), ln_not_gamma.exp());
        let zero_entropy = -(x_ln_exp(gamma, ln_gamma) + x_ln_exp(not_gamma, ln_not_gamma));
        let zeros = stats.n_zeros as f64;
        stats.sum_gamma = zeros * gamma;
        let zero_ll = if stats.n_zeros == 0 {
            0.0
        } else {
            zeros * ln_p0
        };
        Ok(EStep {
            stats,
            log_likelihood: zero_ll + positive_ll,
            entropy: zeros * zero_entropy,
        })
    }

    /// π = Σγ_i / n, λ = Σ y_i / (n − Σγ_i): closed form, no distribution objects built.
    fn m_step(&mut self, stats: &ZipStats) -> Result<(), EmError> {
        if stats.n == 0 {
            return Err(EmError::EmptyData);
        }
        if stats.sum_counts == 0 {
            return Err(all_zero_error(stats.n));
        }
        let n = stats.n as f64;
        let pi = stats.sum_gamma / n;
        let lambda = stats.sum_counts as f64 / (n - stats.sum_gamma);
        *self = ZeroInflatedPoisson::new(pi, lambda)?;
        Ok(())
    }

    /// E_q[log p(y, z | θ)] = Σγ log π + (n − Σγ)(log(1 − π) − λ) + Σy log λ − Σ log y!,
    /// with 0 · log 0 = 0.
    fn expected_complete_log_likelihood(&self, stats: &ZipStats) -> f64 {
        let n = stats.n as f64;
        let g = stats.sum_gamma;
        x_ln(g, self.pi)
            + (n - g) * ((-self.pi).ln_1p() - self.lambda)
            + x_ln(stats.sum_counts as f64, self.lambda)
            - stats.sum_ln_factorial
    }
}

/// `p · ln p` given p and ln p, taking 0 · ln 0 = 0.
fn x_ln_exp(p: f64, ln_p: f64) -> f64 {
    if p > 0.0 { p * ln_p } else { 0.0 }
}
