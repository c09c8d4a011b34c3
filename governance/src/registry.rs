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
    /// Source id of the camera's footage in canvass, where it has any (stored as ingest names
    /// sources: lowercase, `-` for other characters). One registration per source id.
    #[serde(default)]
    pub source_id: Option<String>,
    /// The camera's stream address, where canvass may reach it live (stored without
    /// credentials). One registration per stream.
    #[serde(default)]
    pub stream_url: Option<String>,
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
    /// Compass heading the camera looks along, degrees (0 north, 90 east): lets events say
    /// "heading north" instead of only "moving left".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f32>,
    /// Named areas of the view (a driveway, a gate), searchable as `zone:NAME`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneDefinition>,
}

/// A named area of a camera's view: a polygon of 3 to 64 points, each `[x, y]` a fraction
/// (0 to 1) of the frame's width and height from its top-left corner. An object is in the zone
/// when the middle of its box's bottom edge (where it touches the ground) is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ZoneDefinition {
    pub name: String,
    pub polygon: Vec<[f32; 2]>,
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
        if let Some(source) = &self.source_id
            && (source.trim().is_empty() || source.len() > 200)
        {
            return Err("source_id: 1 to 200 characters".into());
        }
        if self.heading_deg.is_some_and(|h| !(0.0..360.0).contains(&h)) {
            return Err("heading_deg: a compass heading from 0 (north) up to 360".into());
        }
        if self.zones.len() > 32 {
            return Err("zones: at most 32 per camera".into());
        }
        for zone in &self.zones {
            if !canvass_schemas::valid_zone_name(&zone.name) {
                return Err(format!(
                    "zone '{}': names are 1 to 64 lowercase letters, digits, '-' and '_'",
                    zone.name
                ));
            }
            let in_frame = zone.polygon.iter().all(|p| p.iter().all(|v| (0.0..=1.0).contains(v)));
            if !(3..=64).contains(&zone.polygon.len()) || !in_frame {
                return Err(format!(
                    "zone '{}': 3 to 64 points, each [x, y] from 0 to 1 of the frame",
                    zone.name
                ));
            }
        }
        if self.zones.iter().enumerate().any(|(i, z)| self.zones[..i].iter().any(|o| o.name == z.name)) {
            return Err("zones: each name once".into());
        }
        if let Some(url) = &self.stream_url
            && (!url.contains("://") || url.len() > 1000)
        {
            return Err("stream_url: a URL such as rtsp://host:554/path, at most 1000 characters".into());
        }
        Ok(())
    }

    /// The registration as stored: the source id and stream address in the form ingest and the
    /// policy gate compare them.
    pub fn normalised(mut self) -> Self {
        self.source_id = self.source_id.map(|s| canvass_schemas::sanitize_source_id(&s));
        self.stream_url = self.stream_url.map(|u| canvass_schemas::normalise_stream_url(&u));
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another registration holds the source id or stream already.
    #[error("{0}")]
    Conflict(String),
}

/// What a registration claims: one registration per source id and per stream.
fn claims(registration: &CameraRegistration) -> Vec<(String, String)> {
    claim_keys(registration.source_id.as_deref(), registration.stream_url.as_deref())
}

/// The claim objects (and what they name) of a normalised source id and stream address.
fn claim_keys(source: Option<&str>, normalised_url: Option<&str>) -> Vec<(String, String)> {
    let mut claims = Vec::new();
    if let Some(source) = source {
        claims.push((keys::source_claim(source), format!("source id '{source}'")));
    }
    if let Some(url) = normalised_url {
        claims.push((keys::stream_claim(&stream_digest(url)), format!("stream {url}")));
    }
    claims
}

