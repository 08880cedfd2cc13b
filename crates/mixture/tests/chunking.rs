//! A chunked E-step (batches merged in order, on the rayon pool) equals the one-batch E-step:
//! log-likelihood, entropy and the statistics (through E_q[log p(x, z | θ)]) agree to 1e-12
//! relative, for every family and several chunk sizes — including chunks of one observation
//! and chunk sizes that do not divide N.

use em_core::testing::chunking_discrepancy;
use em_core::{EmError, LatentModel, StdRng};
use mixture::{Bernoulli, Component, Exponential, Gaussian, Mixture, Poisson};
use rand::SeedableRng;

const CHUNKS: [usize; 5] = [1, 7, 256, 1000, 4999];

fn assert_chunking_exact<C: Component>(
    model: &Mixture<Vec<C>>,
    data: &C::Data,
) -> Result<(), EmError> {
    let mut worst = 0.0_f64;
    for chunk in CHUNKS {
        let d = chunking_discrepancy(model, data, chunk)?;
        assert!(d < 1e-12, "chunk size {chunk}: relative discrepancy {d:e}");
        worst = worst.max(d);
    }
    println!("largest relative discrepancy {worst:e}");
    // The merged statistics also give the same M-step.
    let whole = model.e_step(data, 0..data_len(model, data))?;
    let parts = em_core::chunked_e_step(model, data, 7)?;
    let (mut a, mut b) = (model.clone(), model.clone());
    a.m_step(&whole.stats)?;
    b.m_step(&parts.stats)?;
    for (wa, wb) in a.weights().iter().zip(b.weights()) {
        assert!((wa - wb).abs() < 1e-12, "weights {wa} vs {wb}");
    }
    Ok(())
}

fn data_len<C: Component>(_: &Mixture<Vec<C>>, data: &C::Data) -> usize {
    em_core::Dataset::n_obs(data)
}

#[test]
fn poisson_chunked_e_step_equals_one_batch() -> Result<(), EmError> {
    let truth = Mixture::new(vec![0.3, 0.7], vec![Poisson::new(0.0)?, Poisson::new(7.5)?])?;
    let (y, _) = truth.sample(5000, &mut StdRng::seed_from_u64(1));
    let model = Mixture::new(
        vec![0.2, 0.5, 0.3],
        vec![Poisson::new(0.5)?, Poisson::new(4.0)?, Poisson::new(10.0)?],
    )?;
    assert_chunking_exact(&model, &y[..])
}

#[test]
fn exponential_chunked_e_step_equals_one_batch() -> Result<(), EmError> {
    let truth = Mixture::new(
        vec![0.5, 0.5],
        vec![Exponential::new(0.1)?, Exponential::new(10.0)?],
    )?;
    let (x, _) = truth.sample(5000, &mut StdRng::seed_from_u64(2));
    let model = Mixture::new(
        vec![0.4, 0.6],
        vec![Exponential::new(1.0)?, Exponential::new(3.0)?],
    )?;
    assert_chunking_exact(&model, &x[..])
}

#[test]
fn gaussian_chunked_e_step_equals_one_batch_far_from_origin() -> Result<(), EmError> {
    // Far from 0: merging raw Σγx² across chunks would lose precision here.
    let truth = Mixture::new(
        vec![0.5, 0.5],
        vec![Gaussian::new(1e6, 1.0)?, Gaussian::new(1e6 + 5.0, 4.0)?],
    )?;
    let (x, _) = truth.sample(5000, &mut StdRng::seed_from_u64(3));
    let model = Mixture::new(
        vec![0.3, 0.3, 0.4],
        vec![
            Gaussian::new(1e6 - 1.0, 2.0)?,
            Gaussian::new(1e6 + 2.0, 1.0)?,
            Gaussian::new(1e6 + 6.0, 3.0)?,
        ],
    )?;
    assert_chunking_exact(&model, &x[..])
}

#[test]
fn bernoulli_chunked_e_step_equals_one_batch() -> Result<(), EmError> {
    let truth = Mixture::new(
        vec![0.4, 0.6],
        vec![
            Bernoulli::new(vec![0.9, 0.1, 0.0, 0.5, 1.0])?,
            Bernoulli::new(vec![0.2, 0.7, 0.0, 0.5, 0.3])?,
        ],
    )?;
    let (x, _) = truth.sample(5000, &mut StdRng::seed_from_u64(4));
    let model = Mixture::new(
        vec![0.5, 0.5],
        vec![
            Bernoulli::new(vec![0.6, 0.4, 0.1, 0.5, 0.9])?,
            Bernoulli::new(vec![0.3, 0.6, 0.2, 0.5, 0.5])?,
        ],
    )?;
    assert_chunking_exact(&model, &x)
}
