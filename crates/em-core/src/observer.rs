//! Observers: what sees every iteration of a run (progress bars, logging, early stopping),
//! attached once to the driver with [`Em::observer`](crate::Em::observer).

use std::time::Duration;

/// What the observer sees after every iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Iteration {
    /// Which restart this is (0-based); 0 for a single fit.
    pub restart: usize,
    /// Iterations completed in this run (1 after the first M-step; for an accelerated step,
    /// one per cycle).
    pub iteration: usize,
    /// log p(x | θ) + log p(θ) at the parameters after this iteration.
    pub objective: f64,
    /// Change of the per-observation objective since the previous iteration.
    pub change: f64,
    /// Aitken's estimate of the per-observation gap to the limit of the objective
    /// ([`FitReport::estimated_gap`](crate::FitReport::estimated_gap)), from the iteration's
    /// objective and the two before it; `None` when undefined.
    pub estimated_gap: Option<f64>,
    /// The estimated relative distance of the parameters to their limit, under the parameter
    /// rule ([`FitReport::estimated_distance`](crate::FitReport::estimated_distance)); `None`
    /// otherwise or when undefined.
    pub estimated_distance: Option<f64>,
    /// Time since this run started.
    pub elapsed: Duration,
}

/// An observer's answer: go on, or stop the run now (the run then ends with
/// [`StopReason::Observer`](crate::StopReason::Observer), keeping the parameters of the last
/// iteration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep iterating.
    Continue,
    /// Stop this run.
    Stop,
}

/// Called after every iteration: progress bars, logging, early stopping. The driver knows
/// nothing about terminals; an observer does. Closures `FnMut(&Iteration) -> Control`
/// implement it.
pub trait Observer {
    /// Sees one iteration; may ask to stop.
    fn observe(&mut self, iteration: &Iteration) -> Control;
}

impl<F: FnMut(&Iteration) -> Control> Observer for F {
    fn observe(&mut self, iteration: &Iteration) -> Control {
        self(iteration)
    }
}

/// A borrowed observer, as [`Em::observer`](crate::Em::observer) attaches it.
impl Observer for &mut dyn Observer {
    fn observe(&mut self, iteration: &Iteration) -> Control {
        (**self).observe(iteration)
    }
}

/// The observer that watches nothing (the driver's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Silent;

impl Observer for Silent {
    fn observe(&mut self, _: &Iteration) -> Control {
        Control::Continue
    }
}
