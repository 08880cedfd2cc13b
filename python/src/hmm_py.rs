//! Gaussian HMMs: Baum–Welch fits, the forward–backward posteriors, Viterbi and sampling, on
//! sequences given hmmlearn's way (the rows of one matrix and their `lengths`).

use em_core::{Em, EmError, StdRng, Stopping};
use hmm::{CovarianceType, Covariances, Family, Gaussian, GaussianHmm, Hmm};
use nalgebra::{DMatrix, DVector};
use numpy::{PyReadonlyArray2, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::SeedableRng;

use crate::convert::{
    matrices_dyn, matrix, matrix_dyn, to_numpy1, to_numpy2, to_numpy3, vector_dyn,
};
use crate::{guarded, invalid, to_py_err};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(hmm_fit, m)?)?;
    m.add_function(wrap_pyfunction!(hmm_score, m)?)?;
    m.add_function(wrap_pyfunction!(hmm_predict_proba, m)?)?;
    m.add_function(wrap_pyfunction!(hmm_viterbi, m)?)?;
    m.add_function(wrap_pyfunction!(hmm_sample, m)?)?;
    Ok(())
}

/// The elements of `items` cut into consecutive runs of `lengths` (all of them when `lengths`
/// is `None`), checking that the lengths add up.
pub(crate) fn split_lengths(n: usize, lengths: Option<&[usize]>) -> PyResult<Vec<(usize, usize)>> {
    let Some(lengths) = lengths else {
        return Ok(vec![(0, n)]);
    };
    let total: usize = lengths.iter().sum();
    if total != n {
        return Err(invalid(
            "lengths",
            format!("the lengths sum to {total}, but X has {n} rows"),
        ));
    }
    if let Some(i) = lengths.iter().position(|&l| l == 0) {
        return Err(invalid("lengths", format!("sequence {i} has length 0")));
    }
    let mut start = 0;
    Ok(lengths
        .iter()
        .map(|&l| {
            let run = (start, l);
            start += l;
            run
        })
        .collect())
}

/// The rows of `x` cut into sequences of `lengths` rows (all of `x` when `lengths` is `None`).
fn sequences(x: &DMatrix<f64>, lengths: Option<&[usize]>) -> PyResult<Vec<DMatrix<f64>>> {
    Ok(split_lengths(x.nrows(), lengths)?
        .into_iter()
        .map(|(start, l)| x.rows(start, l).into_owned())
        .collect())
}

/// Covariances in hmmlearn's internal (`_covars_`) shape for `kind`.
fn covariances(kind: CovarianceType, a: &PyReadonlyArrayDyn<'_, f64>) -> PyResult<Covariances> {
    let view = a.as_array();
    Ok(match kind {
        CovarianceType::Full => Covariances::Full(matrices_dyn("covars", &view)?),
        CovarianceType::Tied => Covariances::Tied(matrix_dyn("covars", &view)?),
        CovarianceType::Diag => Covariances::Diag(matrix_dyn("covars", &view)?),
        CovarianceType::Spherical => Covariances::Spherical(vector_dyn("covars", &view)?),
    })
}

/// An HMM as the Python estimator keeps it: a dict with these keys.
#[derive(FromPyObject)]
struct HmmArgs<'py> {
    #[pyo3(item)]
    startprob: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    transmat: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    means: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    covars: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    covariance_type: String,
    #[pyo3(item)]
    reg_covar: f64,
}

impl HmmArgs<'_> {
    fn to_model(&self) -> PyResult<GaussianHmm> {
        let kind: CovarianceType = self.covariance_type.parse().map_err(to_py_err)?;
        let emission = Gaussian::new(
            matrix_dyn("means", &self.means.as_array())?,
            covariances(kind, &self.covars)?,
        )
        .and_then(|g| g.with_reg_covar(self.reg_covar))
        .map_err(to_py_err)?;
        GaussianHmm::new(
            vector_dyn("startprob", &self.startprob.as_array())?,
            matrix_dyn("transmat", &self.transmat.as_array())?,
            emission,
        )
        .map_err(to_py_err)
    }
}

fn model_dict<'py>(py: Python<'py>, model: &GaussianHmm) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    let g = model.emission();
    out.set_item("startprob", to_numpy1(py, model.start().as_slice()))?;
    out.set_item("transmat", to_numpy2(py, model.transitions()))?;
    out.set_item("means", to_numpy2(py, g.means()))?;
    match g.covariances() {
        Covariances::Full(ms) => out.set_item("covars", to_numpy3(py, ms, g.n_features()))?,
        Covariances::Tied(m) | Covariances::Diag(m) => out.set_item("covars", to_numpy2(py, m))?,
        Covariances::Spherical(v) => out.set_item("covars", to_numpy1(py, v.as_slice()))?,
    }
    Ok(out)
}

