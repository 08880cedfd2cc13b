//! Categorical HMMs (hmmlearn's `CategoricalHMM`): symbols 0..M−1, one per step.

use em_core::{EmError, StdRng};
use hmm::{Categorical, CategoricalHmm};
use nalgebra::{DMatrix, DVector};
use numpy::PyReadonlyArrayDyn;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::SeedableRng;

use crate::convert::{matrix_dyn, to_numpy1, to_numpy2, vector_dyn};
use crate::hmm_py::{baum_welch, posteriors, split_lengths, viterbi_all};
use crate::{guarded, invalid, to_py_err};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(chmm_fit, m)?)?;
    m.add_function(wrap_pyfunction!(chmm_score, m)?)?;
    m.add_function(wrap_pyfunction!(chmm_predict_proba, m)?)?;
    m.add_function(wrap_pyfunction!(chmm_viterbi, m)?)?;
    m.add_function(wrap_pyfunction!(chmm_sample, m)?)?;
    Ok(())
}

/// The symbols cut into sequences of `lengths`.
fn sequences(symbols: Vec<usize>, lengths: Option<&[usize]>) -> PyResult<Vec<Vec<usize>>> {
    Ok(split_lengths(symbols.len(), lengths)?
        .into_iter()
        .map(|(start, l)| symbols[start..start + l].to_vec())
        .collect())
}

/// A categorical HMM as the Python estimator keeps it.
#[derive(FromPyObject)]
struct ChmmArgs<'py> {
    #[pyo3(item)]
    startprob: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    transmat: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    emissionprob: PyReadonlyArrayDyn<'py, f64>,
}

impl ChmmArgs<'_> {
    fn to_model(&self) -> PyResult<CategoricalHmm> {
        let emission = Categorical::new(matrix_dyn("emissionprob", &self.emissionprob.as_array())?)
            .map_err(to_py_err)?;
        CategoricalHmm::new(
            vector_dyn("startprob", &self.startprob.as_array())?,
            matrix_dyn("transmat", &self.transmat.as_array())?,
            emission,
        )
        .map_err(to_py_err)
    }
}

/// Baum–Welch from a start whose parts named in `init_params` (`s`, `t`, `e`) are computed —
/// uniform start and transition probabilities as hmmlearn's, random emission rows — and whose
/// other parts are the given ones. The iteration semantics are hmmlearn's (see `hmm_fit`).
#[allow(clippy::too_many_arguments)] // mirrors the estimator's keyword parameters one to one
#[pyfunction]
#[pyo3(signature = (symbols, lengths, n_components, n_features, init_params, given, tol, n_iter, seed))]
fn chmm_fit<'py>(
    py: Python<'py>,
    symbols: Vec<usize>,
    lengths: Option<Vec<usize>>,
    n_components: usize,
    n_features: usize,
    init_params: &str,
    given: &Bound<'py, PyDict>,
    tol: f64,
    n_iter: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let need = |letter: char, key: &str| -> PyResult<Option<PyReadonlyArrayDyn<'py, f64>>> {
        if init_params.contains(letter) {
            return Ok(None);
        }
        let value = given
            .get_item(key)?
            .filter(|v| !v.is_none())
            .map(|v| v.extract().map_err(PyErr::from))
            .transpose()?;
        value.map(Some).ok_or_else(|| {
            invalid(
                key,
                format!("{key:?} is not in init_params, so it must be set before fit"),
            )
        })
    };
    let start_given = need('s', "startprob")?
        .map(|a| vector_dyn("startprob", &a.as_array()))
        .transpose()?;
    let trans_given = need('t', "transmat")?
        .map(|a| matrix_dyn("transmat", &a.as_array()))
        .transpose()?;
    let emission_given = need('e', "emissionprob")?
        .map(|a| matrix_dyn("emissionprob", &a.as_array()))
        .transpose()?;
    let n_steps = symbols.len();
    let seqs = sequences(symbols, lengths.as_deref())?;
    let (model, converged, iterations, lower_bound) = guarded(py, || {
        let s = n_components;
        let emission = match emission_given {
            Some(b) => b,
            None => {
                let mut rng = StdRng::seed_from_u64(seed);
                let random = CategoricalHmm::random_start(s, n_features, &mut rng)?;
                random.emission().probabilities().clone()
            }
        };
        let uniform = 1.0 / s.max(1) as f64;
        let mut model = CategoricalHmm::new(
            start_given.unwrap_or_else(|| DVector::from_element(s, uniform)),
            trans_given.unwrap_or_else(|| DMatrix::from_element(s, s, uniform)),
            Categorical::new(emission)?,
        )?;
        let (converged, iterations, lower_bound) =
            baum_welch(&mut model, &seqs, n_steps, tol, n_iter)?;
        Ok::<_, EmError>((model, converged, iterations, lower_bound))
    })?;
    let out = PyDict::new(py);
    out.set_item("startprob", to_numpy1(py, model.start().as_slice()))?;
    out.set_item("transmat", to_numpy2(py, model.transitions()))?;
    out.set_item(
        "emissionprob",
        to_numpy2(py, model.emission().probabilities()),
    )?;
    out.set_item("converged", converged)?;
    out.set_item("n_iter", iterations)?;
    out.set_item("lower_bound", lower_bound)?;
    Ok(out)
}

/// Σ log p(x) over the sequences.
#[pyfunction]
#[pyo3(signature = (params, symbols, lengths=None))]
fn chmm_score(
    py: Python<'_>,
    params: ChmmArgs<'_>,
    symbols: Vec<usize>,
    lengths: Option<Vec<usize>>,
) -> PyResult<f64> {
    let model = params.to_model()?;
    let seqs = sequences(symbols, lengths.as_deref())?;
    guarded(py, || model.log_likelihood_total(&seqs))
}

/// p(z_t = s | x) of every step.
#[pyfunction]
#[pyo3(signature = (params, symbols, lengths=None))]
fn chmm_predict_proba<'py>(
    py: Python<'py>,
    params: ChmmArgs<'py>,
    symbols: Vec<usize>,
    lengths: Option<Vec<usize>>,
) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    let model = params.to_model()?;
    let seqs = sequences(symbols, lengths.as_deref())?;
    let proba = guarded(py, || posteriors(&model, &seqs))?;
    Ok(to_numpy2(py, &proba))
}

/// The Viterbi paths and their summed log-probability.
#[pyfunction]
#[pyo3(signature = (params, symbols, lengths=None))]
fn chmm_viterbi(
    py: Python<'_>,
    params: ChmmArgs<'_>,
    symbols: Vec<usize>,
    lengths: Option<Vec<usize>>,
) -> PyResult<(f64, Vec<usize>)> {
    let model = params.to_model()?;
    let seqs = sequences(symbols, lengths.as_deref())?;
    guarded(py, || viterbi_all(&model, &seqs))
}

/// `n` symbols of one sequence and their states.
#[pyfunction]
fn chmm_sample(
    py: Python<'_>,
    params: ChmmArgs<'_>,
    n: usize,
    seed: u64,
) -> PyResult<(Vec<usize>, Vec<usize>)> {
    let model = params.to_model()?;
    guarded(py, || {
        let mut rng = StdRng::seed_from_u64(seed);
        Ok(model.sample(n, &mut rng))
    })
}
