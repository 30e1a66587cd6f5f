//! The secrets-guard access server: it owns the store (SQLite embedded, or PostgreSQL
//! shared by several server processes) and the server key, and serves the access API
//! ([`sg_access::api`]) over HTTP. Clients never open the database.
//!
//! Every request is one [`sg_access::api::Call`], run by [`sg_access::api::dispatch`] on a
//! blocking thread with a store from a small pool: authorization happens there, in the
//! library, and nowhere in this crate. The exception is `keys/verify`, which needs no
//! session and is what services call on every request they serve: it has a route of its
//! own and goes straight to the library's key check ([`KeyCache::check_key`],
//! [`PgKeyChecker::check_key`]). All server state (sessions, backoff counters,
//! invitations) is in the store, so any number of processes can serve one PostgreSQL.

mod console;
mod pool;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pool::Pool;
use serde::Deserialize;
use serde_json::{json, Value};
use sg_access::api::{dispatch, Call};
use sg_access::keycache::KeyCache;
use sg_access::pgverify::PgKeyChecker;
use sg_access::{AccessError, KeyLookup, KeyUse, ServerKey, Store};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest request body the API accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long one request may take before the server answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections that carry `keys/verify` on PostgreSQL, pipelined: about one per core
/// keeps the database busy without queueing behind a slow one.
const PG_VERIFY_CONNECTIONS: usize = 2;

/// Where the store lives.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    /// Opens a connection to the store under `key`.
    pub fn open(&self, key: Arc<ServerKey>) -> sg_access::Result<Store> {
        match self {
            Backend::Sqlite(path) => Store::open_sqlite(path, key),
            Backend::Postgres(url) => Store::open_postgres(url, key),
        }
    }
}

