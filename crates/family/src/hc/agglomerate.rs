//! The agglomeration itself: greedy merges under the classification likelihood of Gaussian
//! clusters with unconstrained covariances (mclust's `VVV` criterion, regularised so that
//! clusters with fewer points than dimensions have a finite cost).

use em_core::EmError;
use nalgebra::DMatrix;
use std::collections::HashMap;

/// One merge of the agglomeration: clusters `a` and `b` became cluster `into`.
///
/// Clusters are numbered as in a dendrogram: the rows are `0..n` and merge `m` creates
/// cluster `n + m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    /// The first cluster merged.
    pub a: usize,
    /// The second cluster merged.
    pub b: usize,
    /// The new cluster's number.
    pub into: usize,
    /// The change of the criterion the merge cost (lower merges first).
    pub cost: f64,
}

/// The criterion's settings, as mclust's `hcVVV(alpha, beta)`, and its arithmetic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VvvCriterion {
    /// Multiplies the scaled total scatter to give the ridge α added to every cluster's
    /// scatter trace (mclust's default 1).
    pub alpha: f64,
    /// Weight β of the trace term beside the determinant (mclust's default 1).
    pub beta: f64,
    /// How the scatter of clusters formed earlier is recalled.
    pub scatter: StoredScatter,
}

impl Default for VvvCriterion {
    /// mclust's: α and β 1, its stored-factor arithmetic.
    fn default() -> Self {
        VvvCriterion {
            alpha: 1.0,
            beta: 1.0,
            scatter: StoredScatter::Mclust,
        }
    }
}

/// How the agglomeration recalls the scatter matrix of a cluster other than the one formed
/// last, when it prices a merge with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoredScatter {
    /// As mclust 6 does, so that its trees are reproduced: a cluster formed earlier is recalled
    /// from the first row `r = W[0, ·] / √W[0, 0]` of the Cholesky factor of the scatter it
    /// was formed with, as `Σ_{k<m} r⁽ᵏ⁾ r⁽ᵏ⁾ᵀ` (`r⁽ᵏ⁾` is `r` with its first `k` entries
    /// zeroed, `m = min(size − 1, p)`), which is exact for clusters of one or two rows only;
    /// and a merge of two such clusters keeps the merge cost it was priced at. Measured on
    /// ten data sets, this reproduces every merge of mclust 6.0's `hc`.
    #[default]
    Mclust,
    /// The scatter itself: the published criterion (Fraley 1998), computed exactly.
    Exact,
}

/// A complete agglomeration of the rows of a matrix: the initial groups and every merge, from
/// which [`Agglomeration::partition`] cuts a partition into any number of clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct Agglomeration {
    n_rows: usize,
    merges: Vec<Merge>,
}

