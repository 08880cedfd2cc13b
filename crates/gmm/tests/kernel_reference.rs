//! The optimised E-step (vectorised exp/ln, blocked triangular solves, GEMM scatter, sub-blocks
//! of rows) against a direct, row-by-row evaluation of the textbook formulas, across the sizes
//! where the kernel switches paths: D around the solve block (16), the GEMM scatter threshold
//! (33) and the scatter block (64); row counts around the sub-block and register-block sizes;
//! all four covariance types; sample weights; batches that start mid-matrix.

use em_core::LatentModel;
use gmm::{Covariances, GaussianMixture, SampleWeighted, Scatter};
use nalgebra::{DMatrix, DVector};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

/// What a direct evaluation gives for one batch.
struct Reference {
    log_likelihood: f64,
    entropy: f64,
    n: Vec<f64>,
    means: DMatrix<f64>,
    /// Full scatter matrices (diagonal models compare their diagonals).
    scatter: Vec<DMatrix<f64>>,
}

fn covariance(model: &GaussianMixture, k: usize) -> DMatrix<f64> {
    model.covariance(k).expect("component exists")
}

/// Row by row: log π_k + log N(x | μ_k, Σ_k) by a Cholesky solve, log-sum-exp with libm,
/// responsibilities, then the weighted moments with two passes.
fn reference(
    model: &GaussianMixture,
    x: &DMatrix<f64>,
    rows: std::ops::Range<usize>,
    w: Option<&[f64]>,
) -> Reference {
    let (k_count, d) = (model.n_components(), model.n_features());
    let chol: Vec<_> = (0..k_count)
        .map(|k| covariance(model, k).cholesky().expect("positive definite"))
        .collect();
    let mut gamma = DMatrix::zeros(rows.len(), k_count);
    let (mut ll, mut entropy) = (0.0, 0.0);
    for (i, r) in rows.clone().enumerate() {
        let xi = x.row(r).transpose();
        let lj: Vec<f64> = (0..k_count)
            .map(|k| {
                let diff = &xi - model.means().row(k).transpose();
                let z = chol[k].l().solve_lower_triangular(&diff).expect("solvable");
                let log_det: f64 = chol[k].l().diagonal().iter().map(|v| 2.0 * v.ln()).sum();
                model.weights()[k].ln()
                    - 0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det)
                    - 0.5 * z.norm_squared()
            })
            .collect();
        let max = lj.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + lj.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        let wi = w.map_or(1.0, |w| w[i]);
        ll += wi * lse;
        for k in 0..k_count {
            let g = (lj[k] - lse).exp();
            gamma[(i, k)] = g * wi;
            if g > 0.0 {
                entropy -= wi * g * (lj[k] - lse);
            }
        }
    }
    let mut n = vec![0.0; k_count];
    let mut means = DMatrix::zeros(k_count, d);
    let mut scatter = vec![DMatrix::zeros(d, d); k_count];
    for k in 0..k_count {
        n[k] = gamma.column(k).sum();
        for (i, r) in rows.clone().enumerate() {
            for j in 0..d {
                means[(k, j)] += gamma[(i, k)] * x[(r, j)] / n[k];
            }
        }
        for (i, r) in rows.clone().enumerate() {
            let diff = x.row(r) - means.row(k);
            scatter[k] += gamma[(i, k)] * diff.transpose() * diff;
        }
    }
    Reference {
        log_likelihood: ll,
        entropy,
        n,
        means,
        scatter,
    }
}

/// A random mixture with well-conditioned but correlated covariances of the given type, and
/// data drawn around it (not from it: some rows sit between components).
fn case(kind: &str, n: usize, d: usize, k: usize, seed: u64) -> (GaussianMixture, DMatrix<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut normal = || rng.sample::<f64, _>(StandardNormal);
    let means = DMatrix::from_fn(k, d, |_, _| 2.0 * normal());
    let x = DMatrix::from_fn(n, d, |_, _| 3.0 * normal() + 1.0);
    let raw: Vec<f64> = (0..k).map(|i| 1.0 + i as f64).collect();
    let total: f64 = raw.iter().sum();
    let weights = DVector::from_iterator(k, raw.iter().map(|w| w / total));
    let mut spd = |scale: f64| {
        let b = DMatrix::from_fn(d, d, |_, _| normal() / (d as f64).sqrt());
        let m = DMatrix::identity(d, d) * scale + &b * b.transpose();
        (&m + m.transpose()) * 0.5
    };
    let covariances = match kind {
        "full" => Covariances::Full((0..k).map(|i| spd(0.5 + i as f64)).collect()),
        "tied" => Covariances::Tied(spd(1.0)),
        "diag" => Covariances::Diag(DMatrix::from_fn(k, d, |r, c| {
            0.5 + ((r * 7 + c * 3) % 5) as f64 * 0.3
        })),
        _ => Covariances::Spherical(DVector::from_fn(k, |r, _| 0.7 + r as f64)),
    };
    let model = GaussianMixture::new(weights, means, covariances).expect("valid mixture");
    (model, x)
}

