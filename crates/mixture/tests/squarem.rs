//! SQUAREM on the bundled mixture families: Hasselblad's Poisson mixture reaches the published
//! MLE with at least 5× fewer E-steps than plain EM; parameter vectors round-trip and invalid
//! ones are typed errors. Counts: `cargo test -p mixture --test squarem -- --nocapture`.

use em_core::{Acceleration, Em, EmError, FitReport, ParameterVector, Stopping};
use mixture::{
    Bernoulli, BinaryMatrix, ComponentParameters, Exponential, Gaussian, Mixture, Poisson,
};

/// Days with 0, 1, …, 9 deaths (Hasselblad 1969).
const FREQUENCIES: [u64; 10] = [162, 267, 271, 185, 111, 61, 27, 8, 3, 1];
/// Published MLE: weight of the high-rate component, its rate, the low rate.
const MLE: [f64; 3] = [0.6401146, 2.6634044, 1.2560951];

fn deaths() -> Vec<u64> {
    (0u64..)
        .zip(FREQUENCIES)
        .flat_map(|(y, days)| std::iter::repeat_n(y, days as usize))
        .collect()
}

fn start() -> Mixture<Vec<Poisson>> {
    Mixture::new(
        vec![0.5, 0.5],
        vec![Poisson::new(1.0).unwrap(), Poisson::new(3.0).unwrap()],
    )
    .unwrap()
}

/// (p, λ1, λ2) with λ1 the larger rate.
fn canonical(m: &Mixture<Vec<Poisson>>) -> [f64; 3] {
    let c = m.components();
    let (hi, lo) = if c[0].lambda() > c[1].lambda() {
        (0, 1)
    } else {
        (1, 0)
    };
    [m.weights()[hi], c[hi].lambda(), c[lo].lambda()]
}

