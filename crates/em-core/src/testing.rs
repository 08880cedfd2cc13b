//! The EM invariant checker: proof, for any [`LatentModel`], that its E- and M-steps are right.
//!
//! With q_t the E-step posterior at θ_t and ELBO(q, θ) = E_q[log p(x, z | θ)] + H(q) + log p(θ),
//! EM guarantees at every iteration t:
//!
//! 1. [`Invariant::ElboTight`]: ELBO(q_t, θ_t) = log p(x | θ_t) + log p(θ_t) (the E-step
//!    closes the KL gap);
//! 2. [`Invariant::MStepImproves`]: ELBO(q_t, θ_{t+1}) ≥ ELBO(q_t, θ_t) (the M-step
//!    maximises the ELBO in θ);
//! 3. [`Invariant::BoundHolds`]: log p(x | θ_{t+1}) + log p(θ_{t+1}) ≥ ELBO(q_t, θ_{t+1})
//!    (the ELBO is a lower bound, KL ≥ 0).
//!
//! Together they make the objective non-decreasing. [`check_invariants`] runs EM for a few
//! steps and checks all three at each one, within a floating-point [`Tolerance`]; the report
//! names the invariant that broke, the iteration and by how much.
//!
//! ```
//! use em_core::testing::{check_invariants, Tolerance};
//! # use em_core::{EStep, EmError, LatentModel, Statistics};
//! # #[derive(Clone)] struct Constant;
//! # struct NoStats; impl Statistics for NoStats { fn merge(&mut self, _: &Self) {} }
//! # impl LatentModel for Constant {
//! #     type Data = [f64]; type Stats = NoStats;
//! #     fn e_step(&self, d: &[f64], r: std::ops::Range<usize>) -> Result<EStep<NoStats>, EmError> {
//! #         Ok(EStep { stats: NoStats, log_likelihood: -(r.len() as f64), entropy: 0.0 }) }
//! #     fn m_step(&mut self, _: &NoStats) -> Result<(), EmError> { Ok(()) }
//! #     fn expected_complete_log_likelihood(&self, _: &NoStats) -> f64 { -10.0 }
//! # }
//! // `Constant` is a (trivial) model whose ELBO is tight: -10 = log-likelihood of 10 points.
//! let report = check_invariants(Constant, &[0.0; 10][..], 5, Tolerance::default())?;
//! assert!(report.is_ok(), "{report}");
//! # Ok::<(), EmError>(())
//! ```

use std::fmt;

use crate::chunked::{chunked_e_step, chunked_log_likelihood};
use crate::{Dataset, EmError, LatentModel};

/// The three EM invariants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invariant {
    /// After an E-step at θ_t the ELBO equals the objective: ELBO(q_t, θ_t) = ℓ(θ_t).
    ElboTight,
    /// The M-step does not lower the ELBO: ELBO(q_t, θ_{t+1}) ≥ ELBO(q_t, θ_t).
    MStepImproves,
    /// The ELBO is a lower bound: ℓ(θ_{t+1}) ≥ ELBO(q_t, θ_{t+1}).
    BoundHolds,
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invariant::ElboTight => "ELBO tight after the E-step: ELBO(q_t, θ_t) = ℓ(θ_t)",
            Invariant::MStepImproves => {
                "M-step improves the ELBO: ELBO(q_t, θ_t+1) ≥ ELBO(q_t, θ_t)"
            }
            Invariant::BoundHolds => "ELBO is a lower bound: ℓ(θ_t+1) ≥ ELBO(q_t, θ_t+1)",
        })
    }
}

/// How much floating-point slack a comparison gets: `absolute + relative · max(|a|, |b|)`.
///
/// The default (relative 1e-9, absolute 1e-9) sits far above the rounding of sums over
/// thousands of observations in f64 (~1e-13 relative) and far below any real modelling
/// error, which moves the objective by O(1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Slack relative to the larger magnitude of the two sides.
    pub relative: f64,
    /// Slack independent of magnitude.
    pub absolute: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            relative: 1e-9,
            absolute: 1e-9,
        }
    }
}

impl Tolerance {
    fn slack(&self, a: f64, b: f64) -> f64 {
        self.absolute + self.relative * a.abs().max(b.abs())
    }
}

/// One broken invariant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Violation {
    /// Which invariant.
    pub invariant: Invariant,
    /// The EM iteration t (0 = the initial parameters) at which it broke.
    pub iteration: usize,
    /// By how much the inequality (or equality) was missed, beyond the tolerance's slack.
    pub amount: f64,
    /// The two sides compared (left should be ≥ right, or equal for `ElboTight`).
    pub sides: (f64, f64),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "iteration {}: {} broken by {:e} (left {:.17e}, right {:.17e})",
            self.iteration, self.invariant, self.amount, self.sides.0, self.sides.1
        )
    }
}

