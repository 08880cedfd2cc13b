//! The typed model: [`RegressionMixture`] over a family of regressions, and its starts
//! ([`Start`]).

use std::ops::Range;

use em_core::{
    EStep, Em, EmError, Fitted, Initializer, LatentModel, Observer, ParameterVector,
    ScaledParameters, StdRng, Step,
};
use em_family::kmeans::KMeans;
use mixture::Mixture;
use nalgebra::DMatrix;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::data::RegressionData;
use crate::family::RegressionFamily;
use crate::gaussian::GaussianRegressions;
use crate::linalg::positive;
use crate::poisson::PoissonRegressions;

/// The share of every observation's weight spread evenly over all components in the
/// partition starts ([`Strategy::RandomPartition`], [`Strategy::KMeans`]):
/// γ_ik = (1 − ε)·[row i in group k] + ε / K with ε = 0.1, so that no component starts with
/// fewer observations than design columns.
pub const PARTITION_SMOOTHING: f64 = 0.1;

/// A mixture of K regressions of one response family: p(y | x) = Σ_k π_k f_k(y | x).
///
/// The EM is the mixture engine's ([`mixture::Mixture`]) over the family `F`: E-step in log
/// space, π_k = N_k / N, then the family's M-step — weighted least squares for
/// [`GaussianRegressions`], Newton's method on K weighted Poisson GLMs for
/// [`PoissonRegressions`]. A value is always valid (weights positive summing to 1, finite
/// coefficients, positive variances).
///
/// ```
/// use em_core::Em;
/// use em_regression::{GaussianRegressionMixture, RegressionData, Start};
/// use nalgebra::DMatrix;
///
/// // Two lines: y = 1 + 2x and y = 8 − x, alternating rows.
/// let x: Vec<f64> = (0..200).map(|i| (i / 2) as f64 / 10.0).collect();
/// let y: Vec<f64> = x.iter().enumerate().map(|(i, &x)| {
///     let noise = 0.3 * ((i as f64) * 1.7).sin();
///     if i % 2 == 0 { 1.0 + 2.0 * x + noise } else { 8.0 - x + noise }
/// }).collect();
/// let data = RegressionData::with_intercept(&DMatrix::from_column_slice(200, 1, &x), y)?;
/// let fit = GaussianRegressionMixture::fit(&data, &Start::new(2), &Em::new().n_init(5).seed(1))?;
/// let model = fit.model;
/// let beta = model.coefficients(); // K × P: intercept and slope per component
/// let up = if beta[(0, 1)] > 0.0 { 0 } else { 1 };
/// assert!((beta[(up, 0)] - 1.0).abs() < 0.1 && (beta[(up, 1)] - 2.0).abs() < 0.05);
/// assert!((beta[(1 - up, 0)] - 8.0).abs() < 0.1 && (beta[(1 - up, 1)] + 1.0).abs() < 0.05);
/// assert!(model.sigmas().iter().all(|s| *s < 0.3));
/// println!("π = {:?}, BIC = {}", model.weights(), model.bic(&data)?);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionMixture<F> {
    mixture: Mixture<F>,
}

/// A mixture of Gaussian (identity-link) regressions, flexmix's `FLXMRglm(family = "gaussian")`.
pub type GaussianRegressionMixture = RegressionMixture<GaussianRegressions>;

/// A mixture of Poisson (log-link) regressions, flexmix's `FLXMRglm(family = "poisson")`.
pub type PoissonRegressionMixture = RegressionMixture<PoissonRegressions>;

impl<F: RegressionFamily> RegressionMixture<F> {
    /// A mixture with weights π (length K, positive, summing to 1) of the regressions in
    /// `family`.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `weights` as [`mixture::check_weights`] says.
    pub fn new(weights: Vec<f64>, family: F) -> Result<Self, EmError> {
        Ok(RegressionMixture {
            mixture: Mixture::from_family(weights, family)?,
        })
    }

