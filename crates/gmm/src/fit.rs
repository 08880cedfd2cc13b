//! Fitting a Gaussian mixture: options (scikit-learn's names and defaults, but for when a fit
//! stops), validation once at the boundary, and the em-core driver for the loop, restarts and
//! threads.

use em_core::labelled::check_row_labels;
use em_core::{Acceleration, Em, EmError, Fitted, Observer, Silent, StdRng, Stopping};
use nalgebra::DMatrix;
use rand::SeedableRng;

use crate::gaussian::{
    CovarianceType, Covariances, MissingValues, Prior, check_data_with_missing,
    check_observed_columns, has_missing,
};
use crate::init::{Init, InitContext, LabelledStarter, Starter};
use crate::kmeans::CheckedData;
use crate::mixture::GaussianMixture;
use crate::validate::check_sample_weights;
use crate::weighted::SampleWeighted;

/// Which prior, if any, the M-step uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum PriorChoice {
    /// Maximum likelihood (the default).
    #[default]
    None,
    /// [`Prior::mclust_default`] computed from the data being fitted.
    MclustDefault,
    /// This prior.
    Given(Prior),
}

/// Options of a Gaussian-mixture fit; [`fit`](Self::fit) validates them and the data.
///
/// ```
/// use gmm::{CovarianceType, GaussianMixture};
/// use nalgebra::DMatrix;
///
/// // Two clusters in 2-D.
/// let x = DMatrix::from_fn(200, 2, |i, j| if i < 100 { 0.0 } else { 8.0 } + ((i * 7 + j * 3) % 11) as f64 / 11.0);
/// let fit = GaussianMixture::builder(2)
///     .covariance_type(CovarianceType::Diag)
///     .n_init(3)
///     .seed(1)
///     .fit(&x)?;
/// assert!(fit.report.converged);
/// let labels = fit.model.predict(&x)?;
/// assert_ne!(labels[0], labels[199]);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixtureBuilder {
    pub(crate) n_components: usize,
    pub(crate) covariance_type: CovarianceType,
    pub(crate) reg_covar: f64,
    pub(crate) init: Init,
    pub(crate) prior: PriorChoice,
    pub(crate) missing_values: MissingValues,
    pub(crate) em: Em<Acceleration>,
}

/// The default ridge added to the variances after each M-step: none, so that a fit is the
/// maximum-likelihood estimate whatever the units (scikit-learn's 1e-6 costs 2.2 log-likelihood
/// units on mclust's `wdbc` data even for one component; `docs/initialisation.md`).
pub const DEFAULT_REG_COVAR: f64 = 0.0;

/// The default number of restarts of a Gaussian-mixture fit: with [`Init::Auto`], mclust's
/// start and two short-EM starts (chosen by measurement, see `docs/initialisation.md`).
pub const DEFAULT_N_INIT: usize = 3;

impl GaussianMixture {
    /// Options for fitting a mixture of `n_components` Gaussians, with defaults chosen by
    /// measurement against mclust and the maximum-likelihood estimate:
    ///
    /// - full covariances, seed 0;
    /// - [`Init::Auto`] with [`DEFAULT_N_INIT`] restarts (mclust's start, then short-EM
    ///   starts; `docs/initialisation.md`);
    /// - `reg_covar =` [`DEFAULT_REG_COVAR`] (0: maximum likelihood, as mclust; a component
    ///   that degenerates is an error of its restart);
    /// - the parameter rule at `tol = 1e-7` and `max_iter = 10_000` ([`Stopping::DEFAULT`],
    ///   [`em_core::DEFAULT_MAX_ITER`]), which stop within 1e-6 (relative) of the optimum where
    ///   scikit-learn's `tol = 1e-3` on the change of the per-row log-likelihood stops 20–140 %
    ///   off on overlapping components (`docs/stopping.md`).
    ///
    /// scikit-learn's defaults are `.init(Init::KMeans).n_init(1).reg_covar(1e-6)
    /// .stopping(Stopping::SKLEARN).max_iter(100)`.
    pub fn builder(n_components: usize) -> GaussianMixtureBuilder {
        GaussianMixtureBuilder {
            n_components,
            covariance_type: CovarianceType::Full,
            reg_covar: DEFAULT_REG_COVAR,
            init: Init::Auto,
            prior: PriorChoice::None,
            missing_values: MissingValues::Error,
            em: Em::new()
                .n_init(DEFAULT_N_INIT)
                .accelerate(Acceleration::None),
        }
    }
}

