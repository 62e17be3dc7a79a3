//! The alert path does not wait on the disk (docs/agent.md, "Run G"): with
//! every spool write held up half a second before its fsync (as on ext4,
//! where it waits on the journal commit of the black box's state file while
//! the host swaps), a firing still reaches a receiver on 127.0.0.1 at once,
//! and is on disk while its attempt is in flight, so a crash then re-sends it.

use super::{Alert, Dispatcher, State};
use crate::clock::mono;
use crate::detect::Severity;
use crate::durable::slow;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long each spool write waits before its fsync.
const SLOW_FSYNC: Duration = Duration::from_millis(500);
/// Send to receipt on an idle loopback is a few ms; the old path took
/// SLOW_FSYNC and more.
const FAST: Duration = Duration::from_millis(250);

/// A webhook receiver on 127.0.0.1: when each request arrived; answers 200,
/// or never (`hang`).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Instant>>>,
}

impl Receiver {
    fn start(hang: bool) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming().flatten() {
                if let Some(s) = serve(s, hang, &seen) {
                    held.push(s);
                }
            }
        });
        Receiver { port, got }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn wait(&self, n: usize) -> Instant {
        let end = mono() + Duration::from_secs(10);
        loop {
            if let Some(&t) = self.got.lock().unwrap().get(n - 1) {
                return t;
            }
            assert!(mono() < end, "no request {n} at the receiver");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Reads one request; answers it unless `hang` (then the stream is returned
/// to be held open).
fn serve(mut s: TcpStream, hang: bool, seen: &Mutex<Vec<Instant>>) -> Option<TcpStream> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !complete(&buf) {
        let n = s.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    seen.lock().unwrap().push(mono());
    if hang {
        return Some(s);
    }
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    None
}

/// Whether `buf` holds a whole request (headers and `content-length` bytes).
fn complete(buf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buf);
    let Some(end) = text.find("\r\n\r\n") else {
        return false;
    };
    let len = text[..end]
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    buf.len() >= end + 4 + len
}

fn dispatcher(url: &str, spool: &Path) -> Dispatcher {
    let text = format!(
        "[notify]\nretry_initial = \"100ms\"\nrequest_timeout = \"10s\"\n\
         [[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n"
    );
    let cfg = super::config::notify_table(&text).unwrap();
    Dispatcher::build(&cfg, Some(spool)).unwrap()
}

fn firing(rule: &str) -> Alert {
    let mut a = Alert::test("web-1", 1_000);
    a.is_test = false;
    a.rule = rule.into();
    a.severity = Severity::Warning;
    a.state = State::Firing;
    a
}

fn jobs(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count()
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let end = mono() + Duration::from_secs(10);
    while !cond() {
        assert!(mono() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A dispatcher on a slow spool in `dir` sending to `rx`: a firing sent,
/// its first request seen at `rx` at once (not after the slow fsync).
fn sent_at_once(dir: &Path, rx: &Receiver) -> Dispatcher {
    let d = dispatcher(&rx.url(), dir);
    let sent = mono();
    d.send(firing("swap_low"));
    let took = rx.wait(1) - sent;
    eprintln!("send -> receipt with a {SLOW_FSYNC:?} fsync on the spool: {took:?}");
    assert!(
        took < FAST,
        "the first attempt waited on the spool: {took:?}"
    );
    d
}

#[test]
fn a_firing_reaches_the_receiver_before_a_slow_spool_fsync_completes() {
    let dir = tempfile::tempdir().unwrap();
    let _slow = slow::under(dir.path(), SLOW_FSYNC);
    let d = sent_at_once(dir.path(), &Receiver::start(false));
    // The dedupe state is still saved, and the delivered job leaves no file.
    wait_until("the router's state on disk", || {
        dir.path().join("state.json").exists()
    });
    wait_until("the delivered job's file gone", || {
        jobs(&dir.path().join("hook")) == 0
    });
    d.shutdown(Duration::ZERO);
}

#[test]
fn a_job_in_flight_is_on_disk_once_its_slow_write_completes_and_a_restart_sends_it() {
    let dir = tempfile::tempdir().unwrap();
    let slowed = slow::under(dir.path(), SLOW_FSYNC);
    let d = sent_at_once(dir.path(), &Receiver::start(true));
    // In flight (the receiver never answers), and persisted beside it.
    wait_until("the job on disk", || jobs(&dir.path().join("hook")) == 1);
    drop(slowed);
    let stats = d.shutdown(Duration::ZERO);
    assert_eq!(
        (stats.sinks[0].pending, stats.sinks[0].spooled),
        (1, 1),
        "{stats:?}"
    );
    // The next run on the spool sends it.
    let rx = Receiver::start(false);
    let d = dispatcher(&rx.url(), dir.path());
    rx.wait(1);
    wait_until("the resent job's file gone", || {
        jobs(&dir.path().join("hook")) == 0
    });
    d.shutdown(Duration::ZERO);
}
