//! The E-step as a DataFusion aggregate function.
//!
//! `em_e_step_gmm(x1, …, xD)` aggregates the rows it sees into the expected sufficient
//! statistics of the model the function holds; `em_e_step_gmm_by(key, x1, …, xD)` does the same
//! per group of a `GROUP BY` fit, with one model per group key. The result is a
//! `List<Float64>`: `[Σ log p(x_n), Σ H(q(z_n)), rows, statistics…]`, with the statistics in the
//! layout of [`EngineModel::write_stats`]; `NULL` when the aggregate saw no row of a model it
//! knows.

use std::any::Any;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray, StringArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use serde::{Deserialize, Serialize};

use crate::columns::matrix;
use crate::error::EngineError;
use crate::model::EngineModel;
use crate::partials::{MergeOrder, Partials};

/// What a query tells its aggregate: the model (or models by group key), the feature columns'
/// names and the merge order. Written by the fit, read by every accumulator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct QueryParameters<M> {
    pub(crate) columns: Vec<String>,
    pub(crate) merge: MergeOrder,
    pub(crate) models: Models<M>,
}

/// One model for the whole table, or one per group key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Models<M> {
    One(M),
    ByKey(BTreeMap<String, M>),
}

impl<M> Models<M> {
    fn get(&self, key: Option<&str>) -> Option<&M> {
        match (self, key) {
            (Models::One(m), _) => Some(m),
            (Models::ByKey(map), Some(key)) => map.get(key),
            (Models::ByKey(_), None) => None,
        }
    }
}

/// The E-step of `M` as an aggregate function, for one set of parameters.
///
/// `em_e_step_gmm(x1, …, xD)` (the name is [`EngineModel::FUNCTION`]) aggregates the rows it
/// sees into the statistics of the model it holds; `em_e_step_gmm_by(key, x1, …, xD)` does it
/// per group of a `GROUP BY key` query, with the model of each key. Features are cast to
/// `Float64`, the key to text. The value is a `List<Float64>`,
/// `[Σ log p(x_n), Σ H(q(z_n)), rows, statistics…]` (statistics as
/// [`EngineModel::write_stats`] writes them), `NULL` for a group without a model.
///
/// The parameters belong to the function, not to an argument: a literal argument would be
/// copied into every row of every batch (DataFusion evaluates arguments per row), which for
/// the JSON of a model costs more than the E-step itself. A query per iteration builds a new
/// function; [`parameters_json`](Self::parameters_json) is what a codec that ships plans to
/// other processes writes.
pub struct EStepAggregate<M> {
    name: String,
    grouped: bool,
    signature: Signature,
    parameters: Arc<QueryParameters<M>>,
}

impl<M: EngineModel> EStepAggregate<M> {
    /// The E-step of `model` over a whole table, on the feature columns `columns` (their names,
    /// for error messages), merging batches in `merge` order: the function `M::FUNCTION`.
    pub fn for_model(model: M, columns: Vec<String>, merge: MergeOrder) -> AggregateUDF {
        Self::build(
            false,
            QueryParameters {
                columns,
                merge,
                models: Models::One(model),
            },
        )
    }

    /// The E-step of each group's model, per group of a `GROUP BY` on the key, which the
    /// function takes as its first argument: `M::FUNCTION` followed by `_by`. Groups without a
    /// model are skipped (their value is `NULL`).
    pub fn for_groups(
        models: BTreeMap<String, M>,
        columns: Vec<String>,
        merge: MergeOrder,
    ) -> AggregateUDF {
        Self::build(
            true,
            QueryParameters {
                columns,
                merge,
                models: Models::ByKey(models),
            },
        )
    }

    fn build(grouped: bool, parameters: QueryParameters<M>) -> AggregateUDF {
        let name = if grouped {
            format!("{}_by", M::FUNCTION)
        } else {
            M::FUNCTION.to_string()
        };
        AggregateUDF::from(EStepAggregate {
            name,
            grouped,
            signature: Signature::user_defined(Volatility::Immutable),
            parameters: Arc::new(parameters),
        })
    }

