//! EM against gradient ascent on the lecture notes' 1-D mixture: weights 0.6/0.3/0.1, means
//! −2/4/8, standard deviations 2/1/0.2 (2,000 draws). The notes set the two side by side:
//! EM's M-step against θ ← θ + η ∇ℓ(θ).
//!
//! Every method starts from the same parameters and runs in the same driver loop (the same
//! observers and reports; gradient ascent is just another `Step`), until its parameters are
//! within 1e-6 of the maximum-likelihood estimate — the largest relative change of any
//! parameter, `ScaledParameters::relative_distance` — or its budget of iterations runs out:
//!
//! * plain EM;
//! * SQUAREM (EM accelerated by extrapolation);
//! * gradient ascent with a backtracking line search (no step size to choose);
//! * gradient ascent with a fixed step η, for every η = 2^(−k/2) on a grid: the best one is the
//!   textbook method at its best, a step size one can only know by this search.
//!
//! Gradients are those of Fisher's identity (one E-step each), in unconstrained coordinates
//! (log-ratio weights, means, log-variances). The MLE is found first by SQUAREM to rounding
//! level.
//!
//! Run with `cargo run --release --example em_vs_gradient` (about a minute). `--csv DIR`
//! writes each method's trace (iteration, seconds, log-likelihood, distance) to DIR, and
//! `--plot DIR` draws `convergence.svg` there (distance to the MLE and
//! ℓ* − ℓ against iterations and against time; the README's figure is
//! `--plot docs/figures`).

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use em::core::{
    Control, Em, EmError, Evaluated, Evaluator, GradientAscent, Iteration, LatentModel,
    ScaledParameters, Squarem, Step, StepSize, Stepped, Stopping,
};
use em::mixture::{Gaussian, Mixture};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The target: every parameter within this relative distance of the MLE.
const TARGET: f64 = 1e-6;
/// Draws from the notes' mixture.
const N: usize = 2000;
/// Iterations allowed to every method.
const BUDGET: usize = 50_000;
/// Each run is repeated this many times; the median time is reported.
const REPEATS: usize = 3;

type Model = Mixture<Vec<Gaussian>>;

fn notes_mixture() -> Result<Model, EmError> {
    Mixture::new(
        vec![0.6, 0.3, 0.1],
        vec![
            Gaussian::new(-2.0, 4.0)?,
            Gaussian::new(4.0, 1.0)?,
            Gaussian::new(8.0, 0.04)?,
        ],
    )
}

/// The start every method shares: equal weights, means 1 away from the notes' (−1, 3, 7),
/// unit variances — the basin of the MLE near the truth, as a careful start (k-means++, a
/// hierarchical start) would give.
fn start() -> Result<Model, EmError> {
    Mixture::new(
        vec![1.0 / 3.0; 3],
        vec![
            Gaussian::new(-1.0, 1.0)?,
            Gaussian::new(3.0, 1.0)?,
            Gaussian::new(7.0, 1.0)?,
        ],
    )
}

/// One point of a run: after `iteration`, at `seconds`, the objective and the distance.
#[derive(Debug, Clone, Copy)]
struct Point {
    iteration: usize,
    e_steps: usize,
    seconds: f64,
    objective: f64,
    distance: f64,
}

/// A step that runs another and records how far its result is from the MLE: the parameter
/// trajectory no observer sees, added by composing steps.
struct Recording<S> {
    inner: S,
    optimum: ScaledParameters,
    distances: Rc<RefCell<Vec<f64>>>,
}

impl<M: LatentModel, S: Step<M>> Step<M> for Recording<S> {
    type State = S::State;

    fn step(
        &self,
        state: &mut S::State,
        evaluator: &mut Evaluator<'_, M>,
        model: &mut M,
        current: Evaluated<M::Stats>,
    ) -> Result<Stepped<M::Stats>, EmError> {
        let out = self.inner.step(state, evaluator, model, current)?;
        let distance = model
            .scaled_parameters()
            .map_or(f64::NAN, |p| p.relative_distance(&self.optimum));
        self.distances.borrow_mut().push(distance);
        Ok(out)
    }
}

