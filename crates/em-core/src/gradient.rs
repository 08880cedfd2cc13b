//! The gradient of the log-likelihood from the E-step, and gradient ascent as a [`Step`].
//!
//! **Fisher's identity.** For any θ_t, ℓ(θ) − Q(θ | θ_t) − H(q_t) = KL(q_t ‖ p(z | x, θ)) ≥ 0
//! with equality at θ = θ_t, so the difference is minimal there and its gradient vanishes:
//!
//! ∇ℓ(θ_t) = ∇_θ Q(θ | θ_t) at θ = θ_t = ∇_θ E_{q_t}[log p(x, z | θ)] at θ = θ_t.
//!
//! The right-hand side needs only the statistics of the E-step at θ_t: a model that can
//! differentiate its expected complete log-likelihood in its parameters
//! ([`Differentiable::complete_gradient`]) has the score of its log-likelihood for the cost of
//! one E-step ([`score`]), without differentiating through the sum over the latent variables.
//!
//! **Coordinates.** Gradients are taken in *unconstrained* coordinates η
//! ([`Differentiable::coordinates`]), in which every finite vector is a valid model: log-ratio
//! weights log(π_k / π_K), log-rates and log-variances, logits of probabilities, the
//! log-Cholesky factor of a covariance (its diagonal as logarithms). Gradient ascent can then
//! take any step, and the standard errors of [`crate::information`] are those of a smooth
//! parameterisation (mapped to the model's own parameters by the delta method).
//!
//! **Gradient ascent** ([`GradientAscent`]) is θ ← θ + η ∇ℓ(θ) in those coordinates, with a fixed
//! step η or a backtracking (Armijo) line search, run by the same driver loop as EM — the same
//! stopping rules, observers, restarts and reports — so that the two can be compared fairly
//! (see `examples/em_vs_gradient.rs`).

use crate::chunked::{DEFAULT_CHUNK_SIZE, chunked_e_step};
use crate::step::{Evaluated, Evaluator, Step, Stepped};
use crate::{EmError, LatentModel};

/// A model that can differentiate its expected complete log-likelihood in unconstrained
/// coordinates: what the score ([`score`]), gradient ascent ([`GradientAscent`]), standard
/// errors and the rate of convergence ([`crate::information`]) need.
///
/// Contract, checked for every bundled model by property tests against finite differences of
/// the log-likelihood:
///
/// * `set_coordinates(&m.coordinates()?)` gives back `m` (up to rounding), and
///   `coordinates` has the same length as `coordinate_names` every time;
/// * `complete_gradient(stats)` is ∇_η E_q[log p(x, z | θ(η))] + ∇_η log p(θ(η)) at the
///   model's current η, for the statistics `stats` of some q; with the statistics of the
///   E-step at the current parameters it is therefore ∇_η [ℓ(θ(η)) + log p(θ(η))];
/// * `natural_parameters` and `natural_parameter_names` are the model's own parameters (weights, means,
///   variances, rates …), in which standard errors are reported.
pub trait Differentiable: LatentModel + Clone {
    /// The unconstrained coordinates η of the current parameters.
    ///
    /// # Errors
    /// [`EmError::NotAvailable`] when a parameter lies on the boundary of its space (a weight
    /// or a probability of exactly 0 or 1), where the coordinates are infinite.
    fn coordinates(&self) -> Result<Vec<f64>, EmError>;

    /// Sets the parameters from coordinates η (as [`coordinates`](Self::coordinates) returns
    /// them). Every finite vector of the right length is valid, up to overflow.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `coordinates` for a vector of the wrong length,
    /// a non-finite entry, or a model the coordinates overflow; the model is then unchanged.
    fn set_coordinates(&mut self, eta: &[f64]) -> Result<(), EmError>;

    /// A name for each coordinate, such as `log(π_0/π_2)` or `component 1: log σ²`.
    fn coordinate_names(&self) -> Vec<String>;

    /// ∇_η E_q[log p(x, z | θ(η))] + ∇_η log p(θ(η)) at the current parameters, for the
    /// statistics of some q (by Fisher's identity, the score when q is the E-step's at the
    /// current parameters).
    ///
    /// # Errors
    /// [`EmError::NotAvailable`] when the model has a prior whose gradient it does not
    /// provide, or statistics that do not fit the model.
    fn complete_gradient(&self, stats: &Self::Stats) -> Result<Vec<f64>, EmError>;

    /// The model's own parameters, as reported with standard errors.
    fn natural_parameters(&self) -> Vec<f64>;

    /// A name for each of [`natural_parameters`](Self::natural_parameters), such as `π_0`, `μ_1[0]`,
    /// `Σ_0[1,0]` or `λ`.
    fn natural_parameter_names(&self) -> Vec<String>;
}