    /// The parameters as JSON: the model (or models by key), the columns, the merge order.
    ///
    /// # Errors
    /// A model that cannot be serialised (none of the bundled ones).
    pub fn parameters_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(&*self.parameters)
    }

    /// The E-step function of `M` that `udaf` holds, if it holds one: how a codec recognises
    /// the functions it must write with their parameters.
    pub fn downcast(udaf: &AggregateUDF) -> Option<&Self> {
        let inner: &dyn Any = udaf.inner().as_ref();
        inner.downcast_ref::<Self>()
    }

    /// Rebuilds the function named `name` (`M::FUNCTION`, or `M::FUNCTION` followed by `_by`)
    /// from its [`parameters_json`](Self::parameters_json): how a process that receives a plan
    /// (a Ballista scheduler or executor) gets the same function back.
    ///
    /// # Errors
    /// [`EngineError::Parameters`] when `name` is not one of the two names of `M`'s function,
    /// or `json` is not the parameters of such a function (another model, a per-group function
    /// given one model, or the reverse).
    pub fn from_parameters_json(name: &str, json: &str) -> Result<AggregateUDF, EngineError> {
        let grouped = if name == M::FUNCTION {
            false
        } else if name.strip_prefix(M::FUNCTION) == Some("_by") {
            true
        } else {
            return Err(EngineError::Parameters(format!(
                "`{name}` is not an E-step function of this model (`{}` or `{}_by`)",
                M::FUNCTION,
                M::FUNCTION
            )));
        };
        let parameters: QueryParameters<M> = serde_json::from_str(json)
            .map_err(|e| EngineError::Parameters(format!("`{name}`: {e}")))?;
        if grouped != matches!(parameters.models, Models::ByKey(_)) {
            return Err(EngineError::Parameters(format!(
                "`{name}` was given the parameters of a {} function",
                if grouped { "whole-table" } else { "per-group" }
            )));
        }
        Ok(Self::build(grouped, parameters))
    }

    /// Arguments before the feature columns (the key of a `GROUP BY` fit).
    fn leading(&self) -> usize {
        usize::from(self.grouped)
    }
}

impl<M> std::fmt::Debug for EStepAggregate<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EStepAggregate")
            .field("name", &self.name)
            .finish()
    }
}

/// Two functions are equal when they compute the same: same name and same parameters.
impl<M: EngineModel> PartialEq for EStepAggregate<M> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && (Arc::ptr_eq(&self.parameters, &other.parameters)
                || self.parameters_json().ok() == other.parameters_json().ok())
    }
}

impl<M: EngineModel> Eq for EStepAggregate<M> {}

/// By name only: equal functions have equal names, which is all `Hash` needs.
impl<M> Hash for EStepAggregate<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

fn statistics_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

impl<M: EngineModel> AggregateUDFImpl for EStepAggregate<M> {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The parameters and the key as text, the features as `Float64` (integers and decimals
    /// are cast).
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() <= self.leading() {
            return Err(DataFusionError::Plan(format!(
                "{} takes {}at least one feature column",
                self.name,
                if self.grouped {
                    "the group key, then "
                } else {
                    ""
                }
            )));
        }
        Ok((0..arg_types.len())
            .map(|i| {
                if i < self.leading() {
                    DataType::Utf8
                } else {
                    DataType::Float64
                }
            })
            .collect())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(statistics_type())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "key"),
                DataType::Utf8,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "statistics"),
                statistics_type(),
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let features = args.exprs.len().saturating_sub(self.leading());
        if features != self.parameters.columns.len() {
            return Err(DataFusionError::Plan(format!(
                "{}: {features} feature columns for a model of {}",
                self.name,
                self.parameters.columns.len()
            )));
        }
        Ok(Box::new(EStepAccumulator {
            parameters: Arc::clone(&self.parameters),
            leading: self.leading(),
            key: None,
            partials: Partials::default(),
        }))
    }
}

