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

/// Line segments of (seconds, percent), broken where the data has a gap.
pub type Segments = Vec<Vec<(f64, f64)>>;

/// A marker lane: a rule and when it first fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// Rule name.
    pub name: String,
    /// First firing, seconds from the start.
    pub first_s: Option<f64>,
    /// Every firing interval (start, end), seconds.
    pub firing: Vec<(f64, f64)>,
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
    /// Series: name, colour, segments of points (seconds, percent), broken
    /// where the data has a gap.
    pub series: Vec<(&'static str, RGBColor, Segments)>,
    /// Wall-clock time of x = 0, ms.
    pub t0_ms: i64,
    /// Rules' firing intervals.
    pub lanes: Vec<Lane>,
    /// The cliff and the end of its gap, seconds from the start.
    pub cliff_s: Option<(f64, f64)>,
}

impl PlotData {
    /// Collects what to draw from a replay (which must have kept its trace).
    /// A long stretch after the cliff is cropped so the ramp stays readable.
    pub fn new(r: &Replay) -> PlotData {
        let t0 = r.span_ms.map_or(0, |(a, _)| a);
        let sec = |ms: i64| (ms - t0) as f64 / 1000.0;
        let gap_ms = 3 * r.interval_ms.unwrap_or(i64::MAX / 4);
        let pick = |f: &dyn Fn(&super::TracePoint) -> Option<f64>| -> Vec<Vec<(f64, f64)>> {
            let mut segs: Vec<Vec<(f64, f64)>> = Vec::new();
            let mut prev = i64::MIN;
            for p in &r.trace {
                let Some(v) = f(p) else { continue };
                if segs.is_empty() || p.at_ms.saturating_sub(prev) > gap_ms {
                    segs.push(Vec::new());
                }
                prev = p.at_ms;
                if let Some(seg) = segs.last_mut() {
                    seg.push((sec(p.at_ms), v * 100.0));
                }
            }
            segs
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
        let last_ms = r
            .events
            .iter()
            .map(|e| e.at_ms)
            .chain(r.span_ms.map(|s| s.1))
            .max()
            .unwrap_or(t0);
        let mut end_s = sec(last_ms).max(1.0);
        let cliff_s = r.cliff.map(|c| {
            let at = sec(c.at_ms);
            (at, at + c.gap_ms.map_or(0.0, |g| g as f64 / 1000.0))
        });
        if let Some((at, _)) = cliff_s {
            end_s = end_s.min(at + (at * 0.3).max(300.0));
        }
        let mut lanes = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for e in &r.events {
            if e.state == AlertState::Firing && !names.contains(&e.rule) {
                names.push(e.rule);
            }
        }
        for name in names {
            let critical = r
                .events
                .iter()
                .any(|e| e.rule == name && e.severity == Severity::Critical);
            lanes.push(lane(
                &format!("memcanary {name}"),
                &r.events,
                name,
                true,
                critical,
                &sec,
                end_s,
            ));
        }
        for b in PUBLISHED {
            lanes.push(lane(
                b.spec.name,
                &r.baseline_events,
                b.spec.name,
                false,
                false,
                &sec,
                end_s,
            ));
        }
        PlotData {
            title: r.instance.clone(),
            t0_ms: t0,
            end_s: end_s * 1.01,
            series,
            lanes,
            cliff_s,
        }
    }
}

/// A rule's lane: its firing intervals from its events.
fn lane(
    label: &str,
    events: &[crate::detect::Event],
    rule: &str,
    memcanary: bool,
    critical: bool,
    sec: &dyn Fn(i64) -> f64,
    end_s: f64,
) -> Lane {
    let mut firing = Vec::new();
    let mut open: Option<f64> = None;
    for e in events.iter().filter(|e| e.rule == rule) {
        match e.state {
            AlertState::Firing => open = Some(sec(e.at_ms)),
            AlertState::Resolved => {
                if let Some(a) = open.take() {
                    firing.push((a, sec(e.at_ms)));
                }
            }
            AlertState::Pending => {}
        }
    }
    if let Some(a) = open {
        firing.push((a, end_s * 1.01));
    }
    Lane {
        name: label.to_string(),
        first_s: firing.first().map(|f| f.0),
        firing,
        memcanary,
        critical,
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

/// Width of the left column (legend, lane names), pixels.
const LEFT_PX: u32 = 300;

fn draw_legend(d: &PlotData, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    area.draw(&Text::new(
        d.title.clone(),
        (8, 14),
        ("sans-serif", 18).into_font(),
    ))?;
    let grey = RGBColor(120, 120, 120).mix(0.25);
    let mut y = 44;
    area.draw(&Rectangle::new([(8, y - 5), (30, y + 5)], grey.filled()))?;
    area.draw(&Text::new(
        "the cliff (data gap / OOM kill)",
        (38, y - 6),
        ("sans-serif", 12).into_font(),
    ))?;
    for (name, colour, _) in &d.series {
        y += 20;
        area.draw(&PathElement::new(
            vec![(8, y), (30, y)],
            colour.stroke_width(2),
        ))?;
        area.draw(&Text::new(
            *name,
            (38, y - 6),
            ("sans-serif", 12).into_font(),
        ))?;
    }
    y += 20;
    area.draw(&PathElement::new(
        vec![(8, y), (30, y)],
        RGBColor(230, 140, 0).stroke_width(1),
    ))?;
    area.draw(&Text::new(
        "memcanary alert fired",
        (38, y - 6),
        ("sans-serif", 12).into_font(),
    ))?;
    Ok(())
}

fn draw_signals(d: &PlotData, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let (legend, area) = area.split_horizontally(LEFT_PX);
    draw_legend(d, &legend)?;
    let mut chart = ChartBuilder::on(&area)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..d.end_s, 0.0..100.0)?;
    let t0 = d.t0_ms;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| clock(t0, *x))
        .x_desc("UTC")
        .y_desc("% (of capacity / of wall time)")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    if let Some((c, gap_end)) = d.cliff_s {
        chart.draw_series(std::iter::once(Rectangle::new(
            [
                (c, 0.0),
                (gap_end.max(c + d.end_s * 0.003).min(d.end_s), 100.0),
            ],
            RGBColor(120, 120, 120).mix(0.25).filled(),
        )))?;
    }
    for (name, colour, segs) in &d.series {
        let c = *colour;
        let end = d.end_s;
        let _ = name;
        for seg in segs {
            let pts = seg.iter().copied().filter(|p| p.0 <= end);
            chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
        }
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
    Ok(())
}

fn draw_lanes(d: &PlotData, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let (labels, plot) = area.split_horizontally(LEFT_PX);
    let n = d.lanes.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .x_label_area_size(20)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..d.end_s, 0.0..n)?;
    let t0 = d.t0_ms;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&|x| clock(t0, *x))
        .draw()?;
    if let Some((c, gap_end)) = d.cliff_s {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(c, 0.0), (gap_end.max(c).min(d.end_s), n)],
            RGBColor(120, 120, 120).mix(0.25).filled(),
        )))?;
    }
    let (_, h) = plot.dim_in_pixel();
    let row_px = (h as f64 - 40.0) / n;
    let _ = &labels;
    for (i, l) in d.lanes.iter().enumerate() {
        let y = n - i as f64 - 0.5;
        let colour = match (l.memcanary, l.critical) {
            (true, true) => RED,
            (true, false) => RGBColor(230, 140, 0),
            _ => RGBColor(90, 90, 90),
        };
        let label = match l.first_s {
            Some(t) => format!("{}  {}", l.name, clock(t0, t)),
            None => format!("{}  never", l.name),
        };
        let ypx = 10 + (i as f64 * row_px + row_px * 0.25) as i32;
        labels.draw(&Text::new(
            label,
            (8, ypx),
            ("sans-serif", 12).into_font().color(&colour),
        ))?;
        for &(a, b) in &l.firing {
            let b = b.min(d.end_s);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(a, y), (b, y)],
                colour.stroke_width(4),
            )))?;
            chart.draw_series(std::iter::once(Circle::new((a, y), 5, colour.filled())))?;
        }
    }
    Ok(())
}

/// `HH:MM:SS` UTC of `t0_ms + x` seconds.
fn clock(t0_ms: i64, x: f64) -> String {
    let ms = t0_ms + (x * 1000.0) as i64;
    jiff::Timestamp::from_millisecond(ms).map_or_else(
        |_| format!("{x:.0}s"),
        |t| t.strftime("%H:%M:%S").to_string(),
    )
}
