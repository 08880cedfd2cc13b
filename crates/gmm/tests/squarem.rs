//! SQUAREM (accelerated EM) on the bundled models: the builder's `accelerate` option reaches
//! the optimum of a slowly converging Gaussian mixture in at least 5× fewer E-steps than plain
//! EM, the objective never decreases, extrapolations outside the parameter space fall back,
//! and the parameter vector round-trips.
//!
//! The E-step counts are printed: `cargo test -p gmm --test squarem -- --nocapture`.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use em_core::{
    Acceleration, EStep, Em, EmError, FitReport, Iteration, LatentModel, ParameterVector, Stopping,
};
use gmm::{
    CovarianceType, Covariances, GaussianMixture, GaussianStats, Init, TwoComponentMixture,
    ZeroInflatedPoisson,
};
use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Seed of the headline data set.
const SEED: u64 = 15;

/// Three heavily overlapping components in 2-D: EM's rate of convergence is the fraction of
/// information the latent labels carry, close to 1 here, so plain EM crawls.
fn overlapping_truth() -> GaussianMixture {
    GaussianMixture::new(
        dvector![0.5, 0.3, 0.2],
        dmatrix![0.0, 0.0; 1.2, 0.4; 0.3, 1.3],
        Covariances::Full(vec![
            dmatrix![1.0, 0.2; 0.2, 1.0],
            dmatrix![0.8, -0.3; -0.3, 1.2],
            dmatrix![1.1, 0.1; 0.1, 0.7],
        ]),
    )
    .unwrap()
}

fn overlapping_data(n: usize, seed: u64) -> DMatrix<f64> {
    overlapping_truth()
        .sample(n, &mut StdRng::seed_from_u64(seed))
        .0
}

/// A fixed start near the data's centre: equal weights, means spread a little, unit
/// covariances (of the requested structure).
fn fixed_start(covariance_type: CovarianceType) -> GaussianMixture {
    let means = dmatrix![-0.3, -0.2; 0.6, 0.1; 0.1, 0.7];
    let covariances = match covariance_type {
        CovarianceType::Full => Covariances::Full(vec![DMatrix::identity(2, 2); 3]),
        CovarianceType::Diag => Covariances::Diag(DMatrix::from_element(3, 2, 1.0)),
        CovarianceType::Spherical => Covariances::Spherical(dvector![1.0, 1.0, 1.0]),
        CovarianceType::Tied => Covariances::Tied(DMatrix::identity(2, 2)),
    };
    GaussianMixture::new(
        dvector![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0],
        means,
        covariances,
    )
    .unwrap()
}

/// Largest absolute difference between the weights, means and covariance matrices of two
/// mixtures with the same labelling.
fn max_param_diff(a: &GaussianMixture, b: &GaussianMixture) -> f64 {
    let mut m = (a.weights() - b.weights()).amax();
    m = m.max((a.means() - b.means()).amax());
    for k in 0..a.n_components() {
        let (ca, cb) = (a.covariance(k).unwrap(), b.covariance(k).unwrap());
        m = m.max((ca - cb).amax());
    }
    m
}

/// The trace never decreases beyond the rounding of its evaluation (and `reg_covar`'s
/// ridge, which is far smaller here).
fn assert_non_decreasing(report: &FitReport) {
    for (i, w) in report.trace.windows(2).enumerate() {
        assert!(
            w[1] >= w[0] - 1e-12 * w[0].abs(),
            "cycle {}: objective fell from {:.17e} to {:.17e}",
            i + 1,
            w[0],
            w[1]
        );
    }
}

/// The number of plain EM iterations after which `model` is first within `eps` of `target`
/// (see [`max_param_diff`]), one driver iteration at a time. Plain EM's M-step depends only on
/// the statistics, so this is the iterate a single plain run with `max_iter = k` ends at
/// (checked by the caller), which costs k + 1 E-steps.
fn plain_iterations_to(
    model: &mut GaussianMixture,
    x: &DMatrix<f64>,
    target: &GaussianMixture,
    eps: f64,
) -> usize {
    let one = Em::new().tol(0.0).max_iter(1);
    let mut k = 0;
    while max_param_diff(model, target) > eps {
        one.fit(model, x).unwrap();
        k += 1;
        assert!(k < 100_000, "plain EM did not reach the target");
    }
    k
}

