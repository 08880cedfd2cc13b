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
    // The marked row has the smallest BIC (column 5) of the fits that converged.
    let bic = |l: &str| l.split_whitespace().nth(4).unwrap().parse::<f64>().unwrap();
    let min = rows
        .iter()
        .filter(|l| l.contains(" yes ("))
        .map(|l| bic(l))
        .fold(f64::INFINITY, f64::min);
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
        .filter(|x| x["converged"] == true)
        .map(|x| x["bic"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(r["best"]["bic"].as_f64().unwrap(), min);
    assert_eq!(r["criterion"], "bic");
    // Every row has the three criteria, ICL never below BIC.
    for x in rows {
        let (bic, icl) = (x["bic"].as_f64().unwrap(), x["icl"].as_f64().unwrap());
        assert!(x["aic"].is_f64() && icl >= bic, "{x}");
    }
}

/// The fits run side by side, but each one's result does not depend on the threads: the
/// table is the same bytes on one thread and on three, in the serial order of K and structure.
#[test]
fn the_table_does_not_depend_on_the_threads_the_fits_run_on() {
    let run = |threads: &str| {
        ok(&[
            "select",
            "--k",
            "1..4",
            "--n-init",
            "2",
            "--json",
            "--threads",
            threads,
        ])
    };
    let one = run("1");
    assert_eq!(run("3"), one);
    let rows = json(&one)["rows"].as_array().unwrap().clone();
    let order: Vec<(u64, String)> = rows
        .iter()
        .map(|r| (r["k"].as_u64().unwrap(), r["covariance_type"].to_string()))
        .collect();
    let kinds = ["\"full\"", "\"diag\"", "\"spherical\"", "\"tied\""];
    let serial: Vec<(u64, String)> = (1..=4)
        .flat_map(|k| kinds.iter().map(move |t| (k, t.to_string())))
        .collect();
    assert_eq!(order, serial);
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

/// The table's fit rows (those starting with K).
fn fit_rows(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .collect()
}

/// Field `i` (0-based, split on whitespace) of a table row, as a number.
fn field(row: &str, i: usize) -> f64 {
    row.split_whitespace()
        .nth(i)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number in field {i} of {row:?}"))
}

#[test]
fn table_shows_k_covariance_loglik_p_bic_aic_icl_and_convergence_with_iterations() {
    let out = ok(&["select", "--k", "1..3", "--covariance", "full,tied", "-q"]);
    let header = out
        .lines()
        .find(|l| l.trim_start().starts_with("K "))
        .unwrap();
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "K",
            "covariance",
            "log-likelihood",
            "p",
            "BIC",
            "AIC",
            "ICL",
            "converged",
            "(iterations)"
        ],
        "{out}"
    );
    let rows = fit_rows(&out);
    assert_eq!(rows.len(), 6, "{out}");
    for row in &rows {
        let f: Vec<&str> = row.split_whitespace().collect();
        let (k, ll, p) = (field(row, 0), field(row, 2), field(row, 3));
        let (bic, aic, icl) = (field(row, 4), field(row, 5), field(row, 6));
        // The printed figures (3 decimals) obey the definitions.
        assert!((bic - (-2.0 * ll + p * 272f64.ln())).abs() < 0.01, "{row}");
        assert!((aic - (-2.0 * ll + 2.0 * p)).abs() < 0.01, "{row}");
        if k == 1.0 {
            assert_eq!(icl, bic, "one component classifies with certainty: {row}");
        } else {
            assert!(icl > bic, "the classification penalty is positive: {row}");
        }
        assert!(f[7] == "yes" || f[7] == "NO", "{row}");
        assert!(f[8].starts_with('(') && f[8].ends_with(')'), "{row}");
        let n_iter: usize = f[8].trim_matches(['(', ')']).parse().unwrap();
        assert!((1..=10_000).contains(&n_iter), "{row}");
    }
}

