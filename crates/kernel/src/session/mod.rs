//! Server-side sessions with Django's semantics.
//!
//! The cookie holds only a random key of 32 characters `[a-z0-9]`; the data lives in the store
//! (the database by default). A session is loaded the first time a handler reads it and saved
//! after the response only if it changed. `cycle_key` gives the session a new key and keeps its
//! data (done at sign-in against fixation); `flush` empties it and drops the key (sign-out).
//! Optional idle and absolute timeouts implement the ASVS profile.

pub mod flash;
mod store;

use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

pub use store::{CachedDbSessionStore, DbSessionStore, RedisSessionStore, SessionRecord, SessionStore, entity};

use crate::error::Error;
use crate::time::Clock;

/// Length of a session key.
pub const KEY_LENGTH: usize = 32;
const LAST_ACTIVITY: &str = "_last_activity";
const STARTED: &str = "_session_started";

/// Whether `key` has the shape of a session key (so junk cookies never reach the store).
pub fn is_valid_key(key: &str) -> bool {
    key.len() == KEY_LENGTH && key.bytes().all(|b| crate::crypto::LOWER_ALNUM.contains(&b))
}

/// A new random session key.
pub fn new_key() -> String {
    crate::crypto::random_string(KEY_LENGTH, crate::crypto::LOWER_ALNUM)
}

/// Lifetimes that apply to a session.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Cookie and row lifetime.
    pub age: Duration,
    /// Idle timeout, if any.
    pub idle: Option<Duration>,
    /// Absolute timeout, if any.
    pub absolute: Option<Duration>,
}

impl Lifetimes {
    /// The lifetimes the settings give.
    pub fn from_settings(settings: &crate::config::SessionSettings) -> Self {
        let positive = |s: u64| (s > 0).then(|| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX)));
        Self {
            age: Duration::seconds(i64::try_from(settings.cookie_age_seconds).unwrap_or(i64::MAX)),
            idle: positive(settings.idle_timeout_seconds),
            absolute: positive(settings.absolute_timeout_seconds),
        }
    }
}

/// The current request's session; cheap to clone.
#[derive(Clone)]
pub struct Session(Arc<Inner>);

struct Inner {
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    lifetimes: Lifetimes,
    cookie_key: Option<String>,
    loaded: OnceCell<()>,
    state: Mutex<SessionState>,
}

#[derive(Debug, Default)]
struct SessionState {
    key: Option<String>,
    data: Map<String, Value>,
    modified: bool,
    stale_keys: Vec<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("has_cookie", &self.0.cookie_key.is_some()).finish_non_exhaustive()
    }
}

/// What the response must do with the session cookie.
#[derive(Debug, PartialEq, Eq)]
pub enum CookieAction {
    /// Nothing changed.
    Keep,
    /// Send this key.
    Set(String),
    /// Remove the cookie.
    Delete,
    /// The session ended (signed out elsewhere) while this request ran: nothing was saved, no
    /// cookie is sent, and the request is answered 400 (Django's `SessionInterrupted`).
    Interrupted,
}

impl Session {
    /// A session for a request that sent `cookie_key` (already checked with [`is_valid_key`]).
    pub fn new(
        store: Arc<dyn SessionStore>,
        clock: Arc<dyn Clock>,
        lifetimes: Lifetimes,
        cookie_key: Option<String>,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            clock,
            lifetimes,
            cookie_key,
            loaded: OnceCell::new(),
            state: Mutex::new(SessionState::default()),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.0.state.lock().expect("session lock")
    }

    /// Loads the session from the store once; later calls return at once.
    pub async fn load(&self) -> Result<(), Error> {
        self.0
            .loaded
            .get_or_try_init(|| async {
                let now = self.0.clock.now();
                let record = match &self.0.cookie_key {
                    Some(key) => self.0.store.load(key, now).await?,
                    None => None,
                };
                let mut state = self.state();
                if let Some(record) = record {
                    state.key = self.0.cookie_key.clone();
                    state.data = record.data;
                    if self.timed_out(&state.data, now) {
                        // Expired by the ASVS profile: forget everything, drop the row.
                        state.data.clear();
                        let stale = state.key.take();
                        state.stale_keys.extend(stale);
                        state.modified = true;
                    }
                }
                if self.0.lifetimes.idle.is_some() && !state.data.is_empty() {
                    state.data.insert(LAST_ACTIVITY.into(), Value::from(now.timestamp()));
                    state.modified = true;
                }
                Ok::<(), Error>(())
            })
            .await
            .map(|_| ())
    }

