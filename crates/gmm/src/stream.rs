//! Fitting a Gaussian mixture to data that do not fit in memory: the file is read again, chunk
//! by chunk, on every EM iteration.
//!
//! A Gaussian's E-step only produces sufficient statistics (N_k, means, scatter), which merge
//! across chunks, so memory stays O(chunk) whatever the number of rows — at the cost of one
//! pass over the file per iteration. The sources re-exported here from `em-io` read numeric
//! [CSV](CsvSource) and a simple [binary format](binary) (little-endian `f64` rows after a
//! 16-byte header; several times faster to read than CSV, see [`csv_to_binary`]); any other
//! [`ChunkSource`] of `DMatrix<f64>` chunks works too.
//!
//! # What gives the same result as the in-memory fit
//!
//! [`GaussianMixtureBuilder::fit_stream`] runs the em-core streaming driver
//! ([`em_core::stream`]), which splits every chunk into the in-memory fit's E-step batches
//! and merges them in the same order. So, for the same builder:
//!
//! - with [`Init::Given`] (a warm start), the streaming fit **is** the in-memory fit
//!   ([`GaussianMixtureBuilder::fit`]) bit for bit — weights, means, covariances, trace and
//!   iterations — for any number of rows;
//! - with a data-driven initialisation (k-means, k-means++, random), the initialiser runs on
//!   a uniform *reservoir sample* of [`StreamOptions::init_sample`] rows drawn in one extra pass
//!   (as does [`PriorChoice::MclustDefault`](crate::PriorChoice::MclustDefault), whose prior
//!   is computed from the sample). When the file has at most that many rows, the sample is the
//!   whole data in order, and the fit is again the in-memory fit bit for bit; with more rows,
//!   the starting point is that of the sample (usually close), and EM then runs on all rows.
//!
//! Each restart (`n_init`) is a full streamed fit. Sample weights are not supported.
//!
//! ```
//! use gmm::stream::{BinarySource, BinaryWriter};
//! use gmm::{CovarianceType, GaussianMixture};
//! use rand::SeedableRng;
//!
//! let truth = GaussianMixture::new(
//!     nalgebra::dvector![0.4, 0.6],
//!     nalgebra::dmatrix![-3.0, 0.0; 3.0, 1.0],
//!     gmm::Covariances::Spherical(nalgebra::dvector![1.0, 0.5]),
//! )?;
//! let (x, _) = truth.sample(5000, &mut rand::rngs::StdRng::seed_from_u64(1));
//!
//! // Write the data to a binary file, then fit from the file without loading it.
//! let dir = std::env::temp_dir().join(format!("gmm-stream-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).map_err(|e| em_core::EmError::Io {
//!     origin: dir.display().to_string(), line: None, column: None, reason: e.to_string() })?;
//! let path = dir.join("x.f64");
//! let mut w = BinaryWriter::create(&path, 2)?;
//! w.write_rows(&x)?;
//! w.finish()?;
//!
//! let builder = GaussianMixture::builder(2).covariance_type(CovarianceType::Diag).chunk_size(500);
//! let streamed = builder.fit_stream(&mut BinarySource::open(&path)?)?;
//! let in_memory = builder.fit(&x)?;
//! assert_eq!(streamed.model, in_memory.model); // bit for bit (5000 rows ≤ the init sample)
//! assert_eq!(streamed.report.trace, in_memory.report.trace);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), em_core::EmError>(())
//! ```

// The readers live in `em-io`; these re-exports keep `gmm::stream::{CsvSource, …}` and
// `gmm::stream::{csv, binary}::…` working.
pub use em_io::{binary, csv};

use em_core::stream::BATCHES_PER_CHUNK;
use em_core::{ChunkSource, EmError, Fitted, Observer, Silent, StdRng, restart_seed};
use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};

pub use em_io::binary::{BinarySource, BinaryWriter, csv_to_binary, is_binary_file};
pub use em_io::csv::CsvSource;

use crate::fit::{GaussianMixtureBuilder, mean_filled, start_data};
use crate::gaussian::{
    MissingValues, check_data_with_missing, check_observed_columns, has_missing,
};
use crate::init::{Init, Starter};
use crate::kmeans::CheckedData;
use crate::mixture::GaussianMixture;

/// Default size of the reservoir sample that initialises a streamed fit.
pub const DEFAULT_INIT_SAMPLE: usize = 100_000;

