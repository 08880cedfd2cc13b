//! The E-step inner loops over one batch of rows.
//!
//! Data are N×D column-major (nalgebra's layout), so the rows a..b of feature j form the
//! contiguous slice `x[j·N + a .. j·N + b]`. Every loop below runs along such slices — over
//! observations, for one feature and one component at a time — which the compiler
//! vectorises, and no per-row allocation happens. Per-batch buffers are component-major:
//! `buf[k·c + i]` is component k, row a + i.

use std::ops::Range;

use nalgebra::{DMatrix, Dyn};

use crate::covariance::{Factor, Factored};
use crate::stats::{GaussianStats, Scatter};

/// nalgebra's threshold (0.35, `blas_uninit.rs`) above which `gemm` on dynamic matrices calls
/// matrixmultiply.
const NALGEBRA_SMALL_DIM: usize = 5;

/// ½ log 2π.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// The contiguous slice of feature `j` for `rows`.
#[inline]
pub(crate) fn column<'a>(x: &'a DMatrix<f64>, j: usize, rows: &Range<usize>) -> &'a [f64] {
    let n = x.nrows();
    &x.as_slice()[j * n + rows.start..j * n + rows.end]
}

/// Writes log π_k + log N(x_i | μ_k, Σ_k) for every row i of the batch and component k into
/// `out[k·c + i]`; without `log_weights`, log N(x_i | μ_k, Σ_k) alone. `scratch` is resized as
/// needed (D·c for full and tied models).
pub(crate) fn log_joint(
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    log_weights: Option<&[f64]>,
    means: &DMatrix<f64>,
    factored: &Factored,
    out: &mut [f64],
    scratch: &mut Vec<f64>,
) {
    let c = rows.len();
    let d = x.ncols();
    let k_count = means.nrows();
    debug_assert_eq!(out.len(), k_count * c);
    let log_norm = d as f64 * HALF_LN_2PI;
    for k in 0..k_count {
        let maha = &mut out[k * c..(k + 1) * c];
        maha.fill(0.0);
        match &factored.factor {
            Factor::Full(ls) => triangular_maha(x, rows, means, k, &ls[k], maha, scratch),
            Factor::Tied(l) => triangular_maha(x, rows, means, k, l, maha, scratch),
            Factor::Diag(prec) => {
                for j in 0..d {
                    let (mu, p) = (means[(k, j)], prec[(k, j)]);
                    for (m, &xi) in maha.iter_mut().zip(column(x, j, rows)) {
                        let z = xi - mu;
                        *m += z * z * p;
                    }
                }
            }
            Factor::Spherical(prec) => {
                for j in 0..d {
                    let mu = means[(k, j)];
                    for (m, &xi) in maha.iter_mut().zip(column(x, j, rows)) {
                        let z = xi - mu;
                        *m += z * z;
                    }
                }
                maha.iter_mut().for_each(|m| *m *= prec[k]);
            }
        }
        let log_det = match &factored.factor {
            Factor::Tied(_) => factored.log_det[0],
            _ => factored.log_det[k],
        };
        let log_weight = log_weights.map_or(0.0, |w| w[k]);
        let constant = log_weight - log_norm - 0.5 * log_det;
        maha.iter_mut().for_each(|m| *m = constant - 0.5 * *m);
    }
}

/// Adds ‖L⁻¹(x_i − μ_k)‖² to `maha[i]` by forward substitution, one feature row at a time:
/// y_j = (x_j − μ_kj − Σ_{l<j} L_jl y_l) / L_jj, each step an axpy over the batch.
fn triangular_maha(
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    means: &DMatrix<f64>,
    k: usize,
    l: &DMatrix<f64>,
    maha: &mut [f64],
    scratch: &mut Vec<f64>,
) {
    let c = rows.len();
    let d = x.ncols();
    scratch.resize(d * c, 0.0);
    for j in 0..d {
        let (done, rest) = scratch.split_at_mut(j * c);
        let yj = &mut rest[..c];
        let mu = means[(k, j)];
        for (y, &xi) in yj.iter_mut().zip(column(x, j, rows)) {
            *y = xi - mu;
        }
        for p in 0..j {
            let ljp = l[(j, p)];
            if ljp != 0.0 {
                for (y, &yp) in yj.iter_mut().zip(&done[p * c..(p + 1) * c]) {
                    *y -= ljp * yp;
                }
            }
        }
        let inv = 1.0 / l[(j, j)];
        for (m, y) in maha.iter_mut().zip(yj.iter_mut()) {
            *y *= inv;
            *m += *y * *y;
        }
    }
}

