//! The EM driver: stopping rules, observers, restarts, errors and reproducibility.

mod common;

use common::{Mixture1d, two_clusters};
use em_core::{Control, Em, EmError, Iteration, StdRng, StopReason, restart_seed};

fn start() -> Mixture1d {
    Mixture1d::new(vec![0.5, 0.5], vec![-1.0, 1.0], vec![4.0, 4.0])
}

#[test]
fn fit_recovers_the_two_clusters_and_converges() {
    let data = two_clusters(2000);
    let mut model = start();
    let report = Em::new()
        .tol(1e-10)
        .max_iter(1000)
        .fit(&mut model, &data[..])
        .unwrap();
    assert!(report.converged);
    assert_eq!(report.stop_reason, StopReason::Converged);
    assert_eq!(report.trace.len(), report.iterations + 1);
    let (small, big) = if model.means[0] < model.means[1] {
        (0, 1)
    } else {
        (1, 0)
    };
    assert!((model.weights[big] - 0.25).abs() < 1e-3, "{model:?}");
    assert!((model.means[big] - 6.0).abs() < 0.05, "{model:?}");
    assert!(model.means[small].abs() < 0.05, "{model:?}");
    // The reported objective is the log-likelihood of the returned parameters.
    let ll = em_core::chunked_log_likelihood(&model, &data[..], 64).unwrap();
    assert!((report.objective() - ll).abs() < 1e-9 * ll.abs());
    assert!(report.largest_decrease <= 1e-9 * ll.abs());
}

#[test]
fn zero_tolerance_runs_exactly_max_iter() {
    let data = two_clusters(200);
    let mut model = start();
    let report = Em::new()
        .tol(0.0)
        .max_iter(17)
        .fit(&mut model, &data[..])
        .unwrap();
    assert_eq!(report.iterations, 17);
    assert!(!report.converged);
    assert_eq!(report.stop_reason, StopReason::MaxIterations);
}

#[test]
fn zero_max_iter_evaluates_the_start_only() {
    let data = two_clusters(200);
    let mut model = start();
    let report = Em::new().max_iter(0).fit(&mut model, &data[..]).unwrap();
    assert_eq!(report.iterations, 0);
    assert_eq!(report.trace.len(), 1);
    assert_eq!(model, start());
}

