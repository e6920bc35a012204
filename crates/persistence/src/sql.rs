//! Hand-written SQL that runs on both backends, and the one helper every repository queries
//! through.

use chrono::NaiveDate;
use nestegg_domain::Money;
use nestegg_ports::RepoError;
use rust_decimal::Decimal;
use sea_orm::{
    ConnectionTrait, DbBackend, FromQueryResult, QueryResult, Statement, StatementBuilder, Value,
};
use uuid::Uuid;

use crate::codec::{self, Scale};
use crate::error::db_err;
use crate::rows::{Owned, Row};

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

/// Ends a keyset-paged query: only rows after the cursor `after` (its key's value and id) in
/// the order of `key` then `id` (`descending` or not), and `LIMIT limit + 1` so that [`page`]
/// can tell whether another page follows. Returns the limit applied (at least 1).
pub(crate) fn keyset(
    sql: &mut String,
    values: &mut Vec<Value>,
    key: &str,
    descending: bool,
    after: Option<(Value, Uuid)>,
    limit: u32,
) -> u32 {
    let (past, dir) = if descending {
        ("<", " DESC")
    } else {
        (">", "")
    };
    if let Some((value, id)) = after {
        values.push(value);
        values.push(id.into());
        let n = values.len();
        sql.push_str(&format!(" AND ({key}, id) {past} (${}, ${n})", n - 1));
    }
    let limit = limit.max(1);
    sql.push_str(&format!(
        " ORDER BY {key}{dir}, id{dir} LIMIT {}",
        limit + 1
    ));
    limit
}

/// A keyset page from rows read with `LIMIT limit + 1`: the first `limit`, and the cursor of
/// the last of them when a row beyond them shows that another page follows.
pub(crate) fn page<T, K>(
    mut items: Vec<T>,
    limit: u32,
    cursor: impl Fn(&T) -> K,
) -> (Vec<T>, Option<K>) {
    if items.len() > limit as usize {
        items.truncate(limit as usize);
        let next = items.last().map(cursor);
        (items, next)
    } else {
        (items, None)
    }
}

/// A row lock for the rest of the transaction. PostgreSQL takes it; SQLite has no row locks
/// and needs none, as its write gate (see [`crate::Db`]) already serializes writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// `FOR UPDATE`: the row is about to change.
    Update,
    /// `FOR SHARE`: the row is read for a write elsewhere and must not change meanwhile.
    Share,
}

impl Lock {
    fn clause(self, backend: DbBackend) -> &'static str {
        match (backend, self) {
            (DbBackend::Postgres, Lock::Update) => " FOR UPDATE",
            (DbBackend::Postgres, Lock::Share) => " FOR SHARE",
            _ => "",
        }
    }
}

/// Queries over a connection or a transaction, knowing its backend: placeholders, row locks
/// and decimal encoding differ between PostgreSQL and SQLite here and nowhere else, and
/// database errors leave as [`RepoError`]s.
///
/// Hand-written SQL uses `$n` placeholders; SeaORM and sea-query statements go through the
/// `*_built` methods and render themselves for the backend.
#[derive(Debug)]
pub(crate) struct Sql<'c, C: ConnectionTrait> {
    conn: &'c C,
    backend: DbBackend,
}

