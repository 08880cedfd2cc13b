//! TEMPORARY STUB (replaced by the real module).
use em_core::EmError;
use nalgebra::DMatrix;
use rand::RngExt;
pub fn kmeans_plus_plus<R: rand::Rng + ?Sized>(
    data: &DMatrix<f64>,
    n_clusters: usize,
    rng: &mut R,
) -> Result<DMatrix<f64>, EmError> {
    let idx: Vec<usize> = (0..n_clusters)
        .map(|_| rng.random_range(0..data.nrows()))
        .collect();
    Ok(DMatrix::from_fn(n_clusters, data.ncols(), |c, j| {
        data[(idx[c], j)]
    }))
}
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    pub n_clusters: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub n_init: usize,
}
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    pub centres: DMatrix<f64>,
    pub labels: Vec<usize>,
    pub inertia: f64,
    pub n_iter: usize,
    pub converged: bool,
}
impl KMeans {
    pub fn new(n_clusters: usize) -> Self {
        KMeans {
            n_clusters,
            max_iter: 300,
            tol: 1e-4,
            n_init: 1,
        }
    }
    pub fn n_init(mut self, n: usize) -> Self {
        self.n_init = n;
        self
    }
    pub fn fit<R: rand::Rng + ?Sized>(
        &self,
        data: &DMatrix<f64>,
        rng: &mut R,
    ) -> Result<KMeansFit, EmError> {
        let c = kmeans_plus_plus(data, self.n_clusters, rng)?;
        let labels = (0..data.nrows())
            .map(|i| {
                let mut b = (0, f64::INFINITY);
                for k in 0..c.nrows() {
                    let d2: f64 = (0..data.ncols())
                        .map(|j| (data[(i, j)] - c[(k, j)]).powi(2))
                        .sum();
                    if d2 < b.1 {
                        b = (k, d2);
                    }
                }
                b.0
            })
            .collect();
        Ok(KMeansFit {
            centres: c,
            labels,
            inertia: 0.0,
            n_iter: 0,
            converged: true,
        })
    }
}
