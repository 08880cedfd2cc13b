//! Starts for a semi-supervised fit: one from the labelled rows, and the unsupervised starts
//! with their components renumbered to agree with the labels.

use em_core::labelled::Labelled;
use em_core::{EmError, Initializer, StdRng};
use nalgebra::{DMatrix, DVector};

use super::partition::from_labels;
use super::{InitContext, Starter};
use crate::gaussian::{CovarianceType, Covariances};
use crate::mixture::GaussianMixture;
use crate::weighted::SampleWeighted;

/// The most components for which the renumbering tries every permutation (8! = 40,320);
/// above, it assigns greedily.
const EXHAUSTIVE_MAX_COMPONENTS: usize = 8;

/// The start from the labelled rows: component k's mean is the mean of the rows labelled k,
/// every component's covariance the pooled within-label covariance of the labelled rows
/// (shaped for the fit's structure), the weights the labelled proportions. When the pooled
/// covariance is not positive definite (too few labelled rows for the dimension), the
/// covariance of all the data instead. A component with no labelled row is an
/// [`EmError::EmptyComponent`].
pub(crate) fn label_start(
    x: &DMatrix<f64>,
    ctx: &InitContext<'_>,
    labels: &[Option<usize>],
) -> Result<GaussianMixture, EmError> {
    let tied = InitContext {
        covariance_type: CovarianceType::Tied,
        prior: None,
        reg_covar: ctx.reg_covar,
        ..*ctx
    };
    let pooled = match from_labels(x, &tied, labels, false) {
        Ok(m) => m,
        Err(EmError::NotPositiveDefinite { .. }) => {
            let means = from_labels(
                x,
                &InitContext {
                    covariance_type: CovarianceType::Spherical,
                    ..tied
                },
                labels,
                false,
            )?;
            let one = InitContext {
                n_components: 1,
                ..tied
            };
            let whole = from_labels(x, &one, &vec![Some(0); x.nrows()], false)?;
            let Covariances::Tied(c) = whole.covariances() else {
                return Err(EmError::InvalidParameter {
                    name: "init",
                    reason: "the one-component start has no tied covariance".into(),
                });
            };
            GaussianMixture::new_in_context(
                means.weights().clone(),
                means.means().clone(),
                Covariances::Tied(c.clone()),
                "at the labelled start",
            )?
        }
        Err(e) => return Err(e),
    };
    let Covariances::Tied(c) = pooled.covariances() else {
        return Err(EmError::InvalidParameter {
            name: "init",
            reason: "the pooled start has no tied covariance".into(),
        });
    };
    let k = ctx.n_components;
    let covariances = match ctx.covariance_type {
        CovarianceType::Full => Covariances::Full(vec![c.clone(); k]),
        CovarianceType::Tied => Covariances::Tied(c.clone()),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(k, c.ncols(), |_, j| c[(j, j)])),
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_element(k, c.diagonal().mean()))
        }
    };
    GaussianMixture::new_in_context(
        pooled.weights().clone(),
        pooled.means().clone(),
        covariances,
        "at the labelled start",
    )?
    .with_reg_covar(ctx.reg_covar)?
    .with_prior(ctx.prior.cloned())
}

/// `model` with its components renumbered so that the labelled rows are as probable as can
/// be under their labels: the permutation σ maximising Σ_i log p(z_i = σ(k_i) | x_i) over the
/// labelled rows i (every permutation for up to [`EXHAUSTIVE_MAX_COMPONENTS`] components,
/// greedily above). Without labelled rows, `model` unchanged.
pub(crate) fn align_to_labels(
    model: GaussianMixture,
    x: &DMatrix<f64>,
    labels: &[Option<usize>],
) -> Result<GaussianMixture, EmError> {
    let rows: Vec<usize> = (0..x.nrows()).filter(|&i| labels[i].is_some()).collect();
    if rows.is_empty() {
        return Ok(model);
    }
    let k = model.n_components();
    let sub = DMatrix::from_fn(rows.len(), x.ncols(), |r, j| x[(rows[r], j)]);
    let proba = model.predict_proba(&sub)?;
    // score[l * k + j]: Σ over rows labelled l of log γ_ij (floored, so that one row no
    // component explains does not make every permutation −∞).
    let mut score = vec![0.0; k * k];
    for (r, &i) in rows.iter().enumerate() {
        if let Some(l) = labels[i] {
            for j in 0..k {
                score[l * k + j] += proba[(r, j)].max(1e-300).ln();
            }
        }
    }
    let sigma = best_assignment(&score, k);
    permute(model, &sigma)
}