#[test]
fn criterion_chooses_what_is_minimised_and_marked() {
    for (criterion, column) in [("bic", 4), ("aic", 5), ("icl", 6)] {
        let out = ok(&[
            "select",
            "--k",
            "1..3",
            "--criterion",
            criterion,
            "--max-iter",
            "1000",
            "-q",
        ]);
        let rows = fit_rows(&out);
        assert_eq!(rows.len(), 12, "{out}");
        assert!(rows.iter().all(|r| r.contains(" yes (")), "{out}");
        let best: Vec<&&str> = rows.iter().filter(|l| l.ends_with("<- best")).collect();
        assert_eq!(best.len(), 1, "{criterion}: {out}");
        let min = rows
            .iter()
            .map(|r| field(r, column))
            .fold(f64::INFINITY, f64::min);
        assert_eq!(field(best[0], column), min, "{criterion}: {out}");
        let label = criterion.to_uppercase();
        assert!(out.contains(&format!("best by {label}: K = ")), "{out}");
        assert!(out.contains(&format!("the lowest {label} among")), "{out}");
    }
    // On Old Faithful BIC picks mclust's K = 3 tied (EEE) while ICL, which penalises the
    // overlap of the third component, picks K = 2 full (mclust's ICL choice, VVV with 2).
    let by_icl = json(&ok(&[
        "select",
        "--k",
        "1..3",
        "--criterion",
        "icl",
        "--max-iter",
        "1000",
        "--json",
    ]));
    assert_eq!(by_icl["criterion"], "icl");
    assert_eq!(by_icl["best"]["k"], 2);
    assert_eq!(by_icl["best"]["covariance_type"], "full");
    let min_icl = by_icl["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["icl"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(by_icl["best"]["icl"].as_f64().unwrap(), min_icl);
    assert!(by_icl["passed_over"].is_null());
}

#[test]
fn a_fit_that_did_not_converge_is_marked_and_not_selected_even_with_the_lowest_bic() {
    // At --max-iter 2 only the one-component fits converge (for K = 1 the first M-step is
    // the maximum); from k-means starts the K = 2 and 3 fits stop early with far lower BIC than
    // any K = 1 fit. (The default start, mclust's, is so good on these data that the K = 2
    // tied fit converges in two iterations.)
    let args = [
        "select",
        "--k",
        "1..3",
        "--covariance",
        "full,tied",
        "--max-iter",
        "2",
        "--tol",
        "1e-8",
        "--init",
        "kmeans",
        "--n-init",
        "1",
    ];
    let run = em(&args);
    assert!(run.status.success(), "{run:?}");
    let out = String::from_utf8(run.stdout).unwrap();
    let stderr = String::from_utf8(run.stderr).unwrap();
    let rows = fit_rows(&out);
    for row in &rows {
        let converged = row.starts_with("  1 ");
        assert_eq!(row.contains(" yes ("), converged, "{out}");
        assert_eq!(row.contains(" NO (2)"), !converged, "{out}");
    }
    let best: Vec<&&str> = rows.iter().filter(|l| l.ends_with("<- best")).collect();
    assert_eq!(best.len(), 1, "{out}");
    assert!(best[0].starts_with("  1  full"), "{out}");
    let passed: Vec<&&str> = rows
        .iter()
        .filter(|l| l.ends_with("<- lowest BIC, not converged"))
        .collect();
    assert_eq!(passed.len(), 1, "{out}");
    let lowest = rows
        .iter()
        .map(|r| field(r, 4))
        .fold(f64::INFINITY, f64::min);
    assert_eq!(field(passed[0], 4), lowest, "{out}");
    assert!(out.contains("NO (n): stopped after n iterations without converging (4 of 6 fits)"));
    // The note names the passed-over fit and says what to do.
    let (k, kind) = {
        let f: Vec<&str> = passed[0].split_whitespace().collect();
        (f[0].to_string(), f[1].to_string())
    };
    assert!(
        stderr.contains(&format!("em: note: K = {k}, {kind} has the lowest BIC")),
        "{stderr}"
    );
    assert!(
        stderr.contains("not selected") && stderr.contains("--max-iter"),
        "{stderr}"
    );
    // --quiet drops the note but not the marks.
    let quiet = em(&[&args[..], &["-q"]].concat());
    assert!(quiet.stderr.is_empty());
    assert_eq!(String::from_utf8(quiet.stdout).unwrap(), out);
    // The JSON marks it too: converged false on the row, and as passed_over.
    let r = json(&ok(&[&args[..], &["--json", "-q"]].concat()));
    assert_eq!(r["best"]["k"], 1);
    assert_eq!(r["best"]["converged"], true);
    assert_eq!(r["passed_over"]["converged"], false);
    assert_eq!(r["passed_over"]["k"].to_string(), k);
    assert_eq!(r["passed_over"]["covariance_type"], kind.as_str());
    let unconverged = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["converged"] == false && x["n_iter"] == 2)
        .count();
    assert_eq!(unconverged, 4);
}

#[test]
fn no_converged_fit_prints_the_table_selects_nothing_and_exits_1() {
    let dir = Scratch::new();
    let m = dir.path("best.json");
    let out = em(&[
        "select",
        "--k",
        "2..3",
        "--covariance",
        "full",
        "--max-iter",
        "1",
        "--output",
        s(&m),
    ]);
    let stderr = fails_with(
        &out,
        1,
        &[
            "no model selected",
            "none of the 2 fits converged",
            "--max-iter (now 1)",
            "--output was not written",
        ],
    );
    assert!(!stderr.contains("note"), "{stderr}");
    let table = String::from_utf8(out.stdout).unwrap();
    let rows = fit_rows(&table);
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().all(|r| r.contains(" NO (1)")), "{table}");
    assert!(!table.lines().any(|l| l.ends_with("<- best")), "{table}");
    assert!(table.contains("<- lowest BIC, not converged"), "{table}");
    assert!(
        table.ends_with("no model selected: no fit converged\n"),
        "{table}"
    );
    assert!(!m.exists(), "--output must not be written");
    // With --json: the report with a null best, then the same failure.
    let out = em(&[
        "select",
        "--k",
        "2",
        "--covariance",
        "full",
        "--max-iter",
        "1",
        "--json",
    ]);
    fails_with(
        &out,
        1,
        &["no model selected", "the only fit did not converge"],
    );
    let r = json(&String::from_utf8(out.stdout).unwrap());
    assert!(r["best"].is_null());
    assert_eq!(r["passed_over"]["k"], 2);
}
