//! `em fit --labels COLUMN`: a semi-supervised fit from a column of known components.

use crate::common::{Scratch, em, fails_with, json, ok, s, two_groups};

/// Two groups (even rows near (0, −1), odd rows near (8, 7)) with a label column: every tenth
/// row labelled, the group at 0 as component 1 and the group at 8 as component 0 (the
/// opposite of the order the data suggest); other rows empty or NA.
fn labelled_csv(n: usize) -> String {
    let mut text = String::from("a,label,b\n");
    for (i, line) in two_groups(n).iter().enumerate() {
        let (a, b) = line.split_once(',').unwrap();
        let label = match (i % 10, i % 2) {
            (0, _) => "1".to_string(),
            (5, _) => "0".to_string(),
            (_, 0) => String::new(),
            _ => "NA".to_string(),
        };
        text.push_str(&format!("{a},{label},{b}\n"));
    }
    text
}

#[test]
fn labels_column_fixes_the_components_and_is_not_a_feature() {
    let dir = Scratch::new();
    let f = dir.file("l.csv", &labelled_csv(200));
    let r = json(&ok(&[
        "fit",
        s(&f),
        "-k",
        "2",
        "--labels",
        "label",
        "--json",
    ]));
    // Two features: the label column is not one.
    let means = r["means"].as_array().unwrap();
    assert_eq!(means[0].as_array().unwrap().len(), 2);
    assert_eq!(r["columns"], serde_json::json!(["a", "b"]));
    // Rows labelled 1 are the group at 0: component 1's mean is there, component 0's at 8.
    assert!(means[1][0].as_f64().unwrap() < 2.0, "{means:?}");
    assert!(means[0][0].as_f64().unwrap() > 6.0, "{means:?}");
    assert_eq!(r["labels"]["column"], "label");
    assert_eq!(r["labels"]["labelled_rows"], 40);
    assert_eq!(r["labels"]["rows"], 200);
    // The objective adds Σ log p(z_i = label | x_i) ≤ 0 to the log-likelihood of the data
    // (≈ 0 here: the groups are far apart).
    let objective = r["labels"]["objective"].as_f64().unwrap();
    let ll = r["log_likelihood"].as_f64().unwrap();
    assert!(
        objective <= ll + 1e-9 * ll.abs() && objective > ll - 1.0,
        "{objective} vs {ll}"
    );
    // The summary says how many rows were labelled; a column by position works too.
    let text = ok(&["fit", s(&f), "-k", "2", "--labels", "2"]);
    assert!(
        text.contains("labels           40 of 200 rows labelled (column label)"),
        "{text}"
    );
    assert!(text.contains("200 rows × 2 columns (a, b)"), "{text}");
}

#[test]
fn bad_labels_are_bad_input_naming_the_line() {
    let dir = Scratch::new();
    let mut text = labelled_csv(40);
    text.push_str("0.5,2,0.1\n"); // label 2 with K = 2: line 42
    let f = dir.file("bad.csv", &text);
    fails_with(
        &em(&["fit", s(&f), "-k", "2", "--labels", "label"]),
        2,
        &["line 42", "label 2 is not a component", "0..1"],
    );
    let frac = dir.file("frac.csv", "a,label,b\n1,0.5,2\n3,,4\n5,1,6\n");
    fails_with(
        &em(&["fit", s(&frac), "-k", "2", "--labels", "label"]),
        2,
        &["line 2", "label 0.5"],
    );
    fails_with(
        &em(&["fit", s(&f), "-k", "2", "--labels", "nope"]),
        2,
        &["--labels \"nope\"", "no such column"],
    );
    let missing = dir.file("missing.csv", "a,label,b\n1,0,2\n3,,NA\n5,1,6\n7,,8\n");
    fails_with(
        &em(&["fit", s(&missing), "-k", "2", "--labels", "label"]),
        2,
        &["line 3", "column b is missing", "--labels"],
    );
}

#[test]
fn labels_are_refused_where_they_are_not_supported() {
    let dir = Scratch::new();
    let f = dir.file("l.csv", &labelled_csv(40));
    // --stream: refused by the argument parser.
    let out = em(&["fit", s(&f), "-k", "2", "--labels", "label", "--stream"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--stream"));
    fails_with(
        &em(&[
            "fit",
            s(&f),
            "-k",
            "2",
            "--labels",
            "label",
            "--missing",
            "drop",
        ]),
        2,
        &["--missing drop"],
    );
    fails_with(
        &em(&["fit", s(&f), "-k", "2", "--labels", "label", "--model", "t"]),
        2,
        &["Gaussian mixtures only"],
    );
}
