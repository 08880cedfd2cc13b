//! The hidden Markov model: parameters, the EM contract, and the fitted-model API.

use std::borrow::Borrow;
use std::ops::Range;

use em_core::{
    Dataset, EStep, EmError, LabelledEStep, LatentModel, ScalableStatistics, ScaledParameters,
    Statistics, chunked_log_likelihood,
};
use em_family::Family;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::forward_backward::{self, Chain, Impossible, Workspace};
use crate::sequence::{bad_step, check_sequence, transpose_into};

/// Sequences per batch for scoring (the driver uses its own chunk size for fits).
const SCORE_CHUNK: usize = 64;

/// How far a probability vector's sum may stray from 1.
const SUM_TOLERANCE: f64 = 1e-8;

/// A hidden Markov model with S states: p(z_1 = i) = π_i, p(z_t = j | z_{t−1} = i) = A_ij,
/// and emissions p(x_t | z_t = s) from the family `F`: the S components of an
/// [`em_family::Family`] — the same families a `mixture::Mixture<F>` mixes — are the states'
/// emission distributions.
///
/// A value of this type is always valid: π and every row of A are probability vectors
/// (non-negative, summing to 1 within 1e-8; zeros — e.g. a left-to-right model — are
/// allowed) and the emissions are valid for their family. Build one with [`Hmm::new`].
///
/// A sequence is the family's owned data `F::Owned` (T steps as T rows: `DMatrix<f64>` for
/// Gaussians, `Vec<usize>` for [`Categorical`](crate::Categorical), `Vec<u64>` of counts for
/// `Vec<Geometric>` …). Per sequence, the family's component-major log-densities (S×T) are
/// transposed to the step-major layout of forward–backward (T×S), and the posteriors γ back,
/// for [`Family::accumulate`] over the steps `0..T`.
///
/// It implements [`LatentModel`] on `[F::Owned]` — a slice of sequences of any lengths —
/// so the em-core driver ([`em_core::Em`]) fits it by Baum–Welch and the invariant checker
/// ([`em_core::testing`]) applies. The sequence is the unit the driver batches on: the
/// statistics of sequences add, so batches of sequences run in parallel (the driver's
/// `chunk_size` counts sequences); one long sequence is one unit and runs on one thread.
///
/// ```
/// use hmm::{CategoricalHmm, Categorical};
/// use nalgebra::{dmatrix, dvector};
/// let model = CategoricalHmm::new(
///     dvector![0.5, 0.5],
///     dmatrix![0.9, 0.1; 0.2, 0.8],
///     Categorical::new(dmatrix![0.7, 0.2, 0.1; 0.1, 0.3, 0.6])?,
/// )?;
/// let (states, log_p) = model.viterbi(&vec![0, 0, 2, 2, 2])?;
/// assert_eq!(states, vec![0, 0, 1, 1, 1]);
/// assert!(log_p < model.score(&vec![0, 0, 2, 2, 2])?); // one path vs. all paths
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "HmmSpec<F>",
    into = "HmmSpec<F>",
    bound(
        serialize = "F: Family + Serialize",
        deserialize = "F: Family + Deserialize<'de>"
    )
)]
pub struct Hmm<F: Family> {
    start: DVector<f64>,
    transitions: DMatrix<f64>,
    emission: F,
    log_start: Vec<f64>,
    /// A, row-major.
    trans_rows: Vec<f64>,
    /// log A, row-major.
    log_trans_rows: Vec<f64>,
}

/// The serialised form of an [`Hmm`]; loading validates it like [`Hmm::new`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct HmmSpec<F> {
    start: DVector<f64>,
    transitions: DMatrix<f64>,
    emission: F,
}

impl<F: Family> TryFrom<HmmSpec<F>> for Hmm<F> {
    type Error = EmError;
    fn try_from(s: HmmSpec<F>) -> Result<Self, EmError> {
        Hmm::new(s.start, s.transitions, s.emission)
    }
}

impl<F: Family> From<Hmm<F>> for HmmSpec<F> {
    fn from(m: Hmm<F>) -> Self {
        HmmSpec {
            start: m.start,
            transitions: m.transitions,
            emission: m.emission,
        }
    }
}

