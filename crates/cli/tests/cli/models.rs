//! `em fit --model t|regression|mfa`: the other mixtures from the command line.

use crate::common::{Scratch, em, fails_with, json, ok, s};

/// Two tight clusters of 60 rows and 3 far outliers.
fn clusters_with_outliers(dir: &Scratch) -> std::path::PathBuf {
    let mut text = String::from("a,b\n");
    for i in 0..120 {
        let centre = if i % 2 == 0 { 0.0 } else { 5.0 };
        let (u, v) = (((i * 37) % 23) as f64 / 23.0, ((i * 11) % 19) as f64 / 19.0);
        text.push_str(&format!("{},{}\n", centre + u, centre + v));
    }
    for (a, b) in [(60.0, -40.0), (-50.0, 70.0), (90.0, 90.0)] {
        text.push_str(&format!("{a},{b}\n"));
    }
    dir.file("t.csv", &text)
}

#[test]
fn t_mixture_keeps_the_clusters_and_names_the_outliers() {
    let dir = Scratch::new();
    let file = clusters_with_outliers(&dir);
    let report = json(&ok(&[
        "fit",
        s(&file),
        "--model",
        "t",
        "-k",
        "2",
        "--json",
        "-q",
    ]));
    assert_eq!(report["model"], "student_t_mixture");
    assert_eq!(report["outlier_rows"], serde_json::json!([121, 122, 123]));
    let means: Vec<f64> = (0..2)
        .map(|c| report["means"][c][0].as_f64().unwrap())
        .collect();
    let (lo, hi) = (means[0].min(means[1]), means[0].max(means[1]));
    assert!(
        (lo - 0.5).abs() < 0.2 && (hi - 5.5).abs() < 0.2,
        "{means:?}"
    );
    assert_eq!(report["dof"].as_array().unwrap().len(), 2);
    let text = ok(&[
        "fit",
        s(&file),
        "--model",
        "t",
        "-k",
        "2",
        "--dof",
        "3",
        "-q",
    ]);
    assert!(text.contains("degrees of freedom fixed"), "{text}");
    assert!(text.contains("ν 3,"), "{text}");
}

#[test]
fn regression_mixture_of_a_response_on_the_other_columns() {
    let dir = Scratch::new();
    let mut text = String::from("x,y\n");
    for i in 0..200 {
        let x = (i % 20) as f64;
        let noise = (((i * 37) % 11) as f64 - 5.0) / 50.0;
        let y = if i % 2 == 0 { 1.0 + 2.0 * x } else { 10.0 - x } + noise;
        text.push_str(&format!("{x},{y}\n"));
    }
    let file = dir.file("r.csv", &text);
    let out = dir.path("r.json");
    let report = json(&ok(&[
        "fit",
        s(&file),
        "--model",
        "regression",
        "--response",
        "y",
        "-k",
        "2",
        "--json",
        "-q",
        "--output",
        s(&out),
    ]));
    assert_eq!(report["model"], "regression_mixture");
    assert_eq!(
        report["predictors"],
        serde_json::json!(["(intercept)", "x"])
    );
    assert!(std::fs::metadata(&out).is_ok());
    let text = ok(&[
        "fit",
        s(&file),
        "--model",
        "regression",
        "--response",
        "2",
        "-k",
        "2",
        "-q",
    ]);
    assert!(text.contains("regressions of y on x"), "{text}");
    // Slopes 2 and −1 are recovered.
    let slope = |line: &str| {
        line.split_whitespace()
            .last()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    let mut slopes: Vec<f64> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("x "))
        .map(slope)
        .collect();
    slopes.sort_by(f64::total_cmp);
    assert!(
        (slopes[0] + 1.0).abs() < 0.01 && (slopes[1] - 2.0).abs() < 0.01,
        "{slopes:?}"
    );
}

