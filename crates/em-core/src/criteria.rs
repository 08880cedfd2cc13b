//! Information criteria for choosing between fitted models: written once, for every model.
//!
//! Lower is better for both. With L the maximised likelihood, p the number of free parameters
//! and n the number of observations the likelihood sums over:
//!
//! - BIC = −2 log L + p log n (Schwarz 1978; as scikit-learn's `GaussianMixture.bic`, whereas
//!   mclust reports its negative, 2 log L − p log n, to be maximised);
//! - AIC = −2 log L + 2p (Akaike 1974).
//!
//! ```
//! use em_core::criteria::{aic, bic};
//! assert_eq!(bic(-100.0, 3, 50), 200.0 + 3.0 * 50f64.ln());
//! assert_eq!(aic(-100.0, 3), 206.0);
//! ```

/// Bayesian information criterion −2 log L + p log n, from a total log-likelihood, the number
/// of free parameters p and the number of observations n (for an HMM: time steps).
pub fn bic(log_likelihood: f64, n_parameters: usize, n_obs: usize) -> f64 {
    -2.0 * log_likelihood + n_parameters as f64 * (n_obs as f64).ln()
}

/// Akaike information criterion −2 log L + 2p.
pub fn aic(log_likelihood: f64, n_parameters: usize) -> f64 {
    -2.0 * log_likelihood + 2.0 * n_parameters as f64
}