/// Expected sufficient statistics of a batch of sequences.
#[derive(Debug, Clone, PartialEq)]
pub struct HmmStats<S> {
    /// Expected initial-state counts Σ_sequences γ_1(i) (length S; sums to the number of
    /// sequences).
    pub start: DVector<f64>,
    /// Expected transition counts Σ_sequences Σ_{t≥2} ξ_t(i, j) (S×S, from row i to column j).
    pub transitions: DMatrix<f64>,
    /// The emission family's statistics (its components are the states).
    pub emission: S,
}

impl<S: Statistics> Statistics for HmmStats<S> {
    fn merge(&mut self, later: &Self) {
        self.start += &later.start;
        self.transitions += &later.transitions;
        self.emission.merge(&later.emission);
    }
}

impl<S: ScalableStatistics> ScalableStatistics for HmmStats<S> {
    fn scale(&mut self, factor: f64) {
        self.start *= factor;
        self.transitions *= factor;
        self.emission.scale(factor);
    }
}

/// Checks that `v` is a probability vector; `what` names it in the error.
fn check_probabilities(name: &'static str, what: &str, v: &[f64]) -> Result<(), EmError> {
    if let Some((j, p)) = v
        .iter()
        .enumerate()
        .find(|(_, p)| !(p.is_finite() && **p >= 0.0))
    {
        return Err(EmError::InvalidParameter {
            name,
            reason: format!("{what} has entry {j} = {p}; probabilities must be finite and ≥ 0"),
        });
    }
    let sum: f64 = v.iter().sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(EmError::InvalidParameter {
            name,
            reason: format!("{what} sums to {sum}, not 1"),
        });
    }
    Ok(())
}

/// Checks that every row of `m` is a probability vector; `name` is the parameter's name.
pub(crate) fn check_stochastic_rows(name: &'static str, m: &DMatrix<f64>) -> Result<(), EmError> {
    for i in 0..m.nrows() {
        let row: Vec<f64> = m.row(i).iter().copied().collect();
        check_probabilities(name, &format!("row {i}"), &row)?;
    }
    Ok(())
}

/// Buffers reused across the sequences of a batch.
#[derive(Debug, Default)]
struct Scratch {
    /// Log-densities, T×S (step-major).
    lb: Vec<f64>,
    /// A component-major S×T buffer (log-densities, then posteriors).
    by_state: Vec<f64>,
    /// The family's own scratch.
    family: Vec<f64>,
    /// Forward–backward buffers.
    ws: Workspace,
}

