//! Gradients of the expected complete log-likelihood, family by family: what makes the models
//! built on a family [`Differentiable`](em_core::Differentiable) (the score by Fisher's
//! identity, gradient ascent, standard errors, the rate of convergence).
//!
//! A family differentiates Σ_i Σ_k γ_ik log f_k(x_i) — its
//! [`expected_log_density`](Family::expected_log_density) — from its statistics, in
//! unconstrained coordinates (every finite vector is a valid family):
//!
//! | family | coordinates | ∂/∂η of Σγ log f |
//! | --- | --- | --- |
//! | Poisson | log λ | s − nλ |
//! | exponential | log rate | n − rate · s |
//! | Gaussian (1-D) | μ, log σ² | n(m − μ)/σ², −n/2 + (M2 + n(m − μ)²)/(2σ²) |
//! | geometric | logit p | n(1 − p) − s p |
//! | Bernoulli | logit p_d | a_d − (a_d + b_d) p_d |
//! | zero-inflated C | logit π, C's | z(1 − π) − cπ, C's of the count statistics |
//! | probabilities on a simplex | log(p_k / p_K), k < K | c_k − (Σc) p_k |
//!
//! (n = Σγ, s = Σγx, m the weighted mean, M2 the centred scatter, z and c the expected
//! structural zeros and count draws.) The multivariate Gaussians are in
//! [`crate::gaussian::gradient`].

use em_core::EmError;

use crate::component::Component;
use crate::families::{Bernoulli, Exponential, Gaussian, Geometric, Poisson, ZeroInflated};
use crate::family::{ComponentStats, Family};
use crate::parameters::{ComponentParameters, wrong_length};

/// A family of K components that can differentiate its expected log-density in unconstrained
/// coordinates: the family's part of [`em_core::Differentiable`] for the models built on it (a
/// mixture adds its weights, a hidden Markov model its chain).
pub trait FamilyGradient: Family {
    /// The unconstrained coordinates of all K components.
    ///
    /// # Errors
    /// [`EmError::NotAvailable`] for a parameter on the boundary of its space (a probability
    /// of 0 or 1).
    fn coordinates(&self) -> Result<Vec<f64>, EmError>;

    /// The family at coordinates `eta`, keeping its settings that are not parameters.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] for a vector of the wrong length or a family the
    /// coordinates do not give (overflow, a variance below a floor).
    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError>;

    /// A name for each coordinate.
    fn coordinate_names(&self) -> Vec<String>;

    /// ∇_η [expected_log_density(stats) + log_prior()] at the current parameters.
    ///
    /// # Errors
    /// [`EmError::NotAvailable`] under a prior whose gradient the family does not provide.
    fn gradient(&self, stats: &Self::Stats) -> Result<Vec<f64>, EmError>;

    /// The components' own parameters, for standard errors.
    fn natural_parameters(&self) -> Vec<f64>;

    /// A name for each of [`natural_parameters`](Self::natural_parameters).
    fn natural_parameter_names(&self) -> Vec<String>;
}

/// One component that can differentiate its [`Component::expected_ln_pdf`]: lifted to the
/// family of K independent components by `Vec<C>`.
pub trait ComponentGradient: ComponentParameters {
    /// The component's unconstrained coordinates.
    ///
    /// # Errors
    /// [`EmError::NotAvailable`] for a probability of 0 or 1.
    fn coordinates(&self) -> Result<Vec<f64>, EmError>;

    /// The component at coordinates `eta`, keeping its settings (floors, caps).
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] as the component's constructor reports it.
    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError>;

    /// A name for each coordinate.
    fn coordinate_names(&self) -> Vec<String>;

    /// ∇_η expected_ln_pdf(stats).
    fn gradient(&self, stats: &Self::Stats) -> Vec<f64>;

    /// A name for each of [`ComponentParameters::parameters`].
    fn parameter_names(&self) -> Vec<String>;
}

/// log(p / (1 − p)), or the boundary error for p ∈ {0, 1}.
pub fn logit(p: f64, name: &str) -> Result<f64, EmError> {
    if p > 0.0 && p < 1.0 {
        Ok((p / (1.0 - p)).ln())
    } else {
        Err(boundary(name, p))
    }
}

