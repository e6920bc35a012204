//! The export port: one user's rows, section by section in keyset pages along an index
//! (transactions by date and id, everything else by id), all read inside one read transaction
//! so that the document is one consistent snapshot.

use async_trait::async_trait;
use nestegg_ports::{
    ExportPage, ExportReader, ExportRecord, ExportRepository, ExportSection, RepoError, User,
};
use uuid::Uuid;

use crate::connections::{CONNECTION_COLUMNS, connection};
use crate::db::{Db, ReadTxn};
use crate::investments::{COLUMNS as INVESTMENT_COLUMNS, investment};
use crate::portfolios::rows::{
    ITEM_COLUMNS, PORTFOLIO_COLUMNS, TRADE_COLUMNS, item, portfolio, trade,
};
use crate::rows::{self, ACCOUNT_COLUMNS, Row, TRANSACTION_COLUMNS, from_row};
use crate::sql::page;

/// Exports from the SQL database.
#[derive(Debug, Clone)]
pub struct SqlExportRepository {
    db: Db,
}

impl SqlExportRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ExportRepository for SqlExportRepository {
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn open(&self, user_id: Uuid) -> Result<Box<dyn ExportReader>, RepoError> {
        // REPEATABLE READ on PostgreSQL; on SQLite (WAL) a read transaction sees one snapshot
        // from its first read on and does not hold writers back.
        let txn = self.db.begin_read().await?;
        Ok(Box::new(SqlExportReader { txn, user_id }))
    }
}

/// A reader holding its read transaction (and so one pooled connection) until it is dropped,
/// which rolls the read-only transaction back.
#[derive(Debug)]
struct SqlExportReader {
    txn: ReadTxn,
    user_id: Uuid,
}

/// The `SELECT ... FROM ... WHERE` of a section, scoped to the user whose id is `$1`, and
/// how its rows are read.
/// Reads one row of a section.
type ReadRecord = fn(&Row) -> Result<ExportRecord, RepoError>;

fn query(section: ExportSection) -> (String, ReadRecord) {
    let of_accounts = "account_id IN (SELECT id FROM accounts WHERE user_id = $1)";
    let of_portfolios = "portfolio_id IN (SELECT id FROM portfolios WHERE user_id = $1)";
    match section {
        ExportSection::Accounts => (
            format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1"),
            |r| rows::account(r).map(ExportRecord::Account),
        ),
        ExportSection::Transactions => (
            format!("SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE user_id = $1"),
            |r| rows::transaction(r).map(ExportRecord::Transaction),
        ),
        ExportSection::TransactionHistory => (
            "SELECT id, transaction_id, account_id, action, changes, created_at \
             FROM transaction_history WHERE user_id = $1"
                .to_owned(),
            history,
        ),
        ExportSection::Snapshots => (
            format!(
                "SELECT id, account_id, date, balance, available_balance, currency \
                 FROM balance_snapshots WHERE {of_accounts}"
            ),
            |r| {
                Ok(from_row!(r => ExportRecord::Snapshot {
                    id, account_id,
                    snapshot: rows::snapshot(r)?,
                }))
            },
        ),
        ExportSection::Adjustments => (
            format!(
                "SELECT id, account_id, date, amount, balance, created_at \
                 FROM balance_adjustments WHERE {of_accounts}"
            ),
            |r| rows::adjustment(r).map(ExportRecord::Adjustment),
        ),
        ExportSection::FxRates => (
            "SELECT id, currency, base_currency, rate, date, updated_at FROM fx_rates \
             WHERE user_id = $1"
                .to_owned(),
            |r| {
                Ok(from_row!(r => ExportRecord::FxRate {
                    id,
                    rate: rows::fx_rate(r)?,
                }))
            },
        ),
        ExportSection::Securities => (
            format!("SELECT {INVESTMENT_COLUMNS} FROM investments WHERE owner_user_id = $1"),
            |r| investment(r).map(ExportRecord::Security),
        ),
        ExportSection::Prices => (
            "SELECT id, investment_id, date, price FROM investment_prices WHERE investment_id \
             IN (SELECT id FROM investments WHERE owner_user_id = $1)"
                .to_owned(),
            |r| {
                Ok(from_row!(r => ExportRecord::Price {
                    id, investment_id,
                    point: rows::price_point(r)?,
                }))
            },
        ),
        ExportSection::Portfolios => (
            format!("SELECT {PORTFOLIO_COLUMNS} FROM portfolios WHERE user_id = $1"),
            |r| portfolio(r).map(ExportRecord::Portfolio),
        ),
        ExportSection::Items => (
            format!("SELECT {ITEM_COLUMNS} FROM portfolio_items WHERE {of_portfolios}"),
            |r| item(r).map(ExportRecord::Item),
        ),
        ExportSection::Trades => (
            format!(
                "SELECT portfolio_id, {TRADE_COLUMNS} FROM portfolio_trades WHERE {of_portfolios}"
            ),
            |r| {
                Ok(from_row!(r => ExportRecord::Trade {
                    portfolio_id,
                    trade: trade(r)?,
                }))
            },
        ),
        // The listed columns leave out `access_token` and `sync_cursor`.
        ExportSection::Connections => (
            format!("SELECT {CONNECTION_COLUMNS} FROM plaid_connections WHERE user_id = $1"),
            |r| connection(r).map(ExportRecord::Connection),
        ),
    }
}

