//! Semi-supervised Gaussian mixtures: the EM invariants of the labelled objective, exact
//! one-hot responsibilities of labelled rows, the supervised MLE when every row is labelled,
//! typed errors, and accuracy with 1 % of the rows labelled against unsupervised EM.

use em_core::testing::prop::matrix;
use em_core::testing::{Tolerance, check_invariants};
use em_core::{EmError, Labelled, LabelledEStep, LatentModel};
use gmm::{CovarianceType, Covariances, GaussianMixture, Prior, SampleWeighted, StudentMixture};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

const TOL: Tolerance = Tolerance {
    relative: 1e-9,
    absolute: 1e-9,
};

/// A start with means at spread rows of `x` and covariances of the structure.
fn start(x: &DMatrix<f64>, kind: CovarianceType, k: usize, scale: f64) -> GaussianMixture {
    let (n, d) = x.shape();
    let means = DMatrix::from_fn(k, d, |c, j| x[((c * 7919) % n, j)] + 0.1 * c as f64);
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full(
            (0..k)
                .map(|c| DMatrix::identity(d, d) * scale * (1.0 + c as f64))
                .collect(),
        ),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(k, d, |c, j| {
            scale * (1.0 + c as f64 + j as f64)
        })),
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_fn(k, |c, _| scale * (1.0 + c as f64)))
        }
        CovarianceType::Tied => Covariances::Tied(DMatrix::identity(d, d) * scale),
    };
    GaussianMixture::new(DVector::from_element(k, 1.0 / k as f64), means, covariances).unwrap()
}

fn prior(d: usize) -> Prior {
    Prior {
        weight_concentration: 2.0,
        mean: DVector::from_element(d, 0.5),
        mean_precision: 0.5,
        dof: d as f64 + 1.5,
        scale: DMatrix::identity(d, d) * 2.0 + DMatrix::from_element(d, d, 0.1),
    }
}

/// Three parallel stripes, long along x (sd `sx`), `gap` apart in y (sd `sy`): row i is
/// drawn from stripe i mod 3.
fn stripes(n_per: usize, gap: f64, sx: f64, sy: f64, seed: u64) -> (DMatrix<f64>, Vec<usize>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (nx, ny) = (Normal::new(0.0, sx).unwrap(), Normal::new(0.0, sy).unwrap());
    let n = 3 * n_per;
    let mut x = DMatrix::zeros(n, 2);
    for i in 0..n {
        x[(i, 0)] = nx.sample(&mut rng);
        x[(i, 1)] = gap * (i % 3) as f64 + ny.sample(&mut rng);
    }
    (x, (0..n).map(|i| i % 3).collect())
}

/// The share of rows whose prediction equals the truth under the best renumbering of the
/// predicted components (all 3! permutations).
fn best_matched_accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let best = perms
        .iter()
        .map(|p| {
            pred.iter()
                .zip(truth)
                .filter(|(a, b)| p[**a] == **b)
                .count()
        })
        .max()
        .unwrap_or(0);
    best as f64 / truth.len() as f64
}

fn exact_accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    pred.iter().zip(truth).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn labelled_gaussian_mixture_satisfies_the_em_invariants(
        x in matrix(8..60, 2, -10.0..10.0),
        kind_index in 0usize..4,
        k in 1usize..4,
        scale in 0.5..20.0f64,
        label_codes in proptest::collection::vec(0usize..8, 60),
        use_prior in any::<bool>(),
    ) {
        let kind = CovarianceType::ALL[kind_index];
        // About half the rows labelled (codes ≥ k mean unlabelled, so fewer labels for small k).
        let labels: Vec<Option<usize>> = label_codes[..x.nrows()]
            .iter()
            .map(|&c| (c < k.max(4)).then_some(c % k))
            .collect();
        let mut model = start(&x, kind, k, scale);
        if use_prior {
            model = model.with_prior(Some(prior(2))).unwrap();
        }
        // Without a prior a component can collapse onto its labelled points: a typed error
        // that ends the run, not a violation; only completed steps are judged.
        match check_invariants(Labelled::new(model, &labels), &x, 25, TOL) {
            Ok(report) => prop_assert!(report.is_ok(), "{kind} prior={use_prior}: {report}"),
            Err(e) => prop_assert!(!use_prior, "{kind} with prior errored: {e}"),
        }
    }

    #[test]
    fn labelled_rows_with_sample_weights_satisfy_the_em_invariants(
        x in matrix(8..40, 3, -5.0..5.0),
        weights in proptest::collection::vec(0.0..3.0f64, 40),
        label_codes in proptest::collection::vec(0usize..4, 40),
        kind_index in 0usize..4,
    ) {
        let kind = CovarianceType::ALL[kind_index];
        let w = &weights[..x.nrows()];
        prop_assume!(w.iter().sum::<f64>() > 1.0);
        let labels: Vec<Option<usize>> =
            label_codes[..x.nrows()].iter().map(|&c| (c < 2).then_some(c)).collect();
        let model = SampleWeighted {
            model: start(&x, kind, 2, 4.0).with_prior(Some(prior(3))).unwrap(),
            sample_weight: Some(w),
        };
        let report = check_invariants(Labelled::new(model, &labels), &x, 20, TOL).unwrap();
        prop_assert!(report.is_ok(), "{kind}: {report}");
    }
}

