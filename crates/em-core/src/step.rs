//! Steps: how one iteration moves the parameters. The driver's loop ([`crate::Em`]) owns
//! iteration, convergence, observers and restarts; a [`Step`] only says how to get from the
//! current parameters (and their E-step) to the next ones, using the E- and M-steps that a
//! [`Evaluator`] hands it. Plain EM ([`Plain`]) and SQUAREM ([`crate::Squarem`]) are steps;
//! a new acceleration is one more `impl Step`, and then works with every model, data source,
//! restart and observer.

use crate::stopping::ParameterTrack;
use crate::{EStep, EmError, LatentModel};

/// An E-step over all the data together with the objective log p(x | θ) + log p(θ) it gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated<S> {
    /// The merged E-step.
    pub e: EStep<S>,
    /// log-likelihood + log-prior at the parameters of the E-step (may be non-finite).
    pub objective: f64,
}

/// One data pass at a model's parameters, however the data are held (in memory, streamed):
/// the merged E-step and the number of observations it covered.
pub(crate) type PassFn<'a, M> =
    dyn FnMut(&M) -> Result<(EStep<<M as LatentModel>::Stats>, usize), EmError> + 'a;

/// What a [`Step`] uses to evaluate the EM map: E-steps over all the data and M-steps, each
/// counted, with the run's remaining budget of M-steps (`max_iter`).
pub struct Evaluator<'a, M: LatentModel> {
    pass: &'a mut PassFn<'a, M>,
    n_obs: Option<usize>,
    e_steps: usize,
    m_steps: usize,
    max_m_steps: usize,
    iteration: usize,
    /// Every M-step's parameters before and after, when the parameter rule needs them.
    track: Option<ParameterTrack>,
}

impl<'a, M: LatentModel> Evaluator<'a, M> {
    pub(crate) fn new(pass: &'a mut PassFn<'a, M>, max_m_steps: usize) -> Self {
        Evaluator {
            pass,
            n_obs: None,
            e_steps: 0,
            m_steps: 0,
            max_m_steps,
            iteration: 0,
            track: None,
        }
    }

    /// Records the parameters before and after every M-step from now on, for
    /// [`Evaluator::parameter_distance`].
    pub(crate) fn track_parameters(&mut self) {
        self.track = Some(ParameterTrack::default());
    }

    /// The estimated relative distance to the limit of the parameters `model` holds, from the
    /// M-steps recorded (see [`ParameterTrack`]); `None` when untracked or undefined.
    pub(crate) fn parameter_distance(&self, model: &M) -> Option<f64> {
        self.track.as_ref()?.distance(&model.scaled_parameters()?)
    }

    /// An E-step over all the data at the model's current parameters, with its objective
    /// (which may be non-finite: see [`Evaluator::checked_e_step`]).
    ///
    /// # Errors
    /// The model's E-step errors, the data source's errors, and an
    /// [`EmError::EmptyData`] for data with no observations.
    pub fn e_step(&mut self, model: &M) -> Result<Evaluated<M::Stats>, EmError> {
        self.e_steps += 1;
        let (e, n_obs) = (self.pass)(model)?;
        if n_obs == 0 {
            return Err(EmError::EmptyData);
        }
        self.n_obs.get_or_insert(n_obs);
        let objective = e.log_likelihood + model.log_prior();
        Ok(Evaluated { e, objective })
    }

    /// [`Evaluator::e_step`], with a non-finite objective turned into
    /// [`EmError::NonFiniteObjective`] at the current iteration.
    pub fn checked_e_step(&mut self, model: &M) -> Result<Evaluated<M::Stats>, EmError> {
        let evaluated = self.e_step(model)?;
        if evaluated.objective.is_finite() {
            Ok(evaluated)
        } else {
            Err(EmError::NonFiniteObjective {
                iteration: self.iteration,
                value: evaluated.objective,
            })
        }
    }