impl GaussianMixtureBuilder {
    /// The covariance structure (default `full`).
    pub fn covariance_type(mut self, covariance_type: CovarianceType) -> Self {
        self.covariance_type = covariance_type;
        self
    }

    /// The ridge added to the variances after each M-step (default [`DEFAULT_REG_COVAR`], 0;
    /// ≥ 0; scikit-learn uses 1e-6). A numerical
    /// safeguard, not a prior: see [`GaussianMixture::with_reg_covar`].
    pub fn reg_covar(mut self, reg_covar: f64) -> Self {
        self.reg_covar = reg_covar;
        self
    }

    /// How to choose starting parameters (default [`Init::Auto`]).
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Continue from a fitted (or hand-made) model: scikit-learn's `warm_start`.
    pub fn warm_start(self, model: GaussianMixture) -> Self {
        self.init(Init::Given(Box::new(model)))
    }

    /// Fit by MAP-EM with this conjugate prior.
    pub fn prior(mut self, prior: Prior) -> Self {
        self.prior = PriorChoice::Given(prior);
        self
    }

    /// Fit by MAP-EM with the data-dependent default prior of [`Prior::mclust_default`].
    pub fn default_prior(mut self) -> Self {
        self.prior = PriorChoice::MclustDefault;
        self
    }

    /// What a NaN in the data means (default [`MissingValues::Error`]: an error naming its
    /// row and column). With [`MissingValues::Model`] a NaN is a value that was not observed
    /// and the fit is exact EM for the observed data (Ghahramani & Jordan 1994): each row
    /// counts through the marginal density of its observed coordinates, and the M-step uses
    /// the conditional expectations of the missing ones (for all four covariance structures,
    /// with or without a prior; see [`MissingValues`]). The start is computed from the rows
    /// without missing values when there are at least [`MIN_COMPLETE_ROWS_PER_PARAMETER`]
    /// per start parameter, and otherwise from the data with each missing value drawn from its
    /// conditional distribution under the one-Gaussian fit (a single imputation, seeded by
    /// [`seed`](Self::seed)). The fitted model keeps the setting, so that it scores and
    /// predicts rows with missing values; [`GaussianMixture::impute`] fills them in.
    ///
    /// ```
    /// use gmm::GaussianMixture;
    /// use gmm::gaussian::MissingValues;
    /// use nalgebra::DMatrix;
    ///
    /// // Two clusters; every fifth row misses its second value.
    /// let x = DMatrix::from_fn(200, 2, |i, j| {
    ///     if j == 1 && i % 5 == 0 { f64::NAN } else { (i % 2) as f64 * 8.0 + ((i * 7 + j * 3) % 11) as f64 / 11.0 }
    /// });
    /// assert!(GaussianMixture::builder(2).fit(&x).is_err());
    /// let fit = GaussianMixture::builder(2).missing_values(MissingValues::Model).fit(&x)?;
    /// assert!(fit.report.converged);
    /// let filled = fit.model.impute(&x)?;
    /// assert!(filled[(0, 1)] > 7.0 || filled[(0, 1)] < 1.0); // row 0's cluster, not the middle
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn missing_values(mut self, missing: MissingValues) -> Self {
        self.missing_values = missing;
        self
    }

    /// The tolerance of the stopping rule in force (default: the parameter rule's 1e-7; see
    /// [`stopping`](Self::stopping)).
    pub fn tol(mut self, tol: f64) -> Self {
        self.em = self.em.tol(tol);
        self
    }

