//! The E-step inner loops over one batch of rows.
//!
//! Data are N×D column-major (nalgebra's layout), so the rows a..b of feature j form the
//! contiguous slice `x[j·N + a .. j·N + b]`. Every loop below runs along such slices — over
//! observations, for one feature and one component at a time — which the compiler
//! vectorises, and no per-row allocation happens. Per-batch buffers are component-major:
//! `buf[k·c + i]` is component k, row a + i.
//!
//! Each entry point is compiled three times — for AVX-512F, for AVX2 and for the build's
//! baseline — and picks the widest the CPU supports at run time (`with_avx2!` in the
//! `fastmath` module). The arithmetic is the same in all three (plain IEEE operations, no
//! FMA, nothing reassociated), so they give the same bits; the wider builds only widen the
//! vectors.
//!
//! Large dimensions go through GEMM (nalgebra's, i.e. matrixmultiply): the triangular solve
//! is blocked recursively — halves solved in turn, the first half's contribution to the
//! second subtracted by one GEMM, forward substitution only within blocks of [`SOLVE_BLOCK`]
//! features — and the scatter Σ γ (x − m)(x − m)ᵀ is computed block by block on
//! and below the diagonal only.

use std::cell::RefCell;
use std::ops::Range;

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, Dyn, MatrixView, U1};
use rayon::prelude::*;

use super::covariance::{Factor, Factored};
use super::fastmath::{
    dot, dot4, exp, ln_in_place, shifted_dot, sum, weighted_square_deviation, with_avx2,
};
use super::stats::{GaussianStats, Scatter};

/// nalgebra's threshold (0.35, `blas_uninit.rs`) above which `gemm` on dynamic matrices calls
/// matrixmultiply. Below it nalgebra falls back to its own gemv loop, which mishandles
/// row-strided views (it writes past the output: found by fuzzing), so every GEMM here checks
/// that all three dimensions exceed it.
const NALGEBRA_SMALL_DIM: usize = 5;

/// Features per leaf of the recursively blocked triangular solve (forward substitution within
/// a leaf; GEMMs between the parts of every split, which are multiples of this width).
const SOLVE_BLOCK: usize = 16;

/// Features per block of the blocked scatter (one GEMM per block on or below the diagonal).
const SCATTER_BLOCK: usize = 64;

/// From this many features on, the scatter is computed by GEMM blocks; below, by dot products
/// (which compute only the lower triangle and beat a small GEMM).
const GEMM_SCATTER_MIN_FEATURES: usize = 33;

/// Target size, in doubles, of one sub-block's feature-major buffer (D × rows): 32 KiB, so
/// that the buffers a sub-block works on stay in the L1/L2 caches.
const BLOCK_ELEMENTS: usize = 4096;

/// Rows per sub-block of an E-step batch for `d` features: a batch processed in sub-blocks
/// of this many rows keeps its per-row buffers (D × rows doubles, about 32 KiB) in the L1/L2
/// caches. From 33 features on, where the kernels use GEMM, it is `usize::MAX` (keep whole
/// batches: a GEMM wants a long inner dimension).
///
/// ```
/// use em_family::gaussian::block_rows;
/// assert_eq!(block_rows(2), 2048);
/// assert_eq!(block_rows(100), usize::MAX);
/// ```
pub fn block_rows(d: usize) -> usize {
    if d >= GEMM_SCATTER_MIN_FEATURES {
        usize::MAX
    } else {
        // A multiple of the register block of the triangular solve, whose leftover rows take
        // a scalar path.
        (BLOCK_ELEMENTS / d.max(1) / 64 * 64).max(256)
    }
}

/// Rows per block of [`normalise`], so that its per-block buffers stay in the L1 cache.
const NORMALISE_ROWS: usize = 512;

/// Below this log-ratio to a row's largest term, a component's share of the row is set to
/// exactly zero: e^−672 ≈ 2.4·10⁻²⁹² (2^−969.5). Such a responsibility cannot change any sum it
/// enters unless that sum is itself below about 10⁻²⁷⁶ (it is under the last bit), while
/// keeping it lets the products that follow (γ·(x − m), and their scatter) reach subnormal
/// numbers, which x86 cores handle in microcode: at D = 50 that made the whole E-step twice as
/// slow (`bench/README.md`, "Subnormal responsibilities").
const LOG_NEGLIGIBLE_SHARE: f64 = -672.0;

