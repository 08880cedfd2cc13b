//! Bad input and degenerate fits are typed errors that name what to fix — the row and column
//! of a bad value, the parameter out of range, the component that emptied or collapsed —
//! never a panic and never NaN parameters.

use em_core::{Em, EmError, Initializer, LatentModel, StdRng};
use mixture::{Bernoulli, BinaryMatrix, Exponential, Gaussian, Mixture, Poisson, Start};
use nalgebra::DMatrix;
use rand::SeedableRng;

fn em() -> Em {
    Em::new().tol(1e-8).max_iter(200).n_init(2).seed(5)
}

fn exponential_pair() -> Result<Mixture<Vec<Exponential>>, EmError> {
    Mixture::new(
        vec![0.5, 0.5],
        vec![Exponential::new(1.0)?, Exponential::new(5.0)?],
    )
}

// --- observations outside the support ------------------------------------------------------

#[test]
fn exponential_nan_is_reported_by_row_everywhere() -> Result<(), EmError> {
    let x = [0.5, 1.0, 2.0, f64::NAN, 0.1];
    let m = exponential_pair()?;
    let nan_at_row_3 =
        |e: EmError| matches!(e, EmError::NonFinite { row: 3, column: 0, value } if value.is_nan());
    let fit = Mixture::fit(&x[..], &Start::new(Exponential::default(), 2), &em());
    assert!(nan_at_row_3(fit.unwrap_err()));
    assert!(nan_at_row_3(m.predict(&x[..]).unwrap_err()));
    assert!(nan_at_row_3(m.predict_proba(&x[..]).unwrap_err()));
    assert!(nan_at_row_3(m.score_samples(&x[..]).unwrap_err()));
    assert!(nan_at_row_3(m.log_likelihood_total(&x[..]).unwrap_err()));
    // The raw driver, which does not validate first, gets the same error from the E-step.
    let mut raw = m.clone();
    assert!(nan_at_row_3(Em::new().fit(&mut raw, &x[..]).unwrap_err()));
    // …also when the bad row is in a later chunk.
    assert!(nan_at_row_3(
        Em::new().chunk_size(2).fit(&mut raw, &x[..]).unwrap_err()
    ));
    Ok(())
}

#[test]
fn exponential_negative_value_is_invalid_input_with_row_and_column() -> Result<(), EmError> {
    let x = [0.5, 1.0, -0.25, 2.0];
    let err = Mixture::fit(&x[..], &Start::new(Exponential::default(), 1), &em()).unwrap_err();
    match err {
        EmError::InvalidInput {
            row: 2,
            column: Some(0),
            ref reason,
        } => assert!(reason.contains("-0.25"), "{reason}"),
        other => panic!("unexpected {other:?}"),
    }
    let e = exponential_pair()?.e_step(&x[..], 0..4).unwrap_err();
    assert!(matches!(
        e,
        EmError::InvalidInput {
            row: 2,
            column: Some(0),
            ..
        }
    ));
    // −0.0 is zero, not negative.
    assert!(exponential_pair()?.predict(&[-0.0][..]).is_ok());
    Ok(())
}

#[test]
fn gaussian_infinity_is_non_finite_with_row() -> Result<(), EmError> {
    let x = [0.0, 1.0, 2.0, 3.0, f64::NEG_INFINITY];
    let err = Mixture::fit(&x[..], &Start::new(Gaussian::default(), 2), &em()).unwrap_err();
    assert!(
        matches!(err, EmError::NonFinite { row: 4, column: 0, value } if value == f64::NEG_INFINITY)
    );
    Ok(())
}

