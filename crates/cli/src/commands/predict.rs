//! `em predict`: the most probable component of every row (and, with `--proba`, every
//! component's probability), as CSV.

use std::io::Write;

use crate::args::PredictArgs;
use crate::commands::{csv_number, write_line};
use crate::error::CliError;
use crate::json;

/// Runs `em predict`: prints `component` (0-based) per row, and with `--proba` the columns
/// `p0 … p{K-1}` after it.
pub fn run(args: &PredictArgs, quiet: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let model = json::read_model(&args.model)?;
    let table = crate::commands::load_data(Some(&args.file), &args.reader, quiet)?;
    if table.x.ncols() != model.n_features() {
        return Err(CliError::bad_input(format!(
            "{} has {} column{}, but the model in {} has {} features",
            table.source,
            table.x.ncols(),
            if table.x.ncols() == 1 { "" } else { "s" },
            args.model.display(),
            model.n_features()
        )));
    }
    let labels = model
        .predict(&table.x)
        .map_err(|e| CliError::from_em(e, "prediction failed"))?;
    if args.proba {
        let proba = model
            .predict_proba(&table.x)
            .map_err(|e| CliError::from_em(e, "prediction failed"))?;
        let header: Vec<String> = std::iter::once("component".to_string())
            .chain((0..model.n_components()).map(|k| format!("p{k}")))
            .collect();
        write_line(out, &header.join(","))?;
        for (i, label) in labels.iter().enumerate() {
            let mut line = label.to_string();
            for k in 0..model.n_components() {
                line.push(',');
                line.push_str(&csv_number(proba[(i, k)]));
            }
            write_line(out, &line)?;
        }
    } else {
        write_line(out, "component")?;
        for label in &labels {
            write_line(out, &label.to_string())?;
        }
    }
    out.flush()
        .map_err(|e| CliError::from_write(e, "standard output"))
}
