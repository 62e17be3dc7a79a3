//! The human text of an alert, rendered in one place for every sink.
//!
//! Sinks differ in layout (an embed, a push title, annotations), not in what
//! they say: the title, the one-line summary, the description and the list of
//! facts all come from here, so a phone push and a Discord embed agree.

use super::alert::{Alert, State};
use crate::detect::{Severity, Signal};
use std::fmt::Write;

/// What a rule means, in words.
pub fn rule_phrase(rule: &str) -> String {
    let s = match rule {
        "swap_low" => "swap nearly full",
        "psi_rising" => "memory pressure (PSI) rising",
        "mem_available_collapse" => "available memory collapsing",
        "headroom_forecast" => "memory headroom forecast to run out",
        "exhaustion_imminent" => "memory exhaustion imminent",
        "thrashing" => "thrashing: the kernel is stuck reclaiming memory",
        "cgroup_thrashing" => {
            "a cgroup is stalling at its own memory limit while the host has room"
        }
        "went_dark" => "host went silent under memory pressure",
        "oom_kill" => "the kernel OOM killer fired",
        "memcanary_blind" => "memcanary cannot see memory",
        "host_silent" => "host stopped reporting (no pressure at its last sample)",
        "datasource_down" => "the metrics datasource is not answering",
        other => return other.replace('_', " "),
    };
    s.to_string()
}

/// `MemcanaryHeadroomForecast` for `headroom_forecast`.
pub fn alertname(rule: &str) -> String {
    let mut out = String::from("Memcanary");
    // The agent's own rules are named memcanary_*: MemcanaryBlind, not
    // MemcanaryMemcanaryBlind.
    let rule = rule.strip_prefix("memcanary_").unwrap_or(rule);
    for part in rule.split(['_', '-', ' ']).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// `[FIRING]`, `[RESOLVED]`, `[TEST]`, `[REMINDER]`.
pub fn tag(alert: &Alert) -> &'static str {
    match (alert.is_test, alert.state, alert.repeat) {
        (true, _, _) => "[TEST]",
        (false, State::Resolved, _) => "[RESOLVED]",
        (false, State::Firing, 0) => "[FIRING]",
        (false, State::Firing, _) => "[REMINDER]",
    }
}

/// The title: `[FIRING] critical: memory exhaustion imminent on web-1`.
pub fn title(alert: &Alert) -> String {
    format!(
        "{} {}: {} on {}",
        tag(alert),
        alert.severity.as_str(),
        rule_phrase(&alert.rule),
        alert.instance
    )
}

/// One line: what, where, how much headroom, how long.
pub fn summary(alert: &Alert) -> String {
    let mut s = format!("{}: {}", alert.instance, rule_phrase(&alert.rule));
    if let Some(why) = alert
        .detail
        .as_deref()
        .filter(|_| alert.state == State::Firing)
    {
        let _ = write!(s, ": {why}");
    }
    if alert.state == State::Resolved {
        s.push_str(" (resolved)");
    }
    let v = &alert.values;
    let _ = write!(s, "; headroom {}", headroom(alert));
    if let (State::Firing, Some(eta)) = (alert.state, v.eta_seconds) {
        let _ = write!(s, ", exhausted in ~{}", duration(eta));
    }
    if alert.is_test {
        s.push_str(" (test notification from memcanary notify-test)");
    }
    s
}

/// Several lines with every value the alert has and the top consumers.
pub fn description(alert: &Alert) -> String {
    let mut s = summary(alert);
    s.push('\n');
    for (name, value) in facts(alert) {
        let _ = write!(s, "\n{name}: {value}");
    }
    s
}

/// Name/value facts for field-based layouts (Discord fields, Slack).
/// Absent values are left out; consumers come last as one fact.
pub fn facts(alert: &Alert) -> Vec<(&'static str, String)> {
    let v = &alert.values;
    let mut out = vec![
        ("Host", alert.instance.clone()),
        ("Headroom", headroom(alert)),
    ];
    if v.swap_total_bytes > 0 {
        let used = v.swap_total_bytes.saturating_sub(v.swap_free_bytes);
        out.push((
            "Swap",
            format!("{} of {} used", bytes(used), bytes(v.swap_total_bytes)),
        ));
    }
    if let Some(p) = psi(alert) {
        out.push(("PSI", p));
    }
    if let Some(eta) = v.eta_seconds.filter(|_| alert.state == State::Firing) {
        let slope = v
            .headroom_slope_bytes_per_s
            .map(|b| format!(" ({}/s)", signed_bytes(b)));
        out.push((
            "ETA",
            format!("~{}{}", duration(eta), slope.unwrap_or_default()),
        ));
    }
    if let Some(silent) = v.silent_seconds {
        out.push(("Silent for", duration(silent)));
    }
    if v.oom_kills > 0 {
        out.push(("OOM kills", v.oom_kills.to_string()));
    }
    if !v.signals.is_empty() {
        let names: Vec<&str> = v.signals.iter().map(Signal::as_str).collect();
        out.push(("Signals", names.join(", ")));
    }
    if !alert.consumers.is_empty() {
        out.push(("Top consumers", consumers(alert)));
    }
    out
}

