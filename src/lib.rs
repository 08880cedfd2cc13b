//! # em
//!
//! Expectation–Maximization for latent-variable models. This facade re-exports the
//! workspace's crates:
//!
//! - [`core`] (`em-core`): the [`LatentModel`] contract, the
//!   [`Em`] driver and the invariant checker;
//! - [`family`] (`em-family`): the family layer — the one-component families and the
//!   Gaussian machinery that mixtures and HMMs share;
//! - [`gmm`]: Gaussian mixture models (and a re-export of the zero-inflated Poisson model);
//! - [`io`] (`em-io`): reading data — numeric CSV in memory or streamed, a binary table format;
//! - [`mixture`]: mixtures of pluggable component families, and the zero-inflated Poisson model
//!   built on them;
//! - [`hmm`]: hidden Markov models (Baum–Welch) with Gaussian or categorical emissions;
//! - [`regression`] (`em-regression`): mixtures of regressions (Gaussian and Poisson responses);
//! - [`factor`] (`em-factor`): mixtures of factor analysers and probabilistic PCA;
//! - [`variational`] (`em-variational`): variational Bayes Gaussian mixtures (scikit-learn's
//!   `BayesianGaussianMixture`), fitted by the same driver.
//!
//! See the README for a quick start and a walkthrough of writing your own model.

#![warn(missing_docs)]

pub use em_core as core;
pub use em_core::{EStep, Em, EmError, FitReport, Fitted, LatentModel, Statistics, Stopping};
pub use em_factor as factor;
pub use em_family as family;
pub use em_io as io;
pub use em_regression as regression;
pub use em_variational as variational;
pub use gmm;
pub use hmm;
pub use mixture;

/// The README's code blocks, compiled and run as doctests so the README cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
