//! Recovery of a known 3-state, 2-D Gaussian HMM from 20,000 simulated steps (40 sequences of
//! 500), and Viterbi decoding on it, from three random starts and from one k-means start; and of a tied and a spherical one from 10,000 steps (20
//! sequences of 500).
//!
//! Tolerances are 5 standard errors of the complete-data estimates (states known), computed
//! from the true parameters and the realised state counts: a mean μ_sj ± 5 √(Σ_s,jj / n_s), a
//! covariance entry ± 5 √((Σ_aa Σ_bb + Σ_ab²) / n_s), a transition A_ij ± 5 √(A_ij (1 − A_ij)
//! / m_i) (m_i transitions out of state i), an initial probability ± 5 √(π_i (1 − π_i) / 40).
//! Hidden states only add (a little) missing information, so 5 SE leaves room without being
//! loose: the largest |z| seen is printed. A tied covariance is estimated from all N steps
//! (entry ± 5 √((Σ_aa Σ_bb + Σ_ab²) / N)); a spherical variance σ²_s from n_s·D squared
//! deviations (± 5 σ²_s √(2 / (n_s D))).

use em_core::{Em, EmError, Fitted, StdRng};
use hmm::{CovarianceType, Covariances, Family, Gaussian, GaussianHmm};
use nalgebra::{DMatrix, dmatrix, dvector};
use rand::SeedableRng;

const Z: f64 = 5.0;
/// Stated threshold for the fitted model's Viterbi accuracy (0.984 seen; the true parameters
/// decode 0.984 of the steps right, and the fit must come within 0.005 of them).
const VITERBI_ACCURACY: f64 = 0.97;

fn truth() -> GaussianHmm {
    GaussianHmm::new(
        dvector![0.5, 0.3, 0.2],
        dmatrix![0.95, 0.03, 0.02; 0.04, 0.92, 0.04; 0.03, 0.05, 0.92],
        Gaussian::new(
            dmatrix![0.0, 0.0; 2.5, 0.5; 0.5, 2.8],
            Covariances::Full(vec![
                dmatrix![1.0, 0.3; 0.3, 0.8],
                dmatrix![0.6, -0.2; -0.2, 0.9],
                dmatrix![0.9, 0.4; 0.4, 1.2],
            ]),
        )
        .unwrap(),
    )
    .unwrap()
}

/// The permutation p (fitted state p[s] ↔ true state s) that best matches the means.
fn align(fitted: &DMatrix<f64>, true_means: &DMatrix<f64>) -> [usize; 3] {
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let cost = |p: &[usize; 3]| -> f64 {
        (0..3)
            .map(|s| (fitted.row(p[s]) - true_means.row(s)).norm_squared())
            .sum()
    };
    *perms
        .iter()
        .min_by(|a, b| cost(a).total_cmp(&cost(b)))
        .unwrap()
}

fn accuracy(
    model: &GaussianHmm,
    data: &[DMatrix<f64>],
    states: &[Vec<usize>],
    map: &[usize; 3],
) -> f64 {
    let mut right = 0;
    let mut total = 0;
    for (x, z) in data.iter().zip(states) {
        let path = model.predict(x).unwrap();
        right += path.iter().zip(z).filter(|(p, z)| **p == map[**z]).count();
        total += z.len();
    }
    right as f64 / total as f64
}

#[test]
fn recovers_a_three_state_gaussian_hmm_from_20000_steps_and_decodes_it() {
    recover_three_states_from(GaussianHmm::random_start, 3);
}

#[test]
fn kmeans_start_recovers_the_three_state_gaussian_hmm_in_one_run() {
    // One run, no restarts to choose from.
    recover_three_states_from(GaussianHmm::kmeans_start, 1);
}

/// A start of a Gaussian HMM, as `GaussianHmm::random_start` and `kmeans_start` are.
type Start =
    fn(usize, CovarianceType, &[DMatrix<f64>], &mut StdRng) -> Result<GaussianHmm, EmError>;

/// Samples 40 sequences of 500 steps from [`truth`], fits a full-covariance HMM from
/// `n_init` runs of `start` and checks the fit with [`check_full_recovery`].
fn recover_three_states_from(start: Start, n_init: usize) {
    let truth = truth();
    let mut rng = StdRng::seed_from_u64(2026);
    let (data, states): (Vec<_>, Vec<_>) = (0..40).map(|_| truth.sample(500, &mut rng)).unzip();
    let init = |x: &[DMatrix<f64>], rng: &mut StdRng| start(3, CovarianceType::Full, x, rng);
    let fit = Em::new()
        .tol(1e-9)
        .max_iter(1000)
        .n_init(n_init)
        .seed(1)
        .fit_restarts(&init, &data[..])
        .unwrap();
    check_full_recovery(&truth, &fit, &data, &states);
}

