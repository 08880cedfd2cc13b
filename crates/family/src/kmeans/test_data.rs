//! Data for the k-means unit tests.

use em_core::StdRng;
use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};

/// A standard normal draw by Box–Muller (keeps the tests free of rand_distr).
pub(super) fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `per` points around each centre with standard deviation `sd`, and the true labels.
pub(super) fn blobs(
    centres: &[[f64; 2]],
    per: usize,
    sd: f64,
    seed: u64,
) -> (DMatrix<f64>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = centres.len() * per;
    let mut data = DMatrix::zeros(n, 2);
    let mut truth = Vec::with_capacity(n);
    for (c, centre) in centres.iter().enumerate() {
        for p in 0..per {
            let i = c * per + p;
            data[(i, 0)] = centre[0] + sd * normal(&mut rng);
            data[(i, 1)] = centre[1] + sd * normal(&mut rng);
            truth.push(c);
        }
    }
    (data, truth)
}

/// `n` rows of `d` values uniform on [0, 1).
pub(super) fn uniform_data(n: usize, d: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    DMatrix::from_fn(n, d, |_, _| rng.random::<f64>())
}

/// Squared distance of data row `i` to centre row `k`, summed over columns in order (the
/// same arithmetic as the kernel).
pub(super) fn sq(data: &DMatrix<f64>, i: usize, centres: &DMatrix<f64>, k: usize) -> f64 {
    let mut s = 0.0;
    for j in 0..data.ncols() {
        let t = data[(i, j)] - centres[(k, j)];
        s += t * t;
    }
    s
}
