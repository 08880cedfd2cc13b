//! Stopping rules: when a run is near enough to the optimum to stop.
//!
//! EM converges linearly: near the optimum the distance to the limit shrinks by a factor
//! r < 1 per iteration, and r is close to 1 when the latent variables carry much of the
//! information (overlapping components, ambiguous zeros, rare transitions). A small *change*
//! is then a poor proxy for being *near*: with r = 0.99 the remaining distance is 99 times
//! the last step. Three rules ([`Stopping`]) are offered:
//!
//! * [`Stopping::ObjectiveChange`] — scikit-learn's rule, |ℓ_t − ℓ_{t−1}| / n < tol, kept for
//!   parity with scikit-learn's `GaussianMixture` (its `tol`, default 1e-3);
//! * [`Stopping::Aitken`] — Aitken's acceleration (Böhning et al. 1994; McNicholas et al.
//!   2010) estimates the limit ℓ∞ of the objective from its last three values; stop when the
//!   estimated gap (ℓ∞ − ℓ_t) / n < tol ([`aitken_gap`]);
//! * [`Stopping::Parameters`] — the relative change of the parameters, corrected by the
//!   observed rate of convergence to an estimate of the remaining distance to the limit,
//!   < tol ([`distance_to_limit`]). It needs the model's parameters
//!   ([`LatentModel::scaled_parameters`](crate::LatentModel::scaled_parameters)); for a model
//!   that does not expose them, Aitken's rule at the same `tol` stops the run instead, and the
//!   report says so ([`FitReport::stopping`](crate::FitReport::stopping)).
//!
//! The default is [`Stopping::DEFAULT`]: the parameter rule at tol = 1e-7, chosen from the
//! measurements in the repository's `docs/stopping.md` so that fits of every bundled model stop
//! within 1e-6 (relative, in the parameters) of the optimum; measured, they stop within
//! 1.0e-7. Neither scikit-learn's rule nor Aitken's can promise that: their tolerances bound a
//! change or a gap of the objective, which is flat near its maximum (quadratic in the
//! parameter error) and known only to its rounding. A model author whose model does not expose
//! its parameters gets Aitken's rule at the default 1e-7, a loose bound; implement
//! [`scaled_parameters`](crate::LatentModel::scaled_parameters), or choose
//! [`Stopping::AITKEN`] (1e-12), for fits near the optimum.
//!
//! **Per observation.** Aitken's estimate ℓ∞ − ℓ_t is divided by the number of
//! observations n ([`LatentModel::n_observations`](crate::LatentModel::n_observations)), as
//! scikit-learn's change is. Near the optimum ℓ∞ − ℓ_t ≈ ½ δᵀ I δ with I the observed
//! information, which grows with n; per observation the gap measures the parameter error δ
//! independently of n, so one tolerance means the same precision on any amount of data.
//!
//! **What "relative" means for the parameters** ([`ScaledParameters`]): every parameter is
//! measured in a unit natural to it, so that the change is unitless and the rule does not
//! depend on the data's units or origin:
//!
//! * a positive quantity (a rate, a variance) relative to itself (a Poisson rate, which EM
//!   may drive to 0 in a component of zeros, floored like a probability);
//! * a location (a mean) in units of the spread that goes with it (its component's standard
//!   deviation in that feature), so that a mean near 0 is no harder to converge than one far
//!   from it;
//! * a covariance entry Σ_ij in units of √(Σ_ii Σ_jj) (Σ_ii relative to itself);
//! * a probability (a mixture weight, a transition or emission probability) relative to the
//!   nearer of p and 1 − p, but never to less than [`PROBABILITY_FLOOR`]: EM approaches a
//!   probability of 0 (a transition that does not occur, a zero-inflation of 0) geometrically
//!   and never reaches it, so a purely relative change would never fall.
//!
//! The distance between two parameter vectors is the largest of these unitless changes
//! ([`ScaledParameters::relative_distance`]); "within 1e-6 of the optimum" means every
//! parameter is.

use std::fmt;

