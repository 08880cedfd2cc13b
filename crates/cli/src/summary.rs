//! Human-readable text: the summary of a fit and the table of `select`.

use std::fmt::Write;

use gmm::{CovarianceType, GaussianMixture};

use crate::args::Criterion;
use crate::json::{OnlineReportFile, ReportFile};

/// `v` with `digits` significant digits, trailing zeros dropped; scientific notation outside
/// 1e-4 ≤ |v| < 1e7.
pub fn sig(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let e = v.abs().log10().floor() as i32;
    let digits = digits.max(1);
    if (-4..7).contains(&e) {
        let decimals = (digits as i32 - 1 - e).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.prec$e}", prec = digits - 1)
    }
}

/// Rows of numbers as right-aligned columns, each line prefixed by `indent`.
fn matrix(rows: &[Vec<f64>], indent: &str) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|&v| sig(v, 6)).collect())
        .collect();
    let width = cells.iter().flatten().map(|c| c.len()).max().unwrap_or(1);
    let mut out = String::new();
    for r in &cells {
        let line: Vec<String> = r.iter().map(|c| format!("{c:>width$}")).collect();
        let _ = writeln!(out, "{indent}[ {} ]", line.join("  "));
    }
    out
}

/// Largest D for which covariance matrices are printed whole (beyond it, variances only).
const MAX_PRINTED_D: usize = 6;

/// What the summary says about where the data and the model came from.
pub struct Context<'a> {
    /// `the bundled Old Faithful data` or the file name.
    pub source: &'a str,
    /// `272 rows × 2 columns (eruptions, waiting)`.
    pub shape: String,
    /// Column names.
    pub columns: &'a [String],
    /// A note on how K and the covariance type were chosen, if not by the user.
    pub model_note: Option<String>,
    /// The stopping rule that applied (`--stopping`, `--tol`), for the convergence line.
    pub stopping: em_core::Stopping,
    /// Maximum iterations per restart.
    pub max_iter: usize,
    /// Restarts run.
    pub n_init: usize,
    /// Restarts that failed.
    pub failed_restarts: usize,
    /// With `--accelerate`: the winning run's E-steps, M-steps and SQUAREM fallbacks.
    pub squarem: Option<(usize, usize, usize)>,
}

/// The summary `em fit` prints: model, fit quality, then each component.
pub fn fit_summary(model: &GaussianMixture, report: &ReportFile, cx: &Context<'_>) -> String {
    let k = model.n_components();
    let kind = model.covariance_type();
    let mut s = String::new();
    let _ = writeln!(s, "Gaussian mixture fitted to {}: {}", cx.source, cx.shape);
    let _ = write!(
        s,
        "model            K = {k}, {kind} covariance{}",
        if kind == CovarianceType::Tied {
            " (one matrix shared by all components)"
        } else {
            ""
        }
    );
    if let Some(note) = &cx.model_note {
        let _ = write!(s, "\n                 {note}");
    }
    s.push('\n');
    let restarts = if cx.n_init > 1 {
        let failed = if cx.failed_restarts > 0 {
            format!(", {} failed", cx.failed_restarts)
        } else {
            String::new()
        };
        format!("; best of {} restarts{failed}", cx.n_init)
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "converged        {} after {} iteration{} ({} < {:e}{restarts})",
        if report.converged {
            "yes,"
        } else {
            "NO, stopped"
        },
        report.n_iter,
        if report.n_iter == 1 { "" } else { "s" },
        cx.stopping.name(),
        cx.stopping.tol(),
    );
    if let Some((e_steps, m_steps, fallbacks)) = cx.squarem {
        let _ = writeln!(
            s,
            "                 (iterations are SQUAREM cycles: {e_steps} E-steps, {m_steps} EM steps, \
             {fallbacks} fallback{})",
            if fallbacks == 1 { "" } else { "s" }
        );
    }
    if !report.converged {
        let _ = writeln!(
            s,
            "                 (reached --max-iter {}; raise it or --tol, or try --accelerate)",
            cx.max_iter
        );
    }
    let _ = writeln!(
        s,
        "log-likelihood   {:.3} (mean per row {})",
        report.log_likelihood,
        sig(report.mean_log_likelihood, 6)
    );
    let _ = writeln!(
        s,
        "BIC              {:.3} (lower is better; {} free parameters)",
        report.bic, report.n_parameters
    );
    let _ = writeln!(s, "AIC              {:.3}", report.aic);
    s.push_str(&components(model, cx.columns));
    s
}