/// ½ log 2π: a Gaussian's log-density is −(D · ½ log 2π) − ½ log|Σ| − ½ (x − μ)ᵀ Σ⁻¹ (x − μ).
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// The contiguous slice of feature `j` for `rows`.
#[inline]
pub(crate) fn column<'a>(x: &'a DMatrix<f64>, j: usize, rows: &Range<usize>) -> &'a [f64] {
    let n = x.nrows();
    &x.as_slice()[j * n + rows.start..j * n + rows.end]
}

/// Writes log π_k + log N(x_i | μ_k, Σ_k) for every row i of the batch and component k into
/// `out[k·c + i]`; without `log_weights`, log N(x_i | μ_k, Σ_k) alone. `scratch` is resized as
/// needed (D·c for full and tied models). With many features the components run in parallel
/// on the current rayon pool (each writes only its own part of `out`, so the result does not
/// depend on the number of threads).
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
    debug_assert_eq!(out.len(), means.nrows() * c);
    if c == 0 {
        return;
    }
    let log_weight = |k: usize| log_weights.map_or(0.0, |w| w[k]);
    if parallel_components(x.ncols()) {
        out.par_chunks_mut(c).enumerate().for_each(|(k, out)| {
            with_thread_scratch(|scratch| {
                log_joint_component(x, rows, log_weight(k), means, factored, k, out, scratch)
            })
        });
    } else {
        for (k, out) in out.chunks_mut(c).enumerate() {
            log_joint_component(x, rows, log_weight(k), means, factored, k, out, scratch);
        }
    }
}

thread_local! {
    /// Scratch of the component-parallel kernels, one per thread and kept across batches and
    /// iterations: a GEMM-sized component needs megabytes (2·D·c doubles), which would
    /// otherwise be allocated and zeroed again for every component of every batch.
    static THREAD_SCRATCH: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch buffer (a fresh one if it is already in use).
fn with_thread_scratch<R>(f: impl FnOnce(&mut Vec<f64>) -> R) -> R {
    THREAD_SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Vec::new()),
    })
}

/// Whether a batch's components are worth spreading over threads: only where each one is a
/// GEMM-sized piece of work. (A batch of few rows with many features is a large job, and
/// batches alone would leave threads idle when there are few of them.)
fn parallel_components(d: usize) -> bool {
    d >= GEMM_SCATTER_MIN_FEATURES
}

with_avx2! {
    /// log π_k + log N(x_i | μ_k, Σ_k) of component k for the rows of the batch, into `out`.
    fn log_joint_component = log_joint_component_body(
        x: &DMatrix<f64>,
        rows: &Range<usize>,
        log_weight: f64,
        means: &DMatrix<f64>,
        factored: &Factored,
        k: usize,
        out: &mut [f64],
        scratch: &mut Vec<f64>,
    )
}

with_avx2! {
    /// Turns the log-joint `lj` (component-major, K×c) into responsibilities in place, leaves
    /// log p(x_i) = log Σ_k exp(lj_ki) in `lse` (length c) and returns
    /// (Σ w_i log p(x_i), Σ w_i H(γ_i)). `weights` are per-row sample weights of the batch.
    fn normalise = normalise_body(
        lj: &mut [f64],
        c: usize,
        weights: Option<&[f64]>,
        lse: &mut Vec<f64>,
    ) -> (f64, f64)
}

/// Accumulates the statistics of a batch from its responsibilities `gamma` (component-major,
/// K×c) and optional sample weights. `scratch` is resized as needed. With many features the
/// components run in parallel on the current rayon pool (independently, so the result does
/// not depend on the number of threads).
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
    let k_count = gamma.len().checked_div(c).unwrap_or(0);
    let mut stats = GaussianStats::zeros(k_count, d, full_scatter);
    if c == 0 {
        return stats;
    }
    let one = |(k, gamma_k): (usize, &[f64]), scratch: &mut Vec<f64>| {
        let mut part = ComponentStats {
            full: full_scatter,
            n: 0.0,
            mean: vec![0.0; d],
            scatter: DMatrix::zeros(if full_scatter { d } else { 1 }, d),
        };
        accumulate_component(x, rows, gamma_k, weights, &mut part, scratch);
        (k, part)
    };
    let parts: Vec<(usize, ComponentStats)> = if parallel_components(d) {
        gamma
            .par_chunks(c)
            .enumerate()
            .map(|item| with_thread_scratch(|scratch| one(item, scratch)))
            .collect()
    } else {
        gamma
            .chunks(c)
            .enumerate()
            .map(|item| one(item, scratch))
            .collect()
    };
    for (k, part) in parts {
        if part.n <= 0.0 {
            continue;
        }
        stats.n[k] = part.n;
        for (j, m) in part.mean.iter().enumerate() {
            stats.means[(k, j)] = *m;
        }
        match &mut stats.scatter {
            Scatter::Full(m) => m[k] = part.scatter,
            Scatter::Diag(m) => m.set_row(k, &part.scatter.row(0)),
        }
    }
    stats
}

