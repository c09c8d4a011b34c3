//! Finding matching rows: reads only the index columns of the segments a query cannot rule out,
//! on every core, and returns small row references; whole events are decoded later, only for the
//! page shown.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, TimestampMicrosecondType};
use arrow_array::{Array, Float32Array, RecordBatch, StringArray};
use canvass_schemas::wire_name;
use sha2::{Digest, Sha256};

use crate::filters::{MIN_COLOUR_SCORE, motion_of};
use crate::lake::Pruning;
use crate::summary::SegmentSummary;
use crate::{StoreError, ranged};

/// A matching row: where it is and what results are ranked by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// Index of the segment in the candidate list the scan was given.
    pub segment: usize,
    pub row: usize,
    /// What results are ranked by: the event's confidence, times the share of the asked colour
    /// in its distribution when the query names colours.
    pub rank: f32,
    pub wall_start_us: i64,
}

/// What a caller's row filter sees of a matching row (reading these columns is the filter's
/// cost, so a scan without one skips them).
pub struct RowView<'a> {
    pub segment: &'a SegmentSummary,
    pub source_id: &'a str,
    pub model_name: &'a str,
    pub model_sha256: &'a str,
    pub wall_start_us: i64,
}

/// `pruning` with names as they are stored, so rows are compared without parsing.
struct RowConditions<'a> {
    pruning: &'a Pruning,
    classes: Vec<String>,
    colours: Vec<String>,
    /// `colour_<name>` columns of the asked colours.
    colour_columns: Vec<String>,
    after_us: Option<i64>,
    before_us: Option<i64>,
}

impl<'a> RowConditions<'a> {
    /// The columns to read: only those the conditions, the ranking, the caller's filter and
    /// deduplication need (event ids are random 32-character strings, the costliest column).
    fn columns(&self, with_filter: bool, dedup: bool) -> Vec<&str> {
        let mut columns = vec!["confidence", "wall_start"];
        columns.extend(self.colour_columns.iter().map(String::as_str));
        if !self.pruning.motion.is_empty() {
            columns.extend(MOTION_COLUMNS);
        }
        let optional = [
            ("wall_end", self.after_us.is_some()),
            ("class", !self.classes.is_empty()),
            ("colour", !self.colours.is_empty()),
            ("source_id", with_filter || !self.pruning.sources.is_empty()),
            ("model_name", with_filter),
            ("model_sha256", with_filter),
            ("event_id", dedup || !self.pruning.event_ids.is_empty()),
            ("case", !self.pruning.cases.is_empty()),
        ];
        columns.extend(optional.into_iter().filter(|(_, needed)| *needed).map(|(name, _)| name));
        columns
    }

    fn new(pruning: &'a Pruning) -> Self {
        RowConditions {
            pruning,
            classes: pruning.classes.iter().map(wire_name).collect(),
            colours: pruning.colours.iter().map(wire_name).collect(),
            colour_columns: pruning.colours.iter().map(|c| crate::segment::colour_column(*c)).collect(),
            after_us: pruning.after.map(|t| t.timestamp_micros()),
            before_us: pruning.before.map(|t| t.timestamp_micros()),
        }
    }
}

const MOTION_COLUMNS: [&str; 5] = ["direction", "heading_deg", "speed", "dwell_s", "zones"];

/// An event id as a number (ids are 32 hex digits), for deduplication.
fn event_number(id: &str) -> u128 {
    u128::from_str_radix(id, 16).unwrap_or_else(|_| {
        // Not an id canvass wrote: still a stable number.
        let digest = Sha256::digest(id.as_bytes());
        u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"))
    })
}

