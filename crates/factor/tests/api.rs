//! The model's API: densities against the dense D × D computation, the engine's scoring,
//! criteria and sampling, factor scores, serde and SQUAREM's parameter vector.

use em_core::{Acceleration, Em, LatentModel, ParameterVector, StdRng};
use em_factor::{FactorAnalyser, FactorMixture, NoiseStructure};
use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng};

fn random_analyser(rng: &mut StdRng, d: usize, q: usize, offset: f64) -> FactorAnalyser {
    FactorAnalyser::new(
        DVector::from_fn(d, |_, _| offset + rng.random_range(-1.0..1.0)),
        DMatrix::from_fn(d, q, |_, _| rng.random_range(-2.0..2.0)),
        DVector::from_fn(d, |_, _| rng.random_range(0.1..2.0)),
    )
    .unwrap()
}

fn dense_ln_pdf(a: &FactorAnalyser, x: &[f64]) -> f64 {
    let d = a.n_features();
    let sigma = a.covariance();
    let e = DVector::from_column_slice(x) - a.mean();
    let chol = sigma.cholesky().unwrap();
    let log_det = 2.0 * chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
    -0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
        - 0.5 * log_det
        - 0.5 * e.dot(&chol.solve(&e))
}

#[test]
fn densities_equal_the_dense_computation() {
    let mut rng = StdRng::seed_from_u64(7);
    for (d, q) in [(2, 1), (5, 2), (30, 4), (60, 10)] {
        let a = random_analyser(&mut rng, d, q, 0.0);
        let log_det = a
            .covariance()
            .cholesky()
            .unwrap()
            .l()
            .diagonal()
            .iter()
            .map(|v| 2.0 * v.ln())
            .sum::<f64>();
        assert!((a.log_det_covariance() - log_det).abs() < 1e-10 * log_det.abs().max(1.0));
        for _ in 0..5 {
            let x: Vec<f64> = (0..d).map(|_| rng.random_range(-4.0..4.0)).collect();
            let (fast, dense) = (a.ln_pdf(&x), dense_ln_pdf(&a, &x));
            assert!(
                (fast - dense).abs() < 1e-10 * dense.abs().max(1.0),
                "D = {d}: {fast} vs {dense}"
            );
        }
    }
}

#[test]
fn scoring_prediction_and_criteria_come_from_the_engine() {
    let mut rng = StdRng::seed_from_u64(8);
    let comps = vec![
        random_analyser(&mut rng, 6, 2, 0.0),
        random_analyser(&mut rng, 6, 2, 4.0),
    ];
    let model = FactorMixture::new(vec![0.3, 0.7], comps, NoiseStructure::Diagonal).unwrap();
    let (x, z) = model.sample(500, &mut rng);
    assert_eq!(x.shape(), (500, 6));
    assert_eq!(z.len(), 500);
    let share = z.iter().filter(|&&k| k == 1).count() as f64 / 500.0;
    assert!((share - 0.7).abs() < 0.07, "{share}");
    // log p(x) = log Σ π_k N(x | μ_k, Σ_k), against the dense densities.
    let ll = model.score_samples(&x).unwrap();
    for i in [0, 17, 499] {
        let row: Vec<f64> = x.row(i).iter().copied().collect();
        let parts: Vec<f64> = (0..2)
            .map(|k| model.weights()[k].ln() + dense_ln_pdf(model.component(k).unwrap(), &row))
            .collect();
        let m = parts[0].max(parts[1]);
        let lse = m + parts.iter().map(|p| (p - m).exp()).sum::<f64>().ln();
        assert!((ll[i] - lse).abs() < 1e-10 * lse.abs());
    }
    let proba = model.predict_proba(&x).unwrap();
    assert!(proba.row_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12));
    let total: f64 = ll.iter().sum();
    let p = model.n_parameters();
    assert_eq!(p, 1 + 2 * (6 + 12 - 1 + 6));
    assert!((model.bic(&x).unwrap() - (-2.0 * total + p as f64 * 500f64.ln())).abs() < 1e-8);
    assert!((model.aic(&x).unwrap() - (-2.0 * total + 2.0 * p as f64)).abs() < 1e-8);
    assert!(model.icl(&x).unwrap() >= model.bic(&x).unwrap());
    // Factor scores: E[z | x] = M⁻¹ Wᵀ Ψ⁻¹ (x − μ).
    let scores = model.transform(&x, 1).unwrap();
    assert_eq!(scores.shape(), (500, 2));
    let a = model.component(1).unwrap();
    let e = x.row(3).transpose() - a.mean();
    let psi_inv = DMatrix::from_diagonal(&a.noise().map(|v| 1.0 / v));
    let expected = a.posterior_covariance() * a.loadings().transpose() * psi_inv * e;
    assert!((scores.row(3).transpose() - expected).amax() < 1e-12);
    assert!(model.transform(&x, 2).is_err());
}

#[test]
fn model_files_round_trip() {
    let mut rng = StdRng::seed_from_u64(9);
    for noise in [
        NoiseStructure::Diagonal,
        NoiseStructure::SharedDiagonal,
        NoiseStructure::Isotropic,
    ] {
        let truth = FactorMixture::new(
            vec![0.5, 0.5],
            vec![
                random_analyser(&mut rng, 5, 2, 0.0),
                random_analyser(&mut rng, 5, 2, 5.0),
            ],
            NoiseStructure::Diagonal,
        )
        .unwrap();
        let (x, _) = truth.sample(400, &mut rng);
        let fit = FactorMixture::builder(2, 2)
            .noise(noise)
            .noise_floor(1e-9)
            .fit(&x)
            .unwrap();
        let json = serde_json::to_string(&fit.model).unwrap();
        let back: FactorMixture = serde_json::from_str(&json).unwrap();
        assert_eq!(back, fit.model);
        assert_eq!(back.noise_floor(), 1e-9);
        assert_eq!(back.noise_structure(), noise);
        assert_eq!(
            back.score_samples(&x).unwrap(),
            fit.model.score_samples(&x).unwrap()
        );
    }
}

