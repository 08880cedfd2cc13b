//! The EM invariants (em-core's checker) hold at every iteration for both response
//! families, on random data from random starts; chunked E-steps merge to the one-batch
//! statistics.

use em_core::testing::prop::assert_invariants;
use em_core::testing::{Tolerance, check_invariants, chunking_discrepancy};
use em_core::{Dataset, EmError, Initializer, ParameterVector, StdRng};
use em_regression::{
    GaussianRegressionMixture, GaussianRegressions, GaussianSettings, PoissonRegressionMixture,
    PoissonRegressions, RegressionData, Start, Strategy,
};
use nalgebra::DMatrix;
use proptest::prelude::*;
use rand::SeedableRng;

/// Two predictors plus the intercept; rows alternate between regimes.
fn design(x: &[f64]) -> DMatrix<f64> {
    let n = x.len() / 2;
    DMatrix::from_fn(n, 2, |i, j| x[2 * i + j])
}

fn gaussian_data(x: &[f64], noise: &[f64]) -> RegressionData {
    let m = design(x);
    let y = (0..m.nrows())
        .map(|i| {
            let (a, b) = (m[(i, 0)], m[(i, 1)]);
            noise[i]
                + if i % 3 == 0 {
                    1.0 + 2.0 * a - b
                } else {
                    -3.0 + 0.5 * b
                }
        })
        .collect();
    RegressionData::with_intercept(&m, y).unwrap()
}

fn poisson_data(x: &[f64], u: &[f64]) -> RegressionData {
    let m = design(x);
    let y = (0..m.nrows())
        .map(|i| {
            let (a, b) = (m[(i, 0)], m[(i, 1)]);
            let mu: f64 = if i % 3 == 0 {
                (0.5 + 0.4 * a).exp()
            } else {
                (2.0 - 0.3 * b).exp()
            };
            // A crude deterministic draw around μ.
            (mu * (0.5 + u[i])).floor()
        })
        .collect();
    RegressionData::with_intercept(&m, y).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn gaussian_regression_em_satisfies_the_invariants(
        x in proptest::collection::vec(-2.0..2.0f64, 80..160),
        noise in proptest::collection::vec(-1.0..1.0f64, 80),
        k in 1usize..4,
        seed in 0u64..1000,
    ) {
        let data = gaussian_data(&x, &noise);
        let start = Start::<GaussianRegressions>::new(k);
        let model: GaussianRegressionMixture = start.initialize(&data, &mut StdRng::seed_from_u64(seed)).unwrap();
        // Without a variance floor a component can come to fit its rows exactly (as many
        // weighted rows as design columns): a typed error ends that run, not a violation, and
        // the case is replaced. Only completed steps are judged.
        match check_invariants(model, &data, 25, Tolerance::default()) {
            Ok(report) => prop_assert!(report.is_ok(), "{report}"),
            Err(EmError::DegenerateComponent { .. } | EmError::EmptyComponent { .. }) => {
                prop_assume!(false);
            }
            Err(e) => prop_assert!(false, "the model returned an error: {e}"),
        }
    }

    #[test]
    fn poisson_regression_em_satisfies_the_invariants(
        x in proptest::collection::vec(-1.5..1.5f64, 80..160),
        u in proptest::collection::vec(0.0..1.0f64, 80),
        k in 1usize..4,
        seed in 0u64..1000,
    ) {
        let data = poisson_data(&x, &u);
        let start = Start::<PoissonRegressions>::new(k);
        let model: PoissonRegressionMixture = start.initialize(&data, &mut StdRng::seed_from_u64(seed)).unwrap();
        assert_invariants(model, &data, 25)?;
    }

    #[test]
    fn gaussian_regression_with_a_variance_floor_satisfies_the_invariants(
        x in proptest::collection::vec(-2.0..2.0f64, 80..120),
        noise in proptest::collection::vec(-0.01..0.01f64, 60),
        seed in 0u64..1000,
    ) {
        let data = gaussian_data(&x, &noise);
        let start = Start::<GaussianRegressions>::new(3)
            .strategy(Strategy::KMeans)
            .settings(GaussianSettings { variance_floor: 0.05, ..Default::default() });
        let model: GaussianRegressionMixture = start.initialize(&data, &mut StdRng::seed_from_u64(seed)).unwrap();
        assert_invariants(model, &data, 25)?;
    }
}

