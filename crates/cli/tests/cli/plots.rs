//! `--plot`: the files exist, are well-formed, and hold what was drawn.

use crate::common::{Scratch, ok, s, two_groups};

/// Count of `<tag` elements in an SVG.
fn count(svg: &str, tag: &str) -> usize {
    svg.matches(&format!("<{tag} ")).count()
}

/// Polylines drawn in a colour other than black: the components' curves.
fn coloured_polylines(svg: &str) -> usize {
    svg.split("<polyline ")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .filter(|element| !element.contains("stroke=\"#000000\""))
        .count()
}

fn read(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    text
}

#[test]
fn two_d_plot_has_a_point_per_row_and_two_ellipses_per_component() {
    let dir = Scratch::new();
    let p = dir.path("fit.svg");
    let r = crate::common::json(&ok(&["fit", "--plot", s(&p), "--json", "-q"]));
    let svg = read(&p);
    // 272 rows, plus one marker per component in the legend.
    assert_eq!(count(&svg, "circle"), 272 + 3);
    // A 1σ and a 2σ ellipse for each of the 3 components.
    assert_eq!(coloured_polylines(&svg), 6);
    assert!(svg.contains("eruptions") && svg.contains("waiting"));
    // The trace: one point per iteration plus the start.
    let trace = read(&dir.path("fit-trace.svg"));
    let n_iter = r["n_iter"].as_u64().unwrap() as usize;
    assert_eq!(count(&trace, "circle"), n_iter + 1);
    assert!(trace.contains("log-likelihood"));
}

#[test]
fn one_d_plot_has_histogram_density_and_components() {
    let dir = Scratch::new();
    let col: String = (0..120)
        .map(|i| {
            format!(
                "{}\n",
                if i % 3 == 0 { 10.0 } else { 0.0 } + ((i * 7) % 11) as f64 / 5.0
            )
        })
        .collect();
    let data = dir.file("one.csv", &format!("value\n{col}"));
    let p = dir.path("one.svg");
    ok(&["fit", s(&data), "-k", "2", "--plot", s(&p), "-q"]);
    let svg = read(&p);
    assert!(svg.contains("mixture density"));
    assert!(svg.contains("component 0") && svg.contains("component 1"));
    // 11 bins (√120 rounded up): a filled bar and a white outline each, plus the background,
    // the legend's background, its border and its swatch.
    assert_eq!(count(&svg, "rect"), 2 * 11 + 4);
    assert!(std::fs::metadata(dir.path("one-trace.svg")).unwrap().len() > 0);
}

#[test]
fn four_d_plot_uses_principal_components_and_png_works() {
    let dir = Scratch::new();
    let rows: String = two_groups(90)
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "{r},{},{}\n",
                (i % 5) as f64 * 0.1,
                ((i * 3) % 7) as f64 * 0.2
            )
        })
        .collect();
    let data = dir.file("four.csv", &rows);
    let svg_path = dir.path("four.svg");
    ok(&["fit", s(&data), "-k", "2", "--plot", s(&svg_path), "-q"]);
    let svg = read(&svg_path);
    assert!(svg.contains("principal component 1"));
    assert_eq!(count(&svg, "circle"), 90 + 2);
    assert_eq!(coloured_polylines(&svg), 4);
    let png = dir.path("four.png");
    ok(&["fit", s(&data), "-k", "2", "--plot", s(&png), "-q"]);
    for p in [png.clone(), dir.path("four-trace.png")] {
        let bytes = std::fs::read(&p).unwrap();
        assert!(bytes.len() > 1000);
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    }
}

#[test]
fn select_plot_draws_one_curve_per_covariance_type() {
    let dir = Scratch::new();
    let p = dir.path("bic.svg");
    let r = crate::common::json(&ok(&[
        "select",
        "--k",
        "1..4",
        "--plot",
        s(&p),
        "--json",
        "-q",
    ]));
    let svg = read(&p);
    for t in [
        "full",
        "diag",
        "spherical",
        "tied",
        "best: K = 3, tied",
        "BIC (lower is better)",
    ] {
        assert!(svg.contains(t), "{t}");
    }
    // 4 curves, each with its legend swatch.
    assert_eq!(coloured_polylines(&svg), 8);
    // 16 fits, a fit that did not converge drawn hollow (a white disc in a ring) with a
    // legend entry, and the ring round the best with its legend swatch.
    let unconverged = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["converged"] == false)
        .count();
    let legend = usize::from(unconverged > 0);
    assert_eq!(svg.contains("hollow: not converged"), unconverged > 0);
    assert_eq!(
        count(&svg, "circle"),
        16 + unconverged + legend + 1 + 1,
        "{unconverged} fits did not converge"
    );
}

#[test]
fn select_plot_draws_the_chosen_criterion() {
    let dir = Scratch::new();
    let p = dir.path("icl.svg");
    ok(&[
        "select",
        "--k",
        "1..3",
        "--criterion",
        "icl",
        "--max-iter",
        "1000",
        "--plot",
        s(&p),
        "-q",
    ]);
    let svg = read(&p);
    assert!(svg.contains("ICL (lower is better)"));
    assert!(svg.contains("ICL by number of components"));
    assert!(svg.contains("best: K = 2, full"));
    assert!(!svg.contains("hollow: not converged"));
}
