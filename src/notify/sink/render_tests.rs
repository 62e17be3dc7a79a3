//! Snapshot tests of every sink's rendered request (secrets are fake and
//! redacted in the snapshot text), and Discord's limits on a maximal alert.

use super::discord_limits as lim;
use super::*;
use crate::detect::Severity;
use crate::notify::alert::{Consumer, State};
use crate::notify::sample::{self, maximal, typical};
use std::collections::BTreeMap;

const AT: i64 = sample::AT_MS;
const NOW: i64 = AT + 5_000;
const DISCORD: &str = "https://discord.com/api/webhooks/1234567890/FAKE-discord-TOKEN";

fn sinks() -> Vec<(&'static str, Sink)> {
    vec![
        (
            "discord",
            Sink::Discord(Discord {
                url: Secret::new(DISCORD),
                mention: Some("<@&987654321>".into()),
                username: Some("memcanary".into()),
            }),
        ),
        (
            "alertmanager",
            Sink::Alertmanager(Alertmanager {
                url: Secret::new("http://am.lan:9093"),
                ends_after_ms: 240_000,
                labels: BTreeMap::from([("cluster".to_string(), "home".to_string())]),
                generator_url: None,
            }),
        ),
        (
            "ntfy",
            Sink::Ntfy(Ntfy {
                url: Secret::new("https://ntfy.lan/FAKE-topic-SECRET"),
                auth: Some(Auth::Bearer(Secret::new("tk_FAKEntfyTOKEN"))),
                tags: vec!["k3s".into()],
                click: None,
            }),
        ),
        (
            "webhook",
            Sink::Webhook(Webhook {
                url: Secret::new("https://hooks.lan/FAKE-hook-SECRET"),
                auth: Some(Auth::Basic {
                    user: "mc".into(),
                    password: Secret::new("FAKE-password"),
                }),
            }),
        ),
        (
            "slack",
            Sink::Slack(Slack {
                url: Secret::new("https://hooks.slack.com/services/T0/B0/FAKE-slack-TOKEN"),
            }),
        ),
        (
            "stdout_human",
            Sink::Stdout(Stdout {
                format: stdout::Format::Human,
            }),
        ),
        (
            "stdout_json",
            Sink::Stdout(Stdout {
                format: stdout::Format::Json,
            }),
        ),
    ]
}

const FAKE_SECRETS: [&str; 6] = [
    "FAKE-discord-TOKEN",
    "FAKE-topic-SECRET",
    "tk_FAKEntfyTOKEN",
    "FAKE-hook-SECRET",
    "FAKE-password",
    "FAKE-slack-TOKEN",
];

#[test]
fn every_sink_renders_firing_critical() {
    for (name, sink) in sinks() {
        let snap = sink
            .render_new(&typical(Severity::Critical, State::Firing), NOW)
            .snapshot();
        for s in FAKE_SECRETS {
            assert!(!snap.contains(s), "{name}: {s} in snapshot");
        }
        insta::assert_snapshot!(format!("{name}_critical_firing"), snap);
    }
}

#[test]
fn every_sink_renders_resolved_warning() {
    for (name, sink) in sinks() {
        let snap = sink
            .render_new(&typical(Severity::Warning, State::Resolved), NOW)
            .snapshot();
        insta::assert_snapshot!(format!("{name}_warning_resolved"), snap);
    }
}

#[test]
fn secrets_reach_the_request_but_not_its_debug() {
    for (name, sink) in sinks() {
        let req = sink.render_new(&typical(Severity::Critical, State::Firing), NOW);
        let debug = format!("{req:?} {sink:?}");
        for s in FAKE_SECRETS {
            assert!(!debug.contains(s), "{name}: {s} in {debug}");
        }
    }
    let req = sinks()[0]
        .1
        .render_new(&typical(Severity::Warning, State::Firing), NOW);
    assert_eq!(req.url, format!("{DISCORD}?wait=true"));
}

