//! A mixture of two factor analysers in D = 500 dimensions (q = 3, N = 2000): where a full
//! covariance (125,250 parameters per component from 2000 rows) cannot be fitted. Prints the
//! wall time of the fit and how well the known parameters come back.
//!
//! ```text
//! cargo run --release -p em-factor --example high_dimension
//! ```

use std::time::Instant;

use em_core::{Acceleration, StdRng};
use em_factor::{FactorAnalyser, FactorMixture, NoiseStructure};
use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng};

fn main() -> Result<(), em_core::EmError> {
    let (d, q, n) = (500, 3, 2000);
    let mut rng = StdRng::seed_from_u64(2026);
    let component = |rng: &mut StdRng, offset: f64| {
        FactorAnalyser::new(
            DVector::from_fn(d, |_, _| offset + rng.random_range(-1.0..1.0)),
            DMatrix::from_fn(d, q, |_, _| rng.random_range(-1.0..1.0)),
            DVector::from_fn(d, |_, _| rng.random_range(0.5..1.5)),
        )
    };
    let truth = FactorMixture::new(
        vec![0.4, 0.6],
        vec![component(&mut rng, 0.0)?, component(&mut rng, 0.3)?],
        NoiseStructure::Diagonal,
    )?;
    let (x, labels) = truth.sample(n, &mut rng);
    for acceleration in [Acceleration::None, Acceleration::Squarem] {
        let start = Instant::now();
        let fit = FactorMixture::builder(2, q)
            .seed(1)
            .accelerate(acceleration)
            .fit(&x)?;
        let elapsed = start.elapsed();
        let model = &fit.model;
        let predicted = model.predict(&x)?;
        let agree = predicted
            .iter()
            .zip(&labels)
            .filter(|(a, b)| a == b)
            .count();
        let agree = agree.max(n - agree);
        // Match the components by their weights, then compare W Wᵀ + Ψ and Ψ.
        let order: Vec<usize> = if model.weights()[0] < model.weights()[1] {
            vec![0, 1]
        } else {
            vec![1, 0]
        };
        let mut cov_err: f64 = 0.0;
        let mut psi_err: f64 = 0.0;
        for (k_true, &k_fit) in order.iter().enumerate() {
            let s_true = truth.covariance(k_true).unwrap_or_default();
            let s_fit = model.covariance(k_fit).unwrap_or_default();
            cov_err = cov_err.max((&s_fit - &s_true).amax() / s_true.amax());
            let p_true = truth.noise(k_true).cloned().unwrap_or_default();
            let p_fit = model.noise(k_fit).cloned().unwrap_or_default();
            psi_err = psi_err.max(((&p_fit - &p_true).component_div(&p_true)).amax());
        }
        println!(
            "{acceleration:?}: {:.2} s, {} iterations, {} E-steps, converged {}; {} of {n} rows \
             labelled as drawn; weights {:.3?}; max |ΔΣ| / max Σ = {cov_err:.3}, max |Δψ|/ψ = \
             {psi_err:.3}; mean log-likelihood {:.4} (truth {:.4})",
            elapsed.as_secs_f64(),
            fit.report.iterations,
            fit.report.e_steps,
            fit.report.converged,
            agree,
            model.weights(),
            model.score(&x)?,
            truth.score(&x)?,
        );
    }
    Ok(())
}
