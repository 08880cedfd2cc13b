//! The fast readers against a reference: the rules of [`csv`](crate::csv) applied line by
//! line by the exact parser ([`Layout::parse_row_exact`]), as the readers did before the fast
//! path. Values must be the same bits, and rows, line numbers, dropped rows and the first
//! error the same, for any text, options and chunk size, in memory and streamed.

use em_core::{ChunkSource, EmError};
use proptest::prelude::*;

use crate::csv::{CsvSource, Delimiter, Layout, Missing, ReadOptions};
use crate::error::ReadError;
use crate::select::Selection;
use crate::table;

/// What a reader yields: column names, rows, the line of each row, rows dropped.
#[derive(Debug)]
struct Read {
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
    lines: Vec<usize>,
    dropped: usize,
}

/// The reference reader.
fn reference(text: &str, options: &ReadOptions, selection: &Selection) -> Result<Read, ReadError> {
    let origin = "t.csv";
    let mut lines = text.split('\n').enumerate().map(|(i, l)| {
        let l = l.strip_suffix('\r').unwrap_or(l);
        let l = if i == 0 {
            l.strip_prefix('\u{feff}').unwrap_or(l)
        } else {
            l
        };
        (i as u64 + 1, l)
    });
    // `split` yields an empty last piece after a final line break: not a line, and blank.
    let Some((first, header)) = lines.by_ref().find(|(_, l)| !l.trim().is_empty()) else {
        return Err(ReadError::Empty {
            origin: origin.into(),
        });
    };
    let mut layout = Layout::new(header, first, options, origin)?;
    layout.select(selection, origin)?;
    let mut read = Read {
        columns: layout.out_columns().to_vec(),
        rows: Vec::new(),
        lines: Vec::new(),
        dropped: 0,
    };
    let data = (!layout.has_header).then_some((first, header));
    for (line, text) in data
        .into_iter()
        .chain(lines.filter(|(_, l)| !l.trim().is_empty()))
    {
        let mut row = Vec::new();
        match layout.parse_row_exact(text, &mut row) {
            Ok(true) => {
                read.rows.push(row);
                read.lines.push(line as usize);
            }
            Ok(false) => read.dropped += 1,
            Err(e) => return Err(layout.record_error(origin, line, read.rows.len(), e)),
        }
    }
    if read.rows.is_empty() {
        return Err(ReadError::HeaderOnly {
            origin: origin.into(),
            header_line: first,
        });
    }
    Ok(read)
}

