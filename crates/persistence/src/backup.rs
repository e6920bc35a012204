//! A whole database copied to a file and back, between backends: `nestegg backup FILE` and
//! `nestegg restore FILE`.
//!
//! [`backup`] reads every table of [`TABLES`] from one read snapshot, in id-ordered pages,
//! and writes each row as it goes in a canonical, backend-neutral text (the format is
//! described in `backup/file.rs`, the values in `backup/cell.rs`), with each table's row
//! count and SHA-256 checksum after its rows. [`verify`] reads a file back and checks every trailer. [`restore`] writes a
//! file into a database in one transaction: it refuses a database at other migrations and
//! one holding data (unless told to replace it), inserts in batches in [`TABLES`]' order,
//! checks each table's trailer as it goes, then recounts and re-checksums every table from
//! the database before committing. Any failure rolls everything back.

mod cell;
mod file;
mod tables;

use std::io::{BufRead, Write};

use chrono::{SecondsFormat, Utc};
use nestegg_migration::{Migrator, MigratorTrait};
use nestegg_ports::RepoError;
use sea_orm::{ConnectionTrait, DbBackend, Value};
use uuid::Uuid;

pub use tables::{Column, Kind, NOT_COPIED, TABLES, Table};

use crate::db::{Db, ReadTxn};
use crate::sql::Sql;
use cell::{Cell, row_text};
use file::{End, Header, Reader, TableEnd, TableStart, Tally, VERSION};

/// Rows read per page.
const PAGE: u32 = 1000;
/// Values bound per `INSERT` at most (PostgreSQL allows 65,535, SQLite 32,766).
const BIND_LIMIT: usize = 10_000;
/// Rows inserted per statement at most.
const BATCH_ROWS: usize = 500;

/// A table's row count and checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: u64,
    /// SHA-256 (lower-case hex) of its rows' canonical text in id order.
    pub sha256: String,
}

/// Every table's row count and checksum, in [`TABLES`]' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The backend the rows were read from or written to.
    pub backend: &'static str,
    /// The applied migrations the data belongs to.
    pub migrations: Vec<String>,
    /// One per table.
    pub tables: Vec<TableSummary>,
}

impl Summary {
    /// Rows in every table.
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// Why a backup or a restore failed. Each message is one sentence for the person running it.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The database failed.
    #[error("{what}: {source}")]
    Database {
        /// What was being done.
        what: String,
        /// The cause.
        source: RepoError,
    },
    /// The file is not a well-formed backup.
    #[error("the backup is not valid at line {line}: {why}")]
    Format {
        /// The line (from 1).
        line: u64,
        /// What is wrong.
        why: String,
    },
    /// A table's rows do not match its trailer: the file was changed or cut.
    #[error(
        "the backup is damaged: table {table} (trailer at line {line}) says {} rows with \
         checksum {}, but its rows give {} rows with checksum {}",
        stated.0, prefix(&stated.1), found.0, prefix(&found.1)
    )]
    Damaged {
        /// The table.
        table: &'static str,
        /// The trailer's line.
        line: u64,
        /// Rows and checksum the trailer states.
        stated: (u64, String),
        /// Rows and checksum of the rows read.
        found: (u64, String),
    },
    /// After the rows were written, a table read back from the database differs from the
    /// backup; nothing was kept.
    #[error(
        "table {table} read back from the database has {} rows with checksum {}, but the \
         backup has {} rows with checksum {}",
        found.0, prefix(&found.1), expected.0, prefix(&expected.1)
    )]
    Mismatch {
        /// The table.
        table: &'static str,
        /// Rows and checksum in the backup.
        expected: (u64, String),
        /// Rows and checksum read back.
        found: (u64, String),
    },
    /// The database to back up is not at this nestegg's migrations.
    #[error(
        "the database has {} but this nestegg has {}; run `nestegg migrate up` (with this \
         nestegg's version) before a backup",
        describe(applied),
        describe(known)
    )]
    SourceMigrations {
        /// Applied in the database.
        applied: Vec<String>,
        /// Known to this nestegg.
        known: Vec<String>,
    },
    /// The backup belongs to other migrations than the target database.
    #[error(
        "the backup was made at {} but the target database {} {}; restore with the nestegg \
         version that made the backup into a database at the same migrations, or into an \
         empty one",
        describe(backup), if *target_is_new { "would be migrated to" } else { "has" },
        describe(target)
    )]
    Migrations {
        /// In the backup.
        backup: Vec<String>,
        /// Applied in the target, or those this nestegg would apply to an empty one.
        target: Vec<String>,
        /// Whether the target has no schema yet.
        target_is_new: bool,
    },
    /// The target database holds rows and replacing them was not asked for.
    #[error("the target database is not empty: {}", list_tables(tables))]
    NotEmpty {
        /// The tables holding rows, with their counts.
        tables: Vec<(&'static str, u64)>,
    },
}

