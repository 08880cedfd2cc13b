//! The JSON model and report format, which `--output` writes and `--init` / `--model` read.
//!
//! ```json
//! {
//!   "model": "gaussian_mixture",
//!   "covariance_type": "tied",
//!   "weights": [0.36, 0.64],
//!   "means": [[2.0, 54.5], [4.3, 80.0]],
//!   "covariances": [[[0.08, 0.48], [0.48, 33.7]], [[0.08, 0.48], [0.48, 33.7]]],
//!   "columns": ["eruptions", "waiting"],
//!   "log_likelihood": -1130.3, "mean_log_likelihood": -4.155, "n_iter": 7, "converged": true,
//!   "stopping": {"rule": "parameters", "tol": 1e-7}, "estimated_distance": 6.1e-8,
//!   "estimated_gap": 2.0e-13,
//!   "trace": [-1131.0, -1130.4, -1130.3], "bic": 2294.4, "aic": 2274.5, "n_parameters": 8,
//!   "log_density_quantiles": [-9.8, -9.1, -2.7],
//!   "warnings": []
//! }
//! ```
//!
//! `covariances` always holds K full D×D matrices, whatever the covariance type; loading
//! converts them back to the type's compact form and checks that they have its shape (zero
//! off-diagonals for `diag`, equal diagonals too for `spherical`, one matrix repeated for
//! `tied`). `columns`, the feature names, is read back (files without it load, matched by
//! position); so is `log_density_quantiles`, for `em predict --outliers`. The other report
//! fields after `covariances` are written by `em fit` and ignored when a file is read, so a
//! report is also a model file. `warnings` lists the statistical warnings of the fit (empty
//! when there are none); `standardized` (`center`, `scale`) appears after `--standardize`,
//! `standard_errors` after `--std-errors` and `rate_of_convergence` after `--rate`
//! ([`crate::inference`]).
//! Floats are written in their shortest
//! round-trip form and read back bit for bit.

use std::path::Path;

use gmm::{CovarianceType, Covariances, FitReport, GaussianMixture};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::error::CliError;
use crate::inference::Inference;

/// Which model a file holds: a Gaussian mixture (`em zip` writes its own report, with
/// `"model": "zero_inflated_poisson"`, which `--init` and `--model` do not read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// A [`GaussianMixture`].
    GaussianMixture,
}

/// The parameters of a Gaussian mixture as the file holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// Always `gaussian_mixture` for now.
    pub model: ModelKind,
    /// `full`, `diag`, `spherical` or `tied`.
    pub covariance_type: CovarianceType,
    /// K mixing weights.
    pub weights: Vec<f64>,
    /// K means of D values.
    pub means: Vec<Vec<f64>>,
    /// K full D×D covariance matrices.
    pub covariances: Vec<Vec<Vec<f64>>>,
    /// The D feature names, in the order of the means (the columns the model was fitted
    /// on). Absent from files written before names were stored: those are matched by
    /// position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
}