fn distance(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn assert_non_decreasing(report: &FitReport) {
    for w in report.trace.windows(2) {
        assert!(w[1] >= w[0] - 1e-12 * w[0].abs(), "{} → {}", w[0], w[1]);
    }
}

#[test]
fn hasselblad_squarem_reaches_the_published_mle_with_5x_fewer_e_steps() {
    let data = deaths();
    // Plain EM, one iteration at a time, until within 1e-6 of the published MLE (which is
    // rounded to 7 decimals); a single run with max_iter = k ends at the same point.
    let one = Em::new().tol(0.0).max_iter(1);
    let mut walker = start();
    let mut k = 0;
    while distance(&canonical(&walker), &MLE) > 1e-6 {
        one.fit(&mut walker, &data[..]).unwrap();
        k += 1;
        assert!(k < 100_000);
    }
    let mut plain = start();
    let plain_report = Em::new()
        .tol(0.0)
        .max_iter(k)
        .fit(&mut plain, &data[..])
        .unwrap();
    assert_eq!(plain, walker);

    // Plain EM stopped by scikit-learn's rule at a tolerance near the rounding of the
    // log-likelihood, and SQUAREM stopped by the driver's default rule.
    let em = Em::new()
        .stopping(Stopping::ObjectiveChange { tol: 1e-15 })
        .max_iter(10_000);
    let mut plain_tol = start();
    let plain_tol_report = em.fit(&mut plain_tol, &data[..]).unwrap();
    let mut fast = start();
    let report = Em::new()
        .accelerate(Acceleration::Squarem)
        .fit(&mut fast, &data[..])
        .unwrap();
    eprintln!(
        "Hasselblad, mixture::Mixture<Vec<Poisson>> from π = (½, ½), λ = (1, 3): plain EM {} E-steps \
         to the published MLE within 1e-6 (with scikit-learn's rule at 1e-15 it stops after {} \
         E-steps, {:.1e} away); SQUAREM at the defaults {} E-steps ({} M-steps, {} cycles, {} \
         fallbacks), {:.1e} away",
        plain_report.e_steps,
        plain_tol_report.e_steps,
        distance(&canonical(&plain_tol), &MLE),
        report.e_steps,
        report.m_steps,
        report.iterations,
        report.fallbacks,
        distance(&canonical(&fast), &MLE),
    );
    assert!(report.converged);
    assert!(distance(&canonical(&fast), &MLE) <= 1e-6, "{fast:?}");
    assert!(
        report.e_steps * 5 <= plain_report.e_steps,
        "SQUAREM {} vs plain {} E-steps",
        report.e_steps,
        plain_report.e_steps
    );
    assert!(report.objective() >= plain_tol_report.objective());
    assert_non_decreasing(&report);
}

fn round_trip<C: ComponentParameters + PartialEq>(m: &Mixture<Vec<C>>) {
    let theta = m.parameters();
    let mut back = m.clone();
    back.set_parameters(&theta).unwrap();
    assert_eq!(&back, m);
    assert_eq!(back.parameters(), theta);
}

#[test]
fn every_family_round_trips_and_refuses_invalid_vectors() {
    let poisson = start();
    let exponential = Mixture::new(
        vec![0.4, 0.6],
        vec![
            Exponential::new(0.5).unwrap().with_max_rate(100.0).unwrap(),
            Exponential::new(3.0).unwrap(),
        ],
    )
    .unwrap();
    let gaussian = Mixture::new(
        vec![0.2, 0.8],
        vec![
            Gaussian::new(-1.0, 2.0)
                .unwrap()
                .with_min_variance(0.1)
                .unwrap(),
            Gaussian::new(4.0, 0.5).unwrap(),
        ],
    )
    .unwrap();
    let bernoulli = Mixture::new(
        vec![0.5, 0.5],
        vec![
            Bernoulli::new(vec![0.1, 0.9, 0.5]).unwrap(),
            Bernoulli::new(vec![0.7, 0.2, 0.0]).unwrap(),
        ],
    )
    .unwrap();
    round_trip(&poisson);
    round_trip(&exponential);
    round_trip(&gaussian);
    round_trip(&bernoulli);
    assert_eq!(gaussian.parameters(), vec![0.2, 0.8, -1.0, 2.0, 4.0, 0.5]);

    fn refuses<C: ComponentParameters + PartialEq>(m: &Mixture<Vec<C>>, theta: Vec<f64>) {
        let mut moved = m.clone();
        let err = moved.set_parameters(&theta).unwrap_err();
        assert!(matches!(err, EmError::InvalidParameter { .. }), "{err:?}");
        assert_eq!(&moved, m);
    }
    refuses(&poisson, vec![0.5, 0.5, 1.0]);
    refuses(&poisson, vec![-0.1, 1.1, 1.0, 3.0]);
    refuses(&poisson, vec![0.5, 0.6, 1.0, 3.0]);
    refuses(&poisson, vec![0.5, 0.5, -1.0, 3.0]);
    refuses(&poisson, vec![0.5, 0.5, f64::NAN, 3.0]);
    refuses(&exponential, vec![0.4, 0.6, 200.0, 3.0]); // above the rate cap
    refuses(&gaussian, vec![0.2, 0.8, -1.0, 0.05, 4.0, 0.5]); // below the variance floor
    refuses(&gaussian, vec![0.2, 0.8, -1.0, 2.0, 4.0, -0.5]);
    refuses(&bernoulli, vec![0.5, 0.5, 0.1, 0.9, 1.2, 0.7, 0.2, 0.0]);
}

#[test]
fn bernoulli_mixture_accelerated_fit_ends_where_plain_em_does() {
    // Binary rows whose fitted probabilities run to 0 and 1, at the edge of the parameter
    // space: SQUAREM's extrapolations there may leave [0, 1] and fall back.
    let rows: Vec<Vec<bool>> = (0..400)
        .map(|i| {
            let g = i % 3 == 0;
            (0..6)
                .map(|d| {
                    if d < 2 {
                        g
                    } else {
                        (i * (d + 3) / 7) % 2 == usize::from(g)
                    }
                })
                .collect()
        })
        .collect();
    let data = BinaryMatrix::from_rows(&rows).unwrap();
    let start = || {
        Mixture::new(
            vec![0.5, 0.5],
            vec![
                Bernoulli::new(vec![0.4, 0.45, 0.5, 0.5, 0.55, 0.5]).unwrap(),
                Bernoulli::new(vec![0.6, 0.55, 0.5, 0.45, 0.5, 0.5]).unwrap(),
            ],
        )
        .unwrap()
    };
    let em = Em::new().tol(1e-12).max_iter(20_000);
    let mut plain = start();
    let plain_report = em.fit(&mut plain, &data).unwrap();
    let mut fast = start();
    let report = em
        .accelerate(Acceleration::Squarem)
        .fit(&mut fast, &data)
        .unwrap();
    eprintln!(
        "Bernoulli mixture: plain EM {} E-steps, SQUAREM {} E-steps ({} fallbacks)",
        plain_report.e_steps, report.e_steps, report.fallbacks
    );
    assert!(report.converged);
    assert!(report.objective() >= plain_report.objective() - 1e-9 * plain_report.objective().abs());
    let gap = plain
        .parameters()
        .iter()
        .zip(fast.parameters())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(gap < 1e-4, "{plain:?} vs {fast:?}");
    assert_non_decreasing(&report);
}
