//! State that several server instances on one PostgreSQL share when there is no Redis.
//!
//! - `cache_versions (scope, version)`: each cache scope's version (`user:<id>`), bumped by a
//!   write; an instance serves a report it holds in memory only while the version it was
//!   computed under is still the one stored here, so a write through one instance is never
//!   followed by a stale report from another.
//! - `login_throttle (key, window_ends, failures, pending, pending_until)`: the failed-login
//!   counters, so that a guesser spreading attempts over instances is counted once. Rows whose
//!   window has ended are dead weight, deleted as new attempts come (index on `window_ends`).
//!
//! Both tables exist on SQLite too (one schema everywhere), where one instance keeps this
//! state in its own memory instead.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;
use crate::steps::{Steps, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

impl Steps for Migration {
    fn up(d: Dialect) -> Vec<String> {
        vec![
            "CREATE TABLE cache_versions (
    scope VARCHAR(100) NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL,
    CONSTRAINT ck_cache_versions_version CHECK (version >= 0)
)"
            .to_owned(),
            d.sql(
                "CREATE TABLE login_throttle (
    key VARCHAR(300) NOT NULL PRIMARY KEY,
    window_ends {ts} NOT NULL,
    failures INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    pending_until {ts} NOT NULL,
    CONSTRAINT ck_login_throttle_counts CHECK (failures >= 0 AND pending >= 0)
)",
            ),
            "CREATE INDEX idx_login_throttle_window_ends ON login_throttle (window_ends)"
                .to_owned(),
        ]
    }

    fn down(_: Dialect) -> Vec<String> {
        let mut sql = vec!["DROP INDEX IF EXISTS idx_login_throttle_window_ends".to_owned()];
        sql.extend(drop_tables(["login_throttle", "cache_versions"]));
        sql
    }
}
