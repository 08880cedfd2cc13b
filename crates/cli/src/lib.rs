//! # em-cli
//!
//! The logic of the `em` command line, kept in a library so that it can be tested without
//! spawning processes. `src/main.rs` only parses the arguments, calls [`run`] and turns a
//! [`CliError`] into a one-line message and an exit status (2 for bad input, 1 for a fit that
//! failed numerically).
//!
//! | module | job |
//! | --- | --- |
//! | [`args`] | the command line as clap parses it |
//! | [`data`] | the data: a CSV or Parquet file (read by `em_io::table`), standard input, or the bundled data |
//! | [`json`] | the JSON model/report format of `--output`, `--init` and `--model` |
//! | [`commands`] | one module per subcommand: `fit`, `select`, `predict`, `sample`, `convert`, `zip`, `bound` |
//! | [`inference`] | `--std-errors` and `--rate`: standard errors and EM's rate of convergence at a fit |
//! | [`summary`] | the human-readable summary and the model-selection table |
//! | [`plot`] | pictures (SVG/PNG) with plotters and a bundled font |
//! | [`progress`] | the progress bar, an em-core `Observer` |
//! | [`warnings`] | statistical warnings about the data and the fit |
//! | [`standardize`] | `--standardize`: fit on z-scores, report in the data's units |
//! | [`output`] | atomic file writes, standard output |
//! | [`error`] | the error type and exit statuses |
//!
//! ```
//! use clap::Parser;
//! let cli = em_cli::Cli::try_parse_from(["em", "fit", "--json", "--quiet"]).unwrap();
//! let mut out = Vec::new();
//! em_cli::run(&cli, &mut out).unwrap();
//! let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
//! assert_eq!(report["covariance_type"], "tied"); // mclust's choice for Old Faithful
//! ```

#![warn(missing_docs)]

pub mod args;
pub mod commands;
pub mod data;
pub mod error;
pub mod inference;
pub mod json;
pub mod output;
pub mod plot;
pub mod progress;
pub mod standardize;
pub mod summary;
pub mod warnings;

pub use args::Cli;
pub use commands::run;
pub use error::{CliError, ErrorKind};
