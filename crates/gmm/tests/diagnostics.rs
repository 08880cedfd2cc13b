//! The warnings of `gmm::diagnostics`: silent on ordinary fits of the bundled data, and
//! firing, naming the column or component, on the degenerate cases they exist for.

use gmm::diagnostics::{self, Warning};
use gmm::{CovarianceType, GaussianMixture};
use nalgebra::DMatrix;

fn repo_file(path: &str) -> String {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A numeric CSV file with a header line: the names and the matrix.
fn read_csv(path: &str) -> (Vec<String>, DMatrix<f64>) {
    let text = repo_file(path);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let names = lines
        .next()
        .unwrap()
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect();
    (
        names,
        DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j]),
    )
}

const DATA: [&str; 10] = [
    "data/faithful.csv",
    "data/r/banknote.csv",
    "data/r/chevron.csv",
    "data/r/diabetes.csv",
    "data/r/iris.csv",
    "data/r/quakes.csv",
    "data/r/thyroid.csv",
    "data/r/usarrests.csv",
    "data/r/wdbc.csv",
    "data/r/wreath.csv",
];

/// A warning that fires on normal data is a bug: every bundled data set, K = 1…5, every
/// covariance structure, default settings. The one exception is deserved: USArrests has 50
/// rows, and K = 4 or 5 full covariances in 4-D have 59 and 74 free parameters.
///
/// (The smallest eigenvalue of a component covariance in units of the column variances over
/// all these fits is about 9e-7, banknote at K = 5: four orders of magnitude above
/// [`diagnostics::SINGULAR_RATIO`].)
#[test]
fn no_warning_on_ordinary_fits_of_the_bundled_data() {
    let mut fitted = 0;
    let mut noisy = Vec::new();
    for path in DATA {
        let (names, x) = read_csv(path);
        assert!(
            diagnostics::check_columns(&x, Some(&names)).is_empty(),
            "{path}"
        );
        for k in 1..=5 {
            for kind in CovarianceType::ALL {
                let Ok(fit) = GaussianMixture::builder(k).covariance_type(kind).fit(&x) else {
                    continue;
                };
                fitted += 1;
                let mut w = diagnostics::diagnose(&fit.model, &x, Some(&names)).unwrap();
                if path.ends_with("usarrests.csv") && kind == CovarianceType::Full && k >= 4 {
                    assert!(
                        matches!(w.remove(0), Warning::TooManyParameters { n_rows: 50, .. }),
                        "{w:?}"
                    );
                }
                if !w.is_empty() {
                    noisy.push(format!(
                        "{path} K = {k} {kind}: {}",
                        w.iter()
                            .map(|w| w.to_string())
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ));
                }
            }
        }
    }
    assert!(fitted >= 190, "only {fitted} fits succeeded");
    assert!(
        noisy.is_empty(),
        "warnings on ordinary fits:\n{}",
        noisy.join("\n")
    );
}

#[test]
fn a_constant_column_is_named() {
    let x = DMatrix::from_fn(50, 3, |i, j| {
        if j == 2 {
            3.0
        } else {
            (i * (j + 3) % 11) as f64
        }
    });
    let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let w = diagnostics::check_columns(&x, Some(&names));
    assert_eq!(w.len(), 1);
    assert!(
        matches!(&w[0], Warning::ConstantColumn { column, value } if column.index == 2 && *value == 3.0)
    );
    assert!(
        w[0].to_string().contains("column \"c\" is constant"),
        "{}",
        w[0]
    );
    // Missing values do not hide it.
    let mut holes = x.clone();
    holes[(4, 2)] = f64::NAN;
    holes[(7, 0)] = f64::NAN;
    let w = diagnostics::check_columns(&holes, Some(&names));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(matches!(&w[0], Warning::ConstantColumn { column, .. } if column.index == 2));
    // With a ridge the fit succeeds; the constant column is still the only data warning.
    let fit = GaussianMixture::builder(1).reg_covar(1e-6).fit(&x).unwrap();
    let all = diagnostics::diagnose(&fit.model, &x, Some(&names)).unwrap();
    assert_eq!(all, w, "{all:?}");
}

