//! How near the optimum each stopping rule stops: iterations spent against the actual
//! distance to the maximum-likelihood estimate, for every rule and several tolerances, on a
//! zero-inflated Poisson, Gaussian mixtures, a Poisson mixture and hidden Markov models.
//! The numbers behind the defaults in `docs/stopping.md`.
//!
//! Run with `cargo run --release --example stopping_rules` (about a minute); pass a case name
//! (`zip-doctor`, `faithful-k3`, …) to run only the cases whose name contains it.
//!
//! For every case the plain EM path θ_0, θ_1, … is computed from the start a default fit
//! uses, for up to [`PATH_LEN`] iterations or until it stands still (relative changes below
//! 1e-14); its last iterate is the reference θ* (ℓ* its objective). For each rule and tolerance the example finds the first
//! iteration at which the rule holds — with em-core's own functions, so that the driver stops
//! at the same iteration, which the example checks for the default rule — and prints the
//! relative distance of θ_t to θ* (the largest unitless change,
//! `ScaledParameters::relative_distance`) and the gap ℓ* − ℓ_t. "raw-change" is the parameter
//! rule without the rate correction (stop when the last relative change is below tol), shown
//! to justify the correction.

use em::core::stopping::{aitken_gap, distance_to_limit};
use em::core::{
    DEFAULT_CHUNK_SIZE, Em, EmError, LatentModel, ScaledParameters, Stopping, chunked_e_step,
};
use em::gmm::{Covariances, GaussianMixture, ZeroInflatedPoisson};
use em::hmm::{Categorical, CategoricalHmm, CovarianceType, Gaussian, GaussianHmm};
use em::mixture::{Mixture, Poisson};
use nalgebra::{DMatrix, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The longest plain EM path computed per case.
const PATH_LEN: usize = 50_000;

const FAITHFUL: &str = include_str!("../data/faithful.csv");
const DOCTOR_VISITS: &str = include_str!("../data/doctor_visits.csv");

/// The rules and tolerances measured.
fn rules() -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    for tol in [1e-3, 1e-6, 1e-8, 1e-10, 1e-12] {
        out.push(("objective-change", tol));
    }
    for tol in [1e-8, 1e-10, 1e-12, 1e-14] {
        out.push(("aitken", tol));
    }
    for tol in [1e-6, 1e-8, 1e-10] {
        out.push(("raw-change", tol));
    }
    for tol in [1e-5, 1e-6, 1e-7, 1e-8] {
        out.push(("parameters", tol));
    }
    out
}

/// A plain EM path: objectives and parameters at θ_0 … θ_T.
struct Path {
    objectives: Vec<f64>,
    parameters: Vec<ScaledParameters>,
    n_obs: f64,
}

/// Runs plain EM from `model` for up to `len` iterations, stopping early once the parameters
/// have moved by less than 1e-14 (relative) for 20 iterations in a row: at the optimum, to
/// rounding.
fn em_path<M: LatentModel>(mut model: M, data: &M::Data, len: usize) -> Result<Path, EmError> {
    let mut objectives = Vec::new();
    let mut parameters = Vec::new();
    let mut still = 0;
    let mut e = chunked_e_step(&model, data, DEFAULT_CHUNK_SIZE)?;
    let n_obs = model.n_observations(data) as f64;
    loop {
        objectives.push(e.log_likelihood + model.log_prior());
        let p = model.scaled_parameters().ok_or(EmError::InvalidParameter {
            name: "model",
            reason: "exposes no parameters".into(),
        })?;
        if let Some(last) = parameters.last() {
            still = if p.relative_distance(last) < 1e-14 {
                still + 1
            } else {
                0
            };
        }
        parameters.push(p);
        if objectives.len() > len || still >= 20 {
            break;
        }
        model.m_step(&e.stats)?;
        e = chunked_e_step(&model, data, DEFAULT_CHUNK_SIZE)?;
    }
    Ok(Path {
        objectives,
        parameters,
        n_obs,
    })
}

/// The first iteration t ≥ 1 at which `rule` at `tol` holds on `path`, as the driver decides.
fn first_stop(path: &Path, rule: &str, tol: f64) -> Option<usize> {
    let l = &path.objectives;
    let p = &path.parameters;
    let change = |t: usize| p[t].relative_distance(&p[t - 1]);
    (1..l.len()).find(|&t| match rule {
        "objective-change" => ((l[t] - l[t - 1]) / path.n_obs).abs() < tol,
        "aitken" => {
            t >= 2 && aitken_gap([l[t - 2], l[t - 1], l[t]]).is_some_and(|g| g / path.n_obs < tol)
        }
        "raw-change" => change(t) < tol,
        "parameters" => {
            let changes: Vec<f64> = (1..=t).map(change).collect();
            t >= 2 && distance_to_limit(&changes).is_some_and(|d| d < tol)
        }
        _ => false,
    })
}