/// Checks a full-covariance fit of `truth` on `data` (sampled with the paths `states`):
/// converged, at least as likely as the truth, every mean, covariance entry, transition and
/// initial probability within 5 SE, and Viterbi decoding as good as the true parameters'.
fn check_full_recovery(
    truth: &GaussianHmm,
    fit: &Fitted<GaussianHmm>,
    data: &[DMatrix<f64>],
    states: &[Vec<usize>],
) {
    assert!(fit.report.converged, "{:?}", fit.report.stop_reason);
    let model = &fit.model;
    // The MLE is at least as likely as the truth.
    let ll_truth = truth.log_likelihood_total(data).unwrap();
    assert!(
        fit.report.objective() >= ll_truth,
        "{} < {ll_truth}",
        fit.report.objective()
    );

    let g = truth.emission();
    let p = align(model.emission().means(), g.means());
    // Realised counts: steps per state, transitions out of each state.
    let mut n = [0.0; 3];
    let mut m = [0.0; 3];
    for z in states {
        for (t, &s) in z.iter().enumerate() {
            n[s] += 1.0;
            if t + 1 < z.len() {
                m[s] += 1.0;
            }
        }
    }
    let mut worst_z = 0.0_f64;
    let mut check = |what: String, est: f64, truth: f64, se: f64| {
        let z = (est - truth) / se;
        assert!(z.abs() < Z, "{what}: {est} vs {truth} (z = {z:.2})");
        worst_z = worst_z.max(z.abs());
    };
    for s in 0..3 {
        let sigma = g.covariance(s).unwrap();
        let fitted_sigma = model.emission().covariance(p[s]).unwrap();
        for a in 0..2 {
            check(
                format!("mean {s},{a}"),
                model.emission().means()[(p[s], a)],
                g.means()[(s, a)],
                (sigma[(a, a)] / n[s]).sqrt(),
            );
            for b in 0..=a {
                let se = ((sigma[(a, a)] * sigma[(b, b)] + sigma[(a, b)].powi(2)) / n[s]).sqrt();
                check(
                    format!("cov {s},{a},{b}"),
                    fitted_sigma[(a, b)],
                    sigma[(a, b)],
                    se,
                );
            }
        }
        for j in 0..3 {
            let a = truth.transitions()[(s, j)];
            check(
                format!("A {s},{j}"),
                model.transitions()[(p[s], p[j])],
                a,
                (a * (1.0 - a) / m[s]).sqrt(),
            );
        }
        let pi = truth.start()[s];
        check(
            format!("π {s}"),
            model.start()[p[s]],
            pi,
            (pi * (1.0 - pi) / 40.0).sqrt(),
        );
    }

    let fitted_accuracy = accuracy(model, data, states, &p);
    let oracle_accuracy = accuracy(truth, data, states, &[0, 1, 2]);
    println!(
        "largest |z| {worst_z:.2}; Viterbi accuracy fitted {fitted_accuracy:.4}, true parameters {oracle_accuracy:.4}; iterations {}",
        fit.report.iterations
    );
    assert!(fitted_accuracy >= VITERBI_ACCURACY, "{fitted_accuracy}");
    assert!(
        fitted_accuracy >= oracle_accuracy - 0.005,
        "{fitted_accuracy} vs {oracle_accuracy}"
    );
}

/// Steps per state and transitions out of each state in the sampled paths.
fn state_counts(states: &[Vec<usize>]) -> ([f64; 3], [f64; 3]) {
    let (mut n, mut m) = ([0.0; 3], [0.0; 3]);
    for z in states {
        for (t, &s) in z.iter().enumerate() {
            n[s] += 1.0;
            if t + 1 < z.len() {
                m[s] += 1.0;
            }
        }
    }
    (n, m)
}