/// The smallest scale a probability is measured against: below it, changes of a probability
/// count in absolute terms, in units of 1e-3 (see the [module docs](self)).
pub const PROBABILITY_FLOOR: f64 = 1e-3;

/// When a run stops: a rule and its tolerance. Set it with
/// [`Em::stopping`](crate::Em::stopping); [`Em::tol`](crate::Em::tol) sets the tolerance of
/// the rule in force. See the [module docs](self) for the rules and why they exist.
///
/// ```
/// use em_core::{Em, Stopping};
/// let em = Em::new();
/// assert_eq!(em.options().stopping, Stopping::DEFAULT);
/// // scikit-learn's rule at its default tolerance, one option away:
/// let sklearn = Em::new().stopping(Stopping::ObjectiveChange { tol: 1e-3 });
/// // `tol` changes the tolerance, not the rule:
/// let tight = sklearn.tol(1e-6);
/// assert_eq!(tight.options().stopping, Stopping::ObjectiveChange { tol: 1e-6 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Stopping {
    /// scikit-learn's rule: stop when |ℓ_t − ℓ_{t−1}| / n < tol, with ℓ the objective
    /// (log-likelihood, plus the log-prior with a prior) and n the number of observations.
    /// Parity with scikit-learn needs this rule; it stops early on slowly converging fits.
    ObjectiveChange {
        /// Threshold on the change of the per-observation objective.
        tol: f64,
    },
    /// Aitken's rule: stop when the estimated gap to the limit, (ℓ∞ − ℓ_t) / n, is below
    /// `tol` ([`aitken_gap`]). Needs three objective values, so at least two iterations.
    Aitken {
        /// Threshold on the estimated per-observation gap to the limit of the objective.
        tol: f64,
    },
    /// Stop when the estimated distance of the parameters to their limit — the last relative
    /// change c corrected by the observed rate of convergence r to c · r / (1 − r)
    /// ([`distance_to_limit`]) — is below `tol`. r is the largest ratio of successive changes
    /// of consecutive EM steps among the last eight: for plain EM, of the last nine
    /// iterations; for an accelerated step such as SQUAREM, whose cycles do not converge
    /// linearly, of its plain EM steps, with c the change made by the cycle's last M-step.
    /// Needs three parameter vectors, so at least two iterations. A model whose
    /// [`scaled_parameters`](crate::LatentModel::scaled_parameters) is `None` is stopped by
    /// [`Stopping::Aitken`] at the same `tol` instead.
    Parameters {
        /// Threshold on the estimated relative distance of the parameters to their limit.
        tol: f64,
    },
}

impl Stopping {
    /// The default rule: the parameter rule at 1e-7, measured to stop within 1e-6 (relative)
    /// of the optimum (`docs/stopping.md`).
    pub const DEFAULT: Stopping = Stopping::Parameters { tol: 1e-7 };

    /// scikit-learn's rule at scikit-learn's default tolerance (1e-3).
    pub const SKLEARN: Stopping = Stopping::ObjectiveChange { tol: 1e-3 };

    /// Aitken's rule at 1e-12 per observation: about as tight as it is useful, as the
    /// rounding of a log-likelihood summed over many observations is not far below (and it
    /// still stops up to 7e-5 from the optimum on slowly converging fits, `docs/stopping.md`).
    pub const AITKEN: Stopping = Stopping::Aitken { tol: 1e-12 };

    /// The tolerance of the rule.
    pub fn tol(&self) -> f64 {
        match *self {
            Stopping::ObjectiveChange { tol }
            | Stopping::Aitken { tol }
            | Stopping::Parameters { tol } => tol,
        }
    }

    /// The same rule with tolerance `tol`.
    pub fn with_tol(self, tol: f64) -> Self {
        match self {
            Stopping::ObjectiveChange { .. } => Stopping::ObjectiveChange { tol },
            Stopping::Aitken { .. } => Stopping::Aitken { tol },
            Stopping::Parameters { .. } => Stopping::Parameters { tol },
        }
    }

