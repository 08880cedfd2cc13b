//! Starting parameters for EM.

use em_core::{EmError, Statistics, StdRng};
use nalgebra::{DMatrix, DVector};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::gaussian::{self, CovarianceType, GaussianStats, Prior, maximise};
use crate::kmeans::{CheckedData, KMeans, kmeans_plus_plus_checked, nearest_centre_checked};
use crate::mixture::GaussianMixture;

/// How a fit chooses its starting parameters. Every random method draws from the restart's
/// own generator, so `n_init` restarts start from independent points.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// k-means++ seeding followed by Lloyd's k-means; each component starts from the
    /// parameters of its cluster (scikit-learn's `"kmeans"`, the default).
    #[default]
    KMeans,
    /// Clusters of the nearest k-means++ seed, without Lloyd iterations (scikit-learn's
    /// `"k-means++"`).
    KMeansPlusPlus,
    /// Responsibilities drawn uniformly and normalised per row (scikit-learn's `"random"`).
    RandomResponsibilities,
    /// Means at K distinct random rows, equal weights, and every component's covariance set
    /// to the data covariance (unlike scikit-learn's `"random_from_data"`, whose covariances
    /// start at `reg_covar`).
    RandomFromData,
    /// Start from these parameters (warm start); their shape must match the fit's.
    Given(Box<GaussianMixture>),
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

impl Init {
    /// Builds the starting mixture for validated data `data`: the k-means starts take the
    /// proof of validation and do not scan the data again.
    pub(crate) fn start(
        &self,
        data: CheckedData<'_>,
        ctx: &InitContext<'_>,
        rng: &mut StdRng,
    ) -> Result<GaussianMixture, EmError> {
        let x = data.matrix();
        let k = ctx.n_components;
        let model = match self {
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
            Init::KMeans => {
                let labels = KMeans::new(k).n_init(1).fit_checked(data, rng)?.labels;
                from_responsibilities(x, ctx, |i, gamma| gamma[labels[i]] = 1.0)?
            }
            Init::KMeansPlusPlus => {
                let centres = kmeans_plus_plus_checked(data, k, rng)?;
                let labels = nearest_centre_checked(data, &centres)?;
                from_responsibilities(x, ctx, |i, gamma| gamma[labels[i]] = 1.0)?
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
        };
        model
            .with_reg_covar(ctx.reg_covar)?
            .with_prior(ctx.prior.cloned())
    }
}

/// The parameters an M-step gives for responsibilities set row by row by `fill(row, gamma)`
/// (gamma arrives zeroed, length K); batched so the N×K matrix never exists whole.
fn from_responsibilities(
    x: &DMatrix<f64>,
    ctx: &InitContext<'_>,
    fill: impl Fn(usize, &mut [f64]),
) -> Result<GaussianMixture, EmError> {
    let k = ctx.n_components;
    let mut total: Option<GaussianStats> = None;
    let mut gamma_row = vec![0.0; k];
    let mut scratch = Vec::new();
    for rows in em_core::batches(x.nrows(), ctx.chunk_size)? {
        let c = rows.len();
        let mut gamma = vec![0.0; k * c];
        for i in 0..c {
            gamma_row.fill(0.0);
            fill(rows.start + i, &mut gamma_row);
            for (kk, g) in gamma_row.iter().enumerate() {
                gamma[kk * c + i] = *g;
            }
        }
        let weights = ctx.sample_weight.map(|w| &w[rows.clone()]);
        let kind = ctx.covariance_type;
        let part = gaussian::accumulate(x, rows, k, &gamma, weights, kind, &mut scratch);
        match &mut total {
            None => total = Some(part),
            Some(t) => t.merge(&part),
        }
    }
    let stats = total.ok_or(EmError::EmptyData)?;
    let new = maximise(&stats, ctx.covariance_type, ctx.reg_covar, ctx.prior)?;
    GaussianMixture::new_in_context(new.weights, new.means, new.covariances, "at initialisation")
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