/// What `em fit --json` prints and `--output` writes: the model and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportFile {
    /// The fitted parameters.
    #[serde(flatten)]
    pub model: ModelFile,
    /// Σ_i log p(x_i) under the returned parameters.
    pub log_likelihood: f64,
    /// `log_likelihood / N`.
    pub mean_log_likelihood: f64,
    /// EM iterations run by the winning restart.
    pub n_iter: usize,
    /// Whether the stopping rule held.
    pub converged: bool,
    /// The stopping rule that applied and its tolerance.
    pub stopping: StoppingReport,
    /// The estimated relative distance of the parameters to the optimum at the end (the
    /// parameter rule's), or null.
    pub estimated_distance: Option<f64>,
    /// Aitken's estimate of the gap to the optimum of the mean log-likelihood per row, or
    /// null when the last three values do not give one.
    pub estimated_gap: Option<f64>,
    /// The objective after each iteration (`n_iter` values).
    pub trace: Vec<f64>,
    /// −2 log L + p ln N (lower is better).
    pub bic: f64,
    /// −2 log L + 2p (lower is better).
    pub aic: f64,
    /// Free parameters p.
    pub n_parameters: usize,
    /// Quantiles of the training rows' log-densities at probabilities 0, 1/(m−1), …, 1
    /// (m ≤ 1001 values, every row's when there are fewer): what `em predict --outliers Q`
    /// takes its threshold from. Absent when the rows were not kept (a streamed fit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_density_quantiles: Option<Vec<f64>>,
    /// The statistical warnings about the data and the fit ([`crate::warnings`]), as printed
    /// on standard error; empty when there are none. Ignored when a file is read.
    pub warnings: Vec<String>,
    /// With `--standardize`: the column means and standard deviations of the z-scores the
    /// model was fitted on (the parameters and criteria are in the original units). Absent
    /// otherwise. Ignored when a file is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standardized: Option<StandardizedReport>,
    /// With `--labels`: the label column and how many rows it labelled; the `trace` is then
    /// the semi-supervised objective log p(x, labels), and `log_likelihood` log p(x). Absent
    /// otherwise. Ignored when a file is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelsReport>,
    /// With `--std-errors` and `--rate`: `standard_errors` and `rate_of_convergence`
    /// ([`crate::inference`]); absent otherwise. Ignored when a file is read.
    #[serde(flatten)]
    pub inference: Inference,
}

/// What `--labels` gave the fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelsReport {
    /// The label column's name.
    pub column: String,
    /// Rows with a label.
    pub labelled_rows: usize,
    /// Rows fitted.
    pub rows: usize,
    /// The semi-supervised objective at the end: Σ_unlabelled log p(x_i) + Σ_labelled
    /// log p(x_i, z_i = label).
    pub objective: f64,
}

/// How `--standardize` scaled the data: z_j = (x_j − center_j) / scale_j.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StandardizedReport {
    /// Column means.
    pub center: Vec<f64>,
    /// Column standard deviations.
    pub scale: Vec<f64>,
}

/// A stopping rule as the report states it: `{"rule": "parameters", "tol": 1e-7}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StoppingReport {
    /// `parameters`, `aitken` or `objective-change`.
    pub rule: &'static str,
    /// Its tolerance.
    pub tol: f64,
}

impl From<em_core::Stopping> for StoppingReport {
    fn from(s: em_core::Stopping) -> Self {
        StoppingReport {
            rule: s.name(),
            tol: s.tol(),
        }
    }
}

impl ModelFile {
    /// The file form of a mixture: full covariance matrices whatever the type.
    pub fn from_model(m: &GaussianMixture) -> Self {
        let (k, d) = (m.n_components(), m.n_features());
        ModelFile {
            model: ModelKind::GaussianMixture,
            covariance_type: m.covariance_type(),
            weights: m.weights().iter().copied().collect(),
            means: (0..k)
                .map(|c| (0..d).map(|j| m.means()[(c, j)]).collect())
                .collect(),
            covariances: (0..k)
                .map(|c| {
                    let s = m.covariances().full_matrix(c, d);
                    (0..d)
                        .map(|i| (0..d).map(|j| s[(i, j)]).collect())
                        .collect()
                })
                .collect(),
            columns: None,
        }
    }

