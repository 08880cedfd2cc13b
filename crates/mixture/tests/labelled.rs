//! Semi-supervised mixtures of a discrete and a continuous family: the EM invariants of the
//! labelled objective under proptest, one-hot responsibilities, the supervised start, and
//! typed errors for bad labels.

use em_core::testing::{Tolerance, check_invariants};
use em_core::{EmError, Labelled, LabelledEStep, LatentModel};
use mixture::{Exponential, Mixture, Poisson};
use proptest::collection::vec;
use proptest::prelude::*;

const TOL: Tolerance = Tolerance {
    relative: 1e-9,
    absolute: 1e-9,
};

/// Labels from codes: a code below `k` labels the row with it, otherwise unlabelled.
fn labels_from(codes: &[usize], k: usize) -> Vec<Option<usize>> {
    codes.iter().map(|&c| (c < k).then_some(c)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn labelled_poisson_mixture_satisfies_the_em_invariants(
        y in vec(0u64..40, 2..150),
        codes in vec(0usize..6, 150),
        k in 1usize..4,
        rates in vec(0.5..20.0f64, 3),
    ) {
        let labels = labels_from(&codes[..y.len()], k);
        let components: Vec<Poisson> = rates[..k].iter().map(|&r| Poisson::new(r).unwrap()).collect();
        let start = Mixture::new(vec![1.0 / k as f64; k], components).unwrap();
        // A component left with no weight ends the run with a typed error; only completed
        // steps are judged, and with Poisson components (λ = 0 allowed) that is rare.
        if let Ok(report) = check_invariants(Labelled::new(start, &labels), &y[..], 15, TOL) {
            prop_assert!(report.is_ok(), "{report}");
        }
    }

    #[test]
    fn labelled_exponential_mixture_satisfies_the_em_invariants(
        x in vec(0.01..30.0f64, 4..120),
        codes in vec(0usize..5, 120),
        rates in vec(0.05..5.0f64, 2),
    ) {
        let labels = labels_from(&codes[..x.len()], 2);
        let components: Vec<Exponential> = rates.iter().map(|&r| Exponential::new(r).unwrap()).collect();
        let start = Mixture::new(vec![0.5, 0.5], components).unwrap();
        if let Ok(report) = check_invariants(Labelled::new(start, &labels), &x[..], 15, TOL) {
            prop_assert!(report.is_ok(), "{report}");
        }
    }
}

#[test]
fn labelled_poisson_rows_are_one_hot_with_the_joint_log_likelihood() {
    let m = Mixture::new(
        vec![0.3, 0.7],
        vec![Poisson::new(1.0).unwrap(), Poisson::new(9.0).unwrap()],
    )
    .unwrap();
    let y = [0u64, 9, 4, 12];
    let labels = [Some(1), Some(0), None, Some(1)];
    let proba = m.predict_proba(&y[..]).unwrap();
    let log_p = m.score_samples(&y[..]).unwrap();
    let e = m.e_step_labelled(&y[..], 0..4, &labels, None).unwrap();
    // N_k: rows 0 and 3 count fully for 1, row 1 for 0, row 2 by its responsibilities.
    assert_eq!(e.stats.weights[0], 1.0 + proba[(2, 0)]);
    assert_eq!(e.stats.weights[1], 2.0 + proba[(2, 1)]);
    let joint = log_p[0]
        + proba[(0, 1)].ln()
        + log_p[1]
        + proba[(1, 0)].ln()
        + log_p[2]
        + log_p[3]
        + proba[(3, 1)].ln();
    assert!((e.log_likelihood - joint).abs() < 1e-10);
    let h2 = -(0..2)
        .map(|k| proba[(2, k)] * proba[(2, k)].ln())
        .sum::<f64>();
    assert!((e.entropy - h2).abs() < 1e-14);
}

#[test]
fn a_labelled_row_impossible_under_its_component_is_an_error_naming_it() {
    // λ = 0 gives probability 0 to any count above 0.
    let m = Mixture::new(
        vec![0.5, 0.5],
        vec![Poisson::new(0.0).unwrap(), Poisson::new(3.0).unwrap()],
    )
    .unwrap();
    let y = [0u64, 2, 5];
    let err = m
        .e_step_labelled(&y[..], 0..3, &[None, None, Some(0)], None)
        .unwrap_err();
    match err {
        EmError::InvalidInput { row, reason, .. } => {
            assert_eq!(row, 2);
            assert!(reason.contains("labelled component 0"), "{reason}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn bad_labels_are_typed_errors() {
    let m = Mixture::new(
        vec![0.5, 0.5],
        vec![Poisson::new(1.0).unwrap(), Poisson::new(3.0).unwrap()],
    )
    .unwrap();
    let y = [0u64, 2, 5];
    assert!(matches!(
        m.check_labels(&y[..], &[None, Some(2), None]),
        Err(EmError::InvalidInput { row: 1, .. })
    ));
    assert!(matches!(
        m.check_labels(&y[..], &[None]),
        Err(EmError::InvalidParameter { name: "labels", .. })
    ));
    assert!(matches!(
        m.e_step_labelled(&y[..], 0..3, &[None], None),
        Err(EmError::InvalidParameter { name: "labels", .. })
    ));
    assert!(matches!(
        Labelled::new(m.clone(), &[None, None]).e_step(&y[..], 0..3),
        Err(EmError::InvalidParameter { name: "labels", .. })
    ));
    // A component without labelled rows cannot be started from them.
    assert!(matches!(
        Mixture::from_labelled_rows(vec![Poisson::default(); 2], &y[..], &[Some(0), None, None]),
        Err(EmError::EmptyComponent { component: 1, .. })
    ));
}