impl Agglomeration {
    /// Agglomerates the rows of `z` (already scaled as wanted; see
    /// [`scale_for_hc`](super::scale_for_hc)) down to one cluster.
    ///
    /// Every row starts alone (identical rows too: their merges cost least and come first, as
    /// in mclust, whose `hc` never passes its duplicate partition on). At each step the pair of clusters whose merge increases the criterion least is
    /// merged. For a cluster of `l` rows with scatter matrix `W` (about its mean) in `p`
    /// dimensions the criterion term is
    ///
    /// - `l · ln(β (tr W + α) / l)` when `l ≤ max(p, 2)` or `tr W = 0`,
    /// - `l · ln(det(W / l) + β (tr W + α) / l)` otherwise,
    ///
    /// with `α = alpha · tr(S) / (n p)`, `S` the total scatter of `z` (Fraley 1998; the same
    /// terms as mclust's `hcVVV`). Ties go to the pair that comes last in mclust's scan order
    /// (by the higher-numbered slot, then the higher-numbered partner), and a merged cluster
    /// takes the first slot and the last slot's cluster the second, as in mclust; so the
    /// merges follow mclust's except where its arithmetic differs (see `docs/initialisation.md`).
    ///
    /// # Errors
    ///
    /// [`EmError::EmptyData`] for no rows or no columns; [`EmError::NonFinite`] for a NaN or
    /// infinite value; [`EmError::InvalidParameter`] for a non-positive or non-finite
    /// `alpha` or `beta`.
    ///
    /// ```
    /// use em_family::hc::{Agglomeration, VvvCriterion};
    /// use nalgebra::DMatrix;
    ///
    /// // Two tight groups far apart (a little jitter so that no two rows are equal).
    /// let z = DMatrix::from_fn(8, 2, |i, j| {
    ///     (if i < 4 { 0.0 } else { 10.0 }) + 0.1 * ((i * 7 + j * 3) % 5) as f64
    /// });
    /// let tree = Agglomeration::new(&z, VvvCriterion::default())?;
    /// let labels = tree.partition(2)?;
    /// assert!(labels[..4].iter().all(|&l| l == labels[0]));
    /// assert!(labels[4..].iter().all(|&l| l == labels[4]));
    /// assert_ne!(labels[0], labels[4]);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn new(z: &DMatrix<f64>, criterion: VvvCriterion) -> Result<Self, EmError> {
        let (n, p) = z.shape();
        if n == 0 || p == 0 {
            return Err(EmError::EmptyData);
        }
        for (name, v) in [("alpha", criterion.alpha), ("beta", criterion.beta)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(EmError::InvalidParameter {
                    name,
                    reason: format!("must be finite and > 0, got {v}"),
                });
            }
        }
        crate::gaussian::check_data(z, None)?;
        let alpha = (criterion.alpha * total_scatter_trace(z) / (n * p) as f64).max(f64::EPSILON);
        let cost = Cost {
            p,
            alpha,
            beta: criterion.beta,
        };
        let singleton_term = cost.term(1, 0.0, None);
        let clusters: Vec<Cluster> = z
            .row_iter()
            .map(|row| Cluster::point(row.iter().copied().collect(), singleton_term))
            .collect();
        let merges = Agglomerator::new(clusters, cost, criterion.scatter).run();
        Ok(Agglomeration { n_rows: n, merges })
    }

    /// The number of rows agglomerated: the most clusters a cut can give.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// The merges, first to last.
    pub fn merges(&self) -> &[Merge] {
        &self.merges
    }

    /// The partition into `k` clusters: one label in `0..k` per row, numbered in order of
    /// first appearance.
    ///
    /// # Errors
    ///
    /// [`EmError::InvalidParameter`] (`n_clusters`) unless `1 ≤ k ≤` [`Self::n_rows`].
    pub fn partition(&self, k: usize) -> Result<Vec<usize>, EmError> {
        let n = self.n_rows;
        if k == 0 || k > n {
            return Err(EmError::InvalidParameter {
                name: "n_clusters",
                reason: format!(
                    "the agglomeration of {n} rows can be cut into 1 to {n} clusters, not {k}"
                ),
            });
        }
        let mut parent: Vec<usize> = (0..n + self.merges.len()).collect();
        for m in &self.merges[..n - k] {
            parent[m.a] = m.into;
            parent[m.b] = m.into;
        }
        let root = |mut c: usize| {
            while parent[c] != c {
                c = parent[c];
            }
            c
        };
        let mut label_of_root = HashMap::new();
        Ok((0..n)
            .map(|row| {
                let next = label_of_root.len();
                *label_of_root.entry(root(row)).or_insert(next)
            })
            .collect())
    }
}

/// tr of the scatter of the rows of `z` about their mean.
fn total_scatter_trace(z: &DMatrix<f64>) -> f64 {
    let n = z.nrows() as f64;
    z.column_iter()
        .map(|col| {
            let mean = col.sum() / n;
            col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>()
        })
        .sum()
}

/// A cluster's sufficient statistics and its criterion term.
#[derive(Debug, Clone)]
struct Cluster {
    count: usize,
    mean: Vec<f64>,
    trace: f64,
    term: f64,
    /// p×p scatter about the mean, row-major, as formed; `None` for a zero scatter (one row),
    /// and, in mclust's arithmetic, once the cluster is no longer the last formed (it is then
    /// seen through `first_row` only, which keeps memory O(p) per cluster).
    scatter: Option<Vec<f64>>,
    /// mclust's stored form (see [`StoredScatter::Mclust`]): the first row of the Cholesky
    /// factor of the scatter as formed, and the number of storage rows `min(count − 1, p)`.
    first_row: Option<(Vec<f64>, usize)>,
}

impl Cluster {
    fn point(mean: Vec<f64>, term: f64) -> Self {
        Cluster {
            count: 1,
            mean,
            trace: 0.0,
            term,
            scatter: None,
            first_row: None,
        }
    }