    /// When a fit stops (default [`Stopping::DEFAULT`]: the estimated relative distance of
    /// the parameters to the optimum below 1e-7). [`Stopping::SKLEARN`] is scikit-learn's rule
    /// and tolerance (the change of the mean per-row objective below 1e-3): what parity with
    /// scikit-learn needs.
    ///
    /// ```
    /// use gmm::{GaussianMixture, Stopping};
    /// use nalgebra::DMatrix;
    ///
    /// let x = DMatrix::from_fn(300, 1, |i, _| (i % 3) as f64 * 1.5 + ((i * 7) % 11) as f64 / 11.0);
    /// let sklearn = GaussianMixture::builder(3).stopping(Stopping::SKLEARN).max_iter(100).fit(&x)?;
    /// let default = GaussianMixture::builder(3).fit(&x)?;
    /// assert_eq!(sklearn.report.stopping, Stopping::SKLEARN);
    /// assert_eq!(default.report.stopping, Stopping::DEFAULT);
    /// assert!(default.report.objective() >= sklearn.report.objective());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn stopping(mut self, stopping: Stopping) -> Self {
        self.em = self.em.stopping(stopping);
        self
    }

    /// Maximum EM iterations per restart (default 10,000; scikit-learn's is 100).
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.em = self.em.max_iter(max_iter);
        self
    }

    /// Number of restarts; the highest final objective wins (default [`DEFAULT_N_INIT`]).
    /// A fit from given parameters ([`Init::Given`], [`warm_start`](Self::warm_start)) runs
    /// once: its restarts would all repeat the same fit.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.em = self.em.n_init(n_init);
        self
    }

    /// Seed of the restarts' random generators (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.em = self.em.seed(seed);
        self
    }

    /// E-step worker threads (default: rayon's global pool). Results do not depend on it.
    pub fn threads(mut self, threads: usize) -> Self {
        self.em = self.em.threads(threads);
        self
    }

    /// Rows per E-step batch (default [`em_core::DEFAULT_CHUNK_SIZE`]).
    pub fn chunk_size(mut self, chunk_size: usize) -> Self {
        self.em = self.em.chunk_size(chunk_size);
        self
    }

    /// Accelerates EM (default [`Acceleration::None`], plain EM). With
    /// [`Acceleration::Squarem`] every restart runs SQUAREM
    /// ([`em_core::Squarem`], through the mixture's
    /// [`ParameterVector`](em_core::ParameterVector) coordinates, see [`crate::accelerate`]):
    /// two EM steps extrapolated, kept only when the objective does not fall below the plain EM
    /// step's. On slowly converging (heavily overlapping) mixtures this reaches the optimum in
    /// several times fewer E-steps.
    ///
    /// What changes in the result: `max_iter` still bounds the M-steps of each restart, but the
    /// report's `iterations` and `trace` count SQUAREM cycles (up to three M-steps each), and
    /// `e_steps`, `m_steps` and `fallbacks` count the work; the stopping rule is applied after
    /// every cycle. The observer sees one [`Iteration`](em_core::Iteration) per cycle.
    ///
    /// ```
    /// use gmm::{Acceleration, Covariances, GaussianMixture, Init};
    /// use nalgebra::{dmatrix, dvector};
    /// use rand::SeedableRng;
    ///
    /// // Two heavily overlapping components: plain EM crawls.
    /// let truth = GaussianMixture::new(
    ///     dvector![0.6, 0.4],
    ///     dmatrix![0.0, 0.0; 1.5, 0.5],
    ///     Covariances::Full(vec![dmatrix![1.0, 0.3; 0.3, 1.0], dmatrix![1.0, -0.2; -0.2, 0.8]]),
    /// )?;
    /// let (x, _) = truth.sample(1_000, &mut rand::rngs::StdRng::seed_from_u64(3));
    /// let start = GaussianMixture::new(
    ///     dvector![0.5, 0.5],
    ///     dmatrix![-0.5, 0.0; 0.5, 0.0],
    ///     Covariances::Full(vec![dmatrix![1.0, 0.0; 0.0, 1.0], dmatrix![1.0, 0.0; 0.0, 1.0]]),
    /// )?;
    /// let options = GaussianMixture::builder(2).init(Init::Given(Box::new(start)));
    /// let plain = options.fit(&x)?;
    /// let fast = options.accelerate(Acceleration::Squarem).fit(&x)?;
    /// assert!(plain.report.converged && fast.report.converged);
    /// assert!(fast.report.e_steps < plain.report.e_steps);
    /// assert!(fast.report.objective() >= plain.report.objective() - 1e-6);
    /// println!("E-steps: plain {}, SQUAREM {}", plain.report.e_steps, fast.report.e_steps);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn accelerate(mut self, acceleration: Acceleration) -> Self {
        self.em = self.em.accelerate(acceleration);
        self
    }

    /// The EM driver these options configure.
    pub fn em(&self) -> &Em<Acceleration> {
        &self.em
    }

    /// The number of restarts a fit runs: `n_init`, or 1 from given parameters (see
    /// [`n_init`](Self::n_init)).
    pub fn restarts(&self) -> usize {
        if self.init.same_for_every_restart() {
            1
        } else {
            self.em.options().n_init
        }
    }

    /// The driver the restarts run on: [`restarts`](Self::restarts) of them.
    pub(crate) fn restart_driver(&self) -> Em<Acceleration> {
        self.em.clone().n_init(self.restarts())
    }

    /// Fits the mixture to `x` (one observation per row).
    pub fn fit(&self, x: &DMatrix<f64>) -> Result<Fitted<GaussianMixture>, EmError> {
        self.fit_observed(x, None, &mut Silent)
    }

    /// Fits with one non-negative weight per row: the objective is Σ_i w_i log p(x_i).
    pub fn fit_weighted(
        &self,
        x: &DMatrix<f64>,
        sample_weight: &[f64],
    ) -> Result<Fitted<GaussianMixture>, EmError> {
        self.fit_observed(x, Some(sample_weight), &mut Silent)
    }

    /// The general fit: optional sample weights and an observer that sees every iteration.
    pub fn fit_observed(
        &self,
        x: &DMatrix<f64>,
        sample_weight: Option<&[f64]>,
        observer: &mut dyn Observer,
    ) -> Result<Fitted<GaussianMixture>, EmError> {
        self.fit_general(x, sample_weight, None, observer)
    }

    /// Semi-supervised fit: `labels[i]` is the known component of row i (`0..K`), or `None`
    /// for a row whose component is inferred. The objective is
    /// Σ_unlabelled log p(x_i) + Σ_labelled log p(x_i, z_i = k_i) (+ log prior), which EM
    /// increases monotonically: a labelled row's responsibilities are fixed one-hot on its
    /// label ([`em_core::labelled`]). The report's objective is this one; the returned
    /// model's own [`log_likelihood_total`](GaussianMixture::log_likelihood_total) is
    /// the unlabelled one.
    ///
    /// Starts: one more restart than [`restarts`](Self::restarts). Restart 0 starts from
    /// the labelled rows — component k at the mean of the rows labelled k, every component
    /// with the pooled within-label covariance (the covariance of all the rows when there are
    /// too few labelled rows for it to be positive definite) — when every component has a
    /// labelled row; the others are the [`init`](Self::init) method's starts with their
    /// components renumbered to agree best with the labels. The best objective wins. A
    /// given start ([`Init::Given`]) runs once, renumbered.
    ///
    /// ```
    /// use gmm::GaussianMixture;
    /// use nalgebra::DMatrix;
    ///
    /// // Two clusters; one row of each is labelled, in the "wrong" order (the right-hand
    /// // cluster is component 0).
    /// let x = DMatrix::from_fn(200, 2, |i, j| if i < 100 { 0.0 } else { 8.0 } + ((i * 7 + j * 3) % 11) as f64 / 11.0);
    /// let mut labels = vec![None; 200];
    /// labels[0] = Some(1);
    /// labels[150] = Some(0);
    /// let fit = GaussianMixture::builder(2).seed(1).fit_labelled(&x, &labels)?;
    /// let z = fit.model.predict(&x)?;
    /// assert!(z[..100].iter().all(|&k| k == 1) && z[100..].iter().all(|&k| k == 0));
    /// // A label that is not a component is a typed error naming the row.
    /// labels[3] = Some(2);
    /// let err = GaussianMixture::builder(2).fit_labelled(&x, &labels).unwrap_err();
    /// assert!(err.to_string().contains("row 3"), "{err}");
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`fit`](Self::fit); [`EmError::InvalidParameter`] naming `labels` when there
    /// is not one label per row, or with missing values modelled
    /// ([`MissingValues::Model`] on data with NaN; not supported with labels);
    /// [`EmError::InvalidInput`] naming the row and the label for a label ≥ K.
    pub fn fit_labelled(
        &self,
        x: &DMatrix<f64>,
        labels: &[Option<usize>],
    ) -> Result<Fitted<GaussianMixture>, EmError> {
        self.fit_general(x, None, Some(labels), &mut Silent)
    }

    /// The general semi-supervised fit ([`fit_labelled`](Self::fit_labelled)) with optional
    /// sample weights (a labelled row's one-hot responsibilities are weighted as an unlabelled
    /// row's) and an observer.
    pub fn fit_labelled_observed(
        &self,
        x: &DMatrix<f64>,
        sample_weight: Option<&[f64]>,
        labels: &[Option<usize>],
        observer: &mut dyn Observer,
    ) -> Result<Fitted<GaussianMixture>, EmError> {
        self.fit_general(x, sample_weight, Some(labels), observer)
    }

    /// Every fit: optional sample weights, optional labels, an observer.
    fn fit_general(
        &self,
        x: &DMatrix<f64>,
        sample_weight: Option<&[f64]>,
        labels: Option<&[Option<usize>]>,
        observer: &mut dyn Observer,
    ) -> Result<Fitted<GaussianMixture>, EmError> {
        let k = self.n_components;
        if k == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_components",
                reason: "must be at least 1".into(),
            });
        }
        // With missing values modelled, the start is computed from other data (`start`).
        let modelled = self.missing_values == MissingValues::Model && has_missing(x);
        if let Some(labels) = labels {
            check_row_labels(labels, x.nrows(), k)?;
            if modelled {
                return Err(EmError::InvalidParameter {
                    name: "labels",
                    reason: "labels are not supported with missing values modelled \
                             (MissingValues::Model on data with NaN)"
                        .into(),
                });
            }
        }
        let start = if modelled {
            check_data_with_missing(x, None)?;
            check_observed_columns(x)?;
            // The start's data are chosen by the weights: check them first.
            if let Some(w) = sample_weight {
                check_sample_weights(w, x.nrows())?;
            }
            Some(match &self.init {
                // A warm start needs no start data (only their shape): no fit for them.
                Init::Given(_) => (mean_filled(x), sample_weight.map(<[f64]>::to_vec)),
                _ => start_data(x, sample_weight, k, self.em.options().seed)?,
            })
        } else {
            None
        };
        // The one scan of the data's values on this path: the proof goes to the start.
        let checked = match &start {
            Some((start_x, _)) => CheckedData::new(start_x, None)?,
            None => CheckedData::new(x, None)?,
        };
        if x.nrows() < k {
            return Err(EmError::TooFewObservations {
                n_obs: x.nrows(),
                n_components: k,
            });
        }
        if let Some(w) = sample_weight {
            check_sample_weights(w, x.nrows())?;
        }
        crate::gaussian::check_reg_covar(self.reg_covar)?;
        self.em.validate()?;
        let prior = self.resolve_prior(checked.matrix())?;
        let start_weight = match &start {
            Some((_, w)) => w.as_deref(),
            None => sample_weight,
        };
        let ctx = self.init_context(prior.as_ref(), start_weight);
        self.init.validate()?;
        let missing = if modelled {
            MissingValues::Model
        } else {
            MissingValues::Error
        };
        // The driver hands every restart the same `x`; `checked` borrows it (or the start's
        // data).
        let init = Starter {
            init: &self.init,
            data: checked,
            ctx: &ctx,
            wrap: |model: GaussianMixture| {
                Ok(SampleWeighted {
                    model: model.with_missing_values(missing),
                    sample_weight,
                })
            },
        };
        if let Some(labels) = labels {
            let from_labels = !self.init.same_for_every_restart();
            let x_start = init.data.matrix();
            let restarts = self.restarts() + usize::from(from_labels);
            let init = LabelledStarter {
                base: init,
                x: x_start,
                labels,
                from_labels,
            };
            let fitted = self
                .em
                .clone()
                .n_init(restarts)
                .observer(observer)
                .fit_restarts(&init, x)?;
            return Ok(Fitted {
                model: fitted
                    .model
                    .model
                    .model
                    .with_missing_values(self.missing_values),
                report: fitted.report,
                best_restart: fitted.best_restart,
                restarts: fitted.restarts,
            });
        }
        let fitted = self
            .restart_driver()
            .observer(observer)
            .fit_restarts(&init, x)?;
        Ok(Fitted {
            model: fitted.model.model.with_missing_values(self.missing_values),
            report: fitted.report,
            best_restart: fitted.best_restart,
            restarts: fitted.restarts,
        })
    }
}

