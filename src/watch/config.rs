//! `[watch]`: the fleet watcher's datasource, selector and timings.
//!
//! Stage one and two of the config pipeline: serde structs with
//! `deny_unknown_fields` (doc comments are the reference, see
//! `docs/watch.md`), then [`WatchConfig::validate`], pure checks whose
//! errors name the key and quote the value. Stage three, the HTTP client
//! with its secrets and CA, is [`super::client::Datasource::build`].

use crate::detect::Dur;
use crate::notify::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The watcher's settings (`[watch]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// The Prometheus-compatible query API's base URL, the part before
    /// `/api/v1/query`: `http://vm:8428` (VictoriaMetrics single),
    /// `http://vmselect:8481/select/0/prometheus` (cluster),
    /// `http://prometheus:9090`. Not a secret (credentials go below), but
    /// a `user:password@` in it is refused.
    pub url: String,
    /// The series selector every query carries, e.g. `{job="node"}`
    /// (empty: every node_exporter series).
    pub selector: String,
    /// The label that names a host.
    pub host_label: String,
    /// How often the datasource is asked (1s..10m).
    pub interval: Dur,
    /// How far behind now the datasource's newest samples may still be
    /// incomplete: queries are made at `now - latency_offset` and silence
    /// is judged up to there (VictoriaMetrics: its `-search.latencyOffset`,
    /// 30s by default; Prometheus: `0s`). 0s..10m.
    pub latency_offset: Dur,
    /// How much history is read on start and after an outage, so the
    /// detector's windows are full at once (1m..7d). The first cycle reads
    /// at least the longest `for` plus the detector's longest window, so
    /// the `for` timers a previous run had are rebuilt.
    pub backfill: Dur,
    /// A host with no sample for this long that did not go dark under
    /// pressure raises the warning `host_silent` (0s: never; else 1m..7d).
    pub silent_after: Dur,
    /// A host silent for this long is forgotten (1h..30d).
    pub forget_after: Dur,
    /// The datasource failing for this long raises the critical
    /// `datasource_down` (30s..1d).
    pub datasource_alert_after: Dur,
    /// Longest wait between retries of a failing datasource (1s..1h).
    pub max_backoff: Dur,
    /// Whole-request timeout of one query, connect included (100ms..5m).
    pub timeout: Dur,
    /// Read each new host's last `detector.history.days` full UTC days
    /// from the datasource to seed its floor (`docs/watch.md`, "The host's
    /// floor"); nothing is read when `detector.history.enabled = false`.
    pub history: bool,
    /// Whole-request timeout of one of the history's queries, which read
    /// days of every new host (1s..10m). They run beside the cycles.
    pub history_timeout: Dur,
    /// Basic auth user.
    pub username: Option<String>,
    /// Basic auth password (inline, `password_env` or `password_file`).
    #[serde(skip_serializing)]
    pub password: Option<Secret>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// File holding the password (trailing newline stripped).
    pub password_file: Option<PathBuf>,
    /// Bearer token (inline, `token_env` or `token_file`).
    #[serde(skip_serializing)]
    pub token: Option<Secret>,
    /// Environment variable holding the token.
    pub token_env: Option<String>,
    /// File holding the token.
    pub token_file: Option<PathBuf>,
    /// Extra request headers (e.g. a tenant header); not logged.
    #[serde(skip_serializing)]
    pub headers: BTreeMap<String, Secret>,
    /// PEM file of the CA(s) that sign the datasource's certificate
    /// (absent: the bundled web roots).
    pub ca_file: Option<PathBuf>,
    /// `/metrics` and `/health` listen address; empty disables them.
    pub metrics_listen: String,
    /// Notification spool and dedupe state (no re-page after a restart);
    /// `None`: in memory only.
    pub spool_dir: Option<PathBuf>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            url: String::new(),
            selector: String::new(),
            host_label: "instance".into(),
            interval: Dur::from_secs(15),
            latency_offset: Dur::from_secs(30),
            backfill: Dur::from_secs(3600),
            silent_after: Dur::from_secs(300),
            forget_after: Dur::from_secs(86_400),
            datasource_alert_after: Dur::from_secs(120),
            max_backoff: Dur::from_secs(120),
            timeout: Dur::from_secs(10),
            history: true,
            history_timeout: Dur::from_secs(120),
            username: None,
            password: None,
            password_env: None,
            password_file: None,
            token: None,
            token_env: None,
            token_file: None,
            headers: BTreeMap::new(),
            ca_file: None,
            metrics_listen: String::new(),
            spool_dir: None,
        }
    }
}

