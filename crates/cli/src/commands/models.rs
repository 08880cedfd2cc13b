//! `em fit --model t|regression|mfa|vb`: the mixtures other than the Gaussian one, fitted to the
//! columns read — a summary, or the JSON report (`--json`, `--output`) that holds the model.

use std::fmt::Write as _;
use std::io::Write;

use em_core::{Acceleration, Em, FitReport};
use em_factor::{FactorMixture, NoiseStructure};
use em_regression::{
    GaussianRegressionMixture, PoissonRegressionMixture, RegressionData, Start, Strategy,
};
use gmm::{Dof, StudentMixture};
use nalgebra::DMatrix;
use serde::Serialize;
use serde_json::{Value, json};

use crate::args::{
    EmArgs, FitArgs, InitArg, ModelArg, NoiseArg, ResponseFamilyArg, WeightPriorArg,
};
use crate::commands::{check_k, load_data, warn_failed_restarts};
use crate::data::Table;
use crate::error::CliError;
use crate::json::StoppingReport;
use crate::output::{self, note};
use crate::summary::sig;

/// Rows whose weight E[u | x] in a t fit is below this are counted as outliers in the summary.
pub const OUTLIER_WEIGHT: f64 = 0.2;

/// A fitted model of another family, ready to print.
struct Outcome {
    /// The JSON report: the model's own fields, the fit's.
    report: Value,
    /// The human-readable summary.
    summary: String,
}

/// Runs `em fit --model …` for a model other than the Gaussian mixture.
pub fn run(args: &FitArgs, quiet: bool, out: &mut dyn Write) -> Result<(), CliError> {
    refuse_gaussian_only(args)?;
    if let Some(p) = &args.output {
        output::check_writable(p, "--output")?;
    }
    let table = load_data(args.file.as_deref(), &args.cols, &args.reader, quiet)?;
    if let Some((row, column)) = first_missing(&table.x) {
        return Err(CliError::bad_input(format!(
            "{}: row {} column {:?} is missing; --model {} does not model missing values \
             (--missing drop leaves such rows out)",
            table.source,
            row + 1,
            table.columns[column],
            model_name(args.model.kind)
        )));
    }
    let k = args.k.ok_or_else(|| {
        CliError::bad_input(format!(
            "-k K (the number of components) is required with --model {}",
            model_name(args.model.kind)
        ))
    })?;
    check_k(k, &table, "K")?;
    let em = driver(&args.em);
    let outcome = match args.model.kind {
        ModelArg::T => fit_t(args, &table, k, quiet)?,
        ModelArg::Regression => fit_regression(args, &table, k, &em, quiet)?,
        ModelArg::Mfa => fit_mfa(args, &table, k, quiet)?,
        ModelArg::Vb => fit_vb(args, &table, k, quiet)?,
        ModelArg::Gaussian => {
            return Err(CliError::failed(
                "the Gaussian mixture is fitted by `em fit` itself",
            ));
        }
    };
    let json = serde_json::to_string_pretty(&outcome.report)
        .map_err(|e| CliError::failed(format!("cannot encode the report: {e}")))?;
    if let Some(p) = &args.output {
        output::write_atomic(p, json.as_bytes())?;
        note(quiet, &format!("em: wrote the model to {}", p.display()));
    }
    output::print(out, if args.json { &json } else { &outcome.summary })
}

fn model_name(kind: ModelArg) -> &'static str {
    match kind {
        ModelArg::Gaussian => "gaussian",
        ModelArg::T => "t",
        ModelArg::Regression => "regression",
        ModelArg::Mfa => "mfa",
        ModelArg::Vb => "vb",
    }
}

