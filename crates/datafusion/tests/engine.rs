//! EM on DataFusion against the in-memory fit, across partitionings, grouped, and on bad input.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::MemTable;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use em_core::{Em, EmError, LatentModel};
use em_datafusion::{
    EngineError, EngineFit, EngineModel, EngineOptions, MergeOrder, fit, fit_grouped, head,
};
use gmm::{CovarianceType, Dof, GaussianMixture, StudentMixture};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use tokio::runtime::Runtime;

const BATCH: usize = 4096;

/// n rows of three well-separated 2-D clusters, with a group key cycling over `groups` values.
fn clusters(n: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 1.0).expect("a valid normal");
    let centres = [(-4.0, 0.0), (0.0, 3.0), (5.0, -1.0)];
    DMatrix::from_fn(n, 2, |_, _| 0.0).map_with_location(|i, j, _| {
        let (cx, cy) = centres[(i * 7 + i / 3) % 3];
        let centre = if j == 0 { cx } else { cy };
        centre + (0.5 + 0.5 * j as f64) * noise.sample(&mut rng)
    })
}

fn batches(x: &DMatrix<f64>, keys: Option<&[String]>) -> Vec<RecordBatch> {
    (0..x.nrows())
        .step_by(BATCH)
        .map(|start| {
            let end = (start + BATCH).min(x.nrows());
            let mut columns: Vec<(&str, ArrayRef)> = vec![
                (
                    "a",
                    Arc::new(Float64Array::from_iter_values(
                        (start..end).map(|i| x[(i, 0)]),
                    )),
                ),
                (
                    "b",
                    Arc::new(Float64Array::from_iter_values(
                        (start..end).map(|i| x[(i, 1)]),
                    )),
                ),
            ];
            if let Some(keys) = keys {
                columns.push((
                    "key",
                    Arc::new(StringArray::from_iter_values(keys[start..end].iter())),
                ));
            }
            RecordBatch::try_from_iter(columns).expect("a record batch")
        })
        .collect()
}

/// The batches dealt round-robin to `partitions` partitions of an in-memory table.
fn memory_table(rt: &Runtime, batches: &[RecordBatch], partitions: usize) -> DataFrame {
    let mut parts = vec![Vec::new(); partitions];
    for (i, b) in batches.iter().enumerate() {
        parts[i % partitions].push(b.clone());
    }
    let schema = batches[0].schema();
    let table = MemTable::try_new(schema, parts).expect("a table");
    let ctx =
        SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
    ctx.register_table("t", Arc::new(table))
        .expect("registered");
    rt.block_on(ctx.table("t")).expect("the table")
}

/// `fit` on the columns a and b with the default options.
fn fit_all<M: EngineModel>(
    rt: &Runtime,
    table: &DataFrame,
    start: M,
    em: &Em,
) -> Result<EngineFit<M>, EngineError> {
    fit(
        rt.handle(),
        table,
        &columns(),
        start,
        em,
        &EngineOptions::default(),
    )
}

fn columns() -> Vec<String> {
    vec!["a".to_string(), "b".to_string()]
}

fn start(x: &DMatrix<f64>, kind: CovarianceType) -> GaussianMixture {
    let sample = x.rows(0, 2000).into_owned();
    GaussianMixture::builder(3)
        .covariance_type(kind)
        .seed(3)
        .max_iter(3)
        .fit(&sample)
        .expect("a start")
        .model
}

fn bits(model: &GaussianMixture) -> String {
    serde_json::to_string(model).expect("serialisable")
}

fn max_relative_difference(a: &GaussianMixture, b: &GaussianMixture) -> f64 {
    let va: Vec<f64> = serde_json::from_str::<serde_json::Value>(&bits(a))
        .map(|v| numbers(&v))
        .expect("json");
    let vb: Vec<f64> = serde_json::from_str::<serde_json::Value>(&bits(b))
        .map(|v| numbers(&v))
        .expect("json");
    assert_eq!(va.len(), vb.len());
    va.iter()
        .zip(&vb)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1e-300))
        .fold(0.0, f64::max)
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN)],
        serde_json::Value::Array(items) => items.iter().flat_map(numbers).collect(),
        serde_json::Value::Object(map) => map.values().flat_map(numbers).collect(),
        _ => vec![],
    }
}

