//! Streaming fits from CSV and binary files: bit-for-bit the in-memory fit, errors that name
//! the row and column, and the source read again on every iteration.

use std::io::Write;
use std::path::{Path, PathBuf};

use em_core::{ChunkSource, EmError, Fitted};
use gmm::stream::{
    BinarySource, BinaryWriter, CsvSource, StreamOptions, csv_to_binary, is_binary_file,
};
use gmm::{CovarianceType, Covariances, GaussianMixture, GaussianMixtureBuilder, Init};
use nalgebra::{DMatrix, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Three well-separated clusters in `d` dimensions.
fn data(n: usize, d: usize, seed: u64) -> DMatrix<f64> {
    let means = DMatrix::from_fn(3, d, |k, j| [-2.5, 0.0, 3.0][k] + j as f64 * 0.5);
    let truth = GaussianMixture::new(
        dvector![0.2, 0.5, 0.3],
        means,
        Covariances::Spherical(dvector![1.0, 0.5, 2.0]),
    )
    .unwrap();
    truth.sample(n, &mut StdRng::seed_from_u64(seed)).0
}

fn write_csv(path: &Path, x: &DMatrix<f64>, header: bool) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    if header {
        let names: Vec<String> = (0..x.ncols()).map(|j| format!("f{j}")).collect();
        writeln!(f, "{}", names.join(",")).unwrap();
    }
    for i in 0..x.nrows() {
        // `{:?}` prints the shortest text that reads back to the same f64.
        let row: Vec<String> = (0..x.ncols()).map(|j| format!("{:?}", x[(i, j)])).collect();
        writeln!(f, "{}", row.join(",")).unwrap();
    }
}

fn write_binary(path: &Path, x: &DMatrix<f64>) {
    let mut w = BinaryWriter::create(path, x.ncols()).unwrap();
    w.write_rows(x).unwrap();
    w.finish().unwrap();
}

fn bits(v: impl IntoIterator<Item = f64>) -> Vec<u64> {
    v.into_iter().map(f64::to_bits).collect()
}

fn covariance_bits(c: &Covariances) -> Vec<u64> {
    match c {
        Covariances::Full(m) => bits(m.iter().flat_map(|m| m.iter().copied())),
        Covariances::Diag(m) => bits(m.iter().copied()),
        Covariances::Spherical(v) => bits(v.iter().copied()),
        Covariances::Tied(m) => bits(m.iter().copied()),
    }
}

fn assert_bit_identical(a: &Fitted<GaussianMixture>, b: &Fitted<GaussianMixture>) {
    assert_eq!(
        bits(a.model.weights().iter().copied()),
        bits(b.model.weights().iter().copied())
    );
    assert_eq!(
        bits(a.model.means().iter().copied()),
        bits(b.model.means().iter().copied())
    );
    assert_eq!(
        covariance_bits(a.model.covariances()),
        covariance_bits(b.model.covariances())
    );
    assert_eq!(
        bits(a.report.trace.iter().copied()),
        bits(b.report.trace.iter().copied())
    );
    assert_eq!(a.report.iterations, b.report.iterations);
    assert_eq!(a.report.stop_reason, b.report.stop_reason);
    assert_eq!(a.report.n_obs, b.report.n_obs);
    assert_eq!(a.best_restart, b.best_restart);
}

/// N = 10,007 rows (not a multiple of anything), batches of 97 rows, chunks of 16 batches:
/// seven chunks, the last one short.
const N: usize = 10_007;
const BATCH: usize = 97;

