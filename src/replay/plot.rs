//! `--plot FILE.svg`: headroom, swap and PSI over time, with markers where
//! memcanary's rules and each published rule first fired, and the cliff
//! shaded. One panel per instance.
//!
//! The picture is data first: [`PlotData`] collects series and markers from
//! a [`Replay`]; drawing is plotters' SVG backend (text as SVG `<text>`, so
//! no font files are needed).

use super::baselines::PUBLISHED;
use super::Replay;
use crate::detect::{AlertState, Severity};
use plotters::prelude::*;
use std::path::Path;

/// Height of one instance's panel, pixels.
const PANEL_H: u32 = 620;
/// Width of the picture, pixels.
const WIDTH: u32 = 1200;

/// A plot could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw plot {path}: {msg}")]
pub struct PlotError {
    /// The output file.
    pub path: String,
    /// What went wrong.
    pub msg: String,
}

/// A marker lane: a rule and when it first fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// Rule name.
    pub name: String,
    /// First firing, seconds from the start.
    pub first_s: Option<f64>,
    /// Whether this is one of memcanary's rules.
    pub memcanary: bool,
    /// Critical?
    pub critical: bool,
}

/// Everything drawn for one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotData {
    /// Title.
    pub title: String,
    /// Seconds from the first sample.
    pub end_s: f64,
    /// Series: name, colour, points (seconds, percent).
    pub series: Vec<(&'static str, RGBColor, Vec<(f64, f64)>)>,
    /// Rules' first firings.
    pub lanes: Vec<Lane>,
    /// Cliff, seconds from the start.
    pub cliff_s: Option<f64>,
}

impl PlotData {
    /// Collects what to draw from a replay (which must have kept its trace).
    pub fn new(r: &Replay) -> PlotData {
        let t0 = r.span_ms.map_or(0, |(a, _)| a);
        let sec = |ms: i64| (ms - t0) as f64 / 1000.0;
        let pick = |f: &dyn Fn(&super::TracePoint) -> Option<f64>| -> Vec<(f64, f64)> {
            r.trace
                .iter()
                .filter_map(|p| f(p).map(|v| (sec(p.at_ms), v * 100.0)))
                .collect()
        };
        let series = vec![
            (
                "headroom (MemAvailable+SwapFree)",
                BLUE,
                pick(&|p| Some(p.headroom_ratio)),
            ),
            (
                "MemAvailable",
                RGBColor(0, 160, 200),
                pick(&|p| Some(p.mem_available_ratio)),
            ),
            (
                "SwapFree",
                RGBColor(0, 150, 0),
                pick(&|p| p.swap_free_ratio),
            ),
            ("PSI some", RGBColor(230, 140, 0), pick(&|p| p.psi_some)),
            ("PSI full", RED, pick(&|p| p.psi_full)),
        ];
        let mut lanes = Vec::new();
        let mut seen = Vec::new();
        for e in r.events.iter().filter(|e| e.state == AlertState::Firing) {
            if !seen.contains(&e.rule) {
                seen.push(e.rule);
                lanes.push(Lane {
                    name: format!("memcanary {}", e.rule),
                    first_s: Some(sec(e.at_ms)),
                    memcanary: true,
                    critical: e.severity == Severity::Critical,
                });
            }
        }
        for b in PUBLISHED {
            lanes.push(Lane {
                name: b.spec.name.to_string(),
                first_s: r.baseline_first_ms(b.spec.name).map(sec),
                memcanary: false,
                critical: false,
            });
        }
        let end_ms = r
            .events
            .iter()
            .map(|e| e.at_ms)
            .chain(r.span_ms.map(|s| s.1))
            .max()
            .unwrap_or(t0);
        PlotData {
            title: format!("{}  (t = 0 at {})", r.instance, super::report::rfc3339(t0)),
            end_s: sec(end_ms).max(1.0) * 1.02,
            series,
            lanes,
            cliff_s: r.cliff.map(|c| sec(c.at_ms)),
        }
    }
}

/// Writes an SVG (or, for a `.png` path, an error saying to use SVG).
pub fn write(replays: &[Replay], path: &Path) -> Result<(), PlotError> {
    let err = |msg: String| PlotError {
        path: path.display().to_string(),
        msg,
    };
    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
        return Err(err("only .svg output is supported".into()));
    }
    let data: Vec<PlotData> = replays.iter().map(PlotData::new).collect();
    let h = PANEL_H * data.len().max(1) as u32;
    let root = SVGBackend::new(path, (WIDTH, h)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let panels = root.split_evenly((data.len().max(1), 1));
    for (d, area) in data.iter().zip(panels.iter()) {
        draw_panel(d, area).map_err(err)?;
    }
    root.present().map_err(|e| err(e.to_string()))
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw_panel(d: &PlotData, area: &Area<'_>) -> Result<(), String> {
    let (top, bottom) = area.split_vertically(PANEL_H * 55 / 100);
    draw_signals(d, &top).map_err(|e| e.to_string())?;
    draw_lanes(d, &bottom).map_err(|e| e.to_string())
}

fn draw_signals(d: &PlotData, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(area)
        .caption(&d.title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..d.end_s, 0.0..100.0)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("% (of capacity / of wall time)")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    if let Some(c) = d.cliff_s {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(c, 0.0), (d.end_s, 100.0)],
                RGBColor(120, 120, 120).mix(0.25).filled(),
            )))?
            .label("after the cliff")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 15, y + 5)],
                    RGBColor(120, 120, 120).mix(0.25).filled(),
                )
            });
    }
    for (name, colour, pts) in &d.series {
        if pts.is_empty() {
            continue;
        }
        let c = *colour;
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], c.stroke_width(2)));
    }
    for l in d.lanes.iter().filter(|l| l.memcanary) {
        if let Some(t) = l.first_s {
            let c = if l.critical {
                RED
            } else {
                RGBColor(230, 140, 0)
            };
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(t, 0.0), (t, 100.0)],
                c.stroke_width(1),
            )))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn draw_lanes(d: &PlotData, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let n = d.lanes.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(20)
        .y_label_area_size(0)
        .build_cartesian_2d(0.0..d.end_s, 0.0..n)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_x_mesh()
        .draw()?;
    if let Some(c) = d.cliff_s {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(c, 0.0), (d.end_s, n)],
            RGBColor(120, 120, 120).mix(0.25).filled(),
        )))?;
    }
    for (i, l) in d.lanes.iter().enumerate() {
        let y = n - i as f64 - 0.5;
        let colour = match (l.memcanary, l.critical) {
            (true, true) => RED,
            (true, false) => RGBColor(230, 140, 0),
            _ => RGBColor(90, 90, 90),
        };
        let label = match l.first_s {
            Some(_) => l.name.clone(),
            None => format!("{} (never)", l.name),
        };
        chart.draw_series(std::iter::once(Text::new(
            label,
            (d.end_s * 0.005, y + 0.25),
            ("sans-serif", 12).into_font().color(&colour),
        )))?;
        if let Some(t) = l.first_s {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(t, y), (d.end_s, y)],
                colour.stroke_width(3),
            )))?;
            chart.draw_series(std::iter::once(Circle::new((t, y), 5, colour.filled())))?;
        }
    }
    Ok(())
}
