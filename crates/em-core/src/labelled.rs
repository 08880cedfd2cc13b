//! Semi-supervised EM: some observations carry a known value of their latent variable.
//!
//! For a labelled observation i with known latent value k, q(z_i) is the point mass on k:
//! its statistics get γ_ik = 1, its entropy is 0, and it adds log p(x_i, z_i = k | θ) to the
//! objective instead of log p(x_i | θ). The objective
//!
//! ```text
//! ℓ(θ) = Σ_{i unlabelled} log p(x_i | θ) + Σ_{i labelled} log p(x_i, z_i = k_i | θ)   (+ log p(θ))
//! ```
//!
//! is the log-likelihood of everything that was observed (the data and the labels), so EM
//! maximises it monotonically, and the ELBO is tight after the labelled E-step: the point mass
//! *is* the posterior of z_i given x_i and the label. The three EM invariants of
//! [`crate::testing`] therefore hold for a [`Labelled`] model exactly as for its unlabelled
//! model.
//!
//! A model supports labels by implementing [`LabelledEStep`] (an E-step that takes one label
//! per unit of the batch); [`Labelled`] pairs it with the labels of the whole data set and is
//! a [`LatentModel`] the driver fits like any other.
//!
//! ```
//! use em_core::labelled::{Labelled, LabelledEStep};
//! use em_core::{EStep, Em, EmError, LatentModel, Statistics};
//! use std::ops::Range;
//!
//! /// Two unit-variance normals at −1 and +1 with a free weight w of the first.
//! struct TwoMeans { w: f64 }
//! struct Counts(f64, f64);
//! impl Statistics for Counts {
//!     fn merge(&mut self, o: &Self) { self.0 += o.0; self.1 += o.1; }
//! }
//! fn log_joint(w: f64, x: f64) -> [f64; 2] {
//!     let g = |m: f64| -0.5 * (x - m).powi(2) - 0.5 * (2.0 * std::f64::consts::PI).ln();
//!     [w.ln() + g(-1.0), (1.0 - w).ln() + g(1.0)]
//! }
//! impl LabelledEStep for TwoMeans {
//!     type Label = Option<usize>;
//!     fn e_step_labelled(&self, x: &[f64], rows: Range<usize>, labels: &[Option<usize>])
//!         -> Result<EStep<Counts>, EmError> {
//!         let mut out = EStep { stats: Counts(0.0, 0.0), log_likelihood: 0.0, entropy: 0.0 };
//!         for (i, label) in rows.zip(labels) {
//!             let mut l = log_joint(self.w, x[i]);
//!             if let Some(k) = label { l[1 - k] = f64::NEG_INFINITY; } // the point mass on k
//!             let m = l[0].max(l[1]);
//!             let lse = m + ((l[0] - m).exp() + (l[1] - m).exp()).ln();
//!             let g = [(l[0] - lse).exp(), (l[1] - lse).exp()];
//!             out.stats.0 += g[0];
//!             out.stats.1 += g[1];
//!             out.log_likelihood += lse;
//!             out.entropy -= g.iter().filter(|g| **g > 0.0).map(|g| g * g.ln()).sum::<f64>();
//!         }
//!         Ok(out)
//!     }
//!     fn check_labels(&self, x: &[f64], labels: &[Option<usize>]) -> Result<(), EmError> {
//!         em_core::labelled::check_row_labels(labels, x.len(), 2)
//!     }
//! }
//! impl LatentModel for TwoMeans {
//!     type Data = [f64];
//!     type Stats = Counts;
//!     fn e_step(&self, x: &[f64], rows: Range<usize>) -> Result<EStep<Counts>, EmError> {
//!         self.e_step_labelled(x, rows.clone(), &vec![None; rows.len()])
//!     }
//!     fn m_step(&mut self, s: &Counts) -> Result<(), EmError> { self.w = s.0 / (s.0 + s.1); Ok(()) }
//!     fn expected_complete_log_likelihood(&self, s: &Counts) -> f64 {
//!         // Σ γ log π + Σ γ log f: the second part does not depend on w, so only the weights.
//!         s.0 * self.w.ln() + s.1 * (1.0 - self.w).ln()
//!     }
//! }
//! let x = [-1.2, -0.8, 0.1, 0.9, 1.1];
//! let labels = [Some(0), None, None, None, Some(1)];
//! let model = Labelled::new(TwoMeans { w: 0.5 }, &labels);
//! model.check(&x[..])?;
//! let fit = Em::new().fit(&mut Labelled::new(TwoMeans { w: 0.5 }, &labels), &x[..])?;
//! assert!(fit.converged);
//! assert!(Labelled::new(TwoMeans { w: 0.5 }, &[Some(2); 5]).check(&x[..]).is_err());
//! # Ok::<(), EmError>(())
//! ```

