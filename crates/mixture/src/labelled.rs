//! Semi-supervised mixtures: rows whose component is known.
//!
//! A labelled row i with label k has q(z_i) = the point mass on k: responsibilities exactly
//! one-hot, entropy 0, and the term log p(x_i, z_i = k) = log π_k + log f_k(x_i) in the
//! objective, which is Σ_unlabelled log p(x_i) + Σ_labelled log p(x_i, z_i) (+ log prior).
//! [`Mixture::e_step_labelled`] is that E-step (the engine's one block loop, with the
//! log-joint of a labelled row masked to its label), [`em_core::Labelled`] the model the
//! driver fits, and [`Mixture::from_labelled_rows`] a start from the labelled rows alone.
//!
//! ```
//! use em_core::{Em, Labelled, testing::check_invariants};
//! use mixture::{Mixture, Poisson};
//!
//! let y: Vec<u64> = vec![0, 1, 2, 1, 7, 9, 8, 3, 4, 10, 0, 6];
//! let mut labels = vec![None; y.len()];
//! labels[0] = Some(0); // a known low count
//! labels[5] = Some(1); // a known high count
//! // Start from the labelled rows alone (λ_0 = 0, λ_1 = 9), then EM on every row.
//! let start = Mixture::from_labelled_rows(vec![Poisson::default(); 2], &y[..], &labels)?;
//! let mut model = Labelled::new(start, &labels);
//! model.check(&y[..])?;
//! let report = Em::new().fit(&mut model, &y[..])?;
//! assert!(report.converged);
//! let fitted = model.into_inner();
//! assert!(fitted.components()[0].lambda() < fitted.components()[1].lambda());
//! // The EM invariants hold for the labelled objective.
//! let start = Mixture::new(vec![0.5, 0.5], vec![Poisson::new(2.0)?, Poisson::new(6.0)?])?;
//! let check = check_invariants(Labelled::new(start, &labels), &y[..], 10, Default::default())?;
//! assert!(check.is_ok(), "{check}");
//! # Ok::<(), em_core::EmError>(())
//! ```

use std::ops::Range;

use em_core::labelled::check_row_labels;
use em_core::{Dataset, EStep, EmError, LabelledEStep, Statistics};
use em_family::Family;

use crate::Mixture;

/// Rows per batch of [`Mixture::from_labelled_rows`].
const START_CHUNK: usize = 4096;

impl<F: Family> LabelledEStep for Mixture<F> {
    /// The known component of a row, or `None`.
    type Label = Option<usize>;

    /// [`Mixture::e_step_labelled`] without sample weights.
    fn e_step_labelled(
        &self,
        data: &F::Data,
        rows: Range<usize>,
        labels: &[Option<usize>],
    ) -> Result<EStep<F::Stats>, EmError> {
        Mixture::e_step_labelled(self, data, rows, labels, None)
    }

    /// One label per row of `data`, each < K ([`check_row_labels`]).
    fn check_labels(&self, data: &F::Data, labels: &[Option<usize>]) -> Result<(), EmError> {
        check_row_labels(labels, data.n_obs(), self.n_components())
    }
}

impl<F: Family> Mixture<F> {
    /// The supervised M-step of the labelled rows alone: each labelled row counts fully for
    /// its component (γ_ik = 1), unlabelled rows not at all; weights and components are the
    /// maximum-likelihood (or MAP, with the family's prior) estimates from those rows,
    /// starting from `family`'s settings. A start for semi-supervised EM that respects the
    /// labels: component k starts where its labelled rows are.
    ///
    /// ```
    /// use mixture::{Mixture, Poisson};
    /// let y = [0u64, 2, 9, 11, 5];
    /// let labels = [Some(0), Some(0), Some(1), Some(1), None];
    /// let m = Mixture::from_labelled_rows(vec![Poisson::default(); 2], &y[..], &labels)?;
    /// assert_eq!(m.components()[0].lambda(), 1.0);
    /// assert_eq!(m.components()[1].lambda(), 10.0);
    /// assert_eq!(m.weights(), &[0.5, 0.5]);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`check_row_labels`] and [`Family::check_data`];
    /// [`EmError::EmptyComponent`] for a component with no labelled row (without a prior);
    /// the family's M-step errors (a component whose labelled rows cannot determine it, such
    /// as one Gaussian row).
    pub fn from_labelled_rows(
        family: F,
        data: &F::Data,
        labels: &[Option<usize>],
    ) -> Result<Self, EmError> {
        let k_count = family.n_components();
        family.check_data(data)?;
        check_row_labels(labels, data.n_obs(), k_count)?;
        let mut stats = family.zero_stats(data);
        let (mut gamma, mut scratch) = (Vec::new(), Vec::new());
        for rows in em_core::batches(data.n_obs(), START_CHUNK)? {
            let c = rows.len();
            gamma.clear();
            gamma.resize(k_count * c, 0.0);
            for (i, label) in labels[rows.clone()].iter().enumerate() {
                if let Some(k) = *label {
                    gamma[k * c + i] = 1.0;
                }
            }
            stats.merge(&family.accumulate(data, rows, &gamma, None, &mut scratch));
        }
        Mixture::maximise(family, &stats)
    }
}
