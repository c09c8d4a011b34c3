//! Event-lake benchmark.
//!
//! `lake-bench generate DIR` writes a synthetic lake the way a fleet of live cameras would fill
//! it (default 10 million events, 1,000 sources, 30 days): busy and quiet cameras, a daily
//! traffic curve, a class and colour mix like the shipped models produce on street footage,
//! segments closed every `--segment-minutes` of event time.
//!
//! `lake-bench query DIR` times canvass search on a fixed set of queries (day window and whole
//! range), prints p50/p95 and writes the results with the equivalent SQL as JSON, which
//! `benches/lake_reference.py` runs in DuckDB over the same files and compares.
//!
//! `--key-file FILE` (both commands) encrypts the lake as canvass's data folder is, to measure
//! what encryption at rest costs a search (DuckDB cannot read that lake).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use canvass_schemas::{
    Attributes, BestFrame, BoundingBox, Colour, ColourAttribute, DetectionEvent, EVENT_SCHEMA_VERSION,
    EventId, ModelRef, ObjectClass, wire_name,
};
use canvass_store::{EventLake, LocalStore, Store};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use clap::{Parser, Subcommand};
use serde::Serialize;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a synthetic event lake into DIR (which should be empty).
    Generate {
        dir: PathBuf,
        #[arg(long, default_value_t = 10_000_000)]
        events: u64,
        #[arg(long, default_value_t = 1000)]
        sources: usize,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value = "2026-10-01")]
        first_day: NaiveDate,
        /// A segment is closed after this much event time.
        #[arg(long, default_value_t = 60)]
        segment_minutes: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        encryption: Encryption,
    },
    /// Times the benchmark queries on the lake in DIR.
    Query {
        dir: PathBuf,
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Where to write results and SQL for the DuckDB reference.
        #[arg(long)]
        json: Option<PathBuf>,
        #[command(flatten)]
        encryption: Encryption,
    },
}

#[derive(clap::Args)]
struct Encryption {
    /// Encrypt the lake under the key in this file (64 hex digits; made if missing).
    #[arg(long)]
    key_file: Option<PathBuf>,
}

impl Encryption {
    /// The lake in `dir`, encrypted if a key file is given.
    fn lake(&self, dir: &std::path::Path) -> anyhow::Result<EventLake<Store>> {
        let folder = LocalStore::new(dir);
        let store: Store = match &self.key_file {
            Some(path) => {
                let key = canvass_store::Secret256::load_or_create(path, "bench key")?;
                std::sync::Arc::new(canvass_store::EncryptedStore::open(folder, &key)?)
            }
            None => std::sync::Arc::new(folder),
        };
        Ok(EventLake::new(store))
    }
}

/// SplitMix64: a few lines, deterministic across platforms, plenty for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Index drawn with the given cumulative weights (last = total).
    fn pick(&mut self, cumulative: &[f64]) -> usize {
        let x = self.unit() * cumulative[cumulative.len() - 1];
        cumulative.partition_point(|&c| c <= x).min(cumulative.len() - 1)
    }
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    weights
        .into_iter()
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect()
}

/// Share of a day's traffic in each hour (UTC taken as local time): quiet nights, two peaks.
const HOURLY: [f64; 24] = [
    0.15, 0.10, 0.08, 0.08, 0.10, 0.20, 0.50, 0.90, 1.00, 0.85, 0.75, 0.80, 0.85, 0.80, 0.80, 0.90, 1.00,
    1.00, 0.85, 0.65, 0.50, 0.40, 0.30, 0.20,
];

/// What the shipped vehicle and weapon models report on street footage, roughly.
const CLASSES: [(ObjectClass, f64); 7] = [
    (ObjectClass::Car, 0.72),
    (ObjectClass::Truck, 0.10),
    (ObjectClass::Bus, 0.03),
    (ObjectClass::Motorcycle, 0.06),
    (ObjectClass::Bicycle, 0.085),
    (ObjectClass::Firearm, 0.003),
    (ObjectClass::Knife, 0.002),
];

