//! Input files: delimiters, quoting, headers, missing values, gzip and the binary format, each
//! read by `em fit` in memory (and where it applies streamed) to the same fit as plain CSV.

use std::io::Write;

use crate::common::{Scratch, em, fails_with, json, json_without, ok, s, two_groups};

/// The rows of `two_groups(n)` joined with `delimiter`, after `header` if any.
fn table(n: usize, header: Option<&str>, delimiter: &str) -> String {
    let mut text = header.map(|h| format!("{h}\n")).unwrap_or_default();
    for line in two_groups(n) {
        text.push_str(&line.replace(',', delimiter));
        text.push('\n');
    }
    text
}

/// `em fit FILE -k 2 --json --quiet` plus `extra`: the fit, without the column names (which
/// differ between inputs) and the training log-densities (which a streamed fit does not keep).
fn fit_json(file: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["fit", s(file), "-k", "2", "--json", "--quiet"];
    args.extend_from_slice(extra);
    json_without(&ok(&args), &["columns", "log_density_quantiles"])
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("compress");
    gz.finish().expect("compress")
}

#[test]
fn tab_and_semicolon_files_fit_as_the_comma_file() {
    let scratch = Scratch::new();
    let comma = scratch.file("c.csv", &table(60, Some("a,b"), ","));
    let expected = fit_json(&comma, &[]);
    let tab = scratch.file("t.tsv", &table(60, Some("a\tb"), "\t"));
    assert_eq!(fit_json(&tab, &[]), expected);
    assert_eq!(fit_json(&tab, &["--delimiter", "tab"]), expected);
    assert_eq!(fit_json(&tab, &["--stream"]), expected);
    let semicolon = scratch.file("s.csv", &table(60, Some("a;b"), ";"));
    assert_eq!(fit_json(&semicolon, &[]), expected);
    assert_eq!(fit_json(&semicolon, &["--delimiter", ";"]), expected);
    // A forced delimiter that is not the file's: the fields are not numbers.
    let out = em(&["fit", s(&semicolon), "-k", "2", "--delimiter", ","]);
    fails_with(&out, 2, &["line 2, column 1", "is not a number"]);
}

#[test]
fn a_quoted_header_with_a_comma_names_its_column() {
    let scratch = Scratch::new();
    let quoted = scratch.file(
        "q.csv",
        &table(60, Some("\"length, cm\",\"width \"\"w\"\"\""), ","),
    );
    let plain = scratch.file("p.csv", &table(60, Some("a,b"), ","));
    assert_eq!(fit_json(&quoted, &[]), fit_json(&plain, &[]));
    let summary = ok(&["fit", s(&quoted), "-k", "2", "--quiet"]);
    assert!(summary.contains("length, cm"), "{summary}");
    // A quote left open is refused with the line and column.
    let open = scratch.file("o.csv", "a,b\n1,\"2\n3,4\n");
    fails_with(
        &em(&["fit", s(&open), "-k", "1"]),
        2,
        &[
            "o.csv: line 2, column 2 (b)",
            "not closed",
            "line breaks inside quotes",
        ],
    );
}

#[test]
fn gzip_files_fit_in_memory_and_streamed() {
    let scratch = Scratch::new();
    let text = table(60, Some("a;b"), ";");
    let plain = scratch.file("p.csv", &text);
    let gz = scratch.path("p.csv.gz");
    std::fs::write(&gz, gzip(text.as_bytes())).expect("write");
    let expected = fit_json(&plain, &[]);
    assert_eq!(fit_json(&gz, &[]), expected);
    assert_eq!(fit_json(&gz, &["--stream"]), expected);
}

#[test]
fn a_binary_file_fits_without_stream() {
    let scratch = Scratch::new();
    let csv = scratch.file("d.csv", &table(60, None, ","));
    let bin = scratch.path("d.f64");
    em(&["convert", s(&csv), s(&bin), "--quiet"]);
    assert!(bin.exists());
    let expected = fit_json(&csv, &[]);
    assert_eq!(fit_json(&bin, &[]), expected);
    assert_eq!(fit_json(&bin, &["--stream"]), expected);
}

