//! `near`: a place in a query, turned into the registered cameras around it.

use std::collections::BTreeSet;
use std::fmt;

use canvass_governance::registry::{Camera, distance_m};

use super::{Query, QueryError};

/// Cameras this close to a camera named in `near <place>` are near it too.
pub const NEAR_PLACE_RADIUS_M: f64 = 300.0;
/// `near:lat,lon` without a radius.
pub const DEFAULT_RADIUS_M: f64 = 500.0;
const MAX_RADIUS_M: f64 = 100_000.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Near {
    /// A camera's source id, address or description, as written.
    Place(String),
    Point {
        lat: f64,
        lon: f64,
        radius_m: f64,
    },
}

impl fmt::Display for Near {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Near::Place(place) => {
                write!(f, "{place} (cameras named or addressed so, and within {NEAR_PLACE_RADIUS_M} m)")
            }
            Near::Point { lat, lon, radius_m } => write!(f, "within {radius_m} m of {lat},{lon}"),
        }
    }
}

/// Words of a place as people abbreviate them, lowercased: "Main St." and "main street" meet.
fn place_words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            match w {
                "st" => "street",
                "rd" => "road",
                "ave" | "av" => "avenue",
                "blvd" => "boulevard",
                "dr" => "drive",
                "ln" => "lane",
                "sq" => "square",
                "pl" => "place",
                other => other,
            }
            .to_string()
        })
        .collect()
}

/// The source ids of the cameras with footage registered within `radius_m` of a point.
pub fn sources_within(cameras: &[Camera], lat: f64, lon: f64, radius_m: f64) -> BTreeSet<String> {
    cameras
        .iter()
        .filter(|c| distance_m(lat, lon, c.registration.lat, c.registration.lon) <= radius_m)
        .filter_map(|c| c.registration.source_id.clone())
        .collect()
}

impl Near {
    /// `lat,lon[,radius]`, the radius in m or km (default 500 m).
    pub fn point(value: &str) -> Result<Near, String> {
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        let (lat, lon, radius) = match parts.as_slice() {
            [lat, lon] => (lat, lon, None),
            [lat, lon, radius] => (lat, lon, Some(*radius)),
            _ => return Err("is not lat,lon or lat,lon,500m".into()),
        };
        let (lat, lon): (f64, f64) = match (lat.parse(), lon.parse()) {
            (Ok(lat), Ok(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => {
                (lat, lon)
            }
            _ => return Err("is not a place on Earth (lat,lon in degrees)".into()),
        };
        let radius_m = match radius {
            None => DEFAULT_RADIUS_M,
            Some(r) => {
                let (number, scale) = match (r.strip_suffix("km"), r.strip_suffix('m')) {
                    (Some(n), _) => (n, 1000.0),
                    (_, Some(n)) => (n, 1.0),
                    _ => (r, 1.0),
                };
                number
                    .parse::<f64>()
                    .ok()
                    .map(|n| n * scale)
                    .filter(|m| m.is_finite() && *m > 0.0 && *m <= MAX_RADIUS_M)
                    .ok_or("has a radius that is not 1 m to 100 km (500m, 2km)")?
            }
        };
        Ok(Near::Point { lat, lon, radius_m })
    }

    /// The source ids of the cameras with footage near here.
    fn sources(&self, cameras: &[Camera]) -> Result<BTreeSet<String>, String> {
        let within = |lat: f64, lon: f64, radius: f64| sources_within(cameras, lat, lon, radius);
        match self {
            Near::Point { lat, lon, radius_m } => {
                let found = within(*lat, *lon, *radius_m);
                if found.is_empty() {
                    return Err(format!(
                        "no registered camera with footage within {radius_m} m of {lat},{lon}"
                    ));
                }
                Ok(found)
            }
            Near::Place(place) => {
                let wanted = place_words(place);
                let named: Vec<&Camera> = cameras
                    .iter()
                    .filter(|c| {
                        let r = &c.registration;
                        [r.source_id.as_deref(), r.address.as_deref(), r.description.as_deref()]
                            .into_iter()
                            .flatten()
                            .any(|name| {
                                let words = place_words(name);
                                wanted.iter().all(|w| words.contains(w))
                            })
                    })
                    .collect();
                if named.is_empty() {
                    return Err(format!(
                        "near {place}: no registered camera has that name, address or description; \
                         give a camera id (near main-st-1) or a point (near:lat,lon,500m)"
                    ));
                }
                let found: BTreeSet<String> = named
                    .iter()
                    .flat_map(|c| within(c.registration.lat, c.registration.lon, NEAR_PLACE_RADIUS_M))
                    .collect();
                if found.is_empty() {
                    return Err(format!("near {place}: the cameras there have no footage in canvass"));
                }
                Ok(found)
            }
        }
    }
}

impl Query {
    /// Turns `near` into the sources of the cameras around it (narrowing `sources` when the
    /// query names some too). An error when no camera with footage is there: a place that
    /// matches nothing must never widen a search to every camera.
    pub fn resolve_near(&mut self, cameras: &[Camera]) -> Result<(), QueryError> {
        let Some(near) = &self.near else { return Ok(()) };
        let found = near.sources(cameras).map_err(QueryError::Near)?;
        self.sources = if self.sources.is_empty() {
            found
        } else {
            let both: BTreeSet<String> = self.sources.intersection(&found).cloned().collect();
            if both.is_empty() {
                return Err(QueryError::Near(format!("no camera named in the query is {near}")));
            }
            both
        };
        self.near_resolved = true;
        Ok(())
    }
}
