//! Semi-supervised EM: 1 % of the rows labelled against unsupervised EM.
//!
//! Three parallel stripes, long along x (sd 6) and 1.6 apart in y (sd 0.8): the classes
//! overlap (two standard deviations apart), so the likelihood is flat in the directions that
//! matter and unsupervised EM splits the stripes in the wrong place. Labelling every
//! hundredth row (30 of 3,000) pins the split. For each data set the program prints the
//! accuracy of
//!
//! * the Bayes classifier with the true parameters (the best any fit can do),
//! * unsupervised EM (`GaussianMixture::builder(3).fit`), under its best renumbering of the
//!   components against the truth (all 3! permutations),
//! * semi-supervised EM (`.fit_labelled`), with no renumbering: the labels name the
//!   components.
//!
//! Run it with `cargo run --release --example semi_supervised`.

use em::EmError;
use em::gmm::{Covariances, GaussianMixture};
use nalgebra::{DMatrix, dmatrix, dvector};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// Rows per stripe.
const N_PER: usize = 1000;
/// Distance between the stripes' centres in y.
const GAP: f64 = 1.6;
/// Standard deviations along and across the stripes.
const SD_X: f64 = 6.0;
const SD_Y: f64 = 0.8;

/// The data of one seed: row i from stripe i mod 3.
fn stripes(seed: u64) -> Result<(DMatrix<f64>, Vec<usize>), EmError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let bad = |e: rand_distr::NormalError| EmError::InvalidParameter {
        name: "sd",
        reason: e.to_string(),
    };
    let nx = Normal::new(0.0, SD_X).map_err(bad)?;
    let ny = Normal::new(0.0, SD_Y).map_err(bad)?;
    let n = 3 * N_PER;
    let mut x = DMatrix::zeros(n, 2);
    for i in 0..n {
        x[(i, 0)] = nx.sample(&mut rng);
        x[(i, 1)] = GAP * (i % 3) as f64 + ny.sample(&mut rng);
    }
    Ok((x, (0..n).map(|i| i % 3).collect()))
}

/// Share of rows predicted right, after renumbering the predictions by `perm`.
fn accuracy_under(pred: &[usize], truth: &[usize], perm: [usize; 3]) -> f64 {
    let right = pred
        .iter()
        .zip(truth)
        .filter(|(p, t)| perm[**p] == **t)
        .count();
    right as f64 / truth.len() as f64
}

/// Accuracy under the best of the 3! renumberings.
fn best_matched(pred: &[usize], truth: &[usize]) -> f64 {
    [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ]
    .into_iter()
    .map(|p| accuracy_under(pred, truth, p))
    .fold(0.0, f64::max)
}

/// The true mixture the stripes are drawn from.
fn truth() -> Result<GaussianMixture, EmError> {
    GaussianMixture::new(
        dvector![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0],
        dmatrix![0.0, 0.0; 0.0, GAP; 0.0, 2.0 * GAP],
        Covariances::Diag(DMatrix::from_fn(3, 2, |_, j| {
            if j == 0 { SD_X * SD_X } else { SD_Y * SD_Y }
        })),
    )
}

/// Accuracies on the data of `seed`: the Bayes classifier, unsupervised EM (best
/// renumbering), semi-supervised EM with every 100th row labelled (no renumbering).
fn compare(truth: &GaussianMixture, seed: u64) -> Result<(f64, f64, f64), EmError> {
    let (x, z) = stripes(seed)?;
    let labels: Vec<Option<usize>> = (0..z.len())
        .map(|i| (i % 100 == 0).then_some(z[i]))
        .collect();
    let options = GaussianMixture::builder(3).seed(seed);
    let unsupervised = options.fit(&x)?;
    let semi = options.fit_labelled(&x, &labels)?;
    Ok((
        accuracy_under(&truth.predict(&x)?, &z, [0, 1, 2]),
        best_matched(&unsupervised.model.predict(&x)?, &z),
        accuracy_under(&semi.model.predict(&x)?, &z, [0, 1, 2]),
    ))
}

fn main() -> Result<(), EmError> {
    let truth = truth()?;
    println!(
        "3 stripes × {N_PER} rows: sd {SD_X} along x, {SD_Y} across, {GAP} apart in y; \
         every 100th row labelled (1 %)"
    );
    println!("seed   Bayes   unsupervised (best match)   semi-supervised (1 % labels)");
    let (mut sum_un, mut sum_semi, mut sum_bayes) = (0.0, 0.0, 0.0);
    let seeds = 0..6u64;
    for seed in seeds.clone() {
        let (bayes, un, se) = compare(&truth, seed)?;
        println!("{seed:>4}   {bayes:.3}   {un:>25.3}   {se:>28.3}");
        sum_un += un;
        sum_semi += se;
        sum_bayes += bayes;
    }
    let n = seeds.count() as f64;
    println!(
        "mean   {:.3}   {:>25.3}   {:>28.3}",
        sum_bayes / n,
        sum_un / n,
        sum_semi / n
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_percent_labels_come_close_to_bayes_and_beat_unsupervised_em() {
        let (bayes, un, semi) = compare(&truth().unwrap(), 0).unwrap();
        assert!(semi > bayes - 0.03, "semi {semi}, Bayes {bayes}");
        assert!(semi > un + 0.05, "semi {semi}, unsupervised {un}");
    }
}