    /// Adds this cluster's scatter as the criterion sees it to `out`: as formed when it is
    /// the last formed or the arithmetic is exact, as mclust stores it otherwise.
    fn add_seen_scatter(&self, latest: bool, mode: StoredScatter, out: &mut [f64]) {
        let p = self.mean.len();
        if latest || mode == StoredScatter::Exact {
            if let Some(w) = &self.scatter {
                out.iter_mut().zip(w).for_each(|(o, v)| *o += v);
            }
        } else if let Some((r, rows)) = &self.first_row {
            // Σ_{k<rows} r⁽ᵏ⁾ r⁽ᵏ⁾ᵀ: entry (a, b) is r_a r_b · min(rows, min(a, b) + 1).
            for a in 0..p {
                for b in 0..p {
                    out[a * p + b] += r[a] * r[b] * (*rows).min(a.min(b) + 1) as f64;
                }
            }
        }
    }
}

/// The first row `W[0, ·] / √W[0, 0]` of the Cholesky factor of a scatter `w` (p×p,
/// row-major) of a cluster of `count` rows, with its number of storage rows
/// `min(count − 1, p)`; `None` when `W[0, 0]` is 0 (mclust then stores zeros).
fn first_factor_row(w: &[f64], count: usize, p: usize) -> Option<(Vec<f64>, usize)> {
    if w[0] <= 0.0 {
        return None;
    }
    let root = w[0].sqrt();
    Some((
        w[..p].iter().map(|v| v / root).collect(),
        (count - 1).min(p),
    ))
}

/// The criterion's terms.
#[derive(Debug, Clone, Copy)]
struct Cost {
    p: usize,
    alpha: f64,
    beta: f64,
}

impl Cost {
    /// The term of a cluster of `l` rows (`l > max(p, 2)`) with scatter trace `trace > 0`
    /// and ln det(W / l) = `log_det`.
    fn term_from_log_det(&self, l: usize, trace: f64, log_det: f64) -> f64 {
        let lf = l as f64;
        let ridge = self.beta * (trace + self.alpha) / lf;
        lf * if log_det <= 0.0 {
            (log_det.exp() + ridge).ln()
        } else {
            (-log_det).exp().mul_add(ridge, 1.0).ln() + log_det
        }
    }

    /// The term of a cluster of `l` rows with scatter trace `trace` and, when `l > max(p, 2)`
    /// matters, scatter matrix `scatter` (row-major; overwritten by its Cholesky factor).
    fn term(&self, l: usize, trace: f64, scatter: Option<&mut [f64]>) -> f64 {
        let lf = l as f64;
        let ridge = self.beta * (trace + self.alpha) / lf;
        if trace == 0.0 {
            return lf * (self.alpha * self.beta / lf).ln();
        }
        let log_det = match scatter {
            Some(w) if l > self.p.max(2) => log_det_scaled(w, self.p, 1.0 / lf),
            _ => None,
        };
        match log_det {
            None => lf * ridge.ln(),
            Some(d) => self.term_from_log_det(l, trace, d),
        }
    }
}

/// ln det(scale · W) for a symmetric p×p `w` (row-major), by an in-place Cholesky
/// factorisation; `None` when it is not positive definite (the determinant is then taken as 0).
fn log_det_scaled(w: &mut [f64], p: usize, scale: f64) -> Option<f64> {
    let mut log_det = 0.0;
    for j in 0..p {
        let mut diag = w[j * p + j] * scale;
        for k in 0..j {
            diag -= w[j * p + k] * w[j * p + k];
        }
        if diag <= 0.0 || !diag.is_finite() {
            return None;
        }
        let root = diag.sqrt();
        w[j * p + j] = root;
        log_det += 2.0 * root.ln();
        for i in j + 1..p {
            let mut s = w[i * p + j] * scale;
            for k in 0..j {
                s -= w[i * p + k] * w[j * p + k];
            }
            w[i * p + j] = s / root;
        }
    }
    Some(log_det)
}

/// The merge of two clusters: count, trace and (lazily) scatter of the union.
fn merged_trace(a: &Cluster, b: &Cluster) -> (usize, f64, f64) {
    let l = a.count + b.count;
    let c = (a.count * b.count) as f64 / l as f64;
    let dist2: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    (l, a.trace + b.trace + c * dist2, c)
}

