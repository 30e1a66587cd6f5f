//! The one access API: every operation as a [`Call`], and [`dispatch`], which runs a call
//! against a store on behalf of a session token. The CLI (locally or through the server),
//! the HTTP server and the Console all go through it, so every operation, and every
//! authorization check behind it, exists once.
//!
//! Over HTTP a call is `POST /api/v1/<op>` with the call's fields as a JSON object and the
//! session token as a bearer token; the answer is the operation's result as JSON, or
//! `{"error": {"code", "message"}}`.

use crate::error::{AccessError, Result};
use crate::{AuditQuery, Checkpoint, Credential, LeakedKey, Role, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Every operation of the access API. The `op` tag is also the HTTP path under `/api/v1/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum Call {
    #[serde(rename = "login")]
    Login {
        email: String,
        credential: Credential,
    },
    #[serde(rename = "invitations/accept")]
    AcceptInvite { token: String },
    #[serde(rename = "logout")]
    Logout {
        #[serde(default)]
        all: bool,
    },
    #[serde(rename = "whoami")]
    Whoami,
    #[serde(rename = "sessions/list")]
    SessionList,
    #[serde(rename = "sessions/end")]
    SessionEnd { email: String },
    #[serde(rename = "users/invite")]
    UserInvite {
        email: String,
        role: Role,
        #[serde(default)]
        subaccounts: Option<Vec<String>>,
        #[serde(default)]
        expires_in_hours: Option<u32>,
    },
    #[serde(rename = "users/reset-2fa")]
    UserReset2fa {
        email: String,
        #[serde(default)]
        expires_in_hours: Option<u32>,
    },
    #[serde(rename = "users/remove")]
    UserRemove { email: String },
    #[serde(rename = "users/role")]
    UserRole {
        email: String,
        role: Role,
        #[serde(default)]
        subaccounts: Option<Vec<String>>,
    },
    #[serde(rename = "users/list")]
    UserList,
    #[serde(rename = "transfer-ownership")]
    TransferOwnership { email: String, otp: String },
    #[serde(rename = "subaccounts/add")]
    SubaccountAdd { name: String, environment: String },
    #[serde(rename = "subaccounts/list")]
    SubaccountList,
    #[serde(rename = "keys/create")]
    KeyCreate {
        subaccount: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        expires_in_days: Option<u32>,
    },
    #[serde(rename = "keys/list")]
    KeyList {
        #[serde(default)]
        subaccount: Option<String>,
    },
    #[serde(rename = "keys/rotate")]
    KeyRotate { id: i64, grace_hours: u32 },
    #[serde(rename = "keys/revoke")]
    KeyRevoke { id: i64 },
    /// Needs no session: services check the keys presented to them.
    #[serde(rename = "keys/verify")]
    KeyVerify { key: String },
    /// Takes the key's SHA-256 hash ([`crate::key_hash`]), never the key.
    #[serde(rename = "keys/status")]
    KeyStatus { hash: String },
    #[serde(rename = "keys/revoke-leaked")]
    RevokeLeaked { leaks: Vec<LeakedKey> },
    /// A scan reports where keys leaked (by hash), so the Console can show them.
    #[serde(rename = "leaks")]
    ReportLeaks { leaks: Vec<LeakedKey> },
    #[serde(rename = "leaks/list")]
    LeakList,
    #[serde(rename = "billing/record")]
    BillingRecord {
        subaccount: String,
        amount: String,
        description: String,
    },
    #[serde(rename = "billing/void")]
    BillingVoid { id: i64, reason: String },
    #[serde(rename = "billing/charges")]
    BillingCharges,
    #[serde(rename = "billing/rollup")]
    BillingRollup,
    #[serde(rename = "audit/list")]
    AuditList {
        #[serde(default)]
        query: AuditQuery,
    },
    #[serde(rename = "audit/verify")]
    AuditVerify {
        #[serde(default)]
        checkpoint: Option<Checkpoint>,
    },
    #[serde(rename = "audit/checkpoint")]
    AuditCheckpoint,
    /// Needs no session: anyone may check a checkpoint's signature.
    #[serde(rename = "audit/public-key")]
    AuditPublicKey,
    #[serde(rename = "doctor")]
    Doctor,
}

impl Call {
    /// The operation's name, which is also its path under `/api/v1/`.
    pub fn op(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("op").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    }

    /// The call's fields without the `op` tag: the HTTP request body.
    pub fn body(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(map) = value.as_object_mut() {
            map.remove("op");
        }
        value
    }

    /// Rebuilds a call from its HTTP path (`op`) and body.
    pub fn from_parts(op: &str, body: Value) -> Result<Call> {
        let mut map = match body {
            Value::Object(map) => map,
            Value::Null => serde_json::Map::new(),
            _ => {
                return Err(AccessError::invalid(
                    "the request body must be a JSON object",
                ))
            }
        };
        map.insert("op".to_owned(), Value::String(op.to_owned()));
        serde_json::from_value(Value::Object(map)).map_err(|e| {
            if e.to_string().contains("unknown variant") {
                AccessError::NotFound {
                    what: "API operation",
                    name: op.to_owned(),
                }
            } else {
                AccessError::invalid(format!("{op}: {e}"))
            }
        })
    }

    /// Whether the call runs without a session.
    pub fn is_public(&self) -> bool {
        matches!(
            self,
            Call::Login { .. }
                | Call::AcceptInvite { .. }
                | Call::KeyVerify { .. }
                | Call::AuditPublicKey
        )
    }
}

fn to_json(value: impl Serialize) -> Result<Value> {
    serde_json::to_value(value)
        .map_err(|e| AccessError::invalid(format!("encoding the answer: {e}")))
}

/// Runs `call` against `store` for the session `token`, and returns its result as JSON.
pub fn dispatch(store: &Store, token: Option<&str>, call: Call) -> Result<Value> {
    let actor = if call.is_public() {
        None
    } else {
        let token = token.ok_or_else(|| {
            AccessError::Authentication(
                "no session: log in with `secrets-guard access login EMAIL --otp CODE`".to_owned(),
            )
        })?;
        Some(crate::actor_for_token(store, token)?)
    };
    let me = || {
        actor
            .clone()
            .ok_or_else(|| AccessError::Authentication("this operation needs a session".to_owned()))
    };
    match call {
        Call::Login { email, credential } => to_json(crate::login(store, &email, &credential)?),
        Call::AcceptInvite { token } => to_json(crate::accept_invite(store, &token)?),
        Call::Logout { all } => {
            let token = token.unwrap_or_default();
            to_json(crate::logout(store, token, all)?)
        }
        Call::Whoami => to_json(crate::whoami(store, &me()?)?),
        Call::SessionList => to_json(crate::list_sessions(store, token.unwrap_or_default())?),
        Call::SessionEnd { email } => {
            to_json(json!({ "ended": crate::end_sessions(store, &me()?, &email)? }))
        }
        Call::UserInvite {
            email,
            role,
            subaccounts,
            expires_in_hours,
        } => to_json(crate::invite_user(
            store,
            &me()?,
            &email,
            role,
            subaccounts.as_ref(),
            expires_in_hours,
        )?),
        Call::UserReset2fa {
            email,
            expires_in_hours,
        } => to_json(crate::reset_2fa(store, &me()?, &email, expires_in_hours)?),
        Call::UserRemove { email } => {
            crate::remove_user(store, &me()?, &email)?;
            to_json(json!({ "removed": email }))
        }
        Call::UserRole {
            email,
            role,
            subaccounts,
        } => {
            crate::set_role(store, &me()?, &email, role, subaccounts.as_ref())?;
            to_json(json!({ "email": email, "role": role }))
        }
        Call::UserList => to_json(crate::list_users(store, &me()?)?),
        Call::TransferOwnership { email, otp } => {
            crate::transfer_ownership(store, &me()?, &email, &otp)?;
            to_json(json!({ "owner": email }))
        }
        Call::SubaccountAdd { name, environment } => {
            to_json(crate::add_subaccount(store, &me()?, &name, &environment)?)
        }
        Call::SubaccountList => to_json(crate::list_subaccounts(store, &me()?)?),
        Call::KeyCreate {
            subaccount,
            name,
            expires_in_days,
        } => to_json(crate::create_key(
            store,
            &me()?,
            &subaccount,
            name.as_deref(),
            expires_in_days,
        )?),
        Call::KeyList { subaccount } => {
            to_json(crate::list_keys(store, &me()?, subaccount.as_deref())?)
        }
        Call::KeyRotate { id, grace_hours } => {
            to_json(crate::rotate_key(store, &me()?, id, grace_hours)?)
        }
        Call::KeyRevoke { id } => to_json(crate::revoke_key(store, &me()?, id)?),
        Call::KeyVerify { key } => to_json(crate::verify_key(store, &key)?),
        Call::KeyStatus { hash } => to_json(crate::key_status_by_hash(store, &me()?, &hash)?),
        Call::RevokeLeaked { leaks } => to_json(crate::revoke_leaked(store, &me()?, &leaks)?),
        Call::ReportLeaks { leaks } => to_json(crate::report_leaks(store, &me()?, &leaks)?),
        Call::LeakList => to_json(crate::list_leaks(store, &me()?)?),
        Call::BillingRecord {
            subaccount,
            amount,
            description,
        } => to_json(crate::record_charge(
            store,
            &me()?,
            &subaccount,
            &amount,
            &description,
        )?),
        Call::BillingVoid { id, reason } => {
            to_json(crate::void_charge(store, &me()?, id, &reason)?)
        }
        Call::BillingCharges => to_json(crate::list_charges(store, &me()?)?),
        Call::BillingRollup => to_json(crate::rollup(store, &me()?)?),
        Call::AuditList { query } => to_json(crate::list_audit(store, &me()?, &query)?),
        Call::AuditVerify { checkpoint } => {
            to_json(crate::verify_audit(store, &me()?, checkpoint.as_ref())?)
        }
        Call::AuditCheckpoint => to_json(crate::checkpoint(store, &me()?)?),
        Call::AuditPublicKey => to_json(json!({ "public_key": store.key().public_key_hex() })),
        Call::Doctor => to_json(crate::doctor(store, &me()?)?),
    }
}

/// Where the CLI sends its calls: a local database, or an access server over HTTP.
pub enum Transport {
    Local(Box<Store>),
    Http(crate::client::Client),
}

impl Transport {
    /// Runs `call` with the session `token` and decodes the answer as `T`.
    pub fn call<T: serde::de::DeserializeOwned>(
        &self,
        token: Option<&str>,
        call: Call,
    ) -> Result<T> {
        let value = match self {
            Transport::Local(store) => dispatch(store.as_ref(), token, call)?,
            Transport::Http(client) => client.call(token, &call)?,
        };
        serde_json::from_value(value)
            .map_err(|e| AccessError::invalid(format!("unexpected answer: {e}")))
    }

    /// What the store knows about a key found somewhere. Locally the key is looked up
    /// directly (whoever holds a local store holds everything in it); a server is sent only
    /// the key's hash, under the session `token`, and answers for keys the user may view.
    pub fn key_status(&self, token: Option<&str>, secret: &str) -> Result<crate::KeyLookup> {
        match self {
            Transport::Local(store) => crate::lookup_key(store.as_ref(), secret),
            Transport::Http(_) => self.call(
                token,
                Call::KeyStatus {
                    hash: crate::key_hash(secret.trim()),
                },
            ),
        }
    }

    /// The local store, for the few commands that only exist locally.
    pub fn local(&self) -> Option<&Store> {
        match self {
            Transport::Local(store) => Some(store.as_ref()),
            Transport::Http(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_round_trip_through_path_and_body() {
        let call = Call::UserInvite {
            email: "dev@acme.test".into(),
            role: Role::Developer,
            subaccounts: Some(vec!["dev".into()]),
            expires_in_hours: None,
        };
        assert_eq!(call.op(), "users/invite");
        let back = Call::from_parts(&call.op(), call.body()).expect("round trip");
        assert_eq!(back.op(), "users/invite");
        assert!(matches!(
            Call::from_parts("users/nope", Value::Null),
            Err(AccessError::NotFound { .. })
        ));
    }
}