fn prefix(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

fn describe(migrations: &[String]) -> String {
    match migrations.last() {
        None => "no migrations applied".to_owned(),
        Some(last) => format!(
            "{} migration{} (the last {last})",
            migrations.len(),
            if migrations.len() == 1 { "" } else { "s" }
        ),
    }
}

fn list_tables(tables: &[(&'static str, u64)]) -> String {
    tables
        .iter()
        .map(|(t, n)| format!("{t} ({n} row{})", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

fn failed(what: impl Into<String>) -> impl FnOnce(RepoError) -> BackupError {
    let what = what.into();
    move |source| BackupError::Database { what, source }
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> BackupError {
    move |source| BackupError::Io { what, source }
}

fn backend_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "postgres",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

/// The migrations this nestegg knows, in order.
fn known_migrations() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// A read snapshot of `db`: one consistent view for all that is read in it.
async fn snapshot(db: &Db) -> Result<ReadTxn, BackupError> {
    db.begin_read()
        .await
        .map_err(failed("opening a read snapshot"))
}

/// The migrations applied to a database, in order; none when it has no migrations table.
async fn applied_migrations<C: ConnectionTrait>(
    sql: &Sql<'_, C>,
) -> Result<Vec<String>, BackupError> {
    let read = async {
        let exists = match sql.backend() {
            DbBackend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'"
            }
            _ => {
                "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'seaql_migrations'"
            }
        };
        if sql.opt(exists, []).await?.is_none() {
            return Ok(Vec::new());
        }
        sql.read_all(
            "SELECT version FROM seaql_migrations ORDER BY version",
            [],
            |r| r.get::<String>("version"),
        )
        .await
    };
    read.await.map_err(failed("reading the applied migrations"))
}

/// Reads every row of `table` in id order, a page at a time, handing each row's canonical
/// text to `each`; the table's count and checksum.
async fn scan<C: ConnectionTrait>(
    sql: &Sql<'_, C>,
    table: &'static Table,
    mut each: impl FnMut(&str) -> Result<(), BackupError>,
) -> Result<TableSummary, BackupError> {
    let columns = table.column_list();
    let mut tally = Tally::new(table.name);
    let mut after: Option<Uuid> = None;
    loop {
        let (condition, values): (&str, Vec<Value>) = match after {
            Some(id) => ("WHERE id > $1 ", vec![id.into()]),
            None => ("", Vec::new()),
        };
        let rows = sql
            .all(
                &format!(
                    "SELECT {columns} FROM {} {condition}ORDER BY id LIMIT {PAGE}",
                    table.name
                ),
                values,
            )
            .await
            .map_err(failed(format!("reading table {}", table.name)))?;
        for row in &rows {
            let cells = table
                .columns
                .iter()
                .map(|c| Cell::read(row, c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(failed(format!("reading a row of table {}", table.name)))?;
            after = match cells.first() {
                Some(Cell::Uuid(id)) => *id,
                _ => None,
            };
            let text = row_text(&cells);
            tally.add(&text);
            each(&text)?;
        }
        if rows.len() < PAGE as usize || after.is_none() {
            return Ok(tally.finish());
        }
    }
}

fn write_line(out: &mut impl Write, line: &str) -> Result<(), BackupError> {
    out.write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .map_err(io("writing the backup"))
}

fn json_line(value: &impl serde::Serialize) -> Result<String, BackupError> {
    serde_json::to_string(value).map_err(|e| BackupError::Io {
        what: "writing the backup",
        source: std::io::Error::other(e),
    })
}

/// Writes every table of `db` to `out`, from one consistent snapshot; each table's count
/// and checksum.
///
/// # Errors
/// [`BackupError::SourceMigrations`] when the database is not at this nestegg's migrations;
/// database and write failures.
pub async fn backup(db: &Db, out: &mut impl Write) -> Result<Summary, BackupError> {
    let txn = snapshot(db).await?;
    let sql = txn.sql();
    let applied = applied_migrations(&sql).await?;
    let known = known_migrations();
    if applied != known {
        return Err(BackupError::SourceMigrations { applied, known });
    }
    let backend = backend_name(db.backend());
    let header = Header {
        nestegg_backup: VERSION,
        created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        backend: backend.to_owned(),
        migrations: applied.clone(),
        tables: TABLES.iter().map(|t| t.name.to_owned()).collect(),
    };
    write_line(out, &json_line(&header)?)?;
    let mut tables = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        write_line(out, &json_line(&TableStart::of(table))?)?;
        let done = scan(&sql, table, |text| write_line(out, text)).await?;
        write_line(
            out,
            &json_line(&TableEnd {
                end_of_table: table.name.to_owned(),
                rows: done.rows,
                sha256: done.sha256.clone(),
            })?,
        )?;
        tables.push(done);
    }
    let summary = Summary {
        backend,
        migrations: applied,
        tables,
    };
    write_line(
        out,
        &json_line(&End {
            end_of_backup: true,
            tables: summary.tables.len() as u64,
            rows: summary.rows(),
        })?,
    )?;
    out.flush().map_err(io("writing the backup"))?;
    txn.commit()
        .await
        .map_err(failed("ending the read snapshot"))?;
    Ok(summary)
}

/// Reads a whole backup and checks it: its structure, every value, every table's count and
/// checksum against its trailer. The summary names the backend it was made from.
///
/// # Errors
/// [`BackupError::Format`] or [`BackupError::Damaged`] for a file that is not an intact
/// backup; read failures.
pub fn verify(input: impl BufRead) -> Result<Summary, BackupError> {
    let mut reader = Reader::new(input);
    let header = reader.header()?;
    for table in TABLES {
        reader.begin_table(table)?;
        while reader.next_row()?.is_some() {}
    }
    Ok(Summary {
        backend: backend_of(&header),
        migrations: header.migrations,
        tables: reader.finish()?,
    })
}

fn backend_of(header: &Header) -> &'static str {
    match header.backend.as_str() {
        "postgres" => "postgres",
        "sqlite" => "sqlite",
        _ => "other",
    }
}

/// Every table's count and checksum as stored in `db` now (what a backup of it would state).
///
/// # Errors
/// Database failures.
pub async fn summarize(db: &Db) -> Result<Summary, BackupError> {
    let txn = snapshot(db).await?;
    let sql = txn.sql();
    let migrations = applied_migrations(&sql).await?;
    let mut tables = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        tables.push(scan(&sql, table, |_| Ok(())).await?);
    }
    txn.commit()
        .await
        .map_err(failed("ending the read snapshot"))?;
    Ok(Summary {
        backend: backend_name(db.backend()),
        migrations,
        tables,
    })
}

/// Writes the backup `input` into `db` in one transaction and checks it there.
///
/// A database without a schema is migrated first. The backup's migrations must be those
/// applied to `db`. A database holding rows is refused unless `replace`, which deletes
/// them in the same transaction. Each table's trailer is checked as its rows are inserted,
/// and after the last table every table is read back and its count and checksum compared
/// with the backup's; any failure rolls everything back.
///
/// # Errors
/// [`BackupError::Migrations`], [`BackupError::NotEmpty`], [`BackupError::Format`],
/// [`BackupError::Damaged`], [`BackupError::Mismatch`]; database and read failures.
pub async fn restore(db: &Db, input: impl BufRead, replace: bool) -> Result<Summary, BackupError> {
    let mut reader = Reader::new(input);
    let header = reader.header()?;
    let applied = applied_migrations(&db.sql()).await?;
    if applied.is_empty() {
        let known = known_migrations();
        if header.migrations != known {
            return Err(BackupError::Migrations {
                backup: header.migrations,
                target: known,
                target_is_new: true,
            });
        }
        db.migrate_up()
            .await
            .map_err(failed("migrating the target database"))?;
    } else if header.migrations != applied {
        return Err(BackupError::Migrations {
            backup: header.migrations,
            target: applied,
            target_is_new: false,
        });
    }

    let txn = db
        .begin_write()
        .await
        .map_err(failed("beginning the restore's transaction"))?;
    let sql = txn.sql();
    let mut occupied = Vec::new();
    for table in TABLES {
        let rows: i64 = sql
            .one(&format!("SELECT COUNT(*) AS n FROM {}", table.name), [])
            .await
            .and_then(|r| r.get("n"))
            .map_err(failed(format!("counting the rows of {}", table.name)))?;
        if rows > 0 {
            occupied.push((table.name, rows.unsigned_abs()));
        }
    }
    if !occupied.is_empty() {
        if !replace {
            return Err(BackupError::NotEmpty { tables: occupied });
        }
        for table in TABLES.iter().rev() {
            sql.exec(&format!("DELETE FROM {}", table.name), [])
                .await
                .map_err(failed(format!("deleting the rows of {}", table.name)))?;
        }
    }

    for table in TABLES {
        reader.begin_table(table)?;
        let per_statement = (BIND_LIMIT / table.columns.len()).clamp(1, BATCH_ROWS);
        let mut batch = Vec::with_capacity(per_statement);
        while let Some(cells) = reader.next_row()? {
            batch.push(cells);
            if batch.len() == per_statement {
                insert(&sql, table, &batch).await?;
                batch.clear();
            }
        }
        insert(&sql, table, &batch).await?;
    }
    let expected = reader.finish()?;

    for (table, expected) in TABLES.iter().zip(&expected) {
        let found = scan(&sql, table, |_| Ok(())).await?;
        if found != *expected {
            return Err(BackupError::Mismatch {
                table: table.name,
                expected: (expected.rows, expected.sha256.clone()),
                found: (found.rows, found.sha256),
            });
        }
    }
    txn.commit()
        .await
        .map_err(failed("committing the restore"))?;
    Ok(Summary {
        backend: backend_name(db.backend()),
        migrations: header.migrations,
        tables: expected,
    })
}

/// Inserts rows of `table` with one statement.
async fn insert<C: ConnectionTrait>(
    sql: &Sql<'_, C>,
    table: &'static Table,
    rows: &[Vec<Cell>],
) -> Result<(), BackupError> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = table.columns.len();
    let mut values = Vec::with_capacity(rows.len() * width);
    let mut tuples = Vec::with_capacity(rows.len());
    for row in rows {
        let first = values.len();
        for cell in row {
            values.push(
                cell.bind(sql.backend())
                    .map_err(failed(format!("a value for table {}", table.name)))?,
            );
        }
        let placeholders: Vec<String> = (first + 1..=first + width)
            .map(|n| format!("${n}"))
            .collect();
        tuples.push(format!("({})", placeholders.join(", ")));
    }
    sql.exec(
        &format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            table.column_list(),
            tuples.join(", ")
        ),
        values,
    )
    .await
    .map_err(failed(format!("inserting into table {}", table.name)))?;
    Ok(())
}
