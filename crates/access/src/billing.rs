//! Usage charges in integer minor units of the account's currency, and the rollup.

use crate::audit::{self, NewEntry};
use crate::authz::{acting, Actor};
use crate::db::{p, Conn};
use crate::error::{AccessError, Result};
use crate::roles::Capability;
use crate::store::Store;
use crate::subaccounts::subaccount_id;
use serde::{Deserialize, Serialize};

/// Minor-unit digits of the currencies we accept (ISO 4217).
const CURRENCIES: &[(&str, u32)] = &[
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PLN", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("TND", 3),
    ("USD", 2),
    ("ZAR", 2),
];

/// How many decimal places `currency` has, or an error naming the accepted codes.
pub fn currency_exponent(currency: &str) -> Result<u32> {
    CURRENCIES
        .iter()
        .find(|(code, _)| *code == currency)
        .map(|(_, e)| *e)
        .ok_or_else(|| {
            let known: Vec<&str> = CURRENCIES.iter().map(|(c, _)| *c).collect();
            AccessError::invalid(format!(
                "unknown currency {currency:?}: expected one of {}",
                known.join(", ")
            ))
        })
}

/// Parses a positive decimal amount such as `12.34` into minor units, exactly: no floats,
/// and more decimal places than the currency has is an error rather than a rounding.
pub fn parse_amount(text: &str, exponent: u32) -> Result<i64> {
    let bad = |why: &str| AccessError::invalid(format!("amount {text:?}: {why}"));
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "expected digits, optionally followed by '.' and decimals",
        ));
    }
    if text.contains('.') && (fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("expected digits after the decimal point"));
    }
    if fraction.len() > exponent as usize {
        return Err(bad(&format!(
            "the currency has {exponent} decimal place{}",
            if exponent == 1 { "" } else { "s" }
        )));
    }
    let scale = 10i64.pow(exponent);
    let whole: i64 = whole.parse().map_err(|_| bad("too large"))?;
    let mut minor_fraction: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| bad("too large"))?
    };
    for _ in fraction.len()..exponent as usize {
        minor_fraction *= 10;
    }
    let amount = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(minor_fraction))
        .ok_or_else(|| bad("too large"))?;
    if amount == 0 {
        return Err(bad("a charge must be greater than zero"));
    }
    Ok(amount)
}

/// Writes minor units as a decimal string (`1234`, 2 → `12.34`).
pub fn format_minor(amount: i64, exponent: u32) -> String {
    if exponent == 0 {
        return amount.to_string();
    }
    let scale = 10i64.pow(exponent);
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale as u64,
        abs % scale as u64,
        width = exponent as usize
    )
}

/// The largest single charge, in minor units. With it, no number of charges a store can
/// hold brings a total near the 64-bit limit, and the totals are summed with checks anyway.
pub const MAX_CHARGE_MINOR: i64 = 1_000_000_000;

/// A recorded charge, or the reversing entry that voids one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Charge {
    pub id: i64,
    pub subaccount: String,
    /// Negative for a reversing entry.
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub recorded_by: String,
    /// For a reversing entry: the charge it voids.
    #[serde(default)]
    pub reverses: Option<i64>,
    /// For a charge: the reversing entry that voided it.
    #[serde(default)]
    pub voided_by: Option<i64>,
}

/// One subaccount's line in the rollup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubaccountTotal {
    pub name: String,
    pub environment: String,
    pub total_minor: i64,
}

/// Each subaccount's total, and the primary account's total, which is their sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollup {
    pub currency: String,
    pub total_minor: i64,
    pub subaccounts: Vec<SubaccountTotal>,
    #[serde(default)]
    pub exponent: u32,
}

fn account_currency(conn: &Conn<'_>) -> Result<(String, u32)> {
    let row = conn.query_one(
        "SELECT currency, currency_exponent FROM account WHERE id = 1",
        p![],
    )?;
    Ok((row.text(0)?, u32::try_from(row.int(1)?).unwrap_or(0)))
}

