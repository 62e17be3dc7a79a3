//! The Alertmanager side: a route and a Discord receiver for memcanary's
//! alerts, as a complete config that `amtool check-config` accepts and
//! whose `routes:` entry and receiver can be pasted into an existing one.
//!
//! Critical alerts go out with `group_wait: 0s`: by the time memcanary says
//! critical the host has minutes, maybe seconds, before it stops answering.
//! The Discord webhook URL carries a token, so it is read from a file where
//! the Alertmanager version allows (`webhook_url_file`, fixed in 0.28);
//! older versions get a placeholder to replace, never a real URL.

use super::target::Version;
use serde::{Deserialize, Serialize};

/// The Alertmanager config written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmConfig {
    /// The routing tree.
    pub route: Route,
    /// Receivers.
    pub receivers: Vec<Receiver>,
}

/// A route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Receiver name.
    pub receiver: String,
    /// Label matchers (`severity="critical"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    /// Labels that group alerts into one notification.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// Wait before the first notification of a new group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    /// Wait before notifying about new alerts in a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    /// Wait before repeating a notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    /// Child routes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
}

/// A receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receiver {
    /// Name routes refer to.
    pub name: String,
    /// Discord webhooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discord_configs: Vec<DiscordConfig>,
}

/// One Discord webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscordConfig {
    /// The webhook URL inline (Alertmanager < 0.28): a placeholder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// A file holding the webhook URL (Alertmanager >= 0.28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url_file: Option<String>,
    /// Also say when the alert clears.
    pub send_resolved: bool,
}

/// What the snippet needs.
#[derive(Debug, Clone, PartialEq)]
pub struct AmOptions {
    /// Alertmanager version (bookworm: 0.25.0).
    pub version: Version,
    /// Where the webhook URL file lives.
    pub webhook_url_file: String,
}

/// The placeholder written where a version cannot read the URL from a file.
pub const PLACEHOLDER_URL: &str = "https://discord.com/api/webhooks/REPLACE_ID/REPLACE_TOKEN";

/// The receiver's name.
pub const RECEIVER: &str = "memcanary-discord";

/// Builds the config.
pub fn config(o: &AmOptions) -> AmConfig {
    let from_file = o.version >= Version(0, 28, 0);
    let discord = DiscordConfig {
        webhook_url: (!from_file).then(|| PLACEHOLDER_URL.to_string()),
        webhook_url_file: from_file.then(|| o.webhook_url_file.clone()),
        send_resolved: true,
    };
    let critical = Route {
        receiver: RECEIVER.into(),
        matchers: vec!["severity=\"critical\"".into()],
        group_by: Vec::new(),
        group_wait: Some("0s".into()),
        group_interval: Some("1m".into()),
        repeat_interval: Some("30m".into()),
        routes: Vec::new(),
    };
    let memcanary = Route {
        receiver: RECEIVER.into(),
        matchers: vec!["alertname=~\"Memcanary.*\"".into()],
        group_by: vec!["alertname".into(), "instance".into()],
        group_wait: Some("10s".into()),
        group_interval: Some("1m".into()),
        repeat_interval: Some("4h".into()),
        routes: vec![critical],
    };
    AmConfig {
        route: Route {
            receiver: "default".into(),
            matchers: Vec::new(),
            group_by: Vec::new(),
            group_wait: None,
            group_interval: None,
            repeat_interval: None,
            routes: vec![memcanary],
        },
        receivers: vec![
            Receiver {
                name: "default".into(),
                discord_configs: Vec::new(),
            },
            Receiver {
                name: RECEIVER.into(),
                discord_configs: vec![discord],
            },
        ],
    }
}
