//! `em fit --online`: one pass over the file, a report close to the batch fit, a model file
//! that `em predict` reads, and clear errors.

use crate::common::{Scratch, em, fails_with, json, ok, s, two_groups};

/// 30,000 rows of two groups.
fn big_csv(scratch: &Scratch) -> std::path::PathBuf {
    let mut text = String::from("a,b\n");
    for line in two_groups(30_000) {
        text.push_str(&line);
        text.push('\n');
    }
    scratch.file("big.csv", &text)
}

#[test]
fn online_fit_reads_the_file_once_and_ends_near_the_batch_fit() {
    let scratch = Scratch::new();
    let csv = big_csv(&scratch);
    let model = scratch.path("online.json");
    let online = json(&ok(&[
        "fit",
        s(&csv),
        "-k",
        "2",
        "--online",
        "--head",
        "1000",
        "--batch-size",
        "2000",
        "--json",
        "--quiet",
        "--output",
        s(&model),
    ]));
    let report = &online["online"];
    assert_eq!(report["n_rows"], 30_000);
    assert_eq!(report["head_rows"], 1_000);
    assert_eq!(report["updates"], 15); // 30,000 / 2,000: the head is no separate batch
    assert_eq!(report["passes"], 1);
    assert_eq!(report["batch_size"], 2_000);
    assert_eq!(report["trace"].as_array().unwrap().len(), 15);
    assert_eq!(online["columns"], serde_json::json!(["a", "b"]));
    let batch = json(&ok(&["fit", s(&csv), "-k", "2", "--json", "--quiet"]));
    // The model file scores the data with `em predict`, as a batch model file does; its mean
    // log-likelihood is close to the batch fit's.
    let scored = ok(&[
        "predict",
        s(&csv),
        "--model",
        s(&model),
        "--no-input",
        "--quiet",
    ]);
    let mean: f64 = scored
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap())
        .sum::<f64>()
        / 30_000.0;
    let best = batch["mean_log_likelihood"].as_f64().unwrap();
    assert!(
        best - mean < 1e-3 && best - mean > -1e-9,
        "{best} vs {mean}"
    );
    // The progressive estimate is below the final fit's.
    assert!(report["progressive_mean_log_likelihood"].as_f64().unwrap() < mean);
}

#[test]
fn online_summary_says_how_the_fit_was_made() {
    let scratch = Scratch::new();
    let csv = big_csv(&scratch);
    let text = ok(&["fit", s(&csv), "-k", "2", "--online", "--quiet"]);
    assert!(text.contains("fitted online"), "{text}");
    assert!(text.contains("batch EM on the first 20000 rows"), "{text}");
    assert!(text.contains("3 updates of up to 10000 rows"), "{text}");
    assert!(text.contains("progressive"), "{text}");
    assert!(text.contains("component 1"), "{text}");
}

#[test]
fn online_refuses_what_it_cannot_do() {
    let scratch = Scratch::new();
    let csv = big_csv(&scratch);
    fails_with(
        &em(&["fit", "--online", "-k", "2"]),
        2,
        &["--online needs a FILE"],
    );
    // Usage errors from the argument parser: exit code 2 and the reason.
    for (args, needle) in [
        (vec!["--online", "--stream"], "cannot be used with"),
        (vec!["--online", "--step-exponent", "0.5"], "(0.5, 1]"),
        (vec!["--batch-size", "10"], "--online"),
    ] {
        let out = em(&[&["fit", s(&csv), "-k", "2"][..], &args[..]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    fails_with(
        &em(&["fit", s(&csv), "-k", "2", "--online", "--model", "t"]),
        2,
        &["--online is not available with --model t"],
    );
}

#[test]
fn a_bad_value_is_named_by_its_row_in_the_file() {
    let scratch = Scratch::new();
    let mut text = String::from("a,b\n");
    for (i, line) in two_groups(5_000).into_iter().enumerate() {
        if i == 4_321 {
            text.push_str("1.0,inf\n");
        } else {
            text.push_str(&line);
            text.push('\n');
        }
    }
    let csv = scratch.file("bad.csv", &text);
    let out = em(&[
        "fit",
        s(&csv),
        "-k",
        "2",
        "--online",
        "--head",
        "500",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
    assert!(
        err.contains("4321") || err.contains("4322") || err.contains("4323"),
        "{err}"
    );
}
