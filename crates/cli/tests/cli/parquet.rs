//! Parquet input: `em fit`, `select`, `predict` and `convert` read a Parquet file as they read
//! the same data in CSV (in memory and streamed), and a text column or a null is a clear error.
//! The files are written here with the `parquet` crate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::parser::parse_message_type;

use crate::common::{Scratch, em, fails_with, json, json_without, ok, s, two_groups};

/// The columns of `two_groups(n)`, as numbers.
fn groups(n: usize) -> (Vec<f64>, Vec<f64>) {
    two_groups(n)
        .iter()
        .map(|line| {
            let (a, b) = line.split_once(',').expect("two fields");
            (a.parse::<f64>().expect("a"), b.parse::<f64>().expect("b"))
        })
        .unzip()
}

/// A Parquet file at `path` holding `two_groups(n)` as columns `a` and `b` (doubles; `None`
/// in `b` is a null), an `id` (int64) and a `label` (text), in row groups of `group` rows.
fn write_parquet(path: &Path, a: &[f64], b: &[Option<f64>], group: usize) {
    let nullable = if b.iter().any(Option::is_none) {
        "optional"
    } else {
        "required"
    };
    let schema = format!(
        "message t {{ required int64 id; required double a; {nullable} double b; \
         required binary label (UTF8); }}"
    );
    let schema = Arc::new(parse_message_type(&schema).expect("schema"));
    let file = std::fs::File::create(path).expect("create");
    let props = Arc::new(WriterProperties::default());
    let mut w = SerializedFileWriter::new(file, schema, props).expect("writer");
    for start in (0..a.len()).step_by(group) {
        let r = start..(start + group).min(a.len());
        let mut rg = w.next_row_group().expect("row group");
        let mut col = rg.next_column().expect("id").expect("id");
        let ids: Vec<i64> = r.clone().map(|i| i as i64).collect();
        col.typed::<Int64Type>()
            .write_batch(&ids, None, None)
            .expect("write");
        col.close().expect("close");
        let mut col = rg.next_column().expect("a").expect("a");
        col.typed::<DoubleType>()
            .write_batch(&a[r.clone()], None, None)
            .expect("write");
        col.close().expect("close");
        let mut col = rg.next_column().expect("b").expect("b");
        let values: Vec<f64> = b[r.clone()].iter().flatten().copied().collect();
        let defs: Vec<i16> = b[r.clone()]
            .iter()
            .map(|v| i16::from(v.is_some()))
            .collect();
        let defs = (nullable == "optional").then_some(&defs[..]);
        col.typed::<DoubleType>()
            .write_batch(&values, defs, None)
            .expect("write");
        col.close().expect("close");
        let mut col = rg.next_column().expect("label").expect("label");
        let labels: Vec<ByteArray> = r
            .map(|i| ByteArray::from(if i % 2 == 0 { "low" } else { "high" }))
            .collect();
        col.typed::<ByteArrayType>()
            .write_batch(&labels, None, None)
            .expect("write");
        col.close().expect("close");
        rg.close().expect("close");
    }
    w.close().expect("close");
}

/// `two_groups(n)` in CSV (`a,b`) and in Parquet (with `id` and `label`, in row groups of 16).
fn both(scratch: &Scratch, n: usize) -> (PathBuf, PathBuf) {
    let mut text = String::from("a,b\n");
    for line in two_groups(n) {
        text.push_str(&line);
        text.push('\n');
    }
    let csv = scratch.file("d.csv", &text);
    let pq = scratch.path("d.parquet");
    let (a, b) = groups(n);
    let b: Vec<Option<f64>> = b.into_iter().map(Some).collect();
    write_parquet(&pq, &a, &b, 16);
    (csv, pq)
}

/// `em fit FILE -k 2 --json --quiet` plus `extra`, without the training log-densities (which
/// a streamed fit does not keep).
fn fit_json(file: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["fit", s(file), "-k", "2", "--json", "--quiet"];
    args.extend_from_slice(extra);
    json_without(&ok(&args), &["log_density_quantiles"])
}

#[test]
fn a_parquet_file_fits_as_the_same_data_in_csv_in_memory_and_streamed() {
    let scratch = Scratch::new();
    let (csv, pq) = both(&scratch, 60);
    let expected = fit_json(&csv, &[]);
    let by_drop = fit_json(&pq, &["--drop", "id,label"]);
    assert_eq!(by_drop, expected);
    assert_eq!(by_drop["columns"], serde_json::json!(["a", "b"]));
    assert!(by_drop["log_likelihood"].is_number());
    assert_eq!(fit_json(&pq, &["--columns", "a,b"]), expected);
    assert_eq!(fit_json(&pq, &["--columns", "2,3"]), expected);
    // Streamed row group by row group: the same fit (the file is smaller than --init-sample),
    // whatever the chunk size.
    assert_eq!(fit_json(&pq, &["--drop", "id,label", "--stream"]), expected);
    assert_eq!(
        fit_json(&csv, &["--stream", "--chunk-size", "3"]),
        fit_json(
            &pq,
            &["--drop", "id,label", "--stream", "--chunk-size", "3"]
        )
    );
    // The summary names the file and its columns.
    let summary = ok(&["fit", s(&pq), "-k", "2", "--drop", "id,label", "--quiet"]);
    assert!(summary.contains("60 rows × 2 columns (a, b)"), "{summary}");
    // Standard input may be Parquet too.
    let out = assert_cmd::cargo::cargo_bin_cmd!("em")
        .args([
            "fit", "-", "-k", "2", "--json", "--quiet", "--drop", "label,id",
        ])
        .write_stdin(std::fs::read(&pq).expect("read"))
        .output()
        .expect("run em");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_stdin = json_without(
        &String::from_utf8_lossy(&out.stdout),
        &["log_density_quantiles"],
    );
    assert_eq!(from_stdin, expected);
}

