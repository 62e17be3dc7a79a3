//! memcanary's detector rules translated into alerting rules.
//!
//! Every threshold, `for` and window comes from [`DetectorConfig`]; the only
//! inputs that are not the detector's are the evaluation interval (the
//! subquery step) and the scrape interval (for "stale after N intervals").
//! Where PromQL cannot say what the detector does, the difference is written
//! beside the rule here and in docs/rules.md.

use super::expr::{build::*, AlertSel, Expr, Op, Range};
use super::funcs::Func;
use super::model::{Rule, RuleFile, RuleGroup};
use super::target::Target;
use super::template::{text, Fmt, Piece, Template};
use crate::detect::{DetectorConfig, Dur, Severity};
use crate::signal::node_exporter as ne;
use std::collections::BTreeMap;

/// How far back "the host used to report" and "its last known state" look
/// when judging a silent host.
pub const DARK_LOOKBACK_MS: i64 = 60 * 60 * 1000;

/// The forecast's alert name.
pub const FORECAST: &str = "MemcanaryHeadroomForecast";

/// The silence-without-evidence alert: not evidence itself, so "any alert
/// firing" leaves it out.
pub const HOST_SILENT_ALERT: &str = "MemcanaryHostSilent";

/// Inputs besides the detector config.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Engine and version.
    pub target: Target,
    /// Matchers put in every selector (`job="node"`), or empty.
    pub selector: String,
    /// Group evaluation interval and subquery step, ms.
    pub interval_ms: i64,
    /// The scrape interval of node_exporter, ms.
    pub scrape_interval_ms: i64,
}

/// One alert, as data: what the rule file says and what the evaluator runs.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSpec {
    /// `MemcanaryHeadroomForecast`.
    pub name: &'static str,
    /// The detector rule it translates (`headroom_forecast`).
    pub rule: &'static str,
    /// Severity label.
    pub severity: Severity,
    /// The condition; its value is `$value`.
    pub expr: Expr,
    /// `for`, ms.
    pub for_ms: i64,
    /// `keep_firing_for`, ms (0: none).
    pub keep_firing_ms: i64,
    /// `summary` annotation.
    pub summary: Template,
    /// `description` annotation.
    pub description: Template,
}

fn ma() -> Expr {
    m(ne::MEM_AVAILABLE)
}
fn headroom() -> Expr {
    bin(Op::Add, ma(), m(ne::SWAP_FREE))
}
fn capacity() -> Expr {
    bin(Op::Add, m(ne::MEM_TOTAL), m(ne::SWAP_TOTAL))
}
/// The detector's headroom ratio, `(MemAvailable + SwapFree) / (MemTotal +
/// SwapTotal)`, in PromQL (also the watcher's floor query).
pub fn headroom_ratio() -> Expr {
    bin(Op::Div, headroom(), capacity())
}
fn and(a: Expr, b: Expr) -> Expr {
    bin(Op::And, a, b)
}
fn or(a: Expr, b: Expr) -> Expr {
    bin(Op::Or, a, b)
}
/// A fraction as a percentage for prose (`0.15` -> `15`).
fn pct(r: f64) -> String {
    ((r * 100.0 * 1e6).round() / 1e6).to_string()
}
fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Every enabled rule, in evaluation order (went_dark and host_silent last:
/// they read the others' `ALERTS` at the same evaluation).
pub fn alert_specs(c: &DetectorConfig, o: &Options) -> Vec<AlertSpec> {
    let b = Builder { c, o };
    let all = [
        (c.swap_low.enabled, b.swap_low()),
        (c.psi_rising.enabled, b.psi_rising()),
        (c.mem_available_collapse.enabled, b.collapse()),
        (c.headroom_forecast.enabled, b.forecast()),
        (c.exhaustion_imminent.enabled, b.imminent()),
        (c.thrashing.enabled, b.thrashing()),
        (c.oom_kill.enabled, b.oom_kill()),
        (c.went_dark.enabled, b.went_dark()),
        (c.went_dark.enabled && c.went_dark.silent, b.host_silent()),
    ];
    all.into_iter()
        .filter_map(|(enabled, spec)| enabled.then_some(spec))
        .collect()
}

struct Builder<'a> {
    c: &'a DetectorConfig,
    o: &'a Options,
}

