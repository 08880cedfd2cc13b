use gmm::*;
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::SeedableRng;
#[test]
fn explore2() {
    let bad: Result<GaussianMixture, _> = serde_json::from_str(r#"{"weights":[[0.4,0.6],2,null],"means":[[0.0,2.0,1.0],2,2],"covariances":{"diag":[[1.0,3.0,2.0,4.0],2,2]},"reg_covar":0.0,"prior":null}"#);
    println!("A {bad:?}");
    let bad: Result<GaussianMixture, _> = serde_json::from_str(r#"{"weights":[[-0.4,1.4],2,null],"means":[[0.0,2.0,1.0,3.0],2,2],"covariances":{"diag":[[1.0,3.0,2.0,4.0],2,2]},"reg_covar":0.0,"prior":null}"#);
    println!("B {bad:?}");
    // duplicate points
    let x = DMatrix::from_element(50, 2, 3.0);
    for init in [Init::KMeans, Init::RandomResponsibilities, Init::RandomFromData, Init::KMeansPlusPlus] {
        let r = GaussianMixture::builder(2).init(init.clone()).fit(&x);
        println!("dup {init:?}: {:?}", r.map(|f| (f.model.clone(), f.report.iterations)));
    }
    // constant feature
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let truth = GaussianMixture::new(dvector![0.5,0.5], dmatrix![0.0, 5.0; 6.0, 5.0], Covariances::Diag(dmatrix![1.0, 1.0; 1.0, 1.0])).unwrap();
    let (mut x, _) = truth.sample(200, &mut rng);
    for i in 0..200 { x[(i,1)] = 5.0; }
    for t in CovarianceType::ALL {
        for reg in [1e-6, 0.0] {
            let r = GaussianMixture::builder(2).covariance_type(t).reg_covar(reg).fit(&x);
            println!("const {t} {reg}: {:?}", r.map(|f| f.model.covariances().clone()));
        }
    }
    let p = Prior { weight_concentration: 1.0, mean: dvector![0.0, 0.0], mean_precision: 0.1, dof: 4.0, scale: dmatrix![1.0, 0.5; -0.3, 1.0] };
    println!("asym prior validate {:?}", p.validate(2));
    let _ = DVector::<f64>::zeros(1);
}