fn bits(rows: &[Vec<f64>]) -> Vec<Vec<u64>> {
    rows.iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// The in-memory reader, as a [`Read`].
fn in_memory(text: &str, options: &ReadOptions, selection: &Selection) -> Result<Read, ReadError> {
    let t = table::parse_selected(text, "t.csv", options, selection)?;
    Ok(Read {
        columns: t.columns.clone(),
        rows: t
            .x
            .row_iter()
            .map(|r| r.iter().copied().collect())
            .collect(),
        lines: (0..t.x.nrows()).map(|r| t.lines.line(r)).collect(),
        dropped: t.dropped,
    })
}

/// The in-memory reader of files (a matrix sized from the file's length, not a line count).
fn from_file(text: &str, options: &ReadOptions, selection: &Selection) -> Result<Read, ReadError> {
    let dir = tempfile::tempdir().map_err(|e| ReadError::Stdin {
        reason: e.to_string(),
    })?;
    let path = dir.path().join("t.csv");
    std::fs::write(&path, text).map_err(|e| ReadError::Stdin {
        reason: e.to_string(),
    })?;
    let t = table::read_selected(&path, options, selection).map_err(|e| match e {
        // Errors name the path; the reference names "t.csv".
        ReadError::Record {
            line,
            row,
            column,
            label,
            width,
            first_line,
            error,
            ..
        } => ReadError::Record {
            origin: "t.csv".into(),
            line,
            row,
            column,
            label,
            width,
            first_line,
            error,
        },
        ReadError::HeaderOnly { header_line, .. } => ReadError::HeaderOnly {
            origin: "t.csv".into(),
            header_line,
        },
        ReadError::Empty { .. } => ReadError::Empty {
            origin: "t.csv".into(),
        },
        ReadError::Select { error, .. } => ReadError::Select {
            origin: "t.csv".into(),
            error,
        },
        other => other,
    })?;
    Ok(Read {
        columns: t.columns.clone(),
        rows: t
            .x
            .row_iter()
            .map(|r| r.iter().copied().collect())
            .collect(),
        lines: (0..t.x.nrows()).map(|r| t.lines.line(r)).collect(),
        dropped: t.dropped,
    })
}

/// The streamed reader in chunks of `chunk` rows, twice (the second pass after a rewind).
fn streamed(
    text: &str,
    options: &ReadOptions,
    selection: &Selection,
    chunk: usize,
) -> Result<Read, EmError> {
    let cursor = std::io::Cursor::new(text.as_bytes().to_vec());
    let mut csv = CsvSource::with_selection(cursor, "t.csv", options, selection)?;
    let mut rows = Vec::new();
    for _ in 0..2 {
        csv.rewind()?;
        rows.clear();
        while let Some(c) = csv.next_chunk(chunk)? {
            assert!(c.nrows() <= chunk.max(1));
            rows.extend(
                c.row_iter()
                    .map(|r| r.iter().copied().collect::<Vec<f64>>()),
            );
        }
    }
    Ok(Read {
        columns: csv.columns().to_vec(),
        rows,
        // The streamed reader does not keep line numbers.
        lines: Vec::new(),
        dropped: csv.dropped_rows(),
    })
}

/// Checks both readers against the reference on `text`.
fn check(text: &str, options: &ReadOptions, selection: &Selection, chunk: usize) {
    let expected = reference(text, options, selection);
    let memory = in_memory(text, options, selection);
    let file = from_file(text, options, selection);
    match (&file, &memory) {
        (Ok(f), Ok(m)) => {
            assert_eq!(bits(&f.rows), bits(&m.rows), "{text:?} {options:?}");
            assert_eq!(
                (&f.columns, &f.lines, f.dropped),
                (&m.columns, &m.lines, m.dropped)
            );
        }
        (Err(f), Err(m)) => assert_eq!(f, m, "{text:?} {options:?}"),
        _ => panic!("{text:?} {options:?}: file {file:?}, text {memory:?}"),
    }
    match (&expected, &memory) {
        (Ok(e), Ok(m)) => {
            assert_eq!(m.columns, e.columns, "{text:?} {options:?}");
            assert_eq!(bits(&m.rows), bits(&e.rows), "{text:?} {options:?}");
            assert_eq!(m.lines, e.lines, "{text:?} {options:?}");
            assert_eq!(m.dropped, e.dropped, "{text:?} {options:?}");
        }
        (Err(e), Err(m)) => assert_eq!(m, e, "{text:?} {options:?}"),
        _ => panic!("{text:?} {options:?}: in memory {memory:?}, reference {expected:?}"),
    }
    match (expected, streamed(text, options, selection, chunk)) {
        (Ok(e), Ok(s)) => {
            assert_eq!(s.columns, e.columns, "{text:?} {options:?}");
            assert_eq!(bits(&s.rows), bits(&e.rows), "{text:?} {options:?}");
            assert_eq!(s.dropped, e.dropped, "{text:?} {options:?}");
        }
        // The streamed reader has always yielded no rows, not an error, for a file with none.
        (Err(ReadError::HeaderOnly { .. }), Ok(s)) => assert!(s.rows.is_empty()),
        (Err(e), Err(s)) => assert_eq!(
            format!("{s:?}"),
            format!("{:?}", EmError::from(e)),
            "{text:?} {options:?}"
        ),
        (e, s) => panic!("{text:?} {options:?}: streamed {s:?}, reference {e:?}"),
    }
}

/// Fields a data file may hold: numbers of every shape, and everything the rules treat
/// specially or refuse.
fn field() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "-0",
        "0",
        "0.0",
        "+1",
        ".5",
        "5.",
        "-.5e-3",
        "1e308",
        "1.7976931348623157e308",
        "1.8e308",
        "1e309",
        "-1e400",
        "4.9e-324",
        "2.4703282292062328e-324",
        "2.2250738585072011e-308",
        "1e-320",
        "123456789012345678901234567890",
        "0.30000000000000004",
        "9007199254740993",
        "inf",
        "-inf",
        "Infinity",
        "nan",
        "NaN",
        "-nan",
        "NA",
        "na",
        "",
        " ",
        "1_0",
        " 1 ",
        "\t2",
        "1e",
        "e5",
        "--1",
        "0x10",
        "1.5.2",
        "x",
        "\u{a0}7",
        "\u{2003}8\u{a0}",
        "\"3\"",
        "\" 4 \"",
        "\"1,5\"",
        "\"NA\"",
        "\"\"",
        "\"x\"\"y\"",
        "\"5",
        "1\u{b}",
        "\u{feff}1",
        "١",
    ])
    .prop_map(str::to_string);
    let decimal = (
        prop::sample::select(vec!["", "-", "+"]),
        "[0-9]{1,22}",
        prop::option::of("[0-9]{0,22}"),
        prop::option::of((
            prop::sample::select(vec!["e", "E", "e-", "e+", "E-"]),
            0u32..400,
        )),
    )
        .prop_map(|(sign, int, frac, exp)| {
            let mut s = format!("{sign}{int}");
            if let Some(f) = frac {
                s = format!("{s}.{f}");
            }
            if let Some((e, n)) = exp {
                s = format!("{s}{e}{n}");
            }
            s
        });
    let float = any::<u64>().prop_map(|b| {
        let v = f64::from_bits(b);
        if b % 2 == 0 {
            format!("{v:e}")
        } else {
            format!("{v:?}")
        }
    });
    let small = (-1e6f64..1e6).prop_map(|v| format!("{v}"));
    prop_oneof![3 => small, 3 => float, 3 => decimal, 2 => special]
}

