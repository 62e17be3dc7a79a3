//! Issue 14 item 12: `/metrics` under hostile or unlucky clients. One
//! client trickling its request blocked every scrape (21 s); 200 idle
//! connections timed every scrape out; `HEAD` and `/metrics?x=1` were 404;
//! a taken port made the agent exit.

use super::{agent_config, Agent, FakeProc, Hook};
use crate::common::free_port;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// An agent with /metrics on a free port, and the port.
fn agent_on_a_port(d: &std::path::Path) -> (Agent, u16) {
    let port = free_port();
    let proc = FakeProc::new(&d.join("proc"));
    let cfg = agent_config(d, &proc, &format!("127.0.0.1:{port}"), "", "");
    let agent = Agent::start(&cfg);
    assert!(scrape(port, "GET /metrics", Duration::from_secs(10)).is_some());
    (agent, port)
}

/// One request by hand: the whole answer, or `None` if it did not come
/// within `within`.
fn scrape(port: u16, line: &str, within: Duration) -> Option<String> {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if let Some(a) = request(port, line, until - Instant::now()) {
            return Some(a);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn request(port: u16, line: &str, timeout: Duration) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
        .ok()?;
    write!(s, "{line} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    (!out.is_empty()).then_some(out)
}

#[test]
fn a_slow_client_and_200_idle_connections_do_not_block_a_scrape() {
    let d = tempfile::tempdir().unwrap();
    let (_agent, port) = agent_on_a_port(d.path());
    // Slowloris: one byte every 300 ms, for as long as the server lets it.
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        for b in b"GET /metrics HTTP/1.1\r\nHost: slow\r\n" {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let got = request(port, "GET /metrics", Duration::from_secs(5));
    assert!(
        got.as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 200")),
        "{got:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let t = Instant::now();
    let got = request(port, "GET /metrics", Duration::from_secs(5));
    assert!(
        got.as_deref()
            .is_some_and(|a| a.contains("memcanary_samples_total")),
        "{got:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    drop(idle);
    slow.join().unwrap();
}

#[test]
fn head_a_query_string_and_health_are_answered() {
    let d = tempfile::tempdir().unwrap();
    let (_agent, port) = agent_on_a_port(d.path());
    let t = Duration::from_secs(5);
    let head = request(port, "HEAD /metrics", t).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!head.contains("memcanary_"), "{head}");
    let query = request(port, "GET /metrics?x=1", t).unwrap();
    assert!(query.contains("memcanary_headroom_bytes"), "{query}");
    let health = request(port, "GET /-/healthy", t).unwrap();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let nope = request(port, "GET /nope", t).unwrap();
    assert!(nope.starts_with("HTTP/1.1 404"), "{nope}");
}

#[test]
fn a_taken_port_is_logged_and_retried_while_alerts_go_out() {
    let d = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let proc = FakeProc::new(&d.path().join("proc"));
    let hook = Hook::start("/hook", 200);
    let cfg = agent_config(
        d.path(),
        &proc,
        &format!("127.0.0.1:{port}"),
        "",
        &format!(
            "[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
            hook.url
        ),
    );
    let mut agent = Agent::start(&cfg);
    assert!(
        agent.wait_log("cannot listen for /metrics", Duration::from_secs(10)),
        "{}",
        agent.log_text()
    );
    proc.oom_kills(1);
    assert!(
        hook.firing("oom_kill", Duration::from_secs(10)).is_some() && agent.running(),
        "{}",
        agent.log_text()
    );
    drop(taken);
    let got = scrape(port, "GET /metrics", Duration::from_secs(15));
    let got = got.unwrap_or_else(|| panic!("never bound; log:\n{}", agent.log_text()));
    assert!(
        got.contains("memcanary_metrics_listen_errors_total "),
        "{got}"
    );
}