#[test]
fn a_fit_equals_the_in_memory_fit_to_rounding_and_is_bitwise_the_same_on_1_2_and_4_partitions() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(30_000, 1);
    let data = batches(&x, None);
    let em = Em::new().tol(0.0).max_iter(15);
    for kind in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
        CovarianceType::Tied,
    ] {
        let start = start(&x, kind);
        let mut in_memory = start.clone();
        let reference = em.fit(&mut in_memory, &x).expect("in memory");
        let mut first: Option<(String, Vec<u64>)> = None;
        for partitions in [1, 2, 4] {
            let table = memory_table(&rt, &data, partitions);
            let fitted = fit_all(&rt, &table, start.clone(), &em).expect("a fit on DataFusion");
            assert_eq!(fitted.report.n_obs, 30_000);
            assert_eq!(fitted.report.iterations, reference.iterations);
            let difference = max_relative_difference(&fitted.model, &in_memory);
            assert!(
                difference < 1e-10,
                "{kind:?}, {partitions} partitions: {difference:e}"
            );
            for (a, b) in fitted.report.trace.iter().zip(&reference.trace) {
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs(),
                    "{kind:?}: trace {a} vs {b}"
                );
            }
            let this = (
                bits(&fitted.model),
                fitted.report.trace.iter().map(|v| v.to_bits()).collect(),
            );
            match &first {
                None => first = Some(this),
                Some(first) => assert_eq!(
                    first, &this,
                    "{kind:?}: {partitions} partitions differ from 1"
                ),
            }
        }
    }
}

#[test]
fn a_parquet_file_fits_bitwise_the_same_on_1_2_and_4_partitions() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(40_000, 2);
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("clusters.parquet");
    let data = batches(&x, None);
    let file = std::fs::File::create(&path).expect("a file");
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(5_000))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, data[0].schema(), Some(properties)).expect("a writer");
    for b in &data {
        writer.write(b).expect("written");
    }
    writer.close().expect("closed");
    let start = start(&x, CovarianceType::Full);
    let em = Em::new().tol(0.0).max_iter(10);
    let mut results = Vec::new();
    for partitions in [1, 2, 4] {
        let config = SessionConfig::new()
            .with_target_partitions(partitions)
            .with_repartition_file_min_size(0);
        let ctx = SessionContext::new_with_config(config);
        let table = rt
            .block_on(
                ctx.read_parquet(path.to_str().expect("utf-8"), ParquetReadOptions::default()),
            )
            .expect("the file");
        let fitted = fit_all(&rt, &table, start.clone(), &em).expect("a fit");
        assert_eq!(fitted.report.n_obs, 40_000);
        // The head is the file's first rows on every partitioning (12,000 rows span partitions).
        let first = rt
            .block_on(head(&table, &columns(), 12_000))
            .expect("a head");
        assert_eq!(
            first,
            x.rows(0, 12_000).into_owned(),
            "{partitions} partitions"
        );
        results.push((
            bits(&fitted.model),
            fitted
                .report
                .trace
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
        ));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
    let mut in_memory = start.clone();
    em.fit(&mut in_memory, &x).expect("in memory");
    let fitted: GaussianMixture = serde_json::from_str(&results[0].0).expect("a model");
    assert!(max_relative_difference(&fitted, &in_memory) < 1e-10);
}

#[test]
fn arrival_order_merging_agrees_to_rounding() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(20_000, 3);
    let table = memory_table(&rt, &batches(&x, None), 3);
    let start = start(&x, CovarianceType::Full);
    let em = Em::new().tol(0.0).max_iter(10);
    let canonical = fit_all(&rt, &table, start.clone(), &em).expect("a fit");
    let options = EngineOptions {
        merge: MergeOrder::Arrival,
    };
    let arrival = fit(rt.handle(), &table, &columns(), start, &em, &options).expect("a fit");
    assert!(max_relative_difference(&canonical.model, &arrival.model) < 1e-10);
}

