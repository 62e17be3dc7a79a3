//! `memcanary rules --tests`: a promtool unit-test file from a recorded trace.
//!
//! The expected alerts are memcanary's own judgment of its rule expressions:
//! [`simulate`] runs the very expressions written to the rule file (the
//! [`Expr`](super::expr::Expr) tree) with Prometheus 2.42's evaluation
//! semantics and alert life cycle (`for`, `keep_firing_for`, `ALERTS`), on
//! the same grid of samples promtool is given. promtool is never asked what
//! to expect; it is asked whether it agrees.

use super::build::{labels, AlertSpec};
use super::expr::{dur_text, AlertLog, Ctx};
use super::model::{AlertTest, ExpAlert, InputSeries, TestCase, TestFile};
use super::series::{promtool_values, Trace};
use super::template::expand;
use std::collections::BTreeMap;

/// The alerts of one name firing at one evaluation time, sorted.
pub type Firing = Vec<ExpAlert>;

#[derive(Debug, Clone)]
struct Active {
    active_at: i64,
    firing: bool,
    keep_since: Option<i64>,
    annotations: BTreeMap<String, String>,
}

/// Per alert name, the firing alerts at every evaluation time `0, eval_ms,
/// ...` up to the trace's end.
pub fn simulate(
    specs: &[AlertSpec],
    trace: &Trace,
    eval_ms: i64,
) -> BTreeMap<&'static str, Vec<(i64, Firing)>> {
    let mut state: Vec<Vec<Option<Active>>> = vec![vec![None; trace.hosts.len()]; specs.len()];
    let mut logs: Vec<AlertLog> = vec![AlertLog::default(); trace.hosts.len()];
    let mut out: BTreeMap<&'static str, Vec<(i64, Firing)>> = BTreeMap::new();
    let mut t = 0;
    while t <= trace.end_ms {
        for (si, spec) in specs.iter().enumerate() {
            let mut firing = Vec::new();
            for (hi, host) in trace.hosts.iter().enumerate() {
                let cx = Ctx {
                    host,
                    alerts: &logs[hi],
                };
                let v = spec.expr.eval(cx, t);
                let slot = &mut state[si][hi];
                step_alert(spec, slot, v, t, |value| {
                    let mut a = BTreeMap::new();
                    a.insert(
                        "summary".into(),
                        expand(&spec.summary, &host.instance, value, cx, t),
                    );
                    a.insert(
                        "description".into(),
                        expand(&spec.description, &host.instance, value, cx, t),
                    );
                    a
                });
                if let Some(a) = slot {
                    logs[hi].record(spec.name, t, a.firing);
                    if a.firing {
                        let mut l = labels(spec);
                        l.insert("instance".into(), host.instance.clone());
                        l.insert("job".into(), host.job.clone());
                        firing.push(ExpAlert {
                            exp_labels: l,
                            exp_annotations: a.annotations.clone(),
                        });
                    }
                }
            }
            firing.sort_by(|a, b| a.exp_labels.cmp(&b.exp_labels));
            out.entry(spec.name).or_default().push((t, firing));
        }
        t += eval_ms;
    }
    out
}

/// One evaluation of one alert for one host (Prometheus 2.42's
/// `AlertingRule.Eval`).
fn step_alert(
    spec: &AlertSpec,
    slot: &mut Option<Active>,
    v: Option<f64>,
    t: i64,
    annotate: impl FnOnce(f64) -> BTreeMap<String, String>,
) {
    match (v, slot.as_mut()) {
        (Some(value), Some(a)) => {
            a.annotations = annotate(value);
            a.keep_since = None;
        }
        (Some(value), None) => {
            *slot = Some(Active {
                active_at: t,
                firing: false,
                keep_since: None,
                annotations: annotate(value),
            });
        }
        (None, Some(a)) => {
            let keep = a.firing && spec.keep_firing_ms > 0 && {
                let since = *a.keep_since.get_or_insert(t);
                t - since < spec.keep_firing_ms
            };
            if !keep {
                *slot = None;
            }
        }
        (None, None) => {}
    }
    if let Some(a) = slot.as_mut() {
        if !a.firing && t - a.active_at >= spec.for_ms {
            a.firing = true;
        }
    }
}

/// Which evaluation times to check: each change in who fires, the
/// evaluation just before it, every 5 minutes, and the last.
fn checkpoints(timeline: &[(i64, Firing)], eval_ms: i64) -> Vec<usize> {
    let key = |f: &Firing| f.iter().map(|a| a.exp_labels.clone()).collect::<Vec<_>>();
    let every = (300_000 / eval_ms).max(1) as usize;
    let mut idx = Vec::new();
    for i in 0..timeline.len() {
        let changed = i > 0 && key(&timeline[i].1) != key(&timeline[i - 1].1);
        if changed {
            idx.push(i - 1);
        }
        if changed || i % every == 0 || i + 1 == timeline.len() {
            idx.push(i);
        }
    }
    idx.sort_unstable();
    idx.dedup();
    idx
}

/// The promtool test file for `trace`, checking the rules in `rule_file`.
pub fn test_file(
    specs: &[AlertSpec],
    trace: &Trace,
    eval_ms: i64,
    rule_file: &str,
    name: &str,
) -> TestFile {
    let timelines = simulate(specs, trace, eval_ms);
    let mut checks = Vec::new();
    for spec in specs {
        let Some(tl) = timelines.get(spec.name) else {
            continue;
        };
        for i in checkpoints(tl, eval_ms) {
            checks.push(AlertTest {
                eval_time: dur_text(tl[i].0),
                alertname: spec.name.to_string(),
                exp_alerts: tl[i].1.clone(),
            });
        }
    }
    TestFile {
        rule_files: vec![rule_file.to_string()],
        evaluation_interval: dur_text(eval_ms),
        tests: vec![TestCase {
            name: name.to_string(),
            interval: dur_text(trace.interval_ms),
            input_series: input_series(trace),
            alert_rule_test: checks,
        }],
    }
}

fn input_series(trace: &Trace) -> Vec<InputSeries> {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut out = Vec::new();
    for h in &trace.hosts {
        for (name, pts) in &h.series {
            out.push(InputSeries {
                series: format!("{name}{{instance={},job={}}}", q(&h.instance), q(&h.job)),
                values: promtool_values(pts, trace.interval_ms, trace.end_ms),
            });
        }
    }
    out
}

/// The first time each alert name fires in a timeline, ms since the origin.
pub fn first_firing(
    timelines: &BTreeMap<&'static str, Vec<(i64, Firing)>>,
) -> BTreeMap<&'static str, i64> {
    timelines
        .iter()
        .filter_map(|(name, tl)| {
            tl.iter()
                .find(|(_, f)| !f.is_empty())
                .map(|(t, _)| (*name, *t))
        })
        .collect()
}
