//! `em bound`: the log-likelihood and EM's lower bound along one coordinate of a model.

use crate::common::{Scratch, em, fails_with, json, ok, s};

/// The rows of `em bound`'s CSV: (value, log-likelihood, bound, gap).
fn rows(csv: &str) -> Vec<[f64; 4]> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("value,log_likelihood,bound,gap"));
    lines
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect()
}

/// Fits the bundled data and writes the model to `dir/m.json`; returns the report.
fn bundled_model(dir: &Scratch) -> serde_json::Value {
    let path = dir.path("m.json");
    json(&ok(&["fit", "--json", "-q", "--output", s(&path)]))
}

#[test]
fn the_bound_lies_below_the_log_likelihood_and_touches_it_at_the_model() {
    let dir = Scratch::new();
    let model = bundled_model(&dir);
    let csv = ok(&["bound", "--model", s(&dir.path("m.json"))]);
    let rows = rows(&csv);
    assert_eq!(rows.len(), 201);
    for [value, ll, bound, gap] in &rows {
        assert!(*gap >= -1e-9 * ll.abs(), "gap {gap} at {value}");
        assert_eq!(*gap, ll - bound);
    }
    // The default coordinate is the last component's first mean, μ_2[0].
    let here = model["means"][2][0].as_f64().unwrap();
    let closest = rows
        .iter()
        .min_by(|a, b| (a[0] - here).abs().total_cmp(&(b[0] - here).abs()))
        .unwrap();
    assert!(closest[3].abs() < 1e-9 * closest[1].abs(), "{closest:?}");
    assert!((closest[1] - model["log_likelihood"].as_f64().unwrap()).abs() < 1e-6);
    // And nowhere else.
    assert!(
        rows.iter()
            .filter(|r| (r[0] - here).abs() > 0.1)
            .all(|r| r[3] > 0.0)
    );
}

#[test]
fn a_named_coordinate_over_a_given_range() {
    let dir = Scratch::new();
    bundled_model(&dir);
    let csv = ok(&[
        "bound",
        "--model",
        s(&dir.path("m.json")),
        "--parameter",
        "log(π_0/π_2)",
        "--from",
        "-3",
        "--to",
        "1",
        "--points",
        "5",
    ]);
    let values: Vec<f64> = rows(&csv).iter().map(|r| r[0]).collect();
    assert_eq!(values, [-3.0, -2.0, -1.0, 0.0, 1.0]);
}

#[test]
fn an_unknown_parameter_lists_the_models_coordinates() {
    let dir = Scratch::new();
    bundled_model(&dir);
    let model = dir.path("m.json");
    let out = em(&["bound", "--model", s(&model), "--parameter", "π_0"]);
    fails_with(
        &out,
        2,
        &[
            "--parameter \"π_0\"",
            "log(π_0/π_2)",
            "μ_2[1]",
            "tied: L[1,0]",
        ],
    );
    let out = em(&["bound", "--model", s(&model), "--from", "5", "--to", "4"]);
    fails_with(&out, 2, &["--from 5 is not below --to 4"]);
    let out = em(&[
        "bound",
        "--model",
        s(&model),
        "--parameter",
        "tied: log L[0,0]",
        "--to",
        "1000",
    ]);
    fails_with(
        &out,
        2,
        &[
            "--from/--to: at tied: log L[0,0] = ",
            "choose a narrower range",
        ],
    );
    let out = em(&["bound", "--model", s(&model), "--points", "2"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn plot_draws_both_curves() {
    let dir = Scratch::new();
    bundled_model(&dir);
    let p = dir.path("bound.svg");
    let csv = ok(&[
        "bound",
        "--model",
        s(&dir.path("m.json")),
        "--points",
        "21",
        "--plot",
        s(&p),
        "-q",
    ]);
    assert_eq!(rows(&csv).len(), 21);
    let svg = std::fs::read_to_string(&p).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for t in ["log-likelihood", "lower bound", "μ_2[0]", "Old Faithful"] {
        assert!(svg.contains(t), "{t}");
    }
}

#[test]
fn a_file_is_matched_to_the_model_by_column_name() {
    let dir = Scratch::new();
    let rows_text: Vec<String> = crate::common::two_groups(60);
    let data = dir.file("d.csv", &format!("a,b\n{}\n", rows_text.join("\n")));
    let model = dir.path("m.json");
    ok(&["fit", s(&data), "-k", "2", "-q", "--output", s(&model)]);
    // The same columns in another order, and an extra one.
    let swapped: Vec<String> = rows_text
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (a, b) = r.split_once(',').unwrap();
            format!("{i},{b},{a}")
        })
        .collect();
    let other = dir.file("e.csv", &format!("id,b,a\n{}\n", swapped.join("\n")));
    let args = |f| {
        vec![
            "bound".to_string(),
            f,
            "--model".into(),
            s(&model).into(),
            "--parameter".into(),
            "component 1: log L[1,1]".into(),
            "--points".into(),
            "7".into(),
            "-q".into(),
        ]
    };
    let run = |f: String| {
        let a = args(f);
        ok(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let direct = run(s(&data).into());
    assert_eq!(run(s(&other).into()), direct);
    assert!(rows(&direct).iter().all(|r| r[3] >= -1e-9 * r[1].abs()));
}
