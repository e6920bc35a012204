//! What several server instances on one database share when there is no Redis: report-cache
//! versions ([`SqlScopeVersions`]), failed-login counters ([`SqlLoginThrottle`]), and the
//! claim that says whether an instance serves the database alone or beside others
//! ([`InstanceClaim`]).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nestegg_ports::{
    CacheError, LoginThrottle, RepoError, ScopeVersions, ThrottleCounter, ThrottleKey, Throttled,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, TransactionTrait, Value};

use crate::db::{Db, WriteTxn};
use crate::error::db_err;
use crate::sql::{Lock, Sql};

fn unavailable(e: RepoError) -> CacheError {
    CacheError::Unavailable(e.to_string())
}

/// Cache scope versions in `cache_versions`: one row per scope that was ever invalidated.
#[derive(Debug, Clone)]
pub struct SqlScopeVersions {
    db: Db,
}

impl SqlScopeVersions {
    /// Versions in `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ScopeVersions for SqlScopeVersions {
    async fn current(&self, scope: &str) -> Result<u64, CacheError> {
        let row = self
            .db
            .sql()
            .opt(
                "SELECT version FROM cache_versions WHERE scope = $1",
                [scope.into()],
            )
            .await
            .map_err(unavailable)?;
        match row {
            Some(row) => {
                let version: i64 = row.get("version").map_err(unavailable)?;
                Ok(u64::try_from(version).unwrap_or(0))
            }
            None => Ok(0),
        }
    }

