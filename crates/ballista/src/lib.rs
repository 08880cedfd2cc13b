//! EM on [Apache Ballista](https://datafusion.apache.org/ballista/): em-datafusion's fits, with
//! every E-step one aggregate query that a Ballista scheduler splits into tasks for its
//! executors, each a process of its own (on one machine or many).
//!
//! em-datafusion's E-step functions hold the model's parameters, so the plans Ballista ships
//! from the client to the scheduler, and from the scheduler to the executors, must carry them:
//! [`EmLogicalCodec`] and [`EmPhysicalCodec`] write them into the plans and read them back.
//! Every process of a cluster uses them:
//!
//! - the client: a session from [`connect`] (or [`session_config`] for a session of your own),
//!   on which [`em_datafusion::fit`] and [`em_datafusion::fit_grouped`] run unchanged;
//! - the scheduler: [`run_scheduler`] with [`scheduler_config`];
//! - each executor: [`run_executor`] with [`executor_config`].
//!
//! ```no_run
//! use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
//! use em_core::Em;
//! use em_datafusion::{EngineOptions, fit, head};
//! use gmm::GaussianMixture;
//!
//! let runtime = tokio::runtime::Runtime::new()?;
//! let file = "/data/big.parquet";
//! let columns: Vec<String> = (0..5).map(|j| format!("x{j}")).collect();
//! // The start: a fit to the file's first rows, read by this process.
//! let local = SessionContext::new();
//! let first = runtime.block_on(local.read_parquet(file, ParquetReadOptions::default()))?;
//! let sample = runtime.block_on(head(&first, &columns, 20_000))?;
//! let start = GaussianMixture::builder(6).fit(&sample)?.model;
//! // The EM iterations: one query each, run by the cluster's executors.
//! let config = SessionConfig::new().with_target_partitions(2);
//! let cluster = runtime.block_on(em_ballista::connect("df://localhost:50050", config))?;
//! let table = runtime.block_on(cluster.read_parquet(file, ParquetReadOptions::default()))?;
//! let fitted = fit(runtime.handle(), &table, &columns, start, &Em::new(), &EngineOptions::default())?;
//! println!("{} iterations", fitted.report.iterations);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The `em-ballista` binary wraps all three (`em-ballista scheduler`, `em-ballista executor`,
//! `em-ballista fit`), and `crates/ballista/cluster.sh` starts a scheduler and two executors on
//! this machine. The fit's numbers are those of em-datafusion on a single machine: the same
//! batches' statistics, merged in the same canonical order, give the same bits.

#![warn(missing_docs)]

mod codec;

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::error::BallistaError;
use ballista_core::extension::SessionConfigExt;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

pub use codec::{EmLogicalCodec, EmPhysicalCodec};

/// `config` with em-ballista's codecs, for a client session that sends E-step queries to a
/// cluster.
pub fn session_config(config: SessionConfig) -> SessionConfig {
    config
        .with_ballista_logical_extension_codec(Arc::new(EmLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(EmPhysicalCodec::default()))
}

/// A session whose queries run on the Ballista cluster of the scheduler at `scheduler_url`
/// (`df://host:port`), with em-ballista's codecs and the options of `config` (the number of
/// partitions a scan is cut into, for one).
///
/// The session is created without contacting the scheduler; its first query does.
///
/// # Errors
/// A URL that is not `df://host:port`.
pub async fn connect(
    scheduler_url: &str,
    config: SessionConfig,
) -> Result<SessionContext, DataFusionError> {
    let state = SessionStateBuilder::new()
        .with_config(session_config(config))
        .with_default_features()
        .build();
    SessionContext::remote_with_state(scheduler_url, state).await
}

/// A scheduler listening on `bind_host:port`, with em-ballista's codecs (and Ballista's
/// defaults otherwise: change the fields of the result for more).
pub fn scheduler_config(bind_host: &str, port: u16) -> SchedulerConfig {
    SchedulerConfig {
        bind_host: bind_host.to_string(),
        bind_port: port,
        override_logical_codec: Some(Arc::new(EmLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(EmPhysicalCodec::default())),
        ..SchedulerConfig::default()
    }
}

/// Runs a scheduler until its process ends.
///
/// # Errors
/// An address that does not parse, a port already taken, the scheduler's own failures.
pub async fn run_scheduler(config: SchedulerConfig) -> Result<(), BallistaError> {
    let address: SocketAddr = format!("{}:{}", config.bind_host, config.bind_port)
        .parse()
        .map_err(|e| BallistaError::Configuration(format!("scheduler address: {e}")))?;
    let cluster = BallistaCluster::new_from_config(&config).await?;
    start_server(cluster, address, Arc::new(config)).await
}

/// Where an executor listens and whom it works for.
#[derive(Debug, Clone)]
pub struct ExecutorAddress {
    /// The scheduler's host.
    pub scheduler_host: String,
    /// The scheduler's port.
    pub scheduler_port: u16,
    /// The address the executor binds to (`0.0.0.0` for every interface).
    pub bind_host: String,
    /// The host name the scheduler and other executors reach this one at [default: `bind_host`,
    /// which must then be an address they can reach].
    pub external_host: Option<String>,
    /// The executor's Arrow Flight port (other executors and clients fetch results there).
    pub port: u16,
    /// The executor's gRPC port.
    pub grpc_port: u16,
}

/// An executor at `address` running at most `tasks` tasks at once, keeping its shuffle files
/// in `work_dir` (a temporary directory when `None`), with em-ballista's codecs.
pub fn executor_config(
    address: ExecutorAddress,
    tasks: usize,
    work_dir: Option<String>,
) -> ExecutorProcessConfig {
    ExecutorProcessConfig {
        scheduler_host: address.scheduler_host,
        scheduler_port: address.scheduler_port,
        external_host: Some(
            address
                .external_host
                .unwrap_or_else(|| address.bind_host.clone()),
        ),
        bind_host: address.bind_host,
        port: address.port,
        grpc_port: address.grpc_port,
        vcores: tasks,
        work_dir,
        override_logical_codec: Some(Arc::new(EmLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(EmPhysicalCodec::default())),
        ..ExecutorProcessConfig::default()
    }
}

/// Runs an executor until its process ends.
///
/// # Errors
/// A scheduler that cannot be reached, a port already taken, the executor's own failures.
pub async fn run_executor(config: ExecutorProcessConfig) -> Result<(), BallistaError> {
    start_executor_process(Arc::new(config)).await
}
