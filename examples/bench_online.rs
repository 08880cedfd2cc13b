//! Online EM against batch EM on a file of many rows: how many passes over the file, and how
//! much time, each needs to get within a tolerance of the batch MLE's mean log-likelihood.
//!
//! ```text
//! cargo run --release --example bench_online -- [--n 10000000] [--d 5] [--k 6] [--head 2000]
//!     [--batches 1000,10000,100000] [--alphas 0.51,0.6,0.7,0.85,1] [--passes 3] [--tol 1e-3]
//!     [--file /tmp/em-online-bench.f64]
//! ```
//!
//! The data are N draws from a fixed, seeded mixture of K overlapping full-covariance
//! Gaussians in D dimensions, written once to a binary file (`gmm::stream::BinaryWriter`) and
//! then only ever read from it, as a file too large for memory would be. Both methods start
//! from the same parameters: the builder's batch fit of the first `--head` rows.
//!
//! * **Batch EM** is the streamed fit (`fit_stream` from that start, the default stopping rule):
//!   one pass per iteration. Its trace gives the mean log-likelihood after every pass; the run
//!   to convergence gives the reference ℓ* (the batch MLE's mean log-likelihood).
//! * **Online EM** is `Em::fit_online` with each mini-batch size and step exponent α, for
//!   1 … `--passes` passes; after each, one extra (untimed) pass evaluates the mean
//!   log-likelihood of its parameters.
//!
//! It prints, per method, the gap ℓ* − ℓ after each pass and the time per pass, and the first
//! pass at which the gap is below `--tol`. Results are in `bench/README.md`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use em_core::online::OnlineOptions;
use em_core::stream::stream_e_step;
use em_core::{Em, EmError};
use gmm::stream::{BinarySource, BinaryWriter};
use gmm::{Covariances, GaussianMixture, Init};
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

