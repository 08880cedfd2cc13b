//! Gaussian emissions, p(x_t | z_t = s) = N(x_t | μ_s, Σ_s), with full or diagonal
//! covariances, on sequences stored as T×D matrices (one step per row).
//!
//! Densities never form an inverse: a full covariance is kept with its lower Cholesky factor
//! L (Σ = L Lᵀ), Mahalanobis distances come from the triangular solve L y = x − μ, and
//! log|Σ| = 2 Σ log L_ii. Statistics per state are (N_s, mean, centred scatter), merged across
//! sequences with the pairwise update of Chan, Golub and LeVeque (1979), as the `gmm` crate
//! does, so that data far from the origin keep full precision.

use em_core::{EmError, Statistics};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::emission::{Emission, bad_sequence, bad_step};
use crate::model::Hmm;

/// ½ log 2π.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Smallest fraction of a feature's variance that its Cholesky pivot may retain before the
/// matrix is treated as singular (the `gmm` crate's rule).
const SINGULAR_PIVOT: f64 = 1e-12;

/// How the states' covariance matrices are constrained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CovarianceType {
    /// Each state has its own general covariance matrix.
    #[default]
    Full,
    /// Each state has its own diagonal covariance matrix.
    Diag,
}

/// The covariance parameters of the states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Covariances {
    /// S symmetric positive-definite matrices of D×D.
    Full(Vec<DMatrix<f64>>),
    /// S×D variances (row s = state s).
    Diag(DMatrix<f64>),
}

impl Covariances {
    /// The structure of these covariances.
    pub fn covariance_type(&self) -> CovarianceType {
        match self {
            Covariances::Full(_) => CovarianceType::Full,
            Covariances::Diag(_) => CovarianceType::Diag,
        }
    }
}

/// Precomputed factors: lower Cholesky factors, or precisions 1/σ² for diagonal models.
#[derive(Debug, Clone, PartialEq)]
enum Factors {
    Full(Vec<DMatrix<f64>>),
    Diag(DMatrix<f64>),
}

