//! The EM invariants, under proptest, for **every bundled model**: the Gaussian mixture with
//! each covariance structure (by maximum likelihood or MAP-EM, with or without sample
//! weights), the two-component model, the zero-inflated Poisson, and the mixture of each
//! pluggable family (Poisson, exponential, Gaussian, Bernoulli).
//!
//! Every case draws small random data (on scales from 1e-3 to 1e3, sometimes far from the
//! origin) and a random start, then
//!
//! 1. runs the em-core invariant checker for `STEPS` iterations: ELBO tight after each
//!    E-step, the M-step never lowers the ELBO, the ELBO is a lower bound — at every step;
//! 2. runs the driver from the same start with a random chunk size (so the chunked, merged
//!    E-step is exercised): its objective trace must agree with the checker's, step by step,
//!    and never decrease.
//!
//! A random start from which EM cannot take `STEPS` steps by maximum likelihood (a component
//! empties or collapses onto one point: a typed error, legitimate for such a start) is
//! discarded and replaced, so every test judges its full number of cases; a tally asserts
//! that discards stay rare. MAP-EM, the ZIP and the capped/floored families admit no such
//! error: there any error fails the case.
//!
//! Cases per model: proptest's default, 256, or `PROPTEST_CASES`. The long run is
//!
//! ```text
//! PROPTEST_CASES=20000 cargo test --release --test property_suites
//! ```

use std::cell::Cell;
use std::fmt::Debug;

use em::core::testing::{Tolerance, check_invariants, chunking_discrepancy};
use em::gmm::{
    CovarianceType, Covariances, GaussianMixture, Prior, SampleWeighted, TwoComponentMixture,
    ZeroInflatedPoisson,
};
use em::mixture::{Bernoulli, BinaryMatrix, Exponential, Gaussian, Mixture, Poisson};
use em::{Em, EmError, LatentModel};
use nalgebra::{DMatrix, DVector};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

/// EM iterations judged per case.
const STEPS: usize = 12;

/// The checker's slack: 1e-9 relative to the objective (plus 1e-9), far above the rounding
/// of these sums and far below any modelling error.
const TOL: Tolerance = Tolerance {
    relative: 1e-9,
    absolute: 1e-9,
};

/// How closely the chunked E-step must match the one-batch E-step (relative).
const TRACE_AGREEMENT: f64 = 1e-10;

/// proptest's configuration: `PROPTEST_CASES` (default 256) cases, no persistence files,
/// room to discard degenerate starts, and a fixed seed so that CI runs the same cases every
/// time (`PROPTEST_RNG_SEED=<u64>` picks others, e.g. for a long exploratory run).
fn runner() -> TestRunner {
    let config = Config::default();
    let rng_seed = match config.rng_seed {
        RngSeed::Random => RngSeed::Fixed(0x5eed_0007),
        chosen => chosen,
    };
    TestRunner::new(Config {
        failure_persistence: None,
        max_global_rejects: config.cases.max(1024),
        rng_seed,
        ..config
    })
}

/// Cases that ran the checks, and draws discarded for a degenerate start.
#[derive(Default)]
struct Tally {
    ran: Cell<u32>,
    discarded: Cell<u32>,
}

impl Tally {
    /// Every configured case ran, and at most one draw in three was discarded (typically
    /// under one in ten).
    fn assert_mostly_ran(&self, model: &str) {
        let cases = Config::default().cases;
        let (ran, discarded) = (self.ran.get(), self.discarded.get());
        eprintln!("{model}: {ran} cases ran, {discarded} degenerate draws discarded");
        assert!(ran >= cases, "{model}: only {ran} of {cases} cases ran");
        assert!(
            discarded * 3 <= ran,
            "{model}: {discarded} degenerate starts discarded for {ran} cases run"
        );
    }

    fn discard(&self, why: String) -> TestCaseError {
        self.discarded.set(self.discarded.get() + 1);
        TestCaseError::reject(why)
    }
}

