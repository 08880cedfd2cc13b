//! Fitting a Gaussian mixture online: one pass over a file too large to read many times.
//!
//! [`GaussianMixtureBuilder::fit_online`] reads the first [`OnlineFitOptions::head`] rows,
//! fits the builder's mixture to them by batch EM (its initialisation, restarts and stopping
//! rule) to get a start, then runs online EM ([`em_core::online`]) over the whole source —
//! the head first, from memory, then the rest of the file — updating the parameters after
//! every mini-batch. With one pass (the default) every row is read once; only the head and
//! one or two mini-batches are in memory.
//!
//! The head is the *first* rows of the file: a file sorted by cluster gives a poor start (the
//! online updates then have to move components far, which they do slowly). Shuffle such a
//! file first, or start from a model of your own with [`em_core::Em::fit_online`].
//!
//! ```
//! use em_core::online::OnlineOptions;
//! use gmm::online::OnlineFitOptions;
//! use gmm::stream::CsvSource;
//! use gmm::GaussianMixture;
//! use rand::SeedableRng;
//!
//! let truth = GaussianMixture::new(
//!     nalgebra::dvector![0.4, 0.6],
//!     nalgebra::dmatrix![-3.0, 0.0; 3.0, 1.0],
//!     gmm::Covariances::Spherical(nalgebra::dvector![1.0, 0.5]),
//! )?;
//! let (x, _) = truth.sample(20_000, &mut rand::rngs::StdRng::seed_from_u64(1));
//! let mut csv_text = String::from("a,b\n");
//! for row in x.row_iter() {
//!     csv_text.push_str(&format!("{},{}\n", row[0], row[1]));
//! }
//! let mut source = CsvSource::new(std::io::Cursor::new(csv_text), "points.csv")?;
//! let options = OnlineFitOptions {
//!     head: 2_000,
//!     online: OnlineOptions { batch_size: 1_000, ..Default::default() },
//! };
//! let fit = GaussianMixture::builder(2).fit_online(&mut source, &options)?;
//! assert_eq!(fit.report.n_obs, 20_000);
//! assert_eq!(fit.report.updates, 20);
//! let means = fit.model.means();
//! let left = if means[(0, 0)] < 0.0 { 0 } else { 1 };
//! assert!((means[(left, 0)] + 3.0).abs() < 0.1);
//! # Ok::<(), em_core::EmError>(())
//! ```

use em_core::online::{OnlineOptions, OnlineReport};
use em_core::{ChunkSource, EmError, FitReport, Observer, Silent};
use nalgebra::DMatrix;

use crate::fit::GaussianMixtureBuilder;
use crate::gaussian::MissingValues;
use crate::mixture::GaussianMixture;
use crate::stream::check_rows;

/// Default number of rows at the head of the data that the start is fitted to.
pub const DEFAULT_HEAD: usize = 20_000;

/// Options of [`GaussianMixtureBuilder::fit_online`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnlineFitOptions {
    /// Rows at the head of the data that batch EM fits the start to (≥ 1; default
    /// [`DEFAULT_HEAD`]); they are held in memory.
    pub head: usize,
    /// The online updates: step sizes, mini-batch size, passes.
    pub online: OnlineOptions,
}

impl Default for OnlineFitOptions {
    fn default() -> Self {
        OnlineFitOptions {
            head: DEFAULT_HEAD,
            online: OnlineOptions::default(),
        }
    }
}

/// The result of an online fit.
#[derive(Debug, Clone)]
pub struct OnlineFitted {
    /// The mixture after the last update.
    pub model: GaussianMixture,
    /// The online updates.
    pub report: OnlineReport,
    /// The batch fit of the head that gave the start (its best restart).
    pub start: FitReport,
    /// Rows in the head.
    pub head_rows: usize,
}

impl GaussianMixtureBuilder {
    /// Fits the mixture online to the rows of `source` (see the [module docs](crate::online)).
    ///
    /// # Errors
    /// The options' errors; the source's; a non-finite value (or a NaN unless missing values
    /// are modelled) as [`EmError::NonFinite`] naming its row and column in the whole file;
    /// fewer head rows than components; the start's and the updates' errors.
    pub fn fit_online<S>(
        &self,
        source: &mut S,
        options: &OnlineFitOptions,
    ) -> Result<OnlineFitted, EmError>
    where
        S: ChunkSource<Chunk = DMatrix<f64>> + Send + ?Sized,
    {
        self.fit_online_observed(source, options, &mut Silent)
    }

