//! `em sample`: draw observations from a model, as CSV.

use std::io::Write;

use em_core::StdRng;
use rand::SeedableRng;

use crate::args::SampleArgs;
use crate::commands::{csv_number, write_line};
use crate::error::CliError;
use crate::json;

/// Rows drawn and written at a time, so that memory does not grow with N.
const CHUNK: usize = 65_536;

/// Runs `em sample`: a header of the model's feature names (`x0,x1,…` for a model file that
/// stores none; plus `component` with `--labels`), then N rows.
///
/// Rows are drawn in chunks from one generator; each row consumes the generator in the same
/// way whatever the chunking, so the output depends only on the model, N and the seed.
pub fn run(args: &SampleArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let loaded = json::read_model_file(&args.model)?;
    let model = loaded.model;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let d = model.n_features();
    let mut header: Vec<String> = loaded
        .columns
        .unwrap_or_else(|| (0..d).map(|j| format!("x{j}")).collect());
    if args.labels {
        header.push("component".into());
    }
    write_line(out, &header.join(","))?;
    let mut left = args.n;
    while left > 0 {
        let n = left.min(CHUNK);
        left -= n;
        let (x, labels) = model.sample(n, &mut rng);
        for (i, label) in labels.iter().enumerate() {
            let mut fields: Vec<String> = (0..d).map(|j| csv_number(x[(i, j)])).collect();
            if args.labels {
                fields.push(label.to_string());
            }
            write_line(out, &fields.join(","))?;
        }
    }
    out.flush()
        .map_err(|e| CliError::from_write(e, "standard output"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_output_equals_one_draw_of_all_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(
            &path,
            r#"{"model":"gaussian_mixture","covariance_type":"full","weights":[0.3,0.7],
                "means":[[-2.0],[3.0]],"covariances":[[[1.0]],[[0.25]]]}"#,
        )
        .unwrap();
        let n = CHUNK + 3;
        let args = SampleArgs {
            model: path.clone(),
            n,
            seed: 11,
            labels: true,
        };
        let mut out = Vec::new();
        run(&args, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let model = json::read_model(&path).unwrap();
        let (x, labels) = model.sample(n, &mut StdRng::seed_from_u64(11));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n + 1);
        for i in [0, CHUNK - 1, CHUNK, CHUNK + 2] {
            assert_eq!(
                lines[i + 1],
                format!("{},{}", csv_number(x[(i, 0)]), labels[i])
            );
        }
    }
}
