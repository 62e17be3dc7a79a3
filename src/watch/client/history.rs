//! [`Datasource::fetch_days`]: the history queries of [`crate::watch::floor`],
//! through the same client (auth, headers, CA, scrubbed errors) as a cycle's.

use super::{Datasource, QueryError};
use crate::detect::history::DayMin;
use crate::watch::answer;
use crate::watch::floor::{self, Ask, DayAnswers, HistoryPlan};
use crate::watch::watcher::MAX_NAMED;
use std::collections::HashMap;

impl Datasource {
    /// Each host of `plan`'s clean days: the three queries (the day's
    /// minimum in chunks of [`floor::CHUNK_DAYS`]) one after the other,
    /// narrowed to the hosts when they are few, then
    /// [`floor::clean_days`]. The first failure is the answer.
    pub fn fetch_days(
        &self,
        plan: &HistoryPlan,
    ) -> Result<HashMap<String, Vec<DayMin>>, QueryError> {
        let narrowed = (plan.hosts.len() <= MAX_NAMED)
            .then(|| super::super::narrow::selector(&self.selector, &self.host_label, &plan.hosts))
            .flatten();
        let sel = narrowed.as_deref().unwrap_or(&self.selector);
        let mut answers = DayAnswers::default();
        for ask in Ask::ALL {
            for (at_ms, days) in plan.chunks(ask) {
                let body = self.get(&floor::query(ask, sel, days), at_ms)?;
                answers.add(ask, answer::parse(&body, ask.field(), &self.host_label)?);
            }
        }
        Ok(floor::clean_days(&answers, plan))
    }
}
