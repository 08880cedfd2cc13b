//! How fast methods approach an optimum: for each method, the distance of its parameters to
//! the optimum and the gap of its log-likelihood below the maximum, on log scales, against
//! iterations and against time (four panels). `examples/em_vs_gradient.rs` draws EM, SQUAREM
//! and gradient ascent with it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Axes, DrawResult, Figure, colour, draw_legend, line_chart, line_key, padded, whole_number_label,
};
use crate::summary::sig;

/// One iteration of one method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Iterations done.
    pub iteration: f64,
    /// Seconds since the start.
    pub seconds: f64,
    /// The relative distance of the parameters to the optimum.
    pub distance: f64,
    /// ℓ* − ℓ: how far the log-likelihood is below its maximum.
    pub gap: f64,
}

/// The methods' progress, one series each.
pub struct ConvergenceFigure<'a> {
    /// `(name, progress)` per method.
    pub methods: &'a [(String, Vec<Progress>)],
    /// The title of the whole figure.
    pub title: String,
}

/// What a panel plots: its x (iterations or seconds) and its y (distance or gap).
struct Panel {
    x: fn(&Progress) -> f64,
    y: fn(&Progress) -> f64,
    x_desc: &'static str,
    y_desc: &'static str,
}

/// 10^v as an axis label: `1e-6`.
fn power_of_ten(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("1e{}", v.round() as i64)
    } else {
        String::new()
    }
}

impl ConvergenceFigure<'_> {
    /// The panel's points of one method: (x, log₁₀ y), positive finite y only.
    fn points(panel: &Panel, progress: &[Progress]) -> Vec<(f64, f64)> {
        progress
            .iter()
            .map(|p| ((panel.x)(p), (panel.y)(p)))
            .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
            .map(|(x, y)| (x, y.log10()))
            .collect()
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &Panel,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let series: Vec<Vec<(f64, f64)>> = self
            .methods
            .iter()
            .map(|(_, p)| Self::points(panel, p))
            .collect();
        let extent = |f: fn(&(f64, f64)) -> f64| {
            series
                .iter()
                .flatten()
                .map(f)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                })
        };
        let (x_lo, x_hi) = extent(|p| p.0);
        let (y_lo, y_hi) = extent(|p| p.1);
        if !(x_lo <= x_hi && y_lo <= y_hi) {
            return Ok(());
        }
        let title = format!("{} against {}", panel.y_desc, panel.x_desc);
        let axes = Axes {
            title: &title,
            x: padded(x_lo.min(0.0), x_hi, 0.02),
            y: padded(y_lo.floor(), y_hi.ceil(), 0.03),
            x_desc: panel.x_desc,
            y_desc: panel.y_desc,
            x_labels: 8,
            x_label: &|v| {
                if panel.x_desc == "iterations" {
                    whole_number_label(*v, 0.0)
                } else {
                    sig(*v, 3)
                }
            },
            y_label: &power_of_ten,
        };
        let mut chart = line_chart(area, &axes)?;
        for (i, ((name, _), points)) in self.methods.iter().zip(series).enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))?
                .label(name.as_str())
                .legend(line_key(c.stroke_width(2)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

impl Figure for ConvergenceFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1400, 1000)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let root = root.titled(&self.title, (super::FAMILY, 26))?;
        let panels = [
            Panel {
                x: |p| p.iteration,
                y: |p| p.distance,
                x_desc: "iterations",
                y_desc: "distance to the MLE",
            },
            Panel {
                x: |p| p.seconds,
                y: |p| p.distance,
                x_desc: "seconds",
                y_desc: "distance to the MLE",
            },
            Panel {
                x: |p| p.iteration,
                y: |p| p.gap,
                x_desc: "iterations",
                y_desc: "ℓ* − ℓ",
            },
            Panel {
                x: |p| p.seconds,
                y: |p| p.gap,
                x_desc: "seconds",
                y_desc: "ℓ* − ℓ",
            },
        ];
        for (area, panel) in root.split_evenly((2, 2)).iter().zip(&panels) {
            self.draw_panel(area, panel)?;
        }
        Ok(())
    }
}
