//! Starting parameters for EM.
//!
//! Where EM ends depends on where it starts. The default, [`Init::Auto`], starts the first
//! run where mclust starts (model-based hierarchical agglomeration in unit-free coordinates,
//! [`Init::Hierarchical`]) and every further restart from the best of several short EM runs
//! begun at k-means clusterings of the standardised data ([`Init::ShortEm`], Biernacki,
//! Celeux & Govaert 2003). The measurements behind that choice are in
//! `docs/initialisation.md`.

mod labelled;
mod partition;
mod short_em;

pub(crate) use labelled::LabelledStarter;

pub use short_em::SHORT_EM_MAX_ROWS;

use em_core::{EmError, StdRng};
use nalgebra::{DMatrix, DVector};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::gaussian::{CovarianceType, Prior};
use crate::kmeans::{CheckedData, KMeans, kmeans_plus_plus_checked, nearest_centre_checked};
use crate::mixture::GaussianMixture;
use partition::{from_labels, from_responsibilities, hierarchical_labels, standardized};

/// How a fit chooses its starting parameters. Every random method draws from the restart's
/// own generator, so `n_init` restarts start from independent points.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// The default: restart 0 starts from [`Init::Hierarchical`] (deterministic, mclust's
    /// start), restarts 1, 2, … from [`Init::ShortEm`] with [`ShortEm::default`]'s settings,
    /// each with its own generator. With `n_init = 1` this is mclust's start alone. Above
    /// [`AUTO_HIERARCHICAL_MAX_FEATURES`] features, where the agglomeration takes seconds,
    /// restart 0 is a short-EM start too.
    #[default]
    Auto,
    /// Model-based hierarchical agglomeration (Fraley 1998; mclust's `hc` with its defaults:
    /// unconstrained-covariance criterion, on standardised and whitened data, on a random
    /// subset of [`em_family::hc::DEFAULT_SUBSET`] rows when there are more), cut into K
    /// clusters; each component starts from the M-step of its cluster. With one feature,
    /// mclust's quantile classes instead. See [`em_family::hc`].
    Hierarchical,
    /// k-means++ seeding followed by Lloyd's k-means on the data as given; each component
    /// starts from the parameters of its cluster (scikit-learn's `"kmeans"`).
    KMeans,
    /// k-means as [`Init::KMeans`], on the z-scores of the columns, so that units do not
    /// change the clusters; each component starts from its cluster's parameters in the
    /// original units.
    KMeansStandardized,
    /// Clusters of the nearest k-means++ seed, without Lloyd iterations (scikit-learn's
    /// `"k-means++"`).
    KMeansPlusPlus,
    /// Responsibilities drawn uniformly and normalised per row (scikit-learn's `"random"`).
    RandomResponsibilities,
    /// Means at K distinct random rows, equal weights, and every component's covariance set
    /// to the data covariance (unlike scikit-learn's `"random_from_data"`, whose covariances
    /// start at `reg_covar`).
    RandomFromData,
    /// Short EM ("emEM"): several starts from [`Init::KMeansStandardized`], each run for a
    /// few EM iterations; the one with the highest log-likelihood is the start. Above
    /// [`SHORT_EM_MAX_ROWS`] rows the short runs compete on a random subset of that many.
    ShortEm(ShortEm),
    /// Start from these parameters (warm start); their shape must match the fit's. Every
    /// restart would repeat the same fit from the same point, so a fit with a given start runs
    /// once, whatever `n_init` says.
    Given(Box<GaussianMixture>),
}

impl Init {
    /// Whether every restart starts from the same parameters (a given start), so that one
    /// run is all `n_init` restarts would compute.
    pub fn same_for_every_restart(&self) -> bool {
        matches!(self, Init::Given(_))
    }
}

/// The settings of [`Init::ShortEm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortEm {
    /// Number of short runs (≥ 1).
    pub starts: usize,
    /// EM iterations of each short run (≥ 1).
    pub iterations: usize,
}

impl Default for ShortEm {
    /// 10 starts of 5 iterations each.
    fn default() -> Self {
        ShortEm {
            starts: 10,
            iterations: 5,
        }
    }
}

/// What the initialiser needs to know about the fit.
pub(crate) struct InitContext<'a> {
    pub n_components: usize,
    pub covariance_type: CovarianceType,
    pub reg_covar: f64,
    pub prior: Option<&'a Prior>,
    pub sample_weight: Option<&'a [f64]>,
    pub chunk_size: usize,
}

/// The most features for which [`Init::Auto`] starts restart 0 from the agglomeration: its
/// cost grows with p³ once clusters outgrow p rows (on 2,000 rows, 0.16 s at p = 20, 2.1 s
/// at p = 50 and 7 s at p = 100 on a 2-core machine).
pub const AUTO_HIERARCHICAL_MAX_FEATURES: usize = 50;

impl Init {
    /// The method restart `restart` uses on data with `n_features` columns: [`Init::Auto`]
    /// resolved, others as they are.
    pub fn for_restart(&self, restart: usize, n_features: usize) -> Init {
        match self {
            Init::Auto if restart == 0 && n_features <= AUTO_HIERARCHICAL_MAX_FEATURES => {
                Init::Hierarchical
            }
            Init::Auto => Init::ShortEm(ShortEm::default()),
            other => other.clone(),
        }
    }