struct Args {
    n: usize,
    d: usize,
    k: usize,
    head: usize,
    batches: Vec<usize>,
    alphas: Vec<f64>,
    passes: usize,
    tol: f64,
    file: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        n: 10_000_000,
        d: 5,
        k: 6,
        head: 2_000,
        batches: vec![1_000, 10_000, 100_000],
        alphas: vec![0.51, 0.6, 0.7, 0.85, 1.0],
        passes: 3,
        tol: 1e-3,
        file: std::env::temp_dir().join("em-online-bench.f64"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--n" => a.n = value.parse().map_err(|e| bad(&e))?,
            "--d" => a.d = value.parse().map_err(|e| bad(&e))?,
            "--k" => a.k = value.parse().map_err(|e| bad(&e))?,
            "--head" => a.head = value.parse().map_err(|e| bad(&e))?,
            "--passes" => a.passes = value.parse().map_err(|e| bad(&e))?,
            "--tol" => a.tol = value.parse().map_err(|e| bad(&e))?,
            "--file" => a.file = PathBuf::from(value),
            "--batches" => {
                a.batches = value
                    .split(',')
                    .map(|v| v.parse().map_err(|e| bad(&e)))
                    .collect::<Result<_, _>>()?
            }
            "--alphas" => {
                a.alphas = value
                    .split(',')
                    .map(|v| v.parse().map_err(|e| bad(&e)))
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

/// The mixture the data are drawn from: means N(0, 2²I), covariances L Lᵀ / D + ½ I with L
/// standard normal, weights ∝ 1 … K.
fn truth(d: usize, k: usize) -> Result<GaussianMixture, EmError> {
    let mut rng = StdRng::seed_from_u64(20261202);
    let mut draw = || -> f64 { StandardNormal.sample(&mut rng) };
    let means = DMatrix::from_fn(k, d, |_, _| 2.0 * draw());
    let covs = (0..k)
        .map(|_| {
            let l = DMatrix::from_fn(d, d, |_, _| draw());
            &l * l.transpose() / d as f64 + DMatrix::identity(d, d) * 0.5
        })
        .collect();
    let total = (k * (k + 1) / 2) as f64;
    let weights = DVector::from_fn(k, |i, _| (i + 1) as f64 / total);
    GaussianMixture::new(weights, means, Covariances::Full(covs))
}

/// Writes N draws of the truth to `file` in blocks (unless a file of the right size is there).
fn write_data(args: &Args, truth: &GaussianMixture) -> Result<(), EmError> {
    let expected = 16 + (args.n * args.d * 8) as u64;
    if std::fs::metadata(&args.file).is_ok_and(|m| m.len() == expected) {
        return Ok(());
    }
    let mut w = BinaryWriter::create(&args.file, args.d)?;
    let mut rng = StdRng::seed_from_u64(7);
    let block = 1_000_000;
    let mut written = 0;
    while written < args.n {
        let m = block.min(args.n - written);
        let (x, _) = truth.sample(m, &mut rng);
        w.write_rows(&x)?;
        written += m;
    }
    w.finish()?;
    Ok(())
}

/// The mean log-likelihood of `model` over the file (one pass).
fn mean_log_likelihood(model: &GaussianMixture, args: &Args) -> Result<f64, EmError> {
    let mut source = BinarySource::open(&args.file)?;
    let (e, n) = stream_e_step(model, &mut source, em_core::DEFAULT_CHUNK_SIZE)?;
    Ok(e.log_likelihood / n as f64)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let err = |e: EmError| e.to_string();
    let truth = truth(args.d, args.k).map_err(err)?;
    let t = Instant::now();
    write_data(&args, &truth).map_err(err)?;
    println!(
        "data: {} rows × {} columns, K = {} (written or found in {:.1} s: {})",
        args.n,
        args.d,
        args.k,
        t.elapsed().as_secs_f64(),
        args.file.display()
    );

    // The common start: the builder's batch fit of the first `head` rows.
    let mut head_source = BinarySource::open(&args.file).map_err(err)?;
    em_core::ChunkSource::rewind(&mut head_source).map_err(err)?;
    let head = em_core::ChunkSource::next_chunk(&mut head_source, args.head)
        .map_err(err)?
        .ok_or("empty file")?;
    let start = GaussianMixture::builder(args.k)
        .fit(&head)
        .map_err(err)?
        .model;
    let start_ll = mean_log_likelihood(&start, &args).map_err(err)?;

    // Batch EM to convergence, streamed from the file.
    let builder = GaussianMixture::builder(args.k)
        .init(Init::Given(Box::new(start.clone())))
        .max_iter(2_000);
    let t = Instant::now();
    let batch = builder
        .fit_stream(&mut BinarySource::open(&args.file).map_err(err)?)
        .map_err(err)?;
    let batch_seconds = t.elapsed().as_secs_f64();
    let per_pass = batch_seconds / batch.report.e_steps as f64;
    let n = batch.report.n_obs as f64;
    let reference = batch.report.objective() / n;
    println!(
        "start (batch fit of the first {} rows): mean log-likelihood {start_ll:.6}, gap {:.2e}",
        args.head,
        reference - start_ll
    );
    println!(
        "batch EM: {} iterations ({} passes) in {batch_seconds:.1} s, {per_pass:.3} s per pass; ℓ* = {reference:.8}",
        batch.report.iterations, batch.report.e_steps
    );
    let gaps: Vec<f64> = batch
        .report
        .trace
        .iter()
        .map(|v| reference - v / n)
        .collect();
    let first = gaps.iter().position(|g| *g <= args.tol);
    println!(
        "batch EM gap after passes 1..: {}",
        gaps.iter()
            .skip(1)
            .take(12)
            .map(|g| format!("{g:.2e}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    match first {
        Some(i) => println!(
            "batch EM within {:.0e} after {i} passes ({:.1} s)",
            args.tol,
            i as f64 * per_pass
        ),
        None => println!("batch EM never within {:.0e}", args.tol),
    }

    // Batch EM's passes to a gap: the first iteration whose parameters are that close.
    let batch_passes_to = |gap: f64| gaps.iter().position(|g| *g <= gap);
    println!("\nonline EM: gap ℓ* − ℓ after each pass (time per pass)");
    println!(
        "| batch | α | pass 1 | pass 2 | pass 3 | s per pass | passes to {:.0e} | batch EM passes to online's last gap |",
        args.tol
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for &batch_size in &args.batches {
        for &alpha in &args.alphas {
            let mut cells = Vec::new();
            let mut reached = None;
            let mut seconds = 0.0;
            let mut last_gap = f64::INFINITY;
            for passes in 1..=args.passes {
                let options = OnlineOptions {
                    step_exponent: alpha,
                    batch_size,
                    passes,
                    total: None,
                };
                let mut model = start.clone();
                let mut source = BinarySource::open(&args.file).map_err(err)?;
                let report = Em::new()
                    .fit_online(&mut model, &mut source, &options)
                    .map_err(err)?;
                seconds = report.elapsed.as_secs_f64() / passes as f64;
                let gap = reference - mean_log_likelihood(&model, &args).map_err(err)?;
                cells.push(format!("{gap:.2e}"));
                last_gap = gap;
                if reached.is_none() && gap <= args.tol {
                    reached = Some(passes);
                    break;
                }
            }
            while cells.len() < 3 {
                cells.push("".into());
            }
            println!(
                "| {batch_size} | {alpha} | {} | {seconds:.3} | {} | {} |",
                cells.join(" | "),
                reached.map_or(format!("> {}", args.passes), |p| p.to_string()),
                batch_passes_to(last_gap).map_or("never".into(), |p| p.to_string())
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_online: {e}");
            ExitCode::FAILURE
        }
    }
}
