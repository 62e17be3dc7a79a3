//! Benchmark harness for `scripts/bench-agent.sh`: notification latency from
//! the agent's PSI trigger wake-up to receipt at a local HTTP receiver.
//!
//! It serves the webhook the agent posts to. For the first firing
//! notification of each firing/resolved cycle it reads the agent's
//! `/metrics` right away and takes
//! `memcanary_psi_trigger_last_wakeup_timestamp_seconds`: the moment the
//! kernel's trigger woke the agent. When that wake-up is at most 5 s before
//! the sample the alert is stamped with (`at_ms`), the alert is the trigger's
//! doing and `receipt - wake-up` is one latency: the agent's sampling after
//! the wake-up, the detector, the hand-off to the notifier and the HTTP
//! delivery. Alerts raised by a timer sample with no trigger wake-up shortly
//! before are counted apart. Also prints detection -> receipt (`at_ms` to
//! arrival). Exits after `N` latencies.
//!
//! Usage: `psi_latency PORT N METRICS_URL`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::time::{SystemTime, UNIX_EPOCH};

const WAKE_GAUGE: &str = "memcanary_psi_trigger_last_wakeup_timestamp_seconds";

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// The agent's last trigger wake-up, Unix ms (None before the first).
fn last_wakeup_ms(url: &str) -> Option<f64> {
    let text = ureq::get(url)
        .call()
        .ok()?
        .body_mut()
        .read_to_string()
        .ok()?;
    let v: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(WAKE_GAUGE)?.trim().parse().ok())?;
    (v > 0.0).then_some(v * 1000.0)
}

fn summary(what: &str, v: &mut [f64]) {
    if v.is_empty() {
        println!("SUMMARY {what}: n=0");
        return;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "SUMMARY {what}: n={} p50={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms",
        v.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        v[v.len() - 1]
    );
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (port, n, metrics) = (&a[1], a[2].parse::<usize>().unwrap(), &a[3]);
    let server = tiny_http::Server::http(format!("127.0.0.1:{port}")).unwrap();
    let (mut trig, mut pipe) = (Vec::new(), Vec::new());
    let (mut firing, mut untriggered) = (false, 0);
    for mut req in server.incoming_requests() {
        let arrived = now_ms();
        let mut body = String::new();
        let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
        let _ = req.respond(tiny_http::Response::empty(200));
        if body.contains("\"status\":\"resolved\"") {
            firing = false;
            continue;
        }
        if !body.contains("\"status\":\"firing\"") || firing {
            continue;
        }
        firing = true;
        let wake = last_wakeup_ms(metrics);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let Some(at) = v["alert"]["at_ms"].as_f64() else {
            continue;
        };
        pipe.push(arrived - at);
        match wake {
            Some(w) if w <= at && at - w <= 5000.0 => {
                trig.push(arrived - w);
                println!(
                    "alert {}: trigger wake-up -> receipt {:.1} ms (wake-up -> firing sample {:.1} ms, detection -> receipt {:.1} ms)",
                    trig.len(),
                    arrived - w,
                    at - w,
                    arrived - at
                );
            }
            _ => {
                untriggered += 1;
                println!("alert raised by a timer sample with no trigger wake-up in the 5 s before: not counted (detection -> receipt {:.1} ms)", arrived - at);
            }
        }
        if trig.len() >= n {
            break;
        }
    }
    summary(
        "detection (the sample the alert is stamped with) -> receipt",
        &mut pipe,
    );
    summary("PSI trigger wake-up -> receipt", &mut trig);
    println!("alerts without a trigger wake-up in the 5 s before: {untriggered}");
}
