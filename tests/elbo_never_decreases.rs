//! Property: for every bundled Gaussian model, on random data from random starts, the
//! objective EM reports (the ELBO right after each E-step) never decreases, and the driver's
//! trace agrees with the checker's.

use em::Em;
use em::core::testing::prop::matrix;
use em::gmm::{CovarianceType, GaussianMixture, Init, Prior};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn objective_trace_is_non_decreasing(
        x in matrix(10..80, 2, -50.0..50.0),
        kind_index in 0usize..4,
        k in 1usize..5,
        seed in any::<u64>(),
        init_index in 0usize..4,
    ) {
        let kind = CovarianceType::ALL[kind_index];
        let init = [Init::KMeans, Init::KMeansPlusPlus, Init::RandomResponsibilities, Init::RandomFromData][init_index].clone();
        // A proper prior keeps every M-step well defined and exact (reg_covar = 0), so EM's
        // guarantee applies to every step.
        let prior = Prior::mclust_default(&x, k).unwrap();
        let fit = GaussianMixture::builder(k)
            .covariance_type(kind)
            .init(init)
            .reg_covar(0.0)
            .prior(prior)
            .tol(0.0)
            .max_iter(30)
            .seed(seed)
            .fit(&x);
        let fit = match fit {
            Ok(f) => f,
            Err(e) => return Err(TestCaseError::fail(format!("{kind} K={k}: {e}"))),
        };
        let trace = &fit.report.trace;
        for (t, w) in trace.windows(2).enumerate() {
            let slack = 1e-10 * w[0].abs().max(1.0);
            prop_assert!(w[1] >= w[0] - slack, "{kind} K={k}: objective fell at iteration {}: {} -> {}", t + 1, w[0], w[1]);
        }
        // The reported objective is the log-posterior of the returned model.
        let mut again = fit.model.clone();
        let zero = Em::new().max_iter(0).fit(&mut again, &x).unwrap();
        prop_assert!((zero.objective() - fit.report.objective()).abs() <= 1e-9 * fit.report.objective().abs().max(1.0));
    }
}
