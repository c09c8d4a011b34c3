//! Whatever arrives on the frames topic decodes to a frame or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = canvass_schemas::FrameMessage::decode(data);
});
