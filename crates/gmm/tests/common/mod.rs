//! Data, models and a chunk source shared by the missing-values tests.
#![allow(dead_code)]

use em_core::testing::Tolerance;
use gmm::{Covariances, GaussianMixture, Prior};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Slack for the invariant checker.
pub const TOL: Tolerance = Tolerance {
    relative: 1e-9,
    absolute: 1e-9,
};

/// `x` with each entry set to NaN with probability `rate` (a row keeps at least one value).
pub fn knock_out(x: &DMatrix<f64>, rate: f64, seed: u64) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = x.clone();
    for i in 0..x.nrows() {
        for j in 0..x.ncols() {
            if rng.random::<f64>() < rate {
                out[(i, j)] = f64::NAN;
            }
        }
        if out.row(i).iter().all(|v| v.is_nan()) {
            let j = i % x.ncols();
            out[(i, j)] = x[(i, j)];
        }
    }
    out
}

/// A proper conjugate prior in `d` dimensions.
pub fn prior(d: usize) -> Prior {
    Prior {
        weight_concentration: 2.0,
        mean: DVector::from_element(d, 0.5),
        mean_precision: 0.5,
        dof: d as f64 + 1.5,
        scale: DMatrix::identity(d, d) * 2.0 + DMatrix::from_element(d, d, 0.1),
    }
}

/// Three well-separated, correlated components in 3-D.
pub fn truth() -> GaussianMixture {
    GaussianMixture::new(
        dvector![0.5, 0.3, 0.2],
        dmatrix![0.0, 0.0, 0.0; 5.0, 4.0, -3.0; -4.0, 6.0, 3.0],
        Covariances::Full(vec![
            dmatrix![2.0, 0.9, 0.4; 0.9, 1.5, 0.6; 0.4, 0.6, 1.0],
            dmatrix![1.0, -0.5, 0.2; -0.5, 1.2, 0.0; 0.2, 0.0, 0.8],
            dmatrix![1.5, 0.0, -0.7; 0.0, 0.6, 0.2; -0.7, 0.2, 1.3],
        ]),
    )
    .unwrap()
}

/// The rows of a matrix, chunk by chunk, as a file would give them.
pub struct Rows<'a> {
    pub x: &'a DMatrix<f64>,
    pub next: usize,
}

impl em_core::ChunkSource for Rows<'_> {
    type Chunk = DMatrix<f64>;
    fn rewind(&mut self) -> Result<(), em_core::EmError> {
        self.next = 0;
        Ok(())
    }
    fn next_chunk(&mut self, max: usize) -> Result<Option<DMatrix<f64>>, em_core::EmError> {
        let end = (self.next + max).min(self.x.nrows());
        if self.next == end {
            return Ok(None);
        }
        let chunk = self.x.rows(self.next, end - self.next).into_owned();
        self.next = end;
        Ok(Some(chunk))
    }
}
