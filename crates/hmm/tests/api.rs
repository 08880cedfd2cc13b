//! The fitted-model API: posteriors, scores, Viterbi, sampling, serialisation, and
//! bit-for-bit reproducible fits whatever the number of threads.

mod common;

use common::*;
use em_core::{Em, LatentModel};
use hmm::{CovarianceType, Covariances, Gaussian, GaussianHmm};
use nalgebra::{DMatrix, dmatrix, dvector};

#[test]
fn posteriors_sum_to_one_and_scores_agree_across_entry_points() {
    let mut r = rng(3);
    for kind in [CovarianceType::Full, CovarianceType::Diag] {
        let model = gaussian_hmm(3, 2, kind, true, &mut r);
        let data = sample_all(&model, &[1, 17, 60], &mut r);
        let mut total = 0.0;
        for x in &data {
            let proba = model.predict_proba(x).unwrap();
            assert_eq!(proba.shape(), (x.nrows(), 3));
            for row in proba.row_iter() {
                assert!((row.sum() - 1.0).abs() < 1e-12);
                assert!(row.iter().all(|&p| (0.0..=1.0 + 1e-12).contains(&p)));
            }
            let score = model.score(x).unwrap();
            let (path, log_joint) = model.viterbi(x).unwrap();
            assert_eq!(path.len(), x.nrows());
            assert!(
                log_joint <= score + 1e-12,
                "one path cannot beat the sum over paths"
            );
            total += score;
        }
        let e = model.e_step(&data, 0..data.len()).unwrap();
        assert!((e.log_likelihood - total).abs() < 1e-10 * total.abs());
        assert!((model.log_likelihood_total(&data).unwrap() - total).abs() < 1e-10 * total.abs());
        // Expected initial counts sum to the number of sequences, transition counts to Σ(T − 1).
        assert!((e.stats.start.sum() - 3.0).abs() < 1e-12);
        assert!((e.stats.transitions.sum() - 75.0).abs() < 1e-10);
        assert!((e.stats.emission.n.sum() - 78.0).abs() < 1e-10);
        // Structural zeros stay zero.
        let mut fitted = model.clone();
        Em::new()
            .tol(0.0)
            .max_iter(3)
            .fit(&mut fitted, &data[..])
            .unwrap();
        for i in 0..3 {
            for j in 0..3 {
                if model.transitions()[(i, j)] == 0.0 {
                    assert_eq!(fitted.transitions()[(i, j)], 0.0);
                }
            }
        }
    }
}

#[test]
fn fits_are_bit_identical_on_one_and_two_threads() {
    let mut r = rng(5);
    let truth = gaussian_hmm(3, 2, CovarianceType::Full, false, &mut r);
    let data = sample_all(&truth, &[40, 3, 77, 12, 1, 50, 9, 31], &mut r);
    let start = gaussian_start(&data, 3, CovarianceType::Full, false, &mut r);
    let run = |threads: usize| {
        let mut m = start.clone();
        let report = Em::new()
            .tol(0.0)
            .max_iter(15)
            .chunk_size(2)
            .threads(threads)
            .fit(&mut m, &data[..])
            .unwrap();
        (m, report.trace)
    };
    let (m1, t1) = run(1);
    let (m2, t2) = run(2);
    assert_eq!(t1, t2);
    assert_eq!(m1, m2);
    // The objective never decreases (exact M-step, no ridge).
    assert!(
        t1.windows(2).all(|w| w[1] >= w[0] - 1e-9 * w[0].abs()),
        "{t1:?}"
    );
}