/// One measured case.
struct Case {
    name: String,
    what: String,
    path: Path,
}

/// The columns of the summary table: (rule, tol, heading).
const SUMMARY: [(&str, f64, &str); 7] = [
    (
        "objective-change",
        1e-3,
        "objective-change 1e-3 (scikit-learn, old `Em::new()`)",
    ),
    (
        "objective-change",
        1e-6,
        "objective-change 1e-6 (old `em fit`)",
    ),
    (
        "objective-change",
        1e-10,
        "objective-change 1e-10 (old `em zip`)",
    ),
    ("aitken", 1e-12, "aitken 1e-12"),
    ("aitken", 1e-14, "aitken 1e-14"),
    ("raw-change", 1e-8, "raw parameter change 1e-8"),
    ("parameters", 1e-7, "**parameters 1e-7 (default)**"),
];

/// "iterations / distance" of the first stop of `rule` at `tol` on the case's path.
fn cell(case: &Case, rule: &str, tol: f64) -> String {
    let path = &case.path;
    let last = path.objectives.len() - 1;
    match first_stop(path, rule, tol) {
        Some(t) if t < last => format!(
            "{t} / {:.0e}",
            path.parameters[t].relative_distance(&path.parameters[last])
        ),
        _ => format!("> {last}"),
    }
}

fn report(case: &Case) {
    let path = &case.path;
    let last = path.objectives.len() - 1;
    let reference = &path.parameters[last];
    let l_star = path.objectives[last];
    // The rate of convergence near the end, from the changes of the parameters.
    let mid = last.saturating_sub(1).max(2).min(last);
    let rate = (2..=mid)
        .rev()
        .map(|t| {
            let a = path.parameters[t].relative_distance(&path.parameters[t - 1]);
            let b = path.parameters[t - 1].relative_distance(&path.parameters[t - 2]);
            (a, b)
        })
        .find(|&(a, b)| a > 1e-9 && b > 0.0)
        .map_or(f64::NAN, |(a, b)| a / b);
    println!(
        "\n### {} — {}\n\nReference: {} plain EM iterations, ℓ* = {:.9}, n = {}, rate of convergence near the optimum r ≈ {:.4}.\n",
        case.name, case.what, last, l_star, path.n_obs, rate
    );
    println!("| rule | tol | iterations | relative distance to θ* | ℓ* − ℓ_t |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for (rule, tol) in rules() {
        match first_stop(path, rule, tol) {
            Some(t) if t < last => {
                let d = path.parameters[t].relative_distance(reference);
                let gap = l_star - path.objectives[t];
                println!("| {rule} | {tol:e} | {t} | {d:.1e} | {gap:.1e} |");
            }
            _ => println!("| {rule} | {tol:e} | > {last} (reference reached first) | | |"),
        }
    }
}

/// Checks that the driver, at its defaults, stops where `first_stop` says the default rule
/// holds, and prints how near SQUAREM at the defaults gets.
fn check_driver<M: LatentModel + Clone>(
    case: &Case,
    start: &M,
    data: &M::Data,
) -> Result<(), EmError> {
    let mut model = start.clone();
    let report = Em::new().fit(&mut model, data)?;
    let Stopping::Parameters { tol } = Stopping::DEFAULT else {
        return Ok(());
    };
    let expected = first_stop(&case.path, "parameters", tol);
    let reference = case.path.parameters.last().cloned().unwrap_or_default();
    let distance = model
        .scaled_parameters()
        .map_or(f64::NAN, |p| p.relative_distance(&reference));
    println!(
        "\nDriver at the defaults ({}): {} iterations, converged {}, relative distance {:.1e}{}",
        report.stopping,
        report.iterations,
        report.converged,
        distance,
        if Some(report.iterations) == expected || (!report.converged && expected.is_none()) {
            String::new()
        } else {
            format!(" — MISMATCH: the path says {expected:?}")
        }
    );
    Ok(())
}

/// As [`check_driver`], with SQUAREM.
fn check_squarem<M: em::core::ParameterVector>(
    case: &Case,
    start: &M,
    data: &M::Data,
) -> Result<String, EmError> {
    let mut model = start.clone();
    let report = Em::new()
        .accelerate(em::core::Squarem)
        .fit(&mut model, data)?;
    let reference = case.path.parameters.last().cloned().unwrap_or_default();
    let distance = model
        .scaled_parameters()
        .map_or(f64::NAN, |p| p.relative_distance(&reference));
    println!(
        "SQUAREM at the defaults: {} cycles, {} E-steps, converged {}, relative distance {:.1e}",
        report.iterations, report.e_steps, report.converged, distance
    );
    Ok(format!("{} E-steps / {distance:.0e}", report.e_steps))
}