    /// The rule's name: `objective-change`, `aitken` or `parameters` (as the command line
    /// spells it).
    pub fn name(&self) -> &'static str {
        match self {
            Stopping::ObjectiveChange { .. } => "objective-change",
            Stopping::Aitken { .. } => "aitken",
            Stopping::Parameters { .. } => "parameters",
        }
    }
}

impl Default for Stopping {
    fn default() -> Self {
        Stopping::DEFAULT
    }
}

impl fmt::Display for Stopping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} < {:e}", self.name(), self.tol())
    }
}

/// Aitken's estimate of the gap ℓ∞ − ℓ_t between the limit of a linearly converging sequence
/// and its last value, from three successive values `l = [ℓ_{t−2}, ℓ_{t−1}, ℓ_t]`:
/// a_t = (ℓ_t − ℓ_{t−1}) / (ℓ_{t−1} − ℓ_{t−2}) and ℓ∞ = ℓ_{t−1} + (ℓ_t − ℓ_{t−1}) / (1 − a_t),
/// so ℓ∞ − ℓ_t = (ℓ_t − ℓ_{t−1}) · a_t / (1 − a_t).
///
/// `None` — no estimate, so no stop — unless the sequence looks like one converging
/// monotonically: every value finite, both steps ≥ 0 (the objective did not fall) and
/// 0 ≤ a_t < 1. A sequence that stood still (both steps 0) is at its limit: `Some(0.0)`; one
/// that stood still and then moved gives `None`, as does one whose steps grow (a_t ≥ 1: not
/// yet in the linear regime) or one that fell (rounding at the optimum, or a non-exact
/// M-step), whose steps say nothing about a limit.
///
/// ```
/// use em_core::stopping::aitken_gap;
/// // ℓ_t = 10 − 2·0.5^t: the limit is 10 exactly.
/// let l = |t: i32| 10.0 - 2.0 * 0.5f64.powi(t);
/// let gap = aitken_gap([l(3), l(4), l(5)]).unwrap();
/// assert!((gap - (10.0 - l(5))).abs() < 1e-14);
/// assert_eq!(aitken_gap([1.0, 2.0, 4.0]), None); // steps growing: a = 2
/// assert_eq!(aitken_gap([1.0, 1.0, 1.0]), Some(0.0));
/// assert_eq!(aitken_gap([1.0, 2.0, 1.5]), None); // the objective fell
/// ```
pub fn aitken_gap(l: [f64; 3]) -> Option<f64> {
    let [l0, l1, l2] = l;
    if !(l0.is_finite() && l1.is_finite() && l2.is_finite()) {
        return None;
    }
    let (d1, d2) = (l1 - l0, l2 - l1);
    if d1 < 0.0 || d2 < 0.0 {
        return None;
    }
    if d2 == 0.0 {
        // A step of 0 after a non-negative one: a_t = 0, the sequence is at its limit (when
        // d1 = 0 too it has stood still for two steps).
        return Some(0.0);
    }
    if d1 == 0.0 {
        return None; // stood still, then moved: no rate
    }
    let a = d2 / d1;
    if a >= 1.0 {
        return None;
    }
    let gap = d2 * a / (1.0 - a);
    gap.is_finite().then_some(gap)
}

