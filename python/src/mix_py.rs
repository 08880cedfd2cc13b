//! Mixtures of the pluggable families (the `mixture` crate): Poisson, exponential and 1-D
//! Gaussian components on scalars, Bernoulli components on the rows of a 0/1 matrix.
//!
//! One set of functions serves every family: the family is named by a string, its K
//! components travel as a K×P matrix of parameters (one row per component: λ; the rate; mean
//! and variance; the D probabilities), and the data as a float64 matrix (n×1 for the scalar
//! families) that the family converts and checks, naming the offending row.

use em_core::{Em, EmError, StdRng, Stopping};
use mixture::families::{Bernoulli, Exponential, Gaussian, Poisson};
use mixture::zip::counts_from_f64;
use mixture::{BinaryMatrix, Component, Mixture, OwnedData, Start, Strategy};
use numpy::ndarray::ArrayView2;
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::SeedableRng;

use crate::convert::{to_numpy1, to_numpy2};
use crate::{guarded, invalid};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mix_fit, m)?)?;
    m.add_function(wrap_pyfunction!(mix_score_samples, m)?)?;
    m.add_function(wrap_pyfunction!(mix_predict_proba, m)?)?;
    m.add_function(wrap_pyfunction!(mix_criteria, m)?)?;
    m.add_function(wrap_pyfunction!(mix_sample, m)?)?;
    Ok(())
}

/// What the Python side needs of a family: its data from a float64 matrix, its components
/// from and to rows of parameters, and its draws back as floats.
trait PyFamily: Component + Clone + Default + Send + Sync + 'static {
    /// The data of a fit or evaluation: `values` row-major, `n` × `d`.
    fn data(values: &[f64], n: usize, d: usize) -> Result<OwnedData<Self>, EmError>;
    fn from_row(row: &[f64]) -> Result<Self, EmError>;
    fn to_row(&self) -> Vec<f64>;
    /// Draws as a row-major matrix and its width.
    fn draws(owned: &OwnedData<Self>) -> (Vec<f64>, usize);
}

fn scalar_data(values: &[f64], d: usize) -> Result<Vec<f64>, EmError> {
    if d != 1 {
        return Err(EmError::InvalidParameter {
            name: "X",
            reason: format!("this family takes one column of values, got {d}"),
        });
    }
    Ok(values.to_vec())
}

fn one(row: &[f64], what: &'static str) -> Result<f64, EmError> {
    match row {
        [v] => Ok(*v),
        _ => Err(EmError::InvalidParameter {
            name: what,
            reason: format!("expected one parameter per component, got {}", row.len()),
        }),
    }
}

impl PyFamily for Poisson {
    fn data(values: &[f64], _n: usize, d: usize) -> Result<Vec<u64>, EmError> {
        counts_from_f64(&scalar_data(values, d)?)
    }
    fn from_row(row: &[f64]) -> Result<Self, EmError> {
        Poisson::new(one(row, "rates")?)
    }
    fn to_row(&self) -> Vec<f64> {
        vec![self.lambda()]
    }
    fn draws(owned: &Vec<u64>) -> (Vec<f64>, usize) {
        (owned.iter().map(|&y| y as f64).collect(), 1)
    }
}

impl PyFamily for Exponential {
    fn data(values: &[f64], _n: usize, d: usize) -> Result<Vec<f64>, EmError> {
        scalar_data(values, d)
    }
    fn from_row(row: &[f64]) -> Result<Self, EmError> {
        Exponential::new(one(row, "rates")?)
    }
    fn to_row(&self) -> Vec<f64> {
        vec![self.rate()]
    }
    fn draws(owned: &Vec<f64>) -> (Vec<f64>, usize) {
        (owned.clone(), 1)
    }
}

impl PyFamily for Gaussian {
    fn data(values: &[f64], _n: usize, d: usize) -> Result<Vec<f64>, EmError> {
        scalar_data(values, d)
    }
    fn from_row(row: &[f64]) -> Result<Self, EmError> {
        match row {
            [mean, variance] => Gaussian::new(*mean, *variance),
            _ => Err(EmError::InvalidParameter {
                name: "means",
                reason: format!(
                    "expected a mean and a variance per component, got {} values",
                    row.len()
                ),
            }),
        }
    }
    fn to_row(&self) -> Vec<f64> {
        vec![self.mean(), self.variance()]
    }
    fn draws(owned: &Vec<f64>) -> (Vec<f64>, usize) {
        (owned.clone(), 1)
    }
}

