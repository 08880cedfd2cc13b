//! `em zip`: the zero-inflated Poisson on a one-column count file.

use crate::common::{Scratch, em, fails_with, json, ok, s};

#[test]
fn bundled_counts_match_statsmodels_fit() {
    let report = json(&ok(&["zip", "--json"]));
    assert_eq!(report["model"], "zero_inflated_poisson");
    assert_eq!(report["n_obs"], 20190);
    assert_eq!(report["n_zeros"], 6308);
    // statsmodels' intercept-only ZeroInflatedPoisson on the same counts (the gmm fixture).
    let ll = report["log_likelihood"].as_f64().unwrap();
    assert!((ll - -57326.231748384016).abs() < 1e-6, "{ll}");
    let pi = report["pi"].as_f64().unwrap();
    let lambda = report["lambda"].as_f64().unwrap();
    assert!((pi - 0.30073387157273235).abs() < 1e-5, "{pi}");
    assert!((lambda - 4.0906113383133516).abs() < 1e-5, "{lambda}");
    // At the MLE the fitted zero probability reproduces the observed zeros.
    assert!((report["expected_zeros"].as_f64().unwrap() - 6308.0).abs() < 0.1);
    let bic = report["bic"].as_f64().unwrap();
    assert!((bic - (-2.0 * ll + 2.0 * 20190f64.ln())).abs() < 1e-6);
    assert_eq!(report["stopping"]["rule"], "parameters");
    assert!(report["estimated_distance"].as_f64().unwrap() < 1e-7);
    // scikit-learn's rule, the old default of `em zip` (tol 1e-10), is one option away.
    let old = json(&ok(&[
        "zip",
        "--json",
        "--stopping",
        "objective-change",
        "--tol",
        "1e-10",
    ]));
    assert_eq!(old["stopping"]["rule"], "objective-change");
    assert_eq!(old["stopping"]["tol"], 1e-10);
    assert!(old["n_iter"].as_u64() < report["n_iter"].as_u64());
}

#[test]
fn summary_and_report_file_of_a_small_file() {
    let dir = Scratch::new();
    let f = dir.file("c.csv", "visits\n0\n0\n0\n2\n0\n3\n1\n0\n4\n0\n");
    let out = dir.path("r.json");
    let text = ok(&["zip", s(&f), "--output", s(&out)]);
    assert!(text.contains("structural zeros π"), "{text}");
    assert!(text.contains("10 counts"), "{text}");
    let report = json(&std::fs::read_to_string(&out).unwrap());
    assert!(report["pi"].as_f64().unwrap() > 0.0);
    assert_eq!(report["converged"], true);
}

#[test]
fn bad_counts_name_the_line() {
    let dir = Scratch::new();
    let cases = [
        (
            "neg.csv",
            "count\n0\n3\n\n-1\n",
            "line 5: a count cannot be negative",
        ),
        (
            "frac.csv",
            "0\n2\n1.5\n",
            "line 3: a count must be a whole number",
        ),
        (
            "two.csv",
            "0,1\n2,3\n",
            "expected one column of counts, found 2",
        ),
        ("zeros.csv", "0\n0\n0\n", "all 3 counts are zero"),
    ];
    for (name, text, needle) in cases {
        let f = dir.file(name, text);
        fails_with(&em(&["zip", s(&f)]), 2, &[name, needle]);
    }
}
