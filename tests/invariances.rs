//! Invariances every fit must respect, from the same initial parameters:
//!
//! - **row order**: permuting the observations (and their sample weights) leaves the fit
//!   unchanged up to floating point — every bundled model;
//! - **units**: an affine change x → a·x + b (a per-dimension scale, possibly negative, and a
//!   shift) maps the fitted means to a·μ + b and the covariances to A Σ A (A = diag(a)), keeps
//!   the weights, and shifts the log-likelihood at every iteration by −N·Σ_d log|a_d| — the
//!   Gaussian mixture with each covariance structure (spherical with one |a| for all
//!   dimensions, as its structure requires), the two-component model, and the 1-D Gaussian and
//!   exponential (x → a·x, a > 0) families;
//! - **labels**: relabelling the initial components relabels the result — every model with
//!   components.
//!
//! All fits are maximum likelihood (`reg_covar = 0`, no prior: neither is equivariant) with
//! `tol = 0` and a fixed number of iterations.

use em::gmm::{
    CovarianceType, Covariances, GaussianMixture, SampleWeighted, TwoComponentMixture,
    ZeroInflatedPoisson,
};
use em::mixture::{Bernoulli, BinaryMatrix, Component, Exponential, Gaussian, Mixture, Poisson};
use em::{Em, EmError, FitReport, LatentModel};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Exp1, StandardNormal};

/// EM iterations per fit.
const ITERS: usize = 25;

/// Relative agreement demanded of two fits that differ only by rounding.
const CLOSE: f64 = 1e-8;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn run<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) {
    runner(cases)
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

type TestCaseResult = Result<(), TestCaseError>;

fn fit<M: LatentModel>(mut model: M, data: &M::Data) -> Result<(M, FitReport), TestCaseError> {
    let report = Em::new()
        .tol(0.0)
        .max_iter(ITERS)
        .fit(&mut model, data)
        .map_err(|e| TestCaseError::fail(format!("fit failed: {e}")))?;
    Ok((model, report))
}

/// |a − b| ≤ CLOSE · scale, with a message naming what differs.
fn close(what: &str, a: f64, b: f64, scale: f64) -> TestCaseResult {
    if (a - b).abs() <= CLOSE * scale && a.is_finite() && b.is_finite() {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!(
            "{what}: {a:e} vs {b:e} (difference {:e}, allowed {:e})",
            (a - b).abs(),
            CLOSE * scale
        )))
    }
}

fn close_traces(a: &[f64], b: &[f64], shift: f64, n: usize) -> TestCaseResult {
    prop_assert_eq!(a.len(), b.len());
    for (t, (&x, &y)) in a.iter().zip(b).enumerate() {
        close(
            &format!("objective at iteration {t}"),
            x,
            y + shift,
            x.abs().max(y.abs()).max(n as f64),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Data and starts
// ---------------------------------------------------------------------------------------

/// N rows around three well-separated centres in D dimensions, with unequal spreads.
fn blobs(n: usize, d: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    DMatrix::from_fn(n, d, |i, j| {
        let z: f64 = rng.sample(StandardNormal);
        let c = (i % 3) as f64;
        6.0 * c * (1.0 + j as f64) + z * (0.5 + 0.4 * c)
    })
}

/// A start near the data: means at rows 0, 1, 2 (one per cluster) nudged, weights unequal,
/// covariances of the structure on the data's scale.
fn gmm_start(x: &DMatrix<f64>, kind: CovarianceType, k: usize) -> GaussianMixture {
    let d = x.ncols();
    let means = DMatrix::from_fn(k, d, |c, j| x[(c, j)] + 0.3 * (j as f64 + 1.0));
    let weights = DVector::from_fn(k, |c, _| (c + 2) as f64);
    let weights = &weights / weights.sum();
    let full = |c: usize| {
        DMatrix::from_fn(d, d, |i, j| {
            if i == j {
                1.5 + c as f64
            } else {
                0.3 / (1.0 + (i + j) as f64)
            }
        })
    };
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full((0..k).map(full).collect()),
        CovarianceType::Tied => Covariances::Tied(full(0)),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(k, d, |c, j| {
            1.0 + c as f64 + 0.5 * j as f64
        })),
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_fn(k, |c, _| 1.5 + c as f64))
        }
    };
    GaussianMixture::new(weights, means, covariances).unwrap()
}

