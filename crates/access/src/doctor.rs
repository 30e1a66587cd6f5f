//! `access doctor`: account health checks that warn rather than refuse.

use crate::authz::{acting, member_by_email, Actor};
use crate::error::Result;
use crate::keys::{all_keys, KeyStatus};
use crate::roles::{Capability, Role};
use crate::store::Store;
use serde::Serialize;

/// Keys older than this many days are reported.
pub const MAX_KEY_AGE_DAYS: i64 = 90;

/// One thing the doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// `no-backup-administrator`, `never-logged-in`, `old-key`, `unused-key` or `orphaned-prod-key`.
    pub kind: &'static str,
    /// The user or key concerned.
    pub subject: String,
    pub message: String,
}

/// Runs every check. Anyone who may view usage may run it.
pub fn doctor(store: &Store, actor: &Actor) -> Result<Vec<Warning>> {
    store.require_initialized()?;
    store.write(&actor.email, "doctor", "", |tx, now| {
        let me = acting(tx, actor)?;
        me.require(Capability::ViewUsageAndAudit, None, || {
            "run the doctor".to_owned()
        })?;
        let mut warnings = Vec::new();

        let mut stmt = tx.prepare("SELECT email, role, last_login FROM users ORDER BY id")?;
        let users = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let administrators: Vec<&String> = users
            .iter()
            .filter(|(_, role, _)| {
                role.parse::<Role>().is_ok_and(Role::administers)
            })
            .map(|(email, _, _)| email)
            .collect();
        if administrators.len() <= 1 {
            warnings.push(Warning {
                kind: "no-backup-administrator",
                subject: administrators
                    .first()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
                message: "only one user can administer the account: add a backup administrator"
                    .to_owned(),
            });
        }
        for (email, _, last_login) in &users {
            if last_login.is_none() {
                warnings.push(Warning {
                    kind: "never-logged-in",
                    subject: email.clone(),
                    message: format!("{email} has never logged in (2FA not set up)"),
                });
            }
        }

        for (key, subaccount_id) in all_keys(tx, now)? {
            if key.status != KeyStatus::Live {
                continue;
            }
            let subject = format!("key {} ({})", key.id, key.prefix);
            let age_days = (now - key.created) / 86_400;
            if age_days > MAX_KEY_AGE_DAYS {
                warnings.push(Warning {
                    kind: "old-key",
                    subject: subject.clone(),
                    message: format!(
                        "key {} {:?} in subaccount {} is {age_days} days old: rotate it",
                        key.id, key.name, key.subaccount
                    ),
                });
            }
            if key.last_used.is_none() {
                warnings.push(Warning {
                    kind: "unused-key",
                    subject: subject.clone(),
                    message: format!(
                        "key {} {:?} in subaccount {} has never been used: revoke it if nothing needs it",
                        key.id, key.name, key.subaccount
                    ),
                });
            }
            if key.environment == "prod" {
                let creator = member_by_email(tx, &key.created_by)?;
                let still_allowed = creator
                    .as_ref()
                    .is_some_and(|m| m.can(Capability::ManageKeys, Some(subaccount_id)));
                if !still_allowed {
                    warnings.push(Warning {
                        kind: "orphaned-prod-key",
                        subject,
                        message: format!(
                            "prod key {} {:?} was created by {}, who no longer has access to subaccount {}",
                            key.id, key.name, key.created_by, key.subaccount
                        ),
                    });
                }
            }
        }
        Ok(warnings)
    })
}
