//! Missing values in Gaussian HMMs: an HMM whose every transition row is its
//! initial distribution is a mixture, so with missing values its log-likelihood must be the
//! Gaussian mixture's (the marginal densities of the observed coordinates), for every
//! covariance structure.

use hmm::{Covariances, GaussianHmm, MissingValues};
use nalgebra::{DMatrix, dmatrix, dvector};

fn covariances(kind: usize) -> Covariances {
    match kind {
        0 => Covariances::Full(vec![
            dmatrix![1.0, 0.3, 0.1; 0.3, 2.0, -0.4; 0.1, -0.4, 1.5],
            dmatrix![0.7, -0.2, 0.0; -0.2, 1.1, 0.3; 0.0, 0.3, 0.9],
        ]),
        1 => Covariances::Tied(dmatrix![1.0, 0.3, 0.1; 0.3, 2.0, -0.4; 0.1, -0.4, 1.5]),
        2 => Covariances::Diag(dmatrix![1.0, 2.0, 0.5; 0.7, 1.1, 0.9]),
        _ => Covariances::Spherical(dvector![1.2, 0.6]),
    }
}

/// Σ_i log Σ_k w_k N(x_i,o | μ_k,o, Σ_k,oo) by the textbook formula (explicit inverse and
/// determinant of the observed block).
fn mixture_log_likelihood(
    weights: &[f64],
    means: &DMatrix<f64>,
    model: &GaussianHmm,
    x: &DMatrix<f64>,
) -> f64 {
    let mut total = 0.0;
    for i in 0..x.nrows() {
        let observed: Vec<usize> = (0..x.ncols()).filter(|&j| !x[(i, j)].is_nan()).collect();
        let d_o = observed.len();
        let mut p = 0.0;
        for (k, w) in weights.iter().enumerate() {
            let sigma = model.emission().covariance(k).unwrap();
            let s = DMatrix::from_fn(d_o, d_o, |a, b| sigma[(observed[a], observed[b])]);
            let r = nalgebra::DVector::from_fn(d_o, |a, _| {
                x[(i, observed[a])] - means[(k, observed[a])]
            });
            let q = (r.transpose() * s.clone().try_inverse().unwrap() * &r)[0];
            let log_n =
                -0.5 * (d_o as f64 * (2.0 * std::f64::consts::PI).ln() + s.determinant().ln() + q);
            p += w * log_n.exp();
        }
        total += p.ln();
    }
    total
}

#[test]
fn an_iid_hmm_scores_missing_values_as_the_mixture() {
    let nan = f64::NAN;
    let sequence = dmatrix![
        0.1, nan, 0.4;
        nan, nan, 2.9;
        3.2, 3.1, nan;
        2.8, nan, nan;
        -0.1, 0.4, 0.3;
        nan, 1.0, 1.0
    ];
    let means = dmatrix![0.0, 0.5, 0.0; 3.0, 3.0, 2.0];
    for kind in 0..4 {
        let emission = hmm::Gaussian::new(means.clone(), covariances(kind)).unwrap();
        let model = GaussianHmm::new(dvector![0.3, 0.7], dmatrix![0.3, 0.7; 0.3, 0.7], emission)
            .unwrap()
            .with_missing_values(MissingValues::Model);
        let a = model.score(&sequence).unwrap();
        let b = mixture_log_likelihood(&[0.3, 0.7], &means, &model, &sequence);
        assert!((a - b).abs() < 1e-11 * b.abs(), "kind {kind}: {a} vs {b}");
        // Without the setting, the NaN is an error.
        let plain = GaussianHmm::new(
            dvector![0.3, 0.7],
            dmatrix![0.3, 0.7; 0.3, 0.7],
            hmm::Gaussian::new(means.clone(), covariances(kind)).unwrap(),
        )
        .unwrap();
        assert!(plain.score(&sequence).is_err());
    }
}
