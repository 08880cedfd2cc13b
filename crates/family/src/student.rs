//! K multivariate Student-t distributions as a [`Family`]: robust mixtures (McLachlan & Peel
//! 2000, *Finite Mixture Models*, ch. 7).
//!
//! A t_ν(μ, Σ) row is a Gaussian N(μ, Σ/u) whose precision scale u ~ Gamma(ν/2, ν/2) is a second
//! latent variable, inside the component (as the structural zero is inside a zero-inflated
//! one). Given the row and its component, u's posterior is Gamma(α, β) with α = (ν + D)/2,
//! β = (ν + δ)/2 and δ = (x − μ)ᵀΣ⁻¹(x − μ) the Mahalanobis distance, so
//!
//! * E\[u\] = (ν + D)/(ν + δ): an outlier (large δ) gets a small weight in the M-step;
//! * E[log u] = ψ(α) − log β, and the posterior's entropy α − log β + log Γ(α) + (1 − α)ψ(α).
//!
//! **Statistics** per component: n = Σγ, the Gaussian statistics accumulated with weights γ·E\[u\]
//! (b = Σγu, the u-weighted mean m and scatter M2), a = Σγ E[log u] and h = Σγ H(q(u)).
//!
//! **Σγ log f** is then exact at the E-step's parameters (the inner ELBO, with the entropy h),
//! and a lower bound elsewhere:
//! −n(D/2 log 2π + ½ log|Σ|) + (D/2)a − ½ tr(Σ⁻¹(M2 + b(m − μ)(m − μ)ᵀ)) + n(ν/2 log(ν/2) −
//! log Γ(ν/2)) + (ν/2 − 1)a − (ν/2)b + h.
//!
//! **M-step**, the exact maximiser of that: μ = m, Σ = M2/n (Σγu(x − μ)(x − μ)ᵀ / Σγ; the four
//! covariance structures as the Gaussian family's, the `tied` one Σ_k M2_k / Σ_k n_k), then ν
//! per component as the root of log(ν/2) − ψ(ν/2) + 1 + (a − b)/n = 0, unique because the
//! left side decreases in ν (the objective is concave in ν), found by bisection in log ν within
//! [`DOF_RANGE`]. ν may also be fixed. Every step is exact, so this is EM, not just ECM, and the invariant checker holds.
//!
//! Densities come from the Gaussian family's vectorised kernel (log N gives δ), so a t mixture
//! costs little more than a Gaussian one.

use std::ops::{Range, RangeInclusive};

use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rand_distr::{Gamma, StandardNormal};
use statrs::function::gamma::{digamma, ln_gamma};

use crate::family::{Family, check_batch_shape};
use crate::gaussian::{
    CovarianceType, GaussianStats, Gaussians, HALF_LN_2PI, Scatter, check_data, check_reg_covar,
};

/// The degrees of freedom an estimate may take: below 0.1 the t has almost no mass near its
/// centre; above 200 it is nearly Gaussian and ν is barely determined by the data (on Old
/// Faithful, ν = 200 instead of the unbounded estimate 297 costs 0.008 in log-likelihood).
/// teigen and EMMIX cap ν at 200 too.
pub const DOF_RANGE: RangeInclusive<f64> = 0.1..=200.0;

/// Checks component `k`'s degrees of freedom `nu` against [`DOF_RANGE`].
///
/// ```
/// use em_family::student::check_dof;
/// assert!(check_dof(0, 4.0).is_ok());
/// assert!(check_dof(1, 0.0).is_err());
/// ```
///
/// # Errors
/// [`EmError::InvalidParameter`] naming `dof` and the component.
pub fn check_dof(k: usize, nu: f64) -> Result<(), EmError> {
    if DOF_RANGE.contains(&nu) {
        return Ok(());
    }
    Err(EmError::InvalidParameter {
        name: "dof",
        reason: format!(
            "component {k} has ν = {nu}; degrees of freedom must lie in [{}, {}]",
            DOF_RANGE.start(),
            DOF_RANGE.end()
        ),
    })
}

/// How the degrees of freedom ν_k are set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DofRule {
    /// Estimated per component by the M-step (within [`DOF_RANGE`]).
    Estimated,
    /// Held at their values.
    Fixed,
}