/// The scatter of the union of `a` and `b` as the criterion sees it, into `out`: the parts'
/// scatters (see [`Cluster::add_seen_scatter`]) plus `c·δδᵀ`, δ the difference of the means.
fn merged_scatter(
    (a, a_latest): (&Cluster, bool),
    (b, b_latest): (&Cluster, bool),
    c: f64,
    mode: StoredScatter,
    out: &mut [f64],
) {
    let p = a.mean.len();
    for i in 0..p {
        let di = a.mean[i] - b.mean[i];
        for j in 0..p {
            out[i * p + j] = c * di * (a.mean[j] - b.mean[j]);
        }
    }
    a.add_seen_scatter(a_latest, mode, out);
    b.add_seen_scatter(b_latest, mode, out);
}

/// The union of clusters `a` and `b` (flagged when last formed); its term is computed, or,
/// when `priced` is given, the parts' terms plus that merge cost.
fn merge_clusters(
    a: (&Cluster, bool),
    b: (&Cluster, bool),
    priced: Option<f64>,
    mode: StoredScatter,
    cost: &Cost,
) -> Cluster {
    let (l, trace, c) = merged_trace(a.0, b.0);
    let p = a.0.mean.len();
    let (na, nb) = (a.0.count as f64, b.0.count as f64);
    let mean =
        a.0.mean
            .iter()
            .zip(&b.0.mean)
            .map(|(x, y)| (na * x + nb * y) / (na + nb))
            .collect();
    let mut scatter = vec![0.0; p * p];
    merged_scatter(a, b, c, mode, &mut scatter);
    let term = match priced {
        Some(delta) => delta + (a.0.term + b.0.term),
        None => {
            let mut work = scatter.clone();
            cost.term(l, trace, Some(&mut work))
        }
    };
    let first_row = first_factor_row(&scatter, l, p);
    Cluster {
        count: l,
        mean,
        trace,
        term,
        scatter: Some(scatter),
        first_row,
    }
}

/// The index of pair `(i, j)`, `i < j`, in the packed triangle (mclust's scan order).
fn packed(i: usize, j: usize) -> usize {
    j * (j - 1) / 2 + i
}

/// The greedy loop, with each row's minimum over its partners kept up to date so that a step
/// costs O(G) instead of a scan of all O(G²) pairs.
struct Agglomerator {
    clusters: Vec<Cluster>,
    ids: Vec<usize>,
    cost: Cost,
    mode: StoredScatter,
    /// The slot of the cluster formed last, if any.
    latest: Option<usize>,
    /// The Cholesky factor (lower, row-major) and ln det of the last-formed cluster's scatter,
    /// when it is positive definite: merges of that cluster with a single row then cost O(p²)
    /// (a rank-one update of the determinant) instead of a factorisation.
    latest_factor: Option<(Vec<f64>, f64)>,
    /// Merge costs of live slot pairs, packed.
    d: Vec<f64>,
    /// For slot j ≥ 1: the partner i < j of least cost (the highest i among ties) and its cost.
    best: Vec<(usize, f64)>,
    scratch: Vec<f64>,
}

impl Agglomerator {
    fn new(clusters: Vec<Cluster>, cost: Cost, mode: StoredScatter) -> Self {
        let g = clusters.len();
        let p = cost.p;
        let mut this = Agglomerator {
            ids: (0..g).collect(),
            clusters,
            cost,
            mode,
            latest: None,
            latest_factor: None,
            d: vec![0.0; g * g.saturating_sub(1) / 2],
            best: vec![(0, f64::INFINITY); g],
            scratch: vec![0.0; p * p],
        };
        for j in 1..g {
            for i in 0..j {
                this.d[packed(i, j)] = this.pair_cost(i, j);
            }
            this.refresh_row(j);
        }
        this
    }

    /// Slot `i`'s cluster, flagged when it is the last formed.
    fn slot(&self, i: usize) -> (&Cluster, bool) {
        (&self.clusters[i], self.latest == Some(i))
    }

    fn pair_cost(&mut self, i: usize, j: usize) -> f64 {
        let (a, b) = (&self.clusters[i], &self.clusters[j]);
        let (l, trace, _) = merged_trace(a, b);
        let parts = a.term + b.term;
        let term = if l > self.cost.p.max(2) && trace != 0.0 {
            let c = (a.count * b.count) as f64 / l as f64;
            if let Some(log_det) = self.rank_one_log_det(i, j, c) {
                return self.cost.term_from_log_det(l, trace, log_det) - parts;
            }
            let mut scratch = std::mem::take(&mut self.scratch);
            merged_scatter(self.slot(i), self.slot(j), c, self.mode, &mut scratch);
            let term = self.cost.term(l, trace, Some(&mut scratch));
            self.scratch = scratch;
            term
        } else {
            self.cost.term(l, trace, None)
        };
        term - parts
    }