/// The options of the Gaussian fit that the other models do not take, as usage errors; and
/// each model's own options used with another.
fn refuse_gaussian_only(args: &FitArgs) -> Result<(), CliError> {
    let name = model_name(args.model.kind);
    let refused = [
        (args.stream, "--stream"),
        (args.online.online, "--online"),
        (args.standardize, "--standardize"),
        (args.plot.is_some(), "--plot"),
        (args.inference.std_errors.is_some(), "--std-errors"),
        (args.inference.rate, "--rate"),
        (matches!(args.em.init, InitArg::File(_)), "--init FILE"),
        (
            args.model.dof.is_some() && args.model.kind != ModelArg::T,
            "--dof (--model t)",
        ),
        (
            args.model.response.is_some() && args.model.kind != ModelArg::Regression,
            "--response (--model regression)",
        ),
        (
            args.model.factors.is_some() && args.model.kind != ModelArg::Mfa,
            "--factors (--model mfa)",
        ),
        (
            args.model.weight_prior.is_some() && args.model.kind != ModelArg::Vb,
            "--weight-prior (--model vb)",
        ),
        (
            args.model.weight_concentration.is_some() && args.model.kind != ModelArg::Vb,
            "--weight-concentration (--model vb)",
        ),
        (
            args.em.accelerate && args.model.kind == ModelArg::Vb,
            "--accelerate",
        ),
        (
            args.model.kind == ModelArg::Vb
                && matches!(&args.em.init, InitArg::Method(m)
                    if !matches!(m, gmm::Init::Auto | gmm::Init::KMeans)),
            "--init other than kmeans",
        ),
    ];
    match refused.iter().find(|(used, _)| *used) {
        Some((_, option)) => Err(CliError::bad_input(format!(
            "{option} is not available with --model {name}"
        ))),
        None => Ok(()),
    }
}

/// The first (row, column) holding a missing value (NaN), if any.
fn first_missing(x: &DMatrix<f64>) -> Option<(usize, usize)> {
    (0..x.nrows()).find_map(|i| (0..x.ncols()).find(|&j| x[(i, j)].is_nan()).map(|j| (i, j)))
}

/// The driver of the restarts: --n-init, --seed, the stopping rule, --threads, --accelerate.
fn driver(em: &EmArgs) -> Em<Acceleration> {
    let driver = Em::new()
        .n_init(em.n_init)
        .seed(em.seed)
        .stopping(em.stop.stopping())
        .max_iter(em.stop.max_iter)
        .accelerate(if em.accelerate {
            Acceleration::Squarem
        } else {
            Acceleration::None
        });
    match em.threads {
        Some(t) => driver.threads(t),
        None => driver,
    }
}

/// What every report states about the fit, whatever the model.
#[derive(Serialize)]
struct FitFacts {
    columns: Vec<String>,
    n_obs: usize,
    log_likelihood: f64,
    mean_log_likelihood: f64,
    bic: f64,
    aic: f64,
    n_parameters: usize,
    n_iter: usize,
    converged: bool,
    stopping: StoppingReport,
    restarts: usize,
    best_restart: usize,
}

impl FitFacts {
    fn new(
        table: &Table,
        report: &FitReport,
        n_parameters: usize,
        restarts: (usize, usize),
    ) -> Self {
        let n = table.x.nrows();
        let ll = report.objective();
        FitFacts {
            columns: table.columns.clone(),
            n_obs: n,
            log_likelihood: ll,
            mean_log_likelihood: ll / n as f64,
            bic: em_core::criteria::bic(ll, n_parameters, n),
            aic: em_core::criteria::aic(ll, n_parameters),
            n_parameters,
            n_iter: report.iterations,
            converged: report.converged,
            stopping: report.stopping.into(),
            restarts: restarts.0,
            best_restart: restarts.1,
        }
    }

    /// The summary's closing lines.
    fn lines(&self, report: &FitReport) -> String {
        format!(
            "log-likelihood      {} (mean per row {})\n\
             BIC                 {} (lower is better; {} free parameters)\n\
             AIC                 {}\n\
             converged           {}, after {} iterations ({} < {:e}); best of {} restarts\n",
            sig(self.log_likelihood, 10),
            sig(self.mean_log_likelihood, 6),
            sig(self.bic, 10),
            self.n_parameters,
            sig(self.aic, 10),
            if self.converged { "yes" } else { "no" },
            self.n_iter,
            report.stopping.name(),
            report.stopping.tol(),
            self.restarts,
        )
    }
}

