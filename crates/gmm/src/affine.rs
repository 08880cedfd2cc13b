//! Changing units: a mixture fitted to z = (x − shift) / scale, column by column, expressed as
//! the mixture of x ([`GaussianMixture::affine_transform`]), and the column z-scores that
//! such a fit starts from ([`Standardization`]).
//!
//! Why: fitting on z-scores makes every column count equally for the starts that measure
//! distances (k-means) and for a `reg_covar` ridge, but a user wants the parameters, the
//! log-likelihood and a saved model in the units of the data. EM itself is equivariant under
//! this change of units for `full`, `diag` and `tied` covariances, so nothing is lost by
//! fitting in one set of units and reporting in the other.
//!
//! A `spherical` covariance σ²I becomes σ² diag(s)², which is spherical only when every
//! scale s_j is the same: [`GaussianMixture::affine_transform`] refuses unequal scales for
//! it rather than silently turning the model into another structure (with another number of
//! free parameters).

use std::fmt;

use em_core::EmError;
use nalgebra::DMatrix;

use crate::gaussian::{CovarianceType, Covariances};
use crate::mixture::GaussianMixture;

impl GaussianMixture {
    /// The mixture of x = shift + scale ∘ z (column j: x_j = shift_j + scale_j z_j) when z
    /// follows `self`: means μ = shift + scale ∘ μ_z, covariances Σ = S Σ_z S with
    /// S = diag(scale). The densities then satisfy
    /// log p_x(x) = log p_z(z) − Σ_j log scale_j, so the log-likelihood of N rows moves by
    /// −N Σ_j log scale_j, and BIC and AIC by twice that; the weights, responsibilities and
    /// predictions do not change.
    ///
    /// The M-step options (`reg_covar`, the prior) are in the old units, where a ridge on
    /// every variance means something else; the result has none (`reg_covar` 0, no prior).
    /// What a NaN means ([`missing_values`](Self::missing_values)) does not depend on the
    /// units and is kept. (With missing values, a row's log-density moves by the log scales
    /// of its observed coordinates only.)
    ///
    /// # Errors
    /// [`EmError::InvalidParameter`] when `scale` or `shift` does not have one value per
    /// feature, a scale is not finite and > 0, a shift is not finite, or the covariance is
    /// spherical and the scales are not all equal (σ² diag(s)² is not spherical: fit `diag`
    /// instead); [`EmError::NotPositiveDefinite`] if a transformed covariance underflows or
    /// overflows.
    ///
    /// ```
    /// use gmm::{Covariances, GaussianMixture};
    /// use nalgebra::{dmatrix, dvector};
    /// let z = GaussianMixture::new(
    ///     dvector![1.0],
    ///     dmatrix![0.5, -1.0],
    ///     Covariances::Diag(dmatrix![1.0, 4.0]),
    /// )?;
    /// // x_0 = 10 + 2 z_0, x_1 = −3 + 0.5 z_1.
    /// let x = z.affine_transform(&[2.0, 0.5], &[10.0, -3.0])?;
    /// assert_eq!(x.means(), &dmatrix![11.0, -3.5]);
    /// assert_eq!(x.covariance(0).unwrap(), dmatrix![4.0, 0.0; 0.0, 1.0]);
    /// let (pz, px) = (z.score_samples(&dmatrix![0.0, 0.0])?, x.score_samples(&dmatrix![10.0, -3.0])?);
    /// assert!((px[0] - (pz[0] - (2.0f64 * 0.5).ln())).abs() < 1e-12);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn affine_transform(
        &self,
        scale: &[f64],
        shift: &[f64],
    ) -> Result<GaussianMixture, EmError> {
        let d = self.n_features();
        for (name, v) in [("scale", scale), ("shift", shift)] {
            if v.len() != d {
                return Err(EmError::InvalidParameter {
                    name,
                    reason: format!("{} values for {d} features", v.len()),
                });
            }
        }
        if let Some((j, s)) = scale
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s > 0.0))
        {
            return Err(EmError::InvalidParameter {
                name: "scale",
                reason: format!("scale[{j}] is {s}; every scale must be finite and > 0"),
            });
        }
        if let Some((j, m)) = shift.iter().enumerate().find(|(_, m)| !m.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "shift",
                reason: format!("shift[{j}] is {m}; every shift must be finite"),
            });
        }
        let k = self.n_components();
        let means = DMatrix::from_fn(k, d, |c, j| shift[j] + scale[j] * self.means()[(c, j)]);
        let sandwich =
            |m: &DMatrix<f64>| DMatrix::from_fn(d, d, |i, j| scale[i] * m[(i, j)] * scale[j]);
        let covariances = match self.covariances() {
            Covariances::Full(c) => Covariances::Full(c.iter().map(sandwich).collect()),
            Covariances::Tied(c) => Covariances::Tied(sandwich(c)),
            Covariances::Diag(v) => Covariances::Diag(DMatrix::from_fn(k, d, |c, j| {
                v[(c, j)] * scale[j] * scale[j]
            })),
            Covariances::Spherical(v) => {
                if let Some(j) = (1..d).find(|&j| scale[j] != scale[0]) {
                    return Err(EmError::InvalidParameter {
                        name: "scale",
                        reason: format!(
                            "a spherical covariance σ²I becomes σ² diag(scale)², which is not \
                             spherical when the scales differ (scale[0] = {}, scale[{j}] = {}); \
                             fit a diag covariance instead",
                            scale[0], scale[j]
                        ),
                    });
                }
                Covariances::Spherical(v.map(|s| s * scale[0] * scale[0]))
            }
        };
        Ok(GaussianMixture::new_in_context(
            self.weights().clone(),
            means,
            covariances,
            "transformed covariances",
        )?
        .with_missing_values(self.missing_values()))
    }
}

