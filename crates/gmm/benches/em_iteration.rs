//! One EM iteration of a Gaussian mixture: a chunked E-step over all rows (on rayon's pool)
//! followed by one M-step.
//!
//! Every timed iteration starts from a fresh clone of the same starting model (the clone is
//! made in `iter_batched`'s untimed setup), so the work does not drift as EM would converge.
//! The data are drawn from a known mixture; the starting model is that mixture with every
//! mean shifted by 0.5 and `reg_covar = 1e-6`.
//!
//! Groups, over the six benchmark sizes (N, D, K) = (10 000, 2, 3), (100 000, 2, 5), (100 000, 10, 8),
//! (1 000 000, 2, 3), (200 000, 50, 10), (20 000, 200, 5):
//! - `full/N{n}_D{d}_K{k}`: full covariances on the default (global) rayon pool;
//! - `diag/N{n}_D{d}_K{k}`: diagonal covariances on the default pool;
//! - `threads_full_N100000_D10_K8/{1,default}`: full (100 000, 10, 8) on a 1-thread pool vs
//!   the default pool.
//!
//! The whole run takes several minutes (the (200 000, 50, 10) and (20 000, 200, 5) full cases
//! dominate); select cases with a filter, e.g.
//! `cargo bench -p gmm --bench em_iteration -- 'full/N100000_D10_K8'`. The side-by-side
//! comparison with scikit-learn is `bench/compare_sklearn.py`, not this file.
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

/// The six (N, D, K) benchmark sizes, each run with full and with diagonal
/// covariances.
const CASES: [(usize, usize, usize); 6] = [
    (10_000, 2, 3),
    (100_000, 2, 5),
    (100_000, 10, 8),
    (1_000_000, 2, 3),
    (200_000, 50, 10),
    (20_000, 200, 5),
];

/// One group (`full` or `diag`) over all [`CASES`].
///
/// A case's data are generated lazily, inside its routine, so that a filter such as
/// `-- full/N10000_D2_K3` does not pay for generating the large cases it skips. Small cases
/// (N·K·D² or N·K·D below 5·10⁷) take 30 samples in criterion's automatic mode; the
/// big ones take the minimum of 10 samples in flat mode, one iteration each when an
/// iteration is slower than the measurement time (criterion then warns that it needs longer
/// and runs the 10 samples anyway).
fn bench_kind(c: &mut Criterion, kind: Kind) {
    let (name, seed) = match kind {
        Kind::Full => ("full", 1),
        Kind::Diag => ("diag", 2),
    };
    let mut group = c.benchmark_group(name);
    group.warm_up_time(Duration::from_secs(1));
    for (n, d, k) in CASES {
        let work = match kind {
            Kind::Full => n * k * d * d,
            Kind::Diag => n * k * d,
        };
        let (samples, mode) = if work >= 50_000_000 {
            (10, SamplingMode::Flat)
        } else {
            (30, SamplingMode::Auto)
        };
        group
            .throughput(Throughput::Elements(n as u64))
            .sample_size(samples)
            .sampling_mode(mode)
            .measurement_time(Duration::from_secs(3));
        let mut data: Option<Case> = None;
        group.bench_function(id(n, d, k), |b| {
            let Case { x, start } = data.get_or_insert_with(|| case(n, d, k, kind, seed));
            b.iter_batched(
                || start.clone(),
                |model| em_iteration(model, black_box(&*x)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn bench_full(c: &mut Criterion) {
    bench_kind(c, Kind::Full);
}

fn bench_diag(c: &mut Criterion) {
    bench_kind(c, Kind::Diag);
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
