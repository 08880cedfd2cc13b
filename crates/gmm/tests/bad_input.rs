//! Bad input is reported, never a panic and never NaN parameters: every case below returns
//! the typed `EmError` variant that names what is wrong (row and column of a non-finite
//! value, the component whose covariance is not positive definite, the parameter's name),
//! and the degenerate-but-legal cases (duplicate points, a constant feature) either fit with
//! finite parameters or fail with the typed error pinned here.

use gmm::{CovarianceType, Covariances, EmError, GaussianMixture, Init, Prior};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};

/// 60 rows in two well-separated groups, 2 features, no duplicates.
fn two_groups() -> DMatrix<f64> {
    DMatrix::from_fn(60, 2, |i, j| {
        let jitter = ((i * 37 + j * 11) % 17) as f64 / 7.0 + i as f64 * 1e-3;
        jitter + if i % 2 == 0 { 0.0 } else { 10.0 }
    })
}

fn model_2d() -> GaussianMixture {
    GaussianMixture::new(
        dvector![0.5, 0.5],
        dmatrix![0.0, 0.0; 10.0, 10.0],
        Covariances::Full(vec![
            dmatrix![1.0, 0.2; 0.2, 1.0],
            dmatrix![2.0, 0.0; 0.0, 0.5],
        ]),
    )
    .unwrap()
}

fn assert_finite(m: &GaussianMixture) {
    assert!(m.weights().iter().all(|v| v.is_finite()), "weights {m:?}");
    assert!(m.means().iter().all(|v| v.is_finite()), "means {m:?}");
    for k in 0..m.n_components() {
        let c = m.covariance(k).unwrap();
        assert!(c.iter().all(|v| v.is_finite()), "covariance {k} {m:?}");
    }
}

/// The `name` of an `InvalidParameter`, or a panic naming what came instead.
fn invalid_parameter_name<T: std::fmt::Debug>(r: Result<T, EmError>) -> &'static str {
    match r {
        Err(EmError::InvalidParameter { name, .. }) => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

/// The component of a `NotPositiveDefinite` and its detail.
fn not_pd<T: std::fmt::Debug>(r: Result<T, EmError>) -> (usize, String) {
    match r {
        Err(EmError::NotPositiveDefinite { component, detail }) => (component, detail),
        other => panic!("expected NotPositiveDefinite, got {other:?}"),
    }
}

fn check_non_finite<T: std::fmt::Debug>(
    r: Result<T, EmError>,
    want_row: usize,
    want_column: usize,
    want: f64,
) {
    match r {
        Err(EmError::NonFinite { row, column, value }) => {
            assert_eq!((row, column), (want_row, want_column));
            assert!(
                value == want || (value.is_nan() && want.is_nan()),
                "value {value} vs {want}"
            );
        }
        other => panic!("expected NonFinite at ({want_row}, {want_column}), got {other:?}"),
    }
}

#[test]
fn non_finite_data_is_reported_by_row_and_column_everywhere() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut x = two_groups();
        x[(7, 1)] = bad;
        check_non_finite(GaussianMixture::builder(2).fit(&x), 7, 1, bad);
        check_non_finite(
            GaussianMixture::builder(2).fit_weighted(&x, &[1.0; 60]),
            7,
            1,
            bad,
        );
        let m = model_2d();
        check_non_finite(m.predict(&x), 7, 1, bad);
        check_non_finite(m.predict_proba(&x), 7, 1, bad);
        check_non_finite(m.score_samples(&x), 7, 1, bad);
        check_non_finite(m.score(&x), 7, 1, bad);
        check_non_finite(m.bic(&x), 7, 1, bad);
        check_non_finite(m.aic(&x), 7, 1, bad);
        check_non_finite(m.icl(&x), 7, 1, bad);
    }
}

#[test]
fn first_non_finite_value_in_row_order_is_the_one_reported() {
    // Column-major storage meets (9, 0) before (5, 1); row order meets (5, 1) first.
    let mut x = two_groups();
    x[(9, 0)] = f64::NAN;
    x[(5, 1)] = f64::INFINITY;
    check_non_finite(GaussianMixture::builder(2).fit(&x), 5, 1, f64::INFINITY);
    check_non_finite(model_2d().predict(&x), 5, 1, f64::INFINITY);
}