/// Car colour shares (white, black and grey dominate, as in fleet statistics); `None` = too
/// small or dark to tell.
const COLOURS: [(Option<Colour>, f64); 12] = [
    (Some(Colour::White), 0.23),
    (Some(Colour::Black), 0.21),
    (Some(Colour::Grey), 0.19),
    (Some(Colour::Blue), 0.10),
    (Some(Colour::Red), 0.09),
    (Some(Colour::Brown), 0.04),
    (Some(Colour::Green), 0.03),
    (Some(Colour::Yellow), 0.03),
    (Some(Colour::Orange), 0.02),
    (Some(Colour::Purple), 0.01),
    (Some(Colour::Pink), 0.01),
    (None, 0.04),
];

struct Generator {
    rng: Rng,
    sources: Vec<String>,
    source_weights: Vec<f64>,
    class_weights: Vec<f64>,
    colour_weights: Vec<f64>,
    vehicle_model: ModelRef,
    weapon_model: ModelRef,
    next_ordinal: u32,
}

impl Generator {
    fn new(sources: usize, seed: u64) -> Self {
        // Camera activity follows a power law: a few busy junctions, many quiet side streets.
        let source_weights = cumulative((0..sources).map(|i| 1.0 / ((i + 1) as f64).powf(0.8)));
        Generator {
            rng: Rng(seed),
            sources: (0..sources).map(|i| format!("cam-{:04}", i + 1)).collect(),
            source_weights,
            class_weights: cumulative(CLASSES.iter().map(|c| c.1)),
            colour_weights: cumulative(COLOURS.iter().map(|c| c.1)),
            vehicle_model: ModelRef {
                name: "yolox_nano_coco".into(),
                version: "0.1.1".into(),
                sha256: "5ed2a8a3f6e7b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6".into(),
            },
            weapon_model: ModelRef {
                name: "arcis_ultralight_weapons_256".into(),
                version: "1".into(),
                sha256: "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9".into(),
            },
            next_ordinal: 0,
        }
    }

    /// A colour distribution as the namer gives one: the named colour with 55-95% and a second
    /// colour (drawn from the same mix) with most of the rest.
    fn colours(&mut self, colour: Option<Colour>) -> Attributes {
        let Some(top) = colour else { return Attributes::default() };
        let share = (0.55 + 0.4 * self.rng.unit()) as f32;
        let mut scores = [0f32; 11];
        scores[top.index()] = share;
        if let Some(second) = COLOURS[self.rng.pick(&self.colour_weights)].0.filter(|c| *c != top) {
            scores[second.index()] = (1.0 - share) * 0.7;
        }
        Attributes {
            colour: Some(ColourAttribute { value: top, confidence: share }),
            colours: canvass_schemas::colour_distribution(scores),
            ..Default::default()
        }
    }

    /// One event starting within `[hour_start, hour_start + 1h)`.
    fn event(&mut self, day_start: DateTime<Utc>, hour_start: DateTime<Utc>) -> DetectionEvent {
        let source = self.sources[self.rng.pick(&self.source_weights)].clone();
        let class = CLASSES[self.rng.pick(&self.class_weights)].0;
        let weapon = class.category() == canvass_schemas::Category::Weapon;
        let colour = if weapon { None } else { COLOURS[self.rng.pick(&self.colour_weights)].0 };
        let confidence =
            if weapon { 0.55 + 0.15 * self.rng.unit() } else { 0.35 + 0.6 * self.rng.unit().powf(0.7) }
                as f32;
        let start = hour_start + Duration::milliseconds((self.rng.unit() * 3_600_000.0) as i64);
        let length = Duration::milliseconds(1_000 + (self.rng.unit() * 19_000.0) as i64);
        // Live streams: media time counts from the stream's (daily) start, sampled at 2 fps.
        let media_start_us = (start - day_start).num_microseconds().expect("a day fits");
        let sequence = (media_start_us / 500_000) as u64;
        let model = if weapon { self.weapon_model.clone() } else { self.vehicle_model.clone() };
        let input = format!("rtsp://{source}.city.example/stream");
        self.next_ordinal = self.next_ordinal.wrapping_add(1);
        let event_id = EventId::derive(&source, &input, &model.sha256, class, sequence, self.next_ordinal);
        let frames = 2 * length.num_seconds().max(1) as u32;
        let (x, y) = (self.rng.unit() as f32 * 0.8, self.rng.unit() as f32 * 0.8);
        DetectionEvent {
            schema_version: EVENT_SCHEMA_VERSION,
            thumbnail_key: canvass_store::keys::thumbnail(&source, &event_id),
            event_id,
            source_id: source,
            input,
            category: class.category(),
            class,
            taxonomy_label: class.taxonomy_label().into(),
            model_class: wire_name(&class),
            attributes: self.colours(colour),
            confidence,
            mean_confidence: confidence * 0.85,
            frames,
            media_start_us,
            media_end_us: media_start_us + length.num_microseconds().expect("short"),
            wall_start: start,
            wall_end: start + length,
            best_frame: BestFrame {
                sequence: sequence + frames as u64 / 2,
                media_time_us: media_start_us + length.num_microseconds().expect("short") / 2,
                bbox: BoundingBox { x, y, width: 0.05 + 0.15 * confidence, height: 0.05 + 0.1 * confidence },
                confidence,
            },
            model,
            case: None,
            evidence_sha256: None,
        }
    }
}

