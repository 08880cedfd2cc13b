use em_core::{Acceleration, Stopping};
use em_factor::{FactorMixture, NoiseStructure};
use nalgebra::DMatrix;
fn main() {
    let v: serde_json::Value = serde_json::from_str(include_str!("../tests/fixtures/sklearn_factor.json")).unwrap();
    for set in v["datasets"].as_array().unwrap() {
        let (n, d, q) = (set["n"].as_u64().unwrap() as usize, set["d"].as_u64().unwrap() as usize, set["q"].as_u64().unwrap() as usize);
        let x = DMatrix::from_row_slice(n, d, &set["x"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>());
        for acc in [Acceleration::None, Acceleration::Squarem] {
            for stop in [Stopping::Parameters { tol: 1e-10 }, Stopping::Parameters { tol: 1e-12 }, Stopping::Aitken { tol: 1e-14 }] {
                let fit = FactorMixture::builder(1, q).stopping(stop).accelerate(acc).max_iter(20000).fit(&x).unwrap();
                let ll = fit.model.score(&x).unwrap();
                let r = set["fa"]["mean_log_likelihood"].as_f64().unwrap();
                let cov = fit.model.covariance(0).unwrap();
                let cr = DMatrix::from_row_slice(d, d, &set["fa"]["covariance"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>());
                println!("{} {acc:?} {stop:?}: it {} conv {} ll rel {:.2e} cov {:.2e} dist {:?}", set["name"], fit.report.iterations, fit.report.converged, (ll - r).abs() / r.abs(), (&cov - &cr).amax() / cr.amax(), fit.report.estimated_distance);
            }
        }
    }
}
