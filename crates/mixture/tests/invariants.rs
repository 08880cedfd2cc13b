//! The three EM invariants (ELBO tight after the E-step, M-step improves the ELBO, ELBO is a
//! lower bound) for every family, on random data from random starts, under proptest.
//!
//! Each test runs exactly `CASES` cases through `assert_invariants`: a case whose random
//! start cannot run (a component empties or collapses — a typed error) is discarded and
//! replaced by proptest, and the tally asserts that such discards stay rare.

mod common;

use common::{Tally, invariants_case, normalise};
use mixture::{Bernoulli, BinaryMatrix, Exponential, Gaussian, Mixture, Poisson};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const CASES: u32 = 64;
const STEPS: usize = 15;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn fail(e: em_core::EmError) -> TestCaseError {
    TestCaseError::fail(format!("could not build the start: {e}"))
}

#[test]
fn poisson_mixture_keeps_em_invariants() {
    let data = prop_oneof![
        4 => vec(0u64..40, 1..150),
        1 => vec(0u64..2, 1..50),
        // All zeros: λ = 0 is the MLE of every component.
        1 => vec(Just(0u64), 1..30),
    ];
    // Component 0 has a positive rate; the others may start at λ = 0.
    let start = (1usize..=3).prop_flat_map(|k| {
        (
            vec(0.05f64..1.0, k),
            0.05f64..30.0,
            vec(prop_oneof![1 => Just(0.0), 4 => 0.05f64..30.0], k - 1),
        )
    });
    let tally = Tally::default();
    runner()
        .run(&(data, start), |(y, (w, first, rest))| {
            let comps = std::iter::once(first)
                .chain(rest)
                .map(Poisson::new)
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            let model = Mixture::new(normalise(&w), comps).map_err(fail)?;
            invariants_case(model, &y[..], STEPS, &tally)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.assert_mostly_ran(CASES as usize);
}

#[test]
fn exponential_mixture_keeps_em_invariants() {
    // Values on scales from 1e-3 to 1e3, with exact zeros now and then (not often: a
    // component can settle on the zeros and its rate diverge — a typed error, tested in
    // bad_input.rs).
    let data = (
        vec(prop_oneof![40 => 0.0f64..1.0, 1 => Just(0.0)], 1..150),
        prop_oneof![Just(1e-3), Just(1.0), Just(1e3)],
    )
        .prop_map(|(v, scale)| v.into_iter().map(|x| x * scale).collect::<Vec<f64>>());
    // Rates from 1/30 to 30 times the reciprocal of the data's scale.
    let start = (1usize..=3).prop_flat_map(|k| (vec(0.05f64..1.0, k), vec(-1.5f64..1.5, k)));
    let tally = Tally::default();
    runner()
        .run(&(data, start), |(x, (w, log10_rates))| {
            let scale = x.iter().copied().fold(0.0, f64::max).max(1e-3);
            let comps = log10_rates
                .iter()
                .map(|l| Exponential::new(10f64.powf(*l) / scale))
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            let model = Mixture::new(normalise(&w), comps).map_err(fail)?;
            invariants_case(model, &x[..], STEPS, &tally)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.assert_mostly_ran(CASES as usize);
}

/// With a rate cap, data full of exact zeros (which make a component diverge without one)
/// still satisfy all three invariants: the capped M-step is the exact constrained maximiser.
#[test]
fn exponential_mixture_with_rate_cap_keeps_em_invariants() {
    let data = vec(prop_oneof![1 => 0.0f64..5.0, 1 => Just(0.0)], 1..100);
    let start = (1usize..=3).prop_flat_map(|k| (vec(0.05f64..1.0, k), vec(-1.5f64..1.5, k)));
    let tally = Tally::default();
    runner()
        .run(&(data, start), |(x, (w, log10_rates))| {
            let comps = log10_rates
                .iter()
                .map(|l| Exponential::new(10f64.powf(*l))?.with_max_rate(1e3))
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            let model = Mixture::new(normalise(&w), comps).map_err(fail)?;
            invariants_case(model, &x[..], STEPS, &tally)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.assert_mostly_ran(CASES as usize);
}

fn gaussian_start() -> impl Strategy<Value = (Vec<f64>, Vec<(f64, f64)>)> {
    (1usize..=3).prop_flat_map(|k| {
        (
            vec(0.05f64..1.0, k),
            vec((-50.0f64..50.0, 0.01f64..100.0), k),
        )
    })
}

#[test]
fn gaussian_mixture_keeps_em_invariants() {
    // Continuous data, far from the origin at times (the centred statistics must not lose
    // precision there).
    let data = (
        vec(-50.0f64..50.0, 2..150),
        prop_oneof![Just(0.0), Just(1e6)],
    )
        .prop_map(|(v, shift)| v.into_iter().map(|x| x + shift).collect::<Vec<f64>>());
    let tally = Tally::default();
    runner()
        .run(&(data, gaussian_start()), |(x, (w, params))| {
            let shift = if x[0] > 1e5 { 1e6 } else { 0.0 };
            let comps = params
                .iter()
                .map(|&(m, v)| Gaussian::new(m + shift, v))
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            let model = Mixture::new(normalise(&w), comps).map_err(fail)?;
            invariants_case(model, &x[..], STEPS, &tally)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.assert_mostly_ran(CASES as usize);
}

/// With a variance floor, heavily duplicated data (which collapses components without one)
/// still satisfy all three invariants: the floored M-step is the exact constrained maximiser.
#[test]
fn gaussian_mixture_with_variance_floor_keeps_em_invariants() {
    let data = vec(
        prop_oneof![Just(-1.0f64), Just(0.0), Just(3.0), -5.0f64..5.0],
        1..60,
    );
    let tally = Tally::default();
    runner()
        .run(&(data, gaussian_start()), |(x, (w, params))| {
            let comps = params
                .iter()
                .map(|&(m, v)| Gaussian::new(m / 10.0, v.max(1e-3))?.with_min_variance(1e-3))
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            let model = Mixture::new(normalise(&w), comps).map_err(fail)?;
            invariants_case(model, &x[..], STEPS, &tally)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.assert_mostly_ran(CASES as usize);
}

#[test]
fn bernoulli_mixture_keeps_em_invariants() {
    // Rows of D ∈ 1..8 bits; each column is constant 0, constant 1 (p_d ∈ {0, 1} at the MLE)
    // or free.
    let data = (1usize..100, 1usize..8)
        .prop_flat_map(|(n, d)| {
            (
                Just(n),
                Just(d),
                vec(
                    prop_oneof![1 => Just(Some(false)), 1 => Just(Some(true)), 4 => Just(None)],
                    d,
                ),
                vec(any::<bool>(), n * d),
            )
        })
        .prop_map(|(n, d, modes, bits)| {
            let values = bits
                .iter()
                .enumerate()
                .map(|(i, &b)| modes[i % d].unwrap_or(b))
                .collect();
            BinaryMatrix::new(n, d, values)
        });
    // Component 0 is interior; the others may sit on the boundary (p = 0 or 1).
    let start = (1usize..=3).prop_flat_map(|k| {
        (
            vec(0.05f64..1.0, k),
            vec(0.05f64..0.95, 8),
            vec(
                vec(
                    prop_oneof![1 => Just(0.0), 1 => Just(1.0), 60 => 0.0f64..1.0],
                    8,
                ),
                k - 1,
            ),
        )
    });
    let tally = Tally::default();
    runner()
        .run(&(data, start), |(x, (w, first, rest))| {
            let x = x.map_err(fail)?;
            let d = x.n_cols();
            let comps = std::iter::once(first)
                .chain(rest)
                .map(|p| Bernoulli::new(p[..d].to_vec()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            let model = Mixture::new(normalise(&w), comps).map_err(fail)?;
            invariants_case(model, &x, STEPS, &tally)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.assert_mostly_ran(CASES as usize);
}
