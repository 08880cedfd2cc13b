//! The EM invariants of the variational mixture: after an E-step the ELBO equals the reported
//! objective, the M-step (the VB update of q(θ)) never lowers the ELBO, and the ELBO stays a
//! lower bound. With `reg_covar` = 0 the M-step is the exact maximiser; with scikit-learn's
//! ridge (1e-6) the default tolerance still holds.

use em_core::testing::prop::assert_invariants;
use em_core::testing::{Tolerance, check_invariants};
use em_core::{LatentModel, ScalableStatistics, Statistics};
use em_family::CovarianceType;
use em_variational::{BayesianGaussianMixture, WeightPrior};
use nalgebra::DMatrix;
use proptest::prelude::*;

fn kind(i: usize) -> CovarianceType {
    CovarianceType::ALL[i % 4]
}

fn prior(dp: bool) -> WeightPrior {
    if dp {
        WeightPrior::DirichletProcess
    } else {
        WeightPrior::DirichletDistribution
    }
}

/// Data of `n` rows in `d` columns around `k` spread centres, plus responsibilities.
fn case() -> impl Strategy<Value = (DMatrix<f64>, DMatrix<f64>, usize, usize, bool, f64)> {
    (
        8usize..40,
        1usize..4,
        1usize..5,
        0usize..4,
        any::<bool>(),
        prop::bool::ANY,
    )
        .prop_flat_map(|(n, d, k, t, dp, ridge)| {
            (
                prop::collection::vec(-5.0f64..5.0, n * d),
                prop::collection::vec(0.01f64..1.0, n * k),
                Just((n, d, k, t, dp, if ridge { 1e-6 } else { 0.0 })),
            )
        })
        .prop_map(|(xs, rs, (n, d, k, t, dp, reg))| {
            let x = DMatrix::from_fn(n, d, |i, j| xs[i * d + j] + 3.0 * (i % 3) as f64);
            let r = DMatrix::from_fn(n, k, |i, j| rs[i * k + j]);
            (x, r, k, t, dp, reg)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn elbo_never_decreases_and_is_tight_after_the_e_step(
        (x, resp, k, t, dp, reg) in case()
    ) {
        let model = BayesianGaussianMixture::builder(k)
            .covariance_type(kind(t))
            .weight_prior(prior(dp))
            .reg_covar(reg)
            .from_responsibilities(&x, &resp);
        let model = match model {
            Ok(m) => m,
            // A start whose covariance is singular (collinear random columns) is a typed
            // error, which is what the data deserve.
            Err(em_core::EmError::NotPositiveDefinite { .. })
            | Err(em_core::EmError::InvalidParameter { name: "covariance_prior", .. }) => {
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("start failed: {e}"))),
        };
        assert_invariants(model, &x, 12)?;
    }
}

#[test]
fn invariants_hold_on_old_faithful_for_every_covariance_type_and_weight_prior() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/faithful.csv"
    ))
    .expect("data/faithful.csv");
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().expect("number")).collect())
        .collect();
    let x = DMatrix::from_fn(rows.len(), 2, |i, j| rows[i][j]);
    for t in 0..4 {
        for dp in [false, true] {
            let model = BayesianGaussianMixture::builder(5)
                .covariance_type(kind(t))
                .weight_prior(prior(dp))
                .kmeans_start(&x, 3)
                .expect("start");
            let report = check_invariants(model, &x, 30, Tolerance::default()).expect("runs");
            assert!(report.is_ok(), "{:?} dp={dp}: {report}", kind(t));
            assert!(
                report
                    .objectives
                    .windows(2)
                    .all(|w| w[1] >= w[0] - 1e-9 * w[0].abs())
            );
        }
    }
}

#[test]
fn statistics_scale_and_merge_like_the_sums_they_are() {
    let x = DMatrix::from_fn(30, 2, |i, j| {
        ((i * 7 + j * 5) % 13) as f64 + if i < 15 { 0.0 } else { 9.0 }
    });
    for t in 0..4 {
        let model = BayesianGaussianMixture::builder(3)
            .covariance_type(kind(t))
            .kmeans_start(&x, 1)
            .expect("start");
        let whole = model.e_step(&x, 0..30).expect("e-step").stats;
        let mut parts = model.e_step(&x, 0..10).expect("e-step").stats;
        parts.merge(&model.e_step(&x, 10..30).expect("e-step").stats);
        let (a, b) = (
            model.expected_complete_log_likelihood(&whole),
            model.expected_complete_log_likelihood(&parts),
        );
        assert!((a - b).abs() <= 1e-10 * a.abs(), "{a} vs {b}");
        // Counting every observation twice: the merge of the statistics with themselves.
        let mut doubled = whole.clone();
        doubled.scale(2.0);
        let mut twice = whole.clone();
        twice.merge(&whole);
        let (c, e) = (
            model.expected_complete_log_likelihood(&doubled),
            model.expected_complete_log_likelihood(&twice),
        );
        assert!((c - 2.0 * a).abs() <= 1e-10 * c.abs(), "{c} vs {}", 2.0 * a);
        assert!((c - e).abs() <= 1e-10 * c.abs(), "{c} vs {e}");
    }
}

/// With `reg_covar` = 0 the M-step is the exact maximiser of ECLL + log_prior over q(θ): the
/// update from the same statistics with a ridge (which moves every covariance) scores lower.
#[test]
fn the_exact_vb_update_beats_a_ridged_one_from_the_same_statistics() {
    let x = DMatrix::from_fn(40, 2, |i, j| {
        ((i * 7 + j * 5) % 13) as f64 * 0.3 + if i < 20 { 0.0 } else { 6.0 }
    });
    for t in 0..4 {
        for dp in [false, true] {
            let b = BayesianGaussianMixture::builder(3)
                .covariance_type(kind(t))
                .weight_prior(prior(dp));
            let start = b.clone().reg_covar(0.0).kmeans_start(&x, 2).expect("start");
            let stats = start.e_step(&x, 0..40).expect("e-step").stats;
            let score = |reg: f64| {
                let mut m = b.clone().reg_covar(reg).kmeans_start(&x, 2).expect("start");
                m.m_step(&stats).expect("m-step");
                m.expected_complete_log_likelihood(&stats) + m.log_prior()
            };
            let exact = score(0.0);
            for reg in [1e-4, 1e-2, 1e-1] {
                assert!(exact > score(reg), "{:?} dp={dp} reg={reg}", kind(t));
            }
        }
    }
}