/// Column z-scores: the centre m_j (the column mean) and scale s_j (the sample standard
/// deviation, divisor N − 1, as R's `scale()`) of every column, so that z = (x − m) / s.
///
/// A model fitted to [`apply`](Self::apply)`(x)` is brought back to the units of x by
/// [`to_original`](Self::to_original), and a log-likelihood by
/// [`log_likelihood_shift`](Self::log_likelihood_shift).
///
/// ```
/// use gmm::{GaussianMixture, Standardization};
/// use nalgebra::dmatrix;
/// let x = dmatrix![1.0, 100.0; 2.0, 300.0; 4.0, 200.0; 5.0, 600.0];
/// let st = Standardization::of(&x)?;
/// let z = st.apply(&x)?;
/// let fit = GaussianMixture::builder(1).fit(&z)?;
/// let model = st.to_original(&fit.model)?;
/// // The same log-likelihood as a fit in the original units.
/// let ll_z = fit.model.log_likelihood_total(&z)?;
/// let ll_x = model.log_likelihood_total(&x)?;
/// assert!((ll_x - (ll_z + st.log_likelihood_shift(4))).abs() < 1e-9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Standardization {
    /// Column means m_j.
    pub center: Vec<f64>,
    /// Column standard deviations s_j (all > 0).
    pub scale: Vec<f64>,
}

/// Why data cannot be standardised.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StandardizeError {
    /// Fewer than two rows: no standard deviation.
    TooFewRows {
        /// The rows there are.
        n_rows: usize,
    },
    /// A ±∞ value.
    NonFinite {
        /// Zero-based row.
        row: usize,
        /// Zero-based column.
        column: usize,
    },
    /// A column with one value in every row has standard deviation 0 and no z-score.
    ConstantColumn {
        /// Zero-based column.
        column: usize,
        /// Its value.
        value: f64,
    },
    /// The data do not have the columns the standardisation was computed on.
    WrongColumns {
        /// The columns expected.
        expected: usize,
        /// The columns found.
        found: usize,
    },
}

impl fmt::Display for StandardizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StandardizeError::TooFewRows { n_rows } => write!(
                f,
                "cannot standardise {n_rows} row{}: a standard deviation needs at least 2",
                if *n_rows == 1 { "" } else { "s" }
            ),
            StandardizeError::NonFinite { row, column } => write!(
                f,
                "cannot standardise: row {row}, column {column} is not a finite number"
            ),
            StandardizeError::ConstantColumn { column, value } => write!(
                f,
                "cannot standardise column {column}: it is constant (every value is {value}), \
                 so its standard deviation is 0; drop it"
            ),
            StandardizeError::WrongColumns { expected, found } => write!(
                f,
                "cannot standardise: {found} columns, but the standardisation has {expected}"
            ),
        }
    }
}