/// The estimated distance to the limit of a linearly converging sequence of parameters, from
/// its successive changes (relative distances between successive iterates, oldest first):
/// with r the largest ratio of consecutive changes among the last nine of them (eight ratios)
/// and c the last change, the remaining distance c · r / (1 − r) — the sum of the geometric
/// series of the changes still to come. This is what the parameter rule computes for plain
/// EM (for accelerated steps see [`Stopping::Parameters`]).
///
/// `None` — no estimate, so no stop — with fewer than two changes, a non-finite change, a
/// ratio ≥ 1 (not yet converging linearly) or a change after a change of 0. A last change of
/// exactly 0 is a fixed point: `Some(0.0)`.
///
/// ```
/// use em_core::stopping::distance_to_limit;
/// // Changes 1e-4 then 9e-5: r = 0.9, 9e-5 · 9 = 8.1e-4 still to go.
/// let d = distance_to_limit(&[1e-4, 9e-5]).unwrap();
/// assert!((d - 8.1e-4).abs() < 1e-15);
/// // The largest recent ratio counts: 0.9 here, not the last one, 0.5.
/// let d = distance_to_limit(&[1e-4, 9e-5, 4.5e-5]).unwrap();
/// assert!((d - 4.05e-4).abs() < 1e-15);
/// assert_eq!(distance_to_limit(&[1e-4, 2e-4]), None); // growing
/// assert_eq!(distance_to_limit(&[1e-4, 0.0]), Some(0.0));
/// ```
pub fn distance_to_limit(changes: &[f64]) -> Option<f64> {
    let (&last, earlier) = changes.split_last()?;
    if last == 0.0 {
        return Some(0.0);
    }
    if earlier.is_empty() {
        return None;
    }
    let recent = &changes[changes.len().saturating_sub(RATES + 1)..];
    let rate = recent
        .windows(2)
        .map(|w| contraction(w[0], w[1]))
        .reduce(f64::max)?;
    from_rate(last, rate)
}

/// The ratio `next / previous` of two successive changes, with 0 / 0 = 0 (standing still);
/// infinite (no contraction) for anything after a change of 0 and for non-finite changes.
fn contraction(previous: f64, next: f64) -> f64 {
    if !(previous.is_finite() && next.is_finite()) {
        f64::INFINITY
    } else if previous > 0.0 {
        next / previous
    } else if next == 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// `change` · r / (1 − r), or `None` unless 0 ≤ r < 1 and the result is finite.
fn from_rate(change: f64, rate: f64) -> Option<f64> {
    if change == 0.0 {
        return Some(0.0);
    }
    if !(change.is_finite() && (0.0..1.0).contains(&rate)) {
        return None;
    }
    let d = change * rate / (1.0 - rate);
    d.is_finite().then_some(d)
}

/// A model's parameters, each with the scale it is measured in: what the parameter stopping
/// rule ([`Stopping::Parameters`]) compares between iterations. The relative change of a
/// parameter is |θ − θ'| / s with s its scale; see the [module docs](self) for the scale of
/// each kind of parameter and why. The helpers push the common kinds.
///
/// The vector must keep its length and order from one iteration to the next (a model's
/// parameters in a fixed order).
///
/// ```
/// use em_core::ScaledParameters;
/// let mut a = ScaledParameters::new();
/// a.push_probability(0.3); // a weight
/// a.push(1.0, 2.0); // a mean, in units of its standard deviation 2
/// a.push_relative(4.0); // a variance
/// let mut b = ScaledParameters::new();
/// b.push_probability(0.3);
/// b.push(1.002, 2.0);
/// b.push_relative(4.0);
/// assert!((a.relative_distance(&b) - 1e-3).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScaledParameters {
    values: Vec<f64>,
    scales: Vec<f64>,
}

impl ScaledParameters {
    /// No parameters.
    pub fn new() -> Self {
        ScaledParameters::default()
    }

    /// Room for `n` parameters.
    pub fn with_capacity(n: usize) -> Self {
        ScaledParameters {
            values: Vec::with_capacity(n),
            scales: Vec::with_capacity(n),
        }
    }

    /// A parameter measured in units of `scale` (≥ 0; a change of a parameter of scale 0
    /// counts as infinite unless it is exactly 0).
    pub fn push(&mut self, value: f64, scale: f64) {
        self.values.push(value);
        self.scales.push(scale.abs());
    }

    /// A positive quantity (a rate, a variance, a standard deviation), relative to itself.
    pub fn push_relative(&mut self, value: f64) {
        self.push(value, value.abs());
    }

    /// A probability p, relative to min(p, 1 − p) but at least [`PROBABILITY_FLOOR`].
    pub fn push_probability(&mut self, p: f64) {
        self.push(p, p.min(1.0 - p).max(PROBABILITY_FLOOR));
    }

