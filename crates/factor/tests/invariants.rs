//! The EM invariants (ELBO tight after the E-step, M-step improves it, bound holds) for every
//! noise structure, on random data from the fit's own start and from random parameters, under
//! proptest; the M-step against perturbations of its result; merging of statistics.

use em_core::testing::{Tolerance, check_invariants, chunking_discrepancy};
use em_core::{EmError, LatentModel, Statistics, StdRng};
use em_factor::{FactorAnalyser, FactorMixture, NoiseStructure};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use rand::SeedableRng;

const STRUCTURES: [NoiseStructure; 3] = [
    NoiseStructure::Diagonal,
    NoiseStructure::SharedDiagonal,
    NoiseStructure::Isotropic,
];

/// Runs the checker; a degenerate fit (a collapsed variance, an empty component) on tiny
/// random data is a legitimate outcome, not a violation.
fn check(model: FactorMixture, x: &DMatrix<f64>, steps: usize) -> Result<(), TestCaseError> {
    match check_invariants(model, x, steps, Tolerance::default()) {
        Ok(report) if report.is_ok() => Ok(()),
        Ok(report) => Err(TestCaseError::fail(report.to_string())),
        Err(EmError::DegenerateComponent { .. } | EmError::EmptyComponent { .. }) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("model error: {e}"))),
    }
}

fn data(n: std::ops::Range<usize>, d: usize) -> impl Strategy<Value = DMatrix<f64>> {
    em_core::testing::prop::matrix(n, d, -5.0..5.0)
}

