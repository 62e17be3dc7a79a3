//! The history's requests off the cycle's path: [`HistoryAsker`] sends each
//! [`HistoryPlan`] to a thread of its own with a client of its own (timeout
//! `history_timeout`), and hands the answer to the watcher at the first
//! cycle after it came. A slow or failed answer never holds up a cycle:
//! those hosts keep the default gate meanwhile (one warning, then asked
//! again later, [`super::floor::RETRY_MS`]).

use super::client::{BuildError, Datasource, QueryError};
use super::config::WatchConfig;
use super::floor::{HistoryOutcome, HistoryPlan};
use super::watcher::{DaysAnswer, Watcher};
use std::sync::mpsc::{channel, Receiver, Sender};

/// A plan and its answer, from the history thread.
type Done = (HistoryPlan, DaysAnswer);

/// Asks the history on threads of its own.
pub struct HistoryAsker {
    ds: Datasource,
    tx: Sender<Done>,
    rx: Receiver<Done>,
}

impl HistoryAsker {
    /// A client like the cycle's, with `history_timeout`.
    pub fn build(cfg: &WatchConfig) -> Result<HistoryAsker, BuildError> {
        let ds = Datasource::build(&WatchConfig {
            timeout: cfg.history_timeout,
            ..cfg.clone()
        })?;
        let (tx, rx) = channel();
        Ok(HistoryAsker { ds, tx, rx })
    }

    /// After a cycle at `now_ms`: an answer that came is handed to `w`,
    /// then the request the hosts without history need, if any, goes out.
    pub fn step(&mut self, w: &mut Watcher, now_ms: i64) {
        if let Ok((plan, answer)) = self.rx.try_recv() {
            log(&w.finish_history(now_ms, &plan, answer));
        }
        let Some(plan) = w.history_plan(now_ms) else {
            return;
        };
        tracing::debug!(
            hosts = plan.hosts.len(),
            days = plan.days,
            "history: reading the new hosts' recent days"
        );
        let (ds, tx) = (self.ds.clone(), self.tx.clone());
        let spawned = std::thread::Builder::new()
            .name("watch-history".into())
            .spawn(move || ask(&ds, plan, &tx));
        if let Err(e) = spawned {
            // The plan went with the closure: nothing is out, retry later.
            let error = QueryError::Unreachable(format!("cannot start its thread: {e}"));
            let plan = HistoryPlan {
                hosts: Vec::new(),
                at_ms: now_ms,
                days: 0,
            };
            log(&w.finish_history(now_ms, &plan, Err(error)));
        }
    }
}

/// The thread's work: the queries, and the answer sent back (a panic is
/// a failed answer, so the request is never left out).
fn ask(ds: &Datasource, plan: HistoryPlan, tx: &Sender<Done>) {
    let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ds.fetch_days(&plan)))
        .unwrap_or_else(|_| {
            Err(QueryError::Unreachable(
                "the history thread panicked".into(),
            ))
        });
    // The loop has stopped when nobody receives: nothing to do.
    let _ = tx.send((plan, answer));
}

fn log(outcome: &HistoryOutcome) {
    match outcome {
        HistoryOutcome::Seeded { hosts, with_floor } => tracing::info!(
            hosts,
            with_floor,
            "history: new hosts' floors seeded from their recent days"
        ),
        HistoryOutcome::Failed { error, first: true } => tracing::warn!(
            error = %error,
            "history: the recent days could not be read: those hosts use the default forecast gate, asked again later"
        ),
        HistoryOutcome::Failed {
            error,
            first: false,
        } => {
            tracing::debug!(error = %error, "history: still failing")
        }
    }
}

#[cfg(test)]
mod tests;
