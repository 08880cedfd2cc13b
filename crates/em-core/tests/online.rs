//! Online EM: the running average follows the step-size schedule exactly, the driver's online
//! fit is independent of the thread count and approaches batch EM, and bad options, empty
//! batches, failed M-steps and changing sources are typed errors that leave the state as it
//! was.

mod common;

use common::{Mixture1d, Stats1d, two_clusters};
use em_core::online::{OnlineEm, OnlineOptions, OnlineState};
use em_core::stream::SliceSource;
use em_core::{ChunkSource, Control, Em, EmError, Iteration, LatentModel, chunked_log_likelihood};

fn start() -> Mixture1d {
    Mixture1d::new(vec![0.5, 0.5], vec![-1.0, 1.0], vec![4.0, 4.0])
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
}

/// The E-steps of consecutive batches of `size` observations, all at the parameters of `at`.
fn batch_stats(at: &Mixture1d, data: &[f64], size: usize) -> Vec<Stats1d> {
    data.chunks(size)
        .map(|c| at.e_step(c, 0..c.len()).unwrap().stats)
        .collect()
}

#[test]
fn running_average_weighs_batch_t_by_its_step_size_and_the_later_forgetting() {
    let data = two_clusters(1_000);
    let fixed = start();
    let stats = batch_stats(&fixed, &data, 100);
    for alpha in [0.55, 0.7, 1.0] {
        let options = OnlineOptions {
            step_exponent: alpha,
            ..Default::default()
        };
        let mut state = OnlineState::new();
        let mut model = start();
        for s in &stats {
            let e = em_core::EStep {
                stats: s.clone(),
                log_likelihood: 0.0,
                entropy: 0.0,
            };
            state.update(&mut model, e, 100, 100, &options).unwrap();
        }
        // Weight of batch t: ρ_t Π_{u > t} (1 − ρ_u), normalised by their sum.
        let t_count = stats.len();
        let weights: Vec<f64> = (0..t_count)
            .map(|t| {
                let later: f64 = (t + 1..t_count)
                    .map(|u| 1.0 - options.step_size(u))
                    .product();
                options.step_size(t) * later
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let mut expected = Stats1d {
            n: vec![0.0; 2],
            sx: vec![0.0; 2],
            sxx: vec![0.0; 2],
        };
        for (s, w) in stats.iter().zip(&weights) {
            for k in 0..2 {
                expected.n[k] += w / total * s.n[k] / 100.0;
                expected.sx[k] += w / total * s.sx[k] / 100.0;
                expected.sxx[k] += w / total * s.sxx[k] / 100.0;
            }
        }
        let average = state.average().unwrap();
        assert!(close(&average.n, &expected.n, 1e-12), "α = {alpha}");
        assert!(close(&average.sx, &expected.sx, 1e-12), "α = {alpha}");
        assert!(close(&average.sxx, &expected.sxx, 1e-12), "α = {alpha}");
        assert_eq!(state.updates(), t_count);
        assert_eq!(state.n_seen(), 1_000);
    }
}

#[test]
fn step_exponent_one_averages_equal_batches_equally() {
    let data = two_clusters(1_000);
    let fixed = start();
    let stats = batch_stats(&fixed, &data, 250);
    let options = OnlineOptions {
        step_exponent: 1.0,
        ..Default::default()
    };
    let mut state = OnlineState::new();
    let mut model = start();
    for s in &stats {
        let e = em_core::EStep {
            stats: s.clone(),
            log_likelihood: 0.0,
            entropy: 0.0,
        };
        state.update(&mut model, e, 250, 250, &options).unwrap();
    }
    let whole = fixed.e_step(&data, 0..data.len()).unwrap().stats;
    let average = state.average().unwrap();
    for k in 0..2 {
        assert!((average.n[k] - whole.n[k] / 1_000.0).abs() < 1e-12);
        assert!((average.sx[k] - whole.sx[k] / 1_000.0).abs() < 1e-12);
    }
    // …and the M-step saw them as the 1,000 observations seen: the batch M-step's parameters.
    let mut batch = start();
    batch.m_step(&whole).unwrap();
    assert!(close(&model.means, &batch.means, 1e-12));
    assert!(close(&model.vars, &batch.vars, 1e-12));
    assert!(close(&model.weights, &batch.weights, 1e-12));
}

#[test]
fn online_fit_does_not_depend_on_the_thread_count() {
    let data = two_clusters(60_000);
    let options = OnlineOptions {
        batch_size: 6_000,
        passes: 2,
        ..Default::default()
    };
    let run = |threads: usize| {
        let mut model = start();
        let report = Em::new()
            .threads(threads)
            .chunk_size(1_000)
            .fit_online(&mut model, &mut SliceSource::new(&data), &options)
            .unwrap();
        (model, report.trace)
    };
    let (one, trace_one) = run(1);
    let (two, trace_two) = run(2);
    assert_eq!(one, two);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&trace_one), bits(&trace_two));
    assert_eq!(trace_one.len(), 20);
}