/// K Student-t distributions t_ν_k(μ_k, Σ_k) in D dimensions, with the `reg_covar` ridge of the
/// Gaussian family. Always valid.
///
/// ```
/// use em_family::Family;
/// use em_family::gaussian::{Covariances, Gaussians};
/// use em_family::student::{DofRule, StudentFamily};
/// use nalgebra::{dmatrix, dvector};
///
/// let g = Gaussians::new(dmatrix![0.0; 5.0], Covariances::Spherical(dvector![1.0, 1.0]))?;
/// let t = StudentFamily::new(g, vec![4.0, 30.0], DofRule::Estimated)?;
/// // log t_4(3 | 0, 1) = log Γ(5/2) − log Γ(2) − ½ log(4π) − (5/2) log(1 + 9/4)
/// let mut out = [0.0; 2];
/// t.log_densities(&dmatrix![3.0], 0..1, None, &mut out, &mut Vec::new());
/// let expected = statrs::function::gamma::ln_gamma(2.5) - (4.0 * std::f64::consts::PI).ln() / 2.0
///     - 2.5 * (1.0f64 + 9.0 / 4.0).ln();
/// assert!((out[0] - expected).abs() < 1e-12);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StudentFamily {
    gaussians: Gaussians,
    dof: Vec<f64>,
    rule: DofRule,
    reg_covar: f64,
}

/// Statistics of K Student-t components (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct StudentStats {
    /// n_k = Σγ.
    pub n: Vec<f64>,
    /// The Gaussian statistics with weights γ·E\[u\]: b_k = Σγu, the u-weighted means and scatter.
    pub weighted: GaussianStats,
    /// a_k = Σγ E[log u].
    pub log_u: Vec<f64>,
    /// h_k = Σγ H(q(u)).
    pub entropy: Vec<f64>,
}

impl Statistics for StudentStats {
    fn merge(&mut self, later: &Self) {
        let add = |a: &mut Vec<f64>, b: &Vec<f64>| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.n, &later.n);
        add(&mut self.log_u, &later.log_u);
        add(&mut self.entropy, &later.entropy);
        self.weighted.merge(&later.weighted);
    }
}

impl ScalableStatistics for StudentStats {
    fn scale(&mut self, factor: f64) {
        for v in [&mut self.n, &mut self.log_u, &mut self.entropy] {
            v.iter_mut().for_each(|x| *x *= factor);
        }
        self.weighted.scale(factor);
    }
}

/// The posterior of the scale u of a row at Mahalanobis distance δ from a component with ν
/// degrees of freedom in D dimensions: (E\[u\], E[log u], H(q(u))).
fn scale_posterior(nu: f64, d: f64, delta: f64) -> (f64, f64, f64) {
    let alpha = 0.5 * (nu + d);
    let beta = 0.5 * (nu + delta);
    let psi = digamma(alpha);
    let ln_beta = beta.ln();
    (
        alpha / beta,
        psi - ln_beta,
        alpha - ln_beta + ln_gamma(alpha) + (1.0 - alpha) * psi,
    )
}

/// The ν in [`DOF_RANGE`] that maximises n(ν/2 log(ν/2) − log Γ(ν/2)) + (ν/2)(a − b): the root of
/// log(ν/2) − ψ(ν/2) + c with c = 1 + (a − b)/n, by bisection in log ν.
fn dof_update(n: f64, a: f64, b: f64) -> f64 {
    let c = 1.0 + (a - b) / n;
    let slope = |nu: f64| (0.5 * nu).ln() - digamma(0.5 * nu) + c;
    let (lo, hi) = (*DOF_RANGE.start(), *DOF_RANGE.end());
    if slope(hi) >= 0.0 {
        return hi;
    }
    if slope(lo) <= 0.0 {
        return lo;
    }
    let (mut a_log, mut b_log) = (lo.ln(), hi.ln());
    for _ in 0..200 {
        let mid = 0.5 * (a_log + b_log);
        if slope(mid.exp()) > 0.0 {
            a_log = mid;
        } else {
            b_log = mid;
        }
        if b_log - a_log < 1e-15 {
            break;
        }
    }
    (0.5 * (a_log + b_log)).exp()
}