/// The model's serde form with the fit's facts and its kind added.
fn report_of(kind: &str, model: &impl Serialize, facts: &FitFacts) -> Result<Value, CliError> {
    let encode = |e: serde_json::Error| CliError::failed(format!("cannot encode the report: {e}"));
    let mut value = json!({ "model": kind });
    let fields = [
        serde_json::to_value(model).map_err(encode)?,
        serde_json::to_value(facts).map_err(encode)?,
    ];
    if let Value::Object(map) = &mut value {
        for field in fields {
            if let Value::Object(more) = field {
                map.extend(more);
            }
        }
    }
    Ok(value)
}

/// `[a, b, c]` to 6 significant digits.
fn vector(values: impl IntoIterator<Item = f64>) -> String {
    let parts: Vec<String> = values.into_iter().map(|v| sig(v, 6)).collect();
    format!("[{}]", parts.join(", "))
}

fn fit_t(args: &FitArgs, table: &Table, k: usize, quiet: bool) -> Result<Outcome, CliError> {
    let kind = args
        .covariance
        .map_or(gmm::CovarianceType::Full, Into::into);
    let dof = match args.model.dof {
        Some(nu) => Dof::Fixed(nu),
        None => Dof::default(),
    };
    let mut builder = StudentMixture::builder(k)
        .covariance_type(kind)
        .dof(dof)
        .n_init(args.em.n_init)
        .seed(args.em.seed)
        .stopping(args.em.stop.stopping())
        .max_iter(args.em.stop.max_iter)
        .reg_covar(args.em.reg_covar);
    if let InitArg::Method(init) = &args.em.init
        && *init != gmm::Init::Auto
    {
        builder = builder.init(init.clone());
    }
    if let Some(t) = args.em.threads {
        builder = builder.threads(t);
    }
    let fitted = builder
        .fit(&table.x)
        .map_err(|e| CliError::from_em(e, "fit failed"))?;
    warn_failed_restarts(&fitted.restarts, quiet);
    let m = &fitted.model;
    let facts = FitFacts::new(
        table,
        &fitted.report,
        m.n_parameters(),
        (fitted.restarts.len(), fitted.best_restart),
    );
    let weights = m
        .outlier_weights(&table.x)
        .map_err(|e| CliError::from_em(e, "outlier weights failed"))?;
    let outliers: Vec<usize> = (0..weights.len())
        .filter(|&i| weights[i] < OUTLIER_WEIGHT)
        .map(|i| i + 1)
        .collect();
    let mut text = format!(
        "Student-t mixture fitted to {}: {}\n\
         K = {k}, {kind} scale matrices, degrees of freedom {}\n",
        table.source,
        table.describe(),
        if args.model.dof.is_some() {
            "fixed"
        } else {
            "estimated"
        },
    );
    for c in 0..k {
        let _ = writeln!(
            text,
            "component {c}: weight {}, ν {}, location {}",
            sig(m.weights()[c], 6),
            sig(m.dof()[c], 5),
            vector(m.means().row(c).iter().copied()),
        );
        let scale = m.scales().full_matrix(c, m.n_features());
        for r in 0..scale.nrows() {
            let _ = writeln!(text, "  scale {}", vector(scale.row(r).iter().copied()));
        }
    }
    let _ = writeln!(
        text,
        "outliers            {} rows with weight E[u | x] < {OUTLIER_WEIGHT} (the report's \
         `outlier_rows`, 1-based)",
        outliers.len()
    );
    text.push_str(&facts.lines(&fitted.report));
    let d = m.n_features();
    let parameters = json!({
        "covariance_type": kind.as_str(),
        "weights": m.weights().as_slice(),
        "means": (0..k).map(|c| m.means().row(c).iter().copied().collect::<Vec<_>>()).collect::<Vec<_>>(),
        "scales": (0..k)
            .map(|c| {
                let s = m.scales().full_matrix(c, d);
                (0..d).map(|r| s.row(r).iter().copied().collect::<Vec<_>>()).collect::<Vec<_>>()
            })
            .collect::<Vec<_>>(),
        "dof": m.dof(),
        "dof_estimated": args.model.dof.is_none(),
    });
    let mut report = report_of("student_t_mixture", &parameters, &facts)?;
    if let Value::Object(map) = &mut report {
        map.insert("outlier_rows".into(), json!(outliers));
    }
    Ok(Outcome {
        report,
        summary: text,
    })
}

