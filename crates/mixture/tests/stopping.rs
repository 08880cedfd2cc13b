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
