//! Parameter recovery: fits of data drawn from known mixtures land within a few standard
//! errors of the truth (tolerances derived from the sampling error, not picked to pass);
//! integer sample weights act exactly like repeated rows; as the common spherical variance
//! goes to 0, responsibilities become the hard nearest-mean assignment of k-means; and the
//! best of `n_init` restarts is at least as good as every restart, each restart being the run
//! a fit with fewer restarts would have made.

use gmm::{CovarianceType, Covariances, GaussianMixture, Init, Stopping};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// How many standard errors an estimate may be from the truth. Each test checks at most ~20
/// estimates, so the chance that a correct fit fails is ≈ 20 · 6.3e-5 ≈ 1e-3 per seed.
const N_SE: f64 = 4.0;

/// 1-D truth of the first test: weights, means, standard deviations.
const PI_1D: [f64; 3] = [0.6, 0.3, 0.1];
const MU_1D: [f64; 3] = [-2.0, 4.0, 8.0];
const SD_1D: [f64; 3] = [2.0, 1.0, 0.2];

fn normal_pdf(x: f64, mu: f64, sd: f64) -> f64 {
    let z = (x - mu) / sd;
    (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
}

/// Asymptotic covariance of the maximum-likelihood estimate from `n` draws of the 1-D truth:
/// the inverse of n times the Fisher information I = ∫ s(x) s(x)ᵀ p(x) dx, with s the score
/// of one observation, computed by quadrature (the mixture's overlap — the missing
/// information — is included, which complete-data standard errors would ignore).
///
/// Parameters in order: π₁, π₂ (π₀ = 1 − π₁ − π₂), μ₀, μ₁, μ₂, σ₀, σ₁, σ₂.
fn asymptotic_covariance_1d(n: usize) -> DMatrix<f64> {
    let mut info = DMatrix::<f64>::zeros(8, 8);
    let h = 1e-3;
    // [−20, 16] covers ±9 sd of the widest component and every other component entirely.
    let steps = (36.0 / h) as usize;
    for i in 0..=steps {
        let x = -20.0 + i as f64 * h;
        let phi: Vec<f64> = (0..3).map(|k| normal_pdf(x, MU_1D[k], SD_1D[k])).collect();
        let p: f64 = (0..3).map(|k| PI_1D[k] * phi[k]).sum();
        if p <= 0.0 {
            continue;
        }
        let mut s = DVector::<f64>::zeros(8);
        s[0] = (phi[1] - phi[0]) / p;
        s[1] = (phi[2] - phi[0]) / p;
        for k in 0..3 {
            let r = PI_1D[k] * phi[k] / p;
            let z = (x - MU_1D[k]) / SD_1D[k];
            s[2 + k] = r * z / SD_1D[k];
            s[5 + k] = r * (z * z - 1.0) / SD_1D[k];
        }
        info += &s * s.transpose() * (p * h);
    }
    info.try_inverse()
        .expect("Fisher information is invertible")
        / n as f64
}

#[test]
fn recovers_1d_three_component_mixture_within_four_standard_errors() {
    let n = 10_000;
    let truth = GaussianMixture::new(
        DVector::from_row_slice(&PI_1D),
        DMatrix::from_row_slice(3, 1, &MU_1D),
        Covariances::Full(
            SD_1D
                .iter()
                .map(|s| DMatrix::from_element(1, 1, s * s))
                .collect(),
        ),
    )
    .unwrap();
    let (x, _) = truth.sample(n, &mut StdRng::seed_from_u64(20_240_601));

    let cov = asymptotic_covariance_1d(n);
    let se_pi = [
        (cov[(0, 0)] + cov[(1, 1)] + 2.0 * cov[(0, 1)]).sqrt(),
        cov[(0, 0)].sqrt(),
        cov[(1, 1)].sqrt(),
    ];
    let se_mu: Vec<f64> = (2..5).map(|i| cov[(i, i)].sqrt()).collect();
    let se_sd: Vec<f64> = (5..8).map(|i| cov[(i, i)].sqrt()).collect();
    // Sanity of the quadrature: with no overlap the standard errors would be the complete-
    // data ones, sqrt(π(1−π)/n), σ/sqrt(nπ), σ/sqrt(2nπ); overlap can only inflate them.
    for k in 0..3 {
        let nk = n as f64 * PI_1D[k];
        assert!(se_pi[k] >= (PI_1D[k] * (1.0 - PI_1D[k]) / n as f64).sqrt() * 0.999);
        assert!(se_mu[k] >= SD_1D[k] / nk.sqrt() * 0.999);
        assert!(se_sd[k] >= SD_1D[k] / (2.0 * nk).sqrt() * 0.999);
    }

    // (weights, means, sds) sorted by mean, for each structure (all the same model in 1-D).
    type Estimate = (CovarianceType, [f64; 3], [f64; 3], [f64; 3]);
    let mut fitted: Vec<Estimate> = Vec::new();
    for kind in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ] {
        let fit = GaussianMixture::builder(3)
            .covariance_type(kind)
            .n_init(3)
            .seed(11)
            // Converge far past the sampling error: the estimate must be the MLE itself.
            .tol(1e-9)
            .max_iter(5000)
            .fit(&x)
            .unwrap();
        assert!(fit.report.converged, "{kind}: {:?}", fit.report.stop_reason);
        let m = &fit.model;
        let mut order: Vec<usize> = (0..3).collect();
        order.sort_by(|&a, &b| m.means()[(a, 0)].total_cmp(&m.means()[(b, 0)]));
        let pick = |f: &dyn Fn(usize) -> f64| [f(order[0]), f(order[1]), f(order[2])];
        let w = pick(&|k| m.weights()[k]);
        let mu = pick(&|k| m.means()[(k, 0)]);
        let sd = pick(&|k| m.covariance(k).unwrap()[(0, 0)].sqrt());
        for k in 0..3 {
            assert!(
                (w[k] - PI_1D[k]).abs() <= N_SE * se_pi[k],
                "{kind} weight {k}: {} vs {} (4 SE = {})",
                w[k],
                PI_1D[k],
                N_SE * se_pi[k]
            );
            assert!(
                (mu[k] - MU_1D[k]).abs() <= N_SE * se_mu[k],
                "{kind} mean {k}: {} vs {} (4 SE = {})",
                mu[k],
                MU_1D[k],
                N_SE * se_mu[k]
            );
            assert!(
                (sd[k] - SD_1D[k]).abs() <= N_SE * se_sd[k],
                "{kind} sd {k}: {} vs {} (4 SE = {})",
                sd[k],
                SD_1D[k],
                N_SE * se_sd[k]
            );
        }
        fitted.push((kind, w, mu, sd));
    }
    // In 1-D full, diag and spherical are one model: the fits agree far below the sampling
    // error (they differ only by rounding and the point where tol stopped them).
    let (_, w0, mu0, sd0) = fitted[0];
    for &(kind, w, mu, sd) in &fitted[1..] {
        for k in 0..3 {
            assert!((w[k] - w0[k]).abs() < 1e-6, "{kind} weight {k}");
            assert!((mu[k] - mu0[k]).abs() < 1e-6, "{kind} mean {k}");
            assert!((sd[k] - sd0[k]).abs() < 1e-6, "{kind} sd {k}");
        }
    }
}

