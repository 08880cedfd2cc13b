//! Standard errors and the rate of convergence, against references:
//!
//! * the zero-inflated Poisson on the doctor-visit counts against statsmodels 0.15.0
//!   (`fixtures/zip_statsmodels.json`, made by `fixtures/make_zip_statsmodels.py`): the
//!   observed information's standard errors in statsmodels' coordinates (logit π, log λ) and,
//!   by the delta method, of π and λ; and statsmodels' *reported* `bse`, whose Hessian lacks the
//!   cross-derivative, reproduced by dropping ours;
//! * a Gaussian mixture against a parametric bootstrap, within its Monte-Carlo error;
//! * EM's rate of convergence from the Jacobian of one EM step against the rate read off a
//!   fit's trace.
//!
//! No Python is needed.

use em_core::information::{
    InformationMethod, convergence_rate, empirical_information, observed_information,
    rate_from_trace, standard_errors,
};
use em_core::{Differentiable, Em, Stopping};
use gmm::{Covariances, GaussianMixture, ZeroInflatedPoisson};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/zip_statsmodels.json"))
        .expect("fixture is valid JSON")
}

fn number(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// The ZIP fitted by EM to rounding level on statsmodels' data.
fn fitted_zip(f: &Value) -> (ZeroInflatedPoisson, Vec<u64>) {
    let counts: Vec<u64> = f["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| c.as_u64().expect("count"))
        .collect();
    let mut model = ZeroInflatedPoisson::moment_start(&counts).expect("start");
    Em::new()
        .stopping(Stopping::Parameters { tol: 1e-13 })
        .max_iter(1000)
        .fit(&mut model, &counts)
        .expect("fit");
    (model, counts)
}

#[test]
fn zip_standard_errors_agree_with_statsmodels_observed_information() {
    let f = fixture();
    let (model, counts) = fitted_zip(&f);
    let se = standard_errors(&model, &counts, InformationMethod::Observed).expect("se");
    let observed = &f["standard_errors"]["observed"];
    assert_eq!(se.coordinate_names, ["logit π", "log λ"]);
    let pairs = [
        (
            se.coordinate_standard_errors[0],
            &observed["bse"]["inflate_const"],
        ),
        (se.coordinate_standard_errors[1], &observed["bse"]["const"]),
        (se.standard_errors[0], &observed["delta_method"]["pi"]),
        (se.standard_errors[1], &observed["delta_method"]["lambda"]),
    ];
    for (ours, theirs) in pairs {
        let theirs = number(theirs);
        eprintln!(
            "ours {ours:.10e} statsmodels {theirs:.10e} relative {:.1e}",
            rel(ours, theirs)
        );
        assert!(rel(ours, theirs) < 1e-4, "ours {ours} statsmodels {theirs}");
    }
    // The information itself is statsmodels' numerical Hessian, negated.
    for i in 0..2 {
        for j in 0..2 {
            let theirs = -number(&observed["hessian"][i][j]);
            let ours = se.information[(i, j)];
            assert!(
                rel(ours, theirs) < 1e-5,
                "I[{i},{j}]: ours {ours} statsmodels {theirs}"
            );
        }
    }
}

/// statsmodels' reported `bse` is the inverse of a Hessian whose cross-derivative is 0: ours
/// with the cross-derivative dropped gives it. (With it, ours are the observed information's.)
#[test]
fn zip_reported_bse_of_statsmodels_is_the_block_diagonal_information() {
    let f = fixture();
    let (model, counts) = fitted_zip(&f);
    let information = observed_information(&model, &counts).expect("information");
    let reported = &f["standard_errors"]["reported"]["bse"];
    for (j, key) in ["inflate_const", "const"].into_iter().enumerate() {
        let ours = information[(j, j)].recip().sqrt();
        let theirs = number(&reported[key]);
        assert!(
            rel(ours, theirs) < 1e-4,
            "{key}: ours {ours} statsmodels {theirs}"
        );
    }
    assert!(
        information[(0, 1)].abs() > 100.0,
        "the cross term is real: {information}"
    );
}

/// The one-pass estimate exists and is positive definite; on these over-dispersed counts it
/// differs from the observed information (the model is not right for them), which is why the
/// observed information is the default.
#[test]
fn zip_empirical_information_is_a_one_pass_alternative() {
    let f = fixture();
    let (model, counts) = fitted_zip(&f);
    let empirical = empirical_information(&model, &counts).expect("empirical");
    let observed = observed_information(&model, &counts).expect("observed");
    assert!(empirical.clone().cholesky().is_some());
    assert!(rel(empirical[(1, 1)], observed[(1, 1)]) > 0.1);
    let se = standard_errors(&model, &counts, InformationMethod::Empirical).expect("se");
    assert_eq!(se.method, InformationMethod::Empirical);
}

fn two_dimensional_truth() -> GaussianMixture {
    GaussianMixture::new(
        dvector![0.35, 0.65],
        dmatrix![0.0, 0.0; 4.0, 3.0],
        Covariances::Full(vec![
            dmatrix![1.0, 0.4; 0.4, 0.8],
            dmatrix![1.5, -0.5; -0.5, 1.0],
        ]),
    )
    .expect("truth")
}

/// EM from `start` to the default stopping rule, without a ridge.
fn refit(start: &GaussianMixture, x: &DMatrix<f64>) -> GaussianMixture {
    let mut model = start.clone();
    Em::new()
        .stopping(Stopping::Parameters { tol: 1e-10 })
        .fit(&mut model, x)
        .expect("refit");
    model
}

/// Standard errors of a GMM against the spread of a parametric bootstrap: B = 300 data sets of
/// n = 1000 drawn from the fit, each refitted; every parameter's bootstrap standard deviation
/// must be within five Monte-Carlo standard errors (√(1/(2B)) relative, 4.1 %) of the
/// observed-information standard error. A missing factor of 2 or a wrong sign in the
/// information moves some parameter's standard error by far more.
#[test]
fn gmm_standard_errors_agree_with_a_parametric_bootstrap() {
    let (n, b) = (1000, 300);
    let mut rng = StdRng::seed_from_u64(7);
    let (x, _) = two_dimensional_truth().sample(n, &mut rng);
    let fit = refit(&two_dimensional_truth(), &x);
    let se = standard_errors(&fit, &x, InformationMethod::Observed).expect("se");
    let p = se.estimates.len();
    let mut sum = DVector::<f64>::zeros(p);
    let mut sum_sq = DVector::<f64>::zeros(p);
    for _ in 0..b {
        let (xb, _) = fit.sample(n, &mut rng);
        let estimate = DVector::from_vec(refit(&fit, &xb).natural_parameters());
        sum += &estimate;
        sum_sq += estimate.component_mul(&estimate);
    }
    let allowed = 5.0 * (1.0 / (2.0 * b as f64)).sqrt();
    for j in 0..p {
        let mean = sum[j] / b as f64;
        let sd = ((sum_sq[j] / b as f64 - mean * mean) * b as f64 / (b - 1) as f64).sqrt();
        let ratio = sd / se.standard_errors[j];
        eprintln!(
            "{:<10} bootstrap sd / standard error = {ratio:.3}",
            se.names[j]
        );
        assert!(
            (ratio - 1.0).abs() < allowed,
            "{}: bootstrap sd {sd:.5} vs standard error {:.5} (ratio {ratio:.3})",
            se.names[j],
            se.standard_errors[j]
        );
    }
}

/// The largest eigenvalue of the EM map's Jacobian is the rate at which a fit's log-likelihood
/// increments shrink (as its square): two independent estimates of one number.
#[test]
fn the_rate_of_convergence_is_the_one_a_fit_shows() {
    // Overlapping components: slow EM, with a clear dominant rate.
    let truth = GaussianMixture::new(
        dvector![0.5, 0.5],
        dmatrix![0.0; 1.8],
        Covariances::Full(vec![dmatrix![1.0], dmatrix![1.0]]),
    )
    .expect("truth");
    let (x, _) = truth.sample(2000, &mut StdRng::seed_from_u64(3));
    let fit = refit(&truth, &x);
    let rate = convergence_rate(&fit, &x).expect("rate");
    assert!(rate.rate > 0.5 && rate.rate < 1.0, "{rate:?}");
    assert!(
        rate.eigenvalues.iter().all(|&e| e > -1e-6 && e < 1.0),
        "{rate:?}"
    );

    // A plain EM run from a perturbed start, stopped while still well above rounding.
    let mut start = fit.clone();
    let mut eta = start.coordinates().expect("coordinates");
    eta.iter_mut().for_each(|e| *e += 0.05);
    start.set_coordinates(&eta).expect("start");
    let report = Em::new()
        .tol(0.0)
        .max_iter(60)
        .fit(&mut start, &x)
        .expect("run");
    let from_trace = rate_from_trace(&report.trace).expect("a clean linear tail");
    eprintln!("rate: Jacobian {:.6}, trace {from_trace:.6}", rate.rate);
    assert!(
        rel(from_trace, rate.rate) < 0.02,
        "trace {from_trace} vs Jacobian {}",
        rate.rate
    );
}
