//! Accelerated EM (SQUAREM) for mixtures: a family's parameters as a vector
//! ([`ComponentParameters`]), and with it [`ParameterVector`] for [`Mixture`], so that
//! [`Em::fit_accelerated`](em_core::Em::fit_accelerated) applies.
//!
//! The mixture's vector is the K weights π_k followed by each component's own vector, all
//! **raw**: λ for [`Poisson`], the rate for [`Exponential`], (μ, σ²) for [`Gaussian`], the D
//! probabilities p_d for [`Bernoulli`]. Raw coordinates are where the EM map of a mixture —
//! an average of sufficient statistics — is closest to linear, which is what SQUAREM's
//! extrapolation assumes (the Gaussian-mixture crate measured far fewer rejected
//! extrapolations than in log/logit coordinates). An extrapolation outside the parameter space
//! (a weight ≤ 0 or weights not summing to 1 within 1e-8, a negative rate, a variance below
//! the family's floor, a probability outside [0, 1]) is a typed error from the family's own
//! constructor, and the SQUAREM guard falls back to the plain EM step.
//!
//! Family settings that are not parameters — a [`Gaussian`]'s variance floor, an
//! [`Exponential`]'s rate cap — are kept from the component being set.
//!
//! ```
//! use em_core::{Acceleration, Em};
//! use mixture::{Mixture, Poisson};
//!
//! // Hasselblad's deaths per day: EM for this two-Poisson mixture is notoriously slow.
//! let days = [162, 267, 271, 185, 111, 61, 27, 8, 3, 1];
//! let deaths: Vec<u64> = (0u64..).zip(days).flat_map(|(y, n)| std::iter::repeat_n(y, n)).collect();
//! let start = || Mixture::new(vec![0.5, 0.5], vec![Poisson::new(1.0)?, Poisson::new(3.0)?]);
//! let em = Em::new().tol(1e-12).max_iter(10_000);
//! let plain = em.fit(&mut start()?, &deaths[..])?;
//! let fast = em.accelerate(Acceleration::Squarem).fit_accelerated(&mut start()?, &deaths[..])?;
//! assert!(fast.e_steps * 5 < plain.e_steps);
//! assert!(fast.objective() >= plain.objective());
//! # Ok::<(), em_core::EmError>(())
//! ```

use em_core::{EmError, ParameterVector};

use crate::mixture::Mixture;
use em_family::Component;
use em_family::families::Bernoulli;
use em_family::families::Exponential;
use em_family::families::Gaussian;
use em_family::families::Poisson;

/// A family whose parameters can be read and written as a vector of reals, for
/// [`ParameterVector`] on [`Mixture`].
///
/// `parameters` always returns the same length for a given component (a [`Bernoulli`]'s is
/// its dimension), and `with_parameters(&c.parameters())` gives back `c`. `with_parameters`
/// validates, returning a typed error for a vector outside the family's parameter space, and
/// keeps the component's settings that are not parameters.
///
/// ```
/// use mixture::{ComponentParameters, Gaussian};
/// let g = Gaussian::new(1.0, 4.0)?.with_min_variance(0.5)?;
/// assert_eq!(g.parameters(), vec![1.0, 4.0]);
/// let h = g.with_parameters(&[2.0, 3.0])?;
/// assert_eq!((h.mean(), h.variance(), h.min_variance()), (2.0, 3.0, 0.5));
/// assert!(g.with_parameters(&[2.0, 0.25]).is_err()); // below the floor
/// # Ok::<(), em_core::EmError>(())
/// ```
pub trait ComponentParameters: Component {
    /// The component's parameters, raw.
    fn parameters(&self) -> Vec<f64>;

    /// This component with the parameters `theta` (in the coordinates of
    /// [`parameters`](Self::parameters)), or an error when `theta` is not a valid component.
    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError>;
}

fn wrong_length(family: &str, expected: usize, found: usize) -> EmError {
    EmError::InvalidParameter {
        name: "theta",
        reason: format!("a {family} component takes {expected} values, got {found}"),
    }
}

impl ComponentParameters for Poisson {
    /// (λ).
    fn parameters(&self) -> Vec<f64> {
        vec![self.lambda()]
    }

    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError> {
        match theta {
            [lambda] => Poisson::new(*lambda),
            _ => Err(wrong_length("Poisson", 1, theta.len())),
        }
    }
}

impl ComponentParameters for Exponential {
    /// (rate); the rate cap is kept.
    fn parameters(&self) -> Vec<f64> {
        vec![self.rate()]
    }

    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError> {
        match theta {
            [rate] => Exponential::new(*rate)?.with_max_rate(self.max_rate()),
            _ => Err(wrong_length("exponential", 1, theta.len())),
        }
    }
}

impl ComponentParameters for Gaussian {
    /// (μ, σ²); the variance floor is kept.
    fn parameters(&self) -> Vec<f64> {
        vec![self.mean(), self.variance()]
    }

    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError> {
        match theta {
            [mean, variance] => {
                Gaussian::new(*mean, *variance)?.with_min_variance(self.min_variance())
            }
            _ => Err(wrong_length("Gaussian", 2, theta.len())),
        }
    }
}

impl ComponentParameters for Bernoulli {
    /// (p_1, …, p_D).
    fn parameters(&self) -> Vec<f64> {
        self.p().to_vec()
    }

    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError> {
        if theta.len() != self.p().len() {
            return Err(wrong_length("Bernoulli", self.p().len(), theta.len()));
        }
        Bernoulli::new(theta.to_vec())
    }
}

impl<C: ComponentParameters> ParameterVector for Mixture<C> {
    /// The K weights, then each component's [`ComponentParameters::parameters`].
    fn parameters(&self) -> Vec<f64> {
        let mut out = self.weights().to_vec();
        for c in self.components() {
            out.extend(c.parameters());
        }
        out
    }

    /// Validated as [`Mixture::new`] and the family's constructor validate; the mixture is
    /// unchanged on error.
    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        let k = self.n_components();
        let expected = k + self
            .components()
            .iter()
            .map(|c| c.parameters().len())
            .sum::<usize>();
        if theta.len() != expected {
            return Err(EmError::InvalidParameter {
                name: "theta",
                reason: format!("expected {expected} values, got {}", theta.len()),
            });
        }
        if let Some((i, v)) = theta.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "theta",
                reason: format!("entry {i} is {v}"),
            });
        }
        let (weights, mut rest) = theta.split_at(k);
        let mut components = Vec::with_capacity(k);
        for c in self.components() {
            let (own, tail) = rest.split_at(c.parameters().len());
            components.push(c.with_parameters(own)?);
            rest = tail;
        }
        *self = Mixture::new(weights.to_vec(), components)?;
        Ok(())
    }
}
