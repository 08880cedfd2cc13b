//! Parity with scikit-learn's `BayesianGaussianMixture` from the same start.
//!
//! The fixture (`tests/fixtures/sklearn_bgmm.json`, made by `tests/fixtures/make_fixtures.py`
//! with the scikit-learn version named in its `generated_by` field) holds Old Faithful, the
//! starting responsibilities and, for both weight priors and the four covariance types (plus
//! hand-set priors), scikit-learn's fitted attributes after max_iter = 1, 5 and 50 (tol = 0,
//! n_init = 1). We start from the same responsibilities, run the [`Em`] driver for the same
//! number of M-steps, and require every attribute to agree to 1e-8 relative.
//!
//! scikit-learn's `lower_bound_` is the ELBO of (q(z) of the last E-step, q(θ) after the last
//! M-step) with constant terms dropped, and with `reg_covar` treated as if it were part of the
//! scatter. We compute the same ELBO in full (ECLL + entropy + log_prior), take off the
//! `reg_covar` term ½ · reg_covar · Σ_k N_k tr(E[Λ_k]), and require the difference to
//! scikit-learn's value to be the constant it dropped ([`dropped_constant`]) after 1, 5 and
//! 50 iterations.

use em_core::{Em, LatentModel};
use em_family::{CovarianceType, Covariances};
use em_variational::{
    BayesianGaussianMixture, BayesianGaussianMixtureBuilder, CovariancePrior, WeightConcentration,
    WeightPrior,
};
use nalgebra::{DMatrix, DVector};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Fixture {
    generated_by: String,
    n_components: usize,
    reg_covar: f64,
    x: Vec<Vec<f64>>,
    resp: Vec<Vec<f64>>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    weight_prior: String,
    covariance_type: String,
    given_priors: serde_json::Map<String, Value>,
    resolved_priors: Resolved,
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Resolved {
    weight_concentration_prior: f64,
    mean_precision_prior: f64,
    mean_prior: Vec<f64>,
    degrees_of_freedom_prior: f64,
    covariance_prior: Value,
}

#[derive(Deserialize)]
struct Run {
    max_iter: usize,
    weights: Vec<f64>,
    means: Value,
    covariances: Value,
    precisions: Value,
    precisions_cholesky: Value,
    mean_precision: Vec<f64>,
    degrees_of_freedom: Vec<f64>,
    weight_concentration: Vec<Vec<f64>>,
    lower_bound: f64,
    predict_proba: Value,
}

fn load() -> Fixture {
    let path = format!(
        "{}/tests/fixtures/sklearn_bgmm.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture parses")
}

fn matrix(rows: &[Vec<f64>]) -> DMatrix<f64> {
    DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

/// Every number of a JSON value, flattened in order.
fn flatten(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Number(n) => out.push(n.as_f64().expect("a number")),
        Value::Array(a) => a.iter().for_each(|v| flatten(v, out)),
        _ => panic!("unexpected JSON {v}"),
    }
}

fn flat(v: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    flatten(v, &mut out);
    out
}

/// Row-major values of covariances in scikit-learn's shapes.
fn flat_covariances(c: &Covariances) -> Vec<f64> {
    let row_major = |m: &DMatrix<f64>| m.transpose().iter().copied().collect::<Vec<_>>();
    match c {
        Covariances::Full(ms) => ms.iter().flat_map(row_major).collect(),
        Covariances::Tied(m) => row_major(m),
        Covariances::Diag(v) => row_major(v),
        Covariances::Spherical(v) => v.iter().copied().collect(),
    }
}

/// The largest elementwise relative error |a − b| / |b|, with |b| floored at 1e-12 of the
/// attribute's largest magnitude (so that an exact zero of one, ~1e-17 of the other, is not
/// an infinite relative error).
fn max_rel(name: &str, ours: &[f64], theirs: &[f64]) -> f64 {
    assert_eq!(ours.len(), theirs.len(), "{name}: lengths differ");
    let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1e-12 * scale).max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max)
}

