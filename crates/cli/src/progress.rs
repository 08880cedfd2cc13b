//! A progress bar on standard error, as an em-core [`Observer`]: shown only when standard
//! error is a terminal, `--quiet` is off, and the work has already taken more than a second.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use em_core::{Control, Iteration, Observer};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long work runs before a bar appears: quick fits print no bar at all.
pub const DELAY: Duration = Duration::from_secs(1);

/// Progress over a number of EM runs (restarts, or every fit of `select`).
pub struct Progress {
    enabled: bool,
    delay: Duration,
    start: Instant,
    total: u64,
    base: u64,
    label: String,
    target: fn() -> ProgressDrawTarget,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress over `total` EM runs, drawn on standard error if it is a terminal and not
    /// `quiet`.
    pub fn on_stderr(quiet: bool, total: u64) -> Self {
        let enabled = !quiet && std::io::stderr().is_terminal();
        Progress::new(enabled, total, DELAY, ProgressDrawTarget::stderr)
    }

    /// Progress drawn on `target` once `delay` has passed, if `enabled`.
    pub fn new(
        enabled: bool,
        total: u64,
        delay: Duration,
        target: fn() -> ProgressDrawTarget,
    ) -> Self {
        Progress {
            enabled,
            delay,
            start: Instant::now(),
            total: total.max(1),
            base: 0,
            label: String::new(),
            target,
            bar: None,
        }
    }

    /// Sets the message's prefix, for the next iteration seen.
    pub fn relabel(&mut self, label: &str) {
        if self.label != label {
            self.label = label.to_owned();
        }
    }

    /// Counts `runs` more runs as done.
    pub fn advance(&mut self, runs: u64) {
        self.base += runs;
        let done = self.base;
        if let Some(bar) = self.bar() {
            bar.set_position(done);
        }
    }

    /// Whether a bar is on screen (or would be, on a hidden target).
    pub fn is_shown(&self) -> bool {
        self.bar.is_some()
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn bar(&mut self) -> Option<&ProgressBar> {
        if self.bar.is_none() && self.enabled && self.start.elapsed() >= self.delay {
            let bar = ProgressBar::with_draw_target(Some(self.total), (self.target)());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed}] {bar:30} {pos}/{len} runs  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        }
        self.bar.as_ref()
    }
}

impl Observer for Progress {
    fn observe(&mut self, it: &Iteration) -> Control {
        let position = self.base + it.restart as u64;
        // How far the run still is, when the rule estimates it: slow fits now run on.
        let distance = it
            .estimated_distance
            .map(|d| format!(", ~{d:.0e} from the optimum"))
            .unwrap_or_default();
        let message = format!(
            "{}restart {}, iteration {}: log-likelihood {:.6}{distance}",
            self.label, it.restart, it.iteration, it.objective
        );
        if let Some(bar) = self.bar() {
            bar.set_position(position);
            bar.set_message(message);
        }
        Control::Continue
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iteration() -> Iteration {
        Iteration {
            restart: 1,
            iteration: 3,
            objective: -10.0,
            change: 0.1,
            estimated_gap: None,
            estimated_distance: None,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn no_bar_when_disabled_or_before_the_delay() {
        let mut off = Progress::new(false, 2, Duration::ZERO, ProgressDrawTarget::hidden);
        assert_eq!(off.observe(&iteration()), Control::Continue);
        assert!(!off.is_shown());
        let mut early = Progress::new(
            true,
            2,
            Duration::from_secs(3600),
            ProgressDrawTarget::hidden,
        );
        early.observe(&iteration());
        assert!(!early.is_shown());
    }

    #[test]
    fn bar_appears_after_the_delay_and_tracks_runs() {
        let mut p = Progress::new(true, 8, Duration::ZERO, ProgressDrawTarget::hidden);
        p.advance(4);
        p.relabel("K = 2, full: ");
        assert_eq!(p.observe(&iteration()), Control::Continue);
        assert!(p.is_shown());
        let bar = p.bar.as_ref().unwrap();
        assert_eq!(bar.position(), 5);
        assert!(
            bar.message()
                .starts_with("K = 2, full: restart 1, iteration 3")
        );
        p.finish();
        assert!(!p.is_shown());
    }
}
