//! Online EM (`OnlineEm::partial_fit`) for **every bundled model**: the Gaussian mixture in
//! each covariance structure (and with missing values), the two-component model, the Student-t
//! mixture, mixtures of each one-component family, the zero-inflated Poisson model, hidden
//! Markov models with Poisson, categorical and Gaussian emissions, mixtures of Gaussian and
//! Poisson regressions, the mixture of factor analysers, and the variational Bayes Gaussian
//! mixture (its objective is the ELBO; the comparison is of Σ log Σ_k exp ρ_nk per row).
//!
//! For each, data are drawn from a known model, and from one start (fitted to a small head of
//! the data, or the truth disturbed) two passes of online EM in mini-batches are compared with
//! batch EM run to convergence: online EM must close most of the start's gap to batch EM's
//! mean log-likelihood. That the file compiles is the proof that every model has
//! `partial_fit`; the comparison is the proof that it does what online EM should.

use std::borrow::Borrow;
use std::ops::Range;

use em::core::online::OnlineEm;
use em::core::{Em, LatentModel, ScalableStatistics, chunked_log_likelihood};
use em::factor::FactorMixture;
use em::gmm::{
    CovarianceType, Covariances, GaussianMixture, MissingValues, StudentMixture,
    TwoComponentMixture, ZeroInflatedPoisson,
};
use em::hmm::{Categorical, Hmm};
use em::mixture::{Bernoulli, Exponential, Gaussian, Geometric, Mixture, Poisson, ZeroInflated};
use em::regression::{
    GaussianRegressionMixture, GaussianRegressions, PoissonRegressionMixture, PoissonRegressions,
    RegressionData,
};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal, Poisson as PoissonDistribution};

/// Mean log-likelihoods of the start, after online EM, and after batch EM.
#[derive(Debug)]
struct Outcome {
    start: f64,
    online: f64,
    batch: f64,
}

impl Outcome {
    /// Online EM closed at least `share` of the start's gap to batch EM, and ends within
    /// `slack` of it.
    fn assert_close(&self, share: f64, slack: f64) {
        let gap = self.batch - self.start;
        assert!(
            self.batch - self.online <= (1.0 - share) * gap.max(0.0) + slack,
            "online EM did not close {share} of the gap: {self:?}"
        );
        assert!(self.online.is_finite(), "{self:?}");
    }
}

/// Two passes of online EM over mini-batches of `batch` units (made by `slice`), and batch EM
/// to convergence, both from `start`.
fn compare<M, D>(
    start: M,
    data: &M::Data,
    slice: impl Fn(Range<usize>) -> D,
    batch: usize,
) -> Outcome
where
    M: LatentModel + Clone,
    M::Stats: ScalableStatistics + Clone,
    D: Borrow<M::Data>,
{
    let n = em::core::Dataset::n_obs(data);
    let per_obs = start.n_observations(data) as f64;
    let mean_ll = |m: &M| chunked_log_likelihood(m, data, 4096).unwrap() / per_obs;
    let mut online = OnlineEm::new(start.clone());
    for _ in 0..2 {
        for rows in em::core::batches(n, batch).unwrap() {
            online.partial_fit(slice(rows).borrow()).unwrap();
        }
    }
    let mut batch_model = start.clone();
    Em::new()
        .max_iter(1_000)
        .fit(&mut batch_model, data)
        .unwrap();
    Outcome {
        start: mean_ll(&start),
        online: mean_ll(online.model()),
        batch: mean_ll(&batch_model),
    }
}

fn rows(x: &DMatrix<f64>) -> impl Fn(Range<usize>) -> DMatrix<f64> + '_ {
    |r: Range<usize>| x.rows(r.start, r.len()).into_owned()
}

fn gaussian_truth(kind: CovarianceType) -> GaussianMixture {
    let means = dmatrix![-2.0, 0.0; 2.0, 0.5; 0.0, 3.0];
    let weights = dvector![0.3, 0.3, 0.4];
    let covariances = match kind {
        CovarianceType::Full => Covariances::Full(vec![
            dmatrix![1.0, 0.4; 0.4, 0.8],
            dmatrix![0.7, -0.2; -0.2, 1.2],
            dmatrix![1.5, 0.0; 0.0, 0.5],
        ]),
        CovarianceType::Diag => Covariances::Diag(dmatrix![1.0, 0.5; 0.6, 1.2; 1.4, 0.7]),
        CovarianceType::Spherical => Covariances::Spherical(dvector![0.8, 1.0, 1.3]),
        CovarianceType::Tied => Covariances::Tied(dmatrix![1.0, 0.3; 0.3, 0.9]),
    };
    GaussianMixture::new(weights, means, covariances).unwrap()
}

