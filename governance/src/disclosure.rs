//! No mass download: each user may be shown at most `limit` events (search results, event
//! views, thumbnails, stills, exports) in any rolling window of `window_hours`. The count lives
//! in the store, so a restart or another replica of the service sees the same budget.
//!
//! Each disclosure is one small object, `disclosure/v1/user=<hex name>/<seq>.json`, holding the
//! hour it was made in and how many events it showed. A taker lists the user's objects, sums
//! those inside the window, and writes the next `seq` only if no object has it
//! (create-if-absent, keyed by the sequence number alone), so two replicas taking at once
//! cannot both spend the last of a budget: the loser lists again and is checked against the
//! winner's spending. Records never change, so each process reads each one once.

use std::collections::HashMap;
use std::sync::Mutex;

use canvass_store::{ObjectStore, StoreError, keys};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// How much of a user's budget is spent, and when the oldest spending in the window drops out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub used: u64,
    pub limit: u64,
    pub window_hours: u32,
    /// When some of `used` is freed; `None` when nothing is spent.
    pub frees_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "disclosure budget spent: {} of {} events shown in the last {} h, {asked} more asked (no mass download); {}",
        usage.used, usage.limit, usage.window_hours, frees_text(usage)
    )]
    Exceeded { usage: Usage, asked: u64 },
    #[error("other requests kept taking the budget at the same moment; gave up after {0} tries")]
    Contended(usize),
}

fn frees_text(usage: &Usage) -> String {
    match usage.frees_at {
        Some(at) => format!("more is free from {}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => "ask for fewer events".into(),
    }
}

pub struct DisclosureBudget<S> {
    store: S,
    limit: u64,
    window_hours: u32,
    /// Records read so far, by key (they never change).
    known: Mutex<HashMap<String, Record>>,
}

/// One disclosure, as stored.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Record {
    hour: i64,
    events: u64,
}

/// One spending: its record and where it is.
struct Spent {
    key: String,
    seq: u64,
    hour: i64,
    events: u64,
}

const TRIES: usize = 64;

fn user_prefix(user: &str) -> String {
    format!("{}user={}/", keys::DISCLOSURES, canvass_store::secret::hex(user.as_bytes()))
}

