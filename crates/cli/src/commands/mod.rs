//! One module per subcommand, and what they share: loading data, building a fit.
//!

pub mod bound;
pub mod fit;
pub(crate) mod labels;
pub mod models;
pub mod online;
pub mod predict;
pub mod sample;
pub mod select;
pub mod stream;
pub mod zip;

use std::io::Write;
use std::path::Path;

use gmm::{Acceleration, CovarianceType, GaussianMixture, GaussianMixtureBuilder, Init};

use crate::args::{Cli, ColumnArgs, Command, EmArgs, InitArg, ReaderArgs};
use crate::data::{self, Table};
use crate::error::CliError;
use crate::json;
use crate::output::note;

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
        Command::Bound(args) => bound::run(args, cli.quiet, out),
    }
}

/// The columns of the CSV file that `cols` chooses, or of the bundled Old Faithful data when
/// there is none. Unless `--columns` chose the columns, warns (unless quiet) about a first
/// column that looks like a row id.
///
/// The file is read as `reader` says; a note on standard error, unless `quiet`, counts the
/// rows dropped for missing values (only the columns read count).
pub(crate) fn load_data(
    file: Option<&Path>,
    cols: &ColumnArgs,
    reader: &ReaderArgs,
    quiet: bool,
) -> Result<Table, CliError> {
    let table = read_table(file, cols, reader)?;
    if cols.columns.is_none()
        && let Some(w) = data::id_like_first_column(&table)
    {
        note(quiet, &w);
    }
    check_read(&table, quiet)?;
    Ok(table)
}

/// The columns of FILE that `cols` chooses, read as `reader` says, or of the bundled data.
fn read_table(
    file: Option<&Path>,
    cols: &ColumnArgs,
    reader: &ReaderArgs,
) -> Result<Table, CliError> {
    let selection = cols.selection();
    match file {
        Some(p) => data::read_selected(p, &reader.options(), &selection),
        None if selection.is_all() => Ok(data::faithful()),
        None => data::faithful_selected(&selection),
    }
}

/// What every read table goes through: a note counting the rows dropped for missing values
/// ([`note_dropped`]), and an error naming the first row whose every value read is missing
/// (read as NaN with `--missing model`; it carries nothing to fit or predict from).
fn check_read(table: &Table, quiet: bool) -> Result<(), CliError> {
    note_dropped(table, quiet);
    let (n, d) = table.x.shape();
    if d == 0 {
        return Ok(());
    }
    match (0..n).find(|&i| table.x.row(i).iter().all(|v| v.is_nan())) {
        Some(row) => Err(CliError::bad_input(format!(
            "{}: line {}: every value read from the row is missing; remove the row, or read              with --missing drop to drop the rows that have missing values",
            table.source,
            table.lines.line(row)
        ))),
        None => Ok(()),
    }
}

