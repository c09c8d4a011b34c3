//! In-process transport for the embedded mode: a bounded channel of frame messages, handed over
//! as values (nothing serialised, the pixels moved rather than copied).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use canvass_schemas::FrameMessage;

use crate::{FrameSink, FrameSource, TransportError};

/// A connected sink/source pair holding at most `capacity` frames in flight; a full channel
/// blocks the sender, which is the back-pressure that keeps memory bounded.
pub fn channel(capacity: usize) -> (ChannelSink, ChannelSource) {
    let (tx, rx) = sync_channel(capacity);
    (ChannelSink { tx }, ChannelSource { rx })
}

/// Cloned for each input ingested at once; the channel ends when every clone is gone.
#[derive(Clone)]
pub struct ChannelSink {
    tx: SyncSender<FrameMessage>,
}

pub struct ChannelSource {
    rx: Receiver<FrameMessage>,
}

impl FrameSink for ChannelSink {
    fn send(&mut self, frame: FrameMessage) -> Result<(), TransportError> {
        self.tx.send(frame).map_err(|_| TransportError::Closed)
    }
}

impl FrameSource for ChannelSource {
    fn recv(&mut self) -> Result<Option<FrameMessage>, TransportError> {
        match self.rx.recv() {
            Ok(frame) => Ok(Some(frame)),
            // Every sink is gone: the input has ended.
            Err(_) => Ok(None),
        }
    }

    fn try_recv(&mut self) -> Result<Option<FrameMessage>, TransportError> {
        match self.rx.try_recv() {
            Ok(frame) => Ok(Some(frame)),
            Err(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests;
