//! The project's side of `bench/compare_sklearn.py`: a fixed number of plain EM iterations of a
//! Gaussian mixture from given starting parameters, timed, with the result printed as one line
//! of JSON.
//!
//! ```text
//! cargo build --release --example bench_gmm
//! target/release/examples/bench_gmm --dir DIR [--iters 20] [--threads 2] [--repeat 1]
//! ```
//!
//! `DIR` holds what the comparison script writes (see `bench/README.md`):
//!
//! - `meta.txt`: `key value` lines with `n`, `d`, `k`, `covariance` (`full` or `diag`) and
//!   `reg_covar`;
//! - `x.f64`: the N×D data as raw little-endian f64 in **column-major** order (column 0 for all
//!   rows, then column 1, …), exactly nalgebra's layout, so it is read straight into the matrix
//!   with no second copy (peak memory ≈ the data itself);
//! - `init.f64`: raw little-endian f64 — the K weights, the K×D means row by row, then the
//!   covariances: K matrices of D×D row by row (`full`) or K×D variances row by row (`diag`).
//!
//! The starting model is `gmm::GaussianMixture::new(weights, means, covariances)` with
//! `with_reg_covar(reg_covar)`, the same parameters scikit-learn is given (it is given the
//! inverse of each covariance as `precisions_init`), and EM is
//! `em_core::Em::new().stopping(Stopping::ObjectiveChange { tol: 0.0 })
//! .max_iter(iters).threads(threads)` (scikit-learn's rule at tol 0, as the scikit-learn side
//! runs), which runs exactly `iters` iterations.
//!
//! Only the EM loop is timed (the driver's `FitReport::elapsed`, which excludes loading the
//! data and building the thread pool). A run of `iters` iterations does `iters + 1` E-steps (one
//! at the starting parameters) and `iters` M-steps, so per iteration it reports
//! `(t(iters) − t(1)) / (iters − 1)`: the difference of a run of `iters` iterations and a run of
//! one, both from the same start — exactly one E-step plus one M-step per iteration, with any
//! fixed cost cancelled. The script measures scikit-learn's `fit` the same way. With
//! `--repeat R` each of the two runs is repeated R times and the fastest is kept.
//!
//! Output fields: `seconds_per_iteration` (the difference above), `seconds_total` (the fastest
//! run of `iters` iterations), `seconds_one` (the fastest run of one), `iterations`,
//! `final_log_likelihood` (Σ log p(x_n) at the parameters after the last M-step, as
//! scikit-learn's `score(X) · N` after `fit`), `final_weights`, `final_means` (K×D row by row),
//! and `peak_rss_bytes` (the process's VmHWM from /proc, Linux only; 0 elsewhere).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use em_core::{Em, Stopping};
use gmm::{Covariances, GaussianMixture};
use nalgebra::{DMatrix, DVector};

struct Args {
    dir: PathBuf,
    iters: usize,
    threads: usize,
    repeat: usize,
}

struct Meta {
    n: usize,
    d: usize,
    k: usize,
    covariance: String,
    reg_covar: f64,
}

fn usage() -> String {
    "usage: bench_gmm --dir DIR [--iters N (≥ 2, default 20)] [--threads T (default 1)] \
     [--repeat R (default 1)]"
        .to_string()
}

fn parse_args() -> Result<Args, String> {
    let mut dir = None;
    let (mut iters, mut threads, mut repeat) = (20, 1, 1);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))
        };
        let number = |v: String| {
            v.parse::<usize>()
                .map_err(|e| format!("{flag}: {v:?} is not a count: {e}"))
        };
        match flag.as_str() {
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--iters" => iters = number(value()?)?,
            "--threads" => threads = number(value()?)?,
            "--repeat" => repeat = number(value()?)?,
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    let dir = dir.ok_or_else(usage)?;
    if iters < 2 {
        return Err(format!(
            "--iters must be at least 2 (the per-iteration time is a difference of runs of \
             --iters and of 1 iteration), got {iters}"
        ));
    }
    if threads == 0 || repeat == 0 {
        return Err("--threads and --repeat must be at least 1".into());
    }
    Ok(Args {
        dir,
        iters,
        threads,
        repeat,
    })
}

fn read_meta(path: &Path) -> Result<Meta, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut n, mut d, mut k, mut covariance, mut reg_covar) = (None, None, None, None, None);
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        let count = |v: &str| {
            v.parse::<usize>()
                .map_err(|e| format!("{}: {key} {v:?}: {e}", path.display()))
        };
        match key {
            "n" => n = Some(count(value)?),
            "d" => d = Some(count(value)?),
            "k" => k = Some(count(value)?),
            "covariance" => covariance = Some(value.to_string()),
            "reg_covar" => {
                reg_covar = Some(
                    value
                        .parse::<f64>()
                        .map_err(|e| format!("{}: reg_covar {value:?}: {e}", path.display()))?,
                )
            }
            _ => {}
        }
    }
    let missing = |what: &str| format!("{}: no `{what}` line", path.display());
    Ok(Meta {
        n: n.ok_or_else(|| missing("n"))?,
        d: d.ok_or_else(|| missing("d"))?,
        k: k.ok_or_else(|| missing("k"))?,
        covariance: covariance.ok_or_else(|| missing("covariance"))?,
        reg_covar: reg_covar.unwrap_or(1e-6),
    })
}