fn close(a: f64, b: f64, scale: f64, what: &str) {
    let tol = 1e-10 * scale.max(1.0);
    assert!(
        (a - b).abs() <= tol,
        "{what}: {a} vs reference {b} (|diff| {:e} > {tol:e})",
        (a - b).abs()
    );
}

fn check(kind: &str, n: usize, d: usize, k: usize, rows: std::ops::Range<usize>, weighted: bool) {
    let (model, x) = case(kind, n, d, k, (n * 1000 + d * 10 + k) as u64);
    let label = format!("{kind} N={n} D={d} K={k} rows {rows:?} weighted {weighted}");
    let weights: Vec<f64> = (0..n).map(|i| 0.25 + (i % 7) as f64 * 0.5).collect();
    let e = if weighted {
        SampleWeighted {
            model: model.clone(),
            sample_weight: Some(&weights),
        }
        .e_step(&x, rows.clone())
    } else {
        model.e_step(&x, rows.clone())
    }
    .expect("e-step runs");
    let w = weighted.then(|| &weights[rows.clone()]);
    let r = reference(&model, &x, rows, w);
    close(
        e.log_likelihood,
        r.log_likelihood,
        r.log_likelihood.abs(),
        &format!("{label}: log-likelihood"),
    );
    close(
        e.entropy,
        r.entropy,
        r.entropy.abs(),
        &format!("{label}: entropy"),
    );
    for kk in 0..k {
        let nk = r.n[kk];
        close(e.stats.n[kk], nk, nk, &format!("{label}: N_{kk}"));
        for j in 0..d {
            let m = r.means[(kk, j)];
            close(
                e.stats.means[(kk, j)],
                m,
                m.abs() + 1.0,
                &format!("{label}: mean {kk},{j}"),
            );
        }
        let scale = r.scatter[kk].amax();
        match &e.stats.scatter {
            Scatter::Full(s) => {
                assert_eq!(
                    s[kk],
                    s[kk].transpose(),
                    "{label}: scatter {kk} is not symmetric"
                );
                for a in 0..d {
                    for b in 0..d {
                        close(
                            s[kk][(a, b)],
                            r.scatter[kk][(a, b)],
                            scale,
                            &format!("{label}: scatter {kk} ({a},{b})"),
                        );
                    }
                }
            }
            Scatter::Diag(s) => {
                for j in 0..d {
                    close(
                        s[(kk, j)],
                        r.scatter[kk][(j, j)],
                        scale,
                        &format!("{label}: variance {kk},{j}"),
                    );
                }
            }
        }
    }
}

#[test]
fn full_covariance_across_the_kernel_paths() {
    for d in [1, 2, 3, 5, 6, 15, 16, 17, 32, 33, 40, 64, 65, 100] {
        check("full", 300, d, 3, 0..300, false);
    }
}

#[test]
fn row_counts_around_the_block_sizes() {
    for n in [1, 2, 7, 31, 32, 33, 257, 513, 2049, 5000] {
        check("full", n, 4, 2, 0..n, false);
        check("full", n, 37, 2, 0..n, false);
    }
}

#[test]
fn batches_that_start_inside_the_matrix() {
    check("full", 3000, 3, 3, 1001..2999, false);
    check("full", 700, 40, 2, 13..611, false);
    check("diag", 3000, 5, 4, 7..2500, false);
}

#[test]
fn other_covariance_types() {
    for kind in ["tied", "diag", "spherical"] {
        for d in [1, 2, 10, 40] {
            check(kind, 500, d, 3, 0..500, false);
        }
    }
}

#[test]
fn sample_weights() {
    for kind in ["full", "diag"] {
        for d in [2, 40] {
            check(kind, 1500, d, 3, 0..1500, true);
        }
    }
}
