//! The statistical warnings of `em fit` and `em select` (`em: warning: …` on standard error,
//! `warnings` in the JSON): the library's [`gmm::diagnostics`] with the column names of the
//! data and the command line's options.
//!
//! The checks of the data and of the planned model run before the fit; if the fit then
//! fails, they are the likely cause and join the error message ([`explain`]) instead of
//! being printed separately. The checks of the fitted model run after it.

use gmm::diagnostics::{self, Warning};
use gmm::{CovarianceType, GaussianMixture};

use crate::data::Table;
use crate::error::CliError;
use crate::output::note;

/// A warning as the command line prints it: the library's text, and for a column to drop,
/// the option that drops it.
///
/// ```
/// use gmm::diagnostics::{Column, Warning};
/// let w = Warning::ConstantColumn {
///     column: Column { index: 2, name: Some("c".into()) },
///     value: 3.0,
/// };
/// assert!(em_cli::warnings::text(&w).ends_with("drop it (--drop c)"));
/// ```
pub fn text(w: &Warning) -> String {
    let drop = match w {
        Warning::ConstantColumn { column, .. } => Some(column),
        Warning::DuplicateColumns { second, .. } => Some(second),
        _ => None,
    };
    match drop {
        Some(c) => {
            let name = c.name.clone().unwrap_or_else(|| (c.index + 1).to_string());
            format!("{w} (--drop {name})")
        }
        None => w.to_string(),
    }
}

/// The checks that need no fit: the columns of `table`, and K components of `kind` against
/// its rows.
pub fn before_fit(table: &Table, k: usize, kind: CovarianceType) -> Vec<Warning> {
    let mut w = diagnostics::check_columns(&table.x, Some(&table.columns));
    w.extend(diagnostics::check_design(&table.x, k, kind));
    w
}

/// The checks of a fitted model (in the units of `table`) against `table`.
pub fn after_fit(model: &GaussianMixture, table: &Table) -> Result<Vec<Warning>, CliError> {
    diagnostics::check_model(model, &table.x, Some(&table.columns))
        .map_err(|e| CliError::from_em(e, "checking the fitted model failed"))
}

/// Prints every warning as `em: warning: …` on standard error, unless `quiet`, and returns
/// their texts (for the JSON report).
pub fn print(warnings: &[Warning], quiet: bool) -> Vec<String> {
    let texts: Vec<String> = warnings.iter().map(text).collect();
    for t in &texts {
        note(quiet, &format!("em: warning: {t}"));
    }
    texts
}

/// A failed fit's error with the warnings found before it, the likely cause, appended.
pub fn explain(mut e: CliError, before: &[Warning]) -> CliError {
    if !before.is_empty() {
        let causes: Vec<String> = before.iter().map(text).collect();
        e.message = format!("{}; the likely cause: {}", e.message, causes.join("; and "));
    }
    e
}
