//! Signing in and out, and accepting an invitation: the pages used before a session exists,
//! whose forms are protected by a pre-session cookie instead of the session.

use super::{
    call, clear_cookie, cookie, csrf_ok, csrf_refused, csrf_token, error_page, form_session,
    layout, random_hex, set_cookie, visual, PRE_COOKIE, SESSION_COOKIE,
};
use crate::App;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use sg_access::api::Call;
use sg_access::{AccessError, Credential, Enrollment, Session};

/// The pre-session secret of this visitor, and whether it must be set as a cookie.
fn pre_session(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, PRE_COOKIE) {
        Some(value) if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (value, false)
        }
        _ => (random_hex(32), true),
    }
}

/// A page shown before signing in, setting the pre-session cookie when it is new.
fn public_page(
    app: &App,
    status: StatusCode,
    pre: (String, bool),
    title: &str,
    body: Markup,
) -> Response {
    let mut response = (
        status,
        Html(layout::page(title, None, None, body).into_string()),
    )
        .into_response();
    if pre.1 {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(app, PRE_COOKIE, &pre.0, None),
        );
    }
    response
}

fn login_form(csrf: &str, email: &str, message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.error role="alert" id="error-message" { (message) }
        }
        form method="post" action="/login" {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="email" { "Email" }
                input id="email" name="email" type="email" autocomplete="username" required value=(email);
            }
            p {
                label for="code" { "Code from your authenticator app (or a recovery code)" }
                input id="code" name="code" type="text" autocomplete="one-time-code" required;
            }
            p { button type="submit" id="sign-in" { "Sign in" } }
        }
    }
}

pub(super) async fn login_page(State(app): State<App>, headers: HeaderMap) -> Response {
    let pre = pre_session(&headers);
    let form = login_form(&csrf_token(&pre.0), "", None);
    public_page(&app, StatusCode::OK, pre, "Sign in", form)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

/// A six-digit code is a TOTP code; anything else is tried as a recovery code.
fn credential(code: &str) -> Credential {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Credential::Totp(code.to_owned())
    } else {
        Credential::RecoveryCode(code.to_owned())
    }
}

/// Signs in and answers with the session cookie and a redirect to the Console.
async fn sign_in(app: &App, email: &str, code: &str) -> Result<Response, AccessError> {
    let session: Session = call(
        app,
        None,
        Call::Login {
            email: email.trim().to_owned(),
            credential: credential(code),
        },
    )
    .await?;
    let max_age = session.expires - chrono::Utc::now().timestamp();
    let mut response = Redirect::to("/users").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(app, SESSION_COOKIE, &session.token, Some(max_age.max(0))),
    );
    Ok(response)
}

pub(super) async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let pre = pre_session(&headers);
    if pre.1 || !csrf_ok(&pre.0, &form.csrf) {
        return csrf_refused();
    }
    match sign_in(&app, &form.email, &form.code).await {
        Ok(response) => response,
        Err(err) => {
            // The library's own messages: one for a wrong, used or unknown code, and the
            // backoff's "retry after", so the page leaks no more than the API.
            let status = crate::status_of(&err);
            let form = login_form(&csrf_token(&pre.0), &form.email, Some(&err.to_string()));
            public_page(&app, status, pre, "Sign in", form)
        }
    }
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    all: Option<String>,
}

pub(super) async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let token = match form_session(&app, &headers, &form.csrf) {
        Ok(token) => token,
        Err(response) => return *response,
    };
    let all = form.all.is_some();
    // Ends the session in the store, not only in the browser.
    if let Err(err) = call::<serde_json::Value>(&app, Some(&token), Call::Logout { all }).await {
        if !matches!(err, AccessError::Authentication(_)) {
            return error_page(&err, None);
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(&app, SESSION_COOKIE));
    response
}

pub(super) async fn invite_page(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let pre = pre_session(&headers);
    let csrf = csrf_token(&pre.0);
    // Accepting is a POST: a link previewer that fetches the page must not use it up.
    let body = html! {
        p { "You were invited to this account. Accepting creates your two-factor secret: have an authenticator app ready." }
        p.muted { "The invitation works once. After accepting you enter a first code, and your account is active." }
        form method="post" action={ "/invite/" (token) } {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" id="accept" { "Accept the invitation" }
        }
    };
    public_page(&app, StatusCode::OK, pre, "Accept your invitation", body)
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

fn activation_form(csrf: &str, email: &str, message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.error role="alert" id="error-message" { (message) }
        }
        form method="post" action="/invite/activate" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="email" value=(email);
            p {
                input id="saved" name="saved" type="checkbox" value="yes" required;
                " "
                label for="saved" { "I have saved my recovery codes" }
            }
            p {
                label for="code" { "First code from your authenticator app" }
                input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required;
            }
            p { button type="submit" id="activate" { "Activate my account" } }
        }
    }
}

fn enrolment(csrf: &str, enrollment: &Enrollment) -> Markup {
    let secret = sg_access::totp::secret_from_uri(&enrollment.otpauth_uri).unwrap_or_default();
    html! {
        p { "Signing in as " strong id="enrol-email" { (enrollment.email) } " (" (enrollment.role) ")." }
        h2 { "1. Add the account to your authenticator app" }
        figure.qr {
            (visual::qr_svg(&enrollment.otpauth_uri))
            figcaption { "Scan this QR code, or type the secret below." }
        }
        p { "Secret (base32): " code.secret id="totp-secret" { (secret) } }
        h2 { "2. Save your recovery codes" }
        p { "Each works once, instead of a code, if you lose your authenticator. They are shown only now." }
        ol.codes id="recovery-codes" {
            @for code in &enrollment.recovery_codes { li { (code) } }
        }
        h2 { "3. Enter a first code" }
        (activation_form(csrf, &enrollment.email, None))
    }
}

pub(super) async fn accept(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let pre = pre_session(&headers);
    if pre.1 || !csrf_ok(&pre.0, &form.csrf) {
        return csrf_refused();
    }
    match call::<Enrollment>(&app, None, Call::AcceptInvite { token }).await {
        Ok(enrollment) => {
            let body = enrolment(&csrf_token(&pre.0), &enrollment);
            public_page(&app, StatusCode::OK, pre, "Set up two-factor sign-in", body)
        }
        Err(err) => error_page(&err, None),
    }
}

#[derive(Deserialize)]
pub(super) struct ActivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    saved: Option<String>,
}

pub(super) async fn activate(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<ActivateForm>,
) -> Response {
    let pre = pre_session(&headers);
    if pre.1 || !csrf_ok(&pre.0, &form.csrf) {
        return csrf_refused();
    }
    let csrf = csrf_token(&pre.0);
    if form.saved.is_none() {
        let body = activation_form(
            &csrf,
            &form.email,
            Some("Confirm that you saved your recovery codes. If you lost them, ask an administrator to reset your two-factor sign-in."),
        );
        return public_page(
            &app,
            StatusCode::BAD_REQUEST,
            pre,
            "Activate your account",
            body,
        );
    }
    if form.code.trim().len() != 6 {
        let body = activation_form(
            &csrf,
            &form.email,
            Some("Enter the six-digit code your authenticator app shows."),
        );
        return public_page(
            &app,
            StatusCode::BAD_REQUEST,
            pre,
            "Activate your account",
            body,
        );
    }
    match sign_in(&app, &form.email, &form.code).await {
        Ok(response) => response,
        Err(err) => {
            let status = crate::status_of(&err);
            let body = activation_form(&csrf, &form.email, Some(&err.to_string()));
            public_page(&app, status, pre, "Activate your account", body)
        }
    }
}
