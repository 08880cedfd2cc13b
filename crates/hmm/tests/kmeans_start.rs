//! The k-means start of a Gaussian HMM (`GaussianHmm::kmeans_start`): against the random start
//! where random starts struggle, its shape for each covariance structure, determinism and its
//! errors. Its recovery of a known 3-state HMM is in `recovery.rs`.

use em_core::{Em, EmError, StdRng};
use hmm::{CovarianceType, Covariances, Gaussian, GaussianHmm};
use nalgebra::{DMatrix, DVector, dmatrix};
use rand::SeedableRng;

/// An HMM of `s` states whose means sit on a square grid `spacing` apart (row by row), all
/// with the covariance [[1, 0.2], [0.2, 0.7]]; uniform start, stay with probability 0.9.
fn grid_truth(s: usize, spacing: f64) -> GaussianHmm {
    let side = (s as f64).sqrt().ceil() as usize;
    let means = DMatrix::from_fn(s, 2, |i, j| {
        spacing * if j == 0 { i % side } else { i / side } as f64
    });
    let mut a = DMatrix::from_element(s, s, 0.1 / (s - 1) as f64);
    a.fill_diagonal(0.9);
    GaussianHmm::new(
        DVector::from_element(s, 1.0 / s as f64),
        a,
        Gaussian::new(
            means,
            Covariances::Full(vec![dmatrix![1.0, 0.2; 0.2, 0.7]; s]),
        )
        .unwrap(),
    )
    .unwrap()
}

/// A start of a Gaussian HMM, as `GaussianHmm::random_start` and `kmeans_start` are.
type Start =
    fn(usize, CovarianceType, &[DMatrix<f64>], &mut StdRng) -> Result<GaussianHmm, EmError>;

/// One run of EM (no restarts) from `start` with the restart generator seeded by `seed`.
fn fit(start: Start, s: usize, data: &[DMatrix<f64>], seed: u64) -> em_core::Fitted<GaussianHmm> {
    let init = |x: &[DMatrix<f64>], rng: &mut StdRng| start(s, CovarianceType::Full, x, rng);
    Em::new()
        .tol(1e-9)
        .max_iter(2000)
        .n_init(1)
        .seed(seed)
        .fit_restarts(&init, data)
        .unwrap()
}

/// Eight states 3 apart (about 3 standard deviations): single runs from random starts
/// (k-means++ means, every state with the pooled covariance) end in a worse optimum for 3 of
/// these 10 seeds (697 to 854 below the others when written); from the k-means start every run
/// reaches the best optimum seen, above the truth, in fewer iterations.
#[test]
fn kmeans_start_reaches_at_least_the_random_starts_log_likelihood_where_they_struggle() {
    let s = 8;
    let truth = grid_truth(s, 3.0);
    let mut rng = StdRng::seed_from_u64(99);
    let data: Vec<_> = (0..20).map(|_| truth.sample(300, &mut rng).0).collect();
    let ll_truth = truth.log_likelihood_total(&data).unwrap();
    let (mut worse, mut largest_gain) = (0, 0.0_f64);
    for seed in 0..10 {
        let random = fit(GaussianHmm::random_start, s, &data, seed);
        let kmeans = fit(GaussianHmm::kmeans_start, s, &data, seed);
        let (lr, lk) = (random.report.objective(), kmeans.report.objective());
        println!(
            "seed {seed}: random {:+.2} ({} iterations), k-means {:+.2} ({} iterations) relative to the truth",
            lr - ll_truth,
            random.report.iterations,
            lk - ll_truth,
            kmeans.report.iterations
        );
        assert!(kmeans.report.converged, "seed {seed}");
        assert!(lk >= ll_truth, "seed {seed}: {lk} < truth {ll_truth}");
        assert!(
            lk >= lr - 1e-9 * lr.abs(),
            "seed {seed}: k-means start {lk} < random start {lr}"
        );
        if lk > lr + 1.0 {
            worse += 1;
            largest_gain = largest_gain.max(lk - lr);
        }
    }
    println!("random starts worse on {worse} of 10 seeds, by up to {largest_gain:.2}");
    // The case is one where random starts struggle: the comparison is not vacuous.
    assert!(worse >= 2, "random starts struggled on only {worse} seeds");
}