    /// Fits a mixture to `data`: checks the data against the start (counts for a Poisson
    /// response), then runs [`Em::fit_restarts`] with `start` building each restart's
    /// starting model (seeded by the driver: restart i from (seed, i)), and returns the best
    /// run. `em` sets tolerance, iterations, restarts, seed, threads, SQUAREM.
    ///
    /// # Errors
    /// Invalid driver options, the data errors (a non-count response for Poisson, naming row
    /// and column), the start's errors, or — when every restart fails — the first restart's
    /// error (a singular design or collapsed variance names the component).
    ///
    /// ```
    /// use em_core::{Em, EmError};
    /// use em_regression::{PoissonRegressionMixture, RegressionData, Start, Strategy};
    /// use nalgebra::dmatrix;
    ///
    /// // A table as read from a CSV file: columns x and count; the response is column 1.
    /// let table = dmatrix![0.0, 1.0; 1.0, 2.0; 2.0, 4.0; 3.0, 9.0; 0.0, 30.0; 1.0, 22.0;
    ///                      2.0, 15.0; 3.0, 11.0; 0.5, 2.0; 2.5, 20.0; 1.5, 3.0; 1.5, 18.0];
    /// let data = RegressionData::from_table(&table, 1, true)?;
    /// let fit = PoissonRegressionMixture::fit(&data, &Start::new(2).strategy(Strategy::KMeans),
    ///     &Em::new().n_init(4).seed(2))?;
    /// assert_eq!(fit.model.coefficients().shape(), (2, 2)); // K × (intercept, x)
    ///
    /// // A count column that is not a count is named by row and column:
    /// let bad = RegressionData::from_table(&dmatrix![0.0, 1.5; 1.0, 2.0], 1, true)?;
    /// let err = PoissonRegressionMixture::fit(&bad, &Start::new(1), &Em::new()).unwrap_err();
    /// assert!(matches!(err, EmError::InvalidInput { row: 0, column: Some(1), .. }));
    /// # Ok::<(), EmError>(())
    /// ```
    pub fn fit<A, O>(
        data: &RegressionData,
        start: &Start<F>,
        em: &Em<A, O>,
    ) -> Result<Fitted<Self>, EmError>
    where
        A: Step<Self>,
        O: Observer,
    {
        em.validate()?;
        F::placeholder(
            &start.settings,
            start.n_components.max(1),
            data.n_predictors(),
        )
        .check_data(data)?;
        em.fit_restarts(start, data)
    }

    /// The underlying mixture (weights and family), for the mixture engine's API.
    pub fn as_mixture(&self) -> &Mixture<F> {
        &self.mixture
    }

