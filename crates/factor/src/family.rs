//! K factor analysers as a [`Family`] for the mixture engine: the E-step statistics of the
//! factors (with the entropy of their posterior, so that Σγ log f is exact from statistics)
//! and the closed-form M-step of Ghahramani & Hinton (1996) for the augmented loadings
//! W̃ = [W μ] and z̃ = [z; 1].
//!
//! The statistics, the inner ELBO and the M-step are documented on [`FactorFamily`].

use std::ops::Range;

use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use em_family::Family;
use em_family::check_batch_shape;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::analyser::{Buffers, FactorAnalyser, HALF_LN_2PI};

/// How the noise covariance Ψ is structured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseStructure {
    /// Ψ_k = diag(ψ_k1, …, ψ_kD), one per component: mixtures of factor analysers.
    #[default]
    Diagonal,
    /// One diagonal Ψ shared by all components (Ghahramani & Hinton's original MFA).
    SharedDiagonal,
    /// Ψ_k = σ_k² I: mixtures of probabilistic PCA (Tipping & Bishop).
    Isotropic,
}

impl NoiseStructure {
    /// The name the command line uses: `diagonal`, `shared-diagonal`, `isotropic`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoiseStructure::Diagonal => "diagonal",
            NoiseStructure::SharedDiagonal => "shared-diagonal",
            NoiseStructure::Isotropic => "isotropic",
        }
    }

    /// Free parameters of K components with q factors in D dimensions, mixing weights
    /// excluded: per component D (μ) + D q − q (q − 1)/2 (W up to rotation) + D or 1 (Ψ);
    /// a shared Ψ counts D once.
    ///
    /// ```
    /// use em_factor::NoiseStructure;
    /// assert_eq!(NoiseStructure::Diagonal.n_parameters(2, 5, 2), 2 * (5 + 10 - 1 + 5));
    /// assert_eq!(NoiseStructure::SharedDiagonal.n_parameters(2, 5, 2), 2 * (5 + 10 - 1) + 5);
    /// assert_eq!(NoiseStructure::Isotropic.n_parameters(2, 5, 2), 2 * (5 + 10 - 1 + 1));
    /// ```
    pub fn n_parameters(self, k: usize, d: usize, q: usize) -> usize {
        let per = d + d * q - q * q.saturating_sub(1) / 2;
        match self {
            NoiseStructure::Diagonal => k * (per + d),
            NoiseStructure::SharedDiagonal => k * per + d,
            NoiseStructure::Isotropic => k * (per + 1),
        }
    }
}

impl std::str::FromStr for NoiseStructure {
    type Err = EmError;
    /// `diagonal`, `shared-diagonal` (or `shared`), `isotropic` (or `ppca`).
    fn from_str(s: &str) -> Result<Self, EmError> {
        match s {
            "diagonal" | "diag" => Ok(NoiseStructure::Diagonal),
            "shared-diagonal" | "shared" => Ok(NoiseStructure::SharedDiagonal),
            "isotropic" | "ppca" => Ok(NoiseStructure::Isotropic),
            other => Err(EmError::InvalidParameter {
                name: "noise",
                reason: format!(
                    "unknown noise structure `{other}`; expected diagonal, shared-diagonal or \
                     isotropic"
                ),
            }),
        }
    }
}

/// Expected sufficient statistics of K factor analysers (see [`FactorFamily`] for their definition).
#[derive(Debug, Clone, PartialEq)]
pub struct FactorStats {
    /// N_k = Σγ (times the sample weight), length K.
    pub n: Vec<f64>,
    /// The frame s_k of component k's statistics (its mean at the E-step): y = x − s_k.
    pub shift: Vec<DVector<f64>>,
    /// Σγ y∘y per component (length D).
    pub sum_sq: Vec<DVector<f64>>,
    /// Σγ y E[z̃]ᵀ per component (D × (q + 1)); the last column is Σγ y.
    pub cross: Vec<DMatrix<f64>>,
    /// Σγ E[z̃ z̃ᵀ] per component ((q + 1) × (q + 1)); the last entry is N_k.
    pub latent: Vec<DMatrix<f64>>,
    /// Σ_k Σγ H(q(z | x)): the entropy of the factors' posteriors.
    pub entropy: f64,
}

