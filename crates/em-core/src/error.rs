//! The one error type of the EM machinery, shared by every model built on it.
//!
//! Variants name *which* input was wrong (row, column, component, parameter) so that a
//! caller can act on the message without a debugger.

use thiserror::Error;

/// Everything that can go wrong when fitting or evaluating a latent-variable model.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum EmError {
    /// The data set has no observations.
    #[error("the data set is empty: at least one observation is needed")]
    EmptyData,

    /// A value that must be finite is NaN or ±∞.
    #[error("non-finite value {value} at row {row}, column {column}")]
    NonFinite {
        /// Zero-based observation index.
        row: usize,
        /// Zero-based feature index.
        column: usize,
        /// The offending value (NaN, inf or -inf).
        value: f64,
    },

    /// An observation is outside the model's support or otherwise unusable.
    #[error("invalid observation at row {row}{}: {reason}", column.map(|c| format!(", column {c}")).unwrap_or_default())]
    InvalidInput {
        /// Zero-based observation index.
        row: usize,
        /// Zero-based feature index, when the problem is one value.
        column: Option<usize>,
        /// What is wrong with it.
        reason: String,
    },

    /// The data has a different number of features than the model.
    #[error("dimension mismatch: the model has {expected} features, the data has {found}")]
    DimensionMismatch {
        /// Features the model was fitted on.
        expected: usize,
        /// Features in the data given now.
        found: usize,
    },

    /// Fewer observations than the model needs (e.g. fewer rows than components).
    #[error(
        "too few observations: {n_obs} observation(s) cannot support {n_components} components; lower the number of components or add data"
    )]
    TooFewObservations {
        /// Observations in the data.
        n_obs: usize,
        /// Components asked for.
        n_components: usize,
    },

    /// A covariance matrix lost positive definiteness (Cholesky failed).
    #[error(
        "covariance of component {component} is not positive definite ({detail}); increase reg_covar, lower the number of components, or check for duplicate points and constant features"
    )]
    NotPositiveDefinite {
        /// Zero-based component index (for a tied covariance: 0).
        component: usize,
        /// Where it happened (the M-step, user-given parameters …).
        detail: String,
    },

    /// A component's M-step has no maximiser inside its family's parameter space (a variance
    /// collapsed to 0, a rate diverged): the generic form of a degenerate fit, with the
    /// family's own explanation and advice in `reason`. (Covariance matrices have their own
    /// variant, [`EmError::NotPositiveDefinite`].)
    #[error("component {component} degenerated: {reason}")]
    DegenerateComponent {
        /// Zero-based component index.
        component: usize,
        /// What collapsed and what to do about it, in the family's terms.
        reason: String,
    },

    /// A component received (numerically) no responsibility, so its parameters are undefined.
    #[error(
        "component {component} is empty (total responsibility {weight:e}); lower the number of components or use a different initialisation"
    )]
    EmptyComponent {
        /// Zero-based component index.
        component: usize,
        /// Its summed responsibility.
        weight: f64,
    },

    /// A hyper-parameter or user-given parameter is out of range or has the wrong shape.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as the API spells it.
        name: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// The objective became NaN or infinite during a fit.
    #[error("the objective became non-finite ({value}) at iteration {iteration}")]
    NonFiniteObjective {
        /// Iteration at which it happened (0 = at the initial parameters).
        iteration: usize,
        /// The value computed.
        value: f64,
    },

    /// Reading or writing data failed: a file that cannot be opened, parsed or written, a
    /// malformed header, or a [`ChunkSource`](crate::ChunkSource) whose data changed between
    /// passes.
    #[error("{origin}{}: {reason}", read_location(*line, *column))]
    Io {
        /// What was being read or written, as a message should name it (usually a path).
        origin: String,
        /// One-based line of a text file (or record of a binary one), when known.
        line: Option<u64>,
        /// One-based column (field) within that line, when known.
        column: Option<usize>,
        /// What is wrong.
        reason: String,
    },

    /// An analysis of a model that is not defined for it, or not at its parameters: a score
    /// under a prior whose gradient the model does not provide, standard errors at a parameter
    /// on the boundary of its space (a weight or probability of 0), an information matrix that
    /// is not positive definite (not a maximum, or parameters the data do not identify).
    #[error("{analysis} is not available: {reason}")]
    NotAvailable {
        /// What was asked for ("the score", "standard errors" …).
        analysis: &'static str,
        /// Why not, and what to do.
        reason: String,
    },

    /// The worker thread pool could not be built.
    #[error("could not build a thread pool with {threads} threads: {reason}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// The reason rayon gave.
        reason: String,
    },
}

/// `", line L, column C"` for the [`EmError::Io`] message.
fn read_location(line: Option<u64>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(", line {l}, column {c}"),
        (Some(l), None) => format!(", line {l}"),
        (None, Some(c)) => format!(", column {c}"),
        (None, None) => String::new(),
    }
}

/// Returns the first NaN/∞ in a row-major sequence of `n_cols`-wide rows as an error.
///
/// Every model validates its input with this before the first E-step, so that a bad value is
/// reported by position rather than surfacing later as a NaN objective.
pub fn check_finite<'a>(
    values: impl IntoIterator<Item = (usize, usize, &'a f64)>,
) -> Result<(), EmError> {
    for (row, column, &value) in values {
        if !value.is_finite() {
            return Err(EmError::NonFinite { row, column, value });
        }
    }
    Ok(())
}
