//! A small PromQL expression tree with two readings: rendered as text for
//! the rule file, and evaluated (Prometheus 2.42 semantics) on recorded
//! series to compute the alerts a promtool unit test must expect.
//!
//! One tree, two readings, so the expression a user installs and the
//! expression memcanary judges cannot drift apart. It covers only what
//! memcanary's rules use, and evaluates per host: every node_exporter series
//! of a host carries the same `instance`/`job` labels, so vector matching
//! reduces to "this host has a value or not".

use super::build::HOST_SILENT_ALERT;
use super::funcs::{self, Func};
use super::series::{HostSeries, Point};

/// Prometheus' default lookback for instant selectors, in ms.
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// A PromQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// An instant selector of a node_exporter metric, with the user's selector.
    Metric(&'static str),
    /// A number.
    Num(f64),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation.
    Bin(Op, Box<Expr>, Box<Expr>),
    /// A range function over raw samples, a subquery, or memcanary's ALERTS.
    Call(Func, Range),
}

/// Binary operators. Set operators match `on(instance, job)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `<` (filter)
    Lt,
    /// `>` (filter)
    Gt,
    /// `<=` (filter)
    Le,
    /// `>=` (filter)
    Ge,
    /// `==` (filter)
    Eq,
    /// `< bool`
    LtBool,
    /// `> bool`
    GtBool,
    /// `and on(instance, job)`
    And,
    /// `or on(instance, job)`
    Or,
    /// `unless on(instance, job)`
    Unless,
}

/// What a range function reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Range {
    /// `metric{sel}[range]`, ranges in ms.
    Raw(&'static str, i64),
    /// `(expr)[range:step] offset off`, in ms (no `offset` when 0).
    Sub(Box<Expr>, i64, i64, i64),
    /// `ALERTS{...,sel}[range]`: the host's memcanary alerts.
    Alerts(AlertSel, i64),
}

/// Which `ALERTS` series a range reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertSel {
    /// Any memcanary alert but `MemcanaryHostSilent` (no evidence), firing.
    AnyFiring,
    /// Any memcanary alert, pending or firing.
    AnyActive,
    /// One alert, pending or firing.
    Active(&'static str),
}

/// The `ALERTS` samples of one host, as times (ms, sorted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertLog {
    /// Times with any memcanary alert but `MemcanaryHostSilent` firing.
    pub firing: Vec<i64>,
    /// Times with any memcanary alert pending or firing.
    pub any_active: Vec<i64>,
    /// Times each alert was pending or firing.
    pub active: std::collections::BTreeMap<&'static str, Vec<i64>>,
}

impl AlertLog {
    fn times(&self, sel: AlertSel) -> &[i64] {
        match sel {
            AlertSel::AnyFiring => &self.firing,
            AlertSel::AnyActive => &self.any_active,
            AlertSel::Active(name) => self.active.get(name).map_or(&[], Vec::as_slice),
        }
    }

    /// Records the alert `name` at `t`.
    pub fn record(&mut self, name: &'static str, t: i64, firing: bool) {
        fn push(v: &mut Vec<i64>, t: i64) {
            if v.last() != Some(&t) {
                v.push(t);
            }
        }
        push(self.active.entry(name).or_default(), t);
        push(&mut self.any_active, t);
        if firing && name != HOST_SILENT_ALERT {
            push(&mut self.firing, t);
        }
    }
}

/// Shorthands that keep the rule builders readable.
pub mod build {
    use super::*;

    /// `metric{sel}`
    pub fn m(name: &'static str) -> Expr {
        Expr::Metric(name)
    }
    /// A number.
    pub fn n(v: f64) -> Expr {
        Expr::Num(v)
    }
    /// `a OP b`
    pub fn bin(op: Op, a: Expr, b: Expr) -> Expr {
        Expr::Bin(op, Box::new(a), Box::new(b))
    }
    /// `-a`
    pub fn neg(a: Expr) -> Expr {
        Expr::Neg(Box::new(a))
    }
    /// `f(metric{sel}[range])`
    pub fn raw(f: Func, name: &'static str, range_ms: i64) -> Expr {
        Expr::Call(f, Range::Raw(name, range_ms))
    }
    /// `f((e)[range:step])`
    pub fn sub(f: Func, e: Expr, range_ms: i64, step_ms: i64) -> Expr {
        Expr::Call(f, Range::Sub(Box::new(e), range_ms, step_ms, 0))
    }
    /// `f((e)[range:step] offset off)`
    pub fn sub_offset(f: Func, e: Expr, range_ms: i64, step_ms: i64, off_ms: i64) -> Expr {
        Expr::Call(f, Range::Sub(Box::new(e), range_ms, step_ms, off_ms))
    }
}

