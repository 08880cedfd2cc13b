//! Human-readable text: the summary of a fit and the table of `select`.

use std::fmt::Write;

use gmm::{CovarianceType, GaussianMixture};

use crate::json::ReportFile;

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
    let (k, d) = (model.n_components(), model.n_features());
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
    let named = |values: &[f64]| -> String {
        values
            .iter()
            .zip(cx.columns)
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
    /// Whether it met the tolerance.
    pub converged: bool,
    /// Iterations of the winning restart.
    pub n_iter: usize,
}

/// Index of the row with the lowest value of `key` among the successful fits.
pub fn best_by(rows: &[SelectRow], key: impl Fn(&SelectFit) -> f64) -> Option<usize> {
    rows.iter()
        .enumerate()
        .filter_map(|(i, r)| r.result.as_ref().ok().map(|f| (i, key(f))))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The table `em select` prints, the best row (lowest BIC) marked `<- best`.
pub fn select_table(rows: &[SelectRow], source: &str, shape: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Model selection on {source}: {shape}");
    let _ = writeln!(
        s,
        "BIC = -2 log L + p ln N, AIC = -2 log L + 2p: lower is better\n"
    );
    let _ = writeln!(
        s,
        "{:>3}  {:<10} {:>15} {:>6} {:>13} {:>13}  converged",
        "K", "covariance", "log-likelihood", "p", "BIC", "AIC"
    );
    let best = best_by(rows, |f| f.bic);
    for (i, r) in rows.iter().enumerate() {
        match &r.result {
            Ok(f) => {
                let _ = write!(
                    s,
                    "{:>3}  {:<10} {:>15.3} {:>6} {:>13.3} {:>13.3}  {}",
                    r.k,
                    r.covariance_type.as_str(),
                    f.log_likelihood,
                    f.n_parameters,
                    f.bic,
                    f.aic,
                    if f.converged { "yes" } else { "no" }
                );
                if best == Some(i) {
                    s.push_str("  <- best");
                }
                s.push('\n');
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
    match best {
        Some(i) => {
            let r = &rows[i];
            let bic = r.result.as_ref().map(|f| f.bic).unwrap_or(f64::NAN);
            let _ = write!(
                s,
                "\nbest by BIC: K = {}, {} covariance (BIC {bic:.3})",
                r.k, r.covariance_type
            );
            if let Some(j) = best_by(rows, |f| f.aic).filter(|&j| j != i) {
                let a = &rows[j];
                let aic = a.result.as_ref().map(|f| f.aic).unwrap_or(f64::NAN);
                let _ = write!(
                    s,
                    "; AIC prefers K = {}, {} (AIC {aic:.3})",
                    a.k, a.covariance_type
                );
            }
            s.push('\n');
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

    #[test]
    fn table_marks_the_lowest_bic_and_lists_failures() {
        let fit = |bic: f64, aic: f64| {
            Ok(SelectFit {
                log_likelihood: -1.0,
                n_parameters: 3,
                bic,
                aic,
                converged: true,
                n_iter: 4,
            })
        };
        let rows = vec![
            SelectRow {
                k: 1,
                covariance_type: CovarianceType::Full,
                result: fit(10.0, 9.0),
            },
            SelectRow {
                k: 2,
                covariance_type: CovarianceType::Tied,
                result: fit(8.0, 7.0),
            },
            SelectRow {
                k: 3,
                covariance_type: CovarianceType::Full,
                result: Err("singular".into()),
            },
        ];
        let t = select_table(&rows, "d.csv", "3 rows");
        let marked: Vec<&str> = t.lines().filter(|l| l.ends_with("<- best")).collect();
        assert_eq!(marked.len(), 1);
        assert!(marked[0].trim_start().starts_with("2  tied"));
        assert!(t.contains("3  full       failed: singular"));
        assert!(t.contains("best by BIC: K = 2, tied covariance"));
    }
}