/// A `[watch]` value that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("watch.{key} = {value}: {why}")]
pub struct WatchConfigError {
    /// Key path below `watch.`.
    pub key: String,
    /// The value as configured (never a secret).
    pub value: String,
    /// What is wrong.
    pub why: &'static str,
}

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

fn check(
    ok: bool,
    key: &str,
    value: impl ToString,
    why: &'static str,
) -> Result<(), WatchConfigError> {
    if ok {
        return Ok(());
    }
    Err(WatchConfigError {
        key: key.to_string(),
        value: value.to_string(),
        why,
    })
}

/// `d` between `lo` and `hi` milliseconds.
fn within(d: Dur, key: &str, lo: i64, hi: i64, why: &'static str) -> Result<(), WatchConfigError> {
    check((lo..=hi).contains(&d.as_millis()), key, d, why)
}

impl WatchConfig {
    /// Whether a `[watch]` table was given (a datasource URL is set).
    pub fn is_set(&self) -> bool {
        !self.url.is_empty()
    }

    /// Range, URL and cross-field checks. An empty `url` (no `[watch]`) is
    /// valid here; `memcanary watch` refuses it ([`WatchConfig::require`]).
    pub fn validate(&self) -> Result<(), WatchConfigError> {
        if self.is_set() {
            self.validate_url()?;
        }
        self.validate_selector()?;
        self.validate_durations()?;
        within(
            self.history_timeout,
            "history_timeout",
            SEC,
            10 * MIN,
            "must be between 1s and 10m",
        )?;
        self.validate_auth()
    }

    /// The check `memcanary watch` adds: a datasource is configured.
    pub fn require(&self) -> Result<(), WatchConfigError> {
        check(
            self.is_set(),
            "url",
            "\"\"",
            "required: the datasource's query API, e.g. \"http://vm:8428\"",
        )
    }

    /// Whether the datasource URL points at this machine (a watcher there
    /// dies with the host it should report).
    pub fn is_local(&self) -> bool {
        let host = url_host(&self.url).to_ascii_lowercase();
        host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "0.0.0.0"
    }

    fn validate_url(&self) -> Result<(), WatchConfigError> {
        let u = &self.url;
        let scheme = u.starts_with("http://") || u.starts_with("https://");
        check(
            scheme,
            "url",
            quoted(u),
            "must start with http:// or https://",
        )?;
        check(!url_host(u).is_empty(), "url", quoted(u), "has no host")?;
        let authority = u
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("");
        check(
            !authority.contains('@'),
            "url",
            "(not shown: it holds credentials)",
            "credentials in the URL are refused: use watch.username and watch.password_file",
        )?;
        check(
            !u.contains('?') && !u.contains('#'),
            "url",
            quoted(u),
            "must be a base URL without ? or #",
        )
    }

    fn validate_selector(&self) -> Result<(), WatchConfigError> {
        check(
            super::narrow::matchers(&self.selector).is_some(),
            "selector",
            quoted(&self.selector),
            "must be a label matcher list in braces, e.g. {job=\"node\"}",
        )?;
        let label = &self.host_label;
        let ok = !label.is_empty()
            && !label.starts_with(|c: char| c.is_ascii_digit())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        check(
            ok,
            "host_label",
            quoted(label),
            "must be a label name (letters, digits, _)",
        )
    }

    fn validate_durations(&self) -> Result<(), WatchConfigError> {
        within(
            self.interval,
            "interval",
            SEC,
            10 * MIN,
            "must be between 1s and 10m",
        )?;
        within(
            self.latency_offset,
            "latency_offset",
            0,
            10 * MIN,
            "must be between 0s and 10m",
        )?;
        within(
            self.backfill,
            "backfill",
            MIN,
            7 * DAY,
            "must be between 1m and 7d",
        )?;
        let silent = self.silent_after.as_millis();
        check(
            silent == 0 || (MIN..=7 * DAY).contains(&silent),
            "silent_after",
            self.silent_after,
            "must be 0s (never) or between 1m and 7d",
        )?;
        within(
            self.forget_after,
            "forget_after",
            HOUR,
            30 * DAY,
            "must be between 1h and 30d",
        )?;
        within(
            self.datasource_alert_after,
            "datasource_alert_after",
            30 * SEC,
            DAY,
            "must be between 30s and 1d",
        )?;
        within(
            self.max_backoff,
            "max_backoff",
            SEC,
            HOUR,
            "must be between 1s and 1h",
        )?;
        within(
            self.timeout,
            "timeout",
            100,
            5 * MIN,
            "must be between 100ms and 5m",
        )?;
        check(
            self.timeout < self.interval.max(Dur::from_secs(1))
                || self.timeout.as_millis() <= 10 * SEC,
            "timeout",
            self.timeout,
            "must be shorter than watch.interval (or at most 10s)",
        )
    }

