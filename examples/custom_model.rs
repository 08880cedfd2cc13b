//! A model that em does not bundle — a mixture of geometric distributions on counts —
//! written from scratch against `LatentModel`, fitted by the generic driver and verified
//! by the invariant checker. Run with `cargo run --example custom_model`.
//!
//! P(y) = Σ_k π_k (1 − p_k)^y p_k for y = 0, 1, 2, …

use std::ops::Range;

use em::core::testing::{Tolerance, check_invariants};
use em::{EStep, Em, EmError, LatentModel, Statistics};

#[derive(Debug, Clone)]
struct GeometricMixture {
    weights: Vec<f64>,
    p: Vec<f64>,
}

/// Per component: N_k = Σ γ_ik and S_k = Σ γ_ik y_i — all the M-step needs.
struct GeoStats {
    n: Vec<f64>,
    s: Vec<f64>,
}

impl Statistics for GeoStats {
    fn merge(&mut self, later: &Self) {
        for k in 0..self.n.len() {
            self.n[k] += later.n[k];
            self.s[k] += later.s[k];
        }
    }
}

impl LatentModel for GeometricMixture {
    type Data = [u32];
    type Stats = GeoStats;

    fn e_step(&self, data: &[u32], rows: Range<usize>) -> Result<EStep<GeoStats>, EmError> {
        let k_count = self.weights.len();
        let mut st = GeoStats {
            n: vec![0.0; k_count],
            s: vec![0.0; k_count],
        };
        let (mut log_likelihood, mut entropy) = (0.0, 0.0);
        for &y in &data[rows] {
            let y = f64::from(y);
            let lj: Vec<f64> = (0..k_count)
                .map(|k| self.weights[k].ln() + y * (1.0 - self.p[k]).ln() + self.p[k].ln())
                .collect();
            let max = lj.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + lj.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
            log_likelihood += lse;
            for (k, &l) in lj.iter().enumerate() {
                let g = (l - lse).exp();
                if g > 0.0 {
                    entropy -= g * (l - lse);
                }
                st.n[k] += g;
                st.s[k] += g * y;
            }
        }
        Ok(EStep {
            stats: st,
            log_likelihood,
            entropy,
        })
    }

    fn m_step(&mut self, st: &GeoStats) -> Result<(), EmError> {
        let total: f64 = st.n.iter().sum();
        for k in 0..self.weights.len() {
            if st.n[k] <= 0.0 {
                return Err(EmError::EmptyComponent {
                    component: k,
                    weight: st.n[k],
                });
            }
            self.weights[k] = st.n[k] / total;
            self.p[k] = st.n[k] / (st.n[k] + st.s[k]); // the geometric MLE: 1 / (1 + mean)
        }
        Ok(())
    }

    fn expected_complete_log_likelihood(&self, st: &GeoStats) -> f64 {
        (0..self.weights.len())
            .map(|k| {
                st.n[k] * (self.weights[k].ln() + self.p[k].ln()) + st.s[k] * (1.0 - self.p[k]).ln()
            })
            .sum()
    }
}

fn main() -> Result<(), EmError> {
    // Counts from two regimes: many short waits (p = 0.6), some long ones (p = 0.05).
    let data: Vec<u32> = (0..5000u32)
        .map(|i| {
            let u = (f64::from(i) * 0.754_877_666).fract().max(1e-12);
            let p: f64 = if i % 4 == 0 { 0.05 } else { 0.6 };
            (u.ln() / (1.0 - p).ln()).floor() as u32 // inverse-CDF draw
        })
        .collect();
    let start = GeometricMixture {
        weights: vec![0.5, 0.5],
        p: vec![0.5, 0.1],
    };

    let mut model = start.clone();
    // The model does not expose its parameters (`LatentModel::scaled_parameters`), so the
    // default rule falls back to Aitken's: the estimated gap to the optimum of the
    // log-likelihood, per observation, below tol.
    let report = Em::new()
        .tol(1e-10)
        .max_iter(1000)
        .fit(&mut model, &data[..])?;
    println!(
        "fitted in {} iterations (converged: {}): {model:?}",
        report.iterations, report.converged
    );
    println!("log-likelihood {:.4}", report.objective());

    let check = check_invariants(start, &data[..], 50, Tolerance::default())?;
    println!("invariant checker: {check}");
    assert!(check.is_ok());
    Ok(())
}