fn squarem_reaches_the_optimum_with_5x_fewer_e_steps(covariance_type: CovarianceType) {
    let x = overlapping_data(3000, SEED);
    let start = fixed_start(covariance_type);
    let options = GaussianMixture::builder(3)
        .covariance_type(covariance_type)
        .init(Init::Given(Box::new(start.clone())))
        .reg_covar(0.0);
    // The optimum: SQUAREM run to the rounding floor of the objective, then plain EM far past
    // convergence from there (plain EM alone would need ~10⁵ iterations to get that close).
    let mut optimum = options
        .clone()
        .tol(0.0)
        .max_iter(3_000)
        .accelerate(Acceleration::Squarem)
        .fit(&x)
        .unwrap()
        .model;
    Em::new()
        .tol(0.0)
        .max_iter(3_000)
        .fit(&mut optimum, &x)
        .unwrap();
    let opt = optimum.log_likelihood_total(&x).unwrap();

    // Both fits stop by the same rule: the per-row objective changed by less than 1e-10
    // (scikit-learn's rule, which the README's numbers were measured with).
    let options = options
        .stopping(Stopping::ObjectiveChange { tol: 1e-10 })
        .max_iter(20_000);
    let plain = options.fit(&x).unwrap();
    let fast = options
        .clone()
        .accelerate(Acceleration::Squarem)
        .fit(&x)
        .unwrap();
    let (p, f) = (&plain.report, &fast.report);
    let fast_gap = max_param_diff(&fast.model, &optimum);

    // Plain EM's E-steps to get as close to the optimum as SQUAREM got.
    let mut walker = start.clone();
    let k = plain_iterations_to(&mut walker, &x, &optimum, fast_gap);
    let mut again = start.clone();
    let to_optimum = Em::new().tol(0.0).max_iter(k).fit(&mut again, &x).unwrap();
    assert_eq!(again, walker);
    assert_eq!(to_optimum.e_steps, k + 1);

    eprintln!(
        "{covariance_type}, K = 3, D = 2, n = 3000 (seed {SEED}), tol 1e-10: plain EM {} E-steps, \
         {:.1e} from the optimum; SQUAREM {} E-steps ({} M-steps, {} cycles, {} fallbacks), \
         {fast_gap:.1e} from the optimum; plain EM needs {} E-steps to get as close; \
         log-lik optimum {opt:.9}, plain {:.9}, SQUAREM {:.9}",
        p.e_steps,
        max_param_diff(&plain.model, &optimum),
        f.e_steps,
        f.m_steps,
        f.iterations,
        f.fallbacks,
        to_optimum.e_steps,
        p.objective(),
        f.objective(),
    );
    assert!(p.converged && f.converged);
    assert!(((f.objective() - opt) / opt).abs() <= 1e-6);
    assert!(f.objective() >= p.objective() - 1e-12 * opt.abs());
    assert!(fast_gap <= 1e-3, "{:?} vs {optimum:?}", fast.model);
    // The speed-up, measured both ways.
    assert!(
        f.e_steps * 5 <= to_optimum.e_steps,
        "SQUAREM {} vs plain EM {} E-steps to the same distance from the optimum",
        f.e_steps,
        to_optimum.e_steps
    );
    assert!(
        f.e_steps * 5 <= p.e_steps,
        "SQUAREM {} vs plain EM {} E-steps at the same tol",
        f.e_steps,
        p.e_steps
    );
    assert_non_decreasing(f);
    assert!(f.m_steps <= 20_000);
    assert_eq!(fast.model.reg_covar(), 0.0);
}

#[test]
fn full_covariance_squarem_reaches_the_same_optimum_with_5x_fewer_e_steps() {
    squarem_reaches_the_optimum_with_5x_fewer_e_steps(CovarianceType::Full);
}

#[test]
fn diag_covariance_squarem_reaches_the_same_optimum_with_5x_fewer_e_steps() {
    squarem_reaches_the_optimum_with_5x_fewer_e_steps(CovarianceType::Diag);
}

/// Counts the parameter vectors its model refuses (extrapolations outside the parameter
/// space); otherwise the model itself.
#[derive(Debug, Clone)]
struct Refusals<M> {
    inner: M,
    refused: Arc<AtomicUsize>,
}