#[test]
fn invariants_hold_over_a_long_run_on_both_families() {
    let x: Vec<f64> = (0..400)
        .map(|i| ((i as f64) * 0.7548776662).fract() * 4.0 - 2.0)
        .collect();
    let noise: Vec<f64> = (0..200)
        .map(|i| ((i as f64) * 0.5698402910).fract() - 0.5)
        .collect();
    let g = gaussian_data(&x, &noise);
    let model: GaussianRegressionMixture = Start::new(2)
        .initialize(&g, &mut StdRng::seed_from_u64(1))
        .unwrap();
    let report = check_invariants(model, &g, 200, Tolerance::default()).unwrap();
    assert!(report.is_ok(), "{report}");
    let p = poisson_data(&x, &noise.iter().map(|v| v + 0.5).collect::<Vec<_>>());
    let model: PoissonRegressionMixture = Start::new(3)
        .initialize(&p, &mut StdRng::seed_from_u64(1))
        .unwrap();
    let report = check_invariants(model, &p, 200, Tolerance::default()).unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn chunked_statistics_merge_to_the_whole_batch() {
    let x: Vec<f64> = (0..600)
        .map(|i| ((i as f64) * 0.7548776662).fract() * 4.0 - 2.0)
        .collect();
    let noise: Vec<f64> = (0..300)
        .map(|i| ((i as f64) * 0.5698402910).fract())
        .collect();
    let g = gaussian_data(&x, &noise);
    let model: GaussianRegressionMixture = Start::new(2)
        .initialize(&g, &mut StdRng::seed_from_u64(2))
        .unwrap();
    for chunk in [1, 7, 64] {
        assert!(chunking_discrepancy(&model, &g, chunk).unwrap() < 1e-12);
    }
    let p = poisson_data(&x, &noise);
    let model: PoissonRegressionMixture = Start::new(2)
        .initialize(&p, &mut StdRng::seed_from_u64(2))
        .unwrap();
    for chunk in [1, 7, 64] {
        assert!(chunking_discrepancy(&model, &p, chunk).unwrap() < 1e-12);
    }
}

/// The M-step is the argmax, not merely an improvement: after it, moving any coefficient or
/// variance by ±1e-4 (relative) must not raise E_q[log p(y, z | θ)] for the same statistics.
/// (The invariant checker compares θ_{t+1} with θ_t only, so a biased M-step can pass it.)
fn assert_m_step_is_argmax<M>(mut model: M, data: &M::Data)
where
    M: ParameterVector,
{
    let e = model.e_step(data, 0..data.n_obs()).unwrap();
    model.m_step(&e.stats).unwrap();
    let best = model.expected_complete_log_likelihood(&e.stats);
    let theta = model.parameters();
    for j in 0..theta.len() {
        for sign in [-1.0, 1.0] {
            let mut moved = theta.clone();
            moved[j] += sign * 1e-4 * theta[j].abs().max(1e-2);
            let mut other = model.clone();
            if other.set_parameters(&moved).is_err() {
                continue; // a weight off the simplex
            }
            let q = other.expected_complete_log_likelihood(&e.stats);
            assert!(
                q <= best + 1e-12 * best.abs(),
                "coordinate {j}: {q} > {best}"
            );
        }
    }
}

#[test]
fn m_steps_are_the_argmax() {
    let x: Vec<f64> = (0..400)
        .map(|i| ((i as f64) * 0.7548776662).fract() * 4.0 - 2.0)
        .collect();
    let u: Vec<f64> = (0..200)
        .map(|i| ((i as f64) * 0.5698402910).fract())
        .collect();
    let p = poisson_data(&x, &u);
    for seed in 0..3 {
        let model: PoissonRegressionMixture = Start::new(3)
            .initialize(&p, &mut StdRng::seed_from_u64(seed))
            .unwrap();
        assert_m_step_is_argmax(model, &p);
    }
    let g = gaussian_data(&x, &u);
    for seed in 0..3 {
        let model: GaussianRegressionMixture = Start::new(3)
            .initialize(&g, &mut StdRng::seed_from_u64(seed))
            .unwrap();
        assert_m_step_is_argmax(model, &g);
    }
}
