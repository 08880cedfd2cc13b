//! `em zip`: fit a zero-inflated Poisson to a one-column file of counts.

use std::io::Write;

use em_core::Em;
use gmm::ZeroInflatedPoisson;
use gmm::zip::counts_from_f64;
use serde::Serialize;

use crate::args::ZipArgs;
use crate::data::{self, Table};
use crate::error::CliError;
use crate::inference::{self, Inference};
use crate::json::StoppingReport;
use crate::output::{self, note};

/// The bundled counts: outpatient doctor visits (`mdvis`) of the RAND Health Insurance
/// Experiment, as shipped by statsmodels (public domain).
const DOCTOR_VISITS_CSV: &str = include_str!("../../../../data/doctor_visits.csv");
const DOCTOR_VISITS_NAME: &str = "the bundled RAND HIE doctor-visit counts";

/// The JSON report of `em zip`.
#[derive(Debug, Serialize)]
struct ZipReport {
    model: &'static str,
    pi: f64,
    lambda: f64,
    n_obs: usize,
    n_zeros: usize,
    expected_zeros: f64,
    log_likelihood: f64,
    mean_log_likelihood: f64,
    n_iter: usize,
    converged: bool,
    stopping: StoppingReport,
    estimated_distance: Option<f64>,
    estimated_gap: Option<f64>,
    trace: Vec<f64>,
    bic: f64,
    aic: f64,
    n_parameters: usize,
    #[serde(flatten)]
    inference: Inference,
}

/// Runs `em zip`.
pub fn run(args: &ZipArgs, quiet: bool, out: &mut dyn Write) -> Result<(), CliError> {
    if let Some(p) = &args.output {
        output::check_writable(p, "--output")?;
    }
    let table = match &args.file {
        Some(p) => data::read(p)?,
        None => data::parse(DOCTOR_VISITS_CSV, DOCTOR_VISITS_NAME)?,
    };
    let counts = counts_of(&table)?;
    let em = Em::new()
        .stopping(args.stop.stopping())
        .max_iter(args.stop.max_iter);
    let fitted = ZeroInflatedPoisson::fit(&counts, &em).map_err(|e| {
        let mut err = CliError::from_em(e, "fit failed");
        err.message = format!("{}: {}", table.source, err.message);
        err
    })?;
    let m = &fitted.model;
    inference::caveats(&args.inference, fitted.report.converged, 0.0, quiet);
    let inference = inference::analyse(m, counts.as_slice(), &args.inference)?;
    let n = counts.len();
    let ll = fitted.report.objective();
    let p = m.n_parameters();
    let report = ZipReport {
        model: "zero_inflated_poisson",
        pi: m.pi(),
        lambda: m.lambda(),
        n_obs: n,
        n_zeros: counts.iter().filter(|&&y| y == 0).count(),
        expected_zeros: n as f64 * m.ln_pmf(0).exp(),
        log_likelihood: ll,
        mean_log_likelihood: ll / n as f64,
        n_iter: fitted.report.iterations,
        converged: fitted.report.converged,
        stopping: fitted.report.stopping.into(),
        estimated_distance: fitted.report.estimated_distance,
        estimated_gap: fitted.report.estimated_gap,
        trace: fitted.report.trace[1..].to_vec(),
        bic: em_core::criteria::bic(ll, p, n),
        aic: em_core::criteria::aic(ll, p),
        n_parameters: p,
        inference,
    };
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| CliError::failed(format!("cannot encode the report: {e}")))?;
    if let Some(p) = &args.output {
        output::write_atomic(p, json.as_bytes())?;
        note(quiet, &format!("em: wrote the report to {}", p.display()));
    }
    let text = if args.json {
        json
    } else {
        let mut text = format!(
            "Zero-inflated Poisson fitted to {source}: {n} counts\n\
             structural zeros π  {pi:.6}\n\
             Poisson mean λ      {lambda:.6}\n\
             zeros               {zeros} observed, {expected:.1} expected under the fit\n\
             converged           {conv}, after {iters} iterations ({rule} < {tol:e})\n\
             log-likelihood      {ll:.3} (mean per row {mean:.5})\n\
             BIC                 {bic:.3} (lower is better; 2 free parameters)\n\
             AIC                 {aic:.3}\n",
            source = table.source,
            pi = report.pi,
            lambda = report.lambda,
            zeros = report.n_zeros,
            expected = report.expected_zeros,
            conv = if report.converged { "yes" } else { "no" },
            iters = report.n_iter,
            rule = fitted.report.stopping.name(),
            tol = fitted.report.stopping.tol(),
            mean = report.mean_log_likelihood,
            bic = report.bic,
            aic = report.aic,
        );
        // `em zip` has no --accelerate to suggest.
        text.push_str(&report.inference.text(&[], false));
        text
    };
    output::print(out, &text)
}

/// The table's single column as counts; a value that is not a count is reported by line.
fn counts_of(table: &Table) -> Result<Vec<u64>, CliError> {
    if table.x.ncols() != 1 {
        return Err(CliError::bad_input(format!(
            "{}: expected one column of counts, found {} columns",
            table.source,
            table.x.ncols()
        )));
    }
    counts_from_f64(table.x.as_slice()).map_err(|e| {
        let row = match &e {
            em_core::EmError::InvalidInput { row, .. }
            | em_core::EmError::NonFinite { row, .. } => Some(*row),
            _ => None,
        };
        match row {
            Some(row) => {
                let line = table.lines.line(row);
                let reason = match e {
                    em_core::EmError::InvalidInput { reason, .. } => reason,
                    other => other.to_string(),
                };
                CliError::bad_input(format!("{}, line {line}: {reason}", table.source))
            }
            None => CliError::from_em(e, "reading counts failed"),
        }
    })
}
