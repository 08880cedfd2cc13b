//! One EM iteration of a Gaussian mixture: a chunked E-step over all rows (on rayon's pool)
//! followed by one M-step.
//!
//! Every timed iteration starts from a fresh clone of the same starting model (the clone is
//! made in `iter_batched`'s untimed setup), so the work does not drift as EM would converge.
//! The data are drawn from a known mixture; the starting model is that mixture with every
//! mean shifted by 0.5 and `reg_covar = 1e-6`.
//!
//! Groups:
//! - `full/N{n}_D{d}_K{k}`: full covariances on the default (global) rayon pool;
//! - `diag/N{n}_D{d}_K{k}`: diagonal covariances on the default pool;
//! - `threads/{1,default}`: full (100 000, 10, 8) on a 1-thread pool vs the default pool.
//!
//! Approximate work of a full iteration: ≈ 4·N·K·D² flops (the triangular solves of the
//! E-step and the scatter accumulation, each ≈ N·K·D² multiply-adds, counted generously).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use em_core::{DEFAULT_CHUNK_SIZE, LatentModel, chunked_e_step};
use gmm::{Covariances, GaussianMixture};
use nalgebra::{DMatrix, DVector};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

/// Which covariance structure a case uses.
#[derive(Clone, Copy)]
enum Kind {
    Full,
    Diag,
}

/// A benchmark case: data and the model EM starts from.
struct Case {
    x: DMatrix<f64>,
    start: GaussianMixture,
}

/// A well-conditioned random K-component mixture in D dimensions and N rows drawn from it.
///
/// Full covariances are s_k·I + B_k B_kᵀ / r with B_k a D×r standard-normal matrix,
/// r = min(D, 3), s_k ∈ [0.5, 1.5): eigenvalues are bounded below by s_k, so Cholesky
/// succeeds even at D = 200. Means are N(0, 3²) per coordinate.
fn case(n: usize, d: usize, k: usize, kind: Kind, seed: u64) -> Case {
    let mut rng = StdRng::seed_from_u64(seed);
    let normal = |rng: &mut StdRng| rng.sample::<f64, _>(StandardNormal);
    let raw: Vec<f64> = (0..k).map(|i| 1.0 + i as f64).collect();
    let total: f64 = raw.iter().sum();
    let weights = DVector::from_iterator(k, raw.iter().map(|w| w / total));
    let means = DMatrix::from_fn(k, d, |_, _| 3.0 * normal(&mut rng));
    let covariances = match kind {
        Kind::Full => {
            let r = d.min(3);
            Covariances::Full(
                (0..k)
                    .map(|_| {
                        let s = 0.5 + rng.random::<f64>();
                        let b = DMatrix::from_fn(d, r, |_, _| normal(&mut rng));
                        let m = DMatrix::identity(d, d) * s + &b * b.transpose() / r as f64;
                        // Exactly symmetric, whatever the product's rounding.
                        (&m + m.transpose()) * 0.5
                    })
                    .collect(),
            )
        }
        Kind::Diag => Covariances::Diag(DMatrix::from_fn(k, d, |_, _| 0.5 + rng.random::<f64>())),
    };
    let truth = GaussianMixture::new(weights.clone(), means.clone(), covariances.clone())
        .expect("true mixture is valid");
    let (x, _) = truth.sample(n, &mut rng);
    let start = GaussianMixture::new(weights, means.add_scalar(0.5), covariances)
        .and_then(|m| m.with_reg_covar(1e-6))
        .expect("starting mixture is valid");
    // One untimed iteration, so that a failure shows its message rather than a panic inside
    // criterion's loop.
    em_iteration(start.clone(), &x);
    Case { x, start }
}

/// One EM iteration from `model`: chunked E-step over all rows, then the M-step.
fn em_iteration(mut model: GaussianMixture, x: &DMatrix<f64>) -> GaussianMixture {
    let e = chunked_e_step(&model, x, DEFAULT_CHUNK_SIZE).expect("E-step failed");
    model.m_step(&e.stats).expect("M-step failed");
    model
}

fn id(n: usize, d: usize, k: usize) -> String {
    format!("N{n}_D{d}_K{k}")
}

fn bench_full(c: &mut Criterion) {
    let mut group = c.benchmark_group("full");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    for (n, d, k, measure) in [(100_000, 2, 5, 3), (100_000, 10, 8, 5), (20_000, 200, 5, 5)] {
        let Case { x, start } = case(n, d, k, Kind::Full, 1);
        group
            .throughput(Throughput::Elements(n as u64))
            .sampling_mode(SamplingMode::Flat)
            .measurement_time(Duration::from_secs(measure));
        group.bench_function(id(n, d, k), |b| {
            b.iter_batched(
                || start.clone(),
                |model| em_iteration(model, black_box(&x)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn bench_diag(c: &mut Criterion) {
    let mut group = c.benchmark_group("diag");
    let (n, d, k) = (100_000, 10, 8);
    let Case { x, start } = case(n, d, k, Kind::Diag, 2);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(n as u64));
    group.bench_function(id(n, d, k), |b| {
        b.iter_batched(
            || start.clone(),
            |model| em_iteration(model, black_box(&x)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn bench_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("threads_full_{}", id(100_000, 10, 8)));
    let (n, d, k) = (100_000, 10, 8);
    let Case { x, start } = case(n, d, k, Kind::Full, 1);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("1-thread pool");
    eprintln!(
        "threads: default rayon pool has {} threads",
        rayon::current_num_threads()
    );
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(n as u64));
    group.bench_function("1", |b| {
        b.iter_batched(
            || start.clone(),
            |model| one.install(|| em_iteration(model, black_box(&x))),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("default", |b| {
        b.iter_batched(
            || start.clone(),
            |model| em_iteration(model, black_box(&x)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_full, bench_diag, bench_threads);
criterion_main!(benches);
