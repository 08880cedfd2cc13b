//! The models an aggregate can E-step, and how their statistics travel as Arrow `Float64`
//! values.
//!
//! A partial aggregate's state crosses partitions (and, on a cluster, processes), so the
//! statistics of a model must be written as a flat run of `f64` and read back exactly. The
//! layout is fixed by the model's shape (K components, D features, the covariance structure),
//! which both ends know from the parameters the query carries.

use em_core::{EmError, LatentModel};
use gmm::gaussian::{GaussianStats, Scatter};
use gmm::student::StudentStats;
use gmm::{CovarianceType, GaussianMixture, MissingValues, StudentMixture};
use nalgebra::{DMatrix, DVector};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A model whose E-step can run as a DataFusion aggregate: its data are the rows of a matrix
/// (one table column per feature), its parameters travel in the query as JSON, and its
/// statistics as a flat run of `f64`.
///
/// `write_stats` and `read_stats` must be exact inverses for statistics of this model's shape
/// (`stats_len` values): the result of a fit on DataFusion is then the result of merging the
/// same per-batch statistics in memory.
pub trait EngineModel:
    LatentModel<Data = DMatrix<f64>>
    + Clone
    + std::fmt::Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The name of the aggregate function that E-steps this model (`em_e_step_gmm` …).
    const FUNCTION: &'static str;

    /// How many `f64` the statistics of this model take.
    fn stats_len(&self) -> usize;

    /// Appends the statistics to `out` (exactly [`stats_len`](Self::stats_len) values).
    fn write_stats(&self, stats: &Self::Stats, out: &mut Vec<f64>);

    /// Reads statistics written by [`write_stats`](Self::write_stats) for a model of this
    /// shape.
    ///
    /// # Errors
    /// [`EmError::Io`] when `flat` does not hold `stats_len` values (a state written for
    /// another model).
    fn read_stats(&self, flat: &[f64]) -> Result<Self::Stats, EmError>;

    /// Number of features (table columns) the model is fitted on.
    fn n_features(&self) -> usize;

    /// Whether a missing value (a SQL `NULL`, read as NaN) is part of the model rather than
    /// an error.
    fn accepts_missing(&self) -> bool {
        false
    }
}

impl EngineModel for GaussianMixture {
    const FUNCTION: &'static str = "em_e_step_gmm";

    fn stats_len(&self) -> usize {
        gaussian_stats_len(
            self.n_components(),
            self.n_features(),
            self.covariance_type(),
        )
    }

    fn write_stats(&self, stats: &GaussianStats, out: &mut Vec<f64>) {
        write_gaussian(stats, out);
    }

    fn read_stats(&self, flat: &[f64]) -> Result<GaussianStats, EmError> {
        check_len(flat, self.stats_len())?;
        let mut reader = Reader(flat);
        Ok(read_gaussian(
            &mut reader,
            self.n_components(),
            self.n_features(),
            self.covariance_type(),
        ))
    }

    fn n_features(&self) -> usize {
        GaussianMixture::n_features(self)
    }

    fn accepts_missing(&self) -> bool {
        self.missing_values() == MissingValues::Model
    }
}

impl EngineModel for StudentMixture {
    const FUNCTION: &'static str = "em_e_step_student";

    fn stats_len(&self) -> usize {
        let k = self.n_components();
        3 * k + gaussian_stats_len(k, self.n_features(), self.covariance_type())
    }

    fn write_stats(&self, stats: &StudentStats, out: &mut Vec<f64>) {
        out.extend_from_slice(&stats.n);
        out.extend_from_slice(&stats.log_u);
        out.extend_from_slice(&stats.entropy);
        write_gaussian(&stats.weighted, out);
    }

    fn read_stats(&self, flat: &[f64]) -> Result<StudentStats, EmError> {
        check_len(flat, self.stats_len())?;
        let k = self.n_components();
        let mut reader = Reader(flat);
        let n = reader.take(k).to_vec();
        let log_u = reader.take(k).to_vec();
        let entropy = reader.take(k).to_vec();
        let weighted = read_gaussian(&mut reader, k, self.n_features(), self.covariance_type());
        Ok(StudentStats {
            n,
            weighted,
            log_u,
            entropy,
        })
    }

