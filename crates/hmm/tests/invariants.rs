//! The EM invariants (em-core's checker: ELBO tight after every E-step, M-step never lowers
//! the ELBO, ELBO ≤ log-likelihood) hold for Gaussian (full, diagonal, spherical and tied) and
//! categorical HMMs — random models, random data from other random models, 1–4 sequences of random
//! lengths, structural zeros in the transitions — and the chunked E-step over batches of
//! sequences agrees with the one-batch E-step to 1e-12.

mod common;

use common::*;
use em_core::EmError;
use em_core::testing::prop::assert_invariants;
use em_core::testing::{Tolerance, check_invariants, chunking_discrepancy};
use hmm::CovarianceType;
use proptest::collection::vec;
use proptest::prelude::*;

/// EM iterations checked per case.
const STEPS: usize = 12;

fn gaussian_case(
    seed: u64,
    s: usize,
    d: usize,
    kind: CovarianceType,
    lengths: &[usize],
    zeros: bool,
) -> Result<(), TestCaseError> {
    let mut r = rng(seed);
    let truth = gaussian_hmm(s, d, kind, false, &mut r);
    let data = sample_all(&truth, lengths, &mut r);
    let start = gaussian_start(&data, s, kind, zeros, &mut r);
    for chunk in [1, 2, 3] {
        let gap = chunking_discrepancy(&start, &data[..], chunk).unwrap();
        prop_assert!(gap < 1e-12, "chunk {chunk}: {gap:e}");
    }
    // A state that collapses onto (nearly) one point — the Gaussian likelihood's degeneracy,
    // about 1 case in 8,000 here — ends EM with a typed error, not a violation; such a case is
    // rejected (too many rejections would still fail the test).
    let collapsed = matches!(
        check_invariants(start.clone(), &data[..], STEPS, Tolerance::default()),
        Err(EmError::NotPositiveDefinite { .. })
    );
    prop_assume!(!collapsed);
    assert_invariants(start, &data[..], STEPS)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_for_full_covariance_gaussian_hmms(
        seed in any::<u64>(),
        s in 1usize..4,
        d in 1usize..4,
        lengths in vec(1usize..80, 1..5),
        zeros in any::<bool>(),
    ) {
        // Enough steps that no state is left with fewer points than dimensions.
        let mut lengths = lengths;
        lengths[0] += 12 * s * (d + 1);
        gaussian_case(seed, s, d, CovarianceType::Full, &lengths, zeros)?;
    }

    #[test]
    fn invariants_hold_for_diagonal_gaussian_hmms(
        seed in any::<u64>(),
        s in 1usize..4,
        d in 1usize..4,
        lengths in vec(1usize..80, 1..5),
        zeros in any::<bool>(),
    ) {
        let mut lengths = lengths;
        lengths[0] += 12 * s * (d + 1);
        gaussian_case(seed, s, d, CovarianceType::Diag, &lengths, zeros)?;
    }

    #[test]
    fn invariants_hold_for_spherical_gaussian_hmms(
        seed in any::<u64>(),
        s in 1usize..4,
        d in 1usize..4,
        lengths in vec(1usize..80, 1..5),
        zeros in any::<bool>(),
    ) {
        let mut lengths = lengths;
        lengths[0] += 12 * s * (d + 1);
        gaussian_case(seed, s, d, CovarianceType::Spherical, &lengths, zeros)?;
    }

    #[test]
    fn invariants_hold_for_tied_gaussian_hmms(
        seed in any::<u64>(),
        s in 1usize..4,
        d in 1usize..4,
        lengths in vec(1usize..80, 1..5),
        zeros in any::<bool>(),
    ) {
        let mut lengths = lengths;
        lengths[0] += 12 * s * (d + 1);
        gaussian_case(seed, s, d, CovarianceType::Tied, &lengths, zeros)?;
    }

    #[test]
    fn invariants_hold_for_categorical_hmms(
        seed in any::<u64>(),
        s in 1usize..5,
        m in 1usize..6,
        lengths in vec(1usize..60, 1..5),
        zeros in any::<bool>(),
    ) {
        let mut r = rng(seed);
        let truth = categorical_hmm(s, m, false, &mut r);
        let data = sample_all(&truth, &lengths, &mut r);
        let start = categorical_hmm(s, m, zeros, &mut r);
        for chunk in [1, 2, 3] {
            let gap = chunking_discrepancy(&start, &data[..], chunk).unwrap();
            prop_assert!(gap < 1e-12, "chunk {chunk}: {gap:e}");
        }
        assert_invariants(start, &data[..], STEPS)?;
    }
}

#[test]
fn chunked_e_step_over_batches_of_sequences_matches_one_batch() {
    let mut r = rng(7);
    let lengths: Vec<usize> = (0..25).map(|i| 1 + (i * 37) % 90).collect();
    for kind in [CovarianceType::Full, CovarianceType::Diag] {
        let truth = gaussian_hmm(3, 2, kind, false, &mut r);
        // Far from the origin: raw Σγxxᵀ would lose ~8 digits here; Chan's merge does not.
        let data: Vec<_> = sample_all(&truth, &lengths, &mut r)
            .into_iter()
            .map(|x| x.add_scalar(1e4))
            .collect();
        let start = gaussian_start(&data, 3, kind, true, &mut r);
        for chunk in [1, 2, 7, 24, 25, 100] {
            let gap = chunking_discrepancy(&start, &data[..], chunk).unwrap();
            assert!(gap < 1e-12, "{kind:?} chunk {chunk}: {gap:e}");
        }
    }
    let truth = categorical_hmm(4, 6, true, &mut r);
    let data = sample_all(&truth, &lengths, &mut r);
    for chunk in [1, 3, 25] {
        let gap =
            chunking_discrepancy(&categorical_hmm(4, 6, true, &mut r), &data[..], chunk).unwrap();
        assert!(gap < 1e-12, "categorical chunk {chunk}: {gap:e}");
    }
}