fn stream_digest(normalised_url: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(normalised_url.as_bytes())[..16].iter().map(|b| format!("{b:02x}")).collect()
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

    fn put(&self, camera: &Camera) -> Result<(), StoreError> {
        self.store.put(&keys::camera(&camera.id), &serde_json::to_vec(camera).expect("cameras serialise"))
    }

    /// Takes `key` for camera `id`, atomically; a claim whose camera no longer exists (a crash
    /// between claiming and saving) is taken over.
    fn claim(&self, key: &str, what: &str, id: &str) -> Result<(), RegistryError> {
        for _ in 0..3 {
            if self.store.put_new(key, id.as_bytes())? {
                return Ok(());
            }
            let holder = match self.store.get(key) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            if holder == id {
                return Ok(());
            }
            if self.get(&holder)?.is_some() {
                return Err(RegistryError::Conflict(format!(
                    "{what} is registered already (camera {holder}); only one registration may govern it"
                )));
            }
            self.store.delete(key)?;
        }
        Err(RegistryError::Conflict(format!("{what}: another registration is being made at the same time")))
    }

    /// Lets go of `key` if camera `id` holds it.
    fn release(&self, key: &str, id: &str) -> Result<(), StoreError> {
        match self.store.get(key) {
            Ok(bytes) if bytes == id.as_bytes() => self.store.delete(key),
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Saves a new registration; its source id and stream must not belong to another.
    pub fn register(&self, camera: &Camera) -> Result<(), RegistryError> {
        for (key, what) in claims(&camera.registration) {
            self.claim(&key, &what, &camera.id)?;
        }
        Ok(self.put(camera)?)
    }

    /// Replaces a registration: claims what it newly names, then lets go of what it no longer does.
    pub fn update(&self, before: &Camera, after: &Camera) -> Result<(), RegistryError> {
        let old = claims(&before.registration);
        let new = claims(&after.registration);
        for (key, what) in &new {
            self.claim(key, what, &after.id)?;
        }
        self.put(after)?;
        for (key, _) in old.iter().filter(|(k, _)| !new.iter().any(|(n, _)| n == k)) {
            self.release(key, &before.id)?;
        }
        Ok(())
    }

    pub fn remove(&self, camera: &Camera) -> Result<(), StoreError> {
        self.store.delete(&keys::camera(&camera.id))?;
        for (key, _) in claims(&camera.registration) {
            self.release(&key, &camera.id)?;
        }
        Ok(())
    }

    /// The registrations that govern footage of `source_id` (from `stream`, when it is one):
    /// every camera registered under that source id or stream address, compared in the form
    /// ingest names them. Reads the whole registry, so registrations made before claims
    /// existed are found too.
    pub fn governing(&self, source_id: &str, stream: Option<&str>) -> Result<Vec<Camera>, StoreError> {
        let source = canvass_schemas::sanitize_source_id(source_id);
        let url = stream.map(canvass_schemas::normalise_stream_url);
        Ok(self
            .all()?
            .into_iter()
            .filter(|c| {
                let r = c.registration.clone().normalised();
                r.source_id.as_deref() == Some(source.as_str())
                    || (url.is_some() && r.stream_url.as_deref() == url.as_deref())
            })
            .collect())
    }

    /// The owners' policy on footage of `source_id` (from `stream`, when it is one): stored
    /// files are always allowed, a live stream only while every governing registration allows
    /// live access. A source nobody registered is not gated. Returns the governing cameras'
    /// ids, for `still_allows`; the error says why, for the operator.
    pub fn owner_allows(
        &self,
        source_id: &str,
        stream: Option<&str>,
        live: bool,
    ) -> Result<Vec<String>, String> {
        let cameras =
            self.governing(source_id, stream).map_err(|e| format!("cannot read the camera registry: {e}"))?;
        for camera in &cameras {
            camera.allows(live).map_err(|why| format!("camera '{source_id}' refused: {why}"))?;
        }
        Ok(cameras.into_iter().map(|c| c.id).collect())
    }

    /// Re-checks a running live stream cheaply: the cameras that governed it at the start
    /// (one read each) and any registration made since (by its claims). A governing
    /// registration that was removed ends live access too.
    pub fn still_allows(
        &self,
        governing: &[String],
        source_id: &str,
        stream: Option<&str>,
    ) -> Result<(), String> {
        let unreadable = |e: StoreError| format!("cannot read the camera registry: {e}");
        let mut ids: Vec<String> = governing.to_vec();
        let source = canvass_schemas::sanitize_source_id(source_id);
        let url = stream.map(canvass_schemas::normalise_stream_url);
        for (key, _) in claim_keys(Some(&source), url.as_deref()) {
            match self.store.get(&key) {
                Ok(bytes) => ids.push(String::from_utf8_lossy(&bytes).into_owned()),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(unreadable(e)),
            }
        }
        ids.sort();
        ids.dedup();
        for id in ids {
            match self.get(&id).map_err(unreadable)? {
                Some(camera) => {
                    camera.allows(true).map_err(|why| format!("camera '{source_id}' refused: {why}"))?
                }
                None if governing.contains(&id) => {
                    return Err(format!("camera '{source_id}': its owner removed the registration"));
                }
                None => {}
            }
        }
        Ok(())
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
                stream_url: None,
                contact: "olga@example.org".into(),
                lat: 0.0,
                lon: 0.0,
                address: None,
                description: None,
                access,
                condition_active,
                heading_deg: None,
                zones: Vec::new(),
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