/// A page of `section` after the row whose id is `$2` (when `after`), in an order an index
/// gives, so that each page reads its `limit + 1` rows instead of sorting all of the user's.
/// Transactions follow `(user_id, date DESC, id DESC)`; the cursor row is found by its id,
/// which the export's single read snapshot keeps. Every other section goes by id, which
/// `(user_id, id)` serves for the transaction history; the rest are small per user.
#[must_use]
pub fn page_sql(section: ExportSection, after: bool, limit: u32) -> String {
    let (mut sql, _) = query(section);
    let (cursor, order) = match section {
        ExportSection::Transactions => (
            " AND (date, id) < (SELECT date, id FROM transactions WHERE id = $2)",
            "date DESC, id DESC",
        ),
        _ => (" AND id > $2", "id"),
    };
    if after {
        sql.push_str(cursor);
    }
    // One more than asked, to know whether another page follows.
    sql.push_str(&format!(" ORDER BY {order} LIMIT {}", limit + 1));
    sql
}

fn history(r: &Row) -> Result<ExportRecord, RepoError> {
    Ok(from_row!(r => ExportRecord::History {
        id, transaction_id, account_id,
        entry: rows::history_entry(r)?,
    }))
}

/// The id every record pages by.
fn id_of(record: &ExportRecord) -> Uuid {
    match record {
        ExportRecord::Account(a) => a.id,
        ExportRecord::Transaction(t) => t.id,
        ExportRecord::History { id, .. }
        | ExportRecord::Snapshot { id, .. }
        | ExportRecord::FxRate { id, .. }
        | ExportRecord::Price { id, .. } => *id,
        ExportRecord::Adjustment(a) => a.id,
        ExportRecord::Security(s) => s.id,
        ExportRecord::Portfolio(p) => p.id,
        ExportRecord::Item(i) => i.id,
        ExportRecord::Trade { trade, .. } => trade.id,
        ExportRecord::Connection(c) => c.id,
    }
}

#[async_trait]
impl ExportReader for SqlExportReader {
    async fn user(&mut self) -> Result<User, RepoError> {
        let row = self
            .txn
            .sql()
            .one(
                "SELECT id, email, username, hashed_password, is_active, is_verified, \
                 preferences, created_at, updated_at FROM users WHERE id = $1",
                [self.user_id.into()],
            )
            .await?;
        crate::users::to_user(row.model()?)
    }

    async fn page(
        &mut self,
        section: ExportSection,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<ExportPage, RepoError> {
        let (_, read) = query(section);
        let mut values = vec![self.user_id.into()];
        if let Some(after) = after {
            values.push(after.into());
        }
        let limit = limit.max(1);
        let sql = page_sql(section, after.is_some(), limit);
        let found = self.txn.sql().all(&sql, values).await?;
        let records = found.iter().map(read).collect::<Result<Vec<_>, _>>()?;
        let (records, next) = page(records, limit, id_of);
        Ok(ExportPage { records, next })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sea_orm::{ConnectionTrait, DbBackend};

    use super::*;
    use crate::testing::TestDb;

    /// SQLite's plan for a page, one line per step.
    async fn plan(db: &TestDb, section: ExportSection, after: bool) -> String {
        let sql = crate::sql::statement(
            DbBackend::Sqlite,
            &format!("EXPLAIN QUERY PLAN {}", page_sql(section, after, 1000)),
            [Uuid::nil().into(), Uuid::nil().into()]
                .into_iter()
                .take(if after { 2 } else { 1 }),
        );
        let rows = db.db.conn().query_all_raw(sql).await.unwrap();
        rows.iter()
            .map(|r| r.try_get::<String>("", "detail").unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_of_transactions_or_their_history_is_read_along_an_index_without_sorting() {
        let db = TestDb::sqlite().await;
        for section in [
            ExportSection::Transactions,
            ExportSection::TransactionHistory,
        ] {
            for after in [false, true] {
                let plan = plan(&db, section, after).await;
                // A sort would read every row of the user's for each page of a thousand.
                assert!(!plan.contains("TEMP B-TREE"), "{section:?}: {plan}");
                assert!(plan.contains("INDEX idx_"), "{section:?}: {plan}");
            }
        }
    }
}
