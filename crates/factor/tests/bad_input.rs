//! Bad input is a typed error that names what is wrong: NaN by row and column, q ≥ D, K > N,
//! K = 0, a constant feature, a collapsed noise variance by component and feature, invalid
//! parameters and model files.

use em_core::{EmError, ParameterVector, StdRng};
use em_factor::{FactorAnalyser, FactorMixture, NoiseStructure};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::{RngExt, SeedableRng};

fn data(n: usize, d: usize) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(1);
    DMatrix::from_fn(n, d, |_, _| rng.random_range(-1.0..1.0))
}

#[test]
fn nan_and_infinity_are_named_by_row_and_column() {
    let mut x = data(50, 4);
    x[(7, 3)] = f64::NAN;
    x[(9, 0)] = f64::INFINITY;
    match FactorMixture::builder(2, 1).fit(&x) {
        Err(EmError::NonFinite {
            row: 7,
            column: 3,
            value,
        }) => assert!(value.is_nan()),
        other => panic!("{other:?}"),
    }
    // The fitted model's scoring checks too.
    let fit = FactorMixture::builder(1, 1).fit(&data(50, 4)).unwrap();
    assert!(matches!(
        fit.model.score_samples(&x),
        Err(EmError::NonFinite {
            row: 7,
            column: 3,
            ..
        })
    ));
    assert!(matches!(
        fit.model.predict(&data(5, 3)),
        Err(EmError::DimensionMismatch {
            expected: 4,
            found: 3
        })
    ));
}

#[test]
fn the_number_of_factors_must_be_below_the_dimension() {
    let x = data(50, 4);
    for q in [0, 4, 9] {
        match FactorMixture::builder(1, q).fit(&x) {
            Err(EmError::InvalidParameter {
                name: "n_factors",
                reason,
            }) => {
                assert!(reason.contains("q < D = 4"), "{reason}")
            }
            other => panic!("q = {q}: {other:?}"),
        }
    }
    assert!(matches!(
        FactorAnalyser::new(
            DVector::zeros(2),
            DMatrix::zeros(2, 2),
            DVector::from_element(2, 1.0)
        ),
        Err(EmError::InvalidParameter {
            name: "n_factors",
            ..
        })
    ));
}

#[test]
fn components_must_not_outnumber_rows() {
    let x = data(3, 4);
    assert!(matches!(
        FactorMixture::builder(4, 1).fit(&x),
        Err(EmError::TooFewObservations {
            n_obs: 3,
            n_components: 4
        })
    ));
    assert!(matches!(
        FactorMixture::builder(0, 1).fit(&x),
        Err(EmError::InvalidParameter {
            name: "n_components",
            ..
        })
    ));
    assert!(matches!(
        FactorMixture::builder(1, 1).fit(&DMatrix::zeros(0, 4)),
        Err(EmError::EmptyData)
    ));
}

