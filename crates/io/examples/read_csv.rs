//! Times reading a CSV file, nothing else: whole into memory ([`em_io::table::read_with`], the
//! path of `em fit data.csv`) and one streamed pass ([`em_io::CsvSource`], the path of every
//! iteration of `em fit data.csv --stream`). Prints for each run the wall-clock seconds, MB/s
//! and the CPU seconds of all threads (on a shared machine the wall clock also measures the
//! other jobs).
//!
//! ```sh
//! cargo build --release -p em-io --example read_csv
//! target/release/examples/read_csv big.csv 3          # 3 runs of each
//! target/release/examples/read_csv big.csv 3 memory   # or only `memory`, only `stream`
//! ```

use std::time::Instant;

use em_core::ChunkSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: read_csv FILE [RUNS]")?;
    let runs: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    // `memory`, `stream`, or both (the default).
    let only = args.next().unwrap_or_default();
    let mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    let options = em_io::ReadOptions::default();
    for run in (1..=runs).filter(|_| only != "stream") {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let t = em_io::table::read_with(&path, &options)?;
        let s = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu).map_or(f64::NAN, |(b, a)| b - a);
        let sum: f64 = t.x.iter().sum();
        println!(
            "memory   run {run}: {s:.3} s  {:.1} MB/s  cpu {cpu:.2} s  ({} x {}, sum {sum:e})",
            mb / s,
            t.x.nrows(),
            t.x.ncols()
        );
    }
    let mut csv = em_io::CsvSource::open_with(&path, &options)?;
    for run in (1..=runs).filter(|_| only != "memory") {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        csv.rewind()?;
        let (mut rows, mut sum) = (0, 0.0);
        while let Some(chunk) = csv.next_chunk(1 << 16)? {
            rows += chunk.nrows();
            sum += chunk.iter().sum::<f64>();
        }
        let s = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu).map_or(f64::NAN, |(b, a)| b - a);
        println!(
            "streamed run {run}: {s:.3} s  {:.1} MB/s  cpu {cpu:.2} s  ({rows} rows, sum {sum:e})",
            mb / s
        );
    }
    Ok(())
}

/// CPU seconds (user + system, all threads) of this process so far, from `/proc/self/stat`
/// (Linux; `None` elsewhere).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime), counted after the name from field 3.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
