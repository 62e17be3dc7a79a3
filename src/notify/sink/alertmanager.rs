//! Alertmanager v2: `POST /api/v2/alerts` with a JSON array of one alert.
//!
//! While firing, `endsAt` is `now + ends_after` and reminders refresh it
//! before it passes (Alertmanager resolves an alert whose `endsAt` is in the
//! past); when resolved, `endsAt` is the resolve time. An HA pair is two
//! sinks built from one config entry: each instance receives every alert.

use super::{json_body, Request};
use crate::notify::alert::{Alert, State};
use crate::notify::request::Method;
use crate::notify::secret::Secret;
use crate::notify::text;
use serde::Serialize;
use std::collections::BTreeMap;

/// One Alertmanager instance.
#[derive(Debug, Clone)]
pub struct Alertmanager {
    /// Base URL, e.g. `http://127.0.0.1:9093` (may carry basic auth).
    pub url: Secret,
    /// How far ahead `endsAt` is set while firing, milliseconds.
    pub ends_after_ms: i64,
    /// Extra labels added to every alert (e.g. `cluster`).
    pub labels: BTreeMap<String, String>,
    /// `generatorURL` when the alert carries none.
    pub generator_url: Option<String>,
}

#[derive(Serialize)]
struct PostableAlert<'a> {
    labels: BTreeMap<&'a str, &'a str>,
    annotations: BTreeMap<&'static str, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "Option::is_none")]
    generator_url: Option<&'a str>,
}

impl Alertmanager {
    /// Renders the POST.
    pub fn render(&self, alert: &Alert, now_ms: i64, req: &mut Request) {
        req.method = Some(Method::Post);
        req.url = super::join_url(self.url.expose(), "/api/v2/alerts");
        let alertname = text::alertname(&alert.rule);
        let mut labels: BTreeMap<&str, &str> = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        labels.insert("alertname", &alertname);
        labels.insert("instance", &alert.instance);
        labels.insert("severity", alert.severity.as_str());
        labels.insert("rule", &alert.rule);
        labels.insert("source", "memcanary");
        if let Some(cgroup) = &alert.cgroup {
            labels.insert("cgroup", cgroup);
        }
        if alert.is_test {
            labels.insert("test", "true");
        }
        let ends_ms = match alert.state {
            State::Firing => now_ms.max(alert.at_ms) + self.ends_after_ms,
            State::Resolved => alert.at_ms,
        };
        let body = [PostableAlert {
            labels,
            annotations: annotations(alert),
            starts_at: text::rfc3339(alert.at_ms),
            ends_at: text::rfc3339(ends_ms),
            generator_url: alert.url.as_deref().or(self.generator_url.as_deref()),
        }];
        json_body(req, &body);
    }
}

fn annotations(alert: &Alert) -> BTreeMap<&'static str, String> {
    let mut a = BTreeMap::new();
    a.insert("summary", text::summary(alert));
    a.insert("description", text::description(alert));
    a.insert("headroom", text::headroom(alert));
    if let Some(eta) = alert.values.eta_seconds.filter(|_| alert.is_firing()) {
        a.insert("eta", text::duration(eta));
        a.insert("eta_seconds", format!("{eta:.0}"));
    }
    if let Some(p) = text::psi(alert) {
        a.insert("psi", p);
    }
    if !alert.consumers.is_empty() {
        a.insert("top_consumers", text::consumers(alert));
    }
    a
}
