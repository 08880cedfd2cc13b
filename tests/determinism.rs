//! Seeded runs are reproducible bit for bit, for every bundled model:
//!
//! - **threads**: the same seed and chunk size give bit-identical parameters, objective
//!   traces and restart outcomes on 1 and on 2 threads (the data span many chunks, so the two
//!   threads really split the E-step);
//! - **restarts**: restart i of an `n_init` run depends only on (seed, i) — run alone, with its
//!   generator seeded by `restart_seed(seed, i)` and on another thread count, it reproduces
//!   restart i of the full run exactly, whatever ran before it (the restarts are re-run in
//!   reverse order); and the best of the first m restarts is what `n_init = m` returns.
//!
//! "Restart i alone" uses the public API: a fit seeded with `s'` runs restart 0 from
//! `restart_seed(s', 0)`, and `s' = s ⊕ splitmix(i) ⊕ splitmix(0)` makes that
//! `restart_seed(s, i)` (`restart_seed(s, i) = splitmix(s ⊕ splitmix(i))`; the test checks the
//! identity on the library's own function).

use std::fmt::Debug;

use em::core::{Initializer, RestartOutcome, restart_seed};
use em::gmm::{CovarianceType, GaussianMixture, Init, TwoComponentMixture, ZeroInflatedPoisson};
use em::mixture::{
    Bernoulli, BinaryMatrix, Exponential, Gaussian, Mixture, Poisson, Start, Strategy,
};
use em::{Em, EmError, FitReport, Fitted, LatentModel};
use nalgebra::DMatrix;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Exp1, StandardNormal};

/// Rows per E-step batch: small, so that the data span many batches.
const CHUNK: usize = 37;

/// em-core's SplitMix64 step (as documented for `restart_seed`).
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed whose restart 0 is restart `i` of a run seeded with `seed`.
fn alone_seed(seed: u64, i: usize) -> u64 {
    let s = seed ^ splitmix(i as u64) ^ splitmix(0);
    assert_eq!(restart_seed(s, 0), restart_seed(seed, i), "seed derivation");
    s
}

#[test]
fn alone_seed_selects_the_restart_stream() {
    for seed in [0, 1, 42, u64::MAX, 0x1234_5678_9abc_def0] {
        for i in 0..50 {
            alone_seed(seed, i);
        }
    }
}

fn trace_bits(r: &FitReport) -> Vec<u64> {
    r.trace.iter().map(|v| v.to_bits()).collect()
}

/// A restart's outcome, exactly: the bits of its trace, or its error's message.
fn outcome(o: &RestartOutcome) -> Result<Vec<u64>, String> {
    o.result
        .as_ref()
        .map(trace_bits)
        .map_err(EmError::to_string)
}

/// Two fits are the same bit for bit: `Debug` prints every f64 in its shortest round-trip
/// form (so equal text is equal bits, −0 included), and traces are compared as bits.
fn assert_identical<M: Debug>(a: &Fitted<M>, b: &Fitted<M>, what: &str) {
    assert_eq!(
        format!("{:?}", a.model),
        format!("{:?}", b.model),
        "{what}: parameters differ"
    );
    assert_eq!(
        trace_bits(&a.report),
        trace_bits(&b.report),
        "{what}: traces differ"
    );
    assert_eq!(a.best_restart, b.best_restart, "{what}: best restart");
    let outcomes = |f: &Fitted<M>| f.restarts.iter().map(outcome).collect::<Vec<_>>();
    assert_eq!(outcomes(a), outcomes(b), "{what}: restart outcomes differ");
}