impl FactorStats {
    /// Statistics of no observations for K components, q factors, in the frames `shift`.
    fn zeros(shift: Vec<DVector<f64>>, q: usize) -> Self {
        let k = shift.len();
        let d = shift.first().map_or(0, |s| s.len());
        FactorStats {
            n: vec![0.0; k],
            sum_sq: vec![DVector::zeros(d); k],
            cross: vec![DMatrix::zeros(d, q + 1); k],
            latent: vec![DMatrix::zeros(q + 1, q + 1); k],
            shift,
            entropy: 0.0,
        }
    }

    /// Whether every part has the shape of K components, D features and q factors.
    fn fits(&self, k: usize, d: usize, q: usize) -> bool {
        self.n.len() == k
            && self.shift.len() == k
            && self.sum_sq.len() == k
            && self.cross.len() == k
            && self.latent.len() == k
            && self.shift.iter().all(|s| s.len() == d)
            && self.sum_sq.iter().all(|s| s.len() == d)
            && self.cross.iter().all(|c| c.shape() == (d, q + 1))
            && self.latent.iter().all(|z| z.shape() == (q + 1, q + 1))
    }
}

impl Statistics for FactorStats {
    /// Adds `later`, first translating each of its components to this one's frame when the
    /// two differ (y' = y + δ with δ = s_later − s_self: Σγ y'∘y' = Σγ y∘y + 2 δ∘Σγ y + N δ²,
    /// Σγ y' E[z̃]ᵀ = Σγ y E[z̃]ᵀ + δ (Σγ E[z̃])ᵀ), which is exact.
    ///
    /// Statistics of another shape (another K, D or q) cannot be merged: the result is
    /// poisoned (its entropy NaN), so that the objective is NaN and the M-step refuses it.
    fn merge(&mut self, later: &Self) {
        let k_count = self.n.len();
        let d = self.shift.first().map_or(0, |s| s.len());
        let q = self.latent.first().map_or(1, |z| z.ncols()).max(1) - 1;
        if !(self.fits(k_count, d, q) && later.fits(k_count, d, q)) {
            self.entropy = f64::NAN;
            return;
        }
        self.entropy += later.entropy;
        for k in 0..k_count {
            self.n[k] += later.n[k];
            let delta = &later.shift[k] - &self.shift[k];
            if delta.iter().all(|v| *v == 0.0) {
                self.sum_sq[k] += &later.sum_sq[k];
                self.cross[k] += &later.cross[k];
            } else {
                let q = later.latent[k].ncols() - 1;
                let sum = later.cross[k].column(q);
                let nk = later.n[k];
                for d in 0..delta.len() {
                    self.sum_sq[k][d] +=
                        later.sum_sq[k][d] + 2.0 * delta[d] * sum[d] + nk * delta[d] * delta[d];
                }
                let ez = later.latent[k].column(q);
                self.cross[k] += &later.cross[k] + &delta * ez.transpose();
            }
            self.latent[k] += &later.latent[k];
        }
    }
}

/// Every sum scales; the frames (`shift`) are reference points and do not.
impl ScalableStatistics for FactorStats {
    fn scale(&mut self, factor: f64) {
        self.n.iter_mut().for_each(|n| *n *= factor);
        self.sum_sq.iter_mut().for_each(|v| *v *= factor);
        self.cross.iter_mut().for_each(|m| *m *= factor);
        self.latent.iter_mut().for_each(|m| *m *= factor);
        self.entropy *= factor;
    }
}