impl PyFamily for Bernoulli {
    fn data(values: &[f64], n: usize, d: usize) -> Result<BinaryMatrix, EmError> {
        BinaryMatrix::from_f64(n, d, values)
    }
    fn from_row(row: &[f64]) -> Result<Self, EmError> {
        Bernoulli::new(row.to_vec())
    }
    fn to_row(&self) -> Vec<f64> {
        self.p().to_vec()
    }
    fn draws(owned: &BinaryMatrix) -> (Vec<f64>, usize) {
        let values = owned
            .as_slice()
            .iter()
            .map(|&b| if b { 1.0 } else { 0.0 })
            .collect();
        (values, owned.n_cols())
    }
}

/// The rows of a matrix, row-major, and its shape.
fn row_major(view: ArrayView2<'_, f64>) -> (Vec<f64>, usize, usize) {
    let (n, d) = view.dim();
    (view.iter().copied().collect(), n, d)
}

fn model<F: PyFamily>(
    weights: &[f64],
    params: ArrayView2<'_, f64>,
) -> Result<Mixture<Vec<F>>, EmError> {
    let components = params
        .outer_iter()
        .map(|row| F::from_row(&row.iter().copied().collect::<Vec<_>>()))
        .collect::<Result<Vec<_>, _>>()?;
    Mixture::new(weights.to_vec(), components)
}

fn params_matrix<F: PyFamily>(m: &Mixture<Vec<F>>) -> nalgebra::DMatrix<f64> {
    let rows: Vec<Vec<f64>> = m.components().iter().map(F::to_row).collect();
    let p = rows.first().map_or(0, Vec::len);
    nalgebra::DMatrix::from_fn(rows.len(), p, |i, j| rows[i][j])
}

/// What a fit returns: weights, parameter rows, converged, iterations, mean objective.
type FitOutcome = (Vec<f64>, nalgebra::DMatrix<f64>, bool, usize, f64);

fn fit<F: PyFamily>(
    values: &[f64],
    n: usize,
    d: usize,
    k: usize,
    init: Strategy,
    em: Em,
) -> Result<FitOutcome, EmError> {
    let data = F::data(values, n, d)?;
    let start = Start::new(F::default(), k).strategy(init);
    let fit = Mixture::fit(std::borrow::Borrow::borrow(&data), &start, &em)?;
    Ok((
        fit.model.weights().to_vec(),
        params_matrix(&fit.model),
        fit.report.converged,
        fit.report.iterations,
        fit.report.mean_objective(),
    ))
}

/// Calls `$body` with `$F` bound to the family named `$family`.
macro_rules! dispatch {
    ($family:expr, $F:ident => $body:expr) => {
        match $family {
            "poisson" => {
                type $F = Poisson;
                $body
            }
            "exponential" => {
                type $F = Exponential;
                $body
            }
            "gaussian" => {
                type $F = Gaussian;
                $body
            }
            "bernoulli" => {
                type $F = Bernoulli;
                $body
            }
            other => Err(invalid(
                "family",
                format!(
                    "unknown family {other:?}; expected poisson, exponential, gaussian or bernoulli"
                ),
            )),
        }
    };
}

