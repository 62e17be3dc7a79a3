//! Slack incoming webhook: a `text` message (Slack mrkdwn), cut to
//! [`TEXT_LIMIT`] characters.

use super::{json_body, Request};
use crate::notify::alert::Alert;
use crate::notify::request::Method;
use crate::notify::secret::Secret;
use crate::notify::text;

/// Characters of `text` sent (Slack truncates longer messages itself).
pub const TEXT_LIMIT: usize = 4000;

/// A Slack incoming webhook.
#[derive(Debug, Clone)]
pub struct Slack {
    /// `https://hooks.slack.com/services/...`.
    pub url: Secret,
}

impl Slack {
    /// Renders the POST.
    pub fn render(&self, alert: &Alert, _now_ms: i64, req: &mut Request) {
        req.method = Some(Method::Post);
        req.url.push_str(self.url.expose());
        let mut msg = format!("*{}*\n{}", text::title(alert), text::description(alert));
        text::truncate_chars(&mut msg, TEXT_LIMIT);
        json_body(req, &serde_json::json!({ "text": msg }));
    }
}