/// K factor analysers with one noise structure: the [`Family`] of a
/// [`FactorMixture`](crate::FactorMixture). Always valid: at least one component, all with the
/// same D and q, and noise variances that follow the structure (equal within a component for
/// [`NoiseStructure::Isotropic`], equal across components for
/// [`NoiseStructure::SharedDiagonal`]).
///
/// # Statistics (per component k, shifted by the E-step's mean s = μ_k, y = x − s)
///
/// N = Σγ, Σγ y∘y (D), C = Σγ y E[z̃]ᵀ (D × (q + 1); its last column is Σγ y),
/// Z = Σγ E[z̃ z̃ᵀ] ((q + 1) × (q + 1), with Σγ E[z zᵀ] = N M⁻¹ + Σγ ẑ ẑᵀ), and
/// h = Σγ H(q(z | x)) = N · H_k. Everything is O(D q) per row and merges by addition (a batch
/// with another shift is translated exactly first).
///
/// # Σγ log f from statistics
///
/// With the parameters in the shifted frame, W̃ = [W, μ − s], and Q_d(w̃) = Σγ y_d² −
/// 2 w̃ᵀ C_d + w̃ᵀ Z w̃ (C_d the d-th row of C), the inner ELBO is
/// −N D/2 log 2π − N/2 Σ_d log ψ_d − ½ Σ_d Q_d / ψ_d − N q/2 log 2π − ½ tr Z_zz + h. At the
/// E-step's parameters it equals Σγ log N(x | μ, Σ) exactly (the KL gap of q(z | x) is 0).
///
/// # M-step (exact, jointly in W̃ and Ψ)
///
/// The objective separates by feature: −N/2 log ψ_d − Q_d(w̃_d) / (2 ψ_d). For every ψ_d the
/// best w̃_d minimises Q_d, so W̃ = C Z⁻¹ whatever Ψ; then ψ_d = Q_d / N (diagonal),
/// Σ_k Q_kd / Σ_k N_k (one diagonal shared by all components) or σ² = Σ_d Q_d / (N D)
/// (isotropic, PPCA), with Q_d(w̃_d) = Σγ y_d² − w̃_dᵀ C_d at the optimum. A noise floor, when
/// set, is a constraint ψ ≥ floor: the objective is unimodal in ψ, so clamping keeps the
/// M-step exact for the constrained problem.
///
/// ```
/// use em_factor::{FactorAnalyser, FactorFamily, NoiseStructure};
/// use em_family::Family;
/// use nalgebra::{dmatrix, dvector};
///
/// let a = FactorAnalyser::new(dvector![0.0, 0.0, 0.0], dmatrix![1.0; 1.0; 0.0], dvector![1.0, 1.0, 1.0])?;
/// let family = FactorFamily::new(vec![a], NoiseStructure::Isotropic)?;
/// assert_eq!((family.n_components(), family.n_features(), family.n_parameters()), (1, 3, 3 + 3 + 1));
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FactorFamily {
    components: Vec<FactorAnalyser>,
    noise: NoiseStructure,
    noise_floor: f64,
}

/// How far below the feature's own within-component variance a noise variance may fall
/// before it counts as collapsed (without a floor).
const COLLAPSE_RELATIVE: f64 = 1e-12;

impl FactorFamily {
    /// The family of `components` with noise structure `noise` and no noise floor.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`components`) for no components, components of
    /// different D or q, or noise variances that do not follow `noise` (relative 1e-12).
    pub fn new(components: Vec<FactorAnalyser>, noise: NoiseStructure) -> Result<Self, EmError> {
        let first = components
            .first()
            .ok_or_else(|| EmError::InvalidParameter {
                name: "components",
                reason: "at least one component is needed".into(),
            })?;
        let (d, q) = (first.n_features(), first.n_factors());
        let invalid = |reason: String| EmError::InvalidParameter {
            name: "components",
            reason,
        };
        for (k, c) in components.iter().enumerate() {
            if c.n_features() != d || c.n_factors() != q {
                return Err(invalid(format!(
                    "component {k} has D = {}, q = {} but component 0 has D = {d}, q = {q}",
                    c.n_features(),
                    c.n_factors()
                )));
            }
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs());
            match noise {
                NoiseStructure::Isotropic => {
                    let s = c.noise()[0];
                    if let Some(j) = c.noise().iter().position(|&v| !close(v, s)) {
                        return Err(invalid(format!(
                            "isotropic noise: component {k} has ψ_{j} = {} ≠ ψ_0 = {s}",
                            c.noise()[j]
                        )));
                    }
                }
                NoiseStructure::SharedDiagonal => {
                    if let Some(j) = (0..d).find(|&j| !close(c.noise()[j], first.noise()[j])) {
                        return Err(invalid(format!(
                            "shared noise: component {k} has ψ_{j} = {} but component 0 has {}",
                            c.noise()[j],
                            first.noise()[j]
                        )));
                    }
                }
                NoiseStructure::Diagonal => {}
            }
        }
        Ok(FactorFamily {
            components,
            noise,
            noise_floor: 0.0,
        })
    }

    /// Sets the noise floor: the M-step keeps every noise variance ≥ `floor` (a constrained
    /// maximum likelihood; the M-step stays exact). With the default 0, a noise variance that
    /// collapses (≤ 1e-12 of its feature's variance within the component) is an error.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`noise_floor`) unless finite and ≥ 0.
    pub fn with_noise_floor(mut self, floor: f64) -> Result<Self, EmError> {
        check_noise_floor(floor)?;
        self.noise_floor = floor;
        Ok(self)
    }

    /// The components.
    pub fn components(&self) -> &[FactorAnalyser] {
        &self.components
    }

    /// The noise structure.
    pub fn noise_structure(&self) -> NoiseStructure {
        self.noise
    }

    /// The noise floor of the M-step (0: none).
    pub fn noise_floor(&self) -> f64 {
        self.noise_floor
    }

    /// Number of factors q.
    pub fn n_factors(&self) -> usize {
        self.components[0].n_factors()
    }

    /// Rows per E-step sub-block: about 64 Ki values of centred data per block.
    fn rows_per_block(&self) -> usize {
        (65_536 / self.n_features().max(1)).max(32)
    }

    fn collapse_error(&self, component: usize, feature: usize, value: f64) -> EmError {
        let (whose, why) = match self.noise {
            NoiseStructure::SharedDiagonal => (
                format!("the shared noise variance of feature {feature}"),
                "the feature is (nearly) constant within every component or explained exactly \
                 by the factors",
            ),
            NoiseStructure::Diagonal => (
                format!("the noise variance of feature {feature}"),
                "the feature is (nearly) constant within the component or explained exactly by \
                 the factors",
            ),
            NoiseStructure::Isotropic => (
                "the isotropic noise variance σ²".to_string(),
                "the component's rows (nearly) lie in a q-dimensional affine subspace",
            ),
        };
        EmError::DegenerateComponent {
            component,
            reason: format!(
                "{whose} collapsed to {value:e} ({why}); set a noise floor, use fewer factors \
                 or components, or remove the feature"
            ),
        }
    }
}