    fn timed_out(&self, data: &Map<String, Value>, now: DateTime<Utc>) -> bool {
        let older_than = |key: &str, limit: Option<Duration>| match (limit, data.get(key).and_then(Value::as_i64)) {
            (Some(limit), Some(at)) => DateTime::from_timestamp(at, 0).is_some_and(|at| now - at > limit),
            _ => false,
        };
        older_than(LAST_ACTIVITY, self.0.lifetimes.idle) || older_than(STARTED, self.0.lifetimes.absolute)
    }

    /// Reads a value.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        self.load().await?;
        Ok(self.state().data.get(key).and_then(|v| serde_json::from_value(v.clone()).ok()))
    }

    /// Stores a value.
    pub async fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), Error> {
        self.load().await?;
        let value = serde_json::to_value(value).map_err(Error::internal)?;
        let now = self.0.clock.now().timestamp();
        let mut state = self.state();
        if state.data.is_empty() {
            if self.0.lifetimes.absolute.is_some() {
                state.data.insert(STARTED.into(), Value::from(now));
            }
            if self.0.lifetimes.idle.is_some() {
                state.data.insert(LAST_ACTIVITY.into(), Value::from(now));
            }
        }
        state.data.insert(key.to_owned(), value);
        state.modified = true;
        Ok(())
    }

    /// Removes a value and returns it.
    pub async fn remove(&self, key: &str) -> Result<Option<Value>, Error> {
        self.load().await?;
        let mut state = self.state();
        let old = state.data.remove(key);
        state.modified |= old.is_some();
        Ok(old)
    }

    /// Gives the session a new key, keeping its data (Django's `cycle_key`).
    pub async fn cycle_key(&self) -> Result<(), Error> {
        self.load().await?;
        let mut state = self.state();
        if let Some(old) = state.key.take() {
            state.stale_keys.push(old);
        }
        state.modified = true;
        Ok(())
    }

    /// Empties the session and drops its key (Django's `flush`).
    pub async fn flush(&self) -> Result<(), Error> {
        self.load().await?;
        let mut state = self.state();
        state.data.clear();
        if let Some(old) = state.key.take() {
            state.stale_keys.push(old);
        }
        state.modified = true;
        Ok(())
    }

    /// Whether a handler read the session (so the response varies by its cookie).
    pub(crate) fn was_loaded(&self) -> bool {
        self.0.loaded.get().is_some()
    }

    /// Removes and returns a value of an already loaded session (for template rendering).
    pub(crate) fn take_loaded(&self, key: &str) -> Option<Value> {
        self.0.loaded.get()?;
        let mut state = self.state();
        let old = state.data.remove(key);
        state.modified |= old.is_some();
        old
    }

    /// The key the session will be saved under, if it has one yet.
    pub fn key(&self) -> Option<String> {
        self.state().key.clone()
    }

    /// Saves a changed session and tells the caller what to do with the cookie.
    pub async fn commit(&self) -> Result<CookieAction, Error> {
        if self.0.loaded.get().is_none() {
            return Ok(CookieAction::Keep);
        }
        let (modified, stale, key, data) = {
            let mut state = self.state();
            (state.modified, std::mem::take(&mut state.stale_keys), state.key.clone(), state.data.clone())
        };
        if !modified {
            return Ok(CookieAction::Keep);
        }
        let mut ended = false;
        for old in &stale {
            ended |= !self.0.store.delete(old).await?;
        }
        if data.is_empty() {
            if let Some(key) = key {
                self.0.store.delete(&key).await?;
            }
            self.state().modified = false;
            return Ok(if self.0.cookie_key.is_some() { CookieAction::Delete } else { CookieAction::Keep });
        }
        if ended && self.0.cookie_key.is_some() {
            // A new key for a session that ended meanwhile (sign-in racing a sign-out).
            tracing::info!(target: "quartet::security", "session ended by another request; not saved");
            return Ok(CookieAction::Interrupted);
        }
        let expires = self.0.clock.now() + self.0.lifetimes.age;
        let key = match key {
            Some(key) => {
                if !self.0.store.save(&key, &data, expires).await? {
                    tracing::info!(target: "quartet::security", "session ended by another request; not saved");
                    self.state().modified = false;
                    return Ok(CookieAction::Interrupted);
                }
                key
            }
            None => self.0.store.create(&data, expires).await?,
        };
        let mut state = self.state();
        state.key = Some(key.clone());
        state.modified = false;
        Ok(CookieAction::Set(key))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("the session layer is not installed on this route")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;
    use std::collections::HashMap;

    type Stored = HashMap<String, (Map<String, Value>, DateTime<Utc>)>;

    #[derive(Debug, Default)]
    struct MemoryStore(Mutex<Stored>);

    #[async_trait::async_trait]
    impl SessionStore for MemoryStore {
        async fn load(&self, key: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, Error> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .get(key)
                .filter(|(_, exp)| *exp > now)
                .map(|(data, expires)| SessionRecord { data: data.clone(), expires: *expires }))
        }
        async fn save(&self, key: &str, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<bool, Error> {
            Ok(self.0.lock().unwrap().get_mut(key).map(|slot| *slot = (data.clone(), expires)).is_some())
        }
        async fn create(&self, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<String, Error> {
            let key = new_key();
            self.0.lock().unwrap().insert(key.clone(), (data.clone(), expires));
            Ok(key)
        }
        async fn delete(&self, key: &str) -> Result<bool, Error> {
            Ok(self.0.lock().unwrap().remove(key).is_some())
        }
        async fn clear_expired(&self, _now: DateTime<Utc>) -> Result<u64, Error> {
            Ok(0)
        }
    }

    fn lifetimes() -> Lifetimes {
        Lifetimes { age: Duration::days(14), idle: None, absolute: None }
    }

    #[tokio::test]
    async fn an_untouched_session_sets_no_cookie() {
        let s = Session::new(Arc::new(MemoryStore::default()), Arc::new(ManualClock::new()), lifetimes(), None);
        assert_eq!(s.commit().await.unwrap(), CookieAction::Keep);
        s.load().await.unwrap();
        assert_eq!(s.commit().await.unwrap(), CookieAction::Keep);
    }

    #[tokio::test]
    async fn data_survives_a_round_trip_and_cycle_key_keeps_it_under_a_new_key() {
        let store: Arc<MemoryStore> = Arc::default();
        let clock = Arc::new(ManualClock::new());
        let s = Session::new(store.clone(), clock.clone(), lifetimes(), None);
        s.insert("cart", vec![1, 2]).await.unwrap();
        let CookieAction::Set(k1) = s.commit().await.unwrap() else { panic!() };
        assert!(is_valid_key(&k1));

        let s = Session::new(store.clone(), clock.clone(), lifetimes(), Some(k1.clone()));
        assert_eq!(s.get::<Vec<i32>>("cart").await.unwrap(), Some(vec![1, 2]));
        s.cycle_key().await.unwrap();
        let CookieAction::Set(k2) = s.commit().await.unwrap() else { panic!() };
        assert_ne!(k1, k2);
        assert!(store.0.lock().unwrap().get(&k1).is_none(), "the old row is gone");
        let s = Session::new(store.clone(), clock, lifetimes(), Some(k2));
        assert_eq!(s.get::<Vec<i32>>("cart").await.unwrap(), Some(vec![1, 2]));
    }

    #[tokio::test]
    async fn flush_deletes_the_row_and_the_cookie() {
        let store: Arc<MemoryStore> = Arc::default();
        let clock = Arc::new(ManualClock::new());
        let s = Session::new(store.clone(), clock.clone(), lifetimes(), None);
        s.insert("a", 1).await.unwrap();
        let CookieAction::Set(k) = s.commit().await.unwrap() else { panic!() };
        let s = Session::new(store.clone(), clock, lifetimes(), Some(k.clone()));
        s.flush().await.unwrap();
        assert_eq!(s.commit().await.unwrap(), CookieAction::Delete);
        assert!(store.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_session_deleted_meanwhile_is_not_saved_again() {
        let store: Arc<MemoryStore> = Arc::default();
        let clock = Arc::new(ManualClock::new());
        let s = Session::new(store.clone(), clock.clone(), lifetimes(), None);
        s.insert("user", 1).await.unwrap();
        let CookieAction::Set(key) = s.commit().await.unwrap() else { panic!() };
        // Two requests on the same session: one signs out, the other was in flight.
        let in_flight = Session::new(store.clone(), clock.clone(), lifetimes(), Some(key.clone()));
        in_flight.load().await.unwrap();
        let rotating = Session::new(store.clone(), clock.clone(), lifetimes(), Some(key.clone()));
        rotating.load().await.unwrap();
        let logout = Session::new(store.clone(), clock.clone(), lifetimes(), Some(key.clone()));
        logout.flush().await.unwrap();
        assert_eq!(logout.commit().await.unwrap(), CookieAction::Delete);
        in_flight.insert("seen", true).await.unwrap();
        assert_eq!(in_flight.commit().await.unwrap(), CookieAction::Interrupted);
        rotating.cycle_key().await.unwrap();
        assert_eq!(rotating.commit().await.unwrap(), CookieAction::Interrupted, "no new key for an ended session");
        assert!(store.0.lock().unwrap().is_empty(), "nothing came back");
    }

    #[tokio::test]
    async fn expired_rows_load_as_empty_sessions() {
        let store: Arc<MemoryStore> = Arc::default();
        let clock = Arc::new(ManualClock::new());
        let s = Session::new(store.clone(), clock.clone(), lifetimes(), None);
        s.insert("a", 1).await.unwrap();
        let CookieAction::Set(k) = s.commit().await.unwrap() else { panic!() };
        clock.advance(Duration::days(15));
        let s = Session::new(store, clock, lifetimes(), Some(k));
        assert_eq!(s.get::<i32>("a").await.unwrap(), None);
    }

    #[tokio::test]
    async fn idle_and_absolute_timeouts_empty_the_session() {
        let store: Arc<MemoryStore> = Arc::default();
        let clock = Arc::new(ManualClock::new());
        let asvs = Lifetimes {
            age: Duration::days(14),
            idle: Some(Duration::minutes(30)),
            absolute: Some(Duration::hours(12)),
        };
        let s = Session::new(store.clone(), clock.clone(), asvs, None);
        s.insert("user", 7).await.unwrap();
        let CookieAction::Set(mut key) = s.commit().await.unwrap() else { panic!() };
        // Active every 29 minutes: still signed in after 11 hours...
        for _ in 0..22 {
            clock.advance(Duration::minutes(29));
            let s = Session::new(store.clone(), clock.clone(), asvs, Some(key.clone()));
            assert_eq!(s.get::<i32>("user").await.unwrap(), Some(7));
            if let CookieAction::Set(k) = s.commit().await.unwrap() {
                key = k;
            }
        }
        // ...but not after 12 hours since the start.
        clock.advance(Duration::minutes(80));
        let s = Session::new(store.clone(), clock.clone(), asvs, Some(key));
        assert_eq!(s.get::<i32>("user").await.unwrap(), None);

        let s = Session::new(store.clone(), clock.clone(), asvs, None);
        s.insert("user", 8).await.unwrap();
        let CookieAction::Set(key) = s.commit().await.unwrap() else { panic!() };
        clock.advance(Duration::minutes(31));
        let s = Session::new(store, clock, asvs, Some(key));
        assert_eq!(s.get::<i32>("user").await.unwrap(), None, "idle for 31 minutes");
    }
}
