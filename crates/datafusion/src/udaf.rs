//! The E-step as a DataFusion aggregate function.
//!
//! `em_e_step_gmm(parameters, x1, …, xD)` aggregates the rows it sees into the model's expected
//! sufficient statistics; `em_e_step_gmm_by(parameters, key, x1, …, xD)` does the same for a
//! `GROUP BY` fit, with one model per group key. `parameters` is a string literal: the model (or
//! the models by key) as JSON, with the table's column names and the merge order. Parameters
//! travel in the query, so an engine that ships plans to other processes (Ballista) needs the
//! functions registered once, not once per iteration.
//!
//! The result is a `List<Float64>`: `[Σ log p(x_n), Σ H(q(z_n)), rows, statistics…]`, with the
//! statistics in the layout of [`EngineModel::write_stats`]; `NULL` when the aggregate saw no
//! row of a model it knows.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

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
use datafusion::physical_expr::expressions::Literal;
use serde::{Deserialize, Serialize};

use crate::columns::matrix;
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

/// Parameters parsed from their text.
type Parsed<M> = (Arc<str>, Arc<QueryParameters<M>>);

/// The E-step of `M` as an aggregate function.
///
/// `em_e_step_gmm(parameters, x1, …, xD)` (the name is [`EngineModel::FUNCTION`]) aggregates
/// the rows it sees into the model's statistics; `em_e_step_gmm_by(parameters, key, x1, …, xD)`
/// does it per group of a `GROUP BY key` query, with one model per key. `parameters` is a
/// string literal that [`crate::fit`] and [`crate::fit_grouped`] write: the model (or models by
/// key) as JSON, the feature columns' names and the [`MergeOrder`]. Features are cast to
/// `Float64`, the key to text. The value is a `List<Float64>`,
/// `[Σ log p(x_n), Σ H(q(z_n)), rows, statistics…]` (statistics as
/// [`EngineModel::write_stats`] writes them), `NULL` for a group without a model.
pub struct EStepAggregate<M> {
    name: String,
    grouped: bool,
    signature: Signature,
    /// The last parameters parsed, by their text: a `GROUP BY` query creates one accumulator
    /// per group and partition, all with the same (possibly large) parameters.
    parsed: Mutex<Option<Parsed<M>>>,
    _model: PhantomData<fn() -> M>,
}

impl<M: EngineModel> EStepAggregate<M> {
    /// The aggregate over a whole table (`grouped = false`: `M::FUNCTION`) or per group key
    /// (`grouped = true`: `M::FUNCTION` followed by `_by`, with the key as second argument).
    pub fn new(grouped: bool) -> Self {
        let name = if grouped {
            format!("{}_by", M::FUNCTION)
        } else {
            M::FUNCTION.to_string()
        };
        EStepAggregate {
            name,
            grouped,
            signature: Signature::user_defined(Volatility::Immutable),
            parsed: Mutex::new(None),
            _model: PhantomData,
        }
    }

    /// The aggregate as a DataFusion [`AggregateUDF`], to register with a session
    /// (`ctx.register_udaf(…)`) or call in a `DataFrame` expression.
    pub fn udaf(grouped: bool) -> AggregateUDF {
        AggregateUDF::from(Self::new(grouped))
    }

    /// The parameters of the query the accumulator is for, parsed once per text.
    fn parameters(&self, text: &str) -> Result<Arc<QueryParameters<M>>> {
        let mut cache = self
            .parsed
            .lock()
            .map_err(|_| DataFusionError::Execution("a parameter cache was poisoned".into()))?;
        if let Some((cached, parsed)) = cache.as_ref()
            && &**cached == text
        {
            return Ok(Arc::clone(parsed));
        }
        let parsed: QueryParameters<M> = serde_json::from_str(text).map_err(|e| {
            DataFusionError::Plan(format!("{}: unreadable model parameters: {e}", self.name))
        })?;
        match (&parsed.models, self.grouped) {
            (Models::One(_), false) | (Models::ByKey(_), true) => {}
            _ => {
                return Err(DataFusionError::Plan(format!(
                    "{}: the parameters are for a {} fit",
                    self.name,
                    if self.grouped {
                        "whole-table"
                    } else {
                        "GROUP BY"
                    }
                )));
            }
        }
        let parsed = Arc::new(parsed);
        *cache = Some((Arc::from(text), Arc::clone(&parsed)));
        Ok(parsed)
    }

    /// Arguments before the feature columns.
    fn leading(&self) -> usize {
        if self.grouped { 2 } else { 1 }
    }
}

impl<M> std::fmt::Debug for EStepAggregate<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EStepAggregate")
            .field("name", &self.name)
            .finish()
    }
}

impl<M> PartialEq for EStepAggregate<M> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.grouped == other.grouped
    }
}

impl<M> Eq for EStepAggregate<M> {}

impl<M> Hash for EStepAggregate<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.grouped.hash(state);
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
                "{} takes the model parameters{}, then at least one feature column",
                self.name,
                if self.grouped { ", the group key" } else { "" }
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
        let text = args
            .exprs
            .first()
            .and_then(|e| e.downcast_ref::<Literal>())
            .and_then(|lit| lit.value().try_as_str().flatten().map(str::to_owned))
            .ok_or_else(|| {
                DataFusionError::Plan(format!(
                    "{}: the first argument must be the model parameters, a string literal",
                    self.name
                ))
            })?;
        let parameters = self.parameters(&text)?;
        let features = args.exprs.len().saturating_sub(self.leading());
        if features != parameters.columns.len() {
            return Err(DataFusionError::Plan(format!(
                "{}: {features} feature columns for parameters naming {}",
                self.name,
                parameters.columns.len()
            )));
        }
        Ok(Box::new(EStepAccumulator {
            parameters,
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
        if self.leading == 2 {
            let key = single_key(&values[1])?;
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
            return Ok(ScalarValue::List(Arc::new(ListArray::new_null(
                Arc::new(Field::new_list_field(DataType::Float64, true)),
                1,
            ))));
        };
        let Some((e, rows)) = self.partials.merged(model, merge).map_err(em)? else {
            return Ok(ScalarValue::List(Arc::new(ListArray::new_null(
                Arc::new(Field::new_list_field(DataType::Float64, true)),
                1,
            ))));
        };
        let mut run = Vec::new();
        crate::partials::write_run(model, &e, rows, &mut run);
        Ok(list(&run))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.partials.len() * std::mem::size_of::<f64>()
    }
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
