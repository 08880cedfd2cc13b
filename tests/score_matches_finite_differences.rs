//! The score by Fisher's identity — one E-step, then the gradient of the expected complete
//! log-likelihood — against central differences of the log-likelihood, under proptest, for
//! **every bundled model**: the mixture of each one-component family (Poisson, exponential,
//! Gaussian, geometric, Bernoulli, zero-inflated Poisson), the zero-inflated Poisson model, the
//! Gaussian mixture with each covariance structure (and with missing values), the two-component
//! model, and hidden Markov models with Poisson, categorical and Gaussian emissions.
//!
//! Each case draws a model and data from it with one seed, then evaluates the score at *other*
//! random parameters (where it is far from zero) and compares every coordinate with
//! (ℓ(η + h e_j) − ℓ(η − h e_j)) / 2h, allowing 1e-6 relative plus the differences' own
//! truncation and rounding error ([`check_score`]). A wrong sign, a missing factor or a wrong
//! term moves a coordinate by O(1) relative, far outside that.
//!
//! Cases per model: 24, or `PROPTEST_CASES`.

use em::core::Differentiable;
use em::core::testing::check_score;
use em::gmm::{
    Covariances, GaussianMixture, MissingValues, TwoComponentMixture, ZeroInflatedPoisson,
};
use em::hmm::{Categorical, Hmm};
use em::mixture::{Bernoulli, Exponential, Gaussian, Geometric, Mixture, Poisson, ZeroInflated};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Relative agreement asked of every coordinate (beyond the differences' own error).
const RELATIVE: f64 = 1e-6;
/// The central differences' relative step.
const STEP: f64 = 1e-5;

fn runner() -> TestRunner {
    let config = Config::default();
    let cases = if std::env::var("PROPTEST_CASES").is_ok() {
        config.cases
    } else {
        24
    };
    let rng_seed = match config.rng_seed {
        RngSeed::Random => RngSeed::Fixed(0x5c0e_0001),
        chosen => chosen,
    };
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed,
        ..config
    })
}

/// Runs `case` on seeds from proptest; the model it returns is checked on its data.
fn for_seeds<M: Differentiable + std::fmt::Debug>(
    case: impl Fn(&mut StdRng) -> (M, <M::Data as ToOwned>::Owned),
) where
    M::Data: ToOwned,
    <M::Data as ToOwned>::Owned: std::borrow::Borrow<M::Data>,
{
    runner()
        .run(&any::<u64>(), |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            let (model, data) = case(&mut rng);
            let check = check_score(&model, std::borrow::Borrow::borrow(&data), STEP)
                .map_err(|e| TestCaseError::fail(format!("{model:?}: {e}")))?;
            let failures = check.failures(RELATIVE);
            prop_assert!(failures.is_empty(), "{model:?}\n{check}");
            Ok(())
        })
        .unwrap();
}

