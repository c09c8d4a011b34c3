//! A segment: a batch of events as one Parquet file (snappy), one row per event, flat columns
//! so DuckDB, Spark or pandas read the lake without canvass.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type, TimestampMicrosecondType, UInt32Type, UInt64Type};
use arrow_array::{
    ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use canvass_schemas::{
    Attributes, BestFrame, BodyType, BoundingBox, Colour, ColourAttribute, DetectionEvent, ModelRef, Motion,
    colour_distribution, wire_name,
};
use chrono::{DateTime, Utc};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::StoreError;
use crate::filters::motion_of;

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The segment schema, version 3. Older files read as events without what they lacked: version 1
/// had no `case` and `evidence_sha256`, version 2 none of the columns after them. Column order
/// is part of the format.
///
/// Version 3 columns: `colour_<name>` (one per palette colour, `Colour::ALL` order: that
/// colour's share of the event's colour distribution, 0 when absent, null for objects without
/// colour), so `WHERE colour_orange >= 0.2 ORDER BY confidence * colour_orange` works in DuckDB;
/// `body_type`, `body_type_score`, `body_type_model` (a crop classifier's answer); `direction`
/// (left/right/towards/away), `heading_deg`, `speed` (object lengths per second), `dwell_s`
/// and `zones` (`name:el` per zone, `e` entered, `l` left, `;` between), null without motion.
pub fn schema() -> Arc<Schema> {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, false);
    let mut fields = vec![
        Field::new("schema_version", DataType::UInt32, false),
        utf8("event_id"),
        utf8("source_id"),
        utf8("input"),
        utf8("category"),
        utf8("class"),
        utf8("taxonomy_label"),
        utf8("model_class"),
        Field::new("colour", DataType::Utf8, true),
        Field::new("colour_confidence", DataType::Float32, true),
        Field::new("confidence", DataType::Float32, false),
        Field::new("mean_confidence", DataType::Float32, false),
        Field::new("frames", DataType::UInt32, false),
        Field::new("media_start_us", DataType::Int64, false),
        Field::new("media_end_us", DataType::Int64, false),
        Field::new("wall_start", timestamp(), false),
        Field::new("wall_end", timestamp(), false),
        Field::new("best_sequence", DataType::UInt64, false),
        Field::new("best_media_time_us", DataType::Int64, false),
        Field::new("best_x", DataType::Float32, false),
        Field::new("best_y", DataType::Float32, false),
        Field::new("best_width", DataType::Float32, false),
        Field::new("best_height", DataType::Float32, false),
        Field::new("best_confidence", DataType::Float32, false),
        utf8("thumbnail_key"),
        utf8("model_name"),
        utf8("model_version"),
        utf8("model_sha256"),
        Field::new("case", DataType::Utf8, true),
        Field::new("evidence_sha256", DataType::Utf8, true),
    ];
    fields.extend(Colour::ALL.iter().map(|c| Field::new(colour_column(*c), DataType::Float32, true)));
    fields.extend([
        Field::new("body_type", DataType::Utf8, true),
        Field::new("body_type_score", DataType::Float32, true),
        Field::new("body_type_model", DataType::Utf8, true),
        Field::new("direction", DataType::Utf8, true),
        Field::new("heading_deg", DataType::Float32, true),
        Field::new("speed", DataType::Float32, true),
        Field::new("dwell_s", DataType::Float32, true),
        Field::new("zones", DataType::Utf8, true),
    ]);
    Arc::new(Schema::new(fields))
}

/// The column of one colour's score.
pub fn colour_column(colour: Colour) -> String {
    format!("colour_{}", wire_name(&colour))
}

/// Columns added by version 2 of the schema, after version 1's.
const V2_COLUMNS: usize = 2;
/// Columns added by version 3, at its end.
const V3_COLUMNS: usize = 19;

fn parse_name<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| StoreError::Corrupt(format!("column {column}: unknown value '{text}'")))
}

