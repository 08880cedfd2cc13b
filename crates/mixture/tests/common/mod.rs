//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::cell::Cell;

use em_core::testing::prop::assert_invariants;
use em_core::{Em, EmError};
use mixture::{Component, Mixture};
use nalgebra::DMatrix;
use proptest::test_runner::TestCaseError;

/// How many property-test cases ran the invariant check and how many were discarded because
/// EM could not run from their start (a typed degenerate-component error).
#[derive(Debug, Default)]
pub struct Tally {
    pub ran: Cell<usize>,
    pub discarded: Cell<usize>,
}

impl Tally {
    /// Asserts that the test was not vacuous: `cases` cases ran, and at most a quarter as
    /// many were discarded.
    pub fn assert_mostly_ran(&self, cases: usize) {
        let (ran, discarded) = (self.ran.get(), self.discarded.get());
        assert_eq!(ran, cases, "only {ran} cases ran ({discarded} discarded)");
        assert!(
            discarded * 4 <= cases,
            "{discarded} cases discarded for {ran} run"
        );
    }
}

/// One property-test case: if EM cannot take `steps` steps from `model` because a component
/// empties or collapses (a typed error, legitimate for a random start), the case is
/// discarded (proptest then draws another, so the number of cases that *run* is still the
/// configured one); any other error fails the case; otherwise the three EM invariants must
/// hold at every step.
pub fn invariants_case<C: Component>(
    model: Mixture<Vec<C>>,
    data: &C::Data,
    steps: usize,
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let mut probe = model.clone();
    match Em::new().tol(0.0).max_iter(steps).fit(&mut probe, data) {
        Ok(_) => {}
        Err(
            e @ (EmError::EmptyComponent { .. }
            | EmError::NotPositiveDefinite { .. }
            | EmError::DegenerateComponent { .. }),
        ) => {
            tally.discarded.set(tally.discarded.get() + 1);
            return Err(TestCaseError::reject(e.to_string()));
        }
        Err(e) => return Err(TestCaseError::fail(format!("EM failed: {e}"))),
    }
    tally.ran.set(tally.ran.get() + 1);
    assert_invariants(model, data, steps)
}

/// Normalises positive raw weights to sum to 1.
pub fn normalise(raw: &[f64]) -> Vec<f64> {
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

/// Standard errors sqrt(diag((−H)⁻¹)) of the MLE `theta` of the log-likelihood `ll`, with
/// the Hessian H from central differences of step `h_i = 1e-4 · max(|θ_i|, 0.1)`.
pub fn standard_errors(
    theta: &[f64],
    ll: impl Fn(&[f64]) -> Result<f64, EmError>,
) -> Result<Vec<f64>, EmError> {
    let p = theta.len();
    let h: Vec<f64> = theta.iter().map(|t| 1e-4 * t.abs().max(0.1)).collect();
    let at = |moves: &[(usize, f64)]| -> Result<f64, EmError> {
        let mut t = theta.to_vec();
        for &(i, s) in moves {
            t[i] += s * h[i];
        }
        ll(&t)
    };
    let f0 = ll(theta)?;
    let mut hess = DMatrix::zeros(p, p);
    for i in 0..p {
        hess[(i, i)] = (at(&[(i, 1.0)])? - 2.0 * f0 + at(&[(i, -1.0)])?) / (h[i] * h[i]);
        for j in 0..i {
            let v = (at(&[(i, 1.0), (j, 1.0)])?
                - at(&[(i, 1.0), (j, -1.0)])?
                - at(&[(i, -1.0), (j, 1.0)])?
                + at(&[(i, -1.0), (j, -1.0)])?)
                / (4.0 * h[i] * h[j]);
            hess[(i, j)] = v;
            hess[(j, i)] = v;
        }
    }
    let information = -hess;
    let chol = information
        .cholesky()
        .ok_or_else(|| EmError::NotPositiveDefinite {
            component: 0,
            detail: "observed information at the fitted parameters".into(),
        })?;
    let cov = chol.inverse();
    Ok((0..p).map(|i| cov[(i, i)].sqrt()).collect())
}

/// Asserts |estimate − truth| < z · SE for every parameter, naming the one that fails.
pub fn assert_within_se(names: &[&str], estimate: &[f64], truth: &[f64], se: &[f64], z: f64) {
    for i in 0..names.len() {
        let dev = (estimate[i] - truth[i]).abs();
        assert!(
            dev < z * se[i],
            "{}: estimate {} vs truth {} is {:.2} standard errors away (SE {})",
            names[i],
            estimate[i],
            truth[i],
            dev / se[i],
            se[i]
        );
    }
}