/// A random model: K components with random means, loadings and noise.
fn random_model(
    k: usize,
    d: usize,
    q: usize,
    noise: NoiseStructure,
    seed: u64,
) -> Result<FactorMixture, EmError> {
    use rand::RngExt;
    let mut rng = StdRng::seed_from_u64(seed);
    let shared = DVector::from_fn(d, |_, _| rng.random_range(0.2..2.0));
    let comps = (0..k)
        .map(|_| {
            let mean = DVector::from_fn(d, |_, _| rng.random_range(-3.0..3.0));
            let w = DMatrix::from_fn(d, q, |_, _| rng.random_range(-2.0..2.0));
            let psi = match noise {
                NoiseStructure::Diagonal => DVector::from_fn(d, |_, _| rng.random_range(0.2..2.0)),
                NoiseStructure::SharedDiagonal => shared.clone(),
                NoiseStructure::Isotropic => DVector::from_element(d, rng.random_range(0.2..2.0)),
            };
            FactorAnalyser::new(mean, w, psi)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let weights = vec![1.0 / k as f64; k];
    FactorMixture::new(weights, comps, noise)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn invariants_from_the_fit_start(x in data(12..60, 5), k in 1usize..4, q in 1usize..3, s in 0usize..3, seed in 0u64..1000) {
        let noise = STRUCTURES[s];
        let builder = FactorMixture::builder(k, q).noise(noise);
        let model = match builder.initialize(&x, &mut StdRng::seed_from_u64(seed)) {
            Ok(m) => m,
            Err(_) => return Ok(()),
        };
        check(model, &x, 12)?;
    }

    #[test]
    fn invariants_from_random_parameters(x in data(8..50, 4), k in 1usize..4, q in 1usize..4, s in 0usize..3, seed in 0u64..1000) {
        let model = random_model(k, 4, q, STRUCTURES[s], seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check(model, &x, 10)?;
    }

    #[test]
    fn invariants_with_a_noise_floor(x in data(8..40, 4), k in 1usize..3, s in 0usize..3, seed in 0u64..1000) {
        let model = random_model(k, 4, 2, STRUCTURES[s], seed)
            .and_then(|m| m.with_noise_floor(0.3))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        check(model, &x, 10)?;
    }
}

/// The M-step's result beats every small perturbation of it on the ELBO of the same
/// statistics (exactness of the joint maximiser in μ, W and Ψ).
#[test]
fn m_step_is_the_maximiser() {
    use em_core::ParameterVector;
    use rand::RngExt;
    let truth = random_model(2, 6, 2, NoiseStructure::Diagonal, 11).unwrap();
    let (x, _) = truth.sample(400, &mut StdRng::seed_from_u64(3));
    for noise in STRUCTURES {
        let start = random_model(2, 6, 2, noise, 5).unwrap();
        let e = start.e_step(&x, 0..x.nrows()).unwrap();
        let mut next = start.clone();
        next.m_step(&e.stats).unwrap();
        let best = next.expected_complete_log_likelihood(&e.stats);
        let theta = next.parameters();
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..200 {
            let mut moved = next.clone();
            let k = next.n_components();
            let perturbed: Vec<f64> = theta
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    if i < k {
                        t
                    } else {
                        t * (1.0 + 1e-3 * rng.random_range(-1.0..1.0))
                            + 1e-4 * rng.random_range(-1.0..1.0)
                    }
                })
                .collect();
            if moved.set_parameters(&perturbed).is_err() {
                continue;
            }
            let other = moved.expected_complete_log_likelihood(&e.stats);
            assert!(
                other <= best + 1e-9 * best.abs(),
                "{noise:?}: {other} > {best}"
            );
        }
    }
}

/// Statistics merged over batches (and over batches of another frame) equal those of one
/// batch.
#[test]
fn statistics_merge_over_batches_and_frames() {
    let truth = random_model(3, 7, 2, NoiseStructure::Diagonal, 2).unwrap();
    let (x, _) = truth.sample(500, &mut StdRng::seed_from_u64(4));
    let model = random_model(3, 7, 2, NoiseStructure::Diagonal, 8).unwrap();
    for chunk in [1, 7, 64, 499] {
        let gap = chunking_discrepancy(&model, &x, chunk).unwrap();
        assert!(gap < 1e-12, "chunk {chunk}: {gap}");
    }
    // A batch in another frame (another model's means) merges exactly by translation.
    let whole = model.e_step(&x, 0..500).unwrap();
    let a = model.e_step(&x, 0..200).unwrap();
    let mut b = model.e_step(&x, 200..500).unwrap();
    for (k, s) in b.stats.shift.iter_mut().enumerate() {
        let delta = DVector::from_element(s.len(), 0.5 + k as f64);
        // Re-express batch b in the frame s + δ: y' = y − δ.
        let sum = b.stats.cross[k].column(2).clone_owned();
        let nk = b.stats.n[k];
        for d in 0..s.len() {
            b.stats.sum_sq[k][d] += -2.0 * delta[d] * sum[d] + nk * delta[d] * delta[d];
        }
        let ez = b.stats.latent[k].column(2).clone_owned();
        b.stats.cross[k] -= &delta * ez.transpose();
        *s += &delta;
    }
    let mut merged = a.stats.clone();
    merged.merge(&b.stats);
    let l1 = model.expected_complete_log_likelihood(&whole.stats);
    let l2 = model.expected_complete_log_likelihood(&merged);
    assert!((l1 - l2).abs() < 1e-9 * l1.abs(), "{l1} vs {l2}");
}

/// On data from a known mixture, every structure runs 30 steps with no error and no violation.
#[test]
fn invariants_on_a_sample_for_every_structure() {
    let truth = random_model(2, 9, 2, NoiseStructure::Diagonal, 21).unwrap();
    let (x, _) = truth.sample(300, &mut StdRng::seed_from_u64(1));
    for noise in STRUCTURES {
        for q in [1, 2, 4] {
            let model = FactorMixture::builder(2, q)
                .noise(noise)
                .initialize(&x, &mut StdRng::seed_from_u64(2))
                .unwrap();
            let report = check_invariants(model, &x, 30, Tolerance::default()).unwrap();
            assert!(report.is_ok(), "{noise:?}, q = {q}: {report}");
            assert_eq!(report.steps, 30);
            let gain = report.objectives[30] - report.objectives[0];
            assert!(gain > 0.0, "{noise:?}: {gain}");
        }
    }
}

/// Statistics of another shape cannot be merged: the result is refused by the M-step.
#[test]
fn merging_statistics_of_another_shape_poisons_them() {
    let model = random_model(2, 5, 2, NoiseStructure::Diagonal, 1).unwrap();
    let other = random_model(2, 5, 1, NoiseStructure::Diagonal, 1).unwrap();
    let (x, _) = model.sample(50, &mut StdRng::seed_from_u64(1));
    let mut stats = model.e_step(&x, 0..50).unwrap().stats;
    stats.merge(&other.e_step(&x, 0..50).unwrap().stats);
    assert!(stats.entropy.is_nan());
    assert!(model.expected_complete_log_likelihood(&stats).is_nan());
    let mut next = model.clone();
    assert!(matches!(
        next.m_step(&stats),
        Err(EmError::InvalidParameter { name: "stats", .. })
    ));
}
