//! Known parameters come back: mixtures of low-rank Gaussians (K = 2 and 3) for every noise
//! structure, and the D = 500 fit (q = 3, K = 2, N = 2000) that a full covariance could not
//! make.

use std::time::Instant;

use em_core::StdRng;
use em_factor::{FactorAnalyser, FactorMixture, NoiseStructure};
use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng};

/// K well-separated components in D dimensions with q factors, noise following `noise`.
fn truth(k: usize, d: usize, q: usize, noise: NoiseStructure, seed: u64) -> FactorMixture {
    let mut rng = StdRng::seed_from_u64(seed);
    let shared = DVector::from_fn(d, |_, _| rng.random_range(0.2..0.6));
    let comps = (0..k)
        .map(|j| {
            let psi = match noise {
                NoiseStructure::Diagonal => DVector::from_fn(d, |_, _| rng.random_range(0.2..0.6)),
                NoiseStructure::SharedDiagonal => shared.clone(),
                NoiseStructure::Isotropic => DVector::from_element(d, rng.random_range(0.2..0.6)),
            };
            FactorAnalyser::new(
                DVector::from_fn(d, |i, _| if i % k == j { 6.0 } else { 0.0 }),
                DMatrix::from_fn(d, q, |_, _| rng.random_range(-1.5..1.5)),
                psi,
            )
            .unwrap()
        })
        .collect();
    let weights: Vec<f64> = (0..k).map(|j| (j + 2) as f64).collect();
    let total: f64 = weights.iter().sum();
    FactorMixture::new(weights.iter().map(|w| w / total).collect(), comps, noise).unwrap()
}

/// The fitted component that is the true component k: the one whose mean is closest.
fn matching(model: &FactorMixture, truth: &FactorMixture, k: usize) -> usize {
    let mu = truth.mean(k).unwrap();
    (0..model.n_components())
        .min_by(|&a, &b| {
            let da = (model.mean(a).unwrap() - mu).norm();
            let db = (model.mean(b).unwrap() - mu).norm();
            da.total_cmp(&db)
        })
        .unwrap()
}

#[test]
fn recovers_mixtures_of_low_rank_gaussians() {
    for noise in [
        NoiseStructure::Diagonal,
        NoiseStructure::SharedDiagonal,
        NoiseStructure::Isotropic,
    ] {
        for (k, seed) in [(2, 1), (3, 2)] {
            let (d, q, n) = (12, 2, 6000);
            let truth = truth(k, d, q, noise, seed);
            let (x, labels) = truth.sample(n, &mut StdRng::seed_from_u64(seed + 10));
            let fit = FactorMixture::builder(k, q)
                .noise(noise)
                .n_init(3)
                .seed(seed)
                .fit(&x)
                .unwrap();
            assert!(fit.report.converged, "{noise:?} K = {k}");
            let model = &fit.model;
            assert_eq!(model.noise_structure(), noise);
            let map: Vec<usize> = (0..k).map(|j| matching(model, &truth, j)).collect();
            let mut sorted = map.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                sorted.len(),
                k,
                "{noise:?} K = {k}: components matched twice {map:?}"
            );
            let predicted = model.predict(&x).unwrap();
            let wrong = predicted
                .iter()
                .zip(&labels)
                .filter(|(p, l)| **p != map[**l])
                .count();
            assert!(
                wrong <= n / 200,
                "{noise:?} K = {k}: {wrong} rows misassigned"
            );
            for (j, &f) in map.iter().enumerate() {
                let dw = (model.weights()[f] - truth.weights()[j]).abs();
                assert!(dw < 0.03, "{noise:?} K = {k}: weight {dw}");
                let s_true = truth.covariance(j).unwrap();
                let s_fit = model.covariance(f).unwrap();
                let ds = (&s_fit - &s_true).amax() / s_true.amax();
                assert!(ds < 0.15, "{noise:?} K = {k}, component {j}: Σ off by {ds}");
                let dmu = (model.mean(f).unwrap() - truth.mean(j).unwrap()).amax();
                assert!(
                    dmu < 0.25,
                    "{noise:?} K = {k}, component {j}: μ off by {dmu}"
                );
                let p_true = truth.noise(j).unwrap();
                let dpsi = (model.noise(f).unwrap() - p_true)
                    .component_div(p_true)
                    .amax();
                assert!(
                    dpsi < 0.25,
                    "{noise:?} K = {k}, component {j}: ψ off by {dpsi}"
                );
            }
            // The fit is at least as likely as the truth on its own data.
            assert!(model.score(&x).unwrap() >= truth.score(&x).unwrap() - 1e-9);
        }
    }
}

/// D = 500, q = 3, K = 2, N = 2000: 2 × (500 + 1497 + 500) + 1 = 4995 parameters, where
/// full covariances would need 2 × 125,750. Prints the time (not asserted; in the test profile,
/// opt-level 2); `cargo run --release -p em-factor --example high_dimension` measures it.
#[test]
fn fits_five_hundred_dimensions() {
    let (d, q, n) = (500, 3, 2000);
    let mut rng = StdRng::seed_from_u64(2026);
    let comps: Vec<FactorAnalyser> = (0..2)
        .map(|j| {
            FactorAnalyser::new(
                DVector::from_fn(d, |_, _| 0.3 * j as f64 + rng.random_range(-1.0..1.0)),
                DMatrix::from_fn(d, q, |_, _| rng.random_range(-1.0..1.0)),
                DVector::from_fn(d, |_, _| rng.random_range(0.5..1.5)),
            )
            .unwrap()
        })
        .collect();
    let truth = FactorMixture::new(vec![0.4, 0.6], comps, NoiseStructure::Diagonal).unwrap();
    let (x, labels) = truth.sample(n, &mut rng);
    // The EM invariants hold at D = 500 too (from the fit's start, 3 steps).
    let begin = FactorMixture::builder(2, q)
        .initialize(&x, &mut StdRng::seed_from_u64(5))
        .unwrap();
    let report = em_core::testing::check_invariants(begin, &x, 3, Default::default()).unwrap();
    assert!(report.is_ok(), "{report}");
    let start = Instant::now();
    let fit = FactorMixture::builder(2, q).seed(1).fit(&x).unwrap();
    println!(
        "D = 500: {:.2} s, {} iterations, {} E-steps",
        start.elapsed().as_secs_f64(),
        fit.report.iterations,
        fit.report.e_steps
    );
    assert!(fit.report.converged);
    let model = &fit.model;
    assert_eq!(model.n_parameters(), 2 * (500 + 1500 - 3 + 500) + 1);
    let predicted = model.predict(&x).unwrap();
    let agree = predicted
        .iter()
        .zip(&labels)
        .filter(|(a, b)| a == b)
        .count();
    assert!(agree.max(n - agree) == n, "{agree}");
    assert!(model.score(&x).unwrap() > truth.score(&x).unwrap());
}
