//! `em fit`: the bundled data, CSV files with and without a header, the JSON report.

use crate::common::{Scratch, em, em_in, fails_with, json, ok, s, two_groups};

#[test]
fn fit_without_a_file_fits_old_faithful_with_mclusts_choice() {
    let out = ok(&["fit"]);
    assert!(out.contains("Old Faithful data: 272 rows × 2 columns (eruptions, waiting)"));
    assert!(out.contains("K = 3, tied covariance"));
    assert!(out.contains("mclust's choice"));
    for field in [
        "converged",
        "log-likelihood",
        "BIC",
        "AIC",
        "weight",
        "mean",
        "shared covariance",
    ] {
        assert!(out.contains(field), "{field} missing from\n{out}");
    }
    assert_eq!(out.matches("\ncomponent ").count(), 3);
}

#[test]
fn json_report_has_every_field_with_consistent_values() {
    let r = json(&ok(&["fit", "--json"]));
    for field in [
        "model",
        "covariance_type",
        "weights",
        "means",
        "covariances",
        "log_likelihood",
        "mean_log_likelihood",
        "n_iter",
        "converged",
        "stopping",
        "estimated_distance",
        "estimated_gap",
        "trace",
        "bic",
        "aic",
        "n_parameters",
    ] {
        assert!(r.get(field).is_some(), "{field} missing");
    }
    assert_eq!(r["model"], "gaussian_mixture");
    assert_eq!(r["covariance_type"], "tied");
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let weights: Vec<f64> = r["weights"].as_array().unwrap().iter().map(f).collect();
    assert_eq!(weights.len(), 3);
    assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let means = r["means"].as_array().unwrap();
    assert!(means.iter().all(|m| m.as_array().unwrap().len() == 2));
    // Tied: three full 2×2 matrices, all the same.
    let covs = r["covariances"].as_array().unwrap();
    assert_eq!(covs.len(), 3);
    assert!(covs.iter().all(|c| c == &covs[0]));
    assert_eq!(covs[0].as_array().unwrap().len(), 2);
    let (ll, mean_ll) = (f(&r["log_likelihood"]), f(&r["mean_log_likelihood"]));
    let n = 272.0_f64;
    assert!((ll - mean_ll * n).abs() < 1e-9 * ll.abs());
    let p = r["n_parameters"].as_u64().unwrap();
    assert_eq!(p, 2 + 3 * 2 + 3); // weights, means, one shared covariance
    assert!((f(&r["bic"]) - (-2.0 * ll + p as f64 * n.ln())).abs() < 1e-9);
    assert!((f(&r["aic"]) - (-2.0 * ll + 2.0 * p as f64)).abs() < 1e-9);
    let trace: Vec<f64> = r["trace"].as_array().unwrap().iter().map(f).collect();
    assert_eq!(trace.len() as u64, r["n_iter"].as_u64().unwrap());
    assert!((trace[trace.len() - 1] - ll).abs() < 1e-9 * ll.abs());
    assert!(trace.windows(2).all(|w| w[1] >= w[0] - 1e-9 * w[0].abs()));
    assert_eq!(r["converged"], true);
    // The default stopping rule runs to the optimum, −1126.3159278 (mclust publishes
    // −1126.326); scikit-learn's rule at its default stops at −1127.16.
    assert!((ll - -1126.3159278).abs() < 1e-6, "{ll}");
    assert_eq!(r["stopping"]["rule"], "parameters");
    assert_eq!(r["stopping"]["tol"], 1e-7);
    assert!(f(&r["estimated_distance"]) < 1e-7);
}

#[test]
fn stopping_rules_are_one_option_away_and_named_in_the_report() {
    // scikit-learn's defaults, all of them: its start, restarts, ridge and rule.
    let sklearn = json(&ok(&[
        "fit",
        "--json",
        "--init",
        "kmeans",
        "--n-init",
        "1",
        "--reg-covar",
        "1e-6",
        "--stopping",
        "objective-change",
    ]));
    assert_eq!(sklearn["stopping"]["rule"], "objective-change");
    assert_eq!(sklearn["stopping"]["tol"], 1e-3);
    assert_eq!(sklearn["converged"], true);
    assert!(sklearn["estimated_distance"].is_null());
    let ll = sklearn["log_likelihood"].as_f64().unwrap();
    assert!((-1127.2..-1127.1).contains(&ll), "{ll}");
    let default = json(&ok(&["fit", "--json"]));
    assert!(sklearn["n_iter"].as_u64().unwrap() < default["n_iter"].as_u64().unwrap());

    let aitken = json(&ok(&[
        "fit",
        "--json",
        "--stopping",
        "aitken",
        "--tol",
        "1e-11",
    ]));
    assert_eq!(aitken["stopping"]["rule"], "aitken");
    assert_eq!(aitken["stopping"]["tol"], 1e-11);
    assert!(aitken["estimated_gap"].as_f64().unwrap() < 1e-11);

    let summary = ok(&["fit"]);
    assert!(summary.contains("(parameters < 1e-7"), "{summary}");
    let short = ok(&["fit", "--max-iter", "5"]);
    assert!(short.contains("NO, stopped after 5 iterations"), "{short}");
    assert!(short.contains("reached --max-iter 5"), "{short}");
}