impl StudentFamily {
    /// The family of `gaussians` (locations and scale matrices) with degrees of freedom `dof`
    /// (one per component) and how they are set, without a ridge.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `dof` unless there is one per component, each
    /// within [`DOF_RANGE`].
    pub fn new(gaussians: Gaussians, dof: Vec<f64>, rule: DofRule) -> Result<Self, EmError> {
        if dof.len() != gaussians.n_components() {
            return Err(EmError::InvalidParameter {
                name: "dof",
                reason: format!(
                    "expected {} degrees of freedom (one per component), got {}",
                    gaussians.n_components(),
                    dof.len()
                ),
            });
        }
        dof.iter()
            .enumerate()
            .try_for_each(|(k, &nu)| check_dof(k, nu))?;
        Ok(StudentFamily {
            gaussians,
            dof,
            rule,
            reg_covar: 0.0,
        })
    }

    /// Sets the ridge the M-step adds to every variance.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`reg_covar`) unless it is finite and ≥ 0.
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Result<Self, EmError> {
        check_reg_covar(reg_covar)?;
        self.reg_covar = reg_covar;
        Ok(self)
    }

    /// The locations μ_k and scale matrices Σ_k (the covariance is Σ_k ν/(ν − 2) for ν > 2).
    pub fn gaussians(&self) -> &Gaussians {
        &self.gaussians
    }

    /// The degrees of freedom ν_k.
    pub fn dof(&self) -> &[f64] {
        &self.dof
    }

    /// Whether the M-step estimates ν.
    pub fn dof_rule(&self) -> DofRule {
        self.rule
    }

    /// The ridge.
    pub fn reg_covar(&self) -> f64 {
        self.reg_covar
    }

    /// This family with other parameters, keeping its rule and ridge.
    ///
    /// # Errors
    /// As [`StudentFamily::new`].
    pub fn with_parts(&self, gaussians: Gaussians, dof: Vec<f64>) -> Result<Self, EmError> {
        Ok(StudentFamily {
            reg_covar: self.reg_covar,
            ..StudentFamily::new(gaussians, dof, self.rule)?
        })
    }

    /// The Mahalanobis distances δ_ik (component-major, `out[k·c + i]`) of the rows of a
    /// checked batch, from the Gaussian kernel's log-densities.
    pub fn mahalanobis(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        let c = rows.len();
        self.gaussians.log_densities(x, rows, out, scratch);
        let d = self.gaussians.n_features() as f64;
        for (k, slot) in out.chunks_exact_mut(c.max(1)).enumerate() {
            let constant = -d * HALF_LN_2PI - 0.5 * self.gaussians.log_det(k);
            slot.iter_mut()
                .for_each(|v| *v = (2.0 * (constant - *v)).max(0.0));
        }
    }

    /// E[u | x, component k] for every row and component (`out[k·c + i]`): the weight each
    /// row gets in component k's M-step, small for outliers.
    pub fn scale_weights(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        let c = rows.len();
        self.mahalanobis(x, rows, out, scratch);
        let d = self.gaussians.n_features() as f64;
        for (slot, &nu) in out.chunks_exact_mut(c.max(1)).zip(&self.dof) {
            slot.iter_mut().for_each(|v| *v = (nu + d) / (nu + *v));
        }
    }

    /// The statistics with the scatter rescaled so that the Gaussian M-step, which divides by
    /// b_k = Σγu, divides by n_k = Σγ instead (for `tied`, by Σn over Σb).
    fn rescaled(&self, stats: &StudentStats) -> GaussianStats {
        let mut out = stats.weighted.clone();
        let b = stats.weighted.n.as_slice();
        let factor: Vec<f64> = match self.gaussians.covariance_type() {
            CovarianceType::Tied => {
                let ratio = b.iter().sum::<f64>() / stats.n.iter().sum::<f64>();
                vec![ratio; b.len()]
            }
            _ => b
                .iter()
                .zip(&stats.n)
                .map(|(b, n)| if *n > 0.0 { b / n } else { 1.0 })
                .collect(),
        };
        match &mut out.scatter {
            Scatter::Full(ms) => ms.iter_mut().zip(&factor).for_each(|(m, f)| *m *= *f),
            Scatter::Diag(m) => {
                for (k, f) in factor.iter().enumerate() {
                    m.row_mut(k).iter_mut().for_each(|v| *v *= f);
                }
            }
        }
        out
    }
}

/// Draws of a [`StudentFamily`]: row-major values.
#[derive(Debug, Clone)]
pub struct StudentDraws {
    values: Vec<f64>,
    cholesky: Vec<DMatrix<f64>>,
}