fn builder(kind: CovarianceType) -> GaussianMixtureBuilder {
    GaussianMixture::builder(3)
        .covariance_type(kind)
        .chunk_size(BATCH)
        .tol(1e-8)
        .max_iter(60)
        .n_init(2)
        .seed(5)
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn csv_stream_fit_equals_in_memory_fit_bit_for_bit_full_and_diag() {
    let x = data(N, 2, 1);
    const { assert!(N > BATCH * em_core::stream::BATCHES_PER_CHUNK * 2 && !N.is_multiple_of(BATCH)) };
    let d = dir();
    let path = d.path().join("x.csv");
    write_csv(&path, &x, true);
    for kind in [CovarianceType::Full, CovarianceType::Diag] {
        let b = builder(kind);
        let in_memory = b.fit(&x).unwrap();
        assert!(in_memory.report.iterations > 5, "{:?}", in_memory.report);
        let streamed = b.fit_stream(&mut CsvSource::open(&path).unwrap()).unwrap();
        assert_bit_identical(&in_memory, &streamed);
    }
}

#[test]
fn binary_stream_fit_equals_in_memory_fit_bit_for_bit_full_and_diag() {
    let x = data(N, 2, 2);
    let d = dir();
    let path = d.path().join("x.f64");
    write_binary(&path, &x);
    assert!(is_binary_file(&path));
    for kind in [CovarianceType::Full, CovarianceType::Diag] {
        for threads in [1, 2] {
            let b = builder(kind).threads(threads);
            let in_memory = b.fit(&x).unwrap();
            let streamed = b
                .fit_stream(&mut BinarySource::open(&path).unwrap())
                .unwrap();
            assert_bit_identical(&in_memory, &streamed);
        }
    }
}

#[test]
fn six_dimensional_full_and_tied_fits_are_bit_identical_too() {
    // D > 5 takes nalgebra's matrix-multiply path in the M-step.
    let x = data(3001, 6, 3);
    let d = dir();
    let path = d.path().join("x.f64");
    write_binary(&path, &x);
    for kind in [
        CovarianceType::Full,
        CovarianceType::Tied,
        CovarianceType::Spherical,
    ] {
        let b = builder(kind).chunk_size(40);
        let in_memory = b.fit(&x).unwrap();
        let streamed = b
            .fit_stream(&mut BinarySource::open(&path).unwrap())
            .unwrap();
        assert_bit_identical(&in_memory, &streamed);
    }
}

#[test]
fn accelerated_restarts_from_a_file_are_the_accelerated_in_memory_fit_bit_for_bit() {
    let x = data(N, 2, 8);
    let d = dir();
    let path = d.path().join("x.f64");
    write_binary(&path, &x);
    for kind in [CovarianceType::Full, CovarianceType::Diag] {
        let b = builder(kind).accelerate(gmm::Acceleration::Squarem);
        let in_memory = b.fit(&x).unwrap();
        let streamed = b
            .fit_stream(&mut BinarySource::open(&path).unwrap())
            .unwrap();
        assert_bit_identical(&in_memory, &streamed);
        assert_eq!(in_memory.report.e_steps, streamed.report.e_steps);
        // SQUAREM cycles ran: more M-steps than iterations.
        assert!(streamed.report.m_steps > streamed.report.iterations);
    }
}

#[test]
fn warm_start_is_bit_identical_even_when_the_file_exceeds_the_init_sample() {
    let x = data(N, 2, 4);
    let d = dir();
    let path = d.path().join("x.f64");
    write_binary(&path, &x);
    let start = GaussianMixture::builder(3)
        .max_iter(2)
        .fit(&x)
        .unwrap()
        .model;
    let b = builder(CovarianceType::Full).warm_start(start);
    let in_memory = b.fit(&x).unwrap();
    let options = StreamOptions { init_sample: 100 };
    let streamed = b
        .fit_stream_observed(
            &mut BinarySource::open(&path).unwrap(),
            &options,
            &mut em_core::Silent,
        )
        .unwrap();
    assert_bit_identical(&in_memory, &streamed);
}

#[test]
fn kmeans_on_a_reservoir_sample_reaches_the_in_memory_optimum() {
    let x = data(N, 2, 6);
    let d = dir();
    let path = d.path().join("x.f64");
    write_binary(&path, &x);
    let b = builder(CovarianceType::Full).tol(1e-10).max_iter(500);
    let in_memory = b.fit(&x).unwrap();
    let options = StreamOptions { init_sample: 500 };
    let streamed = b
        .fit_stream_observed(
            &mut BinarySource::open(&path).unwrap(),
            &options,
            &mut em_core::Silent,
        )
        .unwrap();
    assert!(streamed.report.converged);
    // Different starting points, same (well-separated) optimum.
    let (a, s) = (in_memory.report.objective(), streamed.report.objective());
    assert!((a - s).abs() < 1e-6 * a.abs(), "{a} vs {s}");
    assert_eq!(streamed.report.n_obs, N);
}

/// Wraps a source and counts its rewinds and rows per pass.
struct Counting<S> {
    inner: S,
    rewinds: usize,
    rows_this_pass: usize,
    rows_per_pass: Vec<usize>,
}

impl<S: ChunkSource<Chunk = DMatrix<f64>>> ChunkSource for Counting<S> {
    type Chunk = DMatrix<f64>;
    fn rewind(&mut self) -> Result<(), EmError> {
        if self.rewinds > 0 {
            self.rows_per_pass.push(self.rows_this_pass);
        }
        self.rewinds += 1;
        self.rows_this_pass = 0;
        self.inner.rewind()
    }
    fn next_chunk(&mut self, max: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        let c = self.inner.next_chunk(max)?;
        if let Some(c) = &c {
            assert!(c.nrows() <= max);
            self.rows_this_pass += c.nrows();
        }
        Ok(c)
    }
}

#[test]
fn every_iteration_rewinds_and_rereads_the_whole_file() {
    let x = data(2500, 2, 7);
    let d = dir();
    let path = d.path().join("x.csv");
    write_csv(&path, &x, false);
    let mut source = Counting {
        inner: CsvSource::open(&path).unwrap(),
        rewinds: 0,
        rows_this_pass: 0,
        rows_per_pass: vec![],
    };
    let fit = GaussianMixture::builder(3)
        .n_init(1)
        .chunk_size(64)
        .tol(0.0)
        .max_iter(9)
        .fit_stream(&mut source)
        .unwrap();
    assert_eq!(fit.report.iterations, 9);
    // One sampling pass, then one pass per E-step.
    assert_eq!(source.rewinds, 1 + fit.report.e_steps);
    source.rows_per_pass.push(source.rows_this_pass);
    assert!(
        source.rows_per_pass.iter().all(|&r| r == 2500),
        "{:?}",
        source.rows_per_pass
    );
}

#[test]
fn csv_value_that_is_not_a_number_names_line_and_column() {
    let d = dir();
    let path = d.path().join("bad.csv");
    let mut text = String::from("a,b\n");
    for i in 0..300 {
        text.push_str(&format!("{i},{}\n", i * 2));
    }
    text.push_str("\n7,oops\n");
    std::fs::write(&path, text).unwrap();
    let err = GaussianMixture::builder(2)
        .chunk_size(16)
        .fit_stream(&mut CsvSource::open(&path).unwrap())
        .unwrap_err();
    // Header on line 1, 300 rows on lines 2..=301, a blank line, the bad one on line 303.
    match &err {
        EmError::Io {
            line,
            column,
            reason,
            ..
        } => {
            assert_eq!((*line, *column), (Some(303), Some(2)), "{err}");
            assert!(reason.contains("\"oops\" is not a number"), "{reason}");
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
    assert!(
        err.to_string().contains("bad.csv, line 303, column 2"),
        "{err}"
    );
}

#[test]
fn csv_infinity_is_a_non_finite_error_with_the_global_row_and_nan_a_missing_value() {
    let d = dir();
    let path = d.path().join("nan.csv");
    let fit = |bad: &str| {
        let mut text = String::new();
        for i in 0..1000 {
            if i == 777 {
                text.push_str(&format!("1.0,{bad}\n"));
            } else {
                text.push_str(&format!("{i},1\n"));
            }
        }
        std::fs::write(&path, text).unwrap();
        GaussianMixture::builder(2)
            .chunk_size(10)
            .fit_stream(&mut CsvSource::open(&path).unwrap())
            .unwrap_err()
    };
    let err = fit("inf");
    assert!(
        matches!(err, EmError::NonFinite { row: 777, column: 1, value } if value == f64::INFINITY),
        "{err:?}"
    );
    let err = fit("NaN");
    assert!(
        matches!(&err, EmError::Io { line: Some(778), column: Some(2), reason, .. }
            if reason.starts_with("missing value \"NaN\"")),
        "{err:?}"
    );
}

#[test]
fn binary_infinity_is_a_non_finite_error_with_the_global_row() {
    let d = dir();
    let path = d.path().join("inf.f64");
    let x = data(500, 3, 8);
    write_binary(&path, &x);
    // Overwrite row 321, column 2 with -inf behind the writer's back.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = 16 + (321 * 3 + 2) * 8;
    bytes[at..at + 8].copy_from_slice(&f64::NEG_INFINITY.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    let err = GaussianMixture::builder(2)
        .chunk_size(8)
        .fit_stream(&mut BinarySource::open(&path).unwrap())
        .unwrap_err();
    assert_eq!(
        err,
        EmError::NonFinite {
            row: 321,
            column: 2,
            value: f64::NEG_INFINITY
        }
    );
}

#[test]
fn empty_and_header_only_files_are_errors() {
    let d = dir();
    let empty = d.path().join("empty.csv");
    std::fs::write(&empty, "\n  \n").unwrap();
    let err = CsvSource::open(&empty).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");

    let header = d.path().join("header.csv");
    std::fs::write(&header, "a,b\n").unwrap();
    let err = GaussianMixture::builder(1)
        .fit_stream(&mut CsvSource::open(&header).unwrap())
        .unwrap_err();
    assert_eq!(err, EmError::EmptyData);

    let bin = d.path().join("empty.f64");
    std::fs::write(&bin, b"").unwrap();
    assert!(BinarySource::open(&bin).is_err());
    let header_only = d.path().join("header.f64");
    BinaryWriter::create(&header_only, 2)
        .unwrap()
        .finish()
        .unwrap();
    let err = GaussianMixture::builder(1)
        .fit_stream(&mut BinarySource::open(&header_only).unwrap())
        .unwrap_err();
    assert_eq!(err, EmError::EmptyData);
}

#[test]
fn malformed_binary_files_are_rejected_at_open() {
    let d = dir();
    let path = d.path().join("x.f64");
    write_binary(&path, &dmatrix![1.0, 2.0; 3.0, 4.0]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.pop();
    std::fs::write(&path, &bytes).unwrap();
    let err = BinarySource::open(&path).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    std::fs::write(&path, b"not a table at all, just text").unwrap();
    let err = BinarySource::open(&path).unwrap_err();
    assert!(err.to_string().contains("EMF64LE1"), "{err}");
    assert!(!is_binary_file(&path));
}

#[test]
fn too_few_rows_and_ragged_rows_are_errors() {
    let d = dir();
    let path = d.path().join("few.csv");
    std::fs::write(&path, "1,2\n3,4\n").unwrap();
    let err = GaussianMixture::builder(3)
        .fit_stream(&mut CsvSource::open(&path).unwrap())
        .unwrap_err();
    assert_eq!(
        err,
        EmError::TooFewObservations {
            n_obs: 2,
            n_components: 3
        }
    );
    std::fs::write(&path, "1,2\n3,4\n5\n").unwrap();
    let err = GaussianMixture::builder(1)
        .fit_stream(&mut CsvSource::open(&path).unwrap())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("line 3, column 2: ragged row with 1 field, expected 2 as on line 1"),
        "{err}"
    );
}

#[test]
fn csv_converts_to_the_same_binary_data() {
    let x = data(1234, 2, 9);
    let d = dir();
    let (csv, bin): (PathBuf, PathBuf) = (d.path().join("x.csv"), d.path().join("x.f64"));
    write_csv(&csv, &x, true);
    assert_eq!(csv_to_binary(&csv, &bin).unwrap(), 1234);
    let mut src = BinarySource::open(&bin).unwrap();
    src.rewind().unwrap();
    let back = src.next_chunk(usize::MAX).unwrap().unwrap();
    assert_eq!(bits(back.iter().copied()), bits(x.iter().copied()));
    assert_eq!(src.next_chunk(10).unwrap(), None);
}

#[test]
fn binary_writer_refuses_infinities_and_wrong_widths() {
    let mut w = BinaryWriter::new(std::io::Cursor::new(Vec::new()), 2, "mem").unwrap();
    w.write_row(&[1.0, 2.0]).unwrap();
    assert!(matches!(
        w.write_row(&[f64::INFINITY, 2.0]),
        Err(EmError::NonFinite {
            row: 1,
            column: 0,
            ..
        })
    ));
    // A NaN is a missing value, written as it is.
    w.write_row(&[f64::NAN, 2.0]).unwrap();
    assert!(matches!(
        w.write_row(&[1.0]),
        Err(EmError::DimensionMismatch {
            expected: 2,
            found: 1
        })
    ));
}

#[test]
fn dimension_of_warm_start_must_match_the_file() {
    let d = dir();
    let path = d.path().join("x.f64");
    write_binary(&path, &data(100, 3, 10));
    let start = GaussianMixture::builder(3)
        .fit(&data(100, 2, 10))
        .unwrap()
        .model;
    let err = GaussianMixture::builder(3)
        .warm_start(start)
        .fit_stream(&mut BinarySource::open(&path).unwrap())
        .unwrap_err();
    assert!(
        matches!(err, EmError::InvalidParameter { name: "init", .. }),
        "{err:?}"
    );
}

#[test]
fn init_kinds_other_than_kmeans_also_match_in_memory_on_short_files() {
    let x = data(900, 2, 11);
    let d = dir();
    let path = d.path().join("x.f64");
    write_binary(&path, &x);
    for init in [
        Init::KMeansPlusPlus,
        Init::RandomFromData,
        Init::RandomResponsibilities,
    ] {
        let b = builder(CovarianceType::Diag).init(init).chunk_size(50);
        let in_memory = b.fit(&x).unwrap();
        let streamed = b
            .fit_stream(&mut BinarySource::open(&path).unwrap())
            .unwrap();
        assert_bit_identical(&in_memory, &streamed);
    }
}
