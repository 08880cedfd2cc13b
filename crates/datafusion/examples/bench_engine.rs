//! Time per EM iteration and memory of a Gaussian-mixture fit on a Parquet file: in memory
//! (the whole file read into a matrix, em-core's driver on rayon) and on DataFusion (one
//! aggregate query per iteration) with a given number of partitions. Run each mode in its own
//! process, under `/usr/bin/time -v`, for its peak RSS; `bench/engine.sh` runs them all.
//!
//! ```text
//! cargo run --release --example bench_engine -- write FILE [--n 10000000] [--d 5] [--k 6]
//! cargo run --release --example bench_engine -- memory FILE [--iters 5] [--k 6]
//! cargo run --release --example bench_engine -- datafusion FILE [--partitions 2] [--iters 5] [--k 6]
//! ```
//!
//! Every fit starts from the same parameters (a fit to the first 20 000 rows, seed 0) and runs
//! `--iters` iterations with no stopping rule; it prints the seconds per E-step (the initial
//! one included), the mean log-likelihood and the first mean as a check that the modes agree.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use em_core::{Em, FitReport};
use em_datafusion::{EngineOptions, fit, head};
use gmm::GaussianMixture;
use nalgebra::DMatrix;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

struct Args {
    mode: String,
    file: String,
    n: usize,
    d: usize,
    k: usize,
    iters: usize,
    partitions: usize,
}

fn parse() -> Result<Args, String> {
    let mut raw = std::env::args().skip(1);
    let mode = raw.next().ok_or("a mode: write, memory or datafusion")?;
    let file = raw.next().ok_or("a Parquet file")?;
    let mut a = Args {
        mode,
        file,
        n: 10_000_000,
        d: 5,
        k: 6,
        iters: 5,
        partitions: 2,
    };
    while let Some(flag) = raw.next() {
        let value: usize = raw
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or(format!("{flag} needs a number"))?;
        match flag.as_str() {
            "--n" => a.n = value,
            "--d" => a.d = value,
            "--k" => a.k = value,
            "--iters" => a.iters = value,
            "--partitions" => a.partitions = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    match parse().and_then(|a| run(&a).map_err(|e| e.to_string())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    if a.mode == "write" {
        return write(a);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let config = SessionConfig::new().with_target_partitions(a.partitions);
    let ctx = SessionContext::new_with_config(config);
    let table =
        runtime.block_on(ctx.read_parquet(a.file.as_str(), ParquetReadOptions::default()))?;
    let columns: Vec<String> = (0..a.d).map(|j| format!("x{j}")).collect();
    let sample = runtime.block_on(head(&table, &columns, 20_000))?;
    let start = GaussianMixture::builder(a.k).seed(0).fit(&sample)?.model;
    let em = Em::new().tol(0.0).max_iter(a.iters);
    let (model, report) = match a.mode.as_str() {
        "memory" => {
            let read = Instant::now();
            let x = runtime.block_on(head(&table, &columns, usize::MAX))?;
            println!(
                "read {} rows into memory in {:.2} s",
                x.nrows(),
                read.elapsed().as_secs_f64()
            );
            let mut model = start;
            let report = em.fit(&mut model, &x)?;
            (model, report)
        }
        "datafusion" => {
            let fitted = fit(
                runtime.handle(),
                &table,
                &columns,
                start,
                &em,
                &EngineOptions::default(),
            )?;
            (fitted.model, fitted.report)
        }
        other => return Err(format!("unknown mode {other}").into()),
    };
    print_result(&a.mode, a.partitions, &model, &report);
    Ok(())
}

fn print_result(mode: &str, partitions: usize, model: &GaussianMixture, report: &FitReport) {
    println!(
        "{mode} (partitions {partitions}): {} rows, {} E-steps in {:.2} s: {:.3} s per iteration; mean log-likelihood {:.8}; first mean {:.8}",
        report.n_obs,
        report.e_steps,
        report.elapsed.as_secs_f64(),
        report.elapsed.as_secs_f64() / report.e_steps as f64,
        report.objective() / report.n_obs as f64,
        model.means()[(0, 0)],
    );
}

/// Draws n rows from a seeded mixture of K overlapping Gaussians (means N(0, 2²), covariances
/// A Aᵀ/D + ½ I) and writes them as columns x0 … x{D−1}, in row groups of 10⁶ rows.
fn write(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(20_261_202);
    let normal = |rng: &mut StdRng| -> f64 { StandardNormal.sample(rng) };
    let means = DMatrix::from_fn(a.k, a.d, |_, _| 2.0 * normal(&mut rng));
    let factors: Vec<DMatrix<f64>> = (0..a.k)
        .map(|_| {
            let m = DMatrix::from_fn(a.d, a.d, |_, _| normal(&mut rng));
            let cov = &m * m.transpose() / a.d as f64 + DMatrix::identity(a.d, a.d) * 0.5;
            cov.cholesky()
                .map(|c| c.l())
                .ok_or("a covariance that is not positive definite")
        })
        .collect::<Result<_, _>>()?;
    let fields: Vec<String> = (0..a.d).map(|j| format!("x{j}")).collect();
    let mut writer: Option<ArrowWriter<std::fs::File>> = None;
    let chunk = 1 << 16;
    let mut written = 0;
    while written < a.n {
        let rows = chunk.min(a.n - written);
        let mut columns = vec![Vec::with_capacity(rows); a.d];
        for _ in 0..rows {
            let k = rng.random_range(0..a.k);
            let z: Vec<f64> = (0..a.d).map(|_| normal(&mut rng)).collect();
            for (j, column) in columns.iter_mut().enumerate() {
                let noise: f64 = (0..=j).map(|l| factors[k][(j, l)] * z[l]).sum();
                column.push(means[(k, j)] + noise);
            }
        }
        let arrays: Vec<(&str, ArrayRef)> = fields
            .iter()
            .zip(columns)
            .map(|(name, values)| {
                (
                    name.as_str(),
                    Arc::new(Float64Array::from(values)) as ArrayRef,
                )
            })
            .collect();
        let batch = RecordBatch::try_from_iter(arrays)?;
        let w = match writer.as_mut() {
            Some(w) => w,
            None => writer.insert(ArrowWriter::try_new(
                std::fs::File::create(&a.file)?,
                batch.schema(),
                None,
            )?),
        };
        w.write(&batch)?;
        written += rows;
    }
    if let Some(w) = writer {
        w.close()?;
    }
    println!("wrote {} rows of {} columns to {}", a.n, a.d, a.file);
    Ok(())
}