    fn validate_auth(&self) -> Result<(), WatchConfigError> {
        let count = |a: bool, b: bool, c: bool| [a, b, c].iter().filter(|x| **x).count();
        let passwords = count(
            self.password.is_some(),
            self.password_env.is_some(),
            self.password_file.is_some(),
        );
        let tokens = count(
            self.token.is_some(),
            self.token_env.is_some(),
            self.token_file.is_some(),
        );
        check(
            passwords <= 1,
            "password",
            passwords,
            "give at most one of password, password_env, password_file",
        )?;
        check(
            tokens <= 1,
            "token",
            tokens,
            "give at most one of token, token_env, token_file",
        )?;
        check(
            passwords == 0 || self.username.is_some(),
            "username",
            "(unset)",
            "a password needs a username",
        )?;
        check(
            tokens == 0 || self.username.is_none(),
            "token",
            "(not shown)",
            "give either a bearer token or basic auth, not both",
        )?;
        for name in self.headers.keys() {
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            check(
                ok,
                &format!("headers.{name}"),
                quoted(name),
                "must be an HTTP header name",
            )?;
            let reserved = name.eq_ignore_ascii_case("authorization");
            check(
                !reserved,
                &format!("headers.{name}"),
                quoted(name),
                "use watch.token or watch.username instead",
            )?;
        }
        Ok(())
    }
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

/// The host part of `url` (`[::1]` for IPv6), or `""`.
pub fn url_host(url: &str) -> &str {
    let rest = url.split("://").nth(1).unwrap_or("");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or("");
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> WatchConfig {
        toml::from_str(text).unwrap()
    }

    fn err(text: &str) -> String {
        cfg(text).validate().unwrap_err().to_string()
    }

    #[test]
    fn defaults_validate_and_need_a_url_to_run() {
        WatchConfig::default().validate().unwrap();
        let e = WatchConfig::default().require().unwrap_err().to_string();
        assert!(e.starts_with("watch.url = \"\": required"), "{e}");
        cfg("url = \"http://vm:8428\"").require().unwrap();
    }

    #[test]
    fn errors_name_the_key_and_quote_the_value() {
        assert_eq!(
            err("interval = \"500ms\""),
            "watch.interval = 500ms: must be between 1s and 10m"
        );
        assert_eq!(
            err("url = \"vm:8428\""),
            "watch.url = \"vm:8428\": must start with http:// or https://"
        );
        assert!(err("selector = \"job=node\"").starts_with("watch.selector = \"job=node\""));
        assert!(err("host_label = \"a-b\"").starts_with("watch.host_label = \"a-b\""));
        assert!(err("silent_after = \"10s\"").starts_with("watch.silent_after = 10s"));
        assert!(err("backfill = \"30d\"").starts_with("watch.backfill = "));
        assert!(err("timeout = \"1ms\"").starts_with("watch.timeout = 1ms"));
        assert_eq!(
            err("history_timeout = \"20m\""),
            "watch.history_timeout = 20m: must be between 1s and 10m"
        );
        cfg("silent_after = \"0s\"").validate().unwrap();
    }

    #[test]
    fn credentials_never_appear_in_errors() {
        let e = err("url = \"http://u:hunter2@vm:8428\"");
        assert!(!e.contains("hunter2"), "{e}");
        let e = err(
            "url = \"http://vm\"\ntoken = \"tok-secret\"\npassword_env = \"P\"\nusername = \"u\"",
        );
        assert!(!e.contains("tok-secret"), "{e}");
        let e = err("url = \"http://vm\"\npassword = \"pw\"");
        assert!(e.contains("needs a username") && !e.contains("pw\""), "{e}");
        let c = cfg(
            "url = \"http://vm\"\ntoken = \"tok-secret\"\nheaders = { X-Scope-OrgID = \"t1\" }",
        );
        assert!(!format!("{c:?}").contains("tok-secret"));
        assert!(!toml::to_string(&c).unwrap().contains("tok-secret"));
    }

    #[test]
    fn local_datasources_are_recognised() {
        for (url, local) in [
            ("http://localhost:8428", true),
            ("http://127.0.0.1:8428/x", true),
            ("http://[::1]:8428", true),
            ("https://vm.example:8428", false),
            ("http://10.0.0.5", false),
        ] {
            let c = WatchConfig {
                url: url.into(),
                ..WatchConfig::default()
            };
            assert_eq!(c.is_local(), local, "{url}");
        }
    }
}