    /// Validates the parameters and builds the mixture. Errors name the field:
    /// `weights[2]: …`, `covariances[1][0][1]: …`.
    pub fn to_model(&self) -> Result<GaussianMixture, String> {
        let k = self.weights.len();
        if k == 0 {
            return Err("weights: empty; at least one component is needed".into());
        }
        for (c, &w) in self.weights.iter().enumerate() {
            if w < 0.0 {
                return Err(format!("weights[{c}]: negative weight {w}"));
            }
            if w == 0.0 {
                return Err(format!("weights[{c}]: weight 0; every weight must be > 0"));
            }
        }
        let sum: f64 = self.weights.iter().sum();
        if (sum - 1.0).abs() > 1e-8 {
            return Err(format!("weights: they sum to {sum}, not 1"));
        }
        if self.means.len() != k {
            return Err(format!(
                "means: {} rows, but weights has {k} components",
                self.means.len()
            ));
        }
        let d = self.means[0].len();
        if d == 0 {
            return Err("means[0]: empty; at least one feature is needed".into());
        }
        for (c, row) in self.means.iter().enumerate() {
            if row.len() != d {
                return Err(format!(
                    "means[{c}]: {} values, expected {d} as in means[0]",
                    row.len()
                ));
            }
        }
        if self.covariances.len() != k {
            return Err(format!(
                "covariances: {} matrices, expected one per component ({k})",
                self.covariances.len()
            ));
        }
        let mut full = Vec::with_capacity(k);
        for (c, m) in self.covariances.iter().enumerate() {
            if m.len() != d {
                return Err(format!(
                    "covariances[{c}]: {} rows, expected {d} (a {d}×{d} matrix)",
                    m.len()
                ));
            }
            for (i, row) in m.iter().enumerate() {
                if row.len() != d {
                    return Err(format!(
                        "covariances[{c}][{i}]: {} values, expected {d} (a {d}×{d} matrix)",
                        row.len()
                    ));
                }
            }
            let s = DMatrix::from_fn(d, d, |i, j| m[i][j]);
            let scale = s.amax().max(f64::MIN_POSITIVE);
            for i in 0..d {
                for j in 0..i {
                    if (s[(i, j)] - s[(j, i)]).abs() > 1e-10 * scale {
                        return Err(format!(
                            "covariances[{c}]: not symmetric: [{i}][{j}] is {} but [{j}][{i}] is {}",
                            s[(i, j)],
                            s[(j, i)]
                        ));
                    }
                }
            }
            full.push(s);
        }
        let kind = self.covariance_type;
        let off_diagonal_zero = |full: &[DMatrix<f64>]| -> Result<(), String> {
            for (c, s) in full.iter().enumerate() {
                for i in 0..d {
                    for j in 0..d {
                        if i != j && s[(i, j)] != 0.0 {
                            return Err(format!(
                                "covariances[{c}][{i}][{j}]: is {}, but a {kind} covariance has zero off-diagonal entries",
                                s[(i, j)]
                            ));
                        }
                    }
                }
            }
            Ok(())
        };
        let covariances = match kind {
            CovarianceType::Full => Covariances::Full(full),
            CovarianceType::Diag => {
                off_diagonal_zero(&full)?;
                Covariances::Diag(DMatrix::from_fn(k, d, |c, j| full[c][(j, j)]))
            }
            CovarianceType::Spherical => {
                off_diagonal_zero(&full)?;
                for (c, s) in full.iter().enumerate() {
                    if let Some(j) = (1..d).find(|&j| s[(j, j)] != s[(0, 0)]) {
                        return Err(format!(
                            "covariances[{c}][{j}][{j}]: is {}, but a spherical covariance has equal diagonal entries ([0][0] is {})",
                            s[(j, j)],
                            s[(0, 0)]
                        ));
                    }
                }
                Covariances::Spherical(DVector::from_fn(k, |c, _| full[c][(0, 0)]))
            }
            CovarianceType::Tied => {
                for (c, s) in full.iter().enumerate().skip(1) {
                    if let Some((i, j)) = (0..d)
                        .flat_map(|i| (0..d).map(move |j| (i, j)))
                        .find(|&(i, j)| s[(i, j)] != full[0][(i, j)])
                    {
                        return Err(format!(
                            "covariances[{c}][{i}][{j}]: is {}, but a tied model has the same matrix for every component (covariances[0][{i}][{j}] is {})",
                            s[(i, j)],
                            full[0][(i, j)]
                        ));
                    }
                }
                Covariances::Tied(full.swap_remove(0))
            }
        };
        let weights = DVector::from_vec(self.weights.clone());
        let means = DMatrix::from_fn(k, d, |c, j| self.means[c][j]);
        GaussianMixture::new(weights, means, covariances).map_err(|e| match e {
            em_core::EmError::NotPositiveDefinite { component, .. } => {
                format!("covariances[{component}]: not positive definite")
            }
            em_core::EmError::InvalidParameter { name, reason } => format!("{name}: {reason}"),
            other => other.to_string(),
        })
    }
}

