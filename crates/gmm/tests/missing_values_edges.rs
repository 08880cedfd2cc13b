//! Missing values modelled by EM (`MissingValues::Model`): edge cases the main tests
//! (`missing_values.rs`) do not reach. Each test states the property it pins.

mod common;

use common::*;
use em_core::testing::check_invariants;
use gmm::{
    Acceleration, CovarianceType, Covariances, GaussianMixture, MissingValues, SampleWeighted,
};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// `truth()` with its covariances reduced to `kind`.
fn truth_as(kind: CovarianceType) -> GaussianMixture {
    let t = truth();
    let full = |k: usize| t.covariance(k).unwrap();
    let covariances = match kind {
        CovarianceType::Full => t.covariances().clone(),
        CovarianceType::Tied => Covariances::Tied(full(0)),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(3, 3, |k, j| full(k)[(j, j)])),
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_fn(3, |k, _| full(k).trace() / 3.0))
        }
    };
    GaussianMixture::new(t.weights().clone(), t.means().clone(), covariances).unwrap()
}

const KINDS: [CovarianceType; 4] = [
    CovarianceType::Full,
    CovarianceType::Tied,
    CovarianceType::Diag,
    CovarianceType::Spherical,
];

/// The mixture of the marginals of `m` on the coordinates `observed` (a complete-data model).
fn marginal_mixture(m: &GaussianMixture, observed: &[usize]) -> GaussianMixture {
    let k_count = m.n_components();
    let d_o = observed.len();
    let means = DMatrix::from_fn(k_count, d_o, |k, a| m.means()[(k, observed[a])]);
    let covariances = Covariances::Full(
        (0..k_count)
            .map(|k| {
                let s = m.covariance(k).unwrap();
                DMatrix::from_fn(d_o, d_o, |a, b| s[(observed[a], observed[b])])
            })
            .collect(),
    );
    GaussianMixture::new(m.weights().clone(), means, covariances).unwrap()
}

