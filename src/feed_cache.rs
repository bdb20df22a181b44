//! The server's cache of rendered feeds, bounded in bytes, not entries.
//!
//! Owns which rendered bodies stay in memory: least recently used out, within a
//! byte budget, with two classes so that the feeds people subscribe to (the
//! whole calendar, one source, one category) stay hot while a stream of odd
//! query strings can only push out other odd query strings. Knows nothing of
//! HTTP, filters or iCalendar: the server decides each entry's class and size.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// What the budget counts of an entry besides its value's bytes: the key, the
/// map slots and the bookkeeping. It also bounds the number of tiny entries.
pub const ENTRY_OVERHEAD: usize = 512;

/// Of the budget, the share entries of class `Other` may hold at most (a
/// quarter). An unusual filter is rarely asked for twice, and since each
/// session's VEVENT is kept apart (`feed::EventBlocks`) rendering one again
/// is cheap; the memory is better spent on those blocks, which serve every
/// filter.
pub const OTHER_SHARE_DIVISOR: usize = 4;

/// A value that knows how many bytes it holds.
pub trait Weighed {
    /// Bytes held on the heap by this value (bodies, digests).
    fn bytes(&self) -> usize;
}

/// Which entries give way first when the budget is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// A feed people subscribe to; pushed out only by other subscribed feeds.
    Subscribed,
    /// Anything else (unusual filters); pushed out first, and never at the
    /// expense of a subscribed feed.
    Other,
}

/// What `insert` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Cached, after pushing out this many older entries.
    Cached {
        /// Entries pushed out to make room.
        evicted: usize,
    },
    /// Larger than the whole budget: not cached.
    TooLarge,
    /// Only subscribed feeds could have made room for an `Other` entry, or it
    /// is larger than the share `Other` entries may hold: not cached.
    NoRoom,
}

struct Entry<V> {
    value: V,
    class: Class,
    size: usize,
    last_used: u64,
}

/// A least-recently-used map bounded by the bytes of its values.
pub struct FeedCache<K, V> {
    budget: usize,
    used: usize,
    /// Of `used`, what entries of class `Other` hold.
    other_used: usize,
    tick: u64,
    entries: HashMap<K, Entry<V>>,
    /// (class, last use) → key: the eviction order within each class.
    order: BTreeMap<(Class, u64), K>,
}

impl<K: Hash + Eq + Clone, V: Clone + Weighed> FeedCache<K, V> {
    /// An empty cache that holds at most `budget` bytes.
    #[must_use]
    pub fn new(budget: usize) -> Self {
        FeedCache {
            budget,
            used: 0,
            other_used: 0,
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// The byte budget.
    #[must_use]
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Bytes the entries hold now, as the budget counts them; never above `budget`.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.used
    }

    /// Entries held now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`, marking it as just used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let e = self.entries.get_mut(key)?;
        self.order.remove(&(e.class, e.last_used));
        e.last_used = tick;
        self.order.insert((e.class, tick), key.clone());
        Some(e.value.clone())
    }

    /// Caches `value` under `key`, pushing out least recently used entries (of
    /// class `Other` first) until it fits.
    pub fn insert(&mut self, key: K, value: V, class: Class) -> Inserted {
        self.remove(&key);
        let size = value.bytes().saturating_add(ENTRY_OVERHEAD);
        if size > self.budget {
            return Inserted::TooLarge;
        }
        // Can it fit without touching what it may not push out?
        let reclaimable = match class {
            Class::Subscribed => self.used,
            Class::Other => self.other_used,
        };
        if self.used - reclaimable + size > self.budget {
            return Inserted::NoRoom;
        }
        let other_budget = self.budget / OTHER_SHARE_DIVISOR;
        if class == Class::Other && size > other_budget {
            return Inserted::NoRoom;
        }
        let mut evicted = 0;
        // Within the share of `Other` entries first: the oldest of them go.
        while class == Class::Other && self.other_used + size > other_budget {
            let victim = self
                .order
                .range((Class::Other, 0)..)
                .next()
                .map(|(_, k)| k.clone());
            match victim {
                Some(k) => {
                    self.remove(&k);
                    evicted += 1;
                }
                None => break,
            }
        }
        while self.used + size > self.budget {
            // `Other` before `Subscribed` (the enum's order is the reverse), then oldest.
            let victim = self
                .order
                .range((Class::Other, 0)..)
                .next()
                .or_else(|| self.order.range(..(Class::Other, 0)).next())
                .map(|(_, k)| k.clone());
            match victim {
                Some(k) => {
                    self.remove(&k);
                    evicted += 1;
                }
                None => break,
            }
        }
        self.tick += 1;
        self.order.insert((class, self.tick), key.clone());
        self.entries.insert(
            key,
            Entry {
                value,
                class,
                size,
                last_used: self.tick,
            },
        );
        self.used += size;
        if class == Class::Other {
            self.other_used += size;
        }
        Inserted::Cached { evicted }
    }

