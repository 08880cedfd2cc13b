//! A family's parameters as a vector of reals, for accelerated EM (SQUAREM) on the models built
//! on it. Coordinates are **raw** (λ, the rate, (μ, σ²), the probabilities p_d): for mixtures
//! the EM map is closest to linear there, which is what SQUAREM's extrapolation assumes.

use em_core::EmError;

use crate::component::Component;
use crate::families::{Bernoulli, Exponential, Gaussian, Poisson};

/// A family whose parameters can be read and written as a vector of reals: what a model
/// built on the family (a mixture, an HMM) needs for
/// [`ParameterVector`](em_core::ParameterVector), and with it SQUAREM.
///
/// `parameters` always returns the same length for a given component (a [`Bernoulli`]'s is
/// its dimension), and `with_parameters(&c.parameters())` gives back `c`. `with_parameters`
/// validates, returning a typed error for a vector outside the family's parameter space, and
/// keeps the component's settings that are not parameters.
///
/// ```
/// use em_family::ComponentParameters;
/// use em_family::families::Gaussian;
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

pub(crate) fn wrong_length(family: &str, expected: usize, found: usize) -> EmError {
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