#[test]
fn fewer_rows_than_components_is_too_few_observations() {
    let x = dmatrix![0.0, 1.0; 2.0, 3.0];
    match GaussianMixture::builder(3).fit(&x) {
        Err(EmError::TooFewObservations {
            n_obs,
            n_components,
        }) => assert_eq!((n_obs, n_components), (2, 3)),
        other => panic!("expected TooFewObservations, got {other:?}"),
    }
}

#[test]
fn zero_components_is_invalid_n_components() {
    let name = invalid_parameter_name(GaussianMixture::builder(0).fit(&two_groups()));
    assert_eq!(name, "n_components");
}

#[test]
fn data_without_rows_is_empty_data() {
    for d in [2, 0] {
        let x = DMatrix::<f64>::zeros(0, d);
        assert_eq!(
            GaussianMixture::builder(1).fit(&x).unwrap_err(),
            EmError::EmptyData,
            "0×{d}"
        );
    }
    let empty = DMatrix::<f64>::zeros(0, 2);
    let m = model_2d();
    assert_eq!(m.predict(&empty).unwrap_err(), EmError::EmptyData);
    assert_eq!(m.score(&empty).unwrap_err(), EmError::EmptyData);
}

#[test]
fn data_without_columns_is_invalid_data() {
    let x = DMatrix::<f64>::zeros(10, 0);
    assert_eq!(
        invalid_parameter_name(GaussianMixture::builder(2).fit(&x)),
        "data"
    );
}

#[test]
fn wrong_number_of_features_is_dimension_mismatch_at_every_entry_point() {
    let m = model_2d();
    for d in [1, 3, 0] {
        let x = DMatrix::from_element(5, d, 1.0);
        let check = |r: Result<(), EmError>, what: &str| match r {
            Err(EmError::DimensionMismatch { expected, found }) => {
                assert_eq!((expected, found), (2, d), "{what}")
            }
            other => panic!("{what} with D = {d}: expected DimensionMismatch, got {other:?}"),
        };
        check(m.predict(&x).map(drop), "predict");
        check(m.predict_proba(&x).map(drop), "predict_proba");
        check(m.score_samples(&x).map(drop), "score_samples");
        check(m.score(&x).map(drop), "score");
        check(m.bic(&x).map(drop), "bic");
        check(m.aic(&x).map(drop), "aic");
        check(m.icl(&x).map(drop), "icl");
    }
}

#[test]
fn identical_rows_fit_finitely_from_random_and_default_starts_and_kmeans_reports_empty_component() {
    let x = DMatrix::from_element(50, 2, 3.0);
    // Starts that put mass on both components (the agglomeration splits identical rows too):
    // a finite fit, both means at the point and the covariances reduced to the reg_covar ridge.
    for init in [
        Init::RandomFromData,
        Init::RandomResponsibilities,
        Init::Auto,
        Init::Hierarchical,
    ] {
        let fit = GaussianMixture::builder(2)
            .init(init.clone())
            .reg_covar(1e-6)
            .fit(&x)
            .unwrap_or_else(|e| panic!("{init:?}: {e}"));
        let m = &fit.model;
        assert_finite(m);
        for k in 0..2 {
            for j in 0..2 {
                assert!((m.means()[(k, j)] - 3.0).abs() < 1e-12, "{init:?}");
            }
            let c = m.covariance(k).unwrap();
            let ridge = DMatrix::identity(2, 2) * 1e-6;
            assert!((c - ridge).amax() < 1e-15, "{init:?} covariance {k}");
        }
        assert!(m.score(&x).unwrap().is_finite());
    }
    // k-means cannot find two distinct clusters: the second is empty, and the fit says so.
    match GaussianMixture::builder(2).init(Init::KMeans).fit(&x) {
        Err(EmError::EmptyComponent { component, weight }) => {
            assert_eq!(component, 1);
            assert_eq!(weight, 0.0);
        }
        Ok(fit) => panic!("expected EmptyComponent, got a fit {:?}", fit.model),
        Err(e) => panic!("expected EmptyComponent, got {e:?}"),
    }
}