/// `fit(seed, n_init, threads)`: the full run on 1 and on 2 threads are identical; each
/// restart alone (on 2 threads, in reverse order) reproduces its outcome in the full run,
/// the winner's parameters included; and a run with fewer restarts is the full run's prefix.
/// With `distinct`, the restarts must also differ from one another (a random start on data
/// where k-means always finds the same clusters need not).
fn assert_reproducible<M: Debug>(
    what: &str,
    seed: u64,
    n_init: usize,
    distinct: bool,
    fit: impl Fn(u64, usize, usize) -> Result<Fitted<M>, EmError>,
) {
    let full = fit(seed, n_init, 1).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(full.restarts.len(), n_init);
    let two = fit(seed, n_init, 2).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_identical(&full, &two, &format!("{what}, 1 vs 2 threads"));
    let different: std::collections::HashSet<_> = full.restarts.iter().map(outcome).collect();
    assert!(
        !distinct || different.len() > 1,
        "{what}: all {n_init} restarts ran identically; they are not independent"
    );
    for i in (0..n_init).rev() {
        let alone = match fit(alone_seed(seed, i), 1, 2) {
            Ok(f) => f,
            Err(e) => {
                assert_eq!(
                    outcome(&full.restarts[i]),
                    Err(e.to_string()),
                    "{what}: restart {i} alone"
                );
                continue;
            }
        };
        assert_eq!(
            outcome(&full.restarts[i]),
            outcome(&alone.restarts[0]),
            "{what}: restart {i} alone differs from restart {i} of the full run"
        );
        if i == full.best_restart {
            assert_eq!(
                format!("{:?}", full.model),
                format!("{:?}", alone.model),
                "{what}: the winning restart {i} alone gives other parameters"
            );
        }
    }
    let m = n_init - 1;
    let prefix = fit(seed, m, 2).unwrap_or_else(|e| panic!("{what}: {e}"));
    let outcomes = |f: &Fitted<M>| f.restarts.iter().map(outcome).collect::<Vec<_>>();
    assert_eq!(
        outcomes(&prefix),
        outcomes(&full)[..m].to_vec(),
        "{what}: n_init = {m} is not the prefix of n_init = {n_init}"
    );
}

fn blobs(n: usize, d: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    DMatrix::from_fn(n, d, |i, j| {
        let z: f64 = rng.sample(StandardNormal);
        let c = (i % 3) as f64;
        4.0 * c * (1.0 + j as f64) + z * (1.0 + 0.5 * c) + 1e3
    })
}

#[test]
fn gmm_fits_are_reproducible_for_every_structure_and_initialisation() {
    let x = blobs(500, 3, 1);
    let inits = [
        Init::KMeans,
        Init::KMeansPlusPlus,
        Init::RandomResponsibilities,
        Init::RandomFromData,
    ];
    for kind in CovarianceType::ALL {
        for init in &inits {
            let what = format!("{kind}, {init:?}");
            let random = matches!(init, Init::RandomResponsibilities | Init::RandomFromData);
            assert_reproducible(&what, 7, 4, random, |seed, n_init, threads| {
                GaussianMixture::builder(3)
                    .covariance_type(kind)
                    .init(init.clone())
                    .n_init(n_init)
                    .seed(seed)
                    .threads(threads)
                    .chunk_size(CHUNK)
                    .tol(1e-6)
                    .max_iter(40)
                    .fit(&x)
            });
        }
    }
}

#[test]
fn weighted_and_map_gmm_fits_are_reproducible() {
    let x = blobs(400, 2, 2);
    let w: Vec<f64> = (0..400).map(|i| 0.25 + (i % 7) as f64 / 3.0).collect();
    for kind in CovarianceType::ALL {
        assert_reproducible(
            &format!("{kind}, weighted"),
            3,
            3,
            true,
            |seed, n_init, threads| {
                GaussianMixture::builder(3)
                    .covariance_type(kind)
                    .init(Init::RandomResponsibilities)
                    .n_init(n_init)
                    .seed(seed)
                    .threads(threads)
                    .chunk_size(CHUNK)
                    .max_iter(30)
                    .fit_weighted(&x, &w)
            },
        );
        assert_reproducible(
            &format!("{kind}, prior"),
            5,
            3,
            true,
            |seed, n_init, threads| {
                GaussianMixture::builder(3)
                    .covariance_type(kind)
                    .init(Init::KMeansPlusPlus)
                    .default_prior()
                    .reg_covar(0.0)
                    .n_init(n_init)
                    .seed(seed)
                    .threads(threads)
                    .chunk_size(CHUNK)
                    .max_iter(30)
                    .fit(&x)
            },
        );
    }
}

