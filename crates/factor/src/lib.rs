//! # em-factor
//!
//! Mixtures of factor analysers and of probabilistic PCA: Σ_k = W_k W_kᵀ + Ψ_k, fitted by EM on
//! the family layer.

#![warn(missing_docs)]
