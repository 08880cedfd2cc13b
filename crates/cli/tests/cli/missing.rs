//! Missing values on the command line: modelled by default in fit, select, predict (with
//! imputation) and plots; dropped or refused on request.

use crate::common::*;

/// Two well-separated groups in 3-D with every seventh value missing (never a whole row).
fn holes() -> String {
    let mut text = String::from("a,b,c\n");
    for i in 0..240usize {
        let centre = if i % 2 == 0 { 0.0 } else { 8.0 };
        let row: Vec<String> = (0..3usize)
            .map(|j| {
                if (i * 3 + j) % 7 == 3 {
                    return if i % 3 == 0 {
                        "NA".into()
                    } else {
                        String::new()
                    };
                }
                let noise = ((i * 37 + j * 11) % 23) as f64 / 23.0 - 0.5;
                format!(
                    "{}",
                    centre + j as f64 + noise + 0.3 * ((i * 13) % 5) as f64
                )
            })
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

#[test]
fn fit_predict_and_impute_with_missing_values() {
    let scratch = Scratch::new();
    let file = scratch.file("holes.csv", &holes());
    let model = scratch.path("m.json");
    let out = ok(&["fit", s(&file), "-k", "2", "--output", s(&model), "--quiet"]);
    assert!(
        out.contains("240 rows × 3 columns (a, b, c), 103 values missing"),
        "{out}"
    );
    assert!(out.contains("converged        yes"), "{out}");

    let predicted = ok(&["predict", "--model", s(&model), s(&file)]);
    let lines: Vec<&str> = predicted.lines().collect();
    assert_eq!(lines[0], "a,b,c,component,log_density");
    assert_eq!(lines.len(), 241);
    // Row 1 (line 3) misses a: printed as read, an empty field; its component is that of
    // its group, as for every row.
    let fields: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(fields[0], "");
    let component = |line: &str| line.split(',').nth(3).map(str::to_string);
    for (i, line) in lines[1..].iter().enumerate() {
        assert_eq!(
            component(line),
            component(lines[1 + i % 2]),
            "row {i}: {line}"
        );
    }

    let imputed = ok(&["predict", "--model", s(&model), s(&file), "--impute"]);
    let rows: Vec<Vec<&str>> = imputed
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(
        rows.iter()
            .all(|r| r[..3].iter().all(|v| v.parse::<f64>().is_ok()))
    );
    // Row 1 is in the group whose a is about 8.6: its a is filled in near there.
    let a: f64 = rows[1][0].parse().unwrap();
    assert!((a - 8.6).abs() < 1.0, "{a}");
    // Observed values are printed as they were read.
    assert_eq!(rows[1][1], lines[2].split(',').nth(1).unwrap());

    // --missing error refuses the file, --missing drop fits the complete rows.
    fails_with(
        &em(&[
            "predict",
            "--model",
            s(&model),
            s(&file),
            "--missing",
            "error",
        ]),
        2,
        &[
            "holes.csv: line 3, column 1 (a)",
            "refused by --missing error",
        ],
    );
    let dropped = ok(&["fit", s(&file), "-k", "2", "--missing", "drop", "--quiet"]);
    assert!(
        dropped.contains("rows × 3 columns (a, b, c)\n"),
        "{dropped}"
    );
    let out = em(&[
        "predict",
        "--model",
        s(&model),
        s(&file),
        "--impute",
        "--no-input",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with '--no-input'"));
}

#[test]
fn select_and_plot_with_missing_values() {
    let scratch = Scratch::new();
    let file = scratch.file("holes.csv", &holes());
    let out = ok(&[
        "select",
        s(&file),
        "--k",
        "1..4",
        "--covariance",
        "full",
        "--quiet",
    ]);
    assert!(out.contains("best by BIC: K = 2, full covariance"), "{out}");
    let plot = scratch.path("fit.svg");
    ok(&["fit", s(&file), "-k", "2", "--plot", s(&plot), "--quiet"]);
    assert!(
        std::fs::metadata(&plot)
            .map(|m| m.len() > 1000)
            .unwrap_or(false)
    );
}

#[test]
fn streamed_fit_with_missing_values_equals_the_in_memory_fit() {
    let scratch = Scratch::new();
    let file = scratch.file("holes.csv", &holes());
    let strip = &["columns", "log_density_quantiles"];
    let in_memory = json_without(
        &ok(&["fit", s(&file), "-k", "2", "--json", "--quiet"]),
        strip,
    );
    let streamed = json_without(
        &ok(&["fit", s(&file), "-k", "2", "--json", "--quiet", "--stream"]),
        strip,
    );
    assert_eq!(in_memory, streamed);
}

#[test]
fn the_binary_format_keeps_missing_values() {
    let scratch = Scratch::new();
    let file = scratch.file("holes.csv", &holes());
    let bin = scratch.path("holes.f64");
    ok(&["convert", s(&file), s(&bin), "--quiet"]);
    let strip = &["columns", "log_density_quantiles"];
    let csv = json_without(
        &ok(&["fit", s(&file), "-k", "2", "--json", "--quiet"]),
        strip,
    );
    for extra in [&[][..], &["--stream"][..]] {
        let mut args = vec!["fit", s(&bin), "-k", "2", "--json", "--quiet"];
        args.extend_from_slice(extra);
        assert_eq!(json_without(&ok(&args), strip), csv, "{extra:?}");
    }
    fails_with(
        &em(&["fit", s(&bin), "-k", "2", "--missing", "error"]),
        2,
        &[
            "holes.f64",
            "missing value (NaN), refused by --missing error",
        ],
    );
    let dropped = ok(&["fit", s(&bin), "-k", "2", "--missing", "drop"]);
    let from_csv = ok(&["fit", s(&file), "-k", "2", "--missing", "drop"]);
    let ll = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("log-likelihood"))
            .map(str::to_string)
    };
    assert_eq!(ll(&dropped), ll(&from_csv));
    // Streamed, the rows dropped are counted as in memory.
    let out = em(&["fit", s(&bin), "-k", "2", "--missing", "drop", "--stream"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let in_memory = em(&["fit", s(&bin), "-k", "2", "--missing", "drop"]);
    let note = |e: &[u8]| {
        String::from_utf8_lossy(e)
            .lines()
            .find(|l| l.starts_with("em: dropped"))
            .map(|l| l.split(" with ").next().unwrap_or_default().to_string())
    };
    assert!(note(&out.stderr).is_some(), "{stderr}");
    assert_eq!(note(&out.stderr), note(&in_memory.stderr));
}

#[test]
fn standardize_with_missing_values_reports_the_original_units() {
    let scratch = Scratch::new();
    let file = scratch.file("holes.csv", &holes());
    let ll = |extra: &[&str]| {
        let mut args = vec!["fit", s(&file), "-k", "2", "--json", "--quiet"];
        args.extend_from_slice(extra);
        json(&ok(&args))["log_likelihood"]
            .as_f64()
            .unwrap_or(f64::NAN)
    };
    // z-scores of the observed values; the change of units counts each observed value once.
    let (raw, standardized) = (ll(&[]), ll(&["--standardize"]));
    assert!(
        (raw - standardized).abs() < 1e-6 * raw.abs(),
        "{raw} vs {standardized}"
    );
}
