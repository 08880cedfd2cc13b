//! SQUAREM: accelerated EM for any model whose parameters can be written as a vector.
//!
//! Plain EM converges linearly, and slowly when the latent variables carry much of the
//! information (overlapping mixture components, many missing values). SQUAREM (Varadhan &
//! Roland 2008, *Simple and globally convergent methods for accelerating the convergence of
//! any EM algorithm*, Scand. J. Statist. 35, 335–353) treats one EM iteration as a map
//! θ ↦ F(θ) and extrapolates along the path of two EM steps. One **cycle** from θ₀:
//!
//! 1. two plain EM steps: θ₁ = F(θ₀), θ₂ = F(θ₁);
//! 2. r = θ₁ − θ₀, v = (θ₂ − θ₁) − r, and the step length of the paper's scheme S3,
//!    α = −‖r‖ / ‖v‖, clamped to −s_max ≤ α ≤ −1;
//! 3. the extrapolated point θ' = θ₀ − 2αr + α²v (α = −1 gives θ' = θ₂ exactly, and the cycle
//!    stops at θ₂);
//! 4. one stabilising EM step θ'' = F(θ');
//! 5. **the guard**: θ'' is accepted only if it is a valid parameter vector
//!    ([`ParameterVector::set_parameters`] accepted θ'), every E- and M-step on the way
//!    succeeded, and its objective (log-likelihood + log-prior, from the chunked E-step) is at
//!    least the objective at θ₂. Otherwise the cycle *falls back* to θ₂, the result of two
//!    plain EM steps, and [`FitReport::fallbacks`](crate::FitReport::fallbacks) counts it.
//!
//! So every cycle ends at least as high as its two plain EM steps, and the objective never
//! decreases as long as the model's EM steps never decrease it (exact M-steps). The guard
//! itself adds no decrease; what the plain steps may lose — rounding of the objective's
//! evaluation once the optimum is reached (≈1e-14 relative for sums over a few thousand
//! observations), or an M-step that is not an exact maximiser, such as a covariance ridge — is
//! kept, exactly as plain EM keeps it, and recorded in [`FitReport::largest_decrease`](crate::FitReport::largest_decrease). (A
//! cycle that refused such a decrease would have to stay put, and an objective that is flat
//! to rounding would then freeze the parameters short of the fixed point that plain EM's
//! iterations still approach.)
//!
//! **Step-length adaptation** (that of the R package `SQUAREM`, `squarem1`, with its
//! defaults `step.min0 = 1`, `step.max0 = 1`, `mstep = 4`): the upper bound s_max starts at
//! 1, so the first cycle is two plain EM steps; each time |α| reaches s_max, s_max is
//! multiplied by 4; when an extrapolation with |α| = s_max is rejected, s_max is divided by 4
//! (never below 1). This keeps early extrapolations, while the iterates are still far from
//! the fixed point, short.
//!
//! **Counting.** A cycle costs at most 3 M-steps and 4 E-steps (E-steps at θ₁, θ₂, θ' and θ'';
//! the E-step at θ₀ is the previous cycle's last). `max_iter` is a budget of **M-steps**
//! (EM-map evaluations, the unit of plain EM's iterations), so turning acceleration on never
//! lets a fit do more EM steps; the last cycle is cut short (one or two plain EM steps, no
//! extrapolation) when the budget runs out. The report's `trace` holds the objective at the
//! start and after every cycle, `iterations` counts cycles, and `e_steps` / `m_steps` /
//! `fallbacks` count the work. The stopping rule ([`Stopping`](crate::Stopping)) is applied
//! after every cycle: scikit-learn's to the change of the per-observation objective over the
//! cycle (a cycle moves the objective at least as much as two plain EM steps, so it is at
//! least as strict as for plain EM), Aitken's to the objectives of the last three cycles, and
//! the parameter rule to the cycle's last M-step, with the rate of convergence taken from
//! plain EM steps (a cycle's two, and the step after it), not from the cycles, whose lengths
//! say nothing about how far the optimum is (see `docs/stopping.md`).
//!
//! **Choosing the rule.** Near a slowly converging optimum the objective is very flat: with
//! scikit-learn's rule at `tol = 1e-12` SQUAREM stops about 1e-5 from Hasselblad's MLE and
//! plain EM about 1e-4; at `tol = 1e-15` SQUAREM reaches the MLE to 5e-8 in ~140 E-steps,
//! where plain EM stops after ~1950 E-steps still 3e-5 away (`tests/squarem.rs`). The default
//! parameter rule at `tol = 1e-7` stops SQUAREM within 1.3e-7 (relative) of the optimum on
//! every fit measured in `docs/stopping.md`, without a tolerance near the rounding of the
//! objective.
//!
//! The computation is sequential apart from the chunked E-step, whose result does not depend
//! on the number of threads, so accelerated fits are bit-for-bit reproducible too.

