//! Search over the event lake: parse a query, let the lake rule out segments, rank what is left.

pub mod query;

use std::collections::HashMap;

use canvass_schemas::DetectionEvent;
use canvass_store::{EventLake, ObjectStore, ScanStats, StoreError, WrittenEvent};
use chrono::{DateTime, Utc};

pub use query::{Query, QueryError, parse};

/// One page of results, best first.
#[derive(Debug)]
pub struct SearchResults {
    pub events: Vec<DetectionEvent>,
    /// Matches before paging.
    pub total: usize,
    pub stats: ScanStats,
}

/// Keeps, for each source and model name, only the events of the model file whose events were
/// written last: after reprocessing with a newer model, its events replace the older ones.
fn newest_model_only(events: Vec<WrittenEvent>) -> Vec<DetectionEvent> {
    let mut newest: HashMap<(String, String), (DateTime<Utc>, String)> = HashMap::new();
    for (e, written) in &events {
        let key = (e.source_id.clone(), e.model.name.clone());
        let entry = newest.entry(key).or_insert((*written, e.model.sha256.clone()));
        if *written > entry.0 {
            *entry = (*written, e.model.sha256.clone());
        }
    }
    events
        .into_iter()
        .filter(|(e, _)| newest[&(e.source_id.clone(), e.model.name.clone())].1 == e.model.sha256)
        .map(|(e, _)| e)
        .collect()
}

/// Runs `query` on `lake`: ranked by confidence, then by recency; `offset` and `limit` page.
/// Only the newest model's events per source are shown unless `all_versions`.
pub fn search<S: ObjectStore>(
    lake: &EventLake<S>,
    query: &Query,
    all_versions: bool,
    offset: usize,
    limit: usize,
) -> Result<SearchResults, StoreError> {
    let (found, stats) = lake.scan_with_write_times(&query.pruning(), |_| true)?;
    let mut events =
        if all_versions { found.into_iter().map(|(e, _)| e).collect() } else { newest_model_only(found) };
    events.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.wall_start.cmp(&a.wall_start))
            .then(a.event_id.cmp(&b.event_id))
    });
    let total = events.len();
    let events = events.into_iter().skip(offset).take(limit).collect();
    Ok(SearchResults { events, total, stats })
}