    /// The family of the K regressions.
    pub fn family(&self) -> &F {
        self.mixture.family()
    }

    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.mixture.n_components()
    }

    /// Number of design columns P.
    pub fn n_predictors(&self) -> usize {
        self.mixture.n_features()
    }

    /// Mixing weights π (length K).
    pub fn weights(&self) -> &[f64] {
        self.mixture.weights()
    }

    /// The coefficients β as a K×P matrix (row k: component k, in the design's column order).
    pub fn coefficients(&self) -> &DMatrix<f64> {
        self.family().coefficients()
    }

    /// Number of free parameters: K − 1 weights plus the family's (K·P coefficients, and K
    /// variances for a Gaussian response) — flexmix's `df`.
    pub fn n_parameters(&self) -> usize {
        self.mixture.n_parameters()
    }

    /// The posterior p(z_i = k | x_i, y_i) as an N×K matrix.
    ///
    /// # Errors
    /// [`EmError::DimensionMismatch`] for data of another number of design columns; for a
    /// Poisson response, a non-count response (row and column named).
    ///
    /// ```
    /// use em_regression::{GaussianRegressions, RegressionData, RegressionMixture};
    /// use nalgebra::{DMatrix, dmatrix};
    ///
    /// // y = x and y = −x, unit variance, equal weights.
    /// let model = RegressionMixture::new(vec![0.5, 0.5],
    ///     GaussianRegressions::new(dmatrix![0.0, 1.0; 0.0, -1.0], vec![1.0, 1.0])?)?;
    /// let x = DMatrix::from_column_slice(3, 1, &[0.0, 3.0, 3.0]);
    /// let data = RegressionData::with_intercept(&x, vec![0.0, 3.0, -3.0])?;
    /// let post = model.posterior(&data)?;
    /// assert!((post[(0, 0)] - 0.5).abs() < 1e-12); // at x = 0 the lines meet
    /// assert!(post[(1, 0)] > 0.999 && post[(2, 1)] > 0.999);
    /// assert_eq!(model.predict(&data)?[1..], [0, 1]);
    /// let ll = model.log_likelihood(&data)?;
    /// assert_eq!(model.n_parameters(), 1 + 2 * 3); // K − 1 weights, K (P + 1)
    /// assert!((model.bic(&data)? - (-2.0 * ll + 7.0 * 3f64.ln())).abs() < 1e-9);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn posterior(&self, data: &RegressionData) -> Result<DMatrix<f64>, EmError> {
        self.mixture.predict_proba(data)
    }

    /// The most probable component of every observation (errors as
    /// [`posterior`](Self::posterior)).
    pub fn predict(&self, data: &RegressionData) -> Result<Vec<usize>, EmError> {
        self.mixture.predict(data)
    }

    /// log p(y_i | x_i) for every observation (errors as [`posterior`](Self::posterior)).
    pub fn score_samples(&self, data: &RegressionData) -> Result<Vec<f64>, EmError> {
        self.mixture.score_samples(data)
    }

    /// The log-likelihood Σ_i log p(y_i | x_i) (errors as [`posterior`](Self::posterior)).
    pub fn log_likelihood(&self, data: &RegressionData) -> Result<f64, EmError> {
        self.mixture.log_likelihood_total(data)
    }

    /// BIC = −2 log L + p log N (lower is better; flexmix's `BIC()`).
    pub fn bic(&self, data: &RegressionData) -> Result<f64, EmError> {
        self.mixture.bic(data)
    }

    /// AIC = −2 log L + 2p (lower is better; flexmix's `AIC()`).
    pub fn aic(&self, data: &RegressionData) -> Result<f64, EmError> {
        self.mixture.aic(data)
    }

    /// ICL = BIC − 2 Σ_i log max_k γ_ik (lower is better; the sign opposite to flexmix's
    /// `ICL()`, which is on the log-likelihood scale ×(−2) as well: equal values).
    pub fn icl(&self, data: &RegressionData) -> Result<f64, EmError> {
        self.mixture.icl(data)
    }

    /// The component means E[y_i | x_i, z_i = k] as an N×K matrix (xᵀβ_k, or exp(xᵀβ_k) for
    /// the log link).
    ///
    /// # Errors
    /// [`EmError::DimensionMismatch`] for data of another number of design columns.
    pub fn component_means(&self, data: &RegressionData) -> Result<DMatrix<f64>, EmError> {
        self.check_design(data.n_predictors())?;
        let n = data.n_obs();
        let mut out = DMatrix::zeros(n, self.n_components());
        let mut eta = vec![0.0; n];
        for k in 0..self.n_components() {
            data.linear_predictor(0..n, |j| self.coefficients()[(k, j)], &mut eta);
            for (i, e) in eta.iter().enumerate() {
                out[(i, k)] = self.family().mean(*e);
            }
        }
        Ok(out)
    }

    /// Draws a response for every row of the design `x` (N×P): z_i ~ π, y_i ~ f_{z_i}(· | x_i).
    /// Returns the data (x and the drawn y) and the components.
    ///
    /// # Errors
    /// [`EmError::DimensionMismatch`] when x has another number of columns,
    /// [`EmError::NonFinite`] for a non-finite entry of x, [`EmError::EmptyData`] for no rows.
    ///
    /// ```
    /// use em_regression::{PoissonRegressions, RegressionMixture};
    /// use nalgebra::{DMatrix, dmatrix};
    /// use rand::SeedableRng;
    /// let model = RegressionMixture::new(vec![0.5, 0.5], PoissonRegressions::new(dmatrix![0.0, 1.0; 2.0, 0.0])?)?;
    /// let x = DMatrix::from_fn(100, 2, |i, j| if j == 0 { 1.0 } else { (i % 5) as f64 });
    /// let (data, z) = model.sample(&x, &mut em_core::StdRng::seed_from_u64(3))?;
    /// assert_eq!((data.n_obs(), z.len()), (100, 100));
    /// assert!(data.y().iter().all(|y| *y >= 0.0 && y.fract() == 0.0));
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn sample<R: Rng + ?Sized>(
        &self,
        x: &DMatrix<f64>,
        rng: &mut R,
    ) -> Result<(RegressionData, Vec<usize>), EmError> {
        self.check_design(x.ncols())?;
        let checked = RegressionData::new(x.clone(), vec![0.0; x.nrows()])?;
        let n = x.nrows();
        let weights = self.weights();
        let mut y = Vec::with_capacity(n);
        let mut z = Vec::with_capacity(n);
        let mut eta = vec![0.0; 1];
        for i in 0..n {
            let u = rng.random::<f64>();
            let mut k = weights.len() - 1;
            let mut acc = 0.0;
            for (j, w) in weights.iter().enumerate() {
                acc += w;
                if u < acc {
                    k = j;
                    break;
                }
            }
            checked.linear_predictor(i..i + 1, |j| self.coefficients()[(k, j)], &mut eta);
            y.push(self.family().draw_response(k, eta[0], rng));
            z.push(k);
        }
        Ok((RegressionData::trusted(x.clone(), y), z))
    }

    fn check_design(&self, p: usize) -> Result<(), EmError> {
        if p == self.n_predictors() {
            Ok(())
        } else {
            Err(EmError::DimensionMismatch {
                expected: self.n_predictors(),
                found: p,
            })
        }
    }

    /// The M-step from the given posterior (N×K, rows normalised here), starting from the
    /// placeholder family with `settings`: flexmix's `cluster =` start.
    fn from_posterior(
        data: &RegressionData,
        posterior: &DMatrix<f64>,
        settings: &F::Settings,
    ) -> Result<Self, EmError> {
        let (n, k_count) = (data.n_obs(), posterior.ncols());
        if posterior.nrows() != n || k_count == 0 {
            return Err(EmError::InvalidParameter {
                name: "posterior",
                reason: format!(
                    "a {}×{} matrix, but the data have {n} rows (and at least one component is \
                     needed)",
                    posterior.nrows(),
                    k_count
                ),
            });
        }
        let family = F::placeholder(settings, k_count, data.n_predictors());
        family.check_data(data)?;
        // Component-major γ, each row normalised.
        let mut gamma = vec![0.0; n * k_count];
        for i in 0..n {
            let row = posterior.row(i);
            if let Some((k, v)) = row
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(EmError::InvalidParameter {
                    name: "posterior",
                    reason: format!("entry ({i}, {k}) is {v}; entries must be finite and ≥ 0"),
                });
            }
            let total: f64 = row.iter().sum();
            if !positive(total) {
                return Err(EmError::InvalidParameter {
                    name: "posterior",
                    reason: format!("row {i} sums to {total}; every row needs a positive entry"),
                });
            }
            for k in 0..k_count {
                gamma[k * n + i] = row[k] / total;
            }
        }
        let stats = family.accumulate(data, 0..n, &gamma, None, &mut Vec::new());
        Ok(RegressionMixture {
            mixture: Mixture::maximise(family, &stats)?,
        })
    }
}