/// Baum–Welch from a start whose parts named in `init_params` (hmmlearn's letters: `s`tart
/// probabilities, `t`ransitions, `m`eans, `c`ovariances) are computed — uniform start and
/// transition probabilities as hmmlearn's, means and covariances by k-means — and whose other
/// parts are the given ones (`given`, a dict as [`HmmArgs`] with any of the keys missing).
///
/// The loop follows hmmlearn's iteration semantics (as scikit-learn's, see `gmm_fit`): `tol`
/// bounds the change of the *total* log-likelihood, and when it holds the parameters have had
/// one M-step more than the tested E-step, which is added here; `lower_bound` is the total
/// log-likelihood of the parameters before the last M-step (hmmlearn's `monitor_.history[-1]`).
#[allow(clippy::too_many_arguments)] // mirrors the estimator's keyword parameters one to one
#[pyfunction]
#[pyo3(signature = (x, lengths, n_components, covariance_type, init_params, given, reg_covar, tol, n_iter, seed))]
fn hmm_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    lengths: Option<Vec<usize>>,
    n_components: usize,
    covariance_type: &str,
    init_params: &str,
    given: &Bound<'py, PyDict>,
    reg_covar: f64,
    tol: f64,
    n_iter: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let kind: CovarianceType = covariance_type.parse().map_err(to_py_err)?;
    let item = |key: &str| -> PyResult<Option<PyReadonlyArrayDyn<'py, f64>>> {
        given
            .get_item(key)?
            .filter(|v| !v.is_none())
            .map(|v| v.extract().map_err(PyErr::from))
            .transpose()
    };
    let need = |letter: char, key: &str| -> PyResult<Option<PyReadonlyArrayDyn<'py, f64>>> {
        if init_params.contains(letter) {
            return Ok(None);
        }
        item(key)?.map(Some).ok_or_else(|| {
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
    let means_given = need('m', "means")?
        .map(|a| matrix_dyn("means", &a.as_array()))
        .transpose()?;
    let covs_given = need('c', "covars")?
        .map(|a| covariances(kind, &a))
        .transpose()?;
    let view = x.as_array();
    let (model, converged, iterations, lower_bound) = guarded(py, || {
        let x = matrix(view);
        let seqs = sequences(&x, lengths.as_deref()).map_err(|e| EmError::InvalidParameter {
            name: "lengths",
            reason: e.to_string(),
        })?;
        let s = n_components;
        let (means, covs) = match (means_given, covs_given) {
            (Some(m), Some(c)) => (m, c),
            (m, c) => {
                let mut rng = StdRng::seed_from_u64(seed);
                let km = GaussianHmm::kmeans_start(s, kind, &seqs, &mut rng)?;
                let g = km.emission();
                (
                    m.unwrap_or_else(|| g.means().clone()),
                    c.unwrap_or_else(|| g.covariances().clone()),
                )
            }
        };
        let uniform = 1.0 / s.max(1) as f64;
        let mut model = GaussianHmm::new(
            start_given.unwrap_or_else(|| DVector::from_element(s, uniform)),
            trans_given.unwrap_or_else(|| DMatrix::from_element(s, s, uniform)),
            Gaussian::new(means, covs)?.with_reg_covar(reg_covar)?,
        )?;
        let (converged, iterations, lower_bound) =
            baum_welch(&mut model, &seqs, x.nrows(), tol, n_iter)?;
        Ok((model, converged, iterations, lower_bound))
    })?;
    let out = model_dict(py, &model)?;
    out.set_item("converged", converged)?;
    out.set_item("n_iter", iterations)?;
    out.set_item("lower_bound", lower_bound)?;
    Ok(out)
}

/// Baum–Welch with hmmlearn's iteration semantics (see [`hmm_fit`]): returns whether the rule
/// held, the iterations (M-steps) and the total log-likelihood of the parameters before the
/// last M-step.
pub(crate) fn baum_welch<F: Family>(
    model: &mut Hmm<F>,
    seqs: &[F::Owned],
    n_steps: usize,
    tol: f64,
    n_iter: usize,
) -> Result<(bool, usize, f64), EmError> {
    // em-core's objective-change rule is per observation; hmmlearn's `tol` is on the total.
    let report = Em::new()
        .stopping(Stopping::ObjectiveChange {
            tol: tol / n_steps.max(1) as f64,
        })
        .max_iter(n_iter)
        .fit(model, seqs)?;
    let t = report.iterations;
    if report.converged && t < n_iter {
        let last = report.trace.last().copied().unwrap_or(f64::NAN);
        Em::new()
            .stopping(Stopping::ObjectiveChange { tol: 0.0 })
            .max_iter(1)
            .fit(model, seqs)?;
        return Ok((true, t + 1, last));
    }
    let before = report.trace.get(t.saturating_sub(1)).copied();
    Ok((false, t, before.unwrap_or(f64::NAN)))
}

/// p(z_t = s | x) of every step of every sequence, one sequence after another.
pub(crate) fn posteriors<F: Family>(
    model: &Hmm<F>,
    seqs: &[F::Owned],
) -> Result<DMatrix<f64>, EmError> {
    let s = model.n_states();
    let mut rows: Vec<f64> = Vec::new();
    for (i, seq) in seqs.iter().enumerate() {
        let p = model.predict_proba(seq).map_err(|e| name_sequence(i, e))?;
        rows.extend(p.transpose().iter().copied());
    }
    Ok(DMatrix::from_row_slice(rows.len() / s.max(1), s, &rows))
}

/// The Viterbi paths of the sequences, one after another, and their summed log-probability.
pub(crate) fn viterbi_all<F: Family>(
    model: &Hmm<F>,
    seqs: &[F::Owned],
) -> Result<(f64, Vec<usize>), EmError> {
    let mut total = 0.0;
    let mut states = Vec::new();
    for (i, seq) in seqs.iter().enumerate() {
        let (path, logp) = model.viterbi(seq).map_err(|e| name_sequence(i, e))?;
        total += logp;
        states.extend(path);
    }
    Ok((total, states))
}

/// Σ log p(x) over the sequences (the forward algorithm).
#[pyfunction]
#[pyo3(signature = (params, x, lengths=None))]
fn hmm_score<'py>(
    py: Python<'py>,
    params: HmmArgs<'py>,
    x: PyReadonlyArray2<'py, f64>,
    lengths: Option<Vec<usize>>,
) -> PyResult<f64> {
    let model = params.to_model()?;
    let seqs = sequences(&matrix(x.as_array()), lengths.as_deref())?;
    guarded(py, || model.log_likelihood_total(&seqs))
}