/// A note on standard error (unless `quiet`) counting the rows of `table` dropped for missing
/// values.
fn note_dropped(table: &Table, quiet: bool) {
    if table.dropped > 0 {
        note(
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
}

/// The header of FILE (its column names and whether it has a header line), read from its
/// first line as `reader` says; the bundled data's without FILE; no header for a binary
/// table; a Parquet file's column names, from its footer; `None` for standard input or a file
/// that cannot be opened (reading it then reports why).
fn header_of(file: Option<&Path>, reader: &ReaderArgs) -> Option<(Vec<String>, bool)> {
    match file {
        None => Some((vec!["eruptions".into(), "waiting".into()], true)),
        Some(p) if !p.is_file() => None,
        Some(p) if em_io::is_binary_file(p) => Some((Vec::new(), false)),
        Some(p) if em_io::is_parquet_file(p) => parquet_header(p),
        Some(p) => em_io::CsvSource::open_with(p, &reader.options())
            .ok()
            .map(|s| (s.columns().to_vec(), s.has_header())),
    }
}

/// The column names of a Parquet file (all of them, whatever their type: a Parquet file always
/// names its columns); `None` when it cannot be read (reading it then reports why).
#[cfg(feature = "parquet")]
fn parquet_header(path: &Path) -> Option<(Vec<String>, bool)> {
    em_io::parquet::column_names(path)
        .ok()
        .map(|names| (names, true))
}

/// Without Parquet support: reading the file reports that it cannot be read.
#[cfg(not(feature = "parquet"))]
fn parquet_header(_: &Path) -> Option<(Vec<String>, bool)> {
    None
}

/// The data for a model file's features (`em predict`, `em fit --init PARAMS.json`): FILE's
/// columns matched to the model's by name, in the model's order, when the model file stores
/// names and FILE has a header; columns the model was not fitted on are left out with a
/// note, and a missing one is an error naming it. Otherwise (an older model file, or a file
/// without header) columns are matched by position, with a note. `--columns` and `--drop`
/// choose among FILE's columns first.
pub(crate) fn load_for_model(
    file: Option<&Path>,
    cols: &ColumnArgs,
    reader: &ReaderArgs,
    names: Option<&[String]>,
    model_source: &str,
    n_features: usize,
    quiet: bool,
) -> Result<Table, CliError> {
    let missing = |name: &str, source: &str| {
        CliError::bad_input(format!(
            "{source} has no column {name:?}, which the model in {model_source} was fitted on \
             (its columns: {}); rename the column or fit the model again",
            names.unwrap_or_default().join(", ")
        ))
    };
    let user = cols.selection();
    let Some(names) = names else {
        let table = read_table(file, cols, reader)?;
        check_read(&table, quiet)?;
        note(
            quiet || table.x.ncols() != n_features,
            &format!(
                "em: note: {model_source} stores no column names; the columns of {} are \
                 matched to its features by position",
                table.source
            ),
        );
        return Ok(table);
    };
    let header = header_of(file, reader);
    if let Some((_, false)) = header {
        let table = read_table(file, cols, reader)?;
        check_read(&table, quiet)?;
        note(
            quiet || table.x.ncols() != n_features,
            &format!(
                "em: note: {} has no header; its columns are matched to the features of \
                 {model_source} ({}) by position",
                table.source,
                names.join(", ")
            ),
        );
        return Ok(table);
    }
    if user.is_all() {
        let source = match file {
            None => data::FAITHFUL_NAME.to_string(),
            Some(p) if p.as_os_str() == "-" => "<stdin>".to_string(),
            Some(p) => p.display().to_string(),
        };
        if let Some((columns, _)) = &header {
            if let Some(name) = names.iter().find(|n| !columns.contains(n)) {
                return Err(missing(name, &source));
            }
            let extra: Vec<&str> = columns
                .iter()
                .filter(|c| !names.contains(c))
                .map(|c| {
                    if c.is_empty() {
                        "(no name)"
                    } else {
                        c.as_str()
                    }
                })
                .collect();
            if !extra.is_empty() {
                note(
                    quiet,
                    &format!(
                        "em: note: leaving out the columns of {source} that {model_source} was \
                         not fitted on: {}",
                        extra.join(", ")
                    ),
                );
            }
        }
        let by_name = em_io::Selection {
            columns: Some(names.to_vec()),
            drop: vec![],
        };
        let options = reader.options();
        let read = match file {
            Some(p) if p.as_os_str() == "-" => {
                em_io::table::read_stdin_selected(&options, &by_name)
            }
            Some(p) => em_io::table::read_selected(p, &options, &by_name),
            None => em_io::table::parse_selected(
                data::FAITHFUL_CSV,
                data::FAITHFUL_NAME,
                &em_io::ReadOptions::default(),
                &by_name,
            ),
        };
        let table = read.map_err(|e| match e {
            em_io::ReadError::Select {
                error: em_io::SelectError::Unknown { reference, .. },
                ..
            } => missing(&reference, &source),
            other => other.into(),
        })?;
        check_read(&table, quiet)?;
        return Ok(table);
    }
    // The user chose columns: match what was read to the model's names.
    let table = read_table(file, cols, reader)?;
    check_read(&table, quiet)?;
    let mut order = Vec::with_capacity(names.len());
    for name in names {
        match table.columns.iter().position(|c| c == name) {
            Some(j) => order.push(j),
            None => return Err(missing(name, &table.source)),
        }
    }
    let extra: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| !names.contains(c))
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        note(
            quiet,
            &format!(
                "em: note: leaving out the columns of {} that {model_source} was not fitted \
                 on: {}",
                table.source,
                extra.join(", ")
            ),
        );
    }
    let x = table.x.select_columns(&order);
    Ok(Table {
        columns: names.to_vec(),
        x,
        ..table
    })
}

/// A model file and the data for its features (`em predict`, `em bound`): FILE's columns
/// matched to the model's ([`load_for_model`]; the bundled data without FILE), their number
/// checked, and the model set to marginalise missing values when the data have any (each row
/// is then scored by its observed values).
pub(crate) fn model_and_data(
    model_path: &Path,
    file: Option<&Path>,
    cols: &ColumnArgs,
    reader: &ReaderArgs,
    quiet: bool,
) -> Result<(json::LoadedModel, Table), CliError> {
    let loaded = json::read_model_file(model_path)?;
    let model_source = model_path.display().to_string();
    let n_features = loaded.model.n_features();
    let table = load_for_model(
        file,
        cols,
        reader,
        loaded.columns.as_deref(),
        &model_source,
        n_features,
        quiet,
    )?;
    if table.x.ncols() != n_features {
        return Err(CliError::bad_input(format!(
            "{} has {} column{}, but the model in {model_source} has {n_features} features",
            table.source,
            table.x.ncols(),
            if table.x.ncols() == 1 { "" } else { "s" },
        )));
    }
    let missing = if gmm::gaussian::has_missing(&table.x) {
        gmm::MissingValues::Model
    } else {
        loaded.model.missing_values()
    };
    let model = loaded.model.clone().with_missing_values(missing);
    Ok((json::LoadedModel { model, ..loaded }, table))
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
    missing: gmm::MissingValues,
) -> GaussianMixtureBuilder {
    let b = GaussianMixture::builder(k)
        .covariance_type(kind)
        .missing_values(missing)
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