#[test]
fn binary_data_reject_values_other_than_0_and_1_with_row_and_column() {
    let err = BinaryMatrix::from_f64(2, 3, &[1.0, 0.0, 1.0, 0.0, 2.0, 1.0]).unwrap_err();
    assert!(
        matches!(
            err,
            EmError::InvalidInput {
                row: 1,
                column: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    let err = BinaryMatrix::from_f64(2, 2, &[1.0, 0.0, 0.0, f64::NAN]).unwrap_err();
    assert!(
        matches!(
            err,
            EmError::NonFinite {
                row: 1,
                column: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let err = BinaryMatrix::from_f64(2, 2, &[1.0, 0.0, 1.0]).unwrap_err();
    assert!(matches!(
        err,
        EmError::InvalidParameter { name: "values", .. }
    ));
    let x = DMatrix::from_row_slice(3, 2, &[0.0, 1.0, 1.0, 1.0, 0.0, -1.0]);
    let err = BinaryMatrix::from_dmatrix(&x).unwrap_err();
    assert!(
        matches!(
            err,
            EmError::InvalidInput {
                row: 2,
                column: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    let err = BinaryMatrix::from_rows(&[vec![true, false], vec![true]]).unwrap_err();
    assert!(matches!(
        err,
        EmError::InvalidInput {
            row: 1,
            column: None,
            ..
        }
    ));
}

#[test]
fn bernoulli_rows_of_the_wrong_width_are_a_dimension_mismatch() -> Result<(), EmError> {
    let m = Mixture::new(vec![1.0], vec![Bernoulli::new(vec![0.5, 0.5, 0.5])?])?;
    let x = BinaryMatrix::from_rows(&[[true, false, true, true]])?;
    assert_eq!(
        m.predict(&x).unwrap_err(),
        EmError::DimensionMismatch {
            expected: 3,
            found: 4
        }
    );
    Ok(())
}

// --- observations no component can have produced --------------------------------------------

#[test]
fn bernoulli_row_with_zero_probability_under_every_component_names_row_and_column()
-> Result<(), EmError> {
    let m = Mixture::new(
        vec![0.5, 0.5],
        vec![
            Bernoulli::new(vec![0.0, 0.5])?,
            Bernoulli::new(vec![0.0, 0.9])?,
        ],
    )?;
    let x = BinaryMatrix::from_rows(&[[false, true], [false, false], [true, false]])?;
    let err = m.predict_proba(&x).unwrap_err();
    match &err {
        EmError::InvalidInput { row: 2, reason, .. } => {
            assert!(
                reason.contains("component 0: column 0 is 1 but p_0 = 0"),
                "{reason}"
            );
            assert!(reason.contains("component 1: column 0 is 1"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(m.e_step(&x, 0..3).unwrap_err(), err);
    // Rows that one component can explain are fine, with γ = 0 for the other.
    let ok = BinaryMatrix::from_rows(&[[false, true]])?;
    let r = m.predict_proba(&ok)?;
    assert!(r.iter().all(|v| v.is_finite()));
    Ok(())
}

#[test]
fn poisson_count_under_only_zero_rates_is_invalid_input() -> Result<(), EmError> {
    let m = Mixture::new(vec![1.0], vec![Poisson::new(0.0)?])?;
    let err = m.score_samples(&[0, 0, 3][..]).unwrap_err();
    assert!(
        matches!(&err, EmError::InvalidInput { row: 2, reason, .. } if reason.contains("count 3 > 0 but λ = 0")),
        "{err:?}"
    );
    Ok(())
}

// --- empty data, K, weights, parameters ---------------------------------------------------

#[test]
fn empty_data_is_empty_data_error() -> Result<(), EmError> {
    let none: [f64; 0] = [];
    let e = Mixture::fit(&none[..], &Start::new(Gaussian::default(), 2), &em()).unwrap_err();
    assert_eq!(e, EmError::EmptyData);
    let m = exponential_pair()?;
    assert_eq!(m.predict(&none[..]).unwrap_err(), EmError::EmptyData);
    assert_eq!(m.score(&none[..]).unwrap_err(), EmError::EmptyData);
    let bits = BinaryMatrix::from_rows::<Vec<bool>>(&[])?;
    let e = Mixture::fit(&bits, &Start::new(Bernoulli::default(), 2), &em()).unwrap_err();
    assert_eq!(e, EmError::EmptyData);
    Ok(())
}

#[test]
fn zero_components_is_invalid_parameter() {
    let e = Mixture::<Vec<Poisson>>::new(vec![], vec![]).unwrap_err();
    assert!(matches!(
        e,
        EmError::InvalidParameter {
            name: "components",
            ..
        }
    ));
    let e = Mixture::fit(&[1u64, 2, 3][..], &Start::new(Poisson::default(), 0), &em()).unwrap_err();
    assert!(matches!(
        e,
        EmError::InvalidParameter {
            name: "n_components",
            ..
        }
    ));
}

#[test]
fn fewer_observations_than_components_is_too_few_observations() {
    let e = Start::new(Poisson::default(), 3)
        .initialize(&[1u64, 2][..], &mut rand::rngs::StdRng::seed_from_u64(0))
        .unwrap_err();
    assert_eq!(
        e,
        EmError::TooFewObservations {
            n_obs: 2,
            n_components: 3
        }
    );
}

#[test]
fn weights_must_be_positive_and_sum_to_one() -> Result<(), EmError> {
    let two =
        || -> Result<Vec<Poisson>, EmError> { Ok(vec![Poisson::new(1.0)?, Poisson::new(2.0)?]) };
    for bad in [
        vec![0.5, 0.6],
        vec![0.3, 0.3],
        vec![1.2, -0.2],
        vec![f64::NAN, 0.5],
        vec![1.0, 0.0],
        vec![1.0],
    ] {
        let e = Mixture::new(bad.clone(), two()?).unwrap_err();
        assert!(
            matches!(
                e,
                EmError::InvalidParameter {
                    name: "weights",
                    ..
                }
            ),
            "{bad:?}: {e:?}"
        );
    }
    // Within 1e-8 of 1 is accepted.
    assert!(Mixture::new(vec![0.3, 0.7 + 1e-10], two()?).is_ok());
    Ok(())
}

#[test]
fn component_parameters_out_of_range_are_invalid_parameter() -> Result<(), EmError> {
    let name = |e: EmError| match e {
        EmError::InvalidParameter { name, .. } => name,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(name(Poisson::new(-0.5).unwrap_err()), "lambda");
    assert_eq!(name(Poisson::new(f64::NAN).unwrap_err()), "lambda");
    assert_eq!(name(Poisson::new(f64::INFINITY).unwrap_err()), "lambda");
    assert_eq!(name(Exponential::new(0.0).unwrap_err()), "rate");
    assert_eq!(name(Exponential::new(-1.0).unwrap_err()), "rate");
    assert_eq!(
        name(Exponential::new(2.0)?.with_max_rate(1.0).unwrap_err()),
        "max_rate"
    );
    assert_eq!(name(Gaussian::new(f64::NAN, 1.0).unwrap_err()), "mean");
    assert_eq!(name(Gaussian::new(0.0, 0.0).unwrap_err()), "variance");
    assert_eq!(
        name(
            Gaussian::new(0.0, 1.0)?
                .with_min_variance(-1.0)
                .unwrap_err()
        ),
        "min_variance"
    );
    assert_eq!(name(Bernoulli::new(vec![0.5, 1.5]).unwrap_err()), "p");
    assert_eq!(name(Bernoulli::new(vec![f64::NAN]).unwrap_err()), "p");
    assert_eq!(name(Bernoulli::new(vec![]).unwrap_err()), "p");
    // Components of different widths cannot share a mixture.
    let e = Mixture::new(
        vec![0.5, 0.5],
        vec![Bernoulli::new(vec![0.5])?, Bernoulli::new(vec![0.5, 0.5])?],
    )
    .unwrap_err();
    assert_eq!(name(e), "components");
    Ok(())
}

#[test]
fn deserialising_invalid_parameters_fails() {
    let bad = r#"{"weights":[0.5,0.6],"components":[{"lambda":1.0},{"lambda":2.0}]}"#;
    assert!(serde_json::from_str::<Mixture<Vec<Poisson>>>(bad).is_err());
    let bad = r#"{"weights":[1.0],"components":[{"lambda":-1.0}]}"#;
    assert!(serde_json::from_str::<Mixture<Vec<Poisson>>>(bad).is_err());
    let bad = r#"{"weights":[1.0],"components":[{"mean":0.0,"variance":0.0}]}"#;
    assert!(serde_json::from_str::<Mixture<Vec<Gaussian>>>(bad).is_err());
}

// --- degenerate fits ------------------------------------------------------------------------

#[test]
fn exponential_all_zero_data_is_a_typed_collapse_not_an_infinite_rate() {
    let x = [0.0; 20];
    let err = Mixture::fit(&x[..], &Start::new(Exponential::default(), 1), &em()).unwrap_err();
    match err {
        EmError::DegenerateComponent {
            component: 0,
            ref reason,
        } => {
            assert!(reason.contains("point mass at 0"), "{reason}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn exponential_rate_cap_turns_all_zero_data_into_a_finite_fit() -> Result<(), EmError> {
    let x = [0.0; 20];
    let start = Start::new(Exponential::default().with_max_rate(50.0)?, 1);
    let fit = Mixture::fit(&x[..], &start, &em())?;
    assert_eq!(fit.model.components()[0].rate(), 50.0);
    assert!(fit.report.objective().is_finite());
    Ok(())
}

#[test]
fn gaussian_collapse_onto_one_value_is_a_degenerate_component() -> Result<(), EmError> {
    let x = [2.5; 10];
    let err = Mixture::fit(&x[..], &Start::new(Gaussian::default(), 1), &em()).unwrap_err();
    assert!(
        matches!(err, EmError::DegenerateComponent { component: 0, .. }),
        "{err:?}"
    );
    // With a floor the variance stops at it and the mean is exact.
    let floored = Start::new(Gaussian::default().with_min_variance(1e-4)?, 1);
    let fit = Mixture::fit(&x[..], &floored, &em())?;
    let g = &fit.model.components()[0];
    assert_eq!((g.mean(), g.variance()), (2.5, 1e-4));
    Ok(())
}

#[test]
fn component_without_responsibility_is_empty_component() -> Result<(), EmError> {
    // λ = 0 explains only zeros, and there are none: component 1 gets no weight.
    let mut m = Mixture::new(vec![0.5, 0.5], vec![Poisson::new(3.0)?, Poisson::new(0.0)?])?;
    let before = m.clone();
    let err = Em::new().fit(&mut m, &[1u64, 4, 2, 5][..]).unwrap_err();
    assert_eq!(
        err,
        EmError::EmptyComponent {
            component: 1,
            weight: 0.0
        }
    );
    // A failed M-step leaves the parameters as they were.
    assert_eq!(m, before);
    Ok(())
}

#[test]
fn poisson_all_zero_counts_fit_lambda_zero_without_nan() -> Result<(), EmError> {
    let y = [0u64; 25];
    let fit = Mixture::fit(&y[..], &Start::new(Poisson::default(), 2), &em())?;
    assert!(fit.model.components().iter().all(|c| c.lambda() == 0.0));
    // log P(0 | λ = 0) = 0; the weights sum to 1 up to rounding.
    assert!(
        fit.report.objective().abs() < 1e-12,
        "{}",
        fit.report.objective()
    );
    assert!(
        fit.model
            .predict_proba(&y[..])?
            .iter()
            .all(|v| v.is_finite())
    );
    Ok(())
}

#[test]
fn bernoulli_constant_columns_fit_boundary_probabilities_without_nan() -> Result<(), EmError> {
    // Column 0 always 1, column 1 always 0, column 2 varies.
    let rows: Vec<[bool; 3]> = (0..40).map(|i| [true, false, i % 3 == 0]).collect();
    let x = BinaryMatrix::from_rows(&rows)?;
    let fit = Mixture::fit(&x, &Start::new(Bernoulli::default(), 2), &em())?;
    for c in fit.model.components() {
        assert_eq!((c.p()[0], c.p()[1]), (1.0, 0.0));
        assert!(c.p()[2].is_finite());
    }
    assert!(fit.report.objective().is_finite());
    assert!(fit.report.largest_decrease <= 1e-9);
    Ok(())
}

#[test]
fn every_restart_failing_reports_the_first_error() {
    let x = [0.0, 0.0, 0.0];
    let rng = &mut StdRng::seed_from_u64(1);
    let direct = Start::new(Exponential::default(), 1).initialize(&x[..], rng);
    assert!(direct.is_err());
    let e = Mixture::fit(
        &x[..],
        &Start::new(Exponential::default(), 1),
        &em().n_init(3),
    );
    assert!(matches!(e, Err(EmError::DegenerateComponent { .. })));
}
