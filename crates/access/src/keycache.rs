//! A cache of found keys for `keys/verify`, the hot path of services that check keys.
//!
//! The cache is exact only while its owner hears of every change to what a verification
//! answers: it is used only while marked usable, and is emptied by
//! [`KeyCache::invalidate`] on each change. The server empties it after each call it
//! serves itself; changes from elsewhere (another server process, a local command) reach
//! it through the store: PostgreSQL's change notifications ([`crate::pgverify`]), or, on
//! SQLite, [`KeyCache::watch_sqlite`] polling the database's data version. Until the
//! watching is in place, or after it is lost, every verification reads the store.
//! Expiry by time needs no announcement: the verdict is computed from the cached row at
//! each request. Unknown keys are never cached, so no presented garbage takes memory.

use crate::error::Result;
use crate::keys::{verdict, KeyLookup, KeyRow, KeyUse, Presented};
use crate::serverkey::ServerKey;
use crate::store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Cached keys at most; past this the cache starts over (a bound on memory, whatever
/// keys are presented).
const MAX_CACHED_KEYS: usize = 100_000;
/// How often the SQLite watcher looks for commits made by others.
const SQLITE_POLL: Duration = Duration::from_millis(5);
/// How long the SQLite watcher waits before reopening a store it lost.
const SQLITE_RETRY: Duration = Duration::from_secs(1);

/// Found keys by key hash, valid while [`KeyCache::invalidate`] hears of every change.
#[derive(Default)]
pub struct KeyCache {
    state: Mutex<State>,
    usable: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Bumped by every invalidation: a lookup that started under an older epoch may have
    /// read a row that has changed since, and must not be cached.
    epoch: u64,
    /// By the presented key's SHA-256 ([`Presented::digest`]).
    keys: HashMap<[u8; 32], Arc<KeyRow>>,
}

/// What the cache says about a presented key.
pub(crate) enum Cached {
    Hit(Arc<KeyRow>),
    /// Not cached: look it up, then offer the row to [`KeyCache::fill`] with this epoch.
    Miss(u64),
    /// The cache is not in use: look it up and keep nothing.
    Off,
}

impl KeyCache {
    /// An empty cache, not usable until [`KeyCache::set_usable`].
    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    /// Forgets every cached key.
    pub fn invalidate(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.epoch += 1;
            state.keys.clear();
        }
    }

    /// Turns the cache on (its owner now hears of every change) or off.
    pub(crate) fn set_usable(&self, usable: bool) {
        // Whatever was cached before this moment might have missed a change.
        self.invalidate();
        self.usable.store(usable, Ordering::Release);
        self.invalidate();
    }

    pub(crate) fn is_usable(&self) -> bool {
        self.usable.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self, presented: &Presented<'_>) -> Cached {
        if !self.is_usable() {
            return Cached::Off;
        }
        match self.state.lock() {
            Ok(state) => match state.keys.get(&presented.digest) {
                Some(row) => Cached::Hit(Arc::clone(row)),
                None => Cached::Miss(state.epoch),
            },
            Err(_) => Cached::Off,
        }
    }

    /// Keeps `row`, found by a lookup that started at `epoch`, unless anything changed
    /// since.
    pub(crate) fn fill(&self, epoch: u64, presented: &Presented<'_>, row: &KeyRow) {
        if let Ok(mut state) = self.state.lock() {
            if state.epoch != epoch || !self.is_usable() {
                return;
            }
            if state.keys.len() >= MAX_CACHED_KEYS {
                state.keys.clear();
            }
            state.keys.insert(presented.digest, Arc::new(row.clone()));
        }
    }

    /// [`crate::check_key`] through the cache, reading `store` on a miss.
    pub fn check_key(&self, store: &Store, secret: &str) -> Result<(KeyLookup, Option<KeyUse>)> {
        let Some(presented) = Presented::parse(secret) else {
            return Ok(verdict(None, store.now()));
        };
        let epoch = match self.get(&presented) {
            Cached::Hit(row) => return Ok(verdict(Some(&row), store.now())),
            Cached::Miss(epoch) => Some(epoch),
            Cached::Off => None,
        };
        let found = crate::keys::find_presented(store, &presented)?;
        if let (Some(row), Some(epoch)) = (&found, epoch) {
            self.fill(epoch, &presented, row);
        }
        Ok(verdict(found.as_ref(), store.now()))
    }

    /// Watches the SQLite store at `path` on a thread of its own, emptying this cache on
    /// every commit made through any other connection (other processes included), and
    /// marks the cache usable while it watches. The thread ends when the cache is dropped.
    pub fn watch_sqlite(self: &Arc<Self>, path: PathBuf, key: Arc<ServerKey>) -> Result<()> {
        let cache: Weak<KeyCache> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("sqlite-key-watch".to_owned())
            .spawn(move || watch(cache, path, key))
            .map(|_| ())
            .map_err(|source| crate::AccessError::Io {
                path: PathBuf::from("sqlite-key-watch"),
                source,
            })
    }
}

fn watch(cache: Weak<KeyCache>, path: PathBuf, key: Arc<ServerKey>) {
    loop {
        let Some(owner) = cache.upgrade() else { return };
        let store = match Store::open_sqlite(&path, key.clone()) {
            Ok(store) => store,
            Err(err) => {
                owner.set_usable(false);
                tracing::warn!(error = %err, "verification cache off: cannot watch the database");
                drop(owner);
                std::thread::sleep(SQLITE_RETRY);
                continue;
            }
        };
        let mut seen = match store.data_version() {
            Ok(version) => version,
            Err(err) => {
                owner.set_usable(false);
                tracing::warn!(error = %err, "verification cache off: cannot watch the database");
                drop(owner);
                std::thread::sleep(SQLITE_RETRY);
                continue;
            }
        };
        owner.set_usable(true);
        drop(owner);
        loop {
            std::thread::sleep(SQLITE_POLL);
            let Some(owner) = cache.upgrade() else { return };
            match store.data_version() {
                Ok(version) if version == seen => {}
                Ok(version) => {
                    seen = version;
                    owner.invalidate();
                }
                Err(err) => {
                    owner.set_usable(false);
                    tracing::warn!(error = %err, "verification cache off: lost the database");
                    break;
                }
            }
        }
        std::thread::sleep(SQLITE_RETRY);
    }
}
