//! The stopping rules in the driver: which rule stops a run, what the report says about it,
//! the estimates of the distance to the optimum, and SQUAREM under every rule.

mod common;

use std::ops::Range;

use common::{Mixture1d, two_clusters};
use em_core::{
    Control, EStep, Em, EmError, Iteration, LatentModel, ParameterVector, ScaledParameters,
    Squarem, Statistics, StopReason, Stopping,
};

/// A model whose EM map is exactly linear: θ ↦ θ* + r (θ − θ*), with objective
/// ℓ(θ) = −n (θ − θ*)² (so ℓ* = 0). Its iterates converge geometrically with ratio r, its
/// objective with ratio r², so both distance estimates are exact.
#[derive(Debug, Clone, PartialEq)]
struct Linear {
    theta: f64,
    target: f64,
    rate: f64,
    /// Whether it exposes its parameter (in units of 1).
    exposes: bool,
}

/// The E-step's "statistics": the parameter it saw.
struct Seen(f64);

impl Statistics for Seen {
    fn merge(&mut self, _: &Self) {}
}

impl LatentModel for Linear {
    type Data = [f64];
    type Stats = Seen;

    fn e_step(&self, data: &[f64], rows: Range<usize>) -> Result<EStep<Seen>, EmError> {
        let n = data[rows].len() as f64;
        Ok(EStep {
            stats: Seen(self.theta),
            log_likelihood: -n * (self.theta - self.target).powi(2),
            entropy: 0.0,
        })
    }

    fn m_step(&mut self, seen: &Seen) -> Result<(), EmError> {
        self.theta = self.target + self.rate * (seen.0 - self.target);
        Ok(())
    }

    fn expected_complete_log_likelihood(&self, _: &Seen) -> f64 {
        0.0
    }

    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        self.exposes.then(|| {
            let mut p = ScaledParameters::new();
            p.push(self.theta, 1.0);
            p
        })
    }
}

impl ParameterVector for Linear {
    fn parameters(&self) -> Vec<f64> {
        vec![self.theta]
    }

    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        match theta {
            [t] if t.is_finite() => {
                self.theta = *t;
                Ok(())
            }
            _ => Err(EmError::InvalidParameter {
                name: "theta",
                reason: format!("{theta:?}"),
            }),
        }
    }
}

fn linear(rate: f64) -> Linear {
    Linear {
        theta: 1.0,
        target: 3.0,
        rate,
        exposes: true,
    }
}

/// One data point per "observation": the objective sums over 10.
const DATA: [f64; 10] = [0.0; 10];

#[test]
fn the_default_rule_is_the_parameter_rule_and_stops_within_its_tolerance() {
    let mut model = linear(0.9);
    let report = Em::new().fit(&mut model, &DATA[..]).unwrap();
    assert_eq!(report.stopping, Stopping::DEFAULT);
    assert!(report.converged);
    assert_eq!(report.stop_reason, StopReason::Converged);
    let distance = (model.theta - model.target).abs();
    let tol = Stopping::DEFAULT.tol();
    assert!(distance < tol, "{distance}");
    // The estimate is exact for a linear map, r/(1 − r) times the last step, but for the
    // rounding of θ ≈ 3 in steps of 1e-8.
    let estimated = report.estimated_distance.unwrap();
    assert!(
        (estimated - distance).abs() <= 1e-6 * distance,
        "{estimated} vs {distance}"
    );
    // It stopped at the first iteration within tol: the previous one was not.
    let iterations = report.iterations as i32;
    assert!(2.0 * 0.9f64.powi(iterations - 1) >= tol);
}