#[test]
fn kmeans_start_has_the_shape_of_each_covariance_structure() {
    let truth = grid_truth(4, 4.0);
    let mut rng = StdRng::seed_from_u64(3);
    let data: Vec<_> = (0..3).map(|_| truth.sample(200, &mut rng).0).collect();
    for kind in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
        CovarianceType::Tied,
    ] {
        let start = GaussianHmm::kmeans_start(4, kind, &data, &mut StdRng::seed_from_u64(1))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let g = start.emission();
        assert_eq!(
            (g.n_states(), g.n_features(), g.covariance_type()),
            (4, 2, kind)
        );
        assert_eq!(start.start(), &DVector::from_element(4, 0.25));
        // Sticky transitions, as the random start's: ½ I + 1/(2S).
        assert_eq!(start.transitions()[(0, 0)], 0.5 + 0.125);
        assert_eq!(start.transitions()[(0, 1)], 0.125);
        // Every true mean has a state mean within 0.5 (clusters 4 apart, about 150 steps each).
        for t in 0..4 {
            let near =
                (0..4).any(|m| (g.means().row(m) - truth.emission().means().row(t)).norm() < 0.5);
            assert!(near, "{kind}: no state near true mean {t}: {}", g.means());
        }
        // The within-cluster variance of feature 0, about 1 (not the pooled ≈ 5).
        let v = g.covariance(0).unwrap()[(0, 0)];
        assert!((0.6..1.5).contains(&v), "{kind}: variance {v}");
    }
}

#[test]
fn kmeans_start_is_deterministic_given_the_generator() {
    let truth = grid_truth(4, 3.0);
    let mut rng = StdRng::seed_from_u64(8);
    let data: Vec<_> = (0..5).map(|_| truth.sample(100, &mut rng).0).collect();
    let a = GaussianHmm::kmeans_start(
        4,
        CovarianceType::Full,
        &data,
        &mut StdRng::seed_from_u64(2),
    );
    let b = GaussianHmm::kmeans_start(
        4,
        CovarianceType::Full,
        &data,
        &mut StdRng::seed_from_u64(2),
    );
    assert_eq!(a.unwrap(), b.unwrap());
}

#[test]
fn kmeans_start_names_what_is_wrong_with_the_data() {
    let mut rng = StdRng::seed_from_u64(0);
    let good = dmatrix![0.0, 1.0; 2.0, 3.0; 4.0, 5.0];
    let start = |s: usize, x: &[DMatrix<f64>], rng: &mut StdRng| {
        GaussianHmm::kmeans_start(s, CovarianceType::Full, x, rng).map(|_| ())
    };
    assert!(matches!(
        start(0, std::slice::from_ref(&good), &mut rng),
        Err(EmError::InvalidParameter {
            name: "n_states",
            ..
        })
    ));
    assert_eq!(start(2, &[], &mut rng), Err(EmError::EmptyData));
    // Three steps in all, four states.
    assert_eq!(
        start(4, std::slice::from_ref(&good), &mut rng),
        Err(EmError::TooFewObservations {
            n_obs: 3,
            n_components: 4
        })
    );
    let reason = |r: Result<(), EmError>| match r {
        Err(EmError::InvalidInput { reason, .. }) => reason,
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    let empty = DMatrix::<f64>::zeros(0, 2);
    assert_eq!(
        reason(start(1, &[good.clone(), empty], &mut rng)),
        "sequence 1: is empty (0 steps); every sequence needs at least one step"
    );
    let wide = DMatrix::<f64>::zeros(2, 3);
    assert!(
        reason(start(1, &[good.clone(), wide], &mut rng))
            .starts_with("sequence 1: dimension mismatch")
    );
    assert_eq!(
        reason(start(1, &[DMatrix::zeros(3, 0)], &mut rng)),
        "sequence 0: has no features"
    );
    // A NaN at step 1 of sequence 2 is named there, not by its row in the pooled steps.
    let mut bad = good.clone();
    bad[(1, 1)] = f64::NAN;
    assert_eq!(
        reason(start(1, &[good.clone(), good.clone(), bad], &mut rng)),
        "sequence 2, step 1: value NaN in feature 1 is not finite"
    );
    // A feature constant over all steps has no variance, even with the ridge.
    let constant = dmatrix![0.0, 1.0; 2.0, 1.0; 4.0, 1.0; 5.0, 1.0];
    assert!(matches!(
        start(2, &[constant], &mut rng),
        Err(EmError::NotPositiveDefinite { .. })
    ));
}
