//! Roles, capabilities and the permission table: who may do what, as data.

use std::fmt;
use std::str::FromStr;

/// The role a membership gives a user. Exactly one user is the [`Role::Owner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Owner,
    Administrator,
    Developer,
    BillingManager,
    Support,
}

impl Role {
    /// Every role, in the column order of [`PERMISSIONS`].
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Administrator,
        Role::Developer,
        Role::BillingManager,
        Role::Support,
    ];

    /// The name used on the command line, in the database and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Administrator => "administrator",
            Role::Developer => "developer",
            Role::BillingManager => "billing-manager",
            Role::Support => "support",
        }
    }

    fn column(self) -> usize {
        match self {
            Role::Owner => 0,
            Role::Administrator => 1,
            Role::Developer => 2,
            Role::BillingManager => 3,
            Role::Support => 4,
        }
    }

    /// Whether holders of this role administer the account (Owner and Administrators).
    pub fn administers(self) -> bool {
        matches!(self, Role::Owner | Role::Administrator)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}: expected owner, administrator, developer, billing-manager or support"
                )
            })
    }
}

/// Something a role may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Create, view, rotate and revoke API keys (Developers: only in their subaccounts).
    ManageKeys,
    /// View billing and record usage charges.
    Billing,
    /// View usage and the audit log.
    ViewUsageAndAudit,
    /// Add, remove and re-role users who are not administrators.
    ManageUsers,
    /// Add, remove and re-role administrators.
    ManageAdministrators,
    /// Create and list subaccounts.
    ManageSubaccounts,
    /// Hand the Owner role to another user.
    TransferOwnership,
}

impl Capability {
    /// Every capability, in the row order of [`PERMISSIONS`].
    pub const ALL: [Capability; 7] = [
        Capability::ManageKeys,
        Capability::Billing,
        Capability::ViewUsageAndAudit,
        Capability::ManageUsers,
        Capability::ManageAdministrators,
        Capability::ManageSubaccounts,
        Capability::TransferOwnership,
    ];
}

/// Whether a capability is held everywhere or only in the subaccounts a user is scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Denied,
    Allowed,
    /// Allowed only in the subaccounts the user's membership names.
    OwnSubaccounts,
}

use Grant::{Allowed as Y, Denied as N, OwnSubaccounts as S};

/// The permission table. Rows are [`Capability::ALL`], columns are [`Role::ALL`]
/// (Owner, Administrator, Developer, Billing Manager, Support). A pair missing from the
/// table is denied: [`grant`] has no other source of truth.
pub const PERMISSIONS: [(Capability, [Grant; 5]); 7] = [
    (Capability::ManageKeys, [Y, Y, S, N, N]),
    (Capability::Billing, [Y, Y, N, Y, N]),
    (Capability::ViewUsageAndAudit, [Y, Y, Y, Y, Y]),
    (Capability::ManageUsers, [Y, Y, N, N, N]),
    (Capability::ManageAdministrators, [Y, N, N, N, N]),
    (Capability::ManageSubaccounts, [Y, Y, N, N, N]),
    (Capability::TransferOwnership, [Y, N, N, N, N]),
];

/// What the table says about `role` and `capability`.
pub fn grant(role: Role, capability: Capability) -> Grant {
    PERMISSIONS
        .iter()
        .find(|(c, _)| *c == capability)
        .map(|(_, row)| row[role.column()])
        .unwrap_or(Grant::Denied)
}

/// The capability needed to add, remove or re-role a user holding (or receiving) `role`.
/// `None` means nobody may: the Owner role only changes hands through a transfer.
pub fn capability_to_manage(role: Role) -> Option<Capability> {
    match role {
        Role::Owner => None,
        Role::Administrator => Some(Capability::ManageAdministrators),
        Role::Developer | Role::BillingManager | Role::Support => Some(Capability::ManageUsers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("admin".parse::<Role>().is_err());
    }

    #[test]
    fn every_capability_has_exactly_one_row() {
        for c in Capability::ALL {
            assert_eq!(PERMISSIONS.iter().filter(|(r, _)| *r == c).count(), 1);
        }
    }

    #[test]
    fn managing_a_role_needs_the_matching_capability() {
        assert_eq!(capability_to_manage(Role::Owner), None);
        assert_eq!(
            capability_to_manage(Role::Administrator),
            Some(Capability::ManageAdministrators)
        );
        assert_eq!(
            capability_to_manage(Role::Support),
            Some(Capability::ManageUsers)
        );
    }
}
