//! Parity with hmmlearn 0.3.3: from the same initial parameters, after 1, 5 and 20 Baum–Welch
//! iterations, the initial distribution, transition matrix, emission parameters and the
//! log-likelihoods agree within 1e-8 relative for `GaussianHMM` (full and diagonal
//! covariances) and `CategoricalHMM`, on three sequences of different lengths (one of length 1).
//!
//! The reference figures are `fixtures/hmmlearn_parity.json`, made by
//! `python3 crates/hmm/tests/fixtures/make_hmmlearn_fixtures.py` (its docstring gives the
//! versions, the hmmlearn settings — priors off, `covars_prior = 0` — and the iteration
//! semantics); this test needs no Python.

use em_core::{Em, Stopping};
use hmm::{Categorical, CategoricalHmm, Covariances, Gaussian, GaussianHmm};
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

const REL_TOL: f64 = 1e-8;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/hmmlearn_parity.json")).expect("valid JSON")
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn matrix(v: &Value) -> DMatrix<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().expect("rows").iter().map(vector).collect();
    DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

/// max |a − b| / max |b|: the difference relative to the array's scale.
fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0_f64, |m, v| m.max(v.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

fn flat_rows(m: &DMatrix<f64>) -> Vec<f64> {
    m.transpose().iter().copied().collect()
}

fn gaussian_covariances(kind: &str, v: &Value) -> Covariances {
    match kind {
        "full" => Covariances::Full(v.as_array().unwrap().iter().map(matrix).collect()),
        _ => Covariances::Diag(matrix(v)),
    }
}

fn flat_covariances(c: &Covariances) -> Vec<f64> {
    match c {
        Covariances::Full(ms) => ms.iter().flat_map(flat_rows).collect(),
        Covariances::Diag(m) => flat_rows(m),
        // The fixtures are full and diag only.
        Covariances::Spherical(v) => v.iter().copied().collect(),
        Covariances::Tied(m) => flat_rows(m),
    }
}

/// Runs `n_iter` iterations exactly (tol 0) and compares; returns the largest difference.
fn compare<F: hmm::Family>(
    case: &Value,
    mut model: hmm::Hmm<F>,
    data: &[F::Owned],
    emission_params: impl Fn(&hmm::Hmm<F>) -> Vec<(&'static str, Vec<f64>, Vec<f64>)>,
) -> f64 {
    let n_iter = case["n_iter"].as_u64().unwrap() as usize;
    let label = format!("{} n_iter={n_iter}", case["kind"]);
    let report = Em::new()
        // The objective-change rule at tol 0, as the fixtures ran: exactly n_iter iterations.
        .stopping(Stopping::ObjectiveChange { tol: 0.0 })
        .max_iter(n_iter)
        .fit(&mut model, data)
        .unwrap();
    assert_eq!(report.iterations, n_iter, "{label}");
    let r = &case["result"];
    let mut diffs = vec![
        (
            "start",
            model.start().iter().copied().collect(),
            vector(&r["start"]),
        ),
        (
            "transitions",
            flat_rows(model.transitions()),
            flat_rows(&matrix(&r["transitions"])),
        ),
        // hmmlearn's history[k] is log p(x | θ_k) for k < n_iter: our trace[0..n_iter].
        (
            "history",
            report.trace[..n_iter].to_vec(),
            vector(&case["history"]),
        ),
        (
            "log_likelihood",
            vec![
                report.objective(),
                model.log_likelihood_total(data).unwrap(),
            ],
            vec![case["log_likelihood"].as_f64().unwrap(); 2],
        ),
    ];
    diffs.extend(emission_params(&model));
    let mut worst = 0.0_f64;
    for (name, ours, theirs) in diffs {
        let d = rel_diff(&ours, &theirs);
        assert!(d < REL_TOL, "{label} {name}: relative difference {d:e}");
        worst = worst.max(d);
    }
    println!("{label}: largest relative difference {worst:e}");
    worst
}

#[test]
fn gaussian_and_categorical_match_hmmlearn_after_1_5_and_20_iterations() {
    let fx = fixture();
    let gaussian_data: Vec<DMatrix<f64>> = fx["gaussian_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(matrix)
        .collect();
    let categorical_data: Vec<Vec<usize>> = fx["categorical_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect()
        })
        .collect();
    let lengths: Vec<usize> = gaussian_data.iter().map(|x| x.nrows()).collect();
    assert_eq!(lengths, vec![160, 95, 1], "sequences of different lengths");
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9, "3 models × 3 iteration counts");
    let mut worst = 0.0_f64;
    for case in cases {
        let kind = case["kind"].as_str().unwrap();
        let init = &case["init"];
        let start = DVector::from_vec(vector(&init["start"]));
        let transitions = matrix(&init["transitions"]);
        let d = if kind == "categorical" {
            let model = CategoricalHmm::new(
                start,
                transitions,
                Categorical::new(matrix(&init["emission_probabilities"])).unwrap(),
            )
            .unwrap();
            compare(case, model, &categorical_data, |m| {
                vec![(
                    "emission_probabilities",
                    flat_rows(m.emission().probabilities()),
                    flat_rows(&matrix(&case["result"]["emission_probabilities"])),
                )]
            })
        } else {
            let emission = Gaussian::new(
                matrix(&init["means"]),
                gaussian_covariances(kind, &init["covariances"]),
            )
            .unwrap();
            let model = GaussianHmm::new(start, transitions, emission).unwrap();
            compare(case, model, &gaussian_data, |m| {
                let r = &case["result"];
                vec![
                    (
                        "means",
                        flat_rows(m.emission().means()),
                        flat_rows(&matrix(&r["means"])),
                    ),
                    (
                        "covariances",
                        flat_covariances(m.emission().covariances()),
                        flat_covariances(&gaussian_covariances(kind, &r["covariances"])),
                    ),
                ]
            })
        };
        worst = worst.max(d);
    }
    println!("largest relative difference from hmmlearn: {worst:e}");
}
