//! `--std-errors` and `--rate` of `em fit` and `em zip`: the table, the JSON blocks, the
//! references, and the options they cannot be combined with.

use crate::common::{Scratch, em, json, ok, s};

/// The `parameters` of a report's `standard_errors` block: (name, estimate, standard error).
fn parameters(report: &serde_json::Value) -> Vec<(String, f64, f64)> {
    report["standard_errors"]["parameters"]
        .as_array()
        .expect("a standard_errors block")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["estimate"].as_f64().unwrap(),
                p["standard_error"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The λ of the summary's line `rate of convergence λ = 0.897 (…`.
fn printed_rate(text: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with("rate of convergence λ = "))
        .unwrap_or_else(|| panic!("no rate in\n{text}"));
    line["rate of convergence λ = ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn fit_prints_a_row_per_parameter_of_the_bundled_model() {
    let text = ok(&["fit", "--std-errors"]);
    let table = text
        .split("\nStandard errors (observed information)\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no table in\n{text}"));
    let rows: Vec<&str> = table
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    // 3 weights, 6 means, one shared 2×2 covariance (3 entries); then the column legend.
    assert_eq!(rows.len(), 12 + 1, "{table}");
    assert!(rows[0].trim_start().starts_with("π_0"), "{table}");
    assert!(rows[11].trim_start().starts_with("Σ[1,1]"), "{table}");
    assert_eq!(rows[12], "  ([j] is column j: 0 eruptions, 1 waiting)");
}

#[test]
fn fit_report_holds_the_standard_errors_and_rate_only_when_asked() {
    let plain = json(&ok(&["fit", "--json"]));
    assert!(plain.get("standard_errors").is_none());
    assert!(plain.get("rate_of_convergence").is_none());

    let r = json(&ok(&["fit", "--std-errors", "--rate", "--json"]));
    assert_eq!(r["standard_errors"]["method"], "observed");
    let se = parameters(&r);
    assert_eq!(se.len(), 3 + 6 + 3);
    assert_eq!(se[0].0, "π_0");
    assert_eq!(se[3].0, "μ_0[0]");
    assert!(
        se.iter().all(|(_, _, e)| e.is_finite() && *e > 0.0),
        "{se:?}"
    );
    // The estimates are the report's parameters.
    assert_eq!(se[0].1, r["weights"][0].as_f64().unwrap());
    assert_eq!(se[4].1, r["means"][0][1].as_f64().unwrap());
    assert_eq!(se[11].1, r["covariances"][0][1][1].as_f64().unwrap());
    // The rest of the report is the one without the options.
    let mut rest = r.clone();
    for key in ["standard_errors", "rate_of_convergence"] {
        rest.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(rest, plain);

    let rate = &r["rate_of_convergence"];
    let lambda = rate["rate"].as_f64().unwrap();
    assert!(lambda > 0.0 && lambda < 1.0, "{lambda}");
    let per_digit = rate["iterations_per_digit"].as_f64().unwrap();
    assert!((per_digit - -1.0 / lambda.log10()).abs() < 1e-9 * per_digit);
    assert_eq!(rate["eigenvalues"].as_array().unwrap().len(), 11);
}

#[test]
fn empirical_information_gives_standard_errors_of_the_same_size() {
    let observed = parameters(&json(&ok(&["fit", "--std-errors", "--json"])));
    let r = json(&ok(&["fit", "--std-errors=empirical", "--json"]));
    assert_eq!(r["standard_errors"]["method"], "empirical");
    let empirical = parameters(&r);
    assert_eq!(empirical.len(), observed.len());
    for (o, e) in observed.iter().zip(&empirical) {
        assert_eq!(o.0, e.0);
        let ratio = e.2 / o.2;
        assert!(ratio > 0.5 && ratio < 2.0, "{}: {} vs {}", o.0, e.2, o.2);
    }
    let text = ok(&["fit", "--std-errors=empirical"]);
    assert!(
        text.contains("Standard errors (empirical information)"),
        "{text}"
    );
}

#[test]
fn standardized_fits_report_standard_errors_in_the_original_units() {
    let raw = parameters(&json(&ok(&["fit", "--std-errors", "--json"])));
    let z = parameters(&json(&ok(&[
        "fit",
        "--std-errors",
        "--json",
        "--standardize",
    ])));
    // The same model (up to the order of the components): the same standard errors.
    let mut a: Vec<f64> = raw.iter().map(|p| p.2).collect();
    let mut b: Vec<f64> = z.iter().map(|p| p.2).collect();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-3 * x, "{a:?} vs {b:?}");
    }
}

