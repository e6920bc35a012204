//! What every migration shares: it is a list of SQL statements each way, run in order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::dialect::Dialect;

/// A migration as its SQL: the statements of `up` and of `down`, for one backend.
pub(crate) trait Steps: MigrationName + Send + Sync {
    /// The statements that apply the migration, in order.
    fn up(d: Dialect) -> Vec<String>;
    /// The statements that undo it, in order.
    fn down(d: Dialect) -> Vec<String>;

    /// Changes to the text of SQLite tables' definitions, made before `up`'s statements (and
    /// undone before `down`'s, so that each direction's statements write under its own rules): SQLite cannot drop or change a CHECK constraint, and rebuilding
    /// a table that others reference would cascade deletes into them. Each is
    /// `(table, old text, new text)`.
    fn sqlite_rewrites() -> Vec<(&'static str, String, String)> {
        Vec::new()
    }
}

/// Runs a [`Steps`] migration: the one `MigrationTrait` impl all migrations share.
#[derive(Debug)]
pub(crate) struct Run<M>(pub M);

impl<M: Steps> MigrationName for Run<M> {
    fn name(&self) -> &str {
        self.0.name()
    }
}

#[async_trait::async_trait]
impl<M: Steps> MigrationTrait for Run<M> {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rewrite_sqlite(manager, M::sqlite_rewrites()).await?;
        execute(manager, M::up(Dialect(manager.get_database_backend()))).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let undo = M::sqlite_rewrites()
            .into_iter()
            .map(|(table, old, new)| (table, new, old))
            .collect();
        rewrite_sqlite(manager, undo).await?;
        execute(manager, M::down(Dialect(manager.get_database_backend()))).await
    }

    // A schema rewrite must not be half done: the statements and the edit share a transaction.
    fn use_transaction(&self) -> Option<bool> {
        (!M::sqlite_rewrites().is_empty()).then_some(true)
    }
}

/// SQLite's documented procedure for changing constraints in place: edit the table's stored
/// definition with `writable_schema` on, and bump `schema_version` so every open connection
/// reloads it. The rows are not rewritten; each edit must be found, or the migration fails.
async fn rewrite_sqlite(
    manager: &SchemaManager<'_>,
    rewrites: Vec<(&'static str, String, String)>,
) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::{DbBackend, Statement};
    if rewrites.is_empty() || manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let db = manager.get_connection();
    let version: i64 = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA schema_version",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("no schema_version".into()))?
        .try_get_by_index(0)?;
    db.execute_unprepared("PRAGMA writable_schema = ON").await?;
    for (table, old, new) in &rewrites {
        let changed = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "UPDATE sqlite_schema SET sql = replace(sql, $1, $2) \
                 WHERE type = 'table' AND name = $3 AND instr(sql, $1) > 0",
                [old.as_str().into(), new.as_str().into(), (*table).into()],
            ))
            .await?
            .rows_affected();
        if changed != 1 {
            return Err(DbErr::Migration(format!(
                "the definition of {table} does not contain: {old}"
            )));
        }
    }
    db.execute_unprepared(&format!("PRAGMA schema_version = {}", version + 1))
        .await?;
    db.execute_unprepared("PRAGMA writable_schema = OFF")
        .await?;
    Ok(())
}

async fn execute(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}

/// `DROP TABLE IF EXISTS` for each table, in the order given.
pub(crate) fn drop_tables<'a>(tables: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    tables
        .into_iter()
        .map(|table| format!("DROP TABLE IF EXISTS {table}"))
        .collect()
}