/// Gaussian emissions for S states in D dimensions; sequences are `DMatrix<f64>` with one
/// step per row (T×D).
///
/// Always valid: means finite, covariances symmetric positive definite (their Cholesky
/// factors are cached). The M-step is maximum likelihood, then the optional
/// [`reg_covar`](Self::with_reg_covar) ridge.
///
/// ```
/// use hmm::{Covariances, Gaussian};
/// use nalgebra::dmatrix;
/// let g = Gaussian::new(dmatrix![0.0; 5.0], Covariances::Diag(dmatrix![1.0; 2.0]))?;
/// assert_eq!((g.n_states(), g.n_features()), (2, 1));
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GaussianSpec", into = "GaussianSpec")]
pub struct Gaussian {
    means: DMatrix<f64>,
    covariances: Covariances,
    reg_covar: f64,
    factors: Factors,
    /// −(D/2) log 2π − ½ log|Σ_s|.
    log_norm: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GaussianSpec {
    means: DMatrix<f64>,
    covariances: Covariances,
    #[serde(default)]
    reg_covar: f64,
}

impl TryFrom<GaussianSpec> for Gaussian {
    type Error = EmError;
    fn try_from(s: GaussianSpec) -> Result<Self, EmError> {
        Gaussian::new(s.means, s.covariances)?.with_reg_covar(s.reg_covar)
    }
}

impl From<Gaussian> for GaussianSpec {
    fn from(g: Gaussian) -> Self {
        GaussianSpec {
            means: g.means,
            covariances: g.covariances,
            reg_covar: g.reg_covar,
        }
    }
}

/// The lower Cholesky factor of a symmetric matrix, or `NotPositiveDefinite` naming `state`.
fn cholesky(m: &DMatrix<f64>, state: usize, context: &str) -> Result<DMatrix<f64>, EmError> {
    let fail = |why: &str| EmError::NotPositiveDefinite {
        component: state,
        detail: format!("state {state}, {context}: {why}"),
    };
    if m.iter().any(|v| !v.is_finite()) {
        return Err(fail("it has non-finite entries"));
    }
    let l = nalgebra::Cholesky::new(m.clone())
        .ok_or_else(|| fail("Cholesky factorisation failed"))?
        .unpack();
    if l.diagonal().iter().any(|&v| !(v > 0.0 && v.is_finite())) {
        return Err(fail("a pivot is zero"));
    }
    if let Some(j) = (0..m.nrows()).find(|&j| l[(j, j)] * l[(j, j)] <= SINGULAR_PIVOT * m[(j, j)]) {
        return Err(fail(&format!(
            "feature {j} is (numerically) a linear combination of the features before it"
        )));
    }
    Ok(l)
}

/// Factors and normalising constants of validated-shape covariances.
fn factorise(cov: &Covariances, d: usize, context: &str) -> Result<(Factors, Vec<f64>), EmError> {
    let base = -(d as f64) * HALF_LN_2PI;
    match cov {
        Covariances::Full(c) => {
            let mut ls = Vec::with_capacity(c.len());
            let mut log_norm = Vec::with_capacity(c.len());
            for (s, m) in c.iter().enumerate() {
                check_symmetric(m, s, context)?;
                let l = cholesky(m, s, context)?;
                log_norm.push(base - l.diagonal().iter().map(|v| v.ln()).sum::<f64>());
                ls.push(l);
            }
            Ok((Factors::Full(ls), log_norm))
        }
        Covariances::Diag(v) => {
            let mut prec = DMatrix::zeros(v.nrows(), v.ncols());
            let mut log_norm = vec![base; v.nrows()];
            for s in 0..v.nrows() {
                for j in 0..v.ncols() {
                    let var = v[(s, j)];
                    if !(var > 0.0 && var.is_finite()) {
                        return Err(EmError::NotPositiveDefinite {
                            component: s,
                            detail: format!(
                                "state {s}, {context}: variance {var:e} of feature {j} is not positive"
                            ),
                        });
                    }
                    prec[(s, j)] = 1.0 / var;
                    log_norm[s] -= 0.5 * var.ln();
                }
            }
            Ok((Factors::Diag(prec), log_norm))
        }
    }
}

/// Rejects a covariance matrix that is not symmetric to 1e-10 relative.
fn check_symmetric(m: &DMatrix<f64>, state: usize, context: &str) -> Result<(), EmError> {
    let scale = m.amax().max(f64::MIN_POSITIVE);
    for i in 0..m.nrows() {
        for j in 0..i {
            let (a, b) = (m[(i, j)], m[(j, i)]);
            if (a - b).abs() > 1e-10 * scale || (a - b).is_nan() {
                return Err(EmError::NotPositiveDefinite {
                    component: state,
                    detail: format!(
                        "state {state}, {context}: not symmetric, entry ({i}, {j}) = {a} but ({j}, {i}) = {b}"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Checks one sequence against `d` features: at least one step, `d` columns, finite values.
fn check_sequence(x: &DMatrix<f64>, d: usize, index: usize) -> Result<usize, EmError> {
    if x.nrows() == 0 {
        return Err(bad_sequence(
            index,
            "is empty (0 steps); every sequence needs at least one step",
        ));
    }
    if x.ncols() != d {
        return Err(bad_sequence(
            index,
            format!(
                "dimension mismatch: it has {} features, the model has {d}",
                x.ncols()
            ),
        ));
    }
    if x.iter().any(|v| !v.is_finite()) {
        for t in 0..x.nrows() {
            for j in 0..d {
                let v = x[(t, j)];
                if !v.is_finite() {
                    return Err(bad_step(
                        index,
                        t,
                        Some(j),
                        format!("value {v} in feature {j} is not finite"),
                    ));
                }
            }
        }
    }
    Ok(x.nrows())
}

impl Gaussian {
    /// Gaussian emissions with means (S×D, row s = μ_s) and covariances of either structure.
    ///
    /// Fails with [`EmError::InvalidParameter`] for shapes that disagree or non-finite means,
    /// and with [`EmError::NotPositiveDefinite`] naming the state for a covariance that is
    /// not symmetric positive definite (or a variance ≤ 0).
    pub fn new(means: DMatrix<f64>, covariances: Covariances) -> Result<Self, EmError> {
        let (s, d) = means.shape();
        if s == 0 || d == 0 {
            return Err(EmError::InvalidParameter {
                name: "means",
                reason: format!("need at least one state and one feature, got {s}×{d}"),
            });
        }
        if let Some((k, v)) = means.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "means",
                reason: format!("state {} has a non-finite mean {v}", k % s),
            });
        }
        let ok = match &covariances {
            Covariances::Full(c) => c.len() == s && c.iter().all(|m| m.shape() == (d, d)),
            Covariances::Diag(v) => v.shape() == (s, d),
        };
        if !ok {
            return Err(EmError::InvalidParameter {
                name: "covariances",
                reason: match covariances {
                    Covariances::Full(_) => format!("expected {s} matrices of {d}×{d}"),
                    Covariances::Diag(_) => format!("expected a {s}×{d} matrix of variances"),
                },
            });
        }
        let (factors, log_norm) = factorise(&covariances, d, "given covariances")?;
        Ok(Gaussian {
            means,
            covariances,
            reg_covar: 0.0,
            factors,
            log_norm,
        })
    }

    /// Sets the ridge added to every variance after each M-step (scikit-learn's
    /// `reg_covar`; default 0).
    ///
    /// It keeps covariances positive definite when a state collapses onto few points, but it
    /// is **not a prior**: with `reg_covar > 0` the M-step is no longer the exact maximiser
    /// and the log-likelihood may (rarely, by tiny amounts) decrease.
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Result<Self, EmError> {
        if !(reg_covar >= 0.0 && reg_covar.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "reg_covar",
                reason: format!("must be finite and ≥ 0, got {reg_covar}"),
            });
        }
        self.reg_covar = reg_covar;
        Ok(self)
    }

    /// Number of states S.
    pub fn n_states(&self) -> usize {
        self.means.nrows()
    }

    /// Number of features D.
    pub fn n_features(&self) -> usize {
        self.means.ncols()
    }

    /// State means, S×D (row s is μ_s).
    pub fn means(&self) -> &DMatrix<f64> {
        &self.means
    }

    /// The covariances, in the form of their structure.
    pub fn covariances(&self) -> &Covariances {
        &self.covariances
    }

    /// The covariance structure.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariances.covariance_type()
    }

    /// The full D×D covariance matrix of state `s`, or `None` if `s ≥ S`.
    pub fn covariance(&self, s: usize) -> Option<DMatrix<f64>> {
        (s < self.n_states()).then(|| match &self.covariances {
            Covariances::Full(c) => c[s].clone(),
            Covariances::Diag(v) => DMatrix::from_diagonal(&v.row(s).transpose()),
        })
    }

    /// The `reg_covar` ridge of the M-step.
    pub fn reg_covar(&self) -> f64 {
        self.reg_covar
    }

    /// L_s with Σ_s = L_s L_sᵀ.
    fn cholesky_factor(&self, s: usize) -> DMatrix<f64> {
        match &self.factors {
            Factors::Full(ls) => ls[s].clone(),
            Factors::Diag(p) => {
                DMatrix::from_diagonal(&DVector::from_fn(self.n_features(), |j, _| {
                    p[(s, j)].sqrt().recip()
                }))
            }
        }
    }
}

/// Per-state expected sufficient statistics of Gaussian emissions.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianStats {
    /// N_s = Σ_t γ_t(s), length S.
    pub n: DVector<f64>,
    /// γ-weighted means m_s, S×D (row s is 0 when N_s = 0).
    pub means: DMatrix<f64>,
    /// Centred scatter M2_s = Σ_t γ_t(s) (x_t − m_s)(x_t − m_s)ᵀ.
    pub scatter: Scatter,
}

/// The centred scatter of each state.
#[derive(Debug, Clone, PartialEq)]
pub enum Scatter {
    /// One D×D matrix per state (full covariances).
    Full(Vec<DMatrix<f64>>),
    /// S×D diagonals (diagonal covariances).
    Diag(DMatrix<f64>),
}

impl GaussianStats {
    /// Statistics of no observations.
    pub fn zeros(s: usize, d: usize, covariance_type: CovarianceType) -> Self {
        GaussianStats {
            n: DVector::zeros(s),
            means: DMatrix::zeros(s, d),
            scatter: match covariance_type {
                CovarianceType::Full => Scatter::Full(vec![DMatrix::zeros(d, d); s]),
                CovarianceType::Diag => Scatter::Diag(DMatrix::zeros(s, d)),
            },
        }
    }