#[test]
fn two_hundred_dimensions_do_not_underflow() {
    let (s, d) = (2, 200);
    let model = GaussianHmm::new(
        dvector![0.5, 0.5],
        dmatrix![0.9, 0.1; 0.1, 0.9],
        Gaussian::new(
            DMatrix::from_fn(s, d, |k, _| k as f64 * 0.3),
            Covariances::Diag(DMatrix::from_element(s, d, 0.5)),
        )
        .unwrap(),
    )
    .unwrap();
    let mut r = rng(9);
    let data = sample_all(&model, &[40, 25], &mut r);
    // Each step's density is ~e^-210, the sequence's ~e^-8500: only logs and scaling survive.
    let score = model.score(&data[0]).unwrap();
    assert!(score.is_finite() && score < -40.0 * 200.0 * 0.5);
    let (path, _) = model.viterbi(&data[0]).unwrap();
    assert_eq!(path, model.predict(&data[0]).unwrap());
    let report =
        em_core::testing::check_invariants(model, &data[..], 3, Default::default()).unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn samples_follow_the_chain_and_are_reproducible() {
    let model = GaussianHmm::new(
        dvector![1.0, 0.0],
        dmatrix![0.0, 1.0; 1.0, 0.0],
        Gaussian::new(
            dmatrix![-5.0; 5.0],
            Covariances::Full(vec![dmatrix![0.01], dmatrix![0.01]]),
        )
        .unwrap(),
    )
    .unwrap();
    let (x, z) = model.sample(6, &mut rng(1));
    assert_eq!(z, vec![0, 1, 0, 1, 0, 1]);
    assert!(
        x.column(0)
            .iter()
            .zip(&z)
            .all(|(v, &s)| (v - [-5.0, 5.0][s]).abs() < 1.0)
    );
    assert_eq!(model.sample(6, &mut rng(1)).0, x);
    assert_eq!(model.sample(0, &mut rng(1)).0.nrows(), 0);

    // Symbol frequencies of a one-state categorical model match its probabilities.
    let cat = hmm::CategoricalHmm::new(
        dvector![1.0],
        dmatrix![1.0],
        hmm::Categorical::new(dmatrix![0.2, 0.5, 0.3]).unwrap(),
    )
    .unwrap();
    let (symbols, _) = cat.sample(20_000, &mut rng(2));
    for (m, p) in [0.2, 0.5, 0.3].iter().enumerate() {
        let f = symbols.iter().filter(|&&x| x == m).count() as f64 / 20_000.0;
        assert!(
            (f - p).abs() < 5.0 * (p * (1.0 - p) / 20_000.0_f64).sqrt(),
            "{m}: {f}"
        );
    }
}

#[test]
fn fitted_models_round_trip_through_json() {
    let mut r = rng(4);
    let truth = gaussian_hmm(2, 3, CovarianceType::Diag, false, &mut r);
    let data = sample_all(&truth, &[100, 50], &mut r);
    let mut model = gaussian_start(&data, 2, CovarianceType::Diag, false, &mut r)
        .with_reg_covar(1e-6)
        .unwrap();
    Em::new().max_iter(10).fit(&mut model, &data[..]).unwrap();
    let json = serde_json::to_string(&model).unwrap();
    let back: GaussianHmm = serde_json::from_str(&json).unwrap();
    assert_eq!(back, model);
    assert_eq!(back.emission().reg_covar(), 1e-6);
    assert_eq!(model.n_parameters(), 1 + 2 + 2 * 3 + 2 * 3);
    let bic = model.bic(&data).unwrap();
    let aic = model.aic(&data).unwrap();
    assert!(bic > aic, "log 150 > 2");
}

#[test]
fn tolerance_is_per_step_not_per_sequence() {
    let mut r = rng(8);
    let truth = gaussian_hmm(2, 1, CovarianceType::Diag, false, &mut r);
    let lengths = [40, 3, 77, 12];
    let data = sample_all(&truth, &lengths, &mut r);
    let mut m = gaussian_start(&data, 2, CovarianceType::Diag, false, &mut r);
    assert_eq!(m.n_observations(&data[..]), lengths.iter().sum::<usize>());
    let report = Em::new()
        .tol(0.0)
        .max_iter(3)
        .fit(&mut m, &data[..])
        .unwrap();
    assert_eq!(report.n_obs, 132);
    assert_eq!(report.mean_objective(), report.objective() / 132.0);
}

#[test]
fn spherical_and_tied_emissions_round_trip_through_json_and_count_their_parameters() {
    let spherical = Gaussian::new(
        dmatrix![0.0, 1.0; 4.0, -1.0; 2.0, 2.0],
        Covariances::Spherical(dvector![0.5, 1.5, 1.0]),
    )
    .unwrap();
    let tied = Gaussian::new(
        dmatrix![0.0, 1.0; 4.0, -1.0; 2.0, 2.0],
        Covariances::Tied(dmatrix![1.0, 0.2; 0.2, 0.7]),
    )
    .unwrap()
    .with_reg_covar(1e-6)
    .unwrap();
    // 3 × 2 means + 3 variances; 3 × 2 means + one symmetric 2×2 matrix.
    use hmm::Family;
    assert_eq!(spherical.n_parameters(), 6 + 3);
    assert_eq!(tied.n_parameters(), 6 + 3);
    assert_eq!(spherical.covariance(2), Some(dmatrix![1.0, 0.0; 0.0, 1.0]));
    assert_eq!(tied.covariance(0), tied.covariance(2));
    for g in [spherical, tied] {
        let model = GaussianHmm::new(
            dvector![0.2, 0.3, 0.5],
            dmatrix![0.8, 0.1, 0.1; 0.1, 0.8, 0.1; 0.1, 0.1, 0.8],
            g,
        )
        .unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let kind = model.emission().covariance_type();
        assert!(json.contains(&format!("\"{kind}\"")), "{json}");
        let back: GaussianHmm = serde_json::from_str(&json).unwrap();
        assert_eq!(back, model);
        // The whole model's count: 2 start + 3 × 2 transitions + the emissions'.
        assert_eq!(model.n_parameters(), 2 + 6 + 9);
    }
}

#[test]
fn an_unreachable_gaussian_state_keeps_its_mean_and_covariance() {
    use em_core::LatentModel;
    let mut model = GaussianHmm::new(
        dvector![1.0, 0.0],
        dmatrix![1.0, 0.0; 0.5, 0.5],
        Gaussian::new(
            dmatrix![0.0; 9.0],
            Covariances::Full(vec![dmatrix![1.0], dmatrix![4.0]]),
        )
        .unwrap(),
    )
    .unwrap();
    let data = [dmatrix![0.5; -0.5; 1.0]];
    let e = model.e_step(&data[..], 0..1).unwrap();
    model.m_step(&e.stats).unwrap();
    let means = model.emission().means();
    assert!((means[(0, 0)] - 1.0 / 3.0).abs() < 1e-15, "{means}");
    assert_eq!(means[(1, 0)], 9.0);
    assert_eq!(model.emission().covariance(1), Some(dmatrix![4.0]));
}
