//! The dead-man heartbeat: a URL pinged (GET) every `every` while the agent
//! is alive, for healthchecks.io-style services that page from outside when
//! the pings stop (the host livelocked, lost its network, or the agent died).
//!
//! It shares the sinks' [`Transport`], so it has the same client settings
//! (timeouts, no redirects, the memcanary user agent). The URL may carry a
//! token: it is redacted in `Debug` and serialized forms, and scrubbed from
//! errors; failures are logged by kind.
//!
//! It runs on its own thread ([`Heartbeat::spawn`]): a ping to an endpoint
//! that hangs waits out its timeout (10 s), and nothing on the way from the
//! detector to the sinks may wait on it.

use super::secret::Secret;
use super::transport::Transport;
use crate::clock::mono;
use crate::detect::Dur;
use serde::{Deserialize, Serialize};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How long one ping may take (connect included).
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// Stack reservation of the heartbeat thread, and the depth kept resident
/// (a TLS handshake; see [`crate::thread`]).
const STACK: (usize, usize) = (512 * 1024, super::dispatcher::HOT_TLS_STACK);

/// `[agent.heartbeat]`: a URL that expects a ping every `every`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// The URL to GET (it may carry a token: never logged).
    #[serde(serialize_with = "redact")]
    pub url: String,
    /// Ping interval (1s..1d).
    #[serde(default = "default_heartbeat_every")]
    pub every: Dur,
}

fn default_heartbeat_every() -> Dur {
    Dur::from_secs(60)
}

fn redact<S: serde::Serializer>(_: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("<redacted>")
}

impl std::fmt::Debug for HeartbeatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeartbeatConfig")
            .field("url", &"<redacted>")
            .field("every", &self.every)
            .finish()
    }
}

/// The running heartbeat thread: dropping this stops it (at once when it
/// is waiting; a ping in flight ends by its timeout, and the process does
/// not wait for it).
#[derive(Debug)]
pub struct Running {
    _stop: Sender<()>,
}

/// The pinger, with its client made ahead of the first ping.
#[derive(Debug)]
pub struct Heartbeat {
    url: Secret,
    every: Duration,
    transport: Transport,
    next: Instant,
}

impl Heartbeat {
    /// A heartbeat whose first ping is due now.
    pub fn new(cfg: &HeartbeatConfig) -> Heartbeat {
        Heartbeat {
            url: Secret::new(cfg.url.clone()),
            every: Duration::from_millis(cfg.every.as_millis().max(1000) as u64),
            transport: Transport::new(PING_TIMEOUT, PING_TIMEOUT),
            next: mono(),
        }
    }

    /// Starts pinging on a thread of its own.
    pub fn spawn(cfg: &HeartbeatConfig) -> std::io::Result<Running> {
        let (stop, stopped) = std::sync::mpsc::channel();
        let mut hb = Heartbeat::new(cfg);
        let (reserve, hot) = STACK;
        crate::thread::spawn("heartbeat".into(), reserve, hot, move || hb.run(stopped))?;
        Ok(Running { _stop: stop })
    }

    /// Pings when due until `stop`'s sender is dropped.
    fn run(&mut self, stop: Receiver<()>) {
        loop {
            let wait = self.next.saturating_duration_since(mono());
            match stop.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => self.beat_if_due(),
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// When the next ping is due.
    pub fn due(&self) -> Instant {
        self.next
    }

    /// Pings if due; the next one is `every` after this one was due (or
    /// after now, when the ping was late by more than that).
    pub fn beat_if_due(&mut self) {
        if mono() < self.next {
            return;
        }
        match self.transport.get(&self.url) {
            Ok(200..=299) => tracing::debug!("heartbeat sent"),
            Ok(status) => {
                tracing::warn!(error = %format!("HTTP status {status}"), "heartbeat failed")
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
        let next = self.next + self.every;
        self.next = if next < mono() {
            mono() + self.every
        } else {
            next
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_when_due_then_waits_every() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let cfg = HeartbeatConfig {
            url: format!("http://{}/ping/tok", server.server_addr()),
            every: Dur::from_secs(30),
        };
        let answer = std::thread::spawn(move || {
            let req = server.recv().unwrap();
            let path = req.url().to_string();
            req.respond(tiny_http::Response::empty(200)).unwrap();
            path
        });
        let mut hb = Heartbeat::new(&cfg);
        let first = hb.due();
        hb.beat_if_due();
        assert_eq!(answer.join().unwrap(), "/ping/tok");
        assert_eq!(hb.due(), first + Duration::from_secs(30));
        hb.beat_if_due(); // not due: no request (the server is gone)
        assert_eq!(hb.due(), first + Duration::from_secs(30));
    }
}
