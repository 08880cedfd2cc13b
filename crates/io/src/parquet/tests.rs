//! Parquet files written here, with the `parquet` crate's writer, and read back: in memory and
//! streamed, with selections, nulls, every numeric type, codecs and damaged files.

use std::sync::Arc;

use ::parquet::basic::Compression;
use ::parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
};
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::parser::parse_message_type;
use em_core::{ChunkSource, EmError};
use nalgebra::DMatrix;

use super::ParquetSource;
use crate::csv::{Missing, ReadOptions};
use crate::error::{ReadError, ValueError};
use crate::select::{SelectError, Selection};
use crate::table;

/// A column to write: its schema line (without the repetition) and its values, `None` a null.
enum Col {
    F64(&'static str, Vec<Option<f64>>),
    F32(&'static str, Vec<Option<f32>>),
    I32(&'static str, Vec<Option<i32>>),
    I64(&'static str, Vec<Option<i64>>),
    Text(&'static str, Vec<&'static str>),
    Bool(&'static str, Vec<bool>),
}

impl Col {
    fn schema(&self) -> String {
        let (ty, nullable) = match self {
            Col::F64(t, v) => (*t, v.iter().any(Option::is_none)),
            Col::F32(t, v) => (*t, v.iter().any(Option::is_none)),
            Col::I32(t, v) => (*t, v.iter().any(Option::is_none)),
            Col::I64(t, v) => (*t, v.iter().any(Option::is_none)),
            Col::Text(t, _) | Col::Bool(t, _) => (*t, false),
        };
        format!("{} {ty};", if nullable { "optional" } else { "required" })
    }
}

/// Values and definition levels (for a column with nulls) of `rows` of `column`.
fn split<T: Clone>(
    column: &[Option<T>],
    rows: std::ops::Range<usize>,
) -> (Vec<T>, Option<Vec<i16>>) {
    let v = &column[rows];
    let values = v.iter().flatten().cloned().collect();
    let nullable = column.iter().any(Option::is_none);
    let defs = nullable.then(|| v.iter().map(|x| i16::from(x.is_some())).collect());
    (values, defs)
}

/// A Parquet file of `columns`, in row groups of `group` rows, written with `props`.
fn write_with(columns: &[Col], group: usize, props: WriterProperties) -> Vec<u8> {
    let fields: String = columns.iter().map(Col::schema).collect();
    let schema = Arc::new(parse_message_type(&format!("message t {{ {fields} }}")).unwrap());
    let n = match &columns[0] {
        Col::F64(_, v) => v.len(),
        Col::F32(_, v) => v.len(),
        Col::I32(_, v) => v.len(),
        Col::I64(_, v) => v.len(),
        Col::Text(_, v) => v.len(),
        Col::Bool(_, v) => v.len(),
    };
    let mut bytes = Vec::new();
    let mut w = SerializedFileWriter::new(&mut bytes, schema, Arc::new(props)).unwrap();
    let mut start = 0;
    while start < n {
        let r = start..(start + group).min(n);
        let mut rg = w.next_row_group().unwrap();
        for c in columns {
            let mut col = rg.next_column().unwrap().unwrap();
            match c {
                Col::F64(_, v) => {
                    let (values, defs) = split(v, r.clone());
                    let w = col.typed::<DoubleType>();
                    w.write_batch(&values, defs.as_deref(), None).unwrap();
                }
                Col::F32(_, v) => {
                    let (values, defs) = split(v, r.clone());
                    let w = col.typed::<FloatType>();
                    w.write_batch(&values, defs.as_deref(), None).unwrap();
                }
                Col::I32(_, v) => {
                    let (values, defs) = split(v, r.clone());
                    let w = col.typed::<Int32Type>();
                    w.write_batch(&values, defs.as_deref(), None).unwrap();
                }
                Col::I64(_, v) => {
                    let (values, defs) = split(v, r.clone());
                    let w = col.typed::<Int64Type>();
                    w.write_batch(&values, defs.as_deref(), None).unwrap();
                }
                Col::Text(_, v) => {
                    let values: Vec<ByteArray> =
                        v[r.clone()].iter().map(|s| ByteArray::from(*s)).collect();
                    let w = col.typed::<ByteArrayType>();
                    w.write_batch(&values, None, None).unwrap();
                }
                Col::Bool(_, v) => {
                    let w = col.typed::<BoolType>();
                    w.write_batch(&v[r.clone()], None, None).unwrap();
                }
            }
            col.close().unwrap();
        }
        rg.close().unwrap();
        start = r.end;
    }
    w.close().unwrap();
    bytes
}

fn write(columns: &[Col], group: usize) -> Vec<u8> {
    write_with(columns, group, WriterProperties::default())
}

fn some<T>(v: impl IntoIterator<Item = T>) -> Vec<Option<T>> {
    v.into_iter().map(Some).collect()
}

fn read(
    bytes: &[u8],
    options: &ReadOptions,
    selection: &Selection,
) -> Result<table::Table, ReadError> {
    table::parse_bytes_selected(bytes.to_vec(), "t.parquet", options, selection)
}

fn all(bytes: &[u8]) -> Result<table::Table, ReadError> {
    read(bytes, &ReadOptions::default(), &Selection::default())
}

fn columns(c: &[&str]) -> Selection {
    Selection {
        columns: Some(c.iter().map(|s| s.to_string()).collect()),
        drop: vec![],
    }
}

fn drop(c: &[&str]) -> Selection {
    Selection {
        columns: None,
        drop: c.iter().map(|s| s.to_string()).collect(),
    }
}

const DROP: ReadOptions = ReadOptions {
    delimiter: crate::csv::Delimiter::Auto,
    header: None,
    missing: Missing::Drop,
};

/// Every row of a source, chunk by chunk, from a rewind.
fn stream(source: &mut ParquetSource, chunk: usize) -> Result<DMatrix<f64>, EmError> {
    source.rewind()?;
    let mut rows = Vec::new();
    while let Some(c) = source.next_chunk(chunk)? {
        assert!(c.nrows() <= chunk);
        rows.extend(c.row_iter().map(|r| r.into_owned()));
    }
    Ok(DMatrix::from_rows(&rows))
}

#[test]
fn float_and_integer_columns_are_read_into_a_table() {
    let bytes = write(
        &[
            Col::F64("double x", some([0.5, -1.25, 3.0])),
            Col::F32("float y", some([1.5f32, 2.0, -0.25])),
            Col::I32("int32 n", some([1, -2, 3])),
            Col::I64("int64 big", some([1i64 << 40, 0, -7])),
        ],
        2,
    );
    let t = all(&bytes).unwrap();
    assert_eq!(t.columns, ["x", "y", "n", "big"]);
    assert!(t.has_header);
    assert_eq!(
        t.x,
        nalgebra::dmatrix![
            0.5, 1.5, 1.0, (1u64 << 40) as f64;
            -1.25, 2.0, -2.0, 0.0;
            3.0, -0.25, 3.0, -7.0
        ]
    );
    assert_eq!((t.dropped, t.lines.line(2)), (0, 3));
    assert_eq!(t.source, "t.parquet");
}

#[test]
fn unsigned_integers_and_decimals_are_read_as_their_value() {
    let bytes = write(
        &[
            Col::I32("int32 u (UINT_32)", some([-1, 5])),
            Col::I64("int64 u64 (INTEGER(64,false))", some([-1i64, 5])),
            Col::I32("int32 price (DECIMAL(9,2))", some([12345, -5])),
            Col::I64("int64 wide (DECIMAL(18,3))", some([1500i64, 2])),
            Col::I32("int32 i8 (INTEGER(8,true))", some([-3, 4])),
        ],
        10,
    );
    let t = all(&bytes).unwrap();
    assert_eq!(t.columns, ["u", "u64", "price", "wide", "i8"]);
    assert_eq!(
        t.x.row(0).iter().copied().collect::<Vec<_>>(),
        [u32::MAX as f64, u64::MAX as f64, 123.45, 1.5, -3.0]
    );
    assert_eq!(
        t.x.row(1).iter().copied().collect::<Vec<_>>(),
        [5.0, 5.0, -0.05, 0.002, 4.0]
    );
}

#[test]
fn columns_are_chosen_by_name_or_position() {
    let bytes = write(
        &[
            Col::Text("binary name (UTF8)", vec!["a", "b"]),
            Col::F64("double x", some([1.0, 2.0])),
            Col::I64("int64 y", some([3, 4])),
        ],
        1,
    );
    let t = read(&bytes, &ReadOptions::default(), &columns(&["y", "2"])).unwrap();
    assert_eq!(t.columns, ["y", "x"]);
    assert_eq!(t.x, nalgebra::dmatrix![3.0, 1.0; 4.0, 2.0]);
    let t = read(&bytes, &ReadOptions::default(), &drop(&["name"])).unwrap();
    assert_eq!(t.columns, ["x", "y"]);
    let t = read(&bytes, &ReadOptions::default(), &drop(&["1", "y"])).unwrap();
    assert_eq!(t.x, nalgebra::dmatrix![1.0; 2.0]);
    // An unknown name lists the file's columns.
    let e = read(&bytes, &ReadOptions::default(), &columns(&["z"])).unwrap_err();
    assert!(matches!(
        &e,
        ReadError::Select {
            error: SelectError::Unknown { .. },
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "t.parquet: no column \"z\" (columns: name, x, y)"
    );
    // The streamed source chooses the same columns.
    let mut s =
        ParquetSource::from_bytes(bytes, "t", &ReadOptions::default(), &columns(&["y", "x"]))
            .unwrap();
    assert_eq!(s.columns(), ["y", "x"]);
    assert_eq!(
        stream(&mut s, 10).unwrap(),
        nalgebra::dmatrix![3.0, 1.0; 4.0, 2.0]
    );
}

#[test]
fn a_text_or_boolean_column_read_is_a_typed_error_naming_it() {
    let bytes = write(
        &[
            Col::F64("double x", some([1.0, 2.0])),
            Col::Text("binary species (UTF8)", vec!["setosa", "virginica"]),
            Col::Bool("boolean flag", vec![true, false]),
            Col::I32("int32 day (DATE)", some([1, 2])),
        ],
        2,
    );
    let e = all(&bytes).unwrap_err();
    assert_eq!(
        e,
        ReadError::NotNumeric {
            origin: "t.parquet".into(),
            column: 1,
            label: "species".into(),
            kind: "text".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        "t.parquet: column 2 (species) holds text, not numbers"
    );
    let e = read(&bytes, &ReadOptions::default(), &drop(&["species"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.parquet: column 3 (flag) holds booleans, not numbers"
    );
    let e = read(&bytes, &ReadOptions::default(), &drop(&["species", "flag"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.parquet: column 4 (day) holds dates, not numbers"
    );
    let t = read(&bytes, &ReadOptions::default(), &columns(&["x"])).unwrap();
    assert_eq!(t.x, nalgebra::dmatrix![1.0; 2.0]);
    // Streamed: the same error when the source is opened, and as an EmError naming the column.
    let e = ParquetSource::from_bytes(bytes, "t", &ReadOptions::default(), &Selection::default())
        .unwrap_err();
    match EmError::from(e) {
        EmError::Io {
            column: Some(2),
            reason,
            ..
        } => assert!(reason.contains("\"species\" holds text"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nulls_and_nans_are_missing_values_an_error_by_default() {
    let bytes = write(
        &[
            Col::F64(
                "double x",
                vec![Some(1.0), Some(f64::NAN), Some(3.0), Some(4.0)],
            ),
            Col::I64("int64 n", vec![Some(1), Some(2), None, Some(4)]),
        ],
        3,
    );
    let e = all(&bytes).unwrap_err();
    assert_eq!(
        e,
        ReadError::Value {
            origin: "t.parquet".into(),
            row: 1,
            column: 0,
            label: "x".into(),
            error: ValueError::Missing { null: false },
        }
    );
    assert!(
        e.to_string()
            .starts_with("t.parquet: row 2, column 1 (x): missing value (NaN): "),
        "{e}"
    );
    let e = read(&bytes, &ReadOptions::default(), &columns(&["n"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.parquet: row 3, column 2 (n): missing value (null): missing values are not supported \
         by the model yet (drop the rows that have them: `em --missing drop`)"
    );
    // Dropped, and counted; the rows kept keep their file row.
    let t = read(&bytes, &DROP, &Selection::default()).unwrap();
    assert_eq!(t.x, nalgebra::dmatrix![1.0, 1.0; 4.0, 4.0]);
    assert_eq!((t.dropped, t.lines.line(0), t.lines.line(1)), (2, 1, 4));
    // Only the columns read matter.
    let t = read(&bytes, &DROP, &columns(&["n"])).unwrap();
    assert_eq!((t.x.nrows(), t.dropped), (3, 1));
    // Every row dropped.
    let none = write(&[Col::F64("double x", vec![None, Some(f64::NAN)])], 1);
    let e = read(&none, &DROP, &Selection::default()).unwrap_err();
    assert_eq!(
        e,
        ReadError::AllDropped {
            origin: "t.parquet".into(),
            dropped: 2
        }
    );
    // Streamed, the same rows are dropped, and a null is an EmError naming the row.
    let mut s =
        ParquetSource::from_bytes(bytes.clone(), "t", &DROP, &Selection::default()).unwrap();
    assert_eq!(stream(&mut s, 1).unwrap(), t_all(&bytes));
    assert_eq!(s.dropped_rows(), 2);
    let mut s =
        ParquetSource::from_bytes(bytes, "t", &ReadOptions::default(), &columns(&["n"])).unwrap();
    match stream(&mut s, 2).unwrap_err() {
        EmError::Io {
            column: Some(2),
            reason,
            ..
        } => assert!(
            reason.starts_with("row 3: missing value (null)"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_keep_reads_nulls_and_nans_as_nan_in_memory_and_streamed() {
    let bytes = write(
        &[
            Col::F64("double x", vec![Some(1.0), Some(f64::NAN), Some(3.0)]),
            Col::I64("int64 n", vec![Some(1), Some(2), None]),
        ],
        2,
    );
    let keep = ReadOptions {
        missing: Missing::Keep,
        ..ReadOptions::default()
    };
    let t = read(&bytes, &keep, &Selection::default()).unwrap();
    assert_eq!((t.x.nrows(), t.dropped), (3, 0));
    assert!(t.x[(1, 0)].is_nan() && t.x[(2, 1)].is_nan());
    assert_eq!((t.x[(0, 0)], t.x[(1, 1)], t.x[(2, 0)]), (1.0, 2.0, 3.0));
    let mut s = ParquetSource::from_bytes(bytes, "t", &keep, &Selection::default()).unwrap();
    let streamed = stream(&mut s, 2).unwrap();
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    assert!(streamed.iter().zip(t.x.iter()).all(|(&a, &b)| same(a, b)));
    // Infinities are still an error.
    let inf = write(&[Col::F64("double x", vec![None, Some(f64::INFINITY)])], 5);
    let e = read(&inf, &keep, &Selection::default()).unwrap_err();
    assert!(matches!(
        e,
        ReadError::Value {
            row: 1,
            error: ValueError::NonFinite { .. },
            ..
        }
    ));
}

/// The rows of `bytes` without missing values, read into memory.
fn t_all(bytes: &[u8]) -> DMatrix<f64> {
    read(bytes, &DROP, &Selection::default()).unwrap().x
}

#[test]
fn infinities_are_an_error_even_in_a_row_dropped_for_a_missing_value() {
    let bytes = write(
        &[
            Col::F64("double x", vec![Some(1.0), None]),
            Col::F32("float y", some([2.0, f32::NEG_INFINITY])),
        ],
        5,
    );
    let e = read(&bytes, &DROP, &Selection::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.parquet: row 2, column 2 (y): -inf is not a finite number (infinities are not allowed)"
    );
    let mut s = ParquetSource::from_bytes(bytes, "t", &DROP, &Selection::default()).unwrap();
    assert!(matches!(
        stream(&mut s, 4),
        Err(EmError::NonFinite {
            row: 1,
            column: 1,
            ..
        })
    ));
}

#[test]
fn the_streamed_source_equals_the_in_memory_table_across_row_groups() {
    let n: usize = 1000;
    let x: Vec<Option<f64>> = (0..n)
        .map(|i| (i % 97 != 13).then(|| (i as f64 * 0.37).sin()))
        .collect();
    let k: Vec<Option<i32>> = (0..n).map(|i| Some((i % 5) as i32)).collect();
    let bytes = write(&[Col::F64("double x", x), Col::I32("int32 k", k)], 128);
    let t = read(&bytes, &DROP, &Selection::default()).unwrap();
    assert_eq!((t.x.nrows(), t.dropped), (n - 11, 11));
    let mut s = ParquetSource::from_bytes(bytes, "t", &DROP, &Selection::default()).unwrap();
    assert_eq!((s.n_rows(), s.n_columns()), (n, 2));
    for chunk in [1, 7, 128, 300, 5000] {
        assert_eq!(stream(&mut s, chunk).unwrap(), t.x, "chunks of {chunk}");
        assert_eq!(s.dropped_rows(), 11);
    }
    // A chunk is full unless it is the last, whatever the row groups.
    s.rewind().unwrap();
    assert_eq!(s.next_chunk(200).unwrap().unwrap().nrows(), 200);
}

#[test]
fn dictionary_encoded_and_compressed_files_read_as_plain_ones() {
    let x: Vec<Option<f64>> = (0..500).map(|i| Some(f64::from(i % 4) - 1.5)).collect();
    let n: Vec<Option<i64>> = (0..500).map(|i| Some(i % 3)).collect();
    let columns = || {
        [
            Col::F64("double x", x.clone()),
            Col::I64("int64 n", n.clone()),
        ]
    };
    let plain = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .build();
    let expected = all(&write_with(&columns(), 100, plain)).unwrap().x;
    for compression in [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(Default::default()),
        Compression::LZ4_RAW,
        Compression::ZSTD(Default::default()),
    ] {
        // Dictionary encoding is the writer's default.
        let props = WriterProperties::builder()
            .set_compression(compression)
            .build();
        let t = all(&write_with(&columns(), 100, props)).unwrap();
        assert_eq!(t.x, expected, "{compression:?}");
    }
}

#[test]
fn files_are_read_by_their_magic_bytes_and_damage_is_an_error() {
    let bytes = write(&[Col::F64("double x", some([1.0, 2.0]))], 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    std::fs::write(&path, &bytes).unwrap();
    assert!(super::is_parquet_file(&path));
    let t = table::read(&path).unwrap();
    assert_eq!(t.x, all(&bytes).unwrap().x);
    assert_eq!(t.source, path.display().to_string());
    let mut s = ParquetSource::open(&path).unwrap();
    assert_eq!(stream(&mut s, 1).unwrap(), t.x);
    // The same file cut short: an error naming it, not a panic.
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let e = table::read(&path).unwrap_err();
    assert!(matches!(e, ReadError::Format { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with(&format!("{}: not a readable Parquet file", path.display())),
        "{e}"
    );
    // Damaged files: every byte flipped in turn, pages and footer, and every truncation: an
    // error or a table, never a panic.
    for i in 0..bytes.len() {
        for flip in [0x01, 0x5a, 0xff] {
            let mut bad = bytes.clone();
            bad[i] ^= flip;
            let _ = all(&bad);
        }
        let _ = all(&bytes[..i]);
    }
    // Missing file.
    assert!(matches!(
        ParquetSource::open(dir.path().join("none.parquet")),
        Err(ReadError::Open { .. })
    ));
}

#[test]
fn a_file_without_rows_is_empty() {
    let bytes = write(&[Col::F64("double x", vec![])], 1);
    assert_eq!(
        all(&bytes).unwrap_err(),
        ReadError::Empty {
            origin: "t.parquet".into()
        }
    );
}
