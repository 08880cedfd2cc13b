//! Information criteria for choosing between fitted models: written once, for every model.
//!
//! Lower is better for all three. With L the maximised likelihood, p the number of free
//! parameters and n the number of observations the likelihood sums over:
//!
//! - BIC = −2 log L + p log n (Schwarz 1978; as scikit-learn's `GaussianMixture.bic`, whereas
//!   mclust reports its negative, 2 log L − p log n, to be maximised);
//! - AIC = −2 log L + 2p (Akaike 1974);
//! - ICL = BIC − 2 Σ_i log max_k z_ik, for a latent-class model with posterior class
//!   probabilities (responsibilities) z_ik: the integrated complete-data likelihood of
//!   Biernacki, Celeux & Govaert (2000), which adds to BIC a penalty for classes that
//!   overlap (see [`icl`]).
//!
//! ```
//! use em_core::criteria::{aic, bic, icl};
//! assert_eq!(bic(-100.0, 3, 50), 200.0 + 3.0 * 50f64.ln());
//! assert_eq!(aic(-100.0, 3), 206.0);
//! // Every observation classified with certainty: ICL = BIC.
//! assert_eq!(icl(-100.0, 3, 50, 0.0), bic(-100.0, 3, 50));
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

/// Integrated complete-data likelihood criterion, lower is better:
///
/// ICL = −2 log L + p log n − 2 Σ_i log max_k z_ik = BIC − 2 `map_log_posterior`,
///
/// where `map_log_posterior` = Σ_i log max_k z_ik is the log posterior probability of each
/// observation's most probable (MAP) class, summed over the n observations: always ≤ 0, and
/// 0 only when every observation is classified with certainty, so ICL ≥ BIC.
///
/// This is the MAP form of Biernacki, Celeux & Govaert (2000), with ẑ the MAP
/// classification, log p(x, ẑ | θ̂) = log L + Σ_i log z_iẑᵢ; and it is mclust's: its `icl()`
/// (mclust 6) returns `bic + 2 * sum(C * log(z))`, C the MAP indicator, which is the negative
/// of this value because mclust's BIC is 2 log L − p log n (larger is better). The other form
/// in the literature (McLachlan & Peel 2000) replaces the MAP term by the soft entropy,
/// BIC + 2·(−Σ_ik z_ik log z_ik); it is not the one computed here.
///
/// ```
/// use em_core::criteria::{bic, icl};
/// // Two observations; the first's most probable class has posterior 0.9, the second's 0.6.
/// let map_log_posterior = 0.9f64.ln() + 0.6f64.ln();
/// let v = icl(-10.0, 2, 2, map_log_posterior);
/// assert!((v - (20.0 + 2.0 * 2f64.ln() - 2.0 * map_log_posterior)).abs() < 1e-12);
/// assert!(v > bic(-10.0, 2, 2));
/// ```
pub fn icl(log_likelihood: f64, n_parameters: usize, n_obs: usize, map_log_posterior: f64) -> f64 {
    bic(log_likelihood, n_parameters, n_obs) - 2.0 * map_log_posterior
}
