//! Benchmark harness for `scripts/bench-agent.sh`: notification latency from
//! the kernel's PSI trigger to receipt at a local HTTP receiver.
//!
//! It arms its own PSI trigger on the same file with the same threshold as
//! the agent (independent ground truth of "pressure crossed the threshold")
//! and serves the webhook the agent posts to. Each firing notification is
//! paired with the first trigger event of its firing/resolved cycle.
//! Also prints detection -> receipt: the alert's own timestamp (the sample
//! that fired the rule, taken right after a trigger wake-up or a timer tick)
//! to its arrival here: the agent's notification path alone.
//! Prints one line per alert and a summary; exits after `N` paired alerts.
//!
//! Usage: `psi_latency PORT N PRESSURE_FILE STALL_US WINDOW_US`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use rustix::event::{poll, PollFd, PollFlags};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (port, n, file) = (&a[1], a[2].parse::<usize>().unwrap(), &a[3]);
    let (stall, window) = (&a[4], &a[5]);
    let triggers: Arc<Mutex<Vec<f64>>> = Arc::default();
    let t2 = triggers.clone();
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(file)
        .expect("open pressure file");
    f.write_all(format!("some {stall} {window}\0").as_bytes())
        .expect("arm trigger");
    std::thread::spawn(move || loop {
        let mut fds = [PollFd::new(&f, PollFlags::PRI)];
        if poll(&mut fds, None).is_ok() && fds[0].revents().contains(PollFlags::PRI) {
            t2.lock().unwrap().push(now_ms());
        }
    });
    let server = tiny_http::Server::http(format!("127.0.0.1:{port}")).unwrap();
    let mut lat = Vec::new();
    let mut pipe = Vec::new(); // detection (alert at_ms) -> receipt
    let (mut cycle_start, mut firing_at) = (now_ms(), None::<f64>);
    let mut no_trigger = 0;
    for mut req in server.incoming_requests() {
        let arrived = now_ms();
        let mut body = String::new();
        let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
        let _ = req.respond(tiny_http::Response::empty(200));
        if body.contains("\"status\":\"firing\"") {
            if firing_at.is_none() {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if let Some(at) = v["alert"]["at_ms"].as_f64() {
                    pipe.push(arrived - at);
                    println!("alert: detection -> receipt {:.1} ms", arrived - at);
                }
            }
            firing_at.get_or_insert(arrived);
            continue;
        }
        if !body.contains("\"status\":\"resolved\"") {
            continue;
        }
        // One cycle = [previous resolved, this resolved]: pair its firing
        // receipt with the first kernel trigger event in it (which may come
        // after the receipt when a timer sample saw the pressure first).
        let Some(fired) = firing_at.take() else {
            continue;
        };
        let t = triggers
            .lock()
            .unwrap()
            .iter()
            .copied()
            .find(|t| *t >= cycle_start && *t <= arrived);
        cycle_start = arrived;
        let Some(t) = t else {
            no_trigger += 1;
            println!("cycle without a kernel trigger event (pressure stayed under the trigger threshold): not counted");
            continue;
        };
        lat.push(fired - t);
        println!(
            "alert {}: trigger -> receipt {:+.1} ms",
            lat.len(),
            fired - t
        );
        if lat.len() >= n {
            break;
        }
    }
    pipe.sort_by(|a, b| a.total_cmp(b));
    let qp = |p: f64| pipe[((pipe.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "SUMMARY detection (the sample the alert is stamped with) -> receipt: n={} p50={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms",
        pipe.len(),
        qp(0.5),
        qp(0.9),
        qp(0.99),
        pipe[pipe.len() - 1]
    );
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "SUMMARY n={} p50={:+.1}ms p90={:+.1}ms p99={:+.1}ms max={:+.1}ms (negative: the alert arrived before the kernel trigger fired); cycles without a trigger: {no_trigger}",
        lat.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        lat[lat.len() - 1]
    );
}