/// The constant scikit-learn's `lower_bound_` leaves out:
/// −(N D / 2) ln 2π + K [(D/2) ln κ₀ + ln B(W₀, ν₀) + D(D − 1)/4 · ln π] + c_π, with
/// ln B(W₀, ν₀) = (ν₀/2) ln|Σ₀| − (ν₀ D/2) ln 2 − ln Γ_D(ν₀/2) and c_π = K ln α₀ (Dirichlet
/// process) or ln Γ(K α₀) − K ln Γ(α₀) (Dirichlet distribution).
fn dropped_constant(model: &BayesianGaussianMixture, n: usize) -> f64 {
    use statrs::function::gamma::ln_gamma;
    let p = model.priors();
    let (k, d) = (model.n_components() as f64, model.n_features());
    let df = d as f64;
    let s0 = p.covariance.matrix(d);
    let ln_det_s0 = 2.0
        * s0.cholesky()
            .expect("SPD")
            .l()
            .diagonal()
            .map(f64::ln)
            .sum();
    let nu0 = p.degrees_of_freedom;
    let ln_mv_gamma = df * (df - 1.0) / 4.0 * std::f64::consts::PI.ln()
        + (1..=d)
            .map(|j| ln_gamma(0.5 * nu0 + 0.5 * (1.0 - j as f64)))
            .sum::<f64>();
    let ln_b0 = 0.5 * nu0 * ln_det_s0 - 0.5 * nu0 * df * std::f64::consts::LN_2 - ln_mv_gamma;
    let a0 = p.weight_concentration;
    let c_pi = match model.weight_prior() {
        WeightPrior::DirichletProcess => k * a0.ln(),
        WeightPrior::DirichletDistribution => ln_gamma(k * a0) - k * ln_gamma(a0),
    };
    -(n as f64) * df / 2.0 * (2.0 * std::f64::consts::PI).ln()
        + k * (0.5 * df * p.mean_precision.ln()
            + ln_b0
            + df * (df - 1.0) / 4.0 * std::f64::consts::PI.ln())
        + c_pi
}

fn builder(f: &Fixture, case: &Case) -> BayesianGaussianMixtureBuilder {
    let kind: CovarianceType = case.covariance_type.parse().expect("covariance type");
    let prior: WeightPrior = case.weight_prior.parse().expect("weight prior");
    let mut b = BayesianGaussianMixture::builder(f.n_components)
        .covariance_type(kind)
        .weight_prior(prior)
        .reg_covar(f.reg_covar);
    let g = &case.given_priors;
    if let Some(v) = g.get("weight_concentration_prior") {
        b = b.weight_concentration_prior(v.as_f64().unwrap());
    }
    if let Some(v) = g.get("mean_precision_prior") {
        b = b.mean_precision_prior(v.as_f64().unwrap());
    }
    if let Some(v) = g.get("mean_prior") {
        b = b.mean_prior(DVector::from_vec(flat(v)));
    }
    if let Some(v) = g.get("degrees_of_freedom_prior") {
        b = b.degrees_of_freedom_prior(v.as_f64().unwrap());
    }
    if let Some(v) = g.get("covariance_prior") {
        let values = flat(v);
        let d = f.x[0].len();
        b = b.covariance_prior(match kind {
            CovarianceType::Full | CovarianceType::Tied => {
                CovariancePrior::Full(DMatrix::from_row_slice(d, d, &values))
            }
            CovarianceType::Diag => CovariancePrior::Diag(DVector::from_vec(values)),
            CovarianceType::Spherical => CovariancePrior::Spherical(values[0]),
        });
    }
    b
}

/// ELBO(q_{n−1}, θ_n) after n plain VB iterations from `start`, and Σ_k N_k tr(E[Λ_k]) of the
/// last statistics (the `reg_covar` term scikit-learn's bound leaves in).
fn elbo_after(start: &BayesianGaussianMixture, x: &DMatrix<f64>, n: usize) -> (f64, f64) {
    let mut model = start.clone();
    let mut last = None;
    for _ in 0..n {
        let e = model.e_step(x, 0..x.nrows()).expect("e-step");
        model.m_step(&e.stats).expect("m-step");
        last = Some(e);
    }
    let e = last.expect("at least one iteration");
    let elbo = model.expected_complete_log_likelihood(&e.stats) + e.entropy + model.log_prior();
    let nk = &e.stats.0.n;
    let trace = |k: usize| -> f64 {
        match model.precisions() {
            Covariances::Full(p) => p[k].trace(),
            Covariances::Tied(p) => p.trace(),
            Covariances::Diag(p) => p.row(k).sum(),
            Covariances::Spherical(p) => p[k] * model.n_features() as f64,
        }
    };
    let reg_term = (0..nk.len()).map(|k| nk[k] * trace(k)).sum::<f64>();
    (elbo, reg_term)
}

