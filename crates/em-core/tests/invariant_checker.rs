//! The checker passes a correct model and names the invariant a broken one violates.

mod common;

use common::{Bug, Mixture1d, two_clusters};
use em_core::testing::prop::{assert_invariants, observations};
use em_core::testing::{Invariant, Tolerance, check_invariants, chunking_discrepancy};
use proptest::prelude::*;

fn start() -> Mixture1d {
    Mixture1d::new(vec![0.5, 0.5], vec![-1.0, 1.0], vec![4.0, 4.0])
}

#[test]
fn correct_model_passes_every_invariant() {
    let data = two_clusters(500);
    let report = check_invariants(start(), &data[..], 30, Tolerance::default()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.steps, 30);
    assert_eq!(report.objectives.len(), 31);
    // EM actually moved: the objective rose by a lot, not by rounding.
    assert!(report.objectives[30] - report.objectives[0] > 10.0);
}

#[test]
fn shifted_m_step_is_caught_as_m_step_violation() {
    let data = two_clusters(500);
    let report = check_invariants(
        start().with_bug(Bug::ShiftedMeans),
        &data[..],
        10,
        Tolerance::default(),
    )
    .unwrap();
    let first = report
        .first_violation()
        .expect("a wrong M-step must be caught");
    assert_eq!(first.invariant, Invariant::MStepImproves);
    assert!(
        first.amount > 1.0,
        "violation should be large, got {}",
        first.amount
    );
}

#[test]
fn wrong_entropy_is_caught_as_loose_elbo_at_iteration_zero() {
    let data = two_clusters(500);
    let report = check_invariants(
        start().with_bug(Bug::HalfEntropy),
        &data[..],
        5,
        Tolerance::default(),
    )
    .unwrap();
    let first = report
        .first_violation()
        .expect("a wrong entropy must be caught");
    assert_eq!(first.invariant, Invariant::ElboTight);
    assert_eq!(first.iteration, 0);
    assert!(report.to_string().contains("ELBO tight"), "{report}");
}

#[test]
fn wrong_expected_complete_log_likelihood_is_caught() {
    let data = two_clusters(500);
    let report = check_invariants(
        start().with_bug(Bug::EcllWithoutWeights),
        &data[..],
        5,
        Tolerance::default(),
    )
    .unwrap();
    assert!(!report.is_ok());
    assert_eq!(
        report.first_violation().unwrap().invariant,
        Invariant::ElboTight
    );
}

#[test]
fn chunked_statistics_match_the_single_batch() {
    let data = two_clusters(1003);
    for chunk in [1, 7, 100, 1003, 5000] {
        let d = chunking_discrepancy(&start(), &data[..], chunk).unwrap();
        assert!(d < 1e-12, "chunk {chunk}: relative discrepancy {d}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_random_data_and_starts(
        data in observations(3..80, -20.0..20.0),
        m0 in -20.0..20.0f64,
        m1 in -20.0..20.0f64,
        w in 0.05..0.95f64,
    ) {
        let model = Mixture1d::new(vec![w, 1.0 - w], vec![m0, m1], vec![25.0, 25.0]);
        assert_invariants(model, &data[..], 15)?;
    }

    /// At an EM fixed point the correct M-step gains nothing, so a wrong M-step must lower
    /// the ELBO: the checker rejects it at iteration 0 on any data.
    #[test]
    fn broken_m_step_is_rejected_at_a_fixed_point(data in observations(10..80, -20.0..20.0)) {
        let mut model = Mixture1d::new(vec![0.5, 0.5], vec![-5.0, 5.0], vec![25.0, 25.0]);
        let fit = em_core::Em::new().tol(0.0).max_iter(2000).fit(&mut model, &data[..]);
        prop_assume!(fit.is_ok());
        let report = check_invariants(model.with_bug(Bug::ShiftedMeans), &data[..], 1, Tolerance::default()).unwrap();
        let first = report.first_violation();
        prop_assert!(first.is_some_and(|v| v.invariant == Invariant::MStepImproves && v.iteration == 0), "{report}");
    }
}
