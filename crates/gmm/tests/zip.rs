//! The zero-inflated Poisson model: agreement with statsmodels' maximum-likelihood fit on real
//! data, the EM invariants, recovery of known parameters, and bad input.
//!
//! The reference figures are `fixtures/zip_statsmodels.json`, made by
//! `python3 crates/gmm/tests/fixtures/make_zip_statsmodels.py` (statsmodels 0.15.0) from the
//! `mdvis` column (doctor visits, 20,190 counts) of `statsmodels.datasets.randhie`; this test
//! needs no Python.

use em_core::testing::prop::assert_invariants;
use em_core::testing::{Tolerance, check_invariants, chunking_discrepancy};
use em_core::{Em, EmError, LatentModel};
use gmm::ZeroInflatedPoisson;
use gmm::zip::{MAX_COUNT, counts_from_f64};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

/// The agreement the fixture test demands, relative, in π, λ and the log-likelihood.
const STATSMODELS_REL_TOL: f64 = 1e-6;

/// EM iterations run (with tol = 0) on the fixture data. EM's error shrinks by a factor of
/// about 8 per iteration there: 1e-6 is reached after 5 iterations, rounding level (1e-12)
/// after ~15; 100 leaves a wide margin.
const FIXTURE_EM_ITERATIONS: usize = 100;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/zip_statsmodels.json"))
        .expect("fixture is valid JSON")
}

fn number(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is a number"))
}

fn fixture_counts(f: &Value) -> Vec<u64> {
    f["counts"]
        .as_array()
        .expect("counts array")
        .iter()
        .map(|c| c.as_u64().expect("non-negative integer count"))
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// Σ log P(y_i) for a plain Poisson(λ), written out independently of the crate.
fn poisson_log_likelihood(data: &[u64], lambda: f64) -> f64 {
    data.iter()
        .map(|&y| {
            let y = y as f64;
            let ln_fact: f64 = (1..=y as u64).map(|k| (k as f64).ln()).sum();
            y * lambda.ln() - lambda - ln_fact
        })
        .sum()
}

#[test]
fn em_fixed_point_matches_statsmodels_zip_mle_on_randhie_doctor_visits() {
    let f = fixture();
    let counts = fixture_counts(&f);
    // The bundled counts are the ones statsmodels saw.
    assert_eq!(counts.len() as f64, number(&f, "n"));
    assert_eq!(
        counts.iter().filter(|&&y| y == 0).count() as f64,
        number(&f, "n_zeros")
    );
    assert_eq!(counts.iter().sum::<u64>() as f64, number(&f, "sum"));
    assert_eq!(f["fit"]["converged"], Value::Bool(true));
    let (pi, lambda, llf) = (
        number(&f, "pi"),
        number(&f, "lambda"),
        number(&f, "log_likelihood"),
    );

    let em = Em::new().tol(0.0).max_iter(FIXTURE_EM_ITERATIONS);
    let fit = ZeroInflatedPoisson::fit(&counts, &em).expect("fit");
    let m = fit.model;
    assert_eq!(fit.report.iterations, FIXTURE_EM_ITERATIONS);
    let errors = [
        rel(m.pi(), pi),
        rel(m.lambda(), lambda),
        rel(fit.report.objective(), llf),
        rel(m.log_likelihood_total(&counts).expect("ll"), llf),
    ];
    println!(
        "EM: π = {:.17}, λ = {:.17}, ll = {:.10}; statsmodels: π = {pi:.17}, λ = {lambda:.17}, \
         ll = {llf:.10}; relative differences (π, λ, ll, ll) {errors:?}",
        m.pi(),
        m.lambda(),
        fit.report.objective()
    );
    for e in errors {
        assert!(e < STATSMODELS_REL_TOL, "relative differences {errors:?}");
    }
    // The objective never fell along the way, beyond rounding once at the fixed point.
    assert!(
        fit.report.largest_decrease <= 1e-13 * llf.abs(),
        "{:?}",
        fit.report.trace
    );

    // How many iterations EM needs to reach the demanded agreement from the moment start.
    let needed = (1..=FIXTURE_EM_ITERATIONS)
        .find(|&k| {
            let f =
                ZeroInflatedPoisson::fit(&counts, &Em::new().tol(0.0).max_iter(k)).expect("fit");
            rel(f.model.pi(), pi) < STATSMODELS_REL_TOL
                && rel(f.model.lambda(), lambda) < STATSMODELS_REL_TOL
                && rel(f.report.objective(), llf) < STATSMODELS_REL_TOL
        })
        .expect("agreement is reached");
    println!("EM iterations needed for 1e-6 agreement: {needed}");
    assert!(needed <= 10, "EM needed {needed} iterations");
}

#[test]
fn em_fixed_point_solves_the_zero_truncated_poisson_equation() {
    // Independent of statsmodels: at the MLE, λ/(1 − e^{−λ}) = mean of the positive counts and
    // π = 1 − (1 − p₀)/(1 − e^{−λ}), p₀ the fraction of zeros.
    let truth = ZeroInflatedPoisson::new(0.45, 1.3).expect("valid");
    let (y, _) = truth.sample(3_000, &mut StdRng::seed_from_u64(11));
    let fit = ZeroInflatedPoisson::fit(&y, &Em::new().tol(0.0).max_iter(500)).expect("fit");
    let (pi, lambda) = (fit.model.pi(), fit.model.lambda());
    let positives: Vec<f64> = y.iter().filter(|&&v| v > 0).map(|&v| v as f64).collect();
    let mean_pos = positives.iter().sum::<f64>() / positives.len() as f64;
    let p0 = 1.0 - positives.len() as f64 / y.len() as f64;
    let truncation = -(-lambda).exp_m1();
    assert!(rel(lambda / truncation, mean_pos) < 1e-12);
    assert!(rel(1.0 - (1.0 - p0) / truncation, pi) < 1e-12);
}

fn invariant_data_sets() -> Vec<(&'static str, Vec<u64>)> {
    let mixed: Vec<u64> = ZeroInflatedPoisson::new(0.3, 4.0)
        .expect("valid")
        .sample(500, &mut StdRng::seed_from_u64(5))
        .0;
    vec![
        ("mixed", mixed),
        ("no zeros", vec![1, 2, 3, 3, 4, 7, 1, 1, 2, 9, 4]),
        ("mostly zeros", vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 12]),
        ("zeros without excess", vec![0, 1, 1, 1, 2, 1, 2, 1]),
        ("one count", vec![3]),
        ("large counts", vec![0, 0, 1_000_000, 1_000_000_000_000, 7]),
    ]
}

