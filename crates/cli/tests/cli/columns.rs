//! Choosing columns (`--columns`, `--drop`), feature names in model files, and what
//! `em predict` prints (input columns, log-density, outliers).

use crate::common::{Scratch, em, em_in, fails_with, json, ok, s, two_groups};

/// An iris-like file: a pandas index (no name), an id, two features and a species label.
fn iris_like(n: usize) -> String {
    let mut text = String::from(",id,a,b,species\n");
    for (i, row) in two_groups(n).iter().enumerate() {
        let species = if i % 2 == 0 { "setosa" } else { "virginica" };
        text.push_str(&format!("{i},{},{row},{species}\n", 1000 + i));
    }
    text
}

#[test]
fn a_text_column_is_one_error_naming_it_and_how_to_drop_it() {
    let dir = Scratch::new();
    let data = dir.file("iris.csv", &iris_like(40));
    let out = em(&["fit", s(&data), "-k", "2"]);
    let message = fails_with(
        &out,
        2,
        &[
            "iris.csv: line 2, column 5 (species): \"setosa\" is not a number",
            "--drop species",
            "--columns",
        ],
    );
    assert_eq!(message.lines().count(), 1, "{message}");
    // fit --stream says how too (by position).
    let out = em(&["fit", s(&data), "-k", "2", "--stream", "--drop", "1,id"]);
    fails_with(&out, 2, &["column 5", "species", "--drop 5"]);
    // predict and select say the same.
    let out = em(&["select", s(&data), "--k", "1..2"]);
    fails_with(&out, 2, &["(species)", "--drop species"]);
}

#[test]
fn columns_and_drop_choose_what_is_fitted_by_name_or_position() {
    let dir = Scratch::new();
    let data = dir.file("iris.csv", &iris_like(40));
    let by_name = json(&ok(&[
        "fit",
        s(&data),
        "-k",
        "2",
        "--columns",
        "a,b",
        "--json",
        "-q",
    ]));
    let by_position = json(&ok(&[
        "fit",
        s(&data),
        "-k",
        "2",
        "--columns",
        "3,4",
        "--json",
        "-q",
    ]));
    let by_drop = json(&ok(&[
        "fit",
        s(&data),
        "-k",
        "2",
        "--drop",
        "1,id,species",
        "--json",
        "-q",
    ]));
    assert_eq!(by_name["columns"], serde_json::json!(["a", "b"]));
    assert_eq!(by_name["log_likelihood"], by_position["log_likelihood"]);
    assert_eq!(by_name["log_likelihood"], by_drop["log_likelihood"]);
    // --columns sets the order of the features.
    let swapped = json(&ok(&[
        "fit",
        s(&data),
        "-k",
        "2",
        "--columns",
        "b,a",
        "--json",
        "-q",
    ]));
    assert_eq!(swapped["columns"], serde_json::json!(["b", "a"]));
    // select and fit --stream take them too.
    let sel = json(&ok(&[
        "select",
        s(&data),
        "--k",
        "2",
        "--covariance",
        "full",
        "--columns",
        "a,b",
        "--json",
    ]));
    assert_eq!(sel["best"]["k"], 2);
    let streamed = json(&ok(&[
        "fit",
        s(&data),
        "-k",
        "2",
        "--stream",
        "--columns",
        "a,b",
        "--json",
        "-q",
    ]));
    assert_eq!(streamed["columns"], serde_json::json!(["a", "b"]));
    // An unknown column is named, with the file's columns.
    let out = em(&["fit", s(&data), "-k", "2", "--columns", "a,zz"]);
    fails_with(
        &out,
        2,
        &["no column \"zz\"", "1 (no name), id, a, b, species"],
    );
    let out = em(&["fit", s(&data), "-k", "2", "--drop", "9"]);
    fails_with(&out, 2, &["no column \"9\""]);
}

