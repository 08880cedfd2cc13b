//! `em fit --stream` (a fit that reads its file again, in chunks, on every iteration, for data
//! larger than memory) and `em convert` (CSV or Parquet to the binary format it reads
//! fastest).

use std::io::Write;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use em_core::{ChunkSource, EmError};
use em_io::binary::csv_to_binary_with;
use gmm::stream::{BinarySource, CsvSource, StreamOptions, is_binary_file};
use gmm::{CovarianceType, GaussianMixtureBuilder, Init};
use nalgebra::DMatrix;

use crate::args::{ConvertArgs, FitArgs, InitArg};
use crate::commands::{builder, init_method, warn_failed_restarts};
use crate::error::CliError;
use crate::json::{self, ReportFile};
use crate::output::{self, note};
use crate::progress::Progress;
use crate::summary::{self, Context};

/// A file source of either format.
type Source = Box<dyn ChunkSource<Chunk = DMatrix<f64>> + Send>;

/// A streamed CSV, Parquet or binary file that records how many rows its last complete pass
/// dropped for missing values (`--missing drop`), for the note after the fit.
struct CountDropped<S> {
    source: S,
    /// The source's count of rows dropped since its last rewind.
    count: fn(&S) -> usize,
    dropped: Arc<AtomicUsize>,
}

impl<S: ChunkSource<Chunk = DMatrix<f64>>> ChunkSource for CountDropped<S> {
    type Chunk = DMatrix<f64>;

    fn rewind(&mut self) -> Result<(), EmError> {
        self.source.rewind()
    }

    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        let chunk = self.source.next_chunk(max_obs)?;
        if chunk.is_none() {
            self.dropped
                .store((self.count)(&self.source), Ordering::Relaxed);
        }
        Ok(chunk)
    }
}

/// A streamed Parquet file, its column names, and that it has a header (its columns are
/// named); errors opening it name the file and, for a column that is not numeric, how to
/// leave it out.
#[cfg(feature = "parquet")]
fn parquet_source(
    path: &std::path::Path,
    args: &FitArgs,
    selection: &em_io::Selection,
    dropped: &Arc<AtomicUsize>,
) -> Result<(Source, Vec<String>, bool), CliError> {
    let source = em_io::ParquetSource::open_selected(path, &args.reader.options(), selection)?;
    let columns = source.columns().to_vec();
    let s = CountDropped {
        source,
        count: em_io::ParquetSource::dropped_rows,
        dropped: Arc::clone(dropped),
    };
    Ok((Box::new(s), columns, true))
}

/// Without Parquet support: the error of the in-memory reader, which says so.
#[cfg(not(feature = "parquet"))]
fn parquet_source(
    path: &std::path::Path,
    args: &FitArgs,
    selection: &em_io::Selection,
    _: &Arc<AtomicUsize>,
) -> Result<(Source, Vec<String>, bool), CliError> {
    Err(
        em_io::table::read_selected(path, &args.reader.options(), selection)
            .err()
            .map_or_else(
                || CliError::bad_input("cannot stream a Parquet file"),
                CliError::from,
            ),
    )
}

/// What `em fit --stream` and `em fit --online` start from: the file opened as a source of
/// chunks, its columns, and the model's K, covariance type and start as the options give them.
pub(crate) struct Opened {
    pub source: Source,
    pub source_name: String,
    pub columns: Vec<String>,
    pub has_header: bool,
    /// Rows dropped for missing values by the last complete pass (`--missing drop`).
    pub dropped: Arc<AtomicUsize>,
    pub init: Init,
    pub k: usize,
    pub kind: CovarianceType,
    pub model_note: Option<String>,
}

