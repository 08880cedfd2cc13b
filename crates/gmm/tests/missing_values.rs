//! Missing values modelled by EM (`MissingValues::Model`): the EM invariants hold on data with
//! NaN entries for every covariance structure, with and without a prior; a one-component fit
//! reaches the closed-form maximum-likelihood estimate of a monotone pattern; a fit with 20 %
//! of the entries missing recovers the parameters about as well as the complete data do, and
//! better than dropping rows or imputing means; scoring, prediction, imputation and errors.

mod common;

use common::*;
use em_core::testing::{check_invariants, chunking_discrepancy};
use gmm::{CovarianceType, Covariances, GaussianMixture, Init, MissingValues};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A start of the given structure with means at spread rows of `x`'s complete version.
fn start(x: &DMatrix<f64>, kind: CovarianceType, k: usize, scale: f64) -> GaussianMixture {
    let d = x.ncols();
    let means = DMatrix::from_fn(k, d, |c, j| 0.7 * c as f64 - 0.3 * j as f64);
    let full = |c: usize| {
        let mut m = DMatrix::identity(d, d) * scale * (1.0 + 0.5 * c as f64);
        for j in 1..d {
            m[(0, j)] = 0.2 * scale;
            m[(j, 0)] = 0.2 * scale;
        }
        m
    };
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full((0..k).map(full).collect()),
        CovarianceType::Tied => Covariances::Tied(full(0)),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(k, d, |c, j| {
            scale * (1.0 + (c + j) as f64)
        })),
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_fn(k, |c, _| scale * (1.0 + c as f64)))
        }
    };
    GaussianMixture::new(DVector::from_element(k, 1.0 / k as f64), means, covariances)
        .unwrap()
        .with_missing_values(MissingValues::Model)
}

#[test]
fn invariants_hold_with_missing_values_for_every_structure() {
    let (x, _) = truth().sample(400, &mut StdRng::seed_from_u64(1));
    let x = knock_out(&x, 0.25, 2);
    for kind in CovarianceType::ALL {
        let report = check_invariants(start(&x, kind, 3, 3.0), &x, 30, TOL).unwrap();
        assert!(report.is_ok(), "{kind}: {report}");
        let with_prior = start(&x, kind, 2, 3.0).with_prior(Some(prior(3))).unwrap();
        let report = check_invariants(with_prior, &x, 30, TOL).unwrap();
        assert!(report.is_ok(), "{kind} with prior: {report}");
    }
}

