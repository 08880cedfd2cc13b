//! Parity with scikit-learn 1.9.1 (fixture: `tests/fixtures/make_sklearn_factor.py`):
//!
//! * one diagonal-noise component = `FactorAnalysis(n_components=q)` at tol 1e-12: the mean
//!   log-likelihood, Ψ, W Wᵀ and the covariance W Wᵀ + Ψ (W itself is defined up to rotation);
//! * one isotropic component = the closed-form PPCA MLE (Tipping & Bishop; covariance with
//!   divisor N), and scikit-learn's `PCA` probabilistic model is that closed form on the
//!   covariance with divisor N − 1: its covariance is N/(N − 1) times ours.

use em_core::{Acceleration, Stopping};
use em_factor::{FactorAnalyser, FactorMixture, NoiseStructure};
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/sklearn_factor.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn matrix(v: &Value, rows: usize, cols: usize) -> DMatrix<f64> {
    DMatrix::from_row_slice(rows, cols, &vector(v))
}

/// max |a − b| / max |b|.
fn rel(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    (a - b).amax() / b.amax()
}

/// The fit from the builder's start (k-means + PCA; for one isotropic component the PCA start
/// is already the closed form), and EM from a poor start (W = 0.1 on every entry, the mean 0,
/// unit noise), both by SQUAREM to the parameter rule at 1e-10.
fn fits(x: &DMatrix<f64>, q: usize, noise: NoiseStructure) -> Vec<FactorMixture> {
    let builder = FactorMixture::builder(1, q)
        .noise(noise)
        .stopping(Stopping::Parameters { tol: 1e-10 })
        .accelerate(Acceleration::Squarem)
        .max_iter(100_000);
    let fit = builder.fit(x).expect("fit");
    assert!(fit.report.converged, "{:?}", fit.report.stop_reason);
    println!(
        "{noise:?} q = {q}, PCA start: {} iterations, {} E-steps",
        fit.report.iterations, fit.report.e_steps
    );
    let d = x.ncols();
    let start = FactorAnalyser::new(
        DVector::zeros(d),
        DMatrix::from_element(d, q, 0.1),
        DVector::from_element(d, 1.0),
    )
    .expect("start");
    let mut model = FactorMixture::new(vec![1.0], vec![start], noise).expect("start");
    let report = builder.em().fit(&mut model, x).expect("fit");
    assert!(report.converged, "{:?}", report.stop_reason);
    println!(
        "{noise:?} q = {q}, poor start: {} iterations, {} E-steps",
        report.iterations, report.e_steps
    );
    vec![fit.model, model]
}

