//! Each new host's recent days, to seed its floor ([`crate::watch::floor`]):
//! asked beside the cycles, never in them. A host first seen (at start or
//! mid-run) waits for its days; the live loop asks for all such hosts at
//! once on a thread of its own and hands the answer back here. A failed
//! answer leaves them on the default gate, asked again later.

use super::Watcher;
use crate::detect::history::DayMin;
use crate::watch::client::QueryError;
use crate::watch::floor::{HistoryOutcome, HistoryPlan};
use std::collections::HashMap;

/// One history answer: each host's clean days.
pub type DaysAnswer = Result<HashMap<String, Vec<DayMin>>, QueryError>;

impl Watcher {
    /// The history request the hosts without one need at `now_ms`, if any
    /// (none while one is out, after a failure until its retry, or with
    /// history off). Call after a cycle; hand the answer to
    /// [`Watcher::finish_history`].
    pub fn history_plan(&mut self, now_ms: i64) -> Option<HistoryPlan> {
        let days = self.fleet.detector_config().history.days;
        let ask = self.floor_ask.as_mut()?;
        let hosts = self.fleet.unseeded();
        ask.plan(now_ms, now_ms - self.latency_ms, days, hosts)
    }

    /// Seeds the planned hosts' floors from `answer` (a host the answer
    /// lacks has no clean day: it learns its own); on an error they stay
    /// unseeded, asked again later.
    pub fn finish_history(
        &mut self,
        now_ms: i64,
        plan: &HistoryPlan,
        answer: DaysAnswer,
    ) -> HistoryOutcome {
        let Some(ask) = self.floor_ask.as_mut() else {
            return HistoryOutcome::Seeded {
                hosts: 0,
                with_floor: 0,
            };
        };
        let days = match answer {
            Ok(days) => days,
            Err(error) => {
                let first = ask.failed(now_ms);
                return HistoryOutcome::Failed { error, first };
            }
        };
        ask.answered();
        let through = plan.through();
        let with_floor = plan
            .hosts
            .iter()
            .filter(|h| {
                let d = days.get(*h).map_or(&[][..], Vec::as_slice);
                self.fleet.seed(h, d, through)
            })
            .count();
        HistoryOutcome::Seeded {
            hosts: plan.hosts.len(),
            with_floor,
        }
    }

    /// [`Watcher::history_plan`] and [`Watcher::finish_history`] at once,
    /// through `fetch` (tests and synchronous drivers).
    pub fn history_with(
        &mut self,
        now_ms: i64,
        fetch: impl FnOnce(&HistoryPlan) -> DaysAnswer,
    ) -> Option<HistoryOutcome> {
        let plan = self.history_plan(now_ms)?;
        let answer = fetch(&plan);
        Some(self.finish_history(now_ms, &plan, answer))
    }
}

#[cfg(test)]
mod tests;