#[test]
fn labelled_student_mixture_satisfies_the_em_invariants() {
    let (x, z) = stripes(60, 3.0, 2.0, 0.7, 4);
    let labels: Vec<Option<usize>> = z
        .iter()
        .enumerate()
        .map(|(i, &k)| (i % 5 == 0).then_some(k))
        .collect();
    let gm = start(&x, CovarianceType::Full, 3, 2.0);
    let t = StudentMixture::from_gaussian(&gm, gmm::Dof::default()).unwrap();
    let report = check_invariants(Labelled::new(t, &labels), &x, 20, TOL).unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn labelled_rows_get_exactly_one_hot_responsibilities_and_the_rest_do_not_change() {
    let (x, z) = stripes(40, 2.0, 3.0, 1.0, 1);
    let model = start(&x, CovarianceType::Full, 3, 2.0);
    let n = x.nrows();
    // Label every fourth row with a component its data does not favour.
    let labels: Vec<Option<usize>> = (0..n)
        .map(|i| (i % 4 == 0).then_some((z[i] + 1) % 3))
        .collect();
    let proba = model.predict_proba(&x).unwrap();
    let log_p = model.score_samples(&x).unwrap();
    // Row by row, the E-step statistics N_k are the responsibilities.
    let mut expected_ll = 0.0;
    for i in 0..n {
        let e = LabelledEStep::e_step_labelled(&model, &x, i..i + 1, &labels[i..i + 1]).unwrap();
        match labels[i] {
            Some(k) => {
                for j in 0..3 {
                    assert_eq!(e.stats.n[j], if j == k { 1.0 } else { 0.0 }, "row {i}");
                }
                assert_eq!(e.entropy, 0.0, "row {i}");
                // log p(x_i, z_i = k) = log p(x_i) + log γ_ik.
                let joint = log_p[i] + proba[(i, k)].ln();
                assert!((e.log_likelihood - joint).abs() < 1e-10, "row {i}");
                expected_ll += joint;
            }
            None => {
                for j in 0..3 {
                    assert!((e.stats.n[j] - proba[(i, j)]).abs() < 1e-14, "row {i}");
                }
                assert!((e.log_likelihood - log_p[i]).abs() < 1e-10, "row {i}");
                expected_ll += log_p[i];
            }
        }
    }
    // The whole batch at once agrees with the row-by-row sum.
    let all = Labelled::new(model.clone(), &labels)
        .e_step(&x, 0..n)
        .unwrap();
    assert!((all.log_likelihood - expected_ll).abs() < 1e-8 * expected_ll.abs());
    // With no labels the labelled E-step is the E-step.
    let none = vec![None; n];
    let plain = model.e_step(&x, 0..n).unwrap();
    let unlabelled = LabelledEStep::e_step_labelled(&model, &x, 0..n, &none).unwrap();
    assert_eq!(plain, unlabelled);
}

#[test]
fn with_every_row_labelled_one_m_step_gives_the_supervised_mle() {
    let (x, z) = stripes(50, 3.0, 2.0, 0.8, 2);
    let n = x.nrows();
    // Unequal class sizes: drop some rows of class 2.
    let keep: Vec<usize> = (0..n).filter(|&i| z[i] != 2 || i % 2 == 0).collect();
    let x = DMatrix::from_fn(keep.len(), 2, |r, j| x[(keep[r], j)]);
    let z: Vec<usize> = keep.iter().map(|&i| z[i]).collect();
    let labels: Vec<Option<usize>> = z.iter().map(|&k| Some(k)).collect();
    let n = x.nrows() as f64;
    for kind in [CovarianceType::Full, CovarianceType::Diag] {
        let mut model = Labelled::new(start(&x, kind, 3, 5.0), &labels);
        let e = model.e_step(&x, 0..x.nrows()).unwrap();
        model.m_step(&e.stats).unwrap();
        let fitted = &model.model;
        for k in 0..3 {
            let rows: Vec<usize> = (0..z.len()).filter(|&i| z[i] == k).collect();
            let nk = rows.len() as f64;
            assert!(
                (fitted.weights()[k] - nk / n).abs() < 1e-12,
                "{kind} weight {k}"
            );
            let mean: Vec<f64> = (0..2)
                .map(|j| rows.iter().map(|&i| x[(i, j)]).sum::<f64>() / nk)
                .collect();
            for (j, m) in mean.iter().enumerate() {
                assert!(
                    (fitted.means()[(k, j)] - m).abs() < 1e-10,
                    "{kind} mean {k}"
                );
            }
            let cov = DMatrix::from_fn(2, 2, |a, b| {
                rows.iter()
                    .map(|&i| (x[(i, a)] - mean[a]) * (x[(i, b)] - mean[b]))
                    .sum::<f64>()
                    / nk
            });
            let got = fitted.covariance(k).unwrap();
            for a in 0..2 {
                for b in 0..2 {
                    if kind == CovarianceType::Diag && a != b {
                        assert_eq!(got[(a, b)], 0.0);
                    } else {
                        assert!(
                            (got[(a, b)] - cov[(a, b)]).abs() < 1e-10 * cov[(a, a)].abs(),
                            "{kind} covariance {k} ({a}, {b}): {} vs {}",
                            got[(a, b)],
                            cov[(a, b)]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn one_percent_labelled_beats_unsupervised_em_on_overlapping_stripes() {
    // Three stripes 1.6 apart at sd 0.8 (two standard deviations): the Bayes classifier with
    // the true parameters is right on 1 − (4/3)·P(Z > 1) = 78.8 % of the rows. Unsupervised
    // EM (the builder's defaults) splits the stripes elsewhere; 30 labelled rows out of
    // 3,000 (1 %, every hundredth row) pin the split.
    let mut gains = Vec::new();
    for seed in [0, 4] {
        let (x, z) = stripes(1000, 1.6, 6.0, 0.8, seed);
        let labels: Vec<Option<usize>> = (0..z.len())
            .map(|i| (i % 100 == 0).then_some(z[i]))
            .collect();
        assert_eq!(labels.iter().flatten().count(), 30);
        let options = GaussianMixture::builder(3).seed(seed);
        let unsupervised = options.fit(&x).unwrap();
        let semi = options.fit_labelled(&x, &labels).unwrap();
        let a_un = best_matched_accuracy(&unsupervised.model.predict(&x).unwrap(), &z);
        // No renumbering: the labels fix which component is which.
        let a_semi = exact_accuracy(&semi.model.predict(&x).unwrap(), &z);
        assert!(
            a_semi > 0.75,
            "seed {seed}: semi-supervised accuracy {a_semi}"
        );
        assert!(
            a_semi > a_un + 0.05,
            "seed {seed}: semi-supervised {a_semi} vs unsupervised {a_un}"
        );
        gains.push(a_semi - a_un);
    }
    println!("accuracy gains: {gains:?}");
}

#[test]
fn fit_labelled_reports_the_labelled_objective() {
    let (x, z) = stripes(100, 3.0, 3.0, 0.8, 3);
    let labels: Vec<Option<usize>> = (0..z.len())
        .map(|i| (i % 10 == 0).then_some(z[i]))
        .collect();
    let fit = GaussianMixture::builder(3)
        .seed(1)
        .fit_labelled(&x, &labels)
        .unwrap();
    let labelled = Labelled::new(fit.model.clone(), &labels);
    let objective = labelled.log_likelihood(&x, 0..x.nrows()).unwrap();
    assert!((fit.report.objective() - objective).abs() < 1e-8 * objective.abs());
    assert!(objective < fit.model.log_likelihood_total(&x).unwrap());
    // The label start is restart 0, one more than the unsupervised restarts.
    assert_eq!(fit.restarts.len(), gmm::DEFAULT_N_INIT + 1);
}

#[test]
fn label_errors_are_typed_and_name_the_row_and_label() {
    let x = dmatrix![0.0, 0.0; 1.0, 0.5; 5.0, 5.0; 6.0, 5.5; 0.5, 0.2; 5.5, 4.0];
    let options = GaussianMixture::builder(2).covariance_type(CovarianceType::Spherical);
    // A label ≥ K.
    let labels = [Some(0), None, Some(1), Some(2), None, None];
    match options.fit_labelled(&x, &labels) {
        Err(EmError::InvalidInput { row, reason, .. }) => {
            assert_eq!(row, 3);
            assert!(reason.contains("label 2"), "{reason}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    // The wrong number of labels.
    match options.fit_labelled(&x, &[Some(0), None]) {
        Err(EmError::InvalidParameter { name, reason }) => {
            assert_eq!(name, "labels");
            assert!(reason.contains("expected 6 labels"), "{reason}");
        }
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
    // The wrapper checks the count on every E-step, the engine the range of a batch.
    let model = GaussianMixture::new(
        dvector![0.5, 0.5],
        dmatrix![0.0, 0.0; 5.0, 5.0],
        Covariances::Spherical(dvector![1.0, 1.0]),
    )
    .unwrap();
    let short = [Some(0)];
    assert!(matches!(
        Labelled::new(model.clone(), &short).e_step(&x, 0..6),
        Err(EmError::InvalidParameter { name: "labels", .. })
    ));
    let err = model
        .as_mixture()
        .e_step_labelled(&x, 2..4, &[None, Some(7)], None)
        .unwrap_err();
    assert!(
        matches!(err, EmError::InvalidInput { row: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("label 7"), "{err}");
}
