//! The small HTTP server behind `/metrics` and `/health` (the agent's and
//! the watcher's): one thread, `poll(2)` over the listener and at most
//! [`MAX_CONNS`] connections, all non-blocking, so no client can hold up
//! another. What each path shows is the caller's, through [`Pages`].
//!
//! - Each connection has deadlines: its request head must arrive within
//!   [`REQUEST_DEADLINE`] and its answer be taken within
//!   [`RESPONSE_DEADLINE`]; past them it is closed. A slow client (one byte
//!   a second) costs one slot, never a scrape's time.
//! - At the cap a new connection closes the oldest one: idle connections
//!   cannot lock scrapers out.
//! - `GET` and `HEAD` (a query string is ignored; `HEAD` gets the headers
//!   of the `GET`, with its `Content-Length`); a path [`Pages::page`] does
//!   not know is 404, other methods 405. One request per connection.
//! - A failed bind (the port is taken) is logged once, reported to
//!   [`Pages::bind_failed`] and retried every [`BIND_RETRY`]; the caller's
//!   work never waits on it.
//!
//! Synchronous, no async runtime; the thread sleeps in `poll` with no
//! timeout when nothing is connected.

use crate::clock::mono;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Connections served at once; one more closes the oldest.
pub const MAX_CONNS: usize = 16;
/// The longest request head read (Prometheus sends a few hundred bytes).
const MAX_HEAD: usize = 4096;
/// From accept to a complete request head.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// From a complete request to the last byte of the answer taken.
pub const RESPONSE_DEADLINE: Duration = Duration::from_secs(5);
/// How often a failed bind is tried again.
pub const BIND_RETRY: Duration = Duration::from_secs(5);

/// What the server shows: the caller's pages.
pub trait Pages: Send + 'static {
    /// The answer to a `GET` (or `HEAD`) of `path` (without its query
    /// string); `None`: 404.
    fn page(&self, path: &str) -> Option<Reply>;
    /// A bind failed (it is retried); e.g. to count it.
    fn bind_failed(&self) {}
}

/// One page's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status line after the version, e.g. `200 OK`.
    pub status: &'static str,
    /// `Content-Type` (empty: none).
    pub content_type: &'static str,
    /// The body of a `GET`.
    pub body: Vec<u8>,
}

impl Reply {
    /// `200 OK` with `body`.
    pub fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: "200 OK",
            content_type,
            body: body.into(),
        }
    }

    /// The OpenMetrics text of a registry's encoding (`500` when it failed).
    pub fn metrics(encoded: Result<String, std::fmt::Error>) -> Reply {
        match encoded {
            Ok(body) => Reply::ok(OPENMETRICS, body),
            Err(_) => Reply {
                status: "500 Internal Server Error",
                content_type: "",
                body: Vec::new(),
            },
        }
    }
}

/// The `Content-Type` of `/metrics`.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Where and how the server thread runs.
#[derive(Debug, Clone, Copy)]
pub struct Spawn<'a> {
    /// The listen address (`host:port`).
    pub listen: &'a str,
    /// The thread's name.
    pub thread: &'static str,
    /// Its stack: reserved, and kept resident ahead (see [`crate::thread`]).
    pub stack: (usize, usize),
    /// What it serves, for the log lines (`/metrics`).
    pub what: &'static str,
}

/// One client.
struct Conn {
    stream: TcpStream,
    head: Vec<u8>,
    /// The answer, once the request is complete.
    out: Option<Vec<u8>>,
    sent: usize,
    deadline: Instant,
}

/// The server's state on its thread.
struct Server<P> {
    listen: String,
    what: &'static str,
    listener: Option<TcpListener>,
    next_bind: Instant,
    bind_failed: bool,
    conns: Vec<Conn>,
    page: P,
}

/// Serves `pages` on `at.listen` from a thread of its own. Only a thread
/// that cannot start is an error; the bind is the thread's (tried once
/// before returning, so the first request finds it).
pub fn serve<P: Pages>(at: Spawn<'_>, pages: P) -> std::io::Result<std::thread::JoinHandle<()>> {
    let mut server = Server {
        listen: at.listen.to_string(),
        what: at.what,
        listener: None,
        next_bind: mono(),
        bind_failed: false,
        conns: Vec::with_capacity(MAX_CONNS),
        page: pages,
    };
    server.bind_if_due();
    let (reserve, hot) = at.stack;
    crate::thread::spawn(at.thread.into(), reserve, hot, move || server.run())
}

impl<P: Pages> Server<P> {
    fn run(&mut self) {
        loop {
            self.bind_if_due();
            let (ready, listener_ready) = self.wait();
            let now = mono();
            let mut ready = ready.into_iter();
            self.conns.retain_mut(|c| {
                let fired = ready.next().unwrap_or(false);
                (!fired || c.step(&self.page)) && c.deadline > now
            });
            // After the ready list is used up: accepting reorders `conns`.
            if listener_ready {
                self.accept();
            }
        }
    }

