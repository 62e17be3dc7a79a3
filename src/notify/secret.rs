//! [`Secret`]: a string (webhook URL, token, password) that never prints.
//!
//! Webhook URLs carry their credential in the path (Discord, Slack) or are
//! themselves the capability (an ntfy topic), so the whole value is treated as
//! secret. `Debug` and `Display` show a redacted form that still tells an
//! operator which endpoint is meant: scheme and host, and for Discord the
//! webhook id (`https://discord.com/api/webhooks/<id>/***`).

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A secret value; only [`Secret::expose`] gives the real text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    shown: String,
}

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        let shown = redact(&value);
        Secret { value, shown }
    }

    /// The real value, for building a request and nothing else.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The redacted form shown in logs and errors.
    pub fn redacted(&self) -> &str {
        &self.shown
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({:?})", self.shown)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Secret, D::Error> {
        String::deserialize(de).map(Secret::new)
    }
}

/// Redacts a secret: URLs keep scheme and host (and a Discord webhook id),
/// anything else becomes `***`.
pub fn redact(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return "***".to_string();
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let path = &rest[host_end..];
    if path.is_empty() || path == "/" {
        return format!("{scheme}://{host}");
    }
    if let Some(tail) = path.strip_prefix("/api/webhooks/") {
        let id = tail.split('/').next().unwrap_or("");
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            return format!("{scheme}://{host}/api/webhooks/{id}/***");
        }
    }
    format!("{scheme}://{host}/***")
}

/// Replaces every occurrence of each secret in `text` by its redacted form
/// (for error messages from lower layers that may quote a URL).
/// A server may also echo only the path or the last segment of a URL (where
/// a webhook token sits), so those are scrubbed too when long enough to be
/// unambiguous.
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() && out.contains(s.expose()) {
            out = out.replace(s.expose(), s.redacted());
        }
        for frag in fragments(s.expose()) {
            if out.contains(frag) {
                out = out.replace(frag, "***");
            }
        }
    }
    out
}

/// The path (with query) and the last path segment of a URL, if at least
/// 6 characters long.
fn fragments(value: &str) -> Vec<&str> {
    let Some((_, rest)) = value.split_once("://") else {
        return Vec::new();
    };
    let Some(start) = rest.find('/') else {
        return Vec::new();
    };
    let path = &rest[start..];
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    [path, last].into_iter().filter(|f| f.len() >= 6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_url_keeps_the_id_only() {
        let s = Secret::new("https://discord.com/api/webhooks/123456/tok-SECRET");
        assert_eq!(s.to_string(), "https://discord.com/api/webhooks/123456/***");
        assert!(!format!("{s:?}").contains("tok-SECRET"));
    }

    #[test]
    fn other_urls_keep_scheme_and_host() {
        assert_eq!(
            redact("http://user:pw@ntfy.lan:8080/topic?x=1"),
            "http://ntfy.lan:8080/***"
        );
        assert_eq!(redact("https://am.example:9093"), "https://am.example:9093");
        assert_eq!(redact("tk_abcdef"), "***");
    }

    #[test]
    fn scrub_replaces_the_secret() {
        let s = Secret::new("http://h/very-secret-topic");
        let t = scrub("bad uri http://h/very-secret-topic here", &[&s]);
        assert_eq!(t, "bad uri http://h/*** here");
        let d = Secret::new("https://discord.com/api/webhooks/1/tok-SECRET");
        assert_eq!(
            scrub(
                "POST /api/webhooks/1/tok-SECRET: no; token tok-SECRET",
                &[&d]
            ),
            "POST ***: no; token ***"
        );
    }
}