/// What [`check_invariants`] saw.
#[derive(Debug, Clone, PartialEq)]
pub struct InvariantReport {
    /// Objective ℓ(θ_t) + log p(θ_t) at t = 0, 1, …
    pub objectives: Vec<f64>,
    /// Every violation, in order of iteration.
    pub violations: Vec<Violation>,
    /// Steps that ran (fewer than asked when the M-step returned an error).
    pub steps: usize,
}

impl InvariantReport {
    /// True when no invariant broke.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// The first violation, if any.
    pub fn first_violation(&self) -> Option<&Violation> {
        self.violations.first()
    }
}

impl fmt::Display for InvariantReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(f, "all EM invariants held over {} step(s)", self.steps);
        }
        writeln!(
            f,
            "{} EM invariant violation(s) over {} step(s):",
            self.violations.len(),
            self.steps
        )?;
        for v in &self.violations {
            writeln!(f, "  {v}")?;
        }
        Ok(())
    }
}

/// Runs `steps` EM iterations from `model` on `data` and checks the three invariants at each.
///
/// Errors from the model's E- or M-step are returned as errors (not violations): they mean
/// the model could not run, which the caller's test should assert on separately. The E-step
/// runs over the whole data as one batch, so this also works for data sets the driver would
/// not split.
pub fn check_invariants<M: LatentModel>(
    mut model: M,
    data: &M::Data,
    steps: usize,
    tolerance: Tolerance,
) -> Result<InvariantReport, EmError> {
    let n = data.n_obs();
    let mut report = InvariantReport {
        objectives: Vec::with_capacity(steps + 1),
        violations: Vec::new(),
        steps: 0,
    };
    let mut e = model.e_step(data, 0..n)?;
    for t in 0..steps {
        let objective = e.log_likelihood + model.log_prior();
        if t == 0 {
            report.objectives.push(objective);
        }
        let elbo_before =
            model.expected_complete_log_likelihood(&e.stats) + e.entropy + model.log_prior();
        let mut check = |invariant, left: f64, right: f64, equality: bool| {
            let missed = if equality {
                (left - right).abs()
            } else {
                right - left
            };
            let amount = missed - tolerance.slack(left, right);
            if amount > 0.0 || left.is_nan() || right.is_nan() {
                report.violations.push(Violation {
                    invariant,
                    iteration: t,
                    amount: if amount.is_nan() { f64::NAN } else { missed },
                    sides: (left, right),
                });
            }
        };
        check(Invariant::ElboTight, elbo_before, objective, true);

        model.m_step(&e.stats)?;
        let elbo_after =
            model.expected_complete_log_likelihood(&e.stats) + e.entropy + model.log_prior();
        let next = model.e_step(data, 0..n)?;
        let next_objective = next.log_likelihood + model.log_prior();
        check(Invariant::MStepImproves, elbo_after, elbo_before, false);
        check(Invariant::BoundHolds, next_objective, elbo_after, false);
        report.objectives.push(next_objective);
        report.steps += 1;
        e = next;
    }
    Ok(report)
}

/// Checks that a model's chunked E-step agrees with its one-batch E-step: merged statistics
/// must reproduce the totals. Returns the relative difference of the log-likelihoods.
///
/// A `Statistics::merge` that drops or double-counts a batch shows up here.
pub fn chunking_discrepancy<M: LatentModel>(
    model: &M,
    data: &M::Data,
    chunk_size: usize,
) -> Result<f64, EmError> {
    let whole = model.e_step(data, 0..data.n_obs())?;
    let parts = chunked_e_step(model, data, chunk_size)?;
    let ll = chunked_log_likelihood(model, data, chunk_size)?;
    let scale = whole.log_likelihood.abs().max(1.0);
    let d_stats = (model.expected_complete_log_likelihood(&whole.stats)
        - model.expected_complete_log_likelihood(&parts.stats))
    .abs();
    Ok([
        (whole.log_likelihood - parts.log_likelihood).abs(),
        (whole.entropy - parts.entropy).abs(),
        (whole.log_likelihood - ll).abs(),
        d_stats,
    ]
    .into_iter()
    .fold(0.0, f64::max)
        / scale)
}

#[cfg(feature = "proptest")]
pub mod prop;

mod score;
pub use score::{ScoreCheck, check_score};
