//! The data with the fitted mixture drawn over it.
//!
//! - D = 1: a density histogram, the mixture density (black) and each weighted component
//!   π_k N(x | μ_k, σ²_k) in its colour;
//! - D = 2: the rows coloured by their most probable component, each component's mean (a
//!   cross) and its 1σ (thick) and 2σ (thin) ellipses — the contours at Mahalanobis distance
//!   1 and 2;
//! - D > 2: the same on the first two principal components of the data; a projected Gaussian
//!   is Gaussian, so the ellipses are those of the projected components.

use gmm::GaussianMixture;
use nalgebra::DMatrix;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::projection::Projection;
use super::{DrawResult, FAMILY, Figure, GRID, colour, draw_legend, line_key, padded};
use crate::summary::sig;

/// Points on each ellipse.
const ELLIPSE_POINTS: usize = 120;

/// The data figure of a fit.
pub struct MixtureFigure<'a> {
    /// The data, N×D.
    pub x: &'a DMatrix<f64>,
    /// Column names (for axis labels).
    pub columns: &'a [String],
    /// The fitted model.
    pub model: &'a GaussianMixture,
    /// Most probable component of every row.
    pub labels: &'a [usize],
    /// The title.
    pub title: String,
}

impl Figure for MixtureFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        if self.x.ncols() == 1 {
            self.draw_1d(root)
        } else {
            self.draw_2d(root)
        }
    }
}

/// Normal density.
fn normal_pdf(x: f64, mean: f64, var: f64) -> f64 {
    (-(x - mean).powi(2) / (2.0 * var)).exp() / (2.0 * std::f64::consts::PI * var).sqrt()
}

/// The closed curve μ + r L (cos t, sin t), where S = L Lᵀ is a 2×2 covariance.
pub fn ellipse(mean: (f64, f64), s: [[f64; 2]; 2], r: f64) -> Vec<(f64, f64)> {
    let l11 = s[0][0].max(0.0).sqrt();
    let l21 = if l11 > 0.0 { s[1][0] / l11 } else { 0.0 };
    let l22 = (s[1][1] - l21 * l21).max(0.0).sqrt();
    (0..=ELLIPSE_POINTS)
        .map(|i| {
            let t = 2.0 * std::f64::consts::PI * i as f64 / ELLIPSE_POINTS as f64;
            let (c, sn) = (t.cos(), t.sin());
            (mean.0 + r * l11 * c, mean.1 + r * (l21 * c + l22 * sn))
        })
        .collect()
}

