//! The fitted-model API: predictions, scores, sampling, information criteria, serialisation,
//! initialisers and reproducibility.

use em_core::{Em, EmError, LatentModel, StdRng};
use mixture::{Bernoulli, BinaryMatrix, Exponential, Gaussian, Mixture, Poisson, Start, Strategy};
use rand::SeedableRng;

fn gaussians() -> Result<Mixture<Vec<Gaussian>>, EmError> {
    Mixture::new(
        vec![0.3, 0.7],
        vec![Gaussian::new(-2.0, 1.0)?, Gaussian::new(3.0, 0.5)?],
    )
}

#[test]
fn predict_proba_rows_sum_to_one_and_predict_is_their_argmax() -> Result<(), EmError> {
    let m = gaussians()?;
    let x: Vec<f64> = (0..50).map(|i| -6.0 + 0.25 * i as f64).collect();
    let r = m.predict_proba(&x[..])?;
    let labels = m.predict(&x[..])?;
    assert_eq!(r.shape(), (50, 2));
    for i in 0..50 {
        assert!((r.row(i).sum() - 1.0).abs() < 1e-12);
        let argmax = if r[(i, 1)] > r[(i, 0)] { 1 } else { 0 };
        assert_eq!(labels[i], argmax, "row {i}");
    }
    assert_eq!(labels[0], 0);
    assert_eq!(labels[49], 1);
    Ok(())
}

#[test]
fn score_samples_sum_to_the_log_likelihood_and_match_the_density() -> Result<(), EmError> {
    let m = gaussians()?;
    let x = [-2.0, 0.0, 3.5];
    let s = m.score_samples(&x[..])?;
    let total = m.log_likelihood_total(&x[..])?;
    assert!((s.iter().sum::<f64>() - total).abs() < 1e-12);
    assert!((m.score(&x[..])? - total / 3.0).abs() < 1e-12);
    // By hand: p(0) = 0.3 N(0 | −2, 1) + 0.7 N(0 | 3, 0.5).
    let normal = |x: f64, mu: f64, v: f64| {
        (-(x - mu) * (x - mu) / (2.0 * v)).exp() / (2.0 * std::f64::consts::PI * v).sqrt()
    };
    let p0 = 0.3 * normal(0.0, -2.0, 1.0) + 0.7 * normal(0.0, 3.0, 0.5);
    assert!((s[1] - p0.ln()).abs() < 1e-12);
    Ok(())
}

#[test]
fn bic_and_aic_count_weights_and_component_parameters() -> Result<(), EmError> {
    let m = gaussians()?;
    assert_eq!(m.n_parameters(), 1 + 2 * 2);
    let b = Mixture::new(
        vec![0.2, 0.3, 0.5],
        vec![
            Bernoulli::uniform(4)?,
            Bernoulli::uniform(4)?,
            Bernoulli::uniform(4)?,
        ],
    )?;
    assert_eq!(b.n_parameters(), 2 + 3 * 4);
    let x = [0.0, 1.0, 2.0, 3.0];
    let ll = m.log_likelihood_total(&x[..])?;
    assert!((m.bic(&x[..])? - (-2.0 * ll + 5.0 * 4f64.ln())).abs() < 1e-9);
    assert!((m.aic(&x[..])? - (-2.0 * ll + 10.0)).abs() < 1e-9);
    Ok(())
}

#[test]
fn icl_adds_twice_the_map_classification_penalty_to_bic_by_hand() -> Result<(), EmError> {
    // N(0, 1) and N(4, 1), equal weights. x = 2 is halfway: γ = (½, ½). At x = 10 the
    // log-joints differ by (10² − 6²)/2 = 32, so max γ = 1/(1 + e⁻³²).
    let m = Mixture::new(
        vec![0.5, 0.5],
        vec![Gaussian::new(0.0, 1.0)?, Gaussian::new(4.0, 1.0)?],
    )?;
    let x = [2.0, 10.0];
    let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let e = (-32.0f64).exp();
    // log p(2) = log φ(2); log p(10) = log ½ + log φ(6) + log(1 + e⁻³²).
    let ll = (-2.0 - half_ln_2pi) + (0.5f64.ln() - 18.0 - half_ln_2pi + e.ln_1p());
    let map_log_posterior = 0.5f64.ln() - e.ln_1p();
    let p = 1 + 2 * 2;
    let want = -2.0 * ll + p as f64 * 2f64.ln() - 2.0 * map_log_posterior;
    let got = m.icl(&x[..])?;
    assert!((got - want).abs() < 1e-12 * want.abs(), "{got} vs {want}");
    assert!((got - m.bic(&x[..])? - 2.0 * 2f64.ln()).abs() < 1e-12);
    Ok(())
}

