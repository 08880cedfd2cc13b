//! The score, gradient ascent and standard errors for every mixture: [`Differentiable`] for
//! [`Mixture`] over any family with a [`FamilyGradient`].
//!
//! Coordinates: the K − 1 log-ratio weights log(π_k / π_{K−1}), then the family's
//! ([`FamilyGradient::coordinates`]). Since Σ_k N_k log π_k is the weights' part of the
//! expected complete log-likelihood, its gradient is N_k − N π_k (plus (α − 1)(1 − Kπ_k) under a
//! symmetric Dirichlet prior of concentration α); the family adds its own.
//!
//! ```
//! use em_core::information::{standard_errors, InformationMethod};
//! use em_core::{Em, gradient::score};
//! use mixture::{Mixture, Poisson};
//!
//! let days = [162, 267, 271, 185, 111, 61, 27, 8, 3, 1];
//! let deaths: Vec<u64> = (0u64..).zip(days).flat_map(|(y, n)| std::iter::repeat_n(y, n)).collect();
//! let mut model = Mixture::new(vec![0.5, 0.5], vec![Poisson::new(1.0)?, Poisson::new(3.0)?])?;
//! Em::new().fit(&mut model, &deaths[..])?;
//! // At the maximum the score vanishes…
//! assert!(score(&model, &deaths[..])?.gradient.iter().all(|g| g.abs() < 1e-2));
//! // …and the curvature there gives standard errors of π_0, π_1, λ_0 and λ_1.
//! let se = standard_errors(&model, &deaths[..], InformationMethod::Observed)?;
//! assert_eq!(se.names, ["π_0", "π_1", "component 0: λ", "component 1: λ"]);
//! assert!(se.standard_errors.iter().all(|s| s.is_finite() && *s > 0.0));
//! # Ok::<(), em_core::EmError>(())
//! ```

use em_core::{Differentiable, EmError};
use em_family::FamilyGradient;
use em_family::gradient::{from_log_ratios, log_ratio_names, log_ratios, simplex_gradient};

use crate::mixture::Mixture;

impl<F: FamilyGradient> Differentiable for Mixture<F> {
    fn coordinates(&self) -> Result<Vec<f64>, EmError> {
        let mut out = log_ratios(self.weights(), "π")?;
        out.extend(self.family().coordinates()?);
        Ok(out)
    }

    fn set_coordinates(&mut self, eta: &[f64]) -> Result<(), EmError> {
        let k = self.n_components();
        if eta.len() < k - 1 {
            return Err(EmError::InvalidParameter {
                name: "coordinates",
                reason: format!("expected at least {} values, got {}", k - 1, eta.len()),
            });
        }
        if let Some((i, v)) = eta.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "coordinates",
                reason: format!("entry {i} is {v}"),
            });
        }
        let (weights, rest) = eta.split_at(k - 1);
        let family = self.family().with_coordinates(rest)?;
        self.set_parts(from_log_ratios(weights), family)
    }

    fn coordinate_names(&self) -> Vec<String> {
        let mut out = log_ratio_names("π", self.n_components());
        out.extend(self.family().coordinate_names());
        out
    }

    fn complete_gradient(&self, stats: &F::Stats) -> Result<Vec<f64>, EmError> {
        let weights = self.weights();
        let counts = self.family().component_weights(stats);
        if counts.len() != weights.len() {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics of {} components, but the mixture has {}",
                    counts.len(),
                    weights.len()
                ),
            });
        }
        let mut out = simplex_gradient(counts, weights);
        if let Some(alpha) = self.family().weight_concentration() {
            let k = weights.len() as f64;
            for (g, p) in out.iter_mut().zip(weights) {
                *g += (alpha - 1.0) * (1.0 - k * p);
            }
        }
        out.extend(self.family().gradient(stats)?);
        Ok(out)
    }

    fn natural_parameters(&self) -> Vec<f64> {
        let mut out = self.weights().to_vec();
        out.extend(self.family().natural_parameters());
        out
    }

    fn natural_parameter_names(&self) -> Vec<String> {
        let mut out: Vec<String> = (0..self.n_components()).map(|k| format!("π_{k}")).collect();
        out.extend(self.family().natural_parameter_names());
        out
    }
}