#[test]
fn aitken_gap_in_the_report_is_the_per_observation_gap_whatever_the_rule() {
    for rule in [
        Stopping::ObjectiveChange { tol: 1e-9 },
        Stopping::Aitken { tol: 1e-9 },
        Stopping::Parameters { tol: 1e-9 },
    ] {
        let mut model = linear(0.8);
        let report = Em::new().stopping(rule).fit(&mut model, &DATA[..]).unwrap();
        assert!(report.converged, "{rule}");
        assert_eq!(report.stopping, rule);
        // ℓ* = 0; the gap per observation is (θ − θ*)².
        let gap = (model.theta - model.target).powi(2);
        let estimated = report.estimated_gap.unwrap();
        assert!(
            (estimated - gap).abs() <= 1e-6 * gap,
            "{rule}: {estimated} vs {gap}"
        );
        // The parameter estimate is reported under the parameter rule only.
        assert_eq!(
            report.estimated_distance.is_some(),
            matches!(rule, Stopping::Parameters { .. }),
            "{rule}"
        );
    }
}

#[test]
fn each_rule_stops_when_its_own_quantity_falls_below_tol() {
    let tol = 1e-8;
    let run = |rule: Stopping| {
        let mut model = linear(0.95);
        let report = Em::new().stopping(rule).fit(&mut model, &DATA[..]).unwrap();
        (report, model)
    };
    // scikit-learn's: the change per observation.
    let (report, _) = run(Stopping::ObjectiveChange { tol });
    let t = &report.trace;
    let change = |i: usize| (t[i] - t[i - 1]).abs() / 10.0;
    assert!(change(t.len() - 1) < tol);
    assert!((1..t.len() - 1).all(|i| change(i) >= tol));
    // Aitken's: the gap per observation, here (θ − θ*)².
    let (report, model) = run(Stopping::Aitken { tol });
    assert!((model.theta - model.target).powi(2) < tol * (1.0 + 1e-6));
    let before = 2.0 * 0.95f64.powi(report.iterations as i32 - 1);
    assert!(before * before >= tol * (1.0 - 1e-6));
    // The parameters': the distance of θ.
    let (report, model) = run(Stopping::Parameters { tol });
    assert!((model.theta - model.target).abs() < tol * (1.0 + 1e-6));
    assert!(2.0 * 0.95f64.powi(report.iterations as i32 - 1) >= tol * (1.0 - 1e-6));
    // The change is the poorest proxy: it stops first, farthest away.
    let (sklearn, far) = run(Stopping::ObjectiveChange { tol });
    assert!(sklearn.iterations < report.iterations);
    assert!((far.theta - far.target).abs() > 1e-5);
}

#[test]
fn a_model_without_parameters_falls_back_to_aitken_at_the_same_tol() {
    let mut model = Linear {
        exposes: false,
        ..linear(0.9)
    };
    let report = Em::new().tol(1e-12).fit(&mut model, &DATA[..]).unwrap();
    assert_eq!(report.stopping, Stopping::Aitken { tol: 1e-12 });
    assert!(report.converged);
    assert_eq!(report.estimated_distance, None);
    assert!(report.estimated_gap.unwrap() < 1e-12);
    // The bundled-style mixture of the common tests exposes none either.
    let data = two_clusters(400);
    let mut mixture = Mixture1d::new(vec![0.5, 0.5], vec![-1.0, 1.0], vec![4.0, 4.0]);
    let report = Em::new().fit(&mut mixture, &data[..]).unwrap();
    assert_eq!(report.stopping, Stopping::Aitken { tol: 1e-7 });
}

#[test]
fn no_stop_before_three_values_and_tol_zero_runs_max_iter() {
    for rule in [
        Stopping::Aitken { tol: 1.0 },
        Stopping::Parameters { tol: 1.0 },
    ] {
        // One iteration gives two objectives and one parameter change: no estimate yet.
        let report = Em::new()
            .stopping(rule)
            .max_iter(1)
            .fit(&mut linear(0.5), &DATA[..])
            .unwrap();
        assert!(!report.converged, "{rule}");
        assert_eq!(report.stop_reason, StopReason::MaxIterations);
        assert_eq!(report.estimated_gap, None);
        assert_eq!(report.estimated_distance, None);
        // With two, a generous tolerance stops.
        let report = Em::new()
            .stopping(rule)
            .fit(&mut linear(0.5), &DATA[..])
            .unwrap();
        assert_eq!(report.iterations, 2, "{rule}");
        assert!(report.converged);
    }
    for rule in [
        Stopping::ObjectiveChange { tol: 0.0 },
        Stopping::Aitken { tol: 0.0 },
        Stopping::Parameters { tol: 0.0 },
    ] {
        let report = Em::new()
            .stopping(rule)
            .max_iter(25)
            .fit(&mut linear(0.5), &DATA[..])
            .unwrap();
        assert_eq!(report.iterations, 25, "{rule}");
        assert!(!report.converged);
    }
}