fn gaussian_case(kind: CovarianceType, missing: bool) -> Outcome {
    let mut rng = StdRng::seed_from_u64(11);
    let (mut x, _) = gaussian_truth(kind).sample(20_000, &mut rng);
    if missing {
        for i in 0..x.nrows() {
            if rng.random_range(0.0..1.0) < 0.2 {
                x[(i, rng.random_range(0..2))] = f64::NAN;
            }
        }
    }
    let head = x.rows(0, 300).into_owned();
    let mut builder = GaussianMixture::builder(3).covariance_type(kind);
    if missing {
        builder = builder.missing_values(MissingValues::Model);
    }
    let start = builder.fit(&head).unwrap().model;
    compare(start, &x, rows(&x), 1_000)
}

#[test]
fn gaussian_mixture_full() {
    gaussian_case(CovarianceType::Full, false).assert_close(0.85, 1e-3);
}

#[test]
fn gaussian_mixture_diag() {
    gaussian_case(CovarianceType::Diag, false).assert_close(0.85, 1e-3);
}

#[test]
fn gaussian_mixture_spherical() {
    gaussian_case(CovarianceType::Spherical, false).assert_close(0.85, 1e-3);
}

#[test]
fn gaussian_mixture_tied() {
    gaussian_case(CovarianceType::Tied, false).assert_close(0.85, 1e-3);
}

#[test]
fn gaussian_mixture_with_missing_values() {
    gaussian_case(CovarianceType::Full, true).assert_close(0.85, 1e-3);
}

#[test]
fn two_component_mixture() {
    let truth = GaussianMixture::new(
        dvector![0.35, 0.65],
        dmatrix![-1.5, 0.0; 1.5, 1.0],
        Covariances::Full(vec![
            dmatrix![1.0, 0.3; 0.3, 1.0],
            dmatrix![0.6, 0.0; 0.0, 1.4],
        ]),
    )
    .unwrap();
    let (x, _) = truth.sample(20_000, &mut StdRng::seed_from_u64(3));
    let head = x.rows(0, 300).into_owned();
    let start = GaussianMixture::builder(2).fit(&head).unwrap().model;
    let start = TwoComponentMixture::try_from(start).unwrap();
    compare(start, &x, rows(&x), 1_000).assert_close(0.85, 1e-3);
}

#[test]
fn student_t_mixture() {
    let (x, _) = gaussian_truth(CovarianceType::Full).sample(20_000, &mut StdRng::seed_from_u64(5));
    let head = x.rows(0, 300).into_owned();
    let start: StudentMixture = StudentMixture::builder(3).fit(&head).unwrap().model;
    compare(start, &x, rows(&x), 1_000).assert_close(0.85, 1e-3);
}

/// A mixture of one-component families over a slice of observations: data from `truth`,
/// online and batch EM from `start`.
fn family_case<T, C>(truth: Mixture<Vec<C>>, start: Mixture<Vec<C>>) -> Outcome
where
    T: Copy + Send + Sync + std::fmt::Debug,
    C: em::family::Component<Data = [T]>,
    C::Stats: ScalableStatistics + Clone,
    em::family::OwnedData<C>: Borrow<[T]>,
{
    let (data, _) = truth.sample(20_000, &mut StdRng::seed_from_u64(9));
    let data: &[T] = data.borrow();
    compare(start, data, |r| data[r].to_vec(), 1_000)
}

#[test]
fn poisson_mixture() {
    let make = |w: Vec<f64>, l: [f64; 2]| {
        Mixture::new(w, l.iter().map(|&l| Poisson::new(l).unwrap()).collect()).unwrap()
    };
    family_case(
        make(vec![0.4, 0.6], [2.0, 9.0]),
        make(vec![0.5, 0.5], [4.0, 6.0]),
    )
    .assert_close(0.85, 1e-3);
}

#[test]
fn exponential_mixture() {
    let make = |w: Vec<f64>, r: [f64; 2]| {
        Mixture::new(w, r.iter().map(|&r| Exponential::new(r).unwrap()).collect()).unwrap()
    };
    family_case(
        make(vec![0.3, 0.7], [0.2, 3.0]),
        make(vec![0.5, 0.5], [0.5, 1.5]),
    )
    .assert_close(0.85, 1e-3);
}

#[test]
fn gaussian_mixture_in_one_dimension() {
    let make = |w: Vec<f64>, p: [(f64, f64); 2]| {
        Mixture::new(
            w,
            p.iter()
                .map(|&(m, s)| Gaussian::new(m, s).unwrap())
                .collect(),
        )
        .unwrap()
    };
    family_case(
        make(vec![0.4, 0.6], [(-2.0, 1.0), (2.0, 0.7)]),
        make(vec![0.5, 0.5], [(-1.0, 1.5), (1.0, 1.5)]),
    )
    .assert_close(0.85, 1e-3);
}

