//! Zero inflation of any count family C: f(y) = π·[y = 0] + (1 − π)·g(y | θ), a structural
//! zero with probability π, else a draw from C.
//!
//! The structural-zero indicator u is a second latent variable, *inside* the component, and
//! the wrapper runs its E-step itself: for an observation y with outer weight γ (a mixture
//! responsibility, an HMM state posterior, or 1 on its own), the posterior of a structural
//! zero is r = π / f(0) for y = 0 and 0 otherwise. So a zero-inflated family is an ordinary
//! [`Component`] and works wherever a family does — on its own (a one-component
//! `mixture::Mixture`), as the components of a mixture, as an HMM's emissions
//! (`hmm::Hmm<Vec<ZeroInflated<…>>>`).
//!
//! * **Statistics**: n = Σγ, z = Σγr (structural zeros), c = Σγ(1 − r) (count draws), the
//!   count family's statistics accumulated with weights γ(1 − r), and h = Σγ H(r), the entropy
//!   of the inner posterior.
//! * **M-step** (exact, as π and θ separate): π = z / n; θ from C's own M-step on its
//!   statistics (kept as it is when c = 0: every observation is then a structural zero and θ
//!   does not enter the objective).
//! * **Σγ log f** is, from statistics, the inner ELBO
//!   z log π + c log(1 − π) + Σγ(1 − r) log g + h. At the parameters of the E-step it equals
//!   Σγ log f(y) exactly (the inner KL gap is 0); at other parameters it is a lower bound on
//!   it. That is all EM needs: the invariant checker's three relations hold for the whole
//!   model, with the inner latent variable counted in its entropy.
//! * **Boundaries**: π = 0 (no inflation) and π = 1 are allowed; 0 · log 0 = 0.

use em_core::{EmError, ScalableStatistics, ScaledParameters, Statistics};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::component::{Component, OwnedData};
use crate::parameters::ComponentParameters;

/// A count family C with zero inflation π ∈ [0, 1].
///
/// ```
/// use em_family::Component;
/// use em_family::families::{Poisson, ZeroInflated};
///
/// let zip = ZeroInflated::new(0.3, Poisson::new(2.0)?)?;
/// let f0 = 0.3 + 0.7 * (-2.0f64).exp();
/// assert!((zip.ln_pdf(0) - f0.ln()).abs() < 1e-15);
/// assert!((zip.structural_zero_probability() - 0.3 / f0).abs() < 1e-15);
///
/// // One EM step on its own: the inner E-step happens in `accumulate`.
/// let counts = [0u64, 0, 0, 1, 2, 4];
/// let mut stats = zip.zero_stats(&counts[..]);
/// for &y in &counts {
///     zip.accumulate(&mut stats, 1.0, y);
/// }
/// let mut next = zip.clone();
/// next.maximise(&stats, 0)?;
/// assert!((next.pi() - 3.0 * zip.structural_zero_probability() / 6.0).abs() < 1e-15);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ZeroInflatedSpec<C>", into = "ZeroInflatedSpec<C>")]
#[serde(bound(
    serialize = "C: Serialize + Clone",
    deserialize = "C: Deserialize<'de>"
))]
pub struct ZeroInflated<C> {
    pi: f64,
    ln_pi: f64,
    ln_1m_pi: f64,
    counts: C,
}

#[derive(Serialize, Deserialize)]
struct ZeroInflatedSpec<C> {
    pi: f64,
    counts: C,
}

impl<C> TryFrom<ZeroInflatedSpec<C>> for ZeroInflated<C> {
    type Error = EmError;
    fn try_from(s: ZeroInflatedSpec<C>) -> Result<Self, EmError> {
        ZeroInflated::new(s.pi, s.counts)
    }
}

impl<C> From<ZeroInflated<C>> for ZeroInflatedSpec<C> {
    fn from(z: ZeroInflated<C>) -> Self {
        ZeroInflatedSpec {
            pi: z.pi,
            counts: z.counts,
        }
    }
}

impl<C: Default> Default for ZeroInflated<C> {
    /// π = ¼ over the family's default.
    fn default() -> Self {
        ZeroInflated {
            pi: 0.25,
            ln_pi: 0.25f64.ln(),
            ln_1m_pi: 0.75f64.ln(),
            counts: C::default(),
        }
    }
}

impl<C> ZeroInflated<C> {
    /// Zero inflation π over the count distribution `counts`.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`pi`) unless 0 ≤ π ≤ 1.
    pub fn new(pi: f64, counts: C) -> Result<Self, EmError> {
        if !(0.0..=1.0).contains(&pi) {
            return Err(EmError::InvalidParameter {
                name: "pi",
                reason: format!("the zero-inflation probability must be in [0, 1], got {pi}"),
            });
        }
        Ok(ZeroInflated {
            pi,
            ln_pi: pi.ln(),
            ln_1m_pi: (-pi).ln_1p(),
            counts,
        })
    }

