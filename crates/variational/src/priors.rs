//! The priors of the variational Gaussian mixture and their data-dependent defaults.

use em_core::EmError;
use em_family::CovarianceType;
use em_family::gaussian::cholesky;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// The prior on the mixture weights (scikit-learn's `weight_concentration_prior_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightPrior {
    /// A symmetric Dirichlet distribution Dir(α₀, …, α₀) on the K weights
    /// (`"dirichlet_distribution"`).
    DirichletDistribution,
    /// A Dirichlet process truncated at K sticks: v_k ~ Beta(1, α₀), π_k = v_k Π_{j<k}(1 − v_j)
    /// (`"dirichlet_process"`, scikit-learn's default).
    #[default]
    DirichletProcess,
}

impl WeightPrior {
    /// The name as scikit-learn spells it.
    ///
    /// ```
    /// use em_variational::WeightPrior;
    /// assert_eq!(WeightPrior::DirichletProcess.as_str(), "dirichlet_process");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            WeightPrior::DirichletDistribution => "dirichlet_distribution",
            WeightPrior::DirichletProcess => "dirichlet_process",
        }
    }
}

impl std::str::FromStr for WeightPrior {
    type Err = EmError;
    /// Parses scikit-learn's names (`dirichlet_process`, `dirichlet_distribution`).
    ///
    /// ```
    /// use em_variational::WeightPrior;
    /// assert_eq!("dirichlet_distribution".parse::<WeightPrior>()?, WeightPrior::DirichletDistribution);
    /// assert!("dirichlet".parse::<WeightPrior>().is_err());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, EmError> {
        match s {
            "dirichlet_process" => Ok(WeightPrior::DirichletProcess),
            "dirichlet_distribution" => Ok(WeightPrior::DirichletDistribution),
            _ => Err(EmError::InvalidParameter {
                name: "weight_prior",
                reason: format!(
                    "unknown weight prior {s:?}; expected dirichlet_process or dirichlet_distribution"
                ),
            }),
        }
    }
}

/// The prior scale of the precisions (scikit-learn's `covariance_prior`), in the form of the
/// covariance type: a D×D matrix for `full` and `tied`, D variances for `diag`, one variance
/// for `spherical`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CovariancePrior {
    /// A symmetric positive-definite D×D matrix Σ₀ (full and tied models).
    Full(DMatrix<f64>),
    /// D positive variances (diagonal models).
    Diag(DVector<f64>),
    /// One positive variance (spherical models).
    Spherical(f64),
}

impl CovariancePrior {
    /// Σ₀ as a D×D matrix.
    ///
    /// ```
    /// use em_variational::CovariancePrior;
    /// assert_eq!(CovariancePrior::Spherical(2.0).matrix(3), nalgebra::DMatrix::from_diagonal_element(3, 3, 2.0));
    /// ```
    pub fn matrix(&self, n_features: usize) -> DMatrix<f64> {
        match self {
            CovariancePrior::Full(m) => m.clone(),
            CovariancePrior::Diag(v) => DMatrix::from_diagonal(v),
            CovariancePrior::Spherical(s) => {
                DMatrix::from_diagonal_element(n_features, n_features, *s)
            }
        }
    }

    /// scikit-learn's default for `covariance_type`: the sample covariance of the data (with
    /// the N − 1 divisor, `np.cov`), its diagonal (`np.var(ddof=1)`) or the mean of that
    /// diagonal. Needs two rows.
    ///
    /// ```
    /// use em_family::CovarianceType;
    /// use em_variational::CovariancePrior;
    /// use nalgebra::dmatrix;
    /// let x = dmatrix![0.0, 1.0; 2.0, 1.0; 4.0, 4.0];
    /// // np.var(x, axis=0, ddof=1) = [4, 3]; spherical: their mean.
    /// assert_eq!(CovariancePrior::sklearn_default(&x, CovarianceType::Spherical), CovariancePrior::Spherical(3.5));
    /// ```
    pub fn sklearn_default(x: &DMatrix<f64>, covariance_type: CovarianceType) -> Self {
        let (n, d) = x.shape();
        let mean = x.row_mean();
        let centred = DMatrix::from_fn(n, d, |i, j| x[(i, j)] - mean[j]);
        let denom = (n as f64 - 1.0).max(1.0);
        match covariance_type {
            CovarianceType::Full | CovarianceType::Tied => {
                let mut c = centred.transpose() * &centred / denom;
                // Exactly symmetric (the product is, to rounding).
                for i in 0..d {
                    for j in 0..i {
                        c[(j, i)] = c[(i, j)];
                    }
                }
                CovariancePrior::Full(c)
            }
            CovarianceType::Diag | CovarianceType::Spherical => {
                let var = DVector::from_fn(d, |j, _| {
                    centred.column(j).iter().map(|v| v * v).sum::<f64>() / denom
                });
                if covariance_type == CovarianceType::Diag {
                    CovariancePrior::Diag(var)
                } else {
                    CovariancePrior::Spherical(var.mean())
                }
            }
        }
    }
}