    /// [`fit_online`](Self::fit_online) with an observer that sees every update (and may stop
    /// the fit).
    pub fn fit_online_observed<S>(
        &self,
        source: &mut S,
        options: &OnlineFitOptions,
        observer: &mut dyn Observer,
    ) -> Result<OnlineFitted, EmError>
    where
        S: ChunkSource<Chunk = DMatrix<f64>> + Send + ?Sized,
    {
        if options.head == 0 {
            return Err(EmError::InvalidParameter {
                name: "head",
                reason: "must be at least 1".into(),
            });
        }
        options.online.validate()?;
        self.em.validate()?;
        let missing = self.missing_values;
        let head = read_head(source, options.head, missing)?;
        let start = self.fit(&head)?;
        let mut model = start.model;
        let mut checked = Checked {
            inner: source,
            head: &head,
            served: 0,
            first_pass: None,
            next_row: 0,
            missing,
        };
        let report = self.em.clone().observer(observer).fit_online(
            &mut model,
            &mut checked,
            &options.online,
        )?;
        Ok(OnlineFitted {
            model,
            report,
            start: start.report,
            head_rows: head.nrows(),
        })
    }
}

/// Reads the first `size` rows of `source` (fewer if it has fewer), checking their values.
fn read_head<S>(
    source: &mut S,
    size: usize,
    missing: MissingValues,
) -> Result<DMatrix<f64>, EmError>
where
    S: ChunkSource<Chunk = DMatrix<f64>> + ?Sized,
{
    source.rewind()?;
    let mut parts: Vec<DMatrix<f64>> = Vec::new();
    let mut n = 0;
    while n < size {
        let Some(chunk) = source.next_chunk(size - n)? else {
            break;
        };
        if chunk.nrows() == 0 {
            continue;
        }
        if let Some(first) = parts.first()
            && first.ncols() != chunk.ncols()
        {
            return Err(EmError::DimensionMismatch {
                expected: first.ncols(),
                found: chunk.ncols(),
            });
        }
        check_rows(&chunk, n, missing)?;
        n += chunk.nrows();
        parts.push(chunk);
    }
    let Some(d) = parts.first().map(|p| p.ncols()) else {
        return Err(EmError::EmptyData);
    };
    let mut head = DMatrix::zeros(n, d);
    let mut row = 0;
    for part in parts {
        head.rows_mut(row, part.nrows()).copy_from(&part);
        row += part.nrows();
    }
    Ok(head)
}

/// The source as the online pass sees it: on the first pass the head from memory, then the
/// rest of the file where reading the head left it; on later passes the file from the start.
/// Every chunk's values are checked, with rows numbered in the whole file.
struct Checked<'a, S: ?Sized> {
    inner: &'a mut S,
    head: &'a DMatrix<f64>,
    /// Head rows served in the first pass.
    served: usize,
    /// `Some(true)` during the first pass, `Some(false)` after; `None` before any.
    first_pass: Option<bool>,
    /// The whole-file index of the next row.
    next_row: usize,
    missing: MissingValues,
}

impl<S: ChunkSource<Chunk = DMatrix<f64>> + ?Sized> ChunkSource for Checked<'_, S> {
    type Chunk = DMatrix<f64>;

    fn rewind(&mut self) -> Result<(), EmError> {
        self.next_row = 0;
        match self.first_pass {
            None => self.first_pass = Some(true),
            Some(_) => {
                self.first_pass = Some(false);
                self.inner.rewind()?;
            }
        }
        Ok(())
    }

    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        let max_obs = max_obs.max(1);
        let head_left = self.head.nrows() - self.served;
        let chunk = if self.first_pass == Some(true) && head_left > 0 {
            let take = max_obs.min(head_left);
            let rows = self.head.rows(self.served, take).into_owned();
            self.served += take;
            // The head's last piece is topped up from the file, so that the mini-batches are
            // those of reading the file straight through.
            match (take < max_obs).then(|| self.read(max_obs - take, take)) {
                Some(more) => match more? {
                    Some(more) => {
                        let mut both = DMatrix::zeros(take + more.nrows(), rows.ncols());
                        both.rows_mut(0, take).copy_from(&rows);
                        both.rows_mut(take, more.nrows()).copy_from(&more);
                        both
                    }
                    None => rows,
                },
                None => rows,
            }
        } else {
            match self.read(max_obs, 0)? {
                Some(chunk) => chunk,
                None => return Ok(None),
            }
        };
        self.next_row += chunk.nrows();
        Ok(Some(chunk))
    }
}

impl<S: ChunkSource<Chunk = DMatrix<f64>> + ?Sized> Checked<'_, S> {
    /// Up to `max_obs` rows from the file, checked; `offset` rows precede them in the chunk
    /// being built (for the row numbers of errors).
    fn read(&mut self, max_obs: usize, offset: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        let Some(chunk) = self.inner.next_chunk(max_obs)? else {
            return Ok(None);
        };
        if chunk.ncols() != self.head.ncols() {
            return Err(EmError::DimensionMismatch {
                expected: self.head.ncols(),
                found: chunk.ncols(),
            });
        }
        check_rows(&chunk, self.next_row + offset, self.missing)?;
        Ok(Some(chunk))
    }
}
