//! The streaming driver: the same fit as in memory, bit for bit, from a source read again on
//! every iteration; and its errors.

mod common;

use common::{Mixture1d, two_clusters};
use em_core::stream::{BATCHES_PER_CHUNK, SliceSource};
use em_core::{ChunkSource, Control, Em, EmError, Iteration, StdRng, StopReason};

fn start() -> Mixture1d {
    Mixture1d::new(vec![0.5, 0.5], vec![-1.0, 1.0], vec![4.0, 4.0])
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// A source that hands out chunks of a fixed length of its own choosing (ignoring the
/// driver's request, as a badly behaved source may), counting rewinds.
struct FixedChunks<'a> {
    data: &'a [f64],
    len: usize,
    at: usize,
    rewinds: usize,
}

impl ChunkSource for FixedChunks<'_> {
    type Chunk = Vec<f64>;
    fn rewind(&mut self) -> Result<(), EmError> {
        self.at = 0;
        self.rewinds += 1;
        Ok(())
    }
    fn next_chunk(&mut self, _max: usize) -> Result<Option<Vec<f64>>, EmError> {
        if self.at >= self.data.len() {
            return Ok(None);
        }
        let end = (self.at + self.len).min(self.data.len());
        let chunk = self.data[self.at..end].to_vec();
        self.at = end;
        Ok(Some(chunk))
    }
}

#[test]
fn streaming_fit_equals_in_memory_fit_bit_for_bit() {
    // 5,003 points: not a multiple of the batch size, and several chunks of 16 batches.
    let data = two_clusters(5003);
    // Several chunks of 16 batches of 37, the last batch short.
    const { assert!(5003 > 37 * BATCHES_PER_CHUNK * 2 && !5003usize.is_multiple_of(37)) };
    for threads in [1, 3] {
        let em = Em::new()
            .tol(1e-9)
            .max_iter(300)
            .chunk_size(37)
            .threads(threads);
        let mut a = start();
        let ra = em.fit(&mut a, &data[..]).unwrap();
        let mut source = SliceSource::new(&data);
        let mut b = start();
        let rb = em.fit_stream(&mut b, &mut source).unwrap();
        assert!(ra.iterations > 5);
        assert_eq!(bits(&ra.trace), bits(&rb.trace));
        assert_eq!(ra.iterations, rb.iterations);
        assert_eq!(ra.stop_reason, rb.stop_reason);
        assert_eq!(ra.n_obs, rb.n_obs);
        assert_eq!(bits(&a.weights), bits(&b.weights));
        assert_eq!(bits(&a.means), bits(&b.means));
        assert_eq!(bits(&a.vars), bits(&b.vars));
        // One rewind per E-step: the source is read again on every iteration.
        assert_eq!(source.passes(), rb.e_steps);
        assert_eq!(rb.e_steps, rb.iterations + 1);
    }
}

#[test]
fn source_with_its_own_chunk_length_still_fits_the_same_model() {
    let data = two_clusters(3001);
    let em = Em::new().tol(1e-12).max_iter(2000).chunk_size(64);
    let mut a = start();
    em.fit(&mut a, &data[..]).unwrap();
    let mut source = FixedChunks {
        data: &data,
        len: 100,
        at: 0,
        rewinds: 0,
    };
    let mut b = start();
    let rb = em.fit_stream(&mut b, &mut source).unwrap();
    assert!(rb.converged);
    assert_eq!(source.rewinds, rb.e_steps);
    for k in 0..2 {
        assert!((a.means[k] - b.means[k]).abs() < 1e-6, "{a:?} vs {b:?}");
        assert!((a.weights[k] - b.weights[k]).abs() < 1e-6, "{a:?} vs {b:?}");
    }
}