#[test]
fn icl_equals_bic_when_every_observation_is_classified_with_certainty() -> Result<(), EmError> {
    let one = Mixture::new(vec![1.0], vec![Poisson::new(3.0)?])?;
    let x = [0, 1, 5, 9];
    assert_eq!(one.icl(&x[..])?, one.bic(&x[..])?);
    // Components 1000 standard deviations apart: every γ rounds to 0 or 1.
    let apart = Mixture::new(
        vec![0.4, 0.6],
        vec![Gaussian::new(0.0, 1.0)?, Gaussian::new(1000.0, 1.0)?],
    )?;
    let x = [0.5, 999.0, -1.0];
    assert_eq!(apart.icl(&x[..])?, apart.bic(&x[..])?);
    Ok(())
}

#[test]
fn sample_draws_labels_in_proportion_to_weights() -> Result<(), EmError> {
    let m = Mixture::new(
        vec![0.25, 0.75],
        vec![Exponential::new(1.0)?, Exponential::new(100.0)?],
    )?;
    let n = 20_000;
    let (x, z) = m.sample(n, &mut StdRng::seed_from_u64(9));
    assert_eq!((x.len(), z.len()), (n, n));
    let share = z.iter().filter(|&&k| k == 0).count() as f64 / n as f64;
    // Binomial SE sqrt(0.25 · 0.75 / 20000) = 0.0031; allow 4 SE.
    assert!((share - 0.25).abs() < 0.0125, "{share}");
    assert!(x.iter().all(|&v| v >= 0.0));
    // Sampling is reproducible for a seed.
    assert_eq!(
        m.sample(10, &mut StdRng::seed_from_u64(9)).0,
        x[..10].to_vec()
    );
    Ok(())
}

#[test]
fn bernoulli_sample_is_a_binary_matrix_respecting_boundary_probabilities() -> Result<(), EmError> {
    let m = Mixture::new(
        vec![0.5, 0.5],
        vec![
            Bernoulli::new(vec![1.0, 0.0, 0.5])?,
            Bernoulli::new(vec![0.0, 0.0, 0.5])?,
        ],
    )?;
    let (x, z) = m.sample(500, &mut StdRng::seed_from_u64(3));
    assert_eq!((x.n_rows(), x.n_cols()), (500, 3));
    for (row, &k) in x.rows().zip(&z) {
        assert_eq!(row[0], k == 0);
        assert!(!row[1]);
    }
    Ok(())
}

#[test]
fn fitted_mixtures_round_trip_through_json() -> Result<(), EmError> {
    let json = |e: serde_json::Error| EmError::InvalidParameter {
        name: "json",
        reason: e.to_string(),
    };
    let g = gaussians()?;
    let back: Mixture<Vec<Gaussian>> =
        serde_json::from_str(&serde_json::to_string(&g).map_err(json)?).map_err(json)?;
    assert_eq!(back, g);
    let p = Mixture::new(vec![0.5, 0.5], vec![Poisson::new(0.0)?, Poisson::new(2.0)?])?;
    let back: Mixture<Vec<Poisson>> =
        serde_json::from_str(&serde_json::to_string(&p).map_err(json)?).map_err(json)?;
    assert_eq!(back, p);
    let e = Mixture::new(vec![1.0], vec![Exponential::new(2.0)?.with_max_rate(10.0)?])?;
    let back: Mixture<Vec<Exponential>> =
        serde_json::from_str(&serde_json::to_string(&e).map_err(json)?).map_err(json)?;
    assert_eq!(back, e);
    let b = Mixture::new(vec![1.0], vec![Bernoulli::new(vec![0.0, 1.0, 0.25])?])?;
    let back: Mixture<Vec<Bernoulli>> =
        serde_json::from_str(&serde_json::to_string(&b).map_err(json)?).map_err(json)?;
    assert_eq!(back, b);
    Ok(())
}

