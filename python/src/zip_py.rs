//! The zero-inflated Poisson: fit and evaluate, on counts given as float64 (each checked to be
//! a whole number in range, the offending row named).

use em_core::{Em, Stopping};
use mixture::ZeroInflatedPoisson;
use mixture::zip::counts_from_f64;
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::SeedableRng;

use crate::convert::to_numpy1;
use crate::{guarded, invalid, to_py_err};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(zip_fit, m)?)?;
    m.add_function(wrap_pyfunction!(zip_score_samples, m)?)?;
    m.add_function(wrap_pyfunction!(zip_structural_zero_proba, m)?)?;
    m.add_function(wrap_pyfunction!(zip_sample, m)?)?;
    Ok(())
}

fn counts(y: &PyReadonlyArray1<'_, f64>) -> Vec<f64> {
    y.as_array().iter().copied().collect()
}

/// Fits π and λ by EM from the moment start; returns `pi`, `lambda`, `converged`, `n_iter`,
/// `lower_bound` (the mean log-likelihood at the returned parameters).
#[pyfunction]
fn zip_fit<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, f64>,
    stopping: &str,
    tol: f64,
    max_iter: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let rule = match stopping {
        "objective-change" | "sklearn" => Stopping::ObjectiveChange { tol },
        "aitken" => Stopping::Aitken { tol },
        "parameters" => Stopping::Parameters { tol },
        other => return Err(invalid("stopping", format!("unknown rule {other:?}"))),
    };
    let values = counts(&y);
    let fit = guarded(py, || {
        let em = Em::new().stopping(rule).max_iter(max_iter);
        let data = counts_from_f64(&values)?;
        ZeroInflatedPoisson::fit(&data, &em)
    })?;
    let out = PyDict::new(py);
    out.set_item("pi", fit.model.pi())?;
    out.set_item("lambda", fit.model.lambda())?;
    out.set_item("converged", fit.report.converged)?;
    out.set_item("n_iter", fit.report.iterations)?;
    out.set_item("lower_bound", fit.report.mean_objective())?;
    Ok(out)
}

fn model(pi: f64, lambda: f64) -> PyResult<ZeroInflatedPoisson> {
    ZeroInflatedPoisson::new(pi, lambda).map_err(to_py_err)
}

/// log p(y_i) of every count.
#[pyfunction]
fn zip_score_samples<'py>(
    py: Python<'py>,
    pi: f64,
    lambda: f64,
    y: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArray1<f64>>> {
    let m = model(pi, lambda)?;
    let values = counts(&y);
    let scores = guarded(py, || m.score_samples(&counts_from_f64(&values)?))?;
    Ok(to_numpy1(py, &scores))
}

/// p(structural zero | y_i): 0 for a positive count.
#[pyfunction]
fn zip_structural_zero_proba<'py>(
    py: Python<'py>,
    pi: f64,
    lambda: f64,
    y: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArray1<f64>>> {
    let m = model(pi, lambda)?;
    let values = counts(&y);
    let p = guarded(py, || {
        m.structural_zero_probabilities(&counts_from_f64(&values)?)
    })?;
    Ok(to_numpy1(py, &p))
}

/// `n` counts and whether each is a structural zero.
#[pyfunction]
fn zip_sample(
    py: Python<'_>,
    pi: f64,
    lambda: f64,
    n: usize,
    seed: u64,
) -> PyResult<(Vec<u64>, Vec<bool>)> {
    let m = model(pi, lambda)?;
    guarded(py, || {
        let mut rng = em_core::StdRng::seed_from_u64(seed);
        Ok(m.sample(n, &mut rng))
    })
}
