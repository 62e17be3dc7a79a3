//! [`Secret`]: a string (webhook URL, token, password) that never prints.
//!
//! Webhook URLs carry their credential in the path (Discord, Slack) or are
//! themselves the capability (an ntfy topic), so the whole value is treated as
//! secret. `Debug` and `Display` show a redacted form that still tells an
//! operator which endpoint is meant: scheme and host, and for Discord the
//! webhook id (`https://discord.com/api/webhooks/<id>/***`).
//!
//! [`resolve`] looks a secret up (inline, environment, file) and
//! [`check_url`] checks that a URL is one the transport can send to, so a
//! broken value is found when sinks are built (and by `check-config`), not
//! retried forever as if the network were down.

use super::error::NotifyError;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::PathBuf;

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

/// Resolves one secret from its inline, `_env` or `_file` form (`key` is
/// the key path without the suffix, e.g. `notify.sinks[0].url`). A variable
/// or file that is empty (after trimming) is an error naming it.
pub fn resolve(
    key: &str,
    inline: Option<&Secret>,
    env: Option<&str>,
    file: Option<&PathBuf>,
) -> Result<Option<Secret>, NotifyError> {
    if let Some(s) = inline {
        return Ok(Some(s.clone()));
    }
    if let Some(var) = env {
        return std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Some(Secret::new(v.trim())))
            .ok_or_else(|| NotifyError::MissingEnv {
                key: format!("{key}_env"),
                var: var.to_string(),
            });
    }
    let Some(path) = file else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|source| NotifyError::SecretFile {
        key: format!("{key}_file"),
        path: path.clone(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(NotifyError::invalid(
            format!("{key}_file"),
            format!("{} is empty", path.display()),
        ));
    }
    Ok(Some(Secret::new(text.trim())))
}

/// Whether `url` is an `http://` or `https://` URL with a host that the
/// HTTP client accepts; the error shows only its redacted form.
pub fn check_url(key: &str, url: &Secret) -> Result<(), NotifyError> {
    let bad = |why: &str| {
        Err(NotifyError::invalid(
            key.to_string(),
            format!("{} is not {why}", url.redacted()),
        ))
    };
    let v = url.expose();
    if !(v.starts_with("http://") || v.starts_with("https://")) {
        return bad("an http:// or https:// URL");
    }
    match ureq::http::Uri::try_from(v) {
        Ok(u) if u.host().is_some_and(|h| !h.is_empty()) => Ok(()),
        _ => bad("a valid URL (host missing, or a space or other character URLs cannot hold)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_the_client_cannot_send_to_are_refused_without_the_secret() {
        for ok in [
            "https://discord.com/api/webhooks/1/x",
            "http://[::1]:8080/t",
        ] {
            check_url("k", &Secret::new(ok)).unwrap();
        }
        for bad in [
            "ftp://h/x",
            "http://",
            "http://bad host/tok-SECRET",
            "https://h/a b",
        ] {
            let e = check_url("k", &Secret::new(bad)).unwrap_err().to_string();
            assert!(!e.contains("SECRET") && e.starts_with("k: "), "{bad}: {e}");
        }
    }

    #[test]
    fn an_empty_secret_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("url");
        std::fs::write(&f, "\n").unwrap();
        let e = resolve("notify.sinks[0].url", None, None, Some(&f)).unwrap_err();
        assert!(
            e.to_string().contains("url_file") && e.to_string().contains("is empty"),
            "{e}"
        );
    }

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
