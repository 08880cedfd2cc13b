//! The typed `gmm::ZeroInflatedPoisson` (whose MLE matches statsmodels:
//! `crates/gmm/tests/zip.rs`) is the generic zero-inflation wrapper,
//! `mixture::ZeroInflated<Poisson>`, run as a one-component mixture: a mixture built by hand
//! from its parameters takes the very same EM iterates, and both reach the same optimum.

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
fn zero_inflated_poisson_is_the_wrapper_in_a_one_component_mixture() {
    for (pi, lambda, seed) in [(0.3, 0.8, 1), (0.6, 4.0, 2), (0.05, 2.5, 3)] {
        let truth = ZeroInflatedPoisson::new(pi, lambda).unwrap();
        let (y, _) = truth.sample(5_000, &mut rand::rngs::StdRng::seed_from_u64(seed));
        let em = Em::new().tol(0.0).max_iter(30);
        let mut typed = ZeroInflatedPoisson::moment_start(&y).unwrap();
        let mut generic = wrapped(&typed);
        let a = em.fit(&mut typed, &y).unwrap();
        let b = em.fit(&mut generic, &y[..]).unwrap();
        // The same arithmetic, so the same numbers bit for bit.
        assert_eq!(a.trace, b.trace);
        assert_eq!(&typed.to_mixture(), &generic);
        let g = &generic.components()[0];
        assert!(
            (g.pi() - typed.pi()).abs() < 1e-10,
            "{} vs {}",
            g.pi(),
            typed.pi()
        );
        assert!((g.counts().lambda() - typed.lambda()).abs() < 1e-10 * typed.lambda());
        // Both continue to the same optimum (SQUAREM, since plain EM crawls near it).
        let tight = Em::new().tol(1e-15).max_iter(100_000).accelerate(Squarem);
        tight.fit(&mut typed, &y).unwrap();
        tight.fit(&mut generic, &y[..]).unwrap();
        let g = &generic.components()[0];
        assert!(
            (g.pi() - typed.pi()).abs() < 1e-8,
            "{} vs {}",
            g.pi(),
            typed.pi()
        );
        // At the MLE the fitted mean (1 − π)λ is the sample mean.
        let mean = y.iter().sum::<u64>() as f64 / y.len() as f64;
        assert!(((1.0 - g.pi()) * g.counts().lambda() - mean).abs() < 1e-8);
    }
}