/// A CSV text: an optional byte-order mark and header, rows of about `width` fields, blank
/// lines, `\n` or `\r\n`.
fn text() -> impl Strategy<Value = String> {
    (
        1usize..4,
        prop::sample::select(vec![',', '\t', ';']),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            "a", "b", "2019", "\"c,d\"", "NA", "",
        ])),
        prop::collection::vec((prop::collection::vec(field(), 0..5), 0u8..10), 0..25),
    )
        .prop_map(|(width, delimiter, crlf, header, rows)| {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            if let Some(h) = header {
                let names: Vec<String> = (0..width).map(|j| format!("{h}{j}")).collect();
                text += &names.join(&delimiter.to_string());
                text += end;
            }
            for (mut fields, shape) in rows {
                match shape {
                    0 => text += "  ",
                    1 => {}
                    _ => {
                        // Mostly the right width, sometimes ragged.
                        if shape > 2 {
                            fields.resize(width, "1.5".into());
                        }
                        text += &fields.join(&delimiter.to_string());
                    }
                }
                text += end;
            }
            text
        })
}

fn options() -> impl Strategy<Value = (ReadOptions, Selection)> {
    (
        prop::sample::select(vec![
            Delimiter::Auto,
            Delimiter::Comma,
            Delimiter::Tab,
            Delimiter::Semicolon,
        ]),
        prop::sample::select(vec![None, Some(true), Some(false)]),
        prop::sample::select(vec![Missing::Error, Missing::Drop, Missing::Keep]),
        prop::sample::select(vec![0u8, 1, 2]),
    )
        .prop_map(|(delimiter, header, missing, select)| {
            let selection = match select {
                0 => Selection::default(),
                1 => Selection {
                    columns: None,
                    drop: vec!["1".into()],
                },
                _ => Selection {
                    columns: Some(vec!["2".into(), "1".into()]),
                    drop: vec![],
                },
            };
            (
                ReadOptions {
                    delimiter,
                    header,
                    missing,
                },
                selection,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn fast_readers_match_the_line_by_line_rules(
        text in text(),
        (options, selection) in options(),
        bom in any::<bool>(),
        chunk in 1usize..5,
    ) {
        let text = if bom { format!("\u{feff}{text}") } else { text };
        check(&text, &options, &selection, chunk);
    }

    #[test]
    fn every_field_reads_as_rusts_float_parser(fields in prop::collection::vec(field(), 1..6)) {
        // One field per line: the value is `str::parse` of the cleaned field, bit for bit,
        // or the row is missing or an error exactly as the exact parser says.
        let text: String = fields.iter().map(|f| format!("{f}\n")).collect();
        for missing in [Missing::Error, Missing::Drop, Missing::Keep] {
            let options = ReadOptions { header: Some(false), missing, ..ReadOptions::default() };
            check(&text, &options, &Selection::default(), 3);
        }
        for f in &fields {
            let f = f.strip_prefix('\u{feff}').unwrap_or(f);
            let clean = crate::csv::clean_field(f);
            if let Ok(t) = table::parse_with(&format!("{f}\n"), "t.csv", &ReadOptions { header: Some(false), ..ReadOptions::default() }) && !f.contains("\"\"") {
                prop_assert_eq!(t.x[(0, 0)].to_bits(), clean.parse::<f64>().map(f64::to_bits).unwrap_or(0));
            }
        }
    }
}

/// A large text of `rows` rows, so that blocks are cut into many pieces.
fn big(rows: usize) -> String {
    (0..rows)
        .map(|i| format!("{},{}\n", i as f64 * 0.37 - 5e3, (i as f64).sqrt() * 1e-3))
        .collect()
}

#[test]
fn the_first_error_in_file_order_is_reported_across_pieces_and_blocks() {
    let base = big(400_000);
    let lines: Vec<&str> = base.lines().collect();
    for (first, second) in [
        (350_000, 390_000),
        (10, 399_999),
        (200_000, 200_001),
        (1, 2),
    ] {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        l[first] = "1,oops".into();
        l[second] = "1,2,3".into();
        let text = format!("a,b\n{}\n", l.join("\n"));
        let e = table::parse(&text, "t.csv").unwrap_err();
        match &e {
            ReadError::Record {
                line,
                row,
                column: 1,
                ..
            } => {
                assert_eq!((*line, *row), (first as u64 + 2, first), "{e}")
            }
            other => panic!("{other:?}"),
        }
        check(
            &text,
            &ReadOptions::default(),
            &Selection::default(),
            70_000,
        );
    }
}

#[test]
fn large_texts_with_blank_lines_missing_values_and_bad_bytes_match_the_reference() {
    let mut text = String::from("\u{feff}x;y\r\n");
    for i in 0..300_000 {
        match i % 1000 {
            7 => text += "\r\n",
            8 => text += &format!("{i};NA\r\n"),
            9 => text += &format!("\"{i}\";\" 2 \"\r\n"),
            _ => text += &format!("{};{}\r\n", i as f64 / 7.0, -(i as f64) * 1e-7),
        }
    }
    for missing in [Missing::Drop, Missing::Keep, Missing::Error] {
        let options = ReadOptions {
            missing,
            ..ReadOptions::default()
        };
        check(&text, &options, &Selection::default(), 65_536);
    }
    // A byte that is not UTF-8, far into a file: named by its line, after any earlier error.
    let mut bytes = big(300_000).into_bytes();
    let at = bytes.len() / 2;
    let at = at + bytes[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
    bytes.insert(at, 0xff);
    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, &bytes).unwrap();
    let e = table::read(&path).unwrap_err();
    assert!(
        matches!(e, ReadError::NotUtf8 { line: Some(l), .. } if l == line),
        "{e:?}"
    );
    let mut csv = CsvSource::open(&path).unwrap();
    let mut streamed = Ok(None);
    for _ in 0..1000 {
        streamed = csv.next_chunk(10_000);
        if !matches!(streamed, Ok(Some(_))) {
            break;
        }
    }
    let e = streamed.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}, line {line}: not UTF-8 text", path.display())
    );
    // A bad field on line 2 (line 1, "-5000,0", is the first record) comes before the bad byte.
    assert_eq!(&bytes[..9], b"-5000,0\n-");
    bytes.splice(9..10, *b"x");
    std::fs::write(&path, &bytes).unwrap();
    let e = table::read(&path).unwrap_err();
    assert!(matches!(e, ReadError::Record { line: 2, .. }), "{e:?}");
}

#[test]
fn missing_keep_reads_nan_in_memory_and_streamed() {
    let text = "a,b,c\n1,NA,3\n,nan,\"NaN\"\n4,5,6\n7,x,9\n";
    let keep = ReadOptions {
        missing: Missing::Keep,
        ..ReadOptions::default()
    };
    // Text is still an error, named by its line.
    let e = table::parse_with(text, "t.csv", &keep).unwrap_err();
    assert!(
        matches!(
            e,
            ReadError::Record {
                line: 5,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
    let text = &text[..text.len() - 6];
    let t = table::parse_with(text, "t.csv", &keep).unwrap();
    assert_eq!((t.x.nrows(), t.dropped), (3, 0));
    let nan: Vec<bool> =
        t.x.row_iter()
            .flat_map(|r| r.iter().map(|v| v.is_nan()).collect::<Vec<_>>())
            .collect();
    assert_eq!(
        nan,
        [false, true, false, true, true, true, false, false, false]
    );
    assert_eq!((t.x[(0, 0)], t.x[(2, 2)]), (1.0, 6.0));
    let mut csv = CsvSource::new_with(std::io::Cursor::new(text), "t.csv", &keep).unwrap();
    csv.rewind().unwrap();
    let first = csv.next_chunk(2).unwrap().unwrap();
    assert!(first[(0, 1)].is_nan() && first[(1, 0)].is_nan() && first[(0, 2)] == 3.0);
    assert_eq!(
        csv.next_chunk(2).unwrap().unwrap(),
        nalgebra::dmatrix![4.0, 5.0, 6.0]
    );
    assert_eq!(csv.dropped_rows(), 0);
    // Only the columns read count: a missing value elsewhere is not read at all.
    let sel = Selection {
        columns: Some(vec!["c".into()]),
        drop: vec![],
    };
    let t = table::parse_selected(text, "t.csv", &keep, &sel).unwrap();
    assert_eq!(
        t.x.column(0).iter().map(|v| v.is_nan()).collect::<Vec<_>>(),
        [false, true, false]
    );
}

#[test]
fn streamed_errors_and_dropped_rows_come_when_a_line_by_line_reader_reaches_them() {
    let mut text = String::from("a,b\n");
    for i in 0..10 {
        text += &format!("{i},{i}\n");
        if i == 4 {
            text += "NA,1\n";
        }
    }
    text += "1,x\n";
    let drop = ReadOptions {
        missing: Missing::Drop,
        ..ReadOptions::default()
    };
    let mut csv = CsvSource::new_with(std::io::Cursor::new(text.clone()), "t.csv", &drop).unwrap();
    csv.rewind().unwrap();
    assert_eq!(csv.next_chunk(5).unwrap().unwrap().nrows(), 5);
    // The row with NA comes after the fifth row: not reached yet.
    assert_eq!(csv.dropped_rows(), 0);
    assert_eq!(csv.next_chunk(5).unwrap().unwrap().nrows(), 5);
    assert_eq!(csv.dropped_rows(), 1);
    // The bad line comes after the tenth row: reached only by the next call.
    let e = csv.next_chunk(5).unwrap_err();
    assert!(matches!(e, EmError::Io { line: Some(13), .. }), "{e:?}");
}

#[test]
fn a_line_longer_than_a_block_is_read_whole() {
    let long = format!("{}1", "0".repeat(super::blocks::BLOCK + 100));
    let text = format!("x\n1\n{long}\n2\n");
    let t = table::parse(&text, "t.csv").unwrap();
    assert_eq!(t.x.as_slice(), [1.0, 1.0, 2.0]);
    assert_eq!(t.lines.line(2), 4);
    check(&text, &ReadOptions::default(), &Selection::default(), 2);
}