#[test]
fn std_errors_and_rate_cannot_be_combined_with_stream() {
    let dir = Scratch::new();
    let f = dir.file("d.csv", "a,b\n1,2\n3,4\n5,7\n");
    for flag in ["--std-errors", "--std-errors=empirical", "--rate"] {
        let out = em(&["fit", s(&f), "-k", "1", "--stream", flag]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
    let out = em(&["fit", "--std-errors=hessian"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("observed, empirical"));
}

#[test]
fn zip_standard_errors_match_statsmodels_observed_information() {
    let dir = Scratch::new();
    let path = dir.path("zip.json");
    let r = json(&ok(&[
        "zip",
        "--std-errors",
        "--json",
        "--output",
        s(&path),
    ]));
    let se = parameters(&r);
    let names: Vec<&str> = se.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(names, ["π", "λ"]);
    // statsmodels' ZeroInflatedPoisson on the bundled counts, from its observed information.
    for ((_, _, got), want) in se.iter().zip([0.003324, 0.017647]) {
        assert!((got - want).abs() < 1e-3 * want, "{got} vs {want}");
    }
    assert_eq!(se[0].1, r["pi"].as_f64().unwrap());
    let file = json(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(file["standard_errors"], r["standard_errors"]);
    let text = ok(&["zip", "--std-errors"]);
    assert!(
        text.contains("Standard errors (observed information)"),
        "{text}"
    );
    assert!(text.contains("0.003324"), "{text}");
}

#[test]
fn rate_of_convergence_is_printed_between_zero_and_one() {
    let fit = ok(&["fit", "--rate"]);
    let lambda = printed_rate(&fit);
    assert!(lambda > 0.0 && lambda < 1.0, "{fit}");
    assert!(fit.contains("plain EM gains one digit every"), "{fit}");
    let zip = ok(&["zip", "--rate"]);
    let lambda = printed_rate(&zip);
    assert!(lambda > 0.0 && lambda < 1.0, "{zip}");
    // `em zip` has no --accelerate to suggest.
    assert!(!zip.contains("--accelerate"), "{zip}");
    let r = json(&ok(&["zip", "--rate", "--json"]));
    let rate = r["rate_of_convergence"]["rate"].as_f64().unwrap();
    assert!((rate - lambda).abs() < 1e-3, "{rate} vs {lambda}");
}

#[test]
fn a_slow_fit_suggests_accelerate() {
    // Two heavily overlapping groups: EM is slow.
    let dir = Scratch::new();
    let rows: String = (0..200)
        .map(|i| {
            let g = if i % 2 == 0 { 0.0 } else { 1.0 };
            format!("{}\n", g + ((i * 37) % 101) as f64 / 30.0)
        })
        .collect();
    let f = dir.file("slow.csv", &format!("x\n{rows}"));
    let text = ok(&["fit", s(&f), "-k", "2", "--rate", "--max-iter", "100000"]);
    let lambda = printed_rate(&text);
    assert!(lambda > 0.9, "{text}");
    assert!(text.contains("--accelerate (SQUAREM) helps most"), "{text}");
}

#[test]
fn missing_values_are_handled_and_caveats_warned() {
    let dir = Scratch::new();
    let mut rows = crate::common::two_groups(80);
    rows[3] = format!(",{}", rows[3].split(',').nth(1).unwrap());
    let f = dir.file("m.csv", &format!("a,b\n{}\n", rows.join("\n")));
    let r = json(&ok(&["fit", s(&f), "-k", "2", "--std-errors", "--json"]));
    assert_eq!(parameters(&r).len(), 2 + 4 + 6);
    let out = em(&[
        "fit",
        s(&f),
        "-k",
        "2",
        "--std-errors",
        "--reg-covar",
        "1e-4",
        "--json",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("em: warning: the model was fitted with --reg-covar"),
        "{stderr}"
    );
    let r = json(&String::from_utf8_lossy(&out.stdout));
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("--reg-covar 0 for exact ones"))
    );
}