/// The 2-D truth: three well-separated components with distinct full covariances.
fn truth_2d() -> GaussianMixture {
    GaussianMixture::new(
        dvector![0.5, 0.3, 0.2],
        dmatrix![0.0, 0.0; 8.0, 1.0; 3.0, 8.0],
        Covariances::Full(vec![
            dmatrix![1.0, 0.6; 0.6, 1.0],
            dmatrix![2.0, -0.5; -0.5, 0.5],
            dmatrix![0.5, 0.0; 0.0, 1.5],
        ]),
    )
    .unwrap()
}

/// All permutations of 0..3.
const PERMS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

#[test]
fn recovers_2d_full_covariance_mixture_and_labels_from_500_points() {
    let n = 500;
    let truth = truth_2d();
    let (x, labels) = truth.sample(n, &mut StdRng::seed_from_u64(77));
    let fit = GaussianMixture::builder(3)
        .n_init(3)
        .seed(5)
        .tol(1e-8)
        .max_iter(1000)
        .fit(&x)
        .unwrap();
    let m = &fit.model;

    // perm[k] = the fitted component matched to true component k: nearest means overall.
    let perm = PERMS
        .iter()
        .min_by(|a, b| {
            let cost = |p: &[usize; 3]| -> f64 {
                (0..3)
                    .map(|k| (m.means().row(p[k]) - truth.means().row(k)).norm_squared())
                    .sum()
            };
            cost(a).total_cmp(&cost(b))
        })
        .copied()
        .unwrap();

    // The components are ≥ 6 sd apart, so the fit is effectively the complete-data estimate
    // and complete-data standard errors apply, with n_k = n π_k:
    //   π: sqrt(π(1−π)/n);  μ_j: sqrt(Σ_jj / n_k);
    //   Σ_ab (Gaussian sample covariance): sqrt((Σ_aa Σ_bb + Σ_ab²) / n_k).
    for (k, &f) in perm.iter().enumerate() {
        let pi = truth.weights()[k];
        let nk = n as f64 * pi;
        let sigma = truth.covariance(k).unwrap();
        let se_pi = (pi * (1.0 - pi) / n as f64).sqrt();
        let w = m.weights()[f];
        assert!(
            (w - pi).abs() <= N_SE * se_pi,
            "weight {k}: {w} vs {pi} (4 SE = {})",
            N_SE * se_pi
        );
        for j in 0..2 {
            let se = (sigma[(j, j)] / nk).sqrt();
            let (got, want) = (m.means()[(f, j)], truth.means()[(k, j)]);
            assert!(
                (got - want).abs() <= N_SE * se,
                "mean {k},{j}: {got} vs {want} (4 SE = {})",
                N_SE * se
            );
        }
        let fitted_sigma = m.covariance(f).unwrap();
        for a in 0..2 {
            for b in 0..2 {
                let se = ((sigma[(a, a)] * sigma[(b, b)] + sigma[(a, b)].powi(2)) / nk).sqrt();
                let (got, want) = (fitted_sigma[(a, b)], sigma[(a, b)]);
                assert!(
                    (got - want).abs() <= N_SE * se,
                    "covariance {k} ({a},{b}): {got} vs {want} (4 SE = {})",
                    N_SE * se
                );
            }
        }
    }

    // Labels agree with the generating components up to the relabelling found above.
    let predicted = m.predict(&x).unwrap();
    let agree = predicted
        .iter()
        .zip(&labels)
        .filter(|&(&p, &t)| p == perm[t])
        .count();
    assert!(
        agree as f64 >= 0.95 * n as f64,
        "only {agree} of {n} labels agree"
    );
}