/// The assignment σ (label l → component σ\[l\]) maximising Σ_l score\[l·k + σ(l)\].
fn best_assignment(score: &[f64], k: usize) -> Vec<usize> {
    if k <= EXHAUSTIVE_MAX_COMPONENTS {
        let mut best = ((0..k).collect::<Vec<_>>(), f64::NEG_INFINITY);
        let mut perm: Vec<usize> = (0..k).collect();
        permutations(&mut perm, 0, &mut |p| {
            let total: f64 = p.iter().enumerate().map(|(l, &j)| score[l * k + j]).sum();
            if total > best.1 {
                best = (p.to_vec(), total);
            }
        });
        return best.0;
    }
    let mut sigma = vec![usize::MAX; k];
    let mut used = vec![false; k];
    let mut pairs: Vec<(usize, usize)> = (0..k).flat_map(|l| (0..k).map(move |j| (l, j))).collect();
    pairs.sort_by(|a, b| score[b.0 * k + b.1].total_cmp(&score[a.0 * k + a.1]));
    for (l, j) in pairs {
        if sigma[l] == usize::MAX && !used[j] {
            sigma[l] = j;
            used[j] = true;
        }
    }
    sigma
}

/// Calls `f` with every permutation of `v[at..]` (Heap-free recursive swapping).
fn permutations(v: &mut [usize], at: usize, f: &mut impl FnMut(&[usize])) {
    if at == v.len() {
        f(v);
        return;
    }
    for i in at..v.len() {
        v.swap(at, i);
        permutations(v, at + 1, f);
        v.swap(at, i);
    }
}

/// The model whose component l is `model`'s component σ\[l\].
fn permute(model: GaussianMixture, sigma: &[usize]) -> Result<GaussianMixture, EmError> {
    if sigma.iter().enumerate().all(|(l, &j)| l == j) {
        return Ok(model);
    }
    let k = sigma.len();
    let weights = DVector::from_fn(k, |l, _| model.weights()[sigma[l]]);
    let means = DMatrix::from_fn(k, model.n_features(), |l, j| model.means()[(sigma[l], j)]);
    let covariances = match model.covariances() {
        Covariances::Full(c) => Covariances::Full(sigma.iter().map(|&j| c[j].clone()).collect()),
        Covariances::Diag(v) => {
            Covariances::Diag(DMatrix::from_fn(k, v.ncols(), |l, j| v[(sigma[l], j)]))
        }
        Covariances::Spherical(v) => {
            Covariances::Spherical(DVector::from_fn(k, |l, _| v[sigma[l]]))
        }
        Covariances::Tied(c) => Covariances::Tied(c.clone()),
    };
    // The weights sum to 1 again only up to rounding; renormalise them exactly.
    let weights = &weights / weights.sum();
    let mut out = model;
    out.set_parameters(
        weights,
        means,
        covariances,
        "renumbering a start by its labels",
    )?;
    Ok(out)
}

/// The initializer of a labelled fit: restart 0 starts from the labelled rows
/// ([`label_start`]), restart r ≥ 1 from the unsupervised start of restart r − 1 renumbered
/// by the labels ([`align_to_labels`]); each wrapped with the labels. With a given start
/// ([`Init::Given`](crate::Init::Given)) there is one restart, from the given parameters
/// renumbered.
pub(crate) struct LabelledStarter<'a, W> {
    /// The unsupervised starts (wrapping in [`SampleWeighted`]).
    pub base: Starter<'a, W>,
    /// The data the starts are computed from (the checked data).
    pub x: &'a DMatrix<f64>,
    /// One label per row.
    pub labels: &'a [Option<usize>],
    /// Whether restart 0 starts from the labelled rows.
    pub from_labels: bool,
}

impl<'a, 's, W> Initializer<Labelled<'a, SampleWeighted<'s>>> for LabelledStarter<'a, W>
where
    W: Fn(GaussianMixture) -> Result<SampleWeighted<'s>, EmError>,
{
    fn initialize(
        &self,
        data: &DMatrix<f64>,
        rng: &mut StdRng,
    ) -> Result<Labelled<'a, SampleWeighted<'s>>, EmError> {
        self.initialize_restart(data, 0, rng)
    }

    fn initialize_restart(
        &self,
        data: &DMatrix<f64>,
        restart: usize,
        rng: &mut StdRng,
    ) -> Result<Labelled<'a, SampleWeighted<'s>>, EmError> {
        let start = if self.from_labels && restart == 0 {
            label_start(self.x, self.base.ctx, self.labels)?
        } else {
            let base = restart - usize::from(self.from_labels);
            let start = self
                .base
                .init
                .start(self.base.data, self.base.ctx, base, rng)?;
            align_to_labels(start, self.x, self.labels)?
        };
        let model = Labelled::new((self.base.wrap)(start)?, self.labels);
        model.check(data)?;
        Ok(model)
    }
}
