//! Mixtures of Student-t distributions: the EM invariants under proptest (every covariance
//! structure, ν estimated or fixed), recovery of known parameters (ν included), robustness
//! where a Gaussian mixture breaks, SQUAREM, and bad input.

use em_core::testing::prop::matrix;
use em_core::testing::{Tolerance, check_invariants, chunking_discrepancy};
use em_core::{Em, EmError, ParameterVector, Squarem, Stopping};
use em_family::student::DofRule;
use gmm::{CovarianceType, Covariances, Dof, GaussianMixture, StudentMixture};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

const TOL: Tolerance = Tolerance {
    relative: 1e-9,
    absolute: 1e-9,
};

/// A start of the given structure with locations at rows of `x` and ν = `nu`.
fn start(x: &DMatrix<f64>, kind: CovarianceType, k: usize, nu: f64, fixed: bool) -> StudentMixture {
    let (n, d) = x.shape();
    let means = DMatrix::from_fn(k, d, |c, j| x[((c * 7919) % n, j)] + 0.1 * c as f64);
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full(
            (0..k)
                .map(|c| DMatrix::identity(d, d) * (2.0 + c as f64))
                .collect(),
        ),
        CovarianceType::Diag => {
            Covariances::Diag(DMatrix::from_fn(k, d, |c, j| 2.0 + c as f64 + j as f64))
        }
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_fn(k, |c, _| 2.0 + c as f64))
        }
        CovarianceType::Tied => Covariances::Tied(DMatrix::identity(d, d) * 3.0),
    };
    let gm = GaussianMixture::new(DVector::from_element(k, 1.0 / k as f64), means, covariances)
        .expect("start");
    let dof = if fixed {
        Dof::Fixed(nu)
    } else {
        Dof::Estimated { initial: nu }
    };
    StudentMixture::from_gaussian(&gm, dof).expect("t start")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// ELBO tight after every E-step, the M-step (ν's root included) never lowers it, the bound
    /// holds — at every one of 25 steps.
    #[test]
    fn invariants_hold_on_random_data(
        x in matrix(8..60, 2, -10.0..10.0),
        kind_index in 0usize..4,
        k in 1usize..4,
        nu in 0.5..60.0f64,
        fixed in any::<bool>(),
    ) {
        let kind = CovarianceType::ALL[kind_index];
        let model = start(&x, kind, k, nu, fixed);
        // A component can collapse onto one point by maximum likelihood: a typed error ends the
        // run, not a violation. Only completed steps are judged.
        if let Ok(report) = check_invariants(model, &x, 25, TOL) {
            prop_assert!(report.is_ok(), "{kind} ν={nu} fixed={fixed}: {report}");
        }
    }
}

#[test]
fn chunked_e_step_matches_one_batch() {
    let x = DMatrix::from_fn(1001, 3, |i, j| {
        ((i * 31 + j * 17) % 97) as f64 / 9.0 + 100.0
    });
    for kind in CovarianceType::ALL {
        let model = start(&x, kind, 3, 4.0, false);
        for chunk in [1, 10, 333, 5000] {
            let d = chunking_discrepancy(&model, &x, chunk).expect("chunks");
            assert!(d < 1e-11, "{kind} chunk {chunk}: {d:e}");
        }
    }
}

fn truth() -> StudentMixture {
    StudentMixture::new(
        dvector![0.4, 0.6],
        dmatrix![0.0, 0.0; 6.0, 2.0],
        Covariances::Full(vec![
            dmatrix![1.0, 0.3; 0.3, 0.5],
            dmatrix![0.8, -0.2; -0.2, 1.2],
        ]),
        vec![4.0, 8.0],
    )
    .expect("truth")
}

/// Draws from a known t mixture: the fit recovers weights, locations and scales, and ν to
/// within its (large) sampling error.
#[test]
fn recovers_known_parameters_and_degrees_of_freedom() {
    let (x, _) = truth().sample(6000, &mut StdRng::seed_from_u64(11));
    let fit = StudentMixture::builder(2).seed(3).fit(&x).expect("fit");
    assert!(fit.report.converged);
    let m = &fit.model;
    // Components in the truth's order: the one nearer the origin first.
    let order: Vec<usize> = if m.means()[(0, 0)] < m.means()[(1, 0)] {
        vec![0, 1]
    } else {
        vec![1, 0]
    };
    let t = truth();
    for (j, &k) in order.iter().enumerate() {
        assert!(
            (m.weights()[k] - t.weights()[j]).abs() < 0.02,
            "{:?}",
            m.weights()
        );
        for c in 0..2 {
            assert!(
                (m.means()[(k, c)] - t.means()[(j, c)]).abs() < 0.06,
                "{}",
                m.means()
            );
        }
    }
    let nu: Vec<f64> = order.iter().map(|&k| m.dof()[k]).collect();
    eprintln!("ν estimated {nu:?} (truth [4, 8])");
    assert!((nu[0] - 4.0).abs() < 1.2, "{nu:?}");
    assert!((nu[1] - 8.0).abs() < 4.0, "{nu:?}");
}

