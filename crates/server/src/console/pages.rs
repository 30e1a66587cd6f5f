//! The signed-in pages and their forms. Each one is a few `Call`s: what the library
//! answers is shown, what it refuses becomes the refusal's page.

use super::layout::{amount, may, when, when_opt};
use super::{call, done, error_page, form_session, render, visitor, visual, Once, Visitor};
use crate::App;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use sg_access::api::Call;
use sg_access::roles::capability_to_manage;
use sg_access::{
    AuditEntry, AuditQuery, Capability, ChainReport, Charge, Checkpoint, Invitation, IssuedKey,
    KeyInfo, KeyStatus, Leak, Role, Rollup, Subaccount, UserInfo, Warning,
};
use std::collections::HashMap;

/// The visitor, or the response that ends the handler (sign in, error).
macro_rules! signed_in {
    ($app:expr, $headers:expr) => {
        match visitor(&$app, &$headers).await {
            Ok(v) => v,
            Err(response) => return *response,
        }
    };
}

/// The answer of a call, or the page of its refusal.
macro_rules! answer {
    ($app:expr, $token:expr, $call:expr, $visitor:expr) => {
        match call(&$app, Some($token), $call).await {
            Ok(value) => value,
            Err(err) => return error_page(&err, $visitor),
        }
    };
}

/// The session behind a form post (CSRF checked), or the response that ends the handler.
macro_rules! posted {
    ($app:expr, $headers:expr, $csrf:expr) => {
        match form_session(&$app, &$headers, $csrf) {
            Ok(token) => token,
            Err(response) => return *response,
        }
    };
}

fn csrf_field(v: &Visitor) -> Markup {
    html! { input type="hidden" name="csrf" value=(v.csrf()); }
}

fn scope_text(scope: &Option<Vec<String>>) -> String {
    match scope {
        None => "all subaccounts".to_owned(),
        Some(names) if names.is_empty() => "none".to_owned(),
        Some(names) => names.join(", "),
    }
}

/// `a,b` as the list the API takes; empty means "not given".
fn scope_list(text: &str) -> Option<Vec<String>> {
    let names: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    (!names.is_empty()).then_some(names)
}

/// Whether `me` may add, remove or re-role holders of `target` (what to offer only).
fn may_manage(me: Role, target: Role) -> bool {
    capability_to_manage(target).is_some_and(|c| may(me, c))
}

fn invitation_link(app: &App, headers: &HeaderMap, token: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8722");
    let scheme = if app.tls { "https" } else { "http" };
    format!("{scheme}://{host}/invite/{token}")
}

fn invitation_once(app: &App, headers: &HeaderMap, invitation: &Invitation) -> Once {
    Once {
        title: format!("Invitation link for {}", invitation.email),
        text: invitation_link(app, headers, &invitation.token),
        note: format!(
            "Send this link to {} ({}). It works once, until {}; they set up their own two-factor sign-in, which nobody else sees. It is not shown again.",
            invitation.email,
            invitation.role,
            when(invitation.expires)
        ),
    }
}