impl ReportFile {
    /// The report of a fit of `model` to `x`.
    pub fn new(
        model: &GaussianMixture,
        report: &FitReport,
        x: &DMatrix<f64>,
    ) -> Result<Self, CliError> {
        let log_likelihood = model
            .log_likelihood_total(x)
            .map_err(|e| CliError::from_em(e, "scoring the fitted model failed"))?;
        let mut file = Self::with_log_likelihood(model, report, x.nrows(), log_likelihood);
        let densities = model
            .score_samples(x)
            .map_err(|e| CliError::from_em(e, "scoring the fitted model failed"))?;
        file.log_density_quantiles = Some(quantile_table(densities.as_slice(), 1001));
        Ok(file)
    }

    /// The report with the feature names (the columns fitted, in order; `None` for data
    /// without a header, whose `x0, x1, …` name nothing).
    pub fn with_columns(mut self, columns: Option<&[String]>) -> Self {
        self.model.columns = columns.map(<[String]>::to_vec);
        self
    }

    /// The report of a fit of `model` to `n_rows` rows whose total log-likelihood is known
    /// (a streamed fit: the last entry of the trace, the data being too large to score again).
    pub fn with_log_likelihood(
        model: &GaussianMixture,
        report: &FitReport,
        n_rows: usize,
        log_likelihood: f64,
    ) -> Self {
        let p = model.n_parameters();
        ReportFile {
            model: ModelFile::from_model(model),
            log_likelihood,
            mean_log_likelihood: log_likelihood / n_rows as f64,
            n_iter: report.iterations,
            converged: report.converged,
            stopping: report.stopping.into(),
            estimated_distance: report.estimated_distance,
            estimated_gap: report.estimated_gap,
            trace: report.trace.iter().skip(1).copied().collect(),
            bic: em_core::criteria::bic(log_likelihood, p, n_rows),
            aic: em_core::criteria::aic(log_likelihood, p),
            n_parameters: p,
            log_density_quantiles: None,
            warnings: Vec::new(),
            standardized: None,
            labels: None,
            inference: Inference::default(),
        }
    }

    /// The report with what `--labels` gave the fit (or none).
    pub fn with_labels(mut self, labels: Option<LabelsReport>) -> Self {
        self.labels = labels;
        self
    }

    /// The report with the warnings' texts.
    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    /// The report noting that the fit was on z-scores of `st`.
    pub fn with_standardization(mut self, st: Option<&gmm::Standardization>) -> Self {
        self.standardized = st.map(|st| StandardizedReport {
            center: st.center.clone(),
            scale: st.scale.clone(),
        });
        self
    }

    /// The report with the standard errors and rate of convergence asked for.
    pub fn with_inference(mut self, inference: Inference) -> Self {
        self.inference = inference;
        self
    }

    /// Pretty-printed JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        // Serialising plain numbers, strings and vectors cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// `m` values of the sorted `values` at evenly spaced probabilities 0, 1/(m−1), …, 1 (all of
/// them, sorted, when there are at most `m`), by linear interpolation between order
/// statistics.
pub fn quantile_table(values: &[f64], m: usize) -> Vec<f64> {
    let mut sorted = values.to_vec();
    // A total order: the unstable sort gives the same values, faster.
    sorted.sort_unstable_by(f64::total_cmp);
    if sorted.len() <= m || m < 2 {
        return sorted;
    }
    (0..m)
        .map(|i| quantile_sorted(&sorted, i as f64 / (m - 1) as f64))
        .collect()
}

/// The `q`-quantile of sorted values (linear interpolation between order statistics, R's
/// type 7 and NumPy's default); NaN for no values.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// A model file as read: the mixture, the feature names when the file stores them, and the
/// quantiles of the training log-densities when it stores them.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// The mixture.
    pub model: GaussianMixture,
    /// The feature names (`columns`), if stored.
    pub columns: Option<Vec<String>>,
    /// `log_density_quantiles`, if stored.
    pub log_density_quantiles: Option<Vec<f64>>,
}

/// The fields read besides the parameters.
#[derive(Deserialize)]
struct Extras {
    #[serde(default)]
    log_density_quantiles: Option<Vec<f64>>,
}