    /// Whether these statistics fit S states, D features and the given structure.
    fn fits(&self, s: usize, d: usize, kind: CovarianceType) -> bool {
        self.n.len() == s
            && self.means.shape() == (s, d)
            && match (&self.scatter, kind) {
                (Scatter::Full(m), CovarianceType::Full) => {
                    m.len() == s && m.iter().all(|m| m.shape() == (d, d))
                }
                (Scatter::Diag(m), CovarianceType::Diag) => m.shape() == (s, d),
                _ => false,
            }
    }
}

impl Statistics for GaussianStats {
    /// Chan et al.'s pairwise update: N = Nₐ + N_b, m = mₐ + (N_b/N) δ,
    /// M2 = M2ₐ + M2_b + (Nₐ N_b / N) δ δᵀ with δ = m_b − mₐ.
    fn merge(&mut self, later: &Self) {
        let d = self.means.ncols();
        for k in 0..self.n.len() {
            let (na, nb) = (self.n[k], later.n[k]);
            if nb == 0.0 {
                continue;
            }
            if na == 0.0 {
                self.n[k] = nb;
                self.means.set_row(k, &later.means.row(k));
                match (&mut self.scatter, &later.scatter) {
                    (Scatter::Full(a), Scatter::Full(b)) => a[k].copy_from(&b[k]),
                    (Scatter::Diag(a), Scatter::Diag(b)) => a.set_row(k, &b.row(k)),
                    _ => {}
                }
                continue;
            }
            let n = na + nb;
            let delta: Vec<f64> = (0..d)
                .map(|j| later.means[(k, j)] - self.means[(k, j)])
                .collect();
            let cross = na * nb / n;
            for (j, dj) in delta.iter().enumerate() {
                self.means[(k, j)] += dj * (nb / n);
            }
            match (&mut self.scatter, &later.scatter) {
                (Scatter::Full(a), Scatter::Full(b)) => {
                    let (a, b) = (&mut a[k], &b[k]);
                    for c in 0..d {
                        for r in c..d {
                            let v = a[(r, c)] + b[(r, c)] + cross * delta[r] * delta[c];
                            a[(r, c)] = v;
                            a[(c, r)] = v;
                        }
                    }
                }
                (Scatter::Diag(a), Scatter::Diag(b)) => {
                    for (j, dj) in delta.iter().enumerate() {
                        a[(k, j)] += b[(k, j)] + cross * dj * dj;
                    }
                }
                _ => {}
            }
            self.n[k] = n;
        }
    }
}

/// Σ a_i b_i.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Emission for Gaussian {
    type Sequence = DMatrix<f64>;
    type Stats = GaussianStats;

