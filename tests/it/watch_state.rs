//! `memcanary watch`'s `/metrics` and `/health`: the agent's server
//! (`src/http.rs`), so a slow client does not block a scrape, `HEAD` is
//! answered, and a taken port is retried instead of ending the watcher.
//! The datasource is a port nobody listens on: cycles fail, the server
//! serves.

use crate::common;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real `memcanary watch` with `/metrics` on `listen`, its datasource
/// refusing connections.
fn spawn_watch(dir: &Path, listen: &str) -> Watch {
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let config = dir.join("watch.toml");
    let text = format!(
        "[watch]\nurl = \"{dead}\"\ninterval = \"1s\"\ntimeout = \"200ms\"\nmetrics_listen = \"{listen}\"\nspool_dir = \"{}\"\n",
        dir.join("spool").display()
    );
    std::fs::write(&config, text).unwrap();
    let child = common::memcanary_process()
        .args(["watch", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Watch(child)
}

/// One raw request: the whole answer, or `None` if it fails.
fn request(listen: &str, head: &str) -> Option<String> {
    let mut s = TcpStream::connect(listen).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(head.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Waits up to 10 s for `/metrics` to answer.
fn wait_up(listen: &str) -> String {
    for _ in 0..100 {
        if let Some(a) = request(listen, "GET /metrics HTTP/1.1\r\n\r\n") {
            return a;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no /metrics on {listen}");
}

#[test]
fn watch_metrics_answer_beside_a_slow_client_and_answer_head() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", common::free_port());
    let _w = spawn_watch(dir.path(), &listen);
    let get = wait_up(&listen);
    assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
    assert!(get.contains("memcanary_watch_cycles_total"), "{get}");

    // A client that sends its request a byte at a time, slowly.
    let mut slow = TcpStream::connect(&listen).unwrap();
    slow.write_all(b"G").unwrap();
    let dripping = std::thread::spawn(move || {
        for b in b"ET /metrics HTTP/1.1\r\n" {
            std::thread::sleep(Duration::from_millis(300));
            if slow.write_all(&[*b]).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = memcanary::clock::mono();
    let health = request(&listen, "GET /health HTTP/1.1\r\n\r\n").expect("/health answers");
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1000),
        "a scrape waited {took:?} behind a slow client"
    );
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    assert!(health.contains("datasource down"), "{health}");

    let head = request(&listen, "HEAD /metrics HTTP/1.1\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.ends_with("\r\n\r\n") && !head.contains("memcanary_"),
        "{head}"
    );
    assert!(head.contains("Content-Length: "), "{head}");
    let _ = dripping.join();
}

#[test]
fn watch_waits_for_a_taken_metrics_port_instead_of_exiting() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut w = spawn_watch(dir.path(), &listen);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        w.0.try_wait().unwrap().is_none(),
        "the watcher exited over a taken metrics port"
    );
    drop(taken);
    // The bind is retried every 5 s.
    let get = wait_up(&listen);
    assert!(
        get.contains("memcanary_metrics_listen_errors_total"),
        "{get}"
    );
}
