//! `secrets-guard server …`: runs the access server, creates its account, rotates its key.
//! The server itself lives in `sg-server`; this module only reads the options.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use sg_access::{ServerKey, Store};
use sg_server::{Backend, Config};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServerArgs {
    #[command(subcommand)]
    command: Option<ServerCommand>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// Where the server's store and key are.
#[derive(Debug, Args, Clone)]
struct StoreArgs {
    /// SQLite database file (the embedded default).
    #[arg(long, value_name = "PATH", conflicts_with = "database_url")]
    db: Option<PathBuf>,
    /// PostgreSQL connection URL (postgres://user:password@host/dbname), for a store that
    /// several server processes share.
    #[arg(long, value_name = "URL", env = "SECRETS_GUARD_DATABASE_URL")]
    database_url: Option<String>,
    /// The master key file, created (mode 0600) if missing [default with --db: <db>.key].
    /// Without it the database yields no TOTP secret and cannot be edited undetected: back
    /// it up apart from the database.
    #[arg(long, value_name = "PATH")]
    key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8722", value_name = "ADDR")]
    listen: SocketAddr,
    #[command(flatten)]
    store: StoreArgs,
    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy only).
    #[arg(long)]
    insecure_http: bool,
    /// Database connections kept open (and requests run at once).
    #[arg(long, default_value_t = 8)]
    connections: usize,
}

#[derive(Debug, Subcommand)]
enum ServerCommand {
    /// Create the account on an empty store and print the Owner's invitation token alone
    /// on stdout (the checkpoint public key goes to stderr).
    Init {
        #[command(flatten)]
        store: StoreArgs,
        /// The account's name.
        #[arg(long)]
        account: String,
        /// The Owner's email address.
        #[arg(long)]
        owner: String,
        /// ISO 4217 currency of usage charges.
        #[arg(long, default_value = "USD")]
        currency: String,
    },
    /// Re-seal everything under a new master key; the old key file is kept as
    /// <key-file>.previous-<unix time>.
    RotateKey {
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl StoreArgs {
    fn backend(&self) -> anyhow::Result<Backend> {
        match (&self.db, &self.database_url) {
            (Some(path), None) => Ok(Backend::Sqlite(path.clone())),
            (None, Some(url)) => Ok(Backend::Postgres(url.clone())),
            _ => bail!(
                "give the store: --db PATH (SQLite) or --database-url postgres://… (PostgreSQL)"
            ),
        }
    }

    fn key_path(&self) -> anyhow::Result<PathBuf> {
        match (&self.key_file, &self.db) {
            (Some(path), _) => Ok(path.clone()),
            (None, Some(db)) => Ok(sg_access::serverkey::local_key_path(db)),
            (None, None) => bail!("--key-file PATH is needed with --database-url"),
        }
    }

    fn open(&self, create_key: bool) -> anyhow::Result<(Store, PathBuf)> {
        let key_path = self.key_path()?;
        let key = if create_key {
            ServerKey::load_or_create(&key_path)
        } else {
            ServerKey::load(&key_path)
        }
        .with_context(|| format!("loading the server key {}", key_path.display()))?;
        let store = self.backend()?.open(Arc::new(key))?;
        Ok((store, key_path))
    }
}

pub fn run(args: ServerArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ServerCommand::Init {
            store,
            account,
            owner,
            currency,
        }) => {
            let (store, key_path) = store.open(true)?;
            if store.is_initialized()? {
                bail!("the store {} already has an account: `server init` only runs on an empty store", store.path().display());
            }
            let invitation = sg_access::init(
                &store,
                &sg_access::InitOptions {
                    account: account.clone(),
                    owner_email: owner,
                    currency,
                    require_2fa: true,
                },
            )?;
            eprintln!(
                "created account {account:?} in {}; server key {}",
                store.path().display(),
                key_path.display()
            );
            eprintln!(
                "audit checkpoint public key: {}",
                store.key().public_key_hex()
            );
            super::access::print_invitation(&invitation);
            Ok(ExitCode::SUCCESS)
        }
        Some(ServerCommand::RotateKey { store }) => rotate_key(&store),
        None => serve(args.serve),
    }
}

fn rotate_key(args: &StoreArgs) -> anyhow::Result<ExitCode> {
    let (store, key_path) = args.open(false)?;
    let new_key = ServerKey::generate();
    // The new key is on disk before the store is re-sealed under it, so no crash can
    // leave data sealed under a key that exists nowhere.
    let mut pending = key_path.clone().into_os_string();
    pending.push(".new");
    let pending = PathBuf::from(pending);
    if pending.exists() {
        bail!(
            "{} exists: a rotation was interrupted. If the store opens with it, move it to {}; otherwise delete it and rotate again",
            pending.display(),
            key_path.display()
        );
    }
    new_key.save_new(&pending)?;
    let users = sg_access::rotate_server_key(&store, &new_key).with_context(|| {
        format!(
            "re-sealing {} (the old key stays in place)",
            store.path().display()
        )
    })?;
    let previous = previous_name(&key_path, store.now());
    std::fs::rename(&key_path, &previous)
        .with_context(|| format!("moving the old key to {}", previous.display()))?;
    std::fs::rename(&pending, &key_path)
        .with_context(|| format!("moving the new key into {}", key_path.display()))?;
    eprintln!(
        "re-sealed {users} 2FA secrets, every integrity code and the audit chain under a new key in {}; the old key is {}. Sign a new audit checkpoint: earlier ones no longer verify.",
        key_path.display(),
        previous.display()
    );
    eprintln!("audit checkpoint public key: {}", new_key.public_key_hex());
    Ok(ExitCode::SUCCESS)
}

fn previous_name(key_path: &Path, now: i64) -> PathBuf {
    let mut name = key_path.as_os_str().to_os_string();
    name.push(format!(".previous-{now}"));
    PathBuf::from(name)
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SECRETS_GUARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let key_path = args.store.key_path()?;
    let key = ServerKey::load_or_create(&key_path)
        .with_context(|| format!("loading the server key {}", key_path.display()))?;
    let config = Config {
        listen: args.listen,
        backend: args.store.backend()?,
        key: Arc::new(key),
        tls: args.tls_cert.zip(args.tls_key),
        insecure_http: args.insecure_http,
        connections: args.connections,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(sg_server::serve(config, |addr, tls| {
        eprintln!(
            "listening on {}://{addr}",
            if tls { "https" } else { "http" }
        );
    }))?;
    Ok(ExitCode::SUCCESS)
}
