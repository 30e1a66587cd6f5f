//! What the scanner does with leaked secrets-guard keys (`scan --access-db` or
//! `--access-server`, `--revoke-leaked`): ask the access store whether each one is live,
//! list live leaks first, and revoke them in one step. The lookups, permission checks and
//! the transaction live in `sg_access`; this module only maps findings to them. A server
//! is only ever sent keys' hashes.

use anyhow::Context;
use sg_access::api::{Call, Transport};
use sg_access::{KeyLookup, KeyStatus, LeakedKey, Store};
use sg_engine::{AccessInfo, Finding};
use sg_keyformat::ApiKey;
use std::path::Path;

/// The outcome of `--revoke-leaked`.
pub enum Revocation {
    /// These keys were revoked (possibly none: no live leak).
    Revoked(Vec<sg_access::RevokedKey>),
    /// The acting user may not revoke them (or there is no session); nothing was revoked.
    Refused(String),
}

/// Where key statuses come from: the access store named by `--access-db` /
/// `SECRETS_GUARD_DB`, or the server named by `--access-server`, with the current access
/// session (needed by a server, which answers only for keys the user may view).
pub struct Access {
    transport: Transport,
    token: Option<String>,
}

/// Opens the access store or server given, if any.
pub fn open_access(db: Option<&Path>, server: Option<&str>) -> anyhow::Result<Option<Access>> {
    let transport = match (server.filter(|s| !s.is_empty()), db) {
        (Some(url), _) => Transport::Http(sg_access::client::Client::new(url)?),
        (None, Some(db)) => Transport::Local(Box::new(
            Store::open_existing(db)
                .with_context(|| format!("opening the access store {}", db.display()))?,
        )),
        (None, None) => return Ok(None),
    };
    let token = match sg_access::read_session_file(&sg_access::default_session_path()) {
        Ok(token) => Some(token),
        Err(e) if e.is_refusal() => None,
        Err(e) => return Err(e).context("reading the access session"),
    };
    Ok(Some(Access { transport, token }))
}

impl Access {
    /// Fails now, with the reason, when a server cannot answer for this session (down,
    /// not logged in, session expired): a check must never pass because nobody answered.
    pub fn ensure_reachable(&self) -> anyhow::Result<()> {
        if let Transport::Http(client) = &self.transport {
            let _: sg_access::UserInfo =
                self.transport
                    .call(self.token.as_deref(), Call::Whoami)
                    .with_context(|| format!("asking the access server {}", client.url()))?;
        }
        Ok(())
    }

    /// What the store knows about `secret` (a well-formed secrets-guard key).
    pub fn status(&self, secret: &str) -> sg_access::Result<KeyLookup> {
        self.transport.key_status(self.token.as_deref(), secret)
    }
}

/// Fills `Finding::access` for every finding whose secret is a well-formed secrets-guard key.
/// Keys are matched by their hash; nothing about the secret is stored in the finding.
pub fn attach_access_status(access: &Access, findings: &mut [Finding]) -> anyhow::Result<()> {
    for finding in findings.iter_mut() {
        if ApiKey::parse(&finding.secret).is_err() {
            continue;
        }
        let lookup = access
            .status(&finding.secret)
            .with_context(|| format!("looking up the key found in {}", finding.path))?;
        finding.access = Some(access_info(&lookup));
    }
    Ok(())
}

/// Tells the access store where its keys were found (by hash), so the Console shows them
/// as leaked with the file and commit. Needs a session; without one, nothing is reported.
/// Returns how many leaks were new.
pub fn report_leaks(access: &Access, findings: &[Finding]) -> anyhow::Result<usize> {
    let Some(token) = access.token.as_deref() else {
        return Ok(0);
    };
    let leaks: Vec<LeakedKey> = findings
        .iter()
        .filter(|f| f.access.as_ref().is_some_and(|a| a.status != "unknown"))
        .map(|f| {
            LeakedKey::new(
                &f.secret,
                f.path.clone(),
                f.commit.as_ref().map(|c| c.id.clone()),
            )
        })
        .collect();
    if leaks.is_empty() {
        return Ok(0);
    }
    let recorded: sg_access::Result<Vec<sg_access::Leak>> = access
        .transport
        .call(Some(token), Call::ReportLeaks { leaks });
    match recorded {
        Ok(recorded) => Ok(recorded.len()),
        // A session that expired must not fail the scan; the findings stand as they are.
        Err(e) if e.is_refusal() => {
            eprintln!("warning: leaks not reported to the access store: {e}");
            Ok(0)
        }
        Err(e) => Err(e).context("reporting leaked keys"),
    }
}

fn access_info(lookup: &KeyLookup) -> AccessInfo {
    AccessInfo {
        status: status_word(lookup.status).to_owned(),
        subaccount: lookup.subaccount.clone(),
        environment: lookup.environment.clone(),
        key_id: lookup.key_id.map(|id| id.to_string()),
        key_name: lookup.key_name.clone(),
    }
}

fn status_word(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Live => "live",
        KeyStatus::Revoked => "revoked",
        KeyStatus::Expired => "expired",
        KeyStatus::Unknown => "unknown",
    }
}

/// A finding of a key the access store says is live.
pub fn is_live_leak(finding: &Finding) -> bool {
    finding.access.as_ref().is_some_and(|a| a.status == "live")
}

/// Live leaks first; otherwise the order is kept (it is already deterministic).
pub fn live_first(findings: &mut [Finding]) {
    findings.sort_by_key(|f| !is_live_leak(f));
}

/// Revokes every live leaked key as the current access session's user, in one transaction.
/// Revoked findings are marked `revoked`. A refusal revokes nothing.
pub fn revoke_live_leaks(access: &Access, findings: &mut [Finding]) -> anyhow::Result<Revocation> {
    let leaks: Vec<LeakedKey> = findings
        .iter()
        .filter(|f| is_live_leak(f))
        .map(|f| {
            LeakedKey::new(
                &f.secret,
                f.path.clone(),
                f.commit.as_ref().map(|c| c.id.clone()),
            )
        })
        .collect();
    if leaks.is_empty() {
        return Ok(Revocation::Revoked(Vec::new()));
    }
    let Some(token) = access.token.as_deref() else {
        return Ok(Revocation::Refused(
            "not logged in: run `secrets-guard access login EMAIL --otp CODE` first".to_owned(),
        ));
    };
    let revoked: sg_access::Result<Vec<sg_access::RevokedKey>> = access
        .transport
        .call(Some(token), Call::RevokeLeaked { leaks });
    match revoked {
        Ok(revoked) => {
            for finding in findings.iter_mut().filter(|f| is_live_leak(f)) {
                if let Some(access) = finding.access.as_mut() {
                    access.status = "revoked".to_owned();
                }
            }
            Ok(Revocation::Revoked(revoked))
        }
        Err(e) if e.is_refusal() => Ok(Revocation::Refused(e.to_string())),
        Err(e) => Err(e).context("revoking leaked keys"),
    }
}