use std::ops::Range;

use crate::{Dataset, EStep, EmError, LatentModel, ScaledParameters};

/// A model whose E-step can fix the latent variable of some units to a known value.
///
/// `e_step_labelled(data, rows, labels)` is the E-step over `rows` with `labels[i]` the label
/// of unit `rows.start + i` (`labels.len() == rows.len()`): the statistics, the objective
/// Σ log p(x_i) + Σ log p(x_i, z_i = k_i) and the entropy of the posterior given the labels.
/// With every label absent it must equal [`LatentModel::e_step`].
pub trait LabelledEStep: LatentModel {
    /// The label of one unit of the data: `Option<usize>` for a row of a mixture (its
    /// component, or `None`), one `Option<usize>` per step for a sequence of an HMM.
    type Label: Sync;

    /// The E-step of `rows` given the labels of those units (see the trait docs).
    ///
    /// # Errors
    /// Those of the model's E-step; a label out of range or of the wrong shape is an
    /// [`EmError`] naming the unit (row or sequence and step) and the label.
    fn e_step_labelled(
        &self,
        data: &Self::Data,
        rows: Range<usize>,
        labels: &[Self::Label],
    ) -> Result<EStep<Self::Stats>, EmError>;

    /// Checks the labels of the whole data set once: one per unit, each in range.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `labels` for the wrong number of labels,
    /// [`EmError::InvalidInput`] naming the row (and the label) for a label out of range.
    fn check_labels(&self, data: &Self::Data, labels: &[Self::Label]) -> Result<(), EmError>;
}

/// Checks one optional label per row: `labels.len() == n_rows`, each label `< k`.
///
/// ```
/// use em_core::labelled::check_row_labels;
/// assert!(check_row_labels(&[Some(0), None, Some(2)], 3, 3).is_ok());
/// let err = check_row_labels(&[Some(0), Some(3)], 2, 3).unwrap_err();
/// assert!(err.to_string().contains("row 1"), "{err}");
/// assert!(check_row_labels(&[None], 2, 3).is_err());
/// ```
///
/// # Errors
/// [`EmError::InvalidParameter`] naming `labels` for a count other than `n_rows`;
/// [`EmError::InvalidInput`] naming the first row whose label is ≥ `k`, and the label.
pub fn check_row_labels(labels: &[Option<usize>], n_rows: usize, k: usize) -> Result<(), EmError> {
    if labels.len() != n_rows {
        return Err(EmError::InvalidParameter {
            name: "labels",
            reason: format!(
                "expected {n_rows} labels (one per row, `None` for an unlabelled row), got {}",
                labels.len()
            ),
        });
    }
    check_label_range(labels, 0, k)
}

/// Checks that every label of `labels` is `< k`; the row named in an error is
/// `first_row` + its index.
///
/// # Errors
/// [`EmError::InvalidInput`] naming the first row whose label is ≥ `k`, and the label.
pub fn check_label_range(
    labels: &[Option<usize>],
    first_row: usize,
    k: usize,
) -> Result<(), EmError> {
    match labels
        .iter()
        .enumerate()
        .find_map(|(i, l)| l.filter(|&l| l >= k).map(|l| (i, l)))
    {
        Some((i, l)) => Err(EmError::InvalidInput {
            row: first_row + i,
            column: None,
            reason: format!(
                "label {l} is not a component: labels must be in 0..{k} (K = {k}), or absent"
            ),
        }),
        None => Ok(()),
    }
}

