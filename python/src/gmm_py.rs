//! Gaussian mixtures: fit, evaluate, and the E-step statistics that merge across processes.

use em_core::{Acceleration, EmError, LatentModel, Silent, Statistics, Stopping};
use gmm::{
    CovarianceType, Covariances, GaussianMixture, GaussianStats, Init, MissingValues, Prior,
    SampleWeighted, Scatter,
};
use nalgebra::{DMatrix, DVector};
use numpy::ndarray::ArrayView2;
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::convert::{
    matrices_dyn, matrix, matrix_dyn, to_numpy1, to_numpy2, to_numpy3, vector_dyn,
};
use crate::{FitError, guarded, invalid, to_py_err};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gmm_fit, m)?)?;
    m.add_function(wrap_pyfunction!(gmm_score_samples, m)?)?;
    m.add_function(wrap_pyfunction!(gmm_predict_proba, m)?)?;
    m.add_function(wrap_pyfunction!(gmm_sample, m)?)?;
    m.add_function(wrap_pyfunction!(gmm_criteria, m)?)?;
    m.add_function(wrap_pyfunction!(gmm_impute, m)?)?;
    m.add_function(wrap_pyfunction!(gmm_e_step, m)?)?;
    m.add_function(wrap_pyfunction!(gmm_m_step, m)?)?;
    m.add_function(wrap_pyfunction!(gmm_online_update, m)?)?;
    m.add_function(wrap_pyfunction!(gmm_log_prior, m)?)?;
    m.add_class::<GmmStats>()?;
    Ok(())
}

/// The conjugate prior as the Python side passes it: a dict with these keys.
#[derive(FromPyObject)]
struct PriorArgs<'py> {
    #[pyo3(item)]
    weight_concentration: f64,
    #[pyo3(item)]
    mean: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    mean_precision: f64,
    #[pyo3(item)]
    dof: f64,
    #[pyo3(item)]
    scale: PyReadonlyArrayDyn<'py, f64>,
}

impl PriorArgs<'_> {
    fn to_prior(&self) -> PyResult<Prior> {
        Ok(Prior {
            weight_concentration: self.weight_concentration,
            mean: vector_dyn("prior['mean']", &self.mean.as_array())?,
            mean_precision: self.mean_precision,
            dof: self.dof,
            scale: matrix_dyn("prior['scale']", &self.scale.as_array())?,
        })
    }
}

/// A fitted (or given) mixture as the Python estimator keeps it: a dict with these keys, the
/// covariances in scikit-learn's shape for their type.
#[derive(FromPyObject)]
struct ModelArgs<'py> {
    #[pyo3(item)]
    weights: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    means: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    covariances: PyReadonlyArrayDyn<'py, f64>,
    #[pyo3(item)]
    covariance_type: String,
    #[pyo3(item)]
    reg_covar: f64,
    #[pyo3(item)]
    missing_values: String,
    #[pyo3(item)]
    prior: Option<PriorArgs<'py>>,
}

fn covariance_type(s: &str) -> PyResult<CovarianceType> {
    s.parse().map_err(to_py_err)
}

fn missing_values(s: &str) -> PyResult<MissingValues> {
    match s {
        "error" => Ok(MissingValues::Error),
        "model" => Ok(MissingValues::Model),
        other => Err(invalid(
            "missing_values",
            format!("expected \"error\" or \"model\", got {other:?}"),
        )),
    }
}

/// Covariances (or precisions) in scikit-learn's shape for `kind`.
fn covariances(kind: CovarianceType, a: &PyReadonlyArrayDyn<'_, f64>) -> PyResult<Covariances> {
    let view = a.as_array();
    Ok(match kind {
        CovarianceType::Full => Covariances::Full(matrices_dyn("covariances", &view)?),
        CovarianceType::Tied => Covariances::Tied(matrix_dyn("covariances", &view)?),
        CovarianceType::Diag => Covariances::Diag(matrix_dyn("covariances", &view)?),
        CovarianceType::Spherical => Covariances::Spherical(vector_dyn("covariances", &view)?),
    })
}

