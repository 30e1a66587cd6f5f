//! `keys/verify` on PostgreSQL for a server that answers many verifications at once.
//!
//! A verification is one read. Through the blocking client each one would hold a thread
//! and a connection for a network round trip; here a few asynchronous connections carry
//! many verifications each, pipelined. The query and the verdict are those of
//! [`crate::check_key`]: only the transport differs.
//!
//! Found keys are also cached ([`KeyCache`]), because on a small machine PostgreSQL's own
//! work per query is several times an HTTP request's. The cache is only used while this
//! process listens on the store's change channel: triggers in the database announce every
//! change to a key's verdict (revocation, rotation, expiry, subaccount changes), whichever
//! server process made it, and each announcement empties the cache. A revocation made
//! through another process therefore takes effect here once PostgreSQL delivers the
//! announcement (within milliseconds); one made through this process at once
//! ([`KeyCache::invalidate`]). If the listening connection is lost, the cache is emptied
//! and bypassed until it is back.

use crate::db::{dollar_placeholders, pg_params, pg_row, Value};
use crate::error::{AccessError, Result};
use crate::keycache::{Cached, KeyCache};
use crate::keys::{candidate_rows, candidates_sql, verdict, KeyLookup, KeyRow, KeyUse, Presented};
use crate::store::{redact_url, system_now, KEYS_CHANGED_CHANNEL};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a lost listening connection is retried.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// Checks presented keys against a PostgreSQL store over a few pipelined connections,
/// (re)connecting on demand, with a cache kept exact by the store's change notifications.
pub struct PgKeyChecker {
    url: String,
    location: PathBuf,
    slots: Vec<Mutex<Option<Arc<Connected>>>>,
    next: AtomicUsize,
    /// Usable while the change channel is listened to.
    cache: Arc<KeyCache>,
    listener: Mutex<Listener>,
}

struct Connected {
    client: tokio_postgres::Client,
    candidates: tokio_postgres::Statement,
}

#[derive(Default)]
struct Listener {
    client: Option<tokio_postgres::Client>,
    last_attempt: Option<Instant>,
}

impl PgKeyChecker {
    /// A checker for the store at `url` that spreads verifications over `connections`
    /// connections. Nothing is connected until the first verification.
    pub fn new(url: &str, connections: usize, cache: Arc<KeyCache>) -> PgKeyChecker {
        PgKeyChecker {
            url: url.to_owned(),
            location: PathBuf::from(redact_url(url)),
            slots: (0..connections.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            cache,
            listener: Mutex::new(Listener::default()),
        }
    }

    /// [`crate::check_key`], asynchronously. Must run inside a tokio runtime, which
    /// drives the connections.
    pub async fn check_key(self: &Arc<Self>, secret: &str) -> Result<(KeyLookup, Option<KeyUse>)> {
        let Some(presented) = Presented::parse(secret) else {
            return Ok(verdict(None, system_now()));
        };
        if !self.cache.is_usable() {
            self.start_listening();
        }
        let epoch = match self.cache.get(&presented) {
            Cached::Hit(row) => return Ok(verdict(Some(&row), system_now())),
            Cached::Miss(epoch) => Some(epoch),
            Cached::Off => None,
        };
        let found = self.look_up(&presented).await?;
        if let (Some(row), Some(epoch)) = (&found, epoch) {
            self.cache.fill(epoch, &presented, row);
        }
        Ok(verdict(found.as_ref(), system_now()))
    }

    async fn look_up(&self, presented: &Presented<'_>) -> Result<Option<KeyRow>> {
        let slot = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let connected = self.connected(slot).await?;
        let params = [Value::Text(presented.prefix.to_owned())];
        let rows = connected
            .client
            .query(&connected.candidates, &pg_params(&params))
            .await
            .map_err(|e| self.database_error(e))?;
        let rows = rows.iter().map(pg_row).collect::<Result<Vec<_>>>()?;
        Ok(presented.pick(candidate_rows(&rows)?))
    }

    async fn connected(&self, slot: usize) -> Result<Arc<Connected>> {
        let current = self.slots[slot].lock().ok().and_then(|c| c.clone());
        if let Some(connected) = current.filter(|c| !c.client.is_closed()) {
            return Ok(connected);
        }
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .map_err(|e| self.database_error(e))?;
        // The connection does the socket work; it ends when the client is dropped or the
        // server goes away, and the next verification then reconnects.
        tokio::spawn(connection);
        let candidates = client
            .prepare(&dollar_placeholders(candidates_sql()))
            .await
            .map_err(|e| self.database_error(e))?;
        let connected = Arc::new(Connected { client, candidates });
        if let Ok(mut current) = self.slots[slot].lock() {
            *current = Some(connected.clone());
        }
        Ok(connected)
    }

    /// Starts listening on the change channel in the background, at most once per
    /// [`LISTEN_RETRY`]. Until it is listening, every verification reads the store.
    fn start_listening(self: &Arc<Self>) {
        {
            let Ok(mut listener) = self.listener.lock() else {
                return;
            };
            if listener.client.is_some()
                || listener
                    .last_attempt
                    .is_some_and(|t| t.elapsed() < LISTEN_RETRY)
            {
                return;
            }
            listener.last_attempt = Some(Instant::now());
        }
        let checker = self.clone();
        tokio::spawn(async move {
            if let Err(err) = checker.listen().await {
                checker.stop_listening();
                tracing::warn!(error = %err, "verification cache off: cannot listen for key changes");
            }
        });
    }

    async fn listen(self: &Arc<Self>) -> Result<()> {
        let (client, mut connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .map_err(|e| self.database_error(e))?;
        let checker = self.clone();
        tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => {
                        checker.cache.invalidate()
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
            checker.stop_listening();
            tracing::warn!("verification cache off until the key-change channel reconnects");
        });
        client
            .batch_execute(&format!("LISTEN {KEYS_CHANGED_CHANNEL}"))
            .await
            .map_err(|e| self.database_error(e))?;
        // Under the lock that `stop_listening` takes: a connection lost meanwhile is seen
        // here, or stops the listening after this.
        let Ok(mut listener) = self.listener.lock() else {
            return Ok(());
        };
        if client.is_closed() {
            return Err(AccessError::Io {
                path: self.location.clone(),
                source: std::io::Error::other("the key-change connection closed"),
            });
        }
        listener.client = Some(client);
        self.cache.set_usable(true);
        Ok(())
    }

    fn stop_listening(&self) {
        if let Ok(mut listener) = self.listener.lock() {
            self.cache.set_usable(false);
            listener.client = None;
        }
    }

    fn database_error(&self, e: tokio_postgres::Error) -> AccessError {
        AccessError::Database {
            path: self.location.clone(),
            source: e.into(),
        }
    }
}
