//! Random models and data for the property tests.
#![allow(dead_code)]

use hmm::{Categorical, CategoricalHmm, CovarianceType, Covariances, Gaussian, GaussianHmm, Hmm};
use nalgebra::{DMatrix, DVector};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A random probability vector of length `n` with entries bounded away from 0.
pub fn simplex(n: usize, rng: &mut StdRng) -> Vec<f64> {
    let v: Vec<f64> = (0..n).map(|_| 0.05 + rng.random::<f64>()).collect();
    let total: f64 = v.iter().sum();
    v.into_iter().map(|x| x / total).collect()
}

/// A random S×S transition matrix; with `zeros`, one off-diagonal entry per row (S ≥ 3) is
/// a structural zero.
pub fn transitions(s: usize, zeros: bool, rng: &mut StdRng) -> DMatrix<f64> {
    let mut a = DMatrix::zeros(s, s);
    for i in 0..s {
        let mut row = simplex(s, rng);
        if zeros && s >= 3 {
            row[(i + 1) % s] = 0.0;
            let total: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= total);
        }
        for j in 0..s {
            a[(i, j)] = row[j];
        }
    }
    a
}

/// A random symmetric positive-definite D×D matrix, B Bᵀ + ½ I scaled.
pub fn spd(d: usize, scale: f64, rng: &mut StdRng) -> DMatrix<f64> {
    let b = DMatrix::from_fn(d, d, |_, _| rng.random::<f64>() * 2.0 - 1.0);
    (&b * b.transpose() + DMatrix::identity(d, d) * 0.5) * scale
}

pub fn gaussian_hmm(
    s: usize,
    d: usize,
    kind: CovarianceType,
    zeros: bool,
    rng: &mut StdRng,
) -> GaussianHmm {
    let means = DMatrix::from_fn(s, d, |_, _| rng.random::<f64>() * 8.0 - 4.0);
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full((0..s).map(|_| spd(d, 1.0, rng)).collect()),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(s, d, |_, _| {
            0.3 + 2.0 * rng.random::<f64>()
        })),
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_fn(s, |_, _| 0.3 + 2.0 * rng.random::<f64>()))
        }
        CovarianceType::Tied => Covariances::Tied(spd(d, 1.0, rng)),
    };
    Hmm::new(
        DVector::from_vec(simplex(s, rng)),
        transitions(s, zeros, rng),
        Gaussian::new(means, covariances).unwrap(),
    )
    .unwrap()
}

pub fn categorical_hmm(s: usize, m: usize, zeros: bool, rng: &mut StdRng) -> CategoricalHmm {
    let mut b = DMatrix::zeros(s, m);
    for i in 0..s {
        let row = simplex(m, rng);
        for j in 0..m {
            b[(i, j)] = row[j];
        }
    }
    Hmm::new(
        DVector::from_vec(simplex(s, rng)),
        transitions(s, zeros, rng),
        Categorical::new(b).unwrap(),
    )
    .unwrap()
}

/// A random start for EM on `data`: random π and A (with structural zeros if `zeros`), means
/// at random steps of the data, covariances random SPD matrices on the scale of the data's
/// variance — every state starts with real posterior mass, so a collapse onto one point
/// (the Gaussian likelihood's degeneracy, a typed error) is rare within a few iterations.
pub fn gaussian_start(
    data: &[DMatrix<f64>],
    s: usize,
    kind: CovarianceType,
    zeros: bool,
    rng: &mut StdRng,
) -> GaussianHmm {
    let rows: Vec<_> = data
        .iter()
        .flat_map(|x| x.row_iter().map(|r| r.into_owned()).collect::<Vec<_>>())
        .collect();
    let d = rows[0].len();
    let n = rows.len() as f64;
    let mean = rows
        .iter()
        .fold(nalgebra::RowDVector::zeros(d), |a, r| a + r)
        / n;
    let var = rows.iter().map(|r| (r - &mean).norm_squared()).sum::<f64>() / n / d as f64 + 0.1;
    let mut means = DMatrix::zeros(s, d);
    for k in 0..s {
        let r = &rows[rng.random_range(0..rows.len())];
        for j in 0..d {
            means[(k, j)] = r[j] + 0.1 * (rng.random::<f64>() - 0.5);
        }
    }
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full((0..s).map(|_| spd(d, var, rng)).collect()),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(s, d, |_, _| {
            var * (0.5 + rng.random::<f64>())
        })),
        CovarianceType::Spherical => Covariances::Spherical(DVector::from_fn(s, |_, _| {
            var * (0.5 + rng.random::<f64>())
        })),
        CovarianceType::Tied => Covariances::Tied(spd(d, var, rng)),
    };
    Hmm::new(
        DVector::from_vec(simplex(s, rng)),
        transitions(s, zeros, rng),
        Gaussian::new(means, covariances).unwrap(),
    )
    .unwrap()
}

/// Sequences of the given lengths drawn from `model`.
pub fn sample_all<F: hmm::Family>(
    model: &Hmm<F>,
    lengths: &[usize],
    rng: &mut StdRng,
) -> Vec<F::Owned> {
    lengths.iter().map(|&t| model.sample(t, rng).0).collect()
}
