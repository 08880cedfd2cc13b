//! `em select`: the BIC/AIC table and its best row.

use crate::common::{Scratch, em, fails_with, json, ok, s};

#[test]
fn table_marks_the_lowest_bic_which_is_mclusts_choice() {
    let out = ok(&["select", "--k", "1..4", "-q"]);
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .collect();
    assert_eq!(rows.len(), 16, "{out}");
    let best: Vec<&&str> = rows.iter().filter(|l| l.ends_with("<- best")).collect();
    assert_eq!(best.len(), 1, "{out}");
    assert!(best[0].trim_start().starts_with("3  tied"), "{out}");
    // The marked row has the smallest BIC of the table (column 5).
    let bic = |l: &str| l.split_whitespace().nth(4).unwrap().parse::<f64>().unwrap();
    let min = rows.iter().map(|l| bic(l)).fold(f64::INFINITY, f64::min);
    assert_eq!(bic(best[0]), min);
    assert!(out.contains("best by BIC: K = 3, tied covariance"));
}

#[test]
fn covariance_list_and_json_output() {
    let r = json(&ok(&[
        "select",
        "--k",
        "2,3",
        "--covariance",
        "full,diag",
        "--json",
    ]));
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|x| x["covariance_type"] != "tied"));
    let min = rows
        .iter()
        .map(|x| x["bic"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(r["best"]["bic"].as_f64().unwrap(), min);
}

#[test]
fn output_writes_the_best_model() {
    let dir = Scratch::new();
    let m = dir.path("best.json");
    ok(&[
        "select",
        "--k",
        "2..3",
        "--covariance",
        "tied,full",
        "--output",
        s(&m),
        "-q",
    ]);
    let r = json(&std::fs::read_to_string(&m).unwrap());
    assert_eq!(r["covariance_type"], "tied");
    assert_eq!(r["weights"].as_array().unwrap().len(), 3);
}

#[test]
fn select_rejects_a_model_file_init_and_k_beyond_the_rows() {
    let dir = Scratch::new();
    let out = em(&["select", "--init", "m.json"]);
    fails_with(&out, 2, &["--init with a model file"]);
    let p = dir.file("small.csv", "1,2\n3,4\n5,7\n");
    let out = em(&["select", s(&p), "--k", "1..5"]);
    fails_with(&out, 2, &["the largest K of --k = 5", "small.csv (3)"]);
}