#[test]
fn one_factor_analyser_matches_sklearn_factor_analysis() {
    let fx = fixture();
    for set in fx["datasets"].as_array().expect("datasets") {
        let name = set["name"].as_str().unwrap_or("?");
        let (n, d, q) = (
            set["n"].as_u64().unwrap_or(0) as usize,
            set["d"].as_u64().unwrap_or(0) as usize,
            set["q"].as_u64().unwrap_or(0) as usize,
        );
        let x = matrix(&set["x"], n, d);
        let both = fits(&x, q, NoiseStructure::Diagonal);
        // The two starts reach the same MLE, closer to each other than to scikit-learn's stop.
        let (c0, c1) = (
            both[0].covariance(0).unwrap(),
            both[1].covariance(0).unwrap(),
        );
        let (p0, p1) = (both[0].noise(0).unwrap(), both[1].noise(0).unwrap());
        let d_starts = rel(&c0, &c1);
        let d_psi_starts = (p0 - p1).component_div(p1).amax();
        println!(
            "FA {name}: the two starts differ by {d_starts:.1e} in Σ, {d_psi_starts:.1e} in Ψ"
        );
        assert!(
            d_starts < 1e-8 && d_psi_starts < 1e-7,
            "{name}: {d_starts:e}, {d_psi_starts:e}"
        );
        for model in both {
            let fa = &set["fa"];
            let ll = model.score(&x).unwrap();
            let ll_ref = fa["mean_log_likelihood"].as_f64().unwrap_or(f64::NAN);
            let w = model.loadings(0).unwrap();
            let wwt = w * w.transpose();
            let psi = DMatrix::from_column_slice(d, 1, model.noise(0).unwrap().as_slice());
            let psi_ref = DMatrix::from_column_slice(d, 1, &vector(&fa["noise"]));
            let cov = model.covariance(0).unwrap();
            let d_ll = (ll - ll_ref).abs() / ll_ref.abs();
            let d_cov = rel(&cov, &matrix(&fa["covariance"], d, d));
            let d_wwt = rel(&wwt, &matrix(&fa["wwt"], d, d));
            let d_psi = rel(&psi, &psi_ref);
            let mean = DMatrix::from_column_slice(d, 1, model.mean(0).unwrap().as_slice());
            // Absolute, in units of the data's standard deviations (the wdbc columns are z-scores
            // whose means are 0 up to rounding).
            let d_mean = (&mean - DMatrix::from_column_slice(d, 1, &vector(&fa["mean"]))).amax();
            println!(
                "FA {name}: ll {ll} vs {ll_ref} (rel {d_ll:.1e}); covariance {d_cov:.1e}, W Wᵀ \
             {d_wwt:.1e}, Ψ {d_psi:.1e}, mean {d_mean:.1e}"
            );
            assert!(d_ll < 1e-9, "{name}: log-likelihood {d_ll:e}");
            assert!(d_cov < 1e-6, "{name}: covariance {d_cov:e}");
            assert!(d_wwt < 1e-6, "{name}: W Wᵀ {d_wwt:e}");
            assert!(d_psi < 1e-6, "{name}: Ψ {d_psi:e}");
            assert!(d_mean < 1e-7, "{name}: mean {d_mean:e}");
        }
    }
}

#[test]
fn one_isotropic_component_is_the_closed_form_ppca() {
    let fx = fixture();
    for set in fx["datasets"].as_array().expect("datasets") {
        let name = set["name"].as_str().unwrap_or("?");
        let (n, d, q) = (
            set["n"].as_u64().unwrap_or(0) as usize,
            set["d"].as_u64().unwrap_or(0) as usize,
            set["q"].as_u64().unwrap_or(0) as usize,
        );
        let x = matrix(&set["x"], n, d);
        for model in fits(&x, q, NoiseStructure::Isotropic) {
            let ppca = &set["ppca"];
            let ll = model.score(&x).unwrap();
            let ll_ref = ppca["mean_log_likelihood"].as_f64().unwrap_or(f64::NAN);
            let cov = model.covariance(0).unwrap();
            let cov_ref = matrix(&ppca["covariance"], d, d);
            let sigma2 = model.noise(0).unwrap()[0];
            let sigma2_ref = ppca["sigma2"].as_f64().unwrap_or(f64::NAN);
            let d_ll = (ll - ll_ref).abs() / ll_ref.abs();
            let d_cov = rel(&cov, &cov_ref);
            let d_s2 = (sigma2 - sigma2_ref).abs() / sigma2_ref;
            // scikit-learn's PCA: the same closed form on the covariance with divisor N − 1.
            let sk = matrix(&set["sklearn_pca"]["covariance"], d, d);
            let d_sk = rel(&(&cov * (n as f64 / (n as f64 - 1.0))), &sk);
            println!(
                "PPCA {name}: ll {ll} vs {ll_ref} (rel {d_ll:.1e}); covariance {d_cov:.1e}, σ² \
             {d_s2:.1e}; N/(N − 1) × covariance vs scikit-learn's PCA {d_sk:.1e}"
            );
            assert!(d_ll < 1e-9, "{name}: log-likelihood {d_ll:e}");
            assert!(d_cov < 1e-6, "{name}: covariance {d_cov:e}");
            assert!(d_s2 < 1e-6, "{name}: σ² {d_s2:e}");
            assert!(d_sk < 1e-6, "{name}: scikit-learn PCA {d_sk:e}");
        }
    }
}
