//! `em-ballista`: a Ballista scheduler or executor that knows em's E-step functions, and the
//! `em-datafusion` fit run on such a cluster.

use std::process::ExitCode;

use ballista_scheduler::config::SchedulerConfig;
use clap::{Parser, Subcommand};
use datafusion::prelude::SessionContext;
use em_ballista::{
    ExecutorAddress, connect, executor_config, run_executor, run_scheduler, scheduler_config,
};
use em_datafusion::cli::{FitArgs, run};

/// EM on Apache Ballista: start a scheduler and executors (each a process of its own), then fit
/// Gaussian mixtures on them, one aggregate query per EM iteration.
#[derive(Debug, Parser)]
#[command(name = "em-ballista", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scheduler until the process is stopped.
    Scheduler {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The port to listen on.
        #[arg(long, default_value_t = 50050)]
        port: u16,
        /// The host name executors and clients reach the scheduler at.
        #[arg(long, default_value = "localhost")]
        external_host: String,
    },
    /// Run an executor for a scheduler until the process is stopped.
    Executor {
        /// The scheduler's host.
        #[arg(long, default_value = "localhost")]
        scheduler_host: String,
        /// The scheduler's port.
        #[arg(long, default_value_t = 50050)]
        scheduler_port: u16,
        /// The address to listen on (0.0.0.0: every interface).
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The host name the scheduler, the other executors and clients reach this executor at
        /// [default: --bind].
        #[arg(long)]
        external_host: Option<String>,
        /// The Arrow Flight port (results and shuffles are fetched there).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// The gRPC port.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks run at once [default: the cores].
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        tasks: Option<u64>,
        /// Directory for shuffle files [default: a temporary directory].
        #[arg(long)]
        work_dir: Option<String>,
    },
    /// Fit a Gaussian mixture to a Parquet or CSV file on the cluster (the options of
    /// `em-datafusion`): every EM iteration is one query the scheduler runs on its executors;
    /// the start is fitted here, to the file's first rows.
    Fit {
        /// The scheduler, as `df://host:port`.
        #[arg(long, default_value = "df://localhost:50050")]
        scheduler: String,
        #[command(flatten)]
        fit: FitArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The cluster's processes say what they do (jobs, tasks, executors joining); a fit only
    // what goes wrong. RUST_LOG overrides both.
    let level = match cli.command {
        Command::Fit { .. } => "warn",
        Command::Scheduler { .. } | Command::Executor { .. } => "info",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).init();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    match command {
        Command::Scheduler {
            bind,
            port,
            external_host,
        } => {
            let config = SchedulerConfig {
                external_host,
                ..scheduler_config(&bind, port)
            };
            runtime.block_on(run_scheduler(config))?;
        }
        Command::Executor {
            scheduler_host,
            scheduler_port,
            bind,
            external_host,
            port,
            grpc_port,
            tasks,
            work_dir,
        } => {
            let tasks = match tasks {
                Some(n) => usize::try_from(n)?,
                None => std::thread::available_parallelism()?.get(),
            };
            let address = ExecutorAddress {
                scheduler_host,
                scheduler_port,
                bind_host: bind,
                external_host,
                port,
                grpc_port,
            };
            runtime.block_on(run_executor(executor_config(address, tasks, work_dir)))?;
        }
        Command::Fit { scheduler, fit } => {
            let config = fit.session_config()?;
            let cluster = runtime.block_on(connect(&scheduler, config.clone()))?;
            let local = SessionContext::new_with_config(config);
            run(&fit, &runtime, &cluster, &local)?;
        }
    }
    Ok(())
}