/// Which failures a random start may legitimately end in.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Degenerate {
    /// Maximum likelihood: a component may empty or collapse onto a point (a typed error,
    /// or a variance that falls to the rounding level of the data, see `collapsed`).
    Allowed,
    /// MAP-EM with a flat Dirichlet on the weights: a component may empty, nothing else.
    EmptyOnly,
    /// Nothing may fail.
    Forbidden,
}

impl Degenerate {
    fn admits(self, e: &EmError) -> bool {
        matches!(
            (self, e),
            (Degenerate::Allowed, EmError::EmptyComponent { .. })
                | (Degenerate::Allowed, EmError::NotPositiveDefinite { .. })
                | (Degenerate::Allowed, EmError::DegenerateComponent { .. })
                | (Degenerate::EmptyOnly, EmError::EmptyComponent { .. })
        )
    }
}

/// One case: the checker (one batch) and the driver (chunked) from the same start.
///
/// `relative_variance` gives a fitted model's smallest component variance (along any
/// direction) relative to the data's variance (∞ for families without one). At or below
/// `COLLAPSED` the component sits on a point without having raised an error (see the ignored
/// test `collapse_onto_one_row_is_a_typed_error` below): the likelihood is unbounded there and
/// the ELBO rounding noise, so, where degeneracy is allowed, the case is discarded.
///
/// `offset_variance` is the same variance relative to the data's second moment about the
/// origin, which is what amplifies the rounding of the chunked E-step's statistics (data at
/// 10 ± 0.01 are summed with the rounding of 10): the chunked and one-batch E-steps must agree
/// to ε / offset_variance (with ε = 1e-15), or to `TRACE_AGREEMENT` when that is larger.
fn case<M>(
    model: M,
    data: &M::Data,
    chunk_size: usize,
    degenerate: Degenerate,
    relative_variance: impl Fn(&M) -> f64,
    offset_variance: impl Fn(&M) -> f64,
    tally: &Tally,
) -> Result<(), TestCaseError>
where
    M: LatentModel + Clone + Debug,
{
    let mut driven = model.clone();
    let em = Em::new().tol(0.0).max_iter(STEPS).chunk_size(chunk_size);
    let report = match em.fit(&mut driven, data) {
        Ok(r) => r,
        Err(e) if degenerate.admits(&e) => return Err(tally.discard(e.to_string())),
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "the driver failed from {model:?}: {e}"
            )));
        }
    };
    let conditioning = relative_variance(&driven);
    if degenerate == Degenerate::Allowed && conditioning <= COLLAPSED {
        return Err(tally.discard(format!("a component collapsed: {driven:?}")));
    }
    // Rounding in the E-step's log-densities grows with the covariance's conditioning: a
    // component with variance 1e-10 of the data's along one direction (four points almost
    // coplanar in 3-D) puts ~1e-7 of noise on an objective of ~25, in this code and in any
    // other. The slack grows with it, as ε / relative_variance; well-conditioned cases keep
    // the 1e-9 of TOL.
    let tol = Tolerance {
        relative: TOL.relative.max(1e-15 / conditioning),
        absolute: TOL.absolute,
    };
    let check = match check_invariants(model.clone(), data, STEPS, tol) {
        Ok(c) => c,
        // One batch instead of chunks rounds differently: on the edge of a collapse, one
        // run may fail where the other did not.
        Err(e) if degenerate.admits(&e) => return Err(tally.discard(e.to_string())),
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "the checker failed from {model:?}: {e}"
            )));
        }
    };
    tally.ran.set(tally.ran.get() + 1);
    prop_assert!(check.is_ok(), "from {model:?}:\n{check}");

    // The driver's chunked E-step: the objective at the start is the one-batch one, and at
    // the start and at the fitted parameters the merged statistics are the one-batch ones.
    let (a, b) = (report.trace[0], check.objectives[0]);
    prop_assert!(
        (a - b).abs() <= TRACE_AGREEMENT * a.abs().max(b.abs()).max(1.0),
        "start: driver (chunk {chunk_size}) {a:e} vs one batch {b:e}"
    );
    let slack = |m: &M| TRACE_AGREEMENT.max(1e-15 / offset_variance(m));
    for (what, m, slack) in [
        ("start", &model, slack(&model)),
        ("fit", &driven, slack(&driven)),
    ] {
        let gap = chunking_discrepancy(m, data, chunk_size)
            .map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
        prop_assert!(
            gap <= slack,
            "{what}: chunk size {chunk_size} changes the E-step by {gap:e} (relative)"
        );
    }
    // …and its trace never decreases either.
    prop_assert_eq!(report.trace.len(), STEPS + 1);
    for (t, w) in report.trace.windows(2).enumerate() {
        let slack = tol.absolute + tol.relative * w[0].abs().max(w[1].abs());
        prop_assert!(
            w[1] >= w[0] - slack,
            "the driver's objective fell at iteration {}: {} -> {}",
            t + 1,
            w[0],
            w[1]
        );
    }
    Ok(())
}