#[test]
fn factor_mixture_on_many_columns() {
    let dir = Scratch::new();
    let d = 12;
    let mut text = (0..d)
        .map(|j| format!("c{j}"))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for i in 0..300 {
        let f = ((i * 37) % 101) as f64 / 50.0 - 1.0;
        let centre = if i % 2 == 0 { 0.0 } else { 8.0 };
        let row: Vec<String> = (0..d)
            .map(|j| {
                let e = (((i * 7 + j * 13) % 17) as f64 - 8.0) / 40.0;
                format!("{}", centre + f * (j as f64 / 4.0 - 1.0) + e)
            })
            .collect();
        text.push_str(&(row.join(",") + "\n"));
    }
    let file = dir.file("f.csv", &text);
    let report = json(&ok(&[
        "fit",
        s(&file),
        "--model",
        "mfa",
        "-k",
        "2",
        "--factors",
        "1",
        "--json",
        "-q",
    ]));
    assert_eq!(report["model"], "factor_mixture");
    assert!(report["log_likelihood"].as_f64().unwrap().is_finite());
}

#[test]
fn options_of_one_model_are_refused_with_another() {
    fails_with(
        &em(&["fit", "--model", "t", "-k", "2", "--std-errors"]),
        2,
        &["--std-errors", "--model t"],
    );
    fails_with(
        &em(&["fit", "--model", "t", "-k", "2", "--factors", "2"]),
        2,
        &["--factors"],
    );
    fails_with(
        &em(&["fit", "--model", "regression", "-k", "2"]),
        2,
        &["--response"],
    );
    fails_with(
        &em(&[
            "fit",
            "--model",
            "regression",
            "-k",
            "2",
            "--response",
            "nope",
        ]),
        2,
        &["nope", "eruptions"],
    );
    fails_with(
        &em(&["fit", "--model", "mfa", "-k", "2"]),
        2,
        &["--factors"],
    );
    fails_with(&em(&["fit", "--model", "t"]), 2, &["-k"]);
}

#[test]
fn vb_mixture_keeps_the_two_clusters_of_eight_components() {
    let dir = Scratch::new();
    let file = clusters_with_outliers(&dir);
    // Without the outliers: two tight clusters of 60 rows.
    let text: String = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .take(121)
        .map(|l| format!("{l}\n"))
        .collect();
    let file = dir.file("vb.csv", &text);
    let out = dir.path("vb.json");
    let report = json(&ok(&[
        "fit",
        s(&file),
        "--model",
        "vb",
        "-k",
        "8",
        "--weight-concentration",
        "0.001",
        "--json",
        "-q",
        "--output",
        s(&out),
    ]));
    assert_eq!(report["model"], "bayesian_gaussian_mixture");
    assert_eq!(report["effective_components"], 2);
    assert_eq!(report["weight_prior"], "dirichlet_process");
    assert!(report["elbo"].as_f64().unwrap().is_finite());
    let weights: Vec<f64> = report["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .collect();
    let mut kept: Vec<f64> = (0..8)
        .filter(|&c| weights[c] > 0.01)
        .map(|c| report["component_means"][c][0].as_f64().unwrap())
        .collect();
    kept.sort_by(f64::total_cmp);
    assert!(
        (kept[0] - 0.5).abs() < 0.2 && (kept[1] - 5.5).abs() < 0.2,
        "{kept:?}"
    );
    assert!(std::fs::metadata(&out).is_ok());
    let text = ok(&[
        "fit",
        s(&file),
        "--model",
        "vb",
        "-k",
        "4",
        "--weight-prior",
        "dirichlet-distribution",
        "--covariance",
        "diag",
        "-q",
    ]);
    assert!(
        text.contains("dirichlet_distribution weight prior"),
        "{text}"
    );
    assert!(text.contains("diag covariances"), "{text}");
    fails_with(
        &em(&["fit", s(&file), "--model", "vb", "-k", "2", "--accelerate"]),
        2,
        &["--accelerate", "--model vb"],
    );
    fails_with(
        &em(&[
            "fit",
            s(&file),
            "--model",
            "t",
            "-k",
            "2",
            "--weight-prior",
            "dirichlet-process",
        ]),
        2,
        &["--weight-prior"],
    );
}