    fn bind_if_due(&mut self) {
        if self.listener.is_some() || mono() < self.next_bind {
            return;
        }
        match bind(&self.listen) {
            Ok(l) => {
                let at = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
                tracing::info!(listen = %at, "serving {}", self.what);
                self.listener = Some(l);
            }
            Err(e) => {
                self.page.bind_failed();
                if !self.bind_failed {
                    tracing::warn!(listen = %self.listen, error = %e, retry_s = BIND_RETRY.as_secs(), "cannot listen for {}; sampling and alerts go on, retrying", self.what);
                }
                self.bind_failed = true;
                self.next_bind = mono() + BIND_RETRY;
            }
        }
    }

    /// Polls until something is ready or a deadline passes: which
    /// connections are ready, and whether the listener is.
    fn wait(&self) -> (Vec<bool>, bool) {
        let mut fds = Vec::with_capacity(self.conns.len() + 1);
        for c in &self.conns {
            let want = if c.out.is_some() {
                PollFlags::OUT
            } else {
                PollFlags::IN
            };
            fds.push(PollFd::new(&c.stream, want));
        }
        if let Some(l) = &self.listener {
            fds.push(PollFd::new(l, PollFlags::IN));
        }
        let timeout = self.timeout().map(|d| Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        if let Err(e) = poll(&mut fds, timeout.as_ref()) {
            if e != rustix::io::Errno::INTR {
                tracing::debug!(error = %e, "metrics poll failed");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let fired = |f: &PollFd| !f.revents().is_empty();
        let conns = fds[..self.conns.len()].iter().map(fired).collect();
        let listener = self.listener.is_some() && fds.last().is_some_and(fired);
        (conns, listener)
    }

    /// Until the first connection deadline or the next bind; `None`: no
    /// timeout.
    fn timeout(&self) -> Option<Duration> {
        let now = mono();
        let bind = self.listener.is_none().then_some(self.next_bind);
        self.conns
            .iter()
            .map(|c| c.deadline)
            .chain(bind)
            .min()
            .map(|t| t.saturating_duration_since(now) + Duration::from_millis(1))
    }

    fn accept(&mut self) {
        let Some(l) = &self.listener else { return };
        loop {
            let stream = match l.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => return tracing::debug!(error = %e, "metrics accept failed"),
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            if self.conns.len() >= MAX_CONNS {
                // The oldest has had the longest to send its request.
                self.conns.remove(0);
            }
            self.conns.push(Conn {
                stream,
                head: Vec::new(),
                out: None,
                sent: 0,
                deadline: mono() + REQUEST_DEADLINE,
            });
        }
    }
}

fn bind(listen: &str) -> std::io::Result<TcpListener> {
    let l = TcpListener::bind(listen)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

impl Conn {
    /// Reads or writes what is ready; `false`: done, close it.
    fn step(&mut self, page: &impl Pages) -> bool {
        if self.out.is_none() && !self.read(page) {
            return false;
        }
        self.write()
    }

    /// Reads the request head; once complete, the answer is ready.
    fn read(&mut self, page: &impl Pages) -> bool {
        let mut chunk = [0u8; 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => self.head.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
            let complete = self.head.windows(4).any(|w| w == b"\r\n\r\n");
            if complete || self.head.len() >= MAX_HEAD {
                self.out = Some(answer(&self.head, complete, page));
                self.deadline = mono() + RESPONSE_DEADLINE;
                return true;
            }
        }
    }

    /// Writes what the socket takes; `false` when all is sent (or failed).
    fn write(&mut self) -> bool {
        let Some(out) = &self.out else { return true };
        while self.sent < out.len() {
            match self.stream.write(&out[self.sent..]) {
                Ok(0) => return false,
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        false
    }
}

/// The whole answer to a request head.
pub(crate) fn answer(head: &[u8], complete: bool, page: &impl Pages) -> Vec<u8> {
    if !complete {
        return response("431 Request Header Fields Too Large", "", b"", true);
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or(b"");
    let line = std::str::from_utf8(line).unwrap_or("");
    let mut parts = line.split_ascii_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let with_body = method == "GET";
    if !with_body && method != "HEAD" {
        return response("405 Method Not Allowed", "", b"", true);
    }
    let path = target.split(['?', '#']).next().unwrap_or("");
    match page.page(path) {
        Some(r) => response(r.status, r.content_type, &r.body, with_body),
        None => response("404 Not Found", "", b"", true),
    }
}

/// Status line, headers and (unless a HEAD) the body.
fn response(status: &str, content_type: &str, body: &[u8], with_body: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + body.len());
    let _ = write!(out, "HTTP/1.1 {status}\r\n");
    if !content_type.is_empty() {
        let _ = write!(out, "Content-Type: {content_type}\r\n");
    }
    if status.starts_with("405") {
        out.extend_from_slice(b"Allow: GET, HEAD\r\n");
    }
    let _ = write!(
        out,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if with_body {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests;
