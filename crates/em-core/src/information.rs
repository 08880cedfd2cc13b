//! Standard errors and the rate of convergence of EM, for any [`Differentiable`] model.
//!
//! EM gives the maximum-likelihood estimate but not its precision. Two estimates of the Fisher
//! information, both built on the score that the E-step gives for free (Fisher's identity, see
//! [`crate::gradient`]):
//!
//! * **Observed information** ([`InformationMethod::Observed`]): I = −∇²ℓ(η̂), the Hessian of
//!   the log-likelihood (plus log-prior) in the unconstrained coordinates η, by central
//!   differences of the analytic score: column j is (s(η̂ + h_j e_j) − s(η̂ − h_j e_j)) / 2h_j with
//!   h_j = 10⁻⁴ · max(1, |η̂_j|), then symmetrised (Jamshidian & Jennrich 2000, *Standard errors
//!   for EM estimation*, JRSS B 62). It costs 2p E-steps for p coordinates and agrees with an
//!   analytic Hessian to about 10⁻⁸ relative. It is what statsmodels and R's `optim(hessian =
//!   TRUE)` report, and the default.
//! * **Empirical information** ([`InformationMethod::Empirical`]): I = Σ_n s_n s_nᵀ, the sum of
//!   outer products of the per-observation scores (each from the statistics of one observation,
//!   or one sequence of an HMM). One pass over the data, summed batch by batch in data order,
//!   so its result does not depend on the number of threads; it is consistent for the
//!   information when the model is right, and less accurate than the observed information in
//!   small samples. For maximum likelihood only (no prior).
//!
//! The covariance of η̂ is I⁻¹ (by Cholesky: an information that is not positive definite means
//! the parameters are not at a maximum, or are not identified, and is an error); that of the
//! model's own parameters θ = θ(η) is J I⁻¹ Jᵀ with J = ∂θ/∂η by central differences (the
//! delta method). Standard errors are the square roots of the diagonals.
//!
//! **Rate of convergence** ([`convergence_rate`]): near the optimum EM is a linear iteration
//! η_{t+1} − η̂ ≈ J_M (η_t − η̂), and J_M = I − I_c⁻¹ I_obs is the fraction of missing information
//! (Dempster, Laird & Rubin 1977). Its largest eigenvalue λ is the rate: the distance to the
//! optimum shrinks by λ per iteration (and the gap in the log-likelihood by λ²), so λ = 0.99
//! means about 230 iterations per digit of accuracy, and a fit on which SQUAREM
//! ([`crate::Squarem`]) helps most. [`convergence_rate`] differentiates one EM step numerically
//! (2p E- and M-steps); [`rate_from_trace`] reads λ off the last log-likelihood increments of a
//! fit, for free.

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use crate::chunked::{DEFAULT_CHUNK_SIZE, batches};
use crate::gradient::{Differentiable, score};
use crate::{Dataset, EmError};

/// Which estimate of the Fisher information standard errors come from (see the
/// [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InformationMethod {
    /// −∇²ℓ by central differences of the analytic score: 2p E-steps.
    #[default]
    Observed,
    /// Σ_n s_n s_nᵀ from per-observation scores: one pass.
    Empirical,
}

impl std::str::FromStr for InformationMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "observed" => Ok(InformationMethod::Observed),
            "empirical" => Ok(InformationMethod::Empirical),
            _ => Err(format!(
                "unknown information method {s:?}: expected observed or empirical"
            )),
        }
    }
}

/// Relative step of the central differences of the score.
const SCORE_STEP: f64 = 1e-4;
/// Relative step of the central differences of θ(η) and of the EM map (no data pass in the
/// first; the EM map is smooth and its differences cancel less).
const MAP_STEP: f64 = 1e-6;

fn step_for(value: f64, relative: f64) -> f64 {
    relative * value.abs().max(1.0)
}

/// The model moved to coordinates η + δ e_j.
fn shifted<M: Differentiable>(model: &M, eta: &[f64], j: usize, delta: f64) -> Result<M, EmError> {
    let mut moved = eta.to_vec();
    moved[j] += delta;
    let mut out = model.clone();
    out.set_coordinates(&moved)?;
    Ok(out)
}