/// Parses a model (or report) file's text; `source` names it in errors.
pub fn parse_model(text: &str, source: &str) -> Result<GaussianMixture, CliError> {
    Ok(parse_model_file(text, source)?.model)
}

/// Parses a model (or report) file's text with its feature names; `source` names it in
/// errors. Names must be as many as the features, and distinct.
pub fn parse_model_file(text: &str, source: &str) -> Result<LoadedModel, CliError> {
    let bad = |e: String| CliError::bad_input(format!("{source}: {e}"));
    let file: ModelFile = serde_json::from_str(text)
        .map_err(|e| CliError::bad_input(format!("{source}: not a model file: {e}")))?;
    let model = file.to_model().map_err(bad)?;
    if let Some(names) = &file.columns {
        if names.len() != model.n_features() {
            return Err(bad(format!(
                "columns: {} names for {} features",
                names.len(),
                model.n_features()
            )));
        }
        for (j, name) in names.iter().enumerate() {
            if names[..j].contains(name) {
                return Err(bad(format!("columns[{j}]: {name:?} appears twice")));
            }
        }
    }
    let extras: Extras = serde_json::from_str(text)
        .map_err(|e| CliError::bad_input(format!("{source}: not a model file: {e}")))?;
    Ok(LoadedModel {
        model,
        columns: file.columns,
        log_density_quantiles: extras
            .log_density_quantiles
            .filter(|q| q.len() >= 2 && q.iter().all(|v| v.is_finite())),
    })
}

/// What `em fit --online` writes: the model (a model file for --model and --init) and how the
/// online fit went.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineReportFile {
    /// The fitted parameters.
    #[serde(flatten)]
    pub model: ModelFile,
    /// The online fit.
    pub online: OnlineFitReport,
}

/// How an online fit went.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineFitReport {
    /// Rows in one pass over the file.
    pub n_rows: usize,
    /// Rows at the head that batch EM fitted the start to.
    pub head_rows: usize,
    /// Iterations of that batch fit.
    pub start_iterations: usize,
    /// Updates (mini-batches) over all passes.
    pub updates: usize,
    /// Passes begun.
    pub passes: usize,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// α of the step sizes (t + 2)^(−α).
    pub step_exponent: f64,
    /// Σ log p(x) / rows over the mini-batches of the last pass, each scored at the parameters
    /// before its update.
    pub progressive_mean_log_likelihood: f64,
    /// Each mini-batch's mean log-likelihood before its update.
    pub trace: Vec<f64>,
    /// Whether the fit stopped before its last pass ended.
    pub stopped_early: bool,
}

