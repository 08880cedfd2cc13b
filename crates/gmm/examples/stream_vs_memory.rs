//! Streaming fit versus in-memory fit of the same binary file, for time per iteration and (run
//! under `/usr/bin/time -v`) peak memory.
//!
//! ```sh
//! cargo run --release -p gmm --example stream_vs_memory -- FILE.f64 stream|memory [K] [ITERS]
//! ```
//!
//! Both modes start from the same parameters (k-means on the first 100,000 rows of the file,
//! the reservoir sample a streamed fit uses) and run exactly ITERS iterations (`tol = 0`), so
//! their results are identical; the report's elapsed time excludes the initialisation.

use std::time::Instant;

use em_core::{ChunkSource, EmError};
use gmm::stream::{BinarySource, StreamOptions};
use gmm::{CovarianceType, GaussianMixture};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(mode)) = (args.get(1), args.get(2)) else {
        return Err("usage: stream_vs_memory FILE.f64 stream|memory [K] [ITERS]".into());
    };
    let k: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let iters: usize = args.get(4).map_or(Ok(10), |s| s.parse())?;

    // The starting point: k-means on the first rows (what a streamed fit's sample holds when
    // the file has at most that many rows).
    let t = Instant::now();
    let mut head_source = BinarySource::open(path)?;
    head_source.rewind()?;
    let head = head_source.next_chunk(100_000)?.ok_or(EmError::EmptyData)?;
    let start = GaussianMixture::builder(k).max_iter(1).fit(&head)?.model;
    drop(head);
    let builder = GaussianMixture::builder(k)
        .covariance_type(CovarianceType::Full)
        .warm_start(start)
        .tol(0.0)
        .max_iter(iters);
    let init_time = t.elapsed();

    let t = Instant::now();
    let (fit, load) = match mode.as_str() {
        "stream" => {
            let mut source = BinarySource::open(path)?;
            let options = StreamOptions::default();
            let fit = builder.fit_stream_observed(&mut source, &options, &mut em_core::Silent)?;
            (fit, None)
        }
        "memory" => {
            let mut source = BinarySource::open(path)?;
            source.rewind()?;
            let x = source
                .next_chunk(source.n_rows())?
                .ok_or(EmError::EmptyData)?;
            let load = t.elapsed();
            (builder.fit(&x)?, Some(load))
        }
        other => return Err(format!("mode must be stream or memory, not {other}").into()),
    };
    let total = t.elapsed();
    let r = &fit.report;
    println!(
        "mode {mode}: N = {}, K = {k}, {} iterations ({} passes over the data)",
        r.n_obs, r.iterations, r.e_steps
    );
    println!(
        "initial k-means on 100k rows: {:.2} s",
        init_time.as_secs_f64()
    );
    if let Some(load) = load {
        println!("load into memory: {:.2} s", load.as_secs_f64());
    }
    println!(
        "EM: {:.2} s, {:.3} s per E-step pass (EM iterations + the initial E-step), total {:.2} s",
        r.elapsed.as_secs_f64(),
        r.elapsed.as_secs_f64() / r.e_steps as f64,
        total.as_secs_f64()
    );
    println!("final log-likelihood {:.6}", r.objective());
    println!("weights {:?}", fit.model.weights().as_slice());
    Ok(())
}
