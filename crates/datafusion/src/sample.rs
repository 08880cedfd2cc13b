//! Rows of a table brought into memory, to start a fit: the first rows of the table, or the
//! first rows of every group.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Column;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{Expr, cast as cast_expr};
use futures::StreamExt;
use nalgebra::DMatrix;

use crate::columns::matrix;
use crate::error::EngineError;
use crate::fit::{check_columns, check_key};

fn features(columns: &[String]) -> Vec<Expr> {
    columns
        .iter()
        .map(|c| cast_expr(Expr::Column(Column::from_name(c)), DataType::Float64).alias(c))
        .collect()
}

/// The first `n` rows of `columns` (all of them for `usize::MAX`), cast to `Float64`, as an
/// n × D matrix: a sample to start a fit from (k-means++, a short EM), as the in-memory and
/// online fits take the head of a file.
///
/// "First" is in the order of the table's partitions, read one after the other: the first rows
/// of a Parquet or CSV file, whatever the number of partitions (a `LIMIT` query would take
/// whichever partition answers first, and a fit would start differently from run to run).
///
/// # Errors
/// [`EngineError::Column`] for an unknown or non-numeric column; [`EngineError::DataFusion`]
/// for a failed read; a `NULL` or non-finite value is an error naming its column.
pub async fn head(
    table: &DataFrame,
    columns: &[String],
    n: usize,
) -> Result<DMatrix<f64>, EngineError> {
    check_columns(table, columns, columns.len())?;
    let partitions = table
        .clone()
        .select(features(columns))?
        .execute_stream_partitioned()
        .await?;
    let mut batches = Vec::new();
    let mut rows = 0;
    'partitions: for mut partition in partitions {
        while let Some(batch) = partition.next().await {
            let batch = batch?;
            let take = batch.num_rows().min(n - rows);
            batches.push(batch.slice(0, take));
            rows += take;
            if rows == n {
                break 'partitions;
            }
        }
    }
    stack(&batches, columns)
}

/// The first `n` rows of every group of `key` (cast to text; the `NULL` group is left out), in
/// one pass over the table, its partitions read one after the other as [`head`] reads them.
///
/// # Errors
/// As [`head`].
pub async fn group_heads(
    table: &DataFrame,
    key: &str,
    columns: &[String],
    n: usize,
) -> Result<BTreeMap<String, DMatrix<f64>>, EngineError> {
    check_columns(table, columns, columns.len())?;
    check_key(table, key)?;
    let mut select =
        vec![cast_expr(Expr::Column(Column::from_name(key)), DataType::Utf8).alias("key")];
    select.extend(features(columns));
    let partitions = table
        .clone()
        .select(select)?
        .execute_stream_partitioned()
        .await?;
    let mut rows: BTreeMap<String, Vec<Vec<f64>>> = BTreeMap::new();
    let mut batches = futures::stream::iter(partitions).flatten();
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        let keys = cast(batch.column(0), &DataType::Utf8)
            .map_err(datafusion::error::DataFusionError::from)?;
        let keys = keys.as_string::<i32>();
        let x = matrix(&batch.columns()[1..], columns, false)?;
        for i in 0..batch.num_rows() {
            if keys.is_null(i) {
                continue;
            }
            let group = rows.entry(keys.value(i).to_string()).or_default();
            if group.len() < n {
                group.push(x.row(i).iter().copied().collect());
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|(key, rows)| {
            let d = columns.len();
            let x = DMatrix::from_fn(rows.len(), d, |i, j| rows[i][j]);
            (key, x)
        })
        .collect())
}

/// Record batches of `Float64` columns stacked into one matrix.
fn stack(batches: &[RecordBatch], columns: &[String]) -> Result<DMatrix<f64>, EngineError> {
    let n: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut x = DMatrix::zeros(n, columns.len());
    let mut start = 0;
    for batch in batches {
        let part = matrix(batch.columns(), columns, false)?;
        x.rows_mut(start, part.nrows()).copy_from(&part);
        start += part.nrows();
    }
    Ok(x)
}