    /// Builds the start of restart `restart` for validated data `data`: the k-means starts
    /// take the proof of validation and do not scan the data again.
    pub(crate) fn start(
        &self,
        data: CheckedData<'_>,
        ctx: &InitContext<'_>,
        restart: usize,
        rng: &mut StdRng,
    ) -> Result<GaussianMixture, EmError> {
        let x = data.matrix();
        let k = ctx.n_components;
        let model = match self {
            // Resolves to another method, so this recursion is one level deep.
            Init::Auto => {
                let method = self.for_restart(restart, x.ncols());
                return method.start(data, ctx, restart, rng);
            }
            Init::Given(m) => {
                if m.n_components() != k
                    || m.n_features() != x.ncols()
                    || m.covariance_type() != ctx.covariance_type
                {
                    return Err(EmError::InvalidParameter {
                        name: "init",
                        reason: format!(
                            "given parameters have K = {}, D = {}, {} covariances; the fit asks for K = {k}, D = {}, {}",
                            m.n_components(),
                            m.n_features(),
                            m.covariance_type(),
                            x.ncols(),
                            ctx.covariance_type
                        ),
                    });
                }
                (**m).clone()
            }
            Init::Hierarchical => {
                let labels = hierarchical_labels(x, k, rng)?;
                from_labels(x, ctx, &labels, true)?
            }
            Init::KMeans => {
                let labels = KMeans::new(k).n_init(1).fit_checked(data, rng)?.labels;
                from_labels(
                    x,
                    ctx,
                    &labels.into_iter().map(Some).collect::<Vec<_>>(),
                    false,
                )?
            }
            Init::KMeansStandardized => {
                let z = standardized(x);
                let checked = CheckedData::new(&z, None)?;
                let labels = KMeans::new(k).n_init(1).fit_checked(checked, rng)?.labels;
                from_labels(
                    x,
                    ctx,
                    &labels.into_iter().map(Some).collect::<Vec<_>>(),
                    false,
                )?
            }
            Init::KMeansPlusPlus => {
                let centres = kmeans_plus_plus_checked(data, k, rng)?;
                let labels = nearest_centre_checked(data, &centres)?;
                from_labels(
                    x,
                    ctx,
                    &labels.into_iter().map(Some).collect::<Vec<_>>(),
                    false,
                )?
            }
            Init::RandomResponsibilities => {
                let n = x.nrows();
                let mut resp = DMatrix::<f64>::zeros(k, n);
                for i in 0..n {
                    let mut col = resp.column_mut(i);
                    col.iter_mut().for_each(|g| *g = rng.random::<f64>());
                    let s = col.sum();
                    col /= s;
                }
                from_responsibilities(x, ctx, |i, gamma| {
                    gamma.copy_from_slice(resp.column(i).as_slice())
                })?
            }
            Init::RandomFromData => {
                let n = x.nrows();
                let rows = rand::seq::index::sample(rng, n, k).into_vec();
                let means = DMatrix::from_fn(k, x.ncols(), |c, j| x[(rows[c], j)]);
                // The data covariance, shaped for the structure: a one-component fit.
                let one = InitContext {
                    n_components: 1,
                    prior: None,
                    ..*ctx
                };
                let whole = from_responsibilities(x, &one, |_, gamma| gamma[0] = 1.0)?;
                let cov = whole.covariances().clone();
                let covariances = replicate(cov, k);
                GaussianMixture::new(DVector::from_element(k, 1.0 / k as f64), means, covariances)?
            }
            Init::ShortEm(settings) => short_em::best_short_run(data, ctx, *settings, rng)?,
        };
        model
            .with_reg_covar(ctx.reg_covar)?
            .with_prior(ctx.prior.cloned())
    }

    /// Checks the method's own settings.
    pub(crate) fn validate(&self) -> Result<(), EmError> {
        if let Init::ShortEm(s) = self
            && (s.starts == 0 || s.iterations == 0)
        {
            return Err(EmError::InvalidParameter {
                name: "init",
                reason: format!(
                    "short EM needs at least one start of at least one iteration, got {} starts of {} iterations",
                    s.starts, s.iterations
                ),
            });
        }
        Ok(())
    }
}

/// The covariances of a one-component model repeated for K components.
fn replicate(cov: crate::Covariances, k: usize) -> crate::Covariances {
    use crate::Covariances as C;
    match cov {
        C::Full(c) => C::Full(vec![c[0].clone(); k]),
        C::Diag(v) => C::Diag(DMatrix::from_fn(k, v.ncols(), |_, j| v[(0, j)])),
        C::Spherical(v) => C::Spherical(DVector::from_element(k, v[0])),
        C::Tied(c) => C::Tied(c),
    }
}

/// The driver's [`Initializer`](em_core::Initializer) for a Gaussian-mixture fit: restart `r`
/// starts by `init.start(…, r, …)` on the validated data, and `wrap` makes the fitted model
/// (a [`SampleWeighted`](crate::SampleWeighted), the mixture itself, or a t mixture) or says
/// why it cannot.
pub(crate) struct Starter<'a, F> {
    pub init: &'a Init,
    pub data: CheckedData<'a>,
    pub ctx: &'a InitContext<'a>,
    pub wrap: F,
}

impl<M, F> em_core::Initializer<M> for Starter<'_, F>
where
    M: em_core::LatentModel,
    F: Fn(GaussianMixture) -> Result<M, EmError>,
{
    fn initialize(&self, data: &M::Data, rng: &mut StdRng) -> Result<M, EmError> {
        self.initialize_restart(data, 0, rng)
    }

    fn initialize_restart(
        &self,
        _data: &M::Data,
        restart: usize,
        rng: &mut StdRng,
    ) -> Result<M, EmError> {
        let start = self.init.start(self.data, self.ctx, restart, rng)?;
        (self.wrap)(start)
    }
}
