//! `em fit`: fit one Gaussian mixture, print its summary or report, write the model and plots.

use std::io::Write;

use gmm::{CovarianceType, Init};

use crate::args::{FitArgs, InitArg, ModelArg};
use crate::commands::{
    builder, check_k, init_method, labels, load_data, load_for_model, warn_failed_restarts,
};
use crate::error::CliError;
use crate::inference;
use crate::json::{self, LabelsReport, ReportFile};
use crate::output::{self, note};
use crate::plot::{self, mixture::MixtureFigure, trace::TraceFigure};
use crate::progress::Progress;
use crate::standardize;
use crate::summary::{self, Context};
use crate::warnings;

/// K used for the bundled data when -k is not given: mclust's choice by BIC.
pub const FAITHFUL_K: usize = 3;
/// The covariance structure used for the bundled data when -k is not given (mclust's EEE).
pub const FAITHFUL_COVARIANCE: CovarianceType = CovarianceType::Tied;

/// Runs `em fit`.
pub fn run(args: &FitArgs, quiet: bool, out: &mut dyn Write) -> Result<(), CliError> {
    labels::refuse_unsupported(args)?;
    if args.model.kind != ModelArg::Gaussian {
        return crate::commands::models::run(args, quiet, out);
    }
    if args.stream {
        return crate::commands::stream::fit(args, quiet, out);
    }
    if args.online.online {
        return crate::commands::online::fit(args, quiet, out);
    }
    // Everything that can be checked before the fit is checked first.
    if let Some(p) = &args.output {
        output::check_writable(p, "--output")?;
    }
    if let Some(p) = &args.plot {
        plot::check_path(p)?;
    }
    let bundled = args.file.is_none();
    let (init, given, table) = match &args.em.init {
        InitArg::File(p) => {
            let loaded = json::read_model_file(p)?;
            let source = p.display().to_string();
            let table = load_for_model(
                args.file.as_deref(),
                &args.cols,
                &args.reader,
                loaded.columns.as_deref(),
                &source,
                loaded.model.n_features(),
                quiet,
            )?;
            let m = loaded.model;
            (Init::Given(Box::new(m.clone())), Some((m, source)), table)
        }
        other => (
            init_method(other).unwrap_or_default(),
            None,
            match args.labels {
                // Missing values kept: an empty label is an unlabelled row.
                Some(_) => load_data(
                    args.file.as_deref(),
                    &args.cols,
                    &labels::reader(&args.reader),
                    quiet,
                )?,
                None => load_data(args.file.as_deref(), &args.cols, &args.reader, quiet)?,
            },
        ),
    };
    let mut table = table;

    let mut model_note = None;
    let k = match (args.k, &given) {
        (Some(k), _) => k,
        (None, Some((m, path))) => {
            model_note = Some(format!("K and covariance type from {path}"));
            m.n_components()
        }
        (None, None) if bundled => {
            model_note = Some(format!(
                "mclust's choice for these data by BIC (K = {FAITHFUL_K}, {FAITHFUL_COVARIANCE} = EEE); \
                 set -k and --covariance to fit another model"
            ));
            FAITHFUL_K
        }
        (None, None) => {
            return Err(CliError::bad_input(format!(
                "-k K (the number of components) is required when FILE is given ({})",
                table.source
            )));
        }
    };
    let kind = match (args.covariance, &given) {
        (Some(c), _) => c.into(),
        (None, Some((m, _))) => m.covariance_type(),
        (None, None) if bundled && args.k.is_none() => FAITHFUL_COVARIANCE,
        (None, None) => CovarianceType::Full,
    };
    let labelled = match &args.labels {
        Some(name) => Some(labels::split(&mut table, name, k)?),
        None => None,
    };
    let table = table;
    check_k(k, &table, "K")?;
    if args.standardize && !standardize::allows(kind) {
        return Err(standardize::spherical_refused());
    }

    // Checks of the data and of the model asked for; printed after the fit, or, if it
    // fails, joined to the error as its likely cause.
    let before = warnings::before_fit(&table, k, kind);
    let units = if args.standardize {
        Some(standardize::of(&table)?)
    } else {
        None
    };
    let init = match (&units, init) {
        (Some((st, _)), Init::Given(m)) => {
            Init::Given(Box::new(st.to_standardized(&m).map_err(|e| {
                CliError::bad_input(format!("--standardize: the --init model: {e}"))
            })?))
        }
        (_, init) => init,
    };
    let x_fit = units.as_ref().map_or(&table.x, |(_, z)| z);

    let options = builder(k, kind, &args.em, init, args.reader.missing_values());
    // A labelled fit runs one more restart: the start from the labelled rows.
    let restarts = options.restarts() + usize::from(labelled.is_some());
    let mut progress = Progress::on_stderr(quiet, restarts as u64);
    let fitted = match &labelled {
        Some(l) => options.fit_labelled_observed(x_fit, None, &l.labels, &mut progress),
        None => options.fit_observed(x_fit, None, &mut progress),
    }
    .map_err(|e| warnings::explain(CliError::from_em(e, "fit failed"), &before))?;
    progress.finish();
    let fitted = match &units {
        Some((st, _)) => standardize::to_original(st, fitted, &table.x).map_err(|e| {
            CliError::from_em(
                e,
                "--standardize: expressing the model in the original units",
            )
        })?,
        None => fitted,
    };
    let failed = warn_failed_restarts(&fitted.restarts, quiet);

    let model = &fitted.model;
    let mut found = before;
    found.extend(warnings::after_fit(model, &table)?);
    let mut texts = warnings::print(&found, quiet);
    texts.extend(inference::caveats(
        &args.inference,
        fitted.report.converged,
        args.em.reg_covar,
        quiet,
    ));
    // Standard errors and the rate of the model in the original units, on the data as read.
    let inference = inference::analyse(model, &table.x, &args.inference)?;
    let report = ReportFile::new(model, &fitted.report, &table.x)?
        .with_columns(table.has_header.then_some(&table.columns[..]))
        .with_warnings(texts)
        .with_standardization(units.as_ref().map(|(st, _)| st))
        .with_inference(inference)
        .with_labels(labelled.as_ref().map(|l| LabelsReport {
            column: l.column.clone(),
            labelled_rows: l.n_labelled(),
            rows: l.labels.len(),
            objective: fitted.report.objective(),
        }));
    if units.is_some() {
        model_note = Some(match model_note {
            Some(n) => format!(
                "{n}; fitted on column z-scores (--standardize), reported in the original units"
            ),
            None => {
                "fitted on column z-scores (--standardize), reported in the original units".into()
            }
        });
    }
    if let Some(p) = &args.output {
        output::write_atomic(p, report.to_json().as_bytes())?;
        note(quiet, &format!("em: wrote the model to {}", p.display()));
    }
    if let Some(p) = &args.plot {
        let labels = model
            .predict(&table.x)
            .map_err(|e| CliError::from_em(e, "predicting the components failed"))?;
        let name = plot::short_name(&table.source);
        // A row with missing values is drawn where the model expects it: its observed values
        // and the conditional expectations of the others.
        let imputed = if gmm::gaussian::has_missing(&table.x) {
            Some(
                model
                    .impute(&table.x)
                    .map_err(|e| CliError::from_em(e, "imputing the missing values failed"))?,
            )
        } else {
            None
        };
        let figure = MixtureFigure {
            x: imputed.as_ref().unwrap_or(&table.x),
            columns: &table.columns,
            model,
            labels: &labels,
            title: format!("{name}: {k}-component Gaussian mixture, {kind} covariance"),
        };
        plot::render(&figure, p)?;
        let trace_path = plot::trace_path(p);
        let restart = if restarts > 1 {
            format!(" (best restart: {} of {restarts})", fitted.best_restart)
        } else {
            String::new()
        };
        let trace = TraceFigure {
            trace: &fitted.report.trace,
            title: format!("{name}: log-likelihood per EM iteration{restart}"),
        };
        plot::render(&trace, &trace_path)?;
        note(
            quiet,
            &format!(
                "em: wrote plots {} and {}",
                p.display(),
                trace_path.display()
            ),
        );
    }

    let text = if args.json {
        report.to_json()
    } else {
        let cx = Context {
            source: &table.source,
            shape: table.describe(),
            columns: &table.columns,
            model_note,
            stopping: fitted.report.stopping,
            max_iter: args.em.stop.max_iter,
            n_init: restarts,
            failed_restarts: failed,
            squarem: args.em.accelerate.then_some((
                fitted.report.e_steps,
                fitted.report.m_steps,
                fitted.report.fallbacks,
            )),
        };
        let mut text = summary::fit_summary(model, &report, &cx);
        if let Some(l) = &labelled {
            // After the model lines, before the convergence line.
            let at = text.find("\nconverged").map_or(text.len(), |i| i + 1);
            text.insert_str(at, &l.summary_line());
        }
        let columns = if table.has_header {
            &table.columns[..]
        } else {
            &[]
        };
        text.push_str(&report.inference.text(columns, !args.em.accelerate));
        text
    };
    output::print(out, &text)
}