impl<F: Family> Hmm<F> {
    /// An HMM with initial distribution `start` (length S), transition matrix `transitions`
    /// (S×S, row i = p(z_t = · | z_{t−1} = i)) and emissions: a family of S components, one
    /// per state.
    ///
    /// Fails with [`EmError::InvalidParameter`] naming `start` or `transitions` (and the row)
    /// when shapes disagree, an entry is negative or not finite, or a row does not sum to 1
    /// within 1e-8; naming `emission` for a family of no components, and `components` for
    /// components that disagree ([`Family::check_components`]: different dimensions). Zero
    /// probabilities are allowed and stay zero under EM.
    ///
    /// ```
    /// use em_family::families::Poisson;
    /// use hmm::Hmm;
    /// use nalgebra::{dmatrix, dvector};
    /// // Any one-component family is lifted to S states by a Vec of them.
    /// let model = Hmm::new(
    ///     dvector![0.5, 0.5],
    ///     dmatrix![0.9, 0.1; 0.2, 0.8],
    ///     vec![Poisson::new(1.0)?, Poisson::new(12.0)?],
    /// )?;
    /// assert_eq!(model.predict(&vec![0u64, 2, 15, 11, 9])?, vec![0, 0, 1, 1, 1]);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn new(
        start: DVector<f64>,
        transitions: DMatrix<f64>,
        emission: F,
    ) -> Result<Self, EmError> {
        let s = emission.n_components();
        if s == 0 {
            return Err(EmError::InvalidParameter {
                name: "emission",
                reason: "at least one state is needed".into(),
            });
        }
        emission.check_components()?;
        if start.len() != s {
            return Err(EmError::InvalidParameter {
                name: "start",
                reason: format!(
                    "expected {s} probabilities (one per state), got {}",
                    start.len()
                ),
            });
        }
        if transitions.shape() != (s, s) {
            return Err(EmError::InvalidParameter {
                name: "transitions",
                reason: format!(
                    "expected a {s}×{s} matrix, got {}×{}",
                    transitions.nrows(),
                    transitions.ncols()
                ),
            });
        }
        check_probabilities("start", "the initial distribution", start.as_slice())?;
        check_stochastic_rows("transitions", &transitions)?;
        let mut model = Hmm {
            start,
            transitions,
            emission,
            log_start: Vec::new(),
            trans_rows: Vec::new(),
            log_trans_rows: Vec::new(),
        };
        model.refresh();
        Ok(model)
    }

    /// Re-derives the cached logarithms and row-major copies.
    fn refresh(&mut self) {
        let s = self.n_states();
        self.log_start = self.start.iter().map(|p| p.ln()).collect();
        self.trans_rows = (0..s * s)
            .map(|k| self.transitions[(k / s, k % s)])
            .collect();
        self.log_trans_rows = self.trans_rows.iter().map(|p| p.ln()).collect();
    }

    pub(crate) fn chain(&self) -> Chain<'_> {
        Chain {
            n: self.n_states(),
            start: self.start.as_slice(),
            log_start: &self.log_start,
            trans: &self.trans_rows,
            log_trans: &self.log_trans_rows,
        }
    }

    /// Number of hidden states S.
    pub fn n_states(&self) -> usize {
        self.start.len()
    }

    /// The initial distribution π (length S).
    pub fn start(&self) -> &DVector<f64> {
        &self.start
    }

    /// The transition matrix A (S×S; row i is p(z_t = · | z_{t−1} = i)).
    pub fn transitions(&self) -> &DMatrix<f64> {
        &self.transitions
    }

    /// The emission distributions (the family; component s is state s's).
    pub fn emission(&self) -> &F {
        &self.emission
    }

    /// Number of free parameters: S − 1 initial, S(S − 1) transition, and the emissions'.
    pub fn n_parameters(&self) -> usize {
        let s = self.n_states();
        s - 1 + s * (s - 1) + self.emission.n_parameters()
    }

    /// Checks sequence `index` and writes its log-emission densities (T×S, step-major) to
    /// `scratch.lb`; returns T.
    fn densities(
        &self,
        sequence: &F::Data,
        index: usize,
        scratch: &mut Scratch,
    ) -> Result<usize, EmError> {
        let t_len = check_sequence(&self.emission, sequence, index)?;
        let s = self.n_states();
        scratch.by_state.clear();
        scratch.by_state.resize(s * t_len, 0.0);
        self.emission.log_densities(
            sequence,
            0..t_len,
            None,
            &mut scratch.by_state,
            &mut scratch.family,
        );
        transpose_into(&scratch.by_state, s, t_len, &mut scratch.lb);
        Ok(t_len)
    }

    /// Statistics of no observations: the family's, shaped by an empty sample.
    fn zero_stats(&self) -> HmmStats<F::Stats> {
        let s = self.n_states();
        let empty = self.emission.finish_sample(self.emission.new_sample(0));
        HmmStats {
            start: DVector::zeros(s),
            transitions: DMatrix::zeros(s, s),
            emission: self.emission.zero_stats(empty.borrow()),
        }
    }

    /// log p(x_{1:T} | θ) of one sequence (the forward algorithm), −∞ when the sequence is
    /// impossible under the model (e.g. a symbol that no state can emit there). Errors name
    /// the sequence as sequence 0.
    pub fn score(&self, sequence: &F::Owned) -> Result<f64, EmError> {
        let mut scratch = Scratch::default();
        self.densities(sequence.borrow(), 0, &mut scratch)?;
        Ok(forward_backward::log_likelihood(
            self.chain(),
            &scratch.lb,
            &mut scratch.ws,
        ))
    }

    /// Σ log p(x | θ) over all `sequences` (in parallel batches of sequences).
    pub fn log_likelihood_total(&self, sequences: &[F::Owned]) -> Result<f64, EmError> {
        chunked_log_likelihood(self, sequences, SCORE_CHUNK)
    }

    /// Posterior state probabilities p(z_t = s | x_{1:T}) of one sequence: a T×S matrix whose
    /// rows sum to 1 (forward–backward).
    pub fn predict_proba(&self, sequence: &F::Owned) -> Result<DMatrix<f64>, EmError> {
        let mut scratch = Scratch::default();
        let t_len = self.densities(sequence.borrow(), 0, &mut scratch)?;
        forward_backward::posterior(self.chain(), &scratch.lb, &mut scratch.ws)
            .map_err(|e| impossible(0, e))?;
        Ok(DMatrix::from_row_slice(
            t_len,
            self.n_states(),
            &scratch.ws.post.gamma,
        ))
    }

    /// The most probable state path z* = argmax_z p(z | x) of one sequence (Viterbi, in log
    /// space; ties go to the lower state index) and its log joint probability log p(x, z*).
    pub fn viterbi(&self, sequence: &F::Owned) -> Result<(Vec<usize>, f64), EmError> {
        let mut scratch = Scratch::default();
        self.densities(sequence.borrow(), 0, &mut scratch)?;
        forward_backward::viterbi(self.chain(), &scratch.lb).map_err(|e| impossible(0, e))
    }

    /// The Viterbi path alone.
    pub fn predict(&self, sequence: &F::Owned) -> Result<Vec<usize>, EmError> {
        Ok(self.viterbi(sequence)?.0)
    }

    /// Draws a sequence of `len` steps and the hidden states that produced it (the state path
    /// first, then one draw of the family per step: [`Family::draw`]).
    pub fn sample<R: Rng + ?Sized>(&self, len: usize, rng: &mut R) -> (F::Owned, Vec<usize>) {
        let s = self.n_states();
        let mut states = Vec::with_capacity(len);
        for _ in 0..len {
            let probs = match states.last() {
                None => self.start.as_slice(),
                Some(&i) => &self.trans_rows[i * s..(i + 1) * s],
            };
            states.push(draw(probs, rng));
        }
        let mut sample = self.emission.new_sample(len);
        for &state in &states {
            self.emission.draw(state, rng, &mut sample);
        }
        (self.emission.finish_sample(sample), states)
    }

    /// Bayesian information criterion −2 log L + p log N, N the total number of steps.
    pub fn bic(&self, sequences: &[F::Owned]) -> Result<f64, EmError> {
        let ll = self.log_likelihood_total(sequences)?;
        let steps = self.total_steps(sequences)?;
        Ok(em_core::criteria::bic(ll, self.n_parameters(), steps))
    }

    /// Akaike information criterion −2 log L + 2p.
    pub fn aic(&self, sequences: &[F::Owned]) -> Result<f64, EmError> {
        let ll = self.log_likelihood_total(sequences)?;
        Ok(em_core::criteria::aic(ll, self.n_parameters()))
    }

    /// Σ T over `sequences`, checking each.
    fn total_steps(&self, sequences: &[F::Owned]) -> Result<usize, EmError> {
        sequences
            .iter()
            .enumerate()
            .map(|(i, x)| check_sequence(&self.emission, x.borrow(), i))
            .sum()
    }

    /// Whether the chain part of `stats` has this model's shape.
    fn chain_stats_fit(&self, stats: &HmmStats<F::Stats>) -> bool {
        let s = self.n_states();
        stats.start.len() == s && stats.transitions.shape() == (s, s)
    }

    /// Mutable access for the crate's constructors (keeps the model valid: only the emission
    /// changes, through its own validated setters).
    pub(crate) fn emission_mut(&mut self) -> &mut F {
        &mut self.emission
    }
}