/// Checks the options a fit that reads FILE in chunks (`flag`: `--stream` or `--online`)
/// cannot take, and opens FILE.
pub(crate) fn open(args: &FitArgs, flag: &str) -> Result<Opened, CliError> {
    let Some(path) = args.file.as_deref() else {
        return Err(CliError::bad_input(format!(
            "{flag} needs a FILE (the bundled data are small enough to fit in memory)"
        )));
    };
    if path.as_os_str() == "-" {
        return Err(CliError::bad_input(format!(
            "{flag} reads FILE in chunks from a file it can seek in, so it cannot read standard input; save it to a file first"
        )));
    }
    if args.plot.is_some() {
        return Err(CliError::bad_input(format!(
            "--plot needs all the data in memory; it cannot be used with {flag}"
        )));
    }
    if let Some(p) = &args.output {
        output::check_writable(p, "--output")?;
    }
    let (init, given) = match &args.em.init {
        InitArg::File(p) => {
            let m = json::read_model(p)?;
            (Init::Given(Box::new(m.clone())), Some(m))
        }
        other => (init_method(other).unwrap_or_default(), None),
    };
    let (k, model_note) = match (args.k, &given) {
        (Some(k), _) => (k, None),
        (None, Some(m)) => (
            m.n_components(),
            Some("K and covariance type from the --init model file".to_string()),
        ),
        (None, None) => {
            return Err(CliError::bad_input(format!(
                "-k K (the number of components) is required when FILE is given ({})",
                path.display()
            )));
        }
    };
    let kind = match (args.covariance, &given) {
        (Some(c), _) => c.into(),
        (None, Some(m)) => m.covariance_type(),
        (None, None) => CovarianceType::Full,
    };

    let source_name = path.display().to_string();
    let bad = source_error;
    let selection = args.cols.selection();
    let dropped = Arc::new(AtomicUsize::new(0));
    let (source, columns, has_header): (Source, Vec<String>, bool) = if is_binary_file(path) {
        if !selection.is_all() {
            return Err(CliError::bad_input(format!(
                "{source_name}: --columns and --drop need a CSV or Parquet file; this is the \
                 binary format of `em convert`, which keeps every column (convert the columns \
                 you want)"
            )));
        }
        let s = BinarySource::open(path)
            .map_err(bad)?
            .with_missing(args.reader.options().missing);
        let columns = (0..s.n_columns()).map(|j| format!("x{j}")).collect();
        let s = CountDropped {
            source: s,
            count: BinarySource::dropped_rows,
            dropped: Arc::clone(&dropped),
        };
        (Box::new(s), columns, false)
    } else if em_io::is_parquet_file(path) {
        parquet_source(path, args, &selection, &dropped)?
    } else {
        let csv =
            CsvSource::open_selected(path, &args.reader.options(), &selection).map_err(bad)?;
        let columns = csv.columns().to_vec();
        let has_header = csv.has_header();
        let s = CountDropped {
            source: csv,
            count: CsvSource::dropped_rows,
            dropped: Arc::clone(&dropped),
        };
        (Box::new(s), columns, has_header)
    };

    Ok(Opened {
        source,
        source_name,
        columns,
        has_header,
        dropped,
        init,
        k,
        kind,
        model_note,
    })
}

/// The builder of a fit that reads its file in chunks: the fit options, and `--chunk-size`.
pub(crate) fn chunked_builder(
    args: &FitArgs,
    k: usize,
    kind: CovarianceType,
    init: Init,
) -> GaussianMixtureBuilder {
    let b = builder(k, kind, &args.em, init, args.reader.missing_values());
    match args.chunk_size {
        Some(c) => b.chunk_size(c),
        None => b,
    }
}

/// The note after a chunked fit that dropped rows with missing values (`--missing drop`).
pub(crate) fn note_dropped(
    quiet: bool,
    dropped: &AtomicUsize,
    source_name: &str,
    remaining: usize,
) {
    let n_dropped = dropped.load(Ordering::Relaxed);
    if n_dropped > 0 {
        note(
            quiet,
            &format!(
                "em: dropped {n_dropped} row{} with missing values from {source_name} (--missing drop); {remaining} remain",
                if n_dropped == 1 { "" } else { "s" },
            ),
        );
    }
}

/// A reading or fitting error of a chunked fit, with a hint for a text column (by its
/// position in the file, which --drop accepts), as without --stream.
pub(crate) fn source_error(e: em_core::EmError) -> CliError {
    let hint = match &e {
        em_core::EmError::Io {
            column: Some(c),
            reason,
            ..
        } if reason.contains("is not a number") => Some(*c),
        _ => None,
    };
    let mut err = CliError::from_em(e, "fit failed");
    if let Some(c) = hint {
        err.message.push_str(&format!(
            "; to leave this column out, pass --drop {c} (or choose the columns with --columns)"
        ));
    }
    err
}