/// The summary `em fit --online` prints: model, the online updates and the progressive
/// log-likelihood, then each component.
pub fn online_summary(
    model: &GaussianMixture,
    report: &OnlineReportFile,
    source: &str,
    shape: &str,
    columns: &[String],
) -> String {
    let kind = model.covariance_type();
    let online = &report.online;
    let mut s = String::new();
    let _ = writeln!(s, "Gaussian mixture fitted online to {source}: {shape}");
    let _ = writeln!(
        s,
        "model            K = {}, {kind} covariance",
        model.n_components()
    );
    let _ = writeln!(
        s,
        "start            batch EM on the first {} rows ({} iteration{})",
        online.head_rows,
        online.start_iterations,
        if online.start_iterations == 1 {
            ""
        } else {
            "s"
        }
    );
    let _ = writeln!(
        s,
        "online EM        {} updates of up to {} rows, step sizes (t + 2)^-{}, {} pass{}{}",
        online.updates,
        online.batch_size,
        online.step_exponent,
        online.passes,
        if online.passes == 1 { "" } else { "es" },
        if online.stopped_early {
            " (stopped early)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "log-likelihood   mean per row {} (progressive: each mini-batch of the last pass \
         scored before its update)",
        sig(online.progressive_mean_log_likelihood, 6)
    );
    s.push_str(&components(model, columns));
    s
}

/// Each component's weight, mean and covariance (and the shared covariance of a tied model).
fn components(model: &GaussianMixture, columns: &[String]) -> String {
    let (k, d) = (model.n_components(), model.n_features());
    let kind = model.covariance_type();
    let mut s = String::new();
    let named = |values: &[f64]| -> String {
        values
            .iter()
            .zip(columns)
            .map(|(v, name)| format!("{name} {}", sig(*v, 6)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let full_rows = |c: usize| -> Vec<Vec<f64>> {
        let m = model.covariances().full_matrix(c, d);
        (0..d)
            .map(|i| (0..d).map(|j| m[(i, j)]).collect())
            .collect()
    };
    let diagonal = |c: usize| -> Vec<f64> {
        let m = model.covariances().full_matrix(c, d);
        (0..d).map(|i| m[(i, i)]).collect()
    };
    for c in 0..k {
        let _ = writeln!(
            s,
            "\ncomponent {c}      weight {}",
            sig(model.weights()[c], 6)
        );
        let mean: Vec<f64> = (0..d).map(|j| model.means()[(c, j)]).collect();
        let _ = writeln!(s, "  mean           {}", named(&mean));
        match kind {
            CovarianceType::Tied => {}
            CovarianceType::Spherical => {
                let _ = writeln!(s, "  variance       {}", sig(diagonal(c)[0], 6));
            }
            CovarianceType::Diag => {
                let _ = writeln!(s, "  variances      {}", named(&diagonal(c)));
            }
            CovarianceType::Full if d <= MAX_PRINTED_D => {
                let _ = writeln!(s, "  covariance");
                s.push_str(&matrix(&full_rows(c), "    "));
            }
            CovarianceType::Full => {
                let _ = writeln!(
                    s,
                    "  variances      {} (full matrix in --json)",
                    named(&diagonal(c))
                );
            }
        }
    }
    if kind == CovarianceType::Tied {
        if d <= MAX_PRINTED_D {
            let _ = writeln!(s, "\nshared covariance");
            s.push_str(&matrix(&full_rows(0), "    "));
        } else {
            let _ = writeln!(
                s,
                "\nshared variances {} (full matrix in --json)",
                named(&diagonal(0))
            );
        }
    }
    s
}

/// One fit of `select`: its figures, or why it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectRow {
    /// Components.
    pub k: usize,
    /// Covariance structure.
    pub covariance_type: CovarianceType,
    /// The fit's figures, or the error message.
    pub result: Result<SelectFit, String>,
}

/// The figures of one successful fit of `select`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectFit {
    /// Σ log p(x_i).
    pub log_likelihood: f64,
    /// Free parameters.
    pub n_parameters: usize,
    /// −2 log L + p ln N.
    pub bic: f64,
    /// −2 log L + 2p.
    pub aic: f64,
    /// BIC − 2 Σ_i log max_k z_ik.
    pub icl: f64,
    /// Whether it met the tolerance.
    pub converged: bool,
    /// Iterations of the winning restart.
    pub n_iter: usize,
}

impl SelectFit {
    /// The value of `criterion`.
    pub fn value(&self, criterion: Criterion) -> f64 {
        match criterion {
            Criterion::Bic => self.bic,
            Criterion::Aic => self.aic,
            Criterion::Icl => self.icl,
        }
    }
}

/// Index of the first row with the lowest value of `criterion` among the successful fits
/// that pass `keep`.
pub fn best_by(
    rows: &[SelectRow],
    criterion: Criterion,
    keep: impl Fn(&SelectFit) -> bool,
) -> Option<usize> {
    rows.iter()
        .enumerate()
        .filter_map(|(i, r)| r.result.as_ref().ok().map(|f| (i, f)))
        .filter(|(_, f)| keep(f))
        .min_by(|a, b| a.1.value(criterion).total_cmp(&b.1.value(criterion)))
        .map(|(i, _)| i)
}

/// What `select` chose, and what it refused to choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// The criterion minimised.
    pub criterion: Criterion,
    /// The selected row: the lowest criterion among the fits that converged (the first such
    /// row on a tie), or `None` when no fit converged.
    pub best: Option<usize>,
    /// The row with the lowest criterion of all successful fits, when it did not converge and
    /// so was not selected (its value is strictly below the selected row's, if any).
    pub passed_over: Option<usize>,
}

impl Selection {
    /// Chooses among `rows` by `criterion`: only converged fits are eligible.
    pub fn of(rows: &[SelectRow], criterion: Criterion) -> Selection {
        let best = best_by(rows, criterion, |f| f.converged);
        let value = |i: usize| {
            rows[i]
                .result
                .as_ref()
                .map(|f| f.value(criterion))
                .unwrap_or(f64::NAN)
        };
        let passed_over = best_by(rows, criterion, |f| !f.converged)
            .filter(|&i| best.is_none_or(|b| value(i) < value(b)));
        Selection {
            criterion,
            best,
            passed_over,
        }
    }
}

/// `converged` column: `yes (12)` or `NO (100)`.
fn converged_cell(f: &SelectFit) -> String {
    format!("{} ({})", if f.converged { "yes" } else { "NO" }, f.n_iter)
}

/// The table `em select` prints: every fit with its log-likelihood, p, BIC, AIC, ICL and
/// convergence; the selected row marked `<- best`, a lower-scoring fit that did not converge
/// marked `<- lowest BIC, not converged` (for the criterion of `sel`).
pub fn select_table(rows: &[SelectRow], sel: &Selection, source: &str, shape: &str) -> String {
    let name = sel.criterion.label();
    let mut s = String::new();
    let _ = writeln!(s, "Model selection on {source}: {shape}");
    let _ = writeln!(
        s,
        "BIC = -2 log L + p ln N, AIC = -2 log L + 2p, ICL = BIC - 2 sum_i log max_k z_ik: \
         lower is better"
    );
    let _ = writeln!(
        s,
        "<- best: the lowest {name} among the fits that converged\n"
    );
    let _ = writeln!(
        s,
        "{:>3}  {:<10} {:>15} {:>6} {:>13} {:>13} {:>13}  converged (iterations)",
        "K", "covariance", "log-likelihood", "p", "BIC", "AIC", "ICL"
    );
    let cell_width = rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok().map(|f| converged_cell(f).len()))
        .max()
        .unwrap_or(0);
    for (i, r) in rows.iter().enumerate() {
        match &r.result {
            Ok(f) => {
                let mark = if sel.best == Some(i) {
                    "<- best".to_string()
                } else if sel.passed_over == Some(i) {
                    format!("<- lowest {name}, not converged")
                } else {
                    String::new()
                };
                let line = format!(
                    "{:>3}  {:<10} {:>15.3} {:>6} {:>13.3} {:>13.3} {:>13.3}  {:<cell_width$}  {mark}",
                    r.k,
                    r.covariance_type.as_str(),
                    f.log_likelihood,
                    f.n_parameters,
                    f.bic,
                    f.aic,
                    f.icl,
                    converged_cell(f),
                );
                let _ = writeln!(s, "{}", line.trim_end());
            }
            Err(e) => {
                let _ = writeln!(
                    s,
                    "{:>3}  {:<10} failed: {e}",
                    r.k,
                    r.covariance_type.as_str()
                );
            }
        }
    }
    let unconverged = rows
        .iter()
        .filter(|r| r.result.as_ref().is_ok_and(|f| !f.converged))
        .count();
    if unconverged > 0 {
        let _ = writeln!(
            s,
            "\nNO (n): stopped after n iterations without converging ({unconverged} of {} \
             fits); shown, never selected",
            rows.len()
        );
    }
    match sel.best {
        Some(i) => {
            let r = &rows[i];
            let v = r
                .result
                .as_ref()
                .map(|f| f.value(sel.criterion))
                .unwrap_or(f64::NAN);
            let _ = write!(
                s,
                "\nbest by {name}: K = {}, {} covariance ({name} {v:.3})",
                r.k, r.covariance_type
            );
            s.push('\n');
            let others: Vec<String> = [Criterion::Bic, Criterion::Aic, Criterion::Icl]
                .into_iter()
                .filter(|&other| other != sel.criterion)
                .filter_map(|other| {
                    let j = best_by(rows, other, |f| f.converged).filter(|&j| j != i)?;
                    let (a, f) = (&rows[j], rows[j].result.as_ref().ok()?);
                    Some(format!(
                        "{o} prefers K = {}, {} ({o} {:.3})",
                        a.k,
                        a.covariance_type,
                        f.value(other),
                        o = other.label()
                    ))
                })
                .collect();
            if !others.is_empty() {
                let _ = writeln!(s, "among the converged fits, {}", others.join("; "));
            }
        }
        None if rows.iter().any(|r| r.result.is_ok()) => {
            s.push_str("\nno model selected: no fit converged\n");
        }
        None => s.push_str("\nno model could be fitted\n"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(sig(0.0774469, 6), "0.0774469");
        assert_eq!(sig(33.7, 6), "33.7");
        assert_eq!(sig(-1126.316441, 6), "-1126.32");
        assert_eq!(sig(1.0, 6), "1");
        assert_eq!(sig(1.5e-7, 3), "1.50e-7");
        assert_eq!(sig(123456789.0, 4), "1.235e8");
    }

    fn fit(bic: f64, aic: f64, icl: f64, converged: bool) -> Result<SelectFit, String> {
        Ok(SelectFit {
            log_likelihood: -1.0,
            n_parameters: 3,
            bic,
            aic,
            icl,
            converged,
            n_iter: if converged { 4 } else { 100 },
        })
    }

    fn row(
        k: usize,
        covariance_type: CovarianceType,
        result: Result<SelectFit, String>,
    ) -> SelectRow {
        SelectRow {
            k,
            covariance_type,
            result,
        }
    }

    #[test]
    fn table_marks_the_lowest_bic_and_lists_failures() {
        let rows = vec![
            row(1, CovarianceType::Full, fit(10.0, 9.0, 10.0, true)),
            row(2, CovarianceType::Tied, fit(8.0, 7.0, 12.0, true)),
            row(3, CovarianceType::Full, Err("singular".into())),
        ];
        let sel = Selection::of(&rows, Criterion::Bic);
        assert_eq!((sel.best, sel.passed_over), (Some(1), None));
        let t = select_table(&rows, &sel, "d.csv", "3 rows");
        let marked: Vec<&str> = t.lines().filter(|l| l.ends_with("<- best")).collect();
        assert_eq!(marked.len(), 1);
        assert!(marked[0].trim_start().starts_with("2  tied"));
        assert!(marked[0].contains("yes (4)"), "{t}");
        assert!(t.contains("3  full       failed: singular"));
        assert!(t.contains("best by BIC: K = 2, tied covariance"));
        assert!(t.contains("ICL prefers K = 1, full (ICL 10.000)"), "{t}");
        assert!(!t.contains("AIC prefers"), "{t}");
        assert!(!t.contains("NO ("), "{t}");
    }

    #[test]
    fn a_lower_fit_that_did_not_converge_is_marked_and_passed_over() {
        let rows = vec![
            row(1, CovarianceType::Full, fit(10.0, 9.0, 10.0, true)),
            row(2, CovarianceType::Full, fit(5.0, 4.0, 30.0, false)),
            row(3, CovarianceType::Full, fit(20.0, 19.0, 40.0, false)),
        ];
        let sel = Selection::of(&rows, Criterion::Bic);
        assert_eq!((sel.best, sel.passed_over), (Some(0), Some(1)));
        let t = select_table(&rows, &sel, "d.csv", "3 rows");
        let line = |k: &str| t.lines().find(|l| l.trim_start().starts_with(k)).unwrap();
        assert!(line("1  full").ends_with("<- best"), "{t}");
        assert!(line("2  full").contains(" NO (100) "), "{t}");
        assert!(
            line("2  full").ends_with("<- lowest BIC, not converged"),
            "{t}"
        );
        assert!(line("3  full").ends_with("NO (100)"), "{t}");
        assert!(t.contains("(2 of 3 fits); shown, never selected"), "{t}");
        // By ICL the converged fit is also the lowest: nothing is passed over.
        let sel = Selection::of(&rows, Criterion::Icl);
        assert_eq!((sel.best, sel.passed_over), (Some(0), None));
    }

    #[test]
    fn no_converged_fit_selects_nothing() {
        let rows = vec![
            row(1, CovarianceType::Diag, fit(10.0, 9.0, 10.0, false)),
            row(2, CovarianceType::Diag, Err("singular".into())),
        ];
        let sel = Selection::of(&rows, Criterion::Aic);
        assert_eq!((sel.best, sel.passed_over), (None, Some(0)));
        let t = select_table(&rows, &sel, "d.csv", "3 rows");
        assert!(t.ends_with("no model selected: no fit converged\n"), "{t}");
        assert!(!t.lines().any(|l| l.ends_with("<- best")), "{t}");
        assert!(t.contains("<- lowest AIC, not converged"), "{t}");
    }

    #[test]
    fn ties_go_to_the_first_row_and_an_equal_unconverged_fit_is_not_passed_over() {
        let rows = vec![
            row(1, CovarianceType::Full, fit(7.0, 7.0, 7.0, false)),
            row(2, CovarianceType::Full, fit(7.0, 7.0, 7.0, true)),
            row(3, CovarianceType::Full, fit(7.0, 7.0, 7.0, true)),
        ];
        let sel = Selection::of(&rows, Criterion::Bic);
        assert_eq!((sel.best, sel.passed_over), (Some(1), None));
    }
}
