//! One module per subcommand, and what they share: loading data, building a fit.
//!

pub mod fit;
pub mod predict;
pub mod sample;
pub mod select;
pub mod stream;
pub mod zip;

use std::io::Write;
use std::path::Path;

use gmm::{Acceleration, CovarianceType, GaussianMixture, GaussianMixtureBuilder, Init};

use crate::args::{Cli, Command, EmArgs, InitArg, ReaderArgs};
use crate::data::{self, Table};
use crate::error::CliError;

/// Runs a parsed command line, writing results to `out` (standard output) and notes,
/// warnings and progress to standard error.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<(), CliError> {
    match &cli.command {
        Command::Fit(args) => fit::run(args, cli.quiet, out),
        Command::Select(args) => select::run(args, cli.quiet, out),
        Command::Predict(args) => predict::run(args, cli.quiet, out),
        Command::Sample(args) => sample::run(args, out),
        Command::Zip(args) => zip::run(args, cli.quiet, out),
        Command::Convert(args) => stream::convert(args, cli.quiet),
    }
}

/// The input file read as `reader` says (a note on standard error, unless `quiet`, counts
/// the rows dropped for missing values), or the bundled Old Faithful data when there is none.
pub(crate) fn load_data(
    file: Option<&Path>,
    reader: &ReaderArgs,
    quiet: bool,
) -> Result<Table, CliError> {
    let Some(p) = file else {
        return Ok(data::faithful());
    };
    let table = data::read_with(p, &reader.options())?;
    if table.dropped > 0 {
        crate::output::note(
            quiet,
            &format!(
                "em: dropped {} row{} with missing values from {} (--missing drop); {} remain",
                table.dropped,
                if table.dropped == 1 { "" } else { "s" },
                table.source,
                table.x.nrows()
            ),
        );
    }
    Ok(table)
}

/// The initialisation method of `--init`, or `None` for a model file.
pub(crate) fn init_method(arg: &InitArg) -> Option<Init> {
    match arg {
        InitArg::Method(m) => Some(m.clone()),
        InitArg::File(_) => None,
    }
}

/// The fit the options describe.
pub(crate) fn builder(
    k: usize,
    kind: CovarianceType,
    em: &EmArgs,
    init: Init,
) -> GaussianMixtureBuilder {
    let b = GaussianMixture::builder(k)
        .covariance_type(kind)
        .init(init)
        .n_init(em.n_init)
        .stopping(em.stop.stopping())
        .max_iter(em.stop.max_iter)
        .reg_covar(em.reg_covar)
        .seed(em.seed)
        .accelerate(if em.accelerate {
            Acceleration::Squarem
        } else {
            Acceleration::None
        });
    match em.threads {
        Some(t) => b.threads(t),
        None => b,
    }
}

/// Rejects K larger than the number of rows, naming the data.
pub(crate) fn check_k(k: usize, table: &Table, what: &str) -> Result<(), CliError> {
    let n = table.x.nrows();
    if k > n {
        return Err(CliError::bad_input(format!(
            "{what} = {k} is larger than the number of rows of {} ({n}); lower it or add data",
            table.source
        )));
    }
    Ok(())
}

/// Writes CSV lines to `out`, mapping a closed pipe to a quiet end.
pub(crate) fn write_line(out: &mut dyn Write, line: &str) -> Result<(), CliError> {
    writeln!(out, "{line}").map_err(|e| CliError::from_write(e, "standard output"))
}

/// A float in CSV output: the shortest text that reads back to the same value.
pub(crate) fn csv_number(v: f64) -> String {
    format!("{v:?}")
}

/// Prints a warning on standard error for every restart that failed (unless quiet) and
/// returns how many did.
pub(crate) fn warn_failed_restarts(restarts: &[em_core::RestartOutcome], quiet: bool) -> usize {
    let mut failed = 0;
    for r in restarts {
        if let Err(e) = &r.result {
            crate::output::note(quiet, &format!("em: warning: restart {}: {e}", r.index));
            failed += 1;
        }
    }
    failed
}
