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
    Attributes, BestFrame, BoundingBox, ColourAttribute, DetectionEvent, ModelRef, wire_name,
};
use chrono::{DateTime, Utc};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::StoreError;

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The segment schema, version 2 (version 1 had no `case` and `evidence_sha256`; such files are
/// read as events without a case). Column order is part of the format.
pub fn schema() -> Arc<Schema> {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
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
    ]))
}

/// Columns added by version 2 of the schema, at its end.
const V2_COLUMNS: usize = 2;

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
    let columns: Vec<ArrayRef> = vec![
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
        // Version 1 segments lack the last two columns.
        let expected = schema().fields().len();
        if ![expected, expected - V2_COLUMNS].contains(&batch.num_columns()) {
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
        let since_v2 = |name: &str| batch.column_by_name(name).map(|_| s(name)).transpose();
        let (case, evidence) = (since_v2("case")?, since_v2("evidence_sha256")?);
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
                attributes: Attributes { colour },
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

    #[test]
    fn a_version_1_segment_reads_as_events_without_a_case() {
        let mut with_case = crate::testing::event("cam", "2026-11-20T10:00:00Z".parse().unwrap(), 1);
        with_case.case = Some("2026-1".into());
        with_case.evidence_sha256 = Some("ab".repeat(32));
        let v2 = encode(std::slice::from_ref(&with_case)).unwrap();
        assert_eq!(decode(v2.clone()).unwrap(), vec![with_case.clone()]);
        // The same rows as version 1 wrote them: without the last two columns.
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(v2)).unwrap().build().unwrap();
        let batch = reader.into_iter().next().unwrap().unwrap();
        let v1_columns: Vec<usize> = (0..batch.num_columns() - V2_COLUMNS).collect();
        let v1_batch = batch.project(&v1_columns).unwrap();
        let mut v1 = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut v1, v1_batch.schema(), None).unwrap();
        writer.write(&v1_batch).unwrap();
        writer.close().unwrap();
        let read = decode(v1).unwrap();
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