/// One group's (or the whole table's) E-steps in one partition.
#[derive(Debug)]
struct EStepAccumulator<M> {
    parameters: Arc<QueryParameters<M>>,
    leading: usize,
    /// The group key, once a row or a state has shown it (`None` for a whole-table fit).
    key: Option<String>,
    partials: Partials,
}

impl<M: EngineModel> EStepAccumulator<M> {
    fn learn_key(&mut self, key: Option<&str>) {
        if self.key.is_none() {
            self.key = key.map(str::to_owned);
        }
    }
}

/// The one key of a batch of a group's rows (`None` for the `NULL` group). Rows of several
/// keys mean the function was called without `GROUP BY` on its key column.
fn single_key(keys: &ArrayRef) -> Result<Option<&str>> {
    let keys: &StringArray = keys.as_string_opt::<i32>().ok_or_else(|| {
        DataFusionError::Execution(format!(
            "a group key reached the aggregate as {}",
            keys.data_type()
        ))
    })?;
    let key = |i: usize| keys.is_valid(i).then(|| keys.value(i));
    let first = key(0);
    if (1..keys.len()).any(|i| key(i) != first) {
        return Err(DataFusionError::Plan(
            "a per-group E-step saw rows of several keys: group the query by its key argument"
                .into(),
        ));
    }
    Ok(first)
}

fn em(e: em_core::EmError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl<M: EngineModel> Accumulator for EStepAccumulator<M> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |a| a.len());
        if rows == 0 {
            return Ok(());
        }
        if self.leading == 1 {
            let key = single_key(&values[0])?;
            self.learn_key(key);
        }
        let Some(model) = self.parameters.models.get(self.key.as_deref()) else {
            return Ok(());
        };
        let x = matrix(
            &values[self.leading..],
            &self.parameters.columns,
            model.accepts_missing(),
        )?;
        let e = model.e_step(&x, 0..rows).map_err(em)?;
        self.partials
            .push(model, self.parameters.merge, &e, rows)
            .map_err(em)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Utf8(self.key.clone()),
            list(self.partials.values()),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [keys, lists] = states else {
            return Err(DataFusionError::Execution(format!(
                "an E-step state has {} fields, not 2",
                states.len()
            )));
        };
        let keys = keys.as_string_opt::<i32>().ok_or_else(|| {
            DataFusionError::Execution("an E-step state's key is not text".into())
        })?;
        let lists = lists.as_list_opt::<i32>().ok_or_else(|| {
            DataFusionError::Execution("an E-step state's statistics are not a list".into())
        })?;
        for i in 0..lists.len() {
            if lists.is_null(i) {
                continue;
            }
            self.learn_key(keys.is_valid(i).then(|| keys.value(i)));
            let runs = lists.value(i);
            let runs = runs.as_primitive_opt::<Float64Type>().ok_or_else(|| {
                DataFusionError::Execution("an E-step state's statistics are not Float64".into())
            })?;
            if runs.is_empty() {
                continue;
            }
            let Some(model) = self.parameters.models.get(self.key.as_deref()) else {
                continue;
            };
            self.partials
                .absorb(model, self.parameters.merge, runs.values())
                .map_err(em)?;
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let merge = self.parameters.merge;
        // No model: a `NULL` key, or a group whose fit has ended.
        let Some(model) = self.parameters.models.get(self.key.as_deref()) else {
            return Ok(no_statistics());
        };
        let Some((e, rows)) = self.partials.merged(model, merge).map_err(em)? else {
            return Ok(no_statistics());
        };
        let mut run = Vec::new();
        crate::partials::write_run(model, &e, rows, &mut run);
        Ok(list(&run))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.partials.len() * std::mem::size_of::<f64>()
    }
}

/// The value of a group without statistics: a `NULL` list.
fn no_statistics() -> ScalarValue {
    ScalarValue::List(Arc::new(ListArray::new_null(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        1,
    )))
}

/// One list value of `Float64`s.
fn list(values: &[f64]) -> ScalarValue {
    let items: ArrayRef = Arc::new(Float64Array::from(values.to_vec()));
    ScalarValue::List(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        OffsetBuffer::from_lengths([values.len()]),
        items,
        None,
    )))
}