/// The same mixture with component `perm[c]` in place c.
fn relabel(m: &GaussianMixture, perm: &[usize]) -> GaussianMixture {
    let (k, d) = (m.n_components(), m.n_features());
    let weights = DVector::from_fn(k, |c, _| m.weights()[perm[c]]);
    let means = DMatrix::from_fn(k, d, |c, j| m.means()[(perm[c], j)]);
    let covariances = match m.covariances() {
        Covariances::Full(v) => Covariances::Full(perm.iter().map(|&p| v[p].clone()).collect()),
        Covariances::Tied(s) => Covariances::Tied(s.clone()),
        Covariances::Diag(v) => Covariances::Diag(DMatrix::from_fn(k, d, |c, j| v[(perm[c], j)])),
        Covariances::Spherical(v) => Covariances::Spherical(DVector::from_fn(k, |c, _| v[perm[c]])),
    };
    GaussianMixture::new(weights, means, covariances).unwrap()
}

/// The start mapped through x → a·x + b.
fn transform(m: &GaussianMixture, a: &[f64], b: &[f64]) -> GaussianMixture {
    let (k, d) = (m.n_components(), m.n_features());
    let means = DMatrix::from_fn(k, d, |c, j| a[j] * m.means()[(c, j)] + b[j]);
    let covariances = match m.covariances() {
        Covariances::Full(v) => Covariances::Full(
            v.iter()
                .map(|s| DMatrix::from_fn(d, d, |i, j| a[i] * a[j] * s[(i, j)]))
                .collect(),
        ),
        Covariances::Tied(s) => {
            Covariances::Tied(DMatrix::from_fn(d, d, |i, j| a[i] * a[j] * s[(i, j)]))
        }
        Covariances::Diag(v) => {
            Covariances::Diag(DMatrix::from_fn(k, d, |c, j| a[j] * a[j] * v[(c, j)]))
        }
        Covariances::Spherical(v) => Covariances::Spherical(v * (a[0] * a[0])),
    };
    GaussianMixture::new(m.weights().clone(), means, covariances).unwrap()
}

/// Asserts that `got` is `want` with component c of `got` being component `perm[c]` of
/// `want` (identity for no relabelling); parameters compared on the data's scale.
fn same_mixture(got: &GaussianMixture, want: &GaussianMixture, perm: &[usize]) -> TestCaseResult {
    let d = want.n_features();
    prop_assert_eq!(perm.len(), want.n_components());
    for (c, &p) in perm.iter().enumerate() {
        close(
            &format!("weight {c}"),
            got.weights()[c],
            want.weights()[p],
            1.0,
        )?;
        let (sg, sw) = (got.covariance(c).unwrap(), want.covariance(p).unwrap());
        for j in 0..d {
            let spread = sw[(j, j)].sqrt() + want.means()[(p, j)].abs();
            close(
                &format!("mean {c}[{j}]"),
                got.means()[(c, j)],
                want.means()[(p, j)],
                spread,
            )?;
            for i in 0..d {
                close(
                    &format!("covariance {c}[{i}][{j}]"),
                    sg[(i, j)],
                    sw[(i, j)],
                    (sw[(i, i)] * sw[(j, j)]).sqrt(),
                )?;
            }
        }
    }
    Ok(())
}

fn permuted_rows(x: &DMatrix<f64>, order: &[usize]) -> DMatrix<f64> {
    DMatrix::from_fn(x.nrows(), x.ncols(), |i, j| x[(order[i], j)])
}

/// A permutation of 0..n.
fn permutation(n: usize) -> impl Strategy<Value = Vec<usize>> {
    Just((0..n).collect::<Vec<_>>()).prop_shuffle()
}

// ---------------------------------------------------------------------------------------
// Row order
// ---------------------------------------------------------------------------------------

