//! The camera registry: cameras registered by their owners, with where they are, who to ask for
//! footage, and the access level the owner chose. Stored as objects under `registry/v1/` in the
//! lake's object store (`canvass_store::keys::camera`). Only a camera's owner changes or removes its registration.

use canvass_store::{ObjectStore, StoreError, keys};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the owner allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// The police know the camera exists and may ask the owner for footage.
    RegistryOnly,
    /// The owner submits footage when asked.
    Request,
    /// Live access only while the owner's condition holds (`condition_active`).
    ConditionalLive,
}

/// A registration as the owner writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CameraRegistration {
    /// Source id of the camera's footage in canvass, where it has any.
    #[serde(default)]
    pub source_id: Option<String>,
    /// How to reach the owner for footage.
    pub contact: String,
    pub lat: f64,
    pub lon: f64,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub access: AccessLevel,
    /// For `conditional_live`: whether the owner's condition (e.g. an emergency they declared)
    /// holds now.
    #[serde(default)]
    pub condition_active: bool,
}

impl CameraRegistration {
    pub fn validate(&self) -> Result<(), String> {
        if !(-90.0..=90.0).contains(&self.lat) || !(-180.0..=180.0).contains(&self.lon) {
            return Err(format!("lat/lon {}, {} is not a place on Earth", self.lat, self.lon));
        }
        if self.contact.trim().is_empty() {
            return Err("a camera needs a contact for footage requests".into());
        }
        let too_long = [Some(&self.contact), self.address.as_ref(), self.description.as_ref()]
            .into_iter()
            .flatten()
            .any(|text| text.len() > 1000);
        if too_long {
            return Err("contact, address and description are limited to 1000 characters".into());
        }
        if self.condition_active && self.access != AccessLevel::ConditionalLive {
            return Err("condition_active applies only to conditional_live cameras".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Camera {
    pub id: String,
    pub owner: String,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub registration: CameraRegistration,
}

impl Camera {
    /// Whether the owner's policy lets canvass process this camera's footage: stored files are
    /// footage the owner handed over and are always allowed; a live stream only from a
    /// `conditional_live` camera whose condition holds now.
    pub fn allows(&self, live: bool) -> Result<(), String> {
        if !live {
            return Ok(());
        }
        match self.registration.access {
            AccessLevel::RegistryOnly => {
                Err("its owner registered it as registry only: ask the owner for footage, no live access"
                    .into())
            }
            AccessLevel::Request => Err("its owner shares footage on request only: no live access".into()),
            AccessLevel::ConditionalLive if self.registration.condition_active => Ok(()),
            AccessLevel::ConditionalLive => {
                Err("live access only while the owner's condition holds, and it does not now".into())
            }
        }
    }
}

/// Great-circle distance in metres (haversine; plenty for "cameras within R of an incident").
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

pub struct Registry<S> {
    store: S,
}

impl<S: ObjectStore> Registry<S> {
    pub fn new(store: S) -> Self {
        Registry { store }
    }

    pub fn all(&self) -> Result<Vec<Camera>, StoreError> {
        let mut cameras = Vec::new();
        for object in self.store.list(keys::CAMERAS)? {
            match serde_json::from_slice(&self.store.get(&object.key)?) {
                Ok(camera) => cameras.push(camera),
                Err(e) => {
                    tracing::warn!(key = %object.key, error = %e, "skipping unreadable camera registration")
                }
            }
        }
        Ok(cameras)
    }

    pub fn get(&self, id: &str) -> Result<Option<Camera>, StoreError> {
        if !valid_id(id) {
            return Ok(None);
        }
        match self.store.get(&keys::camera(id)) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn put(&self, camera: &Camera) -> Result<(), StoreError> {
        self.store.put(&keys::camera(&camera.id), &serde_json::to_vec(camera).expect("cameras serialise"))
    }

    /// The registered camera whose footage has source id `source`, if any.
    pub fn camera_of_source(&self, source: &str) -> Result<Option<Camera>, StoreError> {
        Ok(self.all()?.into_iter().find(|c| c.registration.source_id.as_deref() == Some(source)))
    }

    /// The owner's policy on footage of `source_id`, where it is a registered camera: stored
    /// files are always allowed, a live stream only while the owner allows live access. A
    /// source nobody registered is not gated. The error says why, for the operator.
    pub fn owner_allows(&self, source_id: &str, live: bool) -> Result<(), String> {
        let camera =
            self.camera_of_source(source_id).map_err(|e| format!("cannot read the camera registry: {e}"))?;
        match camera {
            Some(camera) => camera.allows(live).map_err(|why| format!("camera '{source_id}' refused: {why}")),
            None => Ok(()),
        }
    }

    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.store.delete(&keys::camera(id))
    }
}

/// Ids are what `new_id` makes: lowercase hex.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

pub fn new_id(owner: &str, now: DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{owner}\n{}", now.to_rfc3339()).as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(access: AccessLevel, condition_active: bool) -> Camera {
        Camera {
            id: "ab".into(),
            owner: "olga".into(),
            updated_at: Utc::now(),
            registration: CameraRegistration {
                source_id: Some("shop-door".into()),
                contact: "olga@example.org".into(),
                lat: 0.0,
                lon: 0.0,
                address: None,
                description: None,
                access,
                condition_active,
            },
        }
    }

    #[test]
    fn live_footage_only_where_and_while_the_owner_allows_it() {
        use AccessLevel::*;
        for (access, active, live, allowed) in [
            (RegistryOnly, false, false, true),
            (RegistryOnly, false, true, false),
            (Request, false, false, true),
            (Request, false, true, false),
            (ConditionalLive, false, true, false),
            (ConditionalLive, true, true, true),
            (ConditionalLive, false, false, true),
        ] {
            let verdict = camera(access, active).allows(live);
            assert_eq!(verdict.is_ok(), allowed, "{access:?} active={active} live={live}: {verdict:?}");
        }
    }

    #[test]
    fn distances_match_known_ones() {
        // One degree of latitude is about 111.2 km; London to Paris about 343.5 km.
        assert!((distance_m(0.0, 0.0, 1.0, 0.0) - 111_195.0).abs() < 10.0);
        assert!((distance_m(51.5074, -0.1278, 48.8566, 2.3522) - 343_500.0).abs() < 1_000.0);
        assert_eq!(distance_m(10.0, 10.0, 10.0, 10.0), 0.0);
    }
}
