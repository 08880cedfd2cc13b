//! Online EM with `partial_fit`: data that arrive in batches, never all at hand.
//!
//! ```text
//! cargo run --release --example online_em
//! ```
//!
//! A sensor stream of 2-D readings from three regimes arrives in 200 batches of 1,000 rows.
//! A Gaussian mixture started from the first batch is updated after every batch
//! (`OnlineEm::partial_fit`) and scored on a held-out set as it goes; at the end it is compared
//! with batch EM on all 200,000 rows, which needs them all in memory and many passes. The same
//! `OnlineEm` takes any bundled model: here also a Poisson hidden Markov model over count
//! sequences arriving ten at a time.

use em::core::online::OnlineEm;
use em::core::{Em, EmError};
use em::gmm::{Covariances, GaussianMixture};
use em::hmm::Hmm;
use em::mixture::Poisson;
use nalgebra::{DMatrix, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn main() -> Result<(), EmError> {
    let truth = GaussianMixture::new(
        dvector![0.5, 0.3, 0.2],
        dmatrix![0.0, 0.0; 4.0, 1.0; 1.0, 5.0],
        Covariances::Full(vec![
            dmatrix![1.0, 0.5; 0.5, 1.0],
            dmatrix![0.8, -0.3; -0.3, 0.6],
            dmatrix![1.5, 0.0; 0.0, 0.4],
        ]),
    )?;
    let mut rng = StdRng::seed_from_u64(2026);
    let (holdout, _) = truth.sample(20_000, &mut rng);
    let batches: Vec<DMatrix<f64>> = (0..200).map(|_| truth.sample(1_000, &mut rng).0).collect();

    // Start from a batch fit of the first batch, then update after each batch.
    let start = GaussianMixture::builder(3).fit(&batches[0])?.model;
    let mut online = OnlineEm::new(start.clone());
    println!("batches  held-out mean log-likelihood");
    for (t, batch) in batches.iter().enumerate() {
        online.partial_fit(batch)?;
        if (t + 1) % 40 == 0 || t < 3 {
            println!("{:>7}  {:.5}", t + 1, online.model().score(&holdout)?);
        }
    }

    // Batch EM on everything, for comparison.
    let mut all = DMatrix::zeros(200_000, 2);
    for (t, batch) in batches.iter().enumerate() {
        all.rows_mut(t * 1_000, 1_000).copy_from(batch);
    }
    let mut batch_model = start;
    let report = Em::new().fit(&mut batch_model, &all)?;
    println!(
        "\nonline EM, one pass:            held-out {:.5}",
        online.model().score(&holdout)?
    );
    println!(
        "batch EM, {:>3} passes in memory: held-out {:.5}",
        report.e_steps,
        batch_model.score(&holdout)?
    );
    println!(
        "the truth:                       held-out {:.5}",
        truth.score(&holdout)?
    );

    // The same for a hidden Markov model: Poisson counts with two regimes, sequences of 500
    // steps arriving ten at a time.
    let emission = |rates: [f64; 2]| -> Result<Vec<Poisson>, EmError> {
        rates.iter().map(|&r| Poisson::new(r)).collect()
    };
    let hmm_truth = Hmm::new(
        dvector![0.5, 0.5],
        dmatrix![0.95, 0.05; 0.1, 0.9],
        emission([2.0, 9.0])?,
    )?;
    let mut hmm = OnlineEm::new(Hmm::new(
        dvector![0.5, 0.5],
        dmatrix![0.8, 0.2; 0.2, 0.8],
        emission([4.0, 6.0])?,
    )?);
    for _ in 0..30 {
        let sequences: Vec<Vec<u64>> = (0..10).map(|_| hmm_truth.sample(500, &mut rng).0).collect();
        hmm.partial_fit(&sequences[..])?;
    }
    let fitted = hmm.model();
    println!(
        "\nPoisson HMM after 30 batches of 10 sequences: rates {:.3} and {:.3} (truth 2 and 9), \
         P(stay) {:.3} and {:.3} (truth 0.95 and 0.9)",
        fitted.emission()[0].lambda(),
        fitted.emission()[1].lambda(),
        fitted.transitions()[(0, 0)],
        fitted.transitions()[(1, 1)],
    );
    Ok(())
}
