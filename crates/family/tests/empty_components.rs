//! `Family::maximise` keeps the parameters of a component with weight 0 (what a hidden Markov
//! model needs for a state with no expected observations), in both bundled families; with a
//! prior the Gaussian family's posterior mode is used instead.

use em_family::Family;
use em_family::families::Poisson;
use em_family::gaussian::{Covariances, GaussianFamily, Gaussians, Prior};
use nalgebra::{DMatrix, dmatrix};

#[test]
fn one_component_families_keep_a_component_with_no_weight() {
    let mut family = vec![Poisson::new(2.0).unwrap(), Poisson::new(7.0).unwrap()];
    let data = [1u64, 3, 2];
    let gamma = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]; // every row to component 0
    let stats = family.accumulate(&data[..], 0..3, &gamma, None, &mut Vec::new());
    assert_eq!(family.component_weights(&stats), &[3.0, 0.0]);
    family.maximise(&stats).unwrap();
    assert_eq!(family[0].lambda(), 2.0);
    assert_eq!(family[1].lambda(), 7.0, "the empty component kept its rate");
    assert!(family.expected_log_density(&stats).is_finite());
}

#[test]
fn gaussian_family_keeps_an_empty_component_without_a_prior() {
    let gaussians =
        Gaussians::new(dmatrix![0.0; 10.0], Covariances::Diag(dmatrix![1.0; 4.0])).unwrap();
    let mut family = GaussianFamily::new(gaussians);
    let x = dmatrix![0.5; -0.5; 1.5];
    let gamma = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
    let stats = family.accumulate(&x, 0..3, &gamma, None, &mut Vec::new());
    family.maximise(&stats).unwrap();
    let g = family.gaussians();
    assert_eq!(g.means()[(1, 0)], 10.0);
    assert_eq!(
        g.covariances(),
        &Covariances::Diag(dmatrix![2.0 / 3.0; 4.0])
    );

    // With a prior the empty component's posterior mode is finite, and it is used.
    let prior = Prior::mclust_default(&x, 2).unwrap();
    let mut with_prior = GaussianFamily::new(
        Gaussians::new(dmatrix![0.0; 10.0], Covariances::Diag(dmatrix![1.0; 4.0])).unwrap(),
    )
    .with_prior(Some(prior))
    .unwrap();
    with_prior.maximise(&stats).unwrap();
    let means: &DMatrix<f64> = with_prior.gaussians().means();
    assert!(means[(1, 0)] != 10.0 && means[(1, 0)].is_finite());
}