/// One component's statistics of a batch: N_k, m_k and the centred scatter, D×D (`full`) or
/// its diagonal as a 1×D row. All zero when N_k ≤ 0.
pub(crate) struct ComponentStats {
    full: bool,
    n: f64,
    mean: Vec<f64>,
    scatter: DMatrix<f64>,
}

with_avx2! {
    /// Fills `part` (full or diagonal scatter as `part.full` says) from the responsibilities
    /// `gamma` of one component for the rows of the batch and optional sample weights.
    fn accumulate_component = accumulate_component_body(
        x: &DMatrix<f64>,
        rows: &Range<usize>,
        gamma: &[f64],
        weights: Option<&[f64]>,
        part: &mut ComponentStats,
        scratch: &mut Vec<f64>,
    )
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn log_joint_component_body(
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    log_weight: f64,
    means: &DMatrix<f64>,
    factored: &Factored,
    k: usize,
    maha: &mut [f64],
    scratch: &mut Vec<f64>,
) {
    let d = x.ncols();
    let log_norm = d as f64 * HALF_LN_2PI;
    let log_det = match &factored.factor {
        Factor::Tied(_) => factored.log_det[0],
        _ => factored.log_det[k],
    };
    let constant = log_weight - log_norm - 0.5 * log_det;
    let l = match &factored.factor {
        Factor::Full(ls) => Some(&ls[k]),
        Factor::Tied(l) => Some(l),
        _ => None,
    };
    if let Some(l) = l
        && fused_triangular_log_joint(x, rows, means, k, l, constant, maha)
    {
        return;
    }
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
    maha.iter_mut().for_each(|m| *m = constant - 0.5 * *m);
}

/// Rows per tile of [`fused_rows`]: four AVX-512 vectors, so that four independent chains of
/// subtractions hide each other's latency (with one, the solve ran at one step per four cycles).
const FUSED_TILE: usize = 32;

/// `constant − ½ ‖L⁻¹(x_i − μ_k)‖²` for every row of the batch into `out`, in one pass over the
/// rows when D ≤ [`SOLVE_BLOCK`] (returns `false`, writing nothing, for larger D): the
/// centred values of a tile of rows, their forward substitution and the sum of squares stay
/// in registers instead of going through the feature-major scratch buffer three times. The
/// operations and their order are those of [`triangular_maha`] — y_j = x_j − μ_j, then
/// y_j −= L_jp y_p for the nonzero L_jp in order of p, y_j ·= 1/L_jj, then 0 + y_0² + y_1² + … —
/// so both give the same bits.
#[inline(always)]
fn fused_triangular_log_joint(
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    means: &DMatrix<f64>,
    k: usize,
    l: &DMatrix<f64>,
    constant: f64,
    out: &mut [f64],
) -> bool {
    macro_rules! by_dimension {
        ($($d:literal)*) => {
            match x.ncols() {
                $($d => fused_rows::<$d>(x, rows, means, k, l, constant, out),)*
                _ => return false,
            }
        };
    }
    by_dimension!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    true
}

/// [`fused_triangular_log_joint`] for D features, known at compile time so that the loops over
/// features unroll and the tile's values live in registers.
#[inline(always)]
fn fused_rows<const D: usize>(
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    means: &DMatrix<f64>,
    k: usize,
    l: &DMatrix<f64>,
    constant: f64,
    out: &mut [f64],
) {
    let mu: [f64; D] = std::array::from_fn(|j| means[(k, j)]);
    let inv: [f64; D] = std::array::from_fn(|j| 1.0 / l[(j, j)]);
    let lower: [[f64; D]; D] = std::array::from_fn(|j| std::array::from_fn(|p| l[(j, p)]));
    let cols: [&[f64]; D] = std::array::from_fn(|j| column(x, j, rows));
    let c = rows.len();
    let whole = c - c % FUSED_TILE;
    let (tiles, _) = out[..whole].as_chunks_mut::<FUSED_TILE>();
    for (t, out) in tiles.iter_mut().enumerate() {
        let i = t * FUSED_TILE;
        let xs: [&[f64; FUSED_TILE]; D] =
            std::array::from_fn(|j| &cols[j][i..i + FUSED_TILE].as_chunks::<FUSED_TILE>().0[0]);
        fused_tile::<D, FUSED_TILE>(xs, &mu, &inv, &lower, constant, out);
    }
    for i in whole..c {
        let xs: [&[f64; 1]; D] = std::array::from_fn(|j| &cols[j][i..=i].as_chunks::<1>().0[0]);
        let mut last = [0.0];
        fused_tile::<D, 1>(xs, &mu, &inv, &lower, constant, &mut last);
        out[i] = last[0];
    }
}

/// [`fused_rows`] for one tile of R rows: `xs[j]` holds feature j of the tile.
#[inline(always)]
fn fused_tile<const D: usize, const R: usize>(
    xs: [&[f64; R]; D],
    mu: &[f64; D],
    inv: &[f64; D],
    lower: &[[f64; D]; D],
    constant: f64,
    out: &mut [f64; R],
) {
    let mut y = [[0.0; R]; D];
    for j in 0..D {
        let mut acc = [0.0; R];
        for r in 0..R {
            acc[r] = xs[j][r] - mu[j];
        }
        for p in 0..j {
            let ljp = lower[j][p];
            if ljp != 0.0 {
                for r in 0..R {
                    acc[r] -= ljp * y[p][r];
                }
            }
        }
        for r in 0..R {
            y[j][r] = acc[r] * inv[j];
        }
    }
    let mut m = [0.0; R];
    for yj in &y {
        for r in 0..R {
            m[r] += yj[r] * yj[r];
        }
    }
    for r in 0..R {
        out[r] = constant - 0.5 * m[r];
    }
}

/// Adds ‖L⁻¹(x_i − μ_k)‖² to `maha[i]`: Y = X − μ_k (feature-major in `scratch`), then
/// Yᵀ ← L⁻¹ Yᵀ by blocked forward substitution, then the squared norms.
#[inline(always)]
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
    let ld = leading_dimension(c);
    let d = x.ncols();
    scratch.resize(d * ld, 0.0);
    let y = &mut scratch[..d * ld];
    for j in 0..d {
        let mu = means[(k, j)];
        for (yv, &xi) in y[j * ld..j * ld + c].iter_mut().zip(column(x, j, rows)) {
            *yv = xi - mu;
        }
    }
    solve_lower(y, c, ld, l, 0..d);
    for yj in y.chunks_exact(ld) {
        for (m, &v) in maha.iter_mut().zip(&yj[..c]) {
            *m += v * v;
        }
    }
}