/// Fits a `kind` HMM to 20 sequences of 500 steps from `truth` (restarts from
/// [`GaussianHmm::random_start`]), checks convergence and that the fit is at least as likely
/// as the truth, and checks the means and transitions to 5 SE. Returns the fitted model, the
/// state alignment, the realised steps per state and the largest |z| so far.
fn fit_and_check_chain(
    truth: &GaussianHmm,
    kind: CovarianceType,
    seed: u64,
) -> (GaussianHmm, [usize; 3], [f64; 3], f64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (data, states): (Vec<_>, Vec<_>) = (0..20).map(|_| truth.sample(500, &mut rng)).unzip();
    let init = |x: &[DMatrix<f64>], rng: &mut StdRng| GaussianHmm::random_start(3, kind, x, rng);
    let fit = Em::new()
        .tol(1e-9)
        .max_iter(1000)
        .n_init(3)
        .seed(1)
        .fit_restarts(&init, &data[..])
        .unwrap();
    assert!(fit.report.converged, "{kind}: {:?}", fit.report.stop_reason);
    let model = fit.model;
    assert_eq!(model.emission().covariance_type(), kind);
    let ll_truth = truth.log_likelihood_total(&data).unwrap();
    assert!(
        fit.report.objective() >= ll_truth,
        "{kind}: {} < {ll_truth}",
        fit.report.objective()
    );
    let g = truth.emission();
    let p = align(model.emission().means(), g.means());
    let (n, m) = state_counts(&states);
    let mut worst_z = 0.0_f64;
    let mut check = |what: String, est: f64, truth: f64, se: f64| {
        let z = (est - truth) / se;
        assert!(z.abs() < Z, "{kind} {what}: {est} vs {truth} (z = {z:.2})");
        worst_z = worst_z.max(z.abs());
    };
    for s in 0..3 {
        let sigma = g.covariance(s).unwrap();
        for a in 0..2 {
            check(
                format!("mean {s},{a}"),
                model.emission().means()[(p[s], a)],
                g.means()[(s, a)],
                (sigma[(a, a)] / n[s]).sqrt(),
            );
        }
        for j in 0..3 {
            let a = truth.transitions()[(s, j)];
            check(
                format!("A {s},{j}"),
                model.transitions()[(p[s], p[j])],
                a,
                (a * (1.0 - a) / m[s]).sqrt(),
            );
        }
    }
    (model, p, n, worst_z)
}

#[test]
fn recovers_a_tied_covariance_gaussian_hmm_from_10000_steps() {
    let shared = dmatrix![1.0, 0.3; 0.3, 0.8];
    let truth = GaussianHmm::new(
        dvector![0.5, 0.3, 0.2],
        dmatrix![0.95, 0.03, 0.02; 0.04, 0.92, 0.04; 0.03, 0.05, 0.92],
        Gaussian::new(
            dmatrix![0.0, 0.0; 3.0, 0.5; 0.5, 3.2],
            Covariances::Tied(shared.clone()),
        )
        .unwrap(),
    )
    .unwrap();
    let (model, _, n, mut worst_z) = fit_and_check_chain(&truth, CovarianceType::Tied, 2027);
    let Covariances::Tied(fitted) = model.emission().covariances() else {
        panic!("a tied fit has a tied covariance");
    };
    let total: f64 = n.iter().sum();
    for a in 0..2 {
        for b in 0..=a {
            let se = ((shared[(a, a)] * shared[(b, b)] + shared[(a, b)].powi(2)) / total).sqrt();
            let z = (fitted[(a, b)] - shared[(a, b)]) / se;
            assert!(
                z.abs() < Z,
                "tied cov {a},{b}: {} (z = {z:.2})",
                fitted[(a, b)]
            );
            worst_z = worst_z.max(z.abs());
        }
    }
    // 2 × 3 means + the shared covariance's 3 entries.
    assert_eq!(model.emission().n_parameters(), 6 + 3);
    println!("tied: largest |z| {worst_z:.2}");
}

#[test]
fn recovers_a_spherical_covariance_gaussian_hmm_from_10000_steps() {
    let variances = dvector![0.5, 1.2, 0.8];
    let truth = GaussianHmm::new(
        dvector![0.5, 0.3, 0.2],
        dmatrix![0.95, 0.03, 0.02; 0.04, 0.92, 0.04; 0.03, 0.05, 0.92],
        Gaussian::new(
            dmatrix![0.0, 0.0; 3.0, 0.5; 0.5, 3.2],
            Covariances::Spherical(variances.clone()),
        )
        .unwrap(),
    )
    .unwrap();
    let (model, p, n, mut worst_z) = fit_and_check_chain(&truth, CovarianceType::Spherical, 2028);
    let Covariances::Spherical(fitted) = model.emission().covariances() else {
        panic!("a spherical fit has spherical covariances");
    };
    for s in 0..3 {
        let se = variances[s] * (2.0 / (n[s] * 2.0)).sqrt();
        let z = (fitted[p[s]] - variances[s]) / se;
        assert!(z.abs() < Z, "variance {s}: {} (z = {z:.2})", fitted[p[s]]);
        worst_z = worst_z.max(z.abs());
    }
    // 2 × 3 means + one variance per state.
    assert_eq!(model.emission().n_parameters(), 6 + 3);
    println!("spherical: largest |z| {worst_z:.2}");
}
