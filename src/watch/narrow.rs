//! A selector narrowed to a few hosts, for the backfill of hosts new to a
//! running watcher: `{job="node"}` and hosts `a:9100`, `10.0.0.1:9100` give
//! `{job="node",instance=~"a:9100|10\\.0\\.0\\.1:9100"}` (PromQL regex
//! matchers are anchored; each name is regex-escaped, then string-escaped).

/// The matchers inside a selector's braces: `{job="node"}` gives
/// `job="node"`, an empty selector an empty list; `None` when it is not one
/// `{...}` (what `[watch] selector` is checked to be at load).
pub fn matchers(selector: &str) -> Option<&str> {
    let s = selector.trim();
    if s.is_empty() {
        return Some("");
    }
    Some(s.strip_prefix('{')?.strip_suffix('}')?.trim())
}

/// `selector` narrowed to `hosts` by `host_label`; `None` when there is no
/// host or the selector is not a `{...}` the matcher can join (the caller
/// then asks for every host and keeps the ones it wants).
pub fn selector(selector: &str, host_label: &str, hosts: &[String]) -> Option<String> {
    if hosts.is_empty() {
        return None;
    }
    let inner = matchers(selector)?;
    let names: Vec<String> = hosts
        .iter()
        .map(|h| string_escape(&regex_escape(h)))
        .collect();
    let sep = if inner.is_empty() || inner.ends_with(',') {
        ""
    } else {
        ","
    };
    Some(format!(
        "{{{inner}{sep}{host_label}=~\"{}\"}}",
        names.join("|")
    ))
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn string_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_join_the_selector_as_an_escaped_regex_matcher() {
        let hosts = ["a:9100".to_string(), "10.0.0.1:9100".into()];
        assert_eq!(
            selector("{job=\"node\"}", "instance", &hosts).unwrap(),
            r#"{job="node",instance=~"a:9100|10\\.0\\.0\\.1:9100"}"#
        );
        assert_eq!(
            selector("", "host", &hosts[..1]).unwrap(),
            r#"{host=~"a:9100"}"#
        );
        assert_eq!(
            selector("{ }", "h", &["x\"y".to_string()]).unwrap(),
            r#"{h=~"x\"y"}"#
        );
        assert_eq!(selector("{job=\"n\"}", "instance", &[]), None);
        assert_eq!(selector("up", "instance", &hosts), None);
    }
}
