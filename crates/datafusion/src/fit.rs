//! The EM loop over a DataFusion table: em-core's driver ([`Em::fit_passes`]), with every pass
//! over the data one aggregate query.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, PoisonError};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::Column;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, cast as cast_expr};
use em_core::{Em, EmError, FitReport, Observer, Silent, Step};
use tokio::runtime::Handle;

use crate::error::EngineError;
use crate::model::EngineModel;
use crate::partials::{MergeOrder, Pass, read_run};
use crate::udaf::EStepAggregate;

/// A model fitted on DataFusion, with the driver's report.
#[derive(Debug, Clone)]
pub struct EngineFit<M> {
    /// The fitted model.
    pub model: M,
    /// Trace, convergence, iterations, number of rows (as for an in-memory fit).
    pub report: FitReport,
}

/// Fits `start` to the columns `columns` of `table` by EM, one aggregate query per E-step.
///
/// The loop, stopping rule, acceleration, observer and report are those of `em` (see
/// [`Em::fit_passes`]); each E-step is `SELECT em_e_step_…(columns…) FROM table`, with the
/// current parameters held by the function ([`EStepAggregate::for_model`]), run on DataFusion's
/// partitions in parallel. Integer and decimal columns are cast to `Float64`.
/// With [`MergeOrder::Canonical`] the fit is the same, bit for bit, for every partitioning that
/// cuts the table into the same batches (see [`MergeOrder`]).
///
/// `handle` is the Tokio runtime the queries run on. This function blocks: call it outside the
/// runtime's tasks, or use [`fit_async`] from async code.
///
/// # Errors
/// [`EngineError::Column`] for a column the table lacks or the wrong number of columns;
/// [`EngineError::DataFusion`] when a query fails; [`EngineError::Em`] for the model's errors (a
/// `NULL` or non-finite value, a degenerate component) and the driver's.
///
/// ```
/// use std::sync::Arc;
/// use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch};
/// use datafusion::prelude::SessionContext;
/// use em_core::Em;
/// use em_datafusion::{EngineOptions, fit};
/// use gmm::{Covariances, GaussianMixture};
/// use nalgebra::{DMatrix, DVector};
///
/// let runtime = tokio::runtime::Runtime::new()?;
/// let ctx = SessionContext::new();
/// let x: ArrayRef = Arc::new(Float64Array::from(vec![-2.1, -1.9, -2.0, 2.0, 1.8, 2.2]));
/// ctx.register_batch("points", RecordBatch::try_from_iter([("x", x)])?)?;
/// let table = runtime.block_on(ctx.table("points"))?;
///
/// let start = GaussianMixture::new(
///     DVector::from_vec(vec![0.5, 0.5]),
///     DMatrix::from_column_slice(2, 1, &[-1.0, 1.0]),
///     Covariances::Spherical(DVector::from_vec(vec![1.0, 1.0])),
/// )?;
/// let fitted = fit(
///     runtime.handle(), &table, &["x".to_string()], start, &Em::new(), &EngineOptions::default(),
/// )?;
/// assert!(fitted.report.converged);
/// assert!((fitted.model.means()[(1, 0)] - 2.0).abs() < 1e-6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fit<M, A, O>(
    handle: &Handle,
    table: &DataFrame,
    columns: &[String],
    start: M,
    em: &Em<A, O>,
    options: &EngineOptions,
) -> Result<EngineFit<M>, EngineError>
where
    M: EngineModel,
    A: Step<M>,
    O: Observer,
{
    check_columns(table, columns, start.n_features())?;
    let mut model = start;
    let mut failure = None;
    let report = em.fit_passes(&mut model, |m: &M| {
        let query = e_step_query(table, columns, m, options.merge);
        handle
            .block_on(query)
            .map_err(|e| keep_engine_error(e, &mut failure))
    });
    match report {
        Ok(report) => Ok(EngineFit { model, report }),
        Err(e) => Err(failure.unwrap_or(EngineError::Em(e))),
    }
}

/// [`fit`] from async code: the loop runs on Tokio's blocking pool while its queries run on
/// the current runtime.
///
/// # Errors
/// As [`fit`].
pub async fn fit_async<M, A>(
    table: DataFrame,
    columns: Vec<String>,
    start: M,
    em: Em<A, Silent>,
    options: EngineOptions,
) -> Result<EngineFit<M>, EngineError>
where
    M: EngineModel,
    A: Step<M> + Send + 'static,
{
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || fit(&handle, &table, &columns, start, &em, &options))
        .await
        .map_err(|e| EngineError::Parameters(format!("the fit's thread ended abnormally: {e}")))?
}

/// Options of a fit on DataFusion beyond the driver's ([`Em`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineOptions {
    /// How each query merges the statistics of its batches (default: canonical, reproducible).
    pub merge: MergeOrder,
}