#[test]
fn a_text_column_is_an_error_that_says_how_to_drop_it() {
    let scratch = Scratch::new();
    let (_, pq) = both(&scratch, 20);
    for extra in [&[][..], &["--stream"]] {
        let mut args = vec!["fit", s(&pq), "-k", "2", "--drop", "id"];
        args.extend_from_slice(extra);
        fails_with(
            &em(&args),
            2,
            &[
                "d.parquet: column 4 (label) holds text, not numbers",
                "pass --drop label",
            ],
        );
    }
    // An unknown column lists the file's.
    fails_with(
        &em(&["fit", s(&pq), "-k", "2", "--columns", "a,zz"]),
        2,
        &["no column \"zz\" (columns: id, a, b, label)"],
    );
}

#[test]
fn nulls_are_modelled_refused_naming_the_row_or_dropped() {
    let scratch = Scratch::new();
    let (a, b) = groups(63);
    let mut b: Vec<Option<f64>> = b.into_iter().map(Some).collect();
    for i in [5, 40, 41] {
        b[i] = None;
    }
    let pq = scratch.path("nulls.parquet");
    write_parquet(&pq, &a, &b, 10);
    for extra in [&[][..], &["--stream"]] {
        let mut args = vec![
            "fit",
            s(&pq),
            "-k",
            "2",
            "--columns",
            "a,b",
            "--missing",
            "error",
        ];
        args.extend_from_slice(extra);
        fails_with(
            &em(&args),
            2,
            &[
                "nulls.parquet",
                "row 6",
                "missing value (null)",
                "--missing drop",
            ],
        );
    }
    // Modelled (the default): the fit of the same values in CSV, with empty fields.
    let mut holes = String::from("a,b\n");
    for (i, line) in two_groups(63).iter().enumerate() {
        if [5, 40, 41].contains(&i) {
            let a = line.split(',').next().unwrap_or_default();
            holes.push_str(&format!("{a},\n"));
        } else {
            holes.push_str(line);
            holes.push('\n');
        }
    }
    let holes = scratch.file("holes.csv", &holes);
    let modelled = fit_json(&holes, &[]);
    assert_eq!(fit_json(&pq, &["--columns", "a,b"]), modelled);
    assert_eq!(fit_json(&pq, &["--columns", "a,b", "--stream"]), modelled);
    // Dropped: the fit of the other rows, in CSV.
    let mut text = String::from("a,b\n");
    for (i, line) in two_groups(63).iter().enumerate() {
        if ![5, 40, 41].contains(&i) {
            text.push_str(line);
            text.push('\n');
        }
    }
    let csv = scratch.file("kept.csv", &text);
    let expected = fit_json(&csv, &[]);
    let drop = ["--columns", "a,b", "--missing", "drop"];
    assert_eq!(fit_json(&pq, &drop), expected);
    assert_eq!(
        fit_json(&pq, &[&drop[..], &["--stream"]].concat()),
        expected
    );
    let out = em(&[&["fit", s(&pq), "-k", "2"][..], &drop].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success()
            && stderr.contains("em: dropped 3 rows")
            && stderr.contains("60 remain"),
        "{stderr}"
    );
}

#[test]
fn select_predict_and_convert_read_parquet() {
    let scratch = Scratch::new();
    let (csv, pq) = both(&scratch, 60);
    let select = |file: &Path| {
        json(&ok(&[
            "select",
            s(file),
            "-k",
            "1..3",
            "--columns",
            "a,b",
            "--json",
            "--quiet",
        ]))
    };
    assert_eq!(select(&pq)["best"], select(&csv)["best"]);
    // A model fitted on the CSV predicts the Parquet file's rows by column name (id and label
    // are left out with a note), as it predicts the CSV file's.
    let model = scratch.path("m.json");
    ok(&["fit", s(&csv), "-k", "2", "--output", s(&model), "--quiet"]);
    let predict = |file: &Path| ok(&["predict", "--model", s(&model), s(file), "--quiet"]);
    assert_eq!(predict(&pq), predict(&csv));
    // convert: the numeric columns chosen by the reader, to the binary format.
    let bin = scratch.path("d.f64");
    fails_with(
        &em(&["convert", s(&pq), s(&bin)]),
        2,
        &["column 4 (label) holds text"],
    );
    assert!(!bin.exists());
    let numeric = scratch.path("n.parquet");
    let (a, b) = groups(60);
    write_numeric(&numeric, &a, &b);
    ok(&["convert", s(&numeric), s(&bin), "--quiet"]);
    let unnamed = |file: &Path, extra: &[&str]| {
        let mut v = fit_json(file, extra);
        v.as_object_mut().map(|o| o.remove("columns"));
        v
    };
    assert_eq!(unnamed(&bin, &["--stream"]), unnamed(&csv, &[]));
}

/// A Parquet file of two double columns, `a` and `b`, in one row group.
fn write_numeric(path: &Path, a: &[f64], b: &[f64]) {
    let schema = "message t { required double a; required double b; }";
    let schema = Arc::new(parse_message_type(schema).expect("schema"));
    let file = std::fs::File::create(path).expect("create");
    let props = Arc::new(WriterProperties::default());
    let mut w = SerializedFileWriter::new(file, schema, props).expect("writer");
    let mut rg = w.next_row_group().expect("row group");
    for values in [a, b] {
        let mut col = rg.next_column().expect("column").expect("column");
        col.typed::<DoubleType>()
            .write_batch(values, None, None)
            .expect("write");
        col.close().expect("close");
    }
    rg.close().expect("close");
    w.close().expect("close");
}
