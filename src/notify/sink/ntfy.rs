//! ntfy: `POST` the message text to the topic URL, with `Title`,
//! `Priority`, `Tags` and `Click` headers.
//!
//! ntfy turns a body over its message limit (4096 bytes by default) into an
//! attachment, which a phone shows as a file instead of text, so the body is
//! cut to [`MESSAGE_LIMIT`] bytes on a character boundary. Header values must
//! be ASCII; a non-ASCII title is sent RFC 2047 encoded, which ntfy decodes.

use super::{base64, Auth, Request};
use crate::detect::Severity;
use crate::notify::alert::{Alert, State};
use crate::notify::request::Method;
use crate::notify::secret::Secret;
use crate::notify::text;

/// ntfy's default message size limit, bytes.
pub const MESSAGE_LIMIT: usize = 4096;

/// An ntfy topic.
#[derive(Debug, Clone)]
pub struct Ntfy {
    /// Topic URL, e.g. `https://ntfy.example/memcanary`.
    pub url: Secret,
    /// Access token or basic auth.
    pub auth: Option<Auth>,
    /// Extra tags (emoji short codes or words).
    pub tags: Vec<String>,
    /// Click URL when the alert carries none.
    pub click: Option<String>,
}

impl Ntfy {
    /// Renders the publish request.
    pub fn render(&self, alert: &Alert, _now_ms: i64, req: &mut Request) {
        req.method = Some(Method::Post);
        req.url.push_str(self.url.expose());
        req.headers
            .push(("title", header_text(&text::title(alert))));
        req.headers.push(("priority", priority(alert).to_string()));
        req.headers.push(("tags", self.tags(alert)));
        if let Some(click) = alert.url.as_ref().or(self.click.as_ref()) {
            req.headers.push(("click", header_text(click)));
        }
        if let Some(auth) = &self.auth {
            req.headers.push(("authorization", auth.header_value()));
        }
        req.headers
            .push(("content-type", "text/plain; charset=utf-8".to_string()));
        let mut body = text::description(alert);
        text::truncate_bytes(&mut body, MESSAGE_LIMIT);
        req.body.extend_from_slice(body.as_bytes());
    }

    fn tags(&self, alert: &Alert) -> String {
        let mut tags = vec![match (alert.state, alert.severity) {
            (State::Resolved, _) => "white_check_mark",
            (State::Firing, Severity::Warning) => "warning",
            (State::Firing, Severity::Critical) => "rotating_light",
        }];
        tags.push("memcanary");
        tags.extend(self.tags.iter().map(String::as_str));
        header_text(&tags.join(","))
    }
}

/// ntfy priority: 5 (max) for critical, 4 (high) for warnings, 3 (default)
/// when resolved.
pub fn priority(alert: &Alert) -> u8 {
    match (alert.state, alert.severity) {
        (State::Resolved, _) => 3,
        (State::Firing, Severity::Warning) => 4,
        (State::Firing, Severity::Critical) => 5,
    }
}

/// ASCII as is; anything else as an RFC 2047 `=?UTF-8?B?...?=` word.
/// Control characters become spaces.
pub fn header_text(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.is_ascii() {
        clean
    } else {
        format!("=?UTF-8?B?{}?=", base64(clean.as_bytes()))
    }
}