/// Prometheus duration text for milliseconds (`2m30s`).
pub fn dur_text(ms: i64) -> String {
    crate::detect::Dur::from_millis(ms).to_string()
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::LtBool => "< bool",
            Op::GtBool => "> bool",
            Op::And => "and on(instance, job)",
            Op::Or => "or on(instance, job)",
            Op::Unless => "unless on(instance, job)",
        }
    }
}

impl Expr {
    /// PromQL text; `sel` is the matcher list put inside every selector
    /// (`job="node"`, or empty).
    pub fn render(&self, sel: &str) -> String {
        let mut s = String::new();
        self.write(sel, &mut s);
        s
    }

    /// Like [`Expr::render`], with each clause of a top-level `and` chain
    /// on its own line, for people reading the rule file.
    pub fn render_pretty(&self, sel: &str) -> String {
        let mut clauses = Vec::new();
        let mut e = self;
        while let Expr::Bin(Op::And, a, b) = e {
            clauses.push(b.as_ref());
            e = a;
        }
        clauses.push(e);
        clauses.reverse();
        let parts: Vec<String> = clauses
            .iter()
            .map(|c| {
                let mut s = String::new();
                if clauses.len() > 1 {
                    c.write_operand(sel, &mut s);
                } else {
                    c.write(sel, &mut s);
                }
                s
            })
            .collect();
        parts.join(&format!("\n{}\n", Op::And.text()))
    }

    fn write(&self, sel: &str, s: &mut String) {
        match self {
            Expr::Metric(name) => write_selector(name, sel, s),
            Expr::Num(v) => s.push_str(&v.to_string()),
            Expr::Neg(e) => {
                s.push('-');
                e.write_operand(sel, s);
            }
            Expr::Bin(op, a, b) => {
                a.write_operand(sel, s);
                s.push(' ');
                s.push_str(op.text());
                s.push(' ');
                b.write_operand(sel, s);
            }
            Expr::Call(f, r) => {
                s.push_str(f.name());
                s.push('(');
                if *f == Func::MedianOverTime {
                    s.push_str("0.5, ");
                }
                r.write(sel, s);
                s.push(')');
            }
        }
    }

    fn write_operand(&self, sel: &str, s: &mut String) {
        if matches!(self, Expr::Bin(..)) {
            s.push('(');
            self.write(sel, s);
            s.push(')');
        } else {
            self.write(sel, s);
        }
    }
}

impl Range {
    fn write(&self, sel: &str, s: &mut String) {
        match self {
            Range::Raw(name, r) => {
                write_selector(name, sel, s);
                s.push_str(&format!("[{}]", dur_text(*r)));
            }
            Range::Sub(e, r, step, off) => {
                s.push('(');
                e.write(sel, s);
                s.push_str(&format!(")[{}:{}]", dur_text(*r), dur_text(*step)));
                if *off > 0 {
                    s.push_str(&format!(" offset {}", dur_text(*off)));
                }
            }
            Range::Alerts(which, r) => {
                match which {
                    AlertSel::AnyFiring => s.push_str(&format!(
                        "ALERTS{{alertname=~\"Memcanary.*\",alertname!=\"{HOST_SILENT_ALERT}\",alertstate=\"firing\""
                    )),
                    AlertSel::AnyActive => s.push_str("ALERTS{alertname=~\"Memcanary.*\""),
                    AlertSel::Active(name) => s.push_str(&format!("ALERTS{{alertname=\"{name}\"")),
                }
                if !sel.is_empty() {
                    s.push(',');
                    s.push_str(sel);
                }
                s.push_str(&format!("}}[{}]", dur_text(*r)));
            }
        }
    }
}