impl ModelArgs<'_> {
    fn to_model(&self) -> PyResult<GaussianMixture> {
        let kind = covariance_type(&self.covariance_type)?;
        let prior = self.prior.as_ref().map(PriorArgs::to_prior).transpose()?;
        let missing = missing_values(&self.missing_values)?;
        let model = GaussianMixture::new(
            vector_dyn("weights", &self.weights.as_array())?,
            matrix_dyn("means", &self.means.as_array())?,
            covariances(kind, &self.covariances)?,
        )
        .and_then(|m| m.with_reg_covar(self.reg_covar))
        .and_then(|m| m.with_prior(prior))
        .map_err(to_py_err)?;
        Ok(model.with_missing_values(missing))
    }
}

/// The fitted parameters as a dict (covariances in scikit-learn's shape for their type, and
/// their `precisions_cholesky`).
fn model_dict<'py>(py: Python<'py>, model: &GaussianMixture) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("weights", to_numpy1(py, model.weights().as_slice()))?;
    out.set_item("means", to_numpy2(py, model.means()))?;
    let d = model.n_features();
    // precisions_cholesky_ from the model's cached factors, so that a fit makes no BLAS call
    // from Python: OpenBLAS's threads, once woken, spin for a while and take the cores the
    // next fit's threads need (`docs/python.md`, "Threads").
    let factor = |k: usize| {
        model.precision_cholesky(k).ok_or_else(|| {
            FitError::new_err(format!(
                "the covariance of component {k} cannot be inverted"
            ))
        })
    };
    match model.covariances() {
        Covariances::Full(ms) => {
            out.set_item("covariances", to_numpy3(py, ms, d))?;
            let us = (0..ms.len()).map(factor).collect::<PyResult<Vec<_>>>()?;
            out.set_item("precisions_cholesky", to_numpy3(py, &us, d))?;
        }
        Covariances::Tied(m) => {
            out.set_item("covariances", to_numpy2(py, m))?;
            out.set_item("precisions_cholesky", to_numpy2(py, &factor(0)?))?;
        }
        Covariances::Diag(m) => {
            out.set_item("covariances", to_numpy2(py, m))?;
            out.set_item(
                "precisions_cholesky",
                to_numpy2(py, &m.map(|v| 1.0 / v.sqrt())),
            )?;
        }
        Covariances::Spherical(v) => {
            out.set_item("covariances", to_numpy1(py, v.as_slice()))?;
            let u: Vec<f64> = v.iter().map(|v| 1.0 / v.sqrt()).collect();
            out.set_item("precisions_cholesky", to_numpy1(py, &u))?;
        }
    }
    out.set_item("covariance_type", model.covariance_type().as_str())?;
    out.set_item("reg_covar", model.reg_covar())?;
    match model.prior() {
        Some(p) => {
            let prior = PyDict::new(py);
            prior.set_item("weight_concentration", p.weight_concentration)?;
            prior.set_item("mean", to_numpy1(py, p.mean.as_slice()))?;
            prior.set_item("mean_precision", p.mean_precision)?;
            prior.set_item("dof", p.dof)?;
            prior.set_item("scale", to_numpy2(py, &p.scale))?;
            out.set_item("prior", prior)?;
        }
        None => out.set_item("prior", py.None())?,
    }
    Ok(out)
}

fn init_method(name: &str) -> PyResult<Init> {
    Ok(match name {
        "kmeans" => Init::KMeans,
        "k-means++" => Init::KMeansPlusPlus,
        "random" => Init::RandomResponsibilities,
        "random_from_data" => Init::RandomFromData,
        "auto" => Init::Auto,
        "hierarchical" => Init::Hierarchical,
        other => {
            return Err(invalid(
                "init_params",
                format!(
                    "unknown method {other:?}; expected kmeans, k-means++, random, random_from_data, auto or hierarchical"
                ),
            ));
        }
    })
}

/// The stopping rule by name. `sklearn` is the objective-change rule with scikit-learn's
/// iteration semantics (see [`gmm_fit`]).
fn stopping_rule(name: &str, tol: f64) -> PyResult<Stopping> {
    Ok(match name {
        "sklearn" | "objective-change" => Stopping::ObjectiveChange { tol },
        "aitken" => Stopping::Aitken { tol },
        "parameters" => Stopping::Parameters { tol },
        other => {
            return Err(invalid(
                "stopping",
                format!(
                    "unknown rule {other:?}; expected sklearn, objective-change, aitken or parameters"
                ),
            ));
        }
    })
}