    /// ln det(W / l) of the union of slots `i` and `j` when one is the last-formed cluster
    /// (with a factor) and the other a single row: det(W_L + c δδᵀ) = det(W_L)(1 + c‖L⁻¹δ‖²).
    fn rank_one_log_det(&self, i: usize, j: usize, c: f64) -> Option<f64> {
        let (factor, ln_det) = self.latest_factor.as_ref()?;
        let (latest, other) = match self.latest {
            Some(s) if s == i => (i, j),
            Some(s) if s == j => (j, i),
            _ => return None,
        };
        let (a, b) = (&self.clusters[latest], &self.clusters[other]);
        if b.count != 1 {
            return None;
        }
        let p = self.cost.p;
        // Forward substitution L y = δ, accumulating ‖y‖².
        let mut y = vec![0.0; p];
        let mut norm2 = 0.0;
        for r in 0..p {
            let mut v = a.mean[r] - b.mean[r];
            for k in 0..r {
                v -= factor[r * p + k] * y[k];
            }
            y[r] = v / factor[r * p + r];
            norm2 += y[r] * y[r];
        }
        let l = (a.count + b.count) as f64;
        Some(ln_det + c.mul_add(norm2, 1.0).ln() - p as f64 * l.ln())
    }

    fn refresh_row(&mut self, j: usize) {
        let mut best = (0, f64::INFINITY);
        for i in 0..j {
            let v = self.d[packed(i, j)];
            if v <= best.1 {
                best = (i, v);
            }
        }
        self.best[j] = best;
    }

    /// Row `k` saw its entry at column `col` change: keep its minimum right.
    fn row_entry_changed(&mut self, k: usize, col: usize) {
        let (arg, value) = self.best[k];
        let v = self.d[packed(col, k)];
        if arg == col {
            if v <= value {
                self.best[k] = (col, v);
            } else {
                self.refresh_row(k);
            }
        } else if v < value || (v == value && col > arg) {
            self.best[k] = (col, v);
        }
    }