impl Builder<'_> {
    fn step(&self) -> i64 {
        self.o.interval_ms
    }
    fn rate_ms(&self) -> i64 {
        self.c.rate_window.as_millis()
    }
    /// Headroom through the detector's spike filter: the median of the last
    /// three scrapes.
    fn filtered(&self) -> Expr {
        let scrape = self.o.scrape_interval_ms;
        sub(Func::MedianOverTime, headroom(), 2 * scrape, scrape)
    }
    /// The detector's robust slope: the median of the slopes between
    /// filtered headroom now and half a trend window earlier, over the last
    /// half of the trend window.
    fn slope(&self) -> Expr {
        let half = self.c.trend_window.as_millis() / 2;
        let scrape = self.o.scrape_interval_ms;
        let earlier = sub_offset(Func::MedianOverTime, headroom(), 2 * scrape, scrape, half);
        let pair = bin(
            Op::Div,
            bin(Op::Sub, self.filtered(), earlier),
            n(secs(half)),
        );
        sub(Func::MedianOverTime, pair, half, self.step())
    }
    fn eta(&self) -> Expr {
        bin(Op::Div, self.filtered(), neg(self.slope()))
    }
    fn psi_some_rate(&self) -> Expr {
        raw(Func::Rate, ne::PSI_SOME, self.rate_ms())
    }
    /// Stands in for the detector's hysteresis where the target allows it.
    fn keep(&self, for_ms: i64) -> i64 {
        if self.o.target.keep_firing_for() {
            for_ms.max(self.rate_ms())
        } else {
            0
        }
    }
    fn stale_ms(&self) -> i64 {
        let by_intervals = self.c.stale_after_intervals * self.o.scrape_interval_ms as f64;
        (by_intervals.ceil() as i64).max(self.c.stale_after_min.as_millis())
    }

    fn spec(&self, name: &'static str, rule: &'static str, sev: Severity, expr: Expr) -> AlertSpec {
        AlertSpec {
            name,
            rule,
            severity: sev,
            expr,
            for_ms: 0,
            keep_firing_ms: 0,
            summary: Vec::new(),
            description: Vec::new(),
        }
    }

    /// [`Self::spec`] for a rule whose condition must hold for `for_`, kept
    /// firing as long where the target allows.
    fn held(
        &self,
        for_: Dur,
        name: &'static str,
        rule: &'static str,
        sev: Severity,
        expr: Expr,
    ) -> AlertSpec {
        let for_ms = for_.as_millis();
        AlertSpec {
            for_ms,
            keep_firing_ms: self.keep(for_ms),
            ..self.spec(name, rule, sev, expr)
        }
    }

    fn swap_low(&self) -> AlertSpec {
        let r = &self.c.swap_low;
        let ratio = bin(Op::Div, m(ne::SWAP_FREE), m(ne::SWAP_TOTAL));
        let expr = and(
            bin(Op::Lt, ratio, n(r.below_ratio)),
            bin(Op::Gt, m(ne::SWAP_TOTAL), n(0.0)),
        );
        AlertSpec {
            summary: vec![text("Swap nearly used up on "), Piece::Instance],
            description: vec![
                text("SwapFree is "),
                Piece::Value(Fmt::Percent),
                text(format!(
                    " of SwapTotal (alert below {}% for {}).",
                    pct(r.below_ratio),
                    r.for_
                )),
            ],
            ..self.held(r.for_, "MemcanarySwapLow", "swap_low", r.severity, expr)
        }
    }

    fn psi_rising(&self) -> AlertSpec {
        let r = &self.c.psi_rising;
        let expr = bin(Op::Gt, self.psi_some_rate(), n(r.above_ratio));
        AlertSpec {
            summary: vec![text("Memory pressure rising on "), Piece::Instance],
            description: vec![
                text("Tasks stalled waiting for memory "),
                Piece::Value(Fmt::Percent),
                text(format!(
                    " of the time over the last {} (PSI some; alert above {}% for {}).",
                    self.c.rate_window,
                    pct(r.above_ratio),
                    r.for_
                )),
            ],
            ..self.held(r.for_, "MemcanaryPsiRising", "psi_rising", r.severity, expr)
        }
    }

    fn collapse(&self) -> AlertSpec {
        let r = &self.c.mem_available_collapse;
        let trend = self.c.trend_window.as_millis();
        let low = bin(
            Op::Lt,
            bin(Op::Div, ma(), m(ne::MEM_TOTAL)),
            n(r.below_ratio),
        );
        let fell = bin(
            Op::Div,
            bin(
                Op::Sub,
                raw(Func::MaxOverTime, ne::MEM_AVAILABLE, trend),
                ma(),
            ),
            m(ne::MEM_TOTAL),
        );
        let expr = and(low, bin(Op::Ge, fell, n(r.drop_ratio)));
        AlertSpec {
            summary: vec![text("MemAvailable collapsing on "), Piece::Instance],
            description: vec![
                text("MemAvailable is "),
                Piece::Value(Fmt::Percent),
                text(format!(
                    " of MemTotal after falling by at least {}% of MemTotal within {}.",
                    pct(r.drop_ratio),
                    self.c.trend_window
                )),
            ],
            ..self.held(
                r.for_,
                "MemcanaryMemAvailableCollapse",
                "mem_available_collapse",
                r.severity,
                expr,
            )
        }
    }

    fn forecast(&self) -> AlertSpec {
        let r = &self.c.headroom_forecast;
        let floor = neg(bin(
            Op::Div,
            bin(Op::Mul, n(r.min_drain_ratio_per_min), capacity()),
            n(60.0),
        ));
        let recent = self
            .c
            .recent_window
            .as_millis()
            .max(2 * self.step())
            .max(2 * self.o.scrape_interval_ms);
        // The detector's recent slope is the two-point slope over
        // recent_window; deriv over a subquery of >= 3 points is its PromQL
        // stand-in.
        let recent_slope = sub(Func::Deriv, self.filtered(), recent, self.step());
        let still = bin(
            Op::Le,
            recent_slope,
            bin(Op::Mul, n(r.min_recent_fraction), self.slope()),
        );
        let expr = and(
            and(
                and(
                    bin(Op::Lt, self.eta(), n(secs(r.horizon.as_millis()))),
                    bin(Op::Lt, self.slope(), floor),
                ),
                self.forecast_gate(),
            ),
            still,
        );
        AlertSpec {
            summary: vec![
                text("Memory runs out on "),
                Piece::Instance,
                text(" in "),
                Piece::Value(Fmt::Duration),
            ],
            description: vec![
                text("Headroom (MemAvailable + SwapFree) is "),
                Piece::Query(headroom(), Fmt::Bytes),
                text(format!(
                    " and still falling; at its {} slope it runs out in ",
                    self.c.trend_window
                )),
                Piece::Value(Fmt::Duration),
                text(". Act now and the host survives."),
            ],
            ..self.held(r.for_, FORECAST, "headroom_forecast", r.severity, expr)
        }
    }

    /// The forecast's headroom gate: at most `max_headroom_ratio`, or, with
    /// `history`, below the host's own floor less `margin_ratio` where that
    /// is higher (detect::history). The floor in PromQL: the lowest hourly
    /// minimum of headroom over the `history.days` days before the last
    /// one, once the host has reported for `min_clean_days` days before
    /// that. Unlike the detector's it counts every day (an incident's too)
    /// and the hours while alerts fired; both only lower it, and a lower
    /// floor leaves the gate at `max_headroom_ratio` (docs/rules.md).
    fn forecast_gate(&self) -> Expr {
        let r = &self.c.headroom_forecast;
        // The detector's headroom ratio is spike-filtered too.
        let ratio = || bin(Op::Div, self.filtered(), capacity());
        let fixed = bin(Op::Le, ratio(), n(r.max_headroom_ratio));
        let h = &self.c.history;
        if !h.enabled {
            return fixed;
        }
        let (hour, day) = (3_600_000, 86_400_000);
        let hourly_min = bin(
            Op::Div,
            bin(
                Op::Add,
                raw(Func::MinOverTime, ne::MEM_AVAILABLE, hour),
                raw(Func::MinOverTime, ne::SWAP_FREE, hour),
            ),
            capacity(),
        );
        let days = i64::from(h.days) * day;
        let floor = sub_offset(Func::MinOverTime, hourly_min, days, hour, day);
        let since = i64::from(h.min_clean_days + 1) * day;
        let reported = sub_offset(Func::PresentOverTime, m(ne::MEM_TOTAL), day, hour, since);
        let below = bin(Op::Le, ratio(), bin(Op::Sub, floor, n(h.margin_ratio)));
        if h.lower_gate {
            // Without enough history, the configured gate.
            or(
                and(below, reported.clone()),
                bin(Op::Unless, fixed, reported),
            )
        } else {
            or(fixed, and(below, reported))
        }
    }

    fn imminent(&self) -> AlertSpec {
        let r = &self.c.exhaustion_imminent;
        let low = bin(Op::Lt, headroom_ratio(), n(r.below_headroom_ratio));
        let soon = and(
            bin(Op::Lt, self.eta(), n(secs(r.eta.as_millis()))),
            bin(Op::Lt, self.slope(), n(0.0)),
        );
        let stalling = bin(
            Op::Gt,
            self.psi_some_rate(),
            n(self.c.psi_rising.above_ratio),
        );
        let expr = and(low, or(soon, stalling));
        AlertSpec {
            summary: vec![text("Memory exhaustion imminent on "), Piece::Instance],
            description: vec![
                text("Headroom (MemAvailable + SwapFree) is "),
                Piece::Value(Fmt::Percent),
                text(" of MemTotal + SwapTotal ("),
                Piece::Query(headroom(), Fmt::Bytes),
                text(format!(
                    ") and runs out within {} or tasks are stalling on memory.",
                    r.eta
                )),
            ],
            ..self.held(
                r.for_,
                "MemcanaryExhaustionImminent",
                "exhaustion_imminent",
                Severity::Critical,
                expr,
            )
        }
    }

    fn thrashing(&self) -> AlertSpec {
        let r = &self.c.thrashing;
        let rw = self.rate_ms();
        let full = bin(
            Op::Gt,
            raw(Func::Rate, ne::PSI_FULL, rw),
            n(r.psi_full_above_ratio),
        );
        let zero = || bin(Op::Mul, ma(), n(0.0));
        let signal = |e: Expr, thr: f64| or(bin(Op::GtBool, e, n(thr)), zero());
        let signals = [
            signal(raw(Func::Rate, ne::PGMAJFAULT, rw), r.major_faults_per_s),
            signal(raw(Func::Rate, ne::PSWPIN, rw), r.swap_in_pages_per_s),
            or(
                bin(
                    Op::LtBool,
                    headroom_ratio(),
                    n(self.c.exhaustion_imminent.below_headroom_ratio),
                ),
                zero(),
            ),
            signal(raw(Func::Increase, ne::OOM_KILL, rw), 0.0),
        ];
        let count = signals
            .into_iter()
            .reduce(|a, b| bin(Op::Add, a, b))
            .unwrap_or_else(zero);
        let corroborated = if r.min_corroborating == 0 {
            full
        } else {
            and(full, bin(Op::Ge, count, n(f64::from(r.min_corroborating))))
        };
        // Host-wide only: PSI full counts every cgroup's stalls.
        let expr = and(
            corroborated,
            bin(Op::Le, headroom_ratio(), n(r.max_headroom_ratio)),
        );
        AlertSpec {
            summary: vec![Piece::Instance, text(" is thrashing")],
            description: vec![
                text("Every task stalled on memory "),
                Piece::Value(Fmt::Percent),
                text(format!(
                    " of the time over the last {} (PSI full), with at least {} of: major faults, \
                     swap-in, headroom nearly gone, an OOM kill; host headroom at most {}%.",
                    self.c.rate_window,
                    r.min_corroborating,
                    pct(r.max_headroom_ratio)
                )),
            ],
            ..self.held(
                r.for_,
                "MemcanaryThrashing",
                "thrashing",
                Severity::Critical,
                expr,
            )
        }
    }

    fn oom_kill(&self) -> AlertSpec {
        let expr = bin(
            Op::Gt,
            raw(Func::Increase, ne::OOM_KILL, self.rate_ms()),
            n(0.0),
        );
        AlertSpec {
            keep_firing_ms: self.keep(0),
            summary: vec![text("The OOM killer fired on "), Piece::Instance],
            description: vec![
                text("The kernel killed about "),
                Piece::Value(Fmt::Count),
                text(format!(
                    " process(es) for lack of memory within the last {}.",
                    self.c.rate_window
                )),
            ],
            ..self.spec("MemcanaryOomKill", "oom_kill", Severity::Critical, expr)
        }
    }

    /// No memory sample for the stale window, or every scrape failed in it.
    fn silent(&self) -> Expr {
        let stale = self.stale_ms();
        or(
            bin(
                Op::Unless,
                raw(Func::PresentOverTime, ne::MEM_AVAILABLE, DARK_LOOKBACK_MS),
                raw(Func::PresentOverTime, ne::MEM_AVAILABLE, stale),
            ),
            // Every scrape failed for the whole stale window (a single
            // failed scrape under load is not silence, as in the detector).
            bin(Op::Eq, raw(Func::MaxOverTime, ne::UP, stale), n(0.0)),
        )
    }

    /// The detector's evidence of pressure at the last sample: headroom
    /// low, PSI high, or any alert (but host_silent) firing.
    fn pressure(&self) -> Expr {
        let step = self.step();
        let low = bin(
            Op::Lt,
            sub(Func::LastOverTime, headroom_ratio(), DARK_LOOKBACK_MS, step),
            n(self.c.went_dark.below_headroom_ratio),
        );
        let stalling = bin(
            Op::Gt,
            sub(
                Func::LastOverTime,
                self.psi_some_rate(),
                DARK_LOOKBACK_MS,
                step,
            ),
            n(self.c.psi_rising.above_ratio),
        );
        let firing = Expr::Call(
            Func::LastOverTime,
            Range::Alerts(AlertSel::AnyFiring, self.alert_memory()),
        );
        or(or(low, stalling), firing)
    }

    /// How far back the silence rules look for other alerts' states.
    fn alert_memory(&self) -> i64 {
        self.stale_ms() + 2 * self.step()
    }

    /// "HOST stopped reporting (...) while " and `rest`.
    fn silence_text(&self, rest: &str) -> Template {
        vec![
            Piece::Instance,
            text(format!(
                " stopped reporting (no memory sample for {}, or its scrape fails) while {rest}",
                crate::detect::Dur::from_millis(self.stale_ms())
            )),
        ]
    }

    fn went_dark(&self) -> AlertSpec {
        let expr = and(self.silent(), self.pressure());
        AlertSpec {
            summary: vec![Piece::Instance, text(" went dark under memory pressure")],
            description: self.silence_text(
                "it was under memory pressure. Treat it as down until it reports again.",
            ),
            ..self.spec("MemcanaryWentDark", "went_dark", Severity::Critical, expr)
        }
    }

    fn host_silent(&self) -> AlertSpec {
        let pending = Expr::Call(
            Func::LastOverTime,
            Range::Alerts(AlertSel::AnyActive, self.alert_memory()),
        );
        let expr = bin(Op::Unless, and(self.silent(), pending), self.pressure());
        AlertSpec {
            summary: vec![Piece::Instance, text(" went silent")],
            description: self.silence_text(
                "an alert was pending; headroom and memory pressure were fine at its last sample.",
            ),
            ..self.spec(HOST_SILENT_ALERT, "host_silent", Severity::Warning, expr)
        }
    }
}