/// The index of `--response` among the table's columns: a header name, or a 1-based position.
fn response_column(args: &FitArgs, table: &Table) -> Result<usize, CliError> {
    let Some(name) = &args.model.response else {
        return Err(CliError::bad_input(
            "--response COL is required with --model regression",
        ));
    };
    if let Some(j) = table.columns.iter().position(|c| c == name) {
        return Ok(j);
    }
    match name.parse::<usize>() {
        Ok(p) if (1..=table.columns.len()).contains(&p) => Ok(p - 1),
        _ => Err(CliError::bad_input(format!(
            "--response {name:?}: {} has no such column (its columns: {})",
            table.source,
            table.columns.join(", ")
        ))),
    }
}

fn fit_regression(
    args: &FitArgs,
    table: &Table,
    k: usize,
    em: &Em<Acceleration>,
    quiet: bool,
) -> Result<Outcome, CliError> {
    let response = response_column(args, table)?;
    if table.x.ncols() < 2 {
        return Err(CliError::bad_input(format!(
            "{}: --model regression needs the response and at least one predictor column",
            table.source
        )));
    }
    let data = RegressionData::from_table(&table.x, response, true)
        .map_err(|e| CliError::from_em(e, "reading the regression data failed"))?;
    let predictors: Vec<String> = data
        .predictor_columns()
        .iter()
        .map(|c| c.map_or("(intercept)".to_string(), |j| table.columns[j].clone()))
        .collect();
    let strategy = Strategy::KMeans;
    let (name, model_json, report, text_body, n_parameters, restarts) =
        match args.model.response_family {
            ResponseFamilyArg::Gaussian => {
                let fitted =
                    GaussianRegressionMixture::fit(&data, &Start::new(k).strategy(strategy), em)
                        .map_err(|e| CliError::from_em(e, "fit failed"))?;
                warn_failed_restarts(&fitted.restarts, quiet);
                let m = &fitted.model;
                let sigmas = m.sigmas();
                let body =
                    coefficient_table(m.coefficients(), &predictors, m.weights(), Some(&sigmas));
                (
                    "gaussian",
                    serde_json::to_value(m),
                    fitted.report,
                    body,
                    m.n_parameters(),
                    (fitted.restarts.len(), fitted.best_restart),
                )
            }
            ResponseFamilyArg::Poisson => {
                let fitted =
                    PoissonRegressionMixture::fit(&data, &Start::new(k).strategy(strategy), em)
                        .map_err(|e| CliError::from_em(e, "fit failed"))?;
                warn_failed_restarts(&fitted.restarts, quiet);
                let m = &fitted.model;
                let body = coefficient_table(m.coefficients(), &predictors, m.weights(), None);
                (
                    "poisson",
                    serde_json::to_value(m),
                    fitted.report,
                    body,
                    m.n_parameters(),
                    (fitted.restarts.len(), fitted.best_restart),
                )
            }
        };
    let model_json =
        model_json.map_err(|e| CliError::failed(format!("cannot encode the report: {e}")))?;
    let facts = FitFacts::new(table, &report, n_parameters, restarts);
    let mut text = format!(
        "Mixture of {name} regressions of {} on {} fitted to {}: {} rows\nK = {k}\n",
        table.columns[response],
        predictors[1..].join(", "),
        table.source,
        table.x.nrows(),
    );
    text.push_str(&text_body);
    text.push_str(&facts.lines(&report));
    let mut value = report_of("regression_mixture", &model_json, &facts)?;
    if let Value::Object(map) = &mut value {
        map.insert("response_column".into(), json!(table.columns[response]));
        map.insert("predictors".into(), json!(predictors));
    }
    Ok(Outcome {
        report: value,
        summary: text,
    })
}

