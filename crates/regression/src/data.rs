//! The data of a regression mixture: an N×P design matrix X and the response y, validated
//! once ([`RegressionData`]).

use std::sync::{Arc, OnceLock};

use em_core::{Dataset, EmError};
use nalgebra::DMatrix;
use statrs::function::gamma::ln_gamma;

/// A design matrix X (N×P, one observation per row) and a response y (length N), checked
/// once when built: every value finite, at least one row and one predictor.
///
/// The caller supplies the intercept column ([`RegressionData::new`]), or lets
/// [`RegressionData::with_intercept`] prepend a column of ones, or builds both from one table
/// ([`RegressionData::from_table`], the command line's entry). Errors name the row and the
/// column **of the table the caller gave**: for [`new`](RegressionData::new) the columns of X
/// are 0 … P − 1 and y is column P; for [`with_intercept`](RegressionData::with_intercept)
/// the columns of the X given (without the intercept) and y is column X.ncols();
/// for [`from_table`](RegressionData::from_table) the table's own columns.
///
/// Cloning is cheap (the values are shared), which is what lets the statistics of the
/// Poisson family refer to the rows they came from.
///
/// ```
/// use em_regression::RegressionData;
/// use nalgebra::DMatrix;
///
/// let x = DMatrix::from_column_slice(4, 1, &[0.0, 1.0, 2.0, 3.0]);
/// let data = RegressionData::with_intercept(&x, vec![1.0, 3.0, 5.0, 7.0])?;
/// assert_eq!((data.n_obs(), data.n_predictors()), (4, 2));
/// assert_eq!(data.x()[(2, 0)], 1.0); // the intercept column
///
/// let bad = RegressionData::with_intercept(&x, vec![1.0, f64::NAN, 5.0, 7.0]);
/// assert_eq!(bad.unwrap_err().to_string(), "non-finite value NaN at row 1, column 1");
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RegressionData {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    x: DMatrix<f64>,
    y: Vec<f64>,
    /// The caller's column of each design column (`None`: an added intercept).
    columns: Vec<Option<usize>>,
    /// The caller's column of the response.
    response_column: usize,
    /// log y! for every row, computed on first use (Poisson responses).
    ln_y_factorial: OnceLock<Vec<f64>>,
}

impl PartialEq for RegressionData {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || (self.inner.x == other.inner.x && self.inner.y == other.inner.y)
    }
}

impl RegressionData {
    /// Data from a design matrix X (N×P, the intercept column included if wanted) and a
    /// response y (length N). Errors name X's columns 0 … P − 1, and column P for y.
    ///
    /// # Errors
    /// [`EmError::EmptyData`] for N = 0; [`EmError::InvalidParameter`] (`x`) for P = 0,
    /// (`y`) when y's length is not N; [`EmError::NonFinite`] for the first NaN or ±∞ (by
    /// row, then column).
    ///
    /// ```
    /// use em_regression::RegressionData;
    /// use nalgebra::dmatrix;
    /// let data = RegressionData::new(dmatrix![1.0, 0.5; 1.0, 1.5], vec![2.0, 4.0])?;
    /// assert_eq!(data.y(), &[2.0, 4.0]);
    /// assert!(RegressionData::new(dmatrix![1.0, 0.5; 1.0, f64::INFINITY], vec![2.0, 4.0]).is_err());
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn new(x: DMatrix<f64>, y: Vec<f64>) -> Result<Self, EmError> {
        let p = x.ncols();
        let columns = (0..p).map(Some).collect();
        Self::build(x, y, columns, p)
    }

