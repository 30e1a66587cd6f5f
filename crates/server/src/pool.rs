//! A small pool of open stores. A store is one database connection and is used by one
//! request at a time; the permits bound how many requests touch the database at once.

use crate::Backend;
use sg_access::{AccessError, ServerKey, Store};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, SemaphorePermit};

pub(crate) struct Pool {
    backend: Backend,
    key: Arc<ServerKey>,
    idle: Mutex<Vec<Store>>,
    permits: Semaphore,
}

impl Pool {
    pub fn new(backend: Backend, key: Arc<ServerKey>, size: usize, first: Store) -> Pool {
        Pool {
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
        let broken = matches!(&result, Err(AccessError::Database { .. }));
        if !broken {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(store);
            }
        }
        result
    }
}