    /// The probability π of a structural zero.
    pub fn pi(&self) -> f64 {
        self.pi
    }

    /// The count distribution g.
    pub fn counts(&self) -> &C {
        &self.counts
    }
}

/// log(e^a + e^b), exact when either is −∞.
fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

impl<C: Component<Data = [u64]>> ZeroInflated<C> {
    /// The posterior probability r that a zero is structural, r = π / f(0) (0 for y > 0),
    /// with log f(0).
    fn structural_zero(&self) -> (f64, f64) {
        let from_counts = self.ln_1m_pi + self.counts.ln_pdf(0);
        let ln_f0 = log_add_exp(self.ln_pi, from_counts);
        let r = if self.pi == 0.0 {
            0.0
        } else {
            (self.ln_pi - ln_f0).exp().min(1.0)
        };
        (r, ln_f0)
    }

    /// The probability that a zero count is a structural zero, p(u = 1 | y = 0).
    pub fn structural_zero_probability(&self) -> f64 {
        self.structural_zero().0
    }

    /// Draws one count, appends it to `out` and returns the latent indicator u: `true` for a
    /// structural zero, `false` for a draw from the count family (which may also be 0).
    /// [`Component::sample_into`] is this without the indicator; both take the same random
    /// numbers (one uniform, then the count family's draw when u = 0).
    ///
    /// ```
    /// use em_family::families::{Poisson, ZeroInflated};
    /// use rand::SeedableRng;
    ///
    /// let zip = ZeroInflated::new(0.4, Poisson::new(6.0)?)?;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    /// let mut counts = Vec::new();
    /// let structural: Vec<bool> =
    ///     (0..1_000).map(|_| zip.sample_with_indicator(&mut rng, &mut counts)).collect();
    /// assert!(counts.iter().zip(&structural).all(|(&y, &u)| !u || y == 0));
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn sample_with_indicator<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<u64>) -> bool {
        let structural = rng.random::<f64>() < self.pi;
        if structural {
            out.push(0);
        } else {
            self.counts.sample_into(rng, out);
        }
        structural
    }
}

/// Weighted sufficient statistics of a zero-inflated family.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroInflatedStats<S> {
    /// n = Σγ.
    pub n: f64,
    /// z = Σγr: the expected number of structural zeros.
    pub zeros: f64,
    /// c = Σγ(1 − r): the expected number of draws from the count family.
    pub counted: f64,
    /// h = Σγ H(r): the entropy of the structural-zero posteriors.
    pub entropy: f64,
    /// The count family's statistics, weighted by γ(1 − r).
    pub counts: S,
}

impl<S: Statistics> Statistics for ZeroInflatedStats<S> {
    fn merge(&mut self, later: &Self) {
        self.n += later.n;
        self.zeros += later.zeros;
        self.counted += later.counted;
        self.entropy += later.entropy;
        self.counts.merge(&later.counts);
    }
}

impl<S: ScalableStatistics> ScalableStatistics for ZeroInflatedStats<S> {
    fn scale(&mut self, factor: f64) {
        self.n *= factor;
        self.zeros *= factor;
        self.counted *= factor;
        self.entropy *= factor;
        self.counts.scale(factor);
    }
}

/// −r log r − (1 − r) log(1 − r), with 0 · log 0 = 0.
fn binary_entropy(r: f64) -> f64 {
    let term = |p: f64| if p > 0.0 { -p * p.ln() } else { 0.0 };
    term(r) + term(1.0 - r)
}

impl<C: Component<Data = [u64]>> Component for ZeroInflated<C> {
    type Data = [u64];
    type Stats = ZeroInflatedStats<C::Stats>;

    /// π and the count family's own.
    fn n_parameters(&self) -> usize {
        1 + self.counts.n_parameters()
    }

    fn check_obs(y: u64, row: usize) -> Result<(), EmError> {
        C::check_obs(y, row)
    }

