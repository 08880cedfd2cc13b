//! A Ballista scheduler and two executors, each a process of its own on this machine (the
//! `em-ballista` binary), fitting through em-datafusion: the fits must be those of DataFusion
//! on one machine, bit for bit, and those of the in-memory fit to rounding.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use datafusion::dataframe::DataFrame;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use em_core::Em;
use em_datafusion::{EngineError, EngineFit, EngineModel, EngineOptions, fit, fit_grouped};
use gmm::{CovarianceType, Dof, GaussianMixture, StudentMixture};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use tokio::runtime::Runtime;

/// Rows per Parquet row group: every scan reads the same batches, however it is partitioned.
const ROW_GROUP: usize = 5_000;

/// The scheduler and executors, stopped when dropped.
struct Cluster {
    processes: Vec<Child>,
    url: String,
    work: tempfile::TempDir,
}

impl Cluster {
    /// What executor `e` has logged so far.
    fn executor_log(&self, e: usize) -> String {
        std::fs::read_to_string(self.work.path().join(format!("executor-{e}.log")))
            .expect("the executor's log")
    }
}

/// A file for a process's log (its standard error).
fn log_file(dir: &Path, name: &str) -> Stdio {
    Stdio::from(std::fs::File::create(dir.join(format!("{name}.log"))).expect("a log file"))
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for process in &mut self.processes {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, process: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = process.try_wait() {
            panic!("the process for port {port} ended: {status}");
        }
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `em-ballista scheduler` and two `em-ballista executor`s of one task each.
fn start_cluster() -> Cluster {
    let exe = env!("CARGO_BIN_EXE_em-ballista");
    let work = tempfile::tempdir().expect("a directory");
    let scheduler_port = free_port();
    let mut processes = Vec::new();
    let mut scheduler = Command::new(exe)
        .args(["scheduler", "--port", &scheduler_port.to_string()])
        .stdout(Stdio::null())
        .stderr(log_file(work.path(), "scheduler"))
        .spawn()
        .expect("the scheduler starts");
    wait_for_port(scheduler_port, &mut scheduler);
    processes.push(scheduler);
    for e in 0..2 {
        let (port, grpc_port) = (free_port(), free_port());
        let dir = work.path().join(format!("executor-{e}"));
        std::fs::create_dir_all(&dir).expect("a work directory");
        let mut executor = Command::new(exe)
            .args(["executor", "--scheduler-port", &scheduler_port.to_string()])
            .args([
                "--port",
                &port.to_string(),
                "--grpc-port",
                &grpc_port.to_string(),
            ])
            .args(["--tasks", "1", "--work-dir", dir.to_str().expect("utf-8")])
            .stdout(Stdio::null())
            .stderr(log_file(work.path(), &format!("executor-{e}")))
            .spawn()
            .expect("an executor starts");
        wait_for_port(port, &mut executor);
        wait_for_port(grpc_port, &mut executor);
        processes.push(executor);
    }
    Cluster {
        processes,
        url: format!("df://127.0.0.1:{scheduler_port}"),
        work,
    }
}

/// n rows of three well-separated 2-D clusters.
fn clusters(n: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 1.0).expect("a valid normal");
    let centres = [(-4.0, 0.0), (0.0, 3.0), (5.0, -1.0)];
    DMatrix::from_fn(n, 2, |i, j| {
        let (cx, cy) = centres[(i * 7 + i / 3) % 3];
        let centre = if j == 0 { cx } else { cy };
        centre + (0.5 + 0.5 * j as f64) * noise.sample(&mut rng)
    })
}

/// `x` as a Parquet file with columns a, b (and key, when given) in row groups of `ROW_GROUP`.
fn write_parquet(path: &Path, x: &DMatrix<f64>, keys: Option<&[String]>) {
    let column = |j: usize, rows: std::ops::Range<usize>| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(rows.map(|i| x[(i, j)])))
    };
    let batch = |rows: std::ops::Range<usize>| {
        let mut columns = vec![
            ("a", column(0, rows.clone())),
            ("b", column(1, rows.clone())),
        ];
        if let Some(keys) = keys {
            let k: ArrayRef = Arc::new(StringArray::from_iter_values(keys[rows].iter()));
            columns.push(("key", k));
        }
        RecordBatch::try_from_iter(columns).expect("a batch")
    };
    let first = batch(0..1);
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build();
    let file = std::fs::File::create(path).expect("a file");
    let mut writer =
        ArrowWriter::try_new(file, first.schema(), Some(properties)).expect("a writer");
    for start in (0..x.nrows()).step_by(ROW_GROUP) {
        writer
            .write(&batch(start..(start + ROW_GROUP).min(x.nrows())))
            .expect("written");
    }
    writer.close().expect("closed");
}

/// `partitions` partitions, and files cut into them however small.
fn config_with(partitions: usize) -> SessionConfig {
    SessionConfig::new()
        .with_target_partitions(partitions)
        .with_repartition_file_min_size(0)
}

