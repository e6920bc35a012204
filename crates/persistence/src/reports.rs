//! Exchange rates and the queries reports are built from.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::report::{CashflowPart, SnapshotPoint};
use nestegg_domain::{AccountType, CurrencyCode, Money};
use nestegg_ports::{CashflowGrouping, FxRate, RepoError, ReportRepository};
use sea_orm::DbBackend;
use uuid::Uuid;

use crate::codec::Scale;
use crate::db::Db;
use crate::rows;

/// Report queries in the SQL database.
#[derive(Debug, Clone)]
pub struct SqlReportRepository {
    db: Db,
}

impl SqlReportRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ReportRepository for SqlReportRepository {
    #[tracing::instrument(skip(self, rate), err(level = "debug"))]
    async fn put_rate(
        &self,
        user_id: Uuid,
        rate: FxRate,
        now: DateTime<Utc>,
    ) -> Result<FxRate, RepoError> {
        let sql = self.db.sql();
        sql.exec(
            "INSERT INTO fx_rates (id, user_id, currency, base_currency, rate, date, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (user_id, currency, base_currency, date) DO UPDATE \
             SET rate = excluded.rate, updated_at = excluded.updated_at",
            [
                Uuid::now_v7().into(),
                user_id.into(),
                rate.currency.as_str().into(),
                rate.base_currency.as_str().into(),
                sql.decimal(rate.rate.value(), Scale::Fine)?,
                rate.date.into(),
                now.into(),
            ],
        )
        .await?;
        Ok(FxRate {
            updated_at: now,
            ..rate
        })
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn latest_rates(
        &self,
        user_id: Uuid,
        base: CurrencyCode,
    ) -> Result<Vec<FxRate>, RepoError> {
        self.db
            .sql()
            .read_all(
                "SELECT currency, base_currency, rate, date, updated_at FROM fx_rates f \
                 WHERE user_id = $1 AND base_currency = $2 AND date = (SELECT MAX(date) \
                 FROM fx_rates g WHERE g.user_id = f.user_id AND g.currency = f.currency \
                 AND g.base_currency = f.base_currency) ORDER BY currency",
                [user_id.into(), base.as_str().into()],
                rows::fx_rate,
            )
            .await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn balances_on(
        &self,
        user_id: Uuid,
        date: NaiveDate,
    ) -> Result<HashMap<Uuid, Money>, RepoError> {
        // One probe of `uq_balance_snapshots_account_date` per account (its latest point on
        // or before the date), not a look at every point of every account: with years of
        // daily points the latter took ~90 ms for 20 accounts, this well under one.
        let rows = self
            .db
            .sql()
            .all(
                "SELECT a.id AS account_id, (SELECT s.balance FROM balance_snapshots s \
                 WHERE s.account_id = a.id AND s.date <= $2 ORDER BY s.date DESC LIMIT 1) \
                 AS balance FROM accounts a WHERE a.user_id = $1",
                [user_id.into(), date.into()],
            )
            .await?;
        let mut balances = HashMap::with_capacity(rows.len());
        for row in &rows {
            // An account opened after the date has no point yet.
            if let Some(balance) = row.money_opt("balance")? {
                balances.insert(row.get("account_id")?, balance);
            }
        }
        Ok(balances)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn snapshots_until(
        &self,
        user_id: Uuid,
        to: NaiveDate,
    ) -> Result<Vec<SnapshotPoint>, RepoError> {
        let sql = self.db.sql();
        // Each account's type and currency once, not on each of its (thousands of) points.
        let accounts: HashMap<Uuid, (AccountType, CurrencyCode)> = sql
            .all(
                "SELECT id, type, currency FROM accounts WHERE user_id = $1",
                [user_id.into()],
            )
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.get("id")?,
                    (
                        row.parsed("type", AccountType::parse)?,
                        row.currency("currency")?,
                    ),
                ))
            })
            .collect::<Result<_, RepoError>>()?;
        // Unordered: the domain orders each account's points itself, and sorting ten years of
        // daily points here spilled to disk and took half of a daily history's time.
        sql.all(
            "SELECT s.account_id, s.date, s.balance FROM balance_snapshots s \
             JOIN accounts a ON a.id = s.account_id WHERE a.user_id = $1 AND s.date <= $2",
            [user_id.into(), to.into()],
        )
        .await?
        .iter()
        .filter_map(|row| {
            let point = || -> Result<Option<SnapshotPoint>, RepoError> {
                let account_id: Uuid = row.get("account_id")?;
                // An account created between the two reads counts from the next report.
                let Some((account_type, currency)) = accounts.get(&account_id).copied() else {
                    return Ok(None);
                };
                Ok(Some(SnapshotPoint {
                    account_id,
                    account_type,
                    currency,
                    date: row.get("date")?,
                    balance: row.money("balance")?,
                }))
            };
            point().transpose()
        })
        .collect()
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn cashflow(
        &self,
        user_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        grouping: CashflowGrouping,
    ) -> Result<Vec<CashflowPart>, RepoError> {
        let conn = self.db.sql();
        let key = match (grouping, conn.backend()) {
            (CashflowGrouping::Category, _) => "t.category",
            (CashflowGrouping::Month, DbBackend::Postgres) => "to_char(t.date, 'YYYY-MM')",
            (CashflowGrouping::Month, _) => "strftime('%Y-%m', t.date)",
            (CashflowGrouping::Merchant, _) => "t.merchant_name",
        };
        // Sums stay in SQL (exact NUMERIC, or exact integers on SQLite); one row per group
        // and account currency, converted to the base currency by the domain.
        let sql = format!(
            "SELECT {key} AS key, a.currency AS currency, \
             SUM(CASE WHEN t.amount > 0 THEN t.amount ELSE 0 END) AS income, \
             SUM(CASE WHEN t.amount < 0 THEN -t.amount ELSE 0 END) AS expenses, \
             COUNT(*) AS n \
             FROM transactions t JOIN accounts a ON a.id = t.account_id \
             WHERE t.user_id = $1 AND t.date >= $2 AND t.date <= $3 AND t.is_pending = $4 \
             AND t.category <> 'transfer' \
             GROUP BY 1, 2 ORDER BY 1 IS NULL, 1, 2"
        );
        conn.read_all(
            &sql,
            [user_id.into(), from.into(), to.into(), false.into()],
            |row| {
                let sum = |column: &str| -> Result<Money, RepoError> {
                    // A sum beyond the range of money is the client's data, not our bug: 422.
                    Money::new(row.decimal(column, Scale::Money)?).map_err(RepoError::Rule)
                };
                Ok(CashflowPart {
                    key: row.get("key")?,
                    currency: row.currency("currency")?,
                    income: sum("income")?,
                    expenses: sum("expenses")?,
                    count: u64::try_from(row.get::<i64>("n")?).unwrap_or(0),
                })
            },
        )
        .await
    }
}
