//! Fitting: the builder ([`FactorMixtureBuilder`]) and the start — k-means, then per
//! component the PCA of its rows.

use em_core::{Acceleration, Em, EmError, Fitted, Observer, Silent, StdRng, Stopping};
use em_family::gaussian::CheckedData;
use em_family::kmeans::KMeans;
use nalgebra::{DMatrix, DVector};

use crate::analyser::{FactorAnalyser, check_factors};
use crate::family::{FactorFamily, NoiseStructure, check_matrix, check_noise_floor};
use crate::model::FactorMixture;
use crate::pca::{Pca, pca};

/// Options of a fit of a [`FactorMixture`]; build with [`FactorMixture::builder`].
///
/// ```
/// use em_factor::{FactorMixture, NoiseStructure};
/// use nalgebra::DMatrix;
/// use rand::SeedableRng;
///
/// // Two clusters in 6 dimensions, each spread along one direction.
/// let mut rng = em_core::StdRng::seed_from_u64(5);
/// let truth = {
///     use em_factor::FactorAnalyser;
///     use nalgebra::{dvector, DVector};
///     let a = FactorAnalyser::new(DVector::zeros(6), DMatrix::from_column_slice(6, 1, &[3.0, 2.0, 1.0, 0.0, 0.0, 0.0]), DVector::from_element(6, 0.2))?;
///     let b = FactorAnalyser::new(DVector::from_element(6, 8.0), DMatrix::from_column_slice(6, 1, &[0.0, 0.0, 0.0, 1.0, 2.0, 3.0]), DVector::from_element(6, 0.2))?;
///     FactorMixture::new(vec![0.4, 0.6], vec![a, b], NoiseStructure::Diagonal)?
/// };
/// let (x, labels) = truth.sample(600, &mut rng);
/// let fit = FactorMixture::builder(2, 1).seed(1).n_init(2).fit(&x)?;
/// assert!(fit.report.converged);
/// let model = &fit.model;
/// let predicted = model.predict(&x)?;
/// let agree = predicted.iter().zip(&labels).filter(|(a, b)| a == b).count();
/// assert!(agree == 600 || agree == 0); // the same partition, up to the labels' order
/// assert_eq!(model.loadings(0).map(|w| w.shape()), Some((6, 1)));
/// assert!(model.bic(&x)?.is_finite());
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FactorMixtureBuilder {
    n_components: usize,
    n_factors: usize,
    noise: NoiseStructure,
    noise_floor: f64,
    seed: u64,
    n_init: usize,
    max_iter: usize,
    stopping: Stopping,
    acceleration: Acceleration,
    threads: Option<usize>,
}

impl FactorMixture {
    /// A fit of K components with q factors each: diagonal noise per component, one start,
    /// seed 0, the driver's default stopping rule (parameters, 1e-7) and budget (10,000), and
    /// SQUAREM ([`Acceleration::Squarem`]): EM for factor analysis is slow (on the D = 500
    /// example, 1057 plain EM iterations against 55 E-steps of SQUAREM, to the same optimum).
    pub fn builder(n_components: usize, n_factors: usize) -> FactorMixtureBuilder {
        FactorMixtureBuilder {
            n_components,
            n_factors,
            noise: NoiseStructure::Diagonal,
            noise_floor: 0.0,
            seed: 0,
            n_init: 1,
            max_iter: em_core::DEFAULT_MAX_ITER,
            stopping: Stopping::DEFAULT,
            acceleration: Acceleration::Squarem,
            threads: None,
        }
    }
}

impl FactorMixtureBuilder {
    /// The noise structure (default [`NoiseStructure::Diagonal`]; `Isotropic` is MPPCA).
    #[must_use]
    pub fn noise(mut self, noise: NoiseStructure) -> Self {
        self.noise = noise;
        self
    }

    /// A floor on the noise variances (default 0: a collapse is an error;
    /// [`FactorFamily::with_noise_floor`]).
    #[must_use]
    pub fn noise_floor(mut self, floor: f64) -> Self {
        self.noise_floor = floor;
        self
    }

