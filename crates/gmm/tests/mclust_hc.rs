//! The hierarchical agglomeration reproduces mclust 6.0's `hc` (its default: the `VVV`
//! criterion on SVD-scaled data): every cut K = 1..16 of the tree on ten data sets, and the
//! criterion value of every merge on two of them.
//!
//! The reference figures are in `fixtures/mclust/`, made by `Rscript
//! bench/mclust/make_fixtures.R` (R 4.2.2, mclust 6.0.0); this test needs no R.

use std::collections::HashMap;

use gmm::hc::{Agglomeration, HcScaling, StoredScatter, VvvCriterion, scale_for_hc};
use nalgebra::DMatrix;

fn repo_file(path: &str) -> String {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A numeric CSV file with a header line.
fn read_matrix(path: &str) -> DMatrix<f64> {
    let text = repo_file(path);
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect();
    DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

/// Data set name → data file, from the fixture's log-likelihood table.
fn data_files() -> HashMap<String, String> {
    repo_file("crates/gmm/tests/fixtures/mclust/loglik.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[2].to_string())
        })
        .collect()
}

fn tree(x: &DMatrix<f64>, scatter: StoredScatter) -> Agglomeration {
    let z = scale_for_hc(x, HcScaling::Svd).unwrap();
    let criterion = VvvCriterion {
        scatter,
        ..VvvCriterion::default()
    };
    Agglomeration::new(&z, criterion).unwrap()
}

#[test]
fn every_cut_of_every_tree_is_mclusts() {
    let files = data_files();
    let mut trees: HashMap<String, Agglomeration> = HashMap::new();
    let classes = repo_file("crates/gmm/tests/fixtures/mclust/hc_classes.csv");
    let mut checked = 0;
    for line in classes.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (name, k) = (f[0], f[1].parse::<usize>().unwrap());
        // mclust numbers classes 1..K in order of first appearance, as `partition` does 0..K.
        let expected: Vec<usize> = f[2]
            .split(' ')
            .map(|v| v.parse::<usize>().unwrap() - 1)
            .collect();
        let t = trees
            .entry(name.to_string())
            .or_insert_with(|| tree(&read_matrix(&files[name]), StoredScatter::Mclust));
        assert_eq!(t.partition(k).unwrap(), expected, "{name}, K = {k}");
        checked += 1;
    }
    assert_eq!(checked, 160, "ten data sets, K = 1..16");
}

#[test]
fn merge_costs_are_mclusts_and_the_exact_criterion_differs() {
    for name in ["faithful", "diabetes"] {
        let x = read_matrix(&data_files()[name]);
        let expected: Vec<f64> = repo_file(&format!(
            "crates/gmm/tests/fixtures/mclust/hc_pairs_{name}.csv"
        ))
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
        .collect();
        let mclust = tree(&x, StoredScatter::Mclust);
        assert_eq!(mclust.merges().len(), expected.len());
        for (step, (m, e)) in mclust.merges().iter().zip(&expected).enumerate() {
            assert!(
                (m.cost - e).abs() <= 1e-10 * e.abs().max(1.0),
                "{name} merge {}: {} vs mclust {e}",
                step + 1,
                m.cost
            );
        }
        // The published criterion, computed exactly, prices the last merges differently.
        let exact = tree(&x, StoredScatter::Exact);
        let last = expected.len() - 1;
        assert!(
            (exact.merges()[last].cost - expected[last]).abs() > 1e-3,
            "{name}"
        );
    }
}