fn check_weights(w: &[f64], n: usize) -> Result<(), EmError> {
    if w.len() != n {
        return Err(EmError::InvalidParameter {
            name: "sample_weight",
            reason: format!("expected {n} weights (one per row), got {}", w.len()),
        });
    }
    if let Some((row, v)) = w
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(EmError::InvalidParameter {
            name: "sample_weight",
            reason: format!("weight {v} of row {row} is not a finite non-negative number"),
        });
    }
    Ok(())
}

/// Fits a Gaussian mixture. Returns the parameters (see [`model_dict`]) and `converged`,
/// `n_iter`, `lower_bound`, `objective`, `trace`, `e_steps`, `best_restart`.
///
/// With `stopping = "sklearn"` the loop follows scikit-learn's: its iteration n computes the
/// E-step of the parameters after n − 1 M-steps, then the n-th M-step, then tests the change of
/// the mean log-likelihood; so when the rule holds the parameters have had one M-step more than
/// the E-step that was tested, and `lower_bound_` is the mean log-likelihood of the parameters
/// *before* the last M-step. The em-core driver stops right after the test, so here that one
/// M-step is added and the figures are reported scikit-learn's way: the same parameters,
/// `n_iter_` and `lower_bound_` as scikit-learn from the same start.
#[allow(clippy::too_many_arguments)] // mirrors the estimator's keyword parameters one to one
#[pyfunction]
#[pyo3(signature = (x, sample_weight, n_components, covariance_type, reg_covar, init_params, start, start_precisions, prior, default_prior, missing_values_, stopping, tol, max_iter, n_init, seed, threads, accelerate))]
fn gmm_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
    n_components: usize,
    covariance_type: &str,
    reg_covar: f64,
    init_params: &str,
    start: Option<ModelArgs<'py>>,
    start_precisions: bool,
    prior: Option<PriorArgs<'py>>,
    default_prior: bool,
    missing_values_: &str,
    stopping: &str,
    tol: f64,
    max_iter: usize,
    n_init: usize,
    seed: u64,
    threads: Option<usize>,
    accelerate: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let kind = self::covariance_type(covariance_type)?;
    let rule = stopping_rule(stopping, tol)?;
    let mut options = GaussianMixture::builder(n_components)
        .covariance_type(kind)
        .reg_covar(reg_covar)
        .missing_values(missing_values(missing_values_)?)
        .stopping(rule)
        .max_iter(max_iter)
        .n_init(n_init)
        .seed(seed)
        .accelerate(if accelerate {
            Acceleration::Squarem
        } else {
            Acceleration::None
        });
    options = match &start {
        Some(s) => {
            let weights = vector_dyn("weights_init", &s.weights.as_array())?;
            let means = matrix_dyn("means_init", &s.means.as_array())?;
            let given = covariances(kind, &s.covariances)?;
            let model = if start_precisions {
                GaussianMixture::from_precisions(weights, means, given)
            } else {
                GaussianMixture::new(weights, means, given)
            }
            .map_err(to_py_err)?;
            options.init(Init::Given(Box::new(model)))
        }
        None => options.init(init_method(init_params)?),
    };
    if let Some(p) = &prior {
        options = options.prior(p.to_prior()?);
    } else if default_prior {
        options = options.default_prior();
    }
    if let Some(t) = threads {
        options = options.threads(t);
    }
    let view = x.as_array();
    let weights = sample_weight.as_ref().map(|w| w.as_array());
    let sklearn_loop = stopping == "sklearn" && !accelerate;
    let outcome = guarded(py, move || {
        let x = matrix(view);
        let w: Option<Vec<f64>> = weights.map(|w| w.iter().copied().collect());
        if let Some(w) = &w {
            check_weights(w, x.nrows())?;
        }
        let fit = options.fit_observed(&x, w.as_deref(), &mut Silent)?;
        let report = fit.report;
        let t = report.iterations;
        let n = report.n_obs.max(1) as f64;
        if !sklearn_loop {
            return Ok((
                fit.model,
                report.converged,
                t,
                report.mean_objective(),
                report.trace,
                report.e_steps,
                fit.best_restart,
            ));
        }
        // scikit-learn's semantics (see above).
        let lower_bound = report
            .trace
            .get(t.saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
            / n;
        if report.converged && t < max_iter {
            let one_more = options
                .clone()
                .warm_start(fit.model)
                .n_init(1)
                .max_iter(1)
                .stopping(Stopping::ObjectiveChange { tol: 0.0 })
                .fit_observed(&x, w.as_deref(), &mut Silent)?;
            // The objective of the parameters before the added M-step.
            let before = report.trace.last().copied().unwrap_or(f64::NAN) / n;
            let mut trace = report.trace;
            trace.extend(one_more.report.trace.last().copied());
            return Ok((
                one_more.model,
                true,
                t + 1,
                before,
                trace,
                report.e_steps + one_more.report.e_steps,
                fit.best_restart,
            ));
        }
        // Not converged by scikit-learn's test, which runs one iteration behind.
        Ok((
            fit.model,
            false,
            t,
            lower_bound,
            report.trace,
            report.e_steps,
            fit.best_restart,
        ))
    })?;
    let (model, converged, n_iter, lower_bound, trace, e_steps, best_restart) = outcome;
    let out = model_dict(py, &model)?;
    out.set_item("converged", converged)?;
    out.set_item("n_iter", n_iter)?;
    out.set_item("lower_bound", lower_bound)?;
    out.set_item("trace", trace)?;
    out.set_item("e_steps", e_steps)?;
    out.set_item("best_restart", best_restart)?;
    Ok(out)
}

