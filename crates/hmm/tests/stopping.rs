//! The default stopping rule stops hidden Markov models within 1e-6 (relative) of the
//! optimum, on data where scikit-learn's rule at the driver's old default (tol = 1e-3 on the
//! change of the log-likelihood per step) stops farther away.

use em_core::{Em, LatentModel, Stopping};
use hmm::{Categorical, CategoricalHmm, CovarianceType, Covariances, Gaussian, GaussianHmm, Hmm};
use nalgebra::{DMatrix, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The largest relative error of the chain's probabilities (each relative to itself, but to
/// no less than 1e-3: a probability that EM drives to 0 gets there only geometrically, so
/// below 1e-3 its error counts in units of 1e-3) and of the emissions' scaled parameters.
fn relative_error<F: hmm::Family>(m: &Hmm<F>, opt: &Hmm<F>) -> f64 {
    let chain = |h: &Hmm<F>| -> Vec<f64> {
        h.start()
            .iter()
            .chain(h.transitions().iter())
            .copied()
            .collect()
    };
    let mut worst = 0.0_f64;
    for (a, b) in chain(m).iter().zip(chain(opt)) {
        worst = worst.max((a - b).abs() / b.max(1e-3));
    }
    let emission = |h: &Hmm<F>| h.emission().scaled_parameters().expect("parameters");
    worst.max(emission(m).relative_distance(&emission(opt)))
}

/// Fits from `start` by the defaults, by scikit-learn's rule at 1e-3, and to the optimum
/// (5000 iterations at tol 0), and checks both halves.
fn check<F: hmm::Family>(start: Hmm<F>, data: &[F::Owned]) {
    let mut optimum = start.clone();
    Em::new()
        .stopping(Stopping::ObjectiveChange { tol: 0.0 })
        .max_iter(5_000)
        .fit(&mut optimum, data)
        .expect("fit");

    let mut model = start.clone();
    let report = Em::new().fit(&mut model, data).expect("fit");
    assert!(report.converged);
    assert_eq!(report.stopping, Stopping::DEFAULT);
    let error = relative_error(&model, &optimum);
    assert!(
        error < 1e-6,
        "the defaults stopped {error:e} from the optimum"
    );
    let scaled = model
        .scaled_parameters()
        .expect("parameters")
        .relative_distance(&optimum.scaled_parameters().expect("parameters"));
    assert!(scaled < 1e-6, "{scaled:e}");

    let mut old = start;
    let report = Em::new()
        .stopping(Stopping::SKLEARN)
        .max_iter(100)
        .fit(&mut old, data)
        .expect("fit");
    assert!(report.converged);
    let error = relative_error(&old, &optimum);
    assert!(
        error > 1e-6,
        "scikit-learn's rule stopped {error:e} from the optimum: no teeth"
    );
}

#[test]
fn categorical_hmm_defaults_stop_within_1e_6_where_the_old_default_stops_farther() {
    // Two states with overlapping emissions: EM converges at a rate of about 0.98.
    let truth = CategoricalHmm::new(
        dvector![0.5, 0.5],
        dmatrix![0.9, 0.1; 0.15, 0.85],
        Categorical::new(dmatrix![0.5, 0.3, 0.2; 0.2, 0.3, 0.5]).expect("valid"),
    )
    .expect("valid");
    let mut rng = StdRng::seed_from_u64(11);
    let data: Vec<Vec<usize>> = (0..10).map(|_| truth.sample(200, &mut rng).0).collect();
    let start = CategoricalHmm::new(
        dvector![0.6, 0.4],
        dmatrix![0.7, 0.3; 0.3, 0.7],
        Categorical::new(dmatrix![0.4, 0.35, 0.25; 0.25, 0.35, 0.4]).expect("valid"),
    )
    .expect("valid");
    check(start, &data);
}

#[test]
fn gaussian_hmm_defaults_stop_within_1e_6_where_the_old_default_stops_farther() {
    // Three volatility regimes of daily returns (examples/regime_switching.rs), one of them
    // never entered from another: a transition the optimum sets to 0.
    let truth = GaussianHmm::new(
        dvector![0.6, 0.3, 0.1],
        dmatrix![0.98, 0.02, 0.00; 0.02, 0.96, 0.02; 0.00, 0.05, 0.95],
        Gaussian::new(
            dmatrix![0.05; 0.0; -0.2],
            Covariances::Full(vec![dmatrix![0.25], dmatrix![1.0], dmatrix![6.25]]),
        )
        .expect("valid"),
    )
    .expect("valid");
    let (returns, _) = truth.sample(3000, &mut StdRng::seed_from_u64(42));
    let data: Vec<DMatrix<f64>> = vec![returns];
    let start = GaussianHmm::kmeans_start(
        3,
        CovarianceType::Diag,
        &data,
        &mut StdRng::seed_from_u64(7),
    )
    .expect("start");
    check(start, &data);
}
