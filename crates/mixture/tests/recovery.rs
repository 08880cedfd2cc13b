//! Recovery of known parameters from 10,000 simulated draws, for every family.
//!
//! Tolerances come from standard errors: after the fit, the observed information −H (the
//! Hessian of the log-likelihood at the fitted parameters, by central differences) gives
//! SE_i = sqrt([(−H)⁻¹]_ii), and every parameter must lie within 4 SE of the truth — a
//! two-sided miss probability of 6e-5 per parameter for a correct estimator (the draws are
//! seeded, so the outcome is fixed). Each test also pins the SEs themselves against the
//! complete-data (known-labels) standard errors, so that a wrong or inflated SE cannot make
//! the check vacuous: the mixture's SE must be at least the complete-data SE (missing
//! labels only lose information) and at most 3× it (the components are well separated).
//!
//! Weights are parameterised by the first K − 1 of them (the last is 1 minus their sum), and
//! fitted components are sorted before comparison (mixtures are identified up to labels).

mod common;

use common::{assert_within_se, standard_errors};
use em_core::{Em, EmError, StdRng};
use mixture::{Bernoulli, Component, Exponential, Gaussian, Mixture, Poisson, Start};
use rand::SeedableRng;

const N: usize = 10_000;
const Z: f64 = 4.0;

fn em() -> Em {
    Em::new().tol(1e-14).max_iter(5000).n_init(3).seed(2024)
}

/// The mixture with components sorted by `key`.
fn sorted<C: Component>(
    m: &Mixture<Vec<C>>,
    key: impl Fn(&C) -> f64,
) -> Result<Mixture<Vec<C>>, EmError> {
    let mut order: Vec<usize> = (0..m.n_components()).collect();
    order.sort_by(|&a, &b| key(&m.components()[a]).total_cmp(&key(&m.components()[b])));
    Mixture::new(
        order.iter().map(|&k| m.weights()[k]).collect(),
        order.iter().map(|&k| m.components()[k].clone()).collect(),
    )
}

/// Weights from the first K − 1 (the last is the remainder).
fn weights(free: &[f64]) -> Vec<f64> {
    let mut w = free.to_vec();
    w.push(1.0 - free.iter().sum::<f64>());
    w
}

/// Checks complete-data SE ≤ SE ≤ 3 × complete-data SE.
fn assert_se_plausible(names: &[&str], se: &[f64], complete: &[f64]) {
    for i in 0..names.len() {
        let ratio = se[i] / complete[i];
        assert!(
            (0.95..=3.0).contains(&ratio),
            "{}: SE {} is {ratio:.2}× the complete-data SE {}",
            names[i],
            se[i],
            complete[i]
        );
    }
}

/// Complete-data SE of a weight π: sqrt(π(1 − π)/N).
fn weight_se(pi: f64) -> f64 {
    (pi * (1.0 - pi) / N as f64).sqrt()
}

#[test]
fn poisson_mixture_recovers_three_rates_from_10000_draws() -> Result<(), EmError> {
    let (pi, lambda) = ([0.2, 0.5, 0.3], [1.0, 6.0, 15.0]);
    let truth = Mixture::new(
        pi.to_vec(),
        lambda
            .iter()
            .map(|&l| Poisson::new(l))
            .collect::<Result<_, _>>()?,
    )?;
    let (y, _) = truth.sample(N, &mut StdRng::seed_from_u64(11));
    let fit = Mixture::fit(&y[..], &Start::new(Poisson::default(), 3), &em())?;
    let m = sorted(&fit.model, Poisson::lambda)?;

    let build = |t: &[f64]| -> Result<Mixture<Vec<Poisson>>, EmError> {
        Mixture::new(
            weights(&t[..2]),
            t[2..]
                .iter()
                .map(|&l| Poisson::new(l))
                .collect::<Result<_, _>>()?,
        )
    };
    let names = ["π1", "π2", "λ1", "λ2", "λ3"];
    let estimate: Vec<f64> = m.weights()[..2]
        .iter()
        .copied()
        .chain(m.components().iter().map(Poisson::lambda))
        .collect();
    let expected = [pi[0], pi[1], lambda[0], lambda[1], lambda[2]];
    let se = standard_errors(&estimate, |t| build(t)?.log_likelihood_total(&y[..]))?;
    println!("Poisson: estimate {estimate:?}\n         SE {se:?}");
    assert_within_se(&names, &estimate, &expected, &se, Z);
    // Complete data: SE(λ_k) = sqrt(λ_k / (N π_k)).
    let complete: Vec<f64> = [weight_se(pi[0]), weight_se(pi[1])]
        .into_iter()
        .chain((0..3).map(|k| (lambda[k] / (N as f64 * pi[k])).sqrt()))
        .collect();
    assert_se_plausible(&names, &se, &complete);
    Ok(())
}