    /// Appends another model part's parameters (a family's after the mixture weights …).
    pub fn append(&mut self, mut other: ScaledParameters) {
        self.values.append(&mut other.values);
        self.scales.append(&mut other.scales);
    }

    /// The parameters' values, in order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Their scales, in the same order.
    pub fn scales(&self) -> &[f64] {
        &self.scales
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The largest relative difference max_i |θ_i − θ'_i| / s_i, with s_i the larger of the
    /// two scales of parameter i (so the distance is symmetric). Equal values count 0 whatever
    /// their scale; a non-finite difference, a difference at scale 0 and vectors of different
    /// lengths count as infinitely far.
    pub fn relative_distance(&self, other: &ScaledParameters) -> f64 {
        if self.len() != other.len() {
            return f64::INFINITY;
        }
        let mut largest = 0.0_f64;
        for i in 0..self.len() {
            let diff = (self.values[i] - other.values[i]).abs();
            if diff == 0.0 {
                continue;
            }
            let scale = self.scales[i].max(other.scales[i]);
            let rel = diff / scale;
            if !rel.is_finite() {
                return f64::INFINITY;
            }
            largest = largest.max(rel);
        }
        largest
    }
}

/// The EM-map evaluations of a run, for the parameter rule: every M-step's relative change
/// (the EM map's residual |F(θ) − θ| at the point it was applied to) and the contraction
/// rate r: the largest ratio |F(F(θ)) − F(θ)| / |F(θ) − θ| over the last [`RATES`] pairs of
/// *consecutive* evaluations. From these the distance of the parameters a step ends at, F(θ),
/// to the limit is estimated as |F(θ) − θ| · r / (1 − r) ([`distance_to_limit`]). For plain
/// EM the residuals are the iterations' changes; for SQUAREM, whose cycles are not a linearly
/// converging sequence, the ratios come from plain EM steps within and between cycles and the
/// residual from the cycle's last M-step (the stabilising step after an accepted
/// extrapolation).
#[derive(Debug, Default)]
pub(crate) struct ParameterTrack {
    /// The latest evaluations, newest last: the parameters F(θ) each produced, its residual
    /// and the rate known when it was made.
    recent: Vec<Evaluation>,
    /// The rates of the latest pairs of consecutive evaluations (at most [`RATES`]), newest
    /// last.
    rates: Vec<f64>,
    /// The rate in force: the largest of `rates`.
    rate: Option<f64>,
}

#[derive(Debug)]
struct Evaluation {
    output: ScaledParameters,
    residual: f64,
    rate: Option<f64>,
}

/// How many evaluations [`ParameterTrack`] remembers (a SQUAREM cycle makes three).
const RECENT: usize = 4;

/// How many contraction ratios of consecutive evaluations the rate is the largest of. One
/// would do for plain EM, whose ratios settle on the slowest rate; after a SQUAREM
/// extrapolation has removed most of the slow component, the next two plain steps contract
/// faster than the EM map does near the optimum, and a rate from them alone stopped
/// accelerated fits 3e-6 from the optimum at tol = 1e-7. The largest of the last eight
/// (about four SQUAREM cycles) stopped every measured fit within 1.3e-7
/// (`docs/stopping.md`).
const RATES: usize = 8;

impl ParameterTrack {
    /// Records one evaluation of the EM map: the parameters before and after an M-step.
    pub(crate) fn record(&mut self, before: ScaledParameters, after: ScaledParameters) {
        let residual = after.relative_distance(&before);
        if let Some(last) = self.recent.last()
            && last.output.values() == before.values()
        {
            // θ was the previous evaluation's output: a consecutive pair.
            let rate = contraction(last.residual, residual);
            if self.rates.len() == RATES {
                self.rates.remove(0);
            }
            self.rates.push(rate);
            self.rate = self.rates.iter().copied().reduce(f64::max);
        }
        if self.recent.len() == RECENT {
            self.recent.remove(0);
        }
        self.recent.push(Evaluation {
            output: after,
            residual,
            rate: self.rate,
        });
    }

