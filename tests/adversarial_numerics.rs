//! Adversarial numerics (part of the reliability work): extreme scales, disparate features,
//! tiny and degenerate data sets, heavy tails. Each case either fits with finite parameters
//! and a non-decreasing objective, or returns a typed error — never a panic or NaN.

use em::EmError;
use em::gmm::{CovarianceType, GaussianMixture};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Cauchy, Distribution, StandardNormal};

/// Fits every covariance type; returns how many fitted (the rest must be typed errors).
fn fits_finite_or_errs(x: &DMatrix<f64>, k: usize, reg_covar: f64) -> usize {
    let mut fitted = 0;
    for kind in CovarianceType::ALL {
        // Finiteness, not convergence, is the point: a budget keeps K = 100 quick.
        match GaussianMixture::builder(k)
            .covariance_type(kind)
            .reg_covar(reg_covar)
            .max_iter(300)
            .seed(3)
            .fit(x)
        {
            Ok(fit) => {
                let m = &fit.model;
                assert!(
                    m.weights()
                        .iter()
                        .chain(m.means().iter())
                        .all(|v| v.is_finite()),
                    "{kind}: non-finite parameters"
                );
                for c in 0..m.n_components() {
                    assert!(
                        m.covariance(c).unwrap().iter().all(|v| v.is_finite()),
                        "{kind}: non-finite covariance"
                    );
                }
                assert!(fit.report.trace.iter().all(|v| v.is_finite()));
                let worst = fit.report.largest_decrease;
                assert!(
                    worst <= 1e-6 * fit.report.objective().abs().max(1.0),
                    "{kind}: objective fell by {worst}"
                );
                fitted += 1;
            }
            Err(
                EmError::NotPositiveDefinite { .. }
                | EmError::EmptyComponent { .. }
                | EmError::TooFewObservations { .. }
                | EmError::NonFiniteObjective { .. },
            ) => {}
            Err(e) => panic!("{kind}: unexpected error {e:?}"),
        }
    }
    fitted
}

fn blobs(n: usize, d: usize, scale: f64, seed: u64) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    DMatrix::from_fn(n, d, |i, _| {
        let z: f64 = StandardNormal.sample(&mut rng);
        scale * (z + if i % 2 == 0 { 6.0 } else { -6.0 })
    })
}

#[test]
fn extreme_scales_fit_with_scale_aware_regularisation() {
    for exponent in [-150, -100, -50, 0, 50, 100, 150] {
        let scale = 10f64.powi(exponent);
        let x = blobs(400, 2, scale, 1);
        // reg_covar is absolute: scale it with the data, as the docs advise.
        let fitted = fits_finite_or_errs(&x, 2, 1e-6 * scale * scale);
        assert_eq!(fitted, 4, "scale 1e{exponent}");
    }
}

#[test]
fn one_feature_1e8_times_larger_than_another() {
    let mut x = blobs(500, 2, 1.0, 2);
    x.column_mut(1).iter_mut().for_each(|v| *v *= 1e8);
    assert_eq!(fits_finite_or_errs(&x, 2, 1e-6), 4);
}

#[test]
fn tiny_and_degenerate_data() {
    // N = 1, K = 1.
    let one = DMatrix::from_row_slice(1, 3, &[1.0, 2.0, 3.0]);
    fits_finite_or_errs(&one, 1, 1e-6);
    // D = 1.
    assert_eq!(fits_finite_or_errs(&blobs(200, 1, 1.0, 3), 3, 1e-6), 4);
    // All rows identical.
    let same = DMatrix::from_element(50, 2, 4.2);
    fits_finite_or_errs(&same, 2, 1e-6);
    fits_finite_or_errs(&same, 2, 0.0);
    // Two identical columns: singular data covariance.
    let mut twin = blobs(300, 2, 1.0, 4);
    let c0 = twin.column(0).into_owned();
    twin.set_column(1, &c0);
    assert!(fits_finite_or_errs(&twin, 2, 1e-6) >= 3);
    fits_finite_or_errs(&twin, 2, 0.0);
}

#[test]
fn many_components_on_few_rows() {
    let x = blobs(1000, 2, 1.0, 5);
    fits_finite_or_errs(&x, 100, 1e-6);
}

#[test]
fn heavy_tailed_cauchy_data() {
    let mut rng = StdRng::seed_from_u64(6);
    let cauchy = Cauchy::new(0.0, 1.0).unwrap();
    let x = DMatrix::from_fn(2000, 2, |_, _| cauchy.sample(&mut rng));
    fits_finite_or_errs(&x, 3, 1e-6);
}

#[test]
fn d200_with_n300() {
    let x = blobs(300, 200, 1.0, 7);
    fits_finite_or_errs(&x, 2, 1e-6);
}