/// Fits a K-component mixture of `family` to `x` (n×1 for the scalar families, n×D of 0/1
/// for Bernoulli) by EM with `n_init` restarts; returns `weights`, `params` (K×P),
/// `converged`, `n_iter`, `lower_bound` (the mean log-likelihood of the best restart).
#[allow(clippy::too_many_arguments)] // mirrors the estimator's keyword parameters one to one
#[pyfunction]
fn mix_fit<'py>(
    py: Python<'py>,
    family: &str,
    x: PyReadonlyArray2<'py, f64>,
    n_components: usize,
    init_params: &str,
    stopping: &str,
    tol: f64,
    max_iter: usize,
    n_init: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let rule = match stopping {
        "objective-change" => Stopping::ObjectiveChange { tol },
        "aitken" => Stopping::Aitken { tol },
        "parameters" => Stopping::Parameters { tol },
        other => return Err(invalid("stopping", format!("unknown rule {other:?}"))),
    };
    let init = match init_params {
        "partition" => Strategy::Partition,
        "random" => Strategy::RandomResponsibilities,
        other => {
            return Err(invalid(
                "init_params",
                format!("expected partition or random, got {other:?}"),
            ));
        }
    };
    let (values, n, d) = row_major(x.as_array());
    let outcome = dispatch!(family, F => guarded(py, || {
        let em = Em::new().stopping(rule).max_iter(max_iter).n_init(n_init).seed(seed);
        fit::<F>(&values, n, d, n_components, init, em)
    }))?;
    let (weights, params, converged, n_iter, lower_bound) = outcome;
    let out = PyDict::new(py);
    out.set_item("weights", to_numpy1(py, &weights))?;
    out.set_item("params", to_numpy2(py, &params))?;
    out.set_item("converged", converged)?;
    out.set_item("n_iter", n_iter)?;
    out.set_item("lower_bound", lower_bound)?;
    Ok(out)
}

/// log p(x_i) of every row.
#[pyfunction]
fn mix_score_samples<'py>(
    py: Python<'py>,
    family: &str,
    weights: PyReadonlyArray1<'py, f64>,
    params: PyReadonlyArray2<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArray1<f64>>> {
    let w: Vec<f64> = weights.as_array().to_vec();
    let p = params.as_array();
    let (values, n, d) = row_major(x.as_array());
    let scores = dispatch!(family, F => {
        let m = model::<F>(&w, p).map_err(crate::to_py_err)?;
        guarded(py, || m.score_samples(std::borrow::Borrow::borrow(&F::data(&values, n, d)?)))
    })?;
    Ok(to_numpy1(py, &scores))
}

/// p(k | x_i).
#[pyfunction]
fn mix_predict_proba<'py>(
    py: Python<'py>,
    family: &str,
    weights: PyReadonlyArray1<'py, f64>,
    params: PyReadonlyArray2<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    let w: Vec<f64> = weights.as_array().to_vec();
    let p = params.as_array();
    let (values, n, d) = row_major(x.as_array());
    let proba = dispatch!(family, F => {
        let m = model::<F>(&w, p).map_err(crate::to_py_err)?;
        guarded(py, || m.predict_proba(std::borrow::Borrow::borrow(&F::data(&values, n, d)?)))
    })?;
    Ok(to_numpy2(py, &proba))
}

/// `(bic, aic)`.
#[pyfunction]
fn mix_criteria<'py>(
    py: Python<'py>,
    family: &str,
    weights: PyReadonlyArray1<'py, f64>,
    params: PyReadonlyArray2<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<(f64, f64)> {
    let w: Vec<f64> = weights.as_array().to_vec();
    let p = params.as_array();
    let (values, n, d) = row_major(x.as_array());
    dispatch!(family, F => {
        let m = model::<F>(&w, p).map_err(crate::to_py_err)?;
        guarded(py, || {
            let data = F::data(&values, n, d)?;
            let data = std::borrow::Borrow::borrow(&data);
            Ok((m.bic(data)?, m.aic(data)?))
        })
    })
}

/// `n` draws (a row-major matrix) and their components.
#[pyfunction]
fn mix_sample<'py>(
    py: Python<'py>,
    family: &str,
    weights: PyReadonlyArray1<'py, f64>,
    params: PyReadonlyArray2<'py, f64>,
    n: usize,
    seed: u64,
) -> PyResult<(Bound<'py, numpy::PyArray2<f64>>, Vec<usize>)> {
    let w: Vec<f64> = weights.as_array().to_vec();
    let p = params.as_array();
    let ((values, width), labels) = dispatch!(family, F => {
        let m = model::<F>(&w, p).map_err(crate::to_py_err)?;
        guarded(py, || {
            let mut rng = StdRng::seed_from_u64(seed);
            let (draws, labels) = m.sample(n, &mut rng);
            Ok((F::draws(&draws), labels))
        })
    })?;
    let matrix = nalgebra::DMatrix::from_row_slice(labels.len(), width, &values);
    Ok((to_numpy2(py, &matrix), labels))
}