#[test]
fn gmm_fit_does_not_depend_on_row_order() {
    let n = 60;
    let cases = (
        any::<u64>(),
        0usize..4,
        1usize..=3,
        permutation(n),
        proptest::option::of(proptest::collection::vec(0.0f64..2.0, n)),
    );
    run("gmm row order", 32, cases, |(seed, kind, d, order, sw)| {
        let kind = CovarianceType::ALL[kind];
        let x = blobs(n, d, seed);
        let xp = permuted_rows(&x, &order);
        let start = gmm_start(&x, kind, 3);
        let (a, b) = match &sw {
            None => {
                let (a, ra) = fit(start.clone(), &x)?;
                let (b, rb) = fit(start, &xp)?;
                close_traces(&ra.trace, &rb.trace, 0.0, n)?;
                (a, b)
            }
            Some(w) => {
                let wp: Vec<f64> = order.iter().map(|&i| w[i]).collect();
                let weighted = |sample_weight| SampleWeighted {
                    model: start.clone(),
                    sample_weight,
                };
                let (a, ra) = fit(weighted(Some(w)), &x)?;
                let (b, rb) = fit(weighted(Some(&wp)), &xp)?;
                close_traces(&ra.trace, &rb.trace, 0.0, n)?;
                (a.model, b.model)
            }
        };
        let identity: Vec<usize> = (0..3).collect();
        same_mixture(&b, &a, &identity)
    });
}

#[test]
fn zip_fit_does_not_depend_on_row_order() {
    let n = 80;
    run(
        "zip row order",
        48,
        (any::<u64>(), permutation(n), 0.01f64..0.9, 0.1f64..20.0),
        |(seed, order, pi, lambda)| {
            let truth = ZeroInflatedPoisson::new(pi, lambda).unwrap();
            let (mut y, _) = truth.sample(n, &mut StdRng::seed_from_u64(seed));
            y[0] = y[0].max(1);
            let yp: Vec<u64> = order.iter().map(|&i| y[i]).collect();
            let start = ZeroInflatedPoisson::moment_start(&y).unwrap();
            let (a, ra) = fit(start, &y[..])?;
            let (b, rb) = fit(start, &yp[..])?;
            close_traces(&ra.trace, &rb.trace, 0.0, n)?;
            close("pi", a.pi(), b.pi(), 1.0)?;
            close("lambda", a.lambda(), b.lambda(), a.lambda())
        },
    );
}

/// Row order and relabelling for a mixture of any family: fits from `start` on `data` and
/// on `data` reordered, and from `start` with its components reversed; `params` flattens
/// a component for comparison (on scale `scale`).
fn family_case<C: Component>(
    start: Mixture<Vec<C>>,
    data: &C::Data,
    reordered: &C::Data,
    params: impl Fn(&C) -> Vec<f64>,
    scale: f64,
    n: usize,
) -> TestCaseResult {
    let (a, ra) = fit(start.clone(), data)?;
    let (b, rb) = fit(start.clone(), reordered)?;
    close_traces(&ra.trace, &rb.trace, 0.0, n)?;
    let k = start.n_components();
    let reversed = Mixture::new(
        start.weights().iter().rev().copied().collect(),
        start.components().iter().rev().cloned().collect(),
    )
    .map_err(em)?;
    let (r, rr) = fit(reversed, data)?;
    close_traces(&ra.trace, &rr.trace, 0.0, n)?;
    for c in 0..k {
        let p = k - 1 - c;
        close(
            &format!("row order: weight {c}"),
            b.weights()[c],
            a.weights()[c],
            1.0,
        )?;
        close(
            &format!("relabelled: weight {c}"),
            r.weights()[c],
            a.weights()[p],
            1.0,
        )?;
        let pa = params(&a.components()[c]);
        for (i, (&u, &v)) in params(&b.components()[c]).iter().zip(&pa).enumerate() {
            close(
                &format!("row order: component {c} parameter {i}"),
                u,
                v,
                scale,
            )?;
        }
        let pa = params(&a.components()[p]);
        for (i, (&u, &v)) in params(&r.components()[c]).iter().zip(&pa).enumerate() {
            close(
                &format!("relabelled: component {c} parameter {i}"),
                u,
                v,
                scale,
            )?;
        }
    }
    Ok(())
}