    fn n_states(&self) -> usize {
        self.means.nrows()
    }

    fn check(&self, sequence: &DMatrix<f64>, index: usize) -> Result<usize, EmError> {
        check_sequence(sequence, self.n_features(), index)
    }

    /// Mahalanobis distances by forward substitution along each feature column (contiguous
    /// in nalgebra's column-major layout), vectorised across the steps of the sequence.
    fn log_densities(&self, x: &DMatrix<f64>, out: &mut [f64]) {
        let (t_len, d) = x.shape();
        let s_count = self.n_states();
        let data = x.as_slice();
        let mut maha = vec![0.0; t_len];
        let mut y = vec![
            0.0;
            if matches!(self.factors, Factors::Full(_)) {
                t_len * d
            } else {
                0
            }
        ];
        for s in 0..s_count {
            maha.fill(0.0);
            match &self.factors {
                Factors::Full(ls) => {
                    let l = &ls[s];
                    for j in 0..d {
                        let (done, rest) = y.split_at_mut(j * t_len);
                        let yj = &mut rest[..t_len];
                        let mu = self.means[(s, j)];
                        for (v, &xi) in yj.iter_mut().zip(&data[j * t_len..(j + 1) * t_len]) {
                            *v = xi - mu;
                        }
                        for p in 0..j {
                            let ljp = l[(j, p)];
                            if ljp != 0.0 {
                                for (v, &yp) in yj.iter_mut().zip(&done[p * t_len..(p + 1) * t_len])
                                {
                                    *v -= ljp * yp;
                                }
                            }
                        }
                        let inv = 1.0 / l[(j, j)];
                        for (m, v) in maha.iter_mut().zip(yj.iter_mut()) {
                            *v *= inv;
                            *m += *v * *v;
                        }
                    }
                }
                Factors::Diag(prec) => {
                    for j in 0..d {
                        let (mu, p) = (self.means[(s, j)], prec[(s, j)]);
                        for (m, &xi) in maha.iter_mut().zip(&data[j * t_len..(j + 1) * t_len]) {
                            let z = xi - mu;
                            *m += z * z * p;
                        }
                    }
                }
            }
            let c = self.log_norm[s];
            for (t, m) in maha.iter().enumerate() {
                out[t * s_count + s] = c - 0.5 * m;
            }
        }
    }