/// A component variance this small relative to the data's is a collapse onto a point.
const COLLAPSED: f64 = 1e-12;

/// Families without a variance to collapse (or where a collapse is always an error).
fn never<M>(_: &M) -> f64 {
    f64::INFINITY
}

/// The smallest eigenvalue of any component covariance over the largest column variance
/// of the data.
fn gmm_relative_variance(m: &GaussianMixture, x: &DMatrix<f64>) -> f64 {
    let d = x.ncols();
    let n = x.nrows() as f64;
    let spread: Vec<f64> = (0..d)
        .map(|j| {
            let col = x.column(j);
            let mean = col.mean();
            col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
        })
        .collect();
    let data = spread.iter().copied().fold(0.0, f64::max);
    (0..m.n_components())
        .filter_map(|k| m.covariance(k))
        .map(|s| s.symmetric_eigenvalues().min() / data)
        .fold(f64::INFINITY, f64::min)
}

/// The smallest eigenvalue of any component covariance over the largest second moment of a
/// column about the origin (its variance plus its squared mean).
fn gmm_offset_variance(m: &GaussianMixture, x: &DMatrix<f64>) -> f64 {
    let n = x.nrows() as f64;
    let scale = (0..x.ncols())
        .map(|j| x.column(j).iter().map(|v| v * v).sum::<f64>() / n)
        .fold(0.0, f64::max);
    (0..m.n_components())
        .filter_map(|k| m.covariance(k))
        .map(|s| s.symmetric_eigenvalues().min() / scale)
        .fold(f64::INFINITY, f64::min)
}

fn run<S: Strategy>(
    name: &str,
    strategy: S,
    tally: &Tally,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    runner()
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    tally.assert_mostly_ran(name);
}