/// The resolved hyper-parameters of the model (scikit-learn's attributes ending in
/// `_prior_`).
///
/// - π ~ Dir(α₀) or the stick-breaking Beta(1, α₀) of a Dirichlet process;
/// - Λ_k ~ Wishart(W₀, ν₀) with W₀ = Σ₀⁻¹ (`covariance_prior` Σ₀, `degrees_of_freedom_prior` ν₀);
/// - μ_k | Λ_k ~ N(m₀, (κ₀ Λ_k)⁻¹) (`mean_prior` m₀, `mean_precision_prior` κ₀).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Priors {
    /// α₀ > 0 (default 1/K).
    pub weight_concentration: f64,
    /// κ₀ > 0 (default 1).
    pub mean_precision: f64,
    /// m₀, length D (default the data mean).
    pub mean: DVector<f64>,
    /// ν₀ > D − 1 (default D).
    pub degrees_of_freedom: f64,
    /// Σ₀ (default the data's covariance in the form of the covariance type).
    pub covariance: CovariancePrior,
}

impl Priors {
    /// Checks the hyper-parameters for `n_features` features and the covariance type,
    /// naming the parameter (as the builder spells it) that is wrong.
    ///
    /// ```
    /// use em_family::CovarianceType;
    /// use em_variational::{CovariancePrior, Priors};
    /// use nalgebra::dvector;
    /// let mut p = Priors {
    ///     weight_concentration: 0.5,
    ///     mean_precision: 1.0,
    ///     mean: dvector![0.0, 0.0],
    ///     degrees_of_freedom: 2.0,
    ///     covariance: CovariancePrior::Diag(dvector![1.0, 2.0]),
    /// };
    /// assert!(p.validate(2, CovarianceType::Diag).is_ok());
    /// assert!(p.validate(2, CovarianceType::Full).is_err()); // a vector for full covariances
    /// p.degrees_of_freedom = 0.5; // must exceed D − 1 = 1
    /// assert!(matches!(
    ///     p.validate(2, CovarianceType::Diag),
    ///     Err(em_core::EmError::InvalidParameter { name: "degrees_of_freedom_prior", .. })
    /// ));
    /// ```
    pub fn validate(
        &self,
        n_features: usize,
        covariance_type: CovarianceType,
    ) -> Result<(), EmError> {
        let bad = |name, reason: String| Err(EmError::InvalidParameter { name, reason });
        let d = n_features;
        if !(self.weight_concentration > 0.0 && self.weight_concentration.is_finite()) {
            return bad(
                "weight_concentration_prior",
                format!("must be finite and > 0, got {}", self.weight_concentration),
            );
        }
        if !(self.mean_precision > 0.0 && self.mean_precision.is_finite()) {
            return bad(
                "mean_precision_prior",
                format!("must be finite and > 0, got {}", self.mean_precision),
            );
        }
        if self.mean.len() != d {
            return bad(
                "mean_prior",
                format!(
                    "must have {d} values (one per feature), got {}",
                    self.mean.len()
                ),
            );
        }
        if let Some((j, v)) = self.mean.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return bad(
                "mean_prior",
                format!("value {v} for feature {j} is not finite"),
            );
        }
        if !(self.degrees_of_freedom > d as f64 - 1.0 && self.degrees_of_freedom.is_finite()) {
            return bad(
                "degrees_of_freedom_prior",
                format!(
                    "must be finite and > D − 1 = {}, got {}",
                    d as f64 - 1.0,
                    self.degrees_of_freedom
                ),
            );
        }
        let name = "covariance_prior";
        match (&self.covariance, covariance_type) {
            (CovariancePrior::Full(m), CovarianceType::Full | CovarianceType::Tied) => {
                if m.shape() != (d, d) {
                    return bad(
                        name,
                        format!("must be a {d}×{d} matrix, got {:?}", m.shape()),
                    );
                }
                for i in 0..d {
                    for j in 0..i {
                        let (a, b) = (m[(i, j)], m[(j, i)]);
                        if (a - b).abs() > 1e-10 * a.abs().max(b.abs()).max(f64::MIN_POSITIVE) {
                            return bad(
                                name,
                                format!(
                                    "must be symmetric: entry ({i}, {j}) = {a}, ({j}, {i}) = {b}"
                                ),
                            );
                        }
                    }
                }
                if let Err(e) = cholesky(m, 0, name) {
                    return bad(name, format!("must be positive definite ({e})"));
                }
            }
            (CovariancePrior::Diag(v), CovarianceType::Diag) => {
                if v.len() != d {
                    return bad(name, format!("must have {d} variances, got {}", v.len()));
                }
                if let Some((j, s)) = v
                    .iter()
                    .enumerate()
                    .find(|(_, s)| !(**s > 0.0 && s.is_finite()))
                {
                    return bad(
                        name,
                        format!("variance {s} of feature {j} must be finite and > 0"),
                    );
                }
            }
            (CovariancePrior::Spherical(s), CovarianceType::Spherical) => {
                if !(*s > 0.0 && s.is_finite()) {
                    return bad(name, format!("must be finite and > 0, got {s}"));
                }
            }
            (given, kind) => {
                let form = match given {
                    CovariancePrior::Full(_) => "a matrix",
                    CovariancePrior::Diag(_) => "a vector of variances",
                    CovariancePrior::Spherical(_) => "one variance",
                };
                return bad(
                    name,
                    format!(
                        "{form} does not fit {kind} covariances (full and tied take a matrix, diag a vector, spherical one variance)"
                    ),
                );
            }
        }
        Ok(())
    }
}
