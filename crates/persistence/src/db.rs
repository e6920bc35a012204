//! Connecting, migrating, and the SQLite write gate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nestegg_migration::{Migrator, MigratorTrait};
use nestegg_ports::RepoError;
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    IsolationLevel, TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::db_err;
use crate::location::ConnectError;
use crate::sql::Sql;

/// A pooled connection to PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// SQLite allows one writer; taking this before a write transaction queues writers in
    /// the process instead of failing one with `SQLITE_BUSY` when two upgrade at once.
    write_gate: Option<Arc<Mutex<()>>>,
    /// How long transactions waited to begin.
    waits: Arc<WaitCounters>,
    /// The SQLite file, when it is one (not in memory).
    file: Option<Arc<std::path::PathBuf>>,
}

/// The advisory lock key migrations hold on PostgreSQL (any fixed number no one else uses).
const MIGRATION_LOCK: i64 = 0x006e_6573_7465_6767;

/// Ends a lock taken by [`Db::migration_lock`].
async fn release(lock: Option<DatabaseTransaction>) -> Result<(), RepoError> {
    match lock {
        Some(txn) => txn.commit().await.map_err(db_err),
        None => Ok(()),
    }
}

#[derive(Debug, Default)]
struct WaitCounters {
    begun: AtomicU64,
    waited_micros: AtomicU64,
}

/// The pool's connections at one moment (sqlx's `size` and `num_idle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// The most connections the pool opens.
    pub max: u32,
    /// Connections open now, in use or idle.
    pub open: u32,
    /// Open connections no query holds.
    pub idle: u32,
}

impl PoolStats {
    /// Open connections a query or a transaction holds.
    #[must_use]
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// How long transactions waited to begin, since the pool was opened: from asking for one
/// until `BEGIN` returned, so the wait for a pooled connection (and, on SQLite, for the
/// write gate) and the `BEGIN` round trip. Statements outside a transaction take their
/// connection inside SeaORM, where the wait cannot be seen; sqlx counts no waits itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeginWaits {
    /// Transactions begun (or that failed to begin).
    pub count: u64,
    /// Their waits added up, in seconds.
    pub seconds: f64,
}

/// A write transaction, holding the SQLite write gate while it lives.
#[derive(Debug)]
pub(crate) struct WriteTxn<'a> {
    txn: DatabaseTransaction,
    _gate: Option<MutexGuard<'a, ()>>,
}

impl WriteTxn<'_> {
    /// Queries inside the transaction.
    pub(crate) fn sql(&self) -> Sql<'_, DatabaseTransaction> {
        Sql::new(&self.txn)
    }

    pub(crate) async fn commit(self) -> Result<(), RepoError> {
        self.txn.commit().await.map_err(db_err)
    }
}

/// A read-only transaction: one consistent snapshot for several queries.
#[derive(Debug)]
pub(crate) struct ReadTxn {
    txn: DatabaseTransaction,
}

impl ReadTxn {
    /// Queries inside the transaction.
    pub(crate) fn sql(&self) -> Sql<'_, DatabaseTransaction> {
        Sql::new(&self.txn)
    }

    pub(crate) async fn commit(self) -> Result<(), RepoError> {
        self.txn.commit().await.map_err(db_err)
    }
}

/// How many times a colliding write is tried before the caller hears it is busy.
pub(crate) const ATTEMPTS: u32 = 4;

/// One migration and whether it has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration's name.
    pub name: String,
    /// Whether it is applied.
    pub applied: bool,
}

impl Db {
    /// Connects to `url` (`postgres://...` or `sqlite://...`). An SQLite file is created if
    /// missing unless the URL sets a `mode` (`?mode=rw` opens only an existing file).
    ///
    /// # Errors
    /// A [`ConnectError`] naming the database (never its password) and the likely fix, when
    /// it cannot be reached or opened.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let sets_mode = url
            .split_once('?')
            .is_some_and(|(_, query)| query.split('&').any(|p| p.starts_with("mode=")));
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            // sqlx pings every connection it hands out by default: a second round trip for
            // each statement outside a transaction (a session check, a cached report's
            // version). A connection in use is known to work; one idle for a while (through a
            // database restart, say) is still checked before it is used.
            .test_before_acquire_if_idle_for(Duration::from_secs(2))
            .map_sqlx_sqlite_opts(move |o| {
                let o = o
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                if sets_mode {
                    o
                } else {
                    o.create_if_missing(true)
                }
            });
        let conn = Database::connect(options)
            .await
            .map_err(|e| ConnectError::new(url, &e))?;
        let write_gate =
            (conn.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        let file = match crate::location::Location::of(url) {
            crate::location::Location::Sqlite { path } => path.map(Arc::new),
            _ => None,
        };
        Ok(Self {
            conn,
            write_gate,
            waits: Arc::default(),
            file,
        })
    }

