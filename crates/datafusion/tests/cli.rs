//! The `em-datafusion` command on small files: a whole-file fit, a `GROUP BY` fit, errors.

use std::path::Path;
use std::process::{Command, Output};

fn em_datafusion(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_em-datafusion"))
        .args(args)
        .output()
        .expect("the command runs")
}

/// Two clusters per site, site b shifted by 100; `n` rows per site.
fn write_csv(path: &Path, n: usize) {
    let mut text = String::from("site,x,y\n");
    for i in 0..n {
        for (site, shift) in [("a", 0.0), ("b", 100.0)] {
            let centre = if i % 2 == 0 { -3.0 } else { 3.0 };
            let wobble = ((i * 37 % 101) as f64 / 101.0 - 0.5) * 0.8;
            let wobble2 = ((i * 53 % 97) as f64 / 97.0 - 0.5) * 0.8;
            text += &format!(
                "{site},{},{}\n",
                shift + centre + wobble,
                centre * 0.5 + wobble2
            );
        }
    }
    std::fs::write(path, text).expect("written");
}

#[test]
fn fits_a_csv_file_and_writes_json() {
    let dir = tempfile::tempdir().expect("a directory");
    let csv = dir.path().join("points.csv");
    let json = dir.path().join("fit.json");
    write_csv(&csv, 400);
    let out = em_datafusion(&[
        csv.to_str().expect("utf-8"),
        "-k",
        "2",
        "--columns",
        "y",
        "--json",
        json.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("800 rows"), "{stdout}");
    assert!(stdout.contains("converged"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("a report")).expect("JSON");
    let means = &report["fit"]["model"]["means"];
    let mut m: Vec<f64> = means
        .as_array()
        .expect("means")
        .iter()
        .flat_map(|v| {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_f64())
                .collect::<Vec<_>>()
        })
        .collect();
    m.sort_by(f64::total_cmp);
    assert!(
        (m[0] + 1.5).abs() < 0.05 && (m[1] - 1.5).abs() < 0.05,
        "{m:?}"
    );
}

#[test]
fn fits_one_model_per_group() {
    let dir = tempfile::tempdir().expect("a directory");
    let csv = dir.path().join("sites.csv");
    write_csv(&csv, 300);
    let out = em_datafusion(&[
        csv.to_str().expect("utf-8"),
        "-k",
        "2",
        "--group-by",
        "site",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("2 groups of `site`"), "{stdout}");
    assert!(stdout.contains("site = a: 300 rows"), "{stdout}");
    assert!(stdout.contains("site = b: 300 rows"), "{stdout}");
}

#[test]
fn an_unknown_column_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("a directory");
    let csv = dir.path().join("points.csv");
    write_csv(&csv, 10);
    let out = em_datafusion(&[csv.to_str().expect("utf-8"), "--columns", "x,nope"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("column `nope`: the table has no such column (it has site, x, y)"),
        "{stderr}"
    );
    let out = em_datafusion(&[dir.path().join("points.txt").to_str().expect("utf-8")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read .txt files"));
}