#[test]
fn streaming_observer_sees_the_same_iterations_and_can_stop() {
    let data = two_clusters(1000);
    let em = Em::new().tol(0.0).max_iter(50).chunk_size(10);
    let mut seen_a = Vec::new();
    let mut a = start();
    let mut record_a = |it: &Iteration| {
        seen_a.push((it.iteration, it.objective.to_bits(), it.change.to_bits()));
        Control::Continue
    };
    em.clone()
        .observer(&mut record_a)
        .fit(&mut a, &data[..])
        .unwrap();
    let mut seen_b = Vec::new();
    let mut b = start();
    let mut record_b = |it: &Iteration| {
        seen_b.push((it.iteration, it.objective.to_bits(), it.change.to_bits()));
        if it.iteration == 7 {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let report = em
        .observer(&mut record_b)
        .fit_stream(&mut b, &mut SliceSource::new(&data))
        .unwrap();
    assert_eq!(report.stop_reason, StopReason::Observer);
    assert_eq!(report.iterations, 7);
    assert_eq!(seen_b[..], seen_a[..7]);
}

#[test]
fn streaming_restarts_equal_in_memory_restarts() {
    let data = two_clusters(777);
    let em = Em::new()
        .n_init(3)
        .seed(11)
        .tol(1e-8)
        .max_iter(200)
        .chunk_size(20);
    let init = |d: &[f64], rng: &mut StdRng| Mixture1d::random_start(d, 2, rng);
    let a = em.fit_restarts(&init, &data[..]).unwrap();
    let b = em
        .fit_stream_restarts(&init, &data[..], &mut SliceSource::new(&data))
        .unwrap();
    assert_eq!(a.best_restart, b.best_restart);
    assert_eq!(bits(&a.report.trace), bits(&b.report.trace));
    assert_eq!(bits(&a.model.means), bits(&b.model.means));
    assert_eq!(a.restarts.len(), b.restarts.len());
}

#[test]
fn empty_source_is_empty_data() {
    let data: Vec<f64> = Vec::new();
    let err = Em::new()
        .fit_stream(&mut start(), &mut SliceSource::new(&data))
        .unwrap_err();
    assert_eq!(err, EmError::EmptyData);
}

/// A source whose data grow by one observation on every pass.
struct Growing {
    data: Vec<f64>,
    inner_at: usize,
}

impl ChunkSource for Growing {
    type Chunk = Vec<f64>;
    fn rewind(&mut self) -> Result<(), EmError> {
        self.inner_at = 0;
        self.data.push(0.5);
        Ok(())
    }
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<f64>>, EmError> {
        let rest = &self.data[self.inner_at..];
        if rest.is_empty() {
            return Ok(None);
        }
        let take = max.min(rest.len());
        self.inner_at += take;
        Ok(Some(rest[..take].to_vec()))
    }
}

#[test]
fn source_that_changes_between_passes_is_an_error() {
    let mut source = Growing {
        data: two_clusters(100),
        inner_at: 0,
    };
    let err = Em::new().fit_stream(&mut start(), &mut source).unwrap_err();
    match err {
        EmError::Io { reason, .. } => {
            assert!(reason.contains("101") && reason.contains("102"), "{reason}")
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
}

/// A source that fails on its second chunk of the third pass.
struct Failing<'a> {
    inner: SliceSource<'a, f64>,
    chunks: usize,
}

impl ChunkSource for Failing<'_> {
    type Chunk = Vec<f64>;
    fn rewind(&mut self) -> Result<(), EmError> {
        self.inner.rewind()
    }
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<f64>>, EmError> {
        self.chunks += 1;
        if self.inner.passes() == 3 && self.chunks > 1 {
            return Err(EmError::NonFinite {
                row: 12,
                column: 0,
                value: f64::NAN,
            });
        }
        if self.inner.passes() != 3 {
            self.chunks = 0;
        }
        self.inner.next_chunk(max)
    }
}

#[test]
fn source_error_ends_the_fit_with_that_error() {
    let data = two_clusters(500);
    let mut source = Failing {
        inner: SliceSource::new(&data),
        chunks: 0,
    };
    let err = Em::new()
        .chunk_size(4)
        .tol(0.0)
        .fit_stream(&mut start(), &mut source)
        .unwrap_err();
    assert!(
        matches!(
            err,
            EmError::NonFinite {
                row: 12,
                column: 0,
                ..
            }
        ),
        "{err:?}"
    );
}