/// p(z_t = s | x) of every step, the sequences' rows one after another.
#[pyfunction]
#[pyo3(signature = (params, x, lengths=None))]
fn hmm_predict_proba<'py>(
    py: Python<'py>,
    params: HmmArgs<'py>,
    x: PyReadonlyArray2<'py, f64>,
    lengths: Option<Vec<usize>>,
) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    let model = params.to_model()?;
    let seqs = sequences(&matrix(x.as_array()), lengths.as_deref())?;
    let proba = guarded(py, || posteriors(&model, &seqs))?;
    Ok(to_numpy2(py, &proba))
}

/// The most likely state path (Viterbi) and its total log-probability.
#[pyfunction]
#[pyo3(signature = (params, x, lengths=None))]
fn hmm_viterbi<'py>(
    py: Python<'py>,
    params: HmmArgs<'py>,
    x: PyReadonlyArray2<'py, f64>,
    lengths: Option<Vec<usize>>,
) -> PyResult<(f64, Vec<usize>)> {
    let model = params.to_model()?;
    let seqs = sequences(&matrix(x.as_array()), lengths.as_deref())?;
    guarded(py, || viterbi_all(&model, &seqs))
}

/// `n` steps of one sequence and their states.
#[pyfunction]
fn hmm_sample<'py>(
    py: Python<'py>,
    params: HmmArgs<'py>,
    n: usize,
    seed: u64,
) -> PyResult<(Bound<'py, numpy::PyArray2<f64>>, Vec<usize>)> {
    let model = params.to_model()?;
    let (x, states) = guarded(py, || {
        let mut rng = StdRng::seed_from_u64(seed);
        Ok(model.sample(n, &mut rng))
    })?;
    Ok((to_numpy2(py, &x), states))
}

/// The per-sequence functions name the sequence as sequence 0: name the real one.
pub(crate) fn name_sequence(i: usize, e: EmError) -> EmError {
    match e {
        EmError::InvalidInput {
            row,
            column,
            reason,
            ..
        } => EmError::InvalidInput {
            row,
            column,
            reason: format!("sequence {i}: {reason}"),
        },
        other => other,
    }
}
