//! Bad input exits with status 2 and one line naming the file, line and column.

use crate::common::{Scratch, em, fails_with, s};

#[test]
fn csv_errors_name_file_line_and_column() {
    let dir = Scratch::new();
    let cases = [
        (
            "word.csv",
            "a,b\n1,2\n3,x\n",
            "line 3, column 2 (b): \"x\" is not a number",
        ),
        (
            "ragged.csv",
            "1,2\n3,4\n5\n",
            "line 3, column 2: ragged row with 1 field, expected 2",
        ),
        (
            "long.csv",
            "1,2\n3,4,5\n",
            "line 2, column 3: ragged row with 3 fields",
        ),
        (
            "nan.csv",
            "a,b\n1,2\nNaN,4\n",
            "line 3, column 1 (a): missing value \"NaN\", refused by --missing error",
        ),
        (
            "inf.csv",
            "1,2\n3,inf\n",
            "line 2, column 2: \"inf\" is not a finite number",
        ),
        ("empty.csv", "", "the file is empty"),
        ("blank.csv", "\n \n", "the file is empty"),
        ("header.csv", "a,b\n", "no data rows"),
        (
            "hole.csv",
            "1,2\n,4\n",
            "line 2, column 1: missing value (empty field), refused by --missing error",
        ),
    ];
    for (name, text, needle) in cases {
        let p = dir.file(name, text);
        let out = em(&["fit", s(&p), "-k", "1", "--missing", "error"]);
        fails_with(&out, 2, &[name, needle]);
        // predict and select read files the same way.
        let out = em(&["select", s(&p), "--k", "1", "--missing", "error"]);
        fails_with(&out, 2, &[name, needle]);
    }
}

#[test]
fn k_larger_than_the_rows_and_missing_k_are_bad_input() {
    let dir = Scratch::new();
    let p = dir.file("three.csv", "1,2\n3,4\n5,7\n");
    let out = em(&["fit", s(&p), "-k", "4"]);
    fails_with(
        &out,
        2,
        &["K = 4 is larger than the number of rows", "three.csv (3)"],
    );
    let out = em(&["fit", s(&p)]);
    fails_with(&out, 2, &["-k K", "required"]);
    let out = em(&["fit", "no-such-file.csv", "-k", "2"]);
    fails_with(&out, 2, &["cannot read no-such-file.csv"]);
}

#[test]
fn bad_output_and_plot_paths_fail_before_fitting() {
    let out = em(&["fit", "--plot", "picture.pdf"]);
    fails_with(&out, 2, &["--plot picture.pdf", ".svg or .png"]);
    let out = em(&["fit", "--output", "/no/such/dir/m.json"]);
    fails_with(&out, 2, &["--output", "does not exist"]);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["fit", "--no-such-flag"][..],
        &["fit", "--covariance", "banana"],
        &["fit", "-k", "0"],
        &["fit", "--tol", "-1"],
        &["fit", "--n-init", "0"],
        &["select", "--k", "5..2"],
        &["sample", "--model", "m.json"],
        &["frobnicate"],
    ] {
        let out = em(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    let out = em(&["--help"]);
    assert!(out.status.success());
}

#[test]
fn not_utf8_is_bad_input() {
    let dir = Scratch::new();
    let p = dir.path("bin.csv");
    std::fs::write(&p, [0x31, 0x2c, 0xff, 0x0a]).unwrap();
    let out = em(&["fit", s(&p), "-k", "1"]);
    fails_with(&out, 2, &["bin.csv: line 1: not UTF-8"]);
}
