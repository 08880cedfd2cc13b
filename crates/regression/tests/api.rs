//! The typed model's API: bad input named by row and column, singular designs and collapsed
//! variances named by component, model files, parameter vectors, criteria.

use em_core::{Em, EmError, Initializer, ParameterVector, StdRng};
use em_regression::{
    GaussianRegressionMixture, GaussianRegressions, PoissonRegressionMixture, PoissonRegressions,
    RegressionData, RegressionMixture, Start, Strategy,
};
use nalgebra::{DMatrix, dmatrix};
use rand::SeedableRng;

fn line_data() -> RegressionData {
    let x = DMatrix::from_fn(60, 1, |i, _| (i % 30) as f64 / 3.0);
    let y = (0..60)
        .map(|i| {
            let x = (i % 30) as f64 / 3.0;
            let wiggle = 0.2 * (i as f64 * 1.3).sin();
            if i < 30 {
                1.0 + x + wiggle
            } else {
                9.0 - x + wiggle
            }
        })
        .collect();
    RegressionData::with_intercept(&x, y).unwrap()
}

#[test]
fn non_finite_predictor_is_named_by_row_and_column() {
    let mut x = DMatrix::from_element(5, 2, 1.0);
    x[(3, 1)] = f64::NEG_INFINITY;
    let err = RegressionData::with_intercept(&x, vec![1.0; 5]).unwrap_err();
    assert_eq!(
        err,
        EmError::NonFinite {
            row: 3,
            column: 1,
            value: f64::NEG_INFINITY
        }
    );
}

