//! Increments held in memory and written together: with the database backend a page view must
//! not be a write transaction (`kv.flush_interval_ms`). Each key remembers the value last read
//! or written (`stored`), what is being written (`in_flight`) and what was added since
//! (`pending`); an increment answers their sum, which is exact for this instance and misses at
//! most one interval of the other instances' increments. A failed write keeps its increments
//! for the next one.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Add;
use std::sync::Mutex;

use super::{KvResult, KvStore};

#[derive(Debug, Clone, Copy, Default)]
struct Slot<T> {
    stored: T,
    in_flight: T,
    pending: T,
}

impl<T: Copy + Add<Output = T>> Slot<T> {
    fn value(&self) -> T {
        self.stored + self.in_flight + self.pending
    }
}

/// One kind of value (counters or scores) by key.
#[derive(Debug)]
struct Slots<K, T>(HashMap<K, Slot<T>>);

impl<K: Eq + Hash + Clone, T: Copy + Default + PartialEq + Add<Output = T>> Slots<K, T> {
    /// Adds `by` to a key held here and answers its value.
    fn add(&mut self, key: &K, by: T) -> Option<T> {
        let slot = self.0.get_mut(key)?;
        slot.pending = slot.pending + by;
        Some(slot.value())
    }

    /// Holds `key`, read as `stored`, with `by` added (another caller may have held it
    /// meanwhile: its value then stands).
    fn hold(&mut self, key: K, stored: T, by: T) -> T {
        let slot = self.0.entry(key).or_insert(Slot { stored, ..Slot::default() });
        slot.pending = slot.pending + by;
        slot.value()
    }

    /// Forgets the keys nothing was added to since the last write, and moves what was added
    /// to the others into `in_flight`: the list to write.
    fn take(&mut self) -> Vec<(K, T)> {
        let zero = T::default();
        self.0.retain(|_, slot| slot.pending != zero);
        self.0
            .iter_mut()
            .map(|(key, slot)| {
                slot.in_flight = slot.pending;
                slot.pending = zero;
                (key.clone(), slot.in_flight)
            })
            .collect()
    }

    /// The write succeeded: each key's value as the store now holds it.
    fn written(&mut self, values: impl IntoIterator<Item = (K, T)>) {
        for (key, value) in values {
            if let Some(slot) = self.0.get_mut(&key) {
                *slot = Slot { stored: value, in_flight: T::default(), pending: slot.pending };
            }
        }
    }

    /// The write failed: what was in flight waits for the next one.
    fn failed(&mut self) {
        for slot in self.0.values_mut() {
            slot.pending = slot.pending + slot.in_flight;
            slot.in_flight = T::default();
        }
    }
}

/// A set member's key: (set, member).
pub type Member = (String, String);

#[derive(Debug)]
struct Held {
    counters: Slots<String, i64>,
    scores: Slots<Member, f64>,
}

/// The increments of the site's key-value store between two writes.
#[derive(Debug)]
pub(super) struct Batch {
    held: Mutex<Held>,
    max_keys: usize,
    /// One write at a time (the timer's and a stop's).
    writing: tokio::sync::Mutex<()>,
}

/// What one batched write carries ([`super::KvStore::apply`]).
#[derive(Debug)]
pub struct Writes {
    /// What to add to each counter.
    pub counters: Vec<(String, i64)>,
    /// What to add to each member's score.
    pub scores: Vec<(Member, f64)>,
}

impl Batch {
    pub(super) fn new(max_keys: usize) -> Self {
        Self {
            held: Mutex::new(Held { counters: Slots(HashMap::new()), scores: Slots(HashMap::new()) }),
            max_keys,
            writing: tokio::sync::Mutex::new(()),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn has_room(&self) -> bool {
        let held = self.held();
        held.counters.0.len() + held.scores.0.len() < self.max_keys
    }

    /// Adds `by` to the counter `key` when it is held, or when there is room to hold it after
    /// reading it with `read`; `None` when the batch is full (the caller writes through).
    pub(super) async fn incr(
        &self,
        key: &str,
        by: i64,
        read: impl Future<Output = KvResult<i64>>,
    ) -> KvResult<Option<i64>> {
        if let Some(value) = self.held().counters.add(&key.to_owned(), by) {
            return Ok(Some(value));
        }
        if !self.has_room() {
            return Ok(None);
        }
        let stored = read.await?;
        Ok(Some(self.held().counters.hold(key.to_owned(), stored, by)))
    }

    /// As [`Batch::incr`], for the score of `member` in `set`.
    pub(super) async fn zincrby(
        &self,
        set: &str,
        member: &str,
        by: f64,
        read: impl Future<Output = KvResult<f64>>,
    ) -> KvResult<Option<f64>> {
        let key = (set.to_owned(), member.to_owned());
        if let Some(value) = self.held().scores.add(&key, by) {
            return Ok(Some(value));
        }
        if !self.has_room() {
            return Ok(None);
        }
        let stored = read.await?;
        Ok(Some(self.held().scores.hold(key, stored, by)))
    }

    /// Writes what was added since the last write to `store`, in one call; answers how many
    /// counters and scores it wrote.
    pub(super) async fn write(&self, store: &dyn KvStore) -> KvResult<usize> {
        let _one = self.writing.lock().await;
        let writes = {
            let mut held = self.held();
            Writes { counters: held.counters.take(), scores: held.scores.take() }
        };
        let count = writes.counters.len() + writes.scores.len();
        if count == 0 {
            return Ok(0);
        }
        match store.apply(&writes).await {
            Ok((counters, scores)) => {
                let mut held = self.held();
                held.counters.written(counters);
                held.scores.written(scores);
                Ok(count)
            }
            Err(e) => {
                let mut held = self.held();
                held.counters.failed();
                held.scores.failed();
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Slot, Slots};
    use std::collections::HashMap;

    #[test]
    fn a_slot_answers_what_is_stored_written_and_added() {
        let mut slots: Slots<&str, i64> = Slots(HashMap::new());
        assert_eq!(slots.add(&"a", 1), None, "a key not held is read first");
        assert_eq!(slots.hold("a", 10, 1), 11);
        assert_eq!(slots.hold("a", 99, 1), 12, "held meanwhile: the held value stands");
        assert_eq!(slots.take(), [("a", 2)]);
        assert_eq!(slots.add(&"a", 3), Some(15), "in flight still counts");
        slots.written([("a", 14)]);
        assert_eq!(slots.add(&"a", 0), Some(17), "another instance's 2 seen after the write");
        slots.0.get_mut("a").unwrap().pending = 0;
        assert!(slots.take().is_empty(), "a key nothing was added to is forgotten");
        assert!(slots.0.is_empty());
    }

    #[test]
    fn a_failed_write_keeps_its_increments() {
        let mut slots: Slots<&str, i64> = Slots(HashMap::new());
        slots.hold("a", 0, 5);
        assert_eq!(slots.take(), [("a", 5)]);
        slots.add(&"a", 1);
        slots.failed();
        assert_eq!(slots.0["a"].pending, 6);
        assert_eq!(slots.0["a"].in_flight, 0);
        assert_eq!(slots.take(), [("a", 6)]);
        assert_eq!(slots.0["a"].value(), Slot { stored: 0, in_flight: 6, pending: 0 }.value());
    }
}