impl<M> Refusals<M> {
    fn new(inner: M) -> Self {
        Refusals {
            inner,
            refused: Arc::new(AtomicUsize::new(0)),
        }
    }
    fn count(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }
}

impl<M: LatentModel> LatentModel for Refusals<M> {
    type Data = M::Data;
    type Stats = M::Stats;
    fn e_step(&self, x: &M::Data, rows: Range<usize>) -> Result<EStep<M::Stats>, EmError> {
        self.inner.e_step(x, rows)
    }
    fn m_step(&mut self, stats: &M::Stats) -> Result<(), EmError> {
        self.inner.m_step(stats)
    }
    fn expected_complete_log_likelihood(&self, stats: &M::Stats) -> f64 {
        self.inner.expected_complete_log_likelihood(stats)
    }
    fn log_prior(&self) -> f64 {
        self.inner.log_prior()
    }
}

impl<M: ParameterVector> ParameterVector for Refusals<M> {
    fn parameters(&self) -> Vec<f64> {
        self.inner.parameters()
    }
    fn set_parameters(&mut self, theta: &[f64]) -> Result<(), EmError> {
        let result = self.inner.set_parameters(theta);
        if result.is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

#[test]
fn extrapolations_outside_the_parameter_space_fall_back_instead_of_failing() {
    // Four full components on three-component data: the spare component's weight and
    // covariance shrink, and long extrapolations push them below 0 / off the positive-definite
    // cone. Each such point is refused with a typed error and the cycle falls back.
    let x = overlapping_data(3000, SEED);
    let start = GaussianMixture::new(
        dvector![0.25, 0.25, 0.25, 0.25],
        dmatrix![-0.3, -0.2; 0.6, 0.1; 0.1, 0.7; 1.0, 1.0],
        Covariances::Full(vec![DMatrix::identity(2, 2); 4]),
    )
    .unwrap();
    let mut model = Refusals::new(start);
    let report = Em::new()
        .tol(1e-10)
        .max_iter(5_000)
        .accelerate(Acceleration::Squarem)
        .fit(&mut model, &x)
        .unwrap();
    eprintln!(
        "K = 4 full on 3-component data: {} E-steps, {} fallbacks, {} refused extrapolations",
        report.e_steps,
        report.fallbacks,
        model.count()
    );
    assert!(
        model.count() > 0,
        "no extrapolation left the parameter space"
    );
    assert!(report.fallbacks >= model.count());
    assert!(report.converged);
    assert_non_decreasing(&report);
    // The returned model is valid and its objective is the reported one.
    let ll = model.inner.log_likelihood_total(&x).unwrap();
    assert!((ll - report.objective()).abs() <= 1e-9 * ll.abs());
}

#[test]
fn zero_inflated_poisson_accelerates_near_the_boundary() {
    // Poisson data without excess zeros: the MLE of π is near the boundary π = 0 (where
    // an extrapolation with π < 0 is refused), and plain EM approaches it slowly.
    let counts = ZeroInflatedPoisson::new(0.0, 2.0)
        .unwrap()
        .sample(2_000, &mut StdRng::seed_from_u64(3))
        .0;
    let em = Em::new().tol(1e-12).max_iter(5_000);
    let mut plain = ZeroInflatedPoisson::moment_start(&counts).unwrap();
    let plain_report = em.fit(&mut plain, &counts[..]).unwrap();
    let mut fast = ZeroInflatedPoisson::moment_start(&counts).unwrap();
    let fast_report = em
        .clone()
        .accelerate(Acceleration::Squarem)
        .fit(&mut fast, &counts[..])
        .unwrap();
    eprintln!(
        "ZIP, MLE near π = 0: plain EM {} E-steps, SQUAREM {} E-steps ({} fallbacks); π {:.3e} vs {:.3e}",
        plain_report.e_steps,
        fast_report.e_steps,
        fast_report.fallbacks,
        plain.pi(),
        fast.pi()
    );
    assert!(fast_report.converged);
    assert!(fast_report.e_steps < plain_report.e_steps);
    assert!(
        fast_report.objective()
            >= plain_report.objective() - 1e-12 * plain_report.objective().abs()
    );
    assert!((fast.lambda() - plain.lambda()).abs() < 1e-4);
    assert_non_decreasing(&fast_report);
}

/// A mixture after one M-step from `fixed_start` (exactly symmetric covariances).
fn fitted(covariance_type: CovarianceType) -> GaussianMixture {
    let x = overlapping_data(500, 1);
    GaussianMixture::builder(3)
        .covariance_type(covariance_type)
        .init(Init::Given(Box::new(fixed_start(covariance_type))))
        .max_iter(3)
        .fit(&x)
        .unwrap()
        .model
}

#[test]
fn parameter_vector_round_trip_is_exact_for_every_covariance_type() {
    for covariance_type in CovarianceType::ALL {
        let model = fitted(covariance_type);
        let theta = model.parameters();
        assert_eq!(theta.len(), model.n_parameters() + 1, "{covariance_type}");
        let mut back = model.clone();
        back.set_parameters(&theta).unwrap();
        assert_eq!(back, model, "{covariance_type}");
        assert_eq!(back.parameters(), theta, "{covariance_type}");
        // Another model's vector moves it there, keeping the M-step options.
        let mut other = fixed_start(covariance_type).with_reg_covar(1e-3).unwrap();
        other.set_parameters(&theta).unwrap();
        assert_eq!(other.parameters(), theta);
        assert_eq!(other.reg_covar(), 1e-3);
        assert_eq!(other.means(), model.means());
        assert_eq!(other.covariances(), model.covariances());
    }
    let two = TwoComponentMixture::new(
        0.3,
        dvector![0.0, 1.0],
        dmatrix![1.0, 0.2; 0.2, 2.0],
        dvector![3.0, 1.0],
        dmatrix![0.5, 0.0; 0.0, 0.5],
    )
    .unwrap();
    let mut back = two.clone();
    back.set_parameters(&two.parameters()).unwrap();
    assert_eq!(back, two);
    let zip = ZeroInflatedPoisson::new(0.2, 3.5).unwrap();
    let mut back = ZeroInflatedPoisson::new(0.5, 1.0).unwrap();
    back.set_parameters(&zip.parameters()).unwrap();
    assert_eq!(back, zip);
}

#[test]
fn invalid_parameter_vectors_are_typed_errors_and_leave_the_model_unchanged() {
    for covariance_type in CovarianceType::ALL {
        let mut model = fitted(covariance_type);
        let before = model.clone();
        let theta = model.parameters();
        // Index of the first variance: after K weights and K·D means.
        let first_variance = 3 + 3 * 2;
        let mut cases: Vec<(&str, Vec<f64>)> = vec![
            ("short", theta[1..].to_vec()),
            ("NaN", {
                let mut t = theta.clone();
                t[4] = f64::NAN;
                t
            }),
            ("infinite", {
                let mut t = theta.clone();
                t[first_variance] = f64::INFINITY;
                t
            }),
            ("negative weight", {
                let mut t = theta.clone();
                t[0] = -0.1;
                t[1] += theta[0] + 0.1;
                t
            }),
            ("weights off the simplex", {
                let mut t = theta.clone();
                t[0] += 0.01;
                t
            }),
            ("negative variance", {
                let mut t = theta.clone();
                t[first_variance] = -1.0;
                t
            }),
        ];
        if matches!(covariance_type, CovarianceType::Full | CovarianceType::Tied) {
            // Σ = [a b; b c] with b² > ac.
            let mut t = theta.clone();
            t[first_variance + 1] = 10.0 * (t[first_variance] * t[first_variance + 2]).sqrt();
            cases.push(("indefinite", t));
        }
        for (what, t) in cases {
            let err = model.set_parameters(&t).unwrap_err();
            assert!(
                matches!(
                    err,
                    EmError::InvalidParameter { .. } | EmError::NotPositiveDefinite { .. }
                ),
                "{covariance_type} {what}: {err:?}"
            );
            assert_eq!(model, before, "{covariance_type} {what}");
        }
    }
    let mut zip = ZeroInflatedPoisson::new(0.2, 3.5).unwrap();
    for t in [
        vec![-0.1, 3.5],
        vec![1.0, 3.5],
        vec![0.2, 0.0],
        vec![0.2],
        vec![f64::NAN, 1.0],
    ] {
        assert!(zip.set_parameters(&t).is_err(), "{t:?}");
    }
    assert_eq!(zip, ZeroInflatedPoisson::new(0.2, 3.5).unwrap());
}

#[test]
fn accelerated_restarts_keep_the_best_and_every_trace_rises() {
    let x = overlapping_data(1500, 4);
    for covariance_type in CovarianceType::ALL {
        let options = GaussianMixture::builder(3)
            .covariance_type(covariance_type)
            .init(Init::RandomFromData)
            .n_init(3)
            .seed(9)
            .tol(1e-8)
            .max_iter(2_000)
            .reg_covar(0.0);
        let mut seen: Vec<Iteration> = Vec::new();
        let mut observer = |it: &Iteration| {
            seen.push(*it);
            em_core::Control::Continue
        };
        let fit = options
            .clone()
            .accelerate(Acceleration::Squarem)
            .fit_observed(&x, None, &mut observer)
            .unwrap();
        assert_eq!(fit.restarts.len(), 3);
        let reports: Vec<&FitReport> = fit
            .restarts
            .iter()
            .map(|r| r.result.as_ref().unwrap())
            .collect();
        for (i, r) in reports.iter().enumerate() {
            assert_non_decreasing(r);
            assert!(r.converged, "{covariance_type} restart {i}");
            // SQUAREM cycles: more M-steps than cycles (plain EM has exactly as many).
            assert!(r.m_steps > r.iterations, "{covariance_type} restart {i}");
            assert!(r.objective() <= fit.report.objective());
            // The observer saw this restart's cycles, labelled with its index.
            let cycles = seen.iter().filter(|it| it.restart == i).count();
            assert_eq!(cycles, r.iterations, "{covariance_type} restart {i}");
        }
        assert_eq!(*reports[fit.best_restart], fit.report);
        // Each restart starts where the plain fit's restart of the same index starts, and
        // both reach the same optimum.
        let plain = options.fit(&x).unwrap();
        for (a, b) in reports.iter().zip(&plain.restarts) {
            let b = b.result.as_ref().unwrap();
            assert_eq!(a.trace[0].to_bits(), b.trace[0].to_bits());
        }
        // (Random starts on overlapping data: restarts may end at different local optima, so
        // the accelerated and plain winners are not compared.)
    }
}

#[test]
fn without_acceleration_the_builder_fits_exactly_as_before() {
    let x = overlapping_data(800, 2);
    let options = GaussianMixture::builder(2).n_init(2).tol(1e-6);
    let a = options.fit(&x).unwrap();
    let b = options
        .clone()
        .accelerate(Acceleration::None)
        .fit(&x)
        .unwrap();
    assert_eq!(a.model, b.model);
    assert_eq!(a.report.trace, b.report.trace);
}

#[test]
fn accelerated_fits_honour_the_prior_and_sample_weights() {
    let x = overlapping_data(1200, 6);
    let start = fixed_start(CovarianceType::Full);
    let options = GaussianMixture::builder(3)
        .init(Init::Given(Box::new(start)))
        .default_prior()
        .tol(1e-10)
        .max_iter(10_000);
    let plain = options.fit(&x).unwrap();
    let fast = options
        .clone()
        .accelerate(Acceleration::Squarem)
        .fit(&x)
        .unwrap();
    // MAP-EM: the objective is the log-posterior, and the prior is kept.
    assert!(fast.model.prior().is_some());
    let posterior = fast.model.log_likelihood_total(&x).unwrap() + fast.model.log_prior();
    assert!((posterior - fast.report.objective()).abs() <= 1e-9 * posterior.abs());
    assert_non_decreasing(&fast.report);
    assert!(fast.report.e_steps < plain.report.e_steps);
    assert!(
        ((fast.report.objective() - plain.report.objective()) / plain.report.objective()).abs()
            < 1e-6
    );
    assert!(max_param_diff(&fast.model, &plain.model) < 1e-2);

    // Integer sample weights act as repeated rows, accelerated too.
    let weights: Vec<f64> = (0..x.nrows()).map(|i| (i % 3) as f64).collect();
    let rows: Vec<usize> = (0..x.nrows())
        .flat_map(|i| std::iter::repeat_n(i, i % 3))
        .collect();
    let repeated = DMatrix::from_fn(rows.len(), 2, |r, j| x[(rows[r], j)]);
    // (Without the prior, which mclust computes from the data, so it differs between them.)
    let options = GaussianMixture::builder(3)
        .init(Init::Given(Box::new(fixed_start(CovarianceType::Full))))
        .tol(1e-12)
        .max_iter(10_000)
        .accelerate(Acceleration::Squarem);
    let weighted = options.fit_weighted(&x, &weights).unwrap();
    let copies = options.fit(&repeated).unwrap();
    assert_non_decreasing(&weighted.report);
    assert!(
        ((weighted.report.objective() - copies.report.objective()) / copies.report.objective())
            .abs()
            < 1e-9
    );
    assert!(max_param_diff(&weighted.model, &copies.model) < 1e-5);
}

#[test]
fn two_component_mixture_accelerates_through_em_core() {
    let x = overlapping_data(1000, 8);
    let start = || {
        TwoComponentMixture::new(
            0.5,
            dvector![-0.5, 0.0],
            DMatrix::identity(2, 2),
            dvector![0.5, 0.5],
            DMatrix::identity(2, 2),
        )
        .unwrap()
    };
    let em = Em::new().tol(1e-10).max_iter(20_000);
    let mut plain = start();
    let plain_report = em.fit(&mut plain, &x).unwrap();
    let mut fast = start();
    let fast_report = em
        .clone()
        .accelerate(Acceleration::Squarem)
        .fit(&mut fast, &x)
        .unwrap();
    assert!(fast_report.e_steps < plain_report.e_steps);
    assert!(
        fast_report.objective() >= plain_report.objective() - 1e-9 * plain_report.objective().abs()
    );
    assert!((fast.alpha() - plain.alpha()).abs() < 1e-3);
    assert_non_decreasing(&fast_report);
}

/// The mixture in log-ratio / log-Cholesky coordinates (every finite vector valid): the
/// alternative to the raw coordinates `gmm` uses, for [`coordinates_raw_vs_unconstrained`].
#[derive(Debug, Clone)]
struct Unconstrained(GaussianMixture);

impl LatentModel for Unconstrained {
    type Data = DMatrix<f64>;
    type Stats = GaussianStats;
    fn e_step(
        &self,
        x: &DMatrix<f64>,
        rows: Range<usize>,
    ) -> Result<EStep<GaussianStats>, EmError> {
        self.0.e_step(x, rows)
    }
    fn m_step(&mut self, stats: &GaussianStats) -> Result<(), EmError> {
        self.0.m_step(stats)
    }
    fn expected_complete_log_likelihood(&self, stats: &GaussianStats) -> f64 {
        self.0.expected_complete_log_likelihood(stats)
    }
}

impl ParameterVector for Unconstrained {
    fn parameters(&self) -> Vec<f64> {
        let m = &self.0;
        let (k, d) = (m.n_components(), m.n_features());
        let mut v: Vec<f64> = (0..k - 1)
            .map(|j| (m.weights()[j] / m.weights()[k - 1]).ln())
            .collect();
        for j in 0..k {
            v.extend(m.means().row(j).iter());
        }
        match m.covariances() {
            Covariances::Full(_) => {
                for j in 0..k {
                    let l = m.covariance_cholesky(j).unwrap();
                    for r in 0..d {
                        v.extend((0..r).map(|c| l[(r, c)]));
                        v.push(l[(r, r)].ln());
                    }
                }
            }
            Covariances::Diag(var) => v.extend(var.transpose().iter().map(|s| 0.5 * s.ln())),
            _ => unimplemented!("full and diag only"),
        }
        v
    }
    fn set_parameters(&mut self, t: &[f64]) -> Result<(), EmError> {
        let m = &self.0;
        let (k, d) = (m.n_components(), m.n_features());
        if t.len() != self.parameters().len() || t.iter().any(|v| !v.is_finite()) {
            return Err(EmError::InvalidParameter {
                name: "theta",
                reason: "bad vector".into(),
            });
        }
        let logits: Vec<f64> = (0..k).map(|j| if j + 1 < k { t[j] } else { 0.0 }).collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        let w = DVector::from_iterator(k, e.iter().map(|v| v / sum));
        let means = DMatrix::from_row_slice(k, d, &t[k - 1..k - 1 + k * d]);
        let rest = &t[k - 1 + k * d..];
        let cov = match m.covariance_type() {
            CovarianceType::Full => Covariances::Full(
                rest.chunks(d * (d + 1) / 2)
                    .map(|c| {
                        let mut l = DMatrix::zeros(d, d);
                        let mut it = c.iter();
                        for r in 0..d {
                            for col in 0..r {
                                l[(r, col)] = *it.next().unwrap();
                            }
                            l[(r, r)] = it.next().unwrap().exp();
                        }
                        let s = &l * l.transpose();
                        (&s + s.transpose()) * 0.5
                    })
                    .collect(),
            ),
            CovarianceType::Diag => Covariances::Diag(DMatrix::from_row_iterator(
                k,
                d,
                rest.iter().map(|v| (2.0 * v).exp()),
            )),
            _ => unimplemented!("full and diag only"),
        };
        self.0 = GaussianMixture::new(w, means, cov)?;
        Ok(())
    }
}

/// The comparison behind the choice of raw coordinates (module docs of `gmm::accelerate`):
/// E-steps and fallbacks of SQUAREM in raw and in log-ratio / log-Cholesky coordinates on
/// twelve slowly converging mixtures. Prints the totals; asserts only that both accelerate.
#[test]
#[ignore = "a measurement for the docs: cargo test -p gmm --test squarem -- --ignored --nocapture"]
fn coordinates_raw_vs_unconstrained() {
    let two = GaussianMixture::new(
        dvector![0.6, 0.4],
        dmatrix![0.0, 0.0; 1.0, 0.5],
        Covariances::Full(vec![
            dmatrix![1.0, 0.3; 0.3, 1.0],
            dmatrix![0.8, -0.2; -0.2, 1.1],
        ]),
    )
    .unwrap();
    let start = |k: usize, covariance_type| {
        if k == 3 {
            return fixed_start(covariance_type);
        }
        let covariances = match covariance_type {
            CovarianceType::Full => Covariances::Full(vec![DMatrix::identity(2, 2); 2]),
            _ => Covariances::Diag(DMatrix::from_element(2, 2, 1.0)),
        };
        GaussianMixture::new(
            dvector![0.5, 0.5],
            dmatrix![-0.3, -0.2; 0.6, 0.5],
            covariances,
        )
        .unwrap()
    };
    // scikit-learn's rule, which the numbers in gmm::accelerate's docs were measured with.
    let em = Em::new()
        .stopping(Stopping::ObjectiveChange { tol: 1e-10 })
        .max_iter(20_000);
    let fast = em.clone().accelerate(Acceleration::Squarem);
    let mut totals = [0usize; 5];
    for k in [2, 3] {
        for seed in [13, 14, 15] {
            let truth = if k == 3 {
                overlapping_truth()
            } else {
                two.clone()
            };
            let x = truth.sample(3000, &mut StdRng::seed_from_u64(seed)).0;
            for covariance_type in [CovarianceType::Full, CovarianceType::Diag] {
                let plain = em.fit(&mut start(k, covariance_type), &x).unwrap();
                let raw = fast.fit(&mut start(k, covariance_type), &x).unwrap();
                let unconstrained = fast
                    .fit(&mut Unconstrained(start(k, covariance_type)), &x)
                    .unwrap();
                eprintln!(
                    "K = {k}, seed {seed}, {covariance_type}: plain EM {} E-steps; SQUAREM raw {} \
                     ({} fallbacks), unconstrained {} ({} fallbacks)",
                    plain.e_steps,
                    raw.e_steps,
                    raw.fallbacks,
                    unconstrained.e_steps,
                    unconstrained.fallbacks
                );
                for (t, v) in totals.iter_mut().zip([
                    plain.e_steps,
                    raw.e_steps,
                    raw.fallbacks,
                    unconstrained.e_steps,
                    unconstrained.fallbacks,
                ]) {
                    *t += v;
                }
            }
        }
    }
    eprintln!(
        "totals: plain EM {} E-steps; SQUAREM raw {} E-steps ({} fallbacks); unconstrained {} \
         E-steps ({} fallbacks)",
        totals[0], totals[1], totals[2], totals[3], totals[4]
    );
    assert!(totals[1] * 3 < totals[0] && totals[3] * 3 < totals[0]);
}
