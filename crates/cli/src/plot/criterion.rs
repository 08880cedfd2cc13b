//! An information criterion (BIC, AIC or ICL) against the number of components, one line per
//! covariance structure.

use gmm::CovarianceType;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Axes, DrawResult, Figure, colour, draw_legend, line_chart, line_key, padded, whole_number_label,
};

/// One fit on a curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Components.
    pub k: usize,
    /// The criterion's value.
    pub value: f64,
    /// Whether the fit converged.
    pub converged: bool,
}

/// The criterion curves of `em select`: each fit a filled circle if it converged, a hollow one
/// (a white disc and a coloured ring: two SVG circles) if not; the selected fit ringed.
pub struct CriterionFigure {
    /// The criterion's name, as the axis prints it (`BIC`).
    pub criterion: &'static str,
    /// For each covariance type, the points of its successful fits.
    pub curves: Vec<(CovarianceType, Vec<CurvePoint>)>,
    /// The selected model: K, type and value.
    pub best: Option<(usize, CovarianceType, f64)>,
    /// The title.
    pub title: String,
}

impl Figure for CriterionFigure {
    fn size(&self) -> (u32, u32) {
        (900, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let all = self.curves.iter().flat_map(|(_, c)| c.iter());
        let (mut klo, mut khi, mut lo, mut hi) = (usize::MAX, 0, f64::INFINITY, f64::NEG_INFINITY);
        for &CurvePoint { k, value: b, .. } in all {
            klo = klo.min(k);
            khi = khi.max(k);
            lo = lo.min(b);
            hi = hi.max(b);
        }
        if klo > khi {
            (klo, khi, lo, hi) = (1, 1, 0.0, 1.0);
        }
        let xr = (klo as f64 - 0.4)..(khi as f64 + 0.4);
        let y_desc = format!("{} (lower is better)", self.criterion);
        let chart_axes = Axes {
            title: &self.title,
            x: xr,
            y: padded(lo, hi, 0.06),
            x_desc: "number of components K",
            y_desc: &y_desc,
            x_labels: khi - klo + 3,
            x_label: &|v| whole_number_label(*v, 1.0),
            y_label: &super::y_label,
        };
        let mut chart = line_chart(root, &chart_axes)?;
        for (i, (kind, curve)) in self.curves.iter().enumerate() {
            let c = colour(i);
            let at = |p: &CurvePoint| (p.k as f64, p.value);
            let pts: Vec<(f64, f64)> = curve.iter().map(at).collect();
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
                .label(kind.as_str())
                .legend(line_key(c.stroke_width(2)));
            chart.draw_series(
                curve
                    .iter()
                    .filter(|p| p.converged)
                    .map(|p| Circle::new(at(p), 4, c.filled())),
            )?;
            // Not converged: a white disc (hiding the line) inside a coloured ring.
            for style in [WHITE.filled(), c.stroke_width(2)] {
                chart.draw_series(
                    curve
                        .iter()
                        .filter(|p| !p.converged)
                        .map(|p| Circle::new(at(p), 5, style)),
                )?;
            }
        }
        if self
            .curves
            .iter()
            .any(|(_, c)| c.iter().any(|p| !p.converged))
        {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label("hollow: not converged")
                .legend(|(x, y)| Circle::new((x + 10, y), 5, BLACK.stroke_width(2)));
        }
        if let Some((k, kind, b)) = self.best {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (k as f64, b),
                    10,
                    BLACK.stroke_width(2),
                )))?
                .label(format!("best: K = {k}, {kind}"))
                .legend(|(x, y)| Circle::new((x + 10, y), 6, BLACK.stroke_width(2)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}
