//! The objective after every iteration of the winning run.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{DrawResult, FAMILY, Figure, GRID, colour, padded};
use crate::summary::sig;

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
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 24))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(padded(0.0, last, 0.03), padded(lo, hi, 0.06))?;
        chart
            .configure_mesh()
            .x_desc("iteration")
            .y_desc("log-likelihood")
            .x_labels((last as usize + 1).clamp(2, 12))
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .y_label_formatter(&|v| sig(*v, 7))
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-9 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            })
            .draw()?;
        let c = colour(0);
        let points = self.trace.iter().enumerate().map(|(i, &v)| (i as f64, v));
        chart.draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))?;
        chart.draw_series(points.map(|p| Circle::new(p, 4, c.filled())))?;
        Ok(())
    }
}