fn weights(rng: &mut StdRng, k: usize) -> Vec<f64> {
    let raw: Vec<f64> = (0..k).map(|_| rng.random_range(0.3..1.0)).collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

/// A mixture of `make` components: data from one draw of parameters, the model at another.
fn mixture_case<C: em::family::ComponentGradient>(
    rng: &mut StdRng,
    n: usize,
    make: impl Fn(&mut StdRng) -> C,
) -> (Mixture<Vec<C>>, em::family::OwnedData<C>) {
    let k = rng.random_range(1..4);
    let truth = Mixture::new(weights(rng, k), (0..k).map(|_| make(rng)).collect()).unwrap();
    let (data, _) = truth.sample(n, rng);
    let model = Mixture::new(weights(rng, k), (0..k).map(|_| make(rng)).collect()).unwrap();
    (model, data)
}

#[test]
fn poisson_mixture() {
    for_seeds(|rng| {
        mixture_case(rng, 200, |r| {
            Poisson::new(r.random_range(0.5..12.0)).unwrap()
        })
    });
}

#[test]
fn exponential_mixture() {
    for_seeds(|rng| {
        mixture_case(rng, 200, |r| {
            Exponential::new(r.random_range(0.2..5.0)).unwrap()
        })
    });
}

#[test]
fn gaussian_mixture_in_one_dimension() {
    for_seeds(|rng| {
        mixture_case(rng, 200, |r| {
            Gaussian::new(r.random_range(-5.0..5.0), r.random_range(0.2..4.0)).unwrap()
        })
    });
}

#[test]
fn geometric_mixture() {
    for_seeds(|rng| {
        mixture_case(rng, 200, |r| {
            Geometric::new(r.random_range(0.1..0.9)).unwrap()
        })
    });
}

#[test]
fn bernoulli_mixture() {
    for_seeds(|rng| {
        mixture_case(rng, 200, |r| {
            Bernoulli::new((0..3).map(|_| r.random_range(0.1..0.9)).collect()).unwrap()
        })
    });
}

#[test]
fn zero_inflated_poisson_mixture() {
    for_seeds(|rng| {
        mixture_case(rng, 200, |r| {
            ZeroInflated::new(
                r.random_range(0.05..0.6),
                Poisson::new(r.random_range(0.5..8.0)).unwrap(),
            )
            .unwrap()
        })
    });
}

#[test]
fn zero_inflated_poisson_model() {
    for_seeds(|rng| {
        let truth =
            ZeroInflatedPoisson::new(rng.random_range(0.05..0.6), rng.random_range(0.5..8.0))
                .unwrap();
        let (counts, _) = truth.sample(300, rng);
        let model =
            ZeroInflatedPoisson::new(rng.random_range(0.05..0.6), rng.random_range(0.5..8.0))
                .unwrap();
        (model, counts)
    });
}

/// A random symmetric positive definite D×D matrix, well conditioned.
fn spd(rng: &mut StdRng, d: usize) -> DMatrix<f64> {
    let a = DMatrix::from_fn(d, d, |_, _| rng.random_range(-1.0..1.0));
    &a * a.transpose() + DMatrix::identity(d, d) * rng.random_range(0.3..1.5)
}

fn covariances(rng: &mut StdRng, kind: usize, k: usize, d: usize) -> Covariances {
    match kind {
        0 => Covariances::Full((0..k).map(|_| spd(rng, d)).collect()),
        1 => Covariances::Diag(DMatrix::from_fn(k, d, |_, _| rng.random_range(0.3..3.0))),
        2 => Covariances::Spherical(DVector::from_fn(k, |_, _| rng.random_range(0.3..3.0))),
        _ => Covariances::Tied(spd(rng, d)),
    }
}

fn gaussian_mixture(rng: &mut StdRng, kind: usize, k: usize, d: usize) -> GaussianMixture {
    GaussianMixture::new(
        DVector::from_vec(weights(rng, k)),
        DMatrix::from_fn(k, d, |_, _| rng.random_range(-4.0..4.0)),
        covariances(rng, kind, k, d),
    )
    .unwrap()
}

fn gaussian_case(rng: &mut StdRng, kind: usize) -> (GaussianMixture, DMatrix<f64>) {
    let (k, d) = (rng.random_range(1..4), rng.random_range(1..4));
    let (x, _) = gaussian_mixture(rng, kind, k, d).sample(150, rng);
    (gaussian_mixture(rng, kind, k, d), x)
}

#[test]
fn gaussian_mixture_full() {
    for_seeds(|rng| gaussian_case(rng, 0));
}

#[test]
fn gaussian_mixture_diag() {
    for_seeds(|rng| gaussian_case(rng, 1));
}

#[test]
fn gaussian_mixture_spherical() {
    for_seeds(|rng| gaussian_case(rng, 2));
}

#[test]
fn gaussian_mixture_tied() {
    for_seeds(|rng| gaussian_case(rng, 3));
}

/// The score with missing values: the statistics' conditional moments, no new term.
#[test]
fn gaussian_mixture_with_missing_values() {
    for_seeds(|rng| {
        let kind = rng.random_range(0..4);
        let (k, d) = (rng.random_range(1..4), rng.random_range(2..4));
        let (mut x, _) = gaussian_mixture(rng, kind, k, d).sample(150, rng);
        for i in 0..x.nrows() {
            let j = rng.random_range(0..d);
            if rng.random_range(0.0..1.0) < 0.3 {
                x[(i, j)] = f64::NAN;
            }
        }
        let model = gaussian_mixture(rng, kind, k, d).with_missing_values(MissingValues::Model);
        (model, x)
    });
}

#[test]
fn two_component_mixture() {
    for_seeds(|rng| {
        let d = rng.random_range(1..3);
        let (x, _) = gaussian_mixture(rng, 0, 2, d).sample(150, rng);
        let model = TwoComponentMixture::try_from(gaussian_mixture(rng, 0, 2, d)).unwrap();
        (model, x)
    });
}

fn stochastic(rng: &mut StdRng, s: usize, m: usize) -> DMatrix<f64> {
    let mut out = DMatrix::from_fn(s, m, |_, _| rng.random_range(0.2..1.0));
    for mut row in out.row_iter_mut() {
        let total = row.sum();
        row /= total;
    }
    out
}

fn hmm_case<F: em::family::FamilyGradient>(
    rng: &mut StdRng,
    emission: impl Fn(&mut StdRng, usize) -> F,
) -> (Hmm<F>, Vec<F::Owned>) {
    let s = rng.random_range(1..4);
    let chain = |rng: &mut StdRng| (DVector::from_vec(weights(rng, s)), stochastic(rng, s, s));
    let (start, transitions) = chain(rng);
    let truth = Hmm::new(start, transitions, emission(rng, s)).unwrap();
    let sequences = (0..4).map(|_| truth.sample(40, rng).0).collect();
    let (start, transitions) = chain(rng);
    (
        Hmm::new(start, transitions, emission(rng, s)).unwrap(),
        sequences,
    )
}

#[test]
fn poisson_hmm() {
    for_seeds(|rng| {
        hmm_case(rng, |r, s| {
            (0..s)
                .map(|_| Poisson::new(r.random_range(0.5..12.0)).unwrap())
                .collect::<Vec<_>>()
        })
    });
}

#[test]
fn categorical_hmm() {
    for_seeds(|rng| hmm_case(rng, |r, s| Categorical::new(stochastic(r, s, 4)).unwrap()));
}

#[test]
fn gaussian_hmm() {
    for_seeds(|rng| {
        let (kind, d) = (rng.random_range(0..4), rng.random_range(1..3));
        hmm_case(rng, |r, s| {
            em::hmm::Gaussian::new(
                DMatrix::from_fn(s, d, |_, _| r.random_range(-4.0..4.0)),
                covariances(r, kind, s, d),
            )
            .unwrap()
        })
    });
}
