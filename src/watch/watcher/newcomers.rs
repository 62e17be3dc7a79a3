//! Hosts that appear while the watcher runs get a backfill of their own,
//! in the cycle that first sees them: one more query per signal, narrowed
//! to those hosts, over `backfill`. Their detectors start with full
//! windows, as the hosts of the first cycle do, instead of filling them
//! over the next minutes (blind to a trend or a rate meanwhile).
//!
//! A failed backfill is logged and dropped: the hosts are still new at the
//! next cycle, which asks again.

use super::{fetch_in_order, into_batch, Answer, Plan, Watcher};
use crate::signal::node_exporter::Field;
use crate::watch::fleet::{Batch, HostEvent};

/// More newcomers than this in one cycle are asked without a host filter
/// (a query naming them all would be longer than servers take).
pub const MAX_NAMED: usize = 100;

impl Watcher {
    /// Takes the hosts of `batch` the fleet does not know out of it, to be
    /// backfilled, unless this is the first good cycle (its window is the
    /// backfill already).
    pub(super) fn hold_newcomers(&mut self, mut batch: Batch) -> Batch {
        if self.health.last_ok_horizon.is_none() {
            return batch;
        }
        let fleet = &self.fleet;
        let new: Vec<String> = batch
            .hosts()
            .filter(|h| !fleet.hosts().contains_key(*h))
            .cloned()
            .collect();
        if !new.is_empty() {
            batch.retain_hosts(|h| !new.iter().any(|n| n == h));
            self.newcomers = new;
        }
        batch
    }

    /// The backfill the hosts first seen this cycle need, if any: their
    /// raw samples over `backfill` up to this cycle's query time. Call
    /// after [`Watcher::finish`], then [`Watcher::finish_backfill`].
    pub fn backfill_plan(&mut self) -> Option<Plan> {
        if self.newcomers.is_empty() {
            return None;
        }
        let mut hosts = std::mem::take(&mut self.newcomers);
        let at_ms = self.health.last_ok_horizon?;
        hosts.sort();
        tracing::info!(hosts = hosts.len(), "new hosts: reading their backfill");
        Some(Plan {
            window_ms: self.backfill_ms,
            at_ms,
            hosts,
        })
    }

    /// Feeds the backfill's answers (kept to `plan.hosts`, whatever the
    /// datasource sent) to new detectors; a failed query drops it (logged).
    pub fn finish_backfill(
        &mut self,
        plan: &Plan,
        answers: Vec<(Field, Answer)>,
        out: &mut Vec<HostEvent>,
    ) {
        match into_batch(answers) {
            Ok(mut batch) => {
                batch.retain_hosts(|h| plan.hosts.iter().any(|n| n == h));
                self.fleet.apply(&batch, plan.at_ms, out);
            }
            Err((metric, error)) => {
                tracing::warn!(metric, error = %error, hosts = plan.hosts.len(), "the new hosts' backfill failed: asked again next cycle");
            }
        }
    }

    /// [`Watcher::cycle`]'s backfill of newcomers through its `fetch`.
    pub(super) fn backfill_with(
        &mut self,
        fetch: &mut impl FnMut(Field, i64, i64) -> Answer,
        out: &mut Vec<HostEvent>,
    ) {
        if let Some(plan) = self.backfill_plan() {
            let mut answers = Vec::with_capacity(Field::ALL.len());
            fetch_in_order(&plan, fetch, &mut answers);
            self.finish_backfill(&plan, answers, out);
        }
    }
}

#[cfg(test)]
mod tests;