/// Distance, in doubles, between consecutive features in the per-batch feature-major buffers
/// of c rows: c plus one cache line. Batches are often a power of two long (the driver's 4096
/// rows), and features exactly a power of two apart fall into the same cache sets — the GEMMs
/// that read several features at a time then evict their own operands (7 % of the E-step at
/// D = 50 and 200).
fn leading_dimension(c: usize) -> usize {
    c + 8
}

/// The c×n column-major matrix whose columns start `ld` apart in `data`.
fn column_major(data: &[f64], c: usize, n: usize, ld: usize) -> DMatrixView<'_, f64> {
    DMatrixView::from_slice_with_strides_generic(data, Dyn(c), Dyn(n), U1, Dyn(ld))
}

/// The n×c matrix whose rows start `ld` apart in `data`: [`column_major`] transposed, as a
/// view. (`Matrix::transpose` makes a copy, whose strided reads, compiled for AVX-512, become
/// slow gathers: `bench/README.md`, "Gathers".)
fn row_major(
    data: &[f64],
    n: usize,
    c: usize,
    ld: usize,
) -> MatrixView<'_, f64, Dyn, Dyn, Dyn, U1> {
    MatrixView::from_slice_with_strides_generic(data, Dyn(n), Dyn(c), Dyn(ld), U1)
}