#[test]
fn family_mixtures_do_not_depend_on_row_order_or_labels() {
    let n = 90;
    run(
        "families",
        24,
        (any::<u64>(), permutation(n)),
        |(seed, order)| {
            let mut rng = StdRng::seed_from_u64(seed);
            let mix = |i: usize| i % 3;
            // Poisson counts.
            let y: Vec<u64> = (0..n)
                .map(|i| {
                    let rate: f64 = [1.0, 6.0, 20.0][mix(i)];
                    (rate + rate.sqrt() * rng.sample::<f64, _>(StandardNormal))
                        .round()
                        .max(0.0) as u64
                })
                .collect();
            let yp: Vec<u64> = order.iter().map(|&i| y[i]).collect();
            let poisson = Mixture::new(
                vec![0.2, 0.3, 0.5],
                vec![
                    Poisson::new(0.5).map_err(em)?,
                    Poisson::new(5.0).map_err(em)?,
                    Poisson::new(30.0).map_err(em)?,
                ],
            )
            .map_err(em)?;
            family_case(poisson, &y[..], &yp[..], |c| vec![c.lambda()], 30.0, n)?;
            // Exponential waiting times.
            let t: Vec<f64> = (0..n)
                .map(|i| rng.sample::<f64, _>(Exp1) * [0.2, 3.0, 1.0][mix(i)])
                .collect();
            let tp: Vec<f64> = order.iter().map(|&i| t[i]).collect();
            let exponential = Mixture::new(
                vec![0.6, 0.4],
                vec![
                    Exponential::new(4.0).map_err(em)?,
                    Exponential::new(0.5).map_err(em)?,
                ],
            )
            .map_err(em)?;
            family_case(exponential, &t[..], &tp[..], |c| vec![c.rate()], 5.0, n)?;
            // Gaussian reals.
            let g: Vec<f64> = (0..n)
                .map(|i| [-4.0, 0.0, 5.0][mix(i)] + rng.sample::<f64, _>(StandardNormal))
                .collect();
            let gp: Vec<f64> = order.iter().map(|&i| g[i]).collect();
            let gaussian = Mixture::new(
                vec![0.3, 0.3, 0.4],
                vec![
                    Gaussian::new(-3.0, 2.0).map_err(em)?,
                    Gaussian::new(1.0, 1.0).map_err(em)?,
                    Gaussian::new(4.0, 3.0).map_err(em)?,
                ],
            )
            .map_err(em)?;
            family_case(
                gaussian,
                &g[..],
                &gp[..],
                |c| vec![c.mean(), c.variance()],
                5.0,
                n,
            )?;
            // Bernoulli rows.
            let d = 5;
            let probs = [[0.9, 0.8, 0.1, 0.2, 0.5], [0.1, 0.2, 0.9, 0.7, 0.5]];
            let bits: Vec<bool> = (0..n * d)
                .map(|v| rng.random::<f64>() < probs[(v / d) % 2][v % d])
                .collect();
            let bits_p: Vec<bool> = order
                .iter()
                .flat_map(|&i| bits[i * d..(i + 1) * d].to_vec())
                .collect();
            let b = BinaryMatrix::new(n, d, bits).map_err(em)?;
            let bp = BinaryMatrix::new(n, d, bits_p).map_err(em)?;
            let bernoulli = Mixture::new(
                vec![0.5, 0.5],
                vec![
                    Bernoulli::new(vec![0.6, 0.6, 0.4, 0.4, 0.5]).map_err(em)?,
                    Bernoulli::new(vec![0.3, 0.4, 0.6, 0.6, 0.4]).map_err(em)?,
                ],
            )
            .map_err(em)?;
            family_case(bernoulli, &b, &bp, |c| c.p().to_vec(), 1.0, n)
        },
    );
}

