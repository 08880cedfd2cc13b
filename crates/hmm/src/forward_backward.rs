//! Forward–backward, the forward pass alone, and Viterbi, on one sequence.
//!
//! # Scaled, with an exact log-space fallback
//!
//! The recursions run **scaled** (Rabiner 1989): the forward vector is renormalised at every
//! step and the normalisers c_t are kept, so log p(x) = Σ_t log c_t. Emission densities enter
//! as exp(log b_t(j) − m_t) with m_t = max_j log b_t(j) (the shift is added back to the
//! log-likelihood), so they cannot underflow however many dimensions a Gaussian has: at every
//! step the best state's factor is exactly 1. A step then costs S² multiply–adds and S
//! exponentials, against S² exponentials in log space — several times faster.
//!
//! Scaling fails only when the chain is forced into states that explain an observation
//! e^−700 times worse than some state it cannot reach (structural zeros in the transitions
//! and an outlier): a normaliser c_t underflows or a backward variable overflows. The
//! sequence is then recomputed in **log space** (log-sum-exp recursions), which is exact
//! wherever the answer is representable. Both paths produce the same outputs, and the unit
//! tests below check them against each other and against brute-force enumeration of paths.
//!
//! # Outputs
//!
//! Per sequence: γ_t(i) = p(z_t = i | x) (T×S, step-major), Σ_t ξ_t(i, j) with
//! ξ_t(i, j) = p(z_{t−1} = i, z_t = j | x), log p(x), and the entropy of the posterior over
//! state paths. The posterior is a Markov chain, so
//!
//! H = −Σ_i γ_1(i) log γ_1(i) − Σ_{t≥2} Σ_ij ξ_t(i, j) log p(z_t = j | z_{t−1} = i, x),
//!
//! with p(z_t = j | z_{t−1} = i, x) = ξ_t(i, j) / γ_{t−1}(i) = A_ij b_t(j) β_t(j) / (c_t β_{t−1}(i))
//! (scaled β). The entropy is computed from the chain factorisation, independently of the
//! identity H = log p(x) − E_q[log p(x, z)]; that identity is what the invariant checker's
//! "ELBO tight" test then verifies.

/// Normalisers below this are treated as underflow and send the sequence to log space
/// (far above the subnormal range, so every term that survives keeps full precision).
const MIN_SCALE: f64 = 1e-290;

/// The Markov chain of an HMM in the forms the recursions need. Matrices are row-major S×S.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chain<'a> {
    /// Number of states S.
    pub n: usize,
    /// π_i.
    pub start: &'a [f64],
    /// log π_i.
    pub log_start: &'a [f64],
    /// A_ij = p(z_t = j | z_{t−1} = i), row-major.
    pub trans: &'a [f64],
    /// log A_ij, row-major.
    pub log_trans: &'a [f64],
}

/// The sequence has probability 0 under the model; `step` is the first step at which the
/// forward probabilities all vanish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Impossible {
    pub step: usize,
}

/// The posterior quantities of one sequence.
#[derive(Debug, Clone, Default)]
pub(crate) struct Posterior {
    /// γ_t(i) at `gamma[t * S + i]`.
    pub gamma: Vec<f64>,
    /// Σ_t ξ_t(i, j) at `xi[i * S + j]`.
    pub xi: Vec<f64>,
    /// log p(x).
    pub log_likelihood: f64,
    /// H(p(z | x)).
    pub entropy: f64,
}

/// Buffers reused across the sequences of a batch.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    alpha: Vec<f64>,
    beta: Vec<f64>,
    /// exp(log b_t(j) − m_t).
    emit: Vec<f64>,
    /// Raw normalisers c_t (before the emission shift is added back).
    scale: Vec<f64>,
    /// Per-step scratch of length S.
    tmp: Vec<f64>,
    tmp2: Vec<f64>,
    /// The posterior being built.
    pub post: Posterior,
}

/// Whether a log-probability is −∞ (or NaN): the state is ruled out.
#[inline]
fn vanished(v: f64) -> bool {
    v == f64::NEG_INFINITY || v.is_nan()
}