    /// The pool's connections now; `None` for a connection that has no sqlx pool.
    #[must_use]
    pub fn pool_stats(&self) -> Option<PoolStats> {
        let (max, open, idle) = match self.backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (
                    pool.options().get_max_connections(),
                    pool.size(),
                    pool.num_idle(),
                )
            }
            DbBackend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (
                    pool.options().get_max_connections(),
                    pool.size(),
                    pool.num_idle(),
                )
            }
            _ => return None,
        };
        Some(PoolStats {
            max,
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        })
    }

    /// How long transactions have waited to begin so far.
    #[must_use]
    pub fn begin_waits(&self) -> BeginWaits {
        let micros = self.waits.waited_micros.load(Ordering::Relaxed);
        BeginWaits {
            count: self.waits.begun.load(Ordering::Relaxed),
            // Exact below 2^53 microseconds (285 years of waiting).
            #[allow(clippy::cast_precision_loss)]
            seconds: micros as f64 / 1e6,
        }
    }

    fn waited(&self, since: Instant) {
        let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.waits.begun.fetch_add(1, Ordering::Relaxed);
        self.waits
            .waited_micros
            .fetch_add(micros, Ordering::Relaxed);
    }

    /// The connection, for the repositories.
    #[must_use]
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The SQLite file this is, if it is one (`None` for PostgreSQL and in-memory SQLite).
    #[must_use]
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.file.as_deref().map(std::path::PathBuf::as_path)
    }

    /// Which backend this is.
    #[must_use]
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Queries on the pool, each in its own implicit transaction.
    pub(crate) fn sql(&self) -> Sql<'_, DatabaseConnection> {
        Sql::new(&self.conn)
    }

    /// A snapshot for several reads that must agree with each other: REPEATABLE READ on
    /// PostgreSQL; SQLite's transactions read one snapshot already.
    pub(crate) async fn begin_read(&self) -> Result<ReadTxn, RepoError> {
        let isolation =
            (self.backend() == DbBackend::Postgres).then_some(IsolationLevel::RepeatableRead);
        let asked = Instant::now();
        let txn = self.conn.begin_with_config(isolation, None).await;
        self.waited(asked);
        Ok(ReadTxn {
            txn: txn.map_err(db_err)?,
        })
    }

    /// Runs a write, and runs it again when it collided with another (a deadlock, a
    /// serialization failure, a busy SQLite file): at most [`ATTEMPTS`] times, a few
    /// milliseconds apart with jitter so two colliding writers do not collide again, then
    /// [`RepoError::Busy`]. Each attempt is a whole transaction, rolled back when it fails.
    pub(crate) async fn retrying<T, F, Fut>(&self, mut write: F) -> Result<T, RepoError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RepoError>>,
    {
        let mut attempt = 1;
        loop {
            match write().await {
                Err(RepoError::Busy) if attempt < ATTEMPTS => {
                    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 10);
                    let pause = 5 * (1 << attempt) + jitter;
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    pub(crate) async fn begin_write(&self) -> Result<WriteTxn<'_>, RepoError> {
        let asked = Instant::now();
        let gate = match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        let txn = self.conn.begin().await;
        self.waited(asked);
        Ok(WriteTxn {
            txn: txn.map_err(db_err)?,
            _gate: gate,
        })
    }

    /// Applies every pending migration; returns the names of those applied, oldest first
    /// (none when the database was up to date).
    ///
    /// # Errors
    /// When a migration fails; it is rolled back where the backend allows.
    pub async fn migrate_up(&self) -> Result<Vec<String>, RepoError> {
        let lock = self.migration_lock().await?;
        let before = self.applied().await?;
        Migrator::up(&self.conn, None).await.map_err(db_err)?;
        let after = self.applied().await?;
        release(lock).await?;
        Ok(after.into_iter().filter(|m| !before.contains(m)).collect())
    }

    /// Reverts the last `steps` migrations (all of them with `None`); returns the names of
    /// those reverted, newest first (none when none was applied).
    ///
    /// # Errors
    /// When a `down` fails.
    pub async fn migrate_down(&self, steps: Option<u32>) -> Result<Vec<String>, RepoError> {
        let lock = self.migration_lock().await?;
        let before = self.applied().await?;
        Migrator::down(&self.conn, steps).await.map_err(db_err)?;
        let after = self.applied().await?;
        release(lock).await?;
        Ok(before
            .into_iter()
            .rev()
            .filter(|m| !after.contains(m))
            .collect())
    }

    /// On PostgreSQL, a transaction holding the migrations' advisory lock: instances starting
    /// at once on one database migrate one after the other, so the later ones find nothing to
    /// do instead of failing on tables the first is creating. The migrations run on other
    /// pooled connections; the lock ends with this transaction. SQLite serves one instance.
    async fn migration_lock(&self) -> Result<Option<DatabaseTransaction>, RepoError> {
        if self.backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let txn = self.conn.begin().await.map_err(db_err)?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await
            .map_err(db_err)?;
        Ok(Some(txn))
    }

    /// The names of the applied migrations, oldest first.
    async fn applied(&self) -> Result<Vec<String>, RepoError> {
        Ok(Migrator::get_applied_migrations(&self.conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(|m| m.name().to_owned())
            .collect())
    }

    /// Every migration and whether it is applied.
    ///
    /// # Errors
    /// When the migrations table cannot be read.
    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, RepoError> {
        let applied = self.applied().await?;
        Ok(Migrator::migrations()
            .iter()
            .map(|m| MigrationStatus {
                name: m.name().to_owned(),
                applied: applied.iter().any(|a| a == m.name()),
            })
            .collect())
    }

    /// Runs `SELECT 1`.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the database does not answer.
    pub async fn ping(&self) -> Result<(), RepoError> {
        self.conn
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(|e| RepoError::Unavailable(e.to_string()))
    }

    /// Closes the pool.
    ///
    /// # Errors
    /// When closing fails.
    pub async fn close(self) -> Result<(), RepoError> {
        self.conn.close().await.map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn the_pool_tells_connections_in_use_and_transactions_count_their_wait_to_begin() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let before = db.begin_waits();

        let first = db.begin_write().await.unwrap();
        let held = db.pool_stats().unwrap();
        let second = {
            let db = db.clone();
            tokio::spawn(async move {
                let txn = db.begin_write().await.unwrap();
                txn.commit().await.unwrap();
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        first.commit().await.unwrap();
        second.await.unwrap();
        let after = db.begin_waits();

        assert!(held.max >= 1, "{held:?}");
        assert!(held.in_use() >= 1, "{held:?}");
        assert!(held.open <= held.max, "{held:?}");
        assert_eq!(after.count - before.count, 2);
        // The second waited at the SQLite write gate while the first was held.
        assert!(after.seconds - before.seconds >= 0.04, "{after:?}");
    }

    #[tokio::test]
    async fn a_colliding_write_is_tried_again_and_then_reported_busy() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let calls = AtomicU32::new(0);
        let twice_busy = db
            .retrying(|| async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 2 { Err(RepoError::Busy) } else { Ok(n) }
            })
            .await;
        assert_eq!(twice_busy.unwrap(), 2);

        let (always, calls) = always_failing(&db, || RepoError::Busy).await;
        assert!(matches!(always, Err(RepoError::Busy)));
        assert_eq!(calls, ATTEMPTS);

        let (other, calls) = always_failing(&db, || RepoError::NotFound).await;
        assert!(matches!(other, Err(RepoError::NotFound)));
        assert_eq!(calls, 1, "only collisions are retried");
    }

    /// How `retrying` ends a write that fails with `error` every time, and how often it ran it.
    async fn always_failing(db: &Db, error: fn() -> RepoError) -> (Result<(), RepoError>, u32) {
        let calls = AtomicU32::new(0);
        let result = db
            .retrying(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(error())
            })
            .await;
        (result, calls.load(Ordering::SeqCst))
    }
}
