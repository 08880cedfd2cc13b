//! ICL agrees with R mclust's `icl()` on Old Faithful: for four models (K = 3 tied, K = 2
//! full, K = 4 diag, K = 3 spherical; mclust's EEE, VVV, VVI, VII), at mclust's fitted
//! parameters, our log-likelihood, parameter count, BIC and ICL equal mclust's, with the sign
//! flipped for BIC and ICL (mclust's are larger-is-better), within 1e-12 relative (they agree
//! to 1e-14).
//!
//! The reference figures are `fixtures/mclust_icl.json`, made by
//! `Rscript crates/gmm/tests/fixtures/make_mclust_icl.R` (mclust 6.0.0; the script's header
//! says how); this test needs no R.

use gmm::{CovarianceType, Covariances, GaussianMixture};
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

const REL_TOL: f64 = 1e-12;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/mclust_icl.json")).expect("fixture is valid JSON")
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn matrix(v: &Value) -> DMatrix<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().expect("rows").iter().map(vector).collect();
    DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

/// mclust's K full matrices in the compact form of our structure.
fn covariances(kind: CovarianceType, v: &Value) -> Covariances {
    let full: Vec<DMatrix<f64>> = v.as_array().expect("matrices").iter().map(matrix).collect();
    let k = full.len();
    let d = full[0].nrows();
    match kind {
        CovarianceType::Full => Covariances::Full(full),
        CovarianceType::Tied => Covariances::Tied(full[0].clone()),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_fn(k, d, |c, j| full[c][(j, j)])),
        CovarianceType::Spherical => {
            Covariances::Spherical(DVector::from_fn(k, |c, _| full[c][(0, 0)]))
        }
    }
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= REL_TOL * want.abs(),
        "{what}: {got} vs mclust {want} (relative {:.2e})",
        (got - want).abs() / want.abs()
    );
}

#[test]
fn icl_matches_mclust_on_old_faithful_with_the_sign_flipped() {
    let fx = fixture();
    let x = matrix(&fx["data"]);
    assert_eq!(x.shape(), (272, 2));
    let cases = fx["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    for case in cases {
        let kind: CovarianceType =
            serde_json::from_value(case["covariance_type"].clone()).expect("a covariance type");
        let name = format!("K = {}, {kind}", case["G"]);
        let model = GaussianMixture::new(
            DVector::from_vec(vector(&case["weights"])),
            matrix(&case["means"]),
            covariances(kind, &case["covariances"]),
        )
        .expect("mclust's parameters are valid");
        assert_eq!(
            model.n_parameters() as u64,
            case["n_parameters"].as_u64().expect("count"),
            "{name}"
        );
        let num = |field: &str| case[field].as_f64().expect("number");
        close(
            model.log_likelihood_total(&x).expect("finite"),
            num("log_likelihood"),
            &format!("{name} log-likelihood"),
        );
        close(
            model.bic(&x).expect("finite"),
            -num("bic_mclust"),
            &format!("{name} BIC"),
        );
        let icl = model.icl(&x).expect("finite");
        close(icl, -num("icl_mclust"), &format!("{name} ICL"));
        // The classification penalty is not negligible on these data (overlapping clusters).
        assert!(icl - model.bic(&x).expect("finite") > 0.5, "{name}");
    }
}
