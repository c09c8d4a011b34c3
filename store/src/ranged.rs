//! Reading some columns of a segment by fetching only their bytes: the footer first, then the
//! column chunks asked for, as Parquet readers do over S3. A whole-object read would move every
//! column (event ids and thumbnail keys are most of a segment) to use a few.

use std::sync::Arc;

use arrow_array::RecordBatch;
use bytes::{Buf, Bytes};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::reader::{ChunkReader, Length};

use crate::StoreError;
use crate::object_store::ObjectStore;

/// Bytes read from the end first: the footer of a segment is a few kilobytes.
const TAIL: u64 = 64 * 1024;
/// Column chunks closer than this are fetched in one request.
const MERGE_GAP: u64 = 64 * 1024;

/// The fetched parts of an object, in offset order.
struct Fetched {
    parts: Vec<(u64, Bytes)>,
    len: u64,
}

impl Fetched {
    fn slice(&self, start: u64, length: Option<usize>) -> Result<Bytes, ParquetError> {
        let not_fetched = || ParquetError::General(format!("bytes from {start} were not fetched"));
        let index = self
            .parts
            .partition_point(|(offset, _)| *offset <= start)
            .checked_sub(1)
            .ok_or_else(not_fetched)?;
        let (offset, bytes) = &self.parts[index];
        let from = (start - offset) as usize;
        let to = length.map_or(bytes.len(), |l| from + l);
        if to > bytes.len() {
            return Err(not_fetched());
        }
        Ok(bytes.slice(from..to))
    }
}

impl Length for Fetched {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Fetched {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T, ParquetError> {
        Ok(self.slice(start, None)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        self.slice(start, Some(length))
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The named columns of every row of the `size`-byte segment at `key`.
pub fn read_columns<S: ObjectStore + ?Sized>(
    store: &S,
    key: &str,
    size: u64,
    columns: &[&str],
) -> Result<Vec<RecordBatch>, StoreError> {
    if size < 12 {
        return Err(corrupt(format!("{size} bytes is too small for Parquet")));
    }
    let tail_start = size.saturating_sub(TAIL);
    let tail = store.get_range(key, tail_start..size)?;
    let footer = &tail[tail.len() - 8..];
    if &footer[4..] != b"PAR1" {
        return Err(corrupt("no Parquet footer (file cut short or not Parquet)"));
    }
    let metadata_len = u32::from_le_bytes(footer[..4].try_into().expect("4 bytes")) as u64;
    let metadata_start =
        (size - 8).checked_sub(metadata_len).ok_or_else(|| corrupt("footer longer than the file"))?;
    let metadata = if metadata_start >= tail_start {
        ParquetMetaDataReader::decode_metadata(&tail[(metadata_start - tail_start) as usize..tail.len() - 8])
    } else {
        ParquetMetaDataReader::decode_metadata(&store.get_range(key, metadata_start..size - 8)?)
    }
    .map_err(corrupt)?;
    let mask = ProjectionMask::columns(metadata.file_metadata().schema_descr(), columns.iter().copied());
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for row_group in metadata.row_groups() {
        for (i, column) in row_group.columns().iter().enumerate() {
            if mask.leaf_included(i) {
                let (start, length) = column.byte_range();
                ranges.push((start, start + length));
            }
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 + MERGE_GAP => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    if merged.last().is_some_and(|r| r.1 > size) {
        return Err(corrupt("a column chunk runs past the end of the file"));
    }
    let mut parts = Vec::with_capacity(merged.len());
    for (start, end) in merged {
        parts.push((start, Bytes::from(store.get_range(key, start..end)?)));
    }
    let reader_metadata =
        ArrowReaderMetadata::try_new(Arc::new(metadata), Default::default()).map_err(corrupt)?;
    let reader =
        ParquetRecordBatchReaderBuilder::new_with_metadata(Fetched { parts, len: size }, reader_metadata)
            .with_projection(mask)
            .with_batch_size(64 * 1024)
            .build()
            .map_err(corrupt)?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(corrupt)?;
    if let Some(missing) =
        batches.first().and_then(|b| columns.iter().find(|c| b.column_by_name(c).is_none()))
    {
        return Err(corrupt(format!("no column {missing}")));
    }
    Ok(batches)
}