/// Two clusters plus 4 % gross outliers: the t mixture's locations stay on the clusters; a
/// Gaussian mixture's covariances blow up to cover the outliers, and one mean moves.
#[test]
fn outliers_move_a_gaussian_mixture_but_not_a_t_mixture() {
    let mut rng = StdRng::seed_from_u64(5);
    let clean = GaussianMixture::new(
        dvector![0.5, 0.5],
        dmatrix![0.0, 0.0; 4.0, 4.0],
        Covariances::Full(vec![
            DMatrix::identity(2, 2) * 0.5,
            DMatrix::identity(2, 2) * 0.5,
        ]),
    )
    .expect("clean")
    .sample(480, &mut rng)
    .0;
    let outliers = DMatrix::from_fn(20, 2, |i, j| {
        let angle = i as f64 * 0.7 + j as f64 * 1.3;
        30.0 * if j == 0 { angle.cos() } else { angle.sin() } + 2.0
    });
    let x = DMatrix::from_fn(500, 2, |i, j| {
        if i < 480 {
            clean[(i, j)]
        } else {
            outliers[(i - 480, j)]
        }
    });
    let truth = dmatrix![0.0, 0.0; 4.0, 4.0];
    let error = |means: &DMatrix<f64>| {
        let order = if means[(0, 0)] < means[(1, 0)] {
            [0, 1]
        } else {
            [1, 0]
        };
        (0..2)
            .map(|j| (means.row(order[j]) - truth.row(j)).norm())
            .fold(0.0, f64::max)
    };
    let t = StudentMixture::builder(2).seed(1).fit(&x).expect("t fit");
    let g = GaussianMixture::builder(2)
        .seed(1)
        .fit(&x)
        .expect("Gaussian fit");
    let (t_error, g_error) = (error(t.model.means()), error(g.model.means()));
    eprintln!("largest location error: t {t_error:.3}, Gaussian {g_error:.3}");
    assert!(t_error < 0.15, "t mixture moved by {t_error}");
    assert!(g_error > 5.0 * t_error, "Gaussian {g_error} vs t {t_error}");
    // The outliers get small weights, the clusters' rows weights near 1.
    let w = t.model.outlier_weights(&x).expect("weights");
    let outlying = w[480..].iter().cloned().fold(0.0, f64::max);
    let typical = {
        let mut v = w[..480].to_vec();
        v.sort_by(f64::total_cmp);
        v[240]
    };
    eprintln!("E[u | x]: outliers ≤ {outlying:.3}, median clean row {typical:.3}");
    assert!(outlying < 0.1 && typical > 0.8);
}

/// SQUAREM on the t mixture's parameter vector (ν included) reaches plain EM's optimum.
#[test]
fn squarem_reaches_the_same_optimum() {
    let (x, _) = truth().sample(1500, &mut StdRng::seed_from_u64(2));
    let start = start(&x, CovarianceType::Full, 2, 10.0, false);
    let (mut plain, mut fast) = (start.clone(), start);
    let em = Em::new().stopping(Stopping::Parameters { tol: 1e-10 });
    let a = em.fit(&mut plain, &x).expect("plain");
    let b = em
        .clone()
        .accelerate(Squarem)
        .fit(&mut fast, &x)
        .expect("squarem");
    assert!((a.objective() - b.objective()).abs() < 1e-7 * a.objective().abs());
    let (p, q) = (plain.parameters(), fast.parameters());
    assert!(
        p.iter()
            .zip(&q)
            .all(|(u, v)| (u - v).abs() <= 1e-5 * u.abs().max(1.0)),
        "{p:?} {q:?}"
    );
    assert!(b.e_steps < a.e_steps, "{} vs {}", b.e_steps, a.e_steps);
}

#[test]
fn fixed_dof_stays_fixed_and_model_files_round_trip() {
    let (x, _) = truth().sample(500, &mut StdRng::seed_from_u64(4));
    let fit = StudentMixture::builder(2)
        .dof(Dof::Fixed(1.0))
        .covariance_type(CovarianceType::Diag)
        .fit(&x)
        .expect("Cauchy mixture");
    assert_eq!(fit.model.dof(), &[1.0, 1.0]);
    assert_eq!(fit.model.as_mixture().family().dof_rule(), DofRule::Fixed);
    let json = serde_json::to_string(&fit.model).expect("serialise");
    let back: StudentMixture = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, fit.model);
}

#[test]
fn bad_input_is_a_typed_error() {
    let mut x = DMatrix::from_fn(50, 2, |i, j| (i * 3 + j) as f64);
    assert!(matches!(
        StudentMixture::builder(2).dof(Dof::Fixed(0.0)).fit(&x),
        Err(EmError::InvalidParameter { name: "dof", .. })
    ));
    assert!(matches!(
        StudentMixture::builder(60).fit(&x),
        Err(EmError::TooFewObservations { .. })
    ));
    x[(7, 1)] = f64::NAN;
    assert!(matches!(
        StudentMixture::builder(2).fit(&x),
        Err(EmError::NonFinite {
            row: 7,
            column: 1,
            ..
        })
    ));
    let json =
        r#"{"weights":[1.0],"means":[[0.0]],"covariances":{"spherical":[1.0]},"dof":[-3.0]}"#;
    assert!(serde_json::from_str::<StudentMixture>(json).is_err());
}
