//! The account repository.

use async_trait::async_trait;
use chrono::NaiveDate;
use nestegg_ports::{
    Account, AccountRepository, AccountUpdate, Conflict, NewAccount, RepoError, Snapshot, WriteTime,
};
use sea_orm::{ConnectionTrait, DbBackend, Value};
use uuid::Uuid;

use crate::codec::{self, Scale};
use crate::db::Db;
use crate::error::db_err;
use crate::rows::{self, ACCOUNT_COLUMNS};
use crate::sql::statement;

/// Accounts and their snapshots in the SQL database.
#[derive(Debug, Clone)]
pub struct SqlAccountRepository {
    db: Db,
}

impl SqlAccountRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// `FOR UPDATE` where the backend has it; SQLite's write gate already serializes writers.
pub(crate) fn for_update(b: DbBackend) -> &'static str {
    if b == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// Reads one of the user's accounts, locking it for the rest of the transaction.
pub(crate) async fn lock_account(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    user_id: Uuid,
    id: Uuid,
) -> Result<Account, RepoError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND user_id = $2{}",
        for_update(b)
    );
    let row = conn
        .query_one_raw(statement(b, &sql, [id.into(), user_id.into()]))
        .await
        .map_err(db_err)?
        .ok_or(RepoError::NotFound)?;
    rows::account(b, &row)
}

/// Stores a balance change: the account's row and today's snapshot (inserted or replaced).
pub(crate) async fn store_balance(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    account: &Account,
    at: WriteTime,
) -> Result<(), RepoError> {
    let balance = codec::encode(b, account.current_balance.value(), Scale::Money)?;
    let available = codec::encode_opt(
        b,
        account.available_balance.map(|m| m.value()),
        Scale::Money,
    )?;
    conn.execute_raw(statement(
        b,
        "UPDATE accounts SET current_balance = $1, available_balance = $2, updated_at = $3 \
         WHERE id = $4",
        [balance, available, at.now.into(), account.id.into()],
    ))
    .await
    .map_err(db_err)?;
    let snapshot = Snapshot {
        date: at.today,
        balance: account.current_balance,
        available_balance: account.available_balance,
        currency: account.currency,
    };
    upsert_snapshot(conn, b, account.id, &snapshot, at.now).await
}

