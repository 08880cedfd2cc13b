//! Statistical warnings of `em fit` and `em select`: `em: warning: …` on standard error and
//! `warnings` in the JSON; the likely cause joined to the error when the fit fails.

use crate::common::{Scratch, em, em_in, fails_with, json, ok, s};

/// 100 rows: columns a and b vary, c is 3 throughout.
fn constant_column() -> String {
    let mut t = String::from("a,b,c\n");
    for i in 0..100 {
        let a = ((i * 37) % 101) as f64 / 10.0;
        let b = ((i * 53) % 97) as f64 / 7.0 + if i % 2 == 0 { 20.0 } else { 0.0 };
        t.push_str(&format!("{a},{b},3\n"));
    }
    t
}

/// 100 rows: c repeats a.
fn duplicate_columns() -> String {
    let mut t = String::from("a,b,c\n");
    for i in 0..100 {
        let a = ((i * 37) % 101) as f64 / 10.0;
        let b = ((i * 53) % 97) as f64 / 7.0;
        t.push_str(&format!("{a},{b},{a}\n"));
    }
    t
}

/// Three distinct rows, each ten times.
fn three_rows() -> String {
    let mut t = String::from("x,y\n");
    for i in 0..30 {
        t.push_str(["0,0\n", "1,5\n", "4,2\n"][i % 3]);
    }
    t
}

/// 10 rows, 30 columns.
fn wide() -> String {
    let names: Vec<String> = (0..30).map(|j| format!("v{j}")).collect();
    let mut t = names.join(",") + "\n";
    for i in 0..10 {
        let row: Vec<String> = (0..30)
            .map(|j| (((i * 31 + j * 17) % 23) as f64 / 3.0 + (i * j) as f64 / 100.0).to_string())
            .collect();
        t.push_str(&(row.join(",") + "\n"));
    }
    t
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn faithfuls_default_fit_and_selection_warn_about_nothing() {
    let out = em(&["fit"]);
    assert!(out.status.success());
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let r = json(&ok(&["fit", "--json"]));
    assert_eq!(r["warnings"], serde_json::json!([]));
    let out = em(&["select", "-k", "1..4"]);
    assert!(out.status.success());
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn a_constant_column_is_named_in_the_error_of_the_fit_it_breaks() {
    let d = Scratch::new();
    let f = d.file("c.csv", &constant_column());
    let out = em_in(d.dir.path(), &["fit", "-k", "2", s(&f)], None);
    fails_with(
        &out,
        1,
        &[
            "fit failed",
            "likely cause: column \"c\" is constant (every value is 3)",
            "--drop c",
        ],
    );
}

#[test]
fn a_constant_column_is_a_warning_when_a_ridge_lets_the_fit_through() {
    let d = Scratch::new();
    let f = d.file("c.csv", &constant_column());
    let out = em_in(
        d.dir.path(),
        &["fit", "-k", "2", "--reg-covar", "1e-6", s(&f)],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("em: warning: column \"c\" is constant (every value is 3)"),
        "{err}"
    );
    let r = json(&ok(&[
        "fit",
        "-k",
        "2",
        "--reg-covar",
        "1e-6",
        "--json",
        s(&f),
    ]));
    let w = r["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].as_str()
            .unwrap()
            .starts_with("column \"c\" is constant")
    );
}

#[test]
fn quiet_suppresses_the_warnings_but_not_the_json() {
    let d = Scratch::new();
    let f = d.file("c.csv", &constant_column());
    let out = em(&[
        "fit",
        "-q",
        "-k",
        "2",
        "--reg-covar",
        "1e-6",
        "--json",
        s(&f),
    ]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let r = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(r["warnings"].as_array().unwrap().len(), 1);
}

#[test]
fn duplicate_columns_are_both_named() {
    let d = Scratch::new();
    let f = d.file("d.csv", &duplicate_columns());
    fails_with(
        &em(&["fit", "-k", "2", s(&f)]),
        1,
        &["column \"c\" is identical to column \"a\"", "--drop c"],
    );
    let out = em(&["fit", "-k", "2", "--reg-covar", "1e-6", s(&f)]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("em: warning: column \"c\" is identical to column \"a\""),
        "{err}"
    );
    // The duplicate is the only problem: no component is reported singular because of it.
    assert_eq!(err.matches("warning").count(), 1, "{err}");
}

#[test]
fn three_distinct_rows_cannot_carry_three_components() {
    let d = Scratch::new();
    let f = d.file("three.csv", &three_rows());
    fails_with(
        &em(&["fit", "-k", "3", s(&f)]),
        1,
        &[
            "likely cause: the data have only 3 distinct rows but K = 3 full components need at least 9",
        ],
    );
    let out = em(&["fit", "-k", "3", "--reg-covar", "1e-6", s(&f)]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("em: warning: the data have only 3 distinct rows"),
        "{err}"
    );
    for c in 0..3 {
        assert!(
            err.contains(&format!("em: warning: component {c} has collapsed")),
            "{err}"
        );
    }
}

#[test]
fn more_parameters_than_rows() {
    let d = Scratch::new();
    let f = d.file("wide.csv", &wide());
    fails_with(
        &em(&["fit", "-k", "1", s(&f)]),
        1,
        &["likely cause: 495 free parameters (K = 1, full covariance) but only 10 rows"],
    );
    let out = em(&["fit", "-k", "1", "--reg-covar", "1e-6", s(&f)]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("em: warning: 495 free parameters (K = 1, full covariance) but only 10 rows"),
        "{err}"
    );
    assert!(
        err.contains("em: warning: component 0 has collapsed"),
        "{err}"
    );
}

#[test]
fn a_component_owning_too_few_rows_is_named() {
    // Two groups of 40 rows and a third of 2, in 2-D.
    let mut t = String::from("x,y\n");
    for i in 0..82usize {
        let (x, y) = match i {
            0..40 => (((i * 7) % 10) as f64 / 10.0, ((i * 3) % 10) as f64 / 10.0),
            40..80 => (
                20.0 + ((i * 3) % 10) as f64 / 10.0,
                20.0 + ((i * 7) % 10) as f64 / 10.0,
            ),
            _ => (-30.0 + (i - 80) as f64, -30.0 + 2.0 * (i - 80) as f64),
        };
        t.push_str(&format!("{x},{y}\n"));
    }
    let d = Scratch::new();
    let f = d.file("small.csv", &t);
    let out = em(&["fit", "-k", "3", "--reg-covar", "1e-6", s(&f)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("is the most probable for only 2 rows, fewer than the 3 its covariance needs"),
        "{err}"
    );
}

#[test]
fn select_warns_about_a_constant_column_and_lists_it_in_the_json() {
    let d = Scratch::new();
    let f = d.file("c.csv", &constant_column());
    let out = em(&["select", "-k", "1..2", s(&f)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("em: warning: column \"c\" is constant"),
        "{}",
        stderr(&out)
    );
    let r = json(&ok(&["select", "-k", "1..2", "--json", "-q", s(&f)]));
    let w = r["warnings"].as_array().unwrap();
    assert!(
        w[0].as_str()
            .unwrap()
            .starts_with("column \"c\" is constant"),
        "{w:?}"
    );
}
