//! The generic JSON webhook: memcanary's own versioned schema
//! (`"version": 1`), documented in `docs/notifications.md`.

use super::{json_body, Auth, Request};
use crate::detect::Evidence;
use crate::notify::alert::{Alert, Consumer};
use crate::notify::request::Method;
use crate::notify::secret::Secret;
use crate::notify::text;
use serde::Serialize;

/// The schema version of [`Document`].
pub const VERSION: u32 = 1;

/// A generic webhook.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Target URL.
    pub url: Secret,
    /// Optional `Authorization`.
    pub auth: Option<Auth>,
}

/// The webhook body (also stdout's JSON lines).
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    /// Schema version, [`VERSION`].
    pub version: u32,
    /// `firing` or `resolved`.
    pub status: &'static str,
    /// A `notify-test` notification.
    pub test: bool,
    /// 0 first notification, n for the n-th reminder.
    pub repeat: u32,
    /// When it was sent, RFC 3339.
    pub sent_at: String,
    /// The alert.
    pub alert: AlertDoc<'a>,
}

/// The alert inside a [`Document`].
#[derive(Debug, Serialize)]
pub struct AlertDoc<'a> {
    /// `MemcanaryHeadroomForecast`.
    pub alertname: String,
    /// Rule name.
    pub rule: &'a str,
    /// Host.
    pub instance: &'a str,
    /// `warning` or `critical`.
    pub severity: &'static str,
    /// State change time, RFC 3339.
    pub at: String,
    /// State change time, ms since the epoch.
    pub at_ms: i64,
    /// One-line summary.
    pub summary: String,
    /// Multi-line description.
    pub description: String,
    /// The numbers behind it.
    pub values: &'a Evidence,
    /// Top consumers.
    pub consumers: &'a [Consumer],
    /// Link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    /// Why, in words (`memcanary_blind`: what the agent cannot read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
    /// The cgroup of a cgroup-scoped alert (`cgroup_thrashing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<&'a str>,
}

/// Builds the document for `alert` sent at `now_ms`.
pub fn document(alert: &Alert, now_ms: i64) -> Document<'_> {
    Document {
        version: VERSION,
        status: alert.state.as_str(),
        test: alert.is_test,
        repeat: alert.repeat,
        sent_at: text::rfc3339(now_ms),
        alert: AlertDoc {
            alertname: text::alertname(&alert.rule),
            rule: &alert.rule,
            instance: &alert.instance,
            severity: alert.severity.as_str(),
            at: text::rfc3339(alert.at_ms),
            at_ms: alert.at_ms,
            summary: text::summary(alert),
            description: text::description(alert),
            values: &alert.values,
            consumers: &alert.consumers,
            url: alert.url.as_deref(),
            detail: alert.detail.as_deref(),
            cgroup: alert.cgroup.as_deref(),
        },
    }
}

impl Webhook {
    /// Renders the POST.
    pub fn render(&self, alert: &Alert, now_ms: i64, req: &mut Request) {
        req.method = Some(Method::Post);
        req.url.push_str(self.url.expose());
        if let Some(auth) = &self.auth {
            req.headers.push(("authorization", auth.header_value()));
        }
        json_body(req, &document(alert, now_ms));
    }
}