impl<'c, C: ConnectionTrait> Sql<'c, C> {
    pub(crate) fn new(conn: &'c C) -> Self {
        Self {
            conn,
            backend: conn.get_database_backend(),
        }
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Runs a statement; the number of rows it affected.
    pub(crate) async fn exec<I>(&self, sql: &str, values: I) -> Result<u64, RepoError>
    where
        I: IntoIterator<Item = Value>,
    {
        self.run(statement(self.backend, sql, values)).await
    }

    /// The one row a query returns; [`RepoError::NotFound`] when there is none.
    pub(crate) async fn one<I>(&self, sql: &str, values: I) -> Result<Row, RepoError>
    where
        I: IntoIterator<Item = Value>,
    {
        self.opt(sql, values).await?.ok_or(RepoError::NotFound)
    }

    /// The first row a query returns, if any.
    pub(crate) async fn opt<I>(&self, sql: &str, values: I) -> Result<Option<Row>, RepoError>
    where
        I: IntoIterator<Item = Value>,
    {
        self.fetch_opt(statement(self.backend, sql, values)).await
    }

    /// Every row a query returns.
    pub(crate) async fn all<I>(&self, sql: &str, values: I) -> Result<Vec<Row>, RepoError>
    where
        I: IntoIterator<Item = Value>,
    {
        self.fetch_all(statement(self.backend, sql, values)).await
    }

    /// Every row a query returns, each read by `read`.
    pub(crate) async fn read_all<I, T>(
        &self,
        sql: &str,
        values: I,
        read: impl Fn(&Row) -> Result<T, RepoError>,
    ) -> Result<Vec<T>, RepoError>
    where
        I: IntoIterator<Item = Value>,
    {
        self.all(sql, values).await?.iter().map(read).collect()
    }

    /// [`Self::one`], locking the row it reads with `lock` when given.
    pub(crate) async fn one_locked<I>(
        &self,
        lock: Option<Lock>,
        sql: &str,
        values: I,
    ) -> Result<Row, RepoError>
    where
        I: IntoIterator<Item = Value>,
    {
        self.opt_locked(lock, sql, values)
            .await?
            .ok_or(RepoError::NotFound)
    }

    /// [`Self::opt`], locking the row it reads with `lock` when given.
    pub(crate) async fn opt_locked<I>(
        &self,
        lock: Option<Lock>,
        sql: &str,
        values: I,
    ) -> Result<Option<Row>, RepoError>
    where
        I: IntoIterator<Item = Value>,
    {
        let clause = lock.map_or("", |lock| lock.clause(self.backend));
        self.opt(&format!("{sql}{clause}"), values).await
    }

    /// The user's row `id` of `table`; [`RepoError::NotFound`] when there is none or it is
    /// another user's.
    pub(crate) async fn owned<T>(
        &self,
        table: &Owned<T>,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<T, RepoError> {
        self.owned_row(table, user_id, id, None).await
    }

    /// [`Self::owned`], locking the row for update for the rest of the transaction.
    pub(crate) async fn locked<T>(
        &self,
        table: &Owned<T>,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<T, RepoError> {
        self.owned_row(table, user_id, id, Some(Lock::Update)).await
    }

    async fn owned_row<T>(
        &self,
        table: &Owned<T>,
        user_id: Uuid,
        id: Uuid,
        lock: Option<Lock>,
    ) -> Result<T, RepoError> {
        let Owned {
            name,
            columns,
            read,
        } = table;
        let row = self
            .one_locked(
                lock,
                &format!("SELECT {columns} FROM {name} WHERE id = $1 AND user_id = $2"),
                [id.into(), user_id.into()],
            )
            .await?;
        read(&row)
    }

    /// Every row of the user's in `table`, ordered by `order` (an `ORDER BY` list).
    pub(crate) async fn all_owned<T>(
        &self,
        table: &Owned<T>,
        user_id: Uuid,
        order: &str,
    ) -> Result<Vec<T>, RepoError> {
        let Owned {
            name,
            columns,
            read,
        } = table;
        self.read_all(
            &format!("SELECT {columns} FROM {name} WHERE user_id = $1 ORDER BY {order}"),
            [user_id.into()],
            read,
        )
        .await
    }

    /// The rows of `select` (whose `$1` is `key`) with a `date` from `from` to `to`, each
    /// bound inclusive and optional, in date order, each read by `read`.
    pub(crate) async fn all_dated<T>(
        &self,
        select: &str,
        key: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        read: impl Fn(&Row) -> Result<T, RepoError>,
    ) -> Result<Vec<T>, RepoError> {
        let mut sql = select.to_owned();
        let mut values: Vec<Value> = vec![key.into()];
        for (op, bound) in [(">=", from), ("<=", to)] {
            if let Some(date) = bound {
                values.push(date.into());
                sql.push_str(&format!(" AND date {op} ${}", values.len()));
            }
        }
        sql.push_str(" ORDER BY date");
        self.read_all(&sql, values, read).await
    }

    /// Takes `lock` on the rows a query selects, reading nothing: on SQLite, where the write
    /// gate already serializes writers, it does not run at all.
    pub(crate) async fn lock<I>(&self, lock: Lock, sql: &str, values: I) -> Result<(), RepoError>
    where
        I: IntoIterator<Item = Value>,
    {
        let clause = lock.clause(self.backend);
        if !clause.is_empty() {
            self.all(&format!("{sql}{clause}"), values).await?;
        }
        Ok(())
    }

    /// Runs a SeaORM or sea-query statement; the number of rows it affected.
    pub(crate) async fn exec_built(&self, query: &impl StatementBuilder) -> Result<u64, RepoError> {
        self.run(query.build(&self.backend)).await
    }

    /// The first row of a SeaORM or sea-query statement as an entity's model, if any.
    pub(crate) async fn opt_model<M: FromQueryResult>(
        &self,
        query: &impl StatementBuilder,
    ) -> Result<Option<M>, RepoError> {
        self.fetch_opt(query.build(&self.backend))
            .await?
            .map(|row| row.model())
            .transpose()
    }

    /// A money column's value.
    pub(crate) fn money(&self, m: Money) -> Result<Value, RepoError> {
        self.decimal(m.value(), Scale::Money)
    }

    /// A nullable money column's value.
    pub(crate) fn money_opt(&self, m: Option<Money>) -> Result<Value, RepoError> {
        self.decimal_opt(m.map(|m| m.value()), Scale::Money)
    }

    /// A decimal column's value (never a raw `Decimal`, which sea-query binds as a float on
    /// SQLite): see [`codec::encode`].
    pub(crate) fn decimal(&self, d: Decimal, scale: Scale) -> Result<Value, RepoError> {
        codec::encode(self.backend, d, scale)
    }

    /// A nullable decimal column's value.
    pub(crate) fn decimal_opt(&self, d: Option<Decimal>, scale: Scale) -> Result<Value, RepoError> {
        codec::encode_opt(self.backend, d, scale)
    }

    async fn run(&self, stmt: Statement) -> Result<u64, RepoError> {
        let done = self.conn.execute_raw(stmt).await.map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn fetch_opt(&self, stmt: Statement) -> Result<Option<Row>, RepoError> {
        let row = self.conn.query_one_raw(stmt).await.map_err(db_err)?;
        Ok(row.map(|r| self.row(r)))
    }

    async fn fetch_all(&self, stmt: Statement) -> Result<Vec<Row>, RepoError> {
        let rows = self.conn.query_all_raw(stmt).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|r| self.row(r)).collect())
    }

    fn row(&self, row: QueryResult) -> Row {
        Row::new(row, self.backend)
    }
}