#[test]
fn observer_sees_every_iteration_and_can_stop() {
    let data = two_clusters(200);
    let mut seen: Vec<Iteration> = Vec::new();
    let mut observer = |it: &Iteration| {
        seen.push(*it);
        if it.iteration == 4 {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let mut model = start();
    let report = Em::new()
        .tol(0.0)
        .max_iter(50)
        .observer(&mut observer)
        .fit(&mut model, &data[..])
        .unwrap();
    assert_eq!(report.stop_reason, StopReason::Observer);
    assert_eq!(report.iterations, 4);
    assert_eq!(
        seen.iter().map(|i| i.iteration).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    for it in &seen {
        assert_eq!(it.objective, report.trace[it.iteration]);
    }
}

#[test]
fn fits_are_bit_identical_on_one_and_two_threads() {
    let data = two_clusters(10_007);
    let fit = |threads| {
        let mut model = start();
        let report = Em::new()
            .tol(0.0)
            .max_iter(25)
            .chunk_size(113)
            .threads(threads)
            .fit(&mut model, &data[..])
            .unwrap();
        (model, report.trace)
    };
    let (m1, t1) = fit(1);
    let (m2, t2) = fit(2);
    assert_eq!(m1, m2);
    let bits = |t: &[f64]| t.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&t1), bits(&t2));
}

#[test]
fn restarts_are_independent_and_the_best_wins() {
    let data = two_clusters(400);
    let init = |d: &[f64], rng: &mut StdRng| Mixture1d::random_start(d, 3, rng);
    let fitted = Em::new()
        .n_init(6)
        .seed(42)
        .tol(1e-8)
        .max_iter(300)
        .fit_restarts(&init, &data[..])
        .unwrap();
    assert_eq!(fitted.restarts.len(), 6);
    let finals: Vec<f64> = fitted
        .restarts
        .iter()
        .map(|r| r.result.as_ref().unwrap().objective())
        .collect();
    let best = finals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(fitted.report.objective(), best);
    assert_eq!(finals[fitted.best_restart], best);
    // Independent restarts start from different points.
    let starts: Vec<Mixture1d> = (0..6)
        .map(|i| {
            use rand::SeedableRng;
            let mut rng = StdRng::seed_from_u64(restart_seed(42, i));
            Mixture1d::random_start(&data, 3, &mut rng).unwrap()
        })
        .collect();
    let distinct = starts.iter().filter(|s| s.means != starts[0].means).count();
    assert!(
        distinct >= 3,
        "restarts share their starting points: {starts:?}"
    );
    // The same seed reproduces the same fit.
    let again = Em::new()
        .n_init(6)
        .seed(42)
        .tol(1e-8)
        .max_iter(300)
        .fit_restarts(&init, &data[..])
        .unwrap();
    assert_eq!(again.model, fitted.model);
}

#[test]
fn restart_seeds_differ_by_index_and_seed() {
    let seeds: std::collections::HashSet<u64> = (0..100)
        .flat_map(|s| (0..100).map(move |i| restart_seed(s, i)))
        .collect();
    assert_eq!(seeds.len(), 10_000);
}

#[test]
fn a_failing_restart_is_recorded_and_the_others_still_win() {
    let data = two_clusters(100);
    let init = |d: &[f64], rng: &mut StdRng| {
        use rand::RngExt;
        if rng.random_bool(0.5) {
            Err(EmError::InvalidParameter {
                name: "init",
                reason: "unlucky".into(),
            })
        } else {
            Mixture1d::random_start(d, 2, rng)
        }
    };
    let fitted = Em::new()
        .n_init(10)
        .seed(1)
        .fit_restarts(&init, &data[..])
        .unwrap();
    let failed = fitted.restarts.iter().filter(|r| r.result.is_err()).count();
    assert!(failed > 0 && failed < 10, "{failed} of 10 failed");
    assert!(fitted.restarts[fitted.best_restart].result.is_ok());
}

#[test]
fn all_restarts_failing_returns_the_first_error() {
    let data = two_clusters(2);
    let init = |d: &[f64], rng: &mut StdRng| Mixture1d::random_start(d, 5, rng);
    let err = Em::new()
        .n_init(3)
        .fit_restarts(&init, &data[..])
        .unwrap_err();
    assert_eq!(
        err,
        EmError::TooFewObservations {
            n_obs: 2,
            n_components: 5
        }
    );
}

#[test]
fn invalid_options_are_typed_errors() {
    let data = two_clusters(10);
    let cases: Vec<(Em, &str)> = vec![
        (Em::new().tol(-1.0), "tol"),
        (Em::new().tol(f64::NAN), "tol"),
        (Em::new().n_init(0), "n_init"),
        (Em::new().threads(0), "threads"),
        (Em::new().chunk_size(0), "chunk_size"),
    ];
    for (em, name) in cases {
        match em.fit(&mut start(), &data[..]) {
            Err(EmError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: expected InvalidParameter, got {other:?}"),
        }
    }
}

#[test]
fn empty_data_is_a_typed_error() {
    let data: Vec<f64> = Vec::new();
    assert_eq!(
        Em::new().fit(&mut start(), &data[..]).unwrap_err(),
        EmError::EmptyData
    );
}

#[test]
fn non_finite_objective_is_reported_with_its_iteration() {
    let data = [0.0, 1.0, f64::NAN];
    match Em::new().fit(&mut start(), &data[..]) {
        Err(EmError::NonFiniteObjective {
            iteration: 0,
            value,
        }) => assert!(value.is_nan()),
        other => panic!("expected NonFiniteObjective, got {other:?}"),
    }
}

#[test]
fn m_step_error_propagates() {
    // Two identical points and two components far away: one component gets nothing.
    let data = [0.0, 0.0];
    let mut model = Mixture1d::new(vec![0.5, 0.5], vec![0.0, 1e6], vec![1.0, 1.0]);
    match Em::new().fit(&mut model, &data[..]) {
        Err(EmError::EmptyComponent { component: 1, .. }) => {}
        other => panic!("expected EmptyComponent for component 1, got {other:?}"),
    }
}
