//! EM's lower bound along one coordinate (`em bound`): the log-likelihood ℓ(θ) and the bound
//! Q(θ | θ_t) + H(q_t), which touch at θ_t.

use em_core::gradient::BoundPoint;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Axes, DrawResult, Figure, colour, draw_legend, line_chart, line_key, padded};
use crate::summary::sig;

/// A curve's legend and its value at a point.
type Curve = (&'static str, fn(&BoundPoint) -> f64);

/// The two curves of [`em_core::gradient::bound_profile`] and a vertical line at θ_t.
pub struct BoundFigure<'a> {
    /// The points, in increasing order of the coordinate.
    pub points: &'a [BoundPoint],
    /// The coordinate's value at θ_t, where the curves touch.
    pub at: f64,
    /// The coordinate's name (the x axis).
    pub coordinate: &'a str,
    /// The title.
    pub title: String,
}

impl BoundFigure<'_> {
    /// The smallest and largest finite values of both curves (0 and 1 when there are none).
    fn y_extent(&self) -> (f64, f64) {
        let (lo, hi) = self
            .points
            .iter()
            .flat_map(|p| [p.objective, p.bound])
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if lo <= hi { (lo, hi) } else { (0.0, 1.0) }
    }
}

impl Figure for BoundFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (first, last) = match (self.points.first(), self.points.last()) {
            (Some(a), Some(b)) => (a.value, b.value),
            _ => (self.at, self.at),
        };
        let (lo, hi) = self.y_extent();
        let chart_axes = Axes {
            title: &self.title,
            x: padded(first, last, 0.02),
            y: padded(lo, hi, 0.06),
            x_desc: self.coordinate,
            y_desc: "log-likelihood",
            x_labels: 10,
            x_label: &|v| sig(*v, 4),
            y_label: &super::y_label,
        };
        let mut chart = line_chart(root, &chart_axes)?;
        let curves: [Curve; 2] = [
            ("log-likelihood ℓ(θ)", |p| p.objective),
            ("lower bound Q(θ | θ_t) + H(q_t)", |p| p.bound),
        ];
        for (i, (label, y)) in curves.into_iter().enumerate() {
            let c = colour(i);
            let line = self
                .points
                .iter()
                .map(|p| (p.value, y(p)))
                .filter(|(_, v)| v.is_finite());
            chart
                .draw_series(LineSeries::new(line, c.stroke_width(2)))?
                .label(label)
                .legend(line_key(c.stroke_width(2)));
        }
        let marker = BLACK.mix(0.6).stroke_width(1);
        let y = padded(lo, hi, 0.06);
        chart
            .draw_series(LineSeries::new(
                [(self.at, y.start), (self.at, y.end)],
                marker,
            ))?
            .label(format!("θ_t: {} = {}", self.coordinate, sig(self.at, 6)))
            .legend(move |(x, y)| PathElement::new(vec![(x + 10, y - 8), (x + 10, y + 8)], marker));
        draw_legend(&mut chart, SeriesLabelPosition::LowerMiddle)?;
        Ok(())
    }
}