    /// The seed of the starts (k-means and the PCA's random subspaces).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Number of starts; the fit with the highest log-likelihood wins (default 1).
    #[must_use]
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Maximum number of M-steps per start.
    #[must_use]
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// The stopping rule and its tolerance ([`Stopping`]).
    #[must_use]
    pub fn stopping(mut self, stopping: Stopping) -> Self {
        self.stopping = stopping;
        self
    }

    /// The tolerance of the stopping rule in force.
    #[must_use]
    pub fn tol(mut self, tol: f64) -> Self {
        self.stopping = self.stopping.with_tol(tol);
        self
    }

    /// SQUAREM (default, [`Acceleration::Squarem`]) or plain EM ([`Acceleration::None`]).
    #[must_use]
    pub fn accelerate(mut self, acceleration: Acceleration) -> Self {
        self.acceleration = acceleration;
        self
    }

    /// Worker threads of the E-step (default: rayon's global pool).
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// The driver these options make.
    pub fn em(&self) -> Em<Acceleration> {
        let mut em = Em::new()
            .stopping(self.stopping)
            .max_iter(self.max_iter)
            .n_init(self.n_init)
            .seed(self.seed)
            .accelerate(self.acceleration);
        if let Some(t) = self.threads {
            em = em.threads(t);
        }
        em
    }

    /// Fits the rows of `x` (N × D).
    ///
    /// # Errors
    /// * [`EmError::EmptyData`], [`EmError::NonFinite`] (the row and column of the first NaN or
    ///   ±∞);
    /// * [`EmError::InvalidParameter`]: `n_components` = 0, `n_factors` outside 1 ≤ q < D,
    ///   `noise_floor` negative, a constant feature (`data`), invalid driver options;
    /// * [`EmError::TooFewObservations`] for N < K;
    /// * when every start fails, the first start's error (a collapsed noise variance is an
    ///   [`EmError::DegenerateComponent`] naming the component and the feature).
    pub fn fit(&self, x: &DMatrix<f64>) -> Result<Fitted<FactorMixture>, EmError> {
        self.fit_observed(x, &mut Silent)
    }

