//! One-component families as HMM emissions through `Vec<C>` (the family layer's lift of a
//! one-component family to K components, the states): the geometric family and the
//! zero-inflation wrapper (written once in em-family, with no HMM code of their own) keep the
//! EM invariants, chunked E-steps agree with one batch, known parameters are recovered, and
//! bad input names the sequence and the step.

mod common;

use common::{rng, sample_all, simplex, transitions};
use em_core::testing::chunking_discrepancy;
use em_core::testing::prop::assert_invariants;
use em_core::{Em, EmError};
use em_family::families::{Exponential, Geometric, Poisson, ZeroInflated};
use hmm::Hmm;
use nalgebra::{DVector, dmatrix, dvector};
use proptest::collection::vec;
use proptest::prelude::*;
use rand::RngExt;

const STEPS: usize = 12;

fn random_hmm<C: em_family::Component>(
    states: Vec<C>,
    zeros: bool,
    r: &mut rand::rngs::StdRng,
) -> Hmm<Vec<C>> {
    let s = states.len();
    Hmm::new(
        DVector::from_vec(simplex(s, r)),
        transitions(s, zeros, r),
        states,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn geometric_hmms_keep_em_invariants(
        seed in any::<u64>(),
        s in 1usize..4,
        lengths in vec(1usize..80, 1..5),
        zeros in any::<bool>(),
    ) {
        let mut r = rng(seed);
        let geometric = |r: &mut rand::rngs::StdRng| Geometric::new(0.05 + 0.95 * r.random::<f64>()).unwrap();
        let truth = random_hmm((0..s).map(|_| geometric(&mut r)).collect(), false, &mut r);
        let data = sample_all(&truth, &lengths, &mut r);
        let start = random_hmm((0..s).map(|_| geometric(&mut r)).collect(), zeros, &mut r);
        for chunk in [1, 2, 3] {
            let gap = chunking_discrepancy(&start, &data[..], chunk).unwrap();
            prop_assert!(gap < 1e-12, "chunk {chunk}: {gap:e}");
        }
        assert_invariants(start, &data[..], STEPS)?;
    }

    #[test]
    fn zero_inflated_geometric_hmms_keep_em_invariants(
        seed in any::<u64>(),
        s in 1usize..4,
        lengths in vec(1usize..80, 1..5),
    ) {
        let mut r = rng(seed);
        let zig = |r: &mut rand::rngs::StdRng| {
            ZeroInflated::new(0.9 * r.random::<f64>(), Geometric::new(0.05 + 0.9 * r.random::<f64>()).unwrap()).unwrap()
        };
        let truth = random_hmm((0..s).map(|_| zig(&mut r)).collect(), false, &mut r);
        let data = sample_all(&truth, &lengths, &mut r);
        let start = random_hmm((0..s).map(|_| zig(&mut r)).collect(), false, &mut r);
        assert_invariants(start, &data[..], STEPS)?;
    }

    #[test]
    fn poisson_hmms_keep_em_invariants(
        seed in any::<u64>(),
        s in 1usize..4,
        lengths in vec(1usize..80, 1..5),
    ) {
        let mut r = rng(seed);
        let poisson = |r: &mut rand::rngs::StdRng| Poisson::new(0.1 + 20.0 * r.random::<f64>()).unwrap();
        let truth = random_hmm((0..s).map(|_| poisson(&mut r)).collect(), false, &mut r);
        let data = sample_all(&truth, &lengths, &mut r);
        let start = random_hmm((0..s).map(|_| poisson(&mut r)).collect(), false, &mut r);
        assert_invariants(start, &data[..], STEPS)?;
    }
}

#[test]
fn zero_inflated_geometric_hmm_recovers_its_parameters() {
    let truth = Hmm::new(
        dvector![0.5, 0.5],
        dmatrix![0.95, 0.05; 0.1, 0.9],
        vec![
            ZeroInflated::new(0.6, Geometric::new(0.5).unwrap()).unwrap(),
            ZeroInflated::new(0.1, Geometric::new(0.05).unwrap()).unwrap(),
        ],
    )
    .unwrap();
    let mut r = rng(11);
    let data = sample_all(&truth, &[5_000, 5_000, 5_000], &mut r);
    let mut model = Hmm::new(
        dvector![0.5, 0.5],
        dmatrix![0.8, 0.2; 0.2, 0.8],
        vec![
            ZeroInflated::new(0.3, Geometric::new(0.6).unwrap()).unwrap(),
            ZeroInflated::new(0.3, Geometric::new(0.2).unwrap()).unwrap(),
        ],
    )
    .unwrap();
    let report = Em::new()
        .tol(1e-10)
        .max_iter(5_000)
        .fit(&mut model, &data[..])
        .unwrap();
    assert!(report.converged);
    let states = model.emission();
    let (calm, busy) = (&states[0], &states[1]);
    assert!((calm.pi() - 0.6).abs() < 0.05, "π₀ = {}", calm.pi());
    assert!(
        (calm.counts().p() - 0.5).abs() < 0.05,
        "p₀ = {}",
        calm.counts().p()
    );
    assert!((busy.pi() - 0.1).abs() < 0.03, "π₁ = {}", busy.pi());
    assert!(
        (busy.counts().p() - 0.05).abs() < 0.005,
        "p₁ = {}",
        busy.counts().p()
    );
    let a = model.transitions();
    assert!(
        (a[(0, 0)] - 0.95).abs() < 0.02 && (a[(1, 1)] - 0.9).abs() < 0.02,
        "{a}"
    );
}

#[test]
fn bad_steps_and_parameters_are_named() {
    let model = Hmm::new(
        dvector![0.5, 0.5],
        dmatrix![0.9, 0.1; 0.1, 0.9],
        vec![
            Exponential::new(1.0).unwrap(),
            Exponential::new(0.1).unwrap(),
        ],
    )
    .unwrap();
    let data = vec![vec![0.5, 1.0], vec![2.0, -3.0, 1.0]];
    match model.log_likelihood_total(&data) {
        Err(EmError::InvalidInput { row, reason, .. }) => {
            assert_eq!(row, 1);
            assert!(reason.contains("sequence 1, step 1"), "{reason}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    let empty: Vec<Vec<f64>> = vec![vec![1.0], vec![]];
    let err = model.log_likelihood_total(&empty).unwrap_err().to_string();
    assert!(err.contains("sequence 1") && err.contains("empty"), "{err}");
    let no_states: Vec<Geometric> = vec![];
    assert!(Hmm::new(dvector![], dmatrix![], no_states).is_err());
}

#[test]
fn per_state_models_round_trip_through_serde() {
    let model = Hmm::new(
        dvector![0.25, 0.75],
        dmatrix![0.9, 0.1; 0.3, 0.7],
        vec![
            ZeroInflated::new(0.2, Poisson::new(3.0).unwrap()).unwrap(),
            ZeroInflated::new(0.0, Poisson::new(9.0).unwrap()).unwrap(),
        ],
    )
    .unwrap();
    let text = serde_json::to_string(&model).unwrap();
    let back: Hmm<Vec<ZeroInflated<Poisson>>> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, model);
    assert_eq!(model.n_parameters(), 1 + 2 + 2 * 2);
}

#[test]
fn a_state_with_no_expected_observations_keeps_its_emissions() {
    use em_core::LatentModel;
    // State 1 is unreachable: π₁ = 0 and no transition enters it.
    let mut model = Hmm::new(
        dvector![1.0, 0.0],
        dmatrix![1.0, 0.0; 0.5, 0.5],
        vec![Poisson::new(2.0).unwrap(), Poisson::new(30.0).unwrap()],
    )
    .unwrap();
    let data = [vec![1u64, 3, 2, 0]];
    let e = model.e_step(&data[..], 0..1).unwrap();
    assert_eq!(e.stats.emission.weights, vec![4.0, 0.0]);
    model.m_step(&e.stats).unwrap();
    assert_eq!(model.emission()[0].lambda(), 1.5);
    assert_eq!(model.emission()[1].lambda(), 30.0);
}