    /// Drops every entry for which `keep` says no (e.g. of a past generation).
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        let gone: Vec<K> = self.entries.keys().filter(|k| !keep(k)).cloned().collect();
        for k in gone {
            self.remove(&k);
        }
    }

    fn remove(&mut self, key: &K) {
        if let Some(e) = self.entries.remove(key) {
            self.order.remove(&(e.class, e.last_used));
            self.used -= e.size;
            if e.class == Class::Other {
                self.other_used -= e.size;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Blob(usize);
    impl Weighed for Blob {
        fn bytes(&self) -> usize {
            self.0
        }
    }

    fn kib(n: usize) -> usize {
        n * 1024
    }

    #[test]
    fn never_exceeds_its_budget_and_drops_least_recently_used() {
        let mut c = FeedCache::new(kib(40));
        for i in 0..100u32 {
            let r = c.insert(i, Blob(kib(1) + i as usize), Class::Other);
            assert!(matches!(r, Inserted::Cached { .. }), "{r:?}");
            assert!(c.bytes() <= c.budget() / OTHER_SHARE_DIVISOR);
        }
        assert!(c.get(&0).is_none());
        assert!(c.get(&99).is_some());
        // Using an old entry keeps it; the next insert pushes out another.
        let oldest_left = (0..100u32).find(|i| c.entries.contains_key(i)).unwrap();
        assert!(c.get(&oldest_left).is_some());
        c.insert(1000, Blob(kib(1)), Class::Other);
        assert!(c.get(&oldest_left).is_some());
    }

    #[test]
    fn subscribed_feeds_survive_a_flood_of_others() {
        let mut c = FeedCache::new(kib(40));
        c.insert("full", Blob(kib(16)), Class::Subscribed);
        c.insert("wsp", Blob(kib(12)), Class::Subscribed);
        for i in 0..500 {
            let key: &'static str = Box::leak(format!("days={i}").into_boxed_str());
            c.insert(key, Blob(kib(2)), Class::Other);
            assert!(c.bytes() <= c.budget());
            assert!(c.other_used <= c.budget() / OTHER_SHARE_DIVISOR);
        }
        assert!(c.get(&"full").is_some());
        assert!(c.get(&"wsp").is_some());
        // Larger than the share of others: refused, and nothing is pushed out.
        assert_eq!(
            c.insert("big", Blob(kib(11)), Class::Other),
            Inserted::NoRoom
        );
        assert!(c.get(&"full").is_some());
        // A subscribed feed may push out anything, the least recently used first.
        assert!(matches!(
            c.insert("cat", Blob(kib(11)), Class::Subscribed),
            Inserted::Cached { .. }
        ));
        // `full` was used last (just above), so `wsp` went.
        assert!(c.get(&"wsp").is_none(), "the least recently used went");
        assert!(c.get(&"full").is_some());
        assert!(c.get(&"cat").is_some());
        assert!(c.bytes() <= c.budget());
    }

    #[test]
    fn too_large_is_refused_and_retain_frees_bytes() {
        let mut c = FeedCache::new(kib(8));
        assert_eq!(
            c.insert(1, Blob(kib(8)), Class::Subscribed),
            Inserted::TooLarge
        );
        assert!(c.is_empty());
        c.insert(2, Blob(kib(1)), Class::Subscribed);
        c.insert(3, Blob(kib(1)), Class::Other);
        assert_eq!(c.len(), 2);
        c.retain(|k| *k != 2);
        assert_eq!(c.len(), 1);
        assert_eq!(c.bytes(), kib(1) + ENTRY_OVERHEAD);
        // Replacing a key counts it once.
        c.insert(3, Blob(kib(1) + 256), Class::Other);
        assert_eq!(c.bytes(), kib(1) + 256 + ENTRY_OVERHEAD);
    }
}
