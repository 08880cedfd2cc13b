//! `em select`: fit every K and covariance structure, table BIC, AIC and ICL, and select the
//! fit with the lowest `--criterion` among those that converged.

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use em_core::{Control, EmError, FitReport, Iteration, Observer};
use gmm::{CovarianceType, GaussianMixture, diagnostics};
use rayon::prelude::*;
use serde_json::json;

use crate::args::{CovarianceChoice, EmArgs, SelectArgs};
use crate::commands::{builder, check_k, init_method, load_data};
use crate::error::CliError;
use crate::json::ReportFile;
use crate::output::{self, note};
use crate::plot;
use crate::plot::criterion::{CriterionFigure, CurvePoint};
use crate::progress::Progress;
use crate::standardize;
use crate::summary::{self, SelectFit, SelectRow, Selection};
use crate::warnings;

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

/// The JSON of one successful fit (a row, `best` or `passed_over`).
fn fit_json(r: &SelectRow, f: &SelectFit) -> serde_json::Value {
    json!({
        "k": r.k,
        "covariance_type": r.covariance_type,
        "log_likelihood": f.log_likelihood,
        "n_parameters": f.n_parameters,
        "bic": f.bic,
        "aic": f.aic,
        "icl": f.icl,
        "converged": f.converged,
        "n_iter": f.n_iter,
    })
}

/// The progress bar of fits running side by side: each fit's iterations update the one bar
/// (under its lock), and a finished fit moves it on by its runs.
struct SharedProgress<'a> {
    progress: &'a Mutex<Progress>,
    label: String,
}

impl SharedProgress<'_> {
    /// Counts the `runs` of a finished fit as done.
    fn finished(&self, runs: u64) {
        let mut p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        p.advance(runs);
    }
}

impl Observer for SharedProgress<'_> {
    fn observe(&mut self, it: &Iteration) -> Control {
        let mut p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        p.relabel(&self.label);
        p.observe(it)
    }
}

/// Runs `f` on a pool of `threads` workers, or on rayon's global pool (one per core).
fn on_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, CliError> {
    match threads {
        None => Ok(f()),
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map(|pool| pool.install(f))
            .map_err(|e| CliError::failed(format!("could not start {t} worker threads: {e}"))),
    }
}

/// `K = 5, full`.
fn name(r: &SelectRow) -> String {
    format!("K = {}, {}", r.k, r.covariance_type)
}

