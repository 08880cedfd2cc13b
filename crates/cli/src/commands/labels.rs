//! `em fit --labels COLUMN`: a column of known components for a semi-supervised fit.

use crate::args::{FitArgs, InitArg, MissingArg, ModelArg, ReaderArgs};
use crate::data::Table;
use crate::error::CliError;

/// What `--labels` gave: the column's name and one label per row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Labels {
    /// The label column's name (as the header spells it, or `x<j>`).
    pub column: String,
    /// The known component of each row, or `None`.
    pub labels: Vec<Option<usize>>,
}

impl Labels {
    /// Rows with a label.
    pub fn n_labelled(&self) -> usize {
        self.labels.iter().flatten().count()
    }

    /// The summary's line: how many rows were labelled, and what the trace is.
    pub fn summary_line(&self) -> String {
        format!(
            "labels           {} of {} rows labelled (column {}); EM maximised log p(x, labels)\n",
            self.n_labelled(),
            self.labels.len(),
            self.column
        )
    }
}

/// Refuses `--labels` with what it does not support: another model than the Gaussian mixture,
/// a model file as the start, `--missing drop` (`--stream` is refused by the argument parser).
pub(crate) fn refuse_unsupported(args: &FitArgs) -> Result<(), CliError> {
    if args.labels.is_none() {
        return Ok(());
    }
    if args.model.kind != ModelArg::Gaussian {
        return Err(CliError::bad_input(
            "--labels is supported for Gaussian mixtures only (not with --model)",
        ));
    }
    if matches!(args.em.init, InitArg::File(_)) {
        return Err(CliError::bad_input(
            "--labels cannot start from a model file (--init PARAMS.json); choose an --init \
             method",
        ));
    }
    if args.reader.missing == MissingArg::Drop {
        return Err(CliError::bad_input(
            "--labels with --missing drop would drop every unlabelled row; drop the rows with \
             missing feature values beforehand",
        ));
    }
    Ok(())
}

/// How the file is read with `--labels`: missing values kept, so that an empty label is an
/// unlabelled row (a missing feature value is refused by [`split`]).
pub(crate) fn reader(reader: &ReaderArgs) -> ReaderArgs {
    ReaderArgs {
        missing: MissingArg::Model,
        ..reader.clone()
    }
}

/// Takes the label column `name` (a header name or a 1-based position) out of `table`: its
/// values become the labels (missing → `None`; a whole number in 0..K → that component),
/// the other columns stay the features.
///
/// # Errors
/// Bad input naming the column for an unknown column or a table of one column; naming the
/// line for a label that is not a whole number in 0..K, and the line and column of a missing
/// feature value.
pub(crate) fn split(table: &mut Table, name: &str, k: usize) -> Result<Labels, CliError> {
    let j = column_index(table, name)?;
    let (n, d) = table.x.shape();
    if d < 2 {
        return Err(CliError::bad_input(format!(
            "--labels {name:?}: {} needs at least one feature column besides the labels",
            table.source
        )));
    }
    let column = table.columns[j].clone();
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let v = table.x[(i, j)];
        if v.is_nan() {
            labels.push(None);
            continue;
        }
        if !(v >= 0.0 && v.fract() == 0.0 && v < k as f64) {
            return Err(CliError::bad_input(format!(
                "{}: line {}, column {} ({column}): label {v} is not a component; labels are \
                 0..{} (K = {k}), or empty/NA for an unlabelled row",
                table.source,
                table.lines.line(i),
                j + 1,
                k - 1
            )));
        }
        labels.push(Some(v as usize));
    }
    table.x = table.x.clone().remove_column(j);
    table.columns.remove(j);
    if let Some((i, c)) = (0..n).find_map(|i| {
        (0..d - 1)
            .find(|&c| table.x[(i, c)].is_nan())
            .map(|c| (i, c))
    }) {
        return Err(CliError::bad_input(format!(
            "{}: line {}: the value of column {} is missing; a semi-supervised fit (--labels) \
             needs every feature value: remove the row or fill the value in",
            table.source,
            table.lines.line(i),
            table.columns[c]
        )));
    }
    Ok(Labels { column, labels })
}

/// The index of column `name` among the table's: a header name, or a 1-based position.
fn column_index(table: &Table, name: &str) -> Result<usize, CliError> {
    if let Some(j) = table.columns.iter().position(|c| c == name) {
        return Ok(j);
    }
    match name.parse::<usize>() {
        Ok(p) if (1..=table.columns.len()).contains(&p) => Ok(p - 1),
        _ => Err(CliError::bad_input(format!(
            "--labels {name:?}: {} has no such column (its columns: {})",
            table.source,
            table.columns.join(", ")
        ))),
    }
}
