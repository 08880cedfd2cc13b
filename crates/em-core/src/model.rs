//! The contract between a model and the EM driver.
//!
//! A model turns a batch of observations into *expected sufficient statistics* (the E-step)
//! and statistics into new parameters (the M-step). Statistics of disjoint batches merge by
//! addition, so the driver can split the data, run batches in parallel and merge the parts;
//! the model author only ever writes a serial E-step over one batch.

use std::ops::Range;

use crate::{EmError, ScaledParameters};

/// Expected sufficient statistics of one batch of observations.
///
/// `merge` must combine the statistics of two *disjoint* batches into those of their union
/// (for exponential families: addition). The driver merges batches in data order, so a merge
/// need not be commutative for results to be reproducible, but it must be associative up to
/// rounding.
pub trait Statistics: Send + Sized {
    /// Adds the statistics of another, disjoint batch (which comes after `self` in the data).
    fn merge(&mut self, later: &Self);
}

/// Statistics that can be multiplied by a positive factor: those of the same observations,
/// each counted `factor` times.
///
/// Online (stepwise) EM keeps a running average of the statistics of successive mini-batches,
/// s ← (1 − ρ) s + ρ ŝ, which is [`scale`](Self::scale) and [`Statistics::merge`]. Expected
/// sufficient statistics are sums over observations, so scaling multiplies every sum (counts,
/// weighted sums, weighted scatter, a posterior entropy) by `factor`; nothing else changes.
///
/// ```
/// use em_core::{ScalableStatistics, Statistics};
/// struct Sums { n: f64, sx: f64 }
/// impl Statistics for Sums {
///     fn merge(&mut self, o: &Self) { self.n += o.n; self.sx += o.sx; }
/// }
/// impl ScalableStatistics for Sums {
///     fn scale(&mut self, factor: f64) { self.n *= factor; self.sx *= factor; }
/// }
/// let mut s = Sums { n: 2.0, sx: 5.0 };
/// s.scale(0.5);
/// assert_eq!((s.n, s.sx), (1.0, 2.5));
/// ```
pub trait ScalableStatistics: Statistics {
    /// Multiplies every statistic by `factor` (finite and positive).
    fn scale(&mut self, factor: f64);
}

/// The result of an E-step over a batch: statistics, log-likelihood and posterior entropy.
#[derive(Debug, Clone, PartialEq)]
pub struct EStep<S> {
    /// Expected sufficient statistics under q(z) = p(z | x, θ).
    pub stats: S,
    /// Σ log p(x_n | θ) over the batch (under the parameters the E-step used).
    pub log_likelihood: f64,
    /// Σ H(q(z_n)) over the batch: the entropy of the posterior over the latent variables.
    pub entropy: f64,
}

impl<S: Statistics> EStep<S> {
    /// Merges the E-step of a later, disjoint batch into this one.
    pub fn merge(&mut self, later: &Self) {
        self.stats.merge(&later.stats);
        self.log_likelihood += later.log_likelihood;
        self.entropy += later.entropy;
    }
}

/// A collection of observations that the driver can split into batches of consecutive
/// observations (rows of a matrix, elements of a slice, sequences of a corpus).
pub trait Dataset: Sync {
    /// Number of observations (the unit the driver splits on).
    fn n_obs(&self) -> usize;
}

impl<T: Sync> Dataset for [T] {
    fn n_obs(&self) -> usize {
        self.len()
    }
}

impl<T: Sync> Dataset for Vec<T> {
    fn n_obs(&self) -> usize {
        self.len()
    }
}

#[cfg(feature = "nalgebra")]
impl<T, R, C, S> Dataset for nalgebra::Matrix<T, R, C, S>
where
    T: nalgebra::Scalar + Sync,
    R: nalgebra::Dim + Sync,
    C: nalgebra::Dim + Sync,
    S: nalgebra::RawStorage<T, R, C> + Sync,
{
    /// One observation per row.
    fn n_obs(&self) -> usize {
        self.nrows()
    }
}

/// A latent-variable model that EM can fit.
///
/// With data x, latent z and parameters θ, EM alternates
/// `q_t = p(z | x, θ_t)` (E-step) and `θ_{t+1} = argmax_θ E_{q_t}[log p(x, z | θ)] + log p(θ)`
/// (M-step). Implementors provide the pieces; the driver ([`crate::Em`]) provides the loop,
/// convergence control, restarts and parallelism, and [`crate::testing`] checks that the
/// pieces satisfy the EM invariants.
///
/// The ELBO of the statistics `s` of `q` at parameters θ is
/// `expected_complete_log_likelihood(s) + entropy + log_prior()`; right after an E-step at θ it
/// must equal `log_likelihood + log_prior()` (the KL gap is 0).
pub trait LatentModel: Sync {
    /// What the model is fitted on (`[f64]`, a matrix with one observation per row, sequences …).
    type Data: Dataset + ?Sized;
    /// Expected sufficient statistics; additive over disjoint batches.
    type Stats: Statistics;

