//! The `em-datafusion` command line as a library: its options ([`FitArgs`]) and the fit they
//! ask for, run on sessions the caller chooses, so that a binary whose sessions run elsewhere
//! (em-ballista's, on a Ballista cluster) offers the same command.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use datafusion::dataframe::DataFrame;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use em_core::{Em, FitReport};
use gmm::{CovarianceType, GaussianMixture};
use serde_json::json;
use tokio::runtime::Runtime;

use crate::{
    EngineError, EngineFit, EngineOptions, MergeOrder, fit, fit_grouped, group_heads, head,
};

/// The options of a fit of a Gaussian mixture to a Parquet or CSV file: every EM iteration is
/// one aggregate query over the file, run on --partitions partitions in parallel; the start
/// comes from a fit to the first --head rows (of each group, with --group-by).
#[derive(Debug, Args)]
pub struct FitArgs {
    /// The data: a Parquet (.parquet) or CSV (.csv, with a header row) file, or a directory of
    /// Parquet files.
    file: PathBuf,
    /// Number of mixture components.
    #[arg(short = 'k', long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    components: u64,
    /// The feature columns, comma-separated [default: every numeric column but the key].
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Fit one model per value of this column, all groups in the same queries.
    #[arg(long, value_name = "KEY")]
    group_by: Option<String>,
    /// Covariance structure.
    #[arg(long, value_enum, default_value = "full")]
    covariance: Covariance,
    /// DataFusion partitions (parallel scans and partial aggregates) [default: the cores].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    partitions: Option<u64>,
    /// Rows (per group) the start is fitted on.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    head: u64,
    /// Stop when the estimated relative distance of the parameters to the optimum is below
    /// this.
    #[arg(long, default_value_t = 1e-7)]
    tol: f64,
    /// Maximum EM iterations over the file.
    #[arg(long, default_value_t = em_core::DEFAULT_MAX_ITER as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_iter: u64,
    /// Seed of the start's k-means++.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How each query merges its batches' statistics: canonical (reproducible whatever the
    /// partitioning's timing) or arrival (constant memory per group).
    #[arg(long, value_enum, default_value = "canonical")]
    merge: Merge,
    /// Write the fitted model(s) and reports as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Covariance {
    Full,
    Diag,
    Spherical,
    Tied,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Merge {
    Canonical,
    Arrival,
}

impl FitArgs {
    /// The session configuration these options ask for (the number of partitions).
    ///
    /// # Errors
    /// A number of partitions this platform cannot count.
    pub fn session_config(&self) -> Result<SessionConfig, Box<dyn std::error::Error>> {
        let mut config = SessionConfig::new();
        if let Some(partitions) = self.partitions {
            config = config.with_target_partitions(usize::try_from(partitions)?);
        }
        Ok(config)
    }
}

/// Runs the fit `args` ask for and prints its report: the EM iterations are queries on
/// `fit_on`, the start is fitted to head rows read through `start_on` (a local session when
/// `fit_on` runs on a cluster, so that the head is not a distributed job).
///
/// # Errors
/// An unreadable file, no numeric column, a failed start or fit, an unwritable JSON report.
pub fn run(
    args: &FitArgs,
    runtime: &Runtime,
    fit_on: &SessionContext,
    start_on: &SessionContext,
) -> Result<(), Box<dyn std::error::Error>> {
    let table = runtime.block_on(read(fit_on, &args.file))?;
    let start_table = if std::ptr::eq(fit_on, start_on) {
        table.clone()
    } else {
        runtime.block_on(read(start_on, &args.file))?
    };
    let columns = feature_columns(&table, &args.columns, args.group_by.as_deref());
    if columns.is_empty() {
        return Err("the file has no numeric column to fit".into());
    }
    let em = Em::new()
        .tol(args.tol)
        .max_iter(usize::try_from(args.max_iter)?);
    let options = EngineOptions {
        merge: match args.merge {
            Merge::Canonical => MergeOrder::Canonical,
            Merge::Arrival => MergeOrder::Arrival,
        },
    };
    let head_rows = usize::try_from(args.head)?;
    let builder = GaussianMixture::builder(usize::try_from(args.components)?)
        .covariance_type(match args.covariance {
            Covariance::Full => CovarianceType::Full,
            Covariance::Diag => CovarianceType::Diag,
            Covariance::Spherical => CovarianceType::Spherical,
            Covariance::Tied => CovarianceType::Tied,
        })
        .seed(args.seed);
    let started = Instant::now();
    match &args.group_by {
        None => {
            let sample = runtime.block_on(head(&start_table, &columns, head_rows))?;
            let start = builder.fit(&sample)?.model;
            let fitted = fit(runtime.handle(), &table, &columns, start, &em, &options)?;
            let elapsed = started.elapsed().as_secs_f64();
            print(&summary(&args.file, &columns, &fitted, elapsed))?;
            if let Some(path) = &args.json {
                write_json(
                    path,
                    &json!({ "columns": columns, "fit": fit_json(&fitted) }),
                )?;
            }
        }
        Some(key) => {
            let samples = runtime.block_on(group_heads(&start_table, key, &columns, head_rows))?;
            let mut starts = BTreeMap::new();
            let mut failed_starts = BTreeMap::new();
            for (group, sample) in samples {
                match builder.fit(&sample) {
                    Ok(start) => {
                        starts.insert(group, start.model);
                    }
                    Err(e) => {
                        failed_starts.insert(group, e);
                    }
                }
            }
            let mut fits = fit_grouped(
                runtime.handle(),
                &table,
                key,
                &columns,
                starts,
                &em,
                &options,
            )?;
            for (group, e) in failed_starts {
                let source = Box::new(EngineError::Em(e));
                fits.insert(
                    group.clone(),
                    Err(EngineError::Group { key: group, source }),
                );
            }
            let elapsed = started.elapsed().as_secs_f64();
            let mut text = format!(
                "{} groups of `{key}` in {}: {elapsed:.2} s",
                fits.len(),
                args.file.display()
            );
            let mut report = serde_json::Map::new();
            for (group, outcome) in &fits {
                match outcome {
                    Ok(fitted) => {
                        text += &format!("\n  {key} = {group}: {}", one_line(&fitted.report));
                        report.insert(group.clone(), fit_json(fitted));
                    }
                    Err(e) => {
                        text += &format!("\n  {key} = {group}: failed: {e}");
                        report.insert(group.clone(), json!({ "error": e.to_string() }));
                    }
                }
            }
            print(&text)?;
            if let Some(path) = &args.json {
                write_json(
                    path,
                    &json!({ "columns": columns, "group_by": key, "groups": report }),
                )?;
            }
        }
    }
    Ok(())
}

/// The file as a DataFusion table, by its extension (a directory is read as Parquet).
async fn read(ctx: &SessionContext, path: &Path) -> Result<DataFrame, Box<dyn std::error::Error>> {
    let name = path.to_str().ok_or("the path is not valid UTF-8")?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    Ok(match extension {
        "csv" => ctx.read_csv(name, CsvReadOptions::new()).await?,
        "parquet" | "" => {
            ctx.read_parquet(name, ParquetReadOptions::default())
                .await?
        }
        other => {
            return Err(format!("cannot read .{other} files: give a .parquet or .csv file").into());
        }
    })
}

/// The columns asked for, or every numeric column but the key.
fn feature_columns(table: &DataFrame, asked: &[String], key: Option<&str>) -> Vec<String> {
    if !asked.is_empty() {
        return asked.to_vec();
    }
    table
        .schema()
        .fields()
        .iter()
        .filter(|f| f.data_type().is_numeric() && Some(f.name().as_str()) != key)
        .map(|f| f.name().clone())
        .collect()
}

fn one_line(report: &FitReport) -> String {
    format!(
        "{} rows, {} iterations, {}, mean log-likelihood {:.6}",
        report.n_obs,
        report.iterations,
        if report.converged {
            "converged"
        } else {
            "not converged"
        },
        report.objective() / report.n_obs as f64
    )
}

fn summary(
    file: &Path,
    columns: &[String],
    fitted: &EngineFit<GaussianMixture>,
    elapsed: f64,
) -> String {
    let report = &fitted.report;
    let model = &fitted.model;
    let mut out = format!(
        "{}: {} on {} columns ({})\n{}\n{} queries in {elapsed:.2} s ({:.3} s per query, start included)\n",
        file.display(),
        match model.n_components() {
            1 => "1 component".to_string(),
            k => format!("{k} components"),
        },
        columns.len(),
        columns.join(", "),
        one_line(report),
        report.e_steps,
        elapsed / report.e_steps.max(1) as f64,
    );
    for k in 0..model.n_components() {
        let mean: Vec<String> = model
            .means()
            .row(k)
            .iter()
            .map(|v| format!("{v:.4}"))
            .collect();
        out.push_str(&format!(
            "  component {k}: weight {:.4}, mean [{}]\n",
            model.weights()[k],
            mean.join(", ")
        ));
    }
    out.trim_end().to_string()
}

fn fit_json(fitted: &EngineFit<GaussianMixture>) -> serde_json::Value {
    let r = &fitted.report;
    json!({
        "model": fitted.model,
        "rows": r.n_obs,
        "iterations": r.iterations,
        "e_steps": r.e_steps,
        "converged": r.converged,
        "log_likelihood": r.objective(),
        "trace": r.trace,
        "seconds": r.elapsed.as_secs_f64(),
    })
}

/// Writes a report to standard output; a reader that went away (`| head`) ends it quietly.
fn print(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")?;
    Ok(())
}