    fn zero_stats(&self) -> GaussianStats {
        GaussianStats::zeros(self.n_states(), self.n_features(), self.covariance_type())
    }

    /// Per state: N_s, the γ-weighted mean (shifted by the sequence's first value, so a
    /// constant feature has an exactly zero scatter) and the centred scatter; then merged
    /// into `stats` with Chan's update.
    fn accumulate(&self, x: &DMatrix<f64>, gamma: &[f64], stats: &mut GaussianStats) {
        let (t_len, d) = x.shape();
        let s_count = self.n_states();
        let data = x.as_slice();
        let mut part = self.zero_stats();
        let mut g = vec![0.0; t_len];
        let mut dx = vec![0.0; t_len * d];
        let mut wdx = vec![0.0; t_len * d];
        for s in 0..s_count {
            for (t, v) in g.iter_mut().enumerate() {
                *v = gamma[t * s_count + s];
            }
            let n: f64 = g.iter().sum();
            if n.is_nan() || n <= 0.0 {
                continue;
            }
            part.n[s] = n;
            for j in 0..d {
                let col = &data[j * t_len..(j + 1) * t_len];
                let shift = col[0];
                let mean = shift
                    + col
                        .iter()
                        .zip(&g)
                        .map(|(x, g)| g * (x - shift))
                        .sum::<f64>()
                        / n;
                part.means[(s, j)] = mean;
                for (((o, w), &xi), &gi) in dx[j * t_len..(j + 1) * t_len]
                    .iter_mut()
                    .zip(&mut wdx[j * t_len..(j + 1) * t_len])
                    .zip(col)
                    .zip(&g)
                {
                    *o = xi - mean;
                    *w = gi * *o;
                }
            }
            match &mut part.scatter {
                Scatter::Full(m) => {
                    for a in 0..d {
                        for b in 0..=a {
                            let v = dot(
                                &wdx[a * t_len..(a + 1) * t_len],
                                &dx[b * t_len..(b + 1) * t_len],
                            );
                            m[s][(a, b)] = v;
                            m[s][(b, a)] = v;
                        }
                    }
                }
                Scatter::Diag(m) => {
                    for j in 0..d {
                        m[(s, j)] = dot(
                            &wdx[j * t_len..(j + 1) * t_len],
                            &dx[j * t_len..(j + 1) * t_len],
                        );
                    }
                }
            }
        }
        stats.merge(&part);
    }