/// One line per component: weight, σ (Gaussian), then each predictor's coefficient.
fn coefficient_table(
    coefficients: &DMatrix<f64>,
    predictors: &[String],
    weights: &[f64],
    sigmas: Option<&[f64]>,
) -> String {
    let mut text = String::new();
    for (c, w) in weights.iter().enumerate() {
        let _ = write!(text, "component {c}: weight {}", sig(*w, 6));
        if let Some(s) = sigmas {
            let _ = write!(text, ", σ {}", sig(s[c], 6));
        }
        text.push('\n');
        for (j, p) in predictors.iter().enumerate() {
            let _ = writeln!(text, "  {p:<18} {}", sig(coefficients[(c, j)], 8));
        }
    }
    text
}

fn fit_mfa(args: &FitArgs, table: &Table, k: usize, quiet: bool) -> Result<Outcome, CliError> {
    let q = args
        .model
        .factors
        .ok_or_else(|| CliError::bad_input("--factors Q is required with --model mfa"))?;
    let noise = match args.model.noise {
        NoiseArg::Diagonal => NoiseStructure::Diagonal,
        NoiseArg::Shared => NoiseStructure::SharedDiagonal,
        NoiseArg::Isotropic => NoiseStructure::Isotropic,
    };
    let mut builder = FactorMixture::builder(k, q)
        .noise(noise)
        .n_init(args.em.n_init)
        .seed(args.em.seed)
        .stopping(args.em.stop.stopping())
        .max_iter(args.em.stop.max_iter);
    // SQUAREM always (the builder's default): plain EM for factor analysers is 15–20× slower.
    if let Some(t) = args.em.threads {
        builder = builder.threads(t);
    }
    let fitted = builder
        .fit(&table.x)
        .map_err(|e| CliError::from_em(e, "fit failed"))?;
    warn_failed_restarts(&fitted.restarts, quiet);
    let m = &fitted.model;
    let facts = FitFacts::new(
        table,
        &fitted.report,
        m.n_parameters(),
        (fitted.restarts.len(), fitted.best_restart),
    );
    let mut text = format!(
        "Mixture of factor analysers fitted to {}: {}\n\
         K = {k}, q = {q} factors, noise {}\n",
        table.source,
        table.describe(),
        noise.as_str(),
    );
    for c in 0..k {
        let mean = m
            .mean(c)
            .map(|v| v.iter().copied().collect::<Vec<_>>())
            .unwrap_or_default();
        let psi = m
            .noise(c)
            .map(|v| v.iter().copied().collect::<Vec<_>>())
            .unwrap_or_default();
        let _ = writeln!(text, "component {c}: weight {}", sig(m.weights()[c], 6));
        let _ = writeln!(text, "  mean   {}", vector(mean));
        let _ = writeln!(text, "  noise  {}", vector(psi));
        if let Some(w) = m.loadings(c) {
            for j in 0..w.ncols() {
                let _ = writeln!(text, "  factor {j} {}", vector(w.column(j).iter().copied()));
            }
        }
    }
    text.push_str(&facts.lines(&fitted.report));
    let report = report_of("factor_mixture", m, &facts)?;
    Ok(Outcome {
        report,
        summary: text,
    })
}