/// Values of the constant feature: an exactly summable integer, and values whose sums round
/// (0.1 · 30 ≠ 3 in floating point), so that a weighted mean can miss the constant by an ulp.
const CONSTANTS: [f64; 3] = [5.0, 0.1, 1234.5678];

/// The constant feature's variance in each component, for failure messages.
fn constant_feature_variances(fit: &gmm::Fitted<GaussianMixture>) -> String {
    let m = &fit.model;
    format!(
        "variances {:e}, {:e}; objective fell by {:e} during EM",
        m.covariance(0).unwrap()[(1, 1)],
        m.covariance(1).unwrap()[(1, 1)],
        fit.report.largest_decrease
    )
}

#[test]
fn constant_feature_fits_with_scikit_learns_reg_covar() {
    for c in CONSTANTS {
        let mut x = two_groups();
        x.column_mut(1).fill(c);
        for kind in CovarianceType::ALL {
            let fit = GaussianMixture::builder(2)
                .covariance_type(kind)
                .reg_covar(1e-6)
                .fit(&x)
                .unwrap_or_else(|e| panic!("{kind} constant {c}: {e}"));
            assert_finite(&fit.model);
            // The constant feature's variance is the ridge (not for spherical, which pools
            // the features).
            if kind != CovarianceType::Spherical {
                for k in 0..2 {
                    let v = fit.model.covariance(k).unwrap()[(1, 1)];
                    assert!((v - 1e-6).abs() < 1e-15, "{kind} constant {c}: {v}");
                }
            }
        }
        // A spherical variance pools the features, so it stays positive without a ridge.
        let fit = GaussianMixture::builder(2)
            .covariance_type(CovarianceType::Spherical)
            .reg_covar(0.0)
            .fit(&x)
            .unwrap();
        assert_finite(&fit.model);
    }
}