/// Records a usage charge against a subaccount. `amount` is a decimal string of at most
/// [`MAX_CHARGE_MINOR`] minor units.
pub fn record_charge(
    store: &Store,
    actor: &Actor,
    subaccount: &str,
    amount: &str,
    description: &str,
) -> Result<Charge> {
    store.require_initialized()?;
    crate::validate::validate_text("a charge's description", description, 500)?;
    store.write(&actor.email, "billing record", subaccount, |tx, now| {
        let me = acting(tx, store.key(), actor)?;
        me.require(Capability::Billing, None, || {
            format!("record charges in subaccount {subaccount}")
        })?;
        let (currency, exponent) = account_currency(tx)?;
        let amount_minor = parse_amount(amount.trim(), exponent)?;
        if amount_minor > MAX_CHARGE_MINOR {
            return Err(AccessError::invalid(format!(
                "one charge may be at most {} {currency}",
                format_minor(MAX_CHARGE_MINOR, exponent)
            )));
        }
        let sub_id = subaccount_id(tx, subaccount)?;
        let id = tx
            .query_one(
                "INSERT INTO charges (subaccount_id, amount_minor, description, created, recorded_by)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                p![sub_id, amount_minor, description, now, &me.email],
            )?
            .int(0)?;
        audit::append(
            tx,
            store.key(),
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "billing record",
                target: subaccount,
                result: "ok",
                detail: &format!(
                    "charge {id}: {} {currency} ({description})",
                    format_minor(amount_minor, exponent)
                ),
                subaccount: Some(sub_id),
            },
        )?;
        Ok(Charge {
            id,
            subaccount: subaccount.to_owned(),
            amount_minor,
            currency,
            description: description.to_owned(),
            created: now,
            recorded_by: me.email.clone(),
            reverses: None,
            voided_by: None,
        })
    })
}

/// Voids charge `id` with an audited reversing entry of the opposite amount: charges are
/// never edited. A charge can be voided once; a reversing entry cannot be voided.
pub fn void_charge(store: &Store, actor: &Actor, id: i64, reason: &str) -> Result<Charge> {
    store.require_initialized()?;
    crate::validate::validate_text("the reason", reason, 500)?;
    store.write(&actor.email, "billing void", &format!("charge {id}"), |tx, now| {
        let me = acting(tx, store.key(), actor)?;
        me.require(Capability::Billing, None, || format!("void charge {id}"))?;
        let (currency, exponent) = account_currency(tx)?;
        let row = tx
            .query_opt(
                "SELECT c.subaccount_id, s.name, c.amount_minor, c.reverses,
                        (SELECT v.id FROM charges v WHERE v.reverses = c.id)
                 FROM charges c JOIN subaccounts s ON s.id = c.subaccount_id WHERE c.id = ?1",
                p![id],
            )?
            .ok_or_else(|| AccessError::NotFound {
                what: "charge",
                name: id.to_string(),
            })?;
        if row.opt_int(3)?.is_some() {
            return Err(AccessError::invalid(format!(
                "charge {id} is itself a reversing entry and cannot be voided"
            )));
        }
        if let Some(by) = row.opt_int(4)? {
            return Err(AccessError::invalid(format!(
                "charge {id} was already voided by entry {by}"
            )));
        }
        let (sub_id, subaccount, amount) = (row.int(0)?, row.text(1)?, row.int(2)?);
        let description = format!("void of charge {id}: {reason}");
        let new_id = tx
            .query_one(
                "INSERT INTO charges (subaccount_id, amount_minor, description, created, recorded_by, reverses)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                p![sub_id, -amount, description.clone(), now, &me.email, id],
            )?
            .int(0)?;
        audit::append(
            tx,
            store.key(),
            &NewEntry {
                at: now,
                actor: &me.email,
                action: "billing void",
                target: &format!("charge {id}"),
                result: "ok",
                detail: &format!(
                    "entry {new_id} reverses {} {currency} on {subaccount}: {reason}",
                    format_minor(amount, exponent)
                ),
                subaccount: Some(sub_id),
            },
        )?;
        Ok(Charge {
            id: new_id,
            subaccount,
            amount_minor: -amount,
            currency,
            description,
            created: now,
            recorded_by: me.email.clone(),
            reverses: Some(id),
            voided_by: None,
        })
    })
}

