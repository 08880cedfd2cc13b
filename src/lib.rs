//! # em
//!
//! Expectation–Maximization for latent-variable models. This facade re-exports the
//! workspace's crates:
//!
//! - [`core`] (`em-core`): the [`LatentModel`](em_core::LatentModel) contract, the
//!   [`Em`](em_core::Em) driver and the invariant checker;
//! - [`gmm`]: Gaussian mixture models.
//!
//! See the README for a quick start and a walkthrough of writing your own model.

pub use em_core as core;
pub use em_core::{EStep, Em, EmError, FitReport, Fitted, LatentModel, Statistics};
pub use gmm;

/// The README's code blocks, compiled and run as doctests so the README cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