/// Inserts or replaces one day's snapshot of an account.
async fn upsert_snapshot(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    account_id: Uuid,
    snapshot: &Snapshot,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), RepoError> {
    conn.execute_raw(statement(
        b,
        "INSERT INTO balance_snapshots (id, account_id, date, balance, available_balance, \
         currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (account_id, date) DO UPDATE SET balance = excluded.balance, \
         available_balance = excluded.available_balance, currency = excluded.currency, \
         updated_at = excluded.updated_at",
        [
            Uuid::now_v7().into(),
            account_id.into(),
            snapshot.date.into(),
            codec::encode(b, snapshot.balance.value(), Scale::Money)?,
            codec::encode_opt(
                b,
                snapshot.available_balance.map(|m| m.value()),
                Scale::Money,
            )?,
            snapshot.currency.as_str().into(),
            now.into(),
        ],
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl AccountRepository for SqlAccountRepository {
    #[tracing::instrument(skip_all, err)]
    async fn create(&self, new: NewAccount, at: WriteTime) -> Result<Account, RepoError> {
        let b = self.db.backend();
        new.account_type.check_balance(new.current_balance)?;
        let account = Account {
            id: new.id,
            user_id: new.user_id,
            name: new.name.as_str().to_owned(),
            account_type: new.account_type,
            institution_name: new.institution_name,
            current_balance: new.current_balance,
            available_balance: new.available_balance,
            currency: new.currency,
            plaid_account_id: None,
            connection_id: None,
            created_at: at.now,
            updated_at: at.now,
        };
        let txn = self.db.begin_write().await?;
        txn.txn
            .execute_raw(statement(
                b,
                "INSERT INTO accounts (id, user_id, name, type, institution_name, \
                 current_balance, available_balance, currency, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                [
                    account.id.into(),
                    account.user_id.into(),
                    account.name.clone().into(),
                    account.account_type.as_str().into(),
                    account.institution_name.clone().into(),
                    codec::encode(b, account.current_balance.value(), Scale::Money)?,
                    codec::encode_opt(
                        b,
                        account.available_balance.map(|m| m.value()),
                        Scale::Money,
                    )?,
                    account.currency.as_str().into(),
                    at.now.into(),
                ],
            ))
            .await
            .map_err(db_err)?;
        store_balance(&txn.txn, b, &account, at).await?;
        txn.commit().await?;
        Ok(account)
    }

    #[tracing::instrument(skip(self), err)]
    async fn list(&self, user_id: Uuid) -> Result<Vec<Account>, RepoError> {
        let b = self.db.backend();
        let sql =
            format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1 ORDER BY name, id");
        self.db
            .conn()
            .query_all_raw(statement(b, &sql, [user_id.into()]))
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| rows::account(b, row))
            .collect()
    }

    #[tracing::instrument(skip(self), err)]
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Account, RepoError> {
        let b = self.db.backend();
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND user_id = $2");
        let row = self
            .db
            .conn()
            .query_one_raw(statement(b, &sql, [id.into(), user_id.into()]))
            .await
            .map_err(db_err)?
            .ok_or(RepoError::NotFound)?;
        rows::account(b, &row)
    }

    #[tracing::instrument(skip(self, update), err)]
    async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        update: AccountUpdate,
        at: WriteTime,
    ) -> Result<Account, RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        let before = lock_account(&txn.txn, b, user_id, id).await?;
        let mut after = before.clone();
        if let Some(name) = update.name {
            after.name = name.as_str().to_owned();
        }
        if let Some(institution) = update.institution_name {
            after.institution_name = institution;
        }
        if let Some(balance) = update.current_balance {
            after.current_balance = after.account_type.check_balance(balance)?;
        }
        if let Some(available) = update.available_balance {
            after.available_balance = available;
        }
        after.updated_at = at.now;
        txn.txn
            .execute_raw(statement(
                b,
                "UPDATE accounts SET name = $1, institution_name = $2, updated_at = $3 \
                 WHERE id = $4",
                [
                    after.name.clone().into(),
                    after.institution_name.clone().into(),
                    at.now.into(),
                    id.into(),
                ],
            ))
            .await
            .map_err(db_err)?;
        if after.current_balance != before.current_balance
            || after.available_balance != before.available_balance
        {
            store_balance(&txn.txn, b, &after, at).await?;
        }
        txn.commit().await?;
        Ok(after)
    }

    #[tracing::instrument(skip(self), err)]
    async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        lock_account(&txn.txn, b, user_id, id).await?;
        let used = txn
            .txn
            .query_one_raw(statement(
                b,
                "SELECT 1 AS used FROM transactions WHERE account_id = $1 LIMIT 1",
                [id.into()],
            ))
            .await
            .map_err(db_err)?;
        if used.is_some() {
            return Err(RepoError::Conflict(Conflict::AccountHasTransactions));
        }
        txn.txn
            .execute_raw(statement(
                b,
                "DELETE FROM accounts WHERE id = $1",
                [id.into()],
            ))
            .await
            .map_err(db_err)?;
        txn.commit().await
    }

    #[tracing::instrument(skip(self, snapshot), err)]
    async fn record_snapshot(
        &self,
        user_id: Uuid,
        id: Uuid,
        snapshot: Snapshot,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), RepoError> {
        let b = self.db.backend();
        self.get(user_id, id).await?;
        upsert_snapshot(self.db.conn(), b, id, &snapshot, now).await
    }

    #[tracing::instrument(skip(self), err)]
    async fn snapshots(
        &self,
        user_id: Uuid,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<Snapshot>, RepoError> {
        let b = self.db.backend();
        self.get(user_id, id).await?;
        let mut sql = String::from(
            "SELECT date, balance, available_balance, currency FROM balance_snapshots \
             WHERE account_id = $1",
        );
        let mut values: Vec<Value> = vec![id.into()];
        if let Some(from) = from {
            values.push(from.into());
            sql.push_str(&format!(" AND date >= ${}", values.len()));
        }
        if let Some(to) = to {
            values.push(to.into());
            sql.push_str(&format!(" AND date <= ${}", values.len()));
        }
        sql.push_str(" ORDER BY date");
        self.db
            .conn()
            .query_all_raw(statement(b, &sql, values))
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok(Snapshot {
                    date: rows::get(row, "date")?,
                    balance: rows::money(b, row, "balance")?,
                    available_balance: rows::money_opt(b, row, "available_balance")?,
                    currency: rows::currency(row, "currency")?,
                })
            })
            .collect()
    }
}