/// Runs `body` in a child process of this test binary (so that a stack overflow or abort
/// fails this one test rather than the whole binary).
fn in_child_process(name: &str, body: impl FnOnce()) {
    if std::env::var_os("EM_REVIEW_CHILD").is_some() {
        body();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("EM_REVIEW_CHILD", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child process failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// With fewer than 5·(D + 1) complete rows the start falls back to a single imputation under
/// the one-Gaussian fit, whose own (warm-started) fit must not ask for start data again: that
/// recursed without end once. Run in a child process, so that a stack overflow fails this
/// test alone.
#[test]
fn a_fit_with_few_complete_rows_starts() {
    in_child_process("a_fit_with_few_complete_rows_starts", || {
        let (complete, _) = truth().sample(60, &mut StdRng::seed_from_u64(3));
        // 50 % missing in 3-D: about 1 row in 8 complete, fewer than 5·(3 + 1) = 20.
        let x = knock_out(&complete, 0.5, 4);
        let n_complete = (0..x.nrows())
            .filter(|&i| x.row(i).iter().all(|v| !v.is_nan()))
            .count();
        assert!(n_complete < 20, "{n_complete}");
        let fit = GaussianMixture::builder(2)
            .missing_values(MissingValues::Model)
            .fit(&x)
            .unwrap();
        assert!(fit.report.objective().is_finite());
    });
}

/// The same with the streamed fit (it shares `start_data`).
#[test]
fn a_streamed_fit_with_few_complete_rows_starts() {
    in_child_process("a_streamed_fit_with_few_complete_rows_starts", || {
        let (complete, _) = truth().sample(60, &mut StdRng::seed_from_u64(3));
        let x = knock_out(&complete, 0.5, 4);
        let fit = GaussianMixture::builder(2)
            .missing_values(MissingValues::Model)
            .fit_stream(&mut Rows { x: &x, next: 0 })
            .unwrap();
        assert!(fit.report.objective().is_finite());
    });
}

/// Scoring and prediction of a row with missing values are those of the marginal mixture on
/// its observed coordinates, for every structure and every pattern (all-but-one missing
/// included); BIC and ICL follow from them.
#[test]
fn scoring_an_incomplete_row_is_scoring_its_marginal() {
    let nan = f64::NAN;
    let patterns: [&[usize]; 6] = [&[0], &[1], &[2], &[0, 2], &[1, 2], &[0, 1]];
    for kind in KINDS {
        let m = truth_as(kind).with_missing_values(MissingValues::Model);
        let (complete, _) = m.sample(60, &mut StdRng::seed_from_u64(5));
        let mut x = complete.clone();
        for i in 0..x.nrows() {
            let observed = patterns[i % patterns.len()];
            for j in 0..3 {
                if !observed.contains(&j) {
                    x[(i, j)] = nan;
                }
            }
        }
        let scores = m.score_samples(&x).unwrap();
        let proba = m.predict_proba(&x).unwrap();
        for i in 0..x.nrows() {
            let observed = patterns[i % patterns.len()];
            let marginal = marginal_mixture(&m, observed);
            let xo = DMatrix::from_fn(1, observed.len(), |_, a| x[(i, observed[a])]);
            let s = marginal.score_samples(&xo).unwrap()[0];
            assert!(
                (scores[i] - s).abs() < 1e-10 * (1.0 + s.abs()),
                "{kind} row {i}: {} vs {s}",
                scores[i]
            );
            let p = marginal.predict_proba(&xo).unwrap();
            for k in 0..3 {
                assert!((proba[(i, k)] - p[(0, k)]).abs() < 1e-10, "{kind} row {i}");
            }
        }
        let n = x.nrows() as f64;
        let ll = scores.sum();
        let bic = m.bic(&x).unwrap();
        let p = m.n_parameters() as f64;
        assert!(
            (bic - (-2.0 * ll + p * n.ln())).abs() < 1e-8 * bic.abs(),
            "{kind}"
        );
        assert!(m.icl(&x).unwrap() >= bic - 1e-9 * bic.abs(), "{kind}");
        let predicted = m.predict(&x).unwrap();
        for (i, &k) in predicted.iter().enumerate() {
            let row = proba.row(i);
            assert_eq!(row.transpose().iamax(), k, "{kind} row {i}");
        }
    }
}

/// A fit with missing values is the same whatever the number of threads, bit for bit (the
/// chunks, patterns and cache must not depend on the scheduling).
#[test]
fn threads_do_not_change_a_fit_with_missing_values() {
    let (complete, _) = truth().sample(3000, &mut StdRng::seed_from_u64(11));
    let x = knock_out(&complete, 0.25, 12);
    for kind in KINDS {
        let fit = |threads: usize| {
            GaussianMixture::builder(3)
                .covariance_type(kind)
                .missing_values(MissingValues::Model)
                .chunk_size(256)
                .threads(threads)
                .n_init(2)
                .fit(&x)
                .unwrap()
        };
        let (a, b, c) = (fit(1), fit(2), fit(3));
        assert_eq!(a.report.trace, b.report.trace, "{kind}");
        assert_eq!(a.model, b.model, "{kind}");
        assert_eq!(a.report.trace, c.report.trace, "{kind}");
        assert_eq!(a.model, c.model, "{kind}");
    }
}

/// The EM invariants with sample weights and missing values together (the weights multiply
/// the responsibilities in the expected statistics and the entropy), for every structure,
/// with and without a prior.
#[test]
fn invariants_hold_with_sample_weights_and_missing_values() {
    let (complete, _) = truth().sample(300, &mut StdRng::seed_from_u64(13));
    let x = knock_out(&complete, 0.3, 14);
    let mut rng = StdRng::seed_from_u64(15);
    let w: Vec<f64> = (0..x.nrows())
        .map(|i| {
            if i % 17 == 0 {
                0.0
            } else {
                0.2 + 3.0 * rng.random::<f64>()
            }
        })
        .collect();
    for kind in KINDS {
        for prior in [None, Some(prior(3))] {
            let start = truth_as(kind)
                .with_missing_values(MissingValues::Model)
                .with_prior(prior.clone())
                .unwrap();
            let model = SampleWeighted {
                model: start,
                sample_weight: Some(&w),
            };
            let report = check_invariants(model, &x, 25, TOL).unwrap();
            assert!(report.is_ok(), "{kind} prior {}: {report}", prior.is_some());
        }
    }
}

/// Integer sample weights are repeated rows, with missing values too: the weighted fit from
/// a given start is the fit to the data with each row repeated w times.
#[test]
fn integer_weights_are_repeated_rows_with_missing_values() {
    let (complete, _) = truth().sample(200, &mut StdRng::seed_from_u64(17));
    let x = knock_out(&complete, 0.3, 18);
    let w: Vec<f64> = (0..x.nrows()).map(|i| (i % 3) as f64).collect();
    let repeated_rows: Vec<usize> = (0..x.nrows())
        .flat_map(|i| std::iter::repeat_n(i, i % 3))
        .collect();
    let repeated = DMatrix::from_fn(repeated_rows.len(), 3, |r, j| x[(repeated_rows[r], j)]);
    for kind in KINDS {
        let options = GaussianMixture::builder(3)
            .covariance_type(kind)
            .missing_values(MissingValues::Model)
            .warm_start(truth_as(kind))
            .tol(0.0)
            .max_iter(30);
        let weighted = options.fit_weighted(&x, &w).unwrap();
        let plain = options.fit(&repeated).unwrap();
        let (a, b) = (weighted.model, plain.model);
        assert!((a.means() - b.means()).amax() < 1e-8, "{kind}");
        assert!((a.weights() - b.weights()).amax() < 1e-10, "{kind}");
        for k in 0..3 {
            let diff = (a.covariance(k).unwrap() - b.covariance(k).unwrap()).amax();
            assert!(diff < 1e-8, "{kind} covariance {k}: {diff:e}");
        }
        let (ow, op) = (weighted.report.objective(), plain.report.objective());
        assert!((ow - op).abs() < 1e-8 * op.abs(), "{kind}: {ow} vs {op}");
    }
}

/// SQUAREM moves the parameters through `ParameterVector::set_parameters`; with missing
/// values the cached conditionals must follow. The reported objective is the observed-data
/// log-likelihood of the model returned, and SQUAREM reaches the same optimum as plain EM.
#[test]
fn squarem_with_missing_values_reports_the_models_likelihood() {
    let (complete, _) = truth().sample(1500, &mut StdRng::seed_from_u64(19));
    let x = knock_out(&complete, 0.25, 20);
    for kind in KINDS {
        let options = GaussianMixture::builder(3)
            .covariance_type(kind)
            .missing_values(MissingValues::Model)
            .warm_start(truth_as(kind))
            .tol(1e-12)
            .max_iter(5_000);
        let plain = options.fit(&x).unwrap();
        let fast = options
            .clone()
            .accelerate(Acceleration::Squarem)
            .fit(&x)
            .unwrap();
        for fit in [&plain, &fast] {
            let ll = fit.model.log_likelihood_total(&x).unwrap();
            let objective = fit.report.objective();
            assert!(
                (ll - objective).abs() < 1e-9 * ll.abs(),
                "{kind}: objective {objective} vs log-likelihood {ll}"
            );
        }
        assert!(
            (plain.model.means() - fast.model.means()).amax() < 1e-4,
            "{kind}: {} vs {}",
            plain.model.means(),
            fast.model.means()
        );
    }
}

/// A model with missing values modelled, saved and loaded, scores NaN rows to the same bits.
#[test]
fn serde_round_trip_keeps_missing_values_prior_and_ridge() {
    let (complete, _) = truth().sample(400, &mut StdRng::seed_from_u64(23));
    let x = knock_out(&complete, 0.2, 24);
    let fit = GaussianMixture::builder(3)
        .missing_values(MissingValues::Model)
        .default_prior()
        .reg_covar(1e-4)
        .fit(&x)
        .unwrap();
    let json = serde_json::to_string(&fit.model).unwrap();
    let back: GaussianMixture = serde_json::from_str(&json).unwrap();
    assert_eq!(back, fit.model);
    assert_eq!(back.missing_values(), MissingValues::Model);
    let (a, b) = (
        fit.model.score_samples(&x).unwrap(),
        back.score_samples(&x).unwrap(),
    );
    assert!(
        a.iter()
            .zip(b.iter())
            .all(|(p, q)| p.to_bits() == q.to_bits())
    );
    assert_eq!(fit.model.impute(&x).unwrap(), back.impute(&x).unwrap());
}

/// D = 1: a row missing its only value is an error naming the row, whether fitting,
/// scoring, predicting or imputing.
#[test]
fn one_feature_rows_with_no_value_are_errors() {
    let nan = f64::NAN;
    let x = dmatrix![1.0; nan; 2.0; 3.0];
    let e = GaussianMixture::builder(1)
        .missing_values(MissingValues::Model)
        .fit(&x)
        .unwrap_err();
    assert!(e.to_string().contains("row 1"), "{e}");
    let m = GaussianMixture::new(
        dvector![1.0],
        dmatrix![0.0],
        Covariances::Full(vec![dmatrix![1.0]]),
    )
    .unwrap()
    .with_missing_values(MissingValues::Model);
    for e in [
        m.score_samples(&x).map(|_| ()).unwrap_err(),
        m.predict(&x).map(|_| ()).unwrap_err(),
        m.impute(&x).map(|_| ()).unwrap_err(),
        m.bic(&x).map(|_| ()).unwrap_err(),
    ] {
        assert!(e.to_string().contains("row 1"), "{e}");
    }
}

/// Scale equivariance at extreme scales: the fit to x·1e6 (from the start ·1e6) is the fit to
/// x scaled, and its log-likelihood moves by −(number of observed values)·ln 1e6.
#[test]
fn a_fit_to_rescaled_data_is_the_rescaled_fit() {
    let (complete, _) = truth().sample(800, &mut StdRng::seed_from_u64(29));
    let x = knock_out(&complete, 0.3, 30);
    let c = 1e6;
    let n_observed = x.iter().filter(|v| !v.is_nan()).count() as f64;
    for kind in KINDS {
        let start = truth_as(kind);
        let scaled_start = start.affine_transform(&[c; 3], &[0.0; 3]).unwrap();
        let fit = |x: &DMatrix<f64>, start: GaussianMixture| {
            GaussianMixture::builder(3)
                .covariance_type(kind)
                .missing_values(MissingValues::Model)
                .warm_start(start)
                .tol(0.0)
                .max_iter(50)
                .fit(x)
                .unwrap()
        };
        let a = fit(&x, start);
        let b = fit(&(&x * c), scaled_start);
        assert!(
            (a.model.means() * c - b.model.means()).amax() < 1e-7 * c,
            "{kind}"
        );
        for k in 0..3 {
            let diff =
                (a.model.covariance(k).unwrap() * (c * c) - b.model.covariance(k).unwrap()).amax();
            assert!(diff < 1e-7 * c * c, "{kind} covariance {k}: {diff:e}");
        }
        let shift = -n_observed * c.ln();
        let (la, lb) = (a.report.objective(), b.report.objective());
        assert!(
            (la + shift - lb).abs() < 1e-8 * la.abs().max(1.0),
            "{kind}: {la} + {shift} vs {lb}"
        );
    }
}

/// `affine_transform` (and so `Standardization::to_original`, `em fit --standardize`) keeps
/// the missing-values setting: a model fitted to data with missing values, brought back to
/// the data's units, still scores the NaN rows it was fitted to.
#[test]
fn an_affine_transform_keeps_the_missing_values_setting() {
    let m = truth().with_missing_values(MissingValues::Model);
    let moved = m.affine_transform(&[2.0; 3], &[1.0; 3]).unwrap();
    assert_eq!(moved.missing_values(), MissingValues::Model);
    let nan = f64::NAN;
    assert!(moved.score_samples(&dmatrix![1.0, nan, 2.0]).is_ok());
}

/// More than 64 features: the missingness masks span several words. A row missing
/// coordinates on both sides of the word boundary scores as the marginal on the others, and
/// rows with the same pattern in the second word only are grouped apart from those in the
/// first.
#[test]
fn patterns_beyond_64_features_score_as_marginals() {
    let d = 70;
    let mut rng = StdRng::seed_from_u64(41);
    let means = DMatrix::from_fn(2, d, |k, j| (k as f64) * 2.0 + 0.01 * j as f64);
    let mut a = DMatrix::from_fn(d, d, |_, _| rng.random::<f64>() - 0.5);
    a += DMatrix::identity(d, d) * 3.0;
    let s0 = &a * a.transpose() / d as f64 + DMatrix::identity(d, d) * 0.5;
    let s1 = DMatrix::identity(d, d) * 2.0 + DMatrix::from_element(d, d, 0.3);
    let m = GaussianMixture::new(dvector![0.4, 0.6], means, Covariances::Full(vec![s0, s1]))
        .unwrap()
        .with_missing_values(MissingValues::Model);
    let (complete, _) = m.sample(6, &mut rng);
    let missing: [&[usize]; 6] = [&[3], &[66], &[3, 66], &[63, 64], &[0, 1, 69], &[66]];
    let mut x = complete.clone();
    for (i, miss) in missing.iter().enumerate() {
        for &j in *miss {
            x[(i, j)] = f64::NAN;
        }
    }
    let scores = m.score_samples(&x).unwrap();
    for (i, miss) in missing.iter().enumerate() {
        let observed: Vec<usize> = (0..d).filter(|j| !miss.contains(j)).collect();
        let marginal = marginal_mixture(&m, &observed);
        let xo = DMatrix::from_fn(1, observed.len(), |_, a| x[(i, observed[a])]);
        let s = marginal.score_samples(&xo).unwrap()[0];
        assert!(
            (scores[i] - s).abs() < 1e-9 * (1.0 + s.abs()),
            "row {i}: {} vs {s}",
            scores[i]
        );
    }
}

/// A model with missing values modelled scores, predicts and criticises complete data to
/// the same bits as the same model without the setting (the whole-batch blocks of the
/// modelled setting must not change a complete row's arithmetic).
#[test]
fn complete_rows_score_the_same_bits_whatever_the_setting() {
    let (x, _) = truth().sample(10_000, &mut StdRng::seed_from_u64(43));
    for kind in KINDS {
        let plain = truth_as(kind);
        let modelled = plain.clone().with_missing_values(MissingValues::Model);
        let (a, b) = (
            plain.score_samples(&x).unwrap(),
            modelled.score_samples(&x).unwrap(),
        );
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|(p, q)| p.to_bits() == q.to_bits()),
            "{kind}"
        );
        assert_eq!(
            plain.predict_proba(&x).unwrap(),
            modelled.predict_proba(&x).unwrap(),
            "{kind}"
        );
        // The totals are summed over the same sub-blocks whatever the setting: the same bits.
        let (p, q) = (plain.bic(&x).unwrap(), modelled.bic(&x).unwrap());
        assert_eq!(p.to_bits(), q.to_bits(), "{kind}: {p} vs {q}");
    }
}

/// A streamed fit keeps the `Model` setting for the whole fit (later chunks may have NaN);
/// the sub-blocks do not depend on the setting, so complete data give the same bits.
#[test]
fn a_streamed_fit_of_complete_data_is_the_same_whatever_the_setting() {
    let (x, _) = truth().sample(5000, &mut StdRng::seed_from_u64(53));
    let fit = |missing: MissingValues| {
        GaussianMixture::builder(3)
            .missing_values(missing)
            .chunk_size(2048)
            .fit_stream(&mut Rows { x: &x, next: 0 })
            .unwrap()
    };
    let (a, b) = (fit(MissingValues::Error), fit(MissingValues::Model));
    let (p, q) = (a.report.objective(), b.report.objective());
    assert!((p - q).abs() < 1e-12 * p.abs(), "{p} vs {q}");
    assert!((a.model.means() - b.model.means()).amax() < 1e-9);
    assert_eq!(
        a.report
            .trace
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>(),
        b.report
            .trace
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>(),
        "bits of the streamed objectives differ between settings"
    );
}

/// A streamed fit whose only missing value is far past the start sample (so the sample very
/// likely has none) still models it rather than failing on a non-finite objective.
#[test]
fn a_stream_with_a_missing_value_past_the_sample_models_it() {
    let (mut x, _) = truth().sample(2000, &mut StdRng::seed_from_u64(47));
    x[(1999, 1)] = f64::NAN;
    let options = GaussianMixture::builder(3)
        .missing_values(MissingValues::Model)
        .chunk_size(500);
    let streamed = options
        .fit_stream_observed(
            &mut Rows { x: &x, next: 0 },
            &gmm::stream::StreamOptions { init_sample: 100 },
            &mut em_core::Silent,
        )
        .unwrap();
    assert_eq!(streamed.model.missing_values(), MissingValues::Model);
    assert!(streamed.report.objective().is_finite());
    let ll = streamed.model.log_likelihood_total(&x).unwrap();
    assert!((ll - streamed.report.objective()).abs() < 1e-6 * ll.abs());
}

/// Sample weights that are 0 on every complete row: the rows that count all have missing
/// values. The start (from the complete rows, which then weigh nothing) must not make the
/// fit fail.
#[test]
fn a_weighted_fit_whose_complete_rows_weigh_nothing() {
    let (complete, _) = truth().sample(600, &mut StdRng::seed_from_u64(59));
    let x = knock_out(&complete, 0.2, 60);
    let w: Vec<f64> = (0..x.nrows())
        .map(|i| {
            if x.row(i).iter().any(|v| v.is_nan()) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let fit = GaussianMixture::builder(3)
        .missing_values(MissingValues::Model)
        .fit_weighted(&x, &w);
    let fit = fit.unwrap_or_else(|e| panic!("{e}"));
    assert!(fit.report.objective().is_finite());
}

/// Sample weights of the wrong length are an error, not a panic, when the data have missing
/// values (the start's data are chosen before the weights were checked).
#[test]
fn wrong_sample_weights_with_missing_values_are_an_error() {
    let (complete, _) = truth().sample(600, &mut StdRng::seed_from_u64(61));
    let x = knock_out(&complete, 0.2, 62);
    let options = GaussianMixture::builder(3).missing_values(MissingValues::Model);
    let short = vec![1.0; 10];
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        options.fit_weighted(&x, &short).map(|_| ())
    }));
    match result {
        Ok(Err(e)) => assert!(e.to_string().contains("weight"), "{e}"),
        Ok(Ok(())) => panic!("10 weights for 600 rows accepted"),
        Err(_) => panic!("10 weights for 600 rows: panic instead of an error"),
    }
    let negative: Vec<f64> = (0..x.nrows())
        .map(|i| if i == 7 { -1.0 } else { 1.0 })
        .collect();
    assert!(options.fit_weighted(&x, &negative).is_err());
}