#[test]
fn a_constant_feature_is_rejected_unless_there_is_a_noise_floor() {
    let mut x = data(60, 4);
    x.column_mut(2).fill(3.5);
    match FactorMixture::builder(1, 1).fit(&x) {
        Err(EmError::InvalidParameter {
            name: "data",
            reason,
        }) => {
            assert!(reason.contains("feature 2"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let fit = FactorMixture::builder(1, 1)
        .noise_floor(1e-6)
        .fit(&x)
        .unwrap();
    assert!((fit.model.noise(0).unwrap()[2] - 1e-6).abs() < 1e-15);
    assert!(matches!(
        FactorMixture::builder(1, 1).noise_floor(-1.0).fit(&x),
        Err(EmError::InvalidParameter {
            name: "noise_floor",
            ..
        })
    ));
}

#[test]
fn a_collapsing_noise_variance_names_component_and_feature() {
    // Feature 2 is constant within each of two far-apart clusters: its noise variance within
    // a component goes to 0.
    let mut rng = StdRng::seed_from_u64(3);
    let x = DMatrix::from_fn(80, 4, |i, j| {
        let group = (i % 2) as f64;
        if j == 2 {
            5.0 * group
        } else {
            20.0 * group + rng.random_range(-1.0..1.0)
        }
    });
    match FactorMixture::builder(2, 1).fit(&x) {
        Err(EmError::DegenerateComponent { component, reason }) => {
            assert!(component < 2);
            assert!(
                reason.contains("feature 2") && reason.contains("collapsed"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // With a floor the same fit is a constrained MLE.
    let fit = FactorMixture::builder(2, 1)
        .noise_floor(1e-8)
        .fit(&x)
        .unwrap();
    for k in 0..2 {
        assert!((fit.model.noise(k).unwrap()[2] - 1e-8).abs() < 1e-20);
    }
}

#[test]
fn invalid_parameters_are_rejected() {
    let ok = || {
        FactorAnalyser::new(
            dvector![0.0, 0.0, 0.0],
            dmatrix![1.0; 0.0; 0.0],
            dvector![1.0, 1.0, 1.0],
        )
    };
    assert!(ok().is_ok());
    match FactorAnalyser::new(
        dvector![0.0, 0.0, 0.0],
        dmatrix![1.0; 0.0; 0.0],
        dvector![1.0, 0.0, 1.0],
    ) {
        Err(EmError::InvalidParameter {
            name: "noise",
            reason,
        }) => assert!(reason.contains("feature 1"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match FactorAnalyser::new(
        dvector![0.0, 0.0, 0.0],
        dmatrix![1.0; f64::NAN; 0.0],
        dvector![1.0, 1.0, 1.0],
    ) {
        Err(EmError::InvalidParameter {
            name: "loadings",
            reason,
        }) => assert!(reason.contains("feature 1, factor 0"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(
        FactorAnalyser::new(
            dvector![0.0, 0.0],
            dmatrix![1.0; 0.0; 0.0],
            dvector![1.0, 1.0, 1.0]
        )
        .is_err()
    );
    // Isotropic noise must be equal within a component; shared noise across components.
    let aniso = FactorAnalyser::new(
        dvector![0.0, 0.0, 0.0],
        dmatrix![1.0; 0.0; 0.0],
        dvector![1.0, 2.0, 1.0],
    )
    .unwrap();
    assert!(FactorMixture::new(vec![1.0], vec![aniso.clone()], NoiseStructure::Isotropic).is_err());
    assert!(
        FactorMixture::new(
            vec![0.5, 0.5],
            vec![aniso, ok().unwrap()],
            NoiseStructure::SharedDiagonal
        )
        .is_err()
    );
    assert!(
        FactorMixture::new(
            vec![0.5, 0.6],
            vec![ok().unwrap(), ok().unwrap()],
            NoiseStructure::Diagonal
        )
        .is_err()
    );
    assert!(FactorMixture::new(vec![], vec![], NoiseStructure::Diagonal).is_err());
    // SQUAREM's setter: a negative variance is an error and leaves the model as it was.
    let mut model =
        FactorMixture::new(vec![1.0], vec![ok().unwrap()], NoiseStructure::Diagonal).unwrap();
    let before = model.clone();
    let mut theta = model.parameters();
    let last = theta.len() - 1;
    theta[last] = -1.0;
    assert!(model.set_parameters(&theta).is_err());
    assert!(model.set_parameters(&theta[1..]).is_err());
    assert_eq!(model, before);
}

#[test]
fn invalid_model_files_are_rejected() {
    let model = FactorMixture::new(
        vec![1.0],
        vec![
            FactorAnalyser::new(
                dvector![0.0, 0.0, 0.0],
                dmatrix![1.0; 0.0; 0.0],
                dvector![1.0, 1.0, 1.0],
            )
            .unwrap(),
        ],
        NoiseStructure::Diagonal,
    )
    .unwrap();
    let json = serde_json::to_string(&model).unwrap();
    let broken = json.replacen("\"noise\":[1.0,1.0,1.0]", "\"noise\":[1.0,-1.0,1.0]", 1);
    assert_ne!(broken, json, "{json}");
    let err = serde_json::from_str::<FactorMixture>(&broken)
        .unwrap_err()
        .to_string();
    assert!(err.contains("feature 1"), "{err}");
    let unknown = json.replace("\"diagonal\"", "\"full\"");
    assert!(serde_json::from_str::<FactorMixture>(&unknown).is_err());
    assert!("full".parse::<NoiseStructure>().is_err());
    assert_eq!(
        "ppca".parse::<NoiseStructure>().unwrap(),
        NoiseStructure::Isotropic
    );
}