/// Two partitions: one task per executor.
fn config() -> SessionConfig {
    config_with(2)
}

fn read(rt: &Runtime, ctx: &SessionContext, path: &Path) -> DataFrame {
    rt.block_on(ctx.read_parquet(path.to_str().expect("utf-8"), ParquetReadOptions::default()))
        .expect("the file")
}

/// `fit` of the columns a and b of the Parquet file at `path`, read through `ctx`.
fn fit_file<M: EngineModel>(
    rt: &Runtime,
    ctx: &SessionContext,
    path: &Path,
    start: M,
    em: &Em,
) -> Result<EngineFit<M>, EngineError> {
    let table = read(rt, ctx, path);
    fit(
        rt.handle(),
        &table,
        &columns(),
        start,
        em,
        &EngineOptions::default(),
    )
}

fn columns() -> Vec<String> {
    vec!["a".to_string(), "b".to_string()]
}

fn start(x: &DMatrix<f64>, kind: CovarianceType) -> GaussianMixture {
    GaussianMixture::builder(3)
        .covariance_type(kind)
        .seed(3)
        .max_iter(3)
        .fit(&x.rows(0, 2000).into_owned())
        .expect("a start")
        .model
}

fn bits<M: serde::Serialize>(model: &M) -> String {
    serde_json::to_string(model).expect("serialisable")
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN)],
        serde_json::Value::Array(items) => items.iter().flat_map(numbers).collect(),
        serde_json::Value::Object(map) => map.values().flat_map(numbers).collect(),
        _ => vec![],
    }
}

fn max_relative_difference<M: serde::Serialize>(a: &M, b: &M) -> f64 {
    let va = numbers(&serde_json::to_value(a).expect("json"));
    let vb = numbers(&serde_json::to_value(b).expect("json"));
    assert_eq!(va.len(), vb.len());
    va.iter()
        .zip(&vb)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1e-300))
        .fold(0.0, f64::max)
}

fn trace_bits(trace: &[f64]) -> Vec<u64> {
    trace.iter().map(|v| v.to_bits()).collect()
}

/// The `em-ballista fit` / `em-datafusion` options, parsed as either command line does.
#[derive(Parser)]
struct FitCommand {
    #[command(flatten)]
    fit: em_datafusion::cli::FitArgs,
}