/// Draws an index from the probability vector `p` (zeros are never drawn).
pub(crate) fn draw<R: Rng + ?Sized>(p: &[f64], rng: &mut R) -> usize {
    let total: f64 = p.iter().sum();
    let u = rng.random::<f64>() * total;
    let mut acc = 0.0;
    let mut last = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > 0.0 {
            acc += v;
            last = i;
            if u < acc {
                return i;
            }
        }
    }
    last
}

impl<F: Family> Hmm<F> {
    /// Forward–backward on every sequence of `rows`, with the known states of `labels` (one
    /// vector per sequence of `rows`, checked by the caller) or none: at a labelled step the
    /// log-emission density of every other state is −∞, so the posterior is the point mass on
    /// the label there and log p(x) becomes log p(x, z_t = k_t at the labelled steps).
    fn e_step_batch(
        &self,
        data: &[F::Owned],
        rows: Range<usize>,
        labels: Option<&[Vec<Option<usize>>]>,
    ) -> Result<EStep<HmmStats<F::Stats>>, EmError> {
        let s = self.n_states();
        let mut stats = self.zero_stats();
        let (mut log_likelihood, mut entropy) = (0.0, 0.0);
        let mut scratch = Scratch::default();
        let first = rows.start;
        for index in rows {
            let sequence: &F::Data = sequence_at(data, index)?.borrow();
            let t_len = self.densities(sequence, index, &mut scratch)?;
            let known = labels.map(|l| l[index - first].as_slice());
            if let Some(known) = known {
                check_step_labels(known, index, t_len, s)?;
                mask_labelled_steps(&mut scratch.lb, s, known);
            }
            forward_backward::posterior(self.chain(), &scratch.lb, &mut scratch.ws).map_err(
                |e| {
                    if known.is_some_and(|k| k.iter().any(Option::is_some)) {
                        impossible_with_labels(index, e)
                    } else {
                        impossible(index, e)
                    }
                },
            )?;
            if let Some(known) = known {
                // The other states' γ are exactly 0 there (their emission is); the labelled
                // state's is 1 up to the rounding of α̂β̂: make it exactly the point mass.
                for (row, label) in scratch.ws.post.gamma.chunks_exact_mut(s).zip(known) {
                    if let Some(k) = *label {
                        row.fill(0.0);
                        row[k] = 1.0;
                    }
                }
            }
            let post = &scratch.ws.post;
            for (a, g) in stats.start.iter_mut().zip(&post.gamma[..s]) {
                *a += g;
            }
            for i in 0..s {
                for j in 0..s {
                    stats.transitions[(i, j)] += post.xi[i * s + j];
                }
            }
            transpose_into(&post.gamma, t_len, s, &mut scratch.by_state);
            let part = self.emission.accumulate(
                sequence,
                0..t_len,
                &scratch.by_state,
                None,
                &mut scratch.family,
            );
            stats.emission.merge(&part);
            log_likelihood += post.log_likelihood;
            entropy += post.entropy;
        }
        Ok(EStep {
            stats,
            log_likelihood,
            entropy,
        })
    }
}