#[test]
fn header_options_force_or_refuse_a_header() {
    let scratch = Scratch::new();
    let numeric = scratch.file("n.csv", &table(61, Some("2019,2020"), ","));
    let without = scratch.file("w.csv", &table(61, None, ","));
    // By default a numeric first line is data; --no-header says so explicitly.
    let data_line = scratch.file("l.csv", &table(61, Some("0.5,-0.5"), ","));
    let default = fit_json(&data_line, &[]);
    assert_eq!(fit_json(&data_line, &["--no-header"]), default);
    assert_ne!(fit_json(&data_line, &["--header"]), default);
    // --header reads it as the column names: the fit of the rows after it.
    assert_eq!(fit_json(&numeric, &["--header"]), fit_json(&without, &[]));
    let summary = ok(&["fit", s(&numeric), "-k", "2", "--header", "--quiet"]);
    assert!(summary.contains("2019"), "{summary}");
    // --no-header on a text header: line 1 is a bad record.
    let named = scratch.file("h.csv", &table(61, Some("a,b"), ","));
    fails_with(
        &em(&["fit", s(&named), "-k", "2", "--no-header"]),
        2,
        &["h.csv: line 1, column 1", "\"a\" is not a number"],
    );
    let out = em(&["fit", s(&named), "-k", "2", "--header", "--no-header"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn missing_values_are_modelled_dropped_or_refused() {
    let scratch = Scratch::new();
    let mut text = table(60, Some("a,b"), ",");
    let clean = scratch.file("c.csv", &text);
    text.push_str("1,NA\n\n,\nnan,NaN\n");
    let na = scratch.file("na.csv", &text);
    // By default a missing value is modelled; a row with nothing observed is named.
    let out = em(&["fit", s(&na), "-k", "2"]);
    fails_with(
        &out,
        2,
        &[
            "na.csv: line 64: every value read from the row is missing",
            "--missing drop",
        ],
    );
    let out = em(&["fit", s(&na), "-k", "2", "--missing", "error"]);
    fails_with(
        &out,
        2,
        &[
            "na.csv: line 62, column 2 (b): missing value \"NA\"",
            "refused by --missing error",
            "--missing drop",
        ],
    );
    let out = em(&["fit", s(&na), "-k", "2", "--stream", "--missing", "error"]);
    fails_with(&out, 2, &["line 62", "missing value"]);
    // One row with a value missing, modelled: in memory and streamed agree, and the summary
    // counts the missing value.
    let mut holes = table(60, Some("a,b"), ",");
    holes.push_str("1,NA\n");
    let holes = scratch.file("holes.csv", &holes);
    let in_memory = fit_json(&holes, &[]);
    assert_eq!(fit_json(&holes, &["--stream"]), in_memory);
    assert_ne!(in_memory, fit_json(&clean, &[]));
    let out = em(&["fit", s(&holes), "-k", "2"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("61 rows × 2 columns (a, b), 1 value missing")
    );

    let expected = fit_json(&clean, &[]);
    assert_eq!(fit_json(&na, &["--missing", "drop"]), expected);
    assert_eq!(fit_json(&na, &["--missing", "drop", "--stream"]), expected);
    let out = em(&["fit", s(&na), "-k", "2", "--json", "--missing", "drop"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("em: dropped 3 rows with missing values from")
            && stderr.contains("60 remain"),
        "{stderr}"
    );
    assert_eq!(
        json(&String::from_utf8_lossy(&out.stdout))["n_parameters"],
        11
    );
    let streamed = em(&["fit", s(&na), "-k", "2", "--missing", "drop", "--stream"]);
    let stderr = String::from_utf8_lossy(&streamed.stderr);
    assert!(
        streamed.status.success()
            && stderr.contains("em: dropped 3 rows")
            && stderr.contains("60 remain"),
        "{stderr}"
    );
    for extra in [&[][..], &["--stream"]] {
        let mut args = vec!["fit", s(&na), "-k", "2", "--missing", "drop", "--quiet"];
        args.extend_from_slice(extra);
        let quiet = em(&args);
        assert!(quiet.status.success() && quiet.stderr.is_empty());
    }
}

#[test]
fn columns_are_chosen_from_any_input_the_readers_take() {
    let scratch = Scratch::new();
    let plain = scratch.file("p.csv", &table(60, Some("a,b"), ","));
    let expected = fit_json(&plain, &[]);
    // Semicolons, quoted names (one holding the delimiter), and a text column with missing
    // values, which do not matter in a column that is not read.
    let mut text = String::from("\"a\";\"b\";\"name; label\"\n");
    for (i, line) in two_groups(60).iter().enumerate() {
        let label = match i % 5 {
            1 => "",
            2 => "NA",
            _ => "\"x; \"\"y\"\"\"",
        };
        text.push_str(&format!("{};{label}\n", line.replace(',', ";")));
    }
    let mixed = scratch.file("m.csv", &text);
    assert_eq!(fit_json(&mixed, &["--drop", "name; label"]), expected);
    assert_eq!(
        fit_json(&mixed, &["--drop", "3", "--delimiter", ";"]),
        expected
    );
    assert_eq!(
        fit_json(&mixed, &["--columns", "a,b", "--stream"]),
        expected
    );
    let report = ok(&["fit", s(&mixed), "-k", "2", "--drop", "3", "--json", "-q"]);
    assert_eq!(json(&report)["columns"], serde_json::json!(["a", "b"]));
    // Without --drop the text column is the error, and how to leave it out is named.
    fails_with(
        &em(&["fit", s(&mixed), "-k", "2"]),
        2,
        &["column 3 (name; label)", "--drop"],
    );
    // Gzip-compressed, in memory and streamed.
    let gz = scratch.path("m.csv.gz");
    std::fs::write(&gz, gzip(text.as_bytes())).expect("write");
    assert_eq!(fit_json(&gz, &["--drop", "3"]), expected);
    assert_eq!(fit_json(&gz, &["--drop", "3", "--stream"]), expected);
    // A missing value in a column read is modelled, refused or a dropped row.
    let holed = text.replacen("\n0;", "\nNA;", 1);
    assert_ne!(holed, text);
    let holed = scratch.file("h.csv", &holed);
    let modelled = fit_json(&holed, &["--drop", "3"]);
    assert_ne!(modelled, expected);
    fails_with(
        &em(&[
            "fit",
            s(&holed),
            "-k",
            "2",
            "--drop",
            "3",
            "--missing",
            "error",
        ]),
        2,
        &["line 2, column 1 (a)", "missing value"],
    );
    let kept = fit_json(&holed, &["--drop", "3", "--missing", "drop"]);
    assert_ne!(kept, expected);
    // The binary format is read whole: choosing columns from it is an error.
    let bin = scratch.path("p.f64");
    ok(&["convert", s(&plain), s(&bin), "--quiet"]);
    for extra in [&["--columns", "1"][..], &["--drop", "2", "--stream"][..]] {
        let mut args = vec!["fit", s(&bin), "-k", "2"];
        args.extend_from_slice(extra);
        fails_with(&em(&args), 2, &["binary"]);
    }
}
