//! `--output`, then `--model` (predict, sample) and `--init` read the same file back.

use crate::common::{Scratch, em, fails_with, json, ok, s, two_groups};

#[test]
fn output_round_trip_then_predict_and_sample() {
    let dir = Scratch::new();
    let data = dir.file("d.csv", &format!("a,b\n{}\n", two_groups(40).join("\n")));
    let m = dir.path("m.json");
    let printed = ok(&["fit", s(&data), "-k", "2", "--json", "--output", s(&m)]);
    let written = std::fs::read_to_string(&m).unwrap();
    assert_eq!(printed, written, "--json and --output give the same report");
    let r = json(&written);
    let k = r["weights"].as_array().unwrap().len();

    let labels = ok(&["predict", "--model", s(&m), s(&data), "--no-input"]);
    let lines: Vec<&str> = labels.lines().collect();
    assert_eq!(lines[0], "row,component,log_density");
    assert_eq!(lines.len(), 41);
    let label = |l: &str| l.split(',').nth(1).unwrap().parse::<usize>().unwrap();
    // The two groups alternate row by row, and so do the labels.
    assert_ne!(label(lines[1]), label(lines[2]));
    assert!(lines[1..].iter().all(|l| label(l) < k));

    let proba = ok(&["predict", "--model", s(&m), s(&data), "--proba"]);
    let lines: Vec<&str> = proba.lines().collect();
    assert_eq!(lines[0], "a,b,component,p0,p1,log_density");
    for l in &lines[1..] {
        let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
        assert!((v[3] + v[4] - 1.0).abs() < 1e-12);
        let argmax = if v[4] > v[3] { 1.0 } else { 0.0 };
        assert_eq!(v[2], argmax);
        assert!(v[5].is_finite());
    }

    let a = ok(&["sample", "--model", s(&m), "-n", "50", "--seed", "3"]);
    let b = ok(&["sample", "--model", s(&m), "-n", "50", "--seed", "3"]);
    let c = ok(&["sample", "--model", s(&m), "-n", "50", "--seed", "4"]);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let lines: Vec<&str> = a.lines().collect();
    assert_eq!(lines[0], "a,b", "the model's feature names");
    assert_eq!(lines.len(), 51);
    assert!(lines[1..].iter().all(|l| l.split(',').count() == 2));
    let labelled = ok(&["sample", "--model", s(&m), "-n", "5", "--labels"]);
    assert!(labelled.starts_with("a,b,component\n"));

    // A sample is valid input for another fit.
    let sample = dir.file("s.csv", &ok(&["sample", "--model", s(&m), "-n", "200"]));
    ok(&["fit", s(&sample), "-k", "2"]);
}

#[test]
fn init_from_a_model_file_takes_its_k_and_type() {
    let dir = Scratch::new();
    let m = dir.path("m.json");
    ok(&[
        "fit",
        "-k",
        "2",
        "--covariance",
        "diag",
        "--output",
        s(&m),
        "-q",
    ]);
    let data = dir.file("faithful.csv", crate_faithful());
    let out = ok(&["fit", s(&data), "--init", s(&m)]);
    assert!(out.contains("K = 2, diag covariance"), "{out}");
    assert!(out.contains("K and covariance type from"), "{out}");
    let r = json(&ok(&["fit", s(&data), "--init", s(&m), "--json"]));
    let before = json(&std::fs::read_to_string(&m).unwrap());
    // Started at a fitted optimum, EM converges at once and stays there.
    assert!(r["n_iter"].as_u64().unwrap() <= 2);
    let gain = r["log_likelihood"].as_f64().unwrap() - before["log_likelihood"].as_f64().unwrap();
    assert!(gain.abs() < 1.0, "{gain}");
    // A conflicting -k is bad input, named.
    let out = em(&["fit", s(&data), "--init", s(&m), "-k", "3"]);
    fails_with(&out, 2, &["init", "K = 2"]);
}

fn crate_faithful() -> &'static str {
    include_str!("../../../../data/faithful.csv")
}

#[test]
fn invalid_model_files_are_bad_input_naming_the_field() {
    let dir = Scratch::new();
    let data = dir.file("d.csv", "1,2\n3,4\n");
    let model = |name: &str, weights: &str, covs: &str| {
        dir.file(
            name,
            &format!(
                r#"{{"model":"gaussian_mixture","covariance_type":"full","weights":{weights},"means":[[0,0],[5,5]],"covariances":{covs}}}"#
            ),
        )
    };
    let eye = "[[1,0],[0,1]]";
    let good = format!("[{eye},{eye}]");
    let cases = [
        (
            model("neg.json", "[-0.5,1.5]", &good),
            "weights[0]: negative weight",
        ),
        (
            model("sum.json", "[0.5,0.6]", &good),
            "weights: they sum to 1.1",
        ),
        (
            model("pd.json", "[0.5,0.5]", "[[[1,0],[0,1]],[[1,3],[3,1]]]"),
            "covariances[1]: not positive definite",
        ),
        (
            model("shape.json", "[0.5,0.5]", "[[[1,0],[0,1]]]"),
            "covariances: 1 matrices",
        ),
        (dir.file("junk.json", "{ not json"), "not a model file"),
    ];
    for (path, needle) in &cases {
        let out = em(&["predict", "--model", s(path), s(&data)]);
        fails_with(&out, 2, &[s(path), needle]);
        let out = em(&["sample", "--model", s(path), "-n", "3"]);
        fails_with(&out, 2, &[needle]);
        let out = em(&["fit", s(&data), "--init", s(path)]);
        fails_with(&out, 2, &[needle]);
    }
    let out = em(&["predict", "--model", "no-such-model.json", s(&data)]);
    fails_with(&out, 2, &["cannot read model file no-such-model.json"]);
    // A model of 2 features cannot predict 3 columns.
    let wide = dir.file("wide.csv", "1,2,3\n");
    let ok_model = model("ok.json", "[0.5,0.5]", &good);
    let out = em(&["predict", "--model", s(&ok_model), s(&wide)]);
    fails_with(
        &out,
        2,
        &["wide.csv has 3 columns, but the model", "has 2 features"],
    );
}