/// 1 / (1 + e^{−t}).
pub fn logistic(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// The error for a parameter on the boundary of its space.
pub fn boundary(name: &str, value: f64) -> EmError {
    EmError::NotAvailable {
        analysis: "unconstrained coordinates",
        reason: format!(
            "{name} = {value} lies on the boundary of its range, where the likelihood's \
             derivatives (and standard errors) are not defined"
        ),
    }
}

/// log x, or the boundary error for x = 0.
fn positive_log(x: f64, name: &str) -> Result<f64, EmError> {
    if x > 0.0 {
        Ok(x.ln())
    } else {
        Err(boundary(name, x))
    }
}

/// The log-ratios log(p_k / p_K), k < K, of probabilities on a simplex.
///
/// ```
/// use em_family::gradient::{log_ratios, from_log_ratios};
/// let eta = log_ratios(&[0.2, 0.3, 0.5], "π")?;
/// let back = from_log_ratios(&eta);
/// assert!((back[1] - 0.3).abs() < 1e-15);
/// # Ok::<(), em_core::EmError>(())
/// ```
///
/// # Errors
/// [`EmError::NotAvailable`] for a probability of 0.
pub fn log_ratios(p: &[f64], name: &str) -> Result<Vec<f64>, EmError> {
    let Some((&last, rest)) = p.split_last() else {
        return Ok(Vec::new());
    };
    let last = positive_log(last, &format!("{name}_{}", p.len() - 1))?;
    rest.iter()
        .enumerate()
        .map(|(k, &v)| Ok(positive_log(v, &format!("{name}_{k}"))? - last))
        .collect()
}

/// The probabilities with log-ratios `eta` to the last (a softmax with the last logit 0).
pub fn from_log_ratios(eta: &[f64]) -> Vec<f64> {
    let top = eta.iter().copied().fold(0.0_f64, f64::max);
    let mut p: Vec<f64> = eta.iter().map(|e| (e - top).exp()).collect();
    p.push((-top).exp());
    let total: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= total);
    p
}

/// ∂/∂η_k of Σ_j c_j log p_j in the log-ratio coordinates: c_k − (Σc) p_k, k < K.
pub fn simplex_gradient(counts: &[f64], p: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    counts
        .iter()
        .zip(p)
        .take(p.len().saturating_sub(1))
        .map(|(c, q)| c - total * q)
        .collect()
}

/// The names of the log-ratio coordinates of probabilities named `name_k`.
pub fn log_ratio_names(name: &str, k: usize) -> Vec<String> {
    (0..k.saturating_sub(1))
        .map(|j| format!("log({name}_{j}/{name}_{})", k - 1))
        .collect()
}

fn one(eta: &[f64], family: &str) -> Result<f64, EmError> {
    match eta {
        [t] if t.is_finite() => Ok(*t),
        [t] => Err(EmError::InvalidParameter {
            name: "coordinates",
            reason: format!("a {family} coordinate is {t}"),
        }),
        _ => Err(wrong_length(family, 1, eta.len())),
    }
}

impl ComponentGradient for Poisson {
    /// log λ.
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        Ok(vec![self.lambda().ln()])
    }
    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        Poisson::new(one(eta, "Poisson")?.exp())
    }
    fn coordinate_names(&self) -> Vec<String> {
        vec!["log λ".into()]
    }
    fn gradient(&self, s: &Self::Stats) -> Vec<f64> {
        vec![s.sum - s.n * self.lambda()]
    }
    fn parameter_names(&self) -> Vec<String> {
        vec!["λ".into()]
    }
}

impl ComponentGradient for Exponential {
    /// log rate.
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        Ok(vec![self.rate().ln()])
    }
    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        Exponential::new(one(eta, "exponential")?.exp())?.with_max_rate(self.max_rate())
    }
    fn coordinate_names(&self) -> Vec<String> {
        vec!["log rate".into()]
    }
    fn gradient(&self, s: &Self::Stats) -> Vec<f64> {
        vec![s.n - self.rate() * s.sum]
    }
    fn parameter_names(&self) -> Vec<String> {
        vec!["rate".into()]
    }
}

impl ComponentGradient for Gaussian {
    /// (μ, log σ²).
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        Ok(vec![self.mean(), self.variance().ln()])
    }
    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        match eta {
            [mean, log_variance] => {
                Gaussian::new(*mean, log_variance.exp())?.with_min_variance(self.min_variance())
            }
            _ => Err(wrong_length("Gaussian", 2, eta.len())),
        }
    }
    fn coordinate_names(&self) -> Vec<String> {
        vec!["μ".into(), "log σ²".into()]
    }
    fn gradient(&self, s: &Self::Stats) -> Vec<f64> {
        let v = self.variance();
        let d = s.mean_minus(self.mean());
        vec![s.n * d / v, -0.5 * s.n + 0.5 * (s.m2 + s.n * d * d) / v]
    }
    fn parameter_names(&self) -> Vec<String> {
        vec!["μ".into(), "σ²".into()]
    }
}

