//! Semi-supervised HMMs: known hidden states at some steps. The EM invariants of the labelled
//! objective hold (Gaussian and categorical emissions, under proptest); a labelled step's
//! posterior is the point mass on its label; the labelled objective is log p(x, z_t = k),
//! whose log-sum-exp over k is log p(x); labels out of range are typed errors.

mod common;

use common::*;
use em_core::testing::{Tolerance, check_invariants};
use em_core::{EmError, Labelled, LabelledEStep, LatentModel};
use hmm::CovarianceType;
use proptest::collection::vec;
use proptest::prelude::*;

const STEPS: usize = 12;

/// Labels from codes: step t of a sequence is labelled `code % s` when `code < s`.
fn labels_for(lengths: &[usize], codes: &[usize], s: usize) -> Vec<Vec<Option<usize>>> {
    let mut at = 0;
    lengths
        .iter()
        .map(|&t| {
            let out = (0..t)
                .map(|i| {
                    let c = codes[(at + i) % codes.len()];
                    (c < s).then_some(c)
                })
                .collect();
            at += t;
            out
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn labelled_gaussian_hmm_satisfies_the_em_invariants(
        seed in any::<u64>(),
        s in 1usize..4,
        d in 1usize..3,
        lengths in vec(1usize..60, 1..4),
        codes in vec(0usize..8, 1..50),
        kind_index in 0usize..4,
    ) {
        let kind = CovarianceType::ALL[kind_index];
        let mut lengths = lengths;
        lengths[0] += 12 * s * (d + 1);
        let mut r = rng(seed);
        let truth = gaussian_hmm(s, d, kind, false, &mut r);
        let data = sample_all(&truth, &lengths, &mut r);
        let start = gaussian_start(&data, s, kind, false, &mut r);
        let mut labels = labels_for(&lengths, &codes, s);
        if labels.len() > 1 {
            labels[1].clear(); // a sequence without labels
        }
        let model = Labelled::new(start, &labels);
        model.check(&data).unwrap();
        match check_invariants(model, &data[..], STEPS, Tolerance::default()) {
            Ok(report) => prop_assert!(report.is_ok(), "{kind}: {report}"),
            // A state collapsing onto a point: a typed error, not a violation.
            Err(e) => prop_assert!(matches!(e, EmError::NotPositiveDefinite { .. }), "{e}"),
        }
    }

    #[test]
    fn labelled_categorical_hmm_satisfies_the_em_invariants(
        seed in any::<u64>(),
        s in 1usize..4,
        m in 2usize..5,
        lengths in vec(1usize..60, 1..4),
        codes in vec(0usize..6, 1..50),
    ) {
        let mut r = rng(seed);
        let truth = categorical_hmm(s, m, false, &mut r);
        let data = sample_all(&truth, &lengths, &mut r);
        let start = categorical_hmm(s, m, false, &mut r);
        let labels = labels_for(&lengths, &codes, s);
        let report = check_invariants(Labelled::new(start, &labels), &data[..], STEPS, Tolerance::default()).unwrap();
        prop_assert!(report.is_ok(), "{report}");
    }
}

#[test]
fn a_labelled_step_has_the_point_mass_and_the_joint_log_likelihood() {
    let mut r = rng(7);
    let model = gaussian_hmm(3, 2, CovarianceType::Full, false, &mut r);
    let data = sample_all(&model, &[40], &mut r);
    let log_p = model.e_step(&data, 0..1).unwrap().log_likelihood;
    let posterior = model.predict_proba(&data[0]).unwrap();
    // Label step 0 (its posterior is the initial-state statistics) with each state in turn.
    let mut joints = Vec::new();
    for k in 0..3 {
        let mut labels = vec![vec![None; 40]];
        labels[0][0] = Some(k);
        let e = model.e_step_labelled(&data, 0..1, &labels).unwrap();
        for j in 0..3 {
            assert_eq!(e.stats.start[j], if j == k { 1.0 } else { 0.0 });
        }
        // log p(x, z_0 = k) = log p(x) + log p(z_0 = k | x).
        let expected = log_p + posterior[(0, k)].ln();
        assert!(
            (e.log_likelihood - expected).abs() < 1e-9 * log_p.abs(),
            "state {k}"
        );
        joints.push(e.log_likelihood);
    }
    let m = joints.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + joints.iter().map(|j| (j - m).exp()).sum::<f64>().ln();
    assert!((lse - log_p).abs() < 1e-9 * log_p.abs());
    // Labelling every step with the Viterbi path leaves one path: the objective is
    // log p(x, z = path), the Viterbi score, and the posterior's entropy is 0.
    let (path, score) = model.viterbi(&data[0]).unwrap();
    let labels = vec![path.iter().map(|&k| Some(k)).collect::<Vec<_>>()];
    let e = model.e_step_labelled(&data, 0..1, &labels).unwrap();
    assert!((e.log_likelihood - score).abs() < 1e-9 * score.abs());
    assert!(e.entropy.abs() < 1e-12, "entropy {}", e.entropy);
    // With no labels (an empty vector) the labelled E-step is the E-step.
    let none = model.e_step_labelled(&data, 0..1, &[vec![]]).unwrap();
    assert_eq!(none, model.e_step(&data, 0..1).unwrap());
}

#[test]
fn bad_hmm_labels_are_typed_errors_naming_sequence_and_step() {
    let mut r = rng(3);
    let model = categorical_hmm(2, 3, false, &mut r);
    let data = sample_all(&model, &[5, 4], &mut r);
    let bad_state = vec![vec![], vec![None, None, Some(2), None]];
    let err = model.check_labels(&data, &bad_state).unwrap_err();
    match &err {
        EmError::InvalidInput { row, reason, .. } => {
            assert_eq!(*row, 1);
            assert!(
                reason.contains("step 2") && reason.contains("label 2"),
                "{reason}"
            );
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(model.e_step_labelled(&data, 0..2, &bad_state).is_err());
    let bad_length = vec![vec![Some(0); 3], vec![]];
    assert!(matches!(
        model.check_labels(&data, &bad_length),
        Err(EmError::InvalidParameter { name: "labels", .. })
    ));
    assert!(matches!(
        model.check_labels(&data, &bad_length[..1]),
        Err(EmError::InvalidParameter { name: "labels", .. })
    ));
    assert!(matches!(
        Labelled::new(model.clone(), &bad_length[..1]).e_step(&data, 0..2),
        Err(EmError::InvalidParameter { name: "labels", .. })
    ));
}