/// log p(x_i) of every row.
#[pyfunction]
fn gmm_score_samples<'py>(
    py: Python<'py>,
    params: ModelArgs<'py>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArray1<f64>>> {
    let model = params.to_model()?;
    let view = x.as_array();
    let scores = guarded(py, || model.score_samples(&matrix(view)))?;
    Ok(to_numpy1(py, scores.as_slice()))
}

/// p(k | x_i): one row per observation.
#[pyfunction]
fn gmm_predict_proba<'py>(
    py: Python<'py>,
    params: ModelArgs<'py>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    let model = params.to_model()?;
    let view = x.as_array();
    let proba = guarded(py, || model.predict_proba(&matrix(view)))?;
    Ok(to_numpy2(py, &proba))
}

/// `(bic, aic)` of the model on `x`.
#[pyfunction]
fn gmm_criteria<'py>(
    py: Python<'py>,
    params: ModelArgs<'py>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<(f64, f64)> {
    let model = params.to_model()?;
    let view = x.as_array();
    guarded(py, || {
        let x = matrix(view);
        Ok((model.bic(&x)?, model.aic(&x)?))
    })
}

/// `x` with each NaN replaced by its conditional expectation under the model.
#[pyfunction]
fn gmm_impute<'py>(
    py: Python<'py>,
    params: ModelArgs<'py>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    let model = params.to_model()?;
    let view = x.as_array();
    let filled = guarded(py, || model.impute(&matrix(view)))?;
    Ok(to_numpy2(py, &filled))
}

/// `n` draws and their components, by a generator seeded with `seed`.
#[pyfunction]
fn gmm_sample<'py>(
    py: Python<'py>,
    params: ModelArgs<'py>,
    n: usize,
    seed: u64,
) -> PyResult<(Bound<'py, numpy::PyArray2<f64>>, Vec<usize>)> {
    let model = params.to_model()?;
    let (x, labels) = guarded(py, || {
        let mut rng = em_core::StdRng::seed_from_u64(seed);
        Ok(model.sample(n, &mut rng))
    })?;
    Ok((to_numpy2(py, &x), labels))
}

/// log p(θ) under the model's prior (0 without one): the part of the objective that is not a
/// sum over rows.
#[pyfunction]
fn gmm_log_prior(params: ModelArgs<'_>) -> PyResult<f64> {
    Ok(params.to_model()?.log_prior())
}

/// The E-step statistics of a batch of rows: additive over disjoint batches, so that batches
/// computed anywhere (threads, processes, machines) merge into the statistics of their union.
#[pyclass(module = "em._core", name = "GaussianStats", frozen)]
pub(crate) struct GmmStats {
    stats: GaussianStats,
    log_likelihood: f64,
    entropy: f64,
    n_rows: usize,
}

/// The serialised form of [`GmmStats`] (the crate's statistics carry no serde derive).
#[derive(Serialize, Deserialize)]
struct StatsSpec {
    n: DVector<f64>,
    means: DMatrix<f64>,
    scatter_full: Option<Vec<DMatrix<f64>>>,
    scatter_diag: Option<DMatrix<f64>>,
    conditional_entropy: f64,
    log_likelihood: f64,
    entropy: f64,
    n_rows: usize,
}

