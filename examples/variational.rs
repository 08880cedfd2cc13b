//! Variational Bayes on Old Faithful: a Gaussian mixture with more components than the data
//! need, under a Dirichlet-process or a sparse Dirichlet prior on the weights, fitted by the
//! EM driver. The posterior empties the components the data do not support, so the number of
//! clusters comes out of one fit instead of a BIC search (compare `--example faithful`).
//!
//! Run with `cargo run --release --example variational`.

use em::core::Em;
use em::family::CovarianceType;
use em::variational::{BayesianGaussianMixture, WeightPrior};
use nalgebra::DMatrix;

/// The bundled data, compiled in so the example runs from any directory.
const FAITHFUL: &str = include_str!("../data/faithful.csv");

/// The numeric rows of a CSV with one header line.
fn parse(text: &str) -> Result<DMatrix<f64>, String> {
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            l.split(',')
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|_| format!("line {}: {v:?} is not a number", i + 2))
                })
                .collect()
        })
        .collect::<Result<_, _>>()?;
    let d = rows.first().map_or(0, Vec::len);
    Ok(DMatrix::from_fn(rows.len(), d, |i, j| rows[i][j]))
}

/// Fits a K = 8 mixture with the given weight prior and covariance type (best of 4 k-means
/// starts) and returns it with the final ELBO.
fn fit(
    x: &DMatrix<f64>,
    prior: WeightPrior,
    kind: CovarianceType,
) -> Result<(BayesianGaussianMixture, f64), em::EmError> {
    let builder = BayesianGaussianMixture::builder(8)
        .weight_prior(prior)
        .covariance_type(kind)
        .weight_concentration_prior(0.01);
    let fitted = Em::new()
        .n_init(4)
        .seed(2026)
        .max_iter(5_000)
        .fit_restarts(&builder, x)?;
    let elbo = fitted.report.objective();
    Ok((fitted.model, elbo))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let x = parse(FAITHFUL)?;
    println!(
        "Old Faithful: {} eruptions, (duration, waiting time); K = 8 components\n",
        x.nrows()
    );
    for prior in [
        WeightPrior::DirichletProcess,
        WeightPrior::DirichletDistribution,
    ] {
        for kind in CovarianceType::ALL {
            let (model, elbo) = fit(&x, prior, kind)?;
            let w = model.weights();
            println!(
                "{:<22} {:<9} ELBO {:>9.3}  effective components {}",
                prior.as_str(),
                kind.as_str(),
                elbo,
                model.n_effective_components(0.01)
            );
            for k in (0..w.len()).filter(|&k| w[k] > 0.01) {
                println!(
                    "    weight {:.3}  mean ({:.3}, {:.2})",
                    w[k],
                    model.means()[(k, 0)],
                    model.means()[(k, 1)]
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_dirichlet_process_fit_finds_faithfuls_two_eruption_types() {
        let x = parse(FAITHFUL).expect("bundled data parse");
        let (model, elbo) =
            fit(&x, WeightPrior::DirichletProcess, CovarianceType::Full).expect("fit");
        assert!(elbo.is_finite());
        let w = model.weights();
        let kept: Vec<usize> = (0..8).filter(|&k| w[k] > 0.01).collect();
        assert_eq!(kept.len(), 2, "weights {w}");
        // Short eruptions with short waits, long eruptions with long waits.
        let mut durations: Vec<f64> = kept.iter().map(|&k| model.means()[(k, 0)]).collect();
        durations.sort_by(f64::total_cmp);
        assert!(durations[0] < 2.5 && durations[1] > 4.0, "{durations:?}");
    }
}
