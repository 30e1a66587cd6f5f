//! The Console: the team's web pages (`/login`, `/invite/TOKEN`, `/users`, `/subaccounts`,
//! `/keys`, `/billing`, `/audit`, `/health`), rendered on the server with maud (which
//! escapes everything it interpolates) and usable without JavaScript.
//!
//! Every page and every form runs [`sg_access::api::Call`]s through the same
//! [`App::run`] as the JSON API, under the session in the visitor's cookie: the Console
//! never reads the store and never decides a permission. It only chooses which actions to
//! *offer* from the visitor's role (as `whoami` reports it); the library refuses the rest,
//! and a refusal becomes a 403 page.
//!
//! No state is kept in the server for the web: the session is the API's session token (an
//! `HttpOnly; SameSite=Strict` cookie), a form's CSRF token is an HMAC of that secret (or,
//! before signing in, of a random pre-session cookie), and a secret shown once after a
//! redirect (a new key, an invitation link) travels in a short-lived cookie encrypted
//! under a key derived from the session token.

mod auth;
mod layout;
mod pages;
mod visual;

use crate::{status_of, App};
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use maud::Markup;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sg_access::api::Call;
use sg_access::{AccessError, UserInfo};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The cookie holding the API session token.
const SESSION_COOKIE: &str = "sg_session";
/// A random value set before signing in, which the login and invitation forms' CSRF
/// tokens are derived from.
const PRE_COOKIE: &str = "sg_pre";
/// A secret to show once after a redirect, encrypted under the session.
const ONCE_COOKIE: &str = "sg_once";

/// The Content-Security-Policy of every Console response: no inline script, no framing.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The Console's routes, merged into the server's router.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/console.css", get(stylesheet))
        .route("/console.js", get(script))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/invite/activate", post(auth::activate))
        .route("/invite/{token}", get(auth::invite_page).post(auth::accept))
        .route("/users", get(pages::users))
        .route("/users/invite", post(pages::user_invite))
        .route("/users/role", post(pages::user_role))
        .route("/users/remove", post(pages::user_remove))
        .route("/users/reset-2fa", post(pages::user_reset_2fa))
        .route("/users/end-sessions", post(pages::user_end_sessions))
        .route(
            "/subaccounts",
            get(pages::subaccounts).post(pages::subaccount_add),
        )
        .route("/keys", get(pages::keys))
        .route("/keys/create", post(pages::key_create))
        .route("/keys/rotate", post(pages::key_rotate))
        .route("/keys/revoke", post(pages::key_revoke))
        .route("/billing", get(pages::billing))
        .route("/billing/record", post(pages::billing_record))
        .route("/billing/void", post(pages::billing_void))
        .route("/audit", get(pages::audit))
        .route("/audit/checkpoint", post(pages::audit_checkpoint))
        .route("/health", get(pages::health))
        .layer(middleware::from_fn(security_headers))
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages show keys, invitation links and recovery codes: never keep them in a cache.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        layout::CSS,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        layout::JS,
    )
        .into_response()
}

async fn home(headers: HeaderMap) -> Response {
    if cookie(&headers, SESSION_COOKIE).is_some() {
        Redirect::to("/users").into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

/// The value of cookie `name`, if the request carries it.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value with the Console's attributes (`Secure` under TLS).
fn set_cookie(app: &App, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let text = cookie_text(name, value, max_age, app.tls);
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("sg_invalid=1"))
}

fn cookie_text(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut text = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    text
}

fn clear_cookie(app: &App, name: &str) -> HeaderValue {
    set_cookie(app, name, "", Some(0))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac_of(secret: &str, message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The CSRF token of forms shown under `secret` (the session token, or the pre-session
/// cookie): an HMAC of it, which a cross-site page can neither read nor compute.
pub(crate) fn csrf_token(secret: &str) -> String {
    hex(&hmac_of(secret, b"secrets-guard console csrf"))
}

fn csrf_ok(secret: &str, given: &str) -> bool {
    let expected = csrf_token(secret);
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex(&buf)
}

/// Something to show once after a redirect.
#[derive(Debug, Serialize, Deserialize)]
struct Once {
    /// What it is, as a heading: "New API key", "Invitation link" ...
    title: String,
    /// The secret itself.
    text: String,
    /// What to do with it.
    note: String,
}

fn once_cipher(token: &str) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&hmac_of(token, b"secrets-guard console once").into())
}

fn seal_once(token: &str, once: &Once) -> Option<String> {
    let plain = serde_json::to_vec(once).ok()?;
    let mut nonce = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut nonce);
    let sealed = once_cipher(token)
        .encrypt(XNonce::from_slice(&nonce), plain.as_slice())
        .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out))
}

fn open_once(token: &str, value: &str) -> Option<Once> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    if raw.len() < 24 {
        return None;
    }
    let (nonce, sealed) = raw.split_at(24);
    let plain = once_cipher(token)
        .decrypt(XNonce::from_slice(nonce), sealed)
        .ok()?;
    serde_json::from_slice(&plain).ok()
}