/// Turns the log-joint `lj` (component-major, K×c) into responsibilities in place and
/// returns (Σ w_i log p(x_i), Σ w_i H(γ_i)). `weights` are per-row sample weights of the batch.
pub(crate) fn normalise(
    lj: &mut [f64],
    c: usize,
    weights: Option<&[f64]>,
    lse: &mut Vec<f64>,
) -> (f64, f64) {
    let k_count = lj.len() / c;
    lse.clear();
    lse.resize(c, f64::NEG_INFINITY);
    for k in 0..k_count {
        for (m, &v) in lse.iter_mut().zip(&lj[k * c..(k + 1) * c]) {
            *m = m.max(v);
        }
    }
    // lse temporarily holds the row maxima; accumulate Σ exp(lj − max) in `sums`.
    let mut sums = vec![0.0; c];
    for k in 0..k_count {
        for ((s, &v), &m) in sums.iter_mut().zip(&lj[k * c..(k + 1) * c]).zip(lse.iter()) {
            *s += (v - m).exp();
        }
    }
    for (m, s) in lse.iter_mut().zip(&sums) {
        *m += s.ln();
    }
    let mut entropy = vec![0.0; c];
    for k in 0..k_count {
        for ((v, &m), h) in lj[k * c..(k + 1) * c]
            .iter_mut()
            .zip(lse.iter())
            .zip(entropy.iter_mut())
        {
            let log_g = *v - m;
            let g = log_g.exp();
            if g > 0.0 {
                *h -= g * log_g;
            }
            *v = g;
        }
    }
    match weights {
        None => (lse.iter().sum(), entropy.iter().sum()),
        Some(w) => (
            lse.iter().zip(w).map(|(l, w)| l * w).sum(),
            entropy.iter().zip(w).map(|(h, w)| h * w).sum(),
        ),
    }
}

/// Accumulates the statistics of a batch from its responsibilities `gamma` (component-major,
/// K×c) and optional sample weights. `scratch` is resized as needed.
pub(crate) fn accumulate(
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    gamma: &[f64],
    weights: Option<&[f64]>,
    full_scatter: bool,
    scratch: &mut Vec<f64>,
) -> GaussianStats {
    let c = rows.len();
    let d = x.ncols();
    let k_count = gamma.len() / c;
    let mut stats = GaussianStats::zeros(k_count, d, full_scatter);
    // scratch: c weights g, then D rows of g-weighted centred values, then D rows of centred values.
    scratch.resize(c * (1 + 2 * d), 0.0);
    for k in 0..k_count {
        let (g, rest) = scratch.split_at_mut(c);
        g.copy_from_slice(&gamma[k * c..(k + 1) * c]);
        if let Some(w) = weights {
            g.iter_mut().zip(w).for_each(|(g, w)| *g *= w);
        }
        let nk = g.iter().fold(0.0, |a, b| a + b);
        if nk <= 0.0 {
            continue;
        }
        stats.n[k] = nk;
        let (wdx, dx) = rest.split_at_mut(d * c);
        for j in 0..d {
            let xj = column(x, j, rows);
            // Shift by the batch's first value so that a constant feature has a mean equal to
            // that value exactly, and hence a scatter of exactly 0 (not rounding noise).
            let shift = xj[0];
            let mean = shift
                + xj.iter()
                    .zip(g.iter())
                    .map(|(x, g)| g * (x - shift))
                    .fold(0.0, |a, b| a + b)
                    / nk;
            stats.means[(k, j)] = mean;
            let dxj = &mut dx[j * c..(j + 1) * c];
            let wdxj = &mut wdx[j * c..(j + 1) * c];
            for (((o, w), &xi), &gi) in dxj.iter_mut().zip(wdxj.iter_mut()).zip(xj).zip(g.iter()) {
                *o = xi - mean;
                *w = gi * *o;
            }
        }
        match &mut stats.scatter {
            Scatter::Full(m) => scatter_full(&wdx[..d * c], &dx[..d * c], c, d, &mut m[k]),
            Scatter::Diag(m) => {
                for a in 0..d {
                    m[(k, a)] = dot(&wdx[a * c..(a + 1) * c], &dx[a * c..(a + 1) * c]);
                }
            }
        }
    }
    stats
}

/// M2 = Σ_i w_i (x_i − m)(x_i − m)ᵀ from the feature-major buffers `wdx` (weighted, centred)
/// and `dx` (centred), each D rows of length c: the product WDX · DXᵀ. When every dimension
/// of the product exceeds nalgebra's small-size threshold (5) this is one blocked GEMM
/// (matrixmultiply, through strided views, no copies); otherwise D(D+1)/2 dot products.
/// Below that threshold nalgebra falls back to its own gemv loop, which mishandles these
/// row-strided views (it writes past the output: found by fuzzing), so it is never reached.
fn scatter_full(wdx: &[f64], dx: &[f64], c: usize, d: usize, out: &mut DMatrix<f64>) {
    if d > NALGEBRA_SMALL_DIM && c > NALGEBRA_SMALL_DIM {
        // D×c views of the feature-major buffers: element (j, i) sits at j·c + i.
        let a = nalgebra::DMatrixView::from_slice_with_strides_generic(
            wdx,
            Dyn(d),
            Dyn(c),
            Dyn(c),
            Dyn(1),
        );
        let b = nalgebra::DMatrixView::from_slice_with_strides_generic(
            dx,
            Dyn(c),
            Dyn(d),
            Dyn(1),
            Dyn(c),
        );
        out.gemm(1.0, &a, &b, 0.0);
        // Exact symmetry (GEMM's two triangles can differ in the last bit).
        for j in 0..d {
            for i in 0..j {
                out[(i, j)] = out[(j, i)];
            }
        }
    } else {
        for a in 0..d {
            let wa = &wdx[a * c..(a + 1) * c];
            for b in 0..=a {
                let v = dot(wa, &dx[b * c..(b + 1) * c]);
                out[(a, b)] = v;
                out[(b, a)] = v;
            }
        }
    }
}

/// Σ a_i b_i with four independent partial sums, so the loop vectorises (a single running
/// sum is a dependency chain the compiler may not reorder). Deterministic: the summation
/// order depends only on the length.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (a4.remainder(), b4.remainder());
    for (x, y) in a4.zip(b4) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}