/// [`column_major`], mutable.
fn column_major_mut(data: &mut [f64], c: usize, n: usize, ld: usize) -> DMatrixViewMut<'_, f64> {
    DMatrixViewMut::from_slice_with_strides_generic(data, Dyn(c), Dyn(n), U1, Dyn(ld))
}

/// Rows handled together by [`forward_substitute`]: eight AVX2 vectors of partial results that
/// stay in registers while the earlier features stream past — enough independent chains to
/// hide the latency of the subtractions (with two, the loop ran at one per four cycles).
const SUBSTITUTION_ROWS: usize = 32;

/// Within the features `block` of the feature-major `y` (D rows of length c, `ld` apart), whose
/// earlier features are already solved: y_j ← (y_j − Σ_{p ∈ block, p<j} L_jp y_p) / L_jj, j in
/// order.
#[inline(always)]
fn forward_substitute(y: &mut [f64], c: usize, ld: usize, l: &DMatrix<f64>, block: Range<usize>) {
    let mut l_row = [0.0; SOLVE_BLOCK];
    for j in block.clone() {
        let first = block.start;
        let terms = j - first;
        for (p, v) in l_row[..terms].iter_mut().enumerate() {
            *v = l[(j, first + p)];
        }
        let inv = 1.0 / l[(j, j)];
        let (done, rest) = y.split_at_mut(j * ld);
        let done = &done[first * ld..];
        let yj = &mut rest[..c];
        let whole = c - c % SUBSTITUTION_ROWS;
        for i in (0..whole).step_by(SUBSTITUTION_ROWS) {
            let mut acc = [0.0; SUBSTITUTION_ROWS];
            acc.copy_from_slice(&yj[i..i + SUBSTITUTION_ROWS]);
            for (p, &ljp) in l_row[..terms].iter().enumerate() {
                if ljp != 0.0 {
                    let yp = &done[p * ld + i..p * ld + i + SUBSTITUTION_ROWS];
                    for r in 0..SUBSTITUTION_ROWS {
                        acc[r] -= ljp * yp[r];
                    }
                }
            }
            for r in 0..SUBSTITUTION_ROWS {
                yj[i + r] = acc[r] * inv;
            }
        }
        for i in whole..c {
            let mut acc = yj[i];
            for (p, &ljp) in l_row[..terms].iter().enumerate() {
                if ljp != 0.0 {
                    acc -= ljp * done[p * ld + i];
                }
            }
            yj[i] = acc * inv;
        }
    }
}

/// Solves L_ff y_f = y_f for the features f = `features` of the feature-major `y` (D rows of
/// length c, `ld` apart), whose earlier features are already solved and subtracted. Recursive blocking:
/// solve the first part, subtract its contribution from the second with one GEMM whose inner
/// dimension is the first part's width, solve the second. The parts are multiples of
/// [`SOLVE_BLOCK`] wide, so most of the D²/2 multiply-adds per row happen in GEMMs with long
/// inner dimensions (at D = 200: 112, then 64 and 48, …) rather than in the forward
/// substitution of the blocks at the leaves. (The recursion runs on an explicit stack so that
/// the whole solve is inlined into the caller's AVX-512/AVX2 build.)
#[inline(always)]
fn solve_lower(y: &mut [f64], c: usize, ld: usize, l: &DMatrix<f64>, features: Range<usize>) {
    enum Task {
        Solve(Range<usize>),
        Subtract(Range<usize>, Range<usize>),
    }
    let mut tasks = vec![Task::Solve(features)];
    while let Some(task) = tasks.pop() {
        match task {
            Task::Subtract(block, target) => subtract_block(y, c, ld, l, block, target),
            Task::Solve(f) if f.len() <= SOLVE_BLOCK => forward_substitute(y, c, ld, l, f),
            Task::Solve(f) => {
                let split = f.start + f.len().div_ceil(2).div_ceil(SOLVE_BLOCK) * SOLVE_BLOCK;
                // Last in, first out: the first part is solved first.
                tasks.push(Task::Solve(split..f.end));
                tasks.push(Task::Subtract(f.start..split, split..f.end));
                tasks.push(Task::Solve(f.start..split));
            }
        }
    }
}