/// Every charge and reversing entry, oldest first. Billing roles only.
pub fn list_charges(store: &Store, actor: &Actor) -> Result<Vec<Charge>> {
    store.require_initialized()?;
    store.read_as(&actor.email, "billing charges", "", |tx, _| {
        let me = acting(tx, store.key(), actor)?;
        me.require(Capability::Billing, None, || "view charges".to_owned())?;
        let (currency, _) = account_currency(tx)?;
        tx.query(
            "SELECT c.id, s.name, c.amount_minor, c.description, c.created, c.recorded_by, c.reverses,
                    (SELECT v.id FROM charges v WHERE v.reverses = c.id)
             FROM charges c JOIN subaccounts s ON s.id = c.subaccount_id ORDER BY c.id",
            p![],
        )?
        .iter()
        .map(|r| {
            Ok(Charge {
                id: r.int(0)?,
                subaccount: r.text(1)?,
                amount_minor: r.int(2)?,
                currency: currency.clone(),
                description: r.text(3)?,
                created: r.int(4)?,
                recorded_by: r.text(5)?,
                reverses: r.opt_int(6)?,
                voided_by: r.opt_int(7)?,
            })
        })
        .collect()
    })
}

/// The billing rollup. Only the Owner, Administrators and Billing Managers may see it.
pub fn rollup(store: &Store, actor: &Actor) -> Result<Rollup> {
    store.require_initialized()?;
    store.read_as(&actor.email, "billing rollup", "", |tx, _| {
        let me = acting(tx, store.key(), actor)?;
        me.require(Capability::Billing, None, || "view billing".to_owned())?;
        compute_rollup(tx)
    })
}

pub(crate) fn compute_rollup(conn: &Conn<'_>) -> Result<Rollup> {
    let (currency, exponent) = account_currency(conn)?;
    let subs = conn.query(
        "SELECT id, name, environment FROM subaccounts ORDER BY name",
        p![],
    )?;
    let overflow = || AccessError::invalid("the billing totals overflow 64-bit minor units");
    let mut lines = Vec::with_capacity(subs.len());
    let mut total: i64 = 0;
    for sub in subs {
        // Summed here with checked arithmetic rather than SQL SUM, so an overflow is an
        // error instead of a silently wrong number.
        let mut sub_total: i64 = 0;
        for amount in conn.query(
            "SELECT amount_minor FROM charges WHERE subaccount_id = ?1",
            p![sub.int(0)?],
        )? {
            sub_total = sub_total.checked_add(amount.int(0)?).ok_or_else(overflow)?;
        }
        total = total.checked_add(sub_total).ok_or_else(overflow)?;
        lines.push(SubaccountTotal {
            name: sub.text(1)?,
            environment: sub.text(2)?,
            total_minor: sub_total,
        });
    }
    Ok(Rollup {
        currency,
        total_minor: total,
        subaccounts: lines,
        exponent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!(parse_amount("12.34", 2).ok(), Some(1234));
        assert_eq!(parse_amount("12.3", 2).ok(), Some(1230));
        assert_eq!(parse_amount("12", 2).ok(), Some(1200));
        assert_eq!(parse_amount("0.01", 2).ok(), Some(1));
        assert_eq!(parse_amount("1500", 0).ok(), Some(1500));
        assert_eq!(parse_amount("1.234", 3).ok(), Some(1234));
    }

    #[test]
    fn bad_amounts_are_rejected() {
        for bad in [
            "12.345",
            "-1",
            "1e3",
            "",
            ".5",
            "5.",
            "0",
            "0.00",
            "1,00",
            "99999999999999999999",
        ] {
            assert!(parse_amount(bad, 2).is_err(), "{bad:?} must be rejected");
        }
        assert!(parse_amount("1.5", 0).is_err());
    }

    #[test]
    fn minor_units_format_back() {
        assert_eq!(format_minor(1234, 2), "12.34");
        assert_eq!(format_minor(5, 2), "0.05");
        assert_eq!(format_minor(1500, 0), "1500");
        assert_eq!(format_minor(1234, 3), "1.234");
    }

    #[test]
    fn currencies_have_known_exponents() {
        assert_eq!(currency_exponent("USD").ok(), Some(2));
        assert_eq!(currency_exponent("JPY").ok(), Some(0));
        assert_eq!(currency_exponent("KWD").ok(), Some(3));
        assert!(currency_exponent("XXX").is_err());
    }
}
