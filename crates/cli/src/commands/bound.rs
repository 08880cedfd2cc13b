//! `em bound`: the log-likelihood ℓ(θ) and EM's lower bound Q(θ | θ_t) + H(q_t) along one
//! coordinate of a model file's mixture θ_t, as CSV (and a figure with `--plot`).

use std::io::Write;

use em_core::Differentiable;
use em_core::gradient::{BoundPoint, bound_profile};
use gmm::GaussianMixture;

use crate::args::BoundArgs;
use crate::commands::{csv_number, model_and_data, write_line};
use crate::data::Table;
use crate::error::CliError;
use crate::output::note;
use crate::plot::{self, bound::BoundFigure};

/// Half-width of the default range, in standard deviations of the feature, for a mean.
const MEAN_HALF_WIDTH: f64 = 3.0;
/// Half-width of the default range for any other coordinate (log-ratios, log-Cholesky
/// entries, log-variances).
const OTHER_HALF_WIDTH: f64 = 2.0;

/// Runs `em bound`: prints `value,log_likelihood,bound,gap`, one line per value of the
/// coordinate.
pub fn run(args: &BoundArgs, quiet: bool, out: &mut dyn Write) -> Result<(), CliError> {
    if let Some(p) = &args.plot {
        plot::check_path(p)?;
    }
    let (loaded, table) = model_and_data(
        &args.model,
        args.file.as_deref(),
        &args.cols,
        &args.reader,
        quiet,
    )?;
    let model = &loaded.model;
    let failed = |e| CliError::from_em(e, "em bound");
    let names = model.coordinate_names();
    // By default the first mean of the last component.
    let default = format!("μ_{}[0]", model.n_components() - 1);
    let index = coordinate_index(&names, args.parameter.as_deref().unwrap_or(&default), args)?;
    let eta = model.coordinates().map_err(failed)?;
    let here = eta[index];
    let (from, to) = range(args, here, default_half_width(model, &table, index))?;
    let values = evenly_spaced(from, to, args.points);
    check_values(model, &eta, index, &values, &names[index])?;
    let profile = bound_profile(model, &table.x, index, &values).map_err(failed)?;
    write_line(out, "value,log_likelihood,bound,gap")?;
    for p in &profile {
        let row = [p.value, p.objective, p.bound, p.objective - p.bound].map(csv_number);
        write_line(out, &row.join(","))?;
    }
    if let Some(path) = &args.plot {
        draw(path, &profile, here, &names[index], &table)?;
        note(quiet, &format!("em: wrote the plot to {}", path.display()));
    }
    out.flush()
        .map_err(|e| CliError::from_write(e, "standard output"))
}

/// The index of the coordinate named `wanted` among the model's coordinate `names`; an
/// unknown name is bad input listing them.
fn coordinate_index(names: &[String], wanted: &str, args: &BoundArgs) -> Result<usize, CliError> {
    names.iter().position(|n| n == wanted).ok_or_else(|| {
        CliError::bad_input(format!(
            "--parameter {wanted:?}: the model in {} has no such coordinate; the bound is drawn \
             along unconstrained coordinates (the weights as log-ratios, the covariances as \
             log-Cholesky factors or log-variances), which are: {}",
            args.model.display(),
            names.join(", ")
        ))
    })
}

/// The default half-width of the range around θ_t's value of coordinate `index`: 3 standard
/// deviations of the feature's observed values for a mean, 2 otherwise (and for a feature
/// without spread).
fn default_half_width(model: &GaussianMixture, table: &Table, index: usize) -> f64 {
    let (k, d) = (model.n_components(), model.n_features());
    // The coordinates: K − 1 log-ratios of the weights, K·D means, then the covariances.
    let Some(offset) = index.checked_sub(k - 1).filter(|&i| i < k * d) else {
        return OTHER_HALF_WIDTH;
    };
    let observed: Vec<f64> = table
        .x
        .column(offset % d)
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let sd = standard_deviation(&observed);
    if sd.is_finite() && sd > 0.0 {
        MEAN_HALF_WIDTH * sd
    } else {
        OTHER_HALF_WIDTH
    }
}

/// The (population) standard deviation of `values`; NaN for none.
fn standard_deviation(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// `--from` and `--to`, each defaulting to `here` ∓ `half_width`; bad input unless from < to.
fn range(args: &BoundArgs, here: f64, half_width: f64) -> Result<(f64, f64), CliError> {
    let from = args.from.unwrap_or(here - half_width);
    let to = args.to.unwrap_or(here + half_width);
    if from < to {
        Ok((from, to))
    } else {
        Err(CliError::bad_input(format!(
            "--from {from} is not below --to {to} (θ_t's value is {here}; the defaults are \
             {} and {})",
            here - half_width,
            here + half_width
        )))
    }
}

/// Checks that the model at coordinates `eta` with coordinate `index` set to each of `values`
/// is a valid mixture:
/// far enough out, a weight or a variance underflows to 0 or overflows, which is bad input
/// (the range asked for) rather than a failure of the computation.
fn check_values(
    model: &GaussianMixture,
    eta: &[f64],
    index: usize,
    values: &[f64],
    name: &str,
) -> Result<(), CliError> {
    for &v in values {
        let mut moved = eta.to_vec();
        moved[index] = v;
        if model.clone().set_coordinates(&moved).is_err() {
            return Err(CliError::bad_input(format!(
                "--from/--to: at {name} = {v} the mixture is not valid (a weight or a \
                 variance underflows to 0 or overflows); choose a narrower range"
            )));
        }
    }
    Ok(())
}

/// `n` ≥ 2 evenly spaced values from `from` to `to`, both included.
fn evenly_spaced(from: f64, to: f64, n: usize) -> Vec<f64> {
    let last = (n - 1) as f64;
    (0..n)
        .map(|i| match i {
            0 => from,
            _ if i == n - 1 => to,
            _ => from + (to - from) * (i as f64 / last),
        })
        .collect()
}

/// Draws the profile to `path`.
fn draw(
    path: &std::path::Path,
    profile: &[BoundPoint],
    here: f64,
    coordinate: &str,
    table: &Table,
) -> Result<(), CliError> {
    let figure = BoundFigure {
        points: profile,
        at: here,
        coordinate,
        title: format!(
            "{}: log-likelihood and EM's lower bound along {coordinate}",
            plot::short_name(&table.source)
        ),
    };
    plot::render(&figure, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_evenly_spaced_with_both_ends() {
        assert_eq!(evenly_spaced(-1.0, 1.0, 5), [-1.0, -0.5, 0.0, 0.5, 1.0]);
        let v = evenly_spaced(0.1, 0.7, 201);
        assert_eq!((v[0], v[200], v.len()), (0.1, 0.7, 201));
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn standard_deviation_of_a_column() {
        assert_eq!(standard_deviation(&[1.0, 3.0]), 1.0);
        assert!(standard_deviation(&[]).is_nan());
    }
}