impl GaussianRegressionMixture {
    /// The standard deviations σ_k.
    ///
    /// ```
    /// use em_regression::{GaussianRegressions, RegressionMixture};
    /// use nalgebra::dmatrix;
    /// let m = RegressionMixture::new(vec![1.0], GaussianRegressions::new(dmatrix![0.0, 1.0], vec![4.0])?)?;
    /// assert_eq!((m.sigmas(), m.variances()), (vec![2.0], &[4.0][..]));
    /// assert_eq!(m.coefficients()[(0, 1)], 1.0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn sigmas(&self) -> Vec<f64> {
        self.family().sigmas()
    }

    /// The variances σ_k².
    pub fn variances(&self) -> &[f64] {
        self.family().variances()
    }
}

/// How [`Start`] builds a starting model.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Strategy {
    /// Every row in a component drawn uniformly at random (flexmix's default start),
    /// softened by [`PARTITION_SMOOTHING`], then one M-step. Each restart draws its own.
    #[default]
    RandomPartition,
    /// k-means (k-means++ seeding, Lloyd) on the standardised non-constant design columns and
    /// the response (log(1 + y) for counts), softened by [`PARTITION_SMOOTHING`], then one
    /// M-step.
    KMeans,
    /// One M-step from the given posterior probabilities (an N×K matrix of non-negative
    /// values, each row normalised to sum 1): flexmix's `cluster =` argument. Every restart
    /// starts from it.
    Posterior(DMatrix<f64>),
}