impl MixtureFigure<'_> {
    fn draw_1d<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let m = self.model;
        let n = self.x.nrows();
        let values: Vec<f64> = self.x.column(0).iter().copied().collect();
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        // The square-root rule for the number of bins.
        let bins = ((n as f64).sqrt().ceil() as usize).clamp(10, 60);
        let width = if hi > lo {
            (hi - lo) / bins as f64
        } else {
            1.0
        };
        let mut counts = vec![0usize; bins];
        for &v in &values {
            let b = (((v - lo) / width) as usize).min(bins - 1);
            counts[b] += 1;
        }
        let heights: Vec<f64> = counts
            .iter()
            .map(|&c| c as f64 / (n as f64 * width))
            .collect();
        let components: Vec<(f64, f64, f64)> = (0..m.n_components())
            .map(|k| {
                let var = m.covariances().full_matrix(k, 1)[(0, 0)];
                (m.weights()[k], m.means()[(k, 0)], var)
            })
            .collect();
        let xr = padded(lo, lo + width * bins as f64, 0.05);
        let grid: Vec<f64> = (0..=400)
            .map(|i| xr.start + (xr.end - xr.start) * i as f64 / 400.0)
            .collect();
        let density = |x: f64| {
            components
                .iter()
                .map(|&(w, mu, var)| w * normal_pdf(x, mu, var))
                .sum::<f64>()
        };
        let ymax = heights
            .iter()
            .copied()
            .chain(grid.iter().map(|&x| density(x)))
            .fold(0.0_f64, f64::max);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 24))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(xr.clone(), 0.0..ymax * 1.08)?;
        chart
            .configure_mesh()
            .x_desc(self.columns.first().map(String::as_str).unwrap_or("x"))
            .y_desc("density")
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .y_label_formatter(&|v| sig(*v, 4))
            .x_label_formatter(&|v| sig(*v, 6))
            .draw()?;
        chart
            .draw_series(heights.iter().enumerate().map(|(b, &h)| {
                let x0 = lo + width * b as f64;
                Rectangle::new(
                    [(x0, 0.0), (x0 + width, h)],
                    RGBColor(205, 205, 205).filled(),
                )
            }))?
            .label(format!("data ({n} rows)"))
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 6), (x + 16, y + 6)],
                    RGBColor(205, 205, 205).filled(),
                )
            });
        // White edges between the bars.
        chart.draw_series(heights.iter().enumerate().map(|(b, &h)| {
            let x0 = lo + width * b as f64;
            Rectangle::new([(x0, 0.0), (x0 + width, h)], WHITE.stroke_width(1))
        }))?;
        // The mixture first, each component dashed on top: where one component dominates the
        // two curves coincide, and the dashes stay visible.
        chart
            .draw_series(LineSeries::new(
                grid.iter().map(|&x| (x, density(x))),
                BLACK.stroke_width(2),
            ))?
            .label("mixture density")
            .legend(line_key(BLACK.stroke_width(2)));
        for (k, &(w, mu, var)) in components.iter().enumerate() {
            let c = colour(k);
            chart
                .draw_series(DashedLineSeries::new(
                    grid.iter()
                        .map(|&x| (x, w * normal_pdf(x, mu, var)))
                        // Leave out the flat tails along the axis (a component's density is
                        // unimodal, so what remains is one piece).
                        .filter(|&(_, y)| y > 2e-3 * ymax),
                    8,
                    5,
                    c.stroke_width(3),
                ))?
                .label(format!(
                    "component {k}: weight {}, mean {}, sd {}",
                    sig(w, 3),
                    sig(mu, 4),
                    sig(var.sqrt(), 3)
                ))
                .legend(line_key(c.stroke_width(3)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }

    fn draw_2d<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let m = self.model;
        let (n, d) = self.x.shape();
        let row = |i: usize| -> Vec<f64> { (0..d).map(|j| self.x[(i, j)]).collect() };
        // The plane: the data's own axes in 2-D, the leading principal components beyond.
        let (plane, x_desc, y_desc) = if d == 2 {
            (
                Projection::identity(2),
                self.columns[0].clone(),
                self.columns[1].clone(),
            )
        } else {
            let p = Projection::principal_components(self.x);
            let desc = |a: usize| {
                format!(
                    "principal component {} ({:.1}% of the variance)",
                    a + 1,
                    100.0 * p.explained[a]
                )
            };
            let (xd, yd) = (desc(0), desc(1));
            (p, xd, yd)
        };
        let points: Vec<(f64, f64)> = (0..n).map(|i| plane.point(&row(i))).collect();
        let means: Vec<(f64, f64)> = (0..m.n_components())
            .map(|k| {
                let mu: Vec<f64> = (0..d).map(|j| m.means()[(k, j)]).collect();
                plane.point(&mu)
            })
            .collect();
        let covs: Vec<[[f64; 2]; 2]> = (0..m.n_components())
            .map(|k| plane.covariance(&m.covariances().full_matrix(k, d)))
            .collect();
        // The frame holds the points and every 2σ ellipse.
        let mut bx = (f64::INFINITY, f64::NEG_INFINITY);
        let mut by = (f64::INFINITY, f64::NEG_INFINITY);
        let mut widen = |x: f64, y: f64| {
            bx = (bx.0.min(x), bx.1.max(x));
            by = (by.0.min(y), by.1.max(y));
        };
        for &(x, y) in &points {
            widen(x, y);
        }
        for (mu, s) in means.iter().zip(&covs) {
            let (rx, ry) = (2.0 * s[0][0].max(0.0).sqrt(), 2.0 * s[1][1].max(0.0).sqrt());
            widen(mu.0 - rx, mu.1 - ry);
            widen(mu.0 + rx, mu.1 + ry);
        }
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 24))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(padded(bx.0, bx.1, 0.04), padded(by.0, by.1, 0.04))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .x_label_formatter(&|v| sig(*v, 6))
            .y_label_formatter(&|v| sig(*v, 6))
            .draw()?;
        for k in 0..m.n_components() {
            let c = colour(k);
            let mine = points
                .iter()
                .zip(self.labels)
                .filter(move |(_, l)| **l == k)
                .map(|(p, _)| *p);
            let count = self.labels.iter().filter(|&&l| l == k).count();
            chart
                .draw_series(mine.map(move |p| Circle::new(p, 3, c.mix(0.55).filled())))?
                .label(format!(
                    "component {k}: weight {:.3}, {count} rows",
                    m.weights()[k]
                ))
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, c.filled()));
        }
        for (k, (mu, s)) in means.iter().zip(&covs).enumerate() {
            let c = colour(k);
            chart.draw_series(std::iter::once(PathElement::new(
                ellipse(*mu, *s, 1.0),
                c.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                ellipse(*mu, *s, 2.0),
                c.stroke_width(1),
            )))?;
            chart.draw_series(std::iter::once(Cross::new(*mu, 7, BLACK.stroke_width(2))))?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        // Say what the ellipses are, bottom right inside the plot.
        let (w, h) = root.dim_in_pixel();
        root.draw(&Text::new(
            "ellipses: 1σ (thick) and 2σ (thin); crosses: means",
            (w as i32 - 430, h as i32 - 95),
            (FAMILY, 15).into_font().color(&RGBColor(80, 80, 80)),
        ))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipse_points_lie_at_the_given_mahalanobis_distance() {
        let s = [[4.0, 1.2], [1.2, 1.0]];
        let det = s[0][0] * s[1][1] - s[0][1] * s[1][0];
        for r in [1.0, 2.0] {
            for (x, y) in ellipse((3.0, -1.0), s, r) {
                let (dx, dy) = (x - 3.0, y + 1.0);
                // (dx, dy) S⁻¹ (dx, dy)ᵀ with S⁻¹ = adj(S)/det.
                let q = (s[1][1] * dx * dx - 2.0 * s[0][1] * dx * dy + s[0][0] * dy * dy) / det;
                assert!((q - r * r).abs() < 1e-9, "{q} vs {}", r * r);
            }
        }
    }
}