#[test]
fn duplicate_columns_are_both_named() {
    let x = DMatrix::from_fn(40, 3, |i, j| match j {
        0 | 2 => (i % 7) as f64 - 0.0,
        _ => (i * 3 % 5) as f64,
    });
    let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let w = diagnostics::check_columns(&x, Some(&names));
    assert_eq!(w.len(), 1);
    let text = w[0].to_string();
    assert!(
        text.starts_with("column \"c\" is identical to column \"a\""),
        "{text}"
    );
}

#[test]
fn more_parameters_than_rows() {
    let x = DMatrix::from_fn(10, 30, |i, j| ((i * 31 + j * 17) % 23) as f64);
    let w = diagnostics::check_design(&x, 1, CovarianceType::Full);
    assert!(
        w.iter().any(|w| matches!(
            w,
            Warning::TooManyParameters {
                n_parameters: 495,
                n_rows: 10,
                ..
            }
        )),
        "{w:?}"
    );
    // A diag model with 60 parameters on 10 rows is also too many.
    assert!(matches!(
        diagnostics::check_design(&x, 1, CovarianceType::Diag)[0],
        Warning::TooManyParameters {
            n_parameters: 60,
            ..
        }
    ));
    // The count is the model's own.
    let fit = GaussianMixture::builder(1).reg_covar(1e-6).fit(&x).unwrap();
    assert_eq!(fit.model.n_parameters(), 495);
    let all = diagnostics::diagnose(&fit.model, &x, None).unwrap();
    assert!(
        all.iter().any(|w| matches!(
            w,
            Warning::SingularComponent {
                component: Some(0),
                ..
            }
        )),
        "{all:?}"
    );
}

#[test]
fn three_distinct_rows_for_three_components() {
    let points = [[0.0, 0.0], [1.0, 5.0], [4.0, 2.0]];
    let x = DMatrix::from_fn(30, 2, |i, j| points[i % 3][j]);
    let w = diagnostics::check_design(&x, 3, CovarianceType::Full);
    assert_eq!(
        w,
        vec![Warning::FewDistinctRows {
            distinct: 3,
            needed: 9,
            k: 3,
            covariance_type: CovarianceType::Full
        }]
    );
    // With a ridge the fit "succeeds" with a huge log-likelihood; every component is
    // singular and owns 10 rows (enough by count, so no SmallComponent).
    let fit = GaussianMixture::builder(3).reg_covar(1e-6).fit(&x).unwrap();
    assert!(fit.model.log_likelihood_total(&x).unwrap() > 100.0);
    let m = diagnostics::check_model(&fit.model, &x, None).unwrap();
    let singular: Vec<_> = m
        .iter()
        .filter_map(|w| match w {
            Warning::SingularComponent { component, .. } => *component,
            _ => None,
        })
        .collect();
    assert_eq!(singular, vec![0, 1, 2], "{m:?}");
}

#[test]
fn a_component_owning_too_few_rows_is_named() {
    // Two groups of 40 and one of 2 rows, in 2-D: the small one cannot carry a full
    // covariance (it needs 3 rows).
    let x = DMatrix::from_fn(82, 2, |i, j| match i {
        0..40 => ((i * 7 + j * 3) % 10) as f64 / 10.0,
        40..80 => 20.0 + ((i * 3 + j * 7) % 10) as f64 / 10.0,
        _ => -30.0 + (i - 80) as f64 * (1.0 + j as f64),
    });
    let fit = GaussianMixture::builder(3).reg_covar(1e-6).fit(&x).unwrap();
    let w = diagnostics::check_model(&fit.model, &x, None).unwrap();
    let small = w
        .iter()
        .find(|w| {
            matches!(
                w,
                Warning::SmallComponent {
                    rows: 2,
                    needed: 3,
                    ..
                }
            )
        })
        .unwrap_or_else(|| panic!("{w:?}"));
    assert!(small.to_string().contains("only 2 rows"), "{small}");
}

#[test]
fn a_positive_log_likelihood_on_a_small_scale_is_not_a_warning() {
    // Faithful in units a million times smaller: log-likelihood far above 0, nothing wrong.
    let (names, x) = read_csv("data/faithful.csv");
    let x = x / 1e6;
    let fit = GaussianMixture::builder(3)
        .covariance_type(CovarianceType::Tied)
        .fit(&x)
        .unwrap();
    assert!(fit.model.log_likelihood_total(&x).unwrap() > 5000.0);
    assert!(
        diagnostics::diagnose(&fit.model, &x, Some(&names))
            .unwrap()
            .is_empty()
    );
}