pub fn encode(events: &[DetectionEvent]) -> Result<Vec<u8>, StoreError> {
    let strings = |f: &dyn Fn(&DetectionEvent) -> String| -> ArrayRef {
        Arc::new(StringArray::from(events.iter().map(f).collect::<Vec<_>>()))
    };
    let floats = |f: &dyn Fn(&DetectionEvent) -> f32| -> ArrayRef {
        Arc::new(Float32Array::from(events.iter().map(f).collect::<Vec<_>>()))
    };
    let ints = |f: &dyn Fn(&DetectionEvent) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from(events.iter().map(f).collect::<Vec<_>>()))
    };
    let times = |f: &dyn Fn(&DetectionEvent) -> DateTime<Utc>| -> ArrayRef {
        let values: Vec<i64> = events.iter().map(|e| f(e).timestamp_micros()).collect();
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    };
    fn colour(e: &DetectionEvent) -> Option<&ColourAttribute> {
        e.attributes.colour.as_ref()
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(events.iter().map(|e| e.schema_version).collect::<Vec<_>>())),
        strings(&|e| e.event_id.clone()),
        strings(&|e| e.source_id.clone()),
        strings(&|e| e.input.clone()),
        strings(&|e| wire_name(&e.category)),
        strings(&|e| wire_name(&e.class)),
        strings(&|e| e.taxonomy_label.clone()),
        strings(&|e| e.model_class.clone()),
        Arc::new(StringArray::from(
            events.iter().map(|e| colour(e).map(|c| wire_name(&c.value))).collect::<Vec<_>>(),
        )),
        Arc::new(Float32Array::from(
            events.iter().map(|e| colour(e).map(|c| c.confidence)).collect::<Vec<_>>(),
        )),
        floats(&|e| e.confidence),
        floats(&|e| e.mean_confidence),
        Arc::new(UInt32Array::from(events.iter().map(|e| e.frames).collect::<Vec<_>>())),
        ints(&|e| e.media_start_us),
        ints(&|e| e.media_end_us),
        times(&|e| e.wall_start),
        times(&|e| e.wall_end),
        Arc::new(UInt64Array::from(events.iter().map(|e| e.best_frame.sequence).collect::<Vec<_>>())),
        ints(&|e| e.best_frame.media_time_us),
        floats(&|e| e.best_frame.bbox.x),
        floats(&|e| e.best_frame.bbox.y),
        floats(&|e| e.best_frame.bbox.width),
        floats(&|e| e.best_frame.bbox.height),
        floats(&|e| e.best_frame.confidence),
        strings(&|e| e.thumbnail_key.clone()),
        strings(&|e| e.model.name.clone()),
        strings(&|e| e.model.version.clone()),
        strings(&|e| e.model.sha256.clone()),
        Arc::new(StringArray::from(events.iter().map(|e| e.case.clone()).collect::<Vec<_>>())),
        Arc::new(StringArray::from(events.iter().map(|e| e.evidence_sha256.clone()).collect::<Vec<_>>())),
    ];
    let opt_floats = |f: &dyn Fn(&DetectionEvent) -> Option<f32>| -> ArrayRef {
        Arc::new(Float32Array::from(events.iter().map(f).collect::<Vec<_>>()))
    };
    let opt_strings = |f: &dyn Fn(&DetectionEvent) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from(events.iter().map(f).collect::<Vec<_>>()))
    };
    for c in Colour::ALL {
        // Null for events without a distribution (written before v3): readers fall back to `colour`.
        columns
            .push(opt_floats(&|e| (!e.attributes.colours.is_empty()).then(|| e.attributes.colour_score(c))));
    }
    fn body(e: &DetectionEvent) -> Option<&BodyType> {
        e.attributes.body_type.as_ref()
    }
    fn motion(e: &DetectionEvent) -> Option<&Motion> {
        e.attributes.motion.as_ref()
    }
    columns.extend([
        opt_strings(&|e| body(e).map(|b| wire_name(&b.value))),
        opt_floats(&|e| body(e).map(|b| b.score)),
        opt_strings(&|e| body(e).map(|b| b.model.clone())),
        opt_strings(&|e| motion(e).and_then(|m| m.direction).map(|d| wire_name(&d))),
        opt_floats(&|e| motion(e).and_then(|m| m.heading_deg)),
        opt_floats(&|e| motion(e).map(|m| m.speed)),
        opt_floats(&|e| motion(e).map(|m| m.dwell_s)),
        opt_strings(&|e| motion(e).map(crate::filters::zones_to_text)),
    ]);
    let batch = RecordBatch::try_new(schema(), columns).map_err(|e| StoreError::Encode(e.to_string()))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema(), Some(props))
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    writer.write(&batch).map_err(|e| StoreError::Encode(e.to_string()))?;
    writer.close().map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(out)
}

