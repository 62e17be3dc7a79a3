//! The sinks: a closed set, so an `enum` with a pure `render` per kind.
//!
//! Each sink turns an [`Alert`] into a [`Request`] without I/O; one transport
//! ([`super::transport`]) sends whatever was rendered. Rendering writes into a
//! caller-owned `Request` so the dispatcher reuses its buffers.

pub mod alertmanager;
pub mod discord;
pub mod discord_limits;
pub mod ntfy;
pub mod slack;
pub mod stdout;
pub mod webhook;

use super::alert::Alert;
use super::request::Request;
use super::retry::{self, RetryAction};
use super::secret::{self, Secret};
use std::fmt;

pub use alertmanager::Alertmanager;
pub use discord::Discord;
pub use ntfy::Ntfy;
pub use slack::Slack;
pub use stdout::Stdout;
pub use webhook::Webhook;

/// The kinds of sink, as written in config (`kind = "discord"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Discord webhook.
    Discord,
    /// Alertmanager v2 API (one or more instances).
    Alertmanager,
    /// ntfy topic.
    Ntfy,
    /// Generic JSON webhook.
    Webhook,
    /// Slack incoming webhook.
    Slack,
    /// Standard output.
    Stdout,
}

impl Kind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Discord => "discord",
            Kind::Alertmanager => "alertmanager",
            Kind::Ntfy => "ntfy",
            Kind::Webhook => "webhook",
            Kind::Slack => "slack",
            Kind::Stdout => "stdout",
        }
    }
}

/// Credentials for sinks that take them.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: Secret,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::Basic { user, .. } => write!(f, "Basic({user:?}, ***)"),
        }
    }
}

impl Auth {
    /// The `Authorization` header value.
    pub fn header_value(&self) -> String {
        match self {
            Auth::Bearer(t) => format!("Bearer {}", t.expose()),
            Auth::Basic { user, password } => {
                let raw = format!("{user}:{}", password.expose());
                format!("Basic {}", base64(raw.as_bytes()))
            }
        }
    }

    /// The secret part.
    pub fn secret(&self) -> &Secret {
        match self {
            Auth::Bearer(t) => t,
            Auth::Basic { password, .. } => password,
        }
    }
}

/// One destination, rendered purely.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Discord webhook.
    Discord(Discord),
    /// Alertmanager v2 (one instance; an HA pair is two sinks).
    Alertmanager(Alertmanager),
    /// ntfy topic.
    Ntfy(Ntfy),
    /// Generic JSON webhook.
    Webhook(Webhook),
    /// Slack incoming webhook.
    Slack(Slack),
    /// Standard output.
    Stdout(Stdout),
}

impl Sink {
    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            Sink::Discord(_) => Kind::Discord,
            Sink::Alertmanager(_) => Kind::Alertmanager,
            Sink::Ntfy(_) => Kind::Ntfy,
            Sink::Webhook(_) => Kind::Webhook,
            Sink::Slack(_) => Kind::Slack,
            Sink::Stdout(_) => Kind::Stdout,
        }
    }

    /// Renders `alert` (at send time `now_ms`) into `req`, reusing its buffers.
    pub fn render(&self, alert: &Alert, now_ms: i64, req: &mut Request) {
        req.clear();
        match self {
            Sink::Discord(s) => s.render(alert, now_ms, req),
            Sink::Alertmanager(s) => s.render(alert, now_ms, req),
            Sink::Ntfy(s) => s.render(alert, now_ms, req),
            Sink::Webhook(s) => s.render(alert, now_ms, req),
            Sink::Slack(s) => s.render(alert, now_ms, req),
            Sink::Stdout(s) => s.render(alert, now_ms, req),
        }
    }

    /// Renders into a new request.
    pub fn render_new(&self, alert: &Alert, now_ms: i64) -> Request {
        let mut req = Request::default();
        self.render(alert, now_ms, &mut req);
        req
    }

    /// What to do with a response: the generic [`retry::classify`], plus
    /// Discord's rule that a deleted webhook or a bad token disables the sink.
    pub fn classify(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        now_ms: i64,
    ) -> RetryAction {
        let action = retry::classify(status, headers, body, now_ms);
        match self {
            Sink::Discord(_) => discord::adjust(status, body, action),
            _ => action,
        }
    }

    /// The secrets this sink holds (to scrub them out of error text).
    pub fn secrets(&self) -> Vec<&Secret> {
        match self {
            Sink::Discord(s) => vec![&s.url],
            Sink::Alertmanager(s) => vec![&s.url],
            Sink::Ntfy(s) => std::iter::once(&s.url)
                .chain(s.auth.as_ref().map(Auth::secret))
                .collect(),
            Sink::Webhook(s) => std::iter::once(&s.url)
                .chain(s.auth.as_ref().map(Auth::secret))
                .collect(),
            Sink::Slack(s) => vec![&s.url],
            Sink::Stdout(_) => Vec::new(),
        }
    }

    /// The redacted endpoint, for logs.
    pub fn endpoint(&self) -> String {
        match self {
            Sink::Stdout(_) => "stdout".to_string(),
            other => other
                .secrets()
                .first()
                .map_or_else(String::new, |s| s.redacted().to_string()),
        }
    }

    /// Scrubs this sink's secrets out of `text`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = secret::scrub(text, &self.secrets());
        let auth = match self {
            Sink::Ntfy(s) => s.auth.as_ref(),
            Sink::Webhook(s) => s.auth.as_ref(),
            _ => None,
        };
        if let Some(Auth::Basic { .. }) = auth {
            let header = auth.map(Auth::header_value).unwrap_or_default();
            let encoded = header.trim_start_matches("Basic ");
            out = out.replace(encoded, "***");
        }
        out
    }
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Joins `base` and a path without doubling the slash.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Serializes `value` as JSON into `req.body`.
pub(crate) fn json_body<T: serde::Serialize>(req: &mut Request, value: &T) {
    req.headers
        .push(("content-type", "application/json".to_string()));
    if serde_json::to_writer(&mut req.body, value).is_err() {
        req.body.clear();
        req.body.extend_from_slice(b"{}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn auth_debug_hides_secrets() {
        let a = Auth::Basic {
            user: "u".into(),
            password: Secret::new("pw-SECRET"),
        };
        assert!(!format!("{a:?}").contains("pw-SECRET"));
        assert_eq!(
            Auth::Bearer(Secret::new("tk_x")).header_value(),
            "Bearer tk_x"
        );
    }
}

#[cfg(test)]
mod render_tests;
