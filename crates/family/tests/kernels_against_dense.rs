//! The E-step kernels against a dense, textbook computation with nalgebra, at the dimensions
//! where their code paths change: the forward substitution alone (D ≤ 16), one GEMM update
//! (17–32), the recursively blocked solve and the blocked GEMM scatter (33 and more, with
//! splits that are not halves), on batches whose length is not a multiple of the register
//! block and that start inside the data.

use em_family::gaussian::{Covariances, Gaussians, HALF_LN_2PI, Scatter, normalise};
use nalgebra::{DMatrix, DVector};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A random symmetric positive definite matrix with a condition number of a few hundred.
fn spd(d: usize, rng: &mut StdRng) -> DMatrix<f64> {
    let b = DMatrix::from_fn(d, d, |_, _| rng.random_range(-1.0..1.0));
    let m = &b * b.transpose() / d as f64 + DMatrix::identity(d, d) * 0.05;
    (&m + m.transpose()) * 0.5
}

/// log N(x | μ, Σ) by a dense Cholesky factorisation and nalgebra's triangular solve.
fn dense_log_density(x: &DVector<f64>, mu: &DVector<f64>, sigma: &DMatrix<f64>) -> f64 {
    let l = sigma
        .clone()
        .cholesky()
        .expect("positive definite")
        .unpack();
    let z = l.solve_lower_triangular(&(x - mu)).expect("non-singular");
    let log_det: f64 = l.diagonal().iter().map(|v| 2.0 * v.ln()).sum();
    -(x.len() as f64) * HALF_LN_2PI - 0.5 * log_det - 0.5 * z.norm_squared()
}

#[test]
fn log_densities_and_scatter_match_a_dense_computation_at_every_blocking() {
    let mut rng = StdRng::seed_from_u64(31);
    for d in [1, 2, 7, 16, 17, 32, 33, 48, 70, 129] {
        let (n, k) = (301, 3);
        let x = DMatrix::from_fn(n, d, |_, _| rng.random_range(-2.0..2.0));
        let means = DMatrix::from_fn(k, d, |_, _| rng.random_range(-1.0..1.0));
        let sigmas: Vec<DMatrix<f64>> = (0..k).map(|_| spd(d, &mut rng)).collect();
        let g = Gaussians::new(means.clone(), Covariances::Full(sigmas.clone())).expect("valid");
        let rows = 5..n; // a batch that starts inside the data, 296 rows
        let c = rows.len();
        let mut out = vec![0.0; k * c];
        g.log_densities(&x, rows.clone(), &mut out, &mut Vec::new());
        for kk in 0..k {
            let mu = means.row(kk).transpose();
            for (i, row) in rows.clone().enumerate() {
                let want = dense_log_density(&x.row(row).transpose(), &mu, &sigmas[kk]);
                let got = out[kk * c + i];
                assert!(
                    (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "D = {d}, component {kk}, row {row}: {got} vs {want}"
                );
            }
        }

        // Statistics: weights that differ per row and component, plus sample weights.
        let gamma: Vec<f64> = (0..k * c).map(|_| rng.random_range(0.0..1.0)).collect();
        let w: Vec<f64> = (0..c).map(|_| rng.random_range(0.5..2.0)).collect();
        let stats = g.accumulate(&x, rows.clone(), &gamma, Some(&w), &mut Vec::new());
        let Scatter::Full(scatter) = &stats.scatter else {
            panic!("full covariances keep full scatter")
        };
        for kk in 0..k {
            let weight = |i: usize| gamma[kk * c + i] * w[i];
            let n_k: f64 = (0..c).map(weight).sum();
            let mean = (0..c).fold(DVector::zeros(d), |acc, i| {
                acc + x.row(rows.start + i).transpose() * weight(i)
            }) / n_k;
            let m2 = (0..c).fold(DMatrix::zeros(d, d), |acc, i| {
                let dx = x.row(rows.start + i).transpose() - &mean;
                acc + &dx * dx.transpose() * weight(i)
            });
            assert!((stats.n[kk] - n_k).abs() <= 1e-12 * n_k, "D = {d}: N_{kk}");
            let mean_err = (stats.means.row(kk).transpose() - &mean).amax();
            assert!(mean_err <= 1e-12, "D = {d}: mean of {kk} off by {mean_err}");
            let scatter_err = (&scatter[kk] - &m2).amax() / m2.amax();
            assert!(
                scatter_err <= 1e-12,
                "D = {d}: scatter of {kk} off by {scatter_err}"
            );
            assert_eq!(scatter[kk], scatter[kk].transpose(), "exactly symmetric");
        }
    }
}

/// A component whose log-joint is more than 672 below a row's largest gets a responsibility
/// of exactly 0 (its share would be below 2.4·10⁻²⁹²); one just above keeps its positive
/// share; the row's log-marginal is unaffected either way.
#[test]
fn negligible_shares_are_exactly_zero_and_leave_the_log_marginal_alone() {
    // Component-major, 2 components × 2 rows.
    let mut lj = vec![0.0, 0.0, -672.5, -671.5];
    let mut log_p = Vec::new();
    let (log_likelihood, entropy) = normalise(&mut lj, 2, None, &mut log_p);
    assert_eq!(lj[2], 0.0, "e^-672.5 is a negligible share");
    assert!(lj[3] > 0.0 && lj[3] < 1e-290, "e^-671.5 is kept: {}", lj[3]);
    assert_eq!((lj[0], lj[1]), (1.0, 1.0));
    assert_eq!(log_p, vec![0.0, 0.0]);
    assert_eq!(log_likelihood, 0.0);
    assert!((0.0..1e-280).contains(&entropy));
}
