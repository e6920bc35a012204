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
        execute(manager, M::up(Dialect(manager.get_database_backend()))).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, M::down(Dialect(manager.get_database_backend()))).await
    }
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