    /// Σ_s [N_s (−(D/2) log 2π − ½ log|Σ_s|) − ½ tr(Σ_s⁻¹ (M2_s + N_s δ_s δ_sᵀ))],
    /// δ_s = m_s − μ_s; NaN for statistics of another shape.
    fn expected_log_density(&self, stats: &GaussianStats) -> f64 {
        let (s_count, d) = (self.n_states(), self.n_features());
        if !stats.fits(s_count, d, self.covariance_type()) {
            return f64::NAN;
        }
        let mut total = 0.0;
        for s in 0..s_count {
            let n = stats.n[s];
            if n == 0.0 {
                continue;
            }
            let delta = DVector::from_fn(d, |j, _| stats.means[(s, j)] - self.means[(s, j)]);
            let quad = match (&self.factors, &stats.scatter) {
                (Factors::Full(ls), Scatter::Full(m2)) => {
                    let l = &ls[s];
                    let trace = l
                        .solve_lower_triangular(&m2[s])
                        .and_then(|z| l.solve_lower_triangular(&z.transpose()))
                        .map_or(f64::NAN, |w| w.trace());
                    let maha = l
                        .solve_lower_triangular(&delta)
                        .map_or(f64::NAN, |y| y.norm_squared());
                    trace + n * maha
                }
                (Factors::Diag(p), Scatter::Diag(m2)) => (0..d)
                    .map(|j| p[(s, j)] * (m2[(s, j)] + n * delta[j] * delta[j]))
                    .sum(),
                _ => f64::NAN,
            };
            total += n * self.log_norm[s] - 0.5 * quad;
        }
        total
    }

    /// μ_s = m_s and Σ_s = M2_s / N_s (+ `reg_covar` on the diagonal) for every state with
    /// N_s > 0; a state with N_s = 0 keeps its parameters. Fails with
    /// [`EmError::NotPositiveDefinite`] naming the state when a new covariance is singular.
    fn maximise(&mut self, stats: &GaussianStats) -> Result<(), EmError> {
        let (s_count, d) = (self.n_states(), self.n_features());
        if !stats.fits(s_count, d, self.covariance_type()) {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "Gaussian statistics of another shape (expected {s_count} states, {d} features, {} covariances)",
                    match self.covariance_type() {
                        CovarianceType::Full => "full",
                        CovarianceType::Diag => "diagonal",
                    }
                ),
            });
        }
        let mut means = self.means.clone();
        let mut covariances = self.covariances.clone();
        for s in 0..s_count {
            let n = stats.n[s];
            if !(n > 0.0 && n.is_finite()) {
                continue;
            }
            means.set_row(s, &stats.means.row(s));
            match (&mut covariances, &stats.scatter) {
                (Covariances::Full(c), Scatter::Full(m2)) => {
                    let mut m = &m2[s] / n;
                    for j in 0..d {
                        m[(j, j)] += self.reg_covar;
                    }
                    c[s] = m;
                }
                (Covariances::Diag(v), Scatter::Diag(m2)) => {
                    for j in 0..d {
                        v[(s, j)] = m2[(s, j)] / n + self.reg_covar;
                    }
                }
                _ => {}
            }
        }
        let (factors, log_norm) = factorise(&covariances, d, "after the M-step")?;
        self.means = means;
        self.covariances = covariances;
        self.factors = factors;
        self.log_norm = log_norm;
        Ok(())
    }

    fn sample<R: Rng + ?Sized>(&self, states: &[usize], rng: &mut R) -> DMatrix<f64> {
        let d = self.n_features();
        let factors: Vec<DMatrix<f64>> = (0..self.n_states())
            .map(|s| self.cholesky_factor(s))
            .collect();
        let mut x = DMatrix::zeros(states.len(), d);
        for (t, &s) in states.iter().enumerate() {
            let z = DVector::from_fn(d, |_, _| rng.sample::<f64, _>(StandardNormal));
            let v = self.means.row(s).transpose() + &factors[s] * z;
            x.set_row(t, &v.transpose());
        }
        x
    }

    fn n_parameters(&self) -> usize {
        let (s, d) = (self.n_states(), self.n_features());
        s * d
            + match self.covariance_type() {
                CovarianceType::Full => s * d * (d + 1) / 2,
                CovarianceType::Diag => s * d,
            }
    }
}