#[pymethods]
impl GmmStats {
    /// The statistics of this batch followed by `later` (a disjoint batch).
    fn merge(&self, later: &GmmStats) -> PyResult<GmmStats> {
        let (k, d) = self.stats.means.shape();
        if !later.stats.fits(k, d, self.stats.scatter.form()) {
            return Err(invalid(
                "other",
                format!(
                    "statistics of K = {}, D = {} do not merge with K = {k}, D = {d} (or the covariance types differ)",
                    later.stats.n_components(),
                    later.stats.n_features()
                ),
            ));
        }
        let mut stats = self.stats.clone();
        stats.merge(&later.stats);
        Ok(GmmStats {
            stats,
            log_likelihood: self.log_likelihood + later.log_likelihood,
            entropy: self.entropy + later.entropy,
            n_rows: self.n_rows + later.n_rows,
        })
    }

    /// Σ_i w_i log p(x_i) over the rows (at the parameters the E-step used).
    #[getter]
    fn log_likelihood(&self) -> f64 {
        self.log_likelihood
    }

    /// Number of rows the statistics cover.
    #[getter]
    fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// N_k: the summed (weighted) responsibilities of each component.
    #[getter]
    fn resp_sum<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray1<f64>> {
        to_numpy1(py, self.stats.n.as_slice())
    }

    /// A JSON text that [`from_json`](Self::from_json) reads back exactly (floats round-trip).
    fn to_json(&self) -> PyResult<String> {
        let (full, diag) = match &self.stats.scatter {
            Scatter::Full(m) => (Some(m.clone()), None),
            Scatter::Diag(m) => (None, Some(m.clone())),
        };
        let spec = StatsSpec {
            n: self.stats.n.clone(),
            means: self.stats.means.clone(),
            scatter_full: full,
            scatter_diag: diag,
            conditional_entropy: self.stats.conditional_entropy,
            log_likelihood: self.log_likelihood,
            entropy: self.entropy,
            n_rows: self.n_rows,
        };
        serde_json::to_string(&spec).map_err(|e| invalid("stats", e))
    }

    /// Reads [`to_json`](Self::to_json)'s text, checking that the shapes agree.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<GmmStats> {
        let spec: StatsSpec = serde_json::from_str(text).map_err(|e| invalid("stats", e))?;
        let (k, d) = spec.means.shape();
        let (scatter, form) = match (spec.scatter_full, spec.scatter_diag) {
            (Some(m), None) => (Scatter::Full(m), CovarianceType::Full),
            (None, Some(m)) => (Scatter::Diag(m), CovarianceType::Diag),
            _ => {
                return Err(invalid(
                    "stats",
                    "exactly one of the scatter forms is needed",
                ));
            }
        };
        let stats = GaussianStats {
            n: spec.n,
            means: spec.means,
            scatter,
            conditional_entropy: spec.conditional_entropy,
        };
        if !stats.fits(k, d, form) {
            return Err(invalid("stats", "the shapes of the statistics disagree"));
        }
        Ok(GmmStats {
            stats,
            log_likelihood: spec.log_likelihood,
            entropy: spec.entropy,
            n_rows: spec.n_rows,
        })
    }
}

/// Checks the data of an E-step (the fitting entry points check once per fit; a batch E-step
/// is its own entry point).
fn check_batch(model: &GaussianMixture, x: &DMatrix<f64>) -> Result<(), EmError> {
    let d = Some(model.n_features());
    match model.missing_values() {
        MissingValues::Model => em_family::gaussian::check_data_with_missing(x, d),
        _ => em_family::gaussian::check_data(x, d),
    }
}

/// The E-step of `x` (all of its rows) under the model, with optional sample weights.
#[pyfunction]
#[pyo3(signature = (params, x, sample_weight=None))]
fn gmm_e_step<'py>(
    py: Python<'py>,
    params: ModelArgs<'py>,
    x: PyReadonlyArray2<'py, f64>,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<GmmStats> {
    let model = params.to_model()?;
    let view: ArrayView2<'_, f64> = x.as_array();
    let weights = sample_weight.as_ref().map(|w| w.as_array());
    guarded(py, || {
        let x = matrix(view);
        check_batch(&model, &x)?;
        let w: Option<Vec<f64>> = weights.map(|w| w.iter().copied().collect());
        if let Some(w) = &w {
            check_weights(w, x.nrows())?;
        }
        let n_rows = x.nrows();
        let weighted = SampleWeighted {
            model,
            sample_weight: w.as_deref(),
        };
        let e = weighted.e_step(&x, 0..n_rows)?;
        Ok(GmmStats {
            stats: e.stats,
            log_likelihood: e.log_likelihood,
            entropy: e.entropy,
            n_rows,
        })
    })
}