fn normalise(raw: &[f64]) -> Vec<f64> {
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

fn build_err(e: EmError) -> TestCaseError {
    TestCaseError::fail(format!("could not build the start: {e}"))
}

/// Data scales: values are `scale · (noise + cluster offset) + shift`.
const SCALES: [f64; 3] = [1e-3, 1.0, 1e3];

// ---------------------------------------------------------------------------------------
// Gaussian mixtures
// ---------------------------------------------------------------------------------------

/// A random Gaussian-mixture case: data with up to four clusters, a random start, options.
#[derive(Debug, Clone)]
struct GmmCase {
    x: DMatrix<f64>,
    /// The data's scale (the start's means and covariances are drawn on it).
    scale: f64,
    weights: Vec<f64>,
    means: DMatrix<f64>,
    /// Per component, a D×D matrix of raw entries in (−1, 1) (a Cholesky-like factor).
    factors: Vec<DMatrix<f64>>,
    /// Per component, a variance multiplier in (0.1, 10).
    spreads: Vec<f64>,
    sample_weight: Option<Vec<f64>>,
    prior: bool,
    chunk_size: usize,
}

fn gmm_case(max_k: usize) -> impl Strategy<Value = GmmCase> {
    (1..=max_k, 1usize..=3, 0usize..3, any::<bool>())
        .prop_flat_map(|(k, d, s, far)| {
            let n_min = 3 * k + 2;
            (n_min..40usize).prop_flat_map(move |n| {
                (
                    vec(-3.0f64..3.0, n * d),
                    vec(0u8..4, n),
                    vec(0.1f64..1.0, k),
                    vec((0..n, vec(-1.0f64..1.0, d)), k),
                    vec(vec(-1.0f64..1.0, d * d), k),
                    vec(0.1f64..10.0, k),
                    proptest::option::weighted(0.3, vec(0.0f64..3.0, n)),
                    any::<bool>(),
                    1..=n,
                    Just((k, d, s, far, n)),
                )
            })
        })
        .prop_map(
            |(noise, labels, w, mean_picks, raw, spreads, sw, prior, chunk_size, dims)| {
                let (k, d, s, far, n) = dims;
                let scale = SCALES[s];
                let shift = if far { 1e4 * scale } else { 0.0 };
                let x = DMatrix::from_fn(n, d, |i, j| {
                    scale * (noise[i * d + j] + 6.0 * f64::from(labels[i]) * (j + 1) as f64) + shift
                });
                let means = DMatrix::from_fn(k, d, |c, j| {
                    let (row, jitter) = &mean_picks[c];
                    x[(*row, j)] + scale * jitter[j]
                });
                let factors = raw
                    .iter()
                    .map(|r| DMatrix::from_row_slice(d, d, r))
                    .collect();
                let sample_weight = sw.map(|mut v: Vec<f64>| {
                    v[0] += 1.0; // a positive total weight
                    v
                });
                GmmCase {
                    x,
                    scale,
                    weights: normalise(&w),
                    means,
                    factors,
                    spreads,
                    sample_weight,
                    prior,
                    chunk_size,
                }
            },
        )
}

/// A symmetric positive-definite matrix from raw entries: (L Lᵀ / D + 0.05 I) · spread · scale².
fn spd(raw: &DMatrix<f64>, spread: f64, scale: f64) -> DMatrix<f64> {
    let d = raw.nrows();
    let l = raw.lower_triangle();
    let m = (&l * l.transpose()) / d as f64 + DMatrix::identity(d, d) * 0.05;
    let m = m * (spread * scale * scale);
    // Exactly symmetric, whatever the rounding of the product.
    DMatrix::from_fn(d, d, |i, j| if i >= j { m[(i, j)] } else { m[(j, i)] })
}

fn gmm_start(c: &GmmCase, kind: CovarianceType) -> Result<GaussianMixture, EmError> {
    let (k, d) = c.means.shape();
    let s2 = c.scale * c.scale;
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full(
            (0..k)
                .map(|i| spd(&c.factors[i], c.spreads[i], c.scale))
                .collect(),
        ),
        CovarianceType::Tied => Covariances::Tied(spd(&c.factors[0], c.spreads[0], c.scale)),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(k, d, |i, j| {
            s2 * c.spreads[i] * (0.05 + c.factors[i][(j, j)].powi(2))
        })),
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_fn(k, |i, _| s2 * c.spreads[i]))
        }
    };
    let model = GaussianMixture::new(
        DVector::from_vec(c.weights.clone()),
        c.means.clone(),
        covariances,
    )?;
    if c.prior {
        model.with_prior(Some(Prior::mclust_default(&c.x, k)?))
    } else {
        Ok(model)
    }
}