/// The fewest rows without missing values, per parameter of a one-component-per-cluster
/// start (K·(D + 1): a mean and a variance's worth per feature and component), for a fit with
/// missing values to start from those rows alone.
pub const MIN_COMPLETE_ROWS_PER_PARAMETER: usize = 5;

/// The data a fit with missing values starts from, and their sample weights (already checked):
/// the rows with no missing value and a positive weight when there are enough of them ([`MIN_COMPLETE_ROWS_PER_PARAMETER`]); else
/// every row, with each missing value drawn from its conditional distribution given the
/// row's observed values under the one-Gaussian fit of the data ([`one_gaussian`]), by a
/// generator seeded with `seed` (so that the start is reproducible).
pub(crate) fn start_data(
    x: &DMatrix<f64>,
    sample_weight: Option<&[f64]>,
    k: usize,
    seed: u64,
) -> Result<(DMatrix<f64>, Option<Vec<f64>>), EmError> {
    let (n, d) = x.shape();
    // Complete rows that count: a row of weight 0 would start nothing.
    let complete: Vec<usize> = (0..n)
        .filter(|&i| x.row(i).iter().all(|v| !v.is_nan()))
        .filter(|&i| sample_weight.is_none_or(|w| w[i] > 0.0))
        .collect();
    if complete.len() >= MIN_COMPLETE_ROWS_PER_PARAMETER * k * (d + 1) {
        let rows = DMatrix::from_fn(complete.len(), d, |r, j| x[(complete[r], j)]);
        let weights = sample_weight.map(|w| complete.iter().map(|&i| w[i]).collect());
        return Ok((rows, weights));
    }
    let one = one_gaussian(x, sample_weight)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let drawn = one.components().draw_missing(x, 0, &mut rng);
    Ok((drawn, sample_weight.map(<[f64]>::to_vec)))
}