#[test]
fn geometric_mixture() {
    let make = |w: Vec<f64>, p: [f64; 2]| {
        Mixture::new(w, p.iter().map(|&p| Geometric::new(p).unwrap()).collect()).unwrap()
    };
    family_case(
        make(vec![0.5, 0.5], [0.7, 0.1]),
        make(vec![0.5, 0.5], [0.5, 0.2]),
    )
    .assert_close(0.85, 1e-3);
}

#[test]
fn zero_inflated_poisson_mixture() {
    let make = |w: Vec<f64>, p: [(f64, f64); 2]| {
        Mixture::new(
            w,
            p.iter()
                .map(|&(pi, l)| ZeroInflated::new(pi, Poisson::new(l).unwrap()).unwrap())
                .collect(),
        )
        .unwrap()
    };
    family_case(
        make(vec![0.5, 0.5], [(0.3, 2.0), (0.1, 10.0)]),
        make(vec![0.5, 0.5], [(0.2, 4.0), (0.2, 7.0)]),
    )
    .assert_close(0.85, 1e-3);
}

#[test]
fn bernoulli_mixture() {
    let make = |w: Vec<f64>, p: [[f64; 3]; 2]| {
        Mixture::new(
            w,
            p.iter()
                .map(|p| Bernoulli::new(p.to_vec()).unwrap())
                .collect(),
        )
        .unwrap()
    };
    let truth = make(vec![0.4, 0.6], [[0.9, 0.8, 0.1], [0.1, 0.3, 0.8]]);
    let start = make(vec![0.5, 0.5], [[0.6, 0.6, 0.4], [0.4, 0.4, 0.6]]);
    let (data, _) = truth.sample(20_000, &mut StdRng::seed_from_u64(9));
    let slice = |r: Range<usize>| {
        let rows: Vec<Vec<bool>> = r.map(|i| data.row(i).unwrap().to_vec()).collect();
        em::family::BinaryMatrix::from_rows(&rows).unwrap()
    };
    compare(start, &data, slice, 1_000).assert_close(0.85, 1e-3);
}

#[test]
fn zero_inflated_poisson_model() {
    let truth = ZeroInflatedPoisson::new(0.3, 4.0).unwrap();
    let (y, _) = truth.sample(20_000, &mut StdRng::seed_from_u64(2));
    let start = ZeroInflatedPoisson::new(0.5, 2.0).unwrap();
    compare(start, &y[..], |r| y[r].to_vec(), 1_000).assert_close(0.85, 1e-3);
}

fn chain() -> (DVector<f64>, DMatrix<f64>) {
    (dvector![0.6, 0.4], dmatrix![0.9, 0.1; 0.2, 0.8])
}

fn start_chain() -> (DVector<f64>, DMatrix<f64>) {
    (dvector![0.5, 0.5], dmatrix![0.7, 0.3; 0.3, 0.7])
}

/// An HMM case: 100 sequences of 200 steps from `truth`, mini-batches of 10 sequences.
fn hmm_case<F: em::family::Family>(truth: Hmm<F>, start: Hmm<F>) -> Outcome
where
    F::Stats: ScalableStatistics,
{
    let mut rng = StdRng::seed_from_u64(4);
    let sequences: Vec<F::Owned> = (0..100).map(|_| truth.sample(200, &mut rng).0).collect();
    compare(start, &sequences[..], |r| sequences[r].to_vec(), 10)
}

#[test]
fn poisson_hmm() {
    let emission = |l: [f64; 2]| {
        l.iter()
            .map(|&l| Poisson::new(l).unwrap())
            .collect::<Vec<_>>()
    };
    let (s, t) = chain();
    let truth = Hmm::new(s, t, emission([1.0, 8.0])).unwrap();
    let (s, t) = start_chain();
    let start = Hmm::new(s, t, emission([3.0, 5.0])).unwrap();
    hmm_case(truth, start).assert_close(0.85, 1e-3);
}

#[test]
fn categorical_hmm() {
    let (s, t) = chain();
    let truth = Hmm::new(
        s,
        t,
        Categorical::new(dmatrix![0.7, 0.2, 0.1; 0.1, 0.3, 0.6]).unwrap(),
    )
    .unwrap();
    let (s, t) = start_chain();
    let start = Hmm::new(
        s,
        t,
        Categorical::new(dmatrix![0.5, 0.3, 0.2; 0.2, 0.3, 0.5]).unwrap(),
    )
    .unwrap();
    hmm_case(truth, start).assert_close(0.85, 1e-3);
}

