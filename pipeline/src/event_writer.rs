//! Where closed events go, in both modes: each event's thumbnail under its key, then the
//! events in Parquet segments, closed at `SEGMENT_EVENTS` events or once the oldest has waited
//! `SEGMENT_MAX_AGE` (so a live stream's events are searchable within a minute, without a
//! segment per event). Every store write is retried while the failure can clear up.
//!
//! Events carry a tag: the distributed detector tags each with its frames-topic partition, to
//! checkpoint and drop them per partition; the embedded run tags them `()`.

use std::collections::HashSet;
use std::hash::Hash;
use std::time::{Duration, Instant};

use canvass_detector::DetectedEvent;
use canvass_schemas::DetectionEvent;
use canvass_store::{EventLake, RetryPolicy, Store, StoreError, keys, retry};

/// Events held before a segment is written.
pub const SEGMENT_EVENTS: usize = 10_000;
/// How long an event may wait for its segment. Longer makes fewer, larger segments.
pub const SEGMENT_MAX_AGE: Duration = Duration::from_secs(60);

struct Pending<T> {
    tag: T,
    event: DetectionEvent,
    /// The JPEG until it is written, then `None`.
    thumbnail: Option<Vec<u8>>,
}

type OnRetry = Box<dyn Fn(&StoreError) + Send>;

pub struct EventWriter<T = ()> {
    lake: EventLake<Store>,
    pending: Vec<Pending<T>>,
    oldest: Option<Instant>,
    max_age: Duration,
    retry: RetryPolicy,
    on_retry: OnRetry,
}

impl<T: Copy + Eq + Hash> EventWriter<T> {
    pub fn new(lake: EventLake<Store>, max_age: Duration) -> Self {
        EventWriter {
            lake,
            pending: Vec::new(),
            oldest: None,
            max_age,
            retry: RetryPolicy::default(),
            on_retry: Box::new(|_| {}),
        }
    }

    /// How long to retry a write, and what to do at each retry (count it, stay alive).
    pub fn with_retry(
        mut self,
        policy: RetryPolicy,
        on_retry: impl Fn(&StoreError) + Send + 'static,
    ) -> Self {
        self.retry = policy;
        self.on_retry = Box::new(on_retry);
        self
    }

    pub fn lake(&self) -> &EventLake<Store> {
        &self.lake
    }

    /// Takes a closed event and its thumbnail, naming the thumbnail's key; returns the event
    /// as it will be stored.
    pub fn add(&mut self, tag: T, detected: DetectedEvent) -> &DetectionEvent {
        let DetectedEvent { mut event, thumbnail, .. } = detected;
        // Stored evidence read by a job is named for its case and hash (`jobs::input_name`).
        if let Some(evidence) = crate::jobs::evidence_of(&event.input) {
            event.case = Some(evidence.case);
            event.evidence_sha256 = Some(evidence.sha256);
        }
        event.thumbnail_key = keys::thumbnail(&event.source_id, &event.event_id);
        self.push(tag, event, Some(thumbnail))
    }

    /// Takes back an event whose thumbnail is already stored (from a checkpoint).
    pub fn restore(&mut self, tag: T, event: DetectionEvent) {
        self.push(tag, event, None);
    }

    fn push(&mut self, tag: T, event: DetectionEvent, thumbnail: Option<Vec<u8>>) -> &DetectionEvent {
        self.oldest.get_or_insert_with(Instant::now);
        self.pending.push(Pending { tag, event, thumbnail });
        &self.pending.last().expect("just pushed").event
    }

    /// Whether the pending events should become a segment now (by count or by age).
    pub fn segment_due(&self) -> bool {
        self.pending.len() >= SEGMENT_EVENTS || self.oldest.is_some_and(|t| t.elapsed() >= self.max_age)
    }

    fn retried<R>(
        &self,
        what: &str,
        attempt: impl FnMut() -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        retry(&self.retry, what, attempt, |e| (self.on_retry)(e))
    }

    /// Writes the thumbnails not yet written.
    pub fn write_thumbnails(&mut self) -> Result<(), StoreError> {
        for i in 0..self.pending.len() {
            if let Some(jpeg) = &self.pending[i].thumbnail {
                let key = &self.pending[i].event.thumbnail_key;
                self.retried("write a thumbnail", || self.lake.put_thumbnail(key, jpeg))?;
                self.pending[i].thumbnail = None;
            }
        }
        Ok(())
    }

