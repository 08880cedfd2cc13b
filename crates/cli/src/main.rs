//! The `em` command line. Everything but argument parsing and exit statuses lives in the
//! `em_cli` library.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use em_cli::{Cli, ErrorKind};

fn main() -> ExitCode {
    // Usage errors exit here with status 2 (clap's convention), --help and --version with 0.
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = em_cli::run(&cli, &mut out).and_then(|()| {
        out.flush()
            .map_err(|e| em_cli::CliError::from_write(e, "standard output"))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "em: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