/// A start for `kind` in 2-D with three components.
fn start_2d(kind: CovarianceType) -> GaussianMixture {
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full(vec![
            dmatrix![2.0, 0.3; 0.3, 1.0],
            dmatrix![1.0, 0.0; 0.0, 1.0],
            dmatrix![1.5, -0.2; -0.2, 2.0],
        ]),
        CovarianceType::Diag => Covariances::Diag(dmatrix![2.0, 1.0; 1.0, 1.0; 1.5, 2.0]),
        CovarianceType::Spherical => Covariances::Spherical(dvector![2.0, 1.0, 1.5]),
        CovarianceType::Tied => Covariances::Tied(dmatrix![1.5, 0.2; 0.2, 1.2]),
    };
    GaussianMixture::new(
        dvector![0.4, 0.35, 0.25],
        dmatrix![1.0, 1.0; 6.0, 0.0; 2.0, 6.0],
        covariances,
    )
    .unwrap()
}

fn flat_params(m: &GaussianMixture) -> Vec<f64> {
    let mut v: Vec<f64> = m.weights().iter().copied().collect();
    v.extend(m.means().iter());
    for k in 0..m.n_components() {
        v.extend(m.covariance(k).unwrap().iter());
    }
    v
}

#[test]
fn integer_sample_weights_equal_repeating_rows() {
    let (x, _) = truth_2d().sample(120, &mut StdRng::seed_from_u64(3));
    // Weights 0..=3: a zero weight must drop the row, a weight w must count it w times.
    let w: Vec<f64> = (0..x.nrows()).map(|i| ((i * 7) % 4) as f64).collect();
    let rows: Vec<usize> = (0..x.nrows())
        .flat_map(|i| std::iter::repeat_n(i, w[i] as usize))
        .collect();
    let repeated = DMatrix::from_fn(rows.len(), 2, |r, j| x[(rows[r], j)]);

    for kind in CovarianceType::ALL {
        let builder = GaussianMixture::builder(3)
            .covariance_type(kind)
            .init(Init::Given(Box::new(start_2d(kind))))
            .tol(0.0)
            .max_iter(25);
        let weighted = builder.fit_weighted(&x, &w).unwrap();
        let plain = builder.fit(&repeated).unwrap();
        assert_eq!(weighted.report.iterations, 25, "{kind}");
        assert_eq!(plain.report.iterations, 25, "{kind}");
        let (a, b) = (flat_params(&weighted.model), flat_params(&plain.model));
        let worst = a
            .iter()
            .zip(&b)
            .fold(0.0_f64, |m, (p, q)| m.max((p - q).abs()));
        assert!(worst < 1e-10, "{kind}: parameters differ by {worst:e}");
        let (oa, ob) = (weighted.report.objective(), plain.report.objective());
        assert!(
            (oa - ob).abs() < 1e-10 * ob.abs(),
            "{kind}: objectives {oa} vs {ob}"
        );
    }
}