    /// Data from predictors X (N×D) and y, with a column of ones prepended to X as the
    /// intercept (P = D + 1; D may be 0 for an intercept-only model). Errors name the columns
    /// of the X given, and column D for y.
    ///
    /// # Errors
    /// As [`RegressionData::new`].
    ///
    /// ```
    /// use em_regression::RegressionData;
    /// use nalgebra::DMatrix;
    /// let data = RegressionData::with_intercept(&DMatrix::zeros(3, 0), vec![1.0, 2.0, 3.0])?;
    /// assert_eq!(data.n_predictors(), 1);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn with_intercept(x: &DMatrix<f64>, y: Vec<f64>) -> Result<Self, EmError> {
        let d = x.ncols();
        let n = x.nrows();
        let design = DMatrix::from_fn(n, d + 1, |i, j| if j == 0 { 1.0 } else { x[(i, j - 1)] });
        let columns = std::iter::once(None).chain((0..d).map(Some)).collect();
        Self::build(design, y, columns, d)
    }

    /// Data from one table (N rows × D columns, as read from a CSV file): column `response`
    /// is y, every other column, in order, is a predictor, and with `intercept` a column of
    /// ones comes first. Errors name the table's own rows and columns.
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] (`response`) when `response ≥ D`; otherwise as
    /// [`RegressionData::new`].
    ///
    /// ```
    /// use em_regression::RegressionData;
    /// use nalgebra::dmatrix;
    /// // Columns: x, y, z; the response is column 1.
    /// let table = dmatrix![0.0, 1.0, 5.0; 1.0, 3.0, 6.0; 2.0, 5.0, 7.5];
    /// let data = RegressionData::from_table(&table, 1, true)?;
    /// assert_eq!(data.y(), &[1.0, 3.0, 5.0]);
    /// assert_eq!(data.predictor_columns(), &[None, Some(0), Some(2)]);
    ///
    /// let bad = dmatrix![0.0, 1.0, 5.0; 1.0, 3.0, f64::NAN];
    /// let err = RegressionData::from_table(&bad, 1, true).unwrap_err();
    /// assert_eq!(err.to_string(), "non-finite value NaN at row 1, column 2");
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn from_table(
        table: &DMatrix<f64>,
        response: usize,
        intercept: bool,
    ) -> Result<Self, EmError> {
        let d = table.ncols();
        if response >= d {
            return Err(EmError::InvalidParameter {
                name: "response",
                reason: format!("column {response} does not exist: the table has {d} columns"),
            });
        }
        let mut columns: Vec<Option<usize>> = Vec::with_capacity(d);
        if intercept {
            columns.push(None);
        }
        columns.extend((0..d).filter(|&j| j != response).map(Some));
        let n = table.nrows();
        let design = DMatrix::from_fn(n, columns.len(), |i, j| match columns[j] {
            Some(c) => table[(i, c)],
            None => 1.0,
        });
        let y = table.column(response).iter().copied().collect();
        Self::build(design, y, columns, response)
    }

    fn build(
        x: DMatrix<f64>,
        y: Vec<f64>,
        columns: Vec<Option<usize>>,
        response_column: usize,
    ) -> Result<Self, EmError> {
        let n = x.nrows();
        if n == 0 && y.is_empty() {
            return Err(EmError::EmptyData);
        }
        if y.len() != n {
            return Err(EmError::InvalidParameter {
                name: "y",
                reason: format!(
                    "the response has {} values but the design matrix has {n} rows",
                    y.len()
                ),
            });
        }
        if x.ncols() == 0 {
            return Err(EmError::InvalidParameter {
                name: "x",
                reason: "the design matrix has no columns: add an intercept or a predictor".into(),
            });
        }
        // Row by row, in the caller's column order, so that the first bad value reported is
        // the first one a reader of the table meets.
        let mut order: Vec<(usize, usize)> = columns
            .iter()
            .enumerate()
            .filter_map(|(j, c)| c.map(|c| (c, j)))
            .collect();
        order.sort_unstable();
        for i in 0..n {
            let mut y_checked = false;
            for &(c, j) in &order {
                if !y_checked && response_column < c {
                    check_value(y[i], i, response_column)?;
                    y_checked = true;
                }
                check_value(x[(i, j)], i, c)?;
            }
            if !y_checked {
                check_value(y[i], i, response_column)?;
            }
        }
        Ok(RegressionData {
            inner: Arc::new(Inner {
                x,
                y,
                columns,
                response_column,
                ln_y_factorial: OnceLock::new(),
            }),
        })
    }

    /// Draws at the design row (1, 0, …, 0): what the family layer's `draw` produces (the
    /// values are finite by construction; no rows is allowed here).
    pub(crate) fn first_unit_rows(n_predictors: usize, y: Vec<f64>) -> Self {
        let n = y.len();
        let p = n_predictors.max(1);
        RegressionData {
            inner: Arc::new(Inner {
                x: DMatrix::from_fn(n, p, |_, j| if j == 0 { 1.0 } else { 0.0 }),
                y,
                columns: (0..p).map(Some).collect(),
                response_column: p,
                ln_y_factorial: OnceLock::new(),
            }),
        }
    }

    /// Data from a design and responses known to be finite (drawn by a model).
    pub(crate) fn trusted(x: DMatrix<f64>, y: Vec<f64>) -> Self {
        let p = x.ncols();
        RegressionData {
            inner: Arc::new(Inner {
                x,
                y,
                columns: (0..p).map(Some).collect(),
                response_column: p,
                ln_y_factorial: OnceLock::new(),
            }),
        }
    }

    /// Number of observations N.
    pub fn n_obs(&self) -> usize {
        self.inner.y.len()
    }

    /// Number of design columns P (the intercept included).
    pub fn n_predictors(&self) -> usize {
        self.inner.x.ncols()
    }

    /// The design matrix X (N×P).
    pub fn x(&self) -> &DMatrix<f64> {
        &self.inner.x
    }

    /// The response y (length N).
    pub fn y(&self) -> &[f64] {
        &self.inner.y
    }

    /// For every design column, the caller's column it came from (`None` for an intercept
    /// added by [`with_intercept`](Self::with_intercept) or [`from_table`](Self::from_table)).
    pub fn predictor_columns(&self) -> &[Option<usize>] {
        &self.inner.columns
    }

    /// The caller's column of the response (what errors about y name).
    pub fn response_column(&self) -> usize {
        self.inner.response_column
    }

    /// Checks that every response is a count (a non-negative integer, below 2⁵³ so that it
    /// is exact), naming the first row that is not and the response's column.
    ///
    /// # Errors
    /// [`EmError::InvalidInput`] naming the row and the response column.
    ///
    /// ```
    /// use em_regression::RegressionData;
    /// use nalgebra::DMatrix;
    /// let data = RegressionData::with_intercept(&DMatrix::zeros(3, 0), vec![0.0, 2.5, 1.0])?;
    /// let err = data.check_counts().unwrap_err();
    /// assert!(err.to_string().starts_with("invalid observation at row 1, column 0"), "{err}");
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn check_counts(&self) -> Result<(), EmError> {
        const LARGEST_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        match self
            .y()
            .iter()
            .position(|&v| !(v >= 0.0 && v.fract() == 0.0 && v <= LARGEST_EXACT))
        {
            Some(row) => Err(EmError::InvalidInput {
                row,
                column: Some(self.response_column()),
                reason: format!(
                    "the response {} is not a count (a non-negative integer); a Poisson \
                     regression needs counts",
                    self.y()[row]
                ),
            }),
            None => Ok(()),
        }
    }

    /// log y_i! for every row (computed once; meaningful for counts).
    pub(crate) fn ln_y_factorial(&self) -> &[f64] {
        self.inner
            .ln_y_factorial
            .get_or_init(|| self.y().iter().map(|&y| ln_gamma(y + 1.0)).collect())
    }

    /// η = x_iᵀβ for the rows `rows` into `out` (length `rows.len()`); β is `beta[j]`
    /// for design column j.
    pub(crate) fn linear_predictor(
        &self,
        rows: std::ops::Range<usize>,
        beta: impl Fn(usize) -> f64,
        out: &mut [f64],
    ) {
        out.fill(0.0);
        let x = self.x();
        for j in 0..x.ncols() {
            let b = beta(j);
            let column = &x.column(j);
            for (o, i) in out.iter_mut().zip(rows.clone()) {
                *o += column[i] * b;
            }
        }
    }
}

fn check_value(value: f64, row: usize, column: usize) -> Result<(), EmError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(EmError::NonFinite { row, column, value })
    }
}

impl Dataset for RegressionData {
    /// One observation per row.
    fn n_obs(&self) -> usize {
        self.inner.y.len()
    }
}
