//! Sessions: one row per login (a refresh-token family), so that ending a session is one
//! database write every server instance sees, and an access token can name what it belongs to.
//!
//! - `sessions (id, user_id, expires_at, revoked_at, created_at, updated_at)`: `id` is the
//!   family id of its refresh tokens; `expires_at` is the absolute end of the session, however
//!   often it is refreshed; `revoked_at` is set by logout, a password change or reuse of a
//!   spent refresh token. Rows go with their user.
//! - Existing families become sessions: live ones (a token neither used nor revoked) end when
//!   their latest refresh token would have expired; the others are stored as revoked.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;
use crate::steps::{Steps, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

impl Steps for Migration {
    fn up(d: Dialect) -> Vec<String> {
        vec![
            d.sql(
                "CREATE TABLE sessions (
    id {id} NOT NULL PRIMARY KEY,
    user_id {id} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at {ts} NOT NULL,
    revoked_at {ts},
    {audit}
)",
            ),
            "CREATE INDEX idx_sessions_user_id ON sessions (user_id)".to_owned(),
            "INSERT INTO sessions (id, user_id, expires_at, revoked_at, created_at, updated_at)
SELECT family_id, user_id, MAX(expires_at),
    CASE WHEN SUM(CASE WHEN used_at IS NULL AND revoked_at IS NULL THEN 1 ELSE 0 END) = 0
        THEN MAX(updated_at) END,
    MIN(created_at), MAX(updated_at)
FROM refresh_tokens GROUP BY family_id, user_id"
                .to_owned(),
        ]
    }

    fn down(_: Dialect) -> Vec<String> {
        let mut sql = vec!["DROP INDEX IF EXISTS idx_sessions_user_id".to_owned()];
        sql.extend(drop_tables(["sessions"]));
        sql
    }
}