#[test]
fn responsibilities_tend_to_hard_nearest_mean_assignment_as_variance_vanishes() {
    let means = dmatrix![0.0, 0.0; 3.0, 0.0; 0.0, 3.0; 3.0, 3.0];
    let k = means.nrows();
    let mut rng = StdRng::seed_from_u64(9);
    let (x, _) = GaussianMixture::new(
        dvector![0.25, 0.25, 0.25, 0.25],
        means.clone(),
        Covariances::Spherical(dvector![1.5, 1.5, 1.5, 1.5]),
    )
    .unwrap()
    .sample(400, &mut rng);
    // Nearest mean of every row, and the gap between the two smallest squared distances.
    let nearest: Vec<(usize, f64)> = (0..x.nrows())
        .map(|i| {
            let mut d2: Vec<(usize, f64)> = (0..k)
                .map(|c| (c, (x.row(i) - means.row(c)).norm_squared()))
                .collect();
            d2.sort_by(|a, b| a.1.total_cmp(&b.1));
            (d2[0].0, d2[1].1 - d2[0].1)
        })
        .collect();
    // Points (nearly) equidistant from two means have no hard limit; keep rows with a gap
    // in squared distance ≥ 1e-2, so that at ε = 1e-6 the runner-up has
    // γ ≤ exp(−1e-2 / (2·1e-6)) = exp(−5000) = 0.
    let kept: Vec<usize> = (0..x.nrows()).filter(|&i| nearest[i].1 >= 1e-2).collect();
    assert!(kept.len() > 350, "{} rows kept", kept.len());

    let mut deviations = Vec::new();
    for eps in [1e-1, 1e-3, 1e-6] {
        let model = GaussianMixture::new(
            DVector::from_element(k, 1.0 / k as f64),
            means.clone(),
            Covariances::Spherical(DVector::from_element(k, eps)),
        )
        .unwrap();
        let gamma = model.predict_proba(&x).unwrap();
        let labels = model.predict(&x).unwrap();
        let mut worst = 0.0_f64;
        for &i in &kept {
            assert_eq!(labels[i], nearest[i].0, "ε = {eps}, row {i}");
            for c in 0..k {
                let one_hot = if c == nearest[i].0 { 1.0 } else { 0.0 };
                worst = worst.max((gamma[(i, c)] - one_hot).abs());
            }
        }
        deviations.push(worst);
    }
    assert!(
        deviations[0] > deviations[1] && deviations[1] > deviations[2],
        "max |γ − one-hot| does not shrink: {deviations:?}"
    );
    assert!(
        deviations[0] > 0.1,
        "ε = 0.1 should still be soft: {deviations:?}"
    );
    assert!(deviations[2] < 1e-12, "ε = 1e-6: {:e}", deviations[2]);
}

