//! Model versions: after footage is re-processed with a newer model file, its events replace
//! the older model's for that source and time span (both stay in the lake; `--all-versions`
//! shows both). The span is that of the newer segments, so a live camera whose model was
//! upgraded last week keeps the old model's events from before the upgrade.

use std::collections::{BTreeSet, HashMap};

use canvass_store::{RowView, SegmentSummary};
use chrono::{DateTime, Utc};

/// A segment's claim: this model file processed this source over this span at this time.
#[derive(Debug)]
struct Cover {
    written_at: DateTime<Utc>,
    sha256: String,
    from_us: i64,
    to_us: i64,
}

/// Covers by source, then model name; only for model names seen with more than one file.
#[derive(Debug, Default)]
pub struct Supersession {
    covers: HashMap<String, HashMap<String, Vec<Cover>>>,
}

impl Supersession {
    pub fn of(segments: &[SegmentSummary]) -> Self {
        // Most queries meet one file per model name: nothing to do, no per-row cost.
        let mut files: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for s in segments {
            for m in &s.models {
                files.entry(m.name.as_str()).or_default().insert(m.sha256.as_str());
            }
        }
        let revised: BTreeSet<&str> =
            files.into_iter().filter(|(_, f)| f.len() > 1).map(|(n, _)| n).collect();
        let mut supersession = Supersession::default();
        if revised.is_empty() {
            return supersession;
        }
        for s in segments {
            for m in s.models.iter().filter(|m| revised.contains(m.name.as_str())) {
                for source in &s.sources {
                    supersession
                        .covers
                        .entry(source.clone())
                        .or_default()
                        .entry(m.name.clone())
                        .or_default()
                        .push(Cover {
                            written_at: s.written_at,
                            sha256: m.sha256.clone(),
                            from_us: s.wall_min.timestamp_micros(),
                            to_us: s.wall_max.timestamp_micros(),
                        });
                }
            }
        }
        supersession
    }

    /// Whether no row can be hidden (one file per model name).
    pub fn is_empty(&self) -> bool {
        self.covers.is_empty()
    }

    /// Whether a different model file, written later, covers this row's source and start time.
    pub fn hides(&self, row: &RowView) -> bool {
        let Some(covers) = self.covers.get(row.source_id).and_then(|m| m.get(row.model_name)) else {
            return false;
        };
        covers.iter().any(|c| {
            c.written_at > row.segment.written_at
                && c.sha256 != row.model_sha256
                && (c.from_us..=c.to_us).contains(&row.wall_start_us)
        })
    }
}