/// A model fitted with some latent values known: `model` and `labels`, one per unit of the
/// data (indexed by the unit's global index: row or sequence), implementing [`LatentModel`]
/// by delegation with the labelled E-step (see the [module docs](self)).
///
/// The objective it reports (its `log_likelihood`) is Σ log p(x_i) over the unlabelled
/// units plus Σ log p(x_i, z_i = k_i) over the labelled ones. After a fit, `model` is the
/// fitted model; its own `log_likelihood` is the unlabelled one.
pub struct Labelled<'l, M: LabelledEStep> {
    /// The model being fitted.
    pub model: M,
    /// One label per unit of the data.
    pub labels: &'l [M::Label],
}

impl<M: LabelledEStep + Clone> Clone for Labelled<'_, M> {
    fn clone(&self) -> Self {
        Labelled {
            model: self.model.clone(),
            labels: self.labels,
        }
    }
}

impl<M> std::fmt::Debug for Labelled<'_, M>
where
    M: LabelledEStep + std::fmt::Debug,
    M::Label: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Labelled")
            .field("model", &self.model)
            .field("labels", &self.labels)
            .finish()
    }
}

impl<'l, M: LabelledEStep> Labelled<'l, M> {
    /// `model` with the labels of the data it will be fitted on.
    pub fn new(model: M, labels: &'l [M::Label]) -> Self {
        Labelled { model, labels }
    }

    /// Checks the labels against `data` ([`LabelledEStep::check_labels`]); fits call it once
    /// before the first E-step.
    ///
    /// # Errors
    /// As [`LabelledEStep::check_labels`].
    pub fn check(&self, data: &M::Data) -> Result<(), EmError> {
        self.model.check_labels(data, self.labels)
    }

    /// The model, without its labels.
    pub fn into_inner(self) -> M {
        self.model
    }
}

impl<M: LabelledEStep> LatentModel for Labelled<'_, M> {
    type Data = M::Data;
    type Stats = M::Stats;

    /// The labelled E-step of `rows`.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] naming `labels` when there is not one label per unit of
    /// `data`, and those of [`LabelledEStep::e_step_labelled`].
    fn e_step(&self, data: &M::Data, rows: Range<usize>) -> Result<EStep<M::Stats>, EmError> {
        let n = data.n_obs();
        if self.labels.len() != n {
            return Err(EmError::InvalidParameter {
                name: "labels",
                reason: format!(
                    "expected {n} labels (one per unit of the data), got {}",
                    self.labels.len()
                ),
            });
        }
        let labels = self
            .labels
            .get(rows.clone())
            .ok_or_else(|| EmError::InvalidParameter {
                name: "rows",
                reason: format!("rows {rows:?} are not within the data's {n} units"),
            })?;
        self.model.e_step_labelled(data, rows, labels)
    }

    fn m_step(&mut self, stats: &M::Stats) -> Result<(), EmError> {
        self.model.m_step(stats)
    }

    fn expected_complete_log_likelihood(&self, stats: &M::Stats) -> f64 {
        self.model.expected_complete_log_likelihood(stats)
    }

    fn n_observations(&self, data: &M::Data) -> usize {
        self.model.n_observations(data)
    }

    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        self.model.scaled_parameters()
    }

    fn log_prior(&self) -> f64 {
        self.model.log_prior()
    }

    // `log_likelihood` keeps the default (the labelled E-step's objective): the model's own
    // would be the unlabelled log-likelihood, which is not what this EM increases.
}

/// The model's parameter vector: labels are data, not parameters, so SQUAREM
/// ([`crate::Acceleration::Squarem`]) extrapolates the model's parameters and evaluates the
/// labelled objective.
impl<M: LabelledEStep + crate::ParameterVector> crate::ParameterVector for Labelled<'_, M> {
    fn parameters(&self) -> Vec<f64> {
        self.model.parameters()
    }

    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        self.model.set_parameters(theta)
    }
}