/// How a run ended.
struct Run {
    points: Vec<Point>,
    reached: Option<Point>,
    diverged: Option<String>,
}

/// Runs `step` from `start` until the target or the budget, recording every iteration.
fn run<S: Step<Model>>(step: S, start: &Model, x: &[f64], optimum: &Model) -> Run {
    let distances = Rc::new(RefCell::new(Vec::new()));
    let recording = Recording {
        inner: step,
        optimum: optimum.scaled_parameters().unwrap_or_default(),
        distances: Rc::clone(&distances),
    };
    let points = RefCell::new(Vec::new());
    let mut observer = |it: &Iteration| {
        let distance = distances.borrow().last().copied().unwrap_or(f64::NAN);
        points.borrow_mut().push(Point {
            iteration: it.iteration,
            e_steps: 0,
            seconds: it.elapsed.as_secs_f64(),
            objective: it.objective,
            distance,
        });
        if distance <= TARGET {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let em = Em::new()
        .stopping(Stopping::Parameters { tol: 0.0 })
        .max_iter(BUDGET)
        .accelerate(recording)
        .observer(&mut observer);
    let mut model = start.clone();
    let result = em.fit(&mut model, x);
    drop(em);
    let mut points = points.into_inner();
    match result {
        Ok(report) => {
            let reached = points.last().copied().filter(|p| p.distance <= TARGET);
            let reached = reached.map(|p| Point {
                e_steps: report.e_steps,
                ..p
            });
            Run {
                points,
                reached,
                diverged: None,
            }
        }
        Err(e) => {
            points.shrink_to_fit();
            Run {
                points,
                reached: None,
                diverged: Some(e.to_string()),
            }
        }
    }
}

/// `run` repeated; the median time of the repeats that reached the target.
fn timed<S: Step<Model> + Clone>(step: &S, start: &Model, x: &[f64], optimum: &Model) -> Run {
    let mut runs: Vec<Run> = (0..REPEATS)
        .map(|_| run(step.clone(), start, x, optimum))
        .collect();
    let mut times: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.reached.map(|p| p.seconds))
        .collect();
    times.sort_by(f64::total_cmp);
    let mut best = runs.swap_remove(0);
    if let (Some(p), Some(&median)) = (best.reached.as_mut(), times.get(times.len() / 2)) {
        p.seconds = median;
    }
    best
}

fn describe(name: &str, run: &Run, optimum_objective: f64) -> String {
    match (&run.reached, &run.diverged) {
        (Some(p), _) => format!(
            "{name:<34} {:>8} {:>9} {:>11.2} {:>12.1e}",
            p.iteration,
            p.e_steps,
            p.seconds * 1e3,
            optimum_objective - p.objective
        ),
        (None, Some(e)) => format!("{name:<34} diverged: {e}"),
        (None, None) => {
            let last = run.points.last();
            format!(
                "{name:<34} {:>8} {:>9} {:>11} {:>12}   (distance {:.1e} after the budget)",
                format!(">{BUDGET}"),
                "-",
                "-",
                "-",
                last.map_or(f64::NAN, |p| p.distance)
            )
        }
    }
}

fn write_csv(dir: &PathBuf, name: &str, run: &Run) -> std::io::Result<()> {
    use std::fmt::Write as _;
    let mut text = String::from("iteration,seconds,log_likelihood,distance\n");
    for p in &run.points {
        let _ = writeln!(
            text,
            "{},{},{},{}",
            p.iteration, p.seconds, p.objective, p.distance
        );
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("{name}.csv")), text)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir_after = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from)
    };
    let (csv_dir, plot_dir) = (dir_after("--csv"), dir_after("--plot"));

    let (x, _) = notes_mixture()?.sample(N, &mut StdRng::seed_from_u64(2026));
    let start = start()?;
    let mut optimum = start.clone();
    Em::new()
        .stopping(Stopping::Parameters { tol: 1e-15 })
        .max_iter(BUDGET)
        .accelerate(Squarem)
        .fit(&mut optimum, &x)?;
    let optimum_objective = optimum.log_likelihood_total(&x)?;
    println!(
        "{N} draws from the notes' mixture (0.6 N(−2, 2²) + 0.3 N(4, 1²) + 0.1 N(8, 0.2²)); \
         the MLE: weights {:.4?}, log-likelihood {optimum_objective:.6}",
        optimum.weights()
    );
    println!(
        "until every parameter is within {TARGET:e} (relative) of the MLE; time: median of \
         {REPEATS} runs\n"
    );
    println!(
        "{:<34} {:>8} {:>9} {:>11} {:>12}",
        "method", "iters", "E-steps", "time (ms)", "ℓ* − ℓ"
    );

    let mut named: Vec<(String, Run)> = Vec::new();
    named.push(("EM".into(), timed(&em::core::Plain, &start, &x, &optimum)));
    named.push(("SQUAREM".into(), timed(&Squarem, &start, &x, &optimum)));
    let backtracking = GradientAscent::new(StepSize::Backtracking { initial: 1e-3 });
    named.push((
        "gradient ascent, line search".into(),
        timed(&backtracking, &start, &x, &optimum),
    ));
    let mut fixed: Vec<(f64, Run)> = Vec::new();
    for k in 12..=32 {
        let eta = 2f64.powf(-0.5 * k as f64);
        let step = GradientAscent::new(StepSize::Fixed(eta));
        fixed.push((eta, run(step, &start, &x, &optimum)));
    }
    let best = fixed
        .iter()
        .filter_map(|(eta, r)| r.reached.map(|p| (p.iteration, *eta)))
        .min_by_key(|(iterations, _)| *iterations);
    for (name, run) in &named {
        println!("{}", describe(name, run, optimum_objective));
    }
    match best {
        Some((_, eta)) => {
            let run = timed(
                &GradientAscent::new(StepSize::Fixed(eta)),
                &start,
                &x,
                &optimum,
            );
            let name = format!("gradient ascent, best fixed η = 2^{}", eta.log2());
            println!("{}", describe(&name, &run, optimum_objective));
            named.push((name, run));
        }
        None => println!("gradient ascent, fixed η: no η on the grid reached the target"),
    }
    println!("\nfixed step sizes tried:");
    for (eta, run) in &fixed {
        println!(
            "{}",
            describe(&format!("  η = 2^{}", eta.log2()), run, optimum_objective)
        );
    }

    if let Some(dir) = &csv_dir {
        for (name, run) in &named {
            let file: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            write_csv(dir, &file, run)?;
        }
        println!("\nwrote the traces to {}", dir.display());
    }
    if let Some(dir) = &plot_dir {
        plot::convergence(dir, &named, optimum_objective)?;
    }
    Ok(())
}

mod plot {
    use std::path::Path;

    use em_cli::plot::convergence::{ConvergenceFigure, Progress};

    use super::{N, Run, TARGET};

    /// Draws `convergence.svg` in `dir`.
    pub fn convergence(
        dir: &Path,
        runs: &[(String, Run)],
        optimum_objective: f64,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let methods: Vec<(String, Vec<Progress>)> = runs
            .iter()
            .map(|(name, run)| {
                let progress = run
                    .points
                    .iter()
                    .map(|p| Progress {
                        iteration: p.iteration as f64,
                        seconds: p.seconds,
                        distance: p.distance,
                        gap: optimum_objective - p.objective,
                    })
                    .collect();
                (name.clone(), progress)
            })
            .collect();
        let figure = ConvergenceFigure {
            methods: &methods,
            title: format!(
                "The notes' 1-D mixture, {N} draws: EM, SQUAREM (iterations are cycles) and \
                 gradient ascent, until {TARGET:e} from the MLE"
            ),
        };
        std::fs::create_dir_all(dir)?;
        em_cli::plot::render(&figure, &dir.join("convergence.svg"))?;
        println!("wrote {}/convergence.svg", dir.display());
        Ok(())
    }
}
