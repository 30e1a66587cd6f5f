//! `secrets-guard access …`: parses arguments, builds one access API call, sends it to the
//! local database or to an access server (`--server`), and prints the answer. Every
//! permission decision is made by `sg-access`, behind either transport.

use super::{EXIT_INPUT_ERROR, EXIT_REFUSED};
use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use sg_access::api::{Call, Transport};
use sg_access::{
    audit::time_text, billing::format_minor, validate::escape, AccessError, AuditEntry, AuditQuery,
    ChainReport, Charge, Checkpoint, Credential, Enrollment, Invitation, IssuedKey, KeyInfo,
    KeyLookup, KeyStatus, Role, Rollup, Session, SessionInfo, Store, Subaccount, UserInfo, Warning,
};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct AccessArgs {
    /// The local access database [default: $SECRETS_GUARD_DB, else ~/.local/share/secrets-guard/access.db].
    /// Its key file (<db>.key) sits beside it. Ignored with --server.
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// An access server (http://HOST:PORT or https://…): every command then talks only
    /// HTTP to it, and no database is opened here.
    #[arg(long, global = true, value_name = "URL", env = "SECRETS_GUARD_SERVER")]
    server: Option<String>,
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
    /// Create a local (single-user) account and enrol its Owner: prints the Owner's
    /// otpauth URI and recovery codes once. A team uses `secrets-guard server init`.
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
    /// Redeem an invitation: prints your otpauth URI and recovery codes, once. Then log in
    /// with a code from the authenticator app.
    AcceptInvite {
        token: String,
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
        /// One of the recovery codes printed at enrolment (each works once).
        #[arg(long)]
        recovery_code: Option<String>,
    },
    /// End the current session (with --all, every session of yours).
    Logout {
        #[arg(long)]
        all: bool,
    },
    /// Show the session's user.
    Whoami {
        #[command(flatten)]
        format: FormatArg,
    },
    /// List your sessions, or end another user's.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Invite, remove, re-role and list users; reset a user's 2FA.
    #[command(subcommand)]
    User(UserCommand),
    /// Make another user the Owner; the current Owner becomes an Administrator.
    TransferOwnership {
        email: String,
        /// A fresh code from the Owner's authenticator app.
        #[arg(long)]
        otp: String,
    },
    /// Add and list subaccounts.
    #[command(subcommand)]
    Subaccount(SubaccountCommand),
    /// Create, list, rotate, revoke and verify API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Record and void usage charges and show the rollup.
    #[command(subcommand)]
    Billing(BillingCommand),
    /// List and verify the audit log; sign checkpoints of it.
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
enum SessionCommand {
    /// Your open sessions.
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// End every session of another user (Owner, or Administrators for the roles they manage).
    End { email: String },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Invite a user: prints a single-use invitation token alone on stdout. The invitee
    /// runs `access accept-invite TOKEN`; nobody else ever sees their second factor.
    #[command(alias = "add")]
    Invite {
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Limit a developer to these subaccounts (comma-separated).
        #[arg(long, value_delimiter = ',')]
        subaccounts: Option<Vec<String>>,
        /// Hours until the invitation expires (at most 720) [default: 72].
        #[arg(long, value_name = "HOURS")]
        expires_in: Option<u32>,
    },
    /// End a user's sessions, clear their 2FA and recovery codes, and print a new invitation.
    #[command(name = "reset-2fa")]
    Reset2fa {
        email: String,
        /// Hours until the invitation expires (at most 720) [default: 72].
        #[arg(long, value_name = "HOURS")]
        expires_in: Option<u32>,
    },
    /// Remove a user (not the Owner).
    Remove { email: String },
    /// Change a user's role. A developer gets exactly the subaccounts named (none without --subaccounts).
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
        /// Days until the key expires (at most 3650) [default: never].
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
        /// Hours the old key keeps working (at most 720).
        #[arg(long, default_value_t = sg_access::DEFAULT_GRACE_HOURS)]
        grace_hours: u32,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Revoke a key now.
    Revoke { id: i64 },
    /// Where scans found keys leaked (file and commit), newest first.
    Leaks {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Read a key on stdin and print valid, revoked, expired or unknown (exit 0 only if valid).
    Verify {
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
enum BillingCommand {
    /// Record a usage charge against a subaccount (at most 1,000,000,000 minor units).
    Record {
        #[arg(long)]
        subaccount: String,
        /// Decimal amount in the account's currency, e.g. 12.34.
        #[arg(long)]
        amount: String,
        #[arg(long)]
        description: String,
    },
    /// Void a charge with an audited reversing entry (charges are never edited).
    Void {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Every charge and reversing entry.
    Charges {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Each subaccount's total and the primary account's total.
    Rollup {
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Show the audit log entries you may see, oldest first.
    List {
        /// Only the last N entries.
        #[arg(long)]
        limit: Option<u64>,
        /// Only entries by this user.
        #[arg(long)]
        user: Option<String>,
        /// Only entries whose action starts with this (e.g. "key").
        #[arg(long)]
        action: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Check the keyed chain (and that the log still holds a checkpoint); exits 1 and names
    /// the first bad entry if it was tampered with.
    Verify {
        /// A checkpoint written by `audit checkpoint`.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Write the log's head, signed by the server, to FILE: keep it somewhere else.
    Checkpoint {
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
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

/// The transport every command but `init` and `totp-code` uses: the server given with
/// `--server`, else the local database, which must already exist.
pub fn open_transport(db: Option<PathBuf>, server: Option<&str>) -> anyhow::Result<Transport> {
    match server.filter(|s| !s.is_empty()) {
        Some(url) => Ok(Transport::Http(sg_access::client::Client::new(url)?)),
        None => {
            let path = db.unwrap_or_else(sg_access::default_db_path);
            Ok(Transport::Local(Box::new(Store::open_existing(&path)?)))
        }
    }
}

/// The token in the session file, if there is one.
fn session_token() -> anyhow::Result<Option<String>> {
    let path = sg_access::default_session_path();
    match sg_access::read_session_file(&path) {
        Ok(token) => Ok(Some(token)),
        Err(AccessError::Authentication(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn opt_time(unix: Option<i64>) -> serde_json::Value {
    unix.map_or(serde_json::Value::Null, |t| json!(time_text(t)))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A command's connection: where calls go, and as whom.
struct Client {
    transport: Transport,
    token: Option<String>,
}

impl Client {
    fn call<T: serde::de::DeserializeOwned>(&self, call: Call) -> anyhow::Result<T> {
        Ok(self.transport.call(self.token.as_deref(), call)?)
    }
}

fn execute(args: AccessArgs) -> anyhow::Result<ExitCode> {
    let db = args.db;
    let server = args.server;
    match args.command {
        AccessCommand::TotpCode { secret, time } => {
            let now = time.unwrap_or_else(|| chrono::Utc::now().timestamp());
            let code = sg_access::totp::secret_from_uri(&secret)
                .and_then(|base32| sg_access::totp::code_for_base32(&base32, now));
            let Some(code) = code else {
                bail!("--secret is not a base32 TOTP secret");
            };
            println!("{code}");
            return Ok(ExitCode::SUCCESS);
        }
        AccessCommand::Init {
            account,
            owner,
            currency,
            format,
        } => {
            if server.is_some() {
                bail!("a server's account is created with `secrets-guard server init`, on the server's store");
            }
            let path = db.unwrap_or_else(sg_access::default_db_path);
            let store = Store::open(&path)?;
            let invitation = sg_access::init(
                &store,
                &sg_access::InitOptions {
                    account: account.clone(),
                    owner_email: owner,
                    currency,
                    require_2fa: true,
                },
            )?;
            // Locally the one user is the Owner and enrols at once.
            let enrollment = sg_access::accept_invite(&store, &invitation.token)?;
            eprintln!(
                "created account {account:?} in {} (key file {}); {} is the Owner",
                store.path().display(),
                sg_access::serverkey::local_key_path(store.path()).display(),
                enrollment.email
            );
            print_enrollment(&enrollment, format.format)?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let client = Client {
        transport: open_transport(db, server.as_deref())?,
        token: session_token()?,
    };
    match args.command {
        AccessCommand::TotpCode { .. } | AccessCommand::Init { .. } => {
            unreachable!("handled above")
        }
        AccessCommand::AcceptInvite { token, format } => {
            let enrollment: Enrollment = client.call(Call::AcceptInvite { token })?;
            print_enrollment(&enrollment, format.format)?;
            eprintln!(
                "then log in: secrets-guard access login {} --otp CODE",
                enrollment.email
            );
        }
        AccessCommand::Login {
            email,
            otp,
            recovery_code,
        } => {
            let credential = match (otp, recovery_code) {
                (Some(code), _) => Credential::Totp(code),
                (None, Some(code)) => Credential::RecoveryCode(code),
                (None, None) => bail!("give --otp CODE or --recovery-code CODE"),
            };
            let session: Session = client.call(Call::Login { email, credential })?;
            let path = sg_access::default_session_path();
            sg_access::write_session_file(&path, &session.token)
                .with_context(|| format!("saving the session to {}", path.display()))?;
            println!(
                "logged in as {}; the session lasts until {}",
                session.actor.email,
                time_text(session.expires)
            );
        }
        AccessCommand::Logout { all } => {
            let path = sg_access::default_session_path();
            let actor: sg_access::Actor = client.call(Call::Logout { all })?;
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the session file {}", path.display()))?;
            println!(
                "logged out {}{}",
                actor.email,
                if all { " (every session)" } else { "" }
            );
        }
        AccessCommand::Whoami { format } => {
            let me: UserInfo = client.call(Call::Whoami)?;
            match format.format {
                Format::Json => print_json(&me)?,
                Format::Human => println!("{} ({}{})", me.email, me.role, scope_text(&me)),
            }
        }
        AccessCommand::Session(command) => return session(&client, command),
        AccessCommand::TransferOwnership { email, otp } => {
            let _: serde_json::Value = client.call(Call::TransferOwnership {
                email: email.clone(),
                otp,
            })?;
            println!("{email} is now the Owner; you are now an administrator");
        }
        AccessCommand::User(command) => return user(&client, command),
        AccessCommand::Subaccount(command) => return subaccount(&client, command),
        AccessCommand::Key(command) => return key(&client, command),
        AccessCommand::Billing(command) => return billing(&client, command),
        AccessCommand::Audit(command) => return audit(&client, command),
        AccessCommand::Doctor { format } => {
            let warnings: Vec<Warning> = client.call(Call::Doctor)?;
            match format.format {
                Format::Json => print_json(&json!({ "warnings": warnings }))?,
                Format::Human if warnings.is_empty() => println!("no warnings"),
                Format::Human => {
                    for w in &warnings {
                        println!("warning [{}]: {}", w.kind, escape(&w.message));
                    }
                }
            }
            return Ok(if warnings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn scope_text(user: &UserInfo) -> String {
    match &user.subaccounts {
        Some(names) if names.is_empty() => ", no subaccounts".to_owned(),
        Some(names) => format!(", subaccounts {}", names.join(",")),
        None => String::new(),
    }
}

fn print_enrollment(enrollment: &Enrollment, format: Format) -> anyhow::Result<()> {
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

/// Prints an invitation token alone on stdout, and what it is for on stderr, so that
/// `TOKEN=$(…)` works in scripts.
pub fn print_invitation(invitation: &Invitation) {
    eprintln!(
        "invitation for {} ({}), valid until {}; give it to them only. They run:\n  secrets-guard access accept-invite TOKEN",
        invitation.email,
        invitation.role,
        time_text(invitation.expires)
    );
    println!("{}", invitation.token);
}

fn session(client: &Client, command: SessionCommand) -> anyhow::Result<ExitCode> {
    match command {
        SessionCommand::List { format } => {
            let sessions: Vec<SessionInfo> = client.call(Call::SessionList)?;
            match format.format {
                Format::Json => print_json(&sessions)?,
                Format::Human => {
                    for s in &sessions {
                        println!(
                            "{}  created {}  expires {}{}",
                            s.id,
                            time_text(s.created),
                            time_text(s.expires),
                            if s.current { "  (this one)" } else { "" }
                        );
                    }
                }
            }
        }
        SessionCommand::End { email } => {
            let ended: serde_json::Value = client.call(Call::SessionEnd {
                email: email.clone(),
            })?;
            println!("ended {} session(s) of {email}", ended["ended"]);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn user(client: &Client, command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Invite {
            email,
            role,
            subaccounts,
            expires_in,
        } => {
            let invitation: Invitation = client.call(Call::UserInvite {
                email,
                role,
                subaccounts,
                expires_in_hours: expires_in,
            })?;
            print_invitation(&invitation);
        }
        UserCommand::Reset2fa { email, expires_in } => {
            let invitation: Invitation = client.call(Call::UserReset2fa {
                email,
                expires_in_hours: expires_in,
            })?;
            print_invitation(&invitation);
        }
        UserCommand::Remove { email } => {
            let _: serde_json::Value = client.call(Call::UserRemove {
                email: email.clone(),
            })?;
            println!("removed {email}");
        }
        UserCommand::Role {
            email,
            role,
            subaccounts,
        } => {
            let none = role == Role::Developer && subaccounts.is_none();
            let _: serde_json::Value = client.call(Call::UserRole {
                email: email.clone(),
                role,
                subaccounts,
            })?;
            println!(
                "{email} is now {role}{}",
                if none {
                    " with no subaccounts (name them with --subaccounts)"
                } else {
                    ""
                }
            );
        }
        UserCommand::List { format } => {
            let users: Vec<UserInfo> = client.call(Call::UserList)?;
            match format.format {
                Format::Json => print_json(&users)?,
                Format::Human => {
                    for u in &users {
                        println!(
                            "{:<32} {:<15} {:<8} 2fa:{:<3} last login: {}{}",
                            escape(&u.email),
                            u.role.as_str(),
                            if u.enrolled { "enrolled" } else { "invited" },
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

fn subaccount(client: &Client, command: SubaccountCommand) -> anyhow::Result<ExitCode> {
    match command {
        SubaccountCommand::Add { name, env } => {
            let sub: Subaccount = client.call(Call::SubaccountAdd {
                name,
                environment: env,
            })?;
            println!(
                "added subaccount {} (environment {})",
                sub.name, sub.environment
            );
        }
        SubaccountCommand::List { format } => {
            let subs: Vec<Subaccount> = client.call(Call::SubaccountList)?;
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

fn print_issued(issued: &IssuedKey, format: Format) -> anyhow::Result<()> {
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

fn key(client: &Client, command: KeyCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeyCommand::Create {
            subaccount,
            name,
            expires_in,
            format,
        } => {
            let issued: IssuedKey = client.call(Call::KeyCreate {
                subaccount,
                name,
                expires_in_days: expires_in,
            })?;
            print_issued(&issued, format.format)?;
        }
        KeyCommand::List { subaccount, format } => {
            let keys: Vec<KeyInfo> = client.call(Call::KeyList { subaccount })?;
            match format.format {
                Format::Json => print_json(&json!(keys.iter().map(key_json).collect::<Vec<_>>()))?,
                Format::Human => {
                    for k in &keys {
                        println!(
                            "{:>4}  {:<20} {:<16} {:<8} {:<8} {}…  created {} by {}  expires {}",
                            k.id,
                            escape(&k.name),
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
            let issued: IssuedKey = client.call(Call::KeyRotate { id, grace_hours })?;
            eprintln!("key {id} keeps working for {grace_hours} more hours");
            print_issued(&issued, format.format)?;
        }
        KeyCommand::Revoke { id } => {
            let k: KeyInfo = client.call(Call::KeyRevoke { id })?;
            println!(
                "revoked key {} {:?} ({}…) in subaccount {}",
                k.id, k.name, k.prefix, k.subaccount
            );
        }
        KeyCommand::Leaks { format } => {
            let leaks: Vec<sg_access::Leak> = client.call(Call::LeakList)?;
            match format.format {
                Format::Json => print_json(&leaks)?,
                Format::Human => {
                    for l in &leaks {
                        println!(
                            "key {} {:?} ({}, {}) {} in {}{} (reported {} by {})",
                            l.key_id,
                            l.key_name,
                            l.subaccount,
                            l.status.as_str(),
                            l.prefix,
                            escape(&l.path),
                            l.commit
                                .as_ref()
                                .map(|c| format!(" at {c}"))
                                .unwrap_or_default(),
                            time_text(l.reported),
                            l.reported_by
                        );
                    }
                }
            }
        }
        KeyCommand::Verify { format } => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading the key from stdin")?;
            let secret = input.trim();
            if secret.is_empty() {
                eprintln!("error: no key on stdin");
                return Ok(ExitCode::from(EXIT_INPUT_ERROR));
            }
            let found: KeyLookup = client.call(Call::KeyVerify {
                key: secret.to_owned(),
            })?;
            let word = match found.status {
                KeyStatus::Live => "valid",
                other => other.as_str(),
            };
            match format.format {
                Format::Json => print_json(&json!({
                    "status": word,
                    "key_id": found.key_id,
                    "key_name": found.key_name,
                    "subaccount": found.subaccount,
                    "environment": found.environment,
                }))?,
                Format::Human => println!("{word}"),
            }
            return Ok(if found.status == KeyStatus::Live {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_rollup(rollup: &Rollup) {
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

fn billing(client: &Client, command: BillingCommand) -> anyhow::Result<ExitCode> {
    match command {
        BillingCommand::Record {
            subaccount,
            amount,
            description,
        } => {
            let charge: Charge = client.call(Call::BillingRecord {
                subaccount,
                amount,
                description,
            })?;
            println!(
                "recorded charge {}: {} minor units of {} on subaccount {}",
                charge.id, charge.amount_minor, charge.currency, charge.subaccount
            );
        }
        BillingCommand::Void { id, reason } => {
            let charge: Charge = client.call(Call::BillingVoid { id, reason })?;
            println!(
                "voided charge {id} with reversing entry {} ({} minor units of {})",
                charge.id, charge.amount_minor, charge.currency
            );
        }
        BillingCommand::Charges { format } => {
            let charges: Vec<Charge> = client.call(Call::BillingCharges)?;
            match format.format {
                Format::Json => print_json(&charges)?,
                Format::Human => {
                    for c in &charges {
                        println!(
                            "{:>5} {} {:<16} {:>14} {} {}{}",
                            c.id,
                            time_text(c.created),
                            c.subaccount,
                            c.amount_minor,
                            c.currency,
                            escape(&c.description),
                            c.voided_by
                                .map(|v| format!(" (voided by {v})"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
        }
        BillingCommand::Rollup { format } => {
            let rollup: Rollup = client.call(Call::BillingRollup)?;
            match format.format {
                Format::Json => print_json(&rollup)?,
                Format::Human => print_rollup(&rollup),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_checkpoint(path: &Path) -> anyhow::Result<Checkpoint> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the checkpoint {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not an audit checkpoint", path.display()))
}

fn audit(client: &Client, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::List {
            limit,
            user,
            action,
            format,
        } => {
            let entries: Vec<AuditEntry> = client.call(Call::AuditList {
                query: AuditQuery {
                    limit,
                    offset: 0,
                    actor: user,
                    action,
                },
            })?;
            match format.format {
                Format::Json => print_json(&entries)?,
                Format::Human => {
                    for e in &entries {
                        // Everything stored is escaped: a name may not move the cursor.
                        println!(
                            "{:>5} {} {} {} {} [{}] {}",
                            e.id,
                            time_text(e.at),
                            escape(&e.actor),
                            escape(&e.action),
                            escape(&e.target),
                            escape(&e.result),
                            escape(&e.detail)
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { checkpoint } => {
            let checkpoint = checkpoint.as_deref().map(read_checkpoint).transpose()?;
            let with_checkpoint = checkpoint.is_some();
            let report: ChainReport = client.call(Call::AuditVerify { checkpoint })?;
            match report.first_bad {
                None => {
                    println!(
                        "audit log intact: {} entries verified{}",
                        report.entries,
                        if with_checkpoint {
                            "; the checkpoint is contained in it"
                        } else {
                            ""
                        }
                    );
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
        AuditCommand::Checkpoint { output } => {
            let checkpoint: Checkpoint = client.call(Call::AuditCheckpoint)?;
            let text = serde_json::to_string_pretty(&checkpoint)?;
            std::fs::write(&output, format!("{text}\n"))
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "checkpoint of {} entries written to {} (signed by {})",
                checkpoint.entries,
                output.display(),
                checkpoint.public_key
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