    /// E-step over the observations `rows` of `data`, under the current parameters.
    ///
    /// Returns the expected sufficient statistics, Σ log p(x_n | θ) and Σ H(q(z_n)) over the
    /// batch. Responsibilities are a local of this function: they never need to exist for all
    /// observations at once.
    fn e_step(&self, data: &Self::Data, rows: Range<usize>) -> Result<EStep<Self::Stats>, EmError>;

    /// M-step: sets the parameters that maximise E_q[log p(x, z | θ)] + log p(θ) for the
    /// statistics of q.
    fn m_step(&mut self, stats: &Self::Stats) -> Result<(), EmError>;

    /// E_q[log p(x, z | θ)] at the *current* parameters, for the statistics of some q.
    ///
    /// Together with the entropy this gives the ELBO for any (q, θ) pair, which is what the
    /// invariant checker needs to verify the E- and M-steps separately.
    fn expected_complete_log_likelihood(&self, stats: &Self::Stats) -> f64;

    /// How many observations the objective sums over: what the objective's change, Aitken's
    /// gap and the mean objective are divided by. The default is the number of units the driver splits on
    /// (`data.n_obs()`); a model whose units hold many observations — an HMM's sequences
    /// hold steps — returns their total, so that a tolerance means the same per observation.
    fn n_observations(&self, data: &Self::Data) -> usize {
        data.n_obs()
    }

    /// The parameters, each with the scale its change is measured in, for the parameter
    /// stopping rule ([`Stopping::Parameters`](crate::Stopping::Parameters), the default).
    /// `None` (the default) opts out: that rule then falls back to Aitken's on the objective.
    /// Every bundled model provides them; see [`crate::stopping`] for the scales (a mean in
    /// units of its standard deviation, a variance relative to itself, a probability relative
    /// to min(p, 1 − p) floored at 1e-3).
    ///
    /// Return the same parameters in the same order every time (SQUAREM's
    /// [`ParameterVector`](crate::ParameterVector) coordinates are a natural choice), and keep
    /// it cheap next to an E-step: the driver calls it once per iteration.
    ///
    /// ```
    /// use em_core::{EStep, Em, EmError, LatentModel, ScaledParameters, Statistics, Stopping};
    /// # use std::ops::Range;
    /// /// The mean of a normal with known unit variance (no latent variable, one M-step).
    /// struct Mean(f64);
    /// struct Sums(f64, f64);
    /// impl Statistics for Sums {
    ///     fn merge(&mut self, o: &Self) { self.0 += o.0; self.1 += o.1; }
    /// }
    /// impl LatentModel for Mean {
    ///     type Data = [f64];
    ///     type Stats = Sums;
    ///     fn e_step(&self, x: &[f64], rows: Range<usize>) -> Result<EStep<Sums>, EmError> {
    ///         let x = &x[rows];
    ///         let ll = -0.5 * x.iter().map(|v| (v - self.0).powi(2)).sum::<f64>();
    ///         Ok(EStep { stats: Sums(x.len() as f64, x.iter().sum()), log_likelihood: ll, entropy: 0.0 })
    ///     }
    ///     fn m_step(&mut self, s: &Sums) -> Result<(), EmError> { self.0 = s.1 / s.0; Ok(()) }
    ///     fn expected_complete_log_likelihood(&self, _: &Sums) -> f64 { 0.0 }
    ///     /// The mean, in units of the (unit) standard deviation.
    ///     fn scaled_parameters(&self) -> Option<ScaledParameters> {
    ///         let mut p = ScaledParameters::new();
    ///         p.push(self.0, 1.0);
    ///         Some(p)
    ///     }
    /// }
    /// let report = Em::new().fit(&mut Mean(0.0), &[1.0, 2.0, 6.0][..])?;
    /// assert!(report.converged);
    /// assert_eq!(report.stopping, Stopping::DEFAULT); // not the fallback
    /// # Ok::<(), EmError>(())
    /// ```
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        None
    }

    /// log p(θ): the log-density of a prior on the parameters (MAP-EM), 0 for maximum
    /// likelihood. The driver maximises and reports `log_likelihood + log_prior`.
    fn log_prior(&self) -> f64 {
        0.0
    }

    /// Σ log p(x_n | θ) over `rows` of `data`. The default runs an E-step; override it when
    /// the likelihood is cheaper than the statistics.
    fn log_likelihood(&self, data: &Self::Data, rows: Range<usize>) -> Result<f64, EmError> {
        Ok(self.e_step(data, rows)?.log_likelihood)
    }
}