fn write_selector(name: &str, sel: &str, s: &mut String) {
    s.push_str(name);
    if !sel.is_empty() {
        s.push('{');
        s.push_str(sel);
        s.push('}');
    }
}

/// What an expression is evaluated against: one host's series and the
/// times at which it had any memcanary alert pending or firing.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The host's series.
    pub host: &'a HostSeries,
    /// The host's `ALERTS` so far.
    pub alerts: &'a AlertLog,
}

impl Expr {
    /// The host's value at `t` (ms), `None` when the host has no element.
    pub fn eval(&self, cx: Ctx<'_>, t: i64) -> Option<f64> {
        match self {
            Expr::Metric(name) => instant(cx.host.points(name), t),
            Expr::Num(v) => Some(*v),
            Expr::Neg(e) => e.eval(cx, t).map(|v| -v),
            Expr::Bin(op, a, b) => binary(*op, a.eval(cx, t), || b.eval(cx, t)),
            Expr::Call(f, r) => call(*f, r, cx, t),
        }
    }
}

/// The value an instant selector sees: the newest sample at or before `t`
/// within the lookback, unless that sample is a staleness marker.
pub fn instant(points: &[Point], t: i64) -> Option<f64> {
    let i = points.partition_point(|p| p.t <= t);
    let p = points.get(i.checked_sub(1)?)?;
    if p.t < t - LOOKBACK_MS {
        return None;
    }
    p.v
}

fn binary(op: Op, a: Option<f64>, b: impl FnOnce() -> Option<f64>) -> Option<f64> {
    let filter = |keep: bool, v: f64| keep.then_some(v);
    match op {
        Op::Or => a.or_else(b),
        Op::And => {
            let a = a?;
            b().map(|_| a)
        }
        Op::Unless => {
            let a = a?;
            b().is_none().then_some(a)
        }
        _ => {
            let (a, b) = (a?, b()?);
            match op {
                Op::Add => Some(a + b),
                Op::Sub => Some(a - b),
                Op::Mul => Some(a * b),
                Op::Div => Some(a / b),
                Op::Lt => filter(a < b, a),
                Op::Gt => filter(a > b, a),
                Op::Le => filter(a <= b, a),
                Op::Ge => filter(a >= b, a),
                Op::Eq => filter(a == b, a),
                Op::LtBool => Some(if a < b { 1.0 } else { 0.0 }),
                Op::GtBool => Some(if a > b { 1.0 } else { 0.0 }),
                Op::Or | Op::And | Op::Unless => None,
            }
        }
    }
}

fn call(f: Func, r: &Range, cx: Ctx<'_>, t: i64) -> Option<f64> {
    let t = match r {
        Range::Sub(_, _, _, off) => t - off,
        _ => t,
    };
    let (points, range): (Vec<(i64, f64)>, i64) = match r {
        Range::Raw(name, range) => (window(cx.host.points(name), t, *range), *range),
        Range::Sub(e, range, step, _) => (subquery(e, cx, t, *range, *step), *range),
        Range::Alerts(which, range) => {
            let times = cx.alerts.times(*which);
            let lo = times.partition_point(|&a| a < t - range);
            let hi = times.partition_point(|&a| a <= t);
            let pts = times[lo..hi].iter().map(|&a| (a, 1.0)).collect();
            (pts, *range)
        }
    };
    funcs::apply(f, &points, t - range, t, range)
}

/// Non-stale samples in `[t - range, t]` (both ends included, as in 2.42).
fn window(points: &[Point], t: i64, range: i64) -> Vec<(i64, f64)> {
    let lo = points.partition_point(|p| p.t < t - range);
    let hi = points.partition_point(|p| p.t <= t);
    points[lo..hi]
        .iter()
        .filter_map(|p| p.v.map(|v| (p.t, v)))
        .collect()
}

/// A subquery's points: `e` evaluated at every multiple of `step` in
/// `[t - range, t]`.
fn subquery(e: &Expr, cx: Ctx<'_>, t: i64, range: i64, step: i64) -> Vec<(i64, f64)> {
    let mint = t - range;
    let mut s = step * (mint / step);
    if s < mint {
        s += step;
    }
    let mut out = Vec::new();
    while s <= t {
        if let Some(v) = e.eval(cx, s) {
            out.push((s, v));
        }
        s += step;
    }
    out
}
