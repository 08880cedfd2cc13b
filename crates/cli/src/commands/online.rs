//! `em fit --online`: one pass over a file too large to read many times (online EM, see
//! `gmm::online`).

use std::io::Write;

use em_core::online::OnlineOptions;
use gmm::online::OnlineFitOptions;

use crate::args::FitArgs;
use crate::commands::stream::{Opened, chunked_builder, note_dropped, open, source_error};
use crate::error::CliError;
use crate::json::{ModelFile, OnlineFitReport, OnlineReportFile};
use crate::output::{self, note};
use crate::summary;

/// Runs `em fit --online`.
pub fn fit(args: &FitArgs, quiet: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let Opened {
        mut source,
        source_name,
        columns,
        has_header,
        dropped,
        init,
        k,
        kind,
        model_note,
    } = open(args, "--online")?;
    let b = chunked_builder(args, k, kind, init);
    let options = OnlineFitOptions {
        head: args.online.head,
        online: OnlineOptions {
            step_exponent: args.online.step_exponent,
            batch_size: args.online.batch_size,
            passes: args.online.passes,
            total: None,
        },
    };
    let fitted = b.fit_online(&mut *source, &options).map_err(source_error)?;
    note_dropped(quiet, &dropped, &source_name, fitted.report.n_obs);
    if let Some(note_text) = &model_note {
        note(quiet, &format!("em: {note_text}"));
    }
    let model = &fitted.model;
    let mut file = ModelFile::from_model(model);
    file.columns = has_header.then(|| columns.clone());
    let report = OnlineReportFile {
        model: file,
        online: OnlineFitReport {
            n_rows: fitted.report.n_obs,
            head_rows: fitted.head_rows,
            start_iterations: fitted.start.iterations,
            updates: fitted.report.updates,
            passes: fitted.report.passes,
            batch_size: options.online.batch_size,
            step_exponent: options.online.step_exponent,
            progressive_mean_log_likelihood: fitted.report.last_pass_mean_log_likelihood,
            trace: fitted.report.trace.clone(),
            stopped_early: fitted.report.stopped_by_observer,
        },
    };
    if let Some(p) = &args.output {
        output::write_atomic(p, report.to_json().as_bytes())?;
        note(quiet, &format!("em: wrote the model to {}", p.display()));
    }
    let text = if args.json {
        report.to_json()
    } else {
        let d = columns.len();
        let shape = format!(
            "{} rows × {d} column{} ({}), read once",
            fitted.report.n_obs,
            if d == 1 { "" } else { "s" },
            columns.join(", ")
        );
        summary::online_summary(model, &report, &source_name, &shape, &columns)
    };
    output::print(out, &text)
}