/// What `secrets-guard server` was asked to serve.
pub struct Config {
    pub listen: SocketAddr,
    pub backend: Backend,
    pub key: Arc<ServerKey>,
    /// Certificate chain and private key (PEM) for HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Serve plain HTTP on a non-loopback address anyway.
    pub insecure_http: bool,
    /// Store connections kept open (and requests run at once).
    pub connections: usize,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("refusing to serve plain HTTP on {0}, which is not a loopback address: give --tls-cert and --tls-key, or --insecure-http")]
    PlainHttpExposed(SocketAddr),
    #[error(transparent)]
    Store(#[from] AccessError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Clone)]
struct App {
    pool: Arc<Pool>,
    /// When this process last recorded each key's use: concurrent verifications of one
    /// key then write `last_used` once, not once each.
    recorded_uses: Arc<Mutex<HashMap<i64, Instant>>>,
    /// Keys found by verifications, emptied on every change ([`KeyCache`]).
    key_cache: Arc<KeyCache>,
    /// On PostgreSQL, verifications run over pipelined asynchronous connections.
    pg_keys: Option<Arc<PgKeyChecker>>,
    /// Served over HTTPS: the Console's cookies are `Secure`.
    tls: bool,
}

/// The HTTP status of an API error.
pub fn status_of(err: &AccessError) -> StatusCode {
    match err.code() {
        "permission_denied" | "integrity_check_failed" => StatusCode::FORBIDDEN,
        "authentication_failed" => StatusCode::UNAUTHORIZED,
        "too_many_attempts" => StatusCode::TOO_MANY_REQUESTS,
        "refused" | "already_exists" => StatusCode::CONFLICT,
        "not_found" => StatusCode::NOT_FOUND,
        "invalid_input" => StatusCode::BAD_REQUEST,
        "not_initialized" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_response(err: &AccessError) -> Response {
    let (status, body) = error_answer(err);
    (status, Json(body)).into_response()
}

fn error_answer(err: &AccessError) -> (StatusCode, Value) {
    let status = status_of(err);
    // Storage errors name files and URLs of the server: say only that it failed.
    let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %err, "request failed");
        "internal error (see the server's log)".to_owned()
    } else {
        err.to_string()
    };
    (
        status,
        json!({ "error": { "code": err.code(), "message": message } }),
    )
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

impl App {
    /// Runs one call on a blocking thread with a pooled store.
    async fn run(&self, token: Option<String>, call: Call) -> Result<Value, AccessError> {
        let _permit = self.pool.permit().await;
        let pool = self.pool.clone();
        let result = tokio::task::spawn_blocking(move || {
            pool.with_store(|store| dispatch(store, token.as_deref(), call))
        })
        .await
        .map_err(task_failed)?;
        // Any call may have changed a key (revoked, rotated, its subaccount renamed): this
        // process's verifications see its own changes at once, not when the store
        // announces them.
        self.key_cache.invalidate();
        result
    }

    /// `keys/verify`, the hot path of services that check keys: the lookup is one read
    /// (on this thread for SQLite), and the key's use is recorded afterwards, off the
    /// request's path.
    async fn verify(&self, key: &str) -> Result<KeyLookup, AccessError> {
        let checked = if let Some(pg) = &self.pg_keys {
            pg.check_key(key).await
        } else if let Some(checked) = self
            .pool
            .inline(|store| self.key_cache.check_key(store, key))
        {
            checked
        } else {
            let _permit = self.pool.permit().await;
            let pool = self.pool.clone();
            let cache = self.key_cache.clone();
            let key = key.to_owned();
            tokio::task::spawn_blocking(move || {
                pool.with_store(|store| cache.check_key(store, &key))
            })
            .await
            .map_err(task_failed)?
        };
        let (lookup, used) = checked?;
        if let Some(used) = used {
            self.record_use(used);
        }
        Ok(lookup)
    }

    /// [`App::verify`] as an HTTP answer. The lookup is serialized straight into the
    /// body: going through a `serde_json::Value` first cost as much as the lookup.
    async fn verify_response(&self, key: &str) -> Response {
        match self.verify(key).await {
            Ok(lookup) => Json(&lookup).into_response(),
            Err(err) => error_response(&err),
        }
    }

    fn record_use(&self, used: KeyUse) {
        let now = Instant::now();
        {
            let Ok(mut recorded) = self.recorded_uses.lock() else {
                return;
            };
            let resolution = Duration::from_secs(sg_access::LAST_USED_RESOLUTION_SECONDS as u64);
            if recorded
                .get(&used.key_id())
                .is_some_and(|at| now.duration_since(*at) < resolution)
            {
                return;
            }
            if recorded.len() > 100_000 {
                recorded.retain(|_, at| now.duration_since(*at) < resolution);
            }
            recorded.insert(used.key_id(), now);
        }
        let app = self.clone();
        tokio::spawn(async move {
            let _permit = app.pool.permit().await;
            let pool = app.pool.clone();
            let written = tokio::task::spawn_blocking(move || {
                pool.with_store(|s| sg_access::record_key_use(s, used))
            })
            .await
            .map_err(task_failed)
            .and_then(|r| r);
            if let Err(err) = written {
                tracing::warn!(error = %err, key = used.key_id(), "recording a key's use failed");
                if let Ok(mut recorded) = app.recorded_uses.lock() {
                    recorded.remove(&used.key_id());
                }
            }
        });
    }
}

fn task_failed(e: tokio::task::JoinError) -> AccessError {
    AccessError::Corrupt {
        path: Default::default(),
        problem: format!("request task failed: {e}"),
    }
}

/// The path of `keys/verify` under `/api/v1/`.
const VERIFY_OP: &str = "keys/verify";

/// The call a request for `op` with `body` makes: what every operation's body goes
/// through, and what decides the errors of a malformed one.
fn parse_call(op: &str, body: &[u8]) -> Result<Call, AccessError> {
    let parsed = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| AccessError::InvalidInput(format!("the request body is not JSON: {e}")))?
    };
    Call::from_parts(op, parsed)
}

async fn api(
    State(app): State<App>,
    Path(op): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let response = match parse_call(&op, &body) {
        // Reached through an escaped path (`keys%2Fverify`); the route below takes the rest.
        Ok(Call::KeyVerify { key }) => app.verify_response(&key).await,
        Ok(call) => match app.run(bearer(&headers), call).await {
            Ok(value) => Json(value).into_response(),
            Err(err) => error_response(&err),
        },
        Err(err) => error_response(&err),
    };
    let micros = started.elapsed().as_micros();
    if op == VERIFY_OP {
        tracing::debug!(op, status = response.status().as_u16(), micros, "api");
    } else {
        tracing::info!(op, status = response.status().as_u16(), micros, "api");
    }
    response
}

/// The body of a `keys/verify` request, read straight from its bytes (borrowing the key
/// when it has no escapes).
#[derive(Deserialize)]
struct VerifyBody<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
}

/// `POST /api/v1/keys/verify`, the hot path of services that check keys, on a route of
/// its own: the generic route's extractors (the path, a copy of the headers, which this
/// public call never reads) and its parse into a JSON tree and then a [`Call`] cost more
/// than the verification. A body the direct parse refuses goes through [`parse_call`],
/// so errors (and anything else it would accept) are exactly those of the generic route.
async fn key_verify(State(app): State<App>, body: Bytes) -> Response {
    let started = Instant::now();
    let key = match serde_json::from_slice::<VerifyBody<'_>>(&body) {
        Ok(parsed) => parsed.key,
        Err(_) => match parse_call(VERIFY_OP, &body) {
            Ok(Call::KeyVerify { key }) => Cow::Owned(key),
            Ok(call) => {
                return error_response(&AccessError::invalid(format!(
                    "{VERIFY_OP}: parsed as {}",
                    call.op()
                )))
            }
            Err(err) => return error_response(&err),
        },
    };
    let response = app.verify_response(&key).await;
    tracing::debug!(
        op = VERIFY_OP,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros(),
        "api"
    );
    response
}

