//! Known parameters are recovered from data simulated by the model itself.

use em_core::{Em, Squarem, StdRng};
use em_regression::{
    GaussianRegressionMixture, GaussianRegressions, PoissonRegressionMixture, PoissonRegressions,
    RegressionMixture, Start, Strategy,
};
use nalgebra::{DMatrix, dmatrix};
use rand::{RngExt, SeedableRng};

fn design(n: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    DMatrix::from_fn(n, 3, |_, j| {
        if j == 0 {
            1.0
        } else {
            rng.random_range(-2.0..2.0)
        }
    })
}

/// Component order is arbitrary: match each true component to the fitted one nearest in β.
fn matched(truth: &DMatrix<f64>, fitted: &DMatrix<f64>) -> Vec<usize> {
    (0..truth.nrows())
        .map(|k| {
            (0..fitted.nrows())
                .min_by(|&a, &b| {
                    let da = (fitted.row(a) - truth.row(k)).norm();
                    let db = (fitted.row(b) - truth.row(k)).norm();
                    da.total_cmp(&db)
                })
                .unwrap()
        })
        .collect()
}

#[test]
fn gaussian_regression_mixture_recovers_simulated_parameters() {
    let beta = dmatrix![1.0, 2.0, -1.0; -2.0, -1.0, 0.5; 4.0, 0.0, 2.0];
    let truth = RegressionMixture::new(
        vec![0.3, 0.3, 0.4],
        GaussianRegressions::new(beta.clone(), vec![0.25, 0.5, 0.16]).unwrap(),
    )
    .unwrap();
    let (data, _) = truth
        .sample(&design(3000, 1), &mut StdRng::seed_from_u64(2))
        .unwrap();
    let fit = GaussianRegressionMixture::fit(
        &data,
        &Start::new(3).strategy(Strategy::KMeans),
        &Em::new().n_init(6).seed(3),
    )
    .unwrap();
    assert!(fit.report.converged);
    let m = fit.model;
    let order = matched(&beta, m.coefficients());
    for (k, &j) in order.iter().enumerate() {
        assert!(
            (m.coefficients().row(j) - beta.row(k)).amax() < 0.1,
            "{}",
            m.coefficients()
        );
        assert!(
            (m.variances()[j] / truth.variances()[k] - 1.0).abs() < 0.15,
            "{:?}",
            m.variances()
        );
        assert!(
            (m.weights()[j] - truth.weights()[k]).abs() < 0.03,
            "{:?}",
            m.weights()
        );
    }
    // The fit is at least as likely as the truth.
    assert!(m.log_likelihood(&data).unwrap() >= truth.log_likelihood(&data).unwrap());
}

#[test]
fn poisson_regression_mixture_recovers_simulated_parameters() {
    let beta = dmatrix![0.5, 0.6, -0.3; 2.5, -0.2, 0.4];
    let truth = RegressionMixture::new(
        vec![0.4, 0.6],
        PoissonRegressions::new(beta.clone()).unwrap(),
    )
    .unwrap();
    let (data, _) = truth
        .sample(&design(2000, 4), &mut StdRng::seed_from_u64(5))
        .unwrap();
    let fit =
        PoissonRegressionMixture::fit(&data, &Start::new(2), &Em::new().n_init(4).seed(6)).unwrap();
    assert!(fit.report.converged);
    let m = fit.model;
    let order = matched(&beta, m.coefficients());
    for (k, &j) in order.iter().enumerate() {
        assert!(
            (m.coefficients().row(j) - beta.row(k)).amax() < 0.08,
            "{}",
            m.coefficients()
        );
        assert!(
            (m.weights()[j] - truth.weights()[k]).abs() < 0.03,
            "{:?}",
            m.weights()
        );
    }
    assert!(m.log_likelihood(&data).unwrap() >= truth.log_likelihood(&data).unwrap());
}

#[test]
fn squarem_reaches_the_plain_em_optimum_in_fewer_e_steps() {
    let beta = dmatrix![0.0, 1.0, 0.0; 1.0, 0.5, 0.0];
    let truth = RegressionMixture::new(
        vec![0.5, 0.5],
        GaussianRegressions::new(beta, vec![1.0, 1.0]).unwrap(),
    )
    .unwrap();
    let (data, _) = truth
        .sample(&design(1000, 7), &mut StdRng::seed_from_u64(8))
        .unwrap();
    let start = Start::new(2);
    let plain =
        GaussianRegressionMixture::fit(&data, &start, &Em::new().seed(9).max_iter(20_000)).unwrap();
    let fast = GaussianRegressionMixture::fit(
        &data,
        &start,
        &Em::new().seed(9).max_iter(20_000).accelerate(Squarem),
    )
    .unwrap();
    assert!(plain.report.converged && fast.report.converged);
    let (a, b) = (plain.report.objective(), fast.report.objective());
    assert!((a - b).abs() < 1e-6 * a.abs(), "{a} {b}");
    assert!(
        fast.report.e_steps < plain.report.e_steps,
        "{} vs {}",
        fast.report.e_steps,
        plain.report.e_steps
    );
}