    /// The estimated relative distance to the limit of `current`, the parameters the model
    /// holds after a step: from the latest evaluation that produced them. `None` when no
    /// evaluation did (so far), or no rate < 1 is known.
    pub(crate) fn distance(&self, current: &ScaledParameters) -> Option<f64> {
        let at = self
            .recent
            .iter()
            .rev()
            .find(|e| e.output.values() == current.values())?;
        if at.residual == 0.0 {
            return Some(0.0);
        }
        from_rate(at.residual, at.rate?)
    }
}

/// What the driver's loop tracks to apply a stopping rule, one run at a time.
#[derive(Debug)]
pub(crate) struct Monitor {
    rule: Stopping,
    n_obs: f64,
}

/// What the monitor found after one iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Verdict {
    /// Change of the per-observation objective.
    pub change: f64,
    /// Aitken's estimated per-observation gap, when three values exist and it is defined.
    pub gap: Option<f64>,
    /// Estimated relative distance of the parameters to their limit (parameter rule only).
    pub distance: Option<f64>,
    /// Whether the rule holds.
    pub stop: bool,
}

impl Monitor {
    /// A monitor of `rule` for a run whose objective sums over `n_obs` observations, on a
    /// model that exposes its parameters or not (the parameter rule then becomes Aitken's at
    /// the same tolerance).
    pub(crate) fn new(rule: Stopping, n_obs: usize, has_parameters: bool) -> Self {
        let rule = match rule {
            Stopping::Parameters { tol } if !has_parameters => Stopping::Aitken { tol },
            _ => rule,
        };
        Monitor {
            rule,
            n_obs: n_obs as f64,
        }
    }

    /// The rule applied (the parameter rule's fallback for a model without parameters).
    pub(crate) fn rule(&self) -> Stopping {
        self.rule
    }

    /// Whether the rule needs the model's parameters at every M-step.
    pub(crate) fn wants_parameters(&self) -> bool {
        matches!(self.rule, Stopping::Parameters { .. })
    }

