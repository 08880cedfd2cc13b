//! SQUAREM (accelerated EM): speed-up, the monotonicity guard, fallbacks and reproducibility.

mod common;

use std::ops::Range;

use common::{Mixture1d, normal_mixture, two_clusters};
use em_core::testing::{Tolerance, check_invariants};
use em_core::{
    Acceleration, Control, EStep, Em, EmError, FitReport, Iteration, LatentModel, ParameterVector,
    Squarem, Statistics, StdRng, StopReason, Stopping,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Hasselblad's (1969) data: deaths per day 0..9 observed these many days.
const HASSELBLAD: [usize; 10] = [162, 267, 271, 185, 111, 61, 27, 8, 3, 1];

fn hasselblad() -> Vec<u32> {
    (0u32..)
        .zip(HASSELBLAD)
        .flat_map(|(y, c)| std::iter::repeat_n(y, c))
        .collect()
}

/// Coordinates of the Poisson mixture's parameter vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coords {
    /// (p, λ1, λ2): extrapolations outside (0, 1) × (0, ∞)² are refused.
    Raw,
    /// (logit p, ln λ1, ln λ2): every finite vector is valid.
    Unconstrained,
}

/// p Pois(λ1) + (1 − p) Pois(λ2).
#[derive(Debug, Clone, PartialEq)]
struct PoissonMixture {
    p: f64,
    lambda: [f64; 2],
    coords: Coords,
}

#[derive(Debug, Clone, PartialEq)]
struct PoissonStats {
    n: [f64; 2],
    s: [f64; 2],
    log_fact: f64,
}

impl Statistics for PoissonStats {
    fn merge(&mut self, o: &Self) {
        for k in 0..2 {
            self.n[k] += o.n[k];
            self.s[k] += o.s[k];
        }
        self.log_fact += o.log_fact;
    }
}

fn ln_fact(y: u32) -> f64 {
    (2..=y).map(|i| f64::from(i).ln()).sum()
}

impl PoissonMixture {
    fn new(p: f64, l1: f64, l2: f64, coords: Coords) -> Self {
        PoissonMixture {
            p,
            lambda: [l1, l2],
            coords,
        }
    }
    fn log_weights(&self) -> [f64; 2] {
        [self.p.ln(), (1.0 - self.p).ln()]
    }
}

impl LatentModel for PoissonMixture {
    type Data = [u32];
    type Stats = PoissonStats;

    fn e_step(&self, data: &[u32], rows: Range<usize>) -> Result<EStep<PoissonStats>, EmError> {
        let mut st = PoissonStats {
            n: [0.0; 2],
            s: [0.0; 2],
            log_fact: 0.0,
        };
        let (mut ll, mut h) = (0.0, 0.0);
        let lw = self.log_weights();
        for &y in &data[rows] {
            let (yf, lf) = (f64::from(y), ln_fact(y));
            let lj = [0, 1].map(|k| lw[k] + yf * self.lambda[k].ln() - self.lambda[k] - lf);
            let m = lj[0].max(lj[1]);
            let lse = m + ((lj[0] - m).exp() + (lj[1] - m).exp()).ln();
            ll += lse;
            st.log_fact += lf;
            for (k, l) in lj.into_iter().enumerate() {
                let log_g = l - lse;
                let g = log_g.exp();
                if g > 0.0 {
                    h -= g * log_g;
                }
                st.n[k] += g;
                st.s[k] += g * yf;
            }
        }
        Ok(EStep {
            stats: st,
            log_likelihood: ll,
            entropy: h,
        })
    }

    fn m_step(&mut self, st: &PoissonStats) -> Result<(), EmError> {
        for k in 0..2 {
            if st.n[k] <= 0.0 || st.s[k] <= 0.0 {
                return Err(EmError::EmptyComponent {
                    component: k,
                    weight: st.n[k],
                });
            }
        }
        self.p = st.n[0] / (st.n[0] + st.n[1]);
        self.lambda = [0, 1].map(|k| st.s[k] / st.n[k]);
        Ok(())
    }

    fn expected_complete_log_likelihood(&self, st: &PoissonStats) -> f64 {
        let lw = self.log_weights();
        (0..2)
            .map(|k| st.n[k] * (lw[k] - self.lambda[k]) + st.s[k] * self.lambda[k].ln())
            .sum::<f64>()
            - st.log_fact
    }
}

