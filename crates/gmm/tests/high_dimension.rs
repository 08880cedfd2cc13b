//! D = 200: densities are far below f64's smallest positive number (log-densities near
//! −300 and lower), so everything must stay in log space. The fit must be finite and right.

use gmm::{CovarianceType, Covariances, GaussianMixture};
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn truth(d: usize) -> GaussianMixture {
    let means = DMatrix::from_fn(3, d, |k, j| if j % 3 == k { 130.0 } else { 0.0 });
    let cov = |k: usize| {
        let mut m = DMatrix::identity(d, d) * 1000.0 * (0.5 + 0.25 * k as f64);
        for j in 0..d - 1 {
            m[(j, j + 1)] = 100.0;
            m[(j + 1, j)] = 100.0;
        }
        m
    };
    GaussianMixture::new(
        DVector::from_vec(vec![0.5, 0.3, 0.2]),
        means,
        Covariances::Full((0..3).map(cov).collect()),
    )
    .unwrap()
}

#[test]
fn fits_200_dimensional_data_without_underflow() {
    let d = 200;
    let t = truth(d);
    let (x, labels) = t.sample(3000, &mut StdRng::seed_from_u64(200));
    let per_row = t.score_samples(&x).unwrap();
    // Every density underflows f64 (exp(−746) = 0), yet every log-density is finite.
    assert!(
        per_row.iter().all(|v| v.is_finite() && (*v).exp() == 0.0),
        "max log-density {}",
        per_row.max()
    );
    for kind in CovarianceType::ALL {
        let fit = GaussianMixture::builder(3)
            .covariance_type(kind)
            .seed(1)
            .n_init(2)
            .fit(&x)
            .unwrap();
        let m = &fit.model;
        assert!(m.weights().iter().all(|w| w.is_finite()));
        assert!(m.means().iter().all(|v| v.is_finite()));
        let predicted = m.predict(&x).unwrap();
        // Up to relabelling: the best matching of predicted to true labels.
        let mut agree = 0;
        for p in 0..3 {
            let mut counts = [0usize; 3];
            for (pl, tl) in predicted.iter().zip(&labels) {
                if *pl == p {
                    counts[*tl] += 1;
                }
            }
            agree += counts.iter().max().unwrap();
        }
        assert!(
            agree as f64 >= 0.99 * x.nrows() as f64,
            "{kind}: {agree} of {} rows",
            x.nrows()
        );
        assert!(fit.report.objective().is_finite());
    }
}
