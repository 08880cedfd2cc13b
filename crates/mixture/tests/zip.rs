//! The zero-inflated Poisson as the mixture crate builds it: its statistics are the
//! one-component mixture's, read through accessors that keep their meaning, and its EM steps
//! are the mixture's, bit for bit. (Agreement with statsmodels, the invariants, recovery and
//! bad input are pinned in `crates/gmm/tests/zip.rs`, through the `gmm` re-export.)

use em_core::{LatentModel, Statistics};
use mixture::{ZeroInflatedPoisson, ZipStats};
use rand::SeedableRng;

/// log y! by summation, independent of the crates under test.
fn ln_factorial(y: u64) -> f64 {
    (2..=y).map(|k| (k as f64).ln()).sum()
}

#[test]
fn zip_stats_accessors_read_the_wrapper_statistics() {
    let m = ZeroInflatedPoisson::new(0.3, 2.0).unwrap();
    let data = [0u64, 0, 3, 5, 2, 0, 1];
    let e = m.e_step(&data[..], 0..data.len()).unwrap();
    let s = &e.stats;
    let gamma = m.structural_zero_probability(0);
    let h = -gamma * gamma.ln() - (1.0 - gamma) * (1.0 - gamma).ln();
    assert_eq!(s.n(), 7.0);
    assert_eq!(s.sum_counts(), 11.0);
    assert!((s.sum_gamma() - 3.0 * gamma).abs() < 1e-15);
    assert!((s.entropy() - 3.0 * h).abs() < 1e-14);
    let lf: f64 = data.iter().map(|&y| ln_factorial(y)).sum();
    assert!((s.sum_ln_factorial() - lf).abs() < 1e-12);
    // The latent structural zeros carry the entropy inside the statistics; the single mixture
    // label carries none.
    assert_eq!(e.entropy, 0.0);
    assert_eq!(s.as_mixture_stats().weights, vec![7.0]);
    // Chunks merge to the whole; the default is the statistics of no counts.
    let mut merged = ZipStats::default();
    assert_eq!(merged.n(), 0.0);
    for rows in [0..2, 2..5, 5..7] {
        merged.merge(&m.e_step(&data[..], rows).unwrap().stats);
    }
    assert_eq!(merged.n(), s.n());
    assert_eq!(merged.sum_counts(), s.sum_counts());
    assert!((merged.sum_gamma() - s.sum_gamma()).abs() < 1e-15);
}

#[test]
fn em_steps_are_the_one_component_mixtures_bit_for_bit() {
    let data = [0u64, 0, 0, 4, 1, 0, 7, 2, 0, 3];
    let mut typed = ZeroInflatedPoisson::new(0.1, 5.0).unwrap();
    let mut engine = typed.to_mixture();
    for _ in 0..5 {
        let a = typed.e_step(&data[..], 0..data.len()).unwrap();
        let b = engine.e_step(&data[..], 0..data.len()).unwrap();
        assert_eq!(a.log_likelihood, b.log_likelihood);
        assert_eq!(a.stats.as_mixture_stats(), &b.stats);
        assert_eq!(
            typed.expected_complete_log_likelihood(&a.stats),
            engine.expected_complete_log_likelihood(&b.stats)
        );
        typed.m_step(&a.stats).unwrap();
        engine.m_step(&b.stats).unwrap();
        assert_eq!(&typed.to_mixture(), &engine);
        assert_eq!(typed.component(), &engine.components()[0]);
    }
}

#[test]
fn debug_shows_the_parameters() {
    let m = ZeroInflatedPoisson::new(0.25, 3.5).unwrap();
    assert_eq!(
        format!("{m:?}"),
        "ZeroInflatedPoisson { pi: 0.25, lambda: 3.5 }"
    );
}

#[test]
fn fit_takes_any_driver_step_and_squarem_reaches_the_same_optimum() {
    // π = 0.3, λ = 0.8: a zero is about as likely structural as Poisson, so plain EM crawls.
    let truth = ZeroInflatedPoisson::new(0.3, 0.8).unwrap();
    let (y, _) = truth.sample(3_000, &mut em_core::StdRng::seed_from_u64(2));
    let em = em_core::Em::new().tol(1e-14).max_iter(20_000);
    let plain = ZeroInflatedPoisson::fit(&y, &em).unwrap();
    let fast = ZeroInflatedPoisson::fit(&y, &em.accelerate(em_core::Squarem)).unwrap();
    assert!(plain.report.converged && fast.report.converged);
    assert!(
        fast.report.e_steps * 3 < plain.report.e_steps,
        "{} vs {}",
        fast.report.e_steps,
        plain.report.e_steps
    );
    assert!((fast.model.pi() - plain.model.pi()).abs() < 1e-6);
    assert!((fast.model.lambda() - plain.model.lambda()).abs() < 1e-6);
}
