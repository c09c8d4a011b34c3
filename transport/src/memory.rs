//! A sink that keeps every frame in memory: for tests, benchmarks and tools that want the
//! sampled frames of one input as a list.

use canvass_schemas::FrameMessage;

use crate::{FrameSink, TransportError};

#[derive(Debug, Default)]
pub struct MemorySink {
    pub frames: Vec<FrameMessage>,
}

impl FrameSink for MemorySink {
    fn send(&mut self, frame: FrameMessage) -> Result<(), TransportError> {
        self.frames.push(frame);
        Ok(())
    }
}
