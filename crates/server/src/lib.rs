//! The secrets-guard access server: it owns the store (SQLite embedded, or PostgreSQL
//! shared by several server processes) and the server key, and serves the access API
//! ([`sg_access::api`]) over HTTP. Clients never open the database.
//!
//! Every request is one [`sg_access::api::Call`], run by [`sg_access::api::dispatch`] on a
//! blocking thread with a store from a small pool: authorization happens there, in the
//! library, and nowhere in this crate. All server state (sessions, backoff counters,
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
use serde_json::{json, Value};
use sg_access::api::{dispatch, Call};
use sg_access::{AccessError, ServerKey, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest request body the API accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long one request may take before the server answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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
        Json(json!({ "error": { "code": err.code(), "message": message } })),
    )
        .into_response()
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
        tokio::task::spawn_blocking(move || {
            pool.with_store(|store| dispatch(store, token.as_deref(), call))
        })
        .await
        .map_err(|e| AccessError::Corrupt {
            path: Default::default(),
            problem: format!("request task failed: {e}"),
        })?
    }
}

async fn api(
    State(app): State<App>,
    Path(op): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let parsed = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| AccessError::InvalidInput(format!("the request body is not JSON: {e}")))
    };
    let result = match parsed.and_then(|body| Call::from_parts(&op, body)) {
        Ok(call) => app.run(bearer(&headers), call).await,
        Err(e) => Err(e),
    };
    let response = match &result {
        Ok(value) => Json(value).into_response(),
        Err(err) => error_response(err),
    };
    let micros = started.elapsed().as_micros();
    if op == "keys/verify" {
        tracing::debug!(op, status = response.status().as_u16(), micros, "api");
    } else {
        tracing::info!(op, status = response.status().as_u16(), micros, "api");
    }
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
    let app = router(App {
        pool,
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