/// The HMM with a common mistake: the entropy of the posterior over paths replaced by the sum
/// of the per-step marginal entropies Σ_t H(γ_t), which ignores the correlation between
/// consecutive states and overstates H.
struct MarginalEntropy(hmm::GaussianHmm);

impl em_core::LatentModel for MarginalEntropy {
    type Data = [nalgebra::DMatrix<f64>];
    type Stats = <hmm::GaussianHmm as em_core::LatentModel>::Stats;
    fn e_step(
        &self,
        data: &Self::Data,
        rows: std::ops::Range<usize>,
    ) -> Result<em_core::EStep<Self::Stats>, EmError> {
        let mut e = self.0.e_step(data, rows.clone())?;
        e.entropy = 0.0;
        for x in &data[rows] {
            let g = self.0.predict_proba(x)?;
            e.entropy -= g
                .iter()
                .filter(|&&p| p > 0.0)
                .map(|p| p * p.ln())
                .sum::<f64>();
        }
        Ok(e)
    }
    fn m_step(&mut self, stats: &Self::Stats) -> Result<(), EmError> {
        self.0.m_step(stats)
    }
    fn expected_complete_log_likelihood(&self, stats: &Self::Stats) -> f64 {
        self.0.expected_complete_log_likelihood(stats)
    }
}

#[test]
fn checker_rejects_the_sum_of_marginal_entropies() {
    let mut r = rng(11);
    let truth = gaussian_hmm(3, 2, CovarianceType::Full, false, &mut r);
    let data = sample_all(&truth, &[120, 40], &mut r);
    let start = gaussian_start(&data, 3, CovarianceType::Full, false, &mut r);
    let right = check_invariants(start.clone(), &data[..], 5, Tolerance::default()).unwrap();
    assert!(right.is_ok(), "{right}");
    let wrong =
        check_invariants(MarginalEntropy(start), &data[..], 5, Tolerance::default()).unwrap();
    let first = wrong
        .first_violation()
        .expect("the wrong entropy must be caught");
    assert_eq!(first.invariant, em_core::testing::Invariant::ElboTight);
    assert_eq!(first.iteration, 0);
    assert!(first.amount > 1e-3, "{wrong}");
}

/// The structures new to the HMM, on fixed cases the proptests above also cover: a spherical
/// and a tied 3-state model in 3-D pass the checker from a random start, over several
/// sequences, and their chunked E-steps agree with one batch far from the origin.
#[test]
fn spherical_and_tied_gaussian_hmms_pass_the_invariant_checker() {
    for (seed, kind) in [(21, CovarianceType::Spherical), (22, CovarianceType::Tied)] {
        let mut r = rng(seed);
        let truth = gaussian_hmm(3, 3, kind, false, &mut r);
        let data = sample_all(&truth, &[300, 45, 120, 7], &mut r);
        let start = gaussian_start(&data, 3, kind, true, &mut r);
        assert_eq!(start.emission().covariance_type(), kind);
        let check = check_invariants(start, &data[..], 25, Tolerance::default()).unwrap();
        assert!(check.is_ok(), "{kind}: {check}");

        let far: Vec<_> = data.iter().map(|x| x.add_scalar(1e4)).collect();
        let start = gaussian_start(&far, 3, kind, true, &mut r);
        for chunk in [1, 2, 3, 4] {
            let gap = chunking_discrepancy(&start, &far[..], chunk).unwrap();
            assert!(gap < 1e-12, "{kind} chunk {chunk}: {gap:e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Missing values (NaN entries, modelled) in Gaussian HMMs: the family layer's exact EM
    /// for missing values, through the forward–backward posteriors instead of a mixture's.
    #[test]
    fn invariants_hold_for_gaussian_hmms_with_missing_values(
        seed in any::<u64>(),
        s in 1usize..4,
        d in 2usize..4,
        kind_index in 0usize..4,
        rate in 0.0..0.5f64,
        lengths in vec(1usize..60, 1..4),
    ) {
        use rand::RngExt;
        let kind = CovarianceType::ALL[kind_index];
        let mut r = rng(seed);
        let truth = gaussian_hmm(s, d, kind, false, &mut r);
        let mut lengths = lengths;
        lengths[0] += 12 * s * (d + 1);
        let mut data = sample_all(&truth, &lengths, &mut r);
        // The start from the complete data, then the holes.
        let start = gaussian_start(&data, s, kind, false, &mut r)
            .with_missing_values(hmm::MissingValues::Model);
        for x in &mut data {
            for i in 0..x.nrows() {
                // Every step keeps its first value, so no step is wholly missing.
                for j in 1..d {
                    if r.random::<f64>() < rate {
                        x[(i, j)] = f64::NAN;
                    }
                }
            }
        }
        for chunk in [1, 2] {
            let gap = chunking_discrepancy(&start, &data[..], chunk).unwrap();
            prop_assert!(gap < 1e-12, "chunk {chunk}: {gap:e}");
        }
        let collapsed = matches!(
            check_invariants(start.clone(), &data[..], STEPS, Tolerance::default()),
            Err(EmError::NotPositiveDefinite { .. })
        );
        prop_assume!(!collapsed);
        assert_invariants(start, &data[..], STEPS)?;
    }
}
