//! A regime-switching return series: daily returns whose volatility jumps between calm,
//! normal and turbulent regimes that persist for weeks. Simulate 3,000 days from a known
//! 3-state Gaussian HMM, fit one from random starts, print the fitted regimes and how well
//! the Viterbi path recovers the true ones. Run with `cargo run --example regime_switching`.

use hmm::{CovarianceType, Covariances, Em, EmError, Gaussian, GaussianHmm};
use nalgebra::{DMatrix, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;

const NAMES: [&str; 3] = ["calm", "normal", "turbulent"];

fn main() -> Result<(), EmError> {
    // Daily returns in %: mean and volatility per regime, and sticky regimes.
    let truth = GaussianHmm::new(
        dvector![0.6, 0.3, 0.1],
        dmatrix![0.98, 0.02, 0.00;
                 0.02, 0.96, 0.02;
                 0.00, 0.05, 0.95],
        Gaussian::new(
            dmatrix![0.05; 0.0; -0.2],
            Covariances::Full(vec![
                dmatrix![0.5f64.powi(2)],
                dmatrix![1.0],
                dmatrix![2.5f64.powi(2)],
            ]),
        )?,
    )?;
    let (returns, regimes) = truth.sample(3000, &mut StdRng::seed_from_u64(42));
    let data = [returns];

    // Baum–Welch from 5 random starts; the best log-likelihood wins.
    let init = |x: &[DMatrix<f64>], rng: &mut StdRng| {
        GaussianHmm::random_start(3, CovarianceType::Diag, x, rng)
    };
    let fit = Em::new()
        .tol(1e-8)
        .max_iter(1000)
        .n_init(5)
        .seed(7)
        .fit_restarts(&init, &data[..])?;
    let model = &fit.model;
    println!(
        "log-likelihood {:.2} after {} iterations (converged: {})",
        fit.report.objective(),
        fit.report.iterations,
        fit.report.converged
    );

    // Name the fitted states by volatility, lowest first.
    let vol = |s: usize| {
        model
            .emission()
            .covariance(s)
            .map_or(f64::NAN, |c| c[(0, 0)].sqrt())
    };
    let mut order: Vec<usize> = (0..3).collect();
    order.sort_by(|&a, &b| vol(a).total_cmp(&vol(b)));
    println!("regime       mean %   vol %   stays (days)   true vol %");
    for (k, &s) in order.iter().enumerate() {
        let stay = 1.0 / (1.0 - model.transitions()[(s, s)]);
        let true_vol = truth
            .emission()
            .covariance(k)
            .map_or(f64::NAN, |c| c[(0, 0)].sqrt());
        println!(
            "{:<10} {:>8.3} {:>7.3} {:>14.1} {:>12.2}",
            NAMES[k],
            model.emission().means()[(s, 0)],
            vol(s),
            stay,
            true_vol
        );
    }

    // Decode the most probable regime path and compare with the simulated regimes.
    let decoded = model.predict(&data[0])?;
    let label = |s: usize| order.iter().position(|&o| o == s).unwrap_or(0);
    let right = decoded
        .iter()
        .zip(&regimes)
        .filter(|(d, r)| label(**d) == **r)
        .count();
    println!(
        "Viterbi recovers the true regime on {:.1}% of days",
        100.0 * right as f64 / regimes.len() as f64
    );
    let strip = |path: &mut dyn Iterator<Item = usize>| {
        path.take(100)
            .map(|s| ['.', 'o', '#'][s])
            .collect::<String>()
    };
    println!("first 100 days (. calm, o normal, # turbulent):");
    println!("true    {}", strip(&mut regimes.iter().copied()));
    println!("decoded {}", strip(&mut decoded.iter().map(|&s| label(s))));
    Ok(())
}
