//! Search over the event lake: parse a query, let the lake rule out segments, rank what is left.

pub mod query;

use canvass_schemas::DetectionEvent;
use canvass_store::{EventLake, ObjectStore, ScanStats, StoreError};

pub use query::{Query, QueryError, parse};

/// One page of results, best first.
#[derive(Debug)]
pub struct SearchResults {
    pub events: Vec<DetectionEvent>,
    /// Matches before paging.
    pub total: usize,
    pub stats: ScanStats,
}

/// Runs `query` on `lake`: ranked by confidence, then by recency; `offset` and `limit` page.
pub fn search<S: ObjectStore>(
    lake: &EventLake<S>,
    query: &Query,
    offset: usize,
    limit: usize,
) -> Result<SearchResults, StoreError> {
    let (mut events, stats) = lake.scan(&query.pruning(), |_| true)?;
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