fn chars(v: &serde_json::Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

#[test]
fn a_maximal_alert_is_cut_to_discords_limits_by_character() {
    let (_, sink) = &sinks()[0];
    let req = sink.render_new(&maximal(), NOW);
    let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert!(chars(&v["content"]) <= lim::CONTENT);
    let embeds = v["embeds"].as_array().unwrap();
    assert!(!embeds.is_empty() && embeds.len() <= lim::EMBEDS);
    let mut total = 0;
    for e in embeds {
        assert!(chars(&e["title"]) <= lim::TITLE);
        assert!(chars(&e["description"]) <= lim::DESCRIPTION);
        assert!(chars(&e["footer"]["text"]) <= lim::FOOTER);
        let fields = e["fields"].as_array().unwrap();
        assert!(fields.len() <= lim::FIELDS);
        total += chars(&e["title"]) + chars(&e["description"]) + chars(&e["footer"]["text"]);
        for f in fields {
            assert!(chars(&f["name"]) <= lim::FIELD_NAME && chars(&f["value"]) <= lim::FIELD_VALUE);
            assert!(chars(&f["value"]) > 0);
            total += chars(&f["name"]) + chars(&f["value"]);
        }
    }
    assert!(total <= lim::TOTAL, "total {total}");
    assert!(total > lim::TOTAL - 200, "cut too much: {total}");
    // Cut by character: every cut string ends with the ellipsis and is valid
    // UTF-8 (serde_json would have failed otherwise).
    assert!(embeds[0]["title"].as_str().unwrap().ends_with('…'));
    let shape = serde_json::json!({
        "content": chars(&v["content"]),
        "title": chars(&embeds[0]["title"]),
        "description": chars(&embeds[0]["description"]),
        "footer": chars(&embeds[0]["footer"]["text"]),
        "fields": embeds[0]["fields"].as_array().unwrap().iter().map(|f| format!("{}: {}", f["name"].as_str().unwrap(), chars(&f["value"]))).collect::<Vec<_>>(),
        "total": total,
    });
    insta::assert_json_snapshot!("discord_maximal_shape", shape);
}

#[test]
fn maximal_alerts_fit_the_other_sinks_limits() {
    let a = maximal();
    for (name, sink) in sinks() {
        let req = sink.render_new(&a, NOW);
        match name {
            "ntfy" => {
                assert!(req.body.len() <= ntfy::MESSAGE_LIMIT, "{}", req.body.len());
                assert!(std::str::from_utf8(&req.body).is_ok());
                assert!(req.headers.iter().all(|(_, v)| v.is_ascii()));
            }
            "slack" => {
                let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
                assert!(chars(&v["text"]) <= slack::TEXT_LIMIT);
            }
            _ => assert!(!req.body.is_empty()),
        }
    }
}

#[test]
fn ntfy_priority_follows_severity() {
    assert_eq!(
        ntfy::priority(&typical(Severity::Warning, State::Firing)),
        4
    );
    assert_eq!(
        ntfy::priority(&typical(Severity::Critical, State::Firing)),
        5
    );
    assert_eq!(
        ntfy::priority(&typical(Severity::Critical, State::Resolved)),
        3
    );
    assert_eq!(ntfy::header_text("ok"), "ok");
    assert_eq!(ntfy::header_text("é"), "=?UTF-8?B?w6k=?=");
}

#[test]
fn discord_mentions_only_for_critical_firing() {
    let Sink::Discord(d) = &sinks()[0].1 else {
        unreachable!()
    };
    let p = d.payload(&typical(Severity::Critical, State::Firing));
    assert_eq!(p.content, "<@&987654321>");
    assert_eq!(p.allowed_mentions.roles, vec!["987654321"]);
    for (sev, state) in [
        (Severity::Warning, State::Firing),
        (Severity::Critical, State::Resolved),
    ] {
        let p = d.payload(&typical(sev, state));
        assert_eq!(p.content, "");
        assert!(p.allowed_mentions.parse.is_empty() && p.allowed_mentions.roles.is_empty());
    }
}

#[test]
fn alertmanager_ends_at_while_firing_and_when_resolved() {
    let (_, sink) = &sinks()[1];
    let body = |a: &Alert| -> serde_json::Value {
        serde_json::from_slice(&sink.render_new(a, NOW).body).unwrap()
    };
    assert_eq!(
        sink.render_new(&typical(Severity::Critical, State::Firing), NOW)
            .url,
        "http://am.lan:9093/api/v2/alerts"
    );
    let firing = body(&typical(Severity::Critical, State::Firing));
    assert_eq!(
        firing[0]["endsAt"],
        crate::notify::text::rfc3339(NOW + 240_000)
    );
    let resolved = body(&typical(Severity::Critical, State::Resolved));
    assert_eq!(resolved[0]["endsAt"], crate::notify::text::rfc3339(AT));
    assert_eq!(
        resolved[0]["labels"]["alertname"],
        "MemcanaryHeadroomForecast"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever the text, a Discord payload stays within every limit.
    #[test]
    fn discord_limits_hold_for_any_text(
        instance in "\\PC{0,3000}",
        rule in "[a-zé名_]{0,600}",
        groups in proptest::collection::vec("\\PC{0,400}", 0..45),
        mention in proptest::option::of("<@&[0-9]{1,20}>|@here"),
    ) {
        let mut a = typical(Severity::Critical, State::Firing);
        a.instance = instance;
        a.rule = rule;
        a.consumers = groups.into_iter().map(|g| Consumer { group: g, processes: 1, command: "x".into(), bytes: 1 }).collect();
        let d = Discord { url: Secret::new(DISCORD), mention, username: Some("m".repeat(100)) };
        let p = d.payload(&a);
        proptest::prop_assert!(p.content.chars().count() <= lim::CONTENT);
        proptest::prop_assert!(p.username.as_ref().is_none_or(|u| u.chars().count() <= lim::USERNAME));
        proptest::prop_assert!(p.embeds.len() <= lim::EMBEDS);
        let total: usize = p.embeds.iter().map(lim::embed_chars).sum();
        proptest::prop_assert!(total <= lim::TOTAL);
        for e in &p.embeds {
            proptest::prop_assert!(e.title.chars().count() <= lim::TITLE);
            proptest::prop_assert!(e.description.chars().count() <= lim::DESCRIPTION);
            proptest::prop_assert!(e.fields.len() <= lim::FIELDS);
            for f in &e.fields {
                proptest::prop_assert!(f.name.chars().count() <= lim::FIELD_NAME);
                proptest::prop_assert!(f.value.chars().count() <= lim::FIELD_VALUE);
                proptest::prop_assert!(!f.value.trim().is_empty() && !f.name.trim().is_empty());
            }
        }
    }
}
