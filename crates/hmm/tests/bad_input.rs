//! Bad input is a typed `EmError` naming the sequence and step (or the parameter and row),
//! from every entry point — never a panic, never NaN parameters.

use em_core::{Em, EmError, LatentModel};
use hmm::{
    Categorical, CategoricalHmm, CovarianceType, Covariances, Gaussian, GaussianHmm, HmmStats,
};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::SeedableRng;

fn gaussian() -> GaussianHmm {
    GaussianHmm::new(
        dvector![0.6, 0.4],
        dmatrix![0.9, 0.1; 0.2, 0.8],
        Gaussian::new(
            dmatrix![0.0, 0.0; 3.0, 1.0],
            Covariances::Full(vec![DMatrix::identity(2, 2), dmatrix![1.0, 0.2; 0.2, 0.5]]),
        )
        .unwrap(),
    )
    .unwrap()
}

fn categorical() -> CategoricalHmm {
    CategoricalHmm::new(
        dvector![0.5, 0.5],
        dmatrix![0.7, 0.3; 0.4, 0.6],
        Categorical::new(dmatrix![0.5, 0.3, 0.2, 0.0; 0.1, 0.1, 0.4, 0.4]).unwrap(),
    )
    .unwrap()
}

fn good_gaussian_data() -> Vec<DMatrix<f64>> {
    (0..4)
        .map(|k| DMatrix::from_fn(10 + k, 2, |t, j| ((t * 7 + j * 3 + k) % 5) as f64 * 0.7))
        .collect()
}

