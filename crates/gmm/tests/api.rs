use gmm::*;
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
#[test]
fn explore() {
    let m = GaussianMixture::new(
        dvector![0.4, 0.6],
        dmatrix![0.0, 1.0; 2.0, 3.0],
        Covariances::Full(vec![DMatrix::identity(2, 2), dmatrix![2.0, 0.5; 0.5, 1.0]]),
    )
    .unwrap();
    println!("{}", serde_json::to_string(&m).unwrap());
    let m = GaussianMixture::new(
        dvector![0.4, 0.6],
        dmatrix![0.0, 1.0; 2.0, 3.0],
        Covariances::Diag(dmatrix![1.0, 2.0; 3.0, 4.0]),
    )
    .unwrap();
    println!("{}", serde_json::to_string(&m).unwrap());
    let r = GaussianMixture::from_precisions(
        dvector![0.4, 0.6],
        dmatrix![0.0, 1.0; 2.0, 3.0],
        Covariances::Full(vec![DMatrix::identity(3, 3), DMatrix::identity(3, 3)]),
    );
    println!("{r:?}");
}
#[test]
fn explore2() {
    let r = std::panic::catch_unwind(|| {
        GaussianMixture::from_precisions(
            dvector![0.4, 0.6],
            dmatrix![0.0, 1.0; 2.0, 3.0],
            Covariances::Full(vec![DMatrix::identity(2, 3), DMatrix::identity(2, 3)]),
        )
    });
    println!("{r:?}");
    let bad: Result<GaussianMixture, _> = serde_json::from_str(
        r#"{"weights":[[0.4,0.6],2,1],"means":[[0.0,2.0,1.0],2,2],"covariances":{"diag":[[1.0,3.0,2.0],2,3]},"reg_covar":0.0,"prior":null}"#,
    );
    println!("{bad:?}");
    let _ = DVector::<f64>::zeros(1);
}
