//! Frame transport between ingest and detection.
//!
//! Both ends speak `FrameMessage`, whatever the transport: Kafka carries its wire encoding, the
//! embedded mode's channel the value itself (no serialisation, usually raw RGB pixels), and the
//! detector reads either. Kafka is behind the
//! `kafka` feature (on by default): the embedded mode and a test of one stage do not compile
//! librdkafka.

pub mod channel;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod memory;
#[cfg(test)]
mod test_frames;

use canvass_schemas::{FrameDecodeError, FrameMessage};

/// Why a frame could not be handed on or taken off a transport.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The other end has gone away; nothing more can be sent or received.
    #[error("transport closed")]
    Closed,
    /// A message arrived that is not a valid frame message.
    #[error("malformed frame message: {0}")]
    Malformed(#[from] FrameDecodeError),
    #[error("{0}")]
    Kafka(String),
}

/// Where ingest hands sampled frames. Implementations apply back-pressure by blocking in `send`
/// rather than buffering without bound.
pub trait FrameSink: Send {
    /// Takes the frame by value: an in-process transport hands it on without a copy.
    fn send(&mut self, frame: FrameMessage) -> Result<(), TransportError>;

    /// Says that an input has ended, so detectors close its tracks. The in-process pipeline
    /// closes every track when the run ends instead, which gives the same events.
    fn end_input(&mut self, _source_id: &str, _input: &str) -> Result<(), TransportError> {
        Ok(())
    }

    /// Blocks until every frame sent so far is delivered as far as this transport can tell.
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
}

/// Where a detector takes frames from.
pub trait FrameSource: Send {
    /// Blocks for the next frame; `Ok(None)` means the input has ended.
    fn recv(&mut self) -> Result<Option<FrameMessage>, TransportError>;

    /// A frame that is already waiting, without blocking; `Ok(None)` means none is (the input
    /// may still go on). Lets a detector batch the frames that queued up.
    fn try_recv(&mut self) -> Result<Option<FrameMessage>, TransportError>;
}