fn user_of(dir: &str) -> Option<String> {
    let hex = dir.trim_end_matches('/').rsplit('/').next()?.strip_prefix("user=")?;
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

/// The sequence number a record's key carries.
fn seq_of(key: &str) -> Option<u64> {
    key.rsplit('/').next()?.strip_suffix(".json")?.parse().ok()
}

fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

impl<S: ObjectStore> DisclosureBudget<S> {
    pub fn new(store: S, limit: u64, window_hours: u32) -> Self {
        DisclosureBudget { store, limit, window_hours: window_hours.max(1), known: Mutex::default() }
    }

    /// The record at `key`: remembered, or read (`None` if it went meanwhile).
    fn record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        if let Some(record) = self.known.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Ok(Some(*record));
        }
        let record: Record = match self.store.get(key) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Permanent {
                key: key.into(),
                reason: format!("not a disclosure record: {e}"),
            })?,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.known.lock().unwrap_or_else(|p| p.into_inner()).insert(key.into(), record);
        Ok(Some(record))
    }

    fn forget(&self, key: &str) {
        let _ = self.store.delete(key);
        self.known.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// The user's spendings, oldest first; those that left the window are deleted on the way.
    fn spent(&self, user: &str, now: DateTime<Utc>) -> Result<Vec<Spent>, StoreError> {
        let oldest_hour = hour_of(now) - self.window_hours as i64 + 1;
        let mut spent: Vec<Spent> = Vec::new();
        let mut newest: Option<Spent> = None;
        for object in self.store.list(&user_prefix(user))? {
            let Some(seq) = seq_of(&object.key) else {
                tracing::warn!(key = %object.key, "not a disclosure record; ignored");
                continue;
            };
            let Some(record) = self.record(&object.key)? else { continue };
            let s = Spent { key: object.key, seq, hour: record.hour, events: record.events };
            if s.hour >= oldest_hour {
                spent.push(s);
            } else if newest.as_ref().is_none_or(|n| s.seq > n.seq) {
                // Expired: delete, except the newest record, which keeps the sequence going.
                if let Some(older) = newest.replace(s) {
                    self.forget(&older.key);
                }
            } else {
                self.forget(&s.key);
            }
        }
        if let Some(newest) = newest {
            if spent.iter().all(|s| s.seq < newest.seq) {
                spent.push(Spent { events: 0, ..newest });
            } else {
                self.forget(&newest.key);
            }
        }
        spent.sort_by_key(|s| s.seq);
        Ok(spent)
    }

    fn usage_of(&self, spent: &[Spent]) -> Usage {
        let used: u64 = spent.iter().map(|s| s.events).sum();
        let frees_at = spent
            .iter()
            .filter(|s| s.events > 0)
            .map(|s| s.hour)
            .min()
            .and_then(|hour| Utc.timestamp_opt((hour + self.window_hours as i64) * 3600, 0).single());
        Usage { used, limit: self.limit, window_hours: self.window_hours, frees_at }
    }

    /// What `user` has spent at `now`.
    pub fn usage(&self, user: &str, now: DateTime<Utc>) -> Result<Usage, StoreError> {
        Ok(self.usage_of(&self.spent(user, now)?))
    }

    /// Spends `events` of `user`'s budget, or refuses (spending nothing) if it would go over.
    pub fn take(&self, user: &str, events: u64, now: DateTime<Utc>) -> Result<Usage, DisclosureError> {
        if events == 0 {
            return Ok(self.usage(user, now)?);
        }
        for _ in 0..TRIES {
            let spent = self.spent(user, now)?;
            let usage = self.usage_of(&spent);
            if usage.used + events > self.limit {
                return Err(DisclosureError::Exceeded { usage, asked: events });
            }
            let seq = spent.last().map_or(0, |s| s.seq + 1);
            let key = format!("{}{seq:012}.json", user_prefix(user));
            let record = Record { hour: hour_of(now), events };
            let body = serde_json::to_vec(&record).expect("records serialise");
            if self.store.put_new(&key, &body)? {
                self.known.lock().unwrap_or_else(|p| p.into_inner()).insert(key, record);
                let frees_now =
                    Utc.timestamp_opt((hour_of(now) + self.window_hours as i64) * 3600, 0).single();
                return Ok(Usage {
                    used: usage.used + events,
                    frees_at: usage.frees_at.or(frees_now),
                    ..usage
                });
            }
        }
        Err(DisclosureError::Contended(TRIES))
    }

    /// Every user with spending in the window, with their usage.
    pub fn all(&self, now: DateTime<Utc>) -> Result<Vec<(String, Usage)>, StoreError> {
        let mut users = Vec::new();
        for dir in self.store.list_dirs(keys::DISCLOSURES)? {
            let Some(user) = user_of(&dir) else { continue };
            let usage = self.usage(&user, now)?;
            if usage.used > 0 {
                users.push((user, usage));
            }
        }
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use canvass_store::LocalStore;
    use chrono::Duration;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + Duration::hours(hour as i64)
    }

    #[test]
    fn a_budget_is_spent_refused_and_freed_as_the_window_rolls() {
        let dir = tempfile::tempdir().unwrap();
        let budget = DisclosureBudget::new(LocalStore::new(dir.path()), 100, 24);
        assert_eq!(budget.take("ana", 60, at(1)).unwrap().used, 60);
        assert_eq!(budget.take("ana", 40, at(5)).unwrap().used, 100);
        let Err(DisclosureError::Exceeded { usage, asked }) = budget.take("ana", 1, at(6)) else {
            panic!("over budget")
        };
        assert_eq!((usage.used, asked, usage.frees_at), (100, 1, Some(at(25))));
        assert_eq!(budget.usage("bo", at(6)).unwrap().used, 0, "another user's budget is their own");
        // Hour 25: the 60 of hour 1 left the window; the 40 of hour 5 have not.
        assert_eq!(budget.take("ana", 60, at(25)).unwrap().used, 100);
        assert!(budget.take("ana", 1, at(28)).is_err());
        assert_eq!(budget.usage("ana", at(29)).unwrap().used, 60);
        let all = budget.all(at(29)).unwrap();
        assert_eq!(all.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(), ["ana"]);
    }

    #[test]
    fn a_restarted_service_sees_the_same_spending() {
        let dir = tempfile::tempdir().unwrap();
        DisclosureBudget::new(LocalStore::new(dir.path()), 10, 24).take("ana", 10, at(1)).unwrap();
        let restarted = DisclosureBudget::new(LocalStore::new(dir.path()), 10, 24);
        assert!(matches!(restarted.take("ana", 1, at(2)), Err(DisclosureError::Exceeded { .. })));
    }

    #[test]
    fn user_names_of_any_spelling_round_trip_through_keys() {
        for name in ["ana", "Ana Müller", "x/../y", ""] {
            assert_eq!(user_of(&user_prefix(name)).as_deref(), Some(name));
        }
    }
}