/// Runs `work` on each item on all cores; results in item order; the first error wins.
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> Result<R, StoreError> + Sync,
) -> Result<Vec<R>, StoreError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    if threads <= 1 {
        return items.iter().map(&work).collect();
    }
    let next = AtomicUsize::new(0);
    let per_thread: Vec<Result<Vec<(usize, R)>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { return Ok(done) };
                        done.push((i, work(item)?));
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("lake scan threads do not panic")).collect()
    });
    let mut all = Vec::with_capacity(items.len());
    for part in per_thread {
        all.extend(part?);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// Rows of the `candidates` that meet `pruning` and `keep`, once per event id; and how many
/// segments were opened.
pub(crate) fn find<S: crate::ObjectStore>(
    store: &S,
    candidates: &[SegmentSummary],
    pruning: &Pruning,
    keep: Option<&(dyn Fn(&RowView) -> bool + Sync)>,
) -> Result<(Vec<Match>, usize), StoreError> {
    let to_open: Vec<usize> =
        (0..candidates.len()).filter(|&i| summary_can_match(&candidates[i], pruning)).collect();
    let may_repeat = segments_that_may_share_events(candidates, &to_open);
    let conditions = RowConditions::new(pruning);
    let per_segment = parallel_map(&to_open, |&i| {
        let summary = &candidates[i];
        let columns = conditions.columns(keep.is_some(), may_repeat.contains(&i));
        let batches = ranged::read_columns(store, &summary.segment, summary.bytes, &columns)
            .map_err(|e| in_segment(&summary.segment, e))?;
        rows_matching(i, summary, &batches, &conditions, keep)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", summary.segment)))
    })?;
    let mut seen = HashSet::new();
    let mut matches = Vec::with_capacity(per_segment.iter().map(|(rows, _)| rows.len()).sum());
    for (rows, ids) in per_segment {
        match ids {
            Some(ids) => {
                matches.extend(rows.into_iter().zip(ids).filter(|(_, id)| seen.insert(*id)).map(|(m, _)| m))
            }
            None => matches.extend(rows),
        }
    }
    Ok((matches, to_open.len()))
}

/// Names the segment in a decoding error.
pub(crate) fn in_segment(key: &str, error: StoreError) -> StoreError {
    match error {
        StoreError::Corrupt(reason) => StoreError::Corrupt(format!("{key}: {reason}")),
        other => other,
    }
}

/// Whether a segment can hold matches, from its summary alone.
pub(crate) fn summary_can_match(s: &SegmentSummary, p: &Pruning) -> bool {
    let in_time = p.after.is_none_or(|t| s.wall_max >= t) && p.before.is_none_or(|t| s.wall_min <= t);
    let source_ok = p.sources.is_empty() || !p.sources.is_disjoint(&s.sources);
    let class_ok = p.classes.is_empty() || !p.classes.is_disjoint(&s.classes);
    let colour_ok = p.colours.is_empty() || !p.colours.is_disjoint(&s.colours);
    let conf_ok = p.min_confidence.is_none_or(|c| s.max_confidence >= c);
    let case_ok = p.cases.is_empty() || !p.cases.is_disjoint(&s.cases);
    in_time && source_ok && class_ok && colour_ok && conf_ok && case_ok
}

/// Segments whose event start ranges overlap another's: only their rows need deduplicating (an
/// event written twice, e.g. a replay closed at different segment boundaries, has the same id
/// and start in both). Segments written one after another by a live writer never overlap.
fn segments_that_may_share_events(candidates: &[SegmentSummary], opened: &[usize]) -> BTreeSet<usize> {
    let mut by_start: Vec<usize> = opened.to_vec();
    by_start.sort_by_key(|&i| candidates[i].wall_min);
    let mut flagged = BTreeSet::new();
    // Runs of transitively overlapping ranges; a run of two or more is flagged whole.
    let mut run: Vec<usize> = Vec::new();
    let mut run_reach = None;
    for i in by_start {
        if run_reach.is_some_and(|reach| candidates[i].wall_min > reach) {
            if run.len() > 1 {
                flagged.extend(run.drain(..));
            }
            run.clear();
            run_reach = None;
        }
        run.push(i);
        run_reach = run_reach.max(Some(candidates[i].last_start));
    }
    if run.len() > 1 {
        flagged.extend(run);
    }
    flagged
}

/// The matching rows of one segment, with their event ids (as numbers) when they were read
/// for deduplication.
fn rows_matching(
    segment_index: usize,
    summary: &SegmentSummary,
    batches: &[RecordBatch],
    c: &RowConditions,
    keep: Option<&(dyn Fn(&RowView) -> bool + Sync)>,
) -> Result<(Vec<Match>, Option<Vec<u128>>), String> {
    let mut out = Vec::new();
    let mut ids_out: Option<Vec<u128>> = None;
    let mut first_row = 0;
    for batch in batches {
        let column = |name: &str| batch.column_by_name(name);
        let string = |name: &str| -> Result<Option<&StringArray>, String> {
            column(name)
                .map(|a| a.as_string_opt::<i32>().ok_or_else(|| format!("column {name} is not text")))
                .transpose()
        };
        let required = |name: &str| column(name).ok_or_else(|| format!("no column {name}"));
        let (ids, sources, classes, colours) =
            (string("event_id")?, string("source_id")?, string("class")?, string("colour")?);
        let (model_names, model_shas) = (string("model_name")?, string("model_sha256")?);
        let confidence = required("confidence")?
            .as_primitive_opt::<Float32Type>()
            .ok_or("column confidence is not float")?;
        let timestamps = |name: &str| -> Result<_, String> {
            column(name)
                .map(|a| {
                    a.as_primitive_opt::<TimestampMicrosecondType>()
                        .ok_or_else(|| format!("column {name} is not a timestamp"))
                })
                .transpose()
        };
        let starts = timestamps("wall_start")?.ok_or("no column wall_start")?;
        let float = |name: &str| -> Result<Option<&Float32Array>, String> {
            column(name)
                .map(|a| {
                    a.as_primitive_opt::<Float32Type>().ok_or_else(|| format!("column {name} is not float"))
                })
                .transpose()
        };
        // Absent in segments written before colour distributions: those rank by `colour`.
        let colour_scores: Vec<&Float32Array> = c
            .colour_columns
            .iter()
            .map(|name| float(name))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        let motion_columns = if c.pruning.motion.is_empty() {
            None
        } else {
            Some((
                string("direction")?,
                float("heading_deg")?,
                float("speed")?,
                float("dwell_s")?,
                string("zones")?,
            ))
        };
        let ends = timestamps("wall_end")?;
        let missing = |name: &str| format!("no column {name}");
        let case_filter = if c.pruning.cases.is_empty() {
            None
        } else {
            Some(string("case")?.ok_or_else(|| missing("case"))?)
        };
        let source_filter = if c.pruning.sources.is_empty() {
            None
        } else {
            Some(sources.ok_or_else(|| missing("source_id"))?)
        };
        for r in 0..batch.num_rows() {
            let conf = confidence.value(r);
            let start = starts.value(r);
            if c.pruning.min_confidence.is_some_and(|m| conf < m) || c.before_us.is_some_and(|b| start > b) {
                continue;
            }
            if let (Some(after), Some(ends)) = (c.after_us, ends)
                && ends.value(r) < after
            {
                continue;
            }
            if let Some(classes) = classes
                && !c.classes.iter().any(|k| k == classes.value(r))
            {
                continue;
            }
            let mut rank = conf;
            if !c.colours.is_empty() {
                let share = if colour_scores.iter().any(|scores| !scores.is_null(r)) {
                    colour_scores.iter().map(|scores| scores.value(r)).fold(0.0, f32::max)
                } else {
                    let named = colours.filter(|names| !names.is_null(r)).map(|names| names.value(r));
                    if named.is_some_and(|name| c.colours.iter().any(|k| k == name)) { 1.0 } else { 0.0 }
                };
                if share < MIN_COLOUR_SCORE {
                    continue;
                }
                rank *= share;
            }
            if c.pruning.time_of_day.as_ref().is_some_and(|t| !t.contains_us(start)) {
                continue;
            }
            if let Some((direction, heading, speed, dwell, zones)) = motion_columns {
                let at = |a: Option<&Float32Array>| a.filter(|a| !a.is_null(r)).map(|a| a.value(r));
                fn text(a: Option<&StringArray>, r: usize) -> Option<&str> {
                    a.filter(|a| !a.is_null(r)).map(|a| a.value(r))
                }
                let direction = text(direction, r)
                    .and_then(|d| serde_json::from_value(serde_json::Value::String(d.into())).ok());
                let motion = motion_of(direction, at(heading), at(speed), at(dwell), text(zones, r));
                if !c.pruning.motion.accepts(motion.as_ref()) {
                    continue;
                }
            }
            if let Some(sources) = source_filter
                && !c.pruning.sources.contains(sources.value(r))
            {
                continue;
            }
            if let Some(cases) = case_filter
                && (cases.is_null(r) || !c.pruning.cases.contains(cases.value(r)))
            {
                continue;
            }
            if !c.pruning.event_ids.is_empty()
                && !c.pruning.event_ids.contains(ids.ok_or_else(|| missing("event_id"))?.value(r))
            {
                continue;
            }
            if let Some(keep) = keep {
                let view = RowView {
                    segment: summary,
                    source_id: sources.ok_or_else(|| missing("source_id"))?.value(r),
                    model_name: model_names.ok_or_else(|| missing("model_name"))?.value(r),
                    model_sha256: model_shas.ok_or_else(|| missing("model_sha256"))?.value(r),
                    wall_start_us: start,
                };
                if !keep(&view) {
                    continue;
                }
            }
            out.push(Match { segment: segment_index, row: first_row + r, rank, wall_start_us: start });
            if let Some(ids) = ids {
                ids_out.get_or_insert_with(Vec::new).push(event_number(ids.value(r)));
            }
        }
        first_row += batch.num_rows();
    }
    Ok((out, ids_out))
}
