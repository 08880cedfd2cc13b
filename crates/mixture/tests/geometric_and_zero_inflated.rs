//! The geometric family and the zero-inflation wrapper: each written once, and each working
//! as a mixture's components, on its own, and (for the wrapper) over any count family. The
//! EM invariants hold under proptest, known parameters are recovered, models round-trip
//! through serde, and SQUAREM applies.

mod common;

use common::{Tally, invariants_case, normalise};
use em_core::{Em, Squarem};
use mixture::{Component, Geometric, Mixture, Poisson, Start, ZeroInflated};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rand::SeedableRng;

const CASES: u32 = 64;
const STEPS: usize = 15;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn counts() -> impl Strategy<Value = Vec<u64>> {
    prop_oneof![
        4 => vec(0u64..40, 1..150),
        1 => vec(0u64..3, 1..50),
        1 => vec(Just(0u64), 1..30),
    ]
}

#[test]
fn geometric_mixture_keeps_em_invariants() {
    let start = (1usize..=3).prop_flat_map(|k| (vec(0.05f64..1.0, k), vec(0.02f64..=1.0, k)));
    let tally = Tally::default();
    runner()
        .run(&(counts(), start), |(y, (w, p))| {
            let comps = p.iter().map(|&p| Geometric::new(p).unwrap()).collect();
            let model = Mixture::new(normalise(&w), comps).unwrap();
            invariants_case(model, &y[..], STEPS, &tally)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.assert_mostly_ran(CASES as usize);
}

#[test]
fn zero_inflated_poisson_alone_keeps_em_invariants() {
    let tally = Tally::default();
    runner()
        .run(
            &(counts(), 0.0f64..0.95, 0.05f64..30.0),
            |(y, pi, lambda)| {
                let zip = ZeroInflated::new(pi, Poisson::new(lambda).unwrap()).unwrap();
                let model = Mixture::new(vec![1.0], vec![zip]).unwrap();
                invariants_case(model, &y[..], STEPS, &tally)
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    tally.assert_mostly_ran(CASES as usize);
}

#[test]
fn mixture_of_zero_inflated_geometrics_keeps_em_invariants() {
    let start = (1usize..=3).prop_flat_map(|k| {
        (
            vec(0.05f64..1.0, k),
            vec(0.0f64..0.9, k),
            vec(0.02f64..=1.0, k),
        )
    });
    let tally = Tally::default();
    runner()
        .run(&(counts(), start), |(y, (w, pi, p))| {
            let comps = pi
                .iter()
                .zip(&p)
                .map(|(&pi, &p)| ZeroInflated::new(pi, Geometric::new(p).unwrap()).unwrap())
                .collect();
            let model = Mixture::new(normalise(&w), comps).unwrap();
            invariants_case(model, &y[..], STEPS, &tally)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.assert_mostly_ran(CASES as usize);
}

#[test]
fn geometric_mixture_recovers_known_parameters() {
    let truth = Mixture::new(
        vec![0.6, 0.4],
        vec![Geometric::new(0.7).unwrap(), Geometric::new(0.05).unwrap()],
    )
    .unwrap();
    let (y, _) = truth.sample(20_000, &mut em_core::StdRng::seed_from_u64(4));
    let em = Em::new().tol(1e-12).max_iter(5_000).n_init(3).seed(2);
    let fit = Mixture::fit(&y[..], &Start::new(Geometric::default(), 2), &em).unwrap();
    let mut found: Vec<(f64, f64)> = fit
        .model
        .weights()
        .iter()
        .zip(fit.model.components())
        .map(|(&w, c)| (c.p(), w))
        .collect();
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Standard errors at n = 20,000 are below 0.01 for every parameter.
    assert!((found[0].0 - 0.05).abs() < 0.005, "{found:?}");
    assert!((found[1].0 - 0.7).abs() < 0.03, "{found:?}");
    assert!((found[1].1 - 0.6).abs() < 0.03, "{found:?}");
}

#[test]
fn zero_inflated_geometric_recovers_its_inflation() {
    let truth = ZeroInflated::new(0.35, Geometric::new(0.2).unwrap()).unwrap();
    let model = Mixture::new(vec![1.0], vec![truth]).unwrap();
    let (y, _) = model.sample(20_000, &mut em_core::StdRng::seed_from_u64(9));
    let mut fit = Mixture::new(
        vec![1.0],
        vec![ZeroInflated::new(0.1, Geometric::new(0.5).unwrap()).unwrap()],
    )
    .unwrap();
    let report = Em::new()
        .tol(1e-13)
        .max_iter(20_000)
        .fit(&mut fit, &y[..])
        .unwrap();
    assert!(report.converged);
    let c = &fit.components()[0];
    assert!((c.pi() - 0.35).abs() < 0.02, "π = {}", c.pi());
    assert!(
        (c.counts().p() - 0.2).abs() < 0.01,
        "p = {}",
        c.counts().p()
    );
}

#[test]
fn squarem_accelerates_the_zero_inflated_fit_to_the_same_optimum() {
    // λ near 1: a zero is as likely structural as a Poisson draw, and plain EM crawls.
    let truth = Mixture::new(
        vec![1.0],
        vec![ZeroInflated::new(0.3, Poisson::new(0.8).unwrap()).unwrap()],
    )
    .unwrap();
    let (y, _) = truth.sample(3_000, &mut em_core::StdRng::seed_from_u64(5));
    let start = || {
        Mixture::new(
            vec![1.0],
            vec![ZeroInflated::new(0.05, Poisson::new(1.0).unwrap()).unwrap()],
        )
        .unwrap()
    };
    let em = Em::new().tol(1e-14).max_iter(20_000);
    let mut plain = start();
    let slow = em.fit(&mut plain, &y[..]).unwrap();
    let mut fast = start();
    let quick = em.accelerate(Squarem).fit(&mut fast, &y[..]).unwrap();
    assert!(
        quick.e_steps * 3 < slow.e_steps,
        "{} vs {}",
        quick.e_steps,
        slow.e_steps
    );
    assert!((quick.objective() - slow.objective()).abs() < 1e-8 * slow.objective().abs());
    let (a, b) = (&plain.components()[0], &fast.components()[0]);
    assert!((a.pi() - b.pi()).abs() < 1e-5, "{} vs {}", a.pi(), b.pi());
}

#[test]
fn models_round_trip_through_serde_and_validate_on_load() {
    let m = Mixture::new(
        vec![0.3, 0.7],
        vec![
            ZeroInflated::new(0.2, Geometric::new(0.4).unwrap()).unwrap(),
            ZeroInflated::new(0.0, Geometric::new(0.9).unwrap()).unwrap(),
        ],
    )
    .unwrap();
    let text = serde_json::to_string(&m).unwrap();
    let back: Mixture<Vec<ZeroInflated<Geometric>>> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, m);
    let bad = text.replace("0.4", "1.5");
    assert!(serde_json::from_str::<Mixture<Vec<ZeroInflated<Geometric>>>>(&bad).is_err());
    let bad_pi = text.replace("0.2", "-0.2");
    assert!(serde_json::from_str::<Mixture<Vec<ZeroInflated<Geometric>>>>(&bad_pi).is_err());
}

#[test]
fn boundaries_give_typed_errors_and_no_nan() {
    assert!(Geometric::new(0.0).is_err());
    assert!(Geometric::new(f64::NAN).is_err());
    assert!(ZeroInflated::new(1.5, Poisson::new(1.0).unwrap()).is_err());
    // π = 1: every count is a structural zero; a positive count has density 0, with a reason.
    let all_zeros = ZeroInflated::new(1.0, Poisson::new(2.0).unwrap()).unwrap();
    assert_eq!(all_zeros.ln_pdf(0), 0.0);
    assert_eq!(all_zeros.ln_pdf(3), f64::NEG_INFINITY);
    let m = Mixture::new(vec![1.0], vec![all_zeros]).unwrap();
    let err = m.score_samples(&[0, 3][..]).unwrap_err().to_string();
    assert!(err.contains("row 1") && err.contains("π = 1"), "{err}");
    // All-zero data: π → 1 or λ → 0 both explain it; no NaN either way.
    let mut fit = Mixture::new(
        vec![1.0],
        vec![ZeroInflated::new(0.5, Poisson::new(1.0).unwrap()).unwrap()],
    )
    .unwrap();
    Em::new()
        .max_iter(50)
        .fit(&mut fit, &[0u64; 20][..])
        .unwrap();
    assert!(fit.components()[0].pi().is_finite());
}
