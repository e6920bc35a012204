//! The `nestegg` binary: `serve` (the default), `migrate up|down|status`, `demo`, `keys rotate`,
//! `openapi`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nestegg::config::{database_url_from_env, drop_previous_keys, rotate_key_file};
use nestegg::startup::open_database;
use nestegg::state::AppState;
use nestegg::{Settings, build, telemetry};
use nestegg_persistence::Db;

#[derive(Debug, Parser)]
#[command(name = "nestegg", version, about = "Self-hosted personal-finance API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database, then serve the API (the default).
    Serve,
    /// Create a demo user with two years of sample data and print its login.
    Demo,
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the OpenAPI 3.1 document of the HTTP API (JSON) to stdout.
    Openapi,
    /// Manage the key that seals Plaid access tokens at rest.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Seal every stored access token again under the current key. With a key file (the
    /// SQLite default) a new key is generated first; with NESTEGG_ENCRYPTION_KEY set, put the
    /// new key there and the old one in NESTEGG_ENCRYPTION_KEYS_PREVIOUS, then run this.
    Rotate,
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert migrations: the last one, or `--all`.
    Down {
        /// Revert every migration.
        #[arg(long)]
        all: bool,
    },
    /// List migrations and whether each is applied.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    // Needs neither settings nor a runtime, and prints nothing but the document.
    if matches!(command, Command::Openapi) {
        return match nestegg::openapi::document_json() {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("nestegg: {e}");
                ExitCode::FAILURE
            }
        };
    }
    telemetry::init();
    // Only serving needs the secrets; migrations need just the database.
    let settings = match command {
        Command::Serve | Command::Demo => match Settings::from_env() {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("nestegg: {e}");
                return ExitCode::from(2);
            }
        },
        Command::Migrate { .. } | Command::Keys { .. } | Command::Openapi => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nestegg: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match (command, settings) {
            (Command::Migrate { action }, _) => migrate(&database_url_from_env(), action).await,
            (Command::Serve, Some(settings)) => serve(settings).await,
            (Command::Demo, Some(settings)) => demo(settings).await,
            (
                Command::Keys {
                    action: KeysAction::Rotate,
                },
                _,
            ) => rotate_keys().await,
            // Answered before the runtime starts.
            (Command::Openapi, _) => Ok(()),
            (_, None) => Err(anyhow::anyhow!("settings missing")),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nestegg: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.bcrypt_cost < 10 {
        tracing::warn!(
            cost = settings.bcrypt_cost,
            "NESTEGG_BCRYPT_COST is below 10: passwords are cheap to guess if the database \
             leaks; use it only in tests"
        );
    }
    let app = build(&settings).await?;
    tracing::info!(addr = %settings.addr, "nestegg is serving; stop with Ctrl-C");
    app.run_until_stopped().await?;
    tracing::info!("nestegg stopped");
    Ok(())
}

async fn demo(settings: Settings) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    let state = AppState::new(&db, &settings)?;
    let started = std::time::Instant::now();
    let login = state
        .demo
        .create(&state.auth)
        .await
        .map_err(|e| anyhow::anyhow!("creating the demo data: {e}"))?;
    println!(
        "created a demo user with {} accounts and {} transactions in {:.1} s",
        login.accounts,
        login.transactions,
        started.elapsed().as_secs_f64()
    );
    println!("  login:    {}  (or {})", login.username, login.email);
    println!("  password: {}", login.password);
    Ok(())
}

async fn rotate_keys() -> anyhow::Result<()> {
    let database_url = database_url_from_env();
    let from_env = std::env::var("NESTEGG_ENCRYPTION_KEY").is_ok_and(|k| !k.trim().is_empty());
    if !from_env {
        match rotate_key_file(&database_url)? {
            Some(path) => println!("generated a new encryption key in {}", path.display()),
            None => anyhow::bail!(
                "no key file to rotate: set NESTEGG_ENCRYPTION_KEY to the new key and \
                 NESTEGG_ENCRYPTION_KEYS_PREVIOUS to the old one, then run this again"
            ),
        }
    }
    let settings = Settings::from_env()?;
    let db = open_database(&settings).await?;
    let state = AppState::new(&db, &settings)?;
    let done = state
        .sync
        .rotate_keys()
        .await
        .map_err(|e| anyhow::anyhow!("re-sealing the access tokens: {e}"))?;
    println!(
        "access tokens: {} sealed again under the current key, {} already under it, {} unreadable",
        done.rotated, done.current, done.unreadable
    );
    if done.unreadable > 0 {
        anyhow::bail!("some tokens open with no configured key; the previous keys are kept");
    }
    if from_env {
        println!("NESTEGG_ENCRYPTION_KEYS_PREVIOUS can now be removed");
    } else {
        drop_previous_keys(&database_url)?;
        println!("the previous key is forgotten");
    }
    Ok(())
}

async fn migrate(database_url: &str, action: MigrateAction) -> anyhow::Result<()> {
    let db = Db::connect(database_url).await?;
    match action {
        MigrateAction::Up => {
            db.migrate_up().await?;
            println!("all migrations applied");
        }
        MigrateAction::Down { all } => {
            db.migrate_down(if all { None } else { Some(1) }).await?;
            println!(
                "reverted {}",
                if all {
                    "every migration"
                } else {
                    "the last migration"
                }
            );
        }
        MigrateAction::Status => {
            for m in db.migration_status().await? {
                println!(
                    "{} {}",
                    if m.applied { "applied" } else { "pending" },
                    m.name
                );
            }
        }
    }
    Ok(())
}
