//! The API's JSON bodies (camera registrations, holds): any bytes decode to a value or an
//! error, and validation never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(camera) = serde_json::from_slice::<canvass_governance::registry::CameraRegistration>(data) {
        let _ = camera.validate();
    }
    if let Ok(hold) = serde_json::from_slice::<canvass_governance::HoldRequest>(data) {
        let _ = hold.validate(chrono::Utc::now());
    }
});
