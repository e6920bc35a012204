//! The `nestegg` binary: `serve` (the default), `migrate up|down|status`, `demo`, `keys rotate`,
//! `openapi`, `backup FILE`, `restore FILE`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use nestegg::config::{database_url_from_env, drop_previous_keys, rotate_key_file};
use nestegg::startup::open_database;
use nestegg::state::AppState;
use nestegg::{Settings, build, telemetry};
use nestegg_persistence::backup::{self, BackupError, Summary};
use nestegg_persistence::{Db, Location};

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
    /// Copy the whole database (DATABASE_URL) to FILE, then read FILE back to check it.
    Backup {
        /// The backup file to write (replaced if it exists, once the new one is complete).
        file: PathBuf,
    },
    /// Copy a backup FILE into the database (DATABASE_URL) in one transaction, migrating an
    /// empty database first; the database must hold no data unless `--replace` is given.
    Restore {
        /// The backup file to read.
        file: PathBuf,
        /// Delete every row the database holds, in the same transaction, before restoring.
        #[arg(long)]
        replace: bool,
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
    let settings_help = nestegg::config::settings_help();
    let matches = Cli::command()
        .after_help(settings_help.clone())
        .mut_subcommand("serve", |serve| serve.after_help(settings_help))
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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
        Command::Migrate { .. }
        | Command::Keys { .. }
        | Command::Openapi
        | Command::Backup { .. }
        | Command::Restore { .. } => None,
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
            (Command::Backup { file }, _) => back_up(&database_url_from_env(), &file).await,
            (Command::Restore { file, replace }, _) => {
                restore(&database_url_from_env(), &file, replace).await
            }
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
    let migrations = match app.migrations_applied() {
        [] => "none".to_owned(),
        names => names.join(", "),
    };
    tracing::info!(
        addr = %app.addr(),
        database = %Location::of(&settings.database_url),
        cache = %settings.cache_description(),
        migrations_applied = %migrations,
        metrics = app
            .metrics_addr()
            .map(|a| tracing::field::display(format!("http://{a}/metrics"))),
        key_file = settings.key_file.as_ref().map(|p| tracing::field::display(p.display())),
        "nestegg is serving on http://{}; stop with Ctrl-C",
        app.addr()
    );
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
    let location = Location::of(database_url);
    match action {
        MigrateAction::Up => {
            let applied = db.migrate_up().await?;
            for name in &applied {
                println!("applied {name}");
            }
            match applied.len() {
                0 => println!("nothing to do: every migration is applied to the {location}"),
                n => println!("{n} migration{} applied to the {location}", plural(n)),
            }
        }
        MigrateAction::Down { all } => {
            let reverted = db.migrate_down(if all { None } else { Some(1) }).await?;
            for name in &reverted {
                println!("reverted {name}");
            }
            match reverted.len() {
                0 => anyhow::bail!("nothing to revert: no migration is applied to the {location}"),
                n => println!("{n} migration{} reverted in the {location}", plural(n)),
            }
        }
        MigrateAction::Status => {
            let status = db.migration_status().await?;
            for m in &status {
                println!(
                    "{} {}",
                    if m.applied { "applied" } else { "pending" },
                    m.name
                );
            }
            let applied = status.iter().filter(|m| m.applied).count();
            println!(
                "{applied} applied, {} pending in the {location}",
                status.len() - applied
            );
        }
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One line per table: its name, rows and the start of its checksum.
fn print_tables(summary: &Summary) {
    for t in &summary.tables {
        println!(
            "{:<20} {:>9} rows  sha256 {}",
            t.table,
            t.rows,
            t.sha256.get(..12).unwrap_or(&t.sha256)
        );
    }
}

async fn back_up(database_url: &str, file: &Path) -> anyhow::Result<()> {
    let name = file
        .file_name()
        .with_context(|| format!("{} does not name a file", file.display()))?;
    // Written beside the target and renamed only once read back intact, so a failed backup
    // never leaves a file that looks like one, nor spoils an earlier backup of that name.
    let mut partial_name = name.to_owned();
    partial_name.push(".partial");
    let partial = file.with_file_name(partial_name);
    let db = Db::connect(database_url).await?;
    let written = write_backup(&db, file, &partial).await;
    if written.is_err() {
        std::fs::remove_file(&partial).ok();
    }
    let summary = written?;
    print_tables(&summary);
    println!(
        "backed up {} tables and {} rows from {} to {}; read back and verified",
        summary.tables.len(),
        summary.rows(),
        summary.backend,
        file.display()
    );
    Ok(())
}

async fn write_backup(db: &Db, file: &Path, partial: &Path) -> anyhow::Result<Summary> {
    let out =
        File::create(partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = BufWriter::new(out);
    let written = backup::backup(db, &mut out).await?;
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot write {}", partial.display()))?;
    let input =
        File::open(partial).with_context(|| format!("cannot read {} back", partial.display()))?;
    let read = backup::verify(BufReader::new(input))
        .with_context(|| format!("{} does not read back as written", partial.display()))?;
    if read.tables != written.tables {
        anyhow::bail!(
            "{} reads back with other counts or checksums than were written",
            partial.display()
        );
    }
    std::fs::rename(partial, file)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), file.display()))?;
    Ok(written)
}

async fn restore(database_url: &str, file: &Path, replace: bool) -> anyhow::Result<()> {
    let input = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let db = Db::connect(database_url).await?;
    let summary = match backup::restore(&db, BufReader::new(input), replace).await {
        Ok(summary) => summary,
        Err(e @ BackupError::NotEmpty { .. }) => anyhow::bail!(
            "{e}; nothing was restored. Pass --replace to delete these rows and restore {} in \
             their place",
            file.display()
        ),
        Err(e) => anyhow::bail!(
            "cannot restore {}: {e}; nothing was restored",
            file.display()
        ),
    };
    print_tables(&summary);
    println!(
        "restored {} tables and {} rows from {} into {}; counts and checksums verified",
        summary.tables.len(),
        summary.rows(),
        file.display(),
        summary.backend
    );
    Ok(())
}
