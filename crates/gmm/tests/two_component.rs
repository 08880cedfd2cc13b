//! The two-component model of the lecture notes: its parameterisation, the γ ≥ 1/2 rule,
//! the shared EM loop, and the EM invariants.

use em_core::Em;
use em_core::testing::{Tolerance, check_invariants};
use gmm::{CovarianceType, GaussianMixture, TwoComponentMixture};
use nalgebra::{DMatrix, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn truth() -> TwoComponentMixture {
    TwoComponentMixture::new(
        0.3,
        dvector![0.0, 0.0],
        dmatrix![1.0, 0.3; 0.3, 0.5],
        dvector![3.0, 2.0],
        dmatrix![0.6, -0.2; -0.2, 1.5],
    )
    .unwrap()
}

#[test]
fn recovers_alpha_means_and_covariances_from_4000_draws() {
    let (x, _) = truth()
        .as_mixture()
        .sample(4000, &mut StdRng::seed_from_u64(3));
    let fit = TwoComponentMixture::builder()
        .tol(1e-9)
        .max_iter(500)
        .n_init(3)
        .fit(&x)
        .unwrap();
    let mut m = TwoComponentMixture::try_from(fit.model).unwrap();
    if m.mu1()[0] < m.mu0()[0] {
        // Labels are arbitrary; relabel by swapping which component carries α.
        m = TwoComponentMixture::new(1.0 - m.alpha(), m.mu1(), m.sigma1(), m.mu0(), m.sigma0())
            .unwrap();
    }
    let t = truth();
    // Standard error of α̂ is √(α(1−α)/n) ≈ 0.007; 0.03 is over 4 standard errors.
    assert!((m.alpha() - t.alpha()).abs() < 0.03, "alpha {}", m.alpha());
    assert!((m.mu0() - t.mu0()).amax() < 0.1, "mu0 {}", m.mu0());
    assert!((m.mu1() - t.mu1()).amax() < 0.15, "mu1 {}", m.mu1());
    assert!(
        (m.sigma0() - t.sigma0()).amax() < 0.1,
        "sigma0 {}",
        m.sigma0()
    );
    assert!(
        (m.sigma1() - t.sigma1()).amax() < 0.2,
        "sigma1 {}",
        m.sigma1()
    );
}

#[test]
fn hard_rule_assigns_one_exactly_when_gamma_reaches_one_half() {
    // Equal variances and α = 1/2: γ = 1/2 exactly at the midpoint x = 1.
    let m = TwoComponentMixture::new(
        0.5,
        dvector![0.0],
        dmatrix![1.0],
        dvector![2.0],
        dmatrix![1.0],
    )
    .unwrap();
    let x = dmatrix![0.999; 1.0; 1.001];
    let gamma = m.gamma(&x).unwrap();
    assert!(gamma[0] < 0.5 && gamma[2] > 0.5);
    assert!((gamma[1] - 0.5).abs() < 1e-15);
    let z = m.classify(&x).unwrap();
    assert!(!z[0]);
    assert!(z[2]);
    assert_eq!(z[1], gamma[1] >= 0.5);
}

#[test]
fn em_steps_match_the_general_mixture_exactly() {
    let (x, _) = truth()
        .as_mixture()
        .sample(500, &mut StdRng::seed_from_u64(5));
    let start = TwoComponentMixture::new(
        0.5,
        dvector![-1.0, 0.0],
        DMatrix::identity(2, 2),
        dvector![1.0, 1.0],
        DMatrix::identity(2, 2),
    )
    .unwrap();
    let mut two = start.clone();
    let mut general: GaussianMixture = start.into();
    let em = Em::new().tol(0.0).max_iter(30);
    let r1 = em.fit(&mut two, &x).unwrap();
    let r2 = em.fit(&mut general, &x).unwrap();
    assert_eq!(r1.trace, r2.trace);
    assert_eq!(two.as_mixture(), &general);
    // The notes' M-step: α = Σγ/n, μ₁ = Σγx/Σγ computed from the previous γ.
    let mut one_step = truth();
    let gamma = one_step.gamma(&x).unwrap();
    Em::new()
        .tol(0.0)
        .max_iter(1)
        .fit(&mut one_step, &x)
        .unwrap();
    let alpha = gamma.sum() / x.nrows() as f64;
    let mu1 = (x.transpose() * &gamma) / gamma.sum();
    assert!((one_step.alpha() - alpha).abs() < 1e-12);
    assert!((one_step.mu1() - mu1).amax() < 1e-12);
}

#[test]
fn invariants_hold() {
    let (x, _) = truth()
        .as_mixture()
        .sample(300, &mut StdRng::seed_from_u64(9));
    let start = TwoComponentMixture::new(
        0.9,
        dvector![5.0, 5.0],
        DMatrix::identity(2, 2) * 4.0,
        dvector![-3.0, 1.0],
        DMatrix::identity(2, 2),
    )
    .unwrap();
    let report = check_invariants(start, &x, 50, Tolerance::default()).unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn rejects_bad_parameters_and_wrong_mixtures() {
    let i = DMatrix::identity(1, 1);
    for alpha in [0.0, 1.0, -0.1, f64::NAN] {
        assert!(
            TwoComponentMixture::new(alpha, dvector![0.0], i.clone(), dvector![1.0], i.clone())
                .is_err()
        );
    }
    assert!(
        TwoComponentMixture::new(0.5, dvector![0.0], i.clone(), dvector![1.0, 2.0], i.clone())
            .is_err()
    );
    let three = GaussianMixture::builder(3)
        .fit(&DMatrix::from_fn(30, 1, |r, _| r as f64))
        .unwrap()
        .model;
    assert!(TwoComponentMixture::try_from(three).is_err());
    let diag = GaussianMixture::builder(2)
        .covariance_type(CovarianceType::Diag)
        .fit(&DMatrix::from_fn(30, 1, |r, _| r as f64))
        .unwrap()
        .model;
    assert!(TwoComponentMixture::try_from(diag).is_err());
}
