//! `--standardize`: fit on z-scores, everything reported in the original units.

use crate::common::{Scratch, em, fails_with, json, ok, s};

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn the_report_is_in_the_original_units() {
    let raw = json(&ok(&["fit", "--json"]));
    let st = json(&ok(&["fit", "--json", "--standardize"]));
    // EM is equivariant under a change of units for tied covariances (and the hc start works
    // on whitened data): the same fit, reported in the same units.
    for key in ["log_likelihood", "bic", "aic"] {
        let (a, b) = (f(&raw[key]), f(&st[key]));
        assert!((a - b).abs() < 1e-6 * a.abs(), "{key}: {a} vs {b}");
    }
    // The same means, perhaps in another order (a start on slightly different numbers).
    let sorted = |r: &serde_json::Value| {
        let mut m: Vec<Vec<f64>> = r["means"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row.as_array().unwrap().iter().map(f).collect())
            .collect();
        m.sort_by(|a, b| a[0].total_cmp(&b[0]));
        m
    };
    for (a, b) in sorted(&raw).iter().zip(sorted(&st)) {
        for (a, b) in a.iter().zip(b) {
            assert!((a - b).abs() < 1e-6 * a.abs().max(1.0), "{a} vs {b}");
        }
    }
    let trace = st["trace"].as_array().unwrap();
    assert!((f(trace.last().unwrap()) - f(&st["log_likelihood"])).abs() < 1e-6);
    assert_eq!(st["standardized"]["scale"].as_array().unwrap().len(), 2);
    assert!(raw.get("standardized").is_none());
}

#[test]
fn the_log_likelihood_moves_by_the_log_jacobian() {
    // Fit the z-scores themselves, then --standardize on the raw data: ℓ_x = ℓ_z − N Σ log s.
    let st = json(&ok(&[
        "fit",
        "--json",
        "--standardize",
        "-k",
        "2",
        "--covariance",
        "diag",
    ]));
    let center: Vec<f64> = st["standardized"]["center"]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .collect();
    let scale: Vec<f64> = st["standardized"]["scale"]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .collect();
    let faithful = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/faithful.csv"
    ))
    .unwrap();
    let mut z = String::from("eruptions,waiting\n");
    let mut n = 0;
    for line in faithful.lines().skip(1).filter(|l| !l.is_empty()) {
        let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        z.push_str(&format!(
            "{},{}\n",
            (v[0] - center[0]) / scale[0],
            (v[1] - center[1]) / scale[1]
        ));
        n += 1;
    }
    let d = Scratch::new();
    let zf = d.file("z.csv", &z);
    let on_z = json(&ok(&[
        "fit",
        "--json",
        "-k",
        "2",
        "--covariance",
        "diag",
        s(&zf),
    ]));
    let shift = -(n as f64) * scale.iter().map(|s| s.ln()).sum::<f64>();
    let (lz, lx) = (f(&on_z["log_likelihood"]), f(&st["log_likelihood"]));
    assert!(
        (lx - (lz + shift)).abs() < 1e-6 * lx.abs(),
        "{lx} vs {lz} + {shift}"
    );
}

#[test]
fn the_saved_model_predicts_raw_data() {
    let d = Scratch::new();
    let iris = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/r/iris.csv");
    let (a, b) = (d.path("a.json"), d.path("b.json"));
    ok(&["fit", "-q", "-k", "3", "--output", s(&a), iris]);
    ok(&[
        "fit",
        "-q",
        "-k",
        "3",
        "--standardize",
        "--output",
        s(&b),
        iris,
    ]);
    let pa = ok(&["predict", "--model", s(&a), iris]);
    let pb = ok(&["predict", "--model", s(&b), iris]);
    let col = |text: &str, j: usize| -> Vec<String> {
        text.lines()
            .skip(1)
            .map(|l| l.split(',').nth(j).unwrap().to_string())
            .collect()
    };
    // The same partition (column 4, up to the order of the components) and log-densities to
    // within rounding (column 5).
    let mut relabel = std::collections::HashMap::new();
    for (a, b) in col(&pa, 4).into_iter().zip(col(&pb, 4)) {
        assert_eq!(relabel.entry(a).or_insert_with(|| b.clone()), &b);
    }
    for (x, y) in col(&pa, 5).iter().zip(col(&pb, 5)) {
        let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
        assert!((x - y).abs() < 1e-5 * x.abs().max(1.0), "{x} vs {y}");
    }
}

#[test]
fn spherical_is_refused_with_a_reason() {
    fails_with(
        &em(&[
            "fit",
            "--standardize",
            "-k",
            "2",
            "--covariance",
            "spherical",
        ]),
        2,
        &[
            "--standardize cannot be used with a spherical covariance",
            "--covariance diag",
        ],
    );
    fails_with(
        &em(&[
            "select",
            "--standardize",
            "-k",
            "1..2",
            "--covariance",
            "spherical",
        ]),
        2,
        &["--standardize cannot be used with a spherical covariance"],
    );
    // From `all`, select leaves spherical out with a note.
    let out = em(&["select", "--standardize", "-k", "1..2", "--json"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("leaves out spherical"));
    let r = json(&String::from_utf8_lossy(&out.stdout));
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["covariance_type"] != "spherical"));
}

#[test]
fn a_constant_column_has_no_z_score() {
    let d = Scratch::new();
    let p = d.file("c.csv", "a,b\n1,3\n2,3\n4,3\n5,3\n");
    fails_with(
        &em(&["fit", "--standardize", "-k", "1", s(&p)]),
        2,
        &[
            "--standardize: column \"b\"",
            "is constant (every value is 3)",
            "--drop b",
        ],
    );
}
