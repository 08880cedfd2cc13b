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
//! // 400 rows in 50 dimensions: two clusters, each varying along two directions.
//! let x = DMatrix::from_fn(400, 50, |i, j| {
//!     let (a, b) = (((i * 37) % 101) as f64 / 25.0, ((i * 53) % 97) as f64 / 25.0);
//!     let centre = if i % 2 == 0 { 0.0 } else { 6.0 };
//!     centre + a * ((j % 5) as f64 - 2.0) / 2.0 + b * ((j % 7) as f64 - 3.0) / 3.0
//!         + (((i * 7 + j * 13) % 17) as f64 - 8.0) / 17.0
//! });
//! let fit = FactorMixture::builder(2, 2)      // K = 2 components, q = 2 factors
//!     .noise(NoiseStructure::Diagonal)        // MFA; Isotropic = mixtures of PPCA
//!     .n_init(2)
//!     .seed(7)
//!     .fit(&x)?;
//! let model = &fit.model;
//! let w = model.loadings(0).unwrap();         // 50 × 2, up to rotation
//! let psi = model.noise(0).unwrap();          // 50 noise variances
//! let labels = model.predict(&x)?;
//! assert_eq!((w.shape(), psi.len(), labels.len()), ((50, 2), 50, 400));
//! assert!(labels.iter().enumerate().all(|(i, &k)| k == labels[i % 2]));
//! println!("converged {}, BIC {}", fit.report.converged, model.bic(&x)?);
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