use crate::step::{Evaluated, Evaluator, Plain, Step, Stepped};
use crate::{EmError, LatentModel};

/// A model whose parameters can be read and written as one vector of reals: what
/// SQUAREM ([`Squarem`]) needs to extrapolate EM steps.
///
/// `parameters` must always return a vector of the same length, and
/// `set_parameters(&m.parameters())` must give back the same model (up to rounding).
/// `set_parameters` **validates**: an extrapolated vector can lie outside the parameter space
/// (a negative variance, weights off the simplex, a non-positive-definite covariance), and
/// must then be an error such as [`EmError::InvalidParameter`]; the accelerated driver then
/// falls back to the plain EM step. The model is never used after a failed `set_parameters`
/// (the driver works on a clone), so it may be left in any state.
///
/// **Choosing the coordinates.** Any smooth, one-to-one coordinates of the parameter space
/// work. Raw parameters (weights, means, variances) are simplest; an unconstrained
/// reparameterisation — log-rates and log-variances, logit or softmax-logit weights (with one
/// weight fixed as reference), the log-Cholesky factor of a covariance — makes every vector a
/// valid model, so far fewer extrapolations are rejected. SQUAREM's step length is the ratio of
/// Euclidean norms, so coordinates of very different scales also matter: put them on
/// comparable scales when you can.
///
/// ```
/// use em_core::{EmError, ParameterVector};
/// # use em_core::{EStep, LatentModel, Statistics};
/// # #[derive(Clone)] struct Rates { lambda: Vec<f64> }
/// # struct S; impl Statistics for S { fn merge(&mut self, _: &Self) {} }
/// # impl LatentModel for Rates {
/// #     type Data = [u32]; type Stats = S;
/// #     fn e_step(&self, _: &[u32], _: std::ops::Range<usize>) -> Result<EStep<S>, EmError> {
/// #         Ok(EStep { stats: S, log_likelihood: 0.0, entropy: 0.0 }) }
/// #     fn m_step(&mut self, _: &S) -> Result<(), EmError> { Ok(()) }
/// #     fn expected_complete_log_likelihood(&self, _: &S) -> f64 { 0.0 }
/// # }
/// // Rates as log-rates: every finite vector is a valid model.
/// impl ParameterVector for Rates {
///     fn parameters(&self) -> Vec<f64> {
///         self.lambda.iter().map(|l| l.ln()).collect()
///     }
///     fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
///         if theta.len() != self.lambda.len() || theta.iter().any(|t| !t.is_finite()) {
///             return Err(EmError::InvalidParameter {
///                 name: "theta",
///                 reason: format!("expected {} finite log-rates", self.lambda.len()),
///             });
///         }
///         self.lambda = theta.iter().map(|t| t.exp()).collect();
///         Ok(())
///     }
/// }
/// let mut m = Rates { lambda: vec![2.0, 0.5] };
/// let theta = m.parameters();
/// m.set_parameters(&theta)?;
/// assert!((m.lambda[0] - 2.0).abs() < 1e-15);
/// assert!(m.set_parameters(&[f64::NAN, 0.0]).is_err());
/// # Ok::<(), EmError>(())
/// ```
pub trait ParameterVector: LatentModel + Clone {
    /// The current parameters as a vector (always of the same length).
    fn parameters(&self) -> Vec<f64>;

    /// Sets the parameters from a vector in the coordinates of [`ParameterVector::parameters`],
    /// or returns an error when `theta` is not a valid model (wrong length, non-finite, outside
    /// the parameter space).
    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError>;
}