#[test]
fn the_driver_stops_a_fit_on_datafusion_as_it_stops_one_in_memory() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(20_000, 4);
    let table = memory_table(&rt, &batches(&x, None), 2);
    let start = start(&x, CovarianceType::Full);
    let em = Em::new().tol(1e-6);
    let fitted = fit_all(&rt, &table, start.clone(), &em).expect("a fit");
    let mut in_memory = start;
    let reference = em.fit(&mut in_memory, &x).expect("in memory");
    assert!(fitted.report.converged && reference.converged);
    assert_eq!(fitted.report.iterations, reference.iterations);
    assert_eq!(fitted.report.e_steps, fitted.report.iterations + 1);
}

#[test]
fn a_student_mixture_fits_on_datafusion() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(12_000, 5);
    let table = memory_table(&rt, &batches(&x, None), 2);
    let start = StudentMixture::from_gaussian(&start(&x, CovarianceType::Full), Dof::Fixed(5.0))
        .expect("a start");
    let em = Em::new().tol(0.0).max_iter(8);
    let fitted = fit_all(&rt, &table, start.clone(), &em).expect("a fit");
    let mut in_memory = start;
    let reference = em.fit(&mut in_memory, &x).expect("in memory");
    let (a, b) = (fitted.report.objective(), reference.objective());
    assert!((a - b).abs() <= 1e-11 * b.abs(), "{a} vs {b}");
    assert!((fitted.model.means() - in_memory.means()).amax() < 1e-9);
}

#[test]
fn grouped_fits_equal_in_memory_fits_of_each_group_and_do_not_depend_on_partitions() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(24_000, 6);
    // Group g holds rows i with i % 3 == g, shifted by 10·g so that the groups differ.
    let keys: Vec<String> = (0..x.nrows())
        .map(|i| format!("sensor-{}", i % 3))
        .collect();
    let shifted = DMatrix::from_fn(x.nrows(), 2, |i, j| x[(i, j)] + 10.0 * (i % 3) as f64);
    let data = batches(&shifted, Some(&keys));
    let em = Em::new().tol(1e-8).max_iter(200);
    let mut group_rows: BTreeMap<String, DMatrix<f64>> = BTreeMap::new();
    for g in 0..3 {
        let rows: Vec<usize> = (0..x.nrows()).filter(|i| i % 3 == g).collect();
        group_rows.insert(format!("sensor-{g}"), shifted.select_rows(&rows));
    }
    let starts: BTreeMap<String, GaussianMixture> = group_rows
        .iter()
        .map(|(k, rows)| (k.clone(), start(rows, CovarianceType::Full)))
        .collect();
    let mut first: Option<BTreeMap<String, String>> = None;
    for partitions in [1, 4] {
        let table = memory_table(&rt, &data, partitions);
        let fits = fit_grouped(
            rt.handle(),
            &table,
            "key",
            &columns(),
            starts.clone(),
            &em,
            &EngineOptions::default(),
        )
        .expect("grouped fits");
        assert_eq!(fits.len(), 3);
        let mut models = BTreeMap::new();
        for (group, outcome) in fits {
            let fitted = outcome.expect("each group fits");
            let mut in_memory = starts[&group].clone();
            let reference = em
                .fit(&mut in_memory, &group_rows[&group])
                .expect("in memory");
            assert_eq!(fitted.report.n_obs, 8_000);
            assert_eq!(fitted.report.iterations, reference.iterations, "{group}");
            let difference = max_relative_difference(&fitted.model, &in_memory);
            assert!(difference < 1e-9, "{group}: {difference:e}");
            models.insert(group, bits(&fitted.model));
        }
        match &first {
            None => first = Some(models),
            Some(first) => assert_eq!(first, &models),
        }
    }
}

