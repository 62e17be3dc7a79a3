//! Discord webhook: one embed per alert, coloured by severity, with a mention
//! for critical alerts when configured.
//!
//! Discord answers 400 to a payload over its documented limits (and
//! Alertmanager 0.25 sends such payloads untruncated), so every limit is
//! enforced here before sending, counting characters, never bytes
//! ([`super::discord_limits`]). `?wait=true` makes Discord confirm the
//! message was created. A deleted webhook (404, code 10015) or a bad token
//! (code 50027) disables the sink instead of retrying.

use super::discord_limits::enforce;
pub use super::discord_limits::{AllowedMentions, Embed, Field, Footer, Payload};
use super::{json_body, Request};
use crate::detect::Severity;
use crate::notify::alert::{Alert, State};
use crate::notify::request::Method;
use crate::notify::retry::RetryAction;
use crate::notify::secret::Secret;
use crate::notify::text;

/// A Discord webhook sink.
#[derive(Debug, Clone)]
pub struct Discord {
    /// Webhook URL (`https://discord.com/api/webhooks/<id>/<token>`).
    pub url: Secret,
    /// Mention put in `content` for critical firing alerts: `<@&role>`,
    /// `<@user>`, `@here` or `@everyone`.
    pub mention: Option<String>,
    /// Overrides the webhook's user name.
    pub username: Option<String>,
}

impl Discord {
    /// Renders the execute-webhook request.
    pub fn render(&self, alert: &Alert, _now_ms: i64, req: &mut Request) {
        let payload = self.payload(alert);
        req.method = Some(Method::Post);
        let url = self.url.expose();
        let sep = if url.contains('?') { '&' } else { '?' };
        req.url.push_str(url);
        req.url.push(sep);
        req.url.push_str("wait=true");
        json_body(req, &payload);
    }

    /// The payload, with Discord's limits enforced.
    pub fn payload(&self, alert: &Alert) -> Payload {
        let mention = self.mention.as_deref().filter(|_| pings(alert));
        let mut payload = Payload {
            content: mention.unwrap_or_default().to_string(),
            username: self.username.clone(),
            embeds: vec![embed(alert)],
            allowed_mentions: mention.map(allowed).unwrap_or_default(),
        };
        enforce(&mut payload);
        payload
    }
}

/// Critical, firing, first notification or reminder; tests ping too so the
/// operator sees the mention works.
fn pings(alert: &Alert) -> bool {
    alert.severity == Severity::Critical && alert.state == State::Firing || alert.is_test
}

fn embed(alert: &Alert) -> Embed {
    let fields = text::facts(alert)
        .into_iter()
        .map(|(name, value)| Field {
            inline: name != "Top consumers" && name != "Signals",
            name: name.to_string(),
            // Discord rejects an empty (or blank) field value.
            value: if value.trim().is_empty() {
                "-".to_string()
            } else {
                value
            },
        })
        .collect();
    let mut footer = format!("memcanary · rule {}", alert.rule);
    if alert.repeat > 0 {
        footer.push_str(&format!(" · reminder {}", alert.repeat));
    }
    Embed {
        title: text::title(alert),
        description: text::summary(alert),
        url: alert
            .url
            .clone()
            .filter(|u| u.starts_with("http://") || u.starts_with("https://")),
        color: text::colour(alert),
        fields,
        footer: Footer { text: footer },
        timestamp: text::rfc3339(alert.at_ms),
    }
}

/// `allowed_mentions` that lets exactly the configured mention ping.
fn allowed(mention: &str) -> AllowedMentions {
    let mut a = AllowedMentions::default();
    let m = mention.trim();
    if m.contains("@here") || m.contains("@everyone") {
        a.parse.push("everyone");
    }
    let mut rest = m;
    while let Some(start) = rest.find("<@") {
        let tail = &rest[start + 2..];
        let Some(end) = tail.find('>') else { break };
        let id = &tail[..end];
        if let Some(role) = id.strip_prefix('&') {
            a.roles.push(role.to_string());
        } else {
            a.users.push(id.trim_start_matches('!').to_string());
        }
        rest = &tail[end..];
    }
    a
}

/// Discord-specific outcome: an unknown webhook or invalid token will never
/// work, so the sink is disabled rather than retried.
pub fn adjust(status: u16, body: &[u8], action: RetryAction) -> RetryAction {
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("code").and_then(serde_json::Value::as_u64));
    match (status, code) {
        (_, Some(10015)) => RetryAction::Disable(
            "Discord says: Unknown Webhook (code 10015); the webhook was deleted, fix the URL"
                .into(),
        ),
        (_, Some(50027)) => RetryAction::Disable(
            "Discord says: Invalid Webhook Token (code 50027); fix the URL".into(),
        ),
        (404, _) => RetryAction::Disable(
            "Discord answered 404: the webhook does not exist; fix the URL".into(),
        ),
        (401, _) => RetryAction::Disable(
            "Discord answered 401: the webhook token is not accepted; fix the URL".into(),
        ),
        _ => action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_parsed_into_allowed_mentions() {
        let a = allowed("<@&123> <@!456> @here");
        assert_eq!(a.roles, vec!["123"]);
        assert_eq!(a.users, vec!["456"]);
        assert_eq!(a.parse, vec!["everyone"]);
        assert_eq!(allowed("plain").parse, Vec::<&str>::new());
    }

    #[test]
    fn unknown_webhook_disables() {
        let body = br#"{"message": "Unknown Webhook", "code": 10015}"#;
        assert!(matches!(
            adjust(404, body, RetryAction::GiveUp(String::new())),
            RetryAction::Disable(_)
        ));
        assert!(matches!(
            adjust(400, b"{}", RetryAction::GiveUp(String::new())),
            RetryAction::GiveUp(_)
        ));
    }
}
