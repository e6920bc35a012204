//! Throwaway databases for tests: a SQLite file, or a PostgreSQL database cloned from a
//! migrated template so that many tests can run in parallel without migrating each time.
//!
//! PostgreSQL tests read `TEST_DATABASE_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`). Without it they are skipped, unless
//! `NESTEGG_REQUIRE_PG=1`, which CI sets so that a skip cannot pass for a run.
#![allow(clippy::expect_used, clippy::print_stderr)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use nestegg_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use uuid::Uuid;

use crate::Db;

/// A database that exists for one test and is removed when dropped.
#[derive(Debug)]
pub struct TestDb {
    /// The URL the test's app should use.
    pub url: String,
    /// A migrated connection to it.
    pub db: Db,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(PathBuf),
    Postgres { admin_url: String, name: String },
}

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// The PostgreSQL server of `TEST_DATABASE_URL`.
    Postgres,
}

impl TestDb {
    /// A fresh migrated database on `backend`, or `None` when PostgreSQL is not configured.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A fresh migrated SQLite file in the temp directory.
    pub async fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("nestegg-test-{}.db", Uuid::new_v4()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = Db::connect(&url).await.expect("open sqlite test db");
        db.migrate_up().await.expect("migrate sqlite test db");
        Self {
            url,
            db,
            cleanup: Cleanup::File(path),
        }
    }

    /// A fresh database cloned from the migrated template, or `None` without
    /// `TEST_DATABASE_URL`.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                std::env::var("NESTEGG_REQUIRE_PG").as_deref() != Ok("1"),
                "NESTEGG_REQUIRE_PG=1 but TEST_DATABASE_URL is not set"
            );
            eprintln!("skipping a PostgreSQL test: TEST_DATABASE_URL is not set");
            return None;
        };
        let template = ensure_template(&admin_url).await;
        let name = format!("nestegg_t_{}", Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url).await.expect("connect admin");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("create test database from template");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        let db = Db::connect(&url).await.expect("connect test database");
        Some(Self {
            url,
            db,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// The backend.
    #[must_use]
    pub fn backend(&self) -> DbBackend {
        self.db.backend()
    }
}

/// Replaces the database name of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Creates `nestegg_tpl_<hash of the migrations' source>` once, under an advisory lock, so every
/// test binary running in parallel shares one template and a schema change makes a new one.
async fn ensure_template(admin_url: &str) -> String {
    let mut hasher = DefaultHasher::new();
    for m in Migrator::migrations() {
        m.name().hash(&mut hasher);
    }
    nestegg_migration::SOURCES.hash(&mut hasher);
    let hash = hasher.finish();
    let template = format!("nestegg_tpl_{:016x}", hash);
    let admin = Database::connect(admin_url).await.expect("connect admin");
    // The lock is held by this connection until it closes.
    let lock_key = (hash >> 1) as i64;
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_lock({lock_key})"))
        .await
        .expect("advisory lock");
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [template.clone().into()],
        ))
        .await
        .expect("look for template")
        .is_some();
    if !exists {
        let building = format!("{template}_build");
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .expect("drop half-built template");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {building}"))
            .await
            .expect("create template");
        let db = Db::connect(&with_database(admin_url, &building))
            .await
            .expect("connect template");
        db.migrate_up().await.expect("migrate template");
        db.close().await.ok();
        // Renamed only once complete, so a crash never leaves a half-migrated template.
        admin
            .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("publish template");
        // Templates of older migrations are of no further use; drop them so they do not pile up.
        // The newest few are kept: another checkout with other migrations (a branch, CI) may be
        // creating test databases from its template right now.
        let stale = admin
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT datname::text AS name FROM pg_database \
                 WHERE datname LIKE 'nestegg\\_tpl\\_%' AND datname NOT LIKE '%\\_build' \
                 AND datname <> $1 ORDER BY oid DESC OFFSET 4",
                [template.clone().into()],
            ))
            .await
            .unwrap_or_default();
        for row in stale {
            if let Ok(name) = row.try_get::<String>("", "name") {
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok();
            }
        }
    }
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({lock_key})"))
        .await
        .ok();
    admin.close().await.ok();
    template
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    std::fs::remove_file(p).ok();
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; a runtime of its own on another thread
                // can block on the async drop.
                std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await
                                .ok();
                            admin.close().await.ok();
                        }
                    });
                })
                .join()
                .ok();
            }
        }
    }
}

/// Runs an async test body once on SQLite and once on PostgreSQL (when configured):
/// `both_backends!(name, |db: TestDb| async move { ... });` makes `name::sqlite` and
/// `name::postgres`, on two worker threads; `both_backends!(name, workers = 4, ...)` gives a
/// test of concurrency more.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        $crate::both_backends!($name, workers = 2, $body);
    };
    ($name:ident, workers = $workers:tt, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::new($crate::testing::Backend::Sqlite)
                    .await
                    .expect("sqlite is always available");
                ($body)(db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
            async fn postgres() {
                if let Some(db) =
                    $crate::testing::TestDb::new($crate::testing::Backend::Postgres).await
                {
                    ($body)(db).await;
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_of_a_url_is_replaced_and_its_options_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "t2"),
            "postgres://u@h/t2?sslmode=disable"
        );
    }
}
