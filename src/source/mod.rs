//! I/O adapters that produce [`Sample`](crate::signal::Sample)s.
//!
//! Everything that reads the outside world (files today; `/proc` and the
//! Prometheus API later) lives here, so the detector stays pure: an adapter
//! turns bytes into samples, and the detector only ever sees samples.
//!
//! - [`recorded`]: series recorded by a monitoring stack (VictoriaMetrics
//!   export, Prometheus `query_range`, CSV), for `memcanary replay`.

pub mod recorded;