/// The observed information −∇²(ℓ + log p(θ)) at the model's parameters, in its coordinates
/// (p × p, symmetrised), by central differences of the score.
///
/// # Errors
/// The model's E-step and gradient errors, and [`EmError::NotAvailable`] at a boundary
/// parameter (see [`Differentiable::coordinates`]).
pub fn observed_information<M: Differentiable>(
    model: &M,
    data: &M::Data,
) -> Result<DMatrix<f64>, EmError> {
    let eta = model.coordinates()?;
    let p = eta.len();
    let mut hessian = DMatrix::zeros(p, p);
    for j in 0..p {
        let h = step_for(eta[j], SCORE_STEP);
        let up = score(&shifted(model, &eta, j, h)?, data)?.gradient;
        let down = score(&shifted(model, &eta, j, -h)?, data)?.gradient;
        for i in 0..p {
            hessian[(i, j)] = (up[i] - down[i]) / (2.0 * h);
        }
    }
    Ok(-(&hessian + hessian.transpose()) * 0.5)
}

/// The empirical information Σ_n s_n s_nᵀ over the observations of `data` (the units the
/// driver splits on: rows, or sequences), in the model's coordinates.
///
/// # Errors
/// The model's E-step and gradient errors; [`EmError::NotAvailable`] for a model with a
/// prior (the per-observation scores of a posterior are not defined).
pub fn empirical_information<M: Differentiable>(
    model: &M,
    data: &M::Data,
) -> Result<DMatrix<f64>, EmError> {
    if model.log_prior() != 0.0 {
        return Err(EmError::NotAvailable {
            analysis: "the empirical information",
            reason: "the model has a prior; use the observed information".into(),
        });
    }
    let p = model.coordinates()?.len();
    let parts: Vec<DMatrix<f64>> = batches(data.n_obs(), DEFAULT_CHUNK_SIZE)?
        .into_par_iter()
        .map(|rows| {
            let mut sum = DMatrix::zeros(p, p);
            for n in rows {
                let e = model.e_step(data, n..n + 1)?;
                let s = DVector::from_vec(model.complete_gradient(&e.stats)?);
                sum.syger(1.0, &s, &s, 1.0);
            }
            sum.fill_upper_triangle_with_lower_triangle();
            Ok(sum)
        })
        .collect::<Result<_, EmError>>()?;
    Ok(parts
        .into_iter()
        .fold(DMatrix::zeros(p, p), |total, part| total + part))
}

/// Standard errors of a fitted model's parameters (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct StandardErrors {
    /// The information they come from.
    pub method: InformationMethod,
    /// The model's parameters' names ([`Differentiable::natural_parameter_names`]).
    pub names: Vec<String>,
    /// The estimates θ̂.
    pub estimates: Vec<f64>,
    /// Their standard errors.
    pub standard_errors: Vec<f64>,
    /// Their covariance J I⁻¹ Jᵀ.
    pub covariance: DMatrix<f64>,
    /// The coordinates' names ([`Differentiable::coordinate_names`]).
    pub coordinate_names: Vec<String>,
    /// The coordinates η̂.
    pub coordinates: Vec<f64>,
    /// The standard errors of the coordinates.
    pub coordinate_standard_errors: Vec<f64>,
    /// The information matrix I in the coordinates.
    pub information: DMatrix<f64>,
}

/// Standard errors of the model's parameters at its current parameters (which should be a
/// maximum of the likelihood: a fitted model).
///
/// # Errors
/// Those of the information chosen, and [`EmError::NotAvailable`] when the information is not
/// positive definite (not at a maximum, or parameters the data do not identify: an empty
/// component, a label that could be swapped at no cost …).
pub fn standard_errors<M: Differentiable>(
    model: &M,
    data: &M::Data,
    method: InformationMethod,
) -> Result<StandardErrors, EmError> {
    let information = match method {
        InformationMethod::Observed => observed_information(model, data)?,
        InformationMethod::Empirical => empirical_information(model, data)?,
    };
    let coordinates = model.coordinates()?;
    let p = coordinates.len();
    let inverse = information
        .clone()
        .cholesky()
        .ok_or_else(|| EmError::NotAvailable {
            analysis: "standard errors",
            reason: "the information matrix is not positive definite: the parameters are not \
                     at a maximum of the likelihood, or the data do not identify them"
                .into(),
        })?
        .inverse();
    let estimates = model.natural_parameters();
    let q = estimates.len();
    let mut jacobian = DMatrix::zeros(q, p);
    for j in 0..p {
        let h = step_for(coordinates[j], MAP_STEP);
        let up = shifted(model, &coordinates, j, h)?.natural_parameters();
        let down = shifted(model, &coordinates, j, -h)?.natural_parameters();
        for i in 0..q {
            jacobian[(i, j)] = (up[i] - down[i]) / (2.0 * h);
        }
    }
    let covariance = &jacobian * &inverse * jacobian.transpose();
    let root = |m: &DMatrix<f64>| (0..m.nrows()).map(|i| m[(i, i)].max(0.0).sqrt()).collect();
    Ok(StandardErrors {
        method,
        names: model.natural_parameter_names(),
        estimates,
        standard_errors: root(&covariance),
        covariance,
        coordinate_names: model.coordinate_names(),
        coordinates,
        coordinate_standard_errors: root(&inverse),
        information,
    })
}

