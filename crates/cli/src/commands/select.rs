//! `em select`: fit every K and covariance structure, table BIC and AIC, mark the best.

use std::io::Write;

use em_core::{EmError, FitReport};
use gmm::{CovarianceType, GaussianMixture};
use serde_json::json;

use crate::args::{CovarianceChoice, SelectArgs};
use crate::commands::{builder, check_k, init_method, load_data};
use crate::error::CliError;
use crate::json::ReportFile;
use crate::output::{self, note};
use crate::plot::{self, bic::BicFigure};
use crate::progress::Progress;
use crate::summary::{self, SelectFit, SelectRow, best_by};

/// The structures a `--covariance` list asks for, in the order full, diag, spherical, tied.
pub fn covariance_types(choices: &[CovarianceChoice]) -> Vec<CovarianceType> {
    let wanted = |t: CovarianceType| {
        choices.iter().any(|c| match c {
            CovarianceChoice::All => true,
            CovarianceChoice::Full => t == CovarianceType::Full,
            CovarianceChoice::Diag => t == CovarianceType::Diag,
            CovarianceChoice::Spherical => t == CovarianceType::Spherical,
            CovarianceChoice::Tied => t == CovarianceType::Tied,
        })
    };
    CovarianceType::ALL
        .into_iter()
        .filter(|&t| wanted(t))
        .collect()
}

/// A short reason for the table (the JSON has the whole message).
fn short_reason(e: &EmError) -> String {
    match e {
        EmError::NotPositiveDefinite { component, .. } => {
            format!("singular covariance (component {component})")
        }
        EmError::EmptyComponent { component, .. } => format!("component {component} emptied"),
        other => other.to_string(),
    }
}

/// Runs `em select`.
pub fn run(args: &SelectArgs, quiet: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let Some(init) = init_method(&args.em.init) else {
        return Err(CliError::bad_input(
            "--init with a model file fixes K and cannot be used with select; use kmeans, kmeans++, random or data",
        ));
    };
    if let Some(p) = &args.output {
        output::check_writable(p, "--output")?;
    }
    if let Some(p) = &args.plot {
        plot::check_path(p)?;
    }
    let table = load_data(args.file.as_deref())?;
    let kinds = covariance_types(&args.covariance);
    if let Some(&kmax) = args.k.0.iter().max() {
        check_k(kmax, &table, "the largest K of --k")?;
    }

    let n_init = args.em.n_init as u64;
    let mut progress = Progress::on_stderr(quiet, (args.k.0.len() * kinds.len()) as u64 * n_init);
    let mut rows = Vec::new();
    let mut full_errors = Vec::new();
    let mut best: Option<(f64, GaussianMixture, FitReport)> = None;
    for &k in &args.k.0 {
        for &kind in &kinds {
            progress.group(rows.len() as u64 * n_init, format!("K = {k}, {kind}: "));
            let fit = builder(k, kind, &args.em, init.clone()).fit_observed(
                &table.x,
                None,
                &mut progress,
            );
            let result = fit.and_then(|f| {
                let ll = f.model.log_likelihood_total(&table.x)?;
                Ok((f, ll))
            });
            let (result, error) = match result {
                Ok((f, ll)) => {
                    let p = f.model.n_parameters();
                    let row = SelectFit {
                        log_likelihood: ll,
                        n_parameters: p,
                        bic: em_core::criteria::bic(ll, p, table.x.nrows()),
                        aic: em_core::criteria::aic(ll, p),
                        converged: f.report.converged,
                        n_iter: f.report.iterations,
                    };
                    if best.as_ref().is_none_or(|b| row.bic < b.0) {
                        best = Some((row.bic, f.model, f.report));
                    }
                    (Ok(row), None)
                }
                Err(e) => (Err(short_reason(&e)), Some(e.to_string())),
            };
            rows.push(SelectRow {
                k,
                covariance_type: kind,
                result,
            });
            full_errors.push(error);
        }
    }
    progress.finish();

    let best_row = best_by(&rows, |f| f.bic);
    if let (Some(p), Some((_, model, report))) = (&args.output, &best) {
        let r = ReportFile::new(model, report, &table.x)?;
        output::write_atomic(p, r.to_json().as_bytes())?;
        note(
            quiet,
            &format!("em: wrote the best model to {}", p.display()),
        );
    }
    if let Some(p) = &args.plot {
        let curves = kinds
            .iter()
            .map(|&kind| {
                let pts = rows
                    .iter()
                    .filter(|r| r.covariance_type == kind)
                    .filter_map(|r| r.result.as_ref().ok().map(|f| (r.k, f.bic)))
                    .collect();
                (kind, pts)
            })
            .collect();
        let best = best_row.and_then(|i| {
            let r = &rows[i];
            r.result
                .as_ref()
                .ok()
                .map(|f| (r.k, r.covariance_type, f.bic))
        });
        let figure = BicFigure {
            curves,
            best,
            title: format!(
                "{}: BIC by number of components",
                plot::short_name(&table.source)
            ),
        };
        plot::render(&figure, p)?;
        note(quiet, &format!("em: wrote plot {}", p.display()));
    }
    if best_row.is_none() {
        // Nothing could be fitted: show the table (every row says why), then fail.
        let _ = output::print(
            out,
            &summary::select_table(&rows, &table.source, &table.describe()),
        );
        return Err(CliError::failed(
            full_errors
                .iter()
                .flatten()
                .next()
                .map(|e| format!("no model could be fitted; the first failure: {e}"))
                .unwrap_or_else(|| "no model could be fitted".into()),
        ));
    }
    let text = if args.json {
        let json_rows: Vec<serde_json::Value> = rows
            .iter()
            .zip(&full_errors)
            .map(|(r, err)| match &r.result {
                Ok(f) => json!({
                    "k": r.k,
                    "covariance_type": r.covariance_type,
                    "log_likelihood": f.log_likelihood,
                    "n_parameters": f.n_parameters,
                    "bic": f.bic,
                    "aic": f.aic,
                    "converged": f.converged,
                    "n_iter": f.n_iter,
                }),
                Err(short) => json!({
                    "k": r.k,
                    "covariance_type": r.covariance_type,
                    "error": err.as_deref().unwrap_or(short),
                }),
            })
            .collect();
        let best = best_row.map(|i| {
            let r = &rows[i];
            json!({
                "k": r.k,
                "covariance_type": r.covariance_type,
                "bic": r.result.as_ref().map(|f| f.bic).ok(),
            })
        });
        let mut s = serde_json::to_string_pretty(&json!({ "rows": json_rows, "best": best }))
            .unwrap_or_default();
        s.push('\n');
        s
    } else {
        summary::select_table(&rows, &table.source, &table.describe())
    };
    output::print(out, &text)
}
