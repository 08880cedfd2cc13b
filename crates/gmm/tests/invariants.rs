//! The EM invariants (em-core's checker) hold for every covariance structure, by maximum
//! likelihood (`reg_covar = 0`) and by MAP-EM with the conjugate prior, on random data from
//! random starts; and the chunked E-step agrees with the one-batch E-step.

use em_core::testing::prop::{assert_invariants_within, matrix};
use em_core::testing::{Tolerance, check_invariants, chunking_discrepancy};
use gmm::{CovarianceType, Covariances, GaussianMixture, Prior, SampleWeighted};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;

/// Slack for the checker: relative 1e-9 of the objective, which is orders of magnitude above
/// the rounding of these sums and orders below any modelling error.
const TOL: Tolerance = Tolerance {
    relative: 1e-9,
    absolute: 1e-9,
};

/// A start with means at the given rows of `x`, unit-ish covariances of the structure.
fn start(x: &DMatrix<f64>, kind: CovarianceType, k: usize, scale: f64) -> GaussianMixture {
    let d = x.ncols();
    let n = x.nrows();
    let means = DMatrix::from_fn(k, d, |c, j| x[((c * 7919) % n, j)] + 0.1 * c as f64);
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full(
            (0..k)
                .map(|c| {
                    let mut m = DMatrix::identity(d, d) * scale * (1.0 + c as f64);
                    if d > 1 {
                        m[(0, 1)] = 0.3 * scale;
                        m[(1, 0)] = 0.3 * scale;
                    }
                    m
                })
                .collect(),
        ),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(k, d, |c, j| {
            scale * (1.0 + c as f64 + j as f64)
        })),
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_fn(k, |c, _| scale * (1.0 + c as f64)))
        }
        CovarianceType::Tied => {
            let mut m = DMatrix::identity(d, d) * scale;
            if d > 1 {
                m[(0, 1)] = 0.2 * scale;
                m[(1, 0)] = 0.2 * scale;
            }
            Covariances::Tied(m)
        }
    };
    GaussianMixture::new(DVector::from_element(k, 1.0 / k as f64), means, covariances).unwrap()
}

fn prior(d: usize) -> Prior {
    Prior {
        weight_concentration: 2.0,
        mean: DVector::from_element(d, 0.5),
        mean_precision: 0.5,
        dof: d as f64 + 1.5,
        scale: DMatrix::identity(d, d) * 2.0 + DMatrix::from_element(d, d, 0.1),
    }
}

#[test]
fn invariants_hold_for_every_structure_on_faithful_like_data() {
    let x = DMatrix::from_fn(300, 2, |i, j| {
        let t = i as f64 * if j == 0 { 0.61803 } else { 0.41421 };
        (if i % 3 == 0 {
            2.0 + j as f64 * 50.0
        } else {
            4.4 + j as f64 * 80.0
        }) + (t.fract() - 0.5) * (1.0 + 9.0 * j as f64)
    });
    for kind in CovarianceType::ALL {
        let report = check_invariants(start(&x, kind, 2, 30.0), &x, 40, TOL).unwrap();
        assert!(report.is_ok(), "{kind}: {report}");
        let with_prior = start(&x, kind, 3, 30.0).with_prior(Some(prior(2))).unwrap();
        let report = check_invariants(with_prior, &x, 40, TOL).unwrap();
        assert!(report.is_ok(), "{kind} with prior: {report}");
    }
}

#[test]
fn chunked_e_step_matches_one_batch() {
    let x = DMatrix::from_fn(1001, 3, |i, j| ((i * 31 + j * 17) % 97) as f64 / 9.0 + 1e4);
    for kind in CovarianceType::ALL {
        let model = start(&x, kind, 4, 3.0);
        for chunk in [1, 10, 333, 5000] {
            let d = chunking_discrepancy(&model, &x, chunk).unwrap();
            assert!(d < 1e-11, "{kind} chunk {chunk}: {d:e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_random_data(
        x in matrix(8..60, 2, -10.0..10.0),
        kind_index in 0usize..4,
        k in 1usize..4,
        scale in 0.5..20.0f64,
        use_prior in any::<bool>(),
    ) {
        let kind = CovarianceType::ALL[kind_index];
        let mut model = start(&x, kind, k, scale);
        if use_prior {
            model = model.with_prior(Some(prior(2))).unwrap();
        }
        // Without a prior, a component can collapse onto one point: that ends the run with a
        // typed error (checked elsewhere), not a violation. Only completed steps are judged.
        match check_invariants(model, &x, 25, TOL) {
            Ok(report) => prop_assert!(report.is_ok(), "{kind} prior={use_prior}: {report}"),
            Err(e) => prop_assert!(!use_prior, "{kind} with prior errored: {e}"),
        }
    }

    #[test]
    fn invariants_hold_with_sample_weights(
        x in matrix(8..40, 3, -5.0..5.0),
        weights in proptest::collection::vec(0.0..3.0f64, 40),
        kind_index in 0usize..4,
    ) {
        let kind = CovarianceType::ALL[kind_index];
        let w = &weights[..x.nrows()];
        prop_assume!(w.iter().sum::<f64>() > 1.0);
        let model = SampleWeighted { model: start(&x, kind, 2, 4.0).with_prior(Some(prior(3))).unwrap(), sample_weight: Some(w) };
        assert_invariants_within(model, &x, 20, TOL)?;
    }
}