#[test]
fn header_and_headerless_files_and_stdin_give_the_same_fit() {
    let dir = Scratch::new();
    let rows = two_groups(60).join("\n");
    let plain = dir.file("plain.csv", &format!("{rows}\n"));
    let with_header = dir.file("header.csv", &format!("u,v\n\n{rows}\n\n"));
    let args = |p: &str| -> Vec<String> {
        ["fit", p, "-k", "2", "--json", "--seed", "4"]
            .map(String::from)
            .to_vec()
    };
    let run = |a: Vec<String>, stdin: Option<&str>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = em_in(dir.dir.path(), &a, stdin);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&String::from_utf8(out.stdout).unwrap())
    };
    let a = run(args(s(&plain)), None);
    let mut b = run(args(s(&with_header)), None);
    let c = run(args("-"), Some(&rows));
    // Only a file with a header gives the model file feature names.
    assert!(a.get("columns").is_none());
    assert!(b["columns"].is_array());
    b.as_object_mut().unwrap().remove("columns");
    assert_eq!(a, b);
    assert_eq!(a, c);
    let summary = ok(&["fit", s(&with_header), "-k", "2"]);
    assert!(summary.contains("mean           u "), "{summary}");
    let summary = ok(&["fit", s(&plain), "-k", "2", "--covariance", "diag"]);
    assert!(summary.contains("mean           x0 "), "{summary}");
    assert!(summary.contains("variances"));
}

#[test]
fn options_reach_the_fit() {
    let one = json(&ok(&["fit", "--json", "--max-iter", "1", "--tol", "0"]));
    assert_eq!(one["n_iter"], 1);
    assert_eq!(one["converged"], false);
    let spherical = json(&ok(&[
        "fit",
        "-k",
        "2",
        "--covariance",
        "spherical",
        "--json",
    ]));
    assert_eq!(spherical["covariance_type"], "spherical");
    assert_eq!(spherical["weights"].as_array().unwrap().len(), 2);
    // Restarts, initialisations and threads: every combination fits.
    for init in ["kmeans", "kmeans++", "random", "data"] {
        let r = json(&ok(&[
            "fit",
            "-k",
            "2",
            "--init",
            init,
            "--n-init",
            "2",
            "--seed",
            "9",
            "--threads",
            "2",
            "--json",
        ]));
        assert!(r["log_likelihood"].as_f64().unwrap() < -1000.0, "{init}");
    }
    // The same seed gives the same fit.
    let a = ok(&[
        "fit", "-k", "4", "--init", "random", "--seed", "5", "--json",
    ]);
    let b = ok(&[
        "fit", "-k", "4", "--init", "random", "--seed", "5", "--json",
    ]);
    assert_eq!(a, b);
}

#[test]
fn accelerate_reaches_the_same_fit_in_fewer_iterations() {
    // Old Faithful, K = 3 tied (the default without a file), run to a tight tolerance.
    let args = ["fit", "--tol", "1e-10", "--max-iter", "5000"];
    let plain = json(&ok(&[&args[..], &["--json"]].concat()));
    let fast = json(&ok(&[&args[..], &["--json", "--accelerate"]].concat()));
    let ll = |r: &serde_json::Value| r["log_likelihood"].as_f64().unwrap();
    let n_iter = |r: &serde_json::Value| r["n_iter"].as_u64().unwrap();
    assert_eq!(plain["converged"], true);
    assert_eq!(fast["converged"], true);
    assert!(
        ((ll(&fast) - ll(&plain)) / ll(&plain)).abs() < 1e-6,
        "{fast} vs {plain}"
    );
    // Each SQUAREM cycle is at most three EM steps, so fewer than a third as many cycles as
    // plain iterations means fewer EM steps.
    assert!(
        3 * n_iter(&fast) < n_iter(&plain),
        "{} vs {}",
        n_iter(&fast),
        n_iter(&plain)
    );
    let summary = ok(&[&args[..], &["--accelerate"]].concat());
    assert!(summary.contains("SQUAREM cycles:"), "{summary}");
    assert!(!ok(&args).contains("SQUAREM"));
}

#[test]
fn quiet_prints_results_only() {
    let dir = Scratch::new();
    let m = dir.path("m.json");
    let out = em(&["fit", "--output", s(&m)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote the model"));
    let out = em(&["fit", "--output", s(&m), "--quiet"]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    assert!(!out.stdout.is_empty());
}

#[test]
fn a_numerically_failing_fit_exits_1_with_advice() {
    let dir = Scratch::new();
    // The second feature is constant: without a ridge (the default) its variance is zero.
    let data: String = (0..20).map(|i| format!("{},5\n", i as f64 / 3.0)).collect();
    let p = dir.file("flat.csv", &data);
    let out = em(&["fit", s(&p), "-k", "1"]);
    let msg = fails_with(
        &out,
        1,
        &["fit failed", "not positive definite", "increase reg_covar"],
    );
    assert!(msg.contains("component 0"), "{msg}");
    // With scikit-learn's ridge the same fit works.
    ok(&["fit", s(&p), "-k", "1", "--reg-covar", "1e-6"]);
}