/// Reads exactly `count` little-endian f64 from `path` into one vector, through a 1 MiB
/// buffer (no second copy of the whole file).
fn read_f64(path: &Path, count: usize) -> Result<Vec<f64>, String> {
    let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let len = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if len != 8 * count as u64 {
        return Err(format!(
            "{}: {len} bytes, expected {} ({count} f64)",
            path.display(),
            8 * count
        ));
    }
    let mut out = Vec::with_capacity(count);
    let mut buf = vec![0u8; 1 << 20];
    while out.len() < count {
        let want = ((count - out.len()) * 8).min(buf.len());
        file.read_exact(&mut buf[..want])
            .map_err(|e| format!("{}: {e}", path.display()))?;
        out.extend(
            buf[..want]
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))),
        );
    }
    Ok(out)
}

fn start_model(meta: &Meta, init: &[f64]) -> Result<GaussianMixture, String> {
    let (d, k) = (meta.d, meta.k);
    let weights = DVector::from_column_slice(&init[..k]);
    let means = DMatrix::from_row_slice(k, d, &init[k..k + k * d]);
    let rest = &init[k + k * d..];
    let covariances = match meta.covariance.as_str() {
        "full" => Covariances::Full(
            rest.chunks_exact(d * d)
                .map(|m| DMatrix::from_row_slice(d, d, m))
                .collect(),
        ),
        "diag" => Covariances::Diag(DMatrix::from_row_slice(k, d, rest)),
        other => return Err(format!("covariance {other:?}: expected full or diag")),
    };
    GaussianMixture::new(weights, means, covariances)
        .and_then(|m| m.with_reg_covar(meta.reg_covar))
        .map_err(|e| format!("starting model: {e}"))
}

/// Peak resident set size of this process (VmHWM), in bytes; 0 when /proc is not there.
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn json_list(values: impl Iterator<Item = f64>) -> String {
    let items: Vec<String> = values.map(|v| format!("{v:e}")).collect();
    format!("[{}]", items.join(", "))
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let meta = read_meta(&args.dir.join("meta.txt"))?;
    let (n, d, k) = (meta.n, meta.d, meta.k);
    let cov_len = match meta.covariance.as_str() {
        "full" => k * d * d,
        _ => k * d,
    };
    let init = read_f64(&args.dir.join("init.f64"), k + k * d + cov_len)?;
    let start = start_model(&meta, &init)?;
    let x = DMatrix::from_vec(n, d, read_f64(&args.dir.join("x.f64"), n * d)?);

    let em = |iters: usize| {
        Em::new()
            .stopping(Stopping::ObjectiveChange { tol: 0.0 })
            .max_iter(iters)
            .threads(args.threads)
    };
    let (mut best_one, mut best_total) = (f64::INFINITY, f64::INFINITY);
    let mut last = None;
    for _ in 0..args.repeat {
        let mut model = start.clone();
        let report = em(1).fit(&mut model, &x).map_err(|e| format!("EM: {e}"))?;
        best_one = best_one.min(report.elapsed.as_secs_f64());
        let mut model = start.clone();
        let report = em(args.iters)
            .fit(&mut model, &x)
            .map_err(|e| format!("EM: {e}"))?;
        if report.iterations != args.iters {
            return Err(format!(
                "EM ran {} iterations, expected {}",
                report.iterations, args.iters
            ));
        }
        best_total = best_total.min(report.elapsed.as_secs_f64());
        last = Some((model, report));
    }
    let (model, report) = last.expect("repeat ≥ 1");
    let per_iteration = (best_total - best_one) / (args.iters - 1) as f64;
    println!(
        "{{\"n\": {n}, \"d\": {d}, \"k\": {k}, \"covariance\": \"{}\", \"threads\": {}, \
         \"iterations\": {}, \"repeat\": {}, \"seconds_per_iteration\": {per_iteration:e}, \
         \"seconds_total\": {best_total:e}, \"seconds_one\": {best_one:e}, \
         \"final_log_likelihood\": {:e}, \"final_weights\": {}, \"final_means\": {}, \
         \"peak_rss_bytes\": {}}}",
        meta.covariance,
        args.threads,
        report.iterations,
        args.repeat,
        report.objective(),
        json_list(model.weights().iter().copied()),
        json_list(model.means().transpose().iter().copied()),
        peak_rss_bytes(),
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_gmm: {e}");
            ExitCode::FAILURE
        }
    }
}