#[test]
fn every_attribute_matches_scikit_learn_after_1_5_and_50_iterations() {
    let f = load();
    assert!(
        f.generated_by.contains("scikit-learn"),
        "{}",
        f.generated_by
    );
    let x = matrix(&f.x);
    let resp = matrix(&f.resp);
    let tol = 1e-8;
    let mut failures = Vec::new();
    for case in &f.cases {
        let b = builder(&f, case);
        let start = b.from_responsibilities(&x, &resp).expect("start");
        // The resolved priors.
        let p = start.priors();
        let r = &case.resolved_priors;
        let mut errors = vec![
            (
                "weight_concentration_prior",
                max_rel(
                    "a0",
                    &[p.weight_concentration],
                    &[r.weight_concentration_prior],
                ),
            ),
            (
                "mean_precision_prior",
                max_rel("k0", &[p.mean_precision], &[r.mean_precision_prior]),
            ),
            (
                "mean_prior",
                max_rel("m0", p.mean.as_slice(), &r.mean_prior),
            ),
            (
                "degrees_of_freedom_prior",
                max_rel(
                    "nu0",
                    &[p.degrees_of_freedom],
                    &[r.degrees_of_freedom_prior],
                ),
            ),
            ("covariance_prior", {
                let ours = match &p.covariance {
                    CovariancePrior::Full(m) => m.transpose().iter().copied().collect(),
                    CovariancePrior::Diag(v) => v.iter().copied().collect(),
                    CovariancePrior::Spherical(s) => vec![*s],
                };
                max_rel("s0", &ours, &flat(&r.covariance_prior))
            }),
        ];
        let mut constants = Vec::new();
        for run in &case.runs {
            let mut model = start.clone();
            Em::new()
                .tol(0.0)
                .max_iter(run.max_iter)
                .fit(&mut model, &x)
                .expect("fit");
            let wc: Vec<f64> = match model.weight_concentration() {
                WeightConcentration::Dirichlet(a) => a.iter().copied().collect(),
                WeightConcentration::Beta { a, b } => a.iter().chain(b.iter()).copied().collect(),
            };
            let theirs_wc: Vec<f64> = run.weight_concentration.concat();
            let proba = model.predict_proba(&x).expect("proba");
            errors.extend([
                (
                    "weights",
                    max_rel("w", model.weights().as_slice(), &run.weights),
                ),
                (
                    "means",
                    max_rel("m", model.means().transpose().as_slice(), &flat(&run.means)),
                ),
                (
                    "covariances",
                    max_rel(
                        "c",
                        &flat_covariances(model.covariances()),
                        &flat(&run.covariances),
                    ),
                ),
                (
                    "precisions",
                    max_rel(
                        "p",
                        &flat_covariances(&model.precisions()),
                        &flat(&run.precisions),
                    ),
                ),
                (
                    "precisions_cholesky",
                    max_rel(
                        "pc",
                        &flat_covariances(&model.precisions_cholesky()),
                        &flat(&run.precisions_cholesky),
                    ),
                ),
                (
                    "mean_precision",
                    max_rel("k", model.mean_precision().as_slice(), &run.mean_precision),
                ),
                (
                    "degrees_of_freedom",
                    max_rel(
                        "nu",
                        model.degrees_of_freedom().as_slice(),
                        &run.degrees_of_freedom,
                    ),
                ),
                ("weight_concentration", max_rel("wc", &wc, &theirs_wc)),
                (
                    "predict_proba",
                    max_rel(
                        "proba",
                        proba.transpose().as_slice(),
                        &flat(&run.predict_proba),
                    ),
                ),
            ]);
            let (elbo, reg_term) = elbo_after(&start, &x, run.max_iter);
            constants.push(elbo - 0.5 * f.reg_covar * reg_term - run.lower_bound);
        }
        let expected = dropped_constant(&start, x.nrows());
        let spread = constants
            .iter()
            .fold(0.0f64, |m, c| m.max((c - expected).abs()));
        let lb_scale = case
            .runs
            .iter()
            .fold(0.0f64, |m, r| m.max(r.lower_bound.abs()));
        errors.push((
            "lower_bound (up to the dropped constant)",
            spread / lb_scale,
        ));
        let worst = errors.iter().fold(0.0f64, |m, e| m.max(e.1));
        println!(
            "{} {}{}: max relative error {worst:.2e}; ELBO − lower_bound_ = {:.10}, dropped constant {expected:.10} (largest gap {spread:.2e})",
            case.weight_prior,
            case.covariance_type,
            if case.given_priors.is_empty() {
                ""
            } else {
                " (priors set)"
            },
            constants[0]
        );
        for (name, e) in errors {
            if e > tol || e.is_nan() {
                failures.push(format!(
                    "{} {} {name}: {e:e}",
                    case.weight_prior, case.covariance_type
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