#[test]
fn em_invariants_hold_on_count_data_from_several_starts() {
    let starts = [
        (0.01, 0.5),
        (0.5, 10.0),
        (0.9, 0.1),
        (0.0, 3.0),
        (0.999, 50.0),
    ];
    for (name, data) in invariant_data_sets() {
        for &(pi, lambda) in &starts {
            let model = ZeroInflatedPoisson::new(pi, lambda).expect("valid start");
            let report =
                check_invariants(model, &data[..], 30, Tolerance::default()).expect("runs");
            assert!(
                report.is_ok(),
                "{name} from (π, λ) = ({pi}, {lambda}): {report}"
            );
            assert!(report.objectives.iter().all(|o| o.is_finite()));
        }
    }
}

#[test]
fn invariant_checker_rejects_a_zip_with_the_log_factorial_left_out() {
    // The checker can fail here: an ECLL without the −Σ log y! terms is not tight.
    struct NoFactorial(ZeroInflatedPoisson);
    impl LatentModel for NoFactorial {
        type Data = [u64];
        type Stats = gmm::ZipStats;
        fn e_step(
            &self,
            d: &[u64],
            r: std::ops::Range<usize>,
        ) -> Result<em_core::EStep<gmm::ZipStats>, EmError> {
            self.0.e_step(d, r)
        }
        fn m_step(&mut self, s: &gmm::ZipStats) -> Result<(), EmError> {
            self.0.m_step(s)
        }
        fn expected_complete_log_likelihood(&self, s: &gmm::ZipStats) -> f64 {
            self.0.expected_complete_log_likelihood(s) + s.sum_ln_factorial()
        }
    }
    let model = NoFactorial(ZeroInflatedPoisson::new(0.2, 2.0).expect("valid"));
    let report =
        check_invariants(model, &[0, 0, 3, 5, 2][..], 5, Tolerance::default()).expect("runs");
    assert_eq!(
        report.first_violation().map(|v| v.invariant),
        Some(em_core::testing::Invariant::ElboTight)
    );
}

