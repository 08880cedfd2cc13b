//! Pictures with plotters, in SVG or PNG, with no system libraries: text is laid out with the
//! bundled DejaVu Sans font (`assets/`, Bitstream Vera licence) through plotters' pure-Rust
//! `ab_glyph` feature.
//!
//! - [`mixture`]: the data and the fitted mixture (1-D histogram, 2-D scatter with ellipses,
//!   D > 2 on the first two principal components);
//! - [`trace`]: the log-likelihood per iteration;
//! - [`criterion`]: `select`'s criterion (BIC, AIC or ICL) against K, one line per covariance
//!   type;
//! - [`bound`]: the log-likelihood and EM's lower bound along one parameter (`em bound`).

pub mod bound;
pub mod convergence;
pub mod criterion;
pub mod mixture;
pub mod projection;
pub mod trace;

use std::error::Error;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::{FontStyle, RGBColor, register_font};

use crate::error::CliError;

/// DejaVu Sans, from Debian's fonts-dejavu-core (licence in `assets/DejaVuSans-LICENSE.txt`).
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The family name every figure asks for.
pub const FAMILY: &str = "sans-serif";

/// Registers the bundled font once for the families plotters may ask for.
fn ensure_font() -> Result<(), CliError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        ["sans-serif", "serif", "monospace"]
            .iter()
            .all(|family| register_font(family, FontStyle::Normal, FONT).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(CliError::failed("the bundled font could not be loaded"))
    }
}

/// The picture formats, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics (`.svg`).
    Svg,
    /// Portable network graphics (`.png`).
    Png,
}

impl Format {
    /// The format a path's extension asks for; anything else is bad input.
    pub fn of(path: &Path) -> Result<Format, CliError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(CliError::bad_input(format!(
                "--plot {}: the file name must end in .svg or .png",
                path.display()
            ))),
        }
    }
}

/// Where the trace of a fit plotted to `path` goes: `fit.svg` → `fit-trace.svg`.
pub fn trace_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-trace.{ext}"))
}

/// Checks a `--plot` path before any work: a known extension, an existing directory.
pub fn check_path(path: &Path) -> Result<Format, CliError> {
    let format = Format::of(path)?;
    crate::output::check_writable(path, "--plot")?;
    Ok(format)
}

/// The result of drawing on some backend.
pub type DrawResult = Result<(), Box<dyn Error>>;

/// A picture that can be drawn on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the picture on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Draws `figure` to `path` in the format of its extension.
pub fn render<F: Figure>(figure: &F, path: &Path) -> Result<(), CliError> {
    ensure_font()?;
    let fail = |e: Box<dyn Error>| {
        CliError::failed(format!(
            "cannot draw {}: {}",
            path.display(),
            e.to_string().replace('\n', " ")
        ))
    };
    match Format::of(path)? {
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, figure.size()).into_drawing_area();
                figure.draw(&root).map_err(fail)?;
                root.present().map_err(|e| fail(Box::new(e)))?;
            }
            crate::output::write_atomic(path, svg.as_bytes())
        }
        Format::Png => {
            let root = BitMapBackend::new(path, figure.size()).into_drawing_area();
            figure.draw(&root).map_err(fail)?;
            root.present().map_err(|e| fail(Box::new(e)))
        }
    }
}

/// Ten distinguishable colours (matplotlib's tab10), cycled for components.
const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// The colour of grid lines.
pub const GRID: RGBColor = RGBColor(225, 225, 225);

/// The colour of component (or series) `i`.
pub fn colour(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// `[lo, hi]` widened by `share` of its length on each side (and made non-empty).
pub fn padded(lo: f64, hi: f64, share: f64) -> std::ops::Range<f64> {
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * share
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad)..(hi + pad)
}

/// The axes of a line chart: what [`line_chart`] draws.
pub struct Axes<'a> {
    /// The caption.
    pub title: &'a str,
    /// The range of x.
    pub x: Range<f64>,
    /// The range of y.
    pub y: Range<f64>,
    /// The label of the x axis.
    pub x_desc: &'a str,
    /// The label of the y axis.
    pub y_desc: &'a str,
    /// About how many labels the x axis gets.
    pub x_labels: usize,
    /// The text of the label at x.
    pub x_label: &'a dyn Fn(&f64) -> String,
    /// The text of the label at y ([`y_label`] for the usual 7 significant digits).
    pub y_label: &'a dyn Fn(&f64) -> String,
}

/// A y-axis label to 7 significant digits, the figures' default.
pub fn y_label(v: &f64) -> String {
    crate::summary::sig(*v, 7)
}

/// A chart on `root` with `axes` in the figures' common style: the caption, margins, a light
/// grid, labels in the bundled font.
pub fn line_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    axes: &Axes<'_>,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(root)
        .caption(axes.title, (FAMILY, 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(axes.x.clone(), axes.y.clone())?;
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .x_labels(axes.x_labels)
        .label_style((FAMILY, 16))
        .axis_desc_style((FAMILY, 18))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .y_label_formatter(axes.y_label)
        .x_label_formatter(axes.x_label)
        .draw()?;
    Ok(chart)
}

/// The legend's key for a line drawn in `style`: a short horizontal stroke.
pub fn line_key(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style)
}

/// Draws the legend of `chart`'s labelled series at `position`, in the figures' common style.
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .label_font((FAMILY, 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(position)
        .draw()?;
    Ok(())
}

/// An axis label for whole numbers from `min` on, and none between them.
pub fn whole_number_label(v: f64, min: f64) -> String {
    if (v - v.round()).abs() < 1e-9 && v >= min {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}

/// A short name for a data source in titles: the file name of a path, `Old Faithful` for the
/// bundled data.
pub fn short_name(source: &str) -> String {
    if source == crate::data::FAITHFUL_NAME {
        return "Old Faithful".into();
    }
    Path::new(source)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_file_sits_beside_the_plot() {
        assert_eq!(
            trace_path(Path::new("out/fit.svg")),
            PathBuf::from("out/fit-trace.svg")
        );
        assert_eq!(trace_path(Path::new("a.png")), PathBuf::from("a-trace.png"));
    }

    #[test]
    fn only_svg_and_png_are_accepted() {
        assert_eq!(Format::of(Path::new("a.SVG")).unwrap(), Format::Svg);
        assert_eq!(Format::of(Path::new("a.png")).unwrap(), Format::Png);
        assert_eq!(Format::of(Path::new("a.pdf")).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn bundled_font_registers() {
        ensure_font().unwrap();
    }
}