#[test]
fn a_group_that_fails_leaves_the_others_fitting() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(6_000, 7);
    let keys: Vec<String> = (0..x.nrows())
        .map(|i| {
            if i < 5_998 {
                "big".into()
            } else {
                "tiny".into()
            }
        })
        .collect();
    let table = memory_table(&rt, &batches(&x, Some(&keys)), 2);
    let good = start(&x, CovarianceType::Full);
    let mut starts = BTreeMap::new();
    starts.insert("big".to_string(), good.clone());
    // Two rows cannot hold three full-covariance components.
    starts.insert("tiny".to_string(), good);
    starts.insert("absent".to_string(), start(&x, CovarianceType::Full));
    let fits = fit_grouped(
        rt.handle(),
        &table,
        "key",
        &columns(),
        starts,
        &Em::new().max_iter(50),
        &EngineOptions::default(),
    )
    .expect("the query runs");
    assert!(fits["big"].is_ok());
    assert!(
        matches!(fits["tiny"], Err(EngineError::Group { .. })),
        "{:?}",
        fits["tiny"]
    );
    match &fits["absent"] {
        Err(EngineError::Group { key, source }) => {
            assert_eq!(key, "absent");
            assert!(matches!(**source, EngineError::Em(EmError::EmptyData)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_columns_and_values_are_errors_that_name_the_column() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(3_000, 8);
    let table = memory_table(&rt, &batches(&x, None), 1);
    let start = start(&x, CovarianceType::Full);
    let em = Em::new().max_iter(3);
    let options = EngineOptions::default();
    let missing = fit(
        rt.handle(),
        &table,
        &["a".into(), "nope".into()],
        start.clone(),
        &em,
        &options,
    );
    assert!(
        matches!(&missing, Err(EngineError::Column { column, .. }) if column == "nope"),
        "{missing:?}"
    );
    let too_few = fit(
        rt.handle(),
        &table,
        &["a".into()],
        start.clone(),
        &em,
        &options,
    );
    assert!(matches!(too_few, Err(EngineError::Column { .. })));

    // A NULL and a NaN, each named by its column.
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Float64, true),
        Field::new("b", DataType::Int64, true),
    ]));
    let with = |a: Vec<Option<f64>>, b: Vec<Option<i64>>| {
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Float64Array::from(a)),
                Arc::new(Int64Array::from(b)),
            ],
        )
        .expect("a batch");
        memory_table(&rt, &[batch], 1)
    };
    let rows = 50;
    let a: Vec<Option<f64>> = (0..rows).map(|i| Some(x[(i, 0)])).collect();
    let b: Vec<Option<i64>> = (0..rows).map(|i| Some(x[(i, 1)].round() as i64)).collect();
    let mut b_null = b.clone();
    b_null[7] = None;
    let error = fit(
        rt.handle(),
        &with(a.clone(), b_null),
        &columns(),
        start.clone(),
        &em,
        &options,
    )
    .expect_err("a NULL");
    assert!(
        error.to_string().contains("column `b` holds a NULL"),
        "{error}"
    );
    let mut a_nan = a.clone();
    a_nan[3] = Some(f64::NAN);
    let error = fit(
        rt.handle(),
        &with(a_nan, b.clone()),
        &columns(),
        start.clone(),
        &em,
        &options,
    )
    .expect_err("a NaN");
    assert!(
        error
            .to_string()
            .contains("column `a` holds the non-finite value NaN"),
        "{error}"
    );
    // Integer columns are cast: this one fits.
    fit(rt.handle(), &with(a, b), &columns(), start, &em, &options).expect("integers are features");
}

#[test]
fn an_empty_table_is_empty_data() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(3_000, 9);
    let table = memory_table(&rt, &batches(&x, None), 1);
    let empty = table.clone().limit(0, Some(0)).expect("an empty table");
    let result = fit(
        rt.handle(),
        &empty,
        &columns(),
        start(&x, CovarianceType::Full),
        &Em::new(),
        &EngineOptions::default(),
    );
    assert!(
        matches!(result, Err(EngineError::Em(EmError::EmptyData))),
        "{result:?}"
    );
}

#[test]
fn the_head_of_a_table_is_its_first_rows() {
    let rt = Runtime::new().expect("a runtime");
    let x = clusters(10_000, 10);
    let table = memory_table(&rt, &batches(&x, None), 1);
    let first = rt
        .block_on(head(&table, &columns(), 5_000))
        .expect("a head");
    assert_eq!(first, x.rows(0, 5_000).into_owned());
    let all = rt
        .block_on(head(&table, &columns(), usize::MAX))
        .expect("every row");
    assert_eq!(all, x);
    // It is data an in-memory model takes.
    let model = start(&x, CovarianceType::Diag);
    assert!(model.e_step(&first, 0..5_000).is_ok());
}