#[test]
fn chunked_statistics_merge_to_the_one_batch_statistics() {
    for (name, data) in invariant_data_sets() {
        let m = ZeroInflatedPoisson::new(0.2, 2.5).expect("valid");
        let d = chunking_discrepancy(&m, &data[..], 3).expect("runs");
        assert!(d < 1e-13, "{name}: {d:e}");
    }
    // And a fit is bit-identical on 1 and 2 threads with small chunks.
    let (y, _) = ZeroInflatedPoisson::new(0.3, 4.0)
        .expect("valid")
        .sample(5_000, &mut StdRng::seed_from_u64(9));
    let em = Em::new().tol(0.0).max_iter(20).chunk_size(64);
    let one = ZeroInflatedPoisson::fit(&y, &em.clone().threads(1)).expect("fit");
    let two = ZeroInflatedPoisson::fit(&y, &em.threads(2)).expect("fit");
    assert_eq!(one.model, two.model);
    assert_eq!(one.report.trace, two.report.trace);
}

fn counts_strategy() -> impl Strategy<Value = Vec<u64>> {
    prop_oneof![
        // mixed: structural-looking zeros and spread-out counts
        prop::collection::vec(prop_oneof![Just(0_u64), 0_u64..30], 1..120),
        // no zeros at all (the MLE has π = 0)
        prop::collection::vec(1_u64..200, 1..60),
        // mostly zeros, a few large counts
        prop::collection::vec(prop_oneof![4 => Just(0_u64), 1 => 0_u64..5_000], 1..80),
    ]
}

proptest! {
    #[test]
    fn em_invariants_hold_on_random_counts_from_random_starts(
        data in counts_strategy(),
        pi in 0.0_f64..0.99,
        lambda in 0.01_f64..100.0,
    ) {
        // All-zero data has no MLE (a typed error, tested below): not an invariant case.
        prop_assume!(data.iter().any(|&y| y > 0));
        let model = ZeroInflatedPoisson::new(pi, lambda).expect("valid start");
        assert_invariants(model, &data[..], 15)?;
    }
}

/// Expected Fisher information per observation at (π, λ), from the analytic scores
/// ∂/∂π, ∂/∂λ of log P(y) summed against P(y) over y = 0..=400.
fn fisher_information(m: &ZeroInflatedPoisson) -> [[f64; 2]; 2] {
    let (pi, lambda) = (m.pi(), m.lambda());
    let e = (-lambda).exp();
    let p0 = pi + (1.0 - pi) * e;
    let mut info = [[0.0; 2]; 2];
    for y in 0..=400_u64 {
        let s = if y == 0 {
            [(1.0 - e) / p0, -(1.0 - pi) * e / p0]
        } else {
            [-1.0 / (1.0 - pi), y as f64 / lambda - 1.0]
        };
        let p = m.ln_pmf(y).exp();
        for a in 0..2 {
            for b in 0..2 {
                info[a][b] += p * s[a] * s[b];
            }
        }
    }
    info
}

#[test]
fn recovers_pi_and_lambda_from_20000_draws_within_five_standard_errors() {
    // Standard errors from the inverse expected Fisher information at the truth, divided by n:
    // for π = 0.35, λ = 2.2 they are ≈ 0.0041 (π) and ≈ 0.0153 (λ). Five of them is the
    // tolerance (a correct estimator misses it with probability ≈ 6e-7 per parameter).
    let n = 20_000;
    let truth = ZeroInflatedPoisson::new(0.35, 2.2).expect("valid");
    let (y, z) = truth.sample(n, &mut StdRng::seed_from_u64(2026));
    assert!(y.iter().zip(&z).all(|(&y, &z)| !z || y == 0));
    let fit = ZeroInflatedPoisson::fit(&y, &Em::new().tol(1e-12).max_iter(1_000)).expect("fit");
    assert!(fit.report.converged);

    let i = fisher_information(&truth);
    let det = i[0][0] * i[1][1] - i[0][1] * i[1][0];
    let se_pi = (i[1][1] / det / n as f64).sqrt();
    let se_lambda = (i[0][0] / det / n as f64).sqrt();
    assert!(se_pi > 0.003 && se_pi < 0.006, "se(π) = {se_pi}");
    assert!(se_lambda > 0.01 && se_lambda < 0.02, "se(λ) = {se_lambda}");
    let (dp, dl) = (fit.model.pi() - 0.35, fit.model.lambda() - 2.2);
    println!(
        "π̂ = {:.5} ({:+.2} SE), λ̂ = {:.5} ({:+.2} SE)",
        fit.model.pi(),
        dp / se_pi,
        fit.model.lambda(),
        dl / se_lambda
    );
    assert!(dp.abs() < 5.0 * se_pi, "π̂ off by {dp} (SE {se_pi})");
    assert!(dl.abs() < 5.0 * se_lambda, "λ̂ off by {dl} (SE {se_lambda})");
}

