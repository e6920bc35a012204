//! Hand-written SQL that runs on both backends.

use sea_orm::{DbBackend, Statement, Value};

/// A statement written with PostgreSQL's `$1, $2, ...` placeholders, rewritten to SQLite's
/// equivalent `?1, ?2, ...` when needed. SQL text must not contain a literal `$`.
#[must_use]
pub fn statement<I: IntoIterator<Item = Value>>(
    backend: DbBackend,
    sql: &str,
    values: I,
) -> Statement {
    let sql = if backend == DbBackend::Sqlite {
        sql.replace('$', "?")
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}