async fn public_key(State(app): State<App>) -> Response {
    match app.run(None, Call::AuditPublicKey).await {
        Ok(value) => Json(value).into_response(),
        Err(err) => error_response(&err),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// The router of the API (and, later, the Console), over `pool`.
fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/audit/public-key", get(public_key))
        .route("/api/v1/keys/verify", post(key_verify))
        .route("/api/v1/{*op}", post(api))
        .merge(console::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(app)
}

/// Checks the configuration, opens the store (creating the schema), binds the address and
/// serves until SIGTERM or Ctrl-C, then drains the requests in flight and returns.
/// `ready` is called with the bound address once requests are accepted.
pub async fn serve(
    config: Config,
    ready: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServerError> {
    if config.tls.is_none() && !config.insecure_http && !config.listen.ip().is_loopback() {
        return Err(ServerError::PlainHttpExposed(config.listen));
    }
    let backend = config.backend.clone();
    let key = config.key.clone();
    // Open one store first, so a bad database fails the start rather than the first request.
    let first = tokio::task::spawn_blocking(move || backend.open(key))
        .await
        .map_err(|e| ServerError::Tls(format!("opening the store: {e}")))??;
    let pool = Arc::new(Pool::new(
        config.backend.clone(),
        config.key.clone(),
        config.connections,
        first,
    ));
    let key_cache = Arc::new(KeyCache::new());
    if let Backend::Sqlite(path) = &config.backend {
        key_cache.watch_sqlite(path.clone(), config.key.clone())?;
    }
    let app = router(App {
        pool,
        recorded_uses: Default::default(),
        pg_keys: match &config.backend {
            Backend::Postgres(url) => Some(Arc::new(PgKeyChecker::new(
                url,
                PG_VERIFY_CONNECTIONS,
                key_cache.clone(),
            ))),
            Backend::Sqlite(_) => None,
        },
        key_cache,
        tls: config.tls.is_some(),
    });
    let listener =
        std::net::TcpListener::bind(config.listen).map_err(|source| ServerError::Io {
            what: format!("binding {}", config.listen),
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServerError::Io {
            what: "configuring the listener".to_owned(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Io {
        what: "reading the bound address".to_owned(),
        source,
    })?;
    match &config.tls {
        None => {
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(|source| ServerError::Io {
                    what: "registering the listener".to_owned(),
                    source,
                })?;
            ready(addr, false);
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await
                .map_err(|source| ServerError::Io {
                    what: "serving".to_owned(),
                    source,
                })
        }
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| {
                    ServerError::Tls(format!("{} / {}: {e}", cert.display(), key.display()))
                })?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stopper.graceful_shutdown(Some(REQUEST_TIMEOUT));
            });
            ready(addr, true);
            axum_server::from_tcp_rustls(listener, tls)
                .handle(handle)
                .serve(app.into_make_service())
                .await
                .map_err(|source| ServerError::Io {
                    what: "serving".to_owned(),
                    source,
                })
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: draining requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;
    use sg_access::{Credential, InitOptions};

    /// A server's state over a fresh SQLite store with one Owner session and keys in every
    /// state a verification can report.
    struct Fixture {
        _dir: tempfile::TempDir,
        app: App,
        /// Another connection to the store, for the generic path.
        store: Store,
        token: String,
        live: (i64, String),
        revoked: String,
        expired: String,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let key = Arc::new(ServerKey::generate());
        let backend = Backend::Sqlite(path.clone());
        let store = backend.open(key.clone()).expect("open the store");
        let invitation = sg_access::init(
            &store,
            &InitOptions {
                account: "Acme".into(),
                owner_email: "owner@acme.test".into(),
                currency: "USD".into(),
                require_2fa: true,
            },
        )
        .expect("init");
        let owner = sg_access::accept_invite(&store, &invitation.token).expect("accept");
        let secret = sg_access::totp::secret_from_uri(&owner.otpauth_uri).expect("secret");
        let code = sg_access::totp::code_for_base32(&secret, store.now()).expect("code");
        let session =
            sg_access::login(&store, &owner.email, &Credential::Totp(code)).expect("login");
        let actor = session.actor.clone();
        sg_access::add_subaccount(&store, &actor, "prod", "prod").expect("subaccount");
        let create = |store: &Store, name: &str, days: Option<u32>| {
            sg_access::create_key(store, &actor, "prod", Some(name), days).expect("create key")
        };
        let live = create(&store, "live", None);
        let revoked = create(&store, "revoked", None);
        sg_access::revoke_key(&store, &actor, revoked.id).expect("revoke");
        // Issued ten days ago for one day.
        store.set_time(Some(store.now() - 10 * 86_400));
        let expired = create(&store, "expired", Some(1));
        store.set_time(None);

        let key_cache = Arc::new(KeyCache::new());
        key_cache
            .watch_sqlite(path.clone(), key.clone())
            .expect("watch the store");
        let first = backend.open(key.clone()).expect("open the store");
        let app = App {
            pool: Arc::new(Pool::new(backend, key, 2, first)),
            recorded_uses: Default::default(),
            key_cache,
            pg_keys: None,
            tls: false,
        };
        Fixture {
            _dir: dir,
            app,
            store,
            token: session.token,
            live: (live.id, live.secret.expose().to_owned()),
            revoked: revoked.secret.expose().to_owned(),
            expired: expired.secret.expose().to_owned(),
        }
    }

    async fn answer(response: Response) -> (StatusCode, Value) {
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the answer's body");
        let body = serde_json::from_slice(&bytes).expect("the answer is JSON");
        (status, body)
    }

    /// What the generic path answers for `body`: [`parse_call`], then [`dispatch`].
    fn generic(store: &Store, body: &str) -> (StatusCode, Value) {
        match parse_call(VERIFY_OP, body.as_bytes()).and_then(|call| dispatch(store, None, call)) {
            Ok(value) => (StatusCode::OK, value),
            Err(err) => error_answer(&err),
        }
    }

    async fn fast(app: &App, body: &str) -> (StatusCode, Value) {
        answer(key_verify(State(app.clone()), Bytes::from(body.to_owned())).await).await
    }

    fn key_body(key: &str) -> String {
        json!({ "key": key }).to_string()
    }

    #[tokio::test]
    async fn the_verify_route_answers_as_the_generic_path() {
        let f = fixture();
        let unknown = sg_keyformat::ApiKey::generate("prod").expect("a key");
        let mut bodies = vec![
            key_body(&f.live.1),
            key_body(&format!("  {}\n", f.live.1)),
            key_body(&f.revoked),
            key_body(&f.expired),
            key_body(unknown.expose()),
            key_body("sgk_prod_nope"),
            key_body(""),
            // Escapes: the key cannot be borrowed from the body.
            format!("{{\"key\": \"{}\"}}", f.live.1.replacen('_', "\\u005f", 1)),
            // Fields a verification does not read, including a different `op`.
            format!(
                "{{\"key\": \"{}\", \"op\": \"users/list\", \"x\": [1]}}",
                f.live.1
            ),
            // The generic path keeps the last of repeated fields; the direct parse refuses.
            format!("{{\"key\": \"nope\", \"key\": \"{}\"}}", f.live.1),
        ];
        for malformed in [
            "",
            "{",
            "not json",
            "[1]",
            "\"sgk\"",
            "null",
            "{}",
            "{\"key\": 5}",
            "{\"key\": null}",
            "{\"key\": [\"a\"]}",
            "{\"kee\": \"x\"}",
        ] {
            bodies.push(malformed.to_owned());
        }
        for body in &bodies {
            let expected = generic(&f.store, body);
            // Twice: the first lookup fills the cache, the second is answered from it.
            for round in ["first", "cached"] {
                assert_eq!(fast(&f.app, body).await, expected, "{round}: {body}");
            }
        }
        let status = |(_, body): &(StatusCode, Value)| body["status"].as_str().map(str::to_owned);
        assert_eq!(
            status(&fast(&f.app, &key_body(&f.live.1)).await).as_deref(),
            Some("live")
        );
        assert_eq!(
            status(&fast(&f.app, &key_body(&f.revoked)).await).as_deref(),
            Some("revoked")
        );
        assert_eq!(
            status(&fast(&f.app, &key_body(&f.expired)).await).as_deref(),
            Some("expired")
        );
        let (code, body) = fast(&f.app, "[1]").await;
        assert_eq!(
            (code, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_input"))
        );
    }

    #[tokio::test]
    async fn a_revocation_through_the_server_is_seen_by_the_next_verification() {
        let f = fixture();
        let body = key_body(&f.live.1);
        assert_eq!(fast(&f.app, &body).await.1["status"], "live");
        assert_eq!(fast(&f.app, &body).await.1["status"], "live", "cached");
        f.app
            .run(Some(f.token.clone()), Call::KeyRevoke { id: f.live.0 })
            .await
            .expect("revoke");
        assert_eq!(fast(&f.app, &body).await.1["status"], "revoked");
    }
}
