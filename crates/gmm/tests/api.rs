//! The fitted-model API: JSON save/load is lossless and loading validates (errors name the
//! field); `predict`, `predict_proba`, `score_samples`, `score`, `bic` and `aic` agree with
//! each other and with hand computation (densities from statrs); `sample` draws from the
//! mixture; `warm_start` continues a fit; `from_precisions` is `new` with inverted matrices;
//! and fits are bit-for-bit reproducible whatever the thread count.

use gmm::{CovarianceType, Covariances, GaussianMixture};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use statrs::distribution::{Continuous, MultivariateNormal};

/// The mixture the tests draw from: K = 3, D = 2, distinct full covariances.
fn truth() -> GaussianMixture {
    GaussianMixture::new(
        dvector![0.5, 0.3, 0.2],
        dmatrix![0.0, 0.0; 5.0, 1.0; 1.0, 6.0],
        Covariances::Full(vec![
            dmatrix![1.0, 0.6; 0.6, 1.5],
            dmatrix![2.0, -0.5; -0.5, 0.5],
            dmatrix![0.5, 0.0; 0.0, 1.5],
        ]),
    )
    .unwrap()
}

fn data(n: usize, seed: u64) -> DMatrix<f64> {
    truth().sample(n, &mut StdRng::seed_from_u64(seed)).0
}

fn fitted(kind: CovarianceType, x: &DMatrix<f64>) -> GaussianMixture {
    // scikit-learn's ridge: one test's data hold a gross outlier, which a start may give a
    // component of its own.
    GaussianMixture::builder(3)
        .covariance_type(kind)
        .reg_covar(1e-6)
        .n_init(2)
        .seed(4)
        .fit(x)
        .unwrap()
        .model
}

#[test]
fn json_round_trip_gives_an_equal_model_and_bit_identical_predictions() {
    let x = data(600, 1);
    let mut models: Vec<GaussianMixture> =
        CovarianceType::ALL.iter().map(|&k| fitted(k, &x)).collect();
    // A model carrying a prior round-trips too.
    models.push(
        GaussianMixture::builder(3)
            .default_prior()
            .seed(4)
            .fit(&x)
            .unwrap()
            .model,
    );
    for model in models {
        let kind = model.covariance_type();
        let text = serde_json::to_string(&model).unwrap();
        let loaded: GaussianMixture = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{kind}: reload failed: {e}\n{text}"));
        assert_eq!(loaded, model, "{kind}");
        assert_eq!(loaded.reg_covar(), model.reg_covar(), "{kind}");
        assert_eq!(loaded.prior(), model.prior(), "{kind}");
        assert_eq!(loaded.predict(&x).unwrap(), model.predict(&x).unwrap());
        assert_eq!(
            loaded.predict_proba(&x).unwrap(),
            model.predict_proba(&x).unwrap(),
            "{kind}"
        );
        assert_eq!(
            loaded.score_samples(&x).unwrap(),
            model.score_samples(&x).unwrap(),
            "{kind}"
        );
        // Pretty-printed JSON is the same model.
        let pretty = serde_json::to_string_pretty(&model).unwrap();
        assert_eq!(
            serde_json::from_str::<GaussianMixture>(&pretty).unwrap(),
            model
        );
    }
}

