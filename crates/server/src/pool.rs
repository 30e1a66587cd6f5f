//! A small pool of open stores. A store is one database connection and is used by one
//! request at a time; the permits bound how many requests touch the database at once.
//!
//! SQLite reads can also run on the async worker thread itself, each worker with a store
//! of its own ([`Pool::inline`]): in WAL mode a read never waits for a writer, and the
//! hand-off to a blocking thread would cost more than the read.

use crate::Backend;
use sg_access::{AccessError, ServerKey, Store};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, SemaphorePermit};

pub(crate) struct Pool {
    /// Tells this pool's per-thread stores from another pool's (tests run several servers
    /// in one process).
    id: u64,
    backend: Backend,
    key: Arc<ServerKey>,
    idle: Mutex<Vec<Store>>,
    permits: Semaphore,
}

static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's own SQLite stores, by pool id.
    static THREAD_STORES: RefCell<HashMap<u64, Store>> = RefCell::new(HashMap::new());
}

impl Pool {
    pub fn new(backend: Backend, key: Arc<ServerKey>, size: usize, first: Store) -> Pool {
        Pool {
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            backend,
            key,
            idle: Mutex::new(vec![first]),
            permits: Semaphore::new(size.max(1)),
        }
    }

    pub async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        self.permits.acquire().await.ok()
    }

    /// Runs `work` with an idle store (opening one if none is idle). A store whose
    /// connection failed is dropped instead of going back to the pool.
    pub fn with_store<T>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, AccessError>,
    ) -> Result<T, AccessError> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let store = match idle {
            Some(store) => store,
            None => self.backend.open(self.key.clone())?,
        };
        let result = work(&store);
        if !broken(&result) {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(store);
            }
        }
        result
    }

    /// Runs the read `work` on the calling thread, with that thread's own store, when the
    /// backend is SQLite; `None` when it is not (a PostgreSQL call blocks on the network
    /// and belongs on a blocking thread).
    pub fn inline<T>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, AccessError>,
    ) -> Option<Result<T, AccessError>> {
        if !matches!(self.backend, Backend::Sqlite(_)) {
            return None;
        }
        Some(THREAD_STORES.with(|stores| {
            let mut stores = stores.borrow_mut();
            let store = match stores.remove(&self.id) {
                Some(store) => store,
                None => self.backend.open(self.key.clone())?,
            };
            let result = work(&store);
            if !broken(&result) {
                stores.insert(self.id, store);
            }
            result
        }))
    }
}

fn broken<T>(result: &Result<T, AccessError>) -> bool {
    matches!(result, Err(AccessError::Database { .. }))
}