    /// One iteration: `trace` holds every objective so far (at least two), `distance` the
    /// estimated distance of the parameters to their limit under the parameter rule.
    pub(crate) fn observe(&self, trace: &[f64], distance: Option<f64>) -> Verdict {
        let change = match trace {
            [.., previous, last] => (last - previous) / self.n_obs,
            _ => f64::NAN,
        };
        let gap = match trace {
            [.., a, b, c] => aitken_gap([*a, *b, *c]).map(|g| g / self.n_obs),
            _ => None,
        };
        let tol = self.rule.tol();
        let stop = trace.len() >= 2
            && match self.rule {
                Stopping::ObjectiveChange { .. } => change.abs() < tol,
                Stopping::Aitken { .. } => gap.is_some_and(|g| g < tol),
                Stopping::Parameters { .. } => distance.is_some_and(|d| d < tol),
            };
        Verdict {
            change,
            gap,
            distance,
            stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aitken_gap_is_exact_on_a_geometric_sequence() {
        for r in [0.1, 0.5, 0.9, 0.999] {
            // ℓ_t = −50 − 3 rᵗ → −50.
            let l = |t: i32| -50.0 - 3.0 * f64::powi(r, t);
            for t in 2..40 {
                let truth = 3.0 * f64::powi(r, t);
                if truth < 1e-9 {
                    break; // the steps would be lost in the rounding of ℓ ≈ −50
                }
                let gap = aitken_gap([l(t - 2), l(t - 1), l(t)]).unwrap();
                // Exact but for rounding: each step Δ loses ≈ |ℓ|·ε to cancellation, and
                // 1/(1 − a) amplifies that relative error.
                let step = l(t) - l(t - 1);
                let rounding = truth * 8.0 * f64::EPSILON * 50.0 / (step * (1.0 - r));
                assert!(
                    (gap - truth).abs() <= 1e-9 * truth + rounding,
                    "r {r}, t {t}: {gap} vs {truth}"
                );
            }
        }
    }

    #[test]
    fn aitken_gap_refuses_what_is_not_monotone_linear_convergence() {
        assert_eq!(aitken_gap([0.0, 1.0, 3.0]), None); // a = 2
        assert_eq!(aitken_gap([0.0, 1.0, 2.0]), None); // a = 1: no limit
        assert_eq!(aitken_gap([0.0, -1.0, -1.5]), None); // falling
        assert_eq!(aitken_gap([0.0, 1.0, 0.999]), None); // a fall at the end
        assert_eq!(aitken_gap([0.0, 0.0, 1e-9]), None); // zero denominator
        assert_eq!(aitken_gap([f64::NAN, 0.0, 1.0]), None);
        assert_eq!(aitken_gap([0.0, f64::INFINITY, f64::INFINITY]), None);
        assert_eq!(aitken_gap([0.0, 1.0, f64::NEG_INFINITY]), None);
        assert_eq!(aitken_gap([2.0, 2.0, 2.0]), Some(0.0));
        assert_eq!(aitken_gap([1.0, 2.0, 2.0]), Some(0.0));
    }

    #[test]
    fn distance_to_limit_sums_the_remaining_geometric_steps() {
        // θ_t = 0.8^t: changes 0.2·0.8^(t−1); from θ_t the limit 0 is 0.8^t away.
        let theta = |t: i32| f64::powi(0.8, t);
        let changes: Vec<f64> = (1..40).map(|t| theta(t - 1) - theta(t)).collect();
        for t in 2..40 {
            let d = distance_to_limit(&changes[..t as usize]).unwrap();
            assert!((d - theta(t)).abs() < 1e-12 * theta(t), "t {t}: {d}");
        }
        assert_eq!(distance_to_limit(&[]), None);
        assert_eq!(distance_to_limit(&[1e-9]), None);
        assert_eq!(distance_to_limit(&[0.0]), Some(0.0));
        assert_eq!(distance_to_limit(&[0.0, 1e-9]), None);
        assert_eq!(distance_to_limit(&[1e-9, 1e-9]), None);
        assert_eq!(distance_to_limit(&[f64::INFINITY, 1e-9]), None);
        assert_eq!(distance_to_limit(&[1e-3, f64::NAN]), None);
        assert_eq!(distance_to_limit(&[0.0, 0.0]), Some(0.0));
        // A ratio ≥ 1 blocks the estimate while it is among the last RATES.
        let mut changes = vec![1e-3, 2e-3];
        changes.extend((1..=RATES).map(|i| 2e-3 * 0.5f64.powi(i as i32)));
        assert_eq!(distance_to_limit(&changes[..RATES + 1]), None);
        assert!(distance_to_limit(&changes).is_some());
    }

    #[test]
    fn relative_distance_uses_each_parameters_scale() {
        let mut a = ScaledParameters::new();
        a.push_probability(0.999_9); // measured against the floor 1e-3 (1 − p = 1e-4)
        a.push(0.0, 2.0); // a mean at 0, sd 2
        a.push_relative(5.0);
        let mut b = a.clone();
        assert_eq!(a.relative_distance(&b), 0.0);
        b.values[1] = 2e-6; // 1e-6 standard deviations
        assert!((a.relative_distance(&b) - 1e-6).abs() < 1e-18);
        b.values[0] = 0.999_9 - 5e-9; // 5e-9 / 1e-3 = 5e-6
        assert!((a.relative_distance(&b) - 5e-6).abs() < 1e-12);
        b.values[2] = f64::NAN;
        assert_eq!(a.relative_distance(&b), f64::INFINITY);
        assert_eq!(a.relative_distance(&ScaledParameters::new()), f64::INFINITY);
        let mut z = ScaledParameters::new();
        z.push(0.0, 0.0);
        let mut z2 = ScaledParameters::new();
        z2.push(0.0, 0.0);
        assert_eq!(z.relative_distance(&z2), 0.0);
        z2.values[0] = 1e-300;
        assert_eq!(z.relative_distance(&z2), f64::INFINITY);
    }

    #[test]
    fn tol_sets_the_tolerance_of_the_rule_in_force() {
        for rule in [
            Stopping::ObjectiveChange { tol: 1.0 },
            Stopping::Aitken { tol: 1.0 },
            Stopping::Parameters { tol: 1.0 },
        ] {
            let changed = rule.with_tol(0.25);
            assert_eq!(changed.tol(), 0.25);
            assert_eq!(changed.name(), rule.name());
        }
    }

    #[test]
    fn monitor_falls_back_to_aitken_without_parameters() {
        let m = Monitor::new(Stopping::Parameters { tol: 1e-3 }, 10, false);
        assert_eq!(m.rule(), Stopping::Aitken { tol: 1e-3 });
        assert!(!m.wants_parameters());
        let m = Monitor::new(Stopping::Parameters { tol: 1e-3 }, 10, true);
        assert!(m.wants_parameters());
    }

    /// One parameter in units of 1, so that changes are plain differences.
    fn one(v: f64) -> ScaledParameters {
        let mut s = ScaledParameters::new();
        s.push(v, 1.0);
        s
    }

    #[test]
    fn parameter_track_needs_two_consecutive_steps_for_a_rate() {
        let mut track = ParameterTrack::default();
        // θ: 1.0 → 1.0 + 1e-6: a tiny first change, but no rate yet.
        track.record(one(1.0), one(1.0 + 1e-6));
        assert_eq!(track.distance(&one(1.0 + 1e-6)), None);
        // A second, consecutive step half as long: r = 0.5, 5e-7 still to go.
        track.record(one(1.0 + 1e-6), one(1.0 + 1.5e-6));
        let d = track.distance(&one(1.0 + 1.5e-6)).unwrap();
        assert!((d - 5e-7).abs() < 1e-15, "{d}");
        // Parameters no evaluation produced: no estimate.
        assert_eq!(track.distance(&one(7.0)), None);
    }

    #[test]
    fn parameter_track_takes_squarems_rate_from_its_plain_steps() {
        // A cycle: θ0 → θ1 → θ2 (plain, r = 0.9), then the stabilising step θ' → θ'' from an
        // extrapolated θ', which is no plain step's output.
        let mut track = ParameterTrack::default();
        track.record(one(1.0), one(1.1));
        track.record(one(1.1), one(1.19));
        track.record(one(1.9), one(1.9001));
        // Accepted: the model holds θ''; residual 1e-4, r = 0.9: 9e-4 to go.
        let d = track.distance(&one(1.9001)).unwrap();
        assert!((d - 9e-4).abs() < 1e-12, "{d}");
        // Fallback: the model holds θ2, from the second plain step: 0.09 · 9.
        let d = track.distance(&one(1.19)).unwrap();
        assert!((d - 0.81).abs() < 1e-12, "{d}");
    }

    #[test]
    fn monitor_applies_the_rule_in_force() {
        let trace = [0.0, 1.0, 1.5];
        let objective = Monitor::new(Stopping::ObjectiveChange { tol: 0.6 }, 1, true);
        assert!(objective.observe(&trace, None).stop); // change 0.5
        let aitken = Monitor::new(Stopping::Aitken { tol: 0.6 }, 1, true);
        let v = aitken.observe(&trace, None);
        assert_eq!(v.gap, Some(0.5)); // a = ½: ℓ∞ = 2
        assert!(v.stop);
        assert!(
            !Monitor::new(Stopping::Aitken { tol: 0.5 }, 1, true)
                .observe(&trace, None)
                .stop
        );
        let parameters = Monitor::new(Stopping::Parameters { tol: 1e-3 }, 1, true);
        assert!(!parameters.observe(&trace, None).stop);
        assert!(!parameters.observe(&trace, Some(1e-3)).stop);
        assert!(parameters.observe(&trace, Some(9e-4)).stop);
        // Per observation: the same trace over 10 observations.
        let v = Monitor::new(Stopping::Aitken { tol: 0.06 }, 10, true).observe(&trace, None);
        assert_eq!(v.gap, Some(0.05));
        assert!(v.stop);
    }
}
