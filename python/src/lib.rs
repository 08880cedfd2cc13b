//! `em._core`: the Rust side of the Python package.
//!
//! Every function here is stateless: the parameters of a model come in as numpy arrays, the
//! model is rebuilt (and so validated) by the workspace crates' constructors, and what changes
//! goes back as numpy arrays. The estimators that keep the state are plain Python classes
//! (`em/*.py`), which is what scikit-learn's `clone`, `get_params` and pickling expect.
//!
//! Two rules hold at this boundary: a typed [`EmError`] becomes a Python exception
//! ([`to_py_err`]: `ValueError` for bad input, `em.FitError` for numerical failures), and no
//! panic crosses into Python ([`guarded`] turns one into `em.FitError`). The GIL is released
//! while Rust computes ([`Python::detach`]), so fits in Python threads run in parallel.

mod chmm_py;
mod convert;
mod gmm_py;
mod hmm_py;
mod mix_py;
mod zip_py;

use std::panic::{AssertUnwindSafe, catch_unwind};

use em_core::EmError;
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    _core,
    FitError,
    PyRuntimeError,
    "A fit or evaluation failed numerically (a covariance that is not positive definite, an empty or degenerate component, a non-finite objective)."
);

/// The Python exception for a library error: input and parameter errors (which name the row,
/// column, component or parameter) are `ValueError`, as scikit-learn raises them; the numerical
/// failures of a fit are `em.FitError`, so that callers can catch them apart.
pub(crate) fn to_py_err(e: EmError) -> PyErr {
    let message = e.to_string();
    match e {
        EmError::EmptyData
        | EmError::NonFinite { .. }
        | EmError::InvalidInput { .. }
        | EmError::DimensionMismatch { .. }
        | EmError::TooFewObservations { .. }
        | EmError::InvalidParameter { .. }
        | EmError::Io { .. } => PyValueError::new_err(message),
        _ => FitError::new_err(message),
    }
}

/// A `ValueError` naming the parameter, for checks made here rather than in the crates.
pub(crate) fn invalid(name: &str, reason: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("invalid parameter `{name}`: {reason}"))
}

/// Runs `f` with the GIL released and any panic caught: the crates do not panic on user input
/// by design, and should one slip through it becomes `em.FitError` rather than a
/// `PanicException` (which derives from `BaseException` and escapes `except Exception`).
pub(crate) fn guarded<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> Result<T, EmError> + Send,
    T: Send,
{
    let outcome = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match outcome {
        Ok(result) => result.map_err(to_py_err),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            Err(FitError::new_err(format!("internal error in em: {what}")))
        }
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("FitError", m.py().get_type::<FitError>())?;
    gmm_py::register(m)?;
    zip_py::register(m)?;
    hmm_py::register(m)?;
    chmm_py::register(m)?;
    mix_py::register(m)?;
    Ok(())
}