#[test]
fn constant_feature_without_ridge_is_not_positive_definite() {
    // A constant feature has zero variance; without the ridge its covariance is singular and
    // the fit must say so. A variance of ~1e-33 made of rounding error (a weighted mean that
    // misses the constant by an ulp) is singular to working precision just the same: it
    // must be reported, not fitted (such a "fit" gains tens of nats of likelihood per row).
    let mut wrong = Vec::new();
    for c in CONSTANTS {
        let mut x = two_groups();
        x.column_mut(1).fill(c);
        for kind in [
            CovarianceType::Full,
            CovarianceType::Diag,
            CovarianceType::Tied,
        ] {
            match GaussianMixture::builder(2)
                .covariance_type(kind)
                .reg_covar(0.0)
                .fit(&x)
            {
                Err(EmError::NotPositiveDefinite { component, .. }) => {
                    assert!(component < 2, "{kind}: component {component}");
                    if kind == CovarianceType::Tied {
                        assert_eq!(component, 0);
                    }
                }
                Ok(fit) => wrong.push(format!(
                    "{kind} constant {c}: fitted, {}",
                    constant_feature_variances(&fit)
                )),
                Err(e) => wrong.push(format!("{kind} constant {c}: {e:?}")),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn constant_feature_without_ridge_is_not_positive_definite_from_random_starts() {
    // Soft responsibilities make the rounding of the weighted mean more likely still.
    let mut wrong = Vec::new();
    for c in CONSTANTS {
        let mut x = two_groups();
        x.column_mut(1).fill(c);
        for kind in [
            CovarianceType::Full,
            CovarianceType::Diag,
            CovarianceType::Tied,
        ] {
            for init in [Init::RandomResponsibilities, Init::RandomFromData] {
                for seed in 0..6 {
                    let r = GaussianMixture::builder(2)
                        .covariance_type(kind)
                        .init(init.clone())
                        .seed(seed)
                        .reg_covar(0.0)
                        .fit(&x);
                    match r {
                        Err(EmError::NotPositiveDefinite { component, .. }) if component < 2 => {}
                        Ok(fit) => wrong.push(format!(
                            "{kind} {init:?} seed {seed} constant {c}: fitted, {}",
                            constant_feature_variances(&fit)
                        )),
                        Err(e) => {
                            wrong.push(format!("{kind} {init:?} seed {seed} constant {c}: {e:?}"))
                        }
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn failure_at_initialisation_does_not_blame_user_given_covariances() {
    // No covariances were given: the message must not say they were.
    let mut x = two_groups();
    x.column_mut(1).fill(5.0);
    let (_, detail) = not_pd(
        GaussianMixture::builder(2)
            .covariance_type(CovarianceType::Diag)
            .reg_covar(0.0)
            .fit(&x),
    );
    assert!(!detail.contains("given"), "{detail}");
}

#[test]
fn component_collapsing_onto_one_point_without_ridge_is_reported_for_that_component() {
    // 50 points near the origin and one far outlier; component 1 starts on the outlier, so
    // after one E-step it owns exactly that point: zero scatter.
    let mut x = DMatrix::from_fn(51, 2, |i, j| ((i * 37 + j * 11) % 17) as f64 / 5.0);
    x[(50, 0)] = 100.0;
    x[(50, 1)] = -100.0;
    for kind in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ] {
        let covariances = match kind {
            CovarianceType::Full => Covariances::Full(vec![DMatrix::identity(2, 2); 2]),
            CovarianceType::Diag => Covariances::Diag(DMatrix::from_element(2, 2, 1.0)),
            _ => Covariances::Spherical(dvector![1.0, 1.0]),
        };
        let start = GaussianMixture::new(
            dvector![0.5, 0.5],
            dmatrix![1.5, 1.5; 100.0, -100.0],
            covariances,
        )
        .unwrap();
        let r = GaussianMixture::builder(2)
            .covariance_type(kind)
            .reg_covar(0.0)
            .init(Init::Given(Box::new(start.clone())))
            .fit(&x);
        match r {
            Err(EmError::NotPositiveDefinite { component, .. })
            | Err(EmError::EmptyComponent { component, .. }) => {
                assert_eq!(component, 1, "{kind}")
            }
            other => panic!("{kind}: expected a collapse error, got {other:?}"),
        }
        // scikit-learn's ridge keeps the same start finite.
        let fit = GaussianMixture::builder(2)
            .covariance_type(kind)
            .reg_covar(1e-6)
            .init(Init::Given(Box::new(start)))
            .fit(&x)
            .unwrap();
        assert_finite(&fit.model);
    }
}

#[test]
fn given_covariances_that_are_not_positive_definite_name_the_component() {
    let means = dmatrix![0.0, 0.0; 1.0, 1.0; 2.0, 2.0];
    let w = dvector![0.2, 0.3, 0.5];
    let id = DMatrix::<f64>::identity(2, 2);
    let indefinite = dmatrix![1.0, 2.0; 2.0, 1.0];
    let cases = [
        (
            Covariances::Full(vec![id.clone(), indefinite.clone(), id.clone()]),
            1,
        ),
        (
            Covariances::Full(vec![id.clone(), id.clone(), DMatrix::zeros(2, 2)]),
            2,
        ),
        (Covariances::Tied(indefinite.clone()), 0),
        (
            Covariances::Diag(dmatrix![1.0, 1.0; 1.0, 1.0; 1.0, -0.5]),
            2,
        ),
        (Covariances::Diag(dmatrix![1.0, 1.0; 0.0, 1.0; 1.0, 1.0]), 1),
        (Covariances::Spherical(dvector![1.0, -1.0, 1.0]), 1),
        (Covariances::Spherical(dvector![f64::NAN, 1.0, 1.0]), 0),
    ];
    for (cov, want) in cases {
        let what = format!("{cov:?}");
        let (component, _) = not_pd(GaussianMixture::new(w.clone(), means.clone(), cov));
        assert_eq!(component, want, "{what}");
    }
    // The same for precisions.
    let (component, detail) = not_pd(GaussianMixture::from_precisions(
        w.clone(),
        means.clone(),
        Covariances::Full(vec![id.clone(), id.clone(), indefinite]),
    ));
    assert_eq!(component, 2);
    assert!(detail.contains("precision"), "{detail}");
    let (component, _) = not_pd(GaussianMixture::from_precisions(
        w,
        means,
        Covariances::Spherical(dvector![1.0, 0.0, 1.0]),
    ));
    assert_eq!(component, 1);
}

#[test]
fn given_covariances_that_are_not_symmetric_are_rejected_for_that_component() {
    let means = dmatrix![0.0, 0.0; 1.0, 1.0];
    let w = dvector![0.5, 0.5];
    let asym = dmatrix![2.0, 0.5; 0.1, 2.0];
    let (component, detail) = not_pd(GaussianMixture::new(
        w.clone(),
        means.clone(),
        Covariances::Full(vec![DMatrix::identity(2, 2), asym.clone()]),
    ));
    assert_eq!(component, 1);
    assert!(detail.contains("symmetric"), "{detail}");
    let (component, detail) = not_pd(GaussianMixture::new(
        w.clone(),
        means.clone(),
        Covariances::Tied(asym.clone()),
    ));
    assert_eq!(component, 0);
    assert!(detail.contains("symmetric"), "{detail}");
    let (component, detail) = not_pd(GaussianMixture::from_precisions(
        w,
        means,
        Covariances::Full(vec![asym, DMatrix::identity(2, 2)]),
    ));
    assert_eq!(component, 0);
    assert!(detail.contains("symmetric"), "{detail}");
}

#[test]
fn parameters_of_the_wrong_shape_name_the_parameter() {
    let means = dmatrix![0.0, 0.0; 1.0, 1.0];
    let w = dvector![0.5, 0.5];
    let id = DMatrix::<f64>::identity(2, 2);
    let bad_covariances = [
        Covariances::Full(vec![id.clone()]),
        Covariances::Full(vec![id.clone(), id.clone(), id.clone()]),
        Covariances::Full(vec![id.clone(), DMatrix::identity(3, 3)]),
        Covariances::Full(vec![id.clone(), DMatrix::identity(2, 3)]),
        Covariances::Tied(DMatrix::identity(3, 3)),
        Covariances::Diag(DMatrix::from_element(2, 3, 1.0)),
        Covariances::Diag(DMatrix::from_element(1, 2, 1.0)),
        Covariances::Spherical(dvector![1.0]),
    ];
    for cov in bad_covariances {
        let what = format!("{cov:?}");
        let r = GaussianMixture::new(w.clone(), means.clone(), cov);
        assert_eq!(invalid_parameter_name(r), "covariances", "{what}");
    }
    assert_eq!(
        invalid_parameter_name(GaussianMixture::new(
            dvector![0.2, 0.3, 0.5],
            means.clone(),
            Covariances::Spherical(dvector![1.0, 1.0]),
        )),
        "weights"
    );
    assert_eq!(
        invalid_parameter_name(GaussianMixture::new(
            DVector::zeros(0),
            DMatrix::zeros(0, 2),
            Covariances::Spherical(DVector::zeros(0)),
        )),
        "means"
    );
    assert_eq!(
        invalid_parameter_name(GaussianMixture::new(
            w,
            DMatrix::zeros(2, 0),
            Covariances::Spherical(dvector![1.0, 1.0]),
        )),
        "means"
    );
}

#[test]
fn precisions_of_the_wrong_shape_are_invalid_parameters_not_panics() {
    let means = dmatrix![0.0, 0.0; 1.0, 1.0];
    let w = dvector![0.5, 0.5];
    let id = DMatrix::<f64>::identity(2, 2);
    let bad_precisions = [
        Covariances::Full(vec![id.clone()]),
        Covariances::Full(vec![id.clone(), DMatrix::identity(3, 3)]),
        Covariances::Full(vec![id.clone(), DMatrix::identity(2, 3)]),
        Covariances::Tied(DMatrix::identity(3, 3)),
        Covariances::Tied(DMatrix::identity(3, 2)),
        Covariances::Diag(DMatrix::from_element(2, 3, 1.0)),
        Covariances::Spherical(dvector![1.0, 1.0, 1.0]),
    ];
    let mut wrong = Vec::new();
    for p in bad_precisions {
        let what = format!("{p:?}");
        let (w, means) = (w.clone(), means.clone());
        match std::panic::catch_unwind(move || GaussianMixture::from_precisions(w, means, p)) {
            Err(_) => wrong.push(format!("panicked on {what}")),
            Ok(Err(EmError::InvalidParameter { name, .. }))
                if name == "precisions" || name == "covariances" => {}
            Ok(other) => wrong.push(format!("{what}: got {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "from_precisions:\n{}", wrong.join("\n"));
}

#[test]
fn bad_mixing_weights_and_means_are_invalid_parameters() {
    let means = dmatrix![0.0; 1.0; 2.0];
    let cov = || Covariances::Spherical(dvector![1.0, 1.0, 1.0]);
    for w in [
        dvector![-0.2, 0.6, 0.6],
        dvector![0.0, 0.5, 0.5],
        dvector![0.2, 0.3, 0.4],
        dvector![0.5, 0.5, 0.5],
        dvector![f64::NAN, 0.5, 0.5],
        dvector![f64::INFINITY, 0.5, 0.5],
    ] {
        let r = GaussianMixture::new(w.clone(), means.clone(), cov());
        assert_eq!(invalid_parameter_name(r), "weights", "{w:?}");
    }
    let r = GaussianMixture::new(dvector![0.2, 0.3, 0.5], dmatrix![0.0; f64::NAN; 2.0], cov());
    match r {
        Err(EmError::InvalidParameter { name, reason }) => {
            assert_eq!(name, "means");
            assert!(reason.contains("component 1"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn out_of_range_fit_options_name_the_option() {
    let x = two_groups();
    let b = || GaussianMixture::builder(2);
    for reg in [-1e-6, f64::NAN, f64::INFINITY] {
        assert_eq!(
            invalid_parameter_name(b().reg_covar(reg).fit(&x)),
            "reg_covar"
        );
        assert_eq!(
            invalid_parameter_name(model_2d().with_reg_covar(reg)),
            "reg_covar"
        );
    }
    for tol in [-1e-3, f64::NAN, f64::INFINITY] {
        assert_eq!(invalid_parameter_name(b().tol(tol).fit(&x)), "tol");
    }
    assert_eq!(invalid_parameter_name(b().n_init(0).fit(&x)), "n_init");
    assert_eq!(invalid_parameter_name(b().threads(0).fit(&x)), "threads");
    assert_eq!(
        invalid_parameter_name(b().chunk_size(0).fit(&x)),
        "chunk_size"
    );
}

#[test]
fn bad_sample_weights_are_reported() {
    let x = two_groups();
    let b = GaussianMixture::builder(2);
    for len in [0, 59, 61] {
        let w = vec![1.0; len];
        assert_eq!(
            invalid_parameter_name(b.fit_weighted(&x, &w)),
            "sample_weight",
            "length {len}"
        );
    }
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let mut w = vec![1.0; 60];
        w[4] = bad;
        match b.fit_weighted(&x, &w) {
            Err(EmError::InvalidInput { row, column, .. }) => {
                assert_eq!((row, column), (4, None), "weight {bad}")
            }
            other => panic!("weight {bad}: expected InvalidInput, got {other:?}"),
        }
    }
    assert_eq!(
        invalid_parameter_name(b.fit_weighted(&x, &[0.0; 60])),
        "sample_weight"
    );
}

#[test]
fn given_start_of_the_wrong_shape_or_structure_is_invalid_init() {
    let x = two_groups();
    let k3 = GaussianMixture::new(
        dvector![0.2, 0.3, 0.5],
        dmatrix![0.0, 0.0; 1.0, 1.0; 2.0, 2.0],
        Covariances::Spherical(dvector![1.0, 1.0, 1.0]),
    )
    .unwrap();
    let d3 = GaussianMixture::new(
        dvector![0.5, 0.5],
        dmatrix![0.0, 0.0, 0.0; 1.0, 1.0, 1.0],
        Covariances::Spherical(dvector![1.0, 1.0]),
    )
    .unwrap();
    let spherical = GaussianMixture::new(
        dvector![0.5, 0.5],
        dmatrix![0.0, 0.0; 10.0, 10.0],
        Covariances::Spherical(dvector![1.0, 1.0]),
    )
    .unwrap();
    for (start, kind) in [
        (k3, CovarianceType::Spherical),
        (d3, CovarianceType::Spherical),
        (spherical.clone(), CovarianceType::Full),
        (spherical.clone(), CovarianceType::Diag),
        (model_2d(), CovarianceType::Tied),
    ] {
        let r = GaussianMixture::builder(2)
            .covariance_type(kind)
            .init(Init::Given(Box::new(start)))
            .fit(&x);
        assert_eq!(invalid_parameter_name(r), "init", "{kind}");
    }
    // The matching start is accepted.
    let fit = GaussianMixture::builder(2)
        .covariance_type(CovarianceType::Spherical)
        .warm_start(spherical)
        .fit(&x)
        .unwrap();
    assert_finite(&fit.model);
}

fn good_prior() -> Prior {
    Prior {
        weight_concentration: 1.0,
        mean: dvector![5.0, 5.0],
        mean_precision: 0.01,
        dof: 4.0,
        scale: DMatrix::identity(2, 2),
    }
}

#[test]
fn invalid_priors_name_the_hyper_parameter() {
    let x = two_groups();
    assert!(good_prior().validate(2).is_ok());
    let cases: Vec<(Prior, &str)> = vec![
        (
            Prior {
                dof: 1.0,
                ..good_prior()
            },
            "prior.dof",
        ),
        (
            Prior {
                dof: 0.5,
                ..good_prior()
            },
            "prior.dof",
        ),
        (
            Prior {
                dof: f64::NAN,
                ..good_prior()
            },
            "prior.dof",
        ),
        (
            Prior {
                scale: dmatrix![1.0, 2.0; 2.0, 1.0],
                ..good_prior()
            },
            "prior.scale",
        ),
        (
            Prior {
                scale: DMatrix::zeros(2, 2),
                ..good_prior()
            },
            "prior.scale",
        ),
        (
            Prior {
                scale: DMatrix::identity(3, 3),
                ..good_prior()
            },
            "prior.scale",
        ),
        (
            Prior {
                mean_precision: 0.0,
                ..good_prior()
            },
            "prior.mean_precision",
        ),
        (
            Prior {
                weight_concentration: 0.5,
                ..good_prior()
            },
            "prior.weight_concentration",
        ),
        (
            Prior {
                mean: dvector![0.0],
                ..good_prior()
            },
            "prior.mean",
        ),
    ];
    for (prior, want) in cases {
        let what = format!("{prior:?}");
        assert_eq!(invalid_parameter_name(prior.validate(2)), want, "{what}");
        assert_eq!(
            invalid_parameter_name(GaussianMixture::builder(2).prior(prior.clone()).fit(&x)),
            want,
            "fit with {what}"
        );
        assert_eq!(
            invalid_parameter_name(model_2d().with_prior(Some(prior))),
            want,
            "with_prior {what}"
        );
    }
    // dof just above D − 1 is legal.
    let fit = GaussianMixture::builder(2)
        .prior(Prior {
            dof: 1.01,
            ..good_prior()
        })
        .fit(&x)
        .unwrap();
    assert_finite(&fit.model);
}

#[test]
fn prior_with_asymmetric_scale_is_rejected_as_invalid_scale() {
    // Cholesky reads one triangle only, so an asymmetric Ψ can look positive definite.
    let prior = Prior {
        scale: dmatrix![1.0, 0.5; -0.3, 1.0],
        ..good_prior()
    };
    assert_eq!(invalid_parameter_name(prior.validate(2)), "prior.scale");
    assert_eq!(
        invalid_parameter_name(GaussianMixture::builder(2).prior(prior).fit(&two_groups())),
        "prior.scale"
    );
}

#[test]
fn data_so_large_that_squares_overflow_is_a_typed_error_or_a_finite_fit() {
    let x = two_groups() * 1e160;
    for init in [Init::KMeans, Init::RandomResponsibilities] {
        match GaussianMixture::builder(2).init(init.clone()).fit(&x) {
            Ok(fit) => assert_finite(&fit.model),
            Err(
                EmError::NonFiniteObjective { .. }
                | EmError::NotPositiveDefinite { .. }
                | EmError::EmptyComponent { .. }
                | EmError::InvalidInput { .. },
            ) => {}
            Err(e) => panic!("{init:?}: unexpected {e:?}"),
        }
    }
}