/// `x` with each missing value replaced by its column's observed mean (every column has
/// one: the data passed [`check_observed_columns`]).
pub(crate) fn mean_filled(x: &DMatrix<f64>) -> DMatrix<f64> {
    let (means, _) = observed_moments(x);
    x.map_with_location(|_, j, v| if v.is_nan() { means[j] } else { v })
}

/// The mean and variance (divisor n) of the observed (non-NaN) values of each column; a
/// column with none gets mean 0 and variance 0.
fn observed_moments(x: &DMatrix<f64>) -> (Vec<f64>, Vec<f64>) {
    x.column_iter()
        .map(|col| {
            let observed: Vec<f64> = col.iter().copied().filter(|v| !v.is_nan()).collect();
            let n = observed.len().max(1) as f64;
            let mean = observed.iter().sum::<f64>() / n;
            let var = observed.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n;
            (mean, var)
        })
        .unzip()
}

/// The maximum-likelihood Gaussian of data with missing values (full covariance, or diagonal
/// when the full one does not exist, as with fewer rows than features), by EM from the
/// observed columns' means and variances.
fn one_gaussian(
    x: &DMatrix<f64>,
    sample_weight: Option<&[f64]>,
) -> Result<GaussianMixture, EmError> {
    let (column_means, column_variances) = observed_moments(x);
    let means = DMatrix::from_row_slice(1, x.ncols(), &column_means);
    // A column observed once (or constant) gets unit variance to start from.
    let variances = DMatrix::from_fn(1, x.ncols(), |_, j| {
        if column_variances[j] > 0.0 {
            column_variances[j]
        } else {
            1.0
        }
    });
    let weights = nalgebra::DVector::from_element(1, 1.0);
    let mut last = None;
    for kind in [CovarianceType::Full, CovarianceType::Diag] {
        let covariances = match kind {
            CovarianceType::Full => {
                Covariances::Full(vec![DMatrix::from_diagonal(&variances.row(0).transpose())])
            }
            _ => Covariances::Diag(variances.clone()),
        };
        let start = GaussianMixture::new(weights.clone(), means.clone(), covariances)?;
        let options = GaussianMixture::builder(1)
            .covariance_type(kind)
            .missing_values(MissingValues::Model)
            .warm_start(start)
            .n_init(1)
            .max_iter(1_000);
        match options.fit_observed(x, sample_weight, &mut Silent) {
            Ok(fit) => return Ok(fit.model),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(EmError::EmptyData))
}

impl GaussianMixtureBuilder {
    /// The prior the fit uses: none, mclust's default computed from `x`, or the given one
    /// checked against `x`'s dimension.
    pub(crate) fn resolve_prior(&self, x: &DMatrix<f64>) -> Result<Option<Prior>, EmError> {
        Ok(match &self.prior {
            PriorChoice::None => None,
            PriorChoice::MclustDefault => Some(Prior::mclust_default(x, self.n_components)?),
            PriorChoice::Given(p) => {
                p.validate(x.ncols())?;
                Some(p.clone())
            }
        })
    }

    /// What the initialisation needs from these options.
    pub(crate) fn init_context<'a>(
        &self,
        prior: Option<&'a Prior>,
        sample_weight: Option<&'a [f64]>,
    ) -> InitContext<'a> {
        InitContext {
            n_components: self.n_components,
            covariance_type: self.covariance_type,
            reg_covar: self.reg_covar,
            prior,
            sample_weight,
            chunk_size: self.em.options().chunk_size,
        }
    }
}