#[test]
fn an_id_like_first_column_is_warned_about_unless_quiet() {
    let dir = Scratch::new();
    let index = dir.file("index.csv", &iris_like(40));
    let out = em(&["fit", s(&index), "-k", "2", "--drop", "species"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning") && err.contains("--drop 1"), "{err}");
    // With the index dropped, the id column (consecutive whole numbers) is next.
    let out = em(&["fit", s(&index), "-k", "2", "--drop", "1,species"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("column 1 (id)") && err.contains("--drop id"),
        "{err}"
    );
    // Quiet, or without such a column, nothing is said.
    let out = em(&["fit", s(&index), "-k", "2", "--drop", "1,species", "-q"]);
    assert!(out.stderr.is_empty());
    let out = em(&["fit", s(&index), "-k", "2", "--drop", "1,id,species"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn predict_matches_columns_by_name_whatever_their_order() {
    let dir = Scratch::new();
    let data = dir.file("iris.csv", &iris_like(40));
    let m = dir.path("m.json");
    ok(&[
        "fit",
        s(&data),
        "-k",
        "2",
        "--columns",
        "a,b",
        "--output",
        s(&m),
        "-q",
    ]);
    let reference = ok(&["predict", "--model", s(&m), s(&data), "--proba", "-q"]);
    assert!(
        reference.starts_with("a,b,component,p0,p1,log_density\n"),
        "{reference}"
    );
    // The same rows, columns reversed and extra columns dropped: the same output.
    let reordered: String = iris_like(40)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{}\n", f[4], f[3], f[2])
        })
        .collect();
    let other = dir.file("reordered.csv", &reordered);
    let out = em(&["predict", "--model", s(&m), s(&other), "--proba"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), reference);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not fitted on: species"), "{err}");
    // Standard input is matched by name too.
    let out = em_in(
        dir.dir.path(),
        &["predict", "--model", s(&m), "-", "--proba", "-q"],
        Some(&reordered),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        reference.replace(s(&data), "<stdin>")
    );
    let out = em_in(
        dir.dir.path(),
        &["predict", "--model", s(&m), "-"],
        Some("a,c\n1,2\n"),
    );
    fails_with(&out, 2, &["<stdin> has no column \"b\""]);
    // A missing column is named.
    let missing = dir.file("missing.csv", "a,c\n1,2\n");
    let out = em(&["predict", "--model", s(&m), s(&missing)]);
    fails_with(&out, 2, &["has no column \"b\"", "m.json"]);
    // fit --init matches by name too.
    let r = json(&ok(&["fit", s(&other), "--init", s(&m), "--json", "-q"]));
    assert_eq!(r["columns"], serde_json::json!(["a", "b"]));
    // sample writes the names.
    assert!(ok(&["sample", "--model", s(&m), "-n", "2"]).starts_with("a,b\n"));
}

#[test]
fn old_model_files_without_names_still_load_by_position_with_a_note() {
    let dir = Scratch::new();
    let model = dir.file(
        "old.json",
        r#"{"model":"gaussian_mixture","covariance_type":"full","weights":[0.5,0.5],
            "means":[[0,0],[5,5]],"covariances":[[[1,0],[0,1]],[[1,0],[0,1]]]}"#,
    );
    let data = dir.file("d.csv", "p,q\n0,0\n5,5\n");
    let out = em(&["predict", "--model", s(&model), s(&data)]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("p,q,component,log_density\n0.0,0.0,0,"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("by position"));
    assert!(ok(&["sample", "--model", s(&model), "-n", "1"]).starts_with("x0,x1\n"));
}

#[test]
fn outliers_use_the_training_log_densities_or_say_they_do_not() {
    let dir = Scratch::new();
    let mut text = format!("a,b\n{}\n", two_groups(200).join("\n"));
    let m = dir.path("m.json");
    let train = dir.file("train.csv", &text);
    ok(&["fit", s(&train), "-k", "2", "--output", s(&m), "-q"]);
    let q = json(&std::fs::read_to_string(&m).unwrap());
    assert_eq!(q["log_density_quantiles"].as_array().unwrap().len(), 200);
    text.push_str("100,-100\n");
    let new = dir.file("new.csv", &text);
    let out = ok(&["predict", "--model", s(&m), s(&new), "--outliers", "0.01"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "a,b,component,log_density,outlier");
    assert!(lines[201].ends_with(",true"), "the far-away row is flagged");
    let flagged = lines[1..].iter().filter(|l| l.ends_with(",true")).count();
    assert!((2..=6).contains(&flagged), "{flagged}");
    // A file without the training quantiles: the threshold comes from the rows, with a note.
    let mut stripped = q.clone();
    stripped
        .as_object_mut()
        .unwrap()
        .remove("log_density_quantiles");
    let old = dir.file("old.json", &stripped.to_string());
    let out = em_in(
        dir.dir.path(),
        &["predict", "--model", s(&old), s(&new), "--outliers", "0.5"],
        None,
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("quantile of the 201 rows being predicted"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let flagged = text.lines().filter(|l| l.ends_with(",true")).count();
    assert_eq!(flagged, 100, "half of 201 rows lie below their median");
    let bad = em(&["predict", "--model", s(&m), s(&new), "--outliers", "1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("between 0 and 1"));
}