pub(super) async fn users(State(app): State<App>, headers: HeaderMap) -> Response {
    let v = signed_in!(app, headers);
    let users: Vec<UserInfo> = answer!(app, &v.token, Call::UserList, Some(&v));
    let me = v.me.role;
    let grantable: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| *r != Role::Owner && may_manage(me, *r))
        .collect();
    let body = html! {
        table id="users" {
            caption.muted { "Everyone with access to the account" }
            thead { tr { th { "Email" } th { "Role" } th { "Subaccounts" } th { "Two-factor" } th { "Last sign-in" } th { "Actions" } } }
            tbody {
                @for (i, u) in users.iter().enumerate() {
                    tr data-email=(u.email) {
                        td { (u.email) }
                        td.role { (u.role) }
                        td { (scope_text(&u.subaccounts)) }
                        td {
                            @if !u.enrolled { "invited, not enrolled" }
                            @else if u.two_factor_verified { "on" }
                            @else { "not yet verified" }
                        }
                        td { (when_opt(u.last_login)) }
                        td {
                            @if u.role != Role::Owner && !u.email.eq_ignore_ascii_case(&v.me.email) && may_manage(me, u.role) {
                                details {
                                summary { "Manage" }
                                form.inline method="post" action="/users/role" {
                                    (csrf_field(&v))
                                    input type="hidden" name="email" value=(u.email);
                                    label for={ "role-" (i) } { "Role" }
                                    select id={ "role-" (i) } name="role" {
                                        @for r in &grantable {
                                            option value=(r) selected[*r == u.role] { (r) }
                                        }
                                    }
                                    label for={ "scope-" (i) } { "Subaccounts" }
                                    input id={ "scope-" (i) } name="subaccounts" size="10"
                                        value=(u.subaccounts.as_ref().map(|s| s.join(",")).unwrap_or_default());
                                    button type="submit" { "Change role" }
                                }
                                form.inline method="post" action="/users/reset-2fa" {
                                    (csrf_field(&v))
                                    input type="hidden" name="email" value=(u.email);
                                    button type="submit" { "Reset 2FA" }
                                }
                                form.inline method="post" action="/users/end-sessions" {
                                    (csrf_field(&v))
                                    input type="hidden" name="email" value=(u.email);
                                    button type="submit" { "End sessions" }
                                }
                                form.inline method="post" action="/users/remove" {
                                    (csrf_field(&v))
                                    input type="hidden" name="email" value=(u.email);
                                    button.danger type="submit" { "Remove" }
                                }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !grantable.is_empty() {
            section id="invite" {
                h2 { "Invite a user" }
                form method="post" action="/users/invite" {
                    (csrf_field(&v))
                    label for="invite-email" { "Email" }
                    input id="invite-email" name="email" type="email" required;
                    label for="invite-role" { "Role" }
                    select id="invite-role" name="role" {
                        @for r in &grantable { option value=(r) { (r) } }
                    }
                    label for="invite-subaccounts" { "Subaccounts (developers; comma-separated)" }
                    input id="invite-subaccounts" name="subaccounts" placeholder="dev,qa";
                    button type="submit" id="invite-submit" { "Invite" }
                }
            }
        }
        form method="post" action="/logout" {
            (csrf_field(&v))
            input type="hidden" name="all" value="yes";
            button type="submit" id="sign-out-everywhere" { "Sign out of all my sessions" }
        }
    };
    render(&app, &headers, &v, "Users", body)
}

#[derive(Deserialize)]
pub(super) struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    subaccounts: String,
}

fn role_of(form: &UserForm) -> Result<Role, Box<Response>> {
    form.role
        .as_deref()
        .unwrap_or_default()
        .parse::<Role>()
        .map_err(|e| Box::new(error_page(&sg_access::AccessError::invalid(e), None)))
}

pub(super) async fn user_invite(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let role = match role_of(&form) {
        Ok(role) => role,
        Err(response) => return *response,
    };
    let invitation: Invitation = answer!(
        app,
        &token,
        Call::UserInvite {
            email: form.email.trim().to_owned(),
            role,
            subaccounts: scope_list(&form.subaccounts),
            expires_in_hours: None,
        },
        None
    );
    let once = invitation_once(&app, &headers, &invitation);
    done(&app, &token, "/users", Some(once))
}

pub(super) async fn user_role(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let role = match role_of(&form) {
        Ok(role) => role,
        Err(response) => return *response,
    };
    let _: serde_json::Value = answer!(
        app,
        &token,
        Call::UserRole {
            email: form.email.clone(),
            role,
            subaccounts: scope_list(&form.subaccounts),
        },
        None
    );
    done(&app, &token, "/users", None)
}

pub(super) async fn user_remove(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let _: serde_json::Value = answer!(
        app,
        &token,
        Call::UserRemove {
            email: form.email.clone()
        },
        None
    );
    done(&app, &token, "/users", None)
}

pub(super) async fn user_reset_2fa(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let invitation: Invitation = answer!(
        app,
        &token,
        Call::UserReset2fa {
            email: form.email.clone(),
            expires_in_hours: None,
        },
        None
    );
    let once = invitation_once(&app, &headers, &invitation);
    done(&app, &token, "/users", Some(once))
}

pub(super) async fn user_end_sessions(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let _: serde_json::Value = answer!(
        app,
        &token,
        Call::SessionEnd {
            email: form.email.clone()
        },
        None
    );
    done(&app, &token, "/users", None)
}

pub(super) async fn subaccounts(State(app): State<App>, headers: HeaderMap) -> Response {
    let v = signed_in!(app, headers);
    let list: Vec<Subaccount> = answer!(app, &v.token, Call::SubaccountList, Some(&v));
    let body = html! {
        table id="subaccounts" {
            thead { tr { th { "Name" } th { "Environment" } th { "Created" } } }
            tbody {
                @for s in &list {
                    tr data-subaccount=(s.name) { td { (s.name) } td { (s.environment) } td { (when(s.created)) } }
                }
            }
        }
        @if list.is_empty() { p.muted { "No subaccounts yet." } }
        @if may(v.me.role, Capability::ManageSubaccounts) {
            h2 { "Create a subaccount" }
            form method="post" action="/subaccounts" {
                (csrf_field(&v))
                label for="sub-name" { "Name" }
                input id="sub-name" name="name" required pattern="[A-Za-z0-9._-]{1,64}";
                label for="sub-env" { "Environment" }
                input id="sub-env" name="environment" required placeholder="dev, qa, prod …";
                button type="submit" id="sub-create" { "Create" }
            }
        }
    };
    render(&app, &headers, &v, "Subaccounts", body)
}

#[derive(Deserialize)]
pub(super) struct SubaccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    environment: String,
}

pub(super) async fn subaccount_add(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<SubaccountForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let _: serde_json::Value = answer!(
        app,
        &token,
        Call::SubaccountAdd {
            name: form.name.trim().to_owned(),
            environment: form.environment.trim().to_owned(),
        },
        None
    );
    done(&app, &token, "/subaccounts", None)
}

#[derive(Deserialize)]
pub(super) struct KeysQuery {
    #[serde(default)]
    subaccount: Option<String>,
}

/// Where scans found each key leaked (`POST /api/v1/leaks`), by key id.
async fn leak_places(app: &App, token: &str) -> HashMap<i64, Vec<String>> {
    let leaks: Vec<Leak> = call(app, Some(token), Call::LeakList)
        .await
        .unwrap_or_default();
    let mut places: HashMap<i64, Vec<String>> = HashMap::new();
    for leak in leaks {
        let place = match &leak.commit {
            Some(commit) => format!("{} at commit {commit}", leak.path),
            None => leak.path.clone(),
        };
        places.entry(leak.key_id).or_default().push(place);
    }
    places
}

pub(super) async fn keys(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<KeysQuery>,
) -> Response {
    let v = signed_in!(app, headers);
    let subaccount = query.subaccount.filter(|s| !s.is_empty());
    let keys: Vec<KeyInfo> = answer!(
        app,
        &v.token,
        Call::KeyList {
            subaccount: subaccount.clone()
        },
        Some(&v)
    );
    let all: Vec<Subaccount> = call(&app, Some(&v.token), Call::SubaccountList)
        .await
        .unwrap_or_default();
    // Offer only the subaccounts the visitor's scope names; the library checks anyway.
    let mine: Vec<&Subaccount> = all
        .iter()
        .filter(|s| {
            v.me.subaccounts
                .as_ref()
                .is_none_or(|scope| scope.contains(&s.name))
        })
        .collect();
    let leaks = leak_places(&app, &v.token).await;
    let manage = may(v.me.role, Capability::ManageKeys);
    let body = html! {
        nav aria-label="Subaccounts" {
            p {
                "Show: "
                a href="/keys" { "all" }
                @for s in &mine { " · " a href={ "/keys?subaccount=" (s.name) } { (s.name) } }
            }
        }
        @if let Some(name) = &subaccount { p { "Keys of subaccount " strong { (name) } "." } }
        table id="keys" {
            thead { tr {
                th { "Name" } th { "Subaccount" } th { "Prefix" } th { "Created" } th { "Last used" }
                th { "Expires" } th { "Status" } th { "Actions" }
            } }
            tbody {
                @for k in &keys {
                    @let leaked = leaks.get(&k.id);
                    tr data-key-id=(k.id) data-subaccount=(k.subaccount) {
                        td { (k.name) }
                        td { (k.subaccount) " (" (k.environment) ")" }
                        td { code { (k.prefix) "…" } }
                        td { (when(k.created)) " by " (k.created_by) }
                        td { (when_opt(k.last_used)) }
                        td { (k.expires.map(when).unwrap_or_else(|| "never".to_owned())) }
                        td {
                            @if let Some(places) = leaked {
                                span.status-leaked { "leaked" } " (" (k.status.as_str()) "): found in " (places.join("; "))
                            } @else {
                                span class={ "status-" (k.status.as_str()) } { (k.status.as_str()) }
                            }
                            @if let (Some(until), Some(by)) = (k.grace_until, k.replaced_by) {
                                " (rotated: works until " (when(until)) ", replaced by key " (by) ")"
                            }
                        }
                        td {
                            @if manage && k.status == KeyStatus::Live && k.replaced_by.is_none() {
                                form.inline method="post" action="/keys/rotate" {
                                    (csrf_field(&v))
                                    input type="hidden" name="id" value=(k.id);
                                    label for={ "grace-" (k.id) } { "Grace (hours)" }
                                    input id={ "grace-" (k.id) } name="grace_hours" type="number" min="0" max="720" value="24" size="4";
                                    button type="submit" { "Rotate" }
                                }
                                form.inline method="post" action="/keys/revoke" {
                                    (csrf_field(&v))
                                    input type="hidden" name="id" value=(k.id);
                                    button.danger type="submit" { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if keys.is_empty() { p.muted { "No keys here." } }
        @if manage && !mine.is_empty() {
            h2 { "Create a key" }
            form method="post" action="/keys/create" {
                (csrf_field(&v))
                label for="key-subaccount" { "Subaccount" }
                select id="key-subaccount" name="subaccount" {
                    @for s in &mine {
                        option value=(s.name) selected[subaccount.as_deref() == Some(s.name.as_str())] { (s.name) " (" (s.environment) ")" }
                    }
                }
                label for="key-name" { "Name" }
                input id="key-name" name="name" placeholder="ci";
                label for="key-expires" { "Expires in (days, optional)" }
                input id="key-expires" name="expires_in_days" type="number" min="1" size="4";
                button type="submit" id="key-create" { "Create key" }
            }
        }
    };
    render(&app, &headers, &v, "API keys", body)
}

#[derive(Deserialize)]
pub(super) struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subaccount: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in_days: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    grace_hours: String,
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, Box<Response>> {
    text.trim().parse().map_err(|_| {
        Box::new(error_page(
            &sg_access::AccessError::invalid(format!("{what} must be a whole number")),
            None,
        ))
    })
}

fn key_once(key: &IssuedKey, what: &str) -> Once {
    Once {
        title: format!("{what} {} in {}", key.name, key.subaccount),
        text: key.secret.expose().to_owned(),
        note: "Copy this key now and store it where it is used: it is shown only once, and only its hash is kept.".to_owned(),
    }
}

pub(super) async fn key_create(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let expires_in_days = if form.expires_in_days.trim().is_empty() {
        None
    } else {
        match number(&form.expires_in_days, "expires in (days)") {
            Ok(days) => Some(days),
            Err(response) => return *response,
        }
    };
    let name = form.name.trim();
    let key: IssuedKey = answer!(
        app,
        &token,
        Call::KeyCreate {
            subaccount: form.subaccount.clone(),
            name: (!name.is_empty()).then(|| name.to_owned()),
            expires_in_days,
        },
        None
    );
    let to = format!("/keys?subaccount={}", key.subaccount);
    done(&app, &token, &to, Some(key_once(&key, "New API key")))
}

pub(super) async fn key_rotate(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let (id, grace_hours) = match (
        number::<i64>(&form.id, "key id"),
        number::<u32>(&form.grace_hours, "grace (hours)"),
    ) {
        (Ok(id), Ok(grace)) => (id, grace),
        (Err(response), _) | (_, Err(response)) => return *response,
    };
    let key: IssuedKey = answer!(app, &token, Call::KeyRotate { id, grace_hours }, None);
    done(
        &app,
        &token,
        "/keys",
        Some(key_once(&key, "Replacement key")),
    )
}

pub(super) async fn key_revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let id = match number::<i64>(&form.id, "key id") {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let _: serde_json::Value = answer!(app, &token, Call::KeyRevoke { id }, None);
    done(&app, &token, "/keys", None)
}

pub(super) async fn billing(State(app): State<App>, headers: HeaderMap) -> Response {
    let v = signed_in!(app, headers);
    let rollup: Rollup = answer!(app, &v.token, Call::BillingRollup, Some(&v));
    let charges: Vec<Charge> = answer!(app, &v.token, Call::BillingCharges, Some(&v));
    let money = |minor: i64| amount(minor, rollup.exponent, &rollup.currency);
    let manage = may(v.me.role, Capability::Billing);
    let body = html! {
        h2 { "Rollup" }
        table id="rollup" {
            thead { tr { th { "Subaccount" } th { "Environment" } th.num { "Total" } } }
            tbody {
                @for s in &rollup.subaccounts {
                    tr data-subaccount=(s.name) {
                        td { (s.name) } td { (s.environment) }
                        td.num data-minor=(s.total_minor) { (money(s.total_minor)) }
                    }
                }
            }
            tfoot {
                tr { th colspan="2" { "Primary account total" } th.num id="rollup-total" data-minor=(rollup.total_minor) { (money(rollup.total_minor)) } }
            }
        }
        (visual::rollup_chart(&rollup))
        h2 { "Charges" }
        table id="charges" {
            thead { tr { th { "#" } th { "Recorded" } th { "Subaccount" } th { "Description" } th.num { "Amount" } th { "Status" } th { "Actions" } } }
            tbody {
                @for c in charges.iter().rev() {
                    tr data-charge-id=(c.id) {
                        td { (c.id) }
                        td { (when(c.created)) " by " (c.recorded_by) }
                        td { (c.subaccount) }
                        td { (c.description) }
                        td.num { (money(c.amount_minor)) }
                        td {
                            @if let Some(by) = c.voided_by { "voided by #" (by) }
                            @else if let Some(of) = c.reverses { "voids #" (of) }
                        }
                        td {
                            @if manage && c.voided_by.is_none() && c.reverses.is_none() {
                                form.inline method="post" action="/billing/void" {
                                    (csrf_field(&v))
                                    input type="hidden" name="id" value=(c.id);
                                    label for={ "void-reason-" (c.id) } { "Reason" }
                                    input id={ "void-reason-" (c.id) } name="reason" required size="12";
                                    button.danger type="submit" { "Void" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if charges.is_empty() { p.muted { "No charges yet." } }
        @if manage && !rollup.subaccounts.is_empty() {
            h2 { "Record a charge" }
            form method="post" action="/billing/record" {
                (csrf_field(&v))
                label for="charge-subaccount" { "Subaccount" }
                select id="charge-subaccount" name="subaccount" {
                    @for s in &rollup.subaccounts { option value=(s.name) { (s.name) } }
                }
                label for="charge-amount" { "Amount (" (rollup.currency) ")" }
                input id="charge-amount" name="amount" required inputmode="decimal" size="8";
                label for="charge-description" { "Description" }
                input id="charge-description" name="description" required;
                button type="submit" id="charge-record" { "Record" }
            }
        }
    };
    render(&app, &headers, &v, "Billing overview", body)
}

#[derive(Deserialize)]
pub(super) struct ChargeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subaccount: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn billing_record(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<ChargeForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let _: serde_json::Value = answer!(
        app,
        &token,
        Call::BillingRecord {
            subaccount: form.subaccount.clone(),
            amount: form.amount.trim().to_owned(),
            description: form.description.clone(),
        },
        None
    );
    done(&app, &token, "/billing", None)
}

pub(super) async fn billing_void(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<ChargeForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let id = match number::<i64>(&form.id, "charge id") {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let _: serde_json::Value = answer!(
        app,
        &token,
        Call::BillingVoid {
            id,
            reason: form.reason.clone()
        },
        None
    );
    done(&app, &token, "/billing", None)
}

/// Entries per audit page.
const AUDIT_PAGE: u64 = 25;

#[derive(Deserialize, Default)]
pub(super) struct AuditParams {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    page: u64,
}

fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn audit_link(params: &AuditParams, page: u64) -> String {
    format!(
        "/audit?actor={}&action={}&page={page}",
        query_escape(&params.actor),
        query_escape(&params.action)
    )
}

pub(super) async fn audit(
    State(app): State<App>,
    headers: HeaderMap,
    Query(params): Query<AuditParams>,
) -> Response {
    let v = signed_in!(app, headers);
    let filter = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let query = AuditQuery {
        // One more than a page, to know whether older entries exist.
        limit: Some(AUDIT_PAGE + 1),
        offset: params.page.saturating_mul(AUDIT_PAGE),
        actor: filter(&params.actor),
        action: filter(&params.action),
    };
    let mut entries: Vec<AuditEntry> = answer!(app, &v.token, Call::AuditList { query }, Some(&v));
    let report: ChainReport = answer!(
        app,
        &v.token,
        Call::AuditVerify { checkpoint: None },
        Some(&v)
    );
    entries.sort_by_key(|e| std::cmp::Reverse(e.id));
    let older = entries.len() as u64 > AUDIT_PAGE;
    entries.truncate(AUDIT_PAGE as usize);
    let body = html! {
        @match &report.first_bad {
            None => p.ok id="chain-status" role="status" { "Chain verified: all " (report.entries) " entries are intact." },
            Some(bad) => p.error id="chain-status" role="alert" { "Chain broken at entry " (bad.id) ": " (bad.problem) },
        }
        form method="post" action="/audit/checkpoint" {
            (csrf_field(&v))
            button type="submit" id="checkpoint" { "Download a signed checkpoint" }
            " "
            span.muted { "Keep it outside the server: `secrets-guard access audit verify --checkpoint FILE` proves later that the log was not truncated or rolled back." }
        }
        h2 { "Entries" }
        form method="get" action="/audit" {
            label for="audit-actor" { "User (email)" }
            input id="audit-actor" name="actor" value=(params.actor);
            label for="audit-action" { "Action starts with" }
            input id="audit-action" name="action" value=(params.action) placeholder="key";
            button type="submit" id="audit-filter" { "Filter" }
        }
        table id="audit" {
            thead { tr { th { "#" } th { "When" } th { "User" } th { "Action" } th { "Target" } th { "Result" } th { "Detail" } } }
            tbody {
                @for e in &entries {
                    tr data-actor=(e.actor) data-action=(e.action) {
                        td { (e.id) } td { (when(e.at)) } td { (e.actor) } td { (e.action) }
                        td { (e.target) } td { (e.result) } td { (e.detail) }
                    }
                }
            }
        }
        @if entries.is_empty() { p.muted { "No entries match." } }
        nav aria-label="Pages" {
            p {
                @if params.page > 0 { a href=(audit_link(&params, params.page - 1)) rel="prev" { "Newer" } " " }
                "Page " (params.page + 1)
                @if older { " " a href=(audit_link(&params, params.page + 1)) rel="next" id="audit-older" { "Older" } }
            }
        }
    };
    render(&app, &headers, &v, "Audit log", body)
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn audit_checkpoint(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let token = posted!(app, headers, &form.csrf);
    let checkpoint: Checkpoint = answer!(app, &token, Call::AuditCheckpoint, None);
    let json = serde_json::to_string_pretty(&checkpoint).unwrap_or_default() + "\n";
    let disposition = format!(
        "attachment; filename=\"audit-checkpoint-{}.json\"",
        checkpoint.entries
    );
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        json,
    )
        .into_response()
}

/// Where each kind of doctor finding is fixed.
fn fix_for(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "no-backup-administrator" => ("/users#invite", "Invite a backup administrator"),
        "never-logged-in" => (
            "/users",
            "Reset their 2FA to send a new invitation, or remove them",
        ),
        "old-key" => ("/keys", "Rotate the key"),
        "unused-key" => ("/keys", "Revoke the unused key"),
        "orphaned-prod-key" => ("/keys", "Rotate the key, or revoke it"),
        _ => ("/audit", "Review the audit log"),
    }
}

pub(super) async fn health(State(app): State<App>, headers: HeaderMap) -> Response {
    let v = signed_in!(app, headers);
    let findings: Vec<Warning> = answer!(app, &v.token, Call::Doctor, Some(&v));
    let body = html! {
        @if findings.is_empty() {
            p.ok id="no-findings" role="status" { "No findings: the account looks healthy." }
        } @else {
            table id="findings" {
                thead { tr { th { "Finding" } th { "About" } th { "What it means" } th { "Fix" } } }
                tbody {
                    @for w in &findings {
                        @let (href, label) = fix_for(&w.kind);
                        tr data-kind=(w.kind) {
                            td { (w.kind) } td { (w.subject) } td { (w.message) }
                            td { a.fix href=(href) { (label) } }
                        }
                    }
                }
            }
        }
    };
    render(&app, &headers, &v, "Health", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_parsed_and_empty_means_not_given() {
        assert_eq!(
            scope_list(" dev, qa ,"),
            Some(vec!["dev".to_owned(), "qa".to_owned()])
        );
        assert_eq!(scope_list("  "), None);
    }

    #[test]
    fn only_the_owner_is_offered_administrators() {
        assert!(may_manage(Role::Owner, Role::Administrator));
        assert!(!may_manage(Role::Administrator, Role::Administrator));
        assert!(may_manage(Role::Administrator, Role::Developer));
        assert!(!may_manage(Role::Developer, Role::Support));
        assert!(!may_manage(Role::Owner, Role::Owner));
    }

    #[test]
    fn audit_links_escape_the_filters() {
        let params = AuditParams {
            actor: "a&b@x.test".into(),
            action: "key revoke".into(),
            page: 0,
        };
        assert_eq!(
            audit_link(&params, 2),
            "/audit?actor=a%26b%40x.test&action=key%20revoke&page=2"
        );
    }
}