#[test]
fn two_executors_fit_bit_for_bit_as_datafusion_does_on_one_machine() {
    let rt = Runtime::new().expect("a runtime");
    let cluster = start_cluster();
    let remote = rt
        .block_on(em_ballista::connect(&cluster.url, config()))
        .expect("a session on the cluster");
    let local = SessionContext::new_with_config(config());
    let dir = tempfile::tempdir().expect("a directory");

    // One model over the whole file, every covariance structure.
    let x = clusters(40_000, 2);
    let path = dir.path().join("clusters.parquet");
    write_parquet(&path, &x, None);
    let em = Em::new().tol(0.0).max_iter(8);
    for kind in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
        CovarianceType::Tied,
    ] {
        let start = start(&x, kind);
        let on_cluster =
            fit_file(&rt, &remote, &path, start.clone(), &em).expect("a fit on the cluster");
        let on_one_machine =
            fit_file(&rt, &local, &path, start.clone(), &em).expect("a fit on DataFusion");
        assert_eq!(on_cluster.report.n_obs, 40_000);
        assert_eq!(
            bits(&on_cluster.model),
            bits(&on_one_machine.model),
            "{kind:?}"
        );
        assert_eq!(
            trace_bits(&on_cluster.report.trace),
            trace_bits(&on_one_machine.report.trace),
            "{kind:?}"
        );
        let mut in_memory = start;
        em.fit(&mut in_memory, &x).expect("in memory");
        let difference = max_relative_difference(&on_cluster.model, &in_memory);
        assert!(difference < 1e-10, "{kind:?}: {difference:e}");
    }

    // The same fit whatever the number of tasks the scan is cut into.
    let full = start(&x, CovarianceType::Full);
    let mut by_partitions = Vec::new();
    for partitions in [1, 2, 4] {
        let session = rt
            .block_on(em_ballista::connect(&cluster.url, config_with(partitions)))
            .expect("a session on the cluster");
        let fitted =
            fit_file(&rt, &session, &path, full.clone(), &em).expect("a fit on the cluster");
        by_partitions.push(bits(&fitted.model));
    }
    assert_eq!(by_partitions[0], by_partitions[1]);
    assert_eq!(by_partitions[0], by_partitions[2]);

    // A Student mixture, with its degrees of freedom estimated.
    let student = StudentMixture::from_gaussian(
        &start(&x, CovarianceType::Full),
        Dof::Estimated { initial: 5.0 },
    )
    .expect("a start");
    let em_student = Em::new().tol(0.0).max_iter(4);
    let on_cluster = fit_file(&rt, &remote, &path, student.clone(), &em_student)
        .expect("a Student fit on the cluster");
    let on_one_machine =
        fit_file(&rt, &local, &path, student, &em_student).expect("a Student fit on DataFusion");
    assert_eq!(bits(&on_cluster.model), bits(&on_one_machine.model));

    // One model per group key, all groups in the same queries.
    let keys: Vec<String> = (0..x.nrows())
        .map(|i| format!("sensor-{}", i % 3))
        .collect();
    let shifted = DMatrix::from_fn(x.nrows(), 2, |i, j| x[(i, j)] + 10.0 * (i % 3) as f64);
    let grouped_path = dir.path().join("grouped.parquet");
    write_parquet(&grouped_path, &shifted, Some(&keys));
    let starts: BTreeMap<String, GaussianMixture> = (0..3)
        .map(|g| {
            let rows: Vec<usize> = (0..x.nrows()).filter(|i| i % 3 == g).collect();
            (
                format!("sensor-{g}"),
                start(&shifted.select_rows(&rows), CovarianceType::Full),
            )
        })
        .collect();
    let em_grouped = Em::new().tol(1e-8).max_iter(100);
    let grouped = |ctx: &SessionContext| {
        fit_grouped(
            rt.handle(),
            &read(&rt, ctx, &grouped_path),
            "key",
            &columns(),
            starts.clone(),
            &em_grouped,
            &EngineOptions::default(),
        )
        .expect("grouped fits")
        .into_iter()
        .map(|(group, outcome)| {
            let fitted = outcome.expect("each group fits");
            (group, (bits(&fitted.model), fitted.report.iterations))
        })
        .collect::<BTreeMap<_, _>>()
    };
    let on_cluster = grouped(&remote);
    assert_eq!(on_cluster.len(), 3);
    assert_eq!(on_cluster, grouped(&local));

    // The command line: the same model as em-datafusion's on one machine.
    let fit_command = |json: &Path| {
        FitCommand::parse_from([
            "fit",
            path.to_str().expect("utf-8"),
            "-k",
            "3",
            "--partitions",
            "2",
            "--max-iter",
            "5",
            "--json",
            json.to_str().expect("utf-8"),
        ])
    };
    let local_json = dir.path().join("local.json");
    em_datafusion::cli::run(&fit_command(&local_json).fit, &rt, &local, &local)
        .expect("em-datafusion's fit");
    let cluster_json = dir.path().join("cluster.json");
    let status = Command::new(env!("CARGO_BIN_EXE_em-ballista"))
        .args(["fit", "--scheduler", &cluster.url])
        .args([
            path.to_str().expect("utf-8"),
            "-k",
            "3",
            "--partitions",
            "2",
        ])
        .args(["--max-iter", "5", "--json"])
        .arg(&cluster_json)
        .stdout(Stdio::null())
        .status()
        .expect("em-ballista fit runs");
    assert!(status.success());
    let model = |json: &PathBuf| -> serde_json::Value {
        let text = std::fs::read_to_string(json).expect("a report");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        value["fit"]["model"].clone()
    };
    assert_eq!(model(&cluster_json), model(&local_json));

    // Both executors ran E-step tasks.
    for e in 0..2 {
        let log = cluster.executor_log(e);
        assert!(
            log.contains("Execute task"),
            "executor {e} ran no task:\n{log}"
        );
    }
}

#[test]
fn errors_on_the_executors_reach_the_client_with_the_column_named() {
    let rt = Runtime::new().expect("a runtime");
    let cluster = start_cluster();
    let remote = rt
        .block_on(em_ballista::connect(&cluster.url, config()))
        .expect("a session on the cluster");
    let dir = tempfile::tempdir().expect("a directory");
    let mut x = clusters(12_000, 5);
    let start = start(&x, CovarianceType::Full);
    x[(9_000, 1)] = f64::NAN;
    let path = dir.path().join("nan.parquet");
    write_parquet(&path, &x, None);
    let em = Em::new().max_iter(3);
    let error = fit_file(&rt, &remote, &path, start.clone(), &em).expect_err("a NaN");
    assert!(
        error
            .to_string()
            .contains("column `b` holds the non-finite value NaN"),
        "{error}"
    );
    // Columns are checked on the client, before any query.
    let missing = fit(
        rt.handle(),
        &read(&rt, &remote, &path),
        &["a".into(), "nope".into()],
        start.clone(),
        &em,
        &EngineOptions::default(),
    );
    assert!(
        matches!(&missing, Err(EngineError::Column { column, .. }) if column == "nope"),
        "{missing:?}"
    );

    // No scheduler: the first query fails, it does not wait.
    let nowhere = rt
        .block_on(em_ballista::connect(
            &format!("df://127.0.0.1:{}", free_port()),
            config(),
        ))
        .expect("a session (not connected yet)");
    let error = fit_file(&rt, &nowhere, &path, start, &em).expect_err("no scheduler");
    assert!(matches!(error, EngineError::DataFusion(_)), "{error:?}");
}
