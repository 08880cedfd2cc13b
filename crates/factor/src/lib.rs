//! # em-factor
//!
//! Mixtures of factor analysers (MFA, Ghahramani & Hinton 1996) and of probabilistic PCA
//! (MPPCA, Tipping & Bishop 1999): p(x) = Σ_k π_k N(x | μ_k, W_k W_kᵀ + Ψ_k) with W_k D × q
//! and Ψ_k diagonal (per component or shared) or σ_k² I, fitted by EM on the family layer.
//!
//! The point is high dimension: with q ≪ D a component has O(D q) parameters instead of
//! O(D²), and nothing here costs more than O(D q) per row or O(D q²) per component and
//! iteration — the D × D covariance is never formed (the determinant lemma and Woodbury's
//! identity give the density; the factors' posterior is q × q).
//!
//! * [`FactorAnalyser`]: one component, N(μ, W Wᵀ + Ψ), its density and factor posterior;
//! * [`FactorFamily`]: K components as an [`em_family::Family`] — the E-step of the factors
//!   as statistics (with their posterior entropy, so that the EM invariants hold exactly), and
//!   the closed-form M-step for W̃ = [W μ] and Ψ;
//! * [`FactorMixture`]: the typed model (on `mixture::Mixture`): predict, score, sample,
//!   BIC, serde, SQUAREM's [`em_core::ParameterVector`]; fit it with
//!   [`FactorMixture::builder`].
//!
//! ```
//! use em_factor::{FactorMixture, NoiseStructure};
//! use nalgebra::DMatrix;
//!
//! // 300 rows in 8 dimensions that vary along two directions, plus noise.
//! let x = DMatrix::from_fn(300, 8, |i, j| {
//!     let (a, b) = (((i * 37) % 101) as f64 / 10.0, ((i * 53) % 97) as f64 / 10.0);
//!     a * (j as f64 + 1.0) / 8.0 + b * ((j % 3) as f64) + (((i * 7 + j * 13) % 17) as f64) / 17.0
//! });
//! let fit = FactorMixture::builder(1, 2).noise(NoiseStructure::Diagonal).fit(&x)?;
//! let model = &fit.model;
//! assert_eq!(model.loadings(0).map(|w| w.shape()), Some((8, 2)));
//! let sigma = model.covariance(0).unwrap(); // W Wᵀ + Ψ, 8 × 8
//! assert!(sigma[(0, 0)] > 0.0);
//! println!("mean log-likelihood {}", model.score(&x)?);
//! # Ok::<(), em_core::EmError>(())
//! ```

#![warn(missing_docs)]

mod analyser;
mod family;
mod fit;
mod model;
mod pca;

pub use analyser::FactorAnalyser;
pub use family::{FactorFamily, FactorStats, NoiseStructure};
pub use fit::FactorMixtureBuilder;
pub use model::FactorMixture;