/// A noise floor must be finite and ≥ 0.
pub(crate) fn check_noise_floor(floor: f64) -> Result<(), EmError> {
    if !(floor.is_finite() && floor >= 0.0) {
        return Err(EmError::InvalidParameter {
            name: "noise_floor",
            reason: format!("must be finite and ≥ 0, got {floor}"),
        });
    }
    Ok(())
}

/// Checks that `x` has rows, `d` columns and finite values; the first NaN or ±∞ in row order
/// is reported by row and column.
pub(crate) fn check_matrix(x: &DMatrix<f64>, d: usize) -> Result<(), EmError> {
    if x.nrows() == 0 {
        return Err(EmError::EmptyData);
    }
    if x.ncols() != d {
        return Err(EmError::DimensionMismatch {
            expected: d,
            found: x.ncols(),
        });
    }
    if x.as_slice().iter().any(|v| !v.is_finite()) {
        for row in 0..x.nrows() {
            for column in 0..d {
                let value = x[(row, column)];
                if !value.is_finite() {
                    return Err(EmError::NonFinite { row, column, value });
                }
            }
        }
    }
    Ok(())
}

/// The M-step's per-component result: W̃ = C Z⁻¹ and the residuals Q_d at it.
struct Regression {
    tilde: DMatrix<f64>,
    residual: DVector<f64>,
}

fn regress(stats: &FactorStats, k: usize) -> Result<Regression, EmError> {
    let z = &stats.latent[k];
    let c = &stats.cross[k];
    let z = (z + z.transpose()) * 0.5;
    let chol = z.cholesky().ok_or_else(|| EmError::DegenerateComponent {
        component: k,
        reason: "the second moments of the factors, Σγ E[z̃ z̃ᵀ], are not positive definite".into(),
    })?;
    // W̃ᵀ = Z⁻¹ Cᵀ.
    let tilde = chol.solve(&c.transpose()).transpose();
    let d = c.nrows();
    let mut residual = DVector::zeros(d);
    for j in 0..d {
        let fit: f64 = tilde.row(j).dot(&c.row(j));
        residual[j] = (stats.sum_sq[k][j] - fit).max(0.0);
    }
    if tilde.iter().any(|v| !v.is_finite()) || residual.iter().any(|v| !v.is_finite()) {
        return Err(EmError::DegenerateComponent {
            component: k,
            reason: "the M-step's loadings are not finite".into(),
        });
    }
    Ok(Regression { tilde, residual })
}

