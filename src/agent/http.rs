//! The agent's `/metrics` and `/health`, served by [`crate::http`] (its
//! limits, deadlines, `HEAD` and bind retry are the server's).
//!
//! - `/metrics` and `/`: the agent's metrics, with the host's
//!   `/proc`-derived gauges read at scrape time.
//! - `/health` and `/-/healthy`: `200 OK` (node_exporter-style probes).
//! - A failed bind counts in `memcanary_metrics_listen_errors_total`.

use super::metrics::Metrics;
use crate::http::{Pages, Reply, Spawn};
use prometheus_client::registry::Registry;
use std::path::PathBuf;

/// What the agent's server shows.
pub(crate) struct AgentPages {
    registry: Registry,
    metrics: Metrics,
    proc_root: PathBuf,
}

impl Pages for AgentPages {
    fn page(&self, path: &str) -> Option<Reply> {
        match path {
            "/metrics" | "/" => Some(Reply::metrics(
                self.metrics.encode(&self.registry, &self.proc_root),
            )),
            "/health" | "/-/healthy" => Some(Reply::ok("text/plain", b"OK\n".to_vec())),
            _ => None,
        }
    }

    fn bind_failed(&self) {
        self.metrics.metrics_listen_errors.inc();
    }
}

/// Serves `/metrics` on `listen` from a thread with a small stack. Only
/// a thread that cannot start is an error; the bind is the thread's.
pub fn serve(
    listen: &str,
    registry: Registry,
    metrics: Metrics,
    proc_root: PathBuf,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let pages = AgentPages {
        registry,
        metrics,
        proc_root,
    };
    // /metrics is not the alert path; a scrape goes 8 KiB deep
    // (crate::thread): what it needs beyond is locked as it is touched.
    let at = Spawn {
        listen,
        thread: "metrics-http",
        stack: (256 * 1024, crate::thread::HOT_SHALLOW),
        what: "/metrics",
    };
    crate::http::serve(at, pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::answer;

    fn pages() -> AgentPages {
        let (metrics, registry) = Metrics::new(&["headroom_low"], "polling");
        AgentPages {
            registry,
            metrics,
            proc_root: PathBuf::from("/nonexistent"),
        }
    }

    #[test]
    fn metrics_and_health_are_the_agents() {
        let p = pages();
        let get = answer(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", true, &p);
        let text = String::from_utf8(get).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(text.contains("memcanary_headroom_bytes"), "{text}");
        let ok = answer(b"GET /-/healthy HTTP/1.1\r\n\r\n", true, &p);
        assert!(ok.starts_with(b"HTTP/1.1 200 OK") && ok.ends_with(b"OK\n"));
        p.bind_failed();
        let again = answer(b"GET /metrics HTTP/1.1\r\n\r\n", true, &p);
        let again = String::from_utf8(again).unwrap();
        assert!(
            again.contains("memcanary_metrics_listen_errors_total 1"),
            "{again}"
        );
    }
}
