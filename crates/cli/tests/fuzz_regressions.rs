//! Inputs found by the fuzz targets in `fuzz/` (see `fuzz/README.md`), fed through the same
//! paths as the targets: CSV bytes → `em_cli::data::parse` → a small fit with every covariance
//! type → the report and its JSON round trip; and bytes → `em_cli::json::parse_model`. The
//! seed inputs in `fuzz/seeds/` run here too, so the harness itself stays tested in CI.

use std::path::Path;

use em_cli::CliError;
use em_cli::data::parse;
use em_cli::json::{ModelFile, ReportFile, parse_model};
use gmm::{CovarianceType, Covariances, GaussianMixture, Init};
use nalgebra::{DMatrix, DVector};

/// What `fuzz_targets/csv_fit.rs` does with one input (kept in step with it by hand).
fn csv_fit(data: &[u8]) {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(table) = parse(text, "fuzz.csv") else {
        return;
    };
    let x = &table.x;
    assert!((1..x.nrows()).all(|r| table.lines.line(r) > table.lines.line(r - 1)));
    assert_eq!(x.ncols(), table.columns.len());
    if x.ncols() > 32 {
        return;
    }
    let k = usize::from(config % 3) + 1;
    let init = match (config / 3) % 4 {
        0 => Init::KMeans,
        1 => Init::KMeansPlusPlus,
        2 => Init::RandomResponsibilities,
        _ => Init::RandomFromData,
    };
    let reg_covar = if config & 0x80 == 0 { 1e-6 } else { 0.0 };
    for kind in CovarianceType::ALL {
        let fit = GaussianMixture::builder(k)
            .covariance_type(kind)
            .init(init.clone())
            .reg_covar(reg_covar)
            .max_iter(20)
            .seed(u64::from(config))
            .fit(x);
        match fit {
            Ok(fit) => {
                let model = &fit.model;
                assert!(
                    model
                        .weights()
                        .iter()
                        .chain(model.means().iter())
                        .all(|v| v.is_finite()),
                    "{kind}: non-finite parameters"
                );
                if let Ok(report) = ReportFile::new(model, &fit.report, x) {
                    let back = parse_model(&report.to_json(), "report.json")
                        .expect("a written report reads back as a model");
                    assert_eq!(back.weights(), model.weights(), "{kind}: weights changed");
                    assert_eq!(back.means(), model.means(), "{kind}: means changed");
                    assert_eq!(
                        back.covariances(),
                        model.covariances(),
                        "{kind}: covariances changed"
                    );
                }
                let _ = model.predict(x);
            }
            Err(e) => {
                let _ = CliError::from_em(e, "fit failed").message;
            }
        }
    }
}

/// What `fuzz_targets/json_model.rs` does with one input.
fn json_model(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(model) = parse_model(&text, "fuzz.json") else {
        return;
    };
    let x = model.means().clone();
    let _ = model.score_samples(&x);
    let _ = model.predict_proba(&x);
    let json = serde_json::to_string(&ModelFile::from_model(&model)).expect("serialises");
    let back = parse_model(&json, "round-trip.json").expect("a written model reads back");
    assert_eq!(back, model, "save → load changed the model");
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn fuzz_seed_inputs_run_through_both_targets() {
    for input in seeds("csv_fit") {
        csv_fit(&input);
    }
    for input in seeds("json_model") {
        json_model(&input);
        // Every seed model is a valid model file.
        assert!(parse_model(&String::from_utf8_lossy(&input), "seed.json").is_ok());
    }
}

/// Found by `csv_fit` after ~1.1 million executions: two rows of 18 columns (the first line
/// blank, form feeds around a field), K = 1, full covariance. Accumulating the scatter of a
/// batch of 2 to 5 rows with more than 5 columns goes through nalgebra's GEMM fallback with
/// a row-strided view, which indexes past the output (an "unsafe precondition violated" abort
/// with debug assertions; out-of-bounds reads and writes without).
#[test]
fn csv_with_two_rows_and_eighteen_columns_fits_without_memory_errors() {
    csv_fit(
        b"\x00\n.2,4.2,4.2,412,2,404.2,4,2,2,402,4.2,4.2,42,4.2,4.2,2,44.2,\
          \x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c4\n\
          40.2,42,4.2,4.2,44.2,4.2,4.212,4412,4.2,2,44.2,4.2,2,4.2,44.2,4.2,4.212,4.2\n",
    );
}

/// The same bug without the CLI: any full or tied fit whose last E-step batch has 2–5 rows
/// and whose data have 6 or more columns — here three rows, or 4,099 rows with the default
/// chunk size of 4,096 (a release build dies of SIGSEGV there).
#[test]
fn small_last_batch_with_six_columns_fits() {
    for n in [3, 4099] {
        let x = DMatrix::from_fn(n, 6, |i, j| ((i * 7 + j * 3) % 11) as f64 + 0.1 * j as f64);
        for kind in [CovarianceType::Full, CovarianceType::Tied] {
            // Three rows in six dimensions: the ridge keeps the covariance positive definite.
            let fit = GaussianMixture::builder(1)
                .covariance_type(kind)
                .reg_covar(1e-6)
                .fit(&x);
            assert!(fit.is_ok(), "N = {n}, {kind}: {:?}", fit.err());
        }
        // Scoring runs the E-step (statistics included) batch by batch, too.
        let m = GaussianMixture::new(
            DVector::from_element(1, 1.0),
            DMatrix::from_element(1, 6, 5.0),
            Covariances::Full(vec![DMatrix::identity(6, 6)]),
        )
        .unwrap();
        assert!(m.log_likelihood_total(&x).unwrap().is_finite());
    }
}
