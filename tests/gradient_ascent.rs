//! Gradient ascent as a step of the EM driver, on the lecture notes' 1-D mixture (weights
//! 0.6/0.3/0.1, means −2/4/8, standard deviations 2/1/0.2): it reaches the optimum EM reaches,
//! under the driver's own stopping rule; a fixed step that is too long is a typed error, not a
//! silent NaN; and EM's lower bound touches the log-likelihood at θ_t and lies below it.

use em::core::gradient::{Differentiable, bound_profile, score};
use em::core::{Em, EmError, GradientAscent, Squarem, StepSize, Stopping};
use em::mixture::{Gaussian, Mixture};
use rand::SeedableRng;
use rand::rngs::StdRng;

type Model = Mixture<Vec<Gaussian>>;

fn data() -> Vec<f64> {
    let truth = Mixture::new(
        vec![0.6, 0.3, 0.1],
        vec![
            Gaussian::new(-2.0, 4.0).unwrap(),
            Gaussian::new(4.0, 1.0).unwrap(),
            Gaussian::new(8.0, 0.04).unwrap(),
        ],
    )
    .unwrap();
    truth.sample(2000, &mut StdRng::seed_from_u64(2026)).0
}

fn start() -> Model {
    Mixture::new(
        vec![1.0 / 3.0; 3],
        vec![
            Gaussian::new(-1.0, 1.0).unwrap(),
            Gaussian::new(3.0, 1.0).unwrap(),
            Gaussian::new(7.0, 1.0).unwrap(),
        ],
    )
    .unwrap()
}

fn relative_distance(a: &Model, b: &Model) -> f64 {
    a.natural_parameters()
        .iter()
        .zip(b.natural_parameters())
        .map(|(x, y)| (x - y).abs() / y.abs())
        .fold(0.0, f64::max)
}

#[test]
fn gradient_ascent_reaches_the_optimum_em_reaches() -> Result<(), EmError> {
    let x = data();
    let mut em_fit = start();
    Em::new()
        .stopping(Stopping::Parameters { tol: 1e-12 })
        .accelerate(Squarem)
        .fit(&mut em_fit, &x)?;
    let mut ascent = start();
    let report = Em::new()
        .stopping(Stopping::Parameters { tol: 1e-12 })
        .max_iter(20_000)
        .accelerate(GradientAscent::new(StepSize::Backtracking {
            initial: 1e-3,
        }))
        .fit(&mut ascent, &x)?;
    assert!(report.converged, "{report:?}");
    assert!(
        report.largest_decrease <= 1e-12 * report.objective().abs(),
        "a line search lowers ℓ only within rounding: {}",
        report.largest_decrease
    );
    eprintln!(
        "line search: {} iterations, {} E-steps",
        report.iterations, report.e_steps
    );
    let distance = relative_distance(&ascent, &em_fit);
    assert!(
        distance < 1e-7,
        "gradient ascent stopped {distance:e} from EM's optimum"
    );
    // At the optimum the score vanishes (relative to the scale of ℓ).
    let g = score(&em_fit, &x)?.gradient;
    assert!(g.iter().all(|v| v.abs() < 1e-6), "{g:?}");
    Ok(())
}

#[test]
fn a_fixed_step_reaches_it_too_when_small_enough() -> Result<(), EmError> {
    let x = data();
    let mut em_fit = start();
    Em::new()
        .stopping(Stopping::Parameters { tol: 1e-12 })
        .fit(&mut em_fit, &x)?;
    let mut ascent = start();
    let report = Em::new()
        .stopping(Stopping::Parameters { tol: 1e-10 })
        .max_iter(20_000)
        .accelerate(GradientAscent::new(StepSize::Fixed(2f64.powi(-12))))
        .fit(&mut ascent, &x)?;
    assert!(report.converged);
    assert!(relative_distance(&ascent, &em_fit) < 1e-7);
    // …and takes far more iterations than EM's 30-odd.
    assert!(report.iterations > 500, "{}", report.iterations);
    Ok(())
}

#[test]
fn a_fixed_step_too_long_is_a_typed_error() {
    let x = data();
    let result = Em::new()
        .max_iter(5_000)
        .accelerate(GradientAscent::new(StepSize::Fixed(2f64.powi(-6))))
        .fit(&mut start(), &x);
    assert!(
        matches!(
            result,
            Err(EmError::InvalidParameter { .. } | EmError::NonFiniteObjective { .. })
        ),
        "{result:?}"
    );
    let bad = Em::new()
        .accelerate(GradientAscent::new(StepSize::Fixed(-1.0)))
        .fit(&mut start(), &x);
    assert!(matches!(
        bad,
        Err(EmError::InvalidParameter {
            name: "step size",
            ..
        })
    ));
}

/// The notes' picture: along μ_1 (θ_t's means (−1, 3, 7)), Q(θ | θ_t) + H(q_t) ≤ ℓ(θ), with
/// equality at θ_t, and the bound's maximiser along μ_1 is the M-step's μ_1 with the other
/// parameters held.
#[test]
fn the_bound_touches_the_log_likelihood_at_theta_t_and_lies_below() -> Result<(), EmError> {
    let x = data();
    let model = start();
    let j = model
        .coordinate_names()
        .iter()
        .position(|n| n == "component 1: μ")
        .expect("μ_1 is a coordinate");
    let values: Vec<f64> = (0..=80).map(|i| 1.0 + 0.05 * i as f64).collect();
    let profile = bound_profile(&model, &x, j, &values)?;
    for p in &profile {
        assert!(p.bound <= p.objective + 1e-9 * p.objective.abs(), "{p:?}");
    }
    let at = profile
        .iter()
        .find(|p| (p.value - 3.0).abs() < 1e-12)
        .expect("θ_t on the grid");
    assert!(
        (at.objective - at.bound).abs() < 1e-9 * at.objective.abs(),
        "{at:?}"
    );
    // Away from θ_t the gap is positive.
    assert!(profile[0].objective - profile[0].bound > 1.0);
    // The bound's maximiser along μ_1 is the responsibility-weighted mean of component 1.
    let top = profile
        .iter()
        .max_by(|a, b| a.bound.total_cmp(&b.bound))
        .expect("points");
    let mut stepped = model.clone();
    em::core::LatentModel::m_step(
        &mut stepped,
        &em::core::LatentModel::e_step(&model, &x, 0..x.len())?.stats,
    )?;
    let m_step_mean = stepped.components()[1].mean();
    assert!(
        (top.value - m_step_mean).abs() <= 0.05,
        "{} vs {m_step_mean}",
        top.value
    );
    Ok(())
}