impl std::error::Error for StandardizeError {}

impl Standardization {
    /// The means and sample standard deviations of the columns of `x`, over their observed
    /// values (a NaN is a missing value and is left out; it stays NaN in the z-scores).
    ///
    /// # Errors
    /// [`StandardizeError::TooFewRows`] below 2 rows (or 2 observed values in a column),
    /// [`StandardizeError::NonFinite`] naming the first ±∞, [`StandardizeError::ConstantColumn`] naming the first column whose
    /// standard deviation is 0 (or so small next to its mean that it is rounding).
    pub fn of(x: &DMatrix<f64>) -> Result<Self, StandardizeError> {
        let n = x.nrows();
        if n < 2 {
            return Err(StandardizeError::TooFewRows { n_rows: n });
        }
        let mut center = Vec::with_capacity(x.ncols());
        let mut scale = Vec::with_capacity(x.ncols());
        for (j, col) in x.column_iter().enumerate() {
            if let Some(row) = col.iter().position(|v| v.is_infinite()) {
                return Err(StandardizeError::NonFinite { row, column: j });
            }
            // A missing value (NaN) does not count: the moments are of the observed values.
            let observed: Vec<f64> = col.iter().copied().filter(|v| !v.is_nan()).collect();
            let m = observed.len();
            if m < 2 {
                return Err(StandardizeError::TooFewRows { n_rows: m });
            }
            // Computed on the column divided by its largest magnitude, so that values near
            // the largest f64 do not overflow the sum of squares.
            let big = observed.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            if big == 0.0 {
                return Err(StandardizeError::ConstantColumn {
                    column: j,
                    value: observed[0],
                });
            }
            let mean = observed.iter().map(|v| v / big).sum::<f64>() / m as f64;
            let ss: f64 = observed.iter().map(|v| (v / big - mean).powi(2)).sum();
            let (mean, s) = (mean * big, (ss / (m - 1) as f64).sqrt() * big);
            // Rounding alone leaves a spread of about ε|mean| in a constant column.
            if !(mean.is_finite() && s.is_finite()) || s <= 4.0 * f64::EPSILON * mean.abs() {
                return Err(StandardizeError::ConstantColumn {
                    column: j,
                    value: observed[0],
                });
            }
            center.push(mean);
            scale.push(s);
        }
        Ok(Standardization { center, scale })
    }

