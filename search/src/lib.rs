//! Search over the event lake: parse a query, let the lake rule out segments and rows, rank
//! what is left, and decode whole events only for the page shown.

pub mod query;
mod versions;

use std::cmp::Ordering;

use canvass_schemas::DetectionEvent;
use canvass_store::{EventLake, Match, ObjectStore, RowView, ScanStats, StoreError};

pub use query::{Near, Query, QueryError, absolute_time, parse, parse_in, sources_within};
use versions::Supersession;

/// One page of results, best first.
#[derive(Debug)]
pub struct SearchResults {
    pub events: Vec<DetectionEvent>,
    /// Matches before paging.
    pub total: usize,
    pub stats: ScanStats,
}

/// Best first: confidence (times the asked colour's share), then recency, then place in the
/// lake (so pages are stable).
fn rank(a: &Match, b: &Match) -> Ordering {
    b.rank
        .total_cmp(&a.rank)
        .then(b.wall_start_us.cmp(&a.wall_start_us))
        .then((a.segment, a.row).cmp(&(b.segment, b.row)))
}

/// Runs `query` on `lake`: ranked by confidence (times the asked colour's share), then by recency; `offset` and `limit` page.
/// Where a newer version of a model re-processed a source's footage, only its events are shown
/// unless `all_versions`.
pub fn search<S: ObjectStore>(
    lake: &EventLake<S>,
    query: &Query,
    all_versions: bool,
    offset: usize,
    limit: usize,
) -> Result<SearchResults, StoreError> {
    search_within(lake, query, None, all_versions, offset, limit)
}

/// Which sources a user may see (their agency's jurisdiction); `None`: all.
pub type SourceScope<'a> = Option<&'a (dyn Fn(&str) -> bool + Sync)>;

/// `search`, showing only events of the sources `scope` allows.
pub fn search_within<S: ObjectStore>(
    lake: &EventLake<S>,
    query: &Query,
    scope: SourceScope,
    all_versions: bool,
    offset: usize,
    limit: usize,
) -> Result<SearchResults, StoreError> {
    let pruning = query.pruning();
    let mut stats = ScanStats::default();
    let candidates = lake.segments_in_range(&pruning, &mut stats)?;
    let supersession = if all_versions { Supersession::default() } else { Supersession::of(&candidates) };
    let in_scope_and_newest =
        |row: &RowView| scope.is_none_or(|allowed| allowed(row.source_id)) && !supersession.hides(row);
    let keep: Option<&(dyn Fn(&RowView) -> bool + Sync)> =
        if supersession.is_empty() && scope.is_none() { None } else { Some(&in_scope_and_newest) };
    let mut matches = lake.find(&candidates, &pruning, keep, &mut stats)?;
    let total = matches.len();
    let wanted = offset.saturating_add(limit).min(total);
    if wanted == 0 {
        return Ok(SearchResults { events: Vec::new(), total, stats });
    }
    // Only the first `offset + limit` need sorting: select them, then sort those.
    if wanted < total {
        matches.select_nth_unstable_by(wanted - 1, rank);
        matches.truncate(wanted);
    }
    matches.sort_unstable_by(rank);
    let page = &matches[offset.min(wanted)..];
    let events = lake.fetch(&candidates, page)?;
    Ok(SearchResults { events, total, stats })
}