/// A step chosen at run time (from a command-line flag, say): plain EM or SQUAREM, for any
/// model with a [`ParameterVector`]. Attach it with [`crate::Em::accelerate`]; a step known at
/// compile time is [`Plain`] (the default, for any model) or [`Squarem`].
///
/// ```
/// use em_core::{Acceleration, Em};
/// let em = Em::new().accelerate(Acceleration::Squarem);
/// assert_eq!(*em.step(), Acceleration::Squarem);
/// assert_eq!(Acceleration::default(), Acceleration::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Acceleration {
    /// Plain EM: one E-step and one M-step per iteration (the default).
    #[default]
    None,
    /// SQUAREM (Varadhan & Roland 2008), scheme S3 with a stabilising EM step, the R package's
    /// step-length adaptation and a guard that falls back to the plain EM step whenever the
    /// extrapolation is invalid or would lower the objective. See the [module docs](self).
    Squarem,
}

/// Initial upper bound s_max of the step length |α| (R `SQUAREM`'s `step.max0`).
const STEP_MAX0: f64 = 1.0;
/// Factor by which s_max grows when the step reaches it, and shrinks after a rejected step at
/// the bound (R `SQUAREM`'s `mstep`).
const MSTEP: f64 = 4.0;

/// The S3 step length s = −α = ‖r‖/‖v‖ clamped to [1, `step_max`]; 1 (no extrapolation) when
/// it is undefined.
fn step_length(t0: &[f64], t1: &[f64], t2: &[f64], step_max: f64) -> f64 {
    let (mut rr, mut vv) = (0.0_f64, 0.0_f64);
    for ((a, b), c) in t0.iter().zip(t1).zip(t2) {
        let r = b - a;
        let v = (c - b) - r;
        rr += r * r;
        vv += v * v;
    }
    let s = if vv > 0.0 {
        (rr / vv).sqrt()
    } else if rr > 0.0 {
        f64::INFINITY
    } else {
        1.0
    };
    if s.is_nan() {
        1.0
    } else {
        s.clamp(1.0, step_max)
    }
}

/// θ' = θ₀ − 2αr + α²v with α = −s.
fn extrapolated(t0: &[f64], t1: &[f64], t2: &[f64], s: f64) -> Vec<f64> {
    t0.iter()
        .zip(t1)
        .zip(t2)
        .map(|((a, b), c)| {
            let r = b - a;
            let v = (c - b) - r;
            a + 2.0 * s * r + s * s * v
        })
        .collect()
}

/// SQUAREM as a [`Step`]: one cycle per iteration (see the [module docs](self)). Attach it
/// with [`Em::accelerate`](crate::Em::accelerate); the model must implement
/// [`ParameterVector`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Squarem;

/// What SQUAREM remembers across the cycles of one run.
#[derive(Debug)]
pub struct SquaremState {
    /// The current upper bound s_max of the step length.
    step_max: f64,
    /// The length of the parameter vector, fixed by the first cycle.
    dim: Option<usize>,
}

impl Default for SquaremState {
    fn default() -> Self {
        SquaremState {
            step_max: STEP_MAX0,
            dim: None,
        }
    }
}

/// The model's parameter vector, checked to keep the length it had at the first cycle.
fn vector<M: ParameterVector>(model: &M, dim: &mut Option<usize>) -> Result<Vec<f64>, EmError> {
    let theta = model.parameters();
    let expected = *dim.get_or_insert(theta.len());
    if theta.len() == expected {
        Ok(theta)
    } else {
        Err(EmError::InvalidParameter {
            name: "parameters",
            reason: format!(
                "ParameterVector::parameters returned {} values, earlier {expected}; its length must not change",
                theta.len()
            ),
        })
    }
}

/// The stabilised extrapolation θ'' = F(θ') on a clone, with its E-step, or `None` when any
/// step fails or an objective is not finite (the caller then falls back to θ₂).
fn stabilised<M: ParameterVector>(
    evaluator: &mut Evaluator<'_, M>,
    model: &M,
    theta: &[f64],
) -> Option<(M, Evaluated<M::Stats>)> {
    if theta.iter().any(|t| !t.is_finite()) {
        return None;
    }
    let mut trial = model.clone();
    trial.set_parameters(theta).ok()?;
    let at_theta = evaluator.e_step(&trial).ok()?;
    if !at_theta.objective.is_finite() {
        return None;
    }
    evaluator.m_step(&mut trial, &at_theta.e.stats).ok()?;
    let next = evaluator.e_step(&trial).ok()?;
    next.objective.is_finite().then_some((trial, next))
}