    fn run(mut self) -> Vec<Merge> {
        let g = self.clusters.len();
        let mut merges = Vec::with_capacity(g.saturating_sub(1));
        let mut live = g;
        while live > 1 {
            // The last minimum in scan order: highest row, then highest partner.
            let mut j = 1;
            for k in 2..live {
                if self.best[k].1 <= self.best[j].1 {
                    j = k;
                }
            }
            let (i, cost) = self.best[j];
            let into = g + merges.len();
            merges.push(Merge {
                a: self.ids[i],
                b: self.ids[j],
                into,
                cost,
            });
            // mclust recomputes the union's term only when it involves the last-formed cluster.
            let involves_latest = self.latest == Some(i) || self.latest == Some(j);
            let priced = (self.mode == StoredScatter::Mclust && !involves_latest).then_some(cost);
            let union = merge_clusters(self.slot(i), self.slot(j), priced, self.mode, &self.cost);
            // Only the last-formed cluster is seen through its full scatter in mclust's
            // arithmetic: the previous one's is no longer needed.
            if let Some(prev) = self.latest
                && self.mode == StoredScatter::Mclust
                && prev != i
                && prev != j
            {
                self.clusters[prev].scatter = None;
            }
            let last = live - 1;
            let moved = j != last;
            if moved {
                // The last slot's cluster takes slot j, with its costs.
                self.clusters.swap(j, last);
                self.ids.swap(j, last);
                for k in 0..j {
                    self.d[packed(k, j)] = self.d[packed(k, last)];
                }
                for k in j + 1..last {
                    self.d[packed(j, k)] = self.d[packed(k, last)];
                }
            }
            self.clusters.truncate(last);
            self.ids.truncate(last);
            live = last;
            self.clusters[i] = union;
            self.ids[i] = into;
            self.latest = Some(i);
            self.latest_factor = self.clusters[i].scatter.as_ref().and_then(|w| {
                let mut factor = w.clone();
                log_det_scaled(&mut factor, self.cost.p, 1.0).map(|ln_det| (factor, ln_det))
            });
            for k in 0..live {
                if k != i {
                    let (lo, hi) = if k < i { (k, i) } else { (i, k) };
                    self.d[packed(lo, hi)] = self.pair_cost(lo, hi);
                }
            }
            if i >= 1 {
                self.refresh_row(i);
            }
            if moved && j < live {
                self.refresh_row(j);
            }
            for k in i + 1..live {
                if moved && k == j {
                    continue;
                }
                self.row_entry_changed(k, i);
                if moved && k > j {
                    self.row_entry_changed(k, j);
                }
            }
        }
        merges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The naive algorithm: every step scans every pair, with the same tie rule.
    fn naive(z: &DMatrix<f64>) -> Vec<(usize, usize)> {
        let (n, p) = z.shape();
        let cost = Cost {
            p,
            alpha: (total_scatter_trace(z) / (n * p) as f64).max(f64::EPSILON),
            beta: 1.0,
        };
        let single = cost.term(1, 0.0, None);
        let mut clusters: Vec<Cluster> = z
            .row_iter()
            .map(|r| Cluster::point(r.iter().copied().collect(), single))
            .collect();
        let g = clusters.len();
        let mut ids: Vec<usize> = (0..g).collect();
        let mut out = Vec::new();
        while clusters.len() > 1 {
            let mut best = (0, 1, f64::INFINITY);
            for j in 1..clusters.len() {
                for i in 0..j {
                    let (a, b) = ((&clusters[i], true), (&clusters[j], true));
                    let u = merge_clusters(a, b, None, StoredScatter::Exact, &cost);
                    let d = u.term - clusters[i].term - clusters[j].term;
                    if d <= best.2 {
                        best = (i, j, d);
                    }
                }
            }
            let (i, j, _) = best;
            out.push((ids[i], ids[j]));
            let (a, b) = ((&clusters[i], true), (&clusters[j], true));
            let u = merge_clusters(a, b, None, StoredScatter::Exact, &cost);
            let last = clusters.len() - 1;
            clusters.swap(j, last);
            ids.swap(j, last);
            clusters.truncate(last);
            ids.truncate(last);
            clusters[i] = u;
            ids[i] = g + out.len() - 1;
        }
        out
    }

    fn jittered(n: usize, p: usize, seed: u64) -> DMatrix<f64> {
        let mut s = seed;
        DMatrix::from_fn(n, p, |i, j| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            (if i % 3 == 0 { 4.0 } else { 0.0 }) + (j as f64) * 0.5 + u
        })
    }

    #[test]
    fn matches_the_naive_scan() {
        for (n, p, seed) in [(30, 2, 1), (25, 3, 2), (40, 1, 3), (20, 5, 4)] {
            let z = jittered(n, p, seed);
            let exact = VvvCriterion {
                scatter: StoredScatter::Exact,
                ..VvvCriterion::default()
            };
            let fast = Agglomeration::new(&z, exact).unwrap();
            let pairs: Vec<_> = fast.merges().iter().map(|m| (m.a, m.b)).collect();
            assert_eq!(pairs, naive(&z), "n {n} p {p}");
        }
    }

    #[test]
    fn duplicates_merge_first_and_cuts_nest() {
        let mut z = jittered(12, 2, 9);
        let copy = z.row(3).clone_owned();
        z.set_row(7, &copy);
        let tree = Agglomeration::new(&z, VvvCriterion::default()).unwrap();
        assert_eq!((tree.merges()[0].a, tree.merges()[0].b), (3, 7));
        for k in 1..=12 {
            let labels = tree.partition(k).unwrap();
            assert_eq!(labels[3] == labels[7], k < 12);
            assert_eq!(labels.iter().max().map(|m| m + 1), Some(k));
        }
        assert!(tree.partition(13).is_err());
        assert!(tree.partition(0).is_err());
    }

    #[test]
    fn log_det_of_a_known_matrix() {
        let mut w = vec![4.0, 2.0, 2.0, 3.0];
        let d = log_det_scaled(&mut w, 2, 0.5).unwrap();
        assert!((d - (2.0f64).ln()).abs() < 1e-15);
        assert!(log_det_scaled(&mut [1.0, 1.0, 1.0, 1.0], 2, 1.0).is_none());
    }
}
