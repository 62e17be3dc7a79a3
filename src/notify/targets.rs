//! Building sinks from a validated config: secrets are looked up (inline,
//! environment, file) and each URL becomes one delivery target. An
//! Alertmanager entry with several `urls` (an HA pair) becomes one target per
//! instance, `NAME.1`, `NAME.2`, ..., each with its own queue and spool.
//!
//! A sink whose secret cannot be read (a missing variable, an unreadable or
//! empty file) or whose URL the client cannot send to is [`Broken`]: it is
//! logged by name and skipped, and the other sinks work ([`build`]);
//! `check-config` reports every one ([`build_checked`]).

use super::config::{NotifyConfig, SinkConfig};
use super::error::NotifyError;
use super::secret::{check_url, resolve as resolve_secret, Secret};
use super::sink::{self, Auth, Kind, Sink};
use crate::detect::Severity;

/// Default Alertmanager re-send interval, ms (keeps `endsAt` fresh).
pub const ALERTMANAGER_REPEAT_MS: i64 = 60_000;

/// One place notifications are delivered to.
#[derive(Debug, Clone)]
pub struct Target {
    /// Target name: the sink's name, or `NAME.N` for HA instances.
    pub name: String,
    /// The config entry's name (used by routes).
    pub sink_name: String,
    /// The renderer.
    pub sink: Sink,
    /// Reminder interval while firing, ms (0: none).
    pub repeat_ms: i64,
}

/// A configured sink that cannot be used, and why (the error names the key
/// and file, never the secret).
#[derive(Debug)]
pub struct Broken {
    /// The sink's name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Why.
    pub error: NotifyError,
}

/// Every target of `cfg` that can be built, in config order (stdout alone
/// when none is configured); each broken sink is logged and skipped.
pub fn build(cfg: &NotifyConfig) -> Result<Vec<Target>, NotifyError> {
    let (targets, broken) = build_checked(cfg);
    for b in &broken {
        tracing::error!(sink = %b.name, kind = b.kind.as_str(), error = %crate::logging::error_chain(&b.error), "notification sink cannot be used: skipped (the other sinks work; memcanary_notify_sinks_broken counts it)");
    }
    Ok(targets)
}

/// The targets that can be built and the sinks that cannot.
pub fn build_checked(cfg: &NotifyConfig) -> (Vec<Target>, Vec<Broken>) {
    if cfg.sinks.is_empty() {
        let stdout = Target {
            name: "stdout".into(),
            sink_name: "stdout".into(),
            sink: Sink::Stdout(sink::Stdout::default()),
            repeat_ms: cfg.reminder_interval.as_millis(),
        };
        return (vec![stdout], Vec::new());
    }
    let (mut out, mut broken) = (Vec::new(), Vec::new());
    for (i, s) in cfg.sinks.iter().enumerate() {
        let mut built = Vec::new();
        match build_one(cfg, s, &format!("notify.sinks[{i}]"), &mut built) {
            Ok(()) => out.append(&mut built),
            Err(error) => broken.push(Broken {
                name: s.name.clone(),
                kind: s.kind,
                error,
            }),
        }
    }
    (out, broken)
}

fn build_one(
    cfg: &NotifyConfig,
    s: &SinkConfig,
    key: &str,
    out: &mut Vec<Target>,
) -> Result<(), NotifyError> {
    let url = resolve_secret(
        &format!("{key}.url"),
        s.url.as_ref(),
        s.url_env.as_deref(),
        s.url_file.as_ref(),
    )?;
    for u in url.iter().chain(&s.urls) {
        check_url(&format!("{key}.url"), u)?;
    }
    let repeat_ms = s.repeat_interval.map_or_else(
        || {
            if s.kind == Kind::Alertmanager {
                ALERTMANAGER_REPEAT_MS
            } else {
                cfg.reminder_interval.as_millis()
            }
        },
        |d| d.as_millis(),
    );
    let push = |out: &mut Vec<Target>, name: String, sink: Sink| {
        out.push(Target {
            name,
            sink_name: s.name.clone(),
            sink,
            repeat_ms,
        })
    };
    let need_url = || {
        url.clone()
            .ok_or_else(|| NotifyError::invalid(format!("{key}.url"), "missing"))
    };
    match s.kind {
        Kind::Alertmanager => {
            let urls: Vec<Secret> = if s.urls.is_empty() {
                vec![need_url()?]
            } else {
                s.urls.clone()
            };
            let ends_after_ms = s
                .ends_after
                .map_or(4 * repeat_ms.max(ALERTMANAGER_REPEAT_MS / 4), |d| {
                    d.as_millis()
                });
            for (n, url) in urls.iter().enumerate() {
                let name = if urls.len() == 1 {
                    s.name.clone()
                } else {
                    format!("{}.{}", s.name, n + 1)
                };
                let am = sink::Alertmanager {
                    url: url.clone(),
                    ends_after_ms,
                    labels: s.labels.clone(),
                    generator_url: s.generator_url.clone(),
                };
                push(out, name, Sink::Alertmanager(am));
            }
        }
        Kind::Discord => push(
            out,
            s.name.clone(),
            Sink::Discord(sink::Discord {
                url: need_url()?,
                mention: s.mention.clone(),
                username: s.display_name.clone(),
            }),
        ),
        Kind::Ntfy => {
            let ntfy = sink::Ntfy {
                url: need_url()?,
                auth: auth(s, key)?,
                tags: s.tags.clone(),
                click: s.click.clone(),
            };
            push(out, s.name.clone(), Sink::Ntfy(ntfy));
        }
        Kind::Webhook => push(
            out,
            s.name.clone(),
            Sink::Webhook(sink::Webhook {
                url: need_url()?,
                auth: auth(s, key)?,
            }),
        ),
        Kind::Slack => push(
            out,
            s.name.clone(),
            Sink::Slack(sink::Slack { url: need_url()? }),
        ),
        Kind::Stdout => push(
            out,
            s.name.clone(),
            Sink::Stdout(sink::Stdout {
                format: s.format.unwrap_or_default(),
            }),
        ),
    }
    Ok(())
}

fn auth(s: &SinkConfig, key: &str) -> Result<Option<Auth>, NotifyError> {
    if let Some(t) = resolve_secret(
        &format!("{key}.token"),
        s.token.as_ref(),
        s.token_env.as_deref(),
        s.token_file.as_ref(),
    )? {
        return Ok(Some(Auth::Bearer(t)));
    }
    let password = resolve_secret(
        &format!("{key}.password"),
        s.password.as_ref(),
        s.password_env.as_deref(),
        s.password_file.as_ref(),
    )?;
    Ok(match (&s.username, password) {
        (Some(user), Some(password)) => Some(Auth::Basic {
            user: user.clone(),
            password,
        }),
        _ => None,
    })
}

/// Indexes of the targets that receive alerts of `severity`.
pub fn route(cfg: &NotifyConfig, targets: &[Target], severity: Severity) -> Vec<usize> {
    let names = match severity {
        Severity::Warning => cfg.routes.warning.as_ref(),
        Severity::Critical => cfg.routes.critical.as_ref(),
    };
    targets
        .iter()
        .enumerate()
        .filter(|(_, t)| names.is_none_or(|n| n.contains(&t.sink_name)))
        .map(|(i, _)| i)
        .collect()
}