/// Labels of an alert.
pub fn labels(s: &AlertSpec) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("severity".to_string(), s.severity.as_str().to_string()),
        ("rule".to_string(), s.rule.to_string()),
    ])
}

fn dur(ms: i64) -> Option<String> {
    (ms > 0).then(|| crate::detect::Dur::from_millis(ms).to_string())
}

/// The rule file for the specs.
pub fn rule_file(specs: &[AlertSpec], o: &Options) -> RuleFile {
    let rules = specs
        .iter()
        .map(|s| Rule {
            alert: s.name.to_string(),
            expr: s.expr.render_pretty(&o.selector),
            for_: dur(s.for_ms),
            keep_firing_for: dur(s.keep_firing_ms),
            labels: labels(s),
            annotations: BTreeMap::from([
                ("summary".to_string(), super::template::render(&s.summary)),
                (
                    "description".to_string(),
                    super::template::render(&s.description),
                ),
            ]),
        })
        .collect();
    RuleFile {
        groups: vec![RuleGroup {
            name: "memcanary".to_string(),
            interval: crate::detect::Dur::from_millis(o.interval_ms).to_string(),
            rules,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::super::expr::{AlertLog, Ctx};
    use super::super::series::{HostSeries, Point};
    use super::super::target::Engine;
    use super::*;

    const MIB: f64 = 1048576.0;
    const DAY: i64 = 86_400_000;

    /// A 1000 MiB host without swap: `days` idle days at 90 % sampled every
    /// 2 min, then a night draining 3 MiB/s from 90 % at 15 s scrapes.
    fn host(days: i64) -> HostSeries {
        let mut t: Vec<i64> = (0..days * 720).map(|i| i * 120_000).collect();
        let night = days * DAY;
        t.extend((0..80).map(|i| night + i * 15_000));
        let avail = |at: i64| {
            let drained = ((at - night).max(0) / 1000) as f64 * 3.0;
            (900.0 - drained).max(50.0) * MIB
        };
        let pts = |f: &dyn Fn(i64) -> f64| {
            t.iter()
                .map(|&at| Point {
                    t: at,
                    v: Some(f(at)),
                })
                .collect()
        };
        let mut h = HostSeries::default();
        h.series.insert(ne::MEM_TOTAL, pts(&|_| 1000.0 * MIB));
        h.series.insert(ne::MEM_AVAILABLE, pts(&avail));
        h.series.insert(ne::SWAP_TOTAL, pts(&|_| 0.0));
        h.series.insert(ne::SWAP_FREE, pts(&|_| 0.0));
        h
    }

    /// Whether the forecast's headroom gate holds 100 s into the drain
    /// (headroom 60 %), with `cfg`, on a host with `days` of history.
    fn gate_holds(cfg: &DetectorConfig, days: i64) -> bool {
        let o = Options {
            target: Target::new(Engine::Prometheus, None),
            selector: String::new(),
            interval_ms: 15_000,
            scrape_interval_ms: 15_000,
        };
        let b = Builder { c: cfg, o: &o };
        let (host, alerts) = (host(days), AlertLog::default());
        let cx = Ctx {
            host: &host,
            alerts: &alerts,
        };
        b.forecast_gate().eval(cx, days * DAY + 100_000).is_some()
    }

    #[test]
    fn the_forecast_gate_follows_the_hosts_floor_once_it_has_enough_days() {
        let on = DetectorConfig::default();
        let mut off = on.clone();
        off.history.enabled = false;
        assert!(gate_holds(&on, 5), "five idle days at 90 %: gate 85 %");
        assert!(!gate_holds(&off, 5), "without history: 45 %");
        assert!(
            !gate_holds(&on, 3),
            "three days: not enough before the last one"
        );
    }
}
