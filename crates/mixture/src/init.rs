//! Starting points for EM: an [`Initializer`] that builds a mixture from a partition of the
//! data or from random responsibilities, for any family.

use em_core::{Dataset, EmError, Initializer, StdRng};
use rand::RngExt;
use rand_distr::Exp1;

use crate::mixture::Mixture;
use em_family::Observations;
use em_family::{Component, Family};

/// The share of every observation's weight spread evenly over all components in the
/// [`Strategy::Partition`] start: γ_ik = (1 − ε)·[row i in group k] + ε / K with ε = 0.1.
pub const PARTITION_SMOOTHING: f64 = 0.1;

/// How [`Start`] turns data into a starting mixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The family's own partition ([`Component::initial_partition`]: jittered quantiles of
    /// the sorted values for scalar families, rows grouped around random seed rows for
    /// Bernoulli), softened by [`PARTITION_SMOOTHING`] so that every component sees every
    /// observation with some weight (no group starts empty or, unless the data are
    /// constant, degenerate), followed by one M-step.
    #[default]
    Partition,
    /// Responsibilities drawn uniformly from the simplex (Dirichlet(1, …, 1)) for every
    /// observation, followed by one M-step. Family-agnostic; the components start close to
    /// one another, so EM needs more iterations to separate them.
    RandomResponsibilities,
}

/// An [`Initializer`] for [`Mixture`]s of any family: K components, a template component
/// that carries the family's settings (e.g. a variance floor), and a [`Strategy`].
///
/// Every restart of [`Em::fit_restarts`](em_core::Em::fit_restarts) gets its own random
/// generator, so restarts start from different partitions.
///
/// ```
/// use em_core::{Em, LatentModel};
/// use mixture::{Gaussian, Mixture, Start, Strategy};
///
/// let x: Vec<f64> = (0..200).map(|i| if i < 100 { (i as f64).sin() } else { 8.0 + (i as f64).cos() }).collect();
/// let start = Start::new(Gaussian::default(), 2).strategy(Strategy::RandomResponsibilities);
/// // Random responsibilities start all components near the overall mean: use a tight `tol`.
/// let fit = Mixture::fit(&x[..], &start, &Em::new().n_init(4).seed(3).tol(1e-10).max_iter(1000))?;
/// let mut means: Vec<f64> = fit.model.components().iter().map(|c| c.mean()).collect();
/// means.sort_by(f64::total_cmp);
/// assert!((means[0] - 0.0).abs() < 0.5 && (means[1] - 8.0).abs() < 0.5, "{means:?}");
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Start<C> {
    template: C,
    n_components: usize,
    strategy: Strategy,
}

impl<C: Component> Start<C> {
    /// A start of `n_components` components with the family's partition
    /// ([`Strategy::Partition`]); `template` supplies the family's settings (its parameter
    /// values are not used).
    pub fn new(template: C, n_components: usize) -> Self {
        Start {
            template,
            n_components,
            strategy: Strategy::Partition,
        }
    }

    /// Sets the strategy.
    #[must_use]
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// The number of components K.
    pub fn n_components(&self) -> usize {
        self.n_components
    }

    /// The template component.
    pub fn template(&self) -> &C {
        &self.template
    }
}

impl<C: Component> Initializer<Mixture<Vec<C>>> for Start<C> {
    /// # Errors
    /// [`EmError::InvalidParameter`] (`n_components`) for K = 0, [`EmError::EmptyData`],
    /// [`EmError::TooFewObservations`] for N < K, the family's support errors, and the M-step's
    /// errors for a degenerate start.
    fn initialize(&self, data: &C::Data, rng: &mut StdRng) -> Result<Mixture<Vec<C>>, EmError> {
        let k_count = self.n_components;
        if k_count == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_components",
                reason: "at least one component is needed".into(),
            });
        }
        Mixture::<Vec<C>>::check_family_data(data)?;
        let n = data.n_obs();
        if n < k_count {
            return Err(EmError::TooFewObservations {
                n_obs: n,
                n_components: k_count,
            });
        }
        let prototypes = vec![self.template.clone(); k_count];
        let mut stats = prototypes.zero_stats(data);
        let mut add = |k: usize, w: f64, i: usize| {
            stats.weights[k] += w;
            self.template
                .accumulate(&mut stats.components[k], w, data.obs(i));
        };
        match self.strategy {
            Strategy::Partition => {
                let groups = self.template.initial_partition(data, k_count, rng);
                if groups.len() != n || groups.iter().any(|&g| g >= k_count) {
                    return Err(EmError::InvalidParameter {
                        name: "initial_partition",
                        reason: format!(
                            "the family's partition must give one group < {k_count} per row"
                        ),
                    });
                }
                let spread = PARTITION_SMOOTHING / k_count as f64;
                for (i, &g) in groups.iter().enumerate() {
                    for k in 0..k_count {
                        let own = if k == g {
                            1.0 - PARTITION_SMOOTHING
                        } else {
                            0.0
                        };
                        add(k, own + spread, i);
                    }
                }
            }
            Strategy::RandomResponsibilities => {
                let mut draw = vec![0.0; k_count];
                for i in 0..n {
                    for d in draw.iter_mut() {
                        // Exp(1) draws, normalised: uniform on the simplex. The floor keeps
                        // every weight positive.
                        *d = rng.sample::<f64, _>(Exp1).max(1e-12);
                    }
                    let total: f64 = draw.iter().sum();
                    for (k, &d) in draw.iter().enumerate() {
                        add(k, d / total, i);
                    }
                }
            }
        }
        Mixture::maximise(prototypes, &stats)
    }
}