/// The message of loading `value` as a mixture, which must fail.
fn load_error(value: &Value) -> String {
    match serde_json::from_value::<GaussianMixture>(value.clone()) {
        Ok(m) => panic!("loaded an invalid model: {m:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn loading_invalid_json_fails_with_a_message_naming_the_field() {
    let model = fitted(CovarianceType::Full, &data(300, 2));
    let good = serde_json::to_value(&model).unwrap();
    // nalgebra stores a matrix as [column-major data, nrows, ncols].
    assert!(good["weights"][0].is_array(), "{good}");

    let mut negative_weight = good.clone();
    negative_weight["weights"][0][0] = Value::from(-0.2);
    let msg = load_error(&negative_weight);
    assert!(msg.contains("weights") && msg.contains("-0.2"), "{msg}");

    let mut unnormalised = good.clone();
    unnormalised["weights"][0][0] = Value::from(0.9);
    let msg = load_error(&unnormalised);
    assert!(msg.contains("weights") && msg.contains("sum"), "{msg}");

    // Four weights for three components.
    let mut wrong_count = good.clone();
    wrong_count["weights"] = serde_json::to_value(dvector![0.25, 0.25, 0.25, 0.25]).unwrap();
    let msg = load_error(&wrong_count);
    assert!(msg.contains("weights"), "{msg}");

    // Two covariance matrices for three components.
    let mut too_few = good.clone();
    too_few["covariances"]["full"]
        .as_array_mut()
        .unwrap()
        .truncate(2);
    let msg = load_error(&too_few);
    assert!(msg.contains("covariances"), "{msg}");

    // 3×3 covariances for D = 2.
    let mut wrong_dim = good.clone();
    wrong_dim["covariances"] =
        serde_json::to_value(Covariances::Full(vec![DMatrix::<f64>::identity(3, 3); 3])).unwrap();
    let msg = load_error(&wrong_dim);
    assert!(msg.contains("covariances"), "{msg}");

    // An indefinite covariance for component 1.
    let mut indefinite = good.clone();
    indefinite["covariances"]["full"][1] =
        serde_json::to_value(dmatrix![1.0, 2.0; 2.0, 1.0]).unwrap();
    let msg = load_error(&indefinite);
    assert!(
        msg.contains("covariance of component 1") && msg.contains("not positive definite"),
        "{msg}"
    );

    let mut negative_ridge = good.clone();
    negative_ridge["reg_covar"] = Value::from(-1.0);
    let msg = load_error(&negative_ridge);
    assert!(msg.contains("reg_covar"), "{msg}");

    // Matrix data inconsistent with its own shape is refused (by nalgebra), not a panic.
    let mut ragged = good.clone();
    ragged["means"][0].as_array_mut().unwrap().pop();
    load_error(&ragged);

    // The untouched value loads.
    assert_eq!(
        serde_json::from_value::<GaussianMixture>(good).unwrap(),
        model
    );
}

/// log Σ_k π_k N(x | μ_k, Σ_k) with every density from statrs.
fn statrs_log_density(model: &GaussianMixture, x: &DMatrix<f64>, i: usize) -> f64 {
    let row = DVector::from_fn(x.ncols(), |j, _| x[(i, j)]);
    let terms: Vec<f64> = (0..model.n_components())
        .map(|k| {
            let mvn = MultivariateNormal::new(
                model.means().row(k).iter().copied().collect(),
                model.covariance(k).unwrap().as_slice().to_vec(),
            )
            .unwrap();
            model.weights()[k].ln() + mvn.ln_pdf(&row)
        })
        .collect();
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
}

#[test]
fn prediction_methods_agree_with_each_other_and_with_statrs_densities() {
    // More rows than one prediction batch (4096), plus rows far out where every density
    // underflows.
    let mut x = data(5000, 3);
    x[(10, 0)] = 1e3;
    x[(10, 1)] = -1e3;
    x[(4500, 0)] = -300.0;
    for kind in CovarianceType::ALL {
        let model = fitted(kind, &x);
        let proba = model.predict_proba(&x).unwrap();
        let labels = model.predict(&x).unwrap();
        let ll = model.score_samples(&x).unwrap();
        assert_eq!(proba.shape(), (5000, 3));
        assert_eq!(labels.len(), 5000);
        for i in 0..x.nrows() {
            let row = proba.row(i);
            assert!(
                row.iter().all(|g| g.is_finite() && *g >= 0.0),
                "{kind} row {i}"
            );
            assert!(
                (row.sum() - 1.0).abs() < 1e-12,
                "{kind} row {i}: {}",
                row.sum()
            );
            let argmax = (0..3).fold(0, |b, k| if row[k] > row[b] { k } else { b });
            assert_eq!(labels[i], argmax, "{kind} row {i}: {row}");
            assert!(ll[i].is_finite(), "{kind} row {i}");
        }
        let mean = ll.sum() / x.nrows() as f64;
        let score = model.score(&x).unwrap();
        assert!((score - mean).abs() < 1e-12 * mean.abs(), "{kind}");
        // Densities by statrs (a full covariance for every structure) on a few rows,
        // including the far ones.
        for i in [0, 1, 10, 777, 4095, 4096, 4500, 4999] {
            let want = statrs_log_density(&model, &x, i);
            assert!(
                (ll[i] - want).abs() <= 1e-10 * want.abs().max(1.0),
                "{kind} row {i}: {} vs statrs {want}",
                ll[i]
            );
        }
    }
}

#[test]
fn bic_and_aic_match_hand_computation_with_the_parameter_count_of_each_structure() {
    let x = data(400, 5);
    let n = x.nrows() as f64;
    for (kind, p) in [
        (CovarianceType::Full, 17),
        (CovarianceType::Diag, 14),
        (CovarianceType::Spherical, 11),
        (CovarianceType::Tied, 11),
    ] {
        let model = fitted(kind, &x);
        assert_eq!(model.n_parameters(), p, "{kind}");
        let ll: f64 = (0..x.nrows())
            .map(|i| statrs_log_density(&model, &x, i))
            .sum();
        let bic = -2.0 * ll + p as f64 * n.ln();
        let aic = -2.0 * ll + 2.0 * p as f64;
        let (got_bic, got_aic) = (model.bic(&x).unwrap(), model.aic(&x).unwrap());
        assert!(
            (got_bic - bic).abs() < 1e-9 * bic.abs(),
            "{kind}: {got_bic} vs {bic}"
        );
        assert!(
            (got_aic - aic).abs() < 1e-9 * aic.abs(),
            "{kind}: {got_aic} vs {aic}"
        );
    }
}

#[test]
fn icl_is_bic_plus_twice_the_map_penalty_of_the_responsibilities_for_every_structure() {
    let x = data(400, 5);
    for kind in CovarianceType::ALL {
        let model = fitted(kind, &x);
        let gamma = model.predict_proba(&x).unwrap();
        let map: f64 = (0..x.nrows()).map(|i| gamma.row(i).max().ln()).sum();
        assert!(map < 0.0, "{kind}: the data's components overlap somewhere");
        let (bic, icl) = (model.bic(&x).unwrap(), model.icl(&x).unwrap());
        let want = bic - 2.0 * map;
        assert!(
            (icl - want).abs() < 1e-9 * want.abs(),
            "{kind}: {icl} vs {want}"
        );
        assert!(icl > bic, "{kind}");
    }
}

#[test]
fn samples_have_the_mixture_mean_covariance_and_label_frequencies() {
    let model = truth();
    let n = 20_000;
    let nf = n as f64;
    let (x, labels) = model.sample(n, &mut StdRng::seed_from_u64(99));
    assert_eq!(x.shape(), (n, 2));
    assert_eq!(labels.len(), n);
    let (k_count, d) = (3, 2);
    let w = model.weights();
    let mu_k = |k: usize| model.means().row(k).transpose();
    // Mixture moments: μ = Σ π_k μ_k, C = Σ π_k (Σ_k + μ_k μ_kᵀ) − μ μᵀ.
    let mu: DVector<f64> = (0..k_count).map(|k| mu_k(k) * w[k]).sum();
    let mut c = -&mu * mu.transpose();
    for k in 0..k_count {
        c += (model.covariance(k).unwrap() + mu_k(k) * mu_k(k).transpose()) * w[k];
    }
    let sample_mean = x.row_mean().transpose();
    let centred = DMatrix::from_fn(n, d, |i, j| x[(i, j)] - sample_mean[j]);
    let sample_cov = centred.transpose() * &centred / (nf - 1.0);

    // Four standard errors. Mean: sqrt(C_jj / n). Covariance entry (a, b): sqrt(Var(y_a y_b)
    // / n) with y = x − μ, where per component y ~ N(m, S), m = μ_k − μ, S = Σ_k, and
    // E[y_a² y_b²] = (S_aa + m_a²)(S_bb + m_b²) + 2 S_ab² + 4 m_a m_b S_ab (Isserlis).
    for j in 0..d {
        let se = (c[(j, j)] / nf).sqrt();
        assert!(
            (sample_mean[j] - mu[j]).abs() <= 4.0 * se,
            "mean {j}: {} vs {} (4 SE = {})",
            sample_mean[j],
            mu[j],
            4.0 * se
        );
    }
    for a in 0..d {
        for b in 0..d {
            let fourth: f64 = (0..k_count)
                .map(|k| {
                    let s = model.covariance(k).unwrap();
                    let m = mu_k(k) - &mu;
                    w[k] * ((s[(a, a)] + m[a] * m[a]) * (s[(b, b)] + m[b] * m[b])
                        + 2.0 * s[(a, b)].powi(2)
                        + 4.0 * m[a] * m[b] * s[(a, b)])
                })
                .sum();
            let se = ((fourth - c[(a, b)].powi(2)) / nf).sqrt();
            assert!(
                (sample_cov[(a, b)] - c[(a, b)]).abs() <= 4.0 * se,
                "covariance ({a},{b}): {} vs {} (4 SE = {})",
                sample_cov[(a, b)],
                c[(a, b)],
                4.0 * se
            );
        }
    }
    // Label k occurs with frequency π_k (binomial SE), and the rows labelled k have mean μ_k.
    for k in 0..k_count {
        let rows: Vec<usize> = (0..n).filter(|&i| labels[i] == k).collect();
        let freq = rows.len() as f64 / nf;
        let se = (w[k] * (1.0 - w[k]) / nf).sqrt();
        assert!(
            (freq - w[k]).abs() <= 4.0 * se,
            "label {k}: {freq} vs {}",
            w[k]
        );
        let s = model.covariance(k).unwrap();
        for j in 0..d {
            let m = rows.iter().map(|&i| x[(i, j)]).sum::<f64>() / rows.len() as f64;
            let se = (s[(j, j)] / rows.len() as f64).sqrt();
            assert!(
                (m - model.means()[(k, j)]).abs() <= 4.0 * se,
                "label {k} mean {j}: {m}"
            );
        }
    }
    // The same generator state gives the same draws.
    let again = model.sample(n, &mut StdRng::seed_from_u64(99));
    assert_eq!(again, (x, labels));
}

#[test]
fn warm_start_continues_from_the_fit_without_lowering_the_objective() {
    let x = data(1500, 6);
    for kind in CovarianceType::ALL {
        let first = GaussianMixture::builder(3)
            .covariance_type(kind)
            .seed(8)
            .fit(&x)
            .unwrap();
        assert!(first.report.converged, "{kind}");
        let again = GaussianMixture::builder(3)
            .covariance_type(kind)
            .warm_start(first.model.clone())
            .fit(&x)
            .unwrap();
        let (o1, o2) = (first.report.objective(), again.report.objective());
        // The warm start begins exactly where the first fit ended.
        assert_eq!(again.report.trace[0], o1, "{kind}");
        // reg_covar makes the M-step inexact, so allow rounding-sized decreases only.
        assert!(o2 >= o1 - 1e-9 * o1.abs(), "{kind}: {o2} < {o1}");
        assert!(again.report.converged, "{kind}");
        assert!(
            again.report.iterations <= 3,
            "{kind}: {} iterations after a converged fit",
            again.report.iterations
        );
        let cold_iterations = first.report.iterations;
        assert!(again.report.iterations <= cold_iterations, "{kind}");
    }
}

/// Restarts from given parameters would all repeat one fit: however many are asked for, one
/// runs, and its result is the single run's.
#[test]
fn a_given_start_runs_once_whatever_n_init_says() {
    let x = data(800, 12);
    let start = truth();
    let fit = |n_init: usize| {
        let options = GaussianMixture::builder(3)
            .warm_start(start.clone())
            .n_init(n_init)
            .max_iter(5);
        assert_eq!(options.restarts(), 1);
        options.fit(&x).unwrap()
    };
    let (once, thrice) = (fit(1), fit(3));
    assert_eq!(thrice.restarts.len(), 1);
    assert_eq!(thrice.best_restart, 0);
    assert_eq!(thrice.report.trace, once.report.trace);
    assert_eq!(thrice.model.means(), once.model.means());
    // Without a given start, every restart asked for runs.
    assert_eq!(GaussianMixture::builder(3).n_init(4).restarts(), 4);
    let random = GaussianMixture::builder(3)
        .n_init(2)
        .max_iter(5)
        .fit(&x)
        .unwrap();
    assert_eq!(random.restarts.len(), 2);
}

#[test]
fn from_precisions_is_new_with_inverted_matrices() {
    let x = data(200, 7);
    let means = dmatrix![0.0, 0.0; 5.0, 1.0; 1.0, 6.0];
    let w = dvector![0.5, 0.3, 0.2];
    let full = vec![
        dmatrix![1.0, 0.6; 0.6, 1.5],
        dmatrix![2.0, -0.5; -0.5, 0.5],
        dmatrix![0.5, 0.0; 0.0, 1.5],
    ];
    let inv = |m: &DMatrix<f64>| m.clone().try_inverse().unwrap();
    let cases = [
        (
            Covariances::Full(full.clone()),
            Covariances::Full(full.iter().map(inv).collect()),
        ),
        (
            Covariances::Tied(full[0].clone()),
            Covariances::Tied(inv(&full[0])),
        ),
        (
            Covariances::Diag(dmatrix![1.0, 2.0; 0.5, 0.25; 3.0, 1.5]),
            Covariances::Diag(dmatrix![1.0, 2.0; 0.5, 0.25; 3.0, 1.5].map(|v| 1.0 / v)),
        ),
        (
            Covariances::Spherical(dvector![1.0, 0.3, 2.5]),
            Covariances::Spherical(dvector![1.0, 1.0 / 0.3, 1.0 / 2.5]),
        ),
    ];
    for (cov, prec) in cases {
        let a = GaussianMixture::new(w.clone(), means.clone(), cov).unwrap();
        let b = GaussianMixture::from_precisions(w.clone(), means.clone(), prec).unwrap();
        let kind = a.covariance_type();
        assert_eq!(b.covariance_type(), kind);
        assert_eq!(a.weights(), b.weights());
        assert_eq!(a.means(), b.means());
        for k in 0..3 {
            let (ca, cb) = (a.covariance(k).unwrap(), b.covariance(k).unwrap());
            assert!((ca - &cb).amax() < 1e-12, "{kind} covariance {k}");
            let (pa, pb) = (a.precision(k).unwrap(), b.precision(k).unwrap());
            assert!((pa - pb).amax() < 1e-12, "{kind} precision {k}");
        }
        let (la, lb) = (a.score_samples(&x).unwrap(), b.score_samples(&x).unwrap());
        assert!((la - lb).amax() < 1e-12, "{kind}");
        assert_eq!(a.predict(&x).unwrap(), b.predict(&x).unwrap(), "{kind}");
    }
}

#[test]
fn same_seed_gives_bit_identical_fits_whatever_the_thread_count() {
    let x = data(5000, 8);
    for kind in CovarianceType::ALL {
        let fit = |threads: usize, chunk: Option<usize>| {
            let b = GaussianMixture::builder(3)
                .covariance_type(kind)
                .n_init(2)
                .seed(17)
                .tol(1e-6)
                .threads(threads);
            match chunk {
                Some(c) => b.chunk_size(c),
                None => b,
            }
            .fit(&x)
            .unwrap()
        };
        for chunk in [Some(97), None] {
            let one = fit(1, chunk);
            for threads in [2, 3] {
                let many = fit(threads, chunk);
                assert_eq!(many.model, one.model, "{kind} {threads} threads {chunk:?}");
                assert_eq!(many.report.trace, one.report.trace, "{kind} {chunk:?}");
                assert_eq!(many.best_restart, one.best_restart, "{kind} {chunk:?}");
            }
            // Running the same fit again changes nothing either.
            assert_eq!(fit(1, chunk).model, one.model, "{kind} {chunk:?}");
        }
    }
}