#[test]
fn empty_data_is_an_empty_data_error() {
    let m = ZeroInflatedPoisson::new(0.2, 1.0).expect("valid");
    let empty: [u64; 0] = [];
    assert_eq!(
        ZeroInflatedPoisson::fit(&empty, &Em::new()).err(),
        Some(EmError::EmptyData)
    );
    assert_eq!(
        ZeroInflatedPoisson::moment_start(&empty).err(),
        Some(EmError::EmptyData)
    );
    assert_eq!(m.score_samples(&empty).err(), Some(EmError::EmptyData));
    assert_eq!(
        m.log_likelihood_total(&empty).err(),
        Some(EmError::EmptyData)
    );
    assert_eq!(m.score(&empty).err(), Some(EmError::EmptyData));
    assert_eq!(
        m.structural_zero_probabilities(&empty).err(),
        Some(EmError::EmptyData)
    );
    let mut driven = m;
    assert_eq!(
        Em::new().fit(&mut driven, &empty[..]).err(),
        Some(EmError::EmptyData)
    );
}

#[test]
fn all_zero_counts_are_a_typed_degenerate_mle_error() {
    let zeros = vec![0_u64; 50];
    let is_data_error =
        |e: Option<EmError>| matches!(e, Some(EmError::InvalidParameter { name: "data", .. }));
    assert!(is_data_error(
        ZeroInflatedPoisson::fit(&zeros, &Em::new()).err()
    ));
    // Driving EM directly from a valid model hits the same error in the M-step …
    let mut m = ZeroInflatedPoisson::new(0.5, 1.0).expect("valid");
    assert!(is_data_error(Em::new().fit(&mut m, &zeros[..]).err()));
    // … and leaves the model valid (the last completed parameters: the start).
    assert_eq!(m, ZeroInflatedPoisson::new(0.5, 1.0).expect("valid"));
    // Evaluating the likelihood of all-zero data is fine.
    let ll = m.log_likelihood_total(&zeros).expect("ll");
    assert!(rel(ll, 50.0 * (0.5 + 0.5 * (-1.0_f64).exp()).ln()) < 1e-14);
}

#[test]
fn data_without_zeros_gives_pi_exactly_zero_and_the_poisson_mle() {
    let data: Vec<u64> = vec![1, 2, 3, 5, 8, 13, 2, 1, 4, 6];
    let fit = ZeroInflatedPoisson::fit(&data, &Em::new().tol(1e-14).max_iter(100)).expect("fit");
    let mean = data.iter().sum::<u64>() as f64 / data.len() as f64;
    assert_eq!(fit.model.pi(), 0.0);
    assert!(rel(fit.model.lambda(), mean) < 1e-15);
    assert!(fit.report.converged);
    assert!(fit.report.trace.iter().all(|v| v.is_finite()));
    assert!(rel(fit.report.objective(), poisson_log_likelihood(&data, mean)) < 1e-13);
    // γ is 0 everywhere and no 0·log 0 turns into NaN in the ELBO.
    assert_eq!(fit.model.structural_zero_probability(0), 0.0);
    let report = check_invariants(fit.model, &data[..], 5, Tolerance::default()).expect("runs");
    assert!(report.is_ok(), "{report}");
}