/// A model error as a failed case.
fn em(e: EmError) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

// ---------------------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------------------

/// Per-dimension scales: |a_d| ∈ [1e-2, 1e2], either sign; shifts up to 1e3.
fn units(d: usize) -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (
        proptest::collection::vec((-2.0f64..2.0, any::<bool>()), d),
        proptest::collection::vec(-1e3f64..1e3, d),
    )
        .prop_map(|(scales, b)| {
            let a = scales
                .into_iter()
                .map(|(e, neg)| if neg { -1.0 } else { 1.0 } * 10f64.powf(e))
                .collect();
            (a, b)
        })
}

#[test]
fn gmm_fit_follows_an_affine_change_of_units() {
    let n = 60;
    run(
        "gmm units",
        48,
        (any::<u64>(), 0usize..4, 1usize..=3)
            .prop_flat_map(move |(seed, kind, d)| (Just(seed), Just(kind), units(d))),
        |(seed, kind, (mut a, b))| {
            let kind = CovarianceType::ALL[kind];
            let d = a.len();
            if kind == CovarianceType::Spherical {
                // One length scale for all dimensions (signs may still differ).
                let s = a[0].abs();
                a.iter_mut().for_each(|v| *v = s * v.signum());
            }
            let x = blobs(n, d, seed);
            let y = DMatrix::from_fn(n, d, |i, j| a[j] * x[(i, j)] + b[j]);
            let start = gmm_start(&x, kind, 3);
            let (fx, rx) = fit(start.clone(), &x)?;
            let (fy, ry) = fit(transform(&start, &a, &b), &y)?;
            let shift = -(n as f64) * a.iter().map(|v| v.abs().ln()).sum::<f64>();
            close_traces(&ry.trace, &rx.trace, shift, n)?;
            let identity: Vec<usize> = (0..3).collect();
            same_mixture(&fy, &transform(&fx, &a, &b), &identity)
        },
    );
}

#[test]
fn two_component_fit_follows_an_affine_change_of_units_and_a_swap_of_labels() {
    let n = 80;
    run(
        "two-component",
        32,
        (any::<u64>(), 1usize..=3).prop_flat_map(|(seed, d)| (Just(seed), units(d))),
        |(seed, (a, b))| {
            let d = a.len();
            let x = blobs(n, d, seed);
            let y = DMatrix::from_fn(n, d, |i, j| a[j] * x[(i, j)] + b[j]);
            let mu = |r: usize| DVector::from_fn(d, |j, _| x[(r, j)] + 0.2);
            let sigma = |v: f64| DMatrix::from_fn(d, d, |i, j| if i == j { v } else { 0.2 });
            let start =
                TwoComponentMixture::new(0.3, mu(0), sigma(2.0), mu(1), sigma(4.0)).unwrap();
            let (fx, rx) = fit(start.clone(), &x)?;
            // Units: the mapped start on the mapped data gives the mapped fit.
            let mapped = transform(start.as_mixture(), &a, &b);
            let mapped = TwoComponentMixture::try_from(mapped).unwrap();
            let (fy, ry) = fit(mapped, &y)?;
            let shift = -(n as f64) * a.iter().map(|v| v.abs().ln()).sum::<f64>();
            close_traces(&ry.trace, &rx.trace, shift, n)?;
            same_mixture(
                fy.as_mixture(),
                &transform(fx.as_mixture(), &a, &b),
                &[0, 1],
            )?;
            // Labels: (1 − α, μ₁, Σ₁, μ₀, Σ₀) gives the fit with α ↔ 1 − α and 0 ↔ 1.
            let swapped =
                TwoComponentMixture::new(0.7, mu(1), sigma(4.0), mu(0), sigma(2.0)).unwrap();
            let (fs, rs) = fit(swapped, &x)?;
            close_traces(&rs.trace, &rx.trace, 0.0, n)?;
            close("alpha", fs.alpha(), 1.0 - fx.alpha(), 1.0)?;
            same_mixture(fs.as_mixture(), fx.as_mixture(), &[1, 0])
        },
    );
}

