//! `--std-errors` and `--rate` of `em fit` and `em zip`: the standard errors of a fitted
//! model's parameters and EM's rate of convergence at the fit, from the library's
//! [`em_core::information`], as the summary prints them and the JSON report holds them.

use std::fmt::Write;

use em_core::Differentiable;
use em_core::information::{self, ConvergenceRate, InformationMethod, StandardErrors};
use serde::Serialize;

use crate::args::InferenceArgs;
use crate::error::CliError;
use crate::output::note;
use crate::summary::sig;

/// Above this rate of convergence, the summary of `em fit` suggests `--accelerate`.
pub const SLOW_RATE: f64 = 0.9;

/// What `--std-errors` and `--rate` add to a report; both absent without the options, so that
/// reports without them are unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inference {
    /// With `--std-errors`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_errors: Option<StandardErrorsReport>,
    /// With `--rate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_of_convergence: Option<RateReport>,
}

/// `"standard_errors": {"method": "observed", "parameters": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StandardErrorsReport {
    /// `observed` or `empirical`.
    pub method: &'static str,
    /// One entry per parameter of the model (weights, means, covariances; or π, λ).
    pub parameters: Vec<ParameterError>,
}

/// One parameter's estimate and standard error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParameterError {
    /// `π_0`, `μ_1[0]`, `Σ[1,0]`, `λ`, …
    pub name: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error.
    pub standard_error: f64,
}

/// `"rate_of_convergence": {"rate": 0.99, "iterations_per_digit": 229, "eigenvalues": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateReport {
    /// The largest modulus of the eigenvalues of EM's Jacobian at the fit.
    pub rate: f64,
    /// Plain EM iterations per tenfold reduction of the distance to the optimum, −1 / log₁₀ λ
    /// (null when λ ≥ 1: EM does not converge linearly there).
    pub iterations_per_digit: Option<f64>,
    /// The eigenvalues' real parts, largest first.
    pub eigenvalues: Vec<f64>,
}

/// The name of an information method, as `--std-errors` and the report spell it.
fn method_name(method: InformationMethod) -> &'static str {
    match method {
        InformationMethod::Observed => "observed",
        InformationMethod::Empirical => "empirical",
    }
}

impl From<StandardErrors> for StandardErrorsReport {
    fn from(se: StandardErrors) -> Self {
        let parameters = se
            .names
            .into_iter()
            .zip(se.estimates)
            .zip(se.standard_errors)
            .map(|((name, estimate), standard_error)| ParameterError {
                name,
                estimate,
                standard_error,
            })
            .collect();
        StandardErrorsReport {
            method: method_name(se.method),
            parameters,
        }
    }
}

impl From<ConvergenceRate> for RateReport {
    fn from(r: ConvergenceRate) -> Self {
        let per_digit = r.iterations_per_digit();
        RateReport {
            rate: r.rate,
            iterations_per_digit: per_digit.is_finite().then_some(per_digit),
            eigenvalues: r.eigenvalues,
        }
    }
}

/// What `args` asks for, of `model` fitted to `data` (which should be at a maximum of the
/// likelihood).
///
/// # Errors
/// A failure (exit status 1) naming the option when the information is not positive definite
/// or a parameter is on the boundary of its space ([`em_core::EmError::NotAvailable`]).
pub fn analyse<M: Differentiable>(
    model: &M,
    data: &M::Data,
    args: &InferenceArgs,
) -> Result<Inference, CliError> {
    let standard_errors = match args.std_errors {
        Some(method) => Some(
            information::standard_errors(model, data, method.into())
                .map_err(|e| CliError::from_em(e, "--std-errors"))?
                .into(),
        ),
        None => None,
    };
    let rate_of_convergence = if args.rate {
        Some(
            information::convergence_rate(model, data)
                .map_err(|e| CliError::from_em(e, "--rate"))?
                .into(),
        )
    } else {
        None
    };
    Ok(Inference {
        standard_errors,
        rate_of_convergence,
    })
}

/// The warnings about what `args` computes at a fit that may not be a maximum of the
/// likelihood: one that did not converge, or (`reg_covar` > 0) one fitted with the ridge.
/// Printed on standard error unless `quiet`; returned for the JSON report.
pub fn caveats(args: &InferenceArgs, converged: bool, reg_covar: f64, quiet: bool) -> Vec<String> {
    let mut out = Vec::new();
    let what = match (args.std_errors.is_some(), args.rate) {
        (false, false) => return out,
        (true, false) => "the standard errors are",
        (false, true) => "the rate of convergence is",
        (true, true) => "the standard errors and the rate of convergence are",
    };
    if !converged {
        out.push(format!(
            "the fit did not converge, so {what} computed at its last parameters, not at the \
             maximum of the likelihood; raise --max-iter"
        ));
    }
    if args.std_errors.is_some() && reg_covar > 0.0 {
        out.push(format!(
            "the model was fitted with --reg-covar {reg_covar}, a ridge that is not in the \
             likelihood, so it is slightly off the maximum and so are the standard errors; \
             --reg-covar 0 for exact ones"
        ));
    }
    for t in &out {
        note(quiet, &format!("em: warning: {t}"));
    }
    out
}

