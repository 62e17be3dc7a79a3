//! Notification rendering benchmarks: `cargo bench --bench notify`.
//!
//! Renders a typical alert (and a maximal one that Discord's limits must cut;
//! both from `memcanary::notify::sample`, as the snapshot tests) for each sink into one reused request, as a delivery thread does, and
//! prints the time per render. Best of several runs (the machine is shared).

#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use memcanary::detect::Severity;
use memcanary::notify::sample::{maximal, typical, AT_MS};
use memcanary::notify::sink::{self, Alertmanager, Discord, Ntfy, Sink, Webhook};
use memcanary::notify::{Alert, Request, Secret, State};
use std::hint::black_box;
use std::time::Instant;

fn sinks() -> Vec<(&'static str, Sink)> {
    vec![
        (
            "discord",
            Sink::Discord(Discord {
                url: Secret::new("https://discord.com/api/webhooks/1/x"),
                mention: Some("<@&1>".into()),
                username: None,
            }),
        ),
        (
            "alertmanager",
            Sink::Alertmanager(Alertmanager {
                url: Secret::new("http://am:9093"),
                ends_after_ms: 240_000,
                labels: Default::default(),
                generator_url: None,
            }),
        ),
        (
            "ntfy",
            Sink::Ntfy(Ntfy {
                url: Secret::new("http://ntfy/t"),
                auth: None,
                tags: Vec::new(),
                click: None,
            }),
        ),
        (
            "webhook",
            Sink::Webhook(Webhook {
                url: Secret::new("http://hook/"),
                auth: None,
            }),
        ),
        ("stdout", Sink::Stdout(sink::Stdout::default())),
    ]
}

fn per_render_us(sink: &Sink, alert: &Alert, n: u32) -> f64 {
    let mut req = Request::default();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for i in 0..n {
            sink.render(black_box(alert), AT_MS + 5_000 + i64::from(i), &mut req);
            black_box(&req.body);
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    best
}

fn main() {
    println!(
        "{:<14} {:>14} {:>14}",
        "sink", "typical (us)", "maximal (us)"
    );
    for (name, sink) in sinks() {
        let t = per_render_us(&sink, &typical(Severity::Critical, State::Firing), 20_000);
        let m = per_render_us(&sink, &maximal(), 500);
        println!("{name:<14} {t:>14.1} {m:>14.1}");
    }
}
