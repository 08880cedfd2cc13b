//! `em fit --stream` and `em convert`: the same report as the in-memory fit, and clear errors.

use crate::common::{Scratch, em, fails_with, json, json_without, ok, s, two_groups};

/// 9,001 rows: three E-step batches of 4,096 rows, the last one short.
fn big_csv(scratch: &Scratch) -> std::path::PathBuf {
    let mut text = String::from("a,b\n");
    for line in two_groups(9001) {
        text.push_str(&line);
        text.push('\n');
    }
    scratch.file("big.csv", &text)
}

#[test]
fn streamed_fit_prints_the_same_json_report_as_the_in_memory_fit() {
    let scratch = Scratch::new();
    let csv = big_csv(&scratch);
    let args = [
        "fit",
        s(&csv),
        "-k",
        "2",
        "--covariance",
        "diag",
        "--json",
        "--quiet",
    ];
    let in_memory = ok(&args);
    let streamed = ok(&[&args[..], &["--stream"]].concat());
    // The in-memory report also stores the training log-densities' quantiles.
    assert_eq!(
        json_without(&in_memory, &["log_density_quantiles"]),
        json(&streamed)
    );
    let r = json(&streamed);
    assert!(r["n_iter"].as_u64().unwrap() >= 1);
}

#[test]
fn accelerated_streamed_fit_prints_the_same_json_report_as_the_accelerated_in_memory_fit() {
    let scratch = Scratch::new();
    let csv = big_csv(&scratch);
    let args = [
        "fit",
        s(&csv),
        "-k",
        "2",
        "--covariance",
        "full",
        "--tol",
        "1e-9",
        "--max-iter",
        "2000",
        "--accelerate",
        "--json",
        "--quiet",
    ];
    let in_memory = ok(&args);
    let streamed = ok(&[&args[..], &["--stream"]].concat());
    // The in-memory report also stores the training log-densities' quantiles.
    assert_eq!(
        json_without(&in_memory, &["log_density_quantiles"]),
        json(&streamed)
    );
    let report = json(&streamed);
    assert_eq!(report["converged"], true, "{report}");
}

#[test]
fn convert_then_stream_the_binary_file_gives_the_same_report() {
    let scratch = Scratch::new();
    let csv = big_csv(&scratch);
    let bin = scratch.path("big.f64");
    let out = em(&["convert", s(&csv), s(&bin)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote 9001 rows"));
    let bytes = std::fs::read(&bin).unwrap();
    assert_eq!(&bytes[..8], b"EMF64LE1");
    assert_eq!(bytes.len(), 16 + 9001 * 2 * 8);
    let from_csv = ok(&["fit", s(&csv), "-k", "2", "--json", "--stream"]);
    let from_bin = ok(&["fit", s(&bin), "-k", "2", "--json", "--stream"]);
    // The binary format stores no column names.
    assert_eq!(
        json_without(&from_csv, &["columns"]),
        json_without(&from_bin, &["columns"])
    );
    let summary = ok(&["fit", s(&bin), "-k", "2", "--stream", "--chunk-size", "500"]);
    assert!(
        summary.contains("9001 rows × 2 columns (x0, x1), streamed"),
        "{summary}"
    );
}

#[test]
fn streamed_fit_names_the_line_and_column_of_a_bad_value() {
    let scratch = Scratch::new();
    let f = scratch.file("bad.csv", "a,b\n1,2\n3,4\n5,six\n");
    let out = em(&["fit", s(&f), "-k", "1", "--stream"]);
    fails_with(
        &out,
        2,
        &["bad.csv, line 4, column 2", "\"six\" is not a number"],
    );
    let f = scratch.file("nan.csv", "1,2\n3,nan\n");
    let out = em(&["fit", s(&f), "-k", "1", "--stream", "--missing", "error"]);
    fails_with(
        &out,
        2,
        &["nan.csv, line 2, column 2: missing value \"nan\""],
    );
    let out = em(&[
        "convert",
        s(&f),
        s(&scratch.path("nan.f64")),
        "--missing",
        "error",
    ]);
    fails_with(&out, 2, &["line 2, column 2"]);
    assert!(!scratch.path("nan.f64").exists(), "no partial output");
}

#[test]
fn stream_rejects_standard_input_plots_and_a_missing_k() {
    let scratch = Scratch::new();
    let f = scratch.file("d.csv", "1,2\n3,4\n5,6\n");
    fails_with(
        &em(&["fit", "-", "-k", "1", "--stream"]),
        2,
        &["standard input"],
    );
    fails_with(&em(&["fit", "--stream"]), 2, &["--stream needs a FILE"]);
    fails_with(
        &em(&[
            "fit",
            s(&f),
            "-k",
            "1",
            "--stream",
            "--plot",
            s(&scratch.path("p.svg")),
        ]),
        2,
        &["--plot"],
    );
    fails_with(&em(&["fit", s(&f), "--stream"]), 2, &["-k K"]);
    fails_with(
        &em(&["fit", s(&f), "-k", "4", "--stream"]),
        2,
        &["too few observations"],
    );
    let empty = scratch.file("empty.csv", "");
    fails_with(
        &em(&["fit", s(&empty), "-k", "1", "--stream"]),
        2,
        &["empty"],
    );
}