#[test]
fn chunked_e_step_matches_one_batch_with_missing_values() {
    let (x, _) = truth().sample(1001, &mut StdRng::seed_from_u64(3));
    let x = knock_out(&x, 0.3, 4);
    for kind in CovarianceType::ALL {
        let model = start(&x, kind, 3, 2.0);
        for chunk in [1, 10, 333, 5000] {
            let d = chunking_discrepancy(&model, &x, chunk).unwrap();
            assert!(d < 1e-11, "{kind} chunk {chunk}: {d:e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_random_data_with_missing_values(
        seed in any::<u64>(),
        n in 10usize..60,
        rate in 0.0..0.6f64,
        kind_index in 0usize..4,
        k in 1usize..4,
        scale in 0.5..10.0f64,
        use_prior in any::<bool>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let complete = DMatrix::from_fn(n, 3, |_, _| rng.random::<f64>() * 8.0 - 4.0);
        let x = knock_out(&complete, rate, seed ^ 0x5eed);
        let kind = CovarianceType::ALL[kind_index];
        let mut model = start(&x, kind, k, scale);
        if use_prior {
            model = model.with_prior(Some(prior(3))).unwrap();
        }
        // Without a prior a component can collapse (a typed error, checked elsewhere); only
        // completed steps are judged.
        match check_invariants(model, &x, 20, TOL) {
            Ok(report) => prop_assert!(report.is_ok(), "{kind} prior={use_prior}: {report}"),
            Err(e) => prop_assert!(!use_prior, "{kind} with prior errored: {e}"),
        }
    }
}

/// One Gaussian, y₀ always observed, y₁ observed in the first m rows only: the maximum-
/// likelihood estimate has a closed form (Anderson 1957; Little & Rubin 2002, §7.2), the
/// factorisation p(y₀) p(y₁ | y₀): the marginal of y₀ from all rows, the regression of y₁ on
/// y₀ from the complete ones.
#[test]
fn one_component_fit_reaches_the_closed_form_estimate_of_a_monotone_pattern() {
    let one = GaussianMixture::new(
        dvector![1.0],
        dmatrix![1.0, -2.0],
        Covariances::Full(vec![dmatrix![2.0, 1.2; 1.2, 1.5]]),
    )
    .unwrap();
    let (complete, _) = one.sample(300, &mut StdRng::seed_from_u64(11));
    let m = 180;
    let mut x = complete.clone();
    for i in m..x.nrows() {
        x[(i, 1)] = f64::NAN;
    }
    let n = x.nrows() as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let y0: Vec<f64> = x.column(0).iter().copied().collect();
    let y1: Vec<f64> = complete.column(1).iter().copied().collect();
    let (y0c, y1c) = (&y0[..m], &y1[..m]);
    let mu0 = mean(&y0);
    let s00 = y0.iter().map(|v| (v - mu0).powi(2)).sum::<f64>() / n;
    let (m0c, m1c) = (mean(y0c), mean(y1c));
    let s00c = y0c.iter().map(|v| (v - m0c).powi(2)).sum::<f64>() / m as f64;
    let s11c = y1c.iter().map(|v| (v - m1c).powi(2)).sum::<f64>() / m as f64;
    let s01c = y0c
        .iter()
        .zip(y1c)
        .map(|(a, b)| (a - m0c) * (b - m1c))
        .sum::<f64>()
        / m as f64;
    let beta = s01c / s00c;
    let mu1 = m1c + beta * (mu0 - m0c);
    let s01 = beta * s00;
    let s11 = s11c + beta * beta * (s00 - s00c);

    let fit = GaussianMixture::builder(1)
        .missing_values(MissingValues::Model)
        .tol(1e-13)
        .fit(&x)
        .unwrap();
    assert!(fit.report.converged);
    let (mu, sigma) = (fit.model.means(), fit.model.covariance(0).unwrap());
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * (1.0 + b.abs());
    assert!(
        close(mu[(0, 0)], mu0) && close(mu[(0, 1)], mu1),
        "{mu} vs {mu0}, {mu1}"
    );
    assert!(close(sigma[(0, 0)], s00), "{sigma}");
    assert!(
        close(sigma[(0, 1)], s01) && close(sigma[(1, 0)], s01),
        "{sigma}"
    );
    assert!(close(sigma[(1, 1)], s11), "{sigma} vs {s11}");
    // The objective is the observed-data log-likelihood: p(y₀) for every row, p(y₁ | y₀) for
    // the complete ones.
    let log_n = |v: f64, mu: f64, var: f64| {
        -0.5 * ((2.0 * std::f64::consts::PI * var).ln() + (v - mu).powi(2) / var)
    };
    let conditional_var = s11 - s01 * s01 / s00;
    let expected: f64 = y0.iter().map(|&v| log_n(v, mu0, s00)).sum::<f64>()
        + y0c
            .iter()
            .zip(y1c)
            .map(|(&a, &b)| log_n(b, mu1 + s01 / s00 * (a - mu0), conditional_var))
            .sum::<f64>();
    assert!((fit.report.objective() - expected).abs() < 1e-8 * expected.abs());
}

/// Sorts a fitted mixture's components by their first mean coordinate (the truth's order
/// after sorting is 2, 0, 1), so that estimates can be compared with the truth.
fn sorted(model: &GaussianMixture) -> Vec<(f64, DVector<f64>, DMatrix<f64>)> {
    let mut parts: Vec<_> = (0..model.n_components())
        .map(|k| {
            (
                model.weights()[k],
                model.means().row(k).transpose(),
                model.covariance(k).unwrap(),
            )
        })
        .collect();
    parts.sort_by(|a, b| a.1[0].total_cmp(&b.1[0]));
    parts
}

/// Σ_k (‖μ̂_k − μ_k‖² + ‖Σ̂_k − Σ_k‖²_F): the squared error of the estimates.
fn squared_error(model: &GaussianMixture, truth: &GaussianMixture) -> f64 {
    sorted(model)
        .iter()
        .zip(sorted(truth))
        .map(|(a, b)| (&a.1 - &b.1).norm_squared() + (&a.2 - &b.2).norm_squared())
        .sum()
}

#[test]
fn twenty_percent_missing_recovers_the_parameters_and_beats_dropping_and_mean_imputation() {
    let truth = truth();
    let options = GaussianMixture::builder(3).seed(5);
    let (mut errors_model, mut errors_full, mut errors_drop, mut errors_mean) =
        (0.0, 0.0, 0.0, 0.0);
    for seed in 0..4 {
        let (complete, _) = truth.sample(1500, &mut StdRng::seed_from_u64(100 + seed));
        let x = knock_out(&complete, 0.2, 200 + seed);
        let missing = x.iter().filter(|v| v.is_nan()).count() as f64 / x.len() as f64;
        assert!((missing - 0.2).abs() < 0.02, "{missing}");

        let full = options.fit(&complete).unwrap().model;
        let modelled = options
            .clone()
            .missing_values(MissingValues::Model)
            .fit(&x)
            .unwrap();
        assert!(modelled.report.converged);
        let kept: Vec<usize> = (0..x.nrows())
            .filter(|&i| x.row(i).iter().all(|v| !v.is_nan()))
            .collect();
        let dropped = DMatrix::from_fn(kept.len(), 3, |r, j| x[(kept[r], j)]);
        let dropped = options.fit(&dropped).unwrap().model;
        let col_means: Vec<f64> = (0..3)
            .map(|j| {
                let v: Vec<f64> = x
                    .column(j)
                    .iter()
                    .copied()
                    .filter(|v| !v.is_nan())
                    .collect();
                v.iter().sum::<f64>() / v.len() as f64
            })
            .collect();
        let imputed = x.map_with_location(|_, j, v| if v.is_nan() { col_means[j] } else { v });
        let mean_imputed = options.fit(&imputed).unwrap().model;

        // Within sampling error of the complete-data fit: every mean within 0.15 (the
        // standard errors here are ≈ 0.04–0.07), every weight within 0.02.
        for (a, b) in sorted(&modelled.model).iter().zip(sorted(&full)) {
            assert!(
                (a.0 - b.0).abs() < 0.02,
                "seed {seed}: weights {} vs {}",
                a.0,
                b.0
            );
            assert!(
                (&a.1 - &b.1).amax() < 0.15,
                "seed {seed}: means {} vs {}",
                a.1,
                b.1
            );
        }
        errors_model += squared_error(&modelled.model, &truth);
        errors_full += squared_error(&full, &truth);
        errors_drop += squared_error(&dropped, &truth);
        errors_mean += squared_error(&mean_imputed, &truth);
    }
    eprintln!(
        "squared error over 4 data sets: complete {errors_full:.4}, modelled {errors_model:.4}, \
         rows dropped {errors_drop:.4}, means imputed {errors_mean:.4}"
    );
    assert!(
        errors_model < errors_drop,
        "{errors_model} vs dropping {errors_drop}"
    );
    assert!(
        errors_model < errors_mean,
        "{errors_model} vs mean imputation {errors_mean}"
    );
    assert!(
        errors_model < 3.0 * errors_full,
        "{errors_model} vs complete {errors_full}"
    );
}

#[test]
fn scoring_prediction_and_imputation_use_the_observed_values() {
    let truth = truth().with_missing_values(MissingValues::Model);
    let nan = f64::NAN;
    let x = dmatrix![5.2, nan, nan; nan, 6.1, nan; 0.1, 0.2, 0.3; nan, nan, 2.8];
    assert_eq!(truth.predict(&x).unwrap()[..3], [1, 2, 0]);
    // log p(x_o) of a row missing all but x₀ is the mixture of the components' marginals.
    let s = truth.score_samples(&x).unwrap();
    let marginal: f64 = (0..3)
        .map(|k| {
            let (mu, var) = (truth.means()[(k, 0)], truth.covariance(k).unwrap()[(0, 0)]);
            truth.weights()[k] * (-(5.2f64 - mu).powi(2) / (2.0 * var)).exp()
                / (2.0 * std::f64::consts::PI * var).sqrt()
        })
        .sum();
    assert!((s[0] - marginal.ln()).abs() < 1e-12);
    let filled = truth.impute(&x).unwrap();
    assert!(filled.iter().all(|v| v.is_finite()));
    assert_eq!(filled.row(2), x.row(2));
    // Row 0's missing x₁ is each component's regression on x₀, averaged with the posterior
    // probabilities of the components given x₀ alone.
    let proba = truth.predict_proba(&x).unwrap();
    let expected: f64 = (0..3)
        .map(|k| {
            let sigma = truth.covariance(k).unwrap();
            let mu = truth.means().row(k);
            proba[(0, k)] * (mu[1] + sigma[(1, 0)] / sigma[(0, 0)] * (5.2 - mu[0]))
        })
        .sum();
    assert!(
        (filled[(0, 1)] - expected).abs() < 1e-12,
        "{} vs {expected}",
        filled[(0, 1)]
    );
    assert!(proba[(0, 1)] > 0.99);
    // Serialised with the setting; a model without it rejects NaN.
    let json = serde_json::to_string(&truth).unwrap();
    assert!(json.contains("\"missing_values\":\"model\""));
    let back: GaussianMixture = serde_json::from_str(&json).unwrap();
    assert_eq!(back.missing_values(), MissingValues::Model);
    let plain = back.with_missing_values(MissingValues::Error);
    assert!(
        !serde_json::to_string(&plain)
            .unwrap()
            .contains("missing_values")
    );
    assert!(plain.predict(&x).is_err());
}

#[test]
fn bad_missing_data_give_typed_errors() {
    let nan = f64::NAN;
    let options = GaussianMixture::builder(1).missing_values(MissingValues::Model);
    let e = options
        .fit(&dmatrix![1.0, 2.0; nan, nan; 3.0, 1.0])
        .unwrap_err();
    assert!(e.to_string().contains("row 1"), "{e}");
    let e = options.fit(&dmatrix![1.0, nan; 2.0, nan]).unwrap_err();
    assert!(e.to_string().contains("column 1"), "{e}");
    let e = options
        .fit(&dmatrix![1.0, nan; 2.0, f64::INFINITY])
        .unwrap_err();
    assert!(e.to_string().contains("row 1, column 1"), "{e}");
    // Without the option a NaN is an error naming it.
    let e = GaussianMixture::builder(1)
        .fit(&dmatrix![1.0, nan; 2.0, 3.0])
        .unwrap_err();
    assert!(e.to_string().contains("row 0, column 1"), "{e}");
}

#[test]
fn complete_data_give_the_same_bits_whatever_the_setting() {
    let (x, _) = truth().sample(500, &mut StdRng::seed_from_u64(9));
    let a = GaussianMixture::builder(3).fit(&x).unwrap();
    let b = GaussianMixture::builder(3)
        .missing_values(MissingValues::Model)
        .fit(&x)
        .unwrap();
    assert_eq!(
        a.report.objective().to_bits(),
        b.report.objective().to_bits()
    );
    assert_eq!(a.model.means(), b.model.means());
    assert_eq!(b.model.missing_values(), MissingValues::Model);
}

#[test]
fn every_start_method_works_with_missing_values() {
    let (complete, _) = truth().sample(600, &mut StdRng::seed_from_u64(21));
    // Heavy missingness: too few complete rows, so the start uses mean-imputed data.
    for rate in [0.1, 0.6] {
        let x = knock_out(&complete, rate, 22);
        for init in [
            Init::Auto,
            Init::Hierarchical,
            Init::KMeans,
            Init::KMeansPlusPlus,
            Init::RandomFromData,
            Init::RandomResponsibilities,
        ] {
            let fit = GaussianMixture::builder(3)
                .init(init.clone())
                .missing_values(MissingValues::Model)
                .n_init(2)
                .fit(&x);
            let fit = fit.unwrap_or_else(|e| panic!("{init:?} at {rate}: {e}"));
            assert!(fit.report.objective().is_finite());
        }
    }
}

#[test]
fn a_streamed_fit_with_missing_values_is_the_in_memory_fit() {
    let (complete, _) = truth().sample(3000, &mut StdRng::seed_from_u64(31));
    let x = knock_out(&complete, 0.2, 32);
    let options = GaussianMixture::builder(3)
        .missing_values(MissingValues::Model)
        .chunk_size(500);
    let in_memory = options.fit(&x).unwrap();
    let streamed = options.fit_stream(&mut Rows { x: &x, next: 0 }).unwrap();
    assert_eq!(streamed.model, in_memory.model);
    assert_eq!(streamed.report.trace, in_memory.report.trace);
    assert_eq!(streamed.model.missing_values(), MissingValues::Model);
    // Without the option, the sample pass names the first missing value.
    let e = GaussianMixture::builder(3)
        .fit_stream(&mut Rows { x: &x, next: 0 })
        .unwrap_err();
    assert!(matches!(e, em_core::EmError::NonFinite { .. }), "{e}");
}