#[test]
fn zeros_without_excess_drive_pi_towards_zero_without_nan() {
    // 1 zero in 8 with mean 9/8: fewer zeros than a Poisson predicts (e^{-9/8} ≈ 0.32), so the
    // MLE is the Poisson one on the boundary π = 0, which EM approaches geometrically.
    let data: Vec<u64> = vec![0, 1, 1, 1, 2, 1, 2, 1];
    // EM multiplies π by about P̂(0)/P(0) ≈ 0.39 per iteration: it stays positive for a long
    // time and reaches 0 only by underflow.
    let early = ZeroInflatedPoisson::fit(&data, &Em::new().tol(0.0).max_iter(10)).expect("fit");
    assert!(
        early.model.pi() > 0.0 && early.model.pi() < 1e-3,
        "π = {}",
        early.model.pi()
    );
    let fit = ZeroInflatedPoisson::fit(&data, &Em::new().tol(0.0).max_iter(2_000)).expect("fit");
    let mean = 9.0 / 8.0;
    assert!(
        (0.0..1e-9).contains(&fit.model.pi()),
        "π = {}",
        fit.model.pi()
    );
    assert!(rel(fit.model.lambda(), mean) < 1e-8);
    assert!(rel(fit.report.objective(), poisson_log_likelihood(&data, mean)) < 1e-10);
    assert!(
        fit.report.largest_decrease <= 1e-14,
        "{}",
        fit.report.largest_decrease
    );
}

#[test]
fn huge_counts_do_not_overflow_log_factorial() {
    let data: Vec<u64> = vec![0, 0, 0, 200, 1_000_000, 1_000_000_000_000, MAX_COUNT];
    let fit = ZeroInflatedPoisson::fit(&data, &Em::new().tol(1e-12).max_iter(200)).expect("fit");
    assert!(fit.report.objective().is_finite());
    assert!(fit.model.pi().is_finite() && fit.model.lambda().is_finite());
    // log P(y) with λ = y = 10^12 is log(1 − π) − ½ log(2π y) − 1/(12 y) + O(y^-3) by
    // Stirling; the f64 rounding of y log y (≈ 2.8e13) bounds the agreement at ~1e-2.
    let y = 1e12;
    let m = ZeroInflatedPoisson::new(0.25, y).expect("valid");
    let stirling = 0.75_f64.ln() - 0.5 * (2.0 * std::f64::consts::PI * y).ln() - 1.0 / (12.0 * y);
    let ln_p = m.ln_pmf(1_000_000_000_000);
    assert!((ln_p - stirling).abs() < 0.05, "{ln_p} vs {stirling}");
    let scores = m.score_samples(&data).expect("scores");
    assert!(scores.iter().all(|s| s.is_finite()));
}

#[test]
fn counts_above_2_pow_53_are_invalid_input_naming_the_row() {
    let data: Vec<u64> = vec![0, 3, 1, u64::MAX, 2];
    let bad_row = |e: Option<EmError>| match e {
        Some(EmError::InvalidInput { row, column, .. }) => Some((row, column)),
        _ => None,
    };
    assert_eq!(
        bad_row(ZeroInflatedPoisson::fit(&data, &Em::new()).err()),
        Some((3, None))
    );
    let m = ZeroInflatedPoisson::new(0.2, 2.0).expect("valid");
    assert_eq!(bad_row(m.score_samples(&data).err()), Some((3, None)));
    assert_eq!(
        bad_row(m.log_likelihood_total(&data).err()),
        Some((3, None))
    );
    // Through the driver, in a later chunk: the row is still the absolute one.
    let mut driven = m;
    let em = Em::new().chunk_size(2);
    assert_eq!(
        bad_row(em.fit(&mut driven, &data[..]).err()),
        Some((3, None))
    );
    // 2^53 itself is accepted.
    assert!(m.score_samples(&[MAX_COUNT]).is_ok());
    assert!(bad_row(m.score_samples(&[MAX_COUNT + 1]).err()).is_some());
}

