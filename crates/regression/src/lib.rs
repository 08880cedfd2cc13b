//! # em-regression
//!
//! Mixtures of regressions: y | x, z = k ~ N(xᵀβ_k, σ_k²) or Poisson(exp(xᵀβ_k)), fitted by EM on
//! the family layer.

#![warn(missing_docs)]