/// A signed-in visitor: the session token and who it belongs to.
pub(crate) struct Visitor {
    token: String,
    me: UserInfo,
}

impl Visitor {
    fn csrf(&self) -> String {
        csrf_token(&self.token)
    }
}

fn to_login(app: &App) -> Response {
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(app, SESSION_COOKIE));
    response
}

/// Runs `call` for `token` and decodes the answer.
async fn call<T: DeserializeOwned>(
    app: &App,
    token: Option<&str>,
    call: Call,
) -> Result<T, AccessError> {
    let value = app.run(token.map(str::to_owned), call).await?;
    serde_json::from_value(value)
        .map_err(|e| AccessError::invalid(format!("unexpected answer from the library: {e}")))
}

/// The signed-in visitor of a page, or the response that sends them to sign in.
async fn visitor(app: &App, headers: &HeaderMap) -> Result<Visitor, Box<Response>> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(Box::new(to_login(app)));
    };
    match call::<UserInfo>(app, Some(&token), Call::Whoami).await {
        Ok(me) => Ok(Visitor { token, me }),
        Err(AccessError::Authentication(_)) => Err(Box::new(to_login(app))),
        Err(err) => Err(Box::new(error_page(&err, None))),
    }
}

/// The session token behind a form post, once its CSRF token is checked.
fn form_session(app: &App, headers: &HeaderMap, csrf: &str) -> Result<String, Box<Response>> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(Box::new(to_login(app)));
    };
    if !csrf_ok(&token, csrf) {
        return Err(Box::new(csrf_refused()));
    }
    Ok(token)
}

fn csrf_refused() -> Response {
    status_page(
        StatusCode::FORBIDDEN,
        "403 Forbidden",
        "The form's security token (CSRF) is missing or wrong, so nothing was done. Open the page again and resubmit.",
        None,
    )
}

/// The page of an error from the library: 403 for a refusal, 401, 404, 409 ...
fn error_page(err: &AccessError, visitor: Option<&Visitor>) -> Response {
    let status = status_of(err);
    let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %err, "console request failed");
        "internal error (see the server's log)".to_owned()
    } else {
        err.to_string()
    };
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    status_page(status, &title, &message, visitor)
}

fn status_page(
    status: StatusCode,
    title: &str,
    message: &str,
    visitor: Option<&Visitor>,
) -> Response {
    let body = maud::html! {
        p.error role="alert" id="error-message" { (message) }
        p { a href="/" { "Back to the Console" } }
    };
    (
        status,
        Html(layout::page(title, visitor, None, body).into_string()),
    )
        .into_response()
}

/// A rendered page for `visitor`, showing (and clearing) anything to show once.
fn render(
    app: &App,
    headers: &HeaderMap,
    visitor: &Visitor,
    title: &str,
    body: Markup,
) -> Response {
    let once = cookie(headers, ONCE_COOKIE);
    let shown = once
        .as_deref()
        .and_then(|value| open_once(&visitor.token, value));
    let mut response = Html(layout::page(title, Some(visitor), shown.as_ref(), body).into_string())
        .into_response();
    if once.is_some() {
        response
            .headers_mut()
            .append(header::SET_COOKIE, clear_cookie(app, ONCE_COOKIE));
    }
    response
}

/// After a successful form: back to `to`, with `once` to show there.
fn done(app: &App, token: &str, to: &str, once: Option<Once>) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Some(value) = once.as_ref().and_then(|o| seal_once(token, o)) {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(app, ONCE_COOKIE, &value, Some(300)),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_tied_to_their_secret() {
        let token = csrf_token("session-a");
        assert!(csrf_ok("session-a", &token));
        assert!(!csrf_ok("session-b", &token));
        assert!(!csrf_ok("session-a", ""));
        assert!(!csrf_ok("session-a", &token[..10]));
    }

    #[test]
    fn a_secret_shown_once_opens_only_under_its_session() {
        let once = Once {
            title: "New API key".into(),
            text: "sgk_dev_secret".into(),
            note: "copy it".into(),
        };
        let sealed = seal_once("session-a", &once).expect("sealed");
        assert!(!sealed.contains("sgk_dev_secret"));
        assert_eq!(
            open_once("session-a", &sealed).map(|o| o.text),
            Some("sgk_dev_secret".to_owned())
        );
        assert!(open_once("session-b", &sealed).is_none());
        assert!(open_once("session-a", "garbage").is_none());
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("sg_sessionx=1; sg_session=abc; other=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, PRE_COOKIE), None);
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_under_tls() {
        assert_eq!(
            cookie_text("sg_session", "t", Some(60), false),
            "sg_session=t; HttpOnly; SameSite=Strict; Path=/; Max-Age=60"
        );
        assert!(cookie_text("sg_session", "t", None, true).ends_with("; Path=/; Secure"));
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_framing() {
        assert!(CSP.contains("frame-ancestors 'none'"));
        assert!(CSP.contains("script-src 'self'"));
        assert!(!CSP.contains("unsafe-inline"));
        assert!(!CSP.contains("unsafe-eval"));
    }
}