/// The log-likelihood (plus log-prior) and its gradient in the model's coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// log p(x | θ) + log p(θ).
    pub objective: f64,
    /// ∇_η of the objective, in the coordinates of [`Differentiable::coordinates`].
    pub gradient: Vec<f64>,
}

/// The score at the model's parameters, by Fisher's identity: one E-step over `data`, then
/// [`Differentiable::complete_gradient`] of its statistics.
///
/// ```
/// use em_core::{gradient::score, Differentiable};
/// # fn run<M: Differentiable>(model: &M, data: &M::Data) -> Result<(), em_core::EmError> {
/// let s = score(model, data)?;
/// assert_eq!(s.gradient.len(), model.coordinate_names().len());
/// # Ok(()) }
/// ```
///
/// # Errors
/// The model's E-step errors, and those of [`Differentiable::complete_gradient`].
pub fn score<M: Differentiable>(model: &M, data: &M::Data) -> Result<Score, EmError> {
    let e = chunked_e_step(model, data, DEFAULT_CHUNK_SIZE)?;
    Ok(Score {
        objective: e.log_likelihood + model.log_prior(),
        gradient: model.complete_gradient(&e.stats)?,
    })
}

/// How [`GradientAscent`] chooses its step length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepSize {
    /// η_{t+1} = η_t + rate · ∇ℓ(η_t), whatever happens to the objective: the textbook
    /// method, which diverges when the rate is too large for the curvature.
    Fixed(f64),
    /// Backtracking line search: from the step length of the previous iteration times two
    /// (`initial` at the first), halve until the objective rises by at least
    /// 10⁻⁴ · rate · ‖∇ℓ‖² (Armijo), or, once rises are below the objective's rounding
    /// (10⁻¹² relative), until the step stops short of the maximum along the gradient (the
    /// directional derivative at the trial point, free from its E-step, is still ≥ 0). The
    /// objective never decreases by more than its rounding. An iteration in which no step of
    /// 60 halvings is accepted keeps the parameters and counts as a fallback in the report.
    Backtracking {
        /// The first step length tried.
        initial: f64,
    },
}

/// Gradient ascent on the log-likelihood (plus log-prior) in the model's unconstrained
/// coordinates, as a [`Step`] of the EM driver: attach it with
/// [`Em::accelerate`](crate::Em::accelerate) and the loop, stopping rules, observers and
/// reports are the same as EM's. Each iteration uses the E-step the loop already has for the
/// gradient (Fisher's identity), so an iteration costs one E-step (and, with a line search, one
/// more for every halving). `max_iter` counts gradient steps; `m_steps` in the report counts
/// them too.
///
/// ```
/// use em_core::{Em, GradientAscent, StepSize};
/// let em = Em::new().accelerate(GradientAscent::new(StepSize::Backtracking { initial: 1e-3 }));
/// # let _ = em;
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientAscent {
    step: StepSize,
}

impl GradientAscent {
    /// Gradient ascent with the given step-length rule.
    pub fn new(step: StepSize) -> Self {
        GradientAscent { step }
    }

    /// The step-length rule.
    pub fn step_size(&self) -> StepSize {
        self.step
    }
}

/// The Armijo constant: a step is accepted when the objective rises by at least this fraction
/// of the rise its gradient predicts.
const ARMIJO: f64 = 1e-4;
/// Halvings before a line search gives up (the step length has then shrunk by 2⁻⁶⁰).
const MAX_HALVINGS: usize = 60;

/// The objective's rounding allowance, relative: below it two objectives cannot be told apart.
const ROUNDING: f64 = 1e-12;

/// Whether the line search accepts the trial point `next` of a step from `current` along the
/// gradient `g`, which predicts the rise `predicted` = rate · ‖g‖²: Armijo's sufficient rise,
/// or — near the optimum, where the rise is below the objective's rounding — an objective
/// equal to rounding and a directional derivative gᵀ∇ℓ(trial) still ≥ 0, so that the step has
/// not passed the maximum along the line (the approximate Wolfe condition of Hager & Zhang
/// 2005, which lets a line search converge past the resolution of the objective).
fn accepted<M: Differentiable>(
    trial: &M,
    next: &Evaluated<M::Stats>,
    current: &Evaluated<M::Stats>,
    g: &[f64],
    predicted: f64,
) -> bool {
    let rise = next.objective - current.objective;
    if rise >= ARMIJO * predicted {
        return true;
    }
    if rise < -ROUNDING * current.objective.abs() {
        return false;
    }
    trial
        .complete_gradient(&next.e.stats)
        .is_ok_and(|h| h.iter().zip(g).map(|(a, b)| a * b).sum::<f64>() >= 0.0)
}

/// What gradient ascent with a line search remembers: the last accepted step length.
#[derive(Debug, Default)]
pub struct GradientState {
    rate: Option<f64>,
}

fn invalid_rate(rate: f64) -> EmError {
    EmError::InvalidParameter {
        name: "step size",
        reason: format!("the step length must be finite and > 0, got {rate}"),
    }
}