impl Hmm<Gaussian> {
    /// A random starting point for EM on `sequences`: means at S steps chosen by k-means++
    /// seeding (uniform first pick, then proportional to the squared distance to the nearest
    /// mean already chosen), every state's covariance the pooled covariance of all steps
    /// (its diagonal for [`CovarianceType::Diag`]), uniform initial probabilities and
    /// transitions A = ½ I + 1/(2S). Use it as the initialiser of
    /// [`Em::fit_restarts`](em_core::Em::fit_restarts).
    ///
    /// Errors: a bad sequence (named), [`EmError::TooFewObservations`] with fewer steps than
    /// states, [`EmError::NotPositiveDefinite`] when the pooled covariance is singular.
    pub fn random_start<R: Rng + ?Sized>(
        n_states: usize,
        covariance_type: CovarianceType,
        sequences: &[DMatrix<f64>],
        rng: &mut R,
    ) -> Result<Self, EmError> {
        if n_states == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_states",
                reason: "must be at least 1".into(),
            });
        }
        let first = sequences.first().ok_or(EmError::EmptyData)?;
        let d = first.ncols();
        if d == 0 {
            return Err(bad_sequence(0, "has no features"));
        }
        let mut n_steps = 0;
        for (i, x) in sequences.iter().enumerate() {
            n_steps += check_sequence(x, d, i)?;
        }
        if n_steps < n_states {
            return Err(EmError::TooFewObservations {
                n_obs: n_steps,
                n_components: n_states,
            });
        }
        let rows: Vec<DVector<f64>> = sequences
            .iter()
            .flat_map(|x| x.row_iter().map(|r| r.transpose()).collect::<Vec<_>>())
            .collect();
        // k-means++ seeding.
        let mut means = DMatrix::zeros(n_states, d);
        let mut nearest = vec![f64::INFINITY; rows.len()];
        let mut pick = rng.random_range(0..rows.len());
        for s in 0..n_states {
            means.set_row(s, &rows[pick].transpose());
            for (dist, r) in nearest.iter_mut().zip(&rows) {
                *dist = dist.min((r - &rows[pick]).norm_squared());
            }
            let total: f64 = nearest.iter().sum();
            pick = if total > 0.0 && total.is_finite() {
                crate::model::draw(&nearest, rng)
            } else {
                rng.random_range(0..rows.len())
            };
        }
        // Pooled (biased) covariance.
        let n = rows.len() as f64;
        let mean = rows.iter().fold(DVector::zeros(d), |a, r| a + r) / n;
        let cov = rows.iter().fold(DMatrix::zeros(d, d), |a, r| {
            let c = r - &mean;
            a + &c * c.transpose()
        }) / n;
        let covariances = match covariance_type {
            CovarianceType::Full => Covariances::Full(vec![cov; n_states]),
            CovarianceType::Diag => {
                Covariances::Diag(DMatrix::from_fn(n_states, d, |_, j| cov[(j, j)]))
            }
        };
        let emission = Gaussian::new(means, covariances).map_err(|e| match e {
            EmError::NotPositiveDefinite { component, detail } => EmError::NotPositiveDefinite {
                component,
                detail: format!("random start from the pooled covariance of the data ({detail})"),
            },
            other => other,
        })?;
        Hmm::new(
            DVector::from_element(n_states, 1.0 / n_states as f64),
            sticky_transitions(n_states),
            emission,
        )
    }

    /// Sets the emissions' `reg_covar` ridge (see [`Gaussian::with_reg_covar`]).
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Result<Self, EmError> {
        let g = self.emission().clone().with_reg_covar(reg_covar)?;
        *self.emission_mut() = g;
        Ok(self)
    }
}

/// A = ½ I + 1/(2S): each state keeps itself with probability ½ + 1/(2S).
pub(crate) fn sticky_transitions(s: usize) -> DMatrix<f64> {
    DMatrix::from_fn(s, s, |i, j| if i == j { 0.5 } else { 0.0 } + 0.5 / s as f64)
}