    /// [`fit`](Self::fit) with an observer of the iterations.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_observed(
        &self,
        x: &DMatrix<f64>,
        observer: &mut dyn Observer,
    ) -> Result<Fitted<FactorMixture>, EmError> {
        self.validate(x)?;
        let em = self
            .em()
            .chunk_size(chunk_rows(x.ncols()))
            .observer(observer);
        em.validate()?;
        // The data were checked once, above.
        let init = |data: &DMatrix<f64>, rng: &mut StdRng| self.start(data, rng);
        em.fit_restarts(&init, x)
    }

    /// Checks options against the data, and the data.
    fn validate(&self, x: &DMatrix<f64>) -> Result<(), EmError> {
        if self.n_components == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_components",
                reason: "at least one component is needed".into(),
            });
        }
        check_noise_floor(self.noise_floor)?;
        if x.ncols() == 0 {
            return Err(EmError::InvalidParameter {
                name: "data",
                reason: "the data have no columns".into(),
            });
        }
        check_matrix(x, x.ncols())?;
        check_factors(self.n_factors, x.ncols())?;
        if x.nrows() < self.n_components {
            return Err(EmError::TooFewObservations {
                n_obs: x.nrows(),
                n_components: self.n_components,
            });
        }
        if self.noise_floor == 0.0 {
            for j in 0..x.ncols() {
                let col = x.column(j);
                let first = col[0];
                if col.iter().all(|&v| v == first) {
                    return Err(EmError::InvalidParameter {
                        name: "data",
                        reason: format!(
                            "feature {j} is constant ({first}): its noise variance would be 0; \
                             remove it or set a noise floor"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The start of one restart: k-means (k-means++ seeding, Lloyd), then per cluster the
    /// PCA of its rows (randomised subspace iteration, no D × D matrix): W = U_q (Λ_q −
    /// σ² I)^{1/2} with σ² the mean of the other eigenvalues, ψ_d the residual variance
    /// (kept ≥ 1 % of the cluster's variance of feature d and ≥ 0.1 % of the data's). A
    /// cluster of at most q + 1 rows takes the PCA of all the data about its own mean.
    ///
    /// # Errors
    /// The data and option errors of [`fit`](Self::fit), those of k-means and of the
    /// parameters built.
    pub fn initialize(&self, x: &DMatrix<f64>, rng: &mut StdRng) -> Result<FactorMixture, EmError> {
        self.validate(x)?;
        self.start(x, rng)
    }

    /// [`initialize`](Self::initialize) on validated data.
    fn start(&self, x: &DMatrix<f64>, rng: &mut StdRng) -> Result<FactorMixture, EmError> {
        let (n, d) = x.shape();
        let (k_count, q) = (self.n_components, self.n_factors);
        let labels = if k_count == 1 {
            vec![0; n]
        } else {
            KMeans::new(k_count)
                .fit_checked(CheckedData::new(x, Some(d))?, rng)?
                .labels
        };
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); k_count];
        for (i, &g) in labels.iter().enumerate() {
            if let Some(group) = groups.get_mut(g) {
                group.push(i);
            }
        }
        let all: Vec<usize> = (0..n).collect();
        let global = pca(x, &all, q, rng);
        let global_var: Vec<f64> = column_variances(x, &all, &global.mean);
        let mut components = Vec::with_capacity(k_count);
        let mut weights = Vec::with_capacity(k_count);
        for rows in &groups {
            let own;
            let (p, centre): (&Pca, DVector<f64>) = if rows.len() > q + 1 {
                own = pca(x, rows, q, rng);
                (&own, own.mean.clone())
            } else {
                let mut m = DVector::zeros(d);
                for &i in rows {
                    m += x.row(i).transpose();
                }
                if rows.is_empty() {
                    (&global, global.mean.clone())
                } else {
                    (&global, m / rows.len() as f64)
                }
            };
            let var = if rows.len() > q + 1 {
                column_variances(x, rows, &centre)
            } else {
                global_var.clone()
            };
            let rest = (p.trace - p.values.iter().sum::<f64>()).max(0.0) / (d - q) as f64;
            let mean_var = global_var.iter().sum::<f64>() / d as f64;
            let sigma2 = rest.max(1e-3 * mean_var).max(f64::MIN_POSITIVE);
            let mut w = p.vectors.clone();
            for (j, lambda) in p.values.iter().enumerate() {
                let scale = (lambda - sigma2).max(1e-2 * sigma2).sqrt();
                w.column_mut(j).scale_mut(scale);
            }
            let noise = match self.noise {
                NoiseStructure::Isotropic => DVector::from_element(d, sigma2),
                _ => DVector::from_fn(d, |j, _| {
                    let resid = var[j] - w.row(j).norm_squared();
                    resid
                        .max(1e-2 * var[j])
                        .max(1e-3 * global_var[j])
                        .max(self.noise_floor)
                        .max(f64::MIN_POSITIVE)
                }),
            };
            weights.push((rows.len() as f64 + 1.0) / (n + k_count) as f64);
            components.push((centre, w, noise));
        }
        if self.noise == NoiseStructure::SharedDiagonal {
            let mut shared = DVector::zeros(d);
            for ((_, _, psi), wk) in components.iter().zip(&weights) {
                shared += psi * *wk;
            }
            for c in components.iter_mut() {
                c.2 = shared.clone();
            }
        }
        let analysers = components
            .into_iter()
            .enumerate()
            .map(|(k, (m, w, psi))| FactorAnalyser::new_in_component(m, w, psi, k))
            .collect::<Result<Vec<_>, _>>()?;
        let family =
            FactorFamily::new(analysers, self.noise)?.with_noise_floor(self.noise_floor)?;
        FactorMixture::from_family(weights, family)
    }
}

/// Rows per E-step batch of a fit: about 256 Ki values per batch (between 256 and the
/// driver's default of 4096 rows), so that wide data split into several batches, which the
/// E-step runs in parallel.
fn chunk_rows(d: usize) -> usize {
    (262_144 / d.max(1)).clamp(256, em_core::DEFAULT_CHUNK_SIZE)
}

/// The (divisor n) variance of every column over `rows` about `centre`.
fn column_variances(x: &DMatrix<f64>, rows: &[usize], centre: &DVector<f64>) -> Vec<f64> {
    let n = rows.len().max(1) as f64;
    (0..x.ncols())
        .map(|j| {
            rows.iter()
                .map(|&i| (x[(i, j)] - centre[j]).powi(2))
                .sum::<f64>()
                / n
        })
        .collect()
}
