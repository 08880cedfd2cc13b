//! The bundled one-component families: [`Poisson`] and [`Geometric`] on counts (`[u64]`), the
//! [`ZeroInflated`] wrapper over any count family, [`Exponential`] on
//! non-negative reals and [`Gaussian`] on reals (`[f64]`), [`Bernoulli`] on the rows of a
//! [`BinaryMatrix`](crate::BinaryMatrix). Each implements [`Component`](crate::Component);
//! each module documents its density, statistics, M-step and the degenerate cases of the
//! M-step.

pub mod bernoulli;
pub mod exponential;
pub mod gaussian;
pub mod geometric;
pub mod poisson;
pub mod zero_inflated;

pub use bernoulli::{Bernoulli, BernoulliStats};
pub use exponential::{Exponential, ExponentialStats};
pub use gaussian::{Gaussian, GaussianStats};
pub use geometric::{Geometric, GeometricStats};
pub use poisson::{Poisson, PoissonStats};
pub use zero_inflated::{ZeroInflated, ZeroInflatedStats};

use rand::{Rng, RngExt};

/// Splits rows into `k` groups by the order of `values`: the sorted rows are cut near the
/// quantiles j/K, each cut jittered uniformly by ±¼ of a group (so restarts differ but no
/// group shrinks below about half its share). Ties keep row order.
pub(crate) fn quantile_partition<R: Rng + ?Sized>(
    values: &[f64],
    k: usize,
    rng: &mut R,
) -> Vec<usize> {
    let n = values.len();
    let k = k.max(1);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let cuts: Vec<usize> = (1..k)
        .map(|j| {
            let u: f64 = rng.random();
            let q = (j as f64 + 0.5 * u - 0.25) / k as f64;
            ((q * n as f64).round() as usize).min(n)
        })
        .collect();
    let mut groups = vec![0; n];
    let mut g = 0;
    for (pos, &i) in order.iter().enumerate() {
        while g < cuts.len() && pos >= cuts[g] {
            g += 1;
        }
        groups[i] = g;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn quantile_partition_orders_groups_by_value() {
        let values: Vec<f64> = (0..100).rev().map(f64::from).collect();
        let mut rng = StdRng::seed_from_u64(1);
        let g = quantile_partition(&values, 3, &mut rng);
        // Larger values never land in a lower group.
        for i in 0..100 {
            for j in 0..100 {
                if values[i] < values[j] {
                    assert!(g[i] <= g[j]);
                }
            }
        }
        for k in 0..3 {
            let size = g.iter().filter(|&&x| x == k).count();
            assert!((16..=50).contains(&size), "group {k} has {size} rows");
        }
    }
}