#[test]
fn gaussian_and_exponential_families_follow_a_change_of_units() {
    let n = 90;
    run(
        "family units",
        48,
        (any::<u64>(), -2.0f64..2.0, any::<bool>(), -1e3f64..1e3),
        |(seed, e, neg, b)| {
            let mut rng = StdRng::seed_from_u64(seed);
            let s = 10f64.powf(e);
            let a = if neg { -s } else { s };
            let log_jacobian = n as f64 * s.ln();
            // Gaussian: x → a·x + b.
            let x: Vec<f64> = (0..n)
                .map(|i| [-4.0, 0.0, 5.0][i % 3] + rng.sample::<f64, _>(StandardNormal))
                .collect();
            let y: Vec<f64> = x.iter().map(|v| a * v + b).collect();
            let params = [(0.3, -3.0, 2.0), (0.3, 1.0, 1.0), (0.4, 4.0, 3.0)];
            let start = |a: f64, b: f64| -> Result<Mixture<Vec<Gaussian>>, EmError> {
                Mixture::new(
                    params.iter().map(|p| p.0).collect(),
                    params
                        .iter()
                        .map(|&(_, m, v)| Gaussian::new(a * m + b, a * a * v))
                        .collect::<Result<_, _>>()?,
                )
            };
            let (fx, rx) = fit(start(1.0, 0.0).map_err(em)?, &x[..])?;
            let (fy, ry) = fit(start(a, b).map_err(em)?, &y[..])?;
            close_traces(&ry.trace, &rx.trace, -log_jacobian, n)?;
            for (c, (gy, gx)) in fy.components().iter().zip(fx.components()).enumerate() {
                close(
                    &format!("weight {c}"),
                    fy.weights()[c],
                    fx.weights()[c],
                    1.0,
                )?;
                let sd = gx.std_dev();
                close(
                    &format!("mean {c}"),
                    gy.mean(),
                    a * gx.mean() + b,
                    s * (sd + gx.mean().abs()) + b.abs(),
                )?;
                close(
                    &format!("variance {c}"),
                    gy.variance(),
                    a * a * gx.variance(),
                    a * a * gx.variance(),
                )?;
            }
            // Exponential: t → s·t (times must stay non-negative).
            let t: Vec<f64> = (0..n)
                .map(|i| rng.sample::<f64, _>(Exp1) * [0.2, 3.0][i % 2])
                .collect();
            let u: Vec<f64> = t.iter().map(|v| s * v).collect();
            let start = |s: f64| -> Result<Mixture<Vec<Exponential>>, EmError> {
                Mixture::new(
                    vec![0.6, 0.4],
                    vec![Exponential::new(4.0 / s)?, Exponential::new(0.5 / s)?],
                )
            };
            let (ft, rt) = fit(start(1.0).map_err(em)?, &t[..])?;
            let (fu, ru) = fit(start(s).map_err(em)?, &u[..])?;
            close_traces(&ru.trace, &rt.trace, -log_jacobian, n)?;
            for (c, (eu, et)) in fu.components().iter().zip(ft.components()).enumerate() {
                close(
                    &format!("weight {c}"),
                    fu.weights()[c],
                    ft.weights()[c],
                    1.0,
                )?;
                close(
                    &format!("rate {c}"),
                    eu.rate(),
                    et.rate() / s,
                    et.rate() / s,
                )?;
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------

#[test]
fn relabelling_the_start_relabels_the_gmm_fit() {
    let n = 60;
    run(
        "gmm labels",
        32,
        (any::<u64>(), 0usize..4, 1usize..=3, permutation(3)),
        |(seed, kind, d, perm)| {
            let kind = CovarianceType::ALL[kind];
            let x = blobs(n, d, seed);
            let start = gmm_start(&x, kind, 3);
            let (a, ra) = fit(start.clone(), &x)?;
            let (b, rb) = fit(relabel(&start, &perm), &x)?;
            close_traces(&rb.trace, &ra.trace, 0.0, n)?;
            same_mixture(&b, &a, &perm)
        },
    );
}