/// Writes the synthetic lake into `lake`.
#[allow(clippy::too_many_arguments)]
fn generate(
    lake: EventLake<Store>,
    events: u64,
    sources: usize,
    days: u32,
    first_day: NaiveDate,
    segment_minutes: u32,
    seed: u64,
) -> anyhow::Result<()> {
    anyhow::ensure!(segment_minutes >= 1, "--segment-minutes must be at least 1");
    let mut generator = Generator::new(sources, seed);
    // Events per hour slot: the daily curve, weekends at 80 %.
    let slots: Vec<(DateTime<Utc>, f64)> = (0..days)
        .flat_map(|d| {
            let day = first_day + chrono::Days::new(d as u64);
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            (0..24u32).map(move |h| {
                let start = day.and_hms_opt(h, 0, 0).expect("valid hour").and_utc();
                (start, HOURLY[h as usize] * if weekend { 0.8 } else { 1.0 })
            })
        })
        .collect();
    let total_weight: f64 = slots.iter().map(|s| s.1).sum();
    let started = Instant::now();
    let (mut written, mut carry, mut segments) = (0u64, 0.0f64, 0usize);
    let mut pending: Vec<DetectionEvent> = Vec::new();
    let mut segment_end = slots[0].0 + Duration::minutes(segment_minutes as i64);
    for (i, &(hour_start, weight)) in slots.iter().enumerate() {
        let exact = events as f64 * weight / total_weight + carry;
        let count = if i + 1 == slots.len() { events - written } else { exact.floor() as u64 };
        carry = exact - count as f64;
        let day_start = hour_start.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let mut hour: Vec<DetectionEvent> =
            (0..count).map(|_| generator.event(day_start, hour_start)).collect();
        hour.sort_by_key(|e| e.wall_start);
        for event in hour {
            while event.wall_start >= segment_end {
                if !pending.is_empty() {
                    segments += lake.write(&pending)?.len();
                    pending.clear();
                }
                segment_end += Duration::minutes(segment_minutes as i64);
            }
            pending.push(event);
        }
        written += count;
        if (i + 1) % 24 == 0 {
            eprintln!(
                "day {:>3}: {written} events, {segments} segments, {:.0?}",
                (i + 1) / 24,
                started.elapsed()
            );
        }
    }
    if !pending.is_empty() {
        segments += lake.write(&pending)?.len();
    }
    println!(
        "wrote {written} events from {sources} sources over {days} days in {segments} segments ({:.1?})",
        started.elapsed()
    );
    Ok(())
}

/// The benchmark queries: (name, query text). Day windows fall mid-range.
const QUERIES: [(&str, &str); 5] = [
    ("red car, one day", "red car after:2026-10-15 before:2026-10-15"),
    ("any car, one day", "car after:2026-10-15 before:2026-10-15"),
    ("red car, 30 days", "red car"),
    ("firearm, 30 days", "firearm"),
    ("white truck at one camera, 30 days", "white truck camera:cam-0042"),
];

const PAGE: usize = 20;

#[derive(Serialize)]
struct Timed {
    name: String,
    query: String,
    sql: String,
    p50_ms: f64,
    p95_ms: f64,
    total: usize,
    top: Vec<String>,
    summaries_read: usize,
    segments_opened: usize,
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let rank = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms[rank]
}