    /// The z-scores (x − m) / s of `x`, column by column.
    ///
    /// # Errors
    /// [`StandardizeError::WrongColumns`] when `x` does not have one column per scale.
    pub fn apply(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>, StandardizeError> {
        if x.ncols() != self.scale.len() {
            return Err(StandardizeError::WrongColumns {
                expected: self.scale.len(),
                found: x.ncols(),
            });
        }
        Ok(DMatrix::from_fn(x.nrows(), x.ncols(), |i, j| {
            (x[(i, j)] - self.center[j]) / self.scale[j]
        }))
    }

    /// The mixture fitted to z-scores, in the original units:
    /// [`GaussianMixture::affine_transform`] with this scale and centre.
    ///
    /// # Errors
    /// As [`GaussianMixture::affine_transform`]; in particular a spherical model with
    /// unequal scales.
    pub fn to_original(&self, model: &GaussianMixture) -> Result<GaussianMixture, EmError> {
        model.affine_transform(&self.scale, &self.center)
    }

    /// A mixture in the original units expressed on z-scores (the inverse of
    /// [`to_original`](Self::to_original)): for starting a fit on z-scores from a model
    /// fitted before.
    ///
    /// # Errors
    /// As [`GaussianMixture::affine_transform`].
    pub fn to_standardized(&self, model: &GaussianMixture) -> Result<GaussianMixture, EmError> {
        let scale: Vec<f64> = self.scale.iter().map(|s| 1.0 / s).collect();
        let shift: Vec<f64> = self
            .center
            .iter()
            .zip(&self.scale)
            .map(|(m, s)| -m / s)
            .collect();
        model.affine_transform(&scale, &shift)
    }

    /// What to add to a log-likelihood of `n_rows` z-scores to get that of the original
    /// rows: −N Σ_j log s_j (the log-Jacobian of the change of units).
    pub fn log_likelihood_shift(&self, n_rows: usize) -> f64 {
        -(n_rows as f64) * self.scale.iter().map(|s| s.ln()).sum::<f64>()
    }

    /// [`log_likelihood_shift`](Self::log_likelihood_shift) for data `x` with missing values
    /// (NaN): a row's density is that of its observed values only, so the change of units
    /// counts each observed value once, −Σ_j (values observed in column j) · log s_j. Equal
    /// to `log_likelihood_shift(x.nrows())` for complete data.
    ///
    /// ```
    /// use gmm::Standardization;
    /// use nalgebra::dmatrix;
    /// let x = dmatrix![1.0, 10.0; 2.0, f64::NAN; 4.0, 30.0];
    /// let st = Standardization::of(&x)?;
    /// let expected = -3.0 * st.scale[0].ln() - 2.0 * st.scale[1].ln();
    /// assert!((st.log_likelihood_shift_of(&x) - expected).abs() < 1e-12);
    /// # Ok::<(), gmm::StandardizeError>(())
    /// ```
    pub fn log_likelihood_shift_of(&self, x: &DMatrix<f64>) -> f64 {
        -x.column_iter()
            .zip(&self.scale)
            .map(|(col, s)| col.iter().filter(|v| !v.is_nan()).count() as f64 * s.ln())
            .sum::<f64>()
    }

    /// Whether `kind` stays the same structure in the original units: every structure but
    /// `spherical`, which does only when all scales are equal.
    pub fn preserves(&self, kind: CovarianceType) -> bool {
        kind != CovarianceType::Spherical || self.scale.iter().all(|&s| s == self.scale[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{dmatrix, dvector};
    use proptest::prelude::*;

    fn models() -> Vec<GaussianMixture> {
        let a = dmatrix![2.0, 0.3, -0.2; 0.3, 1.0, 0.1; -0.2, 0.1, 0.5];
        let w = dvector![0.25, 0.75];
        let mu = dmatrix![0.0, 1.0, -1.0; 2.0, -0.5, 0.3];
        vec![
            GaussianMixture::new(
                w.clone(),
                mu.clone(),
                Covariances::Full(vec![a.clone(), a.clone() * 0.3]),
            )
            .unwrap(),
            GaussianMixture::new(w.clone(), mu.clone(), Covariances::Tied(a.clone())).unwrap(),
            GaussianMixture::new(
                w.clone(),
                mu.clone(),
                Covariances::Diag(dmatrix![1.0, 0.5, 2.0; 0.1, 3.0, 0.7]),
            )
            .unwrap(),
        ]
    }

    /// log p_x(x) = log p_z(z) − Σ log s_j at every row, for every structure.
    fn check_densities(scale: &[f64], shift: &[f64], z: &DMatrix<f64>) {
        let x = DMatrix::from_fn(z.nrows(), z.ncols(), |i, j| shift[j] + scale[j] * z[(i, j)]);
        let log_jacobian: f64 = scale.iter().map(|s| s.ln()).sum();
        for m in models() {
            let t = m.affine_transform(scale, shift).unwrap();
            assert_eq!(t.covariance_type(), m.covariance_type());
            let (pz, px) = (m.score_samples(z).unwrap(), t.score_samples(&x).unwrap());
            for i in 0..z.nrows() {
                let want = pz[i] - log_jacobian;
                assert!(
                    (px[i] - want).abs() <= 1e-9 * (1.0 + want.abs()),
                    "{}: row {i}: {} vs {want}",
                    m.covariance_type(),
                    px[i]
                );
            }
            assert_eq!(m.predict(z).unwrap(), t.predict(&x).unwrap());
        }
    }

    #[test]
    fn densities_move_by_the_log_jacobian() {
        let z = dmatrix![0.0, 0.0, 0.0; 1.0, -2.0, 0.5; -1.5, 0.3, 2.0; 3.0, 1.0, -1.0];
        check_densities(&[2.0, 0.01, 300.0], &[-5.0, 1e3, 0.25], &z);
    }

    #[test]
    fn round_trip_through_the_inverse_transform() {
        let (s, m) = ([2.0, 0.5, 4.0], [1.0, -2.0, 3.0]);
        let inv_s: Vec<f64> = s.iter().map(|v| 1.0 / v).collect();
        let inv_m: Vec<f64> = m.iter().zip(&s).map(|(m, s)| -m / s).collect();
        for g in models() {
            let back = g
                .affine_transform(&s, &m)
                .unwrap()
                .affine_transform(&inv_s, &inv_m)
                .unwrap();
            assert!((back.means() - g.means()).amax() < 1e-12);
            for k in 0..2 {
                let d = back.covariance(k).unwrap() - g.covariance(k).unwrap();
                assert!(d.amax() < 1e-12);
            }
        }
    }

    #[test]
    fn spherical_needs_equal_scales() {
        let g = GaussianMixture::new(
            dvector![1.0],
            dmatrix![0.0, 0.0],
            Covariances::Spherical(dvector![2.0]),
        )
        .unwrap();
        let t = g.affine_transform(&[3.0, 3.0], &[1.0, 1.0]).unwrap();
        assert_eq!(t.covariances(), &Covariances::Spherical(dvector![18.0]));
        let e = g.affine_transform(&[1.0, 2.0], &[0.0, 0.0]).unwrap_err();
        assert!(e.to_string().contains("diag"), "{e}");
    }

    #[test]
    fn bad_scales_are_named() {
        let g = &models()[0];
        for (scale, shift, needle) in [
            (vec![1.0, 0.0, 1.0], vec![0.0; 3], "scale[1]"),
            (vec![1.0, 1.0, f64::NAN], vec![0.0; 3], "scale[2]"),
            (vec![1.0; 2], vec![0.0; 3], "2 values for 3 features"),
            (vec![1.0; 3], vec![0.0, f64::INFINITY, 0.0], "shift[1]"),
        ] {
            let e = g.affine_transform(&scale, &shift).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
    }

    #[test]
    fn standardization_names_a_constant_column() {
        let x = dmatrix![1.0, 3.0; 2.0, 3.0; 4.0, 3.0];
        assert_eq!(
            Standardization::of(&x),
            Err(StandardizeError::ConstantColumn {
                column: 1,
                value: 3.0
            })
        );
        // 0.1 + 0.2 and 0.3 differ by rounding only.
        let x = dmatrix![1.0, 0.1 + 0.2; 2.0, 0.3; 4.0, 0.3];
        assert!(matches!(
            Standardization::of(&x),
            Err(StandardizeError::ConstantColumn { column: 1, .. })
        ));
        // Near the largest f64: no overflow.
        let st = Standardization::of(&dmatrix![1e308; -1e308; 0.0]).unwrap();
        assert!((st.scale[0] - 1e308).abs() < 1e293 && st.center[0].abs() < 1e293);
        assert_eq!(
            Standardization::of(&dmatrix![1.0, 2.0]),
            Err(StandardizeError::TooFewRows { n_rows: 1 })
        );
    }

    #[test]
    fn z_scores_have_mean_zero_and_unit_variance() {
        let x = dmatrix![1.0, 100.0; 2.0, 300.0; 4.0, 200.0; 5.0, 600.0];
        let st = Standardization::of(&x).unwrap();
        let z = st.apply(&x).unwrap();
        for col in z.column_iter() {
            assert!(col.mean().abs() < 1e-12);
            assert!((col.variance() * 4.0 / 3.0 - 1.0).abs() < 1e-12);
        }
        assert!(st.apply(&dmatrix![1.0]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// For any positive scales (10⁻⁶…10⁶) and shifts, densities move by the log-Jacobian and
        /// predictions do not change.
        #[test]
        fn any_affine_change_of_units_moves_densities_by_the_log_jacobian(
            scale in proptest::collection::vec(-6.0..6.0f64, 3),
            offset in proptest::collection::vec(-100.0..100.0f64, 3),
            z in proptest::collection::vec(-4.0..4.0f64, 15),
        ) {
            let scale: Vec<f64> = scale.iter().map(|e| 10f64.powf(*e)).collect();
            // A shift of up to 100 scales: further out, x = shift + s z would no longer hold
            // z to the tolerance (the test's rounding, not the transform's).
            let shift: Vec<f64> = offset.iter().zip(&scale).map(|(o, s)| o * s).collect();
            let z = DMatrix::from_row_slice(5, 3, &z);
            check_densities(&scale, &shift, &z);
        }
    }
}