#[test]
fn parameter_vector_round_trips_and_squarem_reaches_the_plain_optimum() {
    let mut rng = StdRng::seed_from_u64(10);
    for noise in [
        NoiseStructure::Diagonal,
        NoiseStructure::SharedDiagonal,
        NoiseStructure::Isotropic,
    ] {
        let truth = FactorMixture::new(
            vec![0.4, 0.6],
            vec![
                random_analyser(&mut rng, 8, 2, 0.0),
                random_analyser(&mut rng, 8, 2, 3.0),
            ],
            NoiseStructure::Diagonal,
        )
        .unwrap();
        let (x, _) = truth.sample(600, &mut rng);
        let builder = FactorMixture::builder(2, 2).noise(noise).seed(4);
        let start = builder
            .initialize(&x, &mut StdRng::seed_from_u64(1))
            .unwrap();
        let mut copy = start.clone();
        copy.set_parameters(&start.parameters()).unwrap();
        assert_eq!(copy, start);
        let expected_len = 2
            + 2 * (8 + 16)
            + match noise {
                NoiseStructure::Diagonal => 16,
                NoiseStructure::SharedDiagonal => 8,
                NoiseStructure::Isotropic => 2,
            };
        assert_eq!(start.parameters().len(), expected_len);
        let em = Em::new().tol(1e-9).max_iter(20_000);
        let mut plain = start.clone();
        let slow = em.fit(&mut plain, &x).unwrap();
        let mut fast = start.clone();
        let quick = em
            .clone()
            .accelerate(Acceleration::Squarem)
            .fit(&mut fast, &x)
            .unwrap();
        assert!(slow.converged && quick.converged, "{noise:?}");
        assert!(
            quick.e_steps < slow.e_steps,
            "{noise:?}: {} vs {}",
            quick.e_steps,
            slow.e_steps
        );
        let (a, b) = (slow.objective(), quick.objective());
        assert!((a - b).abs() < 1e-6 * a.abs(), "{noise:?}: {a} vs {b}");
        assert!(slow.largest_decrease <= 1e-9 * a.abs());
        let d = (plain.covariance(0).unwrap() - fast.covariance(0).unwrap()).amax();
        assert!(
            d < 1e-4 * plain.covariance(0).unwrap().amax(),
            "{noise:?}: {d}"
        );
        assert!(plain.scaled_parameters().is_some());
    }
}

/// The example of the README section in `docs/factor.md` (with `em::factor` spelled
/// `em_factor`), kept here so that it stays runnable.
#[test]
fn readme_example_runs() -> Result<(), em_core::EmError> {
    use em_factor::{FactorMixture, NoiseStructure};
    let x = DMatrix::from_fn(400, 50, |i, j| {
        let (a, b) = (
            ((i * 37) % 101) as f64 / 25.0,
            ((i * 53) % 97) as f64 / 25.0,
        );
        let centre = if i % 2 == 0 { 0.0 } else { 6.0 };
        centre
            + a * ((j % 5) as f64 - 2.0) / 2.0
            + b * ((j % 7) as f64 - 3.0) / 3.0
            + (((i * 7 + j * 13) % 17) as f64 - 8.0) / 17.0
    });
    let fit = FactorMixture::builder(2, 2)
        .noise(NoiseStructure::Diagonal)
        .seed(7)
        .fit(&x)?;
    let (w, psi) = (fit.model.loadings(0).unwrap(), fit.model.noise(0).unwrap());
    assert_eq!((w.shape(), psi.len()), ((50, 2), 50));
    assert!(fit.report.converged);
    println!("BIC {}", fit.model.bic(&x)?);
    Ok(())
}

/// Sample weights in the E-step: weight 2 on a row counts as the row twice.
#[test]
fn sample_weights_count_as_repeated_rows() {
    let mut rng = StdRng::seed_from_u64(12);
    let comps = vec![
        random_analyser(&mut rng, 5, 2, 0.0),
        random_analyser(&mut rng, 5, 2, 3.0),
    ];
    let model = FactorMixture::new(vec![0.5, 0.5], comps, NoiseStructure::Diagonal).unwrap();
    let (x, _) = model.sample(40, &mut rng);
    let weights: Vec<f64> = (0..40).map(|i| if i < 10 { 2.0 } else { 1.0 }).collect();
    let weighted = model.e_step_weighted(&x, 0..40, Some(&weights)).unwrap();
    let doubled = DMatrix::from_fn(
        50,
        5,
        |i, j| if i < 40 { x[(i, j)] } else { x[(i - 40, j)] },
    );
    let plain = model.e_step(&doubled, 0..50).unwrap();
    assert!(
        (weighted.log_likelihood - plain.log_likelihood).abs() < 1e-10 * plain.log_likelihood.abs()
    );
    assert!((weighted.entropy - plain.entropy).abs() < 1e-10 * plain.entropy.abs().max(1.0));
    let (a, b) = (
        model.expected_complete_log_likelihood(&weighted.stats),
        model.expected_complete_log_likelihood(&plain.stats),
    );
    assert!((a - b).abs() < 1e-10 * b.abs(), "{a} vs {b}");
    let (mut m1, mut m2) = (model.clone(), model.clone());
    m1.m_step(&weighted.stats).unwrap();
    m2.m_step(&plain.stats).unwrap();
    assert!((m1.covariance(1).unwrap() - m2.covariance(1).unwrap()).amax() < 1e-9);
}
