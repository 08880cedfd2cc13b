//! The generic zero-inflation wrapper, `mixture::ZeroInflated<Poisson>` as a one-component
//! mixture, against the hand-written `gmm::ZeroInflatedPoisson` (whose MLE matches
//! statsmodels): from the same start, the same EM iterates and the same optimum.

use em::Em;
use em::core::Squarem;
use em::gmm::ZeroInflatedPoisson;
use em::mixture::{Mixture, Poisson, ZeroInflated};
use rand::SeedableRng;

fn wrapped(zip: &ZeroInflatedPoisson) -> Mixture<Vec<ZeroInflated<Poisson>>> {
    let counts = Poisson::new(zip.lambda()).unwrap();
    Mixture::new(
        vec![1.0],
        vec![ZeroInflated::new(zip.pi(), counts).unwrap()],
    )
    .unwrap()
}

#[test]
fn zero_inflated_poisson_wrapper_follows_the_hand_written_model() {
    for (pi, lambda, seed) in [(0.3, 0.8, 1), (0.6, 4.0, 2), (0.05, 2.5, 3)] {
        let truth = ZeroInflatedPoisson::new(pi, lambda).unwrap();
        let (y, _) = truth.sample(5_000, &mut rand::rngs::StdRng::seed_from_u64(seed));
        let em = Em::new().tol(0.0).max_iter(30);
        let mut hand = ZeroInflatedPoisson::moment_start(&y).unwrap();
        let mut generic = wrapped(&hand);
        let a = em.fit(&mut hand, &y).unwrap();
        let b = em.fit(&mut generic, &y[..]).unwrap();
        for (t, (u, v)) in a.trace.iter().zip(&b.trace).enumerate() {
            assert!(
                (u - v).abs() <= 1e-10 * u.abs(),
                "iteration {t}: {u} vs {v}"
            );
        }
        let g = &generic.components()[0];
        assert!(
            (g.pi() - hand.pi()).abs() < 1e-10,
            "{} vs {}",
            g.pi(),
            hand.pi()
        );
        assert!((g.counts().lambda() - hand.lambda()).abs() < 1e-10 * hand.lambda());
        // Both continue to the same optimum (SQUAREM, since plain EM crawls near it).
        let tight = Em::new().tol(1e-15).max_iter(100_000).accelerate(Squarem);
        tight.fit(&mut hand, &y).unwrap();
        tight.fit(&mut generic, &y[..]).unwrap();
        let g = &generic.components()[0];
        assert!(
            (g.pi() - hand.pi()).abs() < 1e-8,
            "{} vs {}",
            g.pi(),
            hand.pi()
        );
        // At the MLE the fitted mean (1 − π)λ is the sample mean.
        let mean = y.iter().sum::<u64>() as f64 / y.len() as f64;
        assert!(((1.0 - g.pi()) * g.counts().lambda() - mean).abs() < 1e-8);
    }
}