/// Y[:, target] −= Y[:, block] · L[target, block]ᵀ, for `target` after `block`: the
/// contribution of a solved block to later features, as one GEMM when the sizes allow.
#[inline(always)]
fn subtract_block(
    y: &mut [f64],
    c: usize,
    ld: usize,
    l: &DMatrix<f64>,
    block: Range<usize>,
    target: Range<usize>,
) {
    let (b, t) = (block.len(), target.len());
    let (solved, rest) = y.split_at_mut(target.start * ld);
    let solved = &solved[block.start * ld..block.end * ld];
    let rest = &mut rest[..t * ld];
    if c > NALGEBRA_SMALL_DIM && b > NALGEBRA_SMALL_DIM && t > NALGEBRA_SMALL_DIM {
        let y_block = column_major(solved, c, b, ld);
        let mut y_target = column_major_mut(rest, c, t, ld);
        // L[target, block]ᵀ, b×t: element (p, a) is L[target.start + a, block.start + p].
        let l_t = row_major(
            &l.as_slice()[target.start + block.start * l.nrows()..],
            b,
            t,
            l.nrows(),
        );
        y_target.gemm(-1.0, &y_block, &l_t, 1.0);
    } else {
        for (a, ya) in rest.chunks_exact_mut(ld).enumerate() {
            for p in 0..b {
                let lap = l[(target.start + a, block.start + p)];
                if lap != 0.0 {
                    for (v, &yp) in ya[..c].iter_mut().zip(&solved[p * ld..p * ld + c]) {
                        *v -= lap * yp;
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn normalise_body(
    lj: &mut [f64],
    c: usize,
    weights: Option<&[f64]>,
    lse: &mut Vec<f64>,
) -> (f64, f64) {
    let k_count = lj.len() / c;
    lse.clear();
    lse.resize(c, f64::NEG_INFINITY);
    let mut entropy = vec![0.0; c];
    let block = NORMALISE_ROWS.min(c);
    // e_ki = exp(lj_ki − max_i) for the rows of one block, component-major.
    let mut e = vec![0.0; k_count * block];
    let mut sums = vec![0.0; block];
    let mut inverse = vec![0.0; block];
    for start in (0..c).step_by(block) {
        let b = block.min(c - start);
        let rows = start..start + b;
        let max = &mut lse[rows.clone()];
        for k in 0..k_count {
            for (m, &v) in max.iter_mut().zip(&lj[k * c + start..k * c + start + b]) {
                *m = m.max(v);
            }
        }
        let sums = &mut sums[..b];
        sums.fill(0.0);
        for k in 0..k_count {
            let ek = &mut e[k * b..(k + 1) * b];
            let vk = &lj[k * c + start..k * c + start + b];
            for (((ev, &v), &m), s) in ek.iter_mut().zip(vk).zip(max.iter()).zip(sums.iter_mut()) {
                let t = v - m;
                *ev = if t < LOG_NEGLIGIBLE_SHARE {
                    0.0
                } else {
                    exp(t)
                };
                *s += *ev;
            }
        }
        // 1 / Σ_k e_ki, then log p(x_i) = max_i + ln Σ_k e_ki.
        let inv = &mut inverse[..b];
        for (i, &s) in inv.iter_mut().zip(sums.iter()) {
            *i = 1.0 / s;
        }
        ln_in_place(sums);
        for (m, &s) in max.iter_mut().zip(sums.iter()) {
            *m += s;
        }
        let h = &mut entropy[rows];
        for k in 0..k_count {
            let ek = &e[k * b..(k + 1) * b];
            let vk = &mut lj[k * c + start..k * c + start + b];
            for ((((v, &ev), &m), &inv), h) in vk
                .iter_mut()
                .zip(ek)
                .zip(max.iter())
                .zip(inv.iter())
                .zip(h.iter_mut())
            {
                let g = ev * inv;
                // −γ log γ with log γ = lj − log p(x); γ = 0 contributes nothing (and lj may
                // then be −∞).
                *h -= if g > 0.0 { g * (*v - m) } else { 0.0 };
                *v = g;
            }
        }
    }
    match weights {
        None => (sum(lse), sum(&entropy)),
        Some(w) => (dot(lse, w), dot(&entropy, w)),
    }
}

#[inline(always)]
fn accumulate_component_body(
    x: &DMatrix<f64>,
    rows: &Range<usize>,
    gamma: &[f64],
    weights: Option<&[f64]>,
    part: &mut ComponentStats,
    scratch: &mut Vec<f64>,
) {
    let c = rows.len();
    let d = x.ncols();
    let full_scatter = part.full;
    // scratch: c weights g, then D rows of g-weighted centred values, then D rows of centred
    // values (the last two only for full scatter).
    let extra = if full_scatter { 2 * d } else { 0 };
    let ld = leading_dimension(c);
    scratch.resize(c + ld * extra, 0.0);
    let (weighted, rest) = scratch.split_at_mut(c);
    // The row weights γ_i·w_i: γ itself when there are no sample weights (no copy).
    let g: &[f64] = match weights {
        Some(w) => {
            for ((o, &gi), &wi) in weighted.iter_mut().zip(gamma).zip(w) {
                *o = gi * wi;
            }
            weighted
        }
        None => gamma,
    };
    let nk = sum(g);
    if nk <= 0.0 {
        return;
    }
    part.n = nk;
    let (wdx, dx) = rest.split_at_mut(extra / 2 * ld);
    for j in 0..d {
        let xj = column(x, j, rows);
        // Shift by the batch's first value so that a constant feature has a mean equal to
        // that value exactly, and hence a scatter of exactly 0 (not rounding noise).
        let shift = xj[0];
        let mean = shift + shifted_dot(g, xj, shift) / nk;
        part.mean[j] = mean;
        if full_scatter {
            let dxj = &mut dx[j * ld..j * ld + c];
            let wdxj = &mut wdx[j * ld..j * ld + c];
            for (((o, w), &xi), &gi) in dxj.iter_mut().zip(wdxj.iter_mut()).zip(xj).zip(g.iter()) {
                *o = xi - mean;
                *w = gi * *o;
            }
        } else {
            part.scatter[(0, j)] = weighted_square_deviation(g, xj, mean);
        }
    }
    if full_scatter {
        scatter_full(wdx, dx, c, ld, d, &mut part.scatter);
    }
}

/// M2 = Σ_i w_i (x_i − m)(x_i − m)ᵀ from the feature-major buffers `wdx` (weighted, centred)
/// and `dx` (centred), each D rows of length c, `ld` apart: the lower triangle of WDX · DXᵀ, mirrored.
/// Small D takes D(D+1)/2 dot products; large D blocks of [`SCATTER_BLOCK`] features, each block on
/// or below the diagonal one GEMM (matrixmultiply, through strided views, no copies).
#[inline(always)]
fn scatter_full(wdx: &[f64], dx: &[f64], c: usize, ld: usize, d: usize, out: &mut DMatrix<f64>) {
    if d >= GEMM_SCATTER_MIN_FEATURES && c > NALGEBRA_SMALL_DIM {
        let blocks: Vec<Range<usize>> = (0..d)
            .step_by(SCATTER_BLOCK)
            .map(|s| s..(s + SCATTER_BLOCK).min(d))
            .collect();
        for (bi, rows_a) in blocks.iter().enumerate() {
            for rows_b in &blocks[..=bi] {
                let (na, nb) = (rows_a.len(), rows_b.len());
                if na > NALGEBRA_SMALL_DIM && nb > NALGEBRA_SMALL_DIM {
                    // WDX[rows_a] as an na×c view (element (j, i) at j·ld + i) times
                    // DX[rows_b]ᵀ as a c×nb view.
                    let a = row_major(&wdx[rows_a.start * ld..rows_a.end * ld], na, c, ld);
                    let b = column_major(&dx[rows_b.start * ld..rows_b.end * ld], c, nb, ld);
                    let mut o = out.view_mut((rows_a.start, rows_b.start), (na, nb));
                    o.gemm(1.0, &a, &b, 0.0);
                } else {
                    for p in rows_a.clone() {
                        let wp = &wdx[p * ld..p * ld + c];
                        for q in rows_b.clone() {
                            out[(p, q)] = dot(wp, &dx[q * ld..q * ld + c]);
                        }
                    }
                }
            }
        }
    } else {
        let dx_row = |b: usize| &dx[b * ld..b * ld + c];
        for a in 0..d {
            let wa = &wdx[a * ld..a * ld + c];
            let mut b = 0;
            while b + 4 <= a + 1 {
                let four = dot4(wa, [dx_row(b), dx_row(b + 1), dx_row(b + 2), dx_row(b + 3)]);
                for (q, v) in four.into_iter().enumerate() {
                    out[(a, b + q)] = v;
                }
                b += 4;
            }
            for b in b..=a {
                out[(a, b)] = dot(wa, dx_row(b));
            }
        }
    }
    mirror_lower(out);
}

/// Copies the lower triangle of the square `out` onto its upper one, so that the scatter is
/// exactly symmetric. Not inlined into the kernels on purpose: compiled for AVX-512 its strided
/// reads become gather instructions, which AMD cores run slowly (`bench/README.md`, "Gathers").
#[inline(never)]
fn mirror_lower(out: &mut DMatrix<f64>) {
    out.fill_upper_triangle_with_lower_triangle();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaussian::{Covariances, Gaussians};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// The run-time dispatched kernels (AVX-512/AVX2 on a machine that has them) give the same
    /// bits as the same code compiled for the baseline target, called here directly.
    #[test]
    fn dispatched_kernels_match_the_baseline_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(9);
        for (n, d, k, full) in [(1000, 2, 3, true), (777, 10, 4, true), (600, 40, 3, true)]
            .into_iter()
            .chain([(900, 7, 3, false)])
        {
            let x = DMatrix::from_fn(n, d, |_, _| rng.random_range(-3.0..3.0));
            let means = DMatrix::from_fn(k, d, |_, _| rng.random_range(-2.0..2.0));
            let covariances = if full {
                Covariances::Full(
                    (0..k)
                        .map(|i| {
                            let b = DMatrix::from_fn(d, d, |_, _| rng.random_range(-0.3..0.3));
                            DMatrix::identity(d, d) * (1.0 + i as f64) + &b * b.transpose()
                        })
                        .map(|m| (&m + m.transpose()) * 0.5)
                        .collect(),
                )
            } else {
                Covariances::Diag(DMatrix::from_fn(k, d, |_, _| rng.random_range(0.5..2.0)))
            };
            let g = Gaussians::new(means.clone(), covariances).expect("valid");
            let log_w: Vec<f64> = (0..k).map(|i| -((i + 1) as f64)).collect();
            let weights: Vec<f64> = (0..n - 3).map(|i| 0.5 + (i % 3) as f64).collect();
            let rows = 3..n;
            let (mut a, mut b) = (vec![0.0; k * rows.len()], vec![0.0; k * rows.len()]);
            let (mut s1, mut s2) = (Vec::new(), Vec::new());
            let f = g.factored();
            log_joint(&x, &rows, Some(&log_w), &means, f, &mut a, &mut s1);
            for (kk, out) in b.chunks_mut(rows.len()).enumerate() {
                log_joint_component_body(&x, &rows, log_w[kk], &means, f, kk, out, &mut s2);
            }
            assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
            let (mut l1, mut l2) = (Vec::new(), Vec::new());
            let c = rows.len();
            let ra = normalise(&mut a, c, Some(&weights), &mut l1);
            let rb = normalise_body(&mut b, c, Some(&weights), &mut l2);
            assert_eq!(ra.0.to_bits(), rb.0.to_bits(), "log-likelihood, D = {d}");
            assert_eq!(ra.1.to_bits(), rb.1.to_bits(), "entropy, D = {d}");
            assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
            let sa = accumulate(&x, &rows, &a, Some(&weights), full, &mut s1);
            for (kk, gamma) in b.chunks(c).enumerate() {
                let mut part = ComponentStats {
                    full,
                    n: 0.0,
                    mean: vec![0.0; d],
                    scatter: DMatrix::zeros(if full { d } else { 1 }, d),
                };
                accumulate_component_body(&x, &rows, gamma, Some(&weights), &mut part, &mut s2);
                assert_eq!(part.n.to_bits(), sa.n[kk].to_bits(), "N_{kk}, D = {d}");
                for j in 0..d {
                    assert_eq!(part.mean[j].to_bits(), sa.means[(kk, j)].to_bits());
                }
                match &sa.scatter {
                    Scatter::Full(m) => assert_eq!(m[kk], part.scatter, "scatter, D = {d}"),
                    Scatter::Diag(m) => assert_eq!(m.row(kk), part.scatter.row(0)),
                }
            }
        }
    }
}
