//! Accelerated EM (SQUAREM) for mixtures: a family's parameters as a vector
//! ([`ComponentParameters`]), and with it [`ParameterVector`] for [`Mixture`], so that
//! [`Em::accelerate`](em_core::Em::accelerate) with [`Squarem`](em_core::Squarem) applies.
//!
//! The mixture's vector is the K weights π_k followed by each component's own vector, all
//! **raw**: λ for [`Poisson`](crate::Poisson), the rate for [`Exponential`](crate::Exponential), (μ, σ²) for [`Gaussian`](crate::Gaussian), the D
//! probabilities p_d for [`Bernoulli`](crate::Bernoulli). Raw coordinates are where the EM map of a mixture —
//! an average of sufficient statistics — is closest to linear, which is what SQUAREM's
//! extrapolation assumes (the Gaussian-mixture crate measured far fewer rejected
//! extrapolations than in log/logit coordinates). An extrapolation outside the parameter space
//! (a weight ≤ 0 or weights not summing to 1 within 1e-8, a negative rate, a variance below
//! the family's floor, a probability outside [0, 1]) is a typed error from the family's own
//! constructor, and the SQUAREM guard falls back to the plain EM step.
//!
//! Family settings that are not parameters — a [`Gaussian`](crate::Gaussian)'s variance floor, an
//! [`Exponential`](crate::Exponential)'s rate cap — are kept from the component being set.
//!
//! ```
//! use em_core::{Em, Squarem};
//! use mixture::{Mixture, Poisson};
//!
//! // Hasselblad's deaths per day: EM for this two-Poisson mixture is notoriously slow.
//! let days = [162, 267, 271, 185, 111, 61, 27, 8, 3, 1];
//! let deaths: Vec<u64> = (0u64..).zip(days).flat_map(|(y, n)| std::iter::repeat_n(y, n)).collect();
//! let start = || Mixture::new(vec![0.5, 0.5], vec![Poisson::new(1.0)?, Poisson::new(3.0)?]);
//! // At the defaults both stop within 1e-6 (relative) of the optimum: plain EM after
//! // about 3400 iterations, SQUAREM after about 110 E-steps.
//! let plain = Em::new().fit(&mut start()?, &deaths[..])?;
//! let fast = Em::new().accelerate(Squarem).fit(&mut start()?, &deaths[..])?;
//! assert!(plain.converged && fast.converged);
//! assert!(fast.e_steps * 5 < plain.e_steps);
//! assert!((fast.objective() - plain.objective()).abs() < 1e-9);
//! # Ok::<(), em_core::EmError>(())
//! ```

use em_core::{EmError, ParameterVector};

pub use em_family::ComponentParameters;

use crate::mixture::Mixture;

impl<C: ComponentParameters> ParameterVector for Mixture<Vec<C>> {
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