/// log Σ exp(v) over `v`, −∞ for an empty or all −∞ input.
fn log_sum_exp(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Fills `ws.post` for a sequence with log-emission densities `lb` (T×S, step-major).
pub(crate) fn posterior(
    chain: Chain<'_>,
    lb: &[f64],
    ws: &mut Workspace,
) -> Result<(), Impossible> {
    let s = chain.n;
    let t_len = lb.len() / s;
    ws.post.gamma.clear();
    ws.post.gamma.resize(t_len * s, 0.0);
    ws.post.xi.clear();
    ws.post.xi.resize(s * s, 0.0);
    if scaled_posterior(chain, lb, ws).is_none() {
        ws.post.xi.iter_mut().for_each(|v| *v = 0.0);
        log_posterior(chain, lb, ws)?;
    }
    Ok(())
}

/// The scaled forward pass; `None` when a normaliser underflows (or an emission row is
/// all −∞). Leaves α̂ in `ws.alpha`, the shifted emissions in `ws.emit`, c_t in `ws.scale`,
/// and returns log p(x).
fn scaled_forward(chain: Chain<'_>, lb: &[f64], ws: &mut Workspace) -> Option<f64> {
    let s = chain.n;
    let t_len = lb.len() / s;
    ws.alpha.resize(t_len * s, 0.0);
    ws.emit.resize(t_len * s, 0.0);
    ws.scale.resize(t_len, 0.0);
    ws.tmp.resize(s, 0.0);
    let mut log_likelihood = 0.0;
    for t in 0..t_len {
        let row = &lb[t * s..(t + 1) * s];
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !m.is_finite() {
            return None;
        }
        let emit = &mut ws.emit[t * s..(t + 1) * s];
        for (e, &l) in emit.iter_mut().zip(row) {
            *e = (l - m).exp();
        }
        // Predicted state distribution p_j = Σ_i α̂_{t−1}(i) A_ij (π at t = 0).
        let pred = &mut ws.tmp;
        if t == 0 {
            pred.copy_from_slice(chain.start);
        } else {
            pred.fill(0.0);
            let prev = &ws.alpha[(t - 1) * s..t * s];
            for (i, &a) in prev.iter().enumerate() {
                if a != 0.0 {
                    for (p, &aij) in pred.iter_mut().zip(&chain.trans[i * s..(i + 1) * s]) {
                        *p += a * aij;
                    }
                }
            }
        }
        let alpha = &mut ws.alpha[t * s..(t + 1) * s];
        let mut c = 0.0;
        for ((a, &p), &e) in alpha.iter_mut().zip(pred.iter()).zip(emit.iter()) {
            *a = p * e;
            c += *a;
        }
        if !(c >= MIN_SCALE && c.is_finite()) {
            return None;
        }
        let inv = 1.0 / c;
        alpha.iter_mut().for_each(|a| *a *= inv);
        ws.scale[t] = c;
        log_likelihood += m + c.ln();
    }
    Some(log_likelihood)
}

/// The scaled forward–backward; `None` sends the caller to log space.
fn scaled_posterior(chain: Chain<'_>, lb: &[f64], ws: &mut Workspace) -> Option<()> {
    let s = chain.n;
    let t_len = lb.len() / s;
    let log_likelihood = scaled_forward(chain, lb, ws)?;
    // Backward: β̂_{T−1} = 1, β̂_{t−1}(i) = Σ_j A_ij w_t(j), w_t(j) = e_t(j) β̂_t(j) / c_t.
    ws.beta.resize(t_len * s, 0.0);
    ws.beta[(t_len - 1) * s..].fill(1.0);
    ws.tmp.resize(s, 0.0);
    for t in (1..t_len).rev() {
        let c = ws.scale[t];
        let (head, tail) = ws.beta.split_at_mut(t * s);
        let next = &tail[..s];
        for ((w, &e), &b) in ws
            .tmp
            .iter_mut()
            .zip(&ws.emit[t * s..(t + 1) * s])
            .zip(next)
        {
            *w = e * b / c;
        }
        let cur = &mut head[(t - 1) * s..];
        for (i, b) in cur.iter_mut().enumerate() {
            let v = dot(&chain.trans[i * s..(i + 1) * s], &ws.tmp);
            if !v.is_finite() {
                return None;
            }
            *b = v;
        }
    }
    // γ, ξ and the entropy.
    let post = &mut ws.post;
    for ((g, &a), &b) in post.gamma.iter_mut().zip(&ws.alpha).zip(&ws.beta) {
        *g = a * b;
    }
    let mut entropy = 0.0;
    for &g in &post.gamma[..s] {
        if g > 0.0 {
            entropy -= g * g.ln();
        }
    }
    ws.tmp2.resize(s, 0.0);
    for t in 1..t_len {
        let c = ws.scale[t];
        let (w, log_w) = (&mut ws.tmp, &mut ws.tmp2);
        for (((w, lw), &e), &b) in w
            .iter_mut()
            .zip(log_w.iter_mut())
            .zip(&ws.emit[t * s..(t + 1) * s])
            .zip(&ws.beta[t * s..(t + 1) * s])
        {
            *w = e * b / c;
            *lw = w.ln();
        }
        let prev_alpha = &ws.alpha[(t - 1) * s..t * s];
        let prev_beta = &ws.beta[(t - 1) * s..t * s];
        for i in 0..s {
            let a = prev_alpha[i];
            if a == 0.0 {
                continue;
            }
            // log p(z_t = j | z_{t−1} = i, x) = log A_ij + log w_t(j) − log β̂_{t−1}(i).
            let log_beta_prev = prev_beta[i].ln();
            let xi_row = &mut post.xi[i * s..(i + 1) * s];
            let trans = &chain.trans[i * s..(i + 1) * s];
            let log_trans = &chain.log_trans[i * s..(i + 1) * s];
            for j in 0..s {
                let x = a * trans[j] * w[j];
                if x > 0.0 {
                    xi_row[j] += x;
                    entropy -= x * (log_trans[j] + log_w[j] - log_beta_prev);
                }
            }
        }
    }
    post.log_likelihood = log_likelihood;
    post.entropy = entropy;
    Some(())
}

/// The log-space forward pass into `ws.alpha` (log α_t(j)); returns log p(x) or the first
/// step at which every forward log-probability is −∞.
fn log_forward(chain: Chain<'_>, lb: &[f64], ws: &mut Workspace) -> Result<f64, Impossible> {
    let s = chain.n;
    let t_len = lb.len() / s;
    ws.alpha.resize(t_len * s, 0.0);
    for t in 0..t_len {
        for j in 0..s {
            let v = if t == 0 {
                chain.log_start[j] + lb[j]
            } else {
                let prev = &ws.alpha[(t - 1) * s..t * s];
                lb[t * s + j] + log_sum_exp((0..s).map(|i| prev[i] + chain.log_trans[i * s + j]))
            };
            ws.alpha[t * s + j] = v;
        }
        if ws.alpha[t * s..(t + 1) * s].iter().all(|&v| vanished(v)) {
            return Err(Impossible { step: t });
        }
    }
    let ll = log_sum_exp(ws.alpha[(t_len - 1) * s..].iter().copied());
    if ll.is_finite() {
        Ok(ll)
    } else {
        Err(Impossible { step: t_len - 1 })
    }
}

/// The log-space forward–backward.
fn log_posterior(chain: Chain<'_>, lb: &[f64], ws: &mut Workspace) -> Result<(), Impossible> {
    let s = chain.n;
    let t_len = lb.len() / s;
    let ll = log_forward(chain, lb, ws)?;
    ws.beta.resize(t_len * s, 0.0);
    ws.beta[(t_len - 1) * s..].fill(0.0);
    ws.tmp.resize(s, 0.0);
    for t in (1..t_len).rev() {
        // u_j = log b_t(j) + log β_t(j).
        for j in 0..s {
            ws.tmp[j] = lb[t * s + j] + ws.beta[t * s + j];
        }
        for i in 0..s {
            let v = log_sum_exp((0..s).map(|j| chain.log_trans[i * s + j] + ws.tmp[j]));
            ws.beta[(t - 1) * s + i] = v;
        }
    }
    let post = &mut ws.post;
    for ((g, &a), &b) in post.gamma.iter_mut().zip(&ws.alpha).zip(&ws.beta) {
        *g = (a + b - ll).exp();
    }
    let mut entropy = 0.0;
    for i in 0..s {
        let log_g = ws.alpha[i] + ws.beta[i] - ll;
        let g = post.gamma[i];
        if g > 0.0 {
            entropy -= g * log_g;
        }
    }
    for t in 1..t_len {
        for j in 0..s {
            ws.tmp[j] = lb[t * s + j] + ws.beta[t * s + j];
        }
        for i in 0..s {
            let la = ws.alpha[(t - 1) * s + i];
            let lbeta_prev = ws.beta[(t - 1) * s + i];
            if vanished(la) || vanished(lbeta_prev) {
                continue;
            }
            for j in 0..s {
                let log_cond = chain.log_trans[i * s + j] + ws.tmp[j] - lbeta_prev;
                let x = (la + lbeta_prev - ll + log_cond).exp();
                if x > 0.0 {
                    post.xi[i * s + j] += x;
                    entropy -= x * log_cond;
                }
            }
        }
    }
    post.log_likelihood = ll;
    post.entropy = entropy;
    Ok(())
}

/// log p(x) by the forward pass alone (scaled, log space on underflow); −∞ for an
/// impossible sequence.
pub(crate) fn log_likelihood(chain: Chain<'_>, lb: &[f64], ws: &mut Workspace) -> f64 {
    match scaled_forward(chain, lb, ws) {
        Some(ll) => ll,
        None => log_forward(chain, lb, ws).unwrap_or(f64::NEG_INFINITY),
    }
}

/// The most probable state path (log-space Viterbi; ties go to the lower state index) and
/// its log joint probability log p(x, z*).
pub(crate) fn viterbi(chain: Chain<'_>, lb: &[f64]) -> Result<(Vec<usize>, f64), Impossible> {
    let s = chain.n;
    let t_len = lb.len() / s;
    let mut delta: Vec<f64> = (0..s).map(|j| chain.log_start[j] + lb[j]).collect();
    let mut next = vec![0.0; s];
    let mut back = vec![0usize; t_len * s];
    if delta.iter().all(|&v| vanished(v)) {
        return Err(Impossible { step: 0 });
    }
    for t in 1..t_len {
        for j in 0..s {
            let (mut best, mut arg) = (f64::NEG_INFINITY, 0);
            for (i, &d) in delta.iter().enumerate() {
                let v = d + chain.log_trans[i * s + j];
                if v > best {
                    best = v;
                    arg = i;
                }
            }
            back[t * s + j] = arg;
            next[j] = best + lb[t * s + j];
        }
        std::mem::swap(&mut delta, &mut next);
        if delta.iter().all(|&v| vanished(v)) {
            return Err(Impossible { step: t });
        }
    }
    let (mut state, mut best) = (0, f64::NEG_INFINITY);
    for (j, &d) in delta.iter().enumerate() {
        if d > best {
            best = d;
            state = j;
        }
    }
    let mut path = vec![0; t_len];
    path[t_len - 1] = state;
    for t in (1..t_len).rev() {
        state = back[t * s + state];
        path[t - 1] = state;
    }
    Ok((path, best))
}

/// Σ a_i b_i.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Owned {
        start: Vec<f64>,
        log_start: Vec<f64>,
        trans: Vec<f64>,
        log_trans: Vec<f64>,
    }

    impl Owned {
        fn new(start: Vec<f64>, trans: Vec<f64>) -> Self {
            Owned {
                log_start: start.iter().map(|v| v.ln()).collect(),
                log_trans: trans.iter().map(|v| v.ln()).collect(),
                start,
                trans,
            }
        }
        fn chain(&self) -> Chain<'_> {
            Chain {
                n: self.start.len(),
                start: &self.start,
                log_start: &self.log_start,
                trans: &self.trans,
                log_trans: &self.log_trans,
            }
        }
    }

    /// Enumerates all S^T paths: log p(x), γ, Σξ and the exact path entropy.
    fn brute_force(o: &Owned, lb: &[f64]) -> (f64, Vec<f64>, Vec<f64>, f64) {
        let s = o.start.len();
        let t_len = lb.len() / s;
        let mut joints = Vec::new();
        for code in 0..s.pow(t_len as u32) {
            let path: Vec<usize> = (0..t_len).map(|t| (code / s.pow(t as u32)) % s).collect();
            let mut lj = o.log_start[path[0]] + lb[path[0]];
            for t in 1..t_len {
                lj += o.log_trans[path[t - 1] * s + path[t]] + lb[t * s + path[t]];
            }
            joints.push((path, lj));
        }
        let ll = log_sum_exp(joints.iter().map(|(_, l)| *l));
        let mut gamma = vec![0.0; t_len * s];
        let mut xi = vec![0.0; s * s];
        let mut h = 0.0;
        for (path, lj) in &joints {
            let p = (lj - ll).exp();
            if p > 0.0 {
                h -= p * (lj - ll);
            }
            for t in 0..t_len {
                gamma[t * s + path[t]] += p;
                if t > 0 {
                    xi[path[t - 1] * s + path[t]] += p;
                }
            }
        }
        (ll, gamma, xi, h)
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (x >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    fn random_chain(s: usize, seed: u64) -> Owned {
        let u = pseudo_random(s + s * s, seed);
        let mut start: Vec<f64> = u[..s].iter().map(|v| v + 0.1).collect();
        let total: f64 = start.iter().sum();
        start.iter_mut().for_each(|v| *v /= total);
        let mut trans: Vec<f64> = u[s..].iter().map(|v| v + 0.05).collect();
        for row in trans.chunks_mut(s) {
            let total: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= total);
        }
        Owned::new(start, trans)
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn scaled_and_log_space_agree_with_brute_force_enumeration() {
        for (s, t_len, seed) in [(1, 4, 1), (2, 5, 2), (3, 5, 3), (3, 1, 4), (4, 4, 5)] {
            let o = random_chain(s, seed);
            let lb: Vec<f64> = pseudo_random(s * t_len, seed + 100)
                .iter()
                .map(|u| -30.0 * u)
                .collect();
            let (ll, gamma, xi, h) = brute_force(&o, &lb);
            let mut ws = Workspace::default();
            // Scaled.
            posterior(o.chain(), &lb, &mut ws).unwrap();
            let scaled = ws.post.clone();
            // Log space.
            ws.post.xi.iter_mut().for_each(|v| *v = 0.0);
            log_posterior(o.chain(), &lb, &mut ws).unwrap();
            for p in [&scaled, &ws.post] {
                assert!(
                    close(p.log_likelihood, ll, 1e-13),
                    "{} vs {ll}",
                    p.log_likelihood
                );
                assert!(
                    close(p.entropy, h, 1e-12),
                    "S={s} T={t_len}: {} vs {h}",
                    p.entropy
                );
                for (a, b) in p.gamma.iter().zip(&gamma) {
                    assert!(close(*a, *b, 1e-12));
                }
                for (a, b) in p.xi.iter().zip(&xi) {
                    assert!(close(*a, *b, 1e-12));
                }
            }
            let mut ws2 = Workspace::default();
            assert!(close(log_likelihood(o.chain(), &lb, &mut ws2), ll, 1e-13));
        }
    }

    #[test]
    fn underflowing_normaliser_falls_back_to_log_space() {
        // Left-to-right chain 0 → 1 with no return; the second observation is explained
        // e^−900 times better by the unreachable state 0: c_1 underflows.
        let o = Owned::new(vec![1.0, 0.0], vec![0.0, 1.0, 0.0, 1.0]);
        let lb = vec![0.0, -1.0, 0.0, -900.0, -2.0, -1.0];
        assert!(scaled_forward(o.chain(), &lb, &mut Workspace::default()).is_none());
        let (ll, gamma, xi, h) = brute_force(&o, &lb);
        let mut ws = Workspace::default();
        posterior(o.chain(), &lb, &mut ws).unwrap();
        assert!(close(ws.post.log_likelihood, ll, 1e-13));
        assert!(ll.is_finite() && ll < -900.0);
        assert!(close(ws.post.entropy, h, 1e-12));
        for (a, b) in ws.post.gamma.iter().zip(&gamma) {
            assert!(close(*a, *b, 1e-12));
        }
        for (a, b) in ws.post.xi.iter().zip(&xi) {
            assert!(close(*a, *b, 1e-12));
        }
        assert!(close(log_likelihood(o.chain(), &lb, &mut ws), ll, 1e-13));
    }

    #[test]
    fn impossible_sequence_is_reported_with_its_step() {
        let o = Owned::new(vec![1.0, 0.0], vec![1.0, 0.0, 0.0, 1.0]);
        // State 0 forever, but step 2 can only come from state 1.
        let lb = vec![0.0, 0.0, 0.0, 0.0, f64::NEG_INFINITY, 0.0];
        let mut ws = Workspace::default();
        assert_eq!(
            posterior(o.chain(), &lb, &mut ws),
            Err(Impossible { step: 2 })
        );
        assert_eq!(log_likelihood(o.chain(), &lb, &mut ws), f64::NEG_INFINITY);
        assert_eq!(viterbi(o.chain(), &lb), Err(Impossible { step: 2 }));
    }

    #[test]
    fn viterbi_finds_the_best_enumerated_path() {
        for (s, t_len, seed) in [(2, 6, 11), (3, 5, 12), (4, 4, 13)] {
            let o = random_chain(s, seed);
            let lb: Vec<f64> = pseudo_random(s * t_len, seed + 7)
                .iter()
                .map(|u| -8.0 * u)
                .collect();
            let (path, lp) = viterbi(o.chain(), &lb).unwrap();
            let mut best = f64::NEG_INFINITY;
            for code in 0..s.pow(t_len as u32) {
                let p: Vec<usize> = (0..t_len).map(|t| (code / s.pow(t as u32)) % s).collect();
                let mut lj = o.log_start[p[0]] + lb[p[0]];
                for t in 1..t_len {
                    lj += o.log_trans[p[t - 1] * s + p[t]] + lb[t * s + p[t]];
                }
                best = best.max(lj);
            }
            assert!(close(lp, best, 1e-13));
            let mut lj = o.log_start[path[0]] + lb[path[0]];
            for t in 1..t_len {
                lj += o.log_trans[path[t - 1] * s + path[t]] + lb[t * s + path[t]];
            }
            assert!(close(lj, lp, 1e-13));
        }
    }
}