/// `1.5 GiB (7.5%)`.
pub fn headroom(alert: &Alert) -> String {
    let v = &alert.values;
    format!(
        "{} ({:.1}%)",
        bytes(v.headroom_bytes),
        v.headroom_ratio * 100.0
    )
}

/// `some 12.0%, full 3.0%`, if the host reports PSI.
pub fn psi(alert: &Alert) -> Option<String> {
    let v = &alert.values;
    match (v.psi_some_ratio, v.psi_full_ratio) {
        (None, None) => None,
        (some, full) => {
            let pct =
                |r: Option<f64>| r.map_or("n/a".to_string(), |r| format!("{:.1}%", r * 100.0));
            Some(format!("some {}, full {}", pct(some), pct(full)))
        }
    }
}

/// One line per consumer: `coily-update.service: 16 x cc1plus, 15.8 GiB`.
pub fn consumers(alert: &Alert) -> String {
    let mut s = String::new();
    for c in &alert.consumers {
        if !s.is_empty() {
            s.push('\n');
        }
        let _ = write!(
            s,
            "{}: {} x {}, {}",
            c.group,
            c.processes,
            c.command,
            bytes(c.bytes)
        );
    }
    s
}

/// Colour for embeds: amber for warnings, red for critical, green resolved.
pub fn colour(alert: &Alert) -> u32 {
    match (alert.state, alert.severity) {
        (State::Resolved, _) => 0x2E_CC_71,
        (State::Firing, Severity::Warning) => 0xF3_9C_12,
        (State::Firing, Severity::Critical) => 0xE7_4C_3C,
    }
}

pub use crate::signal::units::bytes;

/// `-8.0 MiB` / `+1.0 KiB` for a rate in bytes.
pub fn signed_bytes(b: f64) -> String {
    let sign = if b < 0.0 { '-' } else { '+' };
    format!("{sign}{}", bytes(b.abs().min(u64::MAX as f64) as u64))
}

/// `3m 12s`, `45s`, `2h 5m`, `1d 3h` (negative or NaN: `0s`).
pub fn duration(secs: f64) -> String {
    let s = if secs.is_finite() && secs > 0.0 {
        secs.round() as u64
    } else {
        0
    };
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// RFC 3339 UTC time for `at_ms` (Alertmanager, Discord timestamps).
pub fn rfc3339(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// Truncates to at most `max` characters (not bytes), ending with `…` when cut.
pub fn truncate_chars(s: &mut String, max: usize) {
    if max == 0 {
        s.clear();
        return;
    }
    if let Some((cut, _)) = s.char_indices().nth(max) {
        let keep = s.char_indices().nth(max - 1).map_or(cut, |(i, _)| i);
        s.truncate(keep);
        s.push('…');
    }
}

/// Truncates to at most `max` bytes on a char boundary, ending with `…`.
pub fn truncate_bytes(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    if max >= '…'.len_utf8() {
        s.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_durations() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(16_965_120_819), "15.8 GiB");
        assert_eq!(duration(192.4), "3m 12s");
        assert_eq!(duration(45.0), "45s");
        assert_eq!(duration(7500.0), "2h 5m");
        assert_eq!(duration(-3.0), "0s");
        assert_eq!(duration(f64::NAN), "0s");
        assert_eq!(alertname("headroom_forecast"), "MemcanaryHeadroomForecast");
    }

    #[test]
    fn truncation_counts_chars_and_bytes() {
        let mut s = "ééééé".to_string();
        truncate_chars(&mut s, 3);
        assert_eq!(s, "éé…");
        assert_eq!(s.chars().count(), 3);
        let mut s = "ééééé".to_string();
        truncate_chars(&mut s, 5);
        assert_eq!(s, "ééééé");
        let mut s = "ééééé".to_string();
        truncate_bytes(&mut s, 6);
        assert!(s.len() <= 6, "{s}");
        assert!(s.ends_with('…'));
    }

    #[test]
    fn every_detector_rule_has_words() {
        let cfg = crate::detect::DetectorConfig::default();
        let rules = crate::detect::rules::RuleSet::memcanary(&cfg);
        let names = rules
            .specs()
            .iter()
            .map(|r| r.name)
            .chain([crate::detect::WENT_DARK]);
        for name in names {
            assert_ne!(
                rule_phrase(name),
                name.replace('_', " "),
                "no phrase for rule {name}"
            );
        }
    }

    #[test]
    fn summary_has_values_and_eta() {
        let a = Alert::test("web-1", 0);
        let s = summary(&a);
        assert!(s.contains("web-1"), "{s}");
        assert!(s.contains("1.5 GiB (7.5%)"), "{s}");
        assert!(s.contains("3m 12s"), "{s}");
    }
}
