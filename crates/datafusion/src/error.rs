//! What can go wrong when EM runs on DataFusion, by origin: the model, the engine, the table.

use datafusion::error::DataFusionError;
use em_core::EmError;

/// An error of a fit on DataFusion.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The model rejected its data or its statistics (a non-finite value, a degenerate
    /// component …), or the driver's options are invalid.
    #[error(transparent)]
    Em(#[from] EmError),
    /// The query engine failed (an unreadable file, an unknown column, a type it cannot cast).
    #[error("DataFusion: {0}")]
    DataFusion(#[source] Box<DataFusionError>),
    /// A column of the table cannot be fitted as it is.
    #[error("column `{column}`: {reason}")]
    Column {
        /// The column's name.
        column: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The fit of one group of a `GROUP BY` fit failed.
    #[error("group `{key}`: {source}")]
    Group {
        /// The group's key, as text.
        key: String,
        /// Why its fit failed.
        #[source]
        source: Box<EngineError>,
    },
    /// A model's parameters could not be written into, or read from, the query.
    #[error("model parameters: {0}")]
    Parameters(String),
}

impl From<DataFusionError> for EngineError {
    /// An [`EmError`] raised inside an accumulator travels through DataFusion as an external
    /// error; it is unwrapped here so that callers match on the model's typed error.
    fn from(error: DataFusionError) -> Self {
        if let DataFusionError::External(inner) = error.find_root()
            && let Some(em) = inner.downcast_ref::<EmError>()
        {
            return EngineError::Em(em.clone());
        }
        EngineError::DataFusion(Box::new(error))
    }
}

impl From<EngineError> for DataFusionError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Em(e) => DataFusionError::External(Box::new(e)),
            EngineError::DataFusion(e) => *e,
            other => DataFusionError::Execution(other.to_string()),
        }
    }
}
