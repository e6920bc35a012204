//! The account repository.

use async_trait::async_trait;
use chrono::NaiveDate;
use nestegg_ports::{
    Account, AccountRepository, AccountUpdate, Conflict, NewAccount, RepoError, Snapshot, WriteTime,
};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use crate::db::Db;
use crate::rows::{self, ACCOUNT_COLUMNS};
use crate::sql::{Lock, Sql};

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

/// Reads one of the user's accounts, locking it for the rest of the transaction.
pub(crate) async fn lock_account(
    sql: &Sql<'_, impl ConnectionTrait>,
    user_id: Uuid,
    id: Uuid,
) -> Result<Account, RepoError> {
    let row = sql
        .one_locked(
            Lock::Update,
            &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND user_id = $2"),
            [id.into(), user_id.into()],
        )
        .await?;
    rows::account(&row)
}

/// Stores a balance change: the account's row and today's snapshot (inserted or replaced).
pub(crate) async fn store_balance(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &Account,
    at: WriteTime,
) -> Result<(), RepoError> {
    sql.exec(
        "UPDATE accounts SET current_balance = $1, available_balance = $2, updated_at = $3 \
         WHERE id = $4",
        [
            sql.money(account.current_balance)?,
            sql.money_opt(account.available_balance)?,
            at.now.into(),
            account.id.into(),
        ],
    )
    .await?;
    let snapshot = Snapshot {
        date: at.today,
        balance: account.current_balance,
        available_balance: account.available_balance,
        currency: account.currency,
    };
    upsert_snapshot(sql, account.id, &snapshot, at.now).await
}

/// Inserts or replaces one day's snapshot of an account.
async fn upsert_snapshot(
    sql: &Sql<'_, impl ConnectionTrait>,
    account_id: Uuid,
    snapshot: &Snapshot,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), RepoError> {
    sql.exec(
        "INSERT INTO balance_snapshots (id, account_id, date, balance, available_balance, \
         currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (account_id, date) DO UPDATE SET balance = excluded.balance, \
         available_balance = excluded.available_balance, currency = excluded.currency, \
         updated_at = excluded.updated_at",
        [
            Uuid::now_v7().into(),
            account_id.into(),
            snapshot.date.into(),
            sql.money(snapshot.balance)?,
            sql.money_opt(snapshot.available_balance)?,
            snapshot.currency.as_str().into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl AccountRepository for SqlAccountRepository {
    #[tracing::instrument(skip_all, err)]
    async fn create(&self, new: NewAccount, at: WriteTime) -> Result<Account, RepoError> {
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
        let sql = txn.sql();
        sql.exec(
            "INSERT INTO accounts (id, user_id, name, type, institution_name, \
             current_balance, available_balance, currency, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            [
                account.id.into(),
                account.user_id.into(),
                account.name.clone().into(),
                account.account_type.as_str().into(),
                account.institution_name.clone().into(),
                sql.money(account.current_balance)?,
                sql.money_opt(account.available_balance)?,
                account.currency.as_str().into(),
                at.now.into(),
            ],
        )
        .await?;
        store_balance(&sql, &account, at).await?;
        txn.commit().await?;
        Ok(account)
    }

    #[tracing::instrument(skip(self), err)]
    async fn list(&self, user_id: Uuid) -> Result<Vec<Account>, RepoError> {
        self.db
            .sql()
            .all(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1 ORDER BY name, id"
                ),
                [user_id.into()],
            )
            .await?
            .iter()
            .map(rows::account)
            .collect()
    }

    #[tracing::instrument(skip(self), err)]
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Account, RepoError> {
        let row = self
            .db
            .sql()
            .one(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND user_id = $2"),
                [id.into(), user_id.into()],
            )
            .await?;
        rows::account(&row)
    }

    #[tracing::instrument(skip(self, update), err)]
    async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        update: AccountUpdate,
        at: WriteTime,
    ) -> Result<Account, RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        let before = lock_account(&sql, user_id, id).await?;
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
        sql.exec(
            "UPDATE accounts SET name = $1, institution_name = $2, updated_at = $3 WHERE id = $4",
            [
                after.name.clone().into(),
                after.institution_name.clone().into(),
                at.now.into(),
                id.into(),
            ],
        )
        .await?;
        if after.current_balance != before.current_balance
            || after.available_balance != before.available_balance
        {
            store_balance(&sql, &after, at).await?;
        }
        txn.commit().await?;
        Ok(after)
    }

    #[tracing::instrument(skip(self), err)]
    async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        lock_account(&sql, user_id, id).await?;
        let used = sql
            .opt(
                "SELECT 1 AS used FROM transactions WHERE account_id = $1 LIMIT 1",
                [id.into()],
            )
            .await?;
        if used.is_some() {
            return Err(RepoError::Conflict(Conflict::AccountHasTransactions));
        }
        sql.exec("DELETE FROM accounts WHERE id = $1", [id.into()])
            .await?;
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
        self.get(user_id, id).await?;
        upsert_snapshot(&self.db.sql(), id, &snapshot, now).await
    }

    #[tracing::instrument(skip(self), err)]
    async fn snapshots(
        &self,
        user_id: Uuid,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<Snapshot>, RepoError> {
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
            .sql()
            .all(&sql, values)
            .await?
            .iter()
            .map(|row| {
                Ok(Snapshot {
                    date: row.get("date")?,
                    balance: row.money("balance")?,
                    available_balance: row.money_opt("available_balance")?,
                    currency: row.currency("currency")?,
                })
            })
            .collect()
    }
}
