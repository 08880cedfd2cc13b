//! `em-datafusion`: fit a Gaussian mixture to a Parquet or CSV file with EM on DataFusion, one
//! aggregate query per iteration, over the whole file or per group of a key column.

use std::process::ExitCode;

use clap::Parser;
use datafusion::prelude::SessionContext;
use em_datafusion::cli::{FitArgs, run};

/// Fit a Gaussian mixture to a Parquet or CSV file on Apache DataFusion.
///
/// Every EM iteration is one aggregate query over the file, run on --partitions partitions in
/// parallel; the start comes from a fit to the first --head rows (of each group, with
/// --group-by).
#[derive(Debug, Parser)]
#[command(name = "em-datafusion", version)]
struct Cli {
    #[command(flatten)]
    fit: FitArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = tokio::runtime::Runtime::new()
        .map_err(Into::into)
        .and_then(|runtime| {
            let ctx = SessionContext::new_with_config(cli.fit.session_config()?);
            run(&cli.fit, &runtime, &ctx, &ctx)
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