impl Family for FactorFamily {
    type Data = DMatrix<f64>;
    type Stats = FactorStats;
    type Sample = Vec<f64>;
    type Owned = DMatrix<f64>;

    fn n_components(&self) -> usize {
        self.components.len()
    }

    fn n_features(&self) -> usize {
        self.components[0].n_features()
    }

    fn n_parameters(&self) -> usize {
        self.noise
            .n_parameters(self.n_components(), self.n_features(), self.n_factors())
    }

    /// Per component: μ_d and the loadings W_dj in their canonical rotation
    /// ([`FactorAnalyser::canonical_loadings`]: W is identified only up to a rotation, along
    /// which EM need not settle) in units of the implied standard deviation √Σ_dd, then the
    /// noise variances relative to themselves (once for a shared Ψ, one σ² when isotropic).
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut out = ScaledParameters::new();
        for c in &self.components {
            let sd: Vec<f64> = (0..c.n_features())
                .map(|d| (c.loadings().row(d).norm_squared() + c.noise()[d]).sqrt())
                .collect();
            for (d, s) in sd.iter().enumerate() {
                out.push(c.mean()[d], *s);
            }
            let canonical = c.canonical_loadings();
            for j in 0..c.n_factors() {
                for (d, s) in sd.iter().enumerate() {
                    out.push(canonical[(d, j)], *s);
                }
            }
        }
        push_noise(&self.components, self.noise, |v| out.push_relative(v));
        Some(out)
    }

    fn check_data(&self, data: &DMatrix<f64>) -> Result<(), EmError> {
        check_matrix(data, self.n_features())
    }

    fn check_batch(&self, data: &DMatrix<f64>, rows: Range<usize>) -> Result<(), EmError> {
        check_batch_shape(self.n_features(), data.ncols(), &rows, data.nrows())
    }

    fn block_rows(&self) -> usize {
        self.rows_per_block()
    }

    fn log_densities(
        &self,
        data: &DMatrix<f64>,
        rows: Range<usize>,
        offsets: Option<&[f64]>,
        out: &mut [f64],
        _: &mut Vec<f64>,
    ) {
        let c = rows.len();
        let mut buf = Buffers::default();
        for (k, (comp, slot)) in self
            .components
            .iter()
            .zip(out.chunks_exact_mut(c.max(1)))
            .enumerate()
        {
            // In blocks of rows, so that the centred rows (block × D) stay small when the
            // engine scores a whole batch at once (prediction).
            let block = self.rows_per_block();
            for start in rows.clone().step_by(block) {
                let end = (start + block).min(rows.end);
                let at = start - rows.start;
                comp.log_densities_into(
                    data,
                    start..end,
                    &mut slot[at..at + end - start],
                    &mut buf,
                );
            }
            if let Some(offsets) = offsets {
                slot.iter_mut().for_each(|v| *v += offsets[k]);
            }
        }
    }

    fn zero_stats(&self, _: &DMatrix<f64>) -> FactorStats {
        FactorStats::zeros(
            self.components.iter().map(|c| c.mean().clone()).collect(),
            self.n_factors(),
        )
    }

    /// The inner E-step: q(z | x) = N(M⁻¹ Wᵀ Ψ⁻¹ (x − μ), M⁻¹) for every row and component,
    /// accumulated with weights γ (times the sample weights).
    fn accumulate(
        &self,
        data: &DMatrix<f64>,
        rows: Range<usize>,
        gamma: &[f64],
        sample_weights: Option<&[f64]>,
        _: &mut Vec<f64>,
    ) -> FactorStats {
        let c = rows.len();
        let q = self.n_factors();
        let mut stats = self.zero_stats(data);
        let mut buf = Buffers::default();
        let mut scratch = vec![0.0; c];
        for (k, comp) in self.components.iter().enumerate() {
            let g: Vec<f64> = (0..c)
                .map(|i| gamma[k * c + i] * sample_weights.map_or(1.0, |w| w[i]))
                .collect();
            let nk: f64 = g.iter().sum();
            if nk <= 0.0 {
                continue;
            }
            // Centred rows and r = E Ψ⁻¹ W (the densities are discarded).
            comp.log_densities_into(data, rows.clone(), &mut scratch, &mut buf);
            let zhat = comp.posterior_means_of(&buf); // c × q
            let mut zg = zhat.clone();
            for (i, &gi) in g.iter().enumerate() {
                zg.row_mut(i).scale_mut(gi);
            }
            let d = comp.n_features();
            let cross = &mut stats.cross[k];
            let yz = buf.centred.tr_mul(&zg); // D × q
            cross.view_mut((0, 0), (d, q)).copy_from(&yz);
            for j in 0..d {
                let col = buf.centred.column(j);
                let (mut s1, mut s2) = (0.0, 0.0);
                for (&e, &gi) in col.iter().zip(&g) {
                    s1 += gi * e;
                    s2 += gi * e * e;
                }
                cross[(j, q)] = s1;
                stats.sum_sq[k][j] = s2;
            }
            let latent = &mut stats.latent[k];
            let zz = zhat.tr_mul(&zg) + comp.posterior_covariance() * nk;
            latent.view_mut((0, 0), (q, q)).copy_from(&zz);
            for a in 0..q {
                let s: f64 = zg.column(a).sum();
                latent[(a, q)] = s;
                latent[(q, a)] = s;
            }
            latent[(q, q)] = nk;
            stats.n[k] = nk;
            stats.entropy += nk * comp.posterior_entropy();
        }
        stats
    }

    fn component_weights<'s>(&self, stats: &'s FactorStats) -> &'s [f64] {
        &stats.n
    }

    /// The inner ELBO of [`FactorFamily`]'s documentation, summed over the components with weight.
    fn expected_log_density(&self, stats: &FactorStats) -> f64 {
        let q = self.n_factors();
        if !stats.fits(self.n_components(), self.n_features(), q) {
            return f64::NAN;
        }
        let mut total = stats.entropy;
        for (k, comp) in self.components.iter().enumerate() {
            let nk = stats.n[k];
            if nk <= 0.0 {
                continue;
            }
            let d = comp.n_features();
            let mut tilde = DMatrix::zeros(d, q + 1);
            tilde.view_mut((0, 0), (d, q)).copy_from(comp.loadings());
            let offset = comp.mean() - &stats.shift[k];
            tilde.set_column(q, &offset);
            let tz = &tilde * &stats.latent[k]; // D × (q + 1)
            let mut weighted = 0.0;
            let mut log_noise = 0.0;
            for j in 0..d {
                let q_d = stats.sum_sq[k][j] - 2.0 * tilde.row(j).dot(&stats.cross[k].row(j))
                    + tz.row(j).dot(&tilde.row(j));
                let psi = comp.noise()[j];
                weighted += q_d / psi;
                log_noise += psi.ln();
            }
            let trace_zz: f64 = (0..q).map(|a| stats.latent[k][(a, a)]).sum();
            total += -nk * (d + q) as f64 * HALF_LN_2PI
                - 0.5 * nk * log_noise
                - 0.5 * weighted
                - 0.5 * trace_zz;
        }
        total
    }

    fn maximise(&mut self, stats: &FactorStats) -> Result<(), EmError> {
        let (k_count, d, q) = (self.n_components(), self.n_features(), self.n_factors());
        if !stats.fits(k_count, d, q) || stats.entropy.is_nan() {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "statistics of another shape than the family's {k_count} components, \
                     {d} features and {q} factors (or merged from statistics of another shape)"
                ),
            });
        }
        let mut fits: Vec<Option<Regression>> = Vec::with_capacity(k_count);
        for k in 0..k_count {
            fits.push(if stats.n[k] > 0.0 {
                Some(regress(stats, k)?)
            } else {
                None
            });
        }
        let floor = self.noise_floor;
        // The feature's variance within the component, the scale of a collapse.
        let variance = |k: usize, j: usize| {
            let nk = stats.n[k];
            let m = stats.cross[k][(j, q)] / nk;
            (stats.sum_sq[k][j] / nk - m * m).max(0.0)
        };
        let shared: Option<DVector<f64>> = match self.noise {
            NoiseStructure::SharedDiagonal => {
                let total: f64 = stats.n.iter().filter(|n| **n > 0.0).sum();
                let mut psi = DVector::zeros(d);
                for f in fits.iter().flatten() {
                    psi += &f.residual;
                }
                psi /= total;
                for j in 0..d {
                    let scale: f64 = (0..k_count)
                        .filter(|&k| stats.n[k] > 0.0)
                        .map(|k| stats.n[k] * variance(k, j))
                        .sum::<f64>()
                        / total;
                    psi[j] = self.floored(psi[j], scale, 0, j, floor)?;
                }
                Some(psi)
            }
            _ => None,
        };
        let mut next = Vec::with_capacity(k_count);
        for (k, fit) in fits.into_iter().enumerate() {
            let old = &self.components[k];
            let Some(fit) = fit else {
                // No weight: the objective does not involve it; keep it (a shared Ψ moves).
                let noise = shared.clone().unwrap_or_else(|| old.noise().clone());
                next.push(FactorAnalyser::new_in_component(
                    old.mean().clone(),
                    old.loadings().clone(),
                    noise,
                    k,
                )?);
                continue;
            };
            let nk = stats.n[k];
            let noise = match self.noise {
                NoiseStructure::SharedDiagonal => {
                    shared.clone().unwrap_or_else(|| old.noise().clone())
                }
                NoiseStructure::Diagonal => {
                    let mut psi = &fit.residual / nk;
                    for j in 0..d {
                        psi[j] = self.floored(psi[j], variance(k, j), k, j, floor)?;
                    }
                    psi
                }
                NoiseStructure::Isotropic => {
                    let s2 = fit.residual.sum() / (nk * d as f64);
                    let scale = (0..d).map(|j| variance(k, j)).sum::<f64>() / d as f64;
                    DVector::from_element(d, self.floored(s2, scale, k, 0, floor)?)
                }
            };
            let loadings = fit.tilde.columns(0, q).into_owned();
            let mean = &stats.shift[k] + fit.tilde.column(q);
            next.push(FactorAnalyser::new_in_component(mean, loadings, noise, k)?);
        }
        self.components = next;
        Ok(())
    }

    fn zero_density_reason(&self, _: &DMatrix<f64>, _: usize) -> Option<String> {
        None
    }

    fn new_sample(&self, capacity: usize) -> Vec<f64> {
        Vec::with_capacity(capacity * self.n_features())
    }

    /// x = μ + W z + √ψ ∘ ε with z, ε standard normal.
    fn draw<R: Rng + ?Sized>(&self, k: usize, rng: &mut R, sample: &mut Vec<f64>) {
        let c = &self.components[k];
        let z: DVector<f64> =
            DVector::from_fn(c.n_factors(), |_, _| rng.sample::<f64, _>(StandardNormal));
        let wz = c.loadings() * z;
        for d in 0..c.n_features() {
            let e: f64 = rng.sample(StandardNormal);
            sample.push(c.mean()[d] + wz[d] + c.noise()[d].sqrt() * e);
        }
    }

    fn finish_sample(&self, sample: Vec<f64>) -> DMatrix<f64> {
        let d = self.n_features();
        DMatrix::from_row_slice(sample.len() / d, d, &sample)
    }
}