/// Options of a streamed fit beyond the builder's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// Rows of the uniform reservoir sample that data-driven initialisations (and the
    /// data-dependent default prior) see (default [`DEFAULT_INIT_SAMPLE`], ≥ 1). The sample is
    /// held in memory; a file of at most this many rows is sampled whole, in order.
    pub init_sample: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            init_sample: DEFAULT_INIT_SAMPLE,
        }
    }
}

/// What the sampling pass learnt about the data.
struct Sampled {
    sample: DMatrix<f64>,
    n_rows: usize,
}

impl GaussianMixtureBuilder {
    /// Fits the mixture to the rows of `source`, read in chunks on every iteration (see the
    /// [module docs](crate::stream) for when this equals [`fit`](Self::fit) bit for bit).
    ///
    /// One pass draws the initialisation sample, counts the rows and validates every value;
    /// then every EM iteration is one pass. Errors name the row and column of a bad value.
    ///
    /// ```
    /// use gmm::stream::CsvSource;
    /// use gmm::GaussianMixture;
    /// let text = "x,y\n0,0\n0.1,0.2\n0.2,0.1\n5,5\n5.1,5.2\n5.2,5.1\n";
    /// let mut csv = CsvSource::new(std::io::Cursor::new(text), "points.csv")?;
    /// let fit = GaussianMixture::builder(2).fit_stream(&mut csv)?;
    /// let means = fit.model.means();
    /// assert!((means[(0, 0)] - means[(1, 0)]).abs() > 4.0);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn fit_stream<S>(&self, source: &mut S) -> Result<Fitted<GaussianMixture>, EmError>
    where
        S: ChunkSource<Chunk = DMatrix<f64>> + Send + ?Sized,
    {
        self.fit_stream_observed(source, &StreamOptions::default(), &mut Silent)
    }

    /// [`fit_stream`](Self::fit_stream) with options and an observer that sees every
    /// iteration.
    pub fn fit_stream_observed<S>(
        &self,
        source: &mut S,
        options: &StreamOptions,
        observer: &mut dyn Observer,
    ) -> Result<Fitted<GaussianMixture>, EmError>
    where
        S: ChunkSource<Chunk = DMatrix<f64>> + Send + ?Sized,
    {
        let k = self.n_components;
        if k == 0 {
            return Err(EmError::InvalidParameter {
                name: "n_components",
                reason: "must be at least 1".into(),
            });
        }
        if options.init_sample == 0 {
            return Err(EmError::InvalidParameter {
                name: "init_sample",
                reason: "must be at least 1".into(),
            });
        }
        crate::gaussian::check_reg_covar(self.reg_covar)?;
        self.em.validate()?;
        let missing = self.missing_values;
        let Sampled { sample, n_rows } = self.sample_pass(source, options.init_sample, missing)?;
        if n_rows < k {
            return Err(EmError::TooFewObservations {
                n_obs: n_rows,
                n_components: k,
            });
        }
        // With missing values modelled, the start comes from the sample's complete rows or
        // a single imputation of it, as in memory.
        let start = if missing == MissingValues::Model && has_missing(&sample) {
            check_data_with_missing(&sample, None)?;
            check_observed_columns(&sample)?;
            Some(match &self.init {
                Init::Given(_) => mean_filled(&sample),
                _ => start_data(&sample, None, k, self.em.options().seed)?.0,
            })
        } else {
            None
        };
        let start_sample = start.as_ref().unwrap_or(&sample);
        let prior = self.resolve_prior(start_sample)?;
        let ctx = self.init_context(prior.as_ref(), None);
        // The sample's values were checked in the sample pass; this one scan of the (bounded)
        // sample makes the proof every restart's start takes.
        let checked = CheckedData::new(start_sample, None)?;
        self.init.validate()?;
        let init = Starter {
            init: &self.init,
            data: checked,
            ctx: &ctx,
            wrap: |model: GaussianMixture| Ok(model.with_missing_values(missing)),
        };
        self.restart_driver()
            .observer(observer)
            .fit_stream_restarts(&init, &sample, source)
    }

