//! numpy ⇄ nalgebra.
//!
//! The crates take owned, column-major `DMatrix<f64>`s, so reading an array costs one copy: a
//! plain `memcpy` when the array is F-contiguous (nalgebra's own layout), a row-by-row copy
//! that transposes when it is C-contiguous, and an element-wise gather for any other strides.
//! The copy is made once per call (not per EM iteration) and with the GIL released.

use nalgebra::{DMatrix, DVector};
use numpy::ndarray::{Array1, Array2, Array3, ArrayView2, ArrayViewD};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayDyn};
use pyo3::prelude::*;

use crate::invalid;

/// A 2-D view as an owned column-major matrix (see the module documentation for the cost).
pub(crate) fn matrix(view: ArrayView2<'_, f64>) -> DMatrix<f64> {
    let (n, d) = view.dim();
    if let Some(column_major) = view.t().as_slice() {
        DMatrix::from_column_slice(n, d, column_major)
    } else if let Some(row_major) = view.as_slice() {
        DMatrix::from_row_slice(n, d, row_major)
    } else {
        DMatrix::from_fn(n, d, |i, j| view[(i, j)])
    }
}

/// The same as [`matrix`] for an array of any dimension that must be 2-D.
pub(crate) fn matrix_dyn(name: &str, view: &ArrayViewD<'_, f64>) -> PyResult<DMatrix<f64>> {
    let view = view
        .view()
        .into_dimensionality::<numpy::ndarray::Ix2>()
        .map_err(|_| invalid(name, format!("expected a 2-D array, got {}-D", view.ndim())))?;
    Ok(matrix(view))
}

/// A 1-D array as a vector, which must be 1-D.
pub(crate) fn vector_dyn(name: &str, view: &ArrayViewD<'_, f64>) -> PyResult<DVector<f64>> {
    if view.ndim() != 1 {
        return Err(invalid(
            name,
            format!("expected a 1-D array, got {}-D", view.ndim()),
        ));
    }
    Ok(DVector::from_iterator(view.len(), view.iter().copied()))
}

/// A stack of `k` square matrices (k×d×d) as a Vec of matrices.
pub(crate) fn matrices_dyn(name: &str, view: &ArrayViewD<'_, f64>) -> PyResult<Vec<DMatrix<f64>>> {
    let view = view
        .view()
        .into_dimensionality::<numpy::ndarray::Ix3>()
        .map_err(|_| invalid(name, format!("expected a 3-D array, got {}-D", view.ndim())))?;
    Ok(view.outer_iter().map(matrix).collect())
}

/// A matrix as a C-ordered numpy array (what numpy users and scikit-learn expect).
pub(crate) fn to_numpy2<'py>(py: Python<'py>, m: &DMatrix<f64>) -> Bound<'py, PyArray2<f64>> {
    Array2::from_shape_fn(m.shape(), |(i, j)| m[(i, j)]).into_pyarray(py)
}

pub(crate) fn to_numpy1<'py>(py: Python<'py>, v: &[f64]) -> Bound<'py, PyArray1<f64>> {
    Array1::from(v.to_vec()).into_pyarray(py)
}

/// K matrices of d×d as a k×d×d array.
pub(crate) fn to_numpy3<'py>(
    py: Python<'py>,
    ms: &[DMatrix<f64>],
    d: usize,
) -> Bound<'py, PyArrayDyn<f64>> {
    Array3::from_shape_fn((ms.len(), d, d), |(k, i, j)| ms[k][(i, j)])
        .into_dyn()
        .into_pyarray(py)
}
