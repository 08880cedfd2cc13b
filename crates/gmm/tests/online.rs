//! `GaussianMixtureBuilder::fit_online`: one pass over a source reads every row once, ends
//! close to the batch fit, numbers bad values by their row in the whole file, and copes with
//! a file shorter than its head.

mod common;

use common::{Rows, truth};
use em_core::online::OnlineOptions;
use em_core::{ChunkSource, EmError, chunked_log_likelihood};
use gmm::GaussianMixture;
use gmm::online::OnlineFitOptions;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Counts rewinds and rows read.
struct Counting<S> {
    inner: S,
    rewinds: usize,
    rows: usize,
}

impl<S: ChunkSource<Chunk = DMatrix<f64>>> ChunkSource for Counting<S> {
    type Chunk = DMatrix<f64>;
    fn rewind(&mut self) -> Result<(), EmError> {
        self.rewinds += 1;
        self.inner.rewind()
    }
    fn next_chunk(&mut self, max: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        let c = self.inner.next_chunk(max)?;
        self.rows += c.as_ref().map_or(0, |c| c.nrows());
        Ok(c)
    }
}

fn options(head: usize, batch_size: usize) -> OnlineFitOptions {
    OnlineFitOptions {
        head,
        online: OnlineOptions {
            batch_size,
            ..Default::default()
        },
    }
}

#[test]
fn one_pass_reads_every_row_once_and_ends_close_to_the_batch_fit() {
    let (x, _) = truth().sample(100_000, &mut StdRng::seed_from_u64(3));
    let mut source = Counting {
        inner: Rows { x: &x, next: 0 },
        rewinds: 0,
        rows: 0,
    };
    let builder = GaussianMixture::builder(truth().n_components());
    let fit = builder
        .fit_online(&mut source, &options(2_000, 2_000))
        .unwrap();
    assert_eq!(source.rewinds, 1);
    assert_eq!(source.rows, 100_000);
    assert_eq!(fit.head_rows, 2_000);
    assert_eq!(fit.report.n_obs, 100_000);
    assert_eq!(fit.report.updates, 50);
    let batch = builder.fit(&x).unwrap().model;
    let mean_ll = |m: &GaussianMixture| chunked_log_likelihood(m, &x, 4096).unwrap() / 1e5;
    let gap = mean_ll(&batch) - mean_ll(&fit.model);
    assert!((-1e-9..1e-3).contains(&gap), "gap {gap}");
}

#[test]
fn bad_values_after_the_head_are_named_by_their_row_in_the_file() {
    let (mut x, _) = truth().sample(5_000, &mut StdRng::seed_from_u64(4));
    x[(3_217, 1)] = f64::INFINITY;
    let err = GaussianMixture::builder(2)
        .fit_online(&mut Rows { x: &x, next: 0 }, &options(1_000, 500))
        .unwrap_err();
    match err {
        EmError::NonFinite { row, column, .. } => assert_eq!((row, column), (3_217, 1)),
        other => panic!("{other:?}"),
    }
    // …and in the head too.
    x[(3_217, 1)] = 0.0;
    x[(17, 0)] = f64::NAN;
    match GaussianMixture::builder(2)
        .fit_online(&mut Rows { x: &x, next: 0 }, &options(1_000, 500))
        .unwrap_err()
    {
        EmError::NonFinite { row, column, .. } => assert_eq!((row, column), (17, 0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_file_shorter_than_the_head_is_fitted_from_memory() {
    let (x, _) = truth().sample(3_000, &mut StdRng::seed_from_u64(5));
    let fit = GaussianMixture::builder(2)
        .fit_online(&mut Rows { x: &x, next: 0 }, &options(10_000, 1_000))
        .unwrap();
    assert_eq!(fit.head_rows, 3_000);
    assert_eq!(fit.report.n_obs, 3_000);
    assert_eq!(fit.report.updates, 3);
}

#[test]
fn several_passes_rewind_the_file() {
    let (x, _) = truth().sample(4_000, &mut StdRng::seed_from_u64(6));
    let mut source = Counting {
        inner: Rows { x: &x, next: 0 },
        rewinds: 0,
        rows: 0,
    };
    let mut opts = options(1_000, 1_000);
    opts.online.passes = 3;
    let fit = GaussianMixture::builder(2)
        .fit_online(&mut source, &opts)
        .unwrap();
    assert_eq!(fit.report.updates, 12);
    assert_eq!(fit.report.passes, 3);
    // The head once, then the rest of pass 1 without a rewind, then two rewound passes.
    assert_eq!(source.rewinds, 3);
    assert_eq!(source.rows, 12_000);
}

#[test]
fn too_few_head_rows_and_a_zero_head_are_errors() {
    let (x, _) = truth().sample(100, &mut StdRng::seed_from_u64(7));
    let err = GaussianMixture::builder(2)
        .fit_online(&mut Rows { x: &x, next: 0 }, &options(0, 10))
        .unwrap_err();
    assert!(
        matches!(err, EmError::InvalidParameter { name: "head", .. }),
        "{err:?}"
    );
    let err = GaussianMixture::builder(5)
        .fit_online(&mut Rows { x: &x, next: 0 }, &options(3, 10))
        .unwrap_err();
    assert!(matches!(err, EmError::TooFewObservations { .. }), "{err:?}");
}