    fn n_features(&self) -> usize {
        StudentMixture::n_features(self)
    }
}

/// K + K·D + (K·D·D or K·D) + 1: the counts, the means, the scatter, the conditional entropy.
fn gaussian_stats_len(k: usize, d: usize, kind: CovarianceType) -> usize {
    let scatter = match kind {
        CovarianceType::Full | CovarianceType::Tied => k * d * d,
        CovarianceType::Diag | CovarianceType::Spherical => k * d,
    };
    k + k * d + scatter + 1
}

fn write_gaussian(stats: &GaussianStats, out: &mut Vec<f64>) {
    out.extend_from_slice(stats.n.as_slice());
    out.extend_from_slice(stats.means.as_slice());
    match &stats.scatter {
        Scatter::Full(matrices) => matrices
            .iter()
            .for_each(|m| out.extend_from_slice(m.as_slice())),
        Scatter::Diag(diagonals) => out.extend_from_slice(diagonals.as_slice()),
    }
    out.push(stats.conditional_entropy);
}

/// Reads what [`write_gaussian`] wrote; the caller has checked the length.
fn read_gaussian(
    reader: &mut Reader<'_>,
    k: usize,
    d: usize,
    kind: CovarianceType,
) -> GaussianStats {
    let n = DVector::from_column_slice(reader.take(k));
    let means = DMatrix::from_column_slice(k, d, reader.take(k * d));
    let scatter = match kind {
        CovarianceType::Full | CovarianceType::Tied => Scatter::Full(
            (0..k)
                .map(|_| DMatrix::from_column_slice(d, d, reader.take(d * d)))
                .collect(),
        ),
        CovarianceType::Diag | CovarianceType::Spherical => {
            Scatter::Diag(DMatrix::from_column_slice(k, d, reader.take(k * d)))
        }
    };
    let conditional_entropy = reader.take(1)[0];
    GaussianStats {
        n,
        means,
        scatter,
        conditional_entropy,
    }
}

fn check_len(flat: &[f64], expected: usize) -> Result<(), EmError> {
    if flat.len() == expected {
        Ok(())
    } else {
        Err(EmError::Io {
            origin: "the aggregate's statistics".into(),
            line: None,
            column: None,
            reason: format!(
                "{} values where the model's statistics take {expected}",
                flat.len()
            ),
        })
    }
}

/// Consecutive slices of a flat run whose length was checked against the layout.
struct Reader<'a>(&'a [f64]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> &'a [f64] {
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gmm::Covariances;

    fn mixture(kind: CovarianceType) -> GaussianMixture {
        let covariances = match kind {
            CovarianceType::Full => Covariances::Full(vec![DMatrix::identity(2, 2); 2]),
            CovarianceType::Tied => Covariances::Tied(DMatrix::identity(2, 2)),
            CovarianceType::Diag => Covariances::Diag(DMatrix::from_element(2, 2, 1.0)),
            CovarianceType::Spherical => Covariances::Spherical(DVector::from_element(2, 1.0)),
        };
        GaussianMixture::new(
            DVector::from_vec(vec![0.5, 0.5]),
            DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 3.0, 1.0]),
            covariances,
        )
        .expect("a valid mixture")
    }

    #[test]
    fn gaussian_statistics_round_trip_bit_for_bit() {
        let x = DMatrix::from_row_slice(4, 2, &[0.1, -0.3, 2.9, 1.2, 0.4, 0.0, 3.3, 0.7]);
        for kind in [
            CovarianceType::Full,
            CovarianceType::Tied,
            CovarianceType::Diag,
            CovarianceType::Spherical,
        ] {
            let model = mixture(kind);
            let stats = model.e_step(&x, 0..4).expect("an E-step").stats;
            let mut flat = Vec::new();
            model.write_stats(&stats, &mut flat);
            assert_eq!(flat.len(), model.stats_len(), "{kind:?}");
            assert_eq!(
                model.read_stats(&flat).expect("read back"),
                stats,
                "{kind:?}"
            );
            assert!(matches!(
                model.read_stats(&flat[1..]),
                Err(EmError::Io { .. })
            ));
        }
    }
}
