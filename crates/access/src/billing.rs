//! Usage charges in integer minor units of the account's currency, and the rollup.

use crate::audit::{self, NewEntry};
use crate::authz::{acting, Actor};
use crate::error::{AccessError, Result};
use crate::roles::Capability;
use crate::store::Store;
use crate::subaccounts::subaccount_id;
use rusqlite::params;
use serde::Serialize;

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

/// A recorded charge.
#[derive(Debug, Clone, Serialize)]
pub struct Charge {
    pub id: i64,
    pub subaccount: String,
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
}

/// One subaccount's line in the rollup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubaccountTotal {
    pub name: String,
    pub environment: String,
    pub total_minor: i64,
}

/// Each subaccount's total, and the primary account's total, which is their sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollup {
    pub currency: String,
    pub total_minor: i64,
    pub subaccounts: Vec<SubaccountTotal>,
    #[serde(skip)]
    pub exponent: u32,
}

fn account_currency(conn: &rusqlite::Connection) -> Result<(String, u32)> {
    Ok(conn.query_row(
        "SELECT currency, currency_exponent FROM account WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Records a usage charge against a subaccount. `amount` is a decimal string.
pub fn record_charge(
    store: &Store,
    actor: &Actor,
    subaccount: &str,
    amount: &str,
    description: &str,
) -> Result<Charge> {
    store.require_initialized()?;
    if description.trim().is_empty() || description.len() > 500 {
        return Err(AccessError::invalid(
            "a charge needs a description of 1 to 500 characters",
        ));
    }
    store.write(&actor.email, "billing record", subaccount, |tx, now| {
        let me = acting(tx, actor)?;
        me.require(Capability::Billing, None, || {
            format!("record charges in subaccount {subaccount}")
        })?;
        let (currency, exponent) = account_currency(tx)?;
        let amount_minor = parse_amount(amount.trim(), exponent)?;
        let sub_id = subaccount_id(tx, subaccount)?;
        tx.execute(
            "INSERT INTO charges (subaccount_id, amount_minor, description, created, recorded_by)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![sub_id, amount_minor, description, now, me.email],
        )?;
        let id = tx.last_insert_rowid();
        audit::append(
            tx,
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
            },
        )?;
        Ok(Charge {
            id,
            subaccount: subaccount.to_owned(),
            amount_minor,
            currency,
            description: description.to_owned(),
        })
    })
}

/// The billing rollup. Only the Owner, Administrators and Billing Managers may see it.
pub fn rollup(store: &Store, actor: &Actor) -> Result<Rollup> {
    store.require_initialized()?;
    store.write(&actor.email, "billing rollup", "", |tx, _| {
        let me = acting(tx, actor)?;
        me.require(Capability::Billing, None, || "view billing".to_owned())?;
        compute_rollup(tx)
    })
}

pub(crate) fn compute_rollup(conn: &rusqlite::Connection) -> Result<Rollup> {
    let (currency, exponent) = account_currency(conn)?;
    let mut stmt =
        conn.prepare("SELECT s.id, s.name, s.environment FROM subaccounts s ORDER BY s.name")?;
    let subs = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut amounts = conn.prepare("SELECT amount_minor FROM charges WHERE subaccount_id = ?1")?;
    let overflow = || AccessError::invalid("the billing totals overflow 64-bit minor units");
    let mut lines = Vec::with_capacity(subs.len());
    let mut total: i64 = 0;
    for (id, name, environment) in subs {
        // Summed here with checked arithmetic rather than SQL SUM, so an overflow is an
        // error instead of a silently wrong number.
        let mut sub_total: i64 = 0;
        for amount in amounts.query_map(params![id], |r| r.get::<_, i64>(0))? {
            sub_total = sub_total.checked_add(amount?).ok_or_else(overflow)?;
        }
        total = total.checked_add(sub_total).ok_or_else(overflow)?;
        lines.push(SubaccountTotal {
            name,
            environment,
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