    /// π as a probability, then the count family's (`None` when it has none).
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let mut out = ScaledParameters::new();
        out.push_probability(self.pi);
        out.append(self.counts.scaled_parameters()?);
        Some(out)
    }

    fn ln_pdf(&self, y: u64) -> f64 {
        if y == 0 {
            self.structural_zero().1
        } else {
            self.ln_1m_pi + self.counts.ln_pdf(y)
        }
    }

    fn zero_density_reason(&self, y: u64) -> Option<String> {
        if y > 0 && self.pi == 1.0 {
            Some(format!(
                "count {y} > 0 but every count is a structural zero (π = 1)"
            ))
        } else {
            self.counts.zero_density_reason(y)
        }
    }

    fn zero_stats(&self, data: &[u64]) -> Self::Stats {
        ZeroInflatedStats {
            n: 0.0,
            zeros: 0.0,
            counted: 0.0,
            entropy: 0.0,
            counts: self.counts.zero_stats(data),
        }
    }

    /// The inner E-step: r = π / f(0) for a zero, 0 otherwise.
    fn accumulate(&self, stats: &mut Self::Stats, weight: f64, y: u64) {
        let r = if y == 0 {
            self.structural_zero().0
        } else {
            0.0
        };
        stats.n += weight;
        stats.zeros += weight * r;
        stats.entropy += weight * binary_entropy(r);
        let counted = weight * (1.0 - r);
        if counted > 0.0 {
            stats.counted += counted;
            self.counts.accumulate(&mut stats.counts, counted, y);
        }
    }

    /// π = z / n, then the count family's M-step (skipped when c = 0).
    fn maximise(&mut self, stats: &Self::Stats, component: usize) -> Result<(), EmError> {
        if stats.n.is_nan() || stats.n <= 0.0 {
            return Err(EmError::EmptyComponent {
                component,
                weight: stats.n,
            });
        }
        let pi = (stats.zeros / stats.n).clamp(0.0, 1.0);
        let mut counts = self.counts.clone();
        if stats.counted > 0.0 {
            counts.maximise(&stats.counts, component)?;
        }
        *self = ZeroInflated::new(pi, counts)?;
        Ok(())
    }

    /// z log π + c log(1 − π) + Σγ(1 − r) log g + h (see the module docs).
    fn expected_ln_pdf(&self, stats: &Self::Stats) -> f64 {
        let zeros = if stats.zeros > 0.0 {
            stats.zeros * self.ln_pi
        } else {
            0.0
        };
        let counted = if stats.counted > 0.0 {
            stats.counted * self.ln_1m_pi + self.counts.expected_ln_pdf(&stats.counts)
        } else {
            0.0
        };
        zeros + counted + stats.entropy
    }

    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut OwnedData<Self>) {
        self.sample_with_indicator(rng, out);
    }

    /// The count family's partition.
    fn initial_partition<R: Rng + ?Sized>(
        &self,
        data: &[u64],
        k: usize,
        rng: &mut R,
    ) -> Vec<usize> {
        self.counts.initial_partition(data, k, rng)
    }
}

impl<C: ComponentParameters<Data = [u64]>> ComponentParameters for ZeroInflated<C> {
    /// (π, then the count family's own).
    fn parameters(&self) -> Vec<f64> {
        let mut out = vec![self.pi];
        out.extend(self.counts.parameters());
        out
    }

    fn with_parameters(&self, theta: &[f64]) -> Result<Self, EmError> {
        match theta.split_first() {
            Some((&pi, rest)) => ZeroInflated::new(pi, self.counts.with_parameters(rest)?),
            None => Err(EmError::InvalidParameter {
                name: "theta",
                reason: "a zero-inflated component takes π and the count family's parameters"
                    .into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::{Geometric, Poisson};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn sample_with_indicator_draws_what_sample_into_draws_and_flags_structural_zeros() {
        let zip = ZeroInflated::new(0.35, Poisson::new(2.5).unwrap()).unwrap();
        let (mut a, mut b) = (StdRng::seed_from_u64(7), StdRng::seed_from_u64(7));
        let (mut flagged, mut plain) = (Vec::new(), Vec::new());
        let structural: Vec<bool> = (0..5_000)
            .map(|_| zip.sample_with_indicator(&mut a, &mut flagged))
            .collect();
        for _ in 0..5_000 {
            zip.sample_into(&mut b, &mut plain);
        }
        assert_eq!(flagged, plain);
        assert!(flagged.iter().zip(&structural).all(|(&y, &u)| !u || y == 0));
        // Some zeros come from the Poisson part (e^{-2.5} ≈ 0.08 of its draws) …
        assert!(flagged.iter().zip(&structural).any(|(&y, &u)| !u && y == 0));
        // … and the structural fraction is π within five standard errors.
        let n = structural.len() as f64;
        let share = structural.iter().filter(|&&u| u).count() as f64 / n;
        assert!(
            (share - 0.35).abs() < 5.0 * (0.35 * 0.65 / n).sqrt(),
            "{share}"
        );
        // π = 0 never flags, π = 1 always does.
        let none = ZeroInflated::new(0.0, Geometric::new(0.5).unwrap()).unwrap();
        let all = ZeroInflated::new(1.0, Geometric::new(0.5).unwrap()).unwrap();
        let mut out = Vec::new();
        assert!((0..200).all(|_| !none.sample_with_indicator(&mut a, &mut out)));
        out.clear();
        assert!((0..200).all(|_| all.sample_with_indicator(&mut a, &mut out)));
        assert!(out.iter().all(|&y| y == 0));
    }

    #[test]
    fn a_zero_inflated_poisson_is_a_plain_value() {
        // Copy (as its count family is): a model holding one is Copy too.
        let zip = ZeroInflated::new(0.2, Poisson::new(3.0).unwrap()).unwrap();
        let copy = zip;
        assert_eq!(copy, zip);
        assert_eq!(zip.pi(), 0.2);
    }
}