/// An [`Initializer`] of [`RegressionMixture`]s: K components, a [`Strategy`] and the
/// family's settings.
///
/// ```
/// use em_core::Em;
/// use em_regression::{GaussianRegressionMixture, GaussianSettings, RegressionData, Start,
///     Strategy, VarianceEstimator};
/// use nalgebra::DMatrix;
///
/// let x = DMatrix::from_fn(40, 1, |i, _| i as f64);
/// let y: Vec<f64> = (0..40).map(|i| if i % 2 == 0 { i as f64 } else { 50.0 - i as f64 } + (i as f64).cos()).collect();
/// let data = RegressionData::with_intercept(&x, y)?;
/// // flexmix's start: given posterior probabilities (here: the parity of the row).
/// let posterior = DMatrix::from_fn(40, 2, |i, k| if i % 2 == k { 0.9 } else { 0.1 });
/// let start = Start::new(2)
///     .strategy(Strategy::Posterior(posterior))
///     .settings(GaussianSettings { variance: VarianceEstimator::Flexmix, ..Default::default() });
/// let fit = GaussianRegressionMixture::fit(&data, &start, &Em::new())?;
/// assert_eq!(fit.model.predict(&data)?[..4], [0, 1, 0, 1]);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Start<F: RegressionFamily> {
    n_components: usize,
    strategy: Strategy,
    settings: F::Settings,
}

impl<F: RegressionFamily> Start<F> {
    /// A start of `n_components` components by [`Strategy::RandomPartition`] with the
    /// family's default settings.
    pub fn new(n_components: usize) -> Self {
        Start {
            n_components,
            strategy: Strategy::RandomPartition,
            settings: F::Settings::default(),
        }
    }

    /// Sets the strategy.
    #[must_use]
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the family's settings (carried through every M-step of the fit).
    #[must_use]
    pub fn settings(mut self, settings: F::Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The number of components K.
    pub fn n_components(&self) -> usize {
        self.n_components
    }
}

impl<F: RegressionFamily> Initializer<RegressionMixture<F>> for Start<F> {
    /// # Errors
    /// [`EmError::InvalidParameter`] (`n_components`) for K = 0, or (`posterior`) for a
    /// posterior of the wrong shape or with negative, non-finite or all-zero rows;
    /// [`EmError::TooFewObservations`] for N < K; the data's errors; the M-step's errors for
    /// a degenerate start (a singular design names the component).
    fn initialize(
        &self,
        data: &RegressionData,
        rng: &mut StdRng,
    ) -> Result<RegressionMixture<F>, EmError> {
        let k_count = self.n_components;
        if k_count == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_components",
                reason: "at least one component is needed".into(),
            });
        }
        let n = data.n_obs();
        if n < k_count {
            return Err(EmError::TooFewObservations {
                n_obs: n,
                n_components: k_count,
            });
        }
        let groups: Vec<usize> = match &self.strategy {
            Strategy::Posterior(p) => {
                if p.ncols() != k_count {
                    return Err(EmError::InvalidParameter {
                        name: "posterior",
                        reason: format!(
                            "{} columns, but the start has {k_count} components",
                            p.ncols()
                        ),
                    });
                }
                return RegressionMixture::from_posterior(data, p, &self.settings);
            }
            Strategy::RandomPartition => (0..n).map(|_| rng.random_range(0..k_count)).collect(),
            Strategy::KMeans => kmeans_groups::<F>(data, k_count, rng)?,
        };
        let spread = PARTITION_SMOOTHING / k_count as f64;
        let posterior = DMatrix::from_fn(n, k_count, |i, k| {
            spread
                + if groups[i] == k {
                    1.0 - PARTITION_SMOOTHING
                } else {
                    0.0
                }
        });
        RegressionMixture::from_posterior(data, &posterior, &self.settings)
    }
}