impl FactorFamily {
    /// ψ clamped at the floor; without a floor, a value ≤ 1e-12 of `scale` (or not > 0) is a
    /// collapse.
    fn floored(
        &self,
        value: f64,
        scale: f64,
        component: usize,
        feature: usize,
        floor: f64,
    ) -> Result<f64, EmError> {
        if floor > 0.0 {
            return Ok(if value.is_nan() {
                floor
            } else {
                value.max(floor)
            });
        }
        if !(value.is_finite() && value > COLLAPSE_RELATIVE * scale && value > 0.0) {
            return Err(self.collapse_error(component, feature, value));
        }
        Ok(value)
    }
}

/// Calls `push` with the noise parameters in the order of the parameter vector: K × D for
/// diagonal, D for shared, K for isotropic.
pub(crate) fn push_noise(
    components: &[FactorAnalyser],
    noise: NoiseStructure,
    mut push: impl FnMut(f64),
) {
    match noise {
        NoiseStructure::Diagonal => components
            .iter()
            .for_each(|c| c.noise().iter().for_each(|&v| push(v))),
        NoiseStructure::SharedDiagonal => {
            if let Some(c) = components.first() {
                c.noise().iter().for_each(|&v| push(v));
            }
        }
        NoiseStructure::Isotropic => components.iter().for_each(|c| push(c.noise()[0])),
    }
}
