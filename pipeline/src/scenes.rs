//! The registry's view of each camera (heading, zones) for the detector's motion attributes.

use canvass_detector::{Scene, Scenes, Zone};
use canvass_governance::registry::Registry;
use canvass_store::{ObjectStore, StoreError};

/// Scenes of every registered camera with a source id, read from the registry now.
pub fn scenes<S: ObjectStore>(store: S) -> Result<Scenes, StoreError> {
    Ok(Registry::new(store)
        .all()?
        .into_iter()
        .filter_map(|camera| {
            let r = camera.registration;
            let scene = Scene {
                heading_deg: r.heading_deg,
                zones: r.zones.into_iter().map(|z| Zone { name: z.name, polygon: z.polygon }).collect(),
            };
            r.source_id.map(|source| (source, scene))
        })
        .collect())
}