#[test]
fn exponential_mixture_recovers_two_rates_from_10000_draws() -> Result<(), EmError> {
    let (pi, rate) = ([0.4, 0.6], [0.2, 5.0]);
    let truth = Mixture::new(
        pi.to_vec(),
        rate.iter()
            .map(|&r| Exponential::new(r))
            .collect::<Result<_, _>>()?,
    )?;
    let (x, _) = truth.sample(N, &mut StdRng::seed_from_u64(12));
    let fit = Mixture::fit(&x[..], &Start::new(Exponential::default(), 2), &em())?;
    let m = sorted(&fit.model, Exponential::rate)?;

    let build = |t: &[f64]| -> Result<Mixture<Vec<Exponential>>, EmError> {
        Mixture::new(
            weights(&t[..1]),
            t[1..]
                .iter()
                .map(|&r| Exponential::new(r))
                .collect::<Result<_, _>>()?,
        )
    };
    let names = ["π1", "r1", "r2"];
    let estimate = vec![
        m.weights()[0],
        m.components()[0].rate(),
        m.components()[1].rate(),
    ];
    let expected = [pi[0], rate[0], rate[1]];
    let se = standard_errors(&estimate, |t| build(t)?.log_likelihood_total(&x[..]))?;
    println!("Exponential: estimate {estimate:?}\n             SE {se:?}");
    assert_within_se(&names, &estimate, &expected, &se, Z);
    // Complete data: SE(r_k) = r_k / sqrt(N π_k).
    let complete = [
        weight_se(pi[0]),
        rate[0] / (N as f64 * pi[0]).sqrt(),
        rate[1] / (N as f64 * pi[1]).sqrt(),
    ];
    assert_se_plausible(&names, &se, &complete);
    Ok(())
}

#[test]
fn gaussian_mixture_recovers_three_components_from_10000_draws() -> Result<(), EmError> {
    let (pi, mu, var) = ([0.25, 0.45, 0.3], [-4.0, 1.0, 6.0], [1.0, 0.5, 2.25]);
    let truth = Mixture::new(
        pi.to_vec(),
        (0..3)
            .map(|k| Gaussian::new(mu[k], var[k]))
            .collect::<Result<_, _>>()?,
    )?;
    let (x, _) = truth.sample(N, &mut StdRng::seed_from_u64(13));
    let fit = Mixture::fit(&x[..], &Start::new(Gaussian::default(), 3), &em())?;
    let m = sorted(&fit.model, Gaussian::mean)?;

    let build = |t: &[f64]| -> Result<Mixture<Vec<Gaussian>>, EmError> {
        Mixture::new(
            weights(&t[..2]),
            (0..3)
                .map(|k| Gaussian::new(t[2 + k], t[5 + k]))
                .collect::<Result<_, _>>()?,
        )
    };
    let names = ["π1", "π2", "μ1", "μ2", "μ3", "σ²1", "σ²2", "σ²3"];
    let c = m.components();
    let estimate = vec![
        m.weights()[0],
        m.weights()[1],
        c[0].mean(),
        c[1].mean(),
        c[2].mean(),
        c[0].variance(),
        c[1].variance(),
        c[2].variance(),
    ];
    let expected = [pi[0], pi[1], mu[0], mu[1], mu[2], var[0], var[1], var[2]];
    let se = standard_errors(&estimate, |t| build(t)?.log_likelihood_total(&x[..]))?;
    println!("Gaussian: estimate {estimate:?}\n          SE {se:?}");
    assert_within_se(&names, &estimate, &expected, &se, Z);
    // Complete data: SE(μ_k) = sqrt(σ²_k / (N π_k)), SE(σ²_k) = σ²_k sqrt(2 / (N π_k)).
    let nk: Vec<f64> = pi.iter().map(|p| N as f64 * p).collect();
    let complete: Vec<f64> = [weight_se(pi[0]), weight_se(pi[1])]
        .into_iter()
        .chain((0..3).map(|k| (var[k] / nk[k]).sqrt()))
        .chain((0..3).map(|k| var[k] * (2.0 / nk[k]).sqrt()))
        .collect();
    assert_se_plausible(&names, &se, &complete);
    Ok(())
}

#[test]
fn bernoulli_mixture_recovers_two_profiles_from_10000_draws() -> Result<(), EmError> {
    let pi = [0.35, 0.65];
    let p = [
        [0.9, 0.8, 0.1, 0.2, 0.7, 0.05],
        [0.1, 0.3, 0.85, 0.9, 0.4, 0.5],
    ];
    let truth = Mixture::new(
        pi.to_vec(),
        p.iter()
            .map(|row| Bernoulli::new(row.to_vec()))
            .collect::<Result<_, _>>()?,
    )?;
    let (x, _) = truth.sample(N, &mut StdRng::seed_from_u64(14));
    let fit = Mixture::fit(&x, &Start::new(Bernoulli::default(), 2), &em())?;
    // The first profile has the higher p_1.
    let m = sorted(&fit.model, |b| -b.p()[0])?;

    let build = |t: &[f64]| -> Result<Mixture<Vec<Bernoulli>>, EmError> {
        Mixture::new(
            weights(&t[..1]),
            vec![
                Bernoulli::new(t[1..7].to_vec())?,
                Bernoulli::new(t[7..].to_vec())?,
            ],
        )
    };
    let names = [
        "π1", "p1,1", "p1,2", "p1,3", "p1,4", "p1,5", "p1,6", "p2,1", "p2,2", "p2,3", "p2,4",
        "p2,5", "p2,6",
    ];
    let estimate: Vec<f64> = std::iter::once(m.weights()[0])
        .chain(m.components().iter().flat_map(|c| c.p().to_vec()))
        .collect();
    let expected: Vec<f64> = std::iter::once(pi[0])
        .chain(p.iter().flatten().copied())
        .collect();
    let se = standard_errors(&estimate, |t| build(t)?.log_likelihood_total(&x))?;
    println!("Bernoulli: estimate {estimate:?}\n           SE {se:?}");
    assert_within_se(&names, &estimate, &expected, &se, Z);
    // Complete data: SE(p_kd) = sqrt(p_kd (1 − p_kd) / (N π_k)).
    let complete: Vec<f64> = std::iter::once(weight_se(pi[0]))
        .chain((0..2).flat_map(|k| {
            p[k].iter()
                .map(move |&q| (q * (1.0 - q) / (N as f64 * pi[k])).sqrt())
        }))
        .collect();
    assert_se_plausible(&names, &se, &complete);
    Ok(())
}