#[test]
fn a_spent_budget_is_reported_as_not_converged() {
    let mut model = linear(0.999);
    let report = Em::new().max_iter(100).fit(&mut model, &DATA[..]).unwrap();
    assert!(!report.converged);
    assert_eq!(report.stop_reason, StopReason::MaxIterations);
    // The estimate still says how far it is: 2 · 0.999^100 ≈ 1.81.
    let distance = (model.theta - model.target).abs();
    let estimated = report.estimated_distance.unwrap();
    assert!((estimated - distance).abs() < 1e-6 * distance);
    assert!(estimated > 1.0);
}

#[test]
fn the_observer_sees_the_estimates_of_every_iteration() {
    let mut seen: Vec<Iteration> = Vec::new();
    let mut watch = |it: &Iteration| {
        seen.push(*it);
        Control::Continue
    };
    let mut model = linear(0.5);
    let report = Em::new()
        .tol(1e-6)
        .observer(&mut watch)
        .fit(&mut model, &DATA[..])
        .unwrap();
    assert_eq!(seen.len(), report.iterations);
    assert_eq!(seen[0].estimated_gap, None);
    assert_eq!(seen[0].estimated_distance, None);
    for (i, it) in seen.iter().enumerate().skip(1) {
        // After iteration i + 1, θ is 2 · 0.5^(i + 1) from θ*.
        let distance = 2.0 * 0.5f64.powi(i as i32 + 1);
        let d = it.estimated_distance.unwrap();
        assert!((d - distance).abs() < 1e-9 * distance, "{i}: {d}");
        let g = it.estimated_gap.unwrap();
        assert!(
            (g - distance * distance).abs() < 1e-6 * distance * distance,
            "{i}: {g}"
        );
    }
    let last = seen.last().unwrap();
    assert_eq!(last.estimated_distance, report.estimated_distance);
    assert_eq!(last.estimated_gap, report.estimated_gap);
}

#[test]
fn squarem_works_under_every_rule() {
    for rule in [
        Stopping::ObjectiveChange { tol: 1e-12 },
        Stopping::Aitken { tol: 1e-12 },
        Stopping::Parameters { tol: 1e-7 },
    ] {
        let mut model = linear(0.99);
        let report = Em::new()
            .stopping(rule)
            .accelerate(Squarem)
            .fit(&mut model, &DATA[..])
            .unwrap();
        assert!(report.converged, "{rule}: {report:?}");
        assert_eq!(report.stopping, rule);
        // A linear map is extrapolated to its fixed point once the step-length bound has
        // grown to 1/(1 − r) = 100 (1, 4, 16, 64, 256: the fifth cycle); plain EM needs
        // thousands of iterations.
        assert!(
            report.iterations <= 8,
            "{rule}: {} cycles",
            report.iterations
        );
        assert!(
            (model.theta - model.target).abs() < 1e-6,
            "{rule}: {}",
            model.theta
        );
    }
}

#[test]
fn tol_keeps_the_rule_and_stopping_replaces_it() {
    let em = Em::new().stopping(Stopping::SKLEARN).tol(1e-5);
    assert_eq!(
        em.options().stopping,
        Stopping::ObjectiveChange { tol: 1e-5 }
    );
    let em = em.stopping(Stopping::Aitken { tol: 1e-13 });
    assert_eq!(em.options().stopping.tol(), 1e-13);
    assert_eq!(Em::new().options().max_iter, em_core::DEFAULT_MAX_ITER);
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let err = Em::new()
            .stopping(Stopping::Aitken { tol: bad })
            .fit(&mut linear(0.5), &DATA[..])
            .unwrap_err();
        assert!(
            matches!(err, EmError::InvalidParameter { name: "tol", .. }),
            "{err:?}"
        );
    }
}