/// Every event in a segment.
pub fn decode(bytes: Vec<u8>) -> Result<Vec<DetectionEvent>, StoreError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| corrupt(&e))?
        .build()
        .map_err(|e| corrupt(&e))?;
    events_of(reader)
}

/// The events in rows `rows` (ascending) of a segment, in row order: decodes only those rows'
/// pages, so fetching one page of results does not decode whole segments.
pub fn decode_rows(bytes: Vec<u8>, rows: &[usize]) -> Result<Vec<DetectionEvent>, StoreError> {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).map_err(|e| corrupt(&e))?;
    let total = builder.metadata().file_metadata().num_rows() as usize;
    if let Some(&last) = rows.last()
        && last >= total
    {
        return Err(StoreError::Corrupt(format!("row {last} asked of a segment with {total} rows")));
    }
    let selection = RowSelection::from_consecutive_ranges(rows.iter().map(|&r| r..r + 1), total);
    events_of(builder.with_row_selection(selection).build().map_err(|e| corrupt(&e))?)
}

fn corrupt(e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn events_of(reader: ParquetRecordBatchReader) -> Result<Vec<DetectionEvent>, StoreError> {
    let mut events = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(&e))?;
        let expected = schema().fields().len();
        let v2 = expected - V3_COLUMNS;
        if ![expected, v2, v2 - V2_COLUMNS].contains(&batch.num_columns()) {
            return Err(StoreError::Corrupt(format!("{} columns, expected {expected}", batch.num_columns())));
        }
        // A file that is not ours (a column missing or of another type) is an error that
        // names the column, never a panic.
        let col = |name: &str| {
            batch.column_by_name(name).ok_or_else(|| StoreError::Corrupt(format!("no column {name}")))
        };
        let mistyped =
            |name: &str, expected: &str| StoreError::Corrupt(format!("column {name} is not {expected}"));
        let s = |name: &str| -> Result<StringArray, StoreError> {
            col(name)?.as_string_opt::<i32>().cloned().ok_or_else(|| mistyped(name, "text"))
        };
        let f = |name: &str| -> Result<Float32Array, StoreError> {
            col(name)?.as_primitive_opt::<Float32Type>().cloned().ok_or_else(|| mistyped(name, "float32"))
        };
        let i = |name: &str| -> Result<Int64Array, StoreError> {
            col(name)?.as_primitive_opt::<Int64Type>().cloned().ok_or_else(|| mistyped(name, "int64"))
        };
        let t = |name: &str| -> Result<TimestampMicrosecondArray, StoreError> {
            col(name)?
                .as_primitive_opt::<TimestampMicrosecondType>()
                .cloned()
                .ok_or_else(|| mistyped(name, "a timestamp in microseconds"))
        };
        let u32s = |name: &str| -> Result<UInt32Array, StoreError> {
            col(name)?.as_primitive_opt::<UInt32Type>().cloned().ok_or_else(|| mistyped(name, "uint32"))
        };
        let version = u32s("schema_version")?;
        let frames = u32s("frames")?;
        let best_sequence = col("best_sequence")?
            .as_primitive_opt::<UInt64Type>()
            .cloned()
            .ok_or_else(|| mistyped("best_sequence", "uint64"))?;
        let (event_id, source_id, input) = (s("event_id")?, s("source_id")?, s("input")?);
        let (category, class, label, model_class) =
            (s("category")?, s("class")?, s("taxonomy_label")?, s("model_class")?);
        let (colour, colour_conf) = (s("colour")?, f("colour_confidence")?);
        let (confidence, mean_confidence) = (f("confidence")?, f("mean_confidence")?);
        let (media_start, media_end, best_media) =
            (i("media_start_us")?, i("media_end_us")?, i("best_media_time_us")?);
        let (wall_start, wall_end) = (t("wall_start")?, t("wall_end")?);
        let (bx, by, bw, bh, bc) =
            (f("best_x")?, f("best_y")?, f("best_width")?, f("best_height")?, f("best_confidence")?);
        let (thumb, model_name, model_version, model_sha) =
            (s("thumbnail_key")?, s("model_name")?, s("model_version")?, s("model_sha256")?);
        let optional_text = |name: &str| batch.column_by_name(name).map(|_| s(name)).transpose();
        let (case, evidence) = (optional_text("case")?, optional_text("evidence_sha256")?);
        let optional_float = |name: &str| batch.column_by_name(name).map(|_| f(name)).transpose();
        let colour_scores: Vec<Option<Float32Array>> =
            Colour::ALL.iter().map(|c| optional_float(&colour_column(*c))).collect::<Result<_, _>>()?;
        let (body_type, body_score, body_model) = (
            optional_text("body_type")?,
            optional_float("body_type_score")?,
            optional_text("body_type_model")?,
        );
        let (direction, heading, speed, dwell, zones) = (
            optional_text("direction")?,
            optional_float("heading_deg")?,
            optional_float("speed")?,
            optional_float("dwell_s")?,
            optional_text("zones")?,
        );
        let float_at = |column: &Option<Float32Array>, r: usize| {
            column.as_ref().filter(|c| !c.is_null(r)).map(|c| c.value(r))
        };
        let text_at = |column: &Option<StringArray>, r: usize| {
            column.as_ref().filter(|c| !c.is_null(r)).map(|c| c.value(r).to_string())
        };
        let time = |a: &TimestampMicrosecondArray, r: usize| {
            DateTime::<Utc>::from_timestamp_micros(a.value(r))
                .ok_or_else(|| StoreError::Corrupt("timestamp out of range".into()))
        };
        use arrow_array::Array;
        for r in 0..batch.num_rows() {
            let colour = if colour.is_null(r) {
                None
            } else {
                Some(ColourAttribute {
                    value: parse_name("colour", colour.value(r))?,
                    confidence: colour_conf.value(r),
                })
            };
            events.push(DetectionEvent {
                schema_version: version.value(r),
                event_id: event_id.value(r).to_string(),
                source_id: source_id.value(r).to_string(),
                input: input.value(r).to_string(),
                category: parse_name("category", category.value(r))?,
                class: parse_name("class", class.value(r))?,
                taxonomy_label: label.value(r).to_string(),
                model_class: model_class.value(r).to_string(),
                attributes: Attributes {
                    colour,
                    colours: {
                        let mut scores = [0f32; 11];
                        for (score, column) in scores.iter_mut().zip(&colour_scores) {
                            *score = float_at(column, r).unwrap_or(0.0);
                        }
                        colour_distribution(scores)
                    },
                    body_type: match (text_at(&body_type, r), float_at(&body_score, r)) {
                        (Some(value), Some(score)) => Some(BodyType {
                            value: parse_name("body_type", &value)?,
                            score,
                            model: text_at(&body_model, r).unwrap_or_default(),
                        }),
                        _ => None,
                    },
                    motion: motion_of(
                        text_at(&direction, r).map(|d| parse_name("direction", &d)).transpose()?,
                        float_at(&heading, r),
                        float_at(&speed, r),
                        float_at(&dwell, r),
                        text_at(&zones, r).as_deref(),
                    ),
                },
                confidence: confidence.value(r),
                mean_confidence: mean_confidence.value(r),
                frames: frames.value(r),
                media_start_us: media_start.value(r),
                media_end_us: media_end.value(r),
                wall_start: time(&wall_start, r)?,
                wall_end: time(&wall_end, r)?,
                best_frame: BestFrame {
                    sequence: best_sequence.value(r),
                    media_time_us: best_media.value(r),
                    bbox: BoundingBox {
                        x: bx.value(r),
                        y: by.value(r),
                        width: bw.value(r),
                        height: bh.value(r),
                    },
                    confidence: bc.value(r),
                },
                thumbnail_key: thumb.value(r).to_string(),
                model: ModelRef {
                    name: model_name.value(r).to_string(),
                    version: model_version.value(r).to_string(),
                    sha256: model_sha.value(r).to_string(),
                },
                case: text_at(&case, r),
                evidence_sha256: text_at(&evidence, r),
            });
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bytes` rewritten without its last `dropped` columns, as an older version wrote it.
    fn without_last_columns(bytes: Vec<u8>, dropped: usize) -> Vec<u8> {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap().build().unwrap();
        let batch = reader.into_iter().next().unwrap().unwrap();
        let kept: Vec<usize> = (0..batch.num_columns() - dropped).collect();
        let old = batch.project(&kept).unwrap();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, old.schema(), None).unwrap();
        writer.write(&old).unwrap();
        writer.close().unwrap();
        out
    }

    #[test]
    fn a_version_3_event_keeps_its_colours_body_type_and_motion_and_v2_reads_without_them() {
        let mut event = crate::testing::event("cam", "2026-11-20T10:00:00Z".parse().unwrap(), 1);
        let mut scores = [0f32; 11];
        scores[0] = 0.55;
        scores[1] = 0.3;
        scores[9] = 0.15;
        event.attributes.colours = colour_distribution(scores);
        event.attributes.body_type =
            Some(BodyType { value: canvass_schemas::ObjectClass::Van, score: 0.8, model: "attrs".into() });
        event.attributes.motion = Some(Motion {
            direction: Some(canvass_schemas::FrameDirection::Left),
            heading_deg: Some(270.0),
            speed: 1.5,
            dwell_s: 12.0,
            zones: vec![canvass_schemas::ZoneVisit { zone: "driveway".into(), entered: true, left: false }],
        });
        let v3 = encode(std::slice::from_ref(&event)).unwrap();
        assert_eq!(decode(v3.clone()).unwrap(), vec![event.clone()]);
        let v2 = decode(without_last_columns(v3, V3_COLUMNS)).unwrap();
        let attributes = Attributes { colour: event.attributes.colour.clone(), ..Default::default() };
        assert_eq!(v2, vec![DetectionEvent { attributes, ..event }]);
    }

    #[test]
    fn a_version_1_segment_reads_as_events_without_a_case() {
        let mut with_case = crate::testing::event("cam", "2026-11-20T10:00:00Z".parse().unwrap(), 1);
        with_case.case = Some("2026-1".into());
        with_case.evidence_sha256 = Some("ab".repeat(32));
        let v3 = encode(std::slice::from_ref(&with_case)).unwrap();
        assert_eq!(decode(v3.clone()).unwrap(), vec![with_case.clone()]);
        let read = decode(without_last_columns(v3, V3_COLUMNS + V2_COLUMNS)).unwrap();
        assert_eq!(read, vec![DetectionEvent { case: None, evidence_sha256: None, ..with_case }]);
    }

    /// A Parquet file with the segment's column names where `replace` swaps one column for
    /// another type (text for numbers, numbers for text), or drops it when `drop` is set.
    fn foreign_file(replace: &str, drop: bool) -> Vec<u8> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(
            encode(&[crate::testing::event("cam", Utc::now(), 1)]).unwrap(),
        ))
        .unwrap()
        .build()
        .unwrap();
        let batch = reader.into_iter().next().unwrap().unwrap();
        let (mut fields, mut columns) = (Vec::new(), Vec::new());
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            if field.name() != replace {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            } else if !drop && field.data_type() == &DataType::Utf8 {
                fields.push(Field::new(replace, DataType::Int64, false));
                columns.push(Arc::new(Int64Array::from(vec![7])) as ArrayRef);
            } else if !drop {
                fields.push(Field::new(replace, DataType::Utf8, false));
                columns.push(Arc::new(StringArray::from(vec!["not a number"])) as ArrayRef);
            }
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        out
    }

    #[test]
    fn a_column_of_another_type_is_an_error_naming_it_not_a_panic() {
        for column in ["frames", "confidence", "wall_start", "event_id", "best_sequence"] {
            let err = decode(foreign_file(column, false)).unwrap_err();
            assert!(matches!(&err, StoreError::Corrupt(why) if why.contains(column)), "{column}: {err}");
            let err = decode_rows(foreign_file(column, false), &[0]).unwrap_err();
            assert!(err.to_string().contains(column), "{column}: {err}");
        }
    }

    #[test]
    fn a_missing_column_is_an_error_not_a_panic() {
        let err = decode(foreign_file("model_sha256", true)).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    }
}