impl Family for StudentFamily {
    type Data = DMatrix<f64>;
    type Stats = StudentStats;
    type Sample = StudentDraws;
    type Owned = DMatrix<f64>;

    fn n_components(&self) -> usize {
        self.gaussians.n_components()
    }

    fn n_features(&self) -> usize {
        self.gaussians.n_features()
    }

    /// The Gaussians' K·D means and covariance parameters, plus K degrees of freedom when
    /// they are estimated.
    fn n_parameters(&self) -> usize {
        let (k, d) = (self.n_components(), self.n_features());
        let dof = if self.rule == DofRule::Estimated {
            k
        } else {
            0
        };
        k * d + self.gaussians.covariance_type().n_parameters(k, d) + dof
    }

    /// The Gaussians' scaled parameters, then each ν relative to itself.
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut out = self.gaussians.scaled_parameters();
        self.dof.iter().for_each(|&nu| out.push_relative(nu));
        Some(out)
    }

    fn check_data(&self, x: &DMatrix<f64>) -> Result<(), EmError> {
        check_data(x, Some(self.n_features()))
    }

    fn check_batch(&self, x: &DMatrix<f64>, rows: Range<usize>) -> Result<(), EmError> {
        check_batch_shape(self.n_features(), x.ncols(), &rows, x.nrows())
    }

    fn block_rows(&self) -> usize {
        crate::gaussian::block_rows(self.n_features())
    }

    /// log t_ν(x | μ, Σ) = log Γ((ν + D)/2) − log Γ(ν/2) − (D/2) log(νπ) − ½ log|Σ| −
    /// ((ν + D)/2) log(1 + δ/ν), with δ from the Gaussian kernel.
    fn log_densities(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        offsets: Option<&[f64]>,
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        let c = rows.len();
        self.mahalanobis(x, rows, out, scratch);
        let d = self.n_features() as f64;
        for (k, slot) in out.chunks_exact_mut(c.max(1)).enumerate() {
            let nu = self.dof[k];
            let constant = ln_gamma(0.5 * (nu + d))
                - ln_gamma(0.5 * nu)
                - 0.5 * d * (nu * std::f64::consts::PI).ln()
                - 0.5 * self.gaussians.log_det(k)
                + offsets.map_or(0.0, |o| o[k]);
            let power = 0.5 * (nu + d);
            slot.iter_mut()
                .for_each(|v| *v = constant - power * (*v / nu).ln_1p());
        }
    }

    fn zero_stats(&self, _: &DMatrix<f64>) -> StudentStats {
        let (k, d) = (self.n_components(), self.n_features());
        StudentStats {
            n: vec![0.0; k],
            weighted: GaussianStats::zeros(k, d, self.gaussians.covariance_type()),
            log_u: vec![0.0; k],
            entropy: vec![0.0; k],
        }
    }

    /// The scale posteriors of every row and component, then the Gaussian statistics with
    /// weights γ·E\[u\].
    fn accumulate(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
        gamma: &[f64],
        sample_weights: Option<&[f64]>,
        scratch: &mut Vec<f64>,
    ) -> StudentStats {
        let (c, k_count) = (rows.len(), self.n_components());
        let d = self.n_features() as f64;
        let mut weights = vec![0.0; k_count * c];
        self.mahalanobis(x, rows.clone(), &mut weights, scratch);
        let mut stats = self.zero_stats(x);
        for k in 0..k_count {
            let nu = self.dof[k];
            for i in 0..c {
                let slot = k * c + i;
                let g = gamma[slot] * sample_weights.map_or(1.0, |w| w[i]);
                let (u, log_u, entropy) = scale_posterior(nu, d, weights[slot]);
                weights[slot] = gamma[slot] * u;
                if g > 0.0 {
                    stats.n[k] += g;
                    stats.log_u[k] += g * log_u;
                    stats.entropy[k] += g * entropy;
                }
            }
        }
        stats.weighted = self
            .gaussians
            .accumulate(x, rows, &weights, sample_weights, scratch);
        stats
    }

    fn component_weights<'s>(&self, stats: &'s StudentStats) -> &'s [f64] {
        &stats.n
    }

    /// The inner ELBO of the [module docs](self), summed over components with weight.
    fn expected_log_density(&self, stats: &StudentStats) -> f64 {
        let d = self.n_features() as f64;
        (0..self.n_components())
            .filter(|&k| stats.n[k] > 0.0)
            .map(|k| {
                let (n, a, h) = (stats.n[k], stats.log_u[k], stats.entropy[k]);
                let b = stats.weighted.n[k];
                let nu = self.dof[k];
                let mahalanobis = if b > 0.0 {
                    self.gaussians.expected_mahalanobis(&stats.weighted, k)
                } else {
                    0.0
                };
                -n * (d * HALF_LN_2PI + 0.5 * self.gaussians.log_det(k)) + 0.5 * d * a
                    - 0.5 * mahalanobis
                    + n * (0.5 * nu * (0.5 * nu).ln() - ln_gamma(0.5 * nu))
                    + (0.5 * nu - 1.0) * a
                    - 0.5 * nu * b
                    + h
            })
            .sum()
    }

    /// μ, Σ by the Gaussian M-step on the u-weighted statistics (Σ divided by Σγ), then ν.
    fn maximise(&mut self, stats: &StudentStats) -> Result<(), EmError> {
        let (k_count, d) = (self.n_components(), self.n_features());
        if stats.n.len() != k_count
            || !stats
                .weighted
                .fits(k_count, d, self.gaussians.covariance_type())
        {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "expected the statistics of {k_count} t components in {d} features"
                ),
            });
        }
        let gaussians = self
            .gaussians
            .maximise(&self.rescaled(stats), self.reg_covar)?;
        let dof = match self.rule {
            DofRule::Fixed => self.dof.clone(),
            DofRule::Estimated => (0..k_count)
                .map(|k| {
                    if stats.n[k] > 0.0 {
                        dof_update(stats.n[k], stats.log_u[k], stats.weighted.n[k])
                    } else {
                        self.dof[k]
                    }
                })
                .collect(),
        };
        self.gaussians = gaussians;
        self.dof = dof;
        Ok(())
    }

    fn new_sample(&self, capacity: usize) -> StudentDraws {
        StudentDraws {
            values: Vec::with_capacity(capacity * self.n_features()),
            cholesky: (0..self.n_components())
                .filter_map(|k| self.gaussians.cholesky(k))
                .collect(),
        }
    }

    /// μ_k + L_k z / √u with z ~ N(0, I), u ~ Gamma(ν/2, rate ν/2).
    fn draw<R: Rng + ?Sized>(&self, k: usize, rng: &mut R, sample: &mut StudentDraws) {
        let d = self.n_features();
        let nu = self.dof[k];
        let u = Gamma::new(0.5 * nu, 2.0 / nu).map_or(1.0, |g| rng.sample(g));
        let z = DVector::from_fn(d, |_, _| rng.sample::<f64, _>(StandardNormal));
        let row = self.gaussians.means().row(k).transpose() + (&sample.cholesky[k] * z) / u.sqrt();
        sample.values.extend(row.iter());
    }

    fn finish_sample(&self, sample: StudentDraws) -> DMatrix<f64> {
        let d = self.n_features();
        let n = sample.values.len() / d.max(1);
        DMatrix::from_row_slice(n, d, &sample.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ν update is the maximiser: the objective is lower a little either side.
    #[test]
    fn dof_update_maximises_its_objective() {
        let objective = |nu: f64, n: f64, a: f64, b: f64| {
            n * (0.5 * nu * (0.5 * nu).ln() - ln_gamma(0.5 * nu)) + 0.5 * nu * (a - b)
        };
        for (n, a, b) in [
            (100.0, -30.0, 95.0),
            (50.0, -80.0, 60.0),
            (10.0, -2.0, 10.5),
        ] {
            let nu = dof_update(n, a, b);
            let f = objective(nu, n, a, b);
            if DOF_RANGE.contains(&(nu * 1.001)) {
                assert!(objective(nu * 1.001, n, a, b) <= f);
            }
            if DOF_RANGE.contains(&(nu * 0.999)) {
                assert!(objective(nu * 0.999, n, a, b) <= f);
            }
        }
    }

    #[test]
    fn scale_posterior_matches_the_gamma_distribution() {
        // Gamma(α, β) with α = 3, β = 2: mean 1.5, E log = ψ(3) − log 2.
        let (u, log_u, _) = scale_posterior(4.0, 2.0, 0.0);
        assert!((u - 1.5).abs() < 1e-15);
        assert!((log_u - (digamma(3.0) - 2f64.ln())).abs() < 1e-15);
    }
}