/// An error the driver must see as an [`EmError`]: the model's own errors go through as they
/// are; an engine error is kept aside (to be returned once the driver stops) and stands in the
/// driver as an [`EmError::Io`].
fn keep_engine_error(error: EngineError, kept: &mut Option<EngineError>) -> EmError {
    match error {
        EngineError::Em(e) => e,
        other => {
            let stand_in = engine_failure(other.to_string());
            *kept = Some(other);
            stand_in
        }
    }
}

/// How an engine error stands in the driver, which only carries [`EmError`]s.
fn engine_failure(reason: String) -> EmError {
    EmError::Io {
        origin: "DataFusion".into(),
        line: None,
        column: None,
        reason,
    }
}

/// One E-step over the whole table: one aggregate query.
async fn e_step_query<M: EngineModel>(
    table: &DataFrame,
    columns: &[String],
    model: &M,
    merge: MergeOrder,
) -> Result<Pass<M>, EngineError> {
    let udaf = EStepAggregate::for_model(model.clone(), columns.to_vec(), merge);
    let args = columns.iter().map(|c| column(c)).collect();
    let batches = table
        .clone()
        .aggregate(vec![], vec![udaf.call(args).alias("e_step")])?
        .collect()
        .await?;
    let run = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| list_value(b.column(0), 0))
        .transpose()?
        .flatten();
    match run {
        Some(run) => Ok(read_run(model, &run)?),
        None => Err(EngineError::Em(EmError::EmptyData)),
    }
}

/// A column by its exact name (no parsing of dots or case folding).
fn column(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

/// The `Float64` values of row `row` of a list column (`None` for `NULL`).
fn list_value(array: &ArrayRef, row: usize) -> Result<Option<Vec<f64>>, EngineError> {
    let lists = array.as_list_opt::<i32>().ok_or_else(|| {
        EngineError::Parameters(format!("the E-step came back as {}", array.data_type()))
    })?;
    if lists.is_null(row) {
        return Ok(None);
    }
    let values = lists.value(row);
    let values = values
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| EngineError::Parameters("the E-step's statistics are not Float64".into()))?;
    Ok(Some(values.values().to_vec()))
}

