//! `em predict`: for every row of FILE, its input columns (or row number, or the row with its
//! missing values imputed), its most probable component, optionally every component's
//! probability, its log-density under the mixture, and optionally whether it is an outlier;
//! as CSV. Rows with missing values are predicted from their observed values.

use std::io::Write;

use crate::args::PredictArgs;
use crate::commands::{csv_number, model_and_data, write_line};
use crate::error::CliError;
use crate::json;
use crate::output::note;

/// Runs `em predict`. Prints a header, then one line per row of FILE: the model's columns of
/// the row as read (a missing value as an empty field; with `--impute`, filled in by its
/// conditional expectation given the row's observed values; `row`, 1-based, with
/// `--no-input`), `component` (0-based), with
/// `--proba` the columns `p0 … p{K-1}`, `log_density` (log p(x) under the mixture, as
/// scikit-learn's `score_samples`), and with `--outliers Q` a column `outlier` (`true` when
/// the log-density is below the threshold, see [`PredictArgs::outliers`]).
pub fn run(args: &PredictArgs, quiet: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let (loaded, table) = model_and_data(
        &args.model,
        Some(&args.file),
        &args.cols,
        &args.reader,
        quiet,
    )?;
    let model_source = args.model.display().to_string();
    let model = &loaded.model;
    let failed = |e| CliError::from_em(e, "prediction failed");
    let labels = model.predict(&table.x).map_err(failed)?;
    let imputed = if args.impute {
        Some(model.impute(&table.x).map_err(failed)?)
    } else {
        None
    };
    let shown = imputed.as_ref().unwrap_or(&table.x);
    let proba = if args.proba {
        Some(model.predict_proba(&table.x).map_err(failed)?)
    } else {
        None
    };
    let log_density = model.score_samples(&table.x).map_err(failed)?;
    let threshold = match args.outliers {
        None => None,
        Some(q) => Some(match &loaded.log_density_quantiles {
            Some(table) => quantile_of_table(table, q),
            None => {
                let mut sorted = log_density.as_slice().to_vec();
                sorted.sort_by(f64::total_cmp);
                note(
                    quiet,
                    &format!(
                        "em: note: {model_source} does not store the training log-densities; \
                         the --outliers threshold is the {q}-quantile of the {} rows being \
                         predicted",
                        sorted.len()
                    ),
                );
                json::quantile_sorted(&sorted, q)
            }
        }),
    };

    let mut header: Vec<String> = if args.no_input {
        vec!["row".into()]
    } else {
        table.columns.clone()
    };
    header.push("component".into());
    if proba.is_some() {
        header.extend((0..model.n_components()).map(|k| format!("p{k}")));
    }
    header.push("log_density".into());
    if threshold.is_some() {
        header.push("outlier".into());
    }
    write_line(out, &header.join(","))?;
    let mut fields: Vec<String> = Vec::with_capacity(header.len());
    for (i, label) in labels.iter().enumerate() {
        fields.clear();
        if args.no_input {
            fields.push((i + 1).to_string());
        } else {
            fields.extend((0..shown.ncols()).map(|j| field(shown[(i, j)])));
        }
        fields.push(label.to_string());
        if let Some(p) = &proba {
            fields.extend((0..model.n_components()).map(|k| csv_number(p[(i, k)])));
        }
        fields.push(csv_number(log_density[i]));
        if let Some(t) = threshold {
            fields.push((log_density[i] < t).to_string());
        }
        write_line(out, &fields.join(","))?;
    }
    out.flush()
        .map_err(|e| CliError::from_write(e, "standard output"))
}

/// A value of the input as CSV: a missing value (NaN) as an empty field, as it was read.
fn field(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        csv_number(v)
    }
}

/// The `q`-quantile from a table of quantiles at evenly spaced probabilities 0, 1/(m−1), …, 1
/// (linear interpolation between them).
fn quantile_of_table(table: &[f64], q: f64) -> f64 {
    json::quantile_sorted(table, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let v = [4.0, 1.0, 3.0, 2.0, 5.0];
        let t = json::quantile_table(&v, 1001);
        assert_eq!(t, [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(quantile_of_table(&t, 0.5), 3.0);
        assert_eq!(quantile_of_table(&t, 0.125), 1.5);
        let many: Vec<f64> = (0..5001).map(f64::from).collect();
        let t = json::quantile_table(&many, 1001);
        assert_eq!(t.len(), 1001);
        assert_eq!(quantile_of_table(&t, 0.01), 50.0);
    }
}
