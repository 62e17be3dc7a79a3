//! The `[notify]` config: raw serde structs (the reference lives in
//! `docs/notifications.md`), a pure [`NotifyConfig::validate`] whose errors
//! name the key path, and the secret lookup used when building sinks.
//!
//! Secrets (webhook URLs, tokens, passwords) can be written inline, named by
//! an environment variable (`url_env`) or read from a file (`url_file`,
//! `token_file`, `password_file`; trailing newline stripped). They are held as
//! [`Secret`], so printing a config never shows them. Looking them up is
//! [`super::secret::resolve`]'s (I/O), at build time and in `check-config`.

use super::error::NotifyError;
use super::secret::Secret;
use super::sink::stdout::Format;
use super::sink::Kind;
use crate::detect::Dur;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The `[notify]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Where notifications go (`[[notify.sinks]]`). None configured: stdout.
    pub sinks: Vec<SinkConfig>,
    /// Which sinks get which severity (`[notify.routes]`); a severity with
    /// no route goes to every sink.
    pub routes: Routes,
    /// Remind while an alert keeps firing, every this long (`0`: never;
    /// otherwise 1m..7d, Alertmanager's `repeat_interval` range in practice).
    /// A sink's `repeat_interval` overrides it.
    pub reminder_interval: Dur,
    /// TCP/TLS connect timeout (100ms..1m).
    pub connect_timeout: Dur,
    /// Timeout for a whole request (connect, send, response); 100ms..5m.
    pub request_timeout: Dur,
    /// First retry delay ceiling; doubles per attempt (full jitter); at most
    /// 1h.
    pub retry_initial: Dur,
    /// Largest retry delay ceiling (`retry_initial`..1d).
    pub retry_max: Dur,
    /// Alerts that may wait between the caller and the dispatcher thread;
    /// beyond that they go to the spool's inbox (or are dropped, logged, if
    /// there is no spool).
    pub queue_capacity: usize,
    /// Pending notifications kept per sink (memory and spool); when full the
    /// oldest is dropped and the drop is logged.
    pub spool_capacity: usize,
}

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        NotifyConfig {
            sinks: Vec::new(),
            routes: Routes::default(),
            reminder_interval: Dur::from_secs(3600),
            connect_timeout: Dur::from_secs(5),
            request_timeout: Dur::from_secs(10),
            retry_initial: Dur::from_secs(1),
            retry_max: Dur::from_secs(300),
            queue_capacity: 256,
            spool_capacity: 1000,
        }
    }
}

/// `[notify.routes]`: sink names per severity.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Routes {
    /// Sinks for warnings (absent: all).
    pub warning: Option<Vec<String>>,
    /// Sinks for critical alerts (absent: all).
    pub critical: Option<Vec<String>>,
}

/// One `[[notify.sinks]]` entry. Which keys apply depends on `kind`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Unique name, used in routes, logs, metrics and spool directories
    /// (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// `discord`, `alertmanager`, `ntfy`, `webhook`, `slack` or `stdout`.
    pub kind: Kind,
    /// Endpoint URL (secret: webhook URLs carry tokens).
    #[serde(default)]
    pub url: Option<Secret>,
    /// Environment variable holding the URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// File holding the URL.
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// Alertmanager only: several instances (an HA pair); each receives.
    #[serde(default)]
    pub urls: Vec<Secret>,
    /// ntfy / webhook: bearer token (ntfy access tokens start `tk_`).
    #[serde(default)]
    pub token: Option<Secret>,
    /// Environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// ntfy / webhook: basic auth user.
    #[serde(default)]
    pub username: Option<String>,
    /// Basic auth password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File holding the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Discord: mention for critical alerts (`<@&ROLE_ID>`, `<@USER_ID>`,
    /// `@here`).
    #[serde(default)]
    pub mention: Option<String>,
    /// Discord: name shown instead of the webhook's.
    #[serde(default)]
    pub display_name: Option<String>,
    /// ntfy: extra tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// ntfy: click URL when the alert has none.
    #[serde(default)]
    pub click: Option<String>,
    /// Alertmanager: extra labels on every alert.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Alertmanager: `generatorURL` when the alert has none.
    #[serde(default)]
    pub generator_url: Option<String>,
    /// Alertmanager: `endsAt` this far ahead while firing (default 4 x
    /// `repeat_interval`); 1m..30d.
    #[serde(default)]
    pub ends_after: Option<Dur>,
    /// stdout: `human` or `json`.
    #[serde(default)]
    pub format: Option<Format>,
    /// Reminder interval for this sink (Alertmanager default: 1m, to keep
    /// `endsAt` fresh; others: `notify.reminder_interval`); `0`: never,
    /// otherwise 1m..7d.
    #[serde(default)]
    pub repeat_interval: Option<Dur>,
}

/// A duration bound of the `[notify]` table: `lo..=hi`, and `0s` too when
/// `zero_means_never`.
struct Bound {
    lo: Dur,
    hi: Dur,
    zero_means_never: bool,
}

const MINUTE: Dur = Dur::from_secs(60);
const DAY_S: i64 = 86_400;

/// Reminders: `0s` (never) or 1m..7d. Faster reminders only spam (and a
/// millisecond one spins the dispatcher: 73 % CPU, thousands of drops).
const REMINDER: Bound = Bound {
    lo: MINUTE,
    hi: Dur::from_secs(7 * DAY_S),
    zero_means_never: true,
};

impl Bound {
    fn check(&self, key: &str, d: Dur) -> Result<(), NotifyError> {
        if (self.lo <= d && d <= self.hi) || (self.zero_means_never && d.as_millis() == 0) {
            return Ok(());
        }
        let never = if self.zero_means_never {
            "0s (never) or "
        } else {
            ""
        };
        Err(NotifyError::invalid(
            key.to_string(),
            format!(
                "must be {never}between {} and {}, got {d}",
                self.lo,
                day_name(self.hi)
            ),
        ))
    }
}

/// `168h` written the way the docs say it: `7d`.
fn day_name(d: Dur) -> String {
    let ms = d.as_millis();
    if ms >= DAY_S * 1000 && ms % (DAY_S * 1000) == 0 {
        format!("{}d", ms / (DAY_S * 1000))
    } else {
        d.to_string()
    }
}

const fn bound(lo: Dur, hi: Dur) -> Bound {
    Bound {
        lo,
        hi,
        zero_means_never: false,
    }
}

impl NotifyConfig {
    /// Checks everything that can be checked without I/O: the durations'
    /// ranges ([`NotifyConfig::validate_ranges`]) and the sinks and routes
    /// ([`NotifyConfig::validate_sinks`]). What the config loader runs.
    pub fn validate(&self) -> Result<(), NotifyError> {
        self.validate_ranges()?;
        self.validate_sinks()
    }

    /// The ranges a config file's durations must keep (reminders >= 1m,
    /// timeouts and retries within minutes..a day). Not part of
    /// [`NotifyConfig::validate_sinks`], so tests can drive a
    /// [`super::Dispatcher`] at millisecond timescales.
    pub fn validate_ranges(&self) -> Result<(), NotifyError> {
        let ms = Dur::from_millis;
        REMINDER.check("notify.reminder_interval", self.reminder_interval)?;
        bound(ms(100), MINUTE).check("notify.connect_timeout", self.connect_timeout)?;
        bound(ms(100), Dur::from_secs(300))
            .check("notify.request_timeout", self.request_timeout)?;
        bound(ms(1), Dur::from_secs(3600)).check("notify.retry_initial", self.retry_initial)?;
        bound(ms(1), Dur::from_secs(DAY_S)).check("notify.retry_max", self.retry_max)?;
        for (i, s) in self.sinks.iter().enumerate() {
            if let Some(d) = s.repeat_interval {
                REMINDER.check(&format!("notify.sinks[{i}].repeat_interval"), d)?;
            }
            if let Some(d) = s.ends_after {
                bound(MINUTE, Dur::from_secs(30 * DAY_S))
                    .check(&format!("notify.sinks[{i}].ends_after"), d)?;
            }
        }
        Ok(())
    }

    /// Timeouts > 0, the retry order, capacities, sinks and routes: what the
    /// [`super::Dispatcher`] needs to run at all.
    pub fn validate_sinks(&self) -> Result<(), NotifyError> {
        for (key, d) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
            ("retry_initial", self.retry_initial),
            ("retry_max", self.retry_max),
        ] {
            if d.as_millis() <= 0 {
                return Err(NotifyError::invalid(
                    format!("notify.{key}"),
                    format!("must be more than 0, got {d}"),
                ));
            }
        }
        if self.retry_max < self.retry_initial {
            return Err(NotifyError::invalid(
                "notify.retry_max",
                format!(
                    "{} is less than retry_initial {}",
                    self.retry_max, self.retry_initial
                ),
            ));
        }
        for (key, n) in [
            ("queue_capacity", self.queue_capacity),
            ("spool_capacity", self.spool_capacity),
        ] {
            if n == 0 {
                return Err(NotifyError::invalid(
                    format!("notify.{key}"),
                    "must be at least 1",
                ));
            }
        }
        for (i, s) in self.sinks.iter().enumerate() {
            s.validate(&format!("notify.sinks[{i}]"))?;
            if self.sinks[..i].iter().any(|o| o.name == s.name) {
                return Err(NotifyError::invalid(
                    format!("notify.sinks[{i}].name"),
                    format!("{:?} is used by an earlier sink", s.name),
                ));
            }
        }
        for (sev, route) in [
            ("warning", &self.routes.warning),
            ("critical", &self.routes.critical),
        ] {
            for name in route.iter().flatten() {
                let known = self.sinks.iter().any(|s| &s.name == name)
                    || (self.sinks.is_empty() && name == "stdout");
                if !known {
                    return Err(NotifyError::invalid(
                        format!("notify.routes.{sev}"),
                        format!("no sink named {name:?}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether any secret is written inline (then the file must not be
    /// world-readable).
    pub fn has_inline_secrets(&self) -> bool {
        self.sinks.iter().any(|s| {
            s.url.is_some() || !s.urls.is_empty() || s.token.is_some() || s.password.is_some()
        })
    }
}

/// Reads the `[notify]` table of a config file's text (absent: defaults);
/// the rest of the file is not looked at. No validation.
pub fn notify_table(text: &str) -> Result<NotifyConfig, toml::de::Error> {
    let mut table: toml::Table = toml::from_str(text)?;
    match table.remove("notify") {
        Some(v) => v.try_into(),
        None => Ok(NotifyConfig::default()),
    }
}

fn count(set: &[bool]) -> usize {
    set.iter().filter(|b| **b).count()
}

impl SinkConfig {
    fn validate(&self, key: &str) -> Result<(), NotifyError> {
        let bad = |k: &str, m: String| Err(NotifyError::invalid(format!("{key}.{k}"), m));
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return bad(
                "name",
                format!("{:?}: use letters, digits, '-', '_', '.'", self.name),
            );
        }
        let urls = count(&[
            self.url.is_some(),
            self.url_env.is_some(),
            self.url_file.is_some(),
        ]);
        match (self.kind, urls, self.urls.is_empty()) {
            (Kind::Stdout, 0, true) => {}
            (Kind::Stdout, _, _) => return bad("url", "stdout takes no url".into()),
            (Kind::Alertmanager, 0, false) | (Kind::Alertmanager, 1, true) => {}
            (Kind::Alertmanager, _, _) => {
                return bad(
                    "urls",
                    "give either urls = [...] or one of url, url_env, url_file".into(),
                )
            }
            (_, 1, true) => {}
            (_, _, false) => {
                return bad(
                    "urls",
                    format!(
                        "only alertmanager takes urls; {} takes url",
                        self.kind.as_str()
                    ),
                )
            }
            _ => {
                return bad(
                    "url",
                    format!("give exactly one of url, url_env, url_file (found {urls})"),
                )
            }
        }
        // The scheme here; whether the client can send to it is checked
        // when the sink is built (a broken sink is skipped, not fatal).
        for u in self.url.iter().chain(&self.urls) {
            if !(u.expose().starts_with("http://") || u.expose().starts_with("https://")) {
                return bad(
                    "url",
                    format!("{} is not an http:// or https:// URL", u.redacted()),
                );
            }
        }
        let tokens = count(&[
            self.token.is_some(),
            self.token_env.is_some(),
            self.token_file.is_some(),
        ]);
        let passwords = count(&[
            self.password.is_some(),
            self.password_env.is_some(),
            self.password_file.is_some(),
        ]);
        let takes_auth = matches!(self.kind, Kind::Ntfy | Kind::Webhook);
        if !takes_auth && (tokens > 0 || passwords > 0 || self.username.is_some()) {
            return bad(
                "token",
                format!("{} takes no token/username/password", self.kind.as_str()),
            );
        }
        if tokens > 1 || passwords > 1 {
            return bad(
                "token",
                "give at most one of token, token_env, token_file (and likewise for password)"
                    .into(),
            );
        }
        if tokens == 1 && self.username.is_some() {
            return bad("username", "use either a token or username/password".into());
        }
        if self.username.is_some() != (passwords == 1) {
            return bad("password", "username and password go together".into());
        }
        self.validate_kind_keys(key)
    }

    fn validate_kind_keys(&self, key: &str) -> Result<(), NotifyError> {
        let only = |k: &str, set: bool, kind: Kind| {
            if set && self.kind != kind {
                Err(NotifyError::invalid(
                    format!("{key}.{k}"),
                    format!("only for kind = \"{}\"", kind.as_str()),
                ))
            } else {
                Ok(())
            }
        };
        only("mention", self.mention.is_some(), Kind::Discord)?;
        only("display_name", self.display_name.is_some(), Kind::Discord)?;
        only("tags", !self.tags.is_empty(), Kind::Ntfy)?;
        only("click", self.click.is_some(), Kind::Ntfy)?;
        only("labels", !self.labels.is_empty(), Kind::Alertmanager)?;
        only(
            "generator_url",
            self.generator_url.is_some(),
            Kind::Alertmanager,
        )?;
        only("ends_after", self.ends_after.is_some(), Kind::Alertmanager)?;
        only("format", self.format.is_some(), Kind::Stdout)?;
        if let Some(m) = &self.mention {
            if !(m.contains("<@") || m.contains("@here") || m.contains("@everyone")) {
                return Err(NotifyError::invalid(
                    format!("{key}.mention"),
                    format!("{m:?}: write <@&ROLE_ID>, <@USER_ID>, @here or @everyone"),
                ));
            }
        }
        if self.ends_after.is_some_and(|d| d.as_millis() <= 0) {
            return Err(NotifyError::invalid(
                format!("{key}.ends_after"),
                "must be more than 0",
            ));
        }
        if self.repeat_interval.is_some_and(|d| d.as_millis() < 0) {
            return Err(NotifyError::invalid(
                format!("{key}.repeat_interval"),
                "must be 0 (never) or more",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
