//! Advice for `memcanary check-config` and the config loader: things that
//! are valid but likely to fail the user in the very incident memcanary is
//! for.
//!
//! The main one: a notification must leave the host that is running out of
//! memory. A self-hosted ntfy (or any sink) on the watched host itself goes
//! dark with it, so when every sink points at one host we say so. And a
//! secret that every user of the host can read ([`permission_warnings`]).

use super::config::NotifyConfig;
use super::sink::Kind;
use std::path::Path;

/// The host part of an `http(s)://` URL, lower case, without port or user.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit('@').next()?;
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        hostport.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_local(host: &str, this_host: &str) -> bool {
    host == "localhost"
        || host.starts_with("127.")
        || host == "::1"
        || host.eq_ignore_ascii_case(this_host)
}

/// Advice strings for `cfg` on host `this_host` (empty: nothing to say).
/// Only inline URLs are examined; URLs from env or files are not read here.
pub fn advice(cfg: &NotifyConfig, this_host: &str) -> Vec<String> {
    let mut out = Vec::new();
    let network: Vec<_> = cfg
        .sinks
        .iter()
        .filter(|s| s.kind != Kind::Stdout)
        .collect();
    if network.is_empty() {
        out.push("no network sink is configured: notifications only go to stdout; add a sink off this host (Discord, Alertmanager, ntfy on another machine)".to_string());
        return out;
    }
    let mut hosts = Vec::new();
    for s in &network {
        let urls: Vec<&str> = s.url.iter().chain(&s.urls).map(|u| u.expose()).collect();
        if urls.is_empty() {
            return out; // a URL from env or a file: cannot judge
        }
        hosts.extend(
            urls.into_iter()
                .filter_map(url_host)
                .map(|h| (s.name.clone(), s.kind, h)),
        );
    }
    let all_local = hosts.iter().all(|(_, _, h)| is_local(h, this_host));
    let first = hosts.first().map(|(_, _, h)| h.clone()).unwrap_or_default();
    let all_same = hosts.iter().all(|(_, _, h)| *h == first);
    if all_local || all_same {
        let names: Vec<String> = hosts
            .iter()
            .map(|(n, k, _)| format!("{n} ({})", k.as_str()))
            .collect();
        let what = if all_local {
            "this host".to_string()
        } else {
            format!("one host ({first})")
        };
        out.push(format!(
            "every sink ({}) points at {what}: if that host runs out of memory or loses its network, no notification gets out. Pair it with a sink off the host (for an ntfy server on the watched host, add Discord or an ntfy/Alertmanager elsewhere)",
            names.join(", ")
        ));
    }
    out
}

/// Every permission warning: the config file at `path` (see
/// [`check_permissions`]) and each `url_file`, `token_file` or
/// `password_file` readable by every user. The agent logs them,
/// `check-config` and `notify-test` print them.
pub fn permission_warnings(path: Option<&Path>, cfg: &NotifyConfig) -> Vec<String> {
    let mut out: Vec<String> = path.and_then(check_permissions).into_iter().collect();
    for s in &cfg.sinks {
        for f in [&s.url_file, &s.token_file, &s.password_file]
            .into_iter()
            .flatten()
        {
            if let Some(mode) = world_readable(f) {
                out.push(format!(
                    "{} (a secret of sink {:?}) is readable by every user (mode {mode:o}); chmod 600 it",
                    f.display(),
                    s.name
                ));
            }
        }
    }
    out
}

/// The permission bits of `path` when every user may read it.
fn world_readable(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o004 != 0).then_some(mode & 0o777)
}

/// The warning when the config file at `path` holds inline secrets in its
/// `[notify]` table and is readable by every user. Files that cannot be
/// read or parsed give `None`: the loader reports those.
pub fn check_permissions(path: &Path) -> Option<String> {
    let mode = world_readable(path)?;
    let text = std::fs::read_to_string(path).ok()?;
    let cfg = super::config::notify_table(&text).ok()?;
    if !cfg.has_inline_secrets() {
        return None;
    }
    Some(format!(
        "{} holds webhook URLs or tokens inline and is readable by every user (mode {mode:o}); chmod 600 it, or move the secrets to url_file/token_file or the environment",
        path.display(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(toml_text: &str) -> NotifyConfig {
        super::super::config::notify_table(toml_text).unwrap()
    }

    #[test]
    fn hosts_are_extracted() {
        assert_eq!(
            url_host("http://user:pw@NTFY.lan:8080/t").as_deref(),
            Some("ntfy.lan")
        );
        assert_eq!(url_host("http://[::1]:80/x").as_deref(), Some("::1"));
        assert_eq!(url_host("nope"), None);
    }

    #[test]
    fn an_ntfy_on_this_host_alone_gets_advice() {
        let c = cfg("[notify]\n[[notify.sinks]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = \"http://127.0.0.1:8080/mem\"\n");
        let a = advice(&c, "node1");
        assert_eq!(a.len(), 1);
        assert!(
            a[0].contains("phone (ntfy)") && a[0].contains("off the host"),
            "{a:?}"
        );
        let c = cfg("[notify]\n[[notify.sinks]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = \"http://node1:8080/mem\"\n[[notify.sinks]]\nname = \"d\"\nkind = \"discord\"\nurl = \"https://discord.com/api/webhooks/1/x\"\n");
        assert!(advice(&c, "node1").is_empty());
        assert!(advice(&cfg(""), "node1")[0].contains("stdout"));
    }

    #[test]
    fn world_readable_inline_secrets_warn() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("memcanary.toml");
        std::fs::write(&p, "[notify]\n[[notify.sinks]]\nname = \"d\"\nkind = \"discord\"\nurl = \"https://discord.com/api/webhooks/1/tok-SECRET\"\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let w = check_permissions(&p).expect("warning");
        assert!(!w.contains("tok-SECRET"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(check_permissions(&p), None);
        let secret = dir.path().join("url");
        std::fs::write(&secret, "https://discord.com/api/webhooks/1/tok-SECRET\n").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let c = cfg(&format!(
            "[notify]\n[[notify.sinks]]\nname = \"d\"\nkind = \"discord\"\nurl_file = \"{}\"\n",
            secret.display()
        ));
        let w = permission_warnings(Some(&p), &c);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("sink \"d\"") && !w[0].contains("tok-SECRET"),
            "{w:?}"
        );
    }
}