/// The ELBO's components of a variational fit, for its JSON report.
#[derive(Serialize)]
struct VbFacts {
    columns: Vec<String>,
    n_obs: usize,
    elbo: f64,
    mean_elbo: f64,
    effective_components: usize,
    weights: Vec<f64>,
    /// The means m_k as rows (the model's own `means` field is nalgebra's serde form).
    component_means: Vec<Vec<f64>>,
    n_iter: usize,
    converged: bool,
    stopping: StoppingReport,
    restarts: usize,
    best_restart: usize,
}

fn fit_vb(args: &FitArgs, table: &Table, k: usize, quiet: bool) -> Result<Outcome, CliError> {
    use em_variational::{BayesianGaussianMixture, WeightPrior};
    let kind = args
        .covariance
        .map_or(gmm::CovarianceType::Full, Into::into);
    let prior = match args.model.weight_prior {
        Some(WeightPriorArg::DirichletDistribution) => WeightPrior::DirichletDistribution,
        Some(WeightPriorArg::DirichletProcess) | None => WeightPrior::DirichletProcess,
    };
    let mut builder = BayesianGaussianMixture::builder(k)
        .covariance_type(kind)
        .weight_prior(prior)
        .reg_covar(args.em.reg_covar);
    if let Some(a) = args.model.weight_concentration {
        builder = builder.weight_concentration_prior(a);
    }
    let mut em = Em::new()
        .n_init(args.em.n_init)
        .seed(args.em.seed)
        .stopping(args.em.stop.stopping())
        .max_iter(args.em.stop.max_iter);
    if let Some(t) = args.em.threads {
        em = em.threads(t);
    }
    let fitted = em
        .fit_restarts(&builder, &table.x)
        .map_err(|e| CliError::from_em(e, "fit failed"))?;
    warn_failed_restarts(&fitted.restarts, quiet);
    let m = &fitted.model;
    let report = &fitted.report;
    let n = table.x.nrows();
    let weights = m.weights();
    let threshold = 0.01;
    let facts = VbFacts {
        columns: table.columns.clone(),
        n_obs: n,
        elbo: report.objective(),
        mean_elbo: report.objective() / n as f64,
        effective_components: m.n_effective_components(threshold),
        weights: weights.iter().copied().collect(),
        component_means: m
            .means()
            .row_iter()
            .map(|r| r.iter().copied().collect())
            .collect(),
        n_iter: report.iterations,
        converged: report.converged,
        stopping: report.stopping.into(),
        restarts: fitted.restarts.len(),
        best_restart: fitted.best_restart,
    };
    let mut text = format!(
        "Variational Bayes Gaussian mixture fitted to {}: {}\n\
         K = {k} (an upper bound), {kind} covariances, {} weight prior (α₀ = {})\n\
         {} effective components (expected weight > {threshold})\n",
        table.source,
        table.describe(),
        prior.as_str(),
        sig(m.priors().weight_concentration, 6),
        facts.effective_components,
    );
    for c in (0..k).filter(|&c| weights[c] > threshold) {
        let _ = writeln!(text, "component {c}: weight {}", sig(weights[c], 6));
        let _ = writeln!(
            text,
            "  mean   {}",
            vector(m.means().row(c).iter().copied())
        );
    }
    let _ = write!(
        text,
        "ELBO                {} (mean per row {})\n\
         converged           {}, after {} iterations ({} < {:e}); best of {} restarts\n",
        sig(facts.elbo, 10),
        sig(facts.mean_elbo, 6),
        if facts.converged { "yes" } else { "no" },
        facts.n_iter,
        report.stopping.name(),
        report.stopping.tol(),
        facts.restarts,
    );
    let encode = |e: serde_json::Error| CliError::failed(format!("cannot encode the report: {e}"));
    let mut value = json!({ "model": "bayesian_gaussian_mixture" });
    let fields = [
        serde_json::to_value(m).map_err(encode)?,
        serde_json::to_value(&facts).map_err(encode)?,
    ];
    if let Value::Object(map) = &mut value {
        for field in fields {
            if let Value::Object(more) = field {
                map.extend(more);
            }
        }
    }
    Ok(Outcome {
        report: value,
        summary: text,
    })
}
