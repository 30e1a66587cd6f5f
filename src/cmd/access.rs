//! `secrets-guard access …`: parses arguments, finds the database and session, calls
//! `sg-access` (which makes every permission decision) and prints the result.

use super::{EXIT_INPUT_ERROR, EXIT_REFUSED};
use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use sg_access::{
    audit::time_text, billing::format_minor, AccessError, Actor, Credential, KeyInfo, KeyStatus,
    Role, Store,
};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct AccessArgs {
    /// The access database [default: $SECRETS_GUARD_DB, else ~/.local/share/secrets-guard/access.db].
    /// It holds TOTP secrets: keep it private.
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: AccessCommand,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
enum Format {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Args)]
struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum AccessCommand {
    /// Create the account and its Owner; prints the Owner's otpauth URI and recovery codes once.
    Init {
        /// The account's name.
        #[arg(long)]
        account: String,
        /// The Owner's email address.
        #[arg(long)]
        owner: String,
        /// ISO 4217 currency of usage charges.
        #[arg(long, default_value = "USD")]
        currency: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Start a session with a code from the authenticator app (or a recovery code).
    Login {
        email: String,
        /// The current six-digit TOTP code.
        #[arg(
            long,
            required_unless_present = "recovery_code",
            conflicts_with = "recovery_code"
        )]
        otp: Option<String>,
        /// One of the recovery codes printed at enrollment (each works once).
        #[arg(long)]
        recovery_code: Option<String>,
    },
    /// End the current session.
    Logout,
    /// Show the session's user.
    Whoami {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Add, remove, re-role and list users.
    #[command(subcommand)]
    User(UserCommand),
    /// Make another user the Owner; the current Owner becomes an Administrator.
    TransferOwnership { email: String },
    /// Add and list subaccounts.
    #[command(subcommand)]
    Subaccount(SubaccountCommand),
    /// Create, list, rotate, revoke and verify API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Record usage charges and show the rollup.
    #[command(subcommand)]
    Billing(BillingCommand),
    /// List and verify the hash-chained audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Warn about risky account state; exits 1 when there is any warning.
    Doctor {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print the current TOTP code for a base32 secret (for scripts and tests; reads no database).
    TotpCode {
        /// The base32 secret, or a whole otpauth:// URI.
        #[arg(long)]
        secret: String,
        /// Unix time to compute the code for [default: now].
        #[arg(long)]
        time: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; prints their otpauth URI and recovery codes once.
    Add {
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Limit a developer to these subaccounts (comma-separated).
        #[arg(long, value_delimiter = ',')]
        subaccounts: Option<Vec<String>>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Remove a user (not the Owner).
    Remove { email: String },
    /// Change a user's role.
    Role {
        email: String,
        #[arg(value_parser = parse_role)]
        role: Role,
        /// Limit a developer to these subaccounts (comma-separated).
        #[arg(long, value_delimiter = ',')]
        subaccounts: Option<Vec<String>>,
    },
    /// List users.
    List {
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
enum SubaccountCommand {
    /// Add a subaccount for an environment (prod, qa, dev or custom).
    Add {
        name: String,
        #[arg(long)]
        env: String,
    },
    /// List subaccounts.
    List {
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Issue a key for a subaccount; the key is printed once, alone on stdout.
    Create {
        #[arg(long)]
        subaccount: String,
        #[arg(long)]
        name: Option<String>,
        /// Days until the key expires [default: never].
        #[arg(long, value_name = "DAYS")]
        expires_in: Option<u32>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        subaccount: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Issue a replacement; the old key keeps working until the grace deadline.
    Rotate {
        id: i64,
        #[arg(long, default_value_t = sg_access::DEFAULT_GRACE_HOURS)]
        grace_hours: u32,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Revoke a key now.
    Revoke { id: i64 },
    /// Read a key on stdin and print valid, revoked, expired or unknown (exit 0 only if valid).
    Verify {
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
enum BillingCommand {
    /// Record a usage charge against a subaccount.
    Record {
        #[arg(long)]
        subaccount: String,
        /// Decimal amount in the account's currency, e.g. 12.34.
        #[arg(long)]
        amount: String,
        #[arg(long)]
        description: String,
    },
    /// Each subaccount's total and the primary account's total.
    Rollup {
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Show the audit log, oldest first.
    List {
        /// Only the last N entries.
        #[arg(long)]
        limit: Option<u64>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Check the hash chain; exits 1 and names the first bad entry if it was tampered with.
    Verify,
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

pub fn run(args: AccessArgs) -> anyhow::Result<ExitCode> {
    match execute(args) {
        Ok(code) => Ok(code),
        Err(err) => {
            let refusal = err
                .chain()
                .filter_map(|c| c.downcast_ref::<AccessError>())
                .any(AccessError::is_refusal);
            if refusal {
                eprintln!("error: {err:#}");
                Ok(ExitCode::from(EXIT_REFUSED))
            } else {
                Err(err)
            }
        }
    }
}

/// Opens the database every command but `init` works on, which must already exist.
fn open_store(db: Option<PathBuf>) -> anyhow::Result<Store> {
    let path = db.unwrap_or_else(sg_access::default_db_path);
    Ok(Store::open_existing(&path)?)
}

fn session_user(store: &Store) -> anyhow::Result<Actor> {
    Ok(sg_access::current_user(
        store,
        &sg_access::default_session_path(),
    )?)
}

fn opt_time(unix: Option<i64>) -> serde_json::Value {
    unix.map_or(serde_json::Value::Null, |t| json!(time_text(t)))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn execute(args: AccessArgs) -> anyhow::Result<ExitCode> {
    let db = args.db;
    match args.command {
        AccessCommand::TotpCode { secret, time } => {
            let now = time.unwrap_or_else(|| chrono::Utc::now().timestamp());
            let code = sg_access::totp::secret_from_uri(&secret)
                .and_then(|base32| sg_access::totp::code_for_base32(&base32, now));
            let Some(code) = code else {
                bail!("--secret is not a base32 TOTP secret");
            };
            println!("{code}");
            Ok(ExitCode::SUCCESS)
        }
        AccessCommand::Init {
            account,
            owner,
            currency,
            format,
        } => {
            let store = Store::open(&db.unwrap_or_else(sg_access::default_db_path))?;
            let enrollment = sg_access::init(
                &store,
                &sg_access::InitOptions {
                    account: account.clone(),
                    owner_email: owner,
                    currency,
                    require_2fa: true,
                },
            )?;
            eprintln!(
                "created account {account:?} in {}; {} is the Owner",
                store.path().display(),
                enrollment.email
            );
            print_enrollment(&enrollment, format.format)?;
            Ok(ExitCode::SUCCESS)
        }
        AccessCommand::Login {
            email,
            otp,
            recovery_code,
        } => {
            let store = open_store(db)?;
            let credential = match (otp, recovery_code) {
                (Some(code), _) => Credential::Totp(code),
                (None, Some(code)) => Credential::RecoveryCode(code),
                (None, None) => bail!("give --otp CODE or --recovery-code CODE"),
            };
            let session = sg_access::login(&store, &email, &credential)?;
            let path = sg_access::default_session_path();
            sg_access::write_session_file(&path, &session.token)
                .with_context(|| format!("saving the session to {}", path.display()))?;
            println!(
                "logged in as {}; the session lasts until {}",
                session.actor.email,
                time_text(session.expires)
            );
            Ok(ExitCode::SUCCESS)
        }
        AccessCommand::Logout => {
            let store = open_store(db)?;
            let path = sg_access::default_session_path();
            let token = sg_access::read_session_file(&path)?;
            let actor = sg_access::logout(&store, &token)?;
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the session file {}", path.display()))?;
            println!("logged out {}", actor.email);
            Ok(ExitCode::SUCCESS)
        }
        AccessCommand::Whoami { format } => {
            let store = open_store(db)?;
            let actor = session_user(&store)?;
            let me = sg_access::whoami(&store, &actor)?;
            match format.format {
                Format::Json => print_json(&me)?,
                Format::Human => println!("{} ({}{})", me.email, me.role, scope_text(&me)),
            }
            Ok(ExitCode::SUCCESS)
        }
        AccessCommand::TransferOwnership { email } => {
            let store = open_store(db)?;
            let actor = session_user(&store)?;
            sg_access::transfer_ownership(&store, &actor, &email)?;
            println!(
                "{email} is now the Owner; {} is now an administrator",
                actor.email
            );
            Ok(ExitCode::SUCCESS)
        }
        AccessCommand::User(command) => user(db, command),
        AccessCommand::Subaccount(command) => subaccount(db, command),
        AccessCommand::Key(command) => key(db, command),
        AccessCommand::Billing(command) => billing(db, command),
        AccessCommand::Audit(command) => audit(db, command),
        AccessCommand::Doctor { format } => {
            let store = open_store(db)?;
            let actor = session_user(&store)?;
            let warnings = sg_access::doctor(&store, &actor)?;
            match format.format {
                Format::Json => print_json(&json!({ "warnings": warnings }))?,
                Format::Human if warnings.is_empty() => println!("no warnings"),
                Format::Human => {
                    for w in &warnings {
                        println!("warning [{}]: {}", w.kind, w.message);
                    }
                }
            }
            Ok(if warnings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn scope_text(user: &sg_access::UserInfo) -> String {
    match &user.subaccounts {
        Some(names) => format!(", subaccounts {}", names.join(",")),
        None => String::new(),
    }
}

fn print_enrollment(enrollment: &sg_access::Enrollment, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&enrollment),
        Format::Human => {
            println!(
                "Add this to {}'s authenticator app (shown once):",
                enrollment.email
            );
            println!("{}", enrollment.otpauth_uri);
            println!("Recovery codes (shown once; each works once):");
            for code in &enrollment.recovery_codes {
                println!("  {code}");
            }
            Ok(())
        }
    }
}

fn user(db: Option<PathBuf>, command: UserCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(db)?;
    let actor = session_user(&store)?;
    match command {
        UserCommand::Add {
            email,
            role,
            subaccounts,
            format,
        } => {
            let enrollment =
                sg_access::add_user(&store, &actor, &email, role, subaccounts.as_ref())?;
            eprintln!("added {email} as {role}");
            print_enrollment(&enrollment, format.format)?;
        }
        UserCommand::Remove { email } => {
            sg_access::remove_user(&store, &actor, &email)?;
            println!("removed {email}");
        }
        UserCommand::Role {
            email,
            role,
            subaccounts,
        } => {
            sg_access::set_role(&store, &actor, &email, role, subaccounts.as_ref())?;
            println!("{email} is now {role}");
        }
        UserCommand::List { format } => {
            let users = sg_access::list_users(&store, &actor)?;
            match format.format {
                Format::Json => print_json(&users)?,
                Format::Human => {
                    for u in &users {
                        println!(
                            "{:<32} {:<15} 2fa:{:<3} last login: {}{}",
                            u.email,
                            u.role.as_str(),
                            if u.two_factor_verified { "yes" } else { "no" },
                            u.last_login.map_or("never".to_owned(), time_text),
                            scope_text(u)
                        );
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn subaccount(db: Option<PathBuf>, command: SubaccountCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(db)?;
    let actor = session_user(&store)?;
    match command {
        SubaccountCommand::Add { name, env } => {
            let sub = sg_access::add_subaccount(&store, &actor, &name, &env)?;
            println!(
                "added subaccount {} (environment {})",
                sub.name, sub.environment
            );
        }
        SubaccountCommand::List { format } => {
            let subs = sg_access::list_subaccounts(&store, &actor)?;
            match format.format {
                Format::Json => print_json(&subs)?,
                Format::Human => {
                    for s in &subs {
                        println!("{:<24} {}", s.name, s.environment);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn key_json(k: &KeyInfo) -> serde_json::Value {
    json!({
        "id": k.id,
        "name": k.name,
        "subaccount": k.subaccount,
        "environment": k.environment,
        "prefix": k.prefix,
        "created": time_text(k.created),
        "created_by": k.created_by,
        "expires": opt_time(k.expires),
        "last_used": opt_time(k.last_used),
        "status": k.status.as_str(),
        "grace_until": opt_time(k.grace_until),
        "replaced_by": k.replaced_by,
    })
}

fn print_issued(issued: &sg_access::IssuedKey, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&json!({
            "id": issued.id,
            "name": issued.name,
            "subaccount": issued.subaccount,
            "environment": issued.environment,
            "expires": opt_time(issued.expires),
            "key": issued.secret.expose(),
        })),
        Format::Human => {
            // The key alone on stdout, so `KEY=$(secrets-guard access key create …)` works.
            eprintln!(
                "key {} {:?} for subaccount {} ({}), expires {}; it is shown only this once:",
                issued.id,
                issued.name,
                issued.subaccount,
                issued.environment,
                issued.expires.map_or("never".to_owned(), time_text)
            );
            println!("{}", issued.secret.expose());
            Ok(())
        }
    }
}

fn key(db: Option<PathBuf>, command: KeyCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(db)?;
    if let KeyCommand::Verify { format } = command {
        return verify_key(&store, format.format);
    }
    let actor = session_user(&store)?;
    match command {
        KeyCommand::Create {
            subaccount,
            name,
            expires_in,
            format,
        } => {
            let issued =
                sg_access::create_key(&store, &actor, &subaccount, name.as_deref(), expires_in)?;
            print_issued(&issued, format.format)?;
        }
        KeyCommand::List { subaccount, format } => {
            let keys = sg_access::list_keys(&store, &actor, subaccount.as_deref())?;
            match format.format {
                Format::Json => print_json(&json!(keys.iter().map(key_json).collect::<Vec<_>>()))?,
                Format::Human => {
                    for k in &keys {
                        println!(
                            "{:>4}  {:<20} {:<16} {:<8} {:<8} {}…  created {} by {}  expires {}",
                            k.id,
                            k.name,
                            k.subaccount,
                            k.environment,
                            k.status.as_str(),
                            k.prefix,
                            time_text(k.created),
                            k.created_by,
                            k.expires.map_or("never".to_owned(), time_text)
                        );
                    }
                }
            }
        }
        KeyCommand::Rotate {
            id,
            grace_hours,
            format,
        } => {
            let issued = sg_access::rotate_key(&store, &actor, id, grace_hours)?;
            eprintln!("key {id} keeps working for {grace_hours} more hours");
            print_issued(&issued, format.format)?;
        }
        KeyCommand::Revoke { id } => {
            let k = sg_access::revoke_key(&store, &actor, id)?;
            println!(
                "revoked key {} {:?} ({}…) in subaccount {}",
                k.id, k.name, k.prefix, k.subaccount
            );
        }
        KeyCommand::Verify { format } => return verify_key(&store, format.format),
    }
    Ok(ExitCode::SUCCESS)
}

fn billing(db: Option<PathBuf>, command: BillingCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(db)?;
    let actor = session_user(&store)?;
    match command {
        BillingCommand::Record {
            subaccount,
            amount,
            description,
        } => {
            let charge =
                sg_access::record_charge(&store, &actor, &subaccount, &amount, &description)?;
            println!(
                "recorded charge {}: {} minor units of {} on subaccount {}",
                charge.id, charge.amount_minor, charge.currency, charge.subaccount
            );
        }
        BillingCommand::Rollup { format } => {
            let rollup = sg_access::rollup(&store, &actor)?;
            match format.format {
                Format::Json => print_json(&rollup)?,
                Format::Human => {
                    for s in &rollup.subaccounts {
                        println!(
                            "{:<24} {:<8} {:>16} {}",
                            s.name,
                            s.environment,
                            format_minor(s.total_minor, rollup.exponent),
                            rollup.currency
                        );
                    }
                    println!(
                        "{:<24} {:<8} {:>16} {}",
                        "total",
                        "",
                        format_minor(rollup.total_minor, rollup.exponent),
                        rollup.currency
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn audit(db: Option<PathBuf>, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(db)?;
    let actor = session_user(&store)?;
    match command {
        AuditCommand::List { limit, format } => {
            let entries = sg_access::list_audit(&store, &actor, limit)?;
            match format.format {
                Format::Json => print_json(&entries)?,
                Format::Human => {
                    for e in &entries {
                        println!(
                            "{:>5} {} {} {} {} [{}] {}",
                            e.id,
                            time_text(e.at),
                            e.actor,
                            e.action,
                            e.target,
                            e.result,
                            e.detail
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify => {
            let report = sg_access::verify_audit(&store, &actor)?;
            match report.first_bad {
                None => {
                    println!("audit log intact: {} entries verified", report.entries);
                    Ok(ExitCode::SUCCESS)
                }
                Some(bad) => {
                    println!(
                        "audit log tampered: first bad entry is {}: {}",
                        bad.id, bad.problem
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn verify_key(store: &Store, format: Format) -> anyhow::Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the key from stdin")?;
    let secret = input.trim();
    if secret.is_empty() {
        eprintln!("error: no key on stdin");
        return Ok(ExitCode::from(EXIT_INPUT_ERROR));
    }
    let found = sg_access::verify_key(store, secret)?;
    let word = match found.status {
        KeyStatus::Live => "valid",
        other => other.as_str(),
    };
    match format {
        Format::Json => print_json(&json!({
            "status": word,
            "key_id": found.key_id,
            "key_name": found.key_name,
            "subaccount": found.subaccount,
            "environment": found.environment,
        }))?,
        Format::Human => println!("{word}"),
    }
    Ok(if found.status == KeyStatus::Live {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