    /// The model's M-step for `stats`, counted against the budget. Callers check
    /// [`Evaluator::m_steps_left`] first; an M-step past the budget is an
    /// [`EmError::InvalidParameter`] naming `max_iter`.
    pub fn m_step(&mut self, model: &mut M, stats: &M::Stats) -> Result<(), EmError> {
        self.update(model, |m| m.m_step(stats))
    }

    /// Moves the model's parameters by another rule than its M-step (a gradient step,
    /// [`crate::GradientAscent`]), counted against the same budget as an M-step and recorded
    /// for the parameter stopping rule as an M-step is.
    ///
    /// # Errors
    /// `apply`'s error; an [`EmError::InvalidParameter`] naming `max_iter` past the budget.
    pub fn update(
        &mut self,
        model: &mut M,
        apply: impl FnOnce(&mut M) -> Result<(), EmError>,
    ) -> Result<(), EmError> {
        if self.m_steps >= self.max_m_steps {
            return Err(EmError::InvalidParameter {
                name: "max_iter",
                reason: format!(
                    "a step asked for an M-step past the budget of {}",
                    self.max_m_steps
                ),
            });
        }
        self.m_steps += 1;
        let Some(track) = self.track.as_mut() else {
            return apply(model);
        };
        let before = model.scaled_parameters();
        apply(model)?;
        if let (Some(before), Some(after)) = (before, model.scaled_parameters()) {
            track.record(before, after);
        }
        Ok(())
    }

    /// M-steps still allowed in this run (`max_iter` minus those taken).
    pub fn m_steps_left(&self) -> usize {
        self.max_m_steps - self.m_steps
    }

    /// The iteration being computed (1 for the first step; 0 at the initial parameters).
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    pub(crate) fn begin_iteration(&mut self, iteration: usize) {
        self.iteration = iteration;
    }

    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.e_steps, self.m_steps)
    }

    pub(crate) fn n_obs(&self) -> usize {
        self.n_obs.unwrap_or(0)
    }
}

/// Where a step ended: the E-step at the new parameters (the model now holds them), and
/// whether an extrapolation was rejected on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Stepped<S> {
    /// The E-step (and objective) at the parameters the model now holds; finite.
    pub next: Evaluated<S>,
    /// Whether the step fell back from an extrapolation to plain EM.
    pub fallback: bool,
}

/// How one iteration moves the parameters: plain EM, or an acceleration of it.
///
/// The driver calls [`Step::step`] with the model at θ_t and the E-step at θ_t (`current`),
/// as long as the [`Evaluator`] has M-steps left. A step must
///
/// * use the evaluator for every E- and M-step over the data (so that work is counted and
///   the data source — memory or a stream — is the driver's business);
/// * take at least one M-step (or [`Evaluator::update`]), and no more than
///   [`Evaluator::m_steps_left`];
/// * leave the model at the parameters whose E-step it returns, with a finite objective
///   ([`Evaluator::checked_e_step`]).
///
/// `State` is what a step remembers across the iterations of one run (SQUAREM's step-length
/// bound); each run starts from `State::default()`.
pub trait Step<M: LatentModel> {
    /// Per-run state.
    type State: Default;

    /// One iteration from `current` (see the trait docs).
    fn step(
        &self,
        state: &mut Self::State,
        evaluator: &mut Evaluator<'_, M>,
        model: &mut M,
        current: Evaluated<M::Stats>,
    ) -> Result<Stepped<M::Stats>, EmError>;
}

/// Plain EM: θ_{t+1} = argmax_θ E_{q_t}[log p(x, z | θ)], one M-step and one E-step per
/// iteration. The driver's default step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plain;

impl<M: LatentModel> Step<M> for Plain {
    type State = ();

    fn step(
        &self,
        _: &mut (),
        evaluator: &mut Evaluator<'_, M>,
        model: &mut M,
        current: Evaluated<M::Stats>,
    ) -> Result<Stepped<M::Stats>, EmError> {
        evaluator.m_step(model, &current.e.stats)?;
        let next = evaluator.checked_e_step(model)?;
        Ok(Stepped {
            next,
            fallback: false,
        })
    }
}