#[test]
fn best_of_restarts_is_at_least_every_restart_and_restarts_are_reproducible() {
    // Six clusters fitted with six components from random rows, each restart stopped by
    // scikit-learn's loose rule: restarts end at different objectives. (Run to the optimum,
    // these five all reach the same one.)
    let centres = dmatrix![0.0, 0.0; 4.0, 0.0; 8.0, 0.0; 0.0, 4.0; 4.0, 4.0; 8.0, 4.0];
    let truth = GaussianMixture::new(
        DVector::from_element(6, 1.0 / 6.0),
        centres,
        Covariances::Spherical(DVector::from_element(6, 0.8)),
    )
    .unwrap();
    let (x, _) = truth.sample(600, &mut StdRng::seed_from_u64(21));
    let builder = |n_init: usize| {
        GaussianMixture::builder(6)
            .covariance_type(CovarianceType::Spherical)
            .init(Init::RandomFromData)
            .n_init(n_init)
            .seed(1234)
            // This test is about choosing among restarts, not about stopping.
            .stopping(Stopping::ObjectiveChange { tol: 1e-6 })
            .max_iter(300)
    };
    let five = builder(5).fit(&x).unwrap();
    assert_eq!(five.restarts.len(), 5);
    let objectives: Vec<f64> = five
        .restarts
        .iter()
        .map(|r| r.result.as_ref().unwrap().objective())
        .collect();
    let best = five.report.objective();
    for (i, o) in objectives.iter().enumerate() {
        assert!(best >= *o, "restart {i}: {o} > best {best}");
    }
    assert_eq!(best, objectives[five.best_restart]);
    assert!(
        objectives.iter().any(|o| (o - best).abs() > 1e-6),
        "all restarts reached the same optimum ({objectives:?}); the test has no teeth"
    );
    // The returned model is the winner: its log-likelihood is the reported objective.
    let ll = five.model.log_likelihood_total(&x).unwrap();
    assert!((ll - best).abs() <= 1e-9 * best.abs(), "{ll} vs {best}");

    // Restart i is seeded by its index alone: a fit with i + 1 restarts runs the same
    // restart i, bit for bit, and a single fit is restart 0.
    for n_init in 1..5 {
        let fewer = builder(n_init).fit(&x).unwrap();
        for i in 0..n_init {
            let (a, b) = (
                fewer.restarts[i].result.as_ref().unwrap(),
                five.restarts[i].result.as_ref().unwrap(),
            );
            assert_eq!(
                (&a.trace, a.iterations),
                (&b.trace, b.iterations),
                "restart {i} differs between n_init = {n_init} and 5"
            );
        }
        assert!(best >= fewer.report.objective());
    }
}