impl<M: Differentiable> Step<M> for GradientAscent {
    type State = GradientState;

    fn step(
        &self,
        state: &mut GradientState,
        evaluator: &mut Evaluator<'_, M>,
        model: &mut M,
        current: Evaluated<M::Stats>,
    ) -> Result<Stepped<M::Stats>, EmError> {
        let gradient = model.complete_gradient(&current.e.stats)?;
        let eta = model.coordinates()?;
        let moved = |rate: f64| -> Vec<f64> {
            eta.iter()
                .zip(&gradient)
                .map(|(e, g)| e + rate * g)
                .collect()
        };
        match self.step {
            StepSize::Fixed(rate) => {
                if !(rate > 0.0 && rate.is_finite()) {
                    return Err(invalid_rate(rate));
                }
                evaluator.update(model, |m| m.set_coordinates(&moved(rate)))?;
                let next = evaluator.checked_e_step(model)?;
                Ok(Stepped {
                    next,
                    fallback: false,
                })
            }
            StepSize::Backtracking { initial } => {
                if !(initial > 0.0 && initial.is_finite()) {
                    return Err(invalid_rate(initial));
                }
                let squared: f64 = gradient.iter().map(|g| g * g).sum();
                let mut rate = state.rate.map_or(initial, |r| 2.0 * r);
                for _ in 0..MAX_HALVINGS {
                    let mut trial = model.clone();
                    if trial.set_coordinates(&moved(rate)).is_ok()
                        && let Ok(next) = evaluator.e_step(&trial)
                        && next.objective.is_finite()
                        && accepted(&trial, &next, &current, &gradient, rate * squared)
                    {
                        state.rate = Some(rate);
                        evaluator.update(model, |m| {
                            *m = trial;
                            Ok(())
                        })?;
                        return Ok(Stepped {
                            next,
                            fallback: false,
                        });
                    }
                    rate *= 0.5;
                }
                // No step raises the objective (the gradient is rounding noise at the
                // optimum): stay, which the parameter rule reads as convergence.
                state.rate = Some(rate);
                evaluator.update(model, |_| Ok(()))?;
                Ok(Stepped {
                    next: current,
                    fallback: true,
                })
            }
        }
    }
}

/// One point of [`bound_profile`]: the objective and EM's lower bound at a value of one
/// coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundPoint {
    /// The coordinate's value.
    pub value: f64,
    /// ℓ(θ) + log p(θ) there.
    pub objective: f64,
    /// The bound Q(θ | θ_t) + H(q_t) + log p(θ) there: at most `objective`, equal to it at θ_t.
    pub bound: f64,
}

/// The picture of EM's lower bound along one coordinate: with q_t the E-step's posterior at the
/// model's parameters θ_t, the objective ℓ(θ) + log p(θ) and the bound
/// Q(θ | θ_t) + H(q_t) + log p(θ) = ℓ(θ) + log p(θ) − KL(q_t ‖ p(z | x, θ)) at θ_t with
/// coordinate `coordinate` ([`Differentiable::coordinates`]) set to each of `values`, the
/// others held. The bound touches the objective at θ_t and lies below it elsewhere; its
/// maximiser along the coordinate is where an M-step that moved only this coordinate would go.
///
/// ```
/// use em_core::gradient::{bound_profile, Differentiable};
/// # fn run<M: Differentiable>(model: &M, data: &M::Data) -> Result<(), em_core::EmError> {
/// let here = model.coordinates()?[0];
/// let profile = bound_profile(model, data, 0, &[here - 1.0, here, here + 1.0])?;
/// assert!(profile.iter().all(|p| p.bound <= p.objective + 1e-9 * p.objective.abs()));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`EmError::InvalidParameter`] naming `coordinate` when it is out of range; the model's
/// E-step, likelihood and coordinate errors.
pub fn bound_profile<M: Differentiable>(
    model: &M,
    data: &M::Data,
    coordinate: usize,
    values: &[f64],
) -> Result<Vec<BoundPoint>, EmError> {
    let eta = model.coordinates()?;
    if coordinate >= eta.len() {
        return Err(EmError::InvalidParameter {
            name: "coordinate",
            reason: format!(
                "coordinate {coordinate} does not exist: the model has {}",
                eta.len()
            ),
        });
    }
    let e = chunked_e_step(model, data, DEFAULT_CHUNK_SIZE)?;
    values
        .iter()
        .map(|&value| {
            let mut moved = eta.clone();
            moved[coordinate] = value;
            let mut m = model.clone();
            m.set_coordinates(&moved)?;
            let prior = m.log_prior();
            Ok(BoundPoint {
                value,
                objective: crate::chunked_log_likelihood(&m, data, DEFAULT_CHUNK_SIZE)? + prior,
                bound: m.expected_complete_log_likelihood(&e.stats) + e.entropy + prior,
            })
        })
        .collect()
}
