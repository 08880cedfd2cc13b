//! Arbitrary bytes → `em_cli::data::parse` → if the text parses, a small bounded fit
//! (K ≤ 3, max_iter ≤ 20) with every covariance type, then the report and its JSON round
//! trip, as `em fit --output` would. It must never panic: every input is a table or a
//! `CliError`, every fit a model or an `EmError`.
//!
//! The first byte chooses the fit (K, initialisation, reg_covar); the rest is the CSV text.
//! Tables wider than 32 columns are parsed but not fitted (only to keep executions fast).
#![no_main]

use em_cli::CliError;
use em_cli::data::parse;
use em_cli::json::{ReportFile, parse_model};
use gmm::{CovarianceType, GaussianMixture, Init};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    // `data::read` rejects non-UTF-8 before parsing; so does this.
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(table) = parse(text, "fuzz.csv") else {
        return;
    };
    let x = &table.x;
    assert!((1..x.nrows()).all(|r| table.lines.line(r) > table.lines.line(r - 1)));
    assert_eq!(x.ncols(), table.columns.len());
    // Wide tables only make each run slow (a 2,000-column line is 4 kB of "0,"); D = 200 is
    // covered by tests/adversarial_numerics.rs. Keep the fuzzer fast on the paths that vary.
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
                // What `em fit --output` writes, read back as `--init` / `--model` would.
                match ReportFile::new(model, &fit.report, x) {
                    Ok(report) => {
                        let back = parse_model(&report.to_json(), "report.json")
                            .expect("a written report reads back as a model");
                        // The file holds the parameters (not the fit's reg_covar or prior):
                        // those must come back bit for bit.
                        assert_eq!(back.weights(), model.weights(), "{kind}: weights changed");
                        assert_eq!(back.means(), model.means(), "{kind}: means changed");
                        assert_eq!(
                            back.covariances(),
                            model.covariances(),
                            "{kind}: covariances changed"
                        );
                    }
                    Err(e) => {
                        let _ = e.message;
                    }
                }
                let _ = model.predict(x);
            }
            // The CLI turns the error into its one-line message: that must not panic either.
            Err(e) => {
                let _ = CliError::from_em(e, "fit failed").message;
            }
        }
    }
});
