//! What a user sees: recovery of well-separated clusters with too many components, restarts,
//! predictions, and typed errors for bad priors and data.

use em_core::{Em, EmError, LatentModel};
use em_family::CovarianceType;
use em_variational::{BayesianGaussianMixture, CovariancePrior, WeightPrior};
use nalgebra::{DMatrix, DVector, dvector};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

const CENTRES: [[f64; 2]; 3] = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]];

/// 3 × 150 points from unit-variance Gaussians at `CENTRES`.
fn three_clusters() -> DMatrix<f64> {
    let mut rng = em_core::StdRng::seed_from_u64(11);
    let normal = Normal::new(0.0, 1.0).expect("normal");
    DMatrix::from_fn(450, 2, |i, j| CENTRES[i / 150][j] + normal.sample(&mut rng))
}

#[test]
fn eight_components_on_three_separated_clusters_keep_three_and_find_their_means() {
    let x = three_clusters();
    for prior in [
        WeightPrior::DirichletProcess,
        WeightPrior::DirichletDistribution,
    ] {
        for kind in CovarianceType::ALL {
            let builder = BayesianGaussianMixture::builder(8)
                .covariance_type(kind)
                .weight_prior(prior)
                .weight_concentration_prior(1e-3);
            let fitted = Em::new()
                .max_iter(2_000)
                .n_init(2)
                .seed(5)
                .fit_restarts(&builder, &x)
                .expect("fit");
            let model = fitted.model;
            assert!(fitted.report.converged, "{prior:?} {kind}");
            let w = model.weights();
            assert_eq!(
                model.n_effective_components(0.01),
                3,
                "{prior:?} {kind}: weights {w}"
            );
            for c in CENTRES {
                let nearest = (0..8)
                    .filter(|&k| w[k] > 0.01)
                    .map(|k| {
                        let m = model.means().row(k);
                        ((m[0] - c[0]).powi(2) + (m[1] - c[1]).powi(2)).sqrt()
                    })
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    nearest < 0.3,
                    "{prior:?} {kind}: centre {c:?} missed by {nearest}"
                );
            }
            // Rows of one cluster share a label; clusters differ.
            let labels = model.predict(&x).expect("predict");
            assert_eq!(labels[0], labels[149]);
            assert_ne!(labels[0], labels[150]);
            assert_ne!(labels[150], labels[300]);
            let proba = model.predict_proba(&x).expect("proba");
            assert!((proba.row(7).sum() - 1.0).abs() < 1e-12);
            assert!((model.weights().sum() - 1.0).abs() < 1e-12);
            // The reported objective is the ELBO at the final parameters.
            let elbo = model.elbo(&x).expect("elbo");
            assert!((elbo - fitted.report.objective()).abs() < 1e-9 * elbo.abs());
        }
    }
}

#[test]
fn the_driver_and_a_manual_loop_agree_bit_for_bit() {
    let x = three_clusters();
    let start = BayesianGaussianMixture::builder(4)
        .kmeans_start(&x, 0)
        .expect("start");
    let mut driven = start.clone();
    Em::new()
        .tol(0.0)
        .max_iter(7)
        .fit(&mut driven, &x)
        .expect("fit");
    let mut manual = start;
    for _ in 0..7 {
        let e = manual.e_step(&x, 0..x.nrows()).expect("e-step");
        manual.m_step(&e.stats).expect("m-step");
    }
    assert_eq!(driven, manual);
}

