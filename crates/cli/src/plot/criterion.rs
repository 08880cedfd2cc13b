//! An information criterion (BIC, AIC or ICL) against the number of components, one line per
//! covariance structure.

use gmm::CovarianceType;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{DrawResult, FAMILY, Figure, GRID, colour, padded};
use crate::summary::sig;

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
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 24))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(xr, padded(lo, hi, 0.06))?;
        chart
            .configure_mesh()
            .x_desc("number of components K")
            .y_desc(format!("{} (lower is better)", self.criterion))
            .x_labels(khi - klo + 3)
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .y_label_formatter(&|v| sig(*v, 7))
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-9 && *v >= 1.0 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            })
            .draw()?;
        for (i, (kind, curve)) in self.curves.iter().enumerate() {
            let c = colour(i);
            let at = |p: &CurvePoint| (p.k as f64, p.value);
            let pts: Vec<(f64, f64)> = curve.iter().map(at).collect();
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
                .label(kind.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
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
        chart
            .configure_series_labels()
            .label_font((FAMILY, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    }
}