/// Known hidden states: an HMM fitted by semi-supervised EM through [`em_core::Labelled`].
/// The label of sequence n is a vector with one entry per step (`Some(state)` where the
/// state is known, `None` elsewhere), or an empty vector for a sequence with no known
/// state. At a labelled step t with state k the forward–backward sets the emission density
/// of every other state to 0, so γ_t is the point mass on k, and the objective is
/// Σ_n log p(x_n, z_nt = k_nt at its labelled steps).
///
/// ```
/// use em_core::{Em, Labelled, LabelledEStep, LatentModel};
/// use hmm::Hmm;
/// use em_family::families::Poisson;
/// use nalgebra::{dmatrix, dvector};
///
/// let model = Hmm::new(
///     dvector![0.5, 0.5],
///     dmatrix![0.9, 0.1; 0.1, 0.9],
///     vec![Poisson::new(1.0)?, Poisson::new(6.0)?],
/// )?;
/// let data = vec![vec![0u64, 1, 0, 7, 5, 8, 6], vec![2u64, 1, 0]];
/// // Step 3 of sequence 0 is known to be in state 1; sequence 1 has no labels.
/// let labels = vec![vec![None, None, None, Some(1), None, None, None], vec![]];
/// let e = model.e_step_labelled(&data, 0..2, &labels)?;
/// assert!(e.log_likelihood < model.e_step(&data, 0..2)?.log_likelihood);
/// let mut labelled = Labelled::new(model, &labels);
/// labelled.check(&data)?;
/// let fit = Em::new().fit(&mut labelled, &data)?;
/// assert!(fit.converged);
/// # Ok::<(), em_core::EmError>(())
/// ```
impl<F: Family> LabelledEStep for Hmm<F> {
    type Label = Vec<Option<usize>>;