impl ComponentGradient for Geometric {
    /// logit p.
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        Ok(vec![logit(self.p(), "p")?])
    }
    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        Geometric::new(logistic(one(eta, "geometric")?))
    }
    fn coordinate_names(&self) -> Vec<String> {
        vec!["logit p".into()]
    }
    fn gradient(&self, s: &Self::Stats) -> Vec<f64> {
        let p = self.p();
        vec![s.n * (1.0 - p) - s.sum * p]
    }
    fn parameter_names(&self) -> Vec<String> {
        vec!["p".into()]
    }
}

impl ComponentGradient for Bernoulli {
    /// logit p_d for each of the D columns.
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        self.p()
            .iter()
            .enumerate()
            .map(|(d, &p)| logit(p, &format!("p[{d}]")))
            .collect()
    }
    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        if eta.len() != self.p().len() {
            return Err(wrong_length("Bernoulli", self.p().len(), eta.len()));
        }
        Bernoulli::new(eta.iter().map(|&t| logistic(t)).collect())
    }
    fn coordinate_names(&self) -> Vec<String> {
        (0..self.p().len())
            .map(|d| format!("logit p[{d}]"))
            .collect()
    }
    fn gradient(&self, s: &Self::Stats) -> Vec<f64> {
        s.ones
            .iter()
            .zip(&s.zeros)
            .zip(self.p())
            .map(|((a, b), p)| a - (a + b) * p)
            .collect()
    }
    fn parameter_names(&self) -> Vec<String> {
        (0..self.p().len()).map(|d| format!("p[{d}]")).collect()
    }
}

impl<C: ComponentGradient + Component<Data = [u64]>> ComponentGradient for ZeroInflated<C> {
    /// (logit π, then the count family's).
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        let mut out = vec![logit(self.pi(), "π")?];
        out.extend(self.counts().coordinates()?);
        Ok(out)
    }
    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        let Some((&t, rest)) = eta.split_first() else {
            return Err(wrong_length(
                "zero-inflated",
                1 + self.counts().coordinate_names().len(),
                0,
            ));
        };
        ZeroInflated::new(logistic(t), self.counts().with_coordinates(rest)?)
    }
    fn coordinate_names(&self) -> Vec<String> {
        let mut out = vec!["logit π".to_string()];
        out.extend(self.counts().coordinate_names());
        out
    }
    /// z(1 − π) − cπ, then the count family's gradient of its statistics (weighted by the
    /// posterior probability of a count draw).
    fn gradient(&self, s: &Self::Stats) -> Vec<f64> {
        let pi = self.pi();
        let mut out = vec![s.zeros * (1.0 - pi) - s.counted * pi];
        out.extend(self.counts().gradient(&s.counts));
        out
    }
    fn parameter_names(&self) -> Vec<String> {
        let mut out = vec!["π".to_string()];
        out.extend(self.counts().parameter_names());
        out
    }
}

/// `component k: name` for each name of each component.
fn prefixed(per_component: impl Iterator<Item = Vec<String>>) -> Vec<String> {
    per_component
        .enumerate()
        .flat_map(|(k, names)| {
            names
                .into_iter()
                .map(move |n| format!("component {k}: {n}"))
        })
        .collect()
}

/// K independent components: each one's coordinates and gradient in turn.
impl<C: ComponentGradient> FamilyGradient for Vec<C> {
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        let mut out = Vec::new();
        for c in self {
            out.extend(c.coordinates()?);
        }
        Ok(out)
    }

    fn with_coordinates(&self, eta: &[f64]) -> Result<Self, EmError> {
        let lengths: Vec<usize> = self.iter().map(|c| c.coordinate_names().len()).collect();
        let expected: usize = lengths.iter().sum();
        if eta.len() != expected {
            return Err(EmError::InvalidParameter {
                name: "coordinates",
                reason: format!("expected {expected} values, got {}", eta.len()),
            });
        }
        let mut rest = eta;
        self.iter()
            .zip(lengths)
            .map(|(c, len)| {
                let (own, tail) = rest.split_at(len);
                rest = tail;
                c.with_coordinates(own)
            })
            .collect()
    }

    fn coordinate_names(&self) -> Vec<String> {
        prefixed(self.iter().map(ComponentGradient::coordinate_names))
    }

    fn gradient(&self, stats: &ComponentStats<C::Stats>) -> Result<Vec<f64>, EmError> {
        if stats.components.len() != self.len() {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics for {} components, but the family has {}",
                    stats.components.len(),
                    self.len()
                ),
            });
        }
        Ok(self
            .iter()
            .zip(&stats.components)
            .flat_map(|(c, s)| c.gradient(s))
            .collect())
    }

    fn natural_parameters(&self) -> Vec<f64> {
        self.iter()
            .flat_map(ComponentParameters::parameters)
            .collect()
    }

    fn natural_parameter_names(&self) -> Vec<String> {
        prefixed(self.iter().map(ComponentGradient::parameter_names))
    }
}