/// The rate of convergence of EM at a fixed point (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvergenceRate {
    /// The largest modulus of the eigenvalues of the EM map's Jacobian: the factor by which the
    /// distance to the optimum shrinks per iteration.
    pub rate: f64,
    /// The eigenvalues' real parts, largest first (the Jacobian is similar to a symmetric
    /// matrix with eigenvalues in [0, 1): each is a fraction of missing information).
    pub eigenvalues: Vec<f64>,
    /// The Jacobian ∂M(η)/∂η of one EM step, in the model's coordinates.
    pub jacobian: DMatrix<f64>,
}

impl ConvergenceRate {
    /// Iterations of plain EM per tenfold reduction of the distance to the optimum,
    /// −1 / log₁₀ λ (infinite at λ ≥ 1).
    pub fn iterations_per_digit(&self) -> f64 {
        if self.rate >= 1.0 {
            f64::INFINITY
        } else {
            -1.0 / self.rate.log10()
        }
    }
}

/// The rate of convergence of EM at the model's parameters (a fixed point of EM: a fitted
/// model), from the Jacobian of one EM step by central differences in the coordinates.
///
/// # Errors
/// The model's E-, M-step and coordinate errors.
pub fn convergence_rate<M: Differentiable>(
    model: &M,
    data: &M::Data,
) -> Result<ConvergenceRate, EmError> {
    let eta = model.coordinates()?;
    let p = eta.len();
    let em_map = |m: M| -> Result<Vec<f64>, EmError> {
        let e = crate::chunked_e_step(&m, data, DEFAULT_CHUNK_SIZE)?;
        let mut next = m;
        next.m_step(&e.stats)?;
        next.coordinates()
    };
    let mut jacobian = DMatrix::zeros(p, p);
    for j in 0..p {
        let h = step_for(eta[j], MAP_STEP);
        let up = em_map(shifted(model, &eta, j, h)?)?;
        let down = em_map(shifted(model, &eta, j, -h)?)?;
        for i in 0..p {
            jacobian[(i, j)] = (up[i] - down[i]) / (2.0 * h);
        }
    }
    let eigen = jacobian.complex_eigenvalues();
    let rate = eigen.iter().map(|z| z.norm()).fold(0.0, f64::max);
    let mut eigenvalues: Vec<f64> = eigen.iter().map(|z| z.re).collect();
    eigenvalues.sort_by(|a, b| b.total_cmp(a));
    Ok(ConvergenceRate {
        rate,
        eigenvalues,
        jacobian,
    })
}

/// The rate of convergence read off the end of a fit's trace of objectives: near a fixed point
/// the increments ℓ_{t+1} − ℓ_t shrink by λ² per iteration, so λ ≈ √(d_t / d_{t−1}) from the last
/// two increments. `None` with fewer than three values or increments that are not positive and
/// shrinking (rounding at the optimum, or an accelerated fit whose iterations are not EM
/// steps).
///
/// ```
/// // ℓ_t = −0.81^t: increments shrink by 0.81 = 0.9², so λ = 0.9.
/// let trace: Vec<f64> = (0..30).map(|t| -0.81f64.powi(t)).collect();
/// let rate = em_core::information::rate_from_trace(&trace).unwrap();
/// assert!((rate - 0.9).abs() < 1e-9);
/// ```
pub fn rate_from_trace(trace: &[f64]) -> Option<f64> {
    let [a, b, c] = trace.get(trace.len().checked_sub(3)?..)? else {
        return None;
    };
    let (earlier, later) = (b - a, c - b);
    (earlier > 0.0 && later > 0.0 && later < earlier).then(|| (later / earlier).sqrt())
}
