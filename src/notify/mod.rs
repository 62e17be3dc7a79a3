//! Notifications: from a detector [`crate::detect::Event`] to a message that
//! arrives, on Discord, Alertmanager, ntfy, a generic webhook, Slack or stdout.
//!
//! # Layout
//!
//! ```text
//! Event -> Alert::from_event -> Dispatcher::send (non-blocking)
//!            router thread: dedupe per (host, rule, state), route by severity,
//!                           one job per target, reminders
//!            spool writer: persists each job beside its first attempt
//!            worker per target: Sink::render (pure) -> Transport::send (one
//!                           HTTP client) -> Sink::classify -> done | retry
//!                           with Backoff | give up | disable the sink
//! ```
//!
//! - [`alert`]: the owned [`Alert`]; [`text`]: its human text, one place for all sinks.
//! - [`sink`]: `enum Sink` with a pure `render` per kind, and Discord's limits.
//! - [`retry`]: the pure response classifier and the jittered backoff.
//! - [`spool`]: the fsync'd on-disk queue, written off the attempt's path
//!   by `spool_writer`, [`spool_fallback`] for running without it;
//!   [`dispatcher`]: the threads.
//! - [`heartbeat`]: the dead-man ping, through the same [`transport`].
//! - [`config`]: the `[notify]` table; [`advice`] for `check-config` and
//!   `notify-test` (the commands are in [`crate::cli`]).
//!
//! Secrets (webhook URLs, tokens) are held as [`Secret`] and never reach a
//! log line, an error or a snapshot.

pub mod advice;
pub mod alert;
// The one clock, at its old path for the router, worker and dispatcher.
pub mod config;
pub mod dispatcher;
pub mod error;
pub mod heartbeat;
#[cfg(test)]
mod latency_tests;
pub mod request;
pub mod retry;
mod router;
#[doc(hidden)]
pub mod sample;
pub mod secret;
pub mod sink;
pub mod spool;
pub mod spool_fallback;
mod spool_writer;
mod stats;
pub mod targets;
pub mod text;
pub mod transport;
mod worker;

pub use crate::clock::{Clock, SystemClock};
pub use alert::{Alert, Consumer, State};
pub use config::{NotifyConfig, Routes, SinkConfig};
pub use dispatcher::Dispatcher;
pub use error::NotifyError;
pub use request::{Method, Request};
pub use retry::{classify, Backoff, RetryAction};
pub use secret::Secret;
pub use sink::{Kind, Sink};
pub use stats::{SinkStats, Stats};

/// Log filter directives that keep the HTTP client's own debug and trace
/// logs (which would print request URLs and raw request bytes, i.e. webhook
/// tokens) out of memcanary's logs. `main` appends them to the user's filter.
pub const QUIET_HTTP_LOGS: &str = "ureq=warn,ureq_proto=warn,rustls=warn";
