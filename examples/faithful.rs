//! Old Faithful: model selection by BIC over the number of components and the covariance
//! structure (mclust's default workflow), on the bundled `data/faithful.csv`.
//!
//! Run with `cargo run --release --example faithful`.

use gmm::{CovarianceType, GaussianMixture};
use nalgebra::DMatrix;

/// The bundled data, compiled in so the example runs from any directory.
const FAITHFUL: &str = include_str!("../data/faithful.csv");

/// Parses a numeric CSV with one header line into an N×D matrix, naming the line and column
/// of anything that is not a number.
fn parse_csv(text: &str) -> Result<(Vec<String>, DMatrix<f64>), String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or("empty file")?
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let mut values = Vec::new();
    let mut n = 0;
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            return Err(format!(
                "line {}: {} fields, expected {}",
                i + 2,
                fields.len(),
                header.len()
            ));
        }
        for (j, f) in fields.iter().enumerate() {
            let v: f64 = f
                .trim()
                .parse()
                .map_err(|_| format!("line {}, column {}: {f:?} is not a number", i + 2, j + 1))?;
            values.push(v);
        }
        n += 1;
    }
    Ok((
        header.clone(),
        DMatrix::from_row_slice(n, header.len(), &values),
    ))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (header, x) = parse_csv(FAITHFUL)?;
    println!(
        "Old Faithful: {} eruptions, columns {}\n",
        x.nrows(),
        header.join(", ")
    );
    println!("BIC (lower is better; −2 log L + p log N):");
    print!("{:>4}", "K");
    for kind in CovarianceType::ALL {
        print!("{:>12}", kind.as_str());
    }
    println!();
    let mut best: Option<(f64, usize, CovarianceType, GaussianMixture)> = None;
    for k in 1..=6 {
        print!("{k:>4}");
        for kind in CovarianceType::ALL {
            let fit = GaussianMixture::builder(k)
                .covariance_type(kind)
                .reg_covar(0.0)
                .n_init(10)
                .seed(2026)
                .fit(&x);
            match fit {
                Ok(fit) => {
                    let bic = fit.model.bic(&x)?;
                    print!("{bic:>12.3}");
                    if best.as_ref().is_none_or(|b| bic < b.0) {
                        best = Some((bic, k, kind, fit.model));
                    }
                }
                Err(e) => print!("{:>12}", format!("({})", short(&e))),
            }
        }
        println!();
    }
    let (bic, k, kind, model) = best.ok_or("no model could be fitted")?;
    let ll = model.log_likelihood_total(&x)?;
    println!(
        "\nbest: K = {k}, {kind} covariances, log-likelihood {ll:.3}, {} parameters, BIC {bic:.3}",
        model.n_parameters()
    );
    println!(
        "(mclust selects EEE = tied with 3 components: log-likelihood −1126.326, BIC 2314.316 in this sign convention)\n"
    );
    for c in 0..k {
        let mean = model.means().row(c);
        println!(
            "component {c}: weight {:.4}, mean ({:.4}, {:.4})",
            model.weights()[c],
            mean[0],
            mean[1]
        );
        let cov = model.covariance(c).ok_or("component index")?;
        println!(
            "  covariance [[{:.4}, {:.4}], [{:.4}, {:.4}]]",
            cov[(0, 0)],
            cov[(0, 1)],
            cov[(1, 0)],
            cov[(1, 1)]
        );
    }
    Ok(())
}

/// A compact reason for the table (the full message is for logs).
fn short(e: &em_core::EmError) -> &'static str {
    match e {
        em_core::EmError::NotPositiveDefinite { .. } => "singular",
        em_core::EmError::EmptyComponent { .. } => "empty",
        _ => "error",
    }
}
