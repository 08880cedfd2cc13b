//! Semi-supervised EM: 1 % labelled rows against unsupervised EM on elongated clusters.
use gmm::GaussianMixture;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

fn data(n_per: usize, gap: f64, sx: f64, sy: f64, seed: u64) -> (DMatrix<f64>, Vec<usize>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let nx = Normal::new(0.0, sx).unwrap();
    let ny = Normal::new(0.0, sy).unwrap();
    let n = 3 * n_per;
    let mut x = DMatrix::zeros(n, 2);
    let mut z = vec![0; n];
    for i in 0..n {
        let k = i % 3;
        z[i] = k;
        x[(i, 0)] = nx.sample(&mut rng);
        x[(i, 1)] = gap * k as f64 + ny.sample(&mut rng);
    }
    (x, z)
}

fn accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    perms
        .iter()
        .map(|p| {
            pred.iter()
                .zip(truth)
                .filter(|(a, b)| p[**a] == **b)
                .count()
        })
        .max()
        .unwrap() as f64
        / truth.len() as f64
}

fn main() -> Result<(), em_core::EmError> {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let (gap, sx, sy) = (args[0], args[1], args[2]);
    for seed in 0..6 {
        let (x, z) = data(1000, gap, sx, sy, seed);
        let labels: Vec<Option<usize>> = (0..z.len())
            .map(|i| if i % 100 == 0 { Some(z[i]) } else { None })
            .collect();
        let b = GaussianMixture::builder(3).seed(seed);
        let un = b.fit(&x)?;
        let semi = b.fit_labelled(&x, &labels)?;
        let au = accuracy(&un.model.predict(&x)?, &z);
        let pred = semi.model.predict(&x)?;
        let as_ = pred.iter().zip(&z).filter(|(a, b)| a == b).count() as f64 / z.len() as f64;
        println!(
            "seed {seed}: unsup {au:.3} semi {as_:.3}  ll un {:.1} semi-model {:.1}",
            un.model.log_likelihood_total(&x)?,
            semi.model.log_likelihood_total(&x)?
        );
    }
    Ok(())
}
