//! [`Request`]: what a sink renders and the transport sends.
//!
//! A plain value (method, URL, headers, body bytes) so rendering stays pure
//! and testable. Its `Debug` redacts the URL and credential headers; the
//! [`Request::snapshot`] text used by the snapshot tests does the same.

use super::secret::redact;
use std::fmt;

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// HTTP POST to the URL.
    Post,
    /// A line (or lines) on standard output; the URL is unused.
    Stdout,
}

/// A rendered notification request.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// Method (HTTP POST, or stdout).
    pub method: Option<Method>,
    /// Full URL including any credential (never print it: see `Debug`).
    pub url: String,
    /// Header names (lower case) and values.
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Headers whose value is a credential.
fn sensitive(name: &str) -> bool {
    matches!(name, "authorization" | "proxy-authorization")
}

impl Request {
    /// Clears the request for reuse, keeping its buffers.
    pub fn clear(&mut self) {
        self.method = None;
        self.url.clear();
        self.headers.clear();
        self.body.clear();
    }

    /// Value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A redacted, stable text form for snapshot tests: method, redacted
    /// URL, headers (credentials redacted), then the body (JSON pretty
    /// printed when it parses).
    pub fn snapshot(&self) -> String {
        let mut out = format!(
            "{:?} {}\n",
            self.method.unwrap_or(Method::Post),
            redact(&self.url)
        );
        for (n, v) in &self.headers {
            let v = if sensitive(n) { "***" } else { v.as_str() };
            out.push_str(&format!("{n}: {v}\n"));
        }
        out.push('\n');
        match serde_json::from_slice::<serde_json::Value>(&self.body) {
            Ok(v) => out.push_str(&serde_json::to_string_pretty(&v).unwrap_or_default()),
            Err(_) => out.push_str(&String::from_utf8_lossy(&self.body)),
        }
        out
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (*n, if sensitive(n) { "***" } else { v.as_str() }))
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &redact(&self.url))
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_snapshot_redact() {
        let r = Request {
            method: Some(Method::Post),
            url: "https://ntfy.example/secret-topic".into(),
            headers: vec![("authorization", "Bearer tk_SECRET".into())],
            body: b"hi".to_vec(),
        };
        for text in [format!("{r:?}"), r.snapshot()] {
            assert!(!text.contains("secret-topic"), "{text}");
            assert!(!text.contains("tk_SECRET"), "{text}");
        }
    }
}