impl Inference {
    /// The summary's sections: the table of standard errors and the rate of convergence,
    /// each after a blank line; empty when neither was asked for. `columns` (when not empty)
    /// names the columns that the indices `[j]` of the parameters' names refer to. With
    /// `suggest_accelerate`, a rate above [`SLOW_RATE`] adds that `--accelerate` helps most on
    /// such fits.
    pub fn text(&self, columns: &[String], suggest_accelerate: bool) -> String {
        let mut s = String::new();
        if let Some(se) = &self.standard_errors {
            s.push('\n');
            s.push_str(&standard_errors_table(se));
            if !columns.is_empty() {
                let named: Vec<String> = columns
                    .iter()
                    .enumerate()
                    .map(|(j, c)| format!("{j} {c}"))
                    .collect();
                let _ = writeln!(s, "  ([j] is column j: {})", named.join(", "));
            }
        }
        if let Some(r) = &self.rate_of_convergence {
            s.push('\n');
            s.push_str(&rate_text(r, suggest_accelerate));
        }
        s
    }
}

/// `Standard errors (observed information)` and a row per parameter: name, estimate,
/// standard error.
fn standard_errors_table(se: &StandardErrorsReport) -> String {
    let rows: Vec<[String; 3]> = se
        .parameters
        .iter()
        .map(|p| [p.name.clone(), sig(p.estimate, 6), sig(p.standard_error, 4)])
        .collect();
    let header = ["parameter", "estimate", "std. error"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut s = String::new();
    let _ = writeln!(s, "Standard errors ({} information)", se.method);
    for [name, estimate, error] in std::iter::once(header.map(String::from)).chain(rows) {
        let _ = writeln!(s, "  {name:<w0$}  {estimate:>w1$}  {error:>w2$}");
    }
    s
}

/// `rate of convergence λ = 0.993 (…): plain EM gains one digit every 328 iterations`, and
/// with `suggest_accelerate` a hint when λ > [`SLOW_RATE`].
fn rate_text(r: &RateReport, suggest_accelerate: bool) -> String {
    let lambda = sig(r.rate, 3);
    let speed = match r.iterations_per_digit {
        _ if r.rate <= 0.0 => "plain EM reaches the optimum in one step".to_string(),
        Some(n) => format!("plain EM gains one digit every {} iterations", sig(n, 3)),
        None => "plain EM does not converge linearly here (λ ≥ 1): the fit may not be at a \
                 maximum of the likelihood"
            .to_string(),
    };
    let mut s = format!(
        "rate of convergence λ = {lambda} (largest fraction of missing information): {speed}\n"
    );
    if suggest_accelerate && r.rate > SLOW_RATE {
        s.push_str(
            "  (λ > 0.9: --accelerate (SQUAREM) helps most on such fits, reaching the same \
             fit in several times fewer E-steps)\n",
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Inference {
        Inference {
            standard_errors: Some(StandardErrorsReport {
                method: "observed",
                parameters: vec![
                    ParameterError {
                        name: "π".into(),
                        estimate: 0.300733871,
                        standard_error: 0.0033241,
                    },
                    ParameterError {
                        name: "λ".into(),
                        estimate: 4.09061,
                        standard_error: 0.0176472,
                    },
                ],
            }),
            rate_of_convergence: Some(RateReport {
                rate: 0.99,
                iterations_per_digit: Some(229.1),
                eigenvalues: vec![0.99, 0.2],
            }),
        }
    }

    #[test]
    fn table_aligns_names_by_characters() {
        let text = report().text(&[], true);
        assert!(
            text.starts_with("\nStandard errors (observed information)\n"),
            "{text}"
        );
        let rows: Vec<&str> = text.lines().skip(2).take(3).collect();
        assert_eq!(rows[0], "  parameter  estimate  std. error");
        assert_eq!(rows[1], "  π          0.300734    0.003324");
        assert_eq!(rows[2], "  λ           4.09061     0.01765");
        assert!(text.contains(
            "rate of convergence λ = 0.99 (largest fraction of missing information): plain \
             EM gains one digit every 229 iterations"
        ));
        assert!(text.contains("--accelerate"));
        assert!(!report().text(&[], false).contains("--accelerate"));
        let named = report().text(&["a".into(), "b".into()], false);
        assert!(
            named.contains("\n  ([j] is column j: 0 a, 1 b)\n"),
            "{named}"
        );
    }

    #[test]
    fn absent_parts_print_and_serialise_nothing() {
        let none = Inference::default();
        assert_eq!(none.text(&["a".into()], true), "");
        assert_eq!(serde_json::to_string(&none).unwrap(), "{}");
        let json = serde_json::to_value(report()).unwrap();
        assert_eq!(json["standard_errors"]["parameters"][1]["name"], "λ");
        assert_eq!(json["rate_of_convergence"]["iterations_per_digit"], 229.1);
    }

    #[test]
    fn caveats_name_what_is_off() {
        let args = InferenceArgs {
            std_errors: Some(crate::args::InformationArg::Observed),
            rate: false,
        };
        assert!(caveats(&args, true, 0.0, true).is_empty());
        let c = caveats(&args, false, 1e-6, true);
        assert_eq!(c.len(), 2);
        assert!(c[0].contains("the standard errors are computed at its last parameters"));
        assert!(c[1].contains("--reg-covar 0"));
        assert!(caveats(&InferenceArgs::default(), false, 1.0, true).is_empty());
    }
}