    /// One pass: count the rows, check shapes and values, and draw a uniform reservoir sample
    /// of at most `size` rows (Algorithm R; the first `size` rows fill it in order, so a short
    /// file is sampled whole and in order).
    fn sample_pass<S>(
        &self,
        source: &mut S,
        size: usize,
        missing: MissingValues,
    ) -> Result<Sampled, EmError>
    where
        S: ChunkSource<Chunk = DMatrix<f64>> + ?Sized,
    {
        let mut rng = StdRng::seed_from_u64(restart_seed(self.em.options().seed, usize::MAX));
        let read = self
            .em
            .options()
            .chunk_size
            .saturating_mul(BATCHES_PER_CHUNK);
        source.rewind()?;
        let mut d: Option<usize> = None;
        let mut rows: Vec<f64> = Vec::new(); // row-major reservoir
        let mut n = 0usize;
        while let Some(chunk) = source.next_chunk(read)? {
            let (c, cols) = chunk.shape();
            match d {
                None if cols == 0 => {
                    return Err(EmError::InvalidParameter {
                        name: "data",
                        reason: "the data have no columns".into(),
                    });
                }
                None => d = Some(cols),
                Some(expected) if expected != cols => {
                    return Err(EmError::DimensionMismatch {
                        expected,
                        found: cols,
                    });
                }
                Some(_) => {}
            }
            check_rows(&chunk, n, missing)?;
            for i in 0..c {
                let global = n + i;
                let slot = if global < size {
                    Some(global)
                } else {
                    let r = rng.random_range(0..=global);
                    (r < size).then_some(r)
                };
                match slot {
                    Some(s) if s == rows.len() / cols => {
                        rows.extend((0..cols).map(|j| chunk[(i, j)]));
                    }
                    Some(s) => {
                        for j in 0..cols {
                            rows[s * cols + j] = chunk[(i, j)];
                        }
                    }
                    None => {}
                }
            }
            n += c;
        }
        let Some(d) = d.filter(|_| n > 0) else {
            return Err(EmError::EmptyData);
        };
        Ok(Sampled {
            sample: DMatrix::from_row_slice(rows.len() / d, d, &rows),
            n_rows: n,
        })
    }
}

/// Checks the values of the rows of `chunk`, whose first is row `first_row` of the data:
/// finite, or NaN for a missing value when missing values are modelled, and at least one
/// observed value per row. Errors name the row (and column) within the whole data.
pub(crate) fn check_rows(
    chunk: &DMatrix<f64>,
    first_row: usize,
    missing: MissingValues,
) -> Result<(), EmError> {
    for i in 0..chunk.nrows() {
        let row = first_row + i;
        let mut observed = 0;
        for j in 0..chunk.ncols() {
            let value = chunk[(i, j)];
            if value.is_nan() && missing == MissingValues::Model {
                continue;
            }
            if !value.is_finite() {
                return Err(EmError::NonFinite {
                    row,
                    column: j,
                    value,
                });
            }
            observed += 1;
        }
        if observed == 0 {
            return Err(EmError::InvalidInput {
                row,
                column: None,
                reason: "every value of the row is missing; drop the row".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source of matrix chunks over an in-memory matrix.
    struct Rows<'a>(&'a DMatrix<f64>, usize);
    impl ChunkSource for Rows<'_> {
        type Chunk = DMatrix<f64>;
        fn rewind(&mut self) -> Result<(), EmError> {
            self.1 = 0;
            Ok(())
        }
        fn next_chunk(&mut self, max: usize) -> Result<Option<DMatrix<f64>>, EmError> {
            let n = max.min(self.0.nrows() - self.1);
            if n == 0 {
                return Ok(None);
            }
            let c = self.0.rows(self.1, n).into_owned();
            self.1 += n;
            Ok(Some(c))
        }
    }

    #[test]
    fn reservoir_holds_a_short_source_whole_and_in_order() {
        let x = DMatrix::from_fn(50, 3, |i, j| (i * 3 + j) as f64);
        let b = GaussianMixture::builder(2).chunk_size(7);
        let s = b
            .sample_pass(&mut Rows(&x, 0), 50, MissingValues::Error)
            .unwrap();
        assert_eq!(s.n_rows, 50);
        assert_eq!(s.sample, x);
    }

    #[test]
    fn reservoir_of_a_long_source_has_the_asked_size_and_only_data_rows() {
        let x = DMatrix::from_fn(1000, 2, |i, j| (i * 2 + j) as f64);
        let b = GaussianMixture::builder(2).chunk_size(16);
        let s = b
            .sample_pass(&mut Rows(&x, 0), 100, MissingValues::Error)
            .unwrap();
        assert_eq!(s.n_rows, 1000);
        assert_eq!(s.sample.shape(), (100, 2));
        for r in 0..100 {
            let v = s.sample[(r, 0)];
            assert_eq!(s.sample[(r, 1)], v + 1.0, "rows stay whole");
            assert_eq!(v as usize % 2, 0);
        }
        // Later rows are represented: a uniform sample of 100 out of 1000 has rows past 500.
        assert!((0..100).any(|r| s.sample[(r, 0)] > 1000.0));
    }
}