/// The table has the columns, and as many as the model has features.
pub(crate) fn check_columns(
    table: &DataFrame,
    columns: &[String],
    n_features: usize,
) -> Result<(), EngineError> {
    if columns.len() != n_features {
        return Err(EngineError::Column {
            column: columns.join(", "),
            reason: format!(
                "{} columns for a model of {n_features} features",
                columns.len()
            ),
        });
    }
    let schema = table.schema();
    for name in columns {
        let Some((_, field)) = schema.qualified_field_with_unqualified_name(name).ok() else {
            return Err(EngineError::Column {
                column: name.clone(),
                reason: format!(
                    "the table has no such column (it has {})",
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        if !field.data_type().is_numeric() {
            return Err(EngineError::Column {
                column: name.clone(),
                reason: format!("{} is not a numeric type", field.data_type()),
            });
        }
    }
    Ok(())
}

/// Fits one model per value of the column `key`, all in the same queries: every E-step is one
/// `SELECT key, em_e_step_…_by(key, columns…) FROM table GROUP BY key` over the
/// groups whose fits are still running.
///
/// `starts` holds the start of every group to fit, by its key as text (a key column of another
/// type is cast to text: `42`, `2026-12-02`). Rows of other keys, and of the `NULL` key, are
/// not fitted. Each group runs its own EM loop ([`Em::fit_passes`], so its own stopping and
/// report) on a thread of its own that waits for the shared queries; a group that stops (or
/// fails) leaves the queries. The result holds every group's outcome; one group's failure (too
/// few rows, a degenerate component) does not end the others.
///
/// # Errors
/// [`EngineError::Column`] for a missing key or feature column; [`EngineError::DataFusion`]
/// when a query fails (which ends every group).
pub fn fit_grouped<M, A>(
    handle: &Handle,
    table: &DataFrame,
    key: &str,
    columns: &[String],
    starts: BTreeMap<String, M>,
    em: &Em<A, Silent>,
    options: &EngineOptions,
) -> Result<BTreeMap<String, Result<EngineFit<M>, EngineError>>, EngineError>
where
    M: EngineModel,
    A: Step<M> + Clone + Send,
{
    for start in starts.values() {
        check_columns(table, columns, start.n_features())?;
    }
    check_key(table, key)?;
    let rounds = Rounds::new(starts.len());
    let mut failure: Option<EngineError> = None;
    let outcomes = std::thread::scope(|scope| {
        let threads: Vec<_> = starts
            .into_iter()
            .map(|(group, start)| {
                let em = em.clone();
                let rounds = &rounds;
                scope.spawn(move || {
                    let _leaving = rounds.leave_on_drop();
                    let mut model = start;
                    let report = em.fit_passes(&mut model, |m: &M| rounds.e_step(&group, m));
                    let outcome = report
                        .map(|report| EngineFit { model, report })
                        .map_err(EngineError::Em);
                    (group, outcome)
                })
            })
            .collect();
        while let Some(waiting) = rounds.next_round() {
            let query = grouped_e_step_query(table, key, columns, &waiting, options.merge);
            let results = match handle.block_on(query) {
                Ok(results) => results,
                Err(e) => {
                    let reason = e.to_string();
                    failure.get_or_insert(e);
                    waiting
                        .keys()
                        .map(|k| (k.clone(), Err(engine_failure(reason.clone()))))
                        .collect()
                }
            };
            rounds.answer(waiting.into_keys(), results);
        }
        threads.into_iter().map(|t| t.join()).collect::<Vec<_>>()
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let mut fits = BTreeMap::new();
    for outcome in outcomes {
        let (group, result) = outcome.map_err(|_| {
            EngineError::Parameters("a group's fit ended abnormally (a panic)".into())
        })?;
        let result = result.map_err(|source| EngineError::Group {
            key: group.clone(),
            source: Box::new(source),
        });
        fits.insert(group, result);
    }
    Ok(fits)
}

pub(crate) fn check_key(table: &DataFrame, key: &str) -> Result<(), EngineError> {
    table
        .schema()
        .qualified_field_with_unqualified_name(key)
        .map(|_| ())
        .map_err(|_| EngineError::Column {
            column: key.to_string(),
            reason: "the table has no such column to group by".into(),
        })
}

/// One E-step of every waiting group: one `GROUP BY` query.
async fn grouped_e_step_query<M: EngineModel>(
    table: &DataFrame,
    key: &str,
    columns: &[String],
    waiting: &BTreeMap<String, M>,
    merge: MergeOrder,
) -> Result<BTreeMap<String, Result<Pass<M>, EmError>>, EngineError> {
    let udaf = EStepAggregate::for_groups(waiting.clone(), columns.to_vec(), merge);
    let key_text = cast_expr(column(key), DataType::Utf8);
    let mut args = vec![key_text.clone()];
    args.extend(columns.iter().map(|c| column(c)));
    let batches = table
        .clone()
        .aggregate(
            vec![key_text.alias("key")],
            vec![udaf.call(args).alias("e_step")],
        )?
        .collect()
        .await?;
    let mut results = BTreeMap::new();
    for batch in &batches {
        let keys = cast(batch.column(0), &DataType::Utf8).map_err(DataFusionError::from)?;
        let keys = keys.as_string::<i32>();
        for row in 0..batch.num_rows() {
            if keys.is_null(row) {
                continue;
            }
            let group = keys.value(row);
            let Some(model) = waiting.get(group) else {
                continue;
            };
            let result = match list_value(batch.column(1), row)? {
                Some(run) => read_run(model, &run),
                None => Err(EmError::EmptyData),
            };
            results.insert(group.to_string(), result);
        }
    }
    Ok(results)
}

/// The rendezvous of a `GROUP BY` fit: every running group's loop hands in the parameters it
/// needs an E-step at and waits; when all have, one query answers them all.
struct Rounds<M: EngineModel> {
    state: Mutex<RoundState<M>>,
    changed: Condvar,
}

struct RoundState<M: EngineModel> {
    /// Groups whose loops are still running.
    running: usize,
    /// Parameters handed in for the next query, by group.
    waiting: BTreeMap<String, M>,
    /// Answers not yet taken, by group.
    answers: BTreeMap<String, Result<Pass<M>, EmError>>,
}

impl<M: EngineModel> Rounds<M> {
    fn new(groups: usize) -> Self {
        Rounds {
            state: Mutex::new(RoundState {
                running: groups,
                waiting: BTreeMap::new(),
                answers: BTreeMap::new(),
            }),
            changed: Condvar::new(),
        }
    }

    /// A group's E-step: hands in its parameters and waits for the query's answer.
    fn e_step(&self, group: &str, model: &M) -> Result<Pass<M>, EmError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.waiting.insert(group.to_string(), model.clone());
        self.changed.notify_all();
        loop {
            if let Some(answer) = state.answers.remove(group) {
                return answer;
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The parameters of the next query, once every running group has handed in; `None` when
    /// no group runs any more.
    fn next_round(&self) -> Option<BTreeMap<String, M>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.running == 0 {
                return None;
            }
            if state.waiting.len() == state.running {
                return Some(std::mem::take(&mut state.waiting));
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Hands every group of the round its answer (no rows of a group: no observations).
    fn answer(
        &self,
        groups: impl Iterator<Item = String>,
        mut results: BTreeMap<String, Result<Pass<M>, EmError>>,
    ) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for group in groups {
            let answer = results.remove(&group).unwrap_or(Err(EmError::EmptyData));
            state.answers.insert(group, answer);
        }
        self.changed.notify_all();
    }

    /// A guard that takes its group out of the rounds when the group's loop ends, however it
    /// ends.
    fn leave_on_drop(&self) -> Leaving<'_, M> {
        Leaving(self)
    }
}

struct Leaving<'a, M: EngineModel>(&'a Rounds<M>);

impl<M: EngineModel> Drop for Leaving<'_, M> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.running -= 1;
        self.0.changed.notify_all();
    }
}
