//! `access doctor`: account health checks that warn rather than refuse.

use crate::authz::{acting, member_by_email, Actor};
use crate::db::p;
use crate::error::Result;
use crate::keys::{all_keys, KeyStatus};
use crate::roles::{Capability, Role};
use crate::store::Store;
use serde::Serialize;

/// Keys older than this many days are reported.
pub const MAX_KEY_AGE_DAYS: i64 = 90;

/// One thing the doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Warning {
    /// `no-backup-administrator`, `never-logged-in`, `old-key`, `unused-key` or `orphaned-prod-key`.
    pub kind: String,
    /// The user or key concerned.
    pub subject: String,
    pub message: String,
}

/// Runs every check. Anyone who may view usage may run it, and sees the findings about
/// what they may see themselves: key findings only for keys they may manage.
pub fn doctor(store: &Store, actor: &Actor) -> Result<Vec<Warning>> {
    store.require_initialized()?;
    store.read_as(&actor.email, "doctor", "", |tx, now| {
        let me = acting(tx, store.key(), actor)?;
        me.require(Capability::ViewUsageAndAudit, None, || {
            "run the doctor".to_owned()
        })?;
        let mut warnings = Vec::new();

        let users = tx
            .query("SELECT email, role, last_login FROM users ORDER BY id", p![])?
            .iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?, r.opt_int(2)?)))
            .collect::<Result<Vec<(String, String, Option<i64>)>>>()?;
        let administrators: Vec<&String> = users
            .iter()
            .filter(|(_, role, _)| {
                role.parse::<Role>().is_ok_and(Role::administers)
            })
            .map(|(email, _, _)| email)
            .collect();
        if administrators.len() <= 1 {
            warnings.push(Warning {
                kind: "no-backup-administrator".to_owned(),
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
                    kind: "never-logged-in".to_owned(),
                    subject: email.clone(),
                    message: format!("{email} has never logged in (2FA not set up)"),
                });
            }
        }

        for (key, subaccount_id) in all_keys(tx, now)? {
            if key.status != KeyStatus::Live || !me.can(Capability::ManageKeys, Some(subaccount_id)) {
                continue;
            }
            let subject = format!("key {} ({})", key.id, key.prefix);
            let age_days = (now - key.created) / 86_400;
            if age_days > MAX_KEY_AGE_DAYS {
                warnings.push(Warning {
                    kind: "old-key".to_owned(),
                    subject: subject.clone(),
                    message: format!(
                        "key {} {:?} in subaccount {} is {age_days} days old: rotate it",
                        key.id, key.name, key.subaccount
                    ),
                });
            }
            if key.last_used.is_none() {
                warnings.push(Warning {
                    kind: "unused-key".to_owned(),
                    subject: subject.clone(),
                    message: format!(
                        "key {} {:?} in subaccount {} has never been used: revoke it if nothing needs it",
                        key.id, key.name, key.subaccount
                    ),
                });
            }
            if key.environment == "prod" {
                let creator = member_by_email(tx, store.key(), &key.created_by)?;
                let still_allowed = creator
                    .as_ref()
                    .is_some_and(|m| m.can(Capability::ManageKeys, Some(subaccount_id)));
                if !still_allowed {
                    warnings.push(Warning {
                        kind: "orphaned-prod-key".to_owned(),
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
