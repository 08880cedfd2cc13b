//! The M-step: parameters from statistics, by maximum likelihood or (with a [`Prior`]) by
//! maximum a posteriori, followed by scikit-learn's `reg_covar` ridge.

use em_core::EmError;
use nalgebra::{DMatrix, DVector};

use super::covariance::{CovarianceType, Covariances};
use super::prior::Prior;
use super::stats::{GaussianStats, Scatter};

/// The parameters of a Gaussian mixture that [`maximise`] gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Maximised {
    /// Mixing weights π (length K, summing to 1).
    pub weights: DVector<f64>,
    /// Means, K×D (row k is μ_k).
    pub means: DMatrix<f64>,
    /// Covariances of the requested structure.
    pub covariances: Covariances,
}

/// The M-step of a mixture of K Gaussians: argmax over (π, μ, Σ) of E_q[log p(x, z | θ)]
/// (+ log p(θ) with a [`Prior`]: MAP-EM) for the statistics of q, then `reg_covar` added to
/// every variance. With `reg_covar = 0` this is the exact maximiser. The covariances are
/// not factorised here: build [`Gaussians`](super::Gaussians) from them, which rejects a
/// singular one.
///
/// Without a prior, π_k = N_k / N, μ_k = m_k and Σ_k as in
/// [`Gaussians::maximise`](super::Gaussians::maximise); the prior's posterior modes are those
/// of Fraley & Raftery (2007).
///
/// ```
/// use em_family::gaussian::{CovarianceType, Covariances, accumulate, maximise};
/// use nalgebra::{dmatrix, dvector};
/// let x = dmatrix![0.0; 2.0; 9.0; 11.0];
/// let gamma = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0];
/// let stats = accumulate(&x, 0..4, 2, &gamma, None, CovarianceType::Spherical, &mut Vec::new());
/// let m = maximise(&stats, CovarianceType::Spherical, 0.0, None)?;
/// assert_eq!(m.weights, dvector![0.5, 0.5]);
/// assert_eq!(m.means, dmatrix![1.0; 10.0]);
/// assert_eq!(m.covariances, Covariances::Spherical(dvector![1.0, 1.0]));
/// # Ok::<(), em_core::EmError>(())
/// ```
///
/// # Errors
/// [`EmError::EmptyComponent`] for a component whose weight is not positive (N_k = 0 without
/// a prior); [`EmError::InvalidParameter`] naming `stats` for statistics whose scatter does
/// not suit `covariance_type` or whose shapes disagree, and naming `prior` for a prior of
/// another dimension, and naming `reg_covar` unless it is finite and ≥ 0.
pub fn maximise(
    stats: &GaussianStats,
    covariance_type: CovarianceType,
    reg_covar: f64,
    prior: Option<&Prior>,
) -> Result<Maximised, EmError> {
    let k_count = stats.n_components();
    let d = stats.n_features();
    if !stats.fits(k_count, d, covariance_type) {
        return Err(EmError::InvalidParameter {
            name: "stats",
            reason: format!(
                "statistics of {k_count} components in {d} features do not have the shapes or \
                 the scatter form of {covariance_type} covariances"
            ),
        });
    }
    if let Some(p) = prior
        && (p.mean.len() != d || p.scale.shape() != (d, d))
    {
        return Err(EmError::InvalidParameter {
            name: "prior",
            reason: format!("a prior for {d} features is needed"),
        });
    }
    super::check_reg_covar(reg_covar)?;
    let weights =
        crate::family::mixture_weights(stats.n.as_slice(), prior.map(|p| p.weight_concentration))?;
    let (means, covariances) = gaussian_parameters(stats, covariance_type, reg_covar, prior);
    Ok(Maximised {
        weights,
        means,
        covariances,
    })
}