#[test]
fn gaussian_hmm() {
    let emission = |m: DMatrix<f64>| {
        em::hmm::Gaussian::new(
            m,
            Covariances::Full(vec![
                dmatrix![1.0, 0.2; 0.2, 1.0],
                dmatrix![0.8, 0.0; 0.0, 1.3],
            ]),
        )
        .unwrap()
    };
    let (s, t) = chain();
    let truth = Hmm::new(s, t, emission(dmatrix![-2.0, 0.0; 2.0, 1.0])).unwrap();
    let (s, t) = start_chain();
    let start = Hmm::new(s, t, emission(dmatrix![-1.0, 0.5; 1.0, 0.5])).unwrap();
    hmm_case(truth, start).assert_close(0.85, 1e-3);
}

/// Predictors (intercept, x ~ U(−2, 2)) and each row's true component (0 or 1, 40 / 60 %).
fn regression_design(rng: &mut StdRng, n: usize) -> (DMatrix<f64>, Vec<usize>) {
    let x = DMatrix::from_fn(n, 1, |_, _| rng.random_range(-2.0..2.0));
    let z = (0..n)
        .map(|_| usize::from(rng.random_range(0.0..1.0) < 0.6))
        .collect();
    (x, z)
}

fn regression_rows(data: &RegressionData) -> impl Fn(Range<usize>) -> RegressionData + '_ {
    |r: Range<usize>| {
        RegressionData::new(
            data.x().rows(r.start, r.len()).into_owned(),
            data.y()[r].to_vec(),
        )
        .unwrap()
    }
}

#[test]
fn gaussian_regression_mixture() {
    let mut rng = StdRng::seed_from_u64(6);
    let (x, z) = regression_design(&mut rng, 20_000);
    let beta = [[1.0, 2.0], [-1.0, -1.5]];
    let noise = Normal::new(0.0, 0.5).unwrap();
    let y = (0..x.nrows())
        .map(|i| beta[z[i]][0] + beta[z[i]][1] * x[(i, 0)] + noise.sample(&mut rng))
        .collect();
    let data = RegressionData::with_intercept(&x, y).unwrap();
    let family = GaussianRegressions::new(dmatrix![0.5, 1.0; -0.5, -0.5], vec![1.0, 1.0]).unwrap();
    let start = GaussianRegressionMixture::new(vec![0.5, 0.5], family).unwrap();
    compare(start, &data, regression_rows(&data), 1_000).assert_close(0.85, 1e-3);
}

#[test]
fn poisson_regression_mixture() {
    let mut rng = StdRng::seed_from_u64(8);
    let (x, z) = regression_design(&mut rng, 10_000);
    let beta = [[0.5, 0.6], [2.0, -0.4]];
    let y = (0..x.nrows())
        .map(|i| {
            let rate = (beta[z[i]][0] + beta[z[i]][1] * x[(i, 0)]).exp();
            PoissonDistribution::new(rate).unwrap().sample(&mut rng)
        })
        .collect();
    let data = RegressionData::with_intercept(&x, y).unwrap();
    let family = PoissonRegressions::new(dmatrix![1.0, 0.3; 1.5, 0.0]).unwrap();
    let start = PoissonRegressionMixture::new(vec![0.5, 0.5], family).unwrap();
    compare(start, &data, regression_rows(&data), 1_000).assert_close(0.85, 1e-3);
}

#[test]
fn mixture_of_factor_analysers() {
    let mut rng = StdRng::seed_from_u64(10);
    // Two clusters in 4 dimensions, each spread along one direction (one factor) plus noise.
    let loadings = [dvector![1.0, 0.8, 0.0, 0.2], dvector![0.0, 0.3, 1.2, -0.6]];
    let centres = [dvector![-2.0, 0.0, 1.0, 0.0], dvector![2.0, 1.0, -1.0, 0.5]];
    let unit = Normal::new(0.0, 1.0).unwrap();
    let x = DMatrix::from_fn(20_000, 4, |_, _| 0.0);
    let mut x = x;
    for i in 0..x.nrows() {
        let k = usize::from(rng.random_range(0.0..1.0) < 0.5);
        let f = unit.sample(&mut rng);
        for j in 0..4 {
            x[(i, j)] = centres[k][j] + loadings[k][j] * f + 0.3 * unit.sample(&mut rng);
        }
    }
    let head = x.rows(0, 300).into_owned();
    let start: FactorMixture = FactorMixture::builder(2, 1).fit(&head).unwrap().model;
    compare(start, &x, rows(&x), 1_000).assert_close(0.85, 1e-3);
}

#[test]
fn variational_bayes_gaussian_mixture() {
    use em::variational::BayesianGaussianMixture;
    let (x, _) =
        gaussian_truth(CovarianceType::Full).sample(20_000, &mut StdRng::seed_from_u64(12));
    let head = x.rows(0, 300).into_owned();
    let start = BayesianGaussianMixture::builder(3)
        .kmeans_start(&head, 1)
        .unwrap();
    compare(start, &x, rows(&x), 1_000).assert_close(0.85, 1e-3);
}