impl ParameterVector for PoissonMixture {
    fn parameters(&self) -> Vec<f64> {
        match self.coords {
            Coords::Raw => vec![self.p, self.lambda[0], self.lambda[1]],
            Coords::Unconstrained => vec![
                (self.p / (1.0 - self.p)).ln(),
                self.lambda[0].ln(),
                self.lambda[1].ln(),
            ],
        }
    }

    fn set_parameters(&mut self, t: &[f64]) -> Result<(), EmError> {
        let invalid = |reason: String| {
            Err(EmError::InvalidParameter {
                name: "theta",
                reason,
            })
        };
        if t.len() != 3 || t.iter().any(|x| !x.is_finite()) {
            return invalid(format!("expected 3 finite values, got {t:?}"));
        }
        let (p, l1, l2) = match self.coords {
            Coords::Raw => (t[0], t[1], t[2]),
            Coords::Unconstrained => (1.0 / (1.0 + (-t[0]).exp()), t[1].exp(), t[2].exp()),
        };
        if !(p > 0.0 && p < 1.0 && l1 > 0.0 && l2 > 0.0) {
            return invalid(format!(
                "outside (0, 1) × (0, ∞)²: p = {p}, λ = ({l1}, {l2})"
            ));
        }
        self.p = p;
        self.lambda = [l1, l2];
        Ok(())
    }
}

/// The published MLE (p, λ1, λ2), p the weight of the λ1 component, λ1 > λ2.
const MLE: [f64; 3] = [0.640_114_6, 2.663_404_4, 1.256_095_1];

/// (weight of the larger-rate component, larger rate, smaller rate): the MLE's labelling.
fn canonical(m: &PoissonMixture) -> [f64; 3] {
    if m.lambda[0] >= m.lambda[1] {
        [m.p, m.lambda[0], m.lambda[1]]
    } else {
        [1.0 - m.p, m.lambda[1], m.lambda[0]]
    }
}

/// Largest absolute difference between two parameter vectors.
fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The trace never decreases, except by the rounding of the objective's evaluation (a sum
/// over the data, ~1e-14 relative): that is plain EM's own guarantee in floating point, and
/// SQUAREM's guard adds no decrease of its own. An extrapolation accepted against the guard
/// moves it by far more (the tests fail when the guard is disabled).
fn non_decreasing(report: &FitReport) -> Result<(), String> {
    for (i, w) in report.trace.windows(2).enumerate() {
        if w[1] < w[0] - 1e-12 * w[0].abs().max(1.0) {
            return Err(format!(
                "cycle {}: objective fell from {:.17e} to {:.17e}",
                i + 1,
                w[0],
                w[1]
            ));
        }
    }
    if report.largest_decrease > 1e-12 * report.objective().abs().max(1.0) {
        return Err(format!("largest decrease {:e}", report.largest_decrease));
    }
    Ok(())
}

fn assert_non_decreasing(report: &FitReport) {
    if let Err(e) = non_decreasing(report) {
        panic!("{e}");
    }
}

/// The number of plain EM iterations after which the model is first within `eps` of
/// `target` (max-abs, in the coordinates `coords`), found one driver iteration at a time.
/// Plain EM's M-step depends only on the statistics, so this is the iterate a single run
/// with `max_iter = k` ends at (checked by the callers). A plain run to that point costs
/// k + 1 E-steps.
fn plain_iterations_to<M: LatentModel>(
    model: &mut M,
    data: &M::Data,
    coords: impl Fn(&M) -> Vec<f64>,
    target: &[f64],
    eps: f64,
) -> usize {
    let one = Em::new().tol(0.0).max_iter(1);
    let mut k = 0;
    while max_abs_diff(&coords(model), target) > eps {
        one.fit(model, data).unwrap();
        k += 1;
        assert!(k < 100_000, "plain EM did not reach the target");
    }
    k
}