    /// Writes every pending event (thumbnails first) as segments; returns the tags whose
    /// events went, and how many events.
    pub fn write_segment(&mut self) -> Result<(HashSet<T>, usize), StoreError> {
        self.write_thumbnails()?;
        let tags: HashSet<T> = self.pending.iter().map(|p| p.tag).collect();
        if !self.pending.is_empty() {
            let events: Vec<DetectionEvent> = self.pending.iter().map(|p| p.event.clone()).collect();
            self.retried("write a segment", || self.lake.write(&events))?;
        }
        let written = self.pending.len();
        self.pending.clear();
        self.oldest = None;
        Ok((tags, written))
    }

    /// Writes thumbnails at once and a segment when one is due; call it as frames pass.
    pub fn tick(&mut self) -> Result<(), StoreError> {
        self.write_thumbnails()?;
        if self.segment_due() {
            self.write_segment()?;
        }
        Ok(())
    }

    /// Drops the pending events whose tag `lost` says (a partition that moved to another
    /// worker, which replays them).
    pub fn forget(&mut self, lost: impl Fn(T) -> bool) {
        self.pending.retain(|p| !lost(p.tag));
        if self.pending.is_empty() {
            self.oldest = None;
        }
    }

    /// The pending events with this tag.
    pub fn pending(&self, tag: T) -> Vec<DetectionEvent> {
        self.pending.iter().filter(|p| p.tag == tag).map(|p| p.event.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use canvass_store::{LocalStore, ObjectStore};

    use super::*;

    fn detected(n: u64) -> DetectedEvent {
        let start = chrono::Utc::now();
        let mut event = canvass_store::testing::event("cam", start, n);
        event.thumbnail_key = String::new();
        DetectedEvent { confirmed_at: event.wall_start, event, thumbnail: vec![0xff, 0xd8] }
    }

    fn writer(dir: &std::path::Path, max_age: Duration) -> EventWriter {
        let store: Store = std::sync::Arc::new(LocalStore::new(dir));
        EventWriter::new(EventLake::new(store), max_age)
    }

    fn segments(dir: &std::path::Path) -> usize {
        let store = LocalStore::new(dir);
        store.list(keys::EVENTS).unwrap().iter().filter(|o| o.key.ends_with(".parquet")).count()
    }

    #[test]
    fn segments_close_when_their_oldest_event_has_waited_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let mut output = writer(dir.path(), Duration::from_millis(50));
        output.add((), detected(1));
        output.tick().unwrap();
        assert_eq!(segments(dir.path()), 0, "too young to close");
        std::thread::sleep(Duration::from_millis(60));
        output.tick().unwrap();
        assert_eq!(segments(dir.path()), 1, "closed by age, with no new event arriving");
        output.add((), detected(2));
        output.write_segment().unwrap();
        assert_eq!(segments(dir.path()), 2);
    }

    #[test]
    fn thumbnails_are_written_under_the_key_the_event_names() {
        let dir = tempfile::tempdir().unwrap();
        let mut output = writer(dir.path(), Duration::from_secs(60));
        let key = output.add((), detected(7)).thumbnail_key.clone();
        assert!(key.ends_with(".jpg") && key.contains("cam"), "{key}");
        output.tick().unwrap();
        assert_eq!(LocalStore::new(dir.path()).get(&key).unwrap(), vec![0xff, 0xd8]);
        assert_eq!(segments(dir.path()), 0, "thumbnails go at once, segments when due");
    }

    #[test]
    fn forgotten_events_are_not_written_and_the_rest_are() {
        let dir = tempfile::tempdir().unwrap();
        let mut output: EventWriter<i32> = EventWriter::new(
            EventLake::new(std::sync::Arc::new(LocalStore::new(dir.path())) as Store),
            Duration::from_secs(60),
        );
        output.add(0, detected(1));
        output.add(1, detected(2));
        assert_eq!(output.pending(1).len(), 1);
        output.forget(|p| p == 1);
        let (tags, written) = output.write_segment().unwrap();
        assert_eq!((tags, written), (HashSet::from([0]), 1));
        let (events, _) = output.lake().scan(&Default::default()).unwrap();
        assert_eq!(events.len(), 1);
    }
}