/// The same query for DuckDB over the lake's files (as in the README).
fn sql(dir: &std::path::Path, query: &canvass_search::Query) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let list = |items: Vec<String>| items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
    let mut conditions = Vec::new();
    if !query.classes.is_empty() {
        conditions.push(format!("class IN ({})", list(query.classes.iter().map(wire_name).collect())));
    }
    // Soft colours: the asked colour's share, as canvass ranks (f32 products, like canvass's).
    let share = match query.colours.len() {
        0 => None,
        1 => Some(canvass_store::segment::colour_column(*query.colours.first().expect("one"))),
        _ => Some(format!(
            "GREATEST({})",
            query
                .colours
                .iter()
                .map(|c| canvass_store::segment::colour_column(*c))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    if let Some(share) = &share {
        conditions.push(format!("{share} >= {}::FLOAT", canvass_store::MIN_COLOUR_SCORE));
    }
    if !query.sources.is_empty() {
        conditions.push(format!("source_id IN ({})", list(query.sources.iter().cloned().collect())));
    }
    if let Some(after) = query.after {
        // Events are filed under their start day; one that started the day before may end after `after`.
        let first_day = after.date_naive() - chrono::Days::new(1);
        conditions.push(format!("date >= DATE '{first_day}'"));
        conditions.push(format!("wall_end >= TIMESTAMPTZ '{}'", after.to_rfc3339()));
    }
    if let Some(before) = query.before {
        conditions.push(format!("date <= DATE '{}'", before.format("%Y-%m-%d")));
        conditions.push(format!("wall_start <= TIMESTAMPTZ '{}'", before.to_rfc3339()));
    }
    if let Some(c) = query.min_confidence {
        conditions.push(format!("confidence >= {c}"));
    }
    let filter = if conditions.is_empty() { "true".to_string() } else { conditions.join(" AND ") };
    format!(
        "SELECT event_id, count(*) OVER () AS total FROM read_parquet('{}/events/v1/*/*.parquet', \
         hive_partitioning = true) WHERE {filter} ORDER BY {rank} DESC, wall_start DESC, event_id LIMIT {PAGE}",
        dir.display(),
        rank = share.map_or("confidence".to_string(), |share| format!("confidence * {share}")),
    )
}

fn query(dir: PathBuf, runs: usize, json: Option<PathBuf>, encryption: &Encryption) -> anyhow::Result<()> {
    let lake = encryption.lake(&dir)?;
    let now = Utc::now();
    let mut results = Vec::new();
    println!("{:<36} {:>9} {:>9} {:>10} {:>9}", "query", "p50 ms", "p95 ms", "hits", "segments");
    for (name, text) in QUERIES {
        let parsed = canvass_search::parse(text, now).with_context(|| format!("bench query '{text}'"))?;
        let mut times = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let found = canvass_search::search(&lake, &parsed, false, 0, PAGE)?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            last = Some(found);
        }
        let found = last.expect("ran at least once");
        times.sort_by(f64::total_cmp);
        let timed = Timed {
            name: name.into(),
            query: text.into(),
            sql: sql(&std::fs::canonicalize(&dir)?, &parsed),
            p50_ms: percentile(&times, 0.5),
            p95_ms: percentile(&times, 0.95),
            total: found.total,
            top: found.events.iter().map(|e| e.event_id.clone()).collect(),
            summaries_read: found.stats.summaries_read,
            segments_opened: found.stats.segments_opened,
        };
        println!(
            "{:<36} {:>9.1} {:>9.1} {:>10} {:>9}",
            timed.name, timed.p50_ms, timed.p95_ms, timed.total, timed.segments_opened
        );
        results.push(timed);
    }
    if let Some(path) = json {
        std::fs::write(&path, serde_json::to_vec_pretty(&results)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate { dir, events, sources, days, first_day, segment_minutes, seed, encryption } => {
            generate(encryption.lake(&dir)?, events, sources, days, first_day, segment_minutes, seed)
        }
        Command::Query { dir, runs, json, encryption } => query(dir, runs, json, &encryption),
    }
}