/// argmax over (μ, Σ) of the Gaussian part of the objective, then `reg_covar` on every
/// variance: the means and covariances of [`maximise`], whose weights are not needed here.
///
/// A component with N_k = 0 gets a zero mean and non-finite covariance (without a prior):
/// callers either reject it first (the mixture's weights) or keep its old parameters.
pub(crate) fn gaussian_parameters(
    stats: &GaussianStats,
    covariance_type: CovarianceType,
    reg_covar: f64,
    prior: Option<&Prior>,
) -> (DMatrix<f64>, Covariances) {
    let k_count = stats.n_components();
    let d = stats.n_features();
    let df = d as f64;
    let total = stats.total();
    // Means: the weighted means, pulled towards μ₀ by κ under a prior.
    let mut means = stats.means.clone();
    // Shrinkage weight n κ / (n + κ) of the (m − μ₀) outer product in the scatter.
    let mut shrink = vec![0.0; k_count];
    if let Some(p) = prior {
        let kappa = p.mean_precision;
        for k in 0..k_count {
            let n = stats.n[k];
            for j in 0..d {
                means[(k, j)] = (n * stats.means[(k, j)] + kappa * p.mean[j]) / (n + kappa);
            }
            shrink[k] = n * kappa / (n + kappa);
        }
    }
    let offset = |k: usize| -> DVector<f64> {
        match prior {
            Some(p) => DVector::from_fn(d, |j, _| stats.means[(k, j)] - p.mean[j]),
            None => DVector::zeros(d),
        }
    };
    // The scatter of component k about its new mean, plus the prior's scale contribution
    // (not yet divided): Ψ + M2_k + s_k δδᵀ, or M2_k without a prior.
    let full_scatter = |k: usize| -> DMatrix<f64> {
        let m2 = match &stats.scatter {
            Scatter::Full(m) => m[k].clone(),
            Scatter::Diag(m) => DMatrix::from_diagonal(&m.row(k).transpose()),
        };
        match prior {
            Some(p) => {
                let delta = offset(k);
                &p.scale + m2 + &delta * delta.transpose() * shrink[k]
            }
            None => m2,
        }
    };
    let ridge = |mut m: DMatrix<f64>| {
        for j in 0..d {
            m[(j, j)] += reg_covar;
        }
        m
    };
    let nu = prior.map_or(0.0, |p| p.dof);
    let covariances = match covariance_type {
        CovarianceType::Full => Covariances::Full(
            (0..k_count)
                .map(|k| {
                    let denom = match prior {
                        Some(_) => stats.n[k] + nu + df + 2.0,
                        None => stats.n[k],
                    };
                    ridge(full_scatter(k) / denom)
                })
                .collect(),
        ),
        CovarianceType::Tied => {
            let mut sum = DMatrix::zeros(d, d);
            for k in 0..k_count {
                let m2 = match &stats.scatter {
                    Scatter::Full(m) => m[k].clone(),
                    Scatter::Diag(m) => DMatrix::from_diagonal(&m.row(k).transpose()),
                };
                sum += m2;
                if prior.is_some() {
                    let delta = offset(k);
                    sum += &delta * delta.transpose() * shrink[k];
                }
            }
            let denom = match prior {
                Some(p) => {
                    sum += &p.scale;
                    total + k_count as f64 + nu + df + 1.0
                }
                None => total,
            };
            Covariances::Tied(ridge(sum / denom))
        }
        CovarianceType::Diag => {
            let mut var = DMatrix::zeros(k_count, d);
            for k in 0..k_count {
                let m2 = stats.scatter_diagonal(k);
                let delta = offset(k);
                for j in 0..d {
                    var[(k, j)] = match prior {
                        Some(p) => {
                            (p.scale[(j, j)] + m2[j] + shrink[k] * delta[j] * delta[j])
                                / (stats.n[k] + nu + 3.0)
                        }
                        None => m2[j] / stats.n[k],
                    } + reg_covar;
                }
            }
            Covariances::Diag(var)
        }
        CovarianceType::Spherical => {
            let var = DVector::from_fn(k_count, |k, _| {
                let trace = stats.scatter_diagonal(k).sum();
                (match prior {
                    Some(p) => {
                        (p.scale.trace() / df + trace + shrink[k] * offset(k).norm_squared())
                            / (stats.n[k] * df + df + nu + 2.0)
                    }
                    None => trace / (stats.n[k] * df),
                }) + reg_covar
            });
            Covariances::Spherical(var)
        }
    };
    (means, covariances)
}