impl OnlineReportFile {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain numbers, strings and vectors cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Reads a model (or report) file.
pub fn read_model(path: &Path) -> Result<GaussianMixture, CliError> {
    Ok(read_model_file(path)?.model)
}

/// Reads a model (or report) file with its feature names.
pub fn read_model_file(path: &Path) -> Result<LoadedModel, CliError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::bad_input(format!("cannot read model file {source}: {e}")))?;
    parse_model_file(&text, &source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{dmatrix, dvector};

    fn mixture(cov: Covariances) -> GaussianMixture {
        GaussianMixture::new(
            dvector![0.1 + 0.2, 1.0 - (0.1 + 0.2)],
            dmatrix![1.0 / 3.0, -2.0e-300; 5.0, std::f64::consts::PI],
            cov,
        )
        .unwrap()
    }

    fn round_trip(m: &GaussianMixture) -> GaussianMixture {
        let text = serde_json::to_string_pretty(&ModelFile::from_model(m)).unwrap();
        parse_model(&text, "m.json").unwrap()
    }

    #[test]
    fn every_covariance_type_round_trips_bit_for_bit() {
        let a = dmatrix![2.0 / 3.0, 0.1; 0.1, 1.0 / 7.0];
        for cov in [
            Covariances::Full(vec![a.clone(), a.clone() * 3.1]),
            Covariances::Tied(a.clone()),
            Covariances::Diag(dmatrix![0.3, 1.0 / 9.0; 7.0e-5, 1e10 / 3.0]),
            Covariances::Spherical(dvector![1.0 / 3.0, 2.0 / 3.0]),
        ] {
            let m = mixture(cov);
            let back = round_trip(&m);
            // PartialEq compares every f64 exactly.
            assert_eq!(back, m, "{}", m.covariance_type());
        }
    }

    #[test]
    fn awkward_floats_survive_json_exactly() {
        // Values whose shortest representation needs 17 digits, subnormals, extremes.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut values = vec![
            f64::MIN_POSITIVE,
            f64::MAX,
            5e-324,
            0.1 + 0.2,
            1.0 - f64::EPSILON,
            -1126.3164417693745,
        ];
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = f64::from_bits(state);
            if v.is_finite() {
                values.push(v);
            }
        }
        let text = serde_json::to_string(&values).unwrap();
        let back: Vec<f64> = serde_json::from_str(&text).unwrap();
        for (a, b) in values.iter().zip(&back) {
            assert_eq!(a.to_bits(), b.to_bits(), "{a:e} came back as {b:e}");
        }
    }

    fn load_err(json: &str) -> String {
        parse_model(json, "m.json").unwrap_err().message
    }

    #[test]
    fn invalid_files_name_the_field() {
        let base = r#"{"model":"gaussian_mixture","covariance_type":"COV","weights":W,"means":[[0,0],[5,5]],"covariances":C}"#;
        let make =
            |cov: &str, w: &str, c: &str| base.replace("COV", cov).replace("W", w).replace("C", c);
        let eye = "[[1,0],[0,1]]";
        let two = format!("[{eye},{eye}]");
        assert!(parse_model(&make("full", "[0.5,0.5]", &two), "m").is_ok());
        assert_eq!(
            load_err(&make("full", "[-0.5,1.5]", &two)),
            "m.json: weights[0]: negative weight -0.5"
        );
        assert_eq!(
            load_err(&make("full", "[0.5,0.4]", &two)),
            "m.json: weights: they sum to 0.9, not 1"
        );
        assert_eq!(
            load_err(&make("full", "[0.5,0.5]", &format!("[{eye}]"))),
            "m.json: covariances: 1 matrices, expected one per component (2)"
        );
        assert_eq!(
            load_err(&make(
                "full",
                "[0.5,0.5]",
                "[[[1,0],[0,1]],[[1,0,0],[0,1]]]"
            )),
            "m.json: covariances[1][0]: 3 values, expected 2 (a 2×2 matrix)"
        );
        assert_eq!(
            load_err(&make("full", "[0.5,0.5]", "[[[1,0],[0,1]],[[1,2],[2,1]]]")),
            "m.json: covariances[1]: not positive definite"
        );
        assert_eq!(
            load_err(&make(
                "full",
                "[0.5,0.5]",
                "[[[1,0],[0,1]],[[1,0.5],[0.4,1]]]"
            )),
            "m.json: covariances[1]: not symmetric: [1][0] is 0.4 but [0][1] is 0.5"
        );
        assert!(
            load_err(&make(
                "diag",
                "[0.5,0.5]",
                "[[[1,0],[0,1]],[[1,0.5],[0.5,1]]]"
            ))
            .starts_with("m.json: covariances[1][0][1]: is 0.5, but a diag covariance")
        );
        assert!(
            load_err(&make(
                "spherical",
                "[0.5,0.5]",
                "[[[1,0],[0,1]],[[1,0],[0,2]]]"
            ))
            .starts_with("m.json: covariances[1][1][1]: is 2, but a spherical covariance")
        );
        assert!(
            load_err(&make("tied", "[0.5,0.5]", "[[[1,0],[0,1]],[[2,0],[0,1]]]"))
                .starts_with("m.json: covariances[1][0][0]: is 2, but a tied model")
        );
        assert!(load_err(&make("banana", "[0.5,0.5]", &two)).contains("unknown variant `banana`"));
        assert!(load_err("{}").contains("missing field `model`"));
        assert!(load_err(r#"{"model":"zip"}"#).contains("unknown variant `zip`"));
    }
}