fn faithful() -> DMatrix<f64> {
    let rows: Vec<Vec<f64>> = FAITHFUL
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').filter_map(|f| f.trim().parse().ok()).collect())
        .collect();
    DMatrix::from_fn(rows.len(), 2, |i, j| rows[i][j])
}

fn doctor_visits() -> Vec<u64> {
    DOCTOR_VISITS
        .lines()
        .skip(1)
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The start a default `GaussianMixture::builder(k)` fit uses (k-means, seed 0).
fn kmeans_start(
    x: &DMatrix<f64>,
    k: usize,
    kind: em::gmm::CovarianceType,
) -> Result<GaussianMixture, EmError> {
    Ok(GaussianMixture::builder(k)
        .covariance_type(kind)
        .max_iter(0)
        .fit(x)?
        .model)
}

fn wanted(filter: &Option<String>, name: &str) -> bool {
    filter.as_ref().is_none_or(|f| name.contains(f.as_str()))
}

fn main() -> Result<(), EmError> {
    let filter = std::env::args().nth(1);
    let mut summary: Vec<String> = Vec::new();
    let mut row = |case: &Case, squarem: Option<String>| {
        let mut cells: Vec<String> = SUMMARY
            .iter()
            .map(|&(rule, tol, _)| cell(case, rule, tol))
            .collect();
        cells.push(squarem.unwrap_or_else(|| "—".into()));
        summary.push(format!("| {} | {} |", case.name, cells.join(" | ")));
    };
    println!(
        "Measured by `cargo run --release --example stopping_rules`; relative distances as in em_core::stopping."
    );

    // Zero-inflated Poisson on the bundled counts, and on simulated counts with a small λ,
    // where a zero says little about its cause and EM is slow.
    if wanted(&filter, "zip-doctor") {
        let counts = doctor_visits();
        let start = ZeroInflatedPoisson::moment_start(&counts)?;
        let case = Case {
            name: "zip-doctor".into(),
            what: format!(
                "ZIP on the {} bundled doctor-visit counts, moment start",
                counts.len()
            ),
            path: em_path(start, &counts[..], PATH_LEN)?,
        };
        report(&case);
        check_driver(&case, &start, &counts[..])?;
        let squarem = check_squarem(&case, &start, &counts[..])?;
        row(&case, Some(squarem));
    }
    if wanted(&filter, "zip-slow") {
        let truth = ZeroInflatedPoisson::new(0.3, 0.8)?;
        let (counts, _) = truth.sample(915, &mut StdRng::seed_from_u64(915));
        let start = ZeroInflatedPoisson::moment_start(&counts)?;
        let case = Case {
            name: "zip-slow".into(),
            what: "ZIP on 915 counts drawn from π = 0.3, λ = 0.8 (seed 915), moment start".into(),
            path: em_path(start, &counts[..], PATH_LEN)?,
        };
        report(&case);
        check_driver(&case, &start, &counts[..])?;
        let squarem = check_squarem(&case, &start, &counts[..])?;
        row(&case, Some(squarem));
    }

    // Gaussian mixtures on Old Faithful from the builder's default start.
    let x = faithful();
    for (k, kind) in [
        (2, em::gmm::CovarianceType::Full),
        (3, em::gmm::CovarianceType::Full),
        (4, em::gmm::CovarianceType::Full),
        (3, em::gmm::CovarianceType::Tied),
    ] {
        let name = format!("faithful-k{k}-{kind}");
        if !wanted(&filter, &name) {
            continue;
        }
        let start = kmeans_start(&x, k, kind)?;
        let case = Case {
            name,
            what: format!("Old Faithful (272 × 2), K = {k}, {kind}, k-means start (seed 0)"),
            path: em_path(start.clone(), &x, PATH_LEN)?,
        };
        report(&case);
        check_driver(&case, &start, &x)?;
        let squarem = check_squarem(&case, &start, &x)?;
        row(&case, Some(squarem));
    }

    // Three heavily overlapping 2-D components: the slow case.
    if wanted(&filter, "overlap") {
        let truth = GaussianMixture::new(
            dvector![0.5, 0.3, 0.2],
            dmatrix![0.0, 0.0; 1.5, 0.5; -0.5, 1.5],
            Covariances::Full(vec![
                dmatrix![1.0, 0.3; 0.3, 1.0],
                dmatrix![1.0, -0.2; -0.2, 0.8],
                dmatrix![0.7, 0.0; 0.0, 1.2],
            ]),
        )?;
        let (xo, _) = truth.sample(3_000, &mut StdRng::seed_from_u64(3));
        let start = kmeans_start(&xo, 3, em::gmm::CovarianceType::Full)?;
        let case = Case {
            name: "overlap".into(),
            what: "3 overlapping 2-D Gaussians, n = 3000 (seed 3), K = 3 full, k-means start"
                .into(),
            path: em_path(start.clone(), &xo, PATH_LEN)?,
        };
        report(&case);
        check_driver(&case, &start, &xo)?;
        let squarem = check_squarem(&case, &start, &xo)?;
        row(&case, Some(squarem));
    }

    // Hasselblad's deaths per day: the classic slow two-Poisson mixture.
    if wanted(&filter, "hasselblad") {
        let days = [162, 267, 271, 185, 111, 61, 27, 8, 3, 1];
        let deaths: Vec<u64> = (0u64..)
            .zip(days)
            .flat_map(|(y, n)| std::iter::repeat_n(y, n))
            .collect();
        let start = Mixture::new(vec![0.5, 0.5], vec![Poisson::new(1.0)?, Poisson::new(3.0)?])?;
        let case = Case {
            name: "hasselblad".into(),
            what: "two-Poisson mixture on Hasselblad's 1096 days, start π = (½, ½), λ = (1, 3)"
                .into(),
            path: em_path(start.clone(), &deaths[..], PATH_LEN)?,
        };
        report(&case);
        check_driver(&case, &start, &deaths[..])?;
        let squarem = check_squarem(&case, &start, &deaths[..])?;
        row(&case, Some(squarem));
    }

    // The regime-switching series of examples/regime_switching.rs: a 3-state Gaussian HMM.
    if wanted(&filter, "hmm-gaussian") {
        let truth = GaussianHmm::new(
            dvector![0.6, 0.3, 0.1],
            dmatrix![0.98, 0.02, 0.00; 0.02, 0.96, 0.02; 0.00, 0.05, 0.95],
            Gaussian::new(
                dmatrix![0.05; 0.0; -0.2],
                Covariances::Full(vec![dmatrix![0.25], dmatrix![1.0], dmatrix![6.25]]),
            )?,
        )?;
        let (returns, _) = truth.sample(3000, &mut StdRng::seed_from_u64(42));
        let data = [returns];
        let start = GaussianHmm::kmeans_start(
            3,
            CovarianceType::Diag,
            &data,
            &mut StdRng::seed_from_u64(7),
        )?;
        let case = Case {
            name: "hmm-gaussian".into(),
            what: "3-state Gaussian HMM, 3000 daily returns (seed 42), k-means start (seed 7)"
                .into(),
            path: em_path(start.clone(), &data[..], PATH_LEN)?,
        };
        report(&case);
        check_driver(&case, &start, &data[..])?;
        row(&case, None);
    }

    // A categorical HMM with overlapping emissions.
    if wanted(&filter, "hmm-categorical") {
        let truth = CategoricalHmm::new(
            dvector![0.5, 0.5],
            dmatrix![0.9, 0.1; 0.15, 0.85],
            Categorical::new(dmatrix![0.5, 0.3, 0.2; 0.2, 0.3, 0.5])?,
        )?;
        let mut rng = StdRng::seed_from_u64(11);
        let data: Vec<Vec<usize>> = (0..10).map(|_| truth.sample(200, &mut rng).0).collect();
        let start = CategoricalHmm::new(
            dvector![0.6, 0.4],
            dmatrix![0.7, 0.3; 0.3, 0.7],
            Categorical::new(dmatrix![0.4, 0.35, 0.25; 0.25, 0.35, 0.4])?,
        )?;
        let case = Case {
            name: "hmm-categorical".into(),
            what: "2-state categorical HMM, 10 sequences of 200 symbols (seed 11), fixed start"
                .into(),
            path: em_path(start.clone(), &data[..], PATH_LEN)?,
        };
        report(&case);
        check_driver(&case, &start, &data[..])?;
        row(&case, None);
    }
    println!(
        "\n### Summary: iterations / relative distance to the optimum at the stop\n\n| case | {} | SQUAREM, parameters 1e-7 |",
        SUMMARY.map(|(_, _, h)| h).join(" | ")
    );
    println!("|{}", " --- |".repeat(SUMMARY.len() + 2));
    for line in &summary {
        println!("{line}");
    }
    Ok(())
}
