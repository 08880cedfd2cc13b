//! The default stopping rule stops a zero-inflated Poisson within 1e-6 (relative) of its
//! maximum-likelihood estimate, on counts where scikit-learn's rule, at the driver's old
//! default (1e-3) and at the command line's old default (1e-10), stops farther away.

use em_core::{Em, LatentModel, Stopping};
use mixture::ZeroInflatedPoisson;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// 915 counts with a small λ: a zero says little about whether it is structural, so EM
/// converges slowly (rate ≈ 0.91 per iteration).
fn slow_counts() -> Vec<u64> {
    let truth = ZeroInflatedPoisson::new(0.3, 0.8).expect("valid");
    truth.sample(915, &mut StdRng::seed_from_u64(915)).0
}

/// The MLE: plain EM run for 5000 iterations (it stands still after about 330).
fn mle(counts: &[u64]) -> ZeroInflatedPoisson {
    let em = Em::new()
        .stopping(Stopping::ObjectiveChange { tol: 0.0 })
        .max_iter(5_000);
    ZeroInflatedPoisson::fit(counts, &em).expect("fit").model
}

/// The largest relative error of π and λ.
fn relative_error(m: &ZeroInflatedPoisson, mle: &ZeroInflatedPoisson) -> f64 {
    let pi = (m.pi() - mle.pi()).abs() / mle.pi();
    let lambda = (m.lambda() - mle.lambda()).abs() / mle.lambda();
    pi.max(lambda)
}

#[test]
fn zip_defaults_stop_within_1e_6_where_the_objective_change_stops_farther() {
    let counts = slow_counts();
    let mle = mle(&counts);
    // At the MLE the fitted mean is the sample mean: the reference is the optimum.
    let mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
    assert!((mle.mean() - mean).abs() < 1e-12 * mean);

    let fit = ZeroInflatedPoisson::fit(&counts, &Em::new()).expect("fit");
    assert!(fit.report.converged);
    assert_eq!(fit.report.stopping, Stopping::DEFAULT);
    let error = relative_error(&fit.model, &mle);
    assert!(error < 1e-6, "the defaults stopped {error:e} from the MLE");
    // The report's estimate agrees with the truth within a factor of 2.
    let estimated = fit.report.estimated_distance.expect("an estimate");
    let scaled = fit
        .model
        .scaled_parameters()
        .expect("parameters")
        .relative_distance(&mle.scaled_parameters().expect("parameters"));
    assert!(
        scaled < 2.0 * estimated && estimated < 2.0 * scaled,
        "{estimated:e} vs {scaled:e}"
    );

    for (tol, max_iter) in [(1e-3, 100), (1e-10, 1000)] {
        let old = Em::new()
            .stopping(Stopping::ObjectiveChange { tol })
            .max_iter(max_iter);
        let fit = ZeroInflatedPoisson::fit(&counts, &old).expect("fit");
        assert!(fit.report.converged, "tol {tol}");
        let error = relative_error(&fit.model, &mle);
        assert!(
            error > 1e-6,
            "scikit-learn's rule at {tol:e} stopped {error:e} from the MLE: the test has no teeth"
        );
    }
}

#[test]
fn zip_defaults_with_squarem_also_stop_within_1e_6() {
    let counts = slow_counts();
    let mle = mle(&counts);
    let fit =
        ZeroInflatedPoisson::fit(&counts, &Em::new().accelerate(em_core::Squarem)).expect("fit");
    assert!(fit.report.converged);
    let error = relative_error(&fit.model, &mle);
    assert!(error < 1e-6, "SQUAREM stopped {error:e} from the MLE");
}

#[test]
fn every_bundled_family_exposes_its_parameters_with_their_scales() {
    use mixture::{Bernoulli, Exponential, Gaussian, Geometric, Mixture, Poisson, ZeroInflated};
    let scaled = |p: Option<em_core::ScaledParameters>| {
        let p = p.expect("a bundled family exposes its parameters");
        (p.values().to_vec(), p.scales().to_vec())
    };
    // Weights as probabilities (relative to min(w, 1 − w)), then the components'.
    let poisson = Mixture::new(
        vec![0.25, 0.75],
        vec![Poisson::new(4.0).unwrap(), Poisson::new(1e-5).unwrap()],
    )
    .unwrap();
    assert_eq!(
        scaled(poisson.scaled_parameters()),
        (vec![0.25, 0.75, 4.0, 1e-5], vec![0.25, 0.25, 4.0, 1e-3])
    );
    let gaussian = Mixture::new(vec![1.0], vec![Gaussian::new(-3.0, 4.0).unwrap()]).unwrap();
    // A mean in units of its standard deviation, the variance relative to itself; a single
    // weight of 1 measured against the floor.
    assert_eq!(
        scaled(gaussian.scaled_parameters()),
        (vec![1.0, -3.0, 4.0], vec![1e-3, 2.0, 4.0])
    );
    let geometric = Mixture::new(vec![1.0], vec![Geometric::new(0.9).unwrap()]).unwrap();
    let (_, scales) = scaled(geometric.scaled_parameters());
    assert!((scales[1] - 0.1).abs() < 1e-12);
    let exponential = Mixture::new(vec![1.0], vec![Exponential::new(0.5).unwrap()]).unwrap();
    assert_eq!(scaled(exponential.scaled_parameters()).1, vec![1e-3, 0.5]);
    let bernoulli = Mixture::new(vec![1.0], vec![Bernoulli::new(vec![0.5, 0.0]).unwrap()]).unwrap();
    assert_eq!(
        scaled(bernoulli.scaled_parameters()).1,
        vec![1e-3, 0.5, 1e-3]
    );
    let zi = Mixture::new(
        vec![1.0],
        vec![ZeroInflated::new(0.2, Geometric::new(0.5).unwrap()).unwrap()],
    )
    .unwrap();
    assert_eq!(scaled(zi.scaled_parameters()).0, vec![1.0, 0.2, 0.5]);
    assert_eq!(
        scaled(
            ZeroInflatedPoisson::new(0.0, 2.0)
                .unwrap()
                .scaled_parameters()
        ),
        (vec![0.0, 2.0], vec![1e-3, 2.0])
    );

    // So a fit of any of them stops by the parameter rule, not by its fallback.
    let counts: Vec<u64> = (0..300).map(|i| [0, 0, 1, 2, 7, 9][i % 6]).collect();
    let mut model = Mixture::new(
        vec![0.5, 0.5],
        vec![Geometric::new(0.7).unwrap(), Geometric::new(0.2).unwrap()],
    )
    .unwrap();
    let report = Em::new().fit(&mut model, &counts[..]).unwrap();
    assert_eq!(report.stopping, Stopping::DEFAULT);
    assert!(report.converged);
}