fn err_name(e: EmError) -> &'static str {
    match e {
        EmError::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

#[test]
fn bad_priors_are_typed_errors_naming_the_parameter() {
    let x = three_clusters();
    let b = || BayesianGaussianMixture::builder(3);
    let name = |r: Result<_, EmError>| err_name(r.expect_err("an error"));
    assert_eq!(
        name(b().weight_concentration_prior(0.0).kmeans_start(&x, 0)),
        "weight_concentration_prior"
    );
    assert_eq!(
        name(b().weight_concentration_prior(f64::NAN).kmeans_start(&x, 0)),
        "weight_concentration_prior"
    );
    assert_eq!(
        name(b().mean_precision_prior(-1.0).kmeans_start(&x, 0)),
        "mean_precision_prior"
    );
    assert_eq!(
        name(b().mean_prior(dvector![1.0]).kmeans_start(&x, 0)),
        "mean_prior"
    );
    assert_eq!(
        name(
            b().mean_prior(dvector![1.0, f64::INFINITY])
                .kmeans_start(&x, 0)
        ),
        "mean_prior"
    );
    assert_eq!(
        name(b().degrees_of_freedom_prior(0.5).kmeans_start(&x, 0)),
        "degrees_of_freedom_prior"
    );
    assert_eq!(
        name(
            b().covariance_prior(CovariancePrior::Full(DMatrix::from_row_slice(
                2,
                2,
                &[1.0, 2.0, 2.0, 1.0]
            )))
            .kmeans_start(&x, 0)
        ),
        "covariance_prior"
    );
    assert_eq!(
        name(
            b().covariance_type(CovarianceType::Diag)
                .covariance_prior(CovariancePrior::Diag(dvector![1.0, -1.0]))
                .kmeans_start(&x, 0)
        ),
        "covariance_prior"
    );
    assert_eq!(
        name(
            b().covariance_type(CovarianceType::Spherical)
                .covariance_prior(CovariancePrior::Diag(DVector::from_element(2, 1.0)))
                .kmeans_start(&x, 0)
        ),
        "covariance_prior"
    );
    assert_eq!(name(b().reg_covar(-1e-3).kmeans_start(&x, 0)), "reg_covar");
    assert_eq!(
        name(BayesianGaussianMixture::builder(0).kmeans_start(&x, 0)),
        "n_components"
    );
}

#[test]
fn bad_data_and_responsibilities_are_typed_errors_naming_the_row() {
    let mut x = three_clusters();
    let b = BayesianGaussianMixture::builder(3);
    let model = b.kmeans_start(&x, 0).expect("start");
    x[(17, 1)] = f64::NAN;
    assert!(matches!(
        b.kmeans_start(&x, 0),
        Err(EmError::NonFinite {
            row: 17,
            column: 1,
            ..
        })
    ));
    assert!(matches!(
        model.predict(&x),
        Err(EmError::NonFinite {
            row: 17,
            column: 1,
            ..
        })
    ));
    let mut m = model.clone();
    assert!(matches!(
        Em::new().fit(&mut m, &x),
        Err(EmError::NonFinite { row: 17, .. })
    ));
    let wide = DMatrix::zeros(5, 3);
    assert!(matches!(
        model.predict(&wide),
        Err(EmError::DimensionMismatch {
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(
        b.kmeans_start(&DMatrix::zeros(0, 2), 0),
        Err(EmError::EmptyData)
    ));
    assert!(matches!(
        b.kmeans_start(&DMatrix::from_element(2, 2, 1.0), 0),
        Err(EmError::TooFewObservations {
            n_obs: 2,
            n_components: 3
        })
    ));
    // A constant feature makes the default covariance prior singular.
    let constant = DMatrix::from_fn(10, 2, |i, j| if j == 0 { i as f64 } else { 4.0 });
    assert_eq!(
        err_name(b.kmeans_start(&constant, 0).expect_err("error")),
        "covariance_prior"
    );

    let x = three_clusters();
    let mut resp = DMatrix::from_element(450, 3, 1.0 / 3.0);
    assert!(matches!(
        b.from_responsibilities(&x, &DMatrix::zeros(450, 2)),
        Err(EmError::InvalidParameter { name: "resp", .. })
    ));
    resp[(40, 2)] = -0.1;
    assert!(matches!(
        b.from_responsibilities(&x, &resp),
        Err(EmError::InvalidInput {
            row: 40,
            column: Some(2),
            ..
        })
    ));
}

#[test]
fn a_model_survives_a_json_round_trip_and_bad_json_is_an_error() {
    let x = three_clusters();
    for kind in CovarianceType::ALL {
        for prior in [
            WeightPrior::DirichletProcess,
            WeightPrior::DirichletDistribution,
        ] {
            let mut model = BayesianGaussianMixture::builder(3)
                .covariance_type(kind)
                .weight_prior(prior)
                .kmeans_start(&x, 0)
                .expect("start");
            Em::new().max_iter(20).fit(&mut model, &x).expect("fit");
            let json = serde_json::to_string(&model).expect("serialise");
            let back: BayesianGaussianMixture = serde_json::from_str(&json).expect("deserialise");
            assert_eq!(
                back.predict_proba(&x).unwrap(),
                model.predict_proba(&x).unwrap()
            );
            assert_eq!(back.log_prior(), model.log_prior());
            assert_eq!(back.means(), model.means());
        }
    }
    let model = BayesianGaussianMixture::builder(2)
        .kmeans_start(&x, 0)
        .expect("start");
    let json = serde_json::to_string(&model).expect("serialise");
    let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
    value["mean_precision"][0][0] = serde_json::json!(-1.0);
    let err = serde_json::from_value::<BayesianGaussianMixture>(value).expect_err("invalid");
    assert!(err.to_string().contains("mean_precision"), "{err}");
}