impl<M: ParameterVector> Step<M> for Squarem {
    type State = SquaremState;

    /// One SQUAREM cycle; cut short to one or two plain EM steps when the budget of M-steps
    /// runs out.
    fn step(
        &self,
        state: &mut SquaremState,
        evaluator: &mut Evaluator<'_, M>,
        model: &mut M,
        current: Evaluated<M::Stats>,
    ) -> Result<Stepped<M::Stats>, EmError> {
        let plain = |next| Stepped {
            next,
            fallback: false,
        };
        let theta0 = vector(model, &mut state.dim)?;
        evaluator.m_step(model, &current.e.stats)?;
        let e1 = evaluator.checked_e_step(model)?;
        if evaluator.m_steps_left() == 0 {
            return Ok(plain(e1)); // budget spent: the cycle ends after one plain EM step
        }
        let theta1 = vector(model, &mut state.dim)?;
        evaluator.m_step(model, &e1.e.stats)?;
        let e2 = evaluator.checked_e_step(model)?;
        if evaluator.m_steps_left() == 0 {
            return Ok(plain(e2)); // no budget left for the stabilising step
        }
        let theta2 = vector(model, &mut state.dim)?;
        let mut s = step_length(&theta0, &theta1, &theta2, state.step_max);
        let mut outcome = plain(e2);
        if s > 1.0 {
            let theta = extrapolated(&theta0, &theta1, &theta2, s);
            match stabilised(evaluator, model, &theta) {
                Some((trial, next)) if next.objective >= outcome.next.objective => {
                    *model = trial;
                    outcome = plain(next);
                }
                _ => {
                    outcome.fallback = true;
                    if s == state.step_max {
                        state.step_max = (state.step_max / MSTEP).max(STEP_MAX0);
                    }
                    s = 1.0;
                }
            }
        }
        if s == state.step_max {
            state.step_max *= MSTEP;
        }
        Ok(outcome)
    }
}

impl<M: ParameterVector> Step<M> for Acceleration {
    type State = SquaremState;

    fn step(
        &self,
        state: &mut SquaremState,
        evaluator: &mut Evaluator<'_, M>,
        model: &mut M,
        current: Evaluated<M::Stats>,
    ) -> Result<Stepped<M::Stats>, EmError> {
        match self {
            Acceleration::None => Plain.step(&mut (), evaluator, model, current),
            Acceleration::Squarem => Squarem.step(state, evaluator, model, current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_step_extrapolates_to_the_second_em_point() {
        let (t0, t1, t2) = ([0.0, 1.0], [0.5, 1.5], [0.7, 1.6]);
        let theta = extrapolated(&t0, &t1, &t2, 1.0);
        assert_eq!(theta, vec![0.7, 1.6]);
    }

    #[test]
    fn step_length_is_the_s3_ratio_clamped() {
        // Geometric convergence with ratio 0.9: r = 1, v = -0.1 per coordinate, so
        // ‖r‖/‖v‖ = 10 and θ' with s = 10 is the fixed point exactly.
        let (t0, t1, t2) = ([0.0], [1.0], [1.9]);
        assert!((step_length(&t0, &t1, &t2, 64.0) - 10.0).abs() < 1e-12);
        assert_eq!(step_length(&t0, &t1, &t2, 4.0), 4.0);
        assert!((extrapolated(&t0, &t1, &t2, 10.0)[0] - 10.0).abs() < 1e-12);
        // Undefined (a fixed point) or contracting faster than linearly: no extrapolation.
        assert_eq!(step_length(&t0, &t0, &t0, 4.0), 1.0);
        assert_eq!(step_length(&[0.0], &[1.0], &[1.0], 4.0), 1.0);
        // Linear motion (v = 0): the bound.
        assert_eq!(step_length(&[0.0], &[1.0], &[2.0], 16.0), 16.0);
        assert_eq!(step_length(&[f64::NAN], &[1.0], &[2.0], 16.0), 1.0);
    }
}