#[test]
fn a_closure_initialiser_works_with_fit_and_fit_restarts() -> Result<(), EmError> {
    let truth = Mixture::new(vec![0.5, 0.5], vec![Poisson::new(1.0)?, Poisson::new(8.0)?])?;
    let (y, _) = truth.sample(2000, &mut StdRng::seed_from_u64(4));
    let init = |_: &[u64], _: &mut StdRng| {
        Mixture::new(vec![0.5, 0.5], vec![Poisson::new(0.5)?, Poisson::new(5.0)?])
    };
    let em = Em::new().tol(1e-10).max_iter(1000);
    let fit = Mixture::fit(&y[..], &init, &em)?;
    let again = em.fit_restarts(&init, &y[..])?;
    assert_eq!(fit.model, again.model);
    let mut lambdas: Vec<f64> = fit.model.components().iter().map(Poisson::lambda).collect();
    lambdas.sort_by(f64::total_cmp);
    assert!(
        (lambdas[0] - 1.0).abs() < 0.15 && (lambdas[1] - 8.0).abs() < 0.3,
        "{lambdas:?}"
    );
    Ok(())
}

#[test]
fn random_responsibilities_start_fits_bernoulli_profiles() -> Result<(), EmError> {
    let truth = Mixture::new(
        vec![0.5, 0.5],
        vec![
            Bernoulli::new(vec![0.95, 0.95, 0.05, 0.05])?,
            Bernoulli::new(vec![0.05, 0.05, 0.95, 0.95])?,
        ],
    )?;
    let (x, z) = truth.sample(1000, &mut StdRng::seed_from_u64(8));
    let start = Start::new(Bernoulli::default(), 2).strategy(Strategy::RandomResponsibilities);
    let fit = Mixture::fit(&x, &start, &Em::new().tol(1e-10).max_iter(1000).n_init(3))?;
    // Labels agree with the truth up to relabelling on nearly every row.
    let labels = fit.model.predict(&x)?;
    let same = labels.iter().zip(&z).filter(|(a, b)| a == b).count();
    let agree = same.max(1000 - same);
    assert!(agree > 980, "{agree} of 1000");
    Ok(())
}

#[test]
fn restarts_are_reproducible_and_thread_count_does_not_change_the_fit() -> Result<(), EmError> {
    let truth = Mixture::new(
        vec![0.4, 0.6],
        vec![Gaussian::new(0.0, 1.0)?, Gaussian::new(2.5, 1.0)?],
    )?;
    let (x, _) = truth.sample(3000, &mut StdRng::seed_from_u64(6));
    let start = Start::new(Gaussian::default(), 2);
    let em = Em::new().tol(1e-9).n_init(3).seed(17).chunk_size(256);
    let one = Mixture::fit(&x[..], &start, &em.clone().threads(1))?;
    let two = Mixture::fit(&x[..], &start, &em.threads(2))?;
    assert_eq!(one.model, two.model);
    assert_eq!(one.report.trace, two.report.trace);
    // The restarts really start from different partitions.
    let starts: Vec<f64> = one
        .restarts
        .iter()
        .filter_map(|r| r.result.as_ref().ok().map(|rep| rep.trace[0]))
        .collect();
    assert_eq!(starts.len(), 3);
    assert!(
        starts[0] != starts[1] && starts[1] != starts[2],
        "{starts:?}"
    );
    Ok(())
}

#[test]
fn bernoulli_template_takes_its_dimension_from_the_data() -> Result<(), EmError> {
    let rows: Vec<Vec<bool>> = (0..30)
        .map(|i| (0..5).map(|d| (i + d) % 3 == 0).collect())
        .collect();
    let x = BinaryMatrix::from_rows(&rows)?;
    let fit = Mixture::fit(&x, &Start::new(Bernoulli::default(), 2), &Em::new())?;
    assert_eq!(fit.model.n_features(), 5);
    assert!(fit.model.components().iter().all(|c| c.p().len() == 5));
    Ok(())
}

#[test]
fn e_step_rejects_rows_outside_the_data() -> Result<(), EmError> {
    let m = gaussians()?;
    let e = m.e_step(&[1.0, 2.0][..], 0..3).unwrap_err();
    assert!(matches!(e, EmError::InvalidParameter { name: "rows", .. }));
    Ok(())
}

/// A capped exponential component responsible only for zeros settles at the cap inside a
/// fitted mixture (formerly the `Exponential::with_max_rate` doc example, which now runs in
/// the family crate without a mixture).
#[test]
fn capped_exponential_mixture_fits_all_zeros_at_the_cap() -> Result<(), EmError> {
    let x = [0.0; 10]; // all zeros: no MLE without a cap
    let capped = Exponential::default().with_max_rate(1e3)?;
    let mut m = Mixture::new(vec![1.0], vec![capped])?;
    Em::new().max_iter(5).fit(&mut m, &x[..])?;
    assert_eq!(m.components()[0].rate(), 1e3);
    Ok(())
}