fn gmm_suite(kind: CovarianceType) {
    let tally = Tally::default();
    run(&format!("gmm {kind}"), gmm_case(3), &tally, |c| {
        let model = gmm_start(&c, kind).map_err(build_err)?;
        // mclust's default prior is flat on the weights (α = 1): a component can still
        // empty, but its covariance cannot collapse.
        let degenerate = if c.prior {
            Degenerate::EmptyOnly
        } else {
            Degenerate::Allowed
        };
        let x = &c.x;
        match &c.sample_weight {
            None => case(
                model,
                x,
                c.chunk_size,
                degenerate,
                |m| gmm_relative_variance(m, x),
                |m| gmm_offset_variance(m, x),
                &tally,
            ),
            Some(w) => {
                let weighted = SampleWeighted {
                    model,
                    sample_weight: Some(w),
                };
                let collapsed = |m: &SampleWeighted| gmm_relative_variance(&m.model, x);
                let offset = |m: &SampleWeighted| gmm_offset_variance(&m.model, x);
                case(
                    weighted,
                    x,
                    c.chunk_size,
                    degenerate,
                    collapsed,
                    offset,
                    &tally,
                )
            }
        }
    });
}

#[test]
fn gmm_full_keeps_em_invariants() {
    gmm_suite(CovarianceType::Full);
}

#[test]
fn gmm_diag_keeps_em_invariants() {
    gmm_suite(CovarianceType::Diag);
}

#[test]
fn gmm_spherical_keeps_em_invariants() {
    gmm_suite(CovarianceType::Spherical);
}

#[test]
fn gmm_tied_keeps_em_invariants() {
    gmm_suite(CovarianceType::Tied);
}

#[test]
fn two_component_mixture_keeps_em_invariants() {
    let tally = Tally::default();
    let cases = (gmm_case(2), 0.02f64..0.98);
    run("two-component", cases, &tally, |(c, alpha)| {
        let d = c.x.ncols();
        let sigma = |i: usize| spd(&c.factors[i % c.factors.len()], c.spreads[0], c.scale);
        let mu = |i: usize| DVector::from_fn(d, |j, _| c.means[(i % c.means.nrows(), j)]);
        let model =
            TwoComponentMixture::new(alpha, mu(0), sigma(0), mu(1), sigma(1)).map_err(build_err)?;
        let collapsed = |m: &TwoComponentMixture| gmm_relative_variance(m.as_mixture(), &c.x);
        let offset = |m: &TwoComponentMixture| gmm_offset_variance(m.as_mixture(), &c.x);
        case(
            model,
            &c.x,
            c.chunk_size,
            Degenerate::Allowed,
            collapsed,
            offset,
            &tally,
        )
    });
}

// ---------------------------------------------------------------------------------------
// Zero-inflated Poisson
// ---------------------------------------------------------------------------------------

/// Counts with excess zeros, small and large counts; at least one positive count (all-zero
/// data have no MLE, a typed error tested in crates/gmm/tests/zip.rs).
fn zip_counts() -> impl Strategy<Value = Vec<u64>> {
    vec(
        prop_oneof![4 => Just(0u64), 4 => 0u64..10, 1 => 0u64..100_000],
        1..60,
    )
    .prop_map(|mut v| {
        if v.iter().all(|&y| y == 0) {
            v[0] = 1;
        }
        v
    })
}

#[test]
fn zero_inflated_poisson_keeps_em_invariants() {
    let tally = Tally::default();
    let start = (
        prop_oneof![1 => Just(0.0f64), 6 => 0.0f64..0.99],
        -3.0f64..4.0,
    );
    run(
        "zip",
        (zip_counts(), start, 1usize..70),
        &tally,
        |(y, (pi, log10_lambda), chunk)| {
            let model =
                ZeroInflatedPoisson::new(pi, 10f64.powf(log10_lambda)).map_err(build_err)?;
            case(
                model,
                &y[..],
                chunk,
                Degenerate::Forbidden,
                never,
                never,
                &tally,
            )
        },
    );
}

