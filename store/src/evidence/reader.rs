//! Reading a stored original as a file (`Read + Seek`) by ranged reads of its parts, so a
//! decoder can open evidence where it is stored: memory holds one read-ahead window, and a
//! seek to the end (where an MP4 may keep its index) fetches only what is read there.

use std::io::{self, Read, Seek, SeekFrom};

use super::{Manifest, PartRef};
use crate::ObjectStore;

/// Bytes fetched per ranged read: large enough that a sequential decode makes few requests,
/// small enough that a seek wastes little.
pub const READ_AHEAD: u64 = 1024 * 1024;

pub struct EvidenceReader<S> {
    store: S,
    parts: Vec<PartRef>,
    size: u64,
    pos: u64,
    /// The window last fetched: bytes `window_start..window_start + window.len()` of the file.
    window_start: u64,
    window: Vec<u8>,
}

impl<S: ObjectStore> EvidenceReader<S> {
    pub fn new(store: S, manifest: &Manifest) -> Self {
        EvidenceReader {
            store,
            parts: manifest.part_refs(),
            size: manifest.size,
            pos: 0,
            window_start: 0,
            window: Vec::new(),
        }
    }

    pub fn len(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Fetches the window that starts at `self.pos`, within the part that holds it.
    fn fetch(&mut self) -> io::Result<()> {
        let index = self.parts.partition_point(|p| p.offset + p.size <= self.pos);
        let part = self.parts.get(index).ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, format!("no stored part holds byte {}", self.pos))
        })?;
        let from = self.pos - part.offset;
        let to = (from + READ_AHEAD).min(part.size);
        let bytes = self.store.get_range(&part.key, from..to).map_err(io::Error::other)?;
        if bytes.len() as u64 != to - from {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the part at byte {} is shorter than recorded", part.offset),
            ));
        }
        self.window_start = self.pos;
        self.window = bytes;
        Ok(())
    }
}

impl<S: ObjectStore> Read for EvidenceReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let in_window =
            self.pos >= self.window_start && self.pos < self.window_start + self.window.len() as u64;
        if !in_window {
            self.fetch()?;
        }
        let at = (self.pos - self.window_start) as usize;
        let n = buf.len().min(self.window.len() - at);
        buf[..n].copy_from_slice(&self.window[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: ObjectStore> Seek for EvidenceReader<S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.size.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the file")
        })?;
        self.pos = target;
        Ok(target)
    }
}