#[test]
fn non_finite_response_is_named_by_row_and_its_column() {
    let err = RegressionData::new(
        DMatrix::from_element(4, 2, 1.0),
        vec![0.0, 1.0, 2.0, f64::NAN],
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            EmError::NonFinite {
                row: 3,
                column: 2,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn mismatched_response_length_and_empty_data_are_typed_errors() {
    assert!(matches!(
        RegressionData::new(DMatrix::from_element(4, 1, 1.0), vec![1.0; 3]),
        Err(EmError::InvalidParameter { name: "y", .. })
    ));
    assert_eq!(
        RegressionData::new(DMatrix::zeros(0, 1), vec![]),
        Err(EmError::EmptyData)
    );
    assert!(matches!(
        RegressionData::new(DMatrix::zeros(3, 0), vec![1.0; 3]),
        Err(EmError::InvalidParameter { name: "x", .. })
    ));
    assert!(matches!(
        RegressionData::from_table(&DMatrix::zeros(3, 2), 2, true),
        Err(EmError::InvalidParameter {
            name: "response",
            ..
        })
    ));
}

#[test]
fn poisson_fit_rejects_a_non_count_response_naming_row_and_column() {
    let table = dmatrix![0.0, 1.0; 1.0, 2.0; 2.0, -1.0; 3.0, 4.0];
    let data = RegressionData::from_table(&table, 1, true).unwrap();
    let err = PoissonRegressionMixture::fit(&data, &Start::new(1), &Em::new()).unwrap_err();
    assert!(
        matches!(
            err,
            EmError::InvalidInput {
                row: 2,
                column: Some(1),
                ..
            }
        ),
        "{err}"
    );
    let model = RegressionMixture::new(
        vec![1.0],
        PoissonRegressions::new(dmatrix![0.0, 0.1]).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        model.posterior(&data),
        Err(EmError::InvalidInput {
            row: 2,
            column: Some(1),
            ..
        })
    ));
}

#[test]
fn data_of_another_width_is_a_dimension_mismatch() {
    let model = RegressionMixture::new(
        vec![1.0],
        GaussianRegressions::new(dmatrix![0.0, 1.0, 2.0], vec![1.0]).unwrap(),
    )
    .unwrap();
    assert_eq!(
        model.predict(&line_data()),
        Err(EmError::DimensionMismatch {
            expected: 3,
            found: 2
        })
    );
}

#[test]
fn singular_design_names_the_component() {
    // Component 1 gets only rows with x = 5: its design [1, x] is collinear there.
    let x = DMatrix::from_fn(40, 1, |i, _| if i < 20 { i as f64 } else { 5.0 });
    let y: Vec<f64> = (0..40).map(|i| (i as f64 * 0.7).sin()).collect();
    let data = RegressionData::with_intercept(&x, y).unwrap();
    let posterior = DMatrix::from_fn(40, 2, |i, k| f64::from(u8::from((i >= 20) == (k == 1))));
    let start =
        Start::<GaussianRegressions>::new(2).strategy(Strategy::Posterior(posterior.clone()));
    let err = start
        .initialize(&data, &mut StdRng::seed_from_u64(0))
        .unwrap_err();
    match err {
        EmError::DegenerateComponent { component, reason } => {
            assert_eq!(component, 1);
            assert!(reason.contains("singular at design column 1"), "{reason}");
        }
        other => panic!("expected a degenerate component, got {other}"),
    }
    let counts: Vec<f64> = (0..40).map(|i| (i % 4) as f64).collect();
    let data = RegressionData::with_intercept(&x, counts).unwrap();
    let start = Start::<PoissonRegressions>::new(2).strategy(Strategy::Posterior(posterior));
    let err = start
        .initialize(&data, &mut StdRng::seed_from_u64(0))
        .unwrap_err();
    assert!(
        matches!(err, EmError::DegenerateComponent { component: 1, .. }),
        "{err}"
    );
}

#[test]
fn an_exactly_fitted_component_is_a_collapsed_variance_unless_floored() {
    // Component 0 holds three points on a line exactly (P = 2 < 3, so the design is fine).
    let x = DMatrix::from_column_slice(8, 1, &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
    let y = vec![1.0, 3.0, 5.0, 0.3, -0.8, 1.7, 0.2, 2.9];
    let data = RegressionData::with_intercept(&x, y).unwrap();
    let posterior = DMatrix::from_fn(8, 2, |i, k| f64::from(u8::from((i < 3) == (k == 0))));
    let start =
        Start::<GaussianRegressions>::new(2).strategy(Strategy::Posterior(posterior.clone()));
    let err = start
        .initialize(&data, &mut StdRng::seed_from_u64(0))
        .unwrap_err();
    assert!(
        matches!(err, EmError::DegenerateComponent { component: 0, .. }),
        "{err}"
    );
    let floored = start.settings(em_regression::GaussianSettings {
        variance_floor: 1e-4,
        ..Default::default()
    });
    let model = floored
        .initialize(&data, &mut StdRng::seed_from_u64(0))
        .unwrap();
    assert_eq!(model.variances()[0], 1e-4);
}

#[test]
fn bad_posteriors_and_component_counts_are_typed_errors() {
    let data = line_data();
    let mut rng = StdRng::seed_from_u64(0);
    let wrong_rows = Start::<GaussianRegressions>::new(2)
        .strategy(Strategy::Posterior(DMatrix::from_element(5, 2, 0.5)));
    assert!(matches!(
        wrong_rows.initialize(&data, &mut rng),
        Err(EmError::InvalidParameter {
            name: "posterior",
            ..
        })
    ));
    let mut p = DMatrix::from_element(60, 2, 0.5);
    p[(7, 1)] = -0.1;
    let negative = Start::<GaussianRegressions>::new(2).strategy(Strategy::Posterior(p));
    assert!(matches!(
        negative.initialize(&data, &mut rng),
        Err(EmError::InvalidParameter {
            name: "posterior",
            ..
        })
    ));
    let none = Start::<GaussianRegressions>::new(0);
    assert!(matches!(
        none.initialize(&data, &mut rng),
        Err(EmError::InvalidParameter {
            name: "n_components",
            ..
        })
    ));
    let too_many = Start::<GaussianRegressions>::new(61);
    assert!(matches!(
        too_many.initialize(&data, &mut rng),
        Err(EmError::TooFewObservations { .. })
    ));
}

#[test]
fn model_files_round_trip_and_are_validated() {
    let data = line_data();
    let fit = GaussianRegressionMixture::fit(&data, &Start::new(2), &Em::new().n_init(3).seed(1))
        .unwrap();
    let text = serde_json::to_string(&fit.model).unwrap();
    assert!(text.contains("\"response\":\"gaussian\""), "{text}");
    let back: GaussianRegressionMixture = serde_json::from_str(&text).unwrap();
    assert_eq!(back, fit.model);
    // A Poisson model file is not a Gaussian one, and a negative variance is refused.
    let poisson = RegressionMixture::new(
        vec![1.0],
        PoissonRegressions::new(dmatrix![0.0, 1.0]).unwrap(),
    )
    .unwrap();
    let p_text = serde_json::to_string(&poisson).unwrap();
    assert!(serde_json::from_str::<GaussianRegressionMixture>(&p_text).is_err());
    let back: PoissonRegressionMixture = serde_json::from_str(&p_text).unwrap();
    assert_eq!(back, poisson);
    let bad = text.replace("\"variances\":[", "\"variances\":[-");
    assert!(serde_json::from_str::<GaussianRegressionMixture>(&bad).is_err());
}

#[test]
fn parameter_vector_round_trips_and_rejects_invalid_values() {
    let mut m = RegressionMixture::new(
        vec![0.25, 0.75],
        GaussianRegressions::new(dmatrix![1.0, 2.0; 3.0, 4.0], vec![0.5, 2.0]).unwrap(),
    )
    .unwrap();
    let theta = m.parameters();
    assert_eq!(theta, vec![0.25, 0.75, 1.0, 2.0, 0.5, 3.0, 4.0, 2.0]);
    let original = m.clone();
    m.set_parameters(&theta).unwrap();
    assert_eq!(m, original);
    let mut bad = theta.clone();
    bad[4] = -1.0; // a variance
    assert!(m.set_parameters(&bad).is_err());
    assert!(m.set_parameters(&theta[..7]).is_err());
    let mut off_simplex = theta;
    off_simplex[0] = 0.5;
    assert!(m.set_parameters(&off_simplex).is_err());
}

#[test]
fn criteria_count_flexmix_degrees_of_freedom() {
    let data = line_data();
    let fit = GaussianRegressionMixture::fit(&data, &Start::new(2), &Em::new().n_init(3).seed(1))
        .unwrap();
    let m = &fit.model;
    // K − 1 weights + K (P + 1): flexmix's df for FLXMRglm(gaussian).
    assert_eq!(m.n_parameters(), 1 + 2 * 3);
    let ll = m.log_likelihood(&data).unwrap();
    assert!((m.bic(&data).unwrap() - (-2.0 * ll + 7.0 * 60f64.ln())).abs() < 1e-9);
    assert!((m.aic(&data).unwrap() - (-2.0 * ll + 14.0)).abs() < 1e-9);
    assert!(m.icl(&data).unwrap() >= m.bic(&data).unwrap());
    let post = m.posterior(&data).unwrap();
    assert_eq!(post.shape(), (60, 2));
    for i in 0..60 {
        assert!((post.row(i).sum() - 1.0).abs() < 1e-12);
    }
    // The lines cross at x = 4: away from there every row is labelled by its line.
    let labels = m.predict(&data).unwrap();
    let far = |i: usize| ((i % 30) as f64 / 3.0 - 4.0).abs() > 1.5;
    let first = labels[0];
    assert!(
        (0..30).filter(|&i| far(i)).all(|i| labels[i] == first),
        "{labels:?}"
    );
    assert!(
        (30..60).filter(|&i| far(i)).all(|i| labels[i] != first),
        "{labels:?}"
    );
    let means = m.component_means(&data).unwrap();
    assert_eq!(means.shape(), (60, 2));
    let ll_rows: f64 = m.score_samples(&data).unwrap().iter().sum();
    assert!((ll_rows - ll).abs() < 1e-9);
}

#[test]
fn restarts_are_seeded_and_reproducible() {
    let data = line_data();
    let em = Em::new().n_init(4).seed(11);
    let a = GaussianRegressionMixture::fit(&data, &Start::new(2).strategy(Strategy::KMeans), &em)
        .unwrap();
    let b = GaussianRegressionMixture::fit(&data, &Start::new(2).strategy(Strategy::KMeans), &em)
        .unwrap();
    assert_eq!(a.model, b.model);
    let p = PoissonRegressionMixture::fit(
        &RegressionData::with_intercept(
            &DMatrix::from_fn(30, 1, |i, _| i as f64 / 10.0),
            (0..30).map(|i| (i % 5) as f64).collect(),
        )
        .unwrap(),
        &Start::new(2),
        &em,
    );
    assert!(p.is_ok(), "{p:?}");
}