/// Asserts an `InvalidInput` for sequence `seq` whose message contains `needle`.
fn assert_names(e: &EmError, seq: usize, column: Option<usize>, needle: &str) {
    match e {
        EmError::InvalidInput {
            row,
            column: c,
            reason,
        } => {
            assert_eq!(*row, seq, "{e}");
            assert_eq!(*c, column, "{e}");
            assert!(reason.contains(needle), "{e} should contain {needle:?}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

/// Every Gaussian entry point on `data` fails the same way for sequence `seq`: the message
/// contains "sequence {seq}{tail}" (single-sequence methods: "sequence 0{tail}").
fn every_gaussian_entry_point_fails(
    data: &[DMatrix<f64>],
    seq: usize,
    column: Option<usize>,
    tail: &str,
) {
    let needle = &format!("sequence {seq}{tail}");
    let model = gaussian();
    let mut fitted = model.clone();
    assert_names(
        &Em::new().fit(&mut fitted, data).unwrap_err(),
        seq,
        column,
        needle,
    );
    assert_eq!(
        fitted, model,
        "a failed fit leaves the parameters as they were"
    );
    assert_names(
        &model.e_step(data, 0..data.len()).unwrap_err(),
        seq,
        column,
        needle,
    );
    assert_names(
        &model.log_likelihood_total(data).unwrap_err(),
        seq,
        column,
        needle,
    );
    assert_names(&model.bic(data).unwrap_err(), seq, column, needle);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let e = GaussianHmm::random_start(2, CovarianceType::Diag, data, &mut rng).unwrap_err();
    assert_names(&e, seq, column, needle);
    // Single-sequence methods call their sequence 0.
    let one = &data[seq];
    let needle = &format!("sequence 0{tail}");
    assert_names(&model.score(one).unwrap_err(), 0, column, needle);
    assert_names(&model.viterbi(one).unwrap_err(), 0, column, needle);
    assert_names(&model.predict_proba(one).unwrap_err(), 0, column, needle);
}

#[test]
fn nan_and_infinity_are_named_by_sequence_step_and_feature() {
    let mut data = good_gaussian_data();
    data[2][(5, 1)] = f64::NAN;
    every_gaussian_entry_point_fails(&data, 2, Some(1), ", step 5: value NaN in feature 1");
    let mut data = good_gaussian_data();
    data[3][(0, 0)] = f64::NEG_INFINITY;
    every_gaussian_entry_point_fails(&data, 3, Some(0), ", step 0: value -inf");
}

#[test]
fn dimension_mismatch_is_named_by_sequence() {
    let mut data = good_gaussian_data();
    data[1] = DMatrix::zeros(6, 3);
    let model = gaussian();
    let e = Em::new().fit(&mut model.clone(), &data[..]).unwrap_err();
    assert_names(
        &e,
        1,
        None,
        "sequence 1: dimension mismatch: it has 3 features, the model has 2",
    );
    assert_names(
        &model.score(&data[1]).unwrap_err(),
        0,
        None,
        "dimension mismatch",
    );
}

#[test]
fn empty_sequences_and_empty_data_are_errors() {
    let mut data = good_gaussian_data();
    data[3] = DMatrix::zeros(0, 2);
    every_gaussian_entry_point_fails(&data, 3, None, ": is empty");
    let none: Vec<DMatrix<f64>> = Vec::new();
    assert_eq!(
        Em::new().fit(&mut gaussian(), &none[..]).unwrap_err(),
        EmError::EmptyData
    );
    assert_eq!(
        gaussian().log_likelihood_total(&none).unwrap_err(),
        EmError::EmptyData
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    assert_eq!(
        GaussianHmm::random_start(2, CovarianceType::Full, &none, &mut rng).unwrap_err(),
        EmError::EmptyData
    );
    let cat = [vec![0, 1], vec![]];
    assert_names(
        &Em::new().fit(&mut categorical(), &cat[..]).unwrap_err(),
        1,
        None,
        "sequence 1: is empty",
    );
}

#[test]
fn symbol_out_of_range_is_named_by_sequence_and_step() {
    let data = vec![vec![0, 1, 2, 3], vec![1, 1, 2, 9, 0]];
    let model = categorical();
    let needle = "sequence 1, step 3: symbol 9 is out of range: the model has 4 symbols";
    assert_names(
        &Em::new().fit(&mut model.clone(), &data[..]).unwrap_err(),
        1,
        None,
        needle,
    );
    assert_names(
        &model.log_likelihood_total(&data).unwrap_err(),
        1,
        None,
        needle,
    );
    assert_names(
        &model.viterbi(&data[1]).unwrap_err(),
        0,
        None,
        "step 3: symbol 9",
    );
}

#[test]
fn an_impossible_sequence_is_named_and_scores_minus_infinity() {
    // Symbol 3 has probability 0 in state 0, and the chain cannot leave state 0.
    let model = CategoricalHmm::new(
        dvector![1.0, 0.0],
        dmatrix![1.0, 0.0; 0.5, 0.5],
        Categorical::new(dmatrix![0.5, 0.3, 0.2, 0.0; 0.1, 0.1, 0.4, 0.4]).unwrap(),
    )
    .unwrap();
    let data = [vec![0, 1], vec![0, 0, 3, 1]];
    assert_eq!(model.score(&data[1]).unwrap(), f64::NEG_INFINITY);
    let needle = "sequence 1, step 2: the sequence has probability 0";
    assert_names(
        &Em::new().fit(&mut model.clone(), &data[..]).unwrap_err(),
        1,
        None,
        needle,
    );
    assert_names(
        &model.predict_proba(&data[1]).unwrap_err(),
        0,
        None,
        "step 2",
    );
}

fn invalid_parameter(e: EmError, expected: &str, needle: &str) {
    match &e {
        EmError::InvalidParameter { name, reason } => {
            assert_eq!(*name, expected, "{e}");
            assert!(reason.contains(needle), "{e} should contain {needle:?}");
        }
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

#[test]
fn invalid_chain_parameters_are_named() {
    let emission = categorical().emission().clone();
    let new = |start: DVector<f64>, trans: DMatrix<f64>| {
        CategoricalHmm::new(start, trans, emission.clone())
    };
    invalid_parameter(
        new(dvector![0.5, 0.5], dmatrix![0.9, 0.1; 0.25, 0.5]).unwrap_err(),
        "transitions",
        "row 1 sums to 0.75",
    );
    invalid_parameter(
        new(dvector![0.5, 0.5], dmatrix![1.1, -0.1; 0.3, 0.7]).unwrap_err(),
        "transitions",
        "row 0 has entry 1 = -0.1",
    );
    invalid_parameter(
        new(dvector![0.5, 0.5], dmatrix![f64::NAN, 1.0; 0.3, 0.7]).unwrap_err(),
        "transitions",
        "NaN",
    );
    invalid_parameter(
        new(dvector![0.5, 0.25], dmatrix![0.5, 0.5; 0.5, 0.5]).unwrap_err(),
        "start",
        "sums to 0.75",
    );
    invalid_parameter(
        new(dvector![1.5, -0.5], dmatrix![0.5, 0.5; 0.5, 0.5]).unwrap_err(),
        "start",
        "-0.5",
    );
    invalid_parameter(
        new(dvector![1.0], dmatrix![0.5, 0.5; 0.5, 0.5]).unwrap_err(),
        "start",
        "expected 2",
    );
    invalid_parameter(
        new(dvector![0.5, 0.5], dmatrix![1.0]).unwrap_err(),
        "transitions",
        "2×2",
    );
    invalid_parameter(
        Categorical::new(dmatrix![0.5, 0.6; 0.5, 0.5]).unwrap_err(),
        "emission_probabilities",
        "row 0 sums to 1.1",
    );
    invalid_parameter(
        Categorical::new(DMatrix::zeros(0, 3)).unwrap_err(),
        "emission_probabilities",
        "at least one state",
    );
}

#[test]
fn invalid_gaussian_parameters_are_named() {
    let not_pd = Gaussian::new(
        dmatrix![0.0; 1.0],
        Covariances::Full(vec![dmatrix![1.0], dmatrix![-1.0]]),
    )
    .unwrap_err();
    assert!(
        matches!(not_pd, EmError::NotPositiveDefinite { component: 1, .. }),
        "{not_pd}"
    );
    let asym = Gaussian::new(
        dmatrix![0.0, 0.0],
        Covariances::Full(vec![dmatrix![1.0, 0.5; 0.1, 1.0]]),
    )
    .unwrap_err();
    assert!(asym.to_string().contains("not symmetric"), "{asym}");
    let var = Gaussian::new(
        dmatrix![0.0, 0.0; 1.0, 1.0],
        Covariances::Diag(dmatrix![1.0, 1.0; 1.0, 0.0]),
    )
    .unwrap_err();
    assert!(
        matches!(var, EmError::NotPositiveDefinite { component: 1, .. }),
        "{var}"
    );
    invalid_parameter(
        Gaussian::new(
            dmatrix![0.0; f64::NAN],
            Covariances::Diag(dmatrix![1.0; 1.0]),
        )
        .unwrap_err(),
        "means",
        "state 1",
    );
    invalid_parameter(
        Gaussian::new(dmatrix![0.0; 1.0], Covariances::Diag(dmatrix![1.0, 1.0])).unwrap_err(),
        "covariances",
        "2×1",
    );
    invalid_parameter(
        gaussian().with_reg_covar(-1.0).unwrap_err(),
        "reg_covar",
        "≥ 0",
    );
}

#[test]
fn invalid_serialised_models_are_rejected_on_load() {
    let json = serde_json::to_string(&categorical()).unwrap();
    let back: CategoricalHmm = serde_json::from_str(&json).unwrap();
    assert_eq!(back, categorical());
    let broken = json.replace("0.7", "0.8"); // row 0 of the transitions now sums to 1.1
    let e = serde_json::from_str::<CategoricalHmm>(&broken).unwrap_err();
    assert!(e.to_string().contains("transitions"), "{e}");
    let g = serde_json::to_string(&gaussian()).unwrap();
    assert_eq!(serde_json::from_str::<GaussianHmm>(&g).unwrap(), gaussian());
}

#[test]
fn a_collapsing_state_is_a_typed_error_and_reg_covar_keeps_it_finite() {
    // Feature 1 is constant: its variance is exactly 0 in every state.
    let data: Vec<DMatrix<f64>> = (0..3)
        .map(|k| {
            DMatrix::from_fn(30, 2, |t, j| {
                if j == 0 {
                    ((t * 7 + k) % 11) as f64
                } else {
                    3.0
                }
            })
        })
        .collect();
    let start = GaussianHmm::new(
        dvector![0.5, 0.5],
        dmatrix![0.8, 0.2; 0.2, 0.8],
        Gaussian::new(
            dmatrix![2.0, 3.0; 8.0, 3.0],
            Covariances::Diag(dmatrix![4.0, 1.0; 4.0, 1.0]),
        )
        .unwrap(),
    )
    .unwrap();
    let mut model = start.clone();
    let e = Em::new().fit(&mut model, &data[..]).unwrap_err();
    assert!(
        matches!(e, EmError::NotPositiveDefinite { component: 0, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("state 0, after the M-step"), "{e}");
    assert_eq!(model, start, "the failed M-step left the model unchanged");
    let mut ridged = start.with_reg_covar(1e-6).unwrap();
    let report = Em::new()
        .tol(1e-8)
        .max_iter(200)
        .fit(&mut ridged, &data[..])
        .unwrap();
    assert!(report.objective().is_finite());
    assert!(ridged.emission().means().iter().all(|v| v.is_finite()));
}

#[test]
fn statistics_of_the_wrong_shape_are_an_error_not_a_panic() {
    let mut model = categorical();
    let stats = HmmStats {
        start: DVector::from_element(3, 1.0),
        transitions: DMatrix::zeros(3, 3),
        emission: hmm::CategoricalStats::from_counts(DMatrix::zeros(3, 4)),
    };
    assert!(model.m_step(&stats).is_err());
    assert!(model.expected_complete_log_likelihood(&stats).is_nan());
    // Right emission counts, wrong chain counts (a smaller transition matrix).
    let stats = HmmStats {
        start: DVector::from_element(2, 1.0),
        transitions: DMatrix::zeros(1, 1),
        emission: hmm::CategoricalStats::from_counts(DMatrix::from_element(2, 4, 1.0)),
    };
    let before = model.clone();
    assert!(model.m_step(&stats).is_err());
    assert_eq!(model, before);
    assert!(model.expected_complete_log_likelihood(&stats).is_nan());
    let mut g = gaussian();
    let e = g.e_step(&good_gaussian_data(), 0..4).unwrap();
    let mut wrong = e.stats.clone();
    wrong.emission = hmm::GaussianStats::zeros(2, 3, CovarianceType::Full);
    assert!(g.m_step(&wrong).is_err());
    assert!(g.expected_complete_log_likelihood(&wrong).is_nan());
    assert!(g.e_step(&good_gaussian_data(), 2..9).is_err());
}

#[test]
fn invalid_spherical_and_tied_parameters_are_named() {
    let variance = Gaussian::new(
        dmatrix![0.0, 0.0; 1.0, 1.0],
        Covariances::Spherical(dvector![1.0, -0.5]),
    )
    .unwrap_err();
    assert!(
        matches!(variance, EmError::NotPositiveDefinite { component: 1, .. }),
        "{variance}"
    );
    assert!(variance.to_string().contains("state 1"), "{variance}");
    // The tied covariance is no state's: the message names the shared covariance.
    let tied = Gaussian::new(
        dmatrix![0.0, 0.0; 1.0, 1.0],
        Covariances::Tied(dmatrix![1.0, 1.0; 1.0, 1.0]),
    )
    .unwrap_err();
    assert!(
        matches!(tied, EmError::NotPositiveDefinite { component: 0, .. }),
        "{tied}"
    );
    assert!(tied.to_string().contains("shared by all states"), "{tied}");
    invalid_parameter(
        Gaussian::new(
            dmatrix![0.0; 1.0],
            Covariances::Spherical(dvector![1.0, 1.0, 1.0]),
        )
        .unwrap_err(),
        "covariances",
        "2 variances",
    );
    invalid_parameter(
        Gaussian::new(
            dmatrix![0.0, 0.0; 1.0, 1.0],
            Covariances::Tied(dmatrix![1.0]),
        )
        .unwrap_err(),
        "covariances",
        "2×2",
    );
}

#[test]
fn a_tied_hmm_on_collinear_features_is_a_typed_error_naming_the_shared_covariance() {
    // Feature 1 is twice feature 0 in every step: the pooled covariance is singular.
    let data: Vec<DMatrix<f64>> = (0..3)
        .map(|k| DMatrix::from_fn(30, 2, |t, j| ((t * 7 + k) % 11) as f64 * (j + 1) as f64))
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let e = GaussianHmm::random_start(2, CovarianceType::Tied, &data, &mut rng).unwrap_err();
    assert!(
        matches!(e, EmError::NotPositiveDefinite { component: 0, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("pooled covariance"), "{e}");
}