/// The M-step: the parameters that maximise the expected complete log-likelihood (plus the
/// log-prior) of `stats`, with the model's `reg_covar` and prior.
#[pyfunction]
fn gmm_m_step<'py>(
    py: Python<'py>,
    params: ModelArgs<'py>,
    stats: &GmmStats,
) -> PyResult<Bound<'py, PyDict>> {
    let mut model = params.to_model()?;
    let (k, d) = (model.n_components(), model.n_features());
    if !stats.stats.fits(k, d, model.covariance_type()) {
        return Err(invalid(
            "stats",
            format!(
                "statistics of K = {}, D = {} (or of another covariance type) for a model of K = {k}, D = {d}, {}",
                stats.stats.n_components(),
                stats.stats.n_features(),
                model.covariance_type()
            ),
        ));
    }
    let s = stats.stats.clone();
    let model = guarded(py, move || {
        model.m_step(&s)?;
        Ok(model)
    })?;
    model_dict(py, &model)
}

/// One online-EM update (`em_core::online`): the E-step of `x` (with optional sample weights)
/// at the model's parameters folded into the running statistics `running` (of total weight
/// `weight`, after `updates` updates and `n_seen` rows), then the M-step. Returns the new
/// parameters, the new running statistics, weight, updates and rows seen, and the batch's
/// log-likelihood before the update.
#[pyfunction]
#[pyo3(signature = (params, x, sample_weight, running, weight, updates, n_seen, step_exponent, total=None))]
#[allow(clippy::too_many_arguments)]
fn gmm_online_update<'py>(
    py: Python<'py>,
    params: ModelArgs<'py>,
    x: PyReadonlyArray2<'py, f64>,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
    running: Option<&GmmStats>,
    weight: f64,
    updates: usize,
    n_seen: usize,
    step_exponent: f64,
    total: Option<f64>,
) -> PyResult<(Bound<'py, PyDict>, GmmStats, f64, usize, usize, f64)> {
    let model = params.to_model()?;
    let options = em_core::online::OnlineOptions {
        step_exponent,
        total,
        ..Default::default()
    };
    options.validate().map_err(to_py_err)?;
    let (k, d) = (model.n_components(), model.n_features());
    if let Some(r) = running
        && !r.stats.fits(k, d, model.covariance_type())
    {
        return Err(invalid(
            "running",
            "the running statistics are of another K, D or covariance type than the model",
        ));
    }
    let mut state = em_core::online::OnlineState::from_parts(
        running.map(|r| r.stats.clone()),
        weight,
        updates,
        n_seen,
    )
    .map_err(to_py_err)?;
    let view: ArrayView2<'_, f64> = x.as_array();
    let weights = sample_weight.as_ref().map(|w| w.as_array());
    let (model, state, ll, n_rows) = guarded(py, move || {
        let x = matrix(view);
        check_batch(&model, &x)?;
        let w: Option<Vec<f64>> = weights.map(|w| w.iter().copied().collect());
        if let Some(w) = &w {
            check_weights(w, x.nrows())?;
        }
        let n_rows = x.nrows();
        let mut weighted = SampleWeighted {
            model,
            sample_weight: w.as_deref(),
        };
        let e = em_core::chunked_e_step(&weighted, &x, em_core::DEFAULT_CHUNK_SIZE)?;
        let update = state.update(&mut weighted, e, n_rows, n_rows, &options)?;
        Ok((weighted.model, state, update.log_likelihood, n_rows))
    })?;
    let running = state
        .running()
        .cloned()
        .ok_or_else(|| invalid("running", "an update left no running statistics"))?;
    Ok((
        model_dict(py, &model)?,
        GmmStats {
            stats: running,
            log_likelihood: ll,
            entropy: 0.0,
            n_rows,
        },
        state.weight(),
        state.updates(),
        state.n_seen(),
        ll,
    ))
}
