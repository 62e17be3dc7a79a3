//! Standard output: a human line, or the webhook document as JSON lines.

use super::{webhook, Request};
use crate::notify::alert::Alert;
use crate::notify::request::Method;
use crate::notify::text;
use serde::Deserialize;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `title: summary` on one line.
    #[default]
    Human,
    /// The generic webhook document, one JSON object per line.
    Json,
}

/// The stdout sink.
#[derive(Debug, Clone, Default)]
pub struct Stdout {
    /// Output format.
    pub format: Format,
}

impl Stdout {
    /// Renders one line (with its newline) into the body.
    pub fn render(&self, alert: &Alert, now_ms: i64, req: &mut Request) {
        req.method = Some(Method::Stdout);
        match self.format {
            Format::Human => {
                let line = format!(
                    "{} {} | {}",
                    text::rfc3339(alert.at_ms),
                    text::title(alert),
                    text::summary(alert)
                );
                req.body
                    .extend(line.bytes().map(|b| if b == b'\n' { b' ' } else { b }));
            }
            Format::Json => {
                if serde_json::to_writer(&mut req.body, &webhook::document(alert, now_ms)).is_err()
                {
                    req.body.clear();
                }
            }
        }
        req.body.push(b'\n');
    }
}