    fn e_step_labelled(
        &self,
        data: &[F::Owned],
        rows: Range<usize>,
        labels: &[Vec<Option<usize>>],
    ) -> Result<EStep<Self::Stats>, EmError> {
        if labels.len() != rows.len() {
            return Err(EmError::InvalidParameter {
                name: "labels",
                reason: format!(
                    "expected {} label vectors for the batch (one per sequence), got {}",
                    rows.len(),
                    labels.len()
                ),
            });
        }
        self.e_step_batch(data, rows, Some(labels))
    }

    /// One label vector per sequence, each empty or as long as its sequence, every state
    /// < S.
    fn check_labels(
        &self,
        data: &[F::Owned],
        labels: &[Vec<Option<usize>>],
    ) -> Result<(), EmError> {
        if labels.len() != data.len() {
            return Err(EmError::InvalidParameter {
                name: "labels",
                reason: format!(
                    "expected {} label vectors (one per sequence, empty for a sequence with no \
                     known state), got {}",
                    data.len(),
                    labels.len()
                ),
            });
        }
        for (index, (sequence, known)) in data.iter().zip(labels).enumerate() {
            check_step_labels(known, index, sequence.borrow().n_obs(), self.n_states())?;
        }
        Ok(())
    }
}

/// Checks the labels of sequence `index` of `t_len` steps: none, or one per step, each < `s`.
fn check_step_labels(
    known: &[Option<usize>],
    index: usize,
    t_len: usize,
    s: usize,
) -> Result<(), EmError> {
    if !known.is_empty() && known.len() != t_len {
        return Err(EmError::InvalidParameter {
            name: "labels",
            reason: format!(
                "sequence {index} has {t_len} steps but {} labels (give one per step, or none)",
                known.len()
            ),
        });
    }
    match known
        .iter()
        .enumerate()
        .find_map(|(t, l)| l.filter(|&l| l >= s).map(|l| (t, l)))
    {
        Some((t, l)) => Err(bad_step(
            index,
            t,
            None,
            format!("label {l} is not a state: labels must be in 0..{s} (S = {s}), or absent"),
        )),
        None => Ok(()),
    }
}

/// Sets the log-emission densities (T×S, step-major) of every state but the known one to −∞
/// at the labelled steps.
fn mask_labelled_steps(lb: &mut [f64], s: usize, known: &[Option<usize>]) {
    for (row, label) in lb.chunks_exact_mut(s).zip(known) {
        if let Some(k) = *label {
            for (j, v) in row.iter_mut().enumerate() {
                if j != k {
                    *v = f64::NEG_INFINITY;
                }
            }
        }
    }
}

/// The error for a sequence whose labels it cannot satisfy.
fn impossible_with_labels(sequence: usize, e: Impossible) -> EmError {
    bad_step(
        sequence,
        e.step,
        None,
        "the sequence and its labels have probability 0 under the model from this step on \
         (a labelled state cannot emit this observation, or cannot be reached from the \
         labelled or possible states before it)",
    )
}

/// The error for a sequence that has probability 0 under the model.
fn impossible(sequence: usize, e: Impossible) -> EmError {
    bad_step(
        sequence,
        e.step,
        None,
        "the sequence has probability 0 under the model from this step on (every state is \
         unreachable or cannot emit this observation)",
    )
}

impl<F: Family> LatentModel for Hmm<F> {
    type Data = [F::Owned];
    type Stats = HmmStats<F::Stats>;

    /// Forward–backward on every sequence of `rows` (see the crate docs for the algorithm),
    /// checking each sequence first. Errors name the sequence (its index in `data`) and step.
    fn e_step(&self, data: &[F::Owned], rows: Range<usize>) -> Result<EStep<Self::Stats>, EmError> {
        self.e_step_batch(data, rows, None)
    }