#[test]
fn poisson_mixture_test_model_passes_the_invariant_checker() {
    let data = hasselblad();
    let model = PoissonMixture::new(0.3, 1.0, 2.5, Coords::Raw);
    let report = check_invariants(model, &data[..], 50, Tolerance::default()).unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn hasselblad_squarem_reaches_the_mle_with_5x_fewer_e_steps_than_plain_em() {
    let data = hasselblad();
    let start = || PoissonMixture::new(0.3, 1.0, 2.5, Coords::Raw);

    // Plain EM: iterations until the parameters are within 1e-6 of the MLE. An objective
    // tolerance cannot stop it there: near the MLE its per-iteration gain falls below the
    // rounding of the log-likelihood first (see the tol = 1e-15 run below).
    let mut plain = start();
    let k = plain_iterations_to(&mut plain, &data[..], canonical_vec, &MLE, 1e-6);
    let mut again = start();
    let plain_report = Em::new()
        .tol(0.0)
        .max_iter(k)
        .fit(&mut again, &data[..])
        .unwrap();
    assert_eq!(again, plain);
    let plain_e_steps = plain_report.e_steps;
    assert_eq!(plain_e_steps, k + 1);
    assert!(plain_e_steps >= 1000, "plain EM: {plain_e_steps} E-steps");

    // Plain EM with the tolerance SQUAREM uses stops earlier, short of the MLE. (The
    // objective-change rule, which these numbers were measured with; the model exposes no
    // parameters for the default rule.)
    let em = Em::new()
        .stopping(Stopping::ObjectiveChange { tol: 1e-15 })
        .max_iter(10_000);
    let mut plain_tol = start();
    let plain_tol_report = em.fit(&mut plain_tol, &data[..]).unwrap();

    // SQUAREM, stopped by the driver's own rule (per-observation objective change < 1e-15).
    let mut fast = start();
    let report = em
        .clone()
        .accelerate(Acceleration::Squarem)
        .fit(&mut fast, &data[..])
        .unwrap();
    eprintln!(
        "Hasselblad, start (0.3, 1.0, 2.5), raw coordinates: plain EM {} E-steps ({} iterations) \
         to the MLE within 1e-6; plain EM with tol 1e-15 stops after {} E-steps {:.1e} away; \
         SQUAREM {} E-steps, {} M-steps, {} cycles, {} fallbacks, {:.1e} away",
        plain_e_steps,
        k,
        plain_tol_report.e_steps,
        max_abs_diff(&canonical(&plain_tol), &MLE),
        report.e_steps,
        report.m_steps,
        report.iterations,
        report.fallbacks,
        max_abs_diff(&canonical(&fast), &MLE),
    );
    assert!(report.converged);
    assert!(
        max_abs_diff(&canonical(&fast), &MLE) <= 1e-6,
        "{:?}",
        canonical(&fast)
    );
    assert!(
        report.e_steps * 5 <= plain_e_steps,
        "SQUAREM {} vs plain {plain_e_steps} E-steps",
        report.e_steps
    );
    assert!(
        report.e_steps < 200,
        "SQUAREM took {} E-steps",
        report.e_steps
    );
    assert!(report.objective() >= plain_tol_report.objective());
    assert_non_decreasing(&report);
    assert_eq!(report.trace.len(), report.iterations + 1);
    assert!(report.m_steps <= 3 * report.iterations && report.e_steps <= 4 * report.iterations + 1);
}

fn canonical_vec(m: &PoissonMixture) -> Vec<f64> {
    canonical(m).to_vec()
}

#[test]
fn hasselblad_in_unconstrained_coordinates_also_reaches_the_mle() {
    // logit p and log-rates: no extrapolation is ever invalid; the guard still rejects those
    // that lower the likelihood.
    let data = hasselblad();
    let mut fast = PoissonMixture::new(0.3, 1.0, 2.5, Coords::Unconstrained);
    let report = Em::new()
        .stopping(Stopping::ObjectiveChange { tol: 1e-15 })
        .max_iter(10_000)
        .accelerate(Acceleration::Squarem)
        .fit(&mut fast, &data[..])
        .unwrap();
    eprintln!(
        "Hasselblad, unconstrained coordinates: SQUAREM {} E-steps, {} fallbacks, {:.1e} away",
        report.e_steps,
        report.fallbacks,
        max_abs_diff(&canonical(&fast), &MLE)
    );
    assert!(report.converged);
    assert!(max_abs_diff(&canonical(&fast), &MLE) <= 1e-6);
    assert!(report.e_steps * 5 <= 1000);
    assert_non_decreasing(&report);
}

#[test]
fn overlapping_gaussian_mixture_squarem_reaches_the_same_optimum_with_5x_fewer_e_steps() {
    // 0.7 N(0, 1) + 0.3 N(2, 1): the components overlap so much that EM crawls.
    let data = normal_mixture(2000, 0.3, 2.0, 7);
    let start = || Mixture1d::new(vec![0.5, 0.5], vec![-0.5, 0.5], vec![1.0, 1.0]);
    let params = |m: &Mixture1d| m.parameters();

    // The optimum: plain EM run far past convergence.
    let mut optimum = start();
    Em::new()
        .tol(0.0)
        .max_iter(30_000)
        .fit(&mut optimum, &data[..])
        .unwrap();
    let target = optimum.parameters();

    let mut plain = start();
    let k = plain_iterations_to(&mut plain, &data[..], params, &target, 1e-6);
    let plain_e_steps = k + 1;

    let em = Em::new()
        .stopping(Stopping::ObjectiveChange { tol: 1e-14 })
        .max_iter(30_000);
    let mut plain_tol = start();
    let plain_tol_report = em.fit(&mut plain_tol, &data[..]).unwrap();

    let mut fast = start();
    let report = em
        .clone()
        .accelerate(Acceleration::Squarem)
        .fit(&mut fast, &data[..])
        .unwrap();
    eprintln!(
        "overlapping 1-D GMM (n = 2000): plain EM {} E-steps to the optimum within 1e-6; plain EM \
         with tol 1e-14 stops after {} E-steps {:.1e} away; SQUAREM {} E-steps, {} M-steps, \
         {} cycles, {} fallbacks, {:.1e} away",
        plain_e_steps,
        plain_tol_report.e_steps,
        max_abs_diff(&plain_tol.parameters(), &target),
        report.e_steps,
        report.m_steps,
        report.iterations,
        report.fallbacks,
        max_abs_diff(&fast.parameters(), &target),
    );
    assert!(report.converged);
    assert!(
        max_abs_diff(&fast.parameters(), &target) <= 1e-6,
        "{fast:?} vs {optimum:?}"
    );
    assert!(report.e_steps * 5 <= plain_e_steps);
    assert!(report.e_steps * 5 <= plain_tol_report.e_steps);
    assert!(report.objective() >= plain_tol_report.objective());
    assert_non_decreasing(&report);
}

#[test]
fn squarem_trace_never_decreases_on_random_data_and_starts() {
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let fallbacks = std::cell::Cell::new(0);
    let fits = std::cell::Cell::new(0);
    let strategy = (
        prop::collection::vec(-10.0..10.0f64, 20..200),
        2usize..=3,
        any::<u64>(),
    );
    runner
        .run(&strategy, |(data, k, seed)| {
            use rand::SeedableRng;
            let mut rng = StdRng::seed_from_u64(seed);
            let mut model = Mixture1d::random_start(&data, k, &mut rng)?;
            let em = Em::new()
                .tol(1e-9)
                .max_iter(600)
                .accelerate(Acceleration::Squarem);
            match em.fit(&mut model, &data[..]) {
                Ok(report) => {
                    non_decreasing(&report).map_err(TestCaseError::fail)?;
                    prop_assert!(report.m_steps <= 600);
                    prop_assert_eq!(report.trace.len(), report.iterations + 1);
                    // The reported objective is that of the returned parameters.
                    let ll = em_core::chunked_log_likelihood(&model, &data[..], 4096)?;
                    prop_assert!((ll - report.objective()).abs() <= 1e-9 * ll.abs());
                    fallbacks.set(fallbacks.get() + report.fallbacks);
                    fits.set(fits.get() + 1);
                }
                // A component can empty in the plain EM steps, as in plain EM.
                Err(EmError::EmptyComponent { .. }) => {}
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
            Ok(())
        })
        .unwrap();
    let fits = fits.get();
    assert!(fits >= 64, "only {fits} of 96 cases fitted");
    // The raw coordinates make some extrapolations invalid: the guard was exercised.
    assert!(fallbacks.get() > 0);
}

/// A model that refuses every extrapolation: SQUAREM must reduce to plain EM.
#[derive(Debug, Clone, PartialEq)]
struct Rigid(Mixture1d);

/// A model whose extrapolated points are valid but carry a log-prior of −10⁶: the guard must
/// reject every one of them on the objective.
#[derive(Debug, Clone, PartialEq)]
struct Penalised {
    inner: Mixture1d,
    penalty: f64,
}

macro_rules! delegate_latent_model {
    ($t:ty, $inner:tt, $prior:expr) => {
        impl LatentModel for $t {
            type Data = [f64];
            type Stats = common::Stats1d;
            fn e_step(
                &self,
                data: &[f64],
                rows: Range<usize>,
            ) -> Result<EStep<common::Stats1d>, EmError> {
                self.$inner.e_step(data, rows)
            }
            fn m_step(&mut self, s: &common::Stats1d) -> Result<(), EmError> {
                self.$inner.m_step(s)
            }
            fn expected_complete_log_likelihood(&self, s: &common::Stats1d) -> f64 {
                self.$inner.expected_complete_log_likelihood(s)
            }
            fn log_prior(&self) -> f64 {
                let prior: fn(&Self) -> f64 = $prior;
                prior(self)
            }
        }
    };
}
delegate_latent_model!(Rigid, 0, |_| 0.0);
delegate_latent_model!(Penalised, inner, |m| -m.penalty);

impl ParameterVector for Rigid {
    fn parameters(&self) -> Vec<f64> {
        self.0.parameters()
    }
    fn set_parameters(&mut self, _: &[f64]) -> Result<(), EmError> {
        Err(EmError::InvalidParameter {
            name: "theta",
            reason: "this model refuses every extrapolation".into(),
        })
    }
}

impl ParameterVector for Penalised {
    fn parameters(&self) -> Vec<f64> {
        self.inner.parameters()
    }
    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        self.inner.set_parameters(theta)?;
        self.penalty = 1e6;
        Ok(())
    }
}

fn slow_start() -> Mixture1d {
    Mixture1d::new(vec![0.5, 0.5], vec![-0.5, 0.5], vec![1.0, 1.0])
}

/// Every entry of `squarem` appears in `plain`, in order, bit for bit.
fn assert_subsequence_of_plain(squarem: &[f64], plain: &[f64]) {
    let mut it = plain.iter().map(|x| x.to_bits());
    for (i, x) in squarem.iter().enumerate() {
        assert!(
            it.any(|p| p == x.to_bits()),
            "cycle {i}: {x:e} is not a plain EM iterate"
        );
    }
}

#[test]
fn a_model_refusing_every_extrapolation_falls_back_to_exactly_plain_em() {
    let data = normal_mixture(1000, 0.3, 2.0, 3);
    let em = Em::new().tol(0.0).max_iter(80);
    let mut plain = slow_start();
    let plain_report = em.fit(&mut plain, &data[..]).unwrap();
    let mut rigid = Rigid(slow_start());
    let report = em
        .clone()
        .accelerate(Acceleration::Squarem)
        .fit(&mut rigid, &data[..])
        .unwrap();
    // Every cycle is two plain EM steps; no work is wasted on a refused point.
    assert_eq!(rigid.0, plain);
    assert_eq!(report.iterations, 40);
    // Every cycle tried but the first (|α| = 1) and the last (no M-step left to stabilise).
    assert_eq!(report.fallbacks, 38);
    assert_eq!((report.e_steps, report.m_steps), (81, 80));
    for (i, x) in report.trace.iter().enumerate() {
        assert_eq!(x.to_bits(), plain_report.trace[2 * i].to_bits());
    }
    // …and with a tolerance it converges where plain EM does. A cycle's change spans two
    // plain steps (about twice one step's), so it stops later, never earlier.
    let em = Em::new().tol(1e-10).max_iter(20_000);
    let mut plain = slow_start();
    let plain_report = em.fit(&mut plain, &data[..]).unwrap();
    let mut rigid = Rigid(slow_start());
    let report = em
        .clone()
        .accelerate(Acceleration::Squarem)
        .fit(&mut rigid, &data[..])
        .unwrap();
    assert!(report.converged && plain_report.converged);
    assert!(report.fallbacks + 2 >= report.iterations);
    assert!(report.m_steps >= plain_report.m_steps);
    assert!(report.objective() >= plain_report.objective());
    let mut same_steps = slow_start();
    let same_report = em
        .clone()
        .tol(0.0)
        .max_iter(report.m_steps)
        .fit(&mut same_steps, &data[..])
        .unwrap();
    assert_eq!(rigid.0, same_steps);
    assert_subsequence_of_plain(&report.trace, &same_report.trace);
}

#[test]
fn extrapolations_that_lower_the_objective_are_rejected() {
    let data = normal_mixture(1000, 0.3, 2.0, 3);
    let em = Em::new().tol(0.0).max_iter(100);
    let mut model = Penalised {
        inner: slow_start(),
        penalty: 0.0,
    };
    let report = em
        .clone()
        .accelerate(Acceleration::Squarem)
        .fit(&mut model, &data[..])
        .unwrap();
    assert_eq!(model.penalty, 0.0, "a penalised point was accepted");
    assert!(report.fallbacks >= report.iterations - 2);
    // Each rejected point cost one M-step and two E-steps and moved nothing.
    let em_steps = report.m_steps - report.fallbacks;
    assert_eq!(report.e_steps, 1 + em_steps + 2 * report.fallbacks);
    let mut plain = slow_start();
    let plain_report = em
        .clone()
        .max_iter(em_steps)
        .fit(&mut plain, &data[..])
        .unwrap();
    assert_eq!(model.inner, plain);
    assert_subsequence_of_plain(&report.trace, &plain_report.trace);
    assert_eq!(
        report.objective().to_bits(),
        plain_report.objective().to_bits()
    );
}

#[test]
fn max_iter_caps_the_m_steps() {
    let data = normal_mixture(500, 0.3, 2.0, 5);
    for max_iter in [0, 1, 2, 3, 4, 5, 7, 10, 33] {
        let mut model = slow_start();
        let report = Em::new()
            .tol(0.0)
            .max_iter(max_iter)
            .accelerate(Acceleration::Squarem)
            .fit(&mut model, &data[..])
            .unwrap();
        assert_eq!(report.m_steps, max_iter, "max_iter {max_iter}");
        assert_eq!(report.stop_reason, StopReason::MaxIterations);
        assert_eq!(report.trace.len(), report.iterations + 1);
        assert_non_decreasing(&report);
        if max_iter == 0 {
            assert_eq!(model, slow_start());
            assert_eq!(report.e_steps, 1);
        }
    }
}

#[test]
fn acceleration_none_is_plain_em() {
    let data = two_clusters(700);
    let em = Em::new().tol(1e-10).max_iter(500);
    let mut a = slow_start();
    let mut b = slow_start();
    let ra = em.fit(&mut a, &data[..]).unwrap();
    let rb = em
        .clone()
        .accelerate(Acceleration::None)
        .fit(&mut b, &data[..])
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(ra.trace, rb.trace);
    assert_eq!(
        (rb.e_steps, rb.m_steps, rb.fallbacks),
        (rb.iterations + 1, rb.iterations, 0)
    );
}

#[test]
fn the_squarem_step_and_the_run_time_choice_give_the_same_fit() {
    let data = normal_mixture(2_000, 0.3, 2.0, 3);
    let em = Em::new().tol(1e-12).max_iter(400);
    let mut a = slow_start();
    let mut b = slow_start();
    let ra = em
        .clone()
        .accelerate(Squarem)
        .fit(&mut a, &data[..])
        .unwrap();
    let rb = em
        .accelerate(Acceleration::Squarem)
        .fit(&mut b, &data[..])
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(ra.trace, rb.trace);
    assert_eq!((ra.e_steps, ra.fallbacks), (rb.e_steps, rb.fallbacks));
    assert!(ra.fallbacks + 1 < ra.iterations, "{ra:?}");
}

#[test]
fn accelerated_streaming_is_the_accelerated_in_memory_fit_bit_for_bit() {
    let data = normal_mixture(5_003, 0.3, 2.0, 9);
    let em = Em::new()
        .tol(1e-12)
        .max_iter(300)
        .chunk_size(97)
        .accelerate(Squarem);
    let mut in_memory = slow_start();
    let a = em.fit(&mut in_memory, &data[..]).unwrap();
    let mut streamed = slow_start();
    let mut source = em_core::stream::SliceSource::new(&data);
    let b = em.fit_stream(&mut streamed, &mut source).unwrap();
    assert_eq!(a.trace, b.trace);
    assert_eq!(in_memory, streamed);
    assert_eq!((a.e_steps, a.m_steps), (b.e_steps, b.m_steps));
    assert_eq!(source.passes(), b.e_steps);
    // …and it is accelerated: far fewer E-steps than plain EM to the same tolerance.
    let mut plain = slow_start();
    let p = Em::new()
        .tol(1e-12)
        .max_iter(300)
        .chunk_size(97)
        .fit(&mut plain, &data[..])
        .unwrap();
    assert!(b.e_steps * 2 < p.e_steps, "{} vs {}", b.e_steps, p.e_steps);
}

#[test]
fn observer_sees_every_cycle_and_can_stop() {
    let data = normal_mixture(500, 0.3, 2.0, 5);
    let mut seen: Vec<Iteration> = Vec::new();
    let mut observer = |it: &Iteration| {
        seen.push(*it);
        if it.iteration == 6 {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let mut model = slow_start();
    let report = Em::new()
        .tol(0.0)
        .max_iter(1000)
        .accelerate(Acceleration::Squarem)
        .observer(&mut observer)
        .fit(&mut model, &data[..])
        .unwrap();
    assert_eq!(report.stop_reason, StopReason::Observer);
    assert_eq!(report.iterations, 6);
    assert_eq!(
        seen.iter().map(|i| i.iteration).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
    for it in &seen {
        assert_eq!(it.objective, report.trace[it.iteration]);
    }
}

#[test]
fn squarem_fits_are_bit_identical_on_one_and_two_threads() {
    let data = normal_mixture(10_007, 0.3, 2.0, 11);
    let fit = |threads, tol| {
        let mut model = slow_start();
        let report = Em::new()
            .tol(tol)
            .max_iter(400)
            .chunk_size(113)
            .threads(threads)
            .accelerate(Acceleration::Squarem)
            .fit(&mut model, &data[..])
            .unwrap();
        let bits: Vec<u64> = report.trace.iter().map(|x| x.to_bits()).collect();
        (
            model,
            bits,
            report.e_steps,
            report.m_steps,
            report.fallbacks,
        )
    };
    for tol in [0.0, 1e-12] {
        let one = fit(1, tol);
        let two = fit(2, tol);
        assert_eq!(one, two, "tol {tol}");
        assert!(one.4 > 0 || tol > 0.0, "no fallback exercised");
    }
}

/// Accelerated restarts: each restart is seeded like the plain restarts, runs SQUAREM, is
/// reported with its index to the observer, and the best final objective wins.
#[test]
fn accelerated_restarts_run_squarem_per_restart_and_keep_the_best() {
    use rand::RngExt;
    let data = hasselblad();
    let init = |_: &[u32], rng: &mut StdRng| -> Result<PoissonMixture, EmError> {
        Ok(PoissonMixture::new(
            rng.random_range(0.2..0.8),
            rng.random_range(0.5..2.0),
            rng.random_range(2.0..4.0),
            Coords::Raw,
        ))
    };
    struct Seen(Vec<usize>);
    impl em_core::Observer for Seen {
        fn observe(&mut self, it: &Iteration) -> Control {
            self.0.push(it.restart);
            Control::Continue
        }
    }
    let em = Em::new()
        .tol(1e-12)
        .max_iter(500)
        .n_init(3)
        .seed(7)
        .accelerate(Acceleration::Squarem);
    let mut seen = Seen(Vec::new());
    let fitted = em
        .observer(&mut seen)
        .fit_restarts(&init, &data[..])
        .unwrap();
    assert_eq!(fitted.restarts.len(), 3);
    let objectives: Vec<f64> = fitted
        .restarts
        .iter()
        .map(|r| r.result.as_ref().unwrap().objective())
        .collect();
    let best = objectives.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(fitted.report.objective(), best);
    assert_eq!(objectives[fitted.best_restart], best);
    for r in 0..3 {
        assert!(
            seen.0.contains(&r),
            "restart {r} not observed: {:?}",
            seen.0
        );
    }
    // Every restart reaches the MLE, with far fewer E-steps than plain EM's thousands.
    assert!(max_abs_diff(&canonical_vec(&fitted.model), &MLE) < 1e-4);
    for r in &fitted.restarts {
        let report = r.result.as_ref().unwrap();
        assert_non_decreasing(report);
        assert!(
            report.e_steps < 1000,
            "restart {}: {} E-steps",
            r.index,
            report.e_steps
        );
    }
    // Restart i starts from the generator the plain restarts give it.
    let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(em_core::restart_seed(7, 1));
    let mut alone = init(&data[..], &mut rng).unwrap();
    let single = Em::new()
        .tol(1e-12)
        .max_iter(500)
        .accelerate(Acceleration::Squarem)
        .fit(&mut alone, &data[..])
        .unwrap();
    assert_eq!(
        single.objective(),
        fitted.restarts[1].result.as_ref().unwrap().objective()
    );
}