#[test]
fn new_validates_pi_and_lambda_and_names_the_parameter() {
    let name = |r: Result<ZeroInflatedPoisson, EmError>| match r {
        Err(EmError::InvalidParameter { name, .. }) => Some(name),
        _ => None,
    };
    for pi in [-0.1, 1.0, 1.5, f64::NAN, f64::INFINITY] {
        assert_eq!(
            name(ZeroInflatedPoisson::new(pi, 1.0)),
            Some("pi"),
            "π = {pi}"
        );
    }
    for lambda in [0.0, -1.0, f64::NAN, f64::INFINITY, 2.0 * MAX_COUNT as f64] {
        assert_eq!(
            name(ZeroInflatedPoisson::new(0.3, lambda)),
            Some("lambda"),
            "λ = {lambda}"
        );
    }
    let edge = ZeroInflatedPoisson::new(0.0, f64::MIN_POSITIVE).expect("boundary is valid");
    assert_eq!(edge.pi(), 0.0);
    assert!(edge.ln_pmf(0).is_finite() && edge.ln_pmf(5).is_finite());
}

#[test]
fn counts_from_f64_rejects_negative_fractional_and_non_finite_values_by_row() {
    assert_eq!(counts_from_f64(&[0.0, 2.0, 7.0]), Ok(vec![0, 2, 7]));
    assert!(matches!(
        counts_from_f64(&[1.0, 2.0, -1.0]),
        Err(EmError::InvalidInput {
            row: 2,
            column: None,
            ..
        })
    ));
    assert!(matches!(
        counts_from_f64(&[1.25]),
        Err(EmError::InvalidInput { row: 0, .. })
    ));
    assert!(matches!(
        counts_from_f64(&[3.0, f64::NAN]),
        Err(EmError::NonFinite {
            row: 1,
            column: 0,
            ..
        })
    ));
    assert!(matches!(
        counts_from_f64(&[1e300]),
        Err(EmError::InvalidInput { row: 0, .. })
    ));
}

#[test]
fn structural_zero_probability_is_bayes_rule_and_zero_for_positive_counts() {
    let m = ZeroInflatedPoisson::new(0.3, 2.0).expect("valid");
    let p0 = 0.3 + 0.7 * (-2.0_f64).exp();
    assert!(rel(m.structural_zero_probability(0), 0.3 / p0) < 1e-15);
    assert_eq!(m.structural_zero_probability(1), 0.0);
    let g0 = m.structural_zero_probability(0);
    assert_eq!(
        m.structural_zero_probabilities(&[0, 4, 0]).expect("γ"),
        vec![g0, 0.0, g0]
    );
    // A huge λ makes every zero structural, without overflow.
    let big = ZeroInflatedPoisson::new(0.3, 1e6).expect("valid");
    assert_eq!(big.structural_zero_probability(0), 1.0);
    // π = 0: no zero is structural.
    let plain = ZeroInflatedPoisson::new(0.0, 2.0).expect("valid");
    assert_eq!(plain.structural_zero_probability(0), 0.0);
    assert!(rel(plain.ln_pmf(0), -2.0) < 1e-15);
}

#[test]
fn model_round_trips_through_serde_and_is_validated_on_load() {
    let m = ZeroInflatedPoisson::new(0.125, 3.5).expect("valid");
    let text = serde_json::to_string(&m).expect("serialise");
    assert_eq!(text, r#"{"pi":0.125,"lambda":3.5}"#);
    let back: ZeroInflatedPoisson = serde_json::from_str(&text).expect("load");
    assert_eq!(back, m);
    assert!(serde_json::from_str::<ZeroInflatedPoisson>(r#"{"pi":1.0,"lambda":3.5}"#).is_err());
    assert!(serde_json::from_str::<ZeroInflatedPoisson>(r#"{"pi":0.1,"lambda":-1}"#).is_err());
}

#[test]
fn sample_mean_and_zero_fraction_match_the_model() {
    let m = ZeroInflatedPoisson::new(0.2, 5.0).expect("valid");
    let (y, z) = m.sample(20_000, &mut StdRng::seed_from_u64(17));
    let n = y.len() as f64;
    let mean = y.iter().sum::<u64>() as f64 / n;
    let zero_frac = y.iter().filter(|&&v| v == 0).count() as f64 / n;
    let structural = z.iter().filter(|&&s| s).count() as f64 / n;
    // 5 standard errors of each proportion / mean.
    let p0 = m.ln_pmf(0).exp();
    assert!((mean - m.mean()).abs() < 5.0 * (m.variance() / n).sqrt());
    assert!((zero_frac - p0).abs() < 5.0 * (p0 * (1.0 - p0) / n).sqrt());
    assert!((structural - 0.2).abs() < 5.0 * (0.2 * 0.8 / n).sqrt());
}