/// Runs `em select`.
///
/// The selected model is the one with the lowest `--criterion` among the fits that converged.
/// A fit that did not converge is never selected: when one has the lowest value, a note on
/// standard error names it. When none converged, the table (or JSON) is printed and the
/// command fails (exit status 1) saying why; `--output` is then not written.
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
    let criterion = args.criterion;
    let table = load_data(args.file.as_deref(), &args.cols, &args.reader, quiet)?;
    let mut kinds = covariance_types(&args.covariance);
    if let Some(&kmax) = args.k.0.iter().max() {
        check_k(kmax, &table, "the largest K of --k")?;
    }
    let units = if args.standardize {
        if kinds.iter().any(|&t| !standardize::allows(t)) {
            if args.covariance.contains(&CovarianceChoice::Spherical) {
                return Err(standardize::spherical_refused());
            }
            kinds.retain(|&t| standardize::allows(t));
            note(
                quiet,
                "em: note: --standardize leaves out spherical covariances (σ²I on z-scores is \
                 not spherical in the original units); the diag ones are there",
            );
        }
        Some(standardize::of(&table)?)
    } else {
        None
    };
    let x_fit = units.as_ref().map_or(&table.x, |(_, z)| z);
    // The data's own problems, the same for every fit; with the selected fit's after it.
    let column_warnings = diagnostics::check_columns(&table.x, Some(&table.columns));

    let jobs: Vec<(usize, CovarianceType)> = args
        .k
        .0
        .iter()
        .flat_map(|&k| kinds.iter().map(move |&kind| (k, kind)))
        .collect();
    // The fits' E-steps run on the threads the fits run on (no pool of their own each).
    let fit_args = EmArgs {
        threads: None,
        ..args.em.clone()
    };
    let runs_per_fit = builder(
        1,
        CovarianceType::Full,
        &fit_args,
        init.clone(),
        args.reader.missing_values(),
    )
    .restarts() as u64;
    let progress = Mutex::new(Progress::on_stderr(quiet, jobs.len() as u64 * runs_per_fit));
    // Every fit, each with its log-likelihood and ICL in the data's units, in the order of
    // `jobs`. The fits run side by side on the threads of `--threads` (or one per core), and
    // each fit's E-steps share the same threads: a fit's result does not depend on the
    // threads it ran on, so the table is the one a serial loop would print.
    let fit_one = |&(k, kind): &(usize, CovarianceType)| {
        let mut observer = SharedProgress {
            progress: &progress,
            label: format!("K = {k}, {kind}: "),
        };
        let fit = builder(
            k,
            kind,
            &fit_args,
            init.clone(),
            args.reader.missing_values(),
        )
        .fit_observed(x_fit, None, &mut observer);
        let result = fit.and_then(|f| {
            let f = match &units {
                Some((st, _)) => standardize::to_original(st, f, &table.x)?,
                None => f,
            };
            let ll = f.model.log_likelihood_total(&table.x)?;
            let icl = f.model.icl(&table.x)?;
            Ok((f, ll, icl))
        });
        observer.finished(runs_per_fit);
        result
    };
    let outcomes: Vec<_> = on_threads(args.em.threads, || jobs.par_iter().map(fit_one).collect())?;
    let mut rows = Vec::new();
    let mut full_errors = Vec::new();
    // The selected model: the first converged fit with the lowest criterion.
    let mut best: Option<(f64, GaussianMixture, FitReport)> = None;
    for (&(k, kind), outcome) in jobs.iter().zip(outcomes) {
        let (result, error) = match outcome {
            Ok((f, ll, icl)) => {
                let p = f.model.n_parameters();
                let row = SelectFit {
                    log_likelihood: ll,
                    n_parameters: p,
                    bic: em_core::criteria::bic(ll, p, table.x.nrows()),
                    aic: em_core::criteria::aic(ll, p),
                    icl,
                    converged: f.report.converged,
                    n_iter: f.report.iterations,
                };
                let v = row.value(criterion);
                if row.converged && best.as_ref().is_none_or(|b| v.total_cmp(&b.0).is_lt()) {
                    best = Some((v, f.model, f.report));
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
    progress
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .finish();

    let sel = Selection::of(&rows, criterion);
    let mut found = column_warnings.clone();
    if let Some((_, model, _)) = &best {
        found.extend(diagnostics::check_design(
            &table.x,
            model.n_components(),
            model.covariance_type(),
        ));
        found.extend(warnings::after_fit(model, &table)?);
    }
    // Printed now unless no fit succeeded: then they join the error.
    let warning_texts = if rows.iter().any(|r| r.result.is_ok()) {
        warnings::print(&found, quiet)
    } else {
        found.iter().map(warnings::text).collect()
    };
    let label = criterion.label();
    let fit_of = |i: usize| rows[i].result.as_ref().ok();
    if let (Some(p), Some((_, model, report))) = (&args.output, &best) {
        let r = ReportFile::new(model, report, &table.x)?
            .with_columns(table.has_header.then_some(&table.columns[..]))
            .with_warnings(warning_texts.clone())
            .with_standardization(units.as_ref().map(|(st, _)| st));
        output::write_atomic(p, r.to_json().as_bytes())?;
        note(
            quiet,
            &format!("em: wrote the selected model to {}", p.display()),
        );
    }
    if let Some(p) = &args.plot {
        let curves = kinds
            .iter()
            .map(|&kind| {
                let pts = rows
                    .iter()
                    .filter(|r| r.covariance_type == kind)
                    .filter_map(|r| {
                        r.result.as_ref().ok().map(|f| CurvePoint {
                            k: r.k,
                            value: f.value(criterion),
                            converged: f.converged,
                        })
                    })
                    .collect();
                (kind, pts)
            })
            .collect();
        let best = sel.best.and_then(|i| {
            fit_of(i).map(|f| (rows[i].k, rows[i].covariance_type, f.value(criterion)))
        });
        let figure = CriterionFigure {
            criterion: label,
            curves,
            best,
            title: format!(
                "{}: {label} by number of components",
                plot::short_name(&table.source)
            ),
        };
        plot::render(&figure, p)?;
        note(quiet, &format!("em: wrote plot {}", p.display()));
    }

    let text = if args.json {
        let json_rows: Vec<serde_json::Value> = rows
            .iter()
            .zip(&full_errors)
            .map(|(r, err)| match &r.result {
                Ok(f) => fit_json(r, f),
                Err(short) => json!({
                    "k": r.k,
                    "covariance_type": r.covariance_type,
                    "error": err.as_deref().unwrap_or(short),
                }),
            })
            .collect();
        let pick = |i: Option<usize>| {
            i.and_then(|i| fit_of(i).map(|f| fit_json(&rows[i], f)))
                .unwrap_or(serde_json::Value::Null)
        };
        let mut s = serde_json::to_string_pretty(&json!({
            "criterion": criterion.key(),
            "rows": json_rows,
            "best": pick(sel.best),
            "passed_over": pick(sel.passed_over),
            "warnings": warning_texts,
        }))
        .unwrap_or_default();
        s.push('\n');
        s
    } else {
        summary::select_table(&rows, &sel, &table.source, &table.describe())
    };

    let fitted = rows.iter().filter(|r| r.result.is_ok()).count();
    let unconverged = rows
        .iter()
        .filter(|r| r.result.as_ref().is_ok_and(|f| !f.converged))
        .count();
    if fitted == 0 {
        // Nothing could be fitted: show the table (every row says why), then fail.
        let _ = output::print(out, &text);
        let mut causes = column_warnings;
        if let (Some(&k), Some(&kind)) = (args.k.0.iter().min(), kinds.first()) {
            causes.extend(diagnostics::check_design(&table.x, k, kind));
        }
        return Err(warnings::explain(
            CliError::failed(
                full_errors
                    .iter()
                    .flatten()
                    .next()
                    .map(|e| format!("no model could be fitted; the first failure: {e}"))
                    .unwrap_or_else(|| "no model could be fitted".into()),
            ),
            &causes,
        ));
    }
    let Some(chosen) = sel.best else {
        // Fits exist but none converged: their criteria are not comparable, so choose none.
        let _ = output::print(out, &text);
        let failed = rows.len() - fitted;
        let failed = if failed > 0 {
            format!(" that ran ({failed} more failed)")
        } else {
            String::new()
        };
        let none = if fitted == 1 {
            format!("the only fit{failed} did not converge")
        } else {
            format!("none of the {fitted} fits{failed} converged")
        };
        return Err(CliError::failed(format!(
            "no model selected: {none}, and a fit stopped \
             before converging has a log-likelihood, hence a {label}, that more iterations would \
             still change; raise --max-iter (now {}) or loosen --tol (now {:e}){}",
            args.em.stop.max_iter,
            args.em.stop.stopping().tol(),
            if args.output.is_some() {
                "; --output was not written"
            } else {
                ""
            }
        )));
    };
    let advice = if let Some(i) = sel.passed_over {
        let (r, f) = (&rows[i], fit_of(i));
        let v = f.map(|f| f.value(criterion)).unwrap_or(f64::NAN);
        let n_iter = f.map(|f| f.n_iter).unwrap_or(0);
        Some(format!(
            "em: note: {} has the lowest {label} ({v:.3}) but stopped after {n_iter} \
                 iterations without converging, so it is not selected; {} is, among the \
                 converged fits. Rerun with a larger --max-iter (now {}) to compare them fairly.",
            name(r),
            name(&rows[chosen]),
            args.em.stop.max_iter
        ))
    } else if unconverged > 0 {
        Some(format!(
            "em: note: {unconverged} of {} fits did not converge (marked NO) and were not \
                 considered; more iterations would still change their {label}, perhaps to below \
                 the selected model's. A larger --max-iter (now {}) rules that out.",
            rows.len(),
            args.em.stop.max_iter
        ))
    } else {
        None
    };
    output::print(out, &text)?;
    if let Some(advice) = advice {
        note(quiet, &advice);
    }
    Ok(())
}
