//! The objective after every iteration of the winning run.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Axes, DrawResult, Figure, colour, line_chart, padded, whole_number_label};

/// The log-likelihood at the starting parameters (iteration 0) and after each iteration.
pub struct TraceFigure<'a> {
    /// `trace[0]` at the start, `trace[i]` after iteration i.
    pub trace: &'a [f64],
    /// The title.
    pub title: String,
}

impl Figure for TraceFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (lo, hi) = self
            .trace
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let last = self.trace.len().saturating_sub(1).max(1) as f64;
        let chart_axes = Axes {
            title: &self.title,
            x: padded(0.0, last, 0.03),
            y: padded(lo, hi, 0.06),
            x_desc: "iteration",
            y_desc: "log-likelihood",
            x_labels: (last as usize + 1).clamp(2, 12),
            x_label: &|v| whole_number_label(*v, f64::NEG_INFINITY),
            y_label: &super::y_label,
        };
        let mut chart = line_chart(root, &chart_axes)?;
        let c = colour(0);
        let points = self.trace.iter().enumerate().map(|(i, &v)| (i as f64, v));
        chart.draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))?;
        chart.draw_series(points.map(|p| Circle::new(p, 4, c.filled())))?;
        Ok(())
    }
}