/// Runs `em fit --stream`.
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
    } = open(args, "--stream")?;
    let bad = source_error;
    let b = chunked_builder(args, k, kind, init);
    let options = StreamOptions {
        init_sample: args.init_sample,
    };
    let restarts = b.restarts();
    let mut progress = Progress::on_stderr(quiet, restarts as u64);
    let fitted = b
        .fit_stream_observed(&mut *source, &options, &mut progress)
        .map_err(bad)?;
    progress.finish();
    let failed = warn_failed_restarts(&fitted.restarts, quiet);
    note_dropped(quiet, &dropped, &source_name, fitted.report.n_obs);

    let model = &fitted.model;
    let n_rows = fitted.report.n_obs;
    // No prior here, so the last objective of the trace is the log-likelihood of the model.
    let report =
        ReportFile::with_log_likelihood(model, &fitted.report, n_rows, fitted.report.objective())
            .with_columns(has_header.then_some(&columns[..]));
    if let Some(p) = &args.output {
        output::write_atomic(p, report.to_json().as_bytes())?;
        note(quiet, &format!("em: wrote the model to {}", p.display()));
    }
    let text = if args.json {
        report.to_json()
    } else {
        let d = columns.len();
        let cx = Context {
            source: &source_name,
            shape: format!(
                "{n_rows} rows × {d} column{} ({}), streamed",
                if d == 1 { "" } else { "s" },
                columns.join(", ")
            ),
            columns: &columns,
            model_note,
            stopping: fitted.report.stopping,
            max_iter: args.em.stop.max_iter,
            n_init: restarts,
            failed_restarts: failed,
            squarem: None,
        };
        summary::fit_summary(model, &report, &cx)
    };
    output::print(out, &text)
}

/// `em convert` of a Parquet file: every column, which must be numeric (an error opening it
/// says which is not, and writes nothing).
#[cfg(feature = "parquet")]
fn parquet_to_binary(
    input: &std::path::Path,
    output: &std::path::Path,
    options: &em_io::ReadOptions,
) -> Result<Result<(usize, usize), EmError>, CliError> {
    // Open it first, so that a column that is not numeric is reported as bad input with the
    // reader's message, before OUTPUT is created.
    em_io::ParquetSource::open_selected(input, options, &em_io::Selection::default())?;
    Ok(em_io::parquet::parquet_to_binary(
        input,
        output,
        options,
        &em_io::Selection::default(),
    ))
}

/// Without Parquet support: the reader's error, which says so.
#[cfg(not(feature = "parquet"))]
fn parquet_to_binary(
    input: &std::path::Path,
    _: &std::path::Path,
    options: &em_io::ReadOptions,
) -> Result<Result<(usize, usize), EmError>, CliError> {
    Err(em_io::table::read_with(input, options).err().map_or_else(
        || CliError::bad_input("cannot convert a Parquet file"),
        CliError::from,
    ))
}

/// Runs `em convert`.
pub fn convert(args: &ConvertArgs, quiet: bool) -> Result<(), CliError> {
    output::check_writable(&args.output, "OUTPUT")?;
    if args.input == args.output {
        return Err(CliError::bad_input(
            "INPUT and OUTPUT are the same file; choose another OUTPUT",
        ));
    }
    let options = args.reader.options();
    let converted = if em_io::is_parquet_file(&args.input) {
        parquet_to_binary(&args.input, &args.output, &options)?
    } else {
        csv_to_binary_with(&args.input, &args.output, &options)
    };
    let (rows, dropped) = converted.map_err(|e| {
        // Leave no partial output behind.
        let _ = std::fs::remove_file(&args.output);
        CliError::from_em(e, "conversion failed")
    })?;
    note(
        quiet,
        &format!(
            "em: wrote {rows} rows to {} (binary, for em fit --stream)",
            args.output.display()
        ),
    );
    if dropped > 0 {
        note(
            quiet,
            &format!(
                "em: dropped {dropped} row{} with missing values from {} (--missing drop)",
                if dropped == 1 { "" } else { "s" },
                args.input.display()
            ),
        );
    }
    Ok(())
}