    /// π_i ∝ expected initial counts, A_ij ∝ expected transition counts (a state never left
    /// keeps its row, which does not enter the objective), then the family's M-step
    /// ([`Family::maximise`]: a state with no expected observations keeps its emission
    /// parameters). On error the model is unchanged.
    fn m_step(&mut self, stats: &Self::Stats) -> Result<(), EmError> {
        let s = self.n_states();
        if !self.chain_stats_fit(stats) {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!(
                    "expected {s} initial counts and {s}×{s} transition counts, got {} and {}×{}",
                    stats.start.len(),
                    stats.transitions.nrows(),
                    stats.transitions.ncols()
                ),
            });
        }
        let total: f64 = stats.start.sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "stats",
                reason: format!("expected initial-state counts sum to {total}; no sequences?"),
            });
        }
        let start = &stats.start / total;
        let mut transitions = self.transitions.clone();
        for i in 0..s {
            let row_total: f64 = stats.transitions.row(i).sum();
            if row_total > 0.0 && row_total.is_finite() {
                for j in 0..s {
                    transitions[(i, j)] = stats.transitions[(i, j)] / row_total;
                }
            }
        }
        let mut emission = self.emission.clone();
        emission.maximise(&stats.emission)?;
        self.emission = emission;
        self.start = start;
        self.transitions = transitions;
        self.refresh();
        Ok(())
    }

    /// π, then A row by row, as probabilities (relative to min(p, 1 − p), floored at 1e-3:
    /// a transition that does not occur approaches 0 geometrically), then the emission
    /// family's ([`Family::scaled_parameters`]; `None` when it exposes none).
    fn scaled_parameters(&self) -> Option<ScaledParameters> {
        let s = self.n_states();
        let mut out = ScaledParameters::with_capacity(s + s * s);
        self.start.iter().for_each(|&p| out.push_probability(p));
        self.trans_rows
            .iter()
            .for_each(|&p| out.push_probability(p));
        out.append(self.emission.scaled_parameters()?);
        Some(out)
    }

    /// The total number of steps: the objective's change and Aitken's gap are per step, not
    /// per sequence.
    fn n_observations(&self, data: &[F::Owned]) -> usize {
        data.iter().map(|sequence| sequence.borrow().n_obs()).sum()
    }

    /// Σ_i n_i log π_i + Σ_ij n_ij log A_ij + Σ_t Σ_s γ_t(s) log p(x_t | s), with 0 · log 0 = 0
    /// (the last term from the family's [`Family::expected_log_density`]).
    fn expected_complete_log_likelihood(&self, stats: &Self::Stats) -> f64 {
        let s = self.n_states();
        if !self.chain_stats_fit(stats) {
            return f64::NAN;
        }
        let mut total = 0.0;
        for (c, lp) in stats.start.iter().zip(&self.log_start) {
            if *c != 0.0 {
                total += c * lp;
            }
        }
        for i in 0..s {
            for j in 0..s {
                let c = stats.transitions[(i, j)];
                if c != 0.0 {
                    total += c * self.log_trans_rows[i * s + j];
                }
            }
        }
        total + self.emission.expected_log_density(&stats.emission)
    }

    /// The forward pass alone (no posteriors), summed over `rows`.
    fn log_likelihood(&self, data: &[F::Owned], rows: Range<usize>) -> Result<f64, EmError> {
        let mut scratch = Scratch::default();
        let mut total = 0.0;
        for index in rows {
            self.densities(sequence_at(data, index)?.borrow(), index, &mut scratch)?;
            total += forward_backward::log_likelihood(self.chain(), &scratch.lb, &mut scratch.ws);
        }
        Ok(total)
    }

    /// The emission family's log-prior (0 without a prior): with one, EM is MAP-EM and the
    /// reported objective includes it.
    fn log_prior(&self) -> f64 {
        self.emission.log_prior()
    }
}

/// Sequence `index` of `data`, or an error for a range beyond the data.
fn sequence_at<T>(data: &[T], index: usize) -> Result<&T, EmError> {
    data.get(index).ok_or_else(|| EmError::InvalidParameter {
        name: "rows",
        reason: format!(
            "sequence {index} is out of range (the data has {})",
            data.len()
        ),
    })
}