    async fn bump(&self, scope: &str) -> Result<(), CacheError> {
        // One statement, atomic on both backends: two instances bumping at once both count.
        self.db
            .sql()
            .exec(
                "INSERT INTO cache_versions (scope, version) VALUES ($1, 1) \
                 ON CONFLICT (scope) DO UPDATE SET version = cache_versions.version + 1",
                [scope.into()],
            )
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Failed-login counters in `login_throttle`, one row per key, so that every instance on the
/// database counts the same attempts. Each call is one transaction that locks the keys' rows
/// (in key order, so two logins never wait on each other in a cycle), applies the rules of
/// [`ThrottleCounter`], and writes them back. Rows whose window has ended are deleted as
/// attempts come. When the database cannot be reached the throttle lets logins through (and
/// logs it), as the Redis one does: the login itself then fails on the same database.
#[derive(Debug, Clone)]
pub struct SqlLoginThrottle {
    db: Db,
}

impl SqlLoginThrottle {
    /// Counters in `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The keys sorted and without repeats: the order their rows are locked in.
    fn ordered(keys: &[ThrottleKey]) -> Vec<&ThrottleKey> {
        let mut sorted: Vec<&ThrottleKey> = keys.iter().collect();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        sorted.dedup_by(|a, b| a.key == b.key);
        sorted
    }

    /// Begins a write and [`Self::load`]s the keys' counters in it.
    async fn begin_counters(
        &self,
        keys: &[&ThrottleKey],
        now: DateTime<Utc>,
    ) -> Result<(WriteTxn<'_>, Vec<ThrottleCounter>), RepoError> {
        let txn = self.db.begin_write().await?;
        let counters = Self::load(&txn.sql(), keys, now).await?;
        Ok((txn, counters))
    }

    /// Locks the keys' rows (creating missing ones as fresh windows) and reads them as they
    /// count at `now`, in the order of `keys`.
    async fn load<C: ConnectionTrait>(
        sql: &Sql<'_, C>,
        keys: &[&ThrottleKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<ThrottleCounter>, RepoError> {
        let mut counters = Vec::with_capacity(keys.len());
        for k in keys {
            let fresh = ThrottleCounter::fresh(k, now);
            sql.exec(
                "INSERT INTO login_throttle (key, window_ends, failures, pending, pending_until) \
                 VALUES ($1, $2, 0, 0, $3) ON CONFLICT (key) DO NOTHING",
                [
                    k.key.as_str().into(),
                    fresh.ends.into(),
                    fresh.pending_until.into(),
                ],
            )
            .await?;
            let row = sql
                .opt_locked(
                    Some(Lock::Update),
                    "SELECT window_ends, failures, pending, pending_until FROM login_throttle \
                     WHERE key = $1",
                    [k.key.as_str().into()],
                )
                .await?
                // Deleted as ended between the insert and the read: try the whole step again.
                .ok_or(RepoError::Busy)?;
            let stored = ThrottleCounter {
                ends: row.get("window_ends")?,
                failures: count(row.get("failures")?),
                pending: count(row.get("pending")?),
                pending_until: row.get("pending_until")?,
            };
            counters.push(ThrottleCounter::at(Some(stored), k, now));
        }
        Ok(counters)
    }

    async fn save<C: ConnectionTrait>(
        sql: &Sql<'_, C>,
        key: &ThrottleKey,
        c: Option<ThrottleCounter>,
    ) -> Result<(), RepoError> {
        match c {
            Some(c) => {
                sql.exec(
                    "UPDATE login_throttle SET window_ends = $1, failures = $2, pending = $3, \
                     pending_until = $4 WHERE key = $5",
                    [
                        c.ends.into(),
                        stored(c.failures).into(),
                        stored(c.pending).into(),
                        c.pending_until.into(),
                        key.key.as_str().into(),
                    ],
                )
                .await?;
            }
            None => {
                sql.exec(
                    "DELETE FROM login_throttle WHERE key = $1",
                    [key.key.as_str().into()],
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn try_acquire(
        &self,
        keys: &[ThrottleKey],
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<u32>, Throttled>, RepoError> {
        let ordered = Self::ordered(keys);
        let verdict = self
            .db
            .retrying(|| async {
                let (txn, counters) = self.begin_counters(&ordered, now).await?;
                if let Err(throttled) =
                    ThrottleCounter::judge(ordered.iter().copied().zip(&counters), now)
                {
                    txn.commit().await?;
                    return Ok(Err(throttled));
                }
                for (k, c) in ordered.iter().zip(&counters) {
                    Self::save(&txn.sql(), k, Some(c.admitted(now))).await?;
                }
                txn.commit().await?;
                Ok(Ok(counters.iter().map(|c| c.failures).collect::<Vec<_>>()))
            })
            .await?;
        // Counters of windows that have ended count nothing any more.
        self.db
            .sql()
            .exec(
                "DELETE FROM login_throttle WHERE window_ends <= $1",
                [Value::from(now)],
            )
            .await?;
        // Back from the order the rows were locked in to the order asked.
        Ok(verdict.map(|failures| {
            keys.iter()
                .map(|k| {
                    ordered
                        .iter()
                        .position(|o| o.key == k.key)
                        .and_then(|i| failures.get(i).copied())
                        .unwrap_or(0)
                })
                .collect()
        }))
    }

    async fn settle(&self, keys: &[ThrottleKey], now: DateTime<Utc>, failed: bool) {
        let ordered = Self::ordered(keys);
        let settled = self
            .db
            .retrying(|| async {
                let (txn, counters) = self.begin_counters(&ordered, now).await?;
                for (k, c) in ordered.iter().zip(&counters) {
                    Self::save(&txn.sql(), k, c.settled(failed)).await?;
                }
                txn.commit().await
            })
            .await;
        if let Err(e) = settled {
            tracing::warn!(error = %e, "login throttle unavailable; an attempt went unsettled");
        }
    }
}

/// A stored count (`INTEGER`), never negative (the table's check constraint).
fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A count as stored, capped at what the column holds.
fn stored(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[async_trait]
impl LoginThrottle for SqlLoginThrottle {
    async fn acquire(
        &self,
        keys: &[ThrottleKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<u32>, Throttled> {
        match self.try_acquire(keys, now).await {
            Ok(verdict) => verdict,
            Err(e) => {
                tracing::warn!(error = %e, "login throttle unavailable; allowing the attempt");
                Ok(vec![0; keys.len()])
            }
        }
    }

    async fn fail(&self, keys: &[ThrottleKey], now: DateTime<Utc>) {
        self.settle(keys, now, true).await;
    }

    async fn forgive(&self, keys: &[ThrottleKey], now: DateTime<Utc>) {
        self.settle(keys, now, false).await;
    }

    async fn pause(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
    }
}

/// Whether an instance serves the database alone or as one of several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceRole {
    /// The only instance: it may keep what it knows in its own memory (cached reports,
    /// sessions it has checked, login counters).
    Sole,
    /// One of several: what instances must agree on is read from the database or Redis.
    Shared,
}

/// The advisory lock key instances hold on PostgreSQL (the migrations' key plus one).
const INSTANCE_LOCK: i64 = 0x006e_6573_7465_6768;

/// Why an instance may not serve the database in the role it asked for.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Another instance holds the database in a role that excludes this one.
    #[error("{0}")]
    Taken(&'static str),
    /// The database could not be asked.
    #[error(transparent)]
    Store(#[from] RepoError),
}

/// Locks `<file>.lock` beside an SQLite database for this process.
fn lock_file(file: &std::path::Path) -> Result<std::fs::File, ClaimError> {
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| {
            ClaimError::Store(RepoError::Unavailable(format!(
                "cannot open {}: {e}",
                std::path::Path::new(&name).display()
            )))
        })?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(ClaimError::Taken(
            "another Nestegg process is serving this SQLite file: an SQLite database is served \
             by one process (for several instances, use PostgreSQL with \
             NESTEGG_INSTANCES=several); stop the other one first",
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(ClaimError::Store(RepoError::Unavailable(
            format!("cannot lock {}: {e}", std::path::Path::new(&name).display()),
        ))),
    }
}

/// An instance's claim on a PostgreSQL database, held for as long as the instance serves it:
/// a sole instance holds the instances' advisory lock exclusively, each of several instances
/// holds it shared, so a sole instance never runs beside another (which would serve reports
/// from its memory that the other's writes made stale). The lock lives in a transaction kept
/// open on a connection of its own, and ends with it (also when the process dies). An SQLite
/// file is served by one process: its claim is an exclusive lock on `<file>.lock`, which the
/// system releases when the process ends, however it ends.
#[derive(Debug)]
pub struct InstanceClaim {
    role: InstanceRole,
    held: Held,
}

#[derive(Debug)]
enum Held {
    /// In-memory SQLite: nothing to hold.
    Nothing,
    /// An SQLite file: an exclusive lock on `<file>.lock`, released by the system when the
    /// process ends however it ends.
    File {
        /// Held open for the lock; never read.
        _lock: std::fs::File,
    },
    /// The transaction holding the lock.
    Lock(DatabaseTransaction),
    /// The lock went with its connection and is not claimed again yet.
    Lost,
}

impl InstanceClaim {
    /// Claims `db` for an instance of `role`.
    ///
    /// # Errors
    /// [`ClaimError::Taken`] when another instance holds the database in a role that
    /// excludes this one; [`ClaimError::Store`] when the database cannot be asked.
    pub async fn claim(db: &Db, role: InstanceRole) -> Result<Self, ClaimError> {
        if db.backend() != DbBackend::Postgres {
            return Ok(Self {
                role,
                held: match db.sqlite_file() {
                    Some(file) => Held::File {
                        _lock: lock_file(file)?,
                    },
                    None => Held::Nothing,
                },
            });
        }
        let txn = db.conn().begin().await.map_err(db_err)?;
        let function = match role {
            InstanceRole::Sole => "pg_try_advisory_xact_lock",
            InstanceRole::Shared => "pg_try_advisory_xact_lock_shared",
        };
        let got: bool = Sql::new(&txn)
            .one(&format!("SELECT {function}({INSTANCE_LOCK}) AS got"), [])
            .await?
            .get("got")?;
        if !got {
            return Err(ClaimError::Taken(match role {
                InstanceRole::Sole => {
                    "another Nestegg instance is serving this database: to run several, set \
                     NESTEGG_INSTANCES=several on every one of them (and give them Redis or \
                     not, alike); otherwise stop the other one first"
                }
                InstanceRole::Shared => {
                    "a Nestegg instance with NESTEGG_INSTANCES=one is serving this database: \
                     set NESTEGG_INSTANCES=several on it too and restart it, or stop it"
                }
            }));
        }
        Ok(Self {
            role,
            held: Held::Lock(txn),
        })
    }

    /// The role claimed.
    #[must_use]
    pub fn role(&self) -> InstanceRole {
        self.role
    }

    /// Whether the claim still holds: its connection answers (the lock lives as long as it).
    pub async fn holds(&self) -> bool {
        match &self.held {
            Held::Nothing | Held::File { .. } => true,
            Held::Lock(txn) => txn.execute_unprepared("SELECT 1").await.is_ok(),
            Held::Lost => false,
        }
    }

    /// Claims again after [`InstanceClaim::holds`] said no (the database restarted, or the
    /// connection was cut): the lock went with the connection.
    ///
    /// # Errors
    /// As [`InstanceClaim::claim`].
    pub async fn renew(&mut self, db: &Db) -> Result<(), ClaimError> {
        self.held = Held::Lost;
        *self = Self::claim(db, self.role).await?;
        Ok(())
    }
}