/// k-means labels on the standardised non-constant design columns and the (transformed)
/// response.
fn kmeans_groups<F: RegressionFamily>(
    data: &RegressionData,
    k_count: usize,
    rng: &mut StdRng,
) -> Result<Vec<usize>, EmError> {
    let n = data.n_obs();
    let mut columns: Vec<Vec<f64>> = Vec::new();
    let x = data.x();
    for j in 0..x.ncols() {
        columns.push(x.column(j).iter().copied().collect());
    }
    columns.push(data.y().iter().map(|&y| F::kmeans_response(y)).collect());
    let standardised: Vec<Vec<f64>> = columns
        .into_iter()
        .filter_map(|c| {
            let mean = c.iter().sum::<f64>() / n as f64;
            let sd = (c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            (sd > 0.0 && sd.is_finite()).then(|| c.iter().map(|v| (v - mean) / sd).collect())
        })
        .collect();
    if standardised.is_empty() {
        // Every column constant: nothing to cluster on; any partition is as good.
        return Ok((0..n).map(|i| i % k_count).collect());
    }
    let m = DMatrix::from_fn(n, standardised.len(), |i, j| standardised[j][i]);
    Ok(KMeans::new(k_count).fit(&m, rng)?.labels)
}

impl<F: RegressionFamily> LatentModel for RegressionMixture<F> {
    type Data = RegressionData;
    type Stats = F::Stats;

    fn e_step(
        &self,
        data: &RegressionData,
        rows: Range<usize>,
    ) -> Result<EStep<F::Stats>, EmError> {
        self.mixture.e_step(data, rows)
    }

    fn m_step(&mut self, stats: &F::Stats) -> Result<(), EmError> {
        self.mixture.m_step(stats)
    }

    fn expected_complete_log_likelihood(&self, stats: &F::Stats) -> f64 {
        self.mixture.expected_complete_log_likelihood(stats)
    }

    fn n_observations(&self, data: &RegressionData) -> usize {
        data.n_obs()
    }

    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        self.mixture.scaled_parameters()
    }

    fn log_likelihood(&self, data: &RegressionData, rows: Range<usize>) -> Result<f64, EmError> {
        self.mixture.log_likelihood(data, rows)
    }
}

impl<F: RegressionFamily> ParameterVector for RegressionMixture<F> {
    /// Raw coordinates: the K weights, then per component β_k (and σ_k² for a Gaussian
    /// response).
    fn parameters(&self) -> Vec<f64> {
        let mut out = self.weights().to_vec();
        out.extend(self.family().parameters());
        out
    }

    /// Validated as [`RegressionMixture::new`] and the family's constructor validate (weights
    /// positive summing to 1, finite coefficients, variances above the floor and > 0).
    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        let k = self.n_components();
        if theta.len() < k {
            return Err(EmError::InvalidParameter {
                name: "theta",
                reason: format!("expected at least {k} values, got {}", theta.len()),
            });
        }
        let (weights, rest) = theta.split_at(k);
        let family = self.family().with_parameters(rest)?;
        *self = RegressionMixture::new(weights.to_vec(), family)?;
        Ok(())
    }
}

/// A model file: the response family's name, the weights and the family.
#[derive(Serialize, Deserialize)]
struct ModelSpec<F> {
    response: String,
    weights: Vec<f64>,
    components: F,
}

impl<F: RegressionFamily> Serialize for RegressionMixture<F> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ModelSpec {
            response: F::RESPONSE.to_string(),
            weights: self.weights().to_vec(),
            components: self.family().clone(),
        }
        .serialize(serializer)
    }
}

impl<'de, F: RegressionFamily> Deserialize<'de> for RegressionMixture<F> {
    /// Validated as [`RegressionMixture::new`]; a file of another response family is an
    /// error.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec = ModelSpec::<F>::deserialize(deserializer)?;
        if spec.response != F::RESPONSE {
            return Err(serde::de::Error::custom(format!(
                "a model of {} responses, not {}",
                spec.response,
                F::RESPONSE
            )));
        }
        RegressionMixture::new(spec.weights, spec.components).map_err(serde::de::Error::custom)
    }
}