#[test]
fn one_pass_gets_close_to_batch_em() {
    let data = two_clusters(200_000);
    let mean_ll = |m: &Mixture1d| chunked_log_likelihood(m, &data[..], 4096).unwrap() / 2e5;
    let mut batch = start();
    Em::new().tol(1e-10).fit(&mut batch, &data[..]).unwrap();
    // From this poor start online EM needs a few hundred updates: mini-batches of 1,000.
    let mut online = start();
    let options = OnlineOptions {
        batch_size: 1_000,
        ..Default::default()
    };
    let report = Em::new()
        .fit_online(&mut online, &mut SliceSource::new(&data), &options)
        .unwrap();
    assert_eq!(report.updates, 200);
    assert_eq!(report.n_obs, 200_000);
    let gap = mean_ll(&batch) - mean_ll(&online);
    let start_gap = mean_ll(&batch) - mean_ll(&start());
    assert!(start_gap > 0.1, "{start_gap}");
    assert!((0.0..1e-3).contains(&gap), "gap {gap}");
    // The progressive estimate is below the final fit (it includes the early batches).
    assert!(report.last_pass_mean_log_likelihood < mean_ll(&online));
}

#[test]
fn the_observer_sees_every_update_and_can_stop_the_fit() {
    let data = two_clusters(10_000);
    let mut seen = Vec::new();
    let mut watch = |it: &Iteration| {
        seen.push(it.iteration);
        if it.iteration == 3 {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let options = OnlineOptions {
        batch_size: 1_000,
        ..Default::default()
    };
    let report = Em::new()
        .observer(&mut watch)
        .fit_online(&mut start(), &mut SliceSource::new(&data), &options)
        .unwrap();
    assert_eq!(seen, vec![1, 2, 3]);
    assert_eq!(report.updates, 3);
    assert!(report.stopped_by_observer);
}

#[test]
fn invalid_options_name_the_option() {
    let data = two_clusters(100);
    let cases = [
        (
            OnlineOptions {
                step_exponent: 0.5,
                ..Default::default()
            },
            "step_exponent",
        ),
        (
            OnlineOptions {
                step_exponent: 1.5,
                ..Default::default()
            },
            "step_exponent",
        ),
        (
            OnlineOptions {
                batch_size: 0,
                ..Default::default()
            },
            "batch_size",
        ),
        (
            OnlineOptions {
                passes: 0,
                ..Default::default()
            },
            "passes",
        ),
        (
            OnlineOptions {
                total: Some(-3.0),
                ..Default::default()
            },
            "total",
        ),
    ];
    for (options, expected) in cases {
        match Em::new().fit_online(&mut start(), &mut SliceSource::new(&data), &options) {
            Err(EmError::InvalidParameter { name, .. }) => assert_eq!(name, expected),
            other => panic!("{expected}: {other:?}"),
        }
        match OnlineEm::with_options(start(), options) {
            Err(EmError::InvalidParameter { name, .. }) => assert_eq!(name, expected),
            other => panic!("{expected}: {other:?}"),
        }
    }
}

#[test]
fn empty_batches_and_sources_are_empty_data() {
    let mut online = OnlineEm::new(start());
    assert_eq!(online.partial_fit(&[][..]).unwrap_err(), EmError::EmptyData);
    let empty: Vec<f64> = Vec::new();
    let err = Em::new()
        .fit_online(
            &mut start(),
            &mut SliceSource::new(&empty),
            &OnlineOptions::default(),
        )
        .unwrap_err();
    assert_eq!(err, EmError::EmptyData);
}

#[test]
fn a_failed_m_step_leaves_the_state_as_it_was() {
    let mut online = OnlineEm::new(start());
    online.partial_fit(&two_clusters(500)[..]).unwrap();
    let (model, updates) = (online.model().clone(), online.state().updates());
    let before = online.state().average().unwrap();
    // A first batch that gives a far-away component no responsibility: its M-step fails.
    let mut fresh = OnlineEm::new(Mixture1d::new(
        vec![0.5, 0.5],
        vec![0.0, 1e6],
        vec![1.0, 1.0],
    ));
    match fresh.partial_fit(&[0.1, -0.2, 0.3][..]) {
        Err(EmError::EmptyComponent { component: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(fresh.state().updates(), 0);
    assert!(fresh.state().average().is_none());
    // (This model's M-step is not atomic: it may have moved component 0 before it failed.)
    // The first fit is untouched by any of this.
    assert_eq!(online.model(), &model);
    assert_eq!(online.state().updates(), updates);
    assert_eq!(online.state().average().unwrap(), before);
}

/// A source whose data grow by one observation on every pass.
struct Growing {
    data: Vec<f64>,
    at: usize,
}

impl ChunkSource for Growing {
    type Chunk = Vec<f64>;
    fn rewind(&mut self) -> Result<(), EmError> {
        self.at = 0;
        self.data.push(0.5);
        Ok(())
    }
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<f64>>, EmError> {
        let rest = &self.data[self.at..];
        if rest.is_empty() {
            return Ok(None);
        }
        let take = max.min(rest.len());
        self.at += take;
        Ok(Some(rest[..take].to_vec()))
    }
}

#[test]
fn a_source_that_changes_between_passes_is_an_error() {
    let mut source = Growing {
        data: two_clusters(100),
        at: 0,
    };
    let options = OnlineOptions {
        batch_size: 30,
        passes: 2,
        ..Default::default()
    };
    match Em::new().fit_online(&mut start(), &mut source, &options) {
        Err(EmError::Io { reason, .. }) => {
            assert!(reason.contains("101") && reason.contains("102"), "{reason}")
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
}