#[test]
fn two_component_fits_are_reproducible() {
    let x = blobs(300, 2, 3);
    assert_reproducible("two-component", 9, 4, true, |seed, n_init, threads| {
        TwoComponentMixture::builder()
            .init(Init::RandomFromData)
            .n_init(n_init)
            .seed(seed)
            .threads(threads)
            .chunk_size(CHUNK)
            .max_iter(40)
            .fit(&x)
            .map(|f| Fitted {
                model: TwoComponentMixture::try_from(f.model).unwrap(),
                report: f.report,
                best_restart: f.best_restart,
                restarts: f.restarts,
            })
    });
    // Driven directly as a LatentModel, too.
    let start = || {
        TwoComponentMixture::new(
            0.4,
            nalgebra::dvector![1e3, 1e3],
            DMatrix::identity(2, 2),
            nalgebra::dvector![1005.0, 1008.0],
            DMatrix::identity(2, 2) * 3.0,
        )
        .unwrap()
    };
    let run = |threads| {
        let mut m = start();
        let r = Em::new()
            .threads(threads)
            .chunk_size(CHUNK)
            .tol(0.0)
            .max_iter(25)
            .fit(&mut m, &x)
            .unwrap();
        (format!("{m:?}"), trace_bits(&r))
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn zip_fits_are_bit_identical_on_one_and_two_threads() {
    let truth = ZeroInflatedPoisson::new(0.35, 3.7).unwrap();
    let (y, _) = truth.sample(5000, &mut StdRng::seed_from_u64(4));
    let run = |threads| {
        let em = Em::new()
            .threads(threads)
            .chunk_size(CHUNK)
            .tol(0.0)
            .max_iter(30);
        let f = ZeroInflatedPoisson::fit(&y, &em).unwrap();
        (
            f.model.pi().to_bits(),
            f.model.lambda().to_bits(),
            trace_bits(&f.report),
        )
    };
    assert_eq!(run(1), run(2));
    // And from a given start through the generic driver, with restarts drawn at random:
    // restart i is a function of (seed, i) alone.
    let init = |_: &[u64], rng: &mut StdRng| {
        ZeroInflatedPoisson::new(rng.random_range(0.01..0.9), rng.random_range(0.5..20.0))
    };
    assert_reproducible("zip restarts", 12, 4, true, |seed, n_init, threads| {
        Em::new()
            .n_init(n_init)
            .seed(seed)
            .threads(threads)
            .chunk_size(CHUNK)
            .tol(0.0)
            .max_iter(8)
            .fit_restarts(&init, &y[..])
    });
}

fn family_em(seed: u64, n_init: usize, threads: usize) -> Em {
    Em::new()
        .n_init(n_init)
        .seed(seed)
        .threads(threads)
        .chunk_size(CHUNK)
        .tol(1e-8)
        .max_iter(60)
}

fn fit_family<C, I>(
    data: &C::Data,
    init: &I,
    seed: u64,
    n_init: usize,
    threads: usize,
) -> Result<Fitted<Mixture<Vec<C>>>, EmError>
where
    C: em::mixture::Component,
    I: Initializer<Mixture<Vec<C>>>,
    Mixture<Vec<C>>: LatentModel<Data = C::Data>,
{
    Mixture::fit(data, init, &family_em(seed, n_init, threads))
}

#[test]
fn family_mixtures_are_reproducible() {
    let mut rng = StdRng::seed_from_u64(5);
    let n = 600;
    for strategy in [Strategy::Partition, Strategy::RandomResponsibilities] {
        let counts: Vec<u64> = (0..n)
            .map(|i| {
                let rate: f64 = [1.0, 8.0, 25.0][i % 3];
                (rate + rate.sqrt() * rng.sample::<f64, _>(StandardNormal))
                    .round()
                    .max(0.0) as u64
            })
            .collect();
        let start = Start::new(Poisson::default(), 3).strategy(strategy);
        assert_reproducible(&format!("poisson, {strategy:?}"), 1, 4, true, |s, k, t| {
            fit_family(&counts[..], &start, s, k, t)
        });

        let times: Vec<f64> = (0..n)
            .map(|i| rng.sample::<f64, _>(Exp1) * [0.3, 4.0][i % 2])
            .collect();
        let start = Start::new(Exponential::default(), 2).strategy(strategy);
        assert_reproducible(
            &format!("exponential, {strategy:?}"),
            2,
            4,
            true,
            |s, k, t| fit_family(&times[..], &start, s, k, t),
        );

        let reals: Vec<f64> = (0..n)
            .map(|i| 1e4 + [-3.0, 0.0, 4.0][i % 3] + rng.sample::<f64, _>(StandardNormal))
            .collect();
        let start =
            Start::new(Gaussian::default().with_min_variance(1e-6).unwrap(), 3).strategy(strategy);
        assert_reproducible(&format!("gaussian, {strategy:?}"), 3, 4, true, |s, k, t| {
            fit_family(&reals[..], &start, s, k, t)
        });

        let d = 6;
        let bits: Vec<bool> = (0..n * d)
            .map(|v| rng.random::<f64>() < if (v / d) % 2 == 0 { 0.85 } else { 0.2 })
            .collect();
        let binary = BinaryMatrix::new(n, d, bits).unwrap();
        let start = Start::new(Bernoulli::uniform(d).unwrap(), 2).strategy(strategy);
        assert_reproducible(
            &format!("bernoulli, {strategy:?}"),
            4,
            4,
            true,
            |s, k, t| fit_family(&binary, &start, s, k, t),
        );
    }
}