// ---------------------------------------------------------------------------------------
// Mixtures of pluggable families
// ---------------------------------------------------------------------------------------

/// K ∈ 1..=3 raw weights and K per-component values from `component`.
fn mixture_start<T: Debug>(
    component: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = (Vec<f64>, Vec<T>)> {
    (1usize..=3).prop_flat_map(move |k| (vec(0.05f64..1.0, k), vec(component.clone(), k)))
}

#[test]
fn poisson_mixture_keeps_em_invariants() {
    let tally = Tally::default();
    let counts = prop_oneof![
        3 => vec(prop_oneof![0u64..5, 10u64..30], 1..60),
        1 => vec(0u64..3, 1..20),
        1 => vec(0u64..1_000_000, 1..20),
    ];
    // Component 0 positive; the others may start at λ = 0 (the MLE of all-zero data). Rates
    // are drawn relative to the data's mean: on counts near 10⁶ a rate of 50 would only
    // empty its component.
    let rates = prop_oneof![1 => Just(None), 5 => (-2.0f64..0.7).prop_map(Some)];
    run(
        "poisson",
        (
            counts,
            mixture_start(rates),
            (-2.0f64..0.7).prop_map(Some),
            1usize..70,
        ),
        &tally,
        |(y, (w, mut lambdas), first, chunk)| {
            let mean = (y.iter().sum::<u64>() as f64 / y.len() as f64).max(1.0);
            lambdas[0] = first;
            let lambdas = lambdas
                .iter()
                .map(|e| e.map_or(0.0, |e| mean * 10f64.powf(e)));
            let comps = lambdas
                .map(Poisson::new)
                .collect::<Result<Vec<_>, _>>()
                .map_err(build_err)?;
            let model = Mixture::new(normalise(&w), comps).map_err(build_err)?;
            case(
                model,
                &y[..],
                chunk,
                Degenerate::Allowed,
                never,
                never,
                &tally,
            )
        },
    );
}

#[test]
fn exponential_mixture_keeps_em_invariants() {
    let tally = Tally::default();
    // Waiting times on three scales, exact zeros now and then; with or without a rate cap
    // (with one, zeros cannot make a component diverge and nothing may fail).
    let data = (
        vec(
            prop_oneof![30 => 0.0f64..1.0, 30 => 1.0f64..20.0, 1 => Just(0.0)],
            1..60,
        ),
        0usize..3,
    );
    run(
        "exponential",
        (data, mixture_start(-1.5f64..1.5), any::<bool>(), 1usize..70),
        &tally,
        |((v, s), (w, log10_rates), capped, chunk)| {
            let x: Vec<f64> = v.iter().map(|u| u * SCALES[s]).collect();
            let comps = log10_rates
                .iter()
                .map(|l| {
                    let e = Exponential::new(10f64.powf(*l) / SCALES[s])?;
                    if capped {
                        e.with_max_rate(1e4 / SCALES[s])
                    } else {
                        Ok(e)
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(build_err)?;
            let model = Mixture::new(normalise(&w), comps).map_err(build_err)?;
            let degenerate = if capped {
                Degenerate::Forbidden
            } else {
                Degenerate::Allowed
            };
            case(model, &x[..], chunk, degenerate, never, never, &tally)
        },
    );
}

#[test]
fn gaussian_mixture_family_keeps_em_invariants() {
    let tally = Tally::default();
    // Continuous clusters, sometimes with many repeated values, on three scales and far
    // from the origin; with or without a variance floor.
    let data = (
        vec(
            prop_oneof![4 => -3.0f64..3.0, 4 => 5.0f64..9.0, 1 => Just(1.0)],
            2..60,
        ),
        0usize..3,
        any::<bool>(),
    );
    run(
        "gaussian",
        (
            data,
            mixture_start((-3.0f64..9.0, 0.05f64..10.0)),
            any::<bool>(),
            1usize..70,
        ),
        &tally,
        |((v, s, far), (w, params), floored, chunk)| {
            let scale = SCALES[s];
            let shift = if far { 1e4 * scale } else { 0.0 };
            let x: Vec<f64> = v.iter().map(|u| u * scale + shift).collect();
            let floor = 1e-2 * scale * scale;
            let comps = params
                .iter()
                .map(|&(m, var)| {
                    let g = Gaussian::new(m * scale + shift, var * scale * scale)?;
                    if floored {
                        g.with_min_variance(floor)
                    } else {
                        Ok(g)
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(build_err)?;
            let model = Mixture::new(normalise(&w), comps).map_err(build_err)?;
            let degenerate = if floored {
                Degenerate::Forbidden
            } else {
                Degenerate::Allowed
            };
            let spread = {
                let mean = x.iter().sum::<f64>() / x.len() as f64;
                x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64
            };
            let second_moment = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
            let smallest_over = |scale: f64| {
                move |m: &Mixture<Vec<Gaussian>>| {
                    m.components()
                        .iter()
                        .map(|g| g.variance() / scale)
                        .fold(f64::INFINITY, f64::min)
                }
            };
            let (collapsed, offset) = (smallest_over(spread), smallest_over(second_moment));
            case(model, &x[..], chunk, degenerate, collapsed, offset, &tally)
        },
    );
}

#[test]
fn bernoulli_mixture_keeps_em_invariants() {
    let tally = Tally::default();
    // Rows of D ∈ 1..=6 bits; some columns constant (p_d ∈ {0, 1} at the MLE).
    let data = (1usize..50, 1usize..=6)
        .prop_flat_map(|(n, d)| {
            (
                Just((n, d)),
                vec(
                    prop_oneof![1 => Just(Some(false)), 1 => Just(Some(true)), 4 => Just(None)],
                    d,
                ),
                vec(any::<bool>(), n * d),
            )
        })
        .prop_map(|((n, d), modes, bits)| {
            let values: Vec<bool> = bits
                .iter()
                .enumerate()
                .map(|(i, &b)| modes[i % d].unwrap_or(b))
                .collect();
            (n, d, values)
        });
    // Probabilities anywhere in [0, 1], the boundary included, except for component 0.
    let p = vec(
        prop_oneof![1 => Just(0.0f64), 1 => Just(1.0), 20 => 0.0f64..=1.0],
        6,
    );
    run(
        "bernoulli",
        (data, mixture_start(p), vec(0.05f64..0.95, 6), 1usize..60),
        &tally,
        |((n, d, values), (w, mut ps), first, chunk)| {
            let x = BinaryMatrix::new(n, d, values).map_err(build_err)?;
            ps[0] = first;
            let comps = ps
                .iter()
                .map(|p| Bernoulli::new(p[..d].to_vec()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(build_err)?;
            let model = Mixture::new(normalise(&w), comps).map_err(build_err)?;
            case(model, &x, chunk, Degenerate::Allowed, never, never, &tally)
        },
    );
}

// ---------------------------------------------------------------------------------------
// Regressions these suites found (each asserts the correct behaviour)
// ---------------------------------------------------------------------------------------

/// One row (−0.0015) far from the others: by maximum likelihood (`reg_covar = 0`) a
/// component can sit on it alone, where the likelihood is unbounded. That must end in a typed
/// error naming the component (as an exact zero variance does), not in a "fit" whose variance
/// is rounding noise of the mean, (ε·|μ|)² ≈ 5e-38, and whose ELBO is then not even tight.
#[test]
fn collapse_onto_one_row_is_a_typed_error() {
    let x = DMatrix::from_column_slice(
        9,
        1,
        &[
            0.012,
            0.012,
            0.006,
            0.012,
            -0.001_500_206_441_185_059_6,
            0.018,
            0.018,
            0.012,
            0.012,
        ],
    );
    let data_variance = x.variance();
    for kind in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ] {
        let fit = GaussianMixture::builder(2)
            .covariance_type(kind)
            .reg_covar(0.0)
            .tol(0.0)
            .max_iter(100)
            .fit(&x);
        match fit {
            Err(EmError::NotPositiveDefinite { .. }) => {}
            Err(e) => panic!("{kind}: unexpected error {e}"),
            Ok(f) => {
                for k in 0..2 {
                    let v = f.model.covariance(k).unwrap()[(0, 0)];
                    assert!(
                        v > 1e-12 * data_variance,
                        "{kind}: component {k} returned with variance {v:e} (data variance \
                         {data_variance:e}) and objective {}",
                        f.report.objective()
                    );
                }
            }
        }
    }
    // The same collapse under sample weights, seen by the invariant checker.
    let w = [
        3.641_630_630_916_286_5,
        0.883_230_942_574_889_3,
        0.151_658_289_259_415_07,
        1.025_835_277_364_933_3,
        2.511_580_613_954_881,
        0.0,
        1.428_982_987_723_332_9,
        0.0,
        1.683_814_645_618_826_5,
    ];
    let start = GaussianMixture::new(
        DVector::from_vec(vec![0.362_770_702_819_841_7, 0.637_229_297_180_158_3]),
        DMatrix::from_column_slice(
            2,
            1,
            &[-0.001_500_206_441_185_059_6, 0.011_768_012_055_963_768],
        ),
        Covariances::Spherical(DVector::from_vec(vec![
            5.580_334_371_333_130_5e-6,
            7.491_149_333_893_081e-7,
        ])),
    )
    .unwrap();
    let weighted = SampleWeighted {
        model: start,
        sample_weight: Some(&w),
    };
    match check_invariants(weighted, &x, 12, TOL) {
        Err(EmError::NotPositiveDefinite { .. }) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(report) => assert!(report.is_ok(), "{report}"),
    }
    // A collapse that reaches a subnormal variance (2e-310): its precision overflows to ∞
    // and the driver reports a NaN objective instead of the collapsed component.
    let y = DMatrix::from_column_slice(
        10,
        1,
        &[
            0.015_676_185_174_095_157,
            0.0,
            -0.001_546_818_075_971_506_8,
            0.010_103_049_088_706_125,
            0.015_325_912_442_407_762,
            0.005_171_550_370_119_692,
            0.018,
            0.010_648_489_867_260_028,
            -0.002_010_781_335_042_354_2,
            0.0,
        ],
    );
    let w = [
        3.078_502_250_045_687_6,
        1.515_296_642_922_424_4,
        2.454_994_996_045_817,
        2.489_784_671_557_912_6,
        1.133_796_026_027_707,
        1.952_403_544_553_315_2,
        2.288_592_716_545_894,
        0.239_622_565_261_473_44,
        2.697_621_910_295_125,
        1.235_816_933_031_696_6,
    ];
    let start = GaussianMixture::new(
        DVector::from_vec(vec![0.161_867_368_686_358_81, 0.838_132_631_313_641_1]),
        DMatrix::from_column_slice(
            2,
            1,
            &[0.009_981_018_408_571_483, 0.010_306_139_833_299_156],
        ),
        Covariances::Diag(DMatrix::from_column_slice(
            2,
            1,
            &[2.625_697_595_695_242_5e-6, 1.225_492_456_620_753e-6],
        )),
    )
    .unwrap();
    let mut weighted = SampleWeighted {
        model: start,
        sample_weight: Some(&w),
    };
    match Em::new().tol(0.0).max_iter(12).fit(&mut weighted, &y) {
        Err(EmError::NotPositiveDefinite { .. }) => {}
        Err(e) => panic!("a collapse must name the component, got: {e}"),
        Ok(r) => panic!(
            "a collapsed component was returned: {:?} ({r:?})",
            weighted.model
        ),
    }
}
