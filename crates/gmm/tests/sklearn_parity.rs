//! Parity with scikit-learn's `GaussianMixture`: from the same initial parameters, after 1, 5
//! and 50 EM iterations with the same `reg_covar`, weights, means, covariances and the
//! log-likelihood agree within 1e-8 relative, for every covariance type on two data sets.
//!
//! The reference figures are `fixtures/sklearn_parity.json`, made by
//! `python3 crates/gmm/tests/fixtures/make_sklearn_parity.py` (scikit-learn 1.9.1); this test
//! needs no Python.

use em_core::{Em, Stopping};
use gmm::{CovarianceType, Covariances, GaussianMixture};
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

const REL_TOL: f64 = 1e-8;

fn fixture() -> Value {
    let text = include_str!("fixtures/sklearn_parity.json");
    serde_json::from_str(text).expect("fixture is valid JSON")
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn matrix(v: &Value) -> DMatrix<f64> {
    let rows: Vec<Vec<f64>> = v
        .as_array()
        .expect("array of rows")
        .iter()
        .map(vector)
        .collect();
    DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

fn covariances(kind: CovarianceType, v: &Value) -> Covariances {
    match kind {
        CovarianceType::Full => {
            Covariances::Full(v.as_array().unwrap().iter().map(matrix).collect())
        }
        CovarianceType::Diag => Covariances::Diag(matrix(v)),
        CovarianceType::Spherical => Covariances::Spherical(DVector::from_vec(vector(v))),
        CovarianceType::Tied => Covariances::Tied(matrix(v)),
    }
}

/// max |a − b| / max(max |b|, tiny) over all entries: relative to the array's scale.
fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0_f64, |m, v| m.max(v.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

fn flat(c: &Covariances) -> Vec<f64> {
    match c {
        // nalgebra is column-major but the matrices are symmetric, so order agrees.
        Covariances::Full(ms) => ms.iter().flat_map(|m| m.iter().copied()).collect(),
        Covariances::Diag(m) => m.transpose().iter().copied().collect(),
        Covariances::Spherical(v) => v.iter().copied().collect(),
        Covariances::Tied(m) => m.iter().copied().collect(),
    }
}

#[test]
fn matches_scikit_learn_after_1_5_and_50_iterations() {
    let fx = fixture();
    let reg_covar = fx["reg_covar"].as_f64().unwrap();
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(
        cases.len(),
        24,
        "2 data sets × 4 covariance types × 3 iteration counts"
    );
    let mut worst = 0.0_f64;
    for case in cases {
        let name = case["dataset"].as_str().unwrap();
        let kind: CovarianceType = case["covariance_type"].as_str().unwrap().parse().unwrap();
        let n_iter = case["n_iter"].as_u64().unwrap() as usize;
        let x = matrix(&fx["datasets"][name]["x"]);
        let init = &case["init"];
        let mut model = GaussianMixture::new(
            DVector::from_vec(vector(&init["weights"])),
            matrix(&init["means"]),
            covariances(kind, &init["covariances"]),
        )
        .unwrap()
        .with_reg_covar(reg_covar)
        .unwrap();
        let report = Em::new()
            // scikit-learn's rule (the change of the mean log-likelihood), at tol 0 as the
            // fixtures ran it: exactly n_iter iterations.
            .stopping(Stopping::ObjectiveChange { tol: 0.0 })
            .max_iter(n_iter)
            .fit(&mut model, &x)
            .unwrap();
        assert_eq!(report.iterations, n_iter);

        let want = &case["result"];
        let label = format!("{name}/{kind}/{n_iter}");
        let checks = [
            (
                "weights",
                rel_diff(model.weights().as_slice(), &vector(&want["weights"])),
            ),
            (
                "means",
                rel_diff(
                    model.means().transpose().as_slice(),
                    matrix(&want["means"]).transpose().as_slice(),
                ),
            ),
            (
                "covariances",
                rel_diff(
                    &flat(model.covariances()),
                    &flat(&covariances(kind, &want["covariances"])),
                ),
            ),
            (
                "log_likelihood",
                rel_diff(
                    &[report.objective()],
                    &[want["log_likelihood"].as_f64().unwrap()],
                ),
            ),
            (
                "responsibilities",
                rel_diff(
                    model
                        .predict_proba(&x.rows(0, 5).into_owned())
                        .unwrap()
                        .transpose()
                        .as_slice(),
                    matrix(&want["responsibilities_first5"])
                        .transpose()
                        .as_slice(),
                ),
            ),
        ];
        for (what, diff) in checks {
            assert!(
                diff < REL_TOL,
                "{label}: {what} differs from scikit-learn by {diff:e} (relative)"
            );
            worst = worst.max(diff);
        }
        // scikit-learn's lower_bound_ is the mean log-likelihood before the last M-step.
        let before_last = report.trace[n_iter - 1] / x.nrows() as f64;
        let lb = want["lower_bound"].as_f64().unwrap();
        assert!(
            ((before_last - lb) / lb).abs() < REL_TOL,
            "{label}: lower_bound {before_last} vs {lb}"
        );
    }
    eprintln!("largest relative difference from scikit-learn: {worst:e}");
}
