//! The account repository: accounts with their opening balance, reconciliations as dated
//! adjustments, and the balance points that every write keeps right (see [`crate::ledger`]).

use async_trait::async_trait;
use chrono::NaiveDate;
use nestegg_domain::ledger;
use nestegg_ports::{
    Account, AccountRepository, AccountUpdate, Adjustment, Conflict, NewAccount, RepoError,
    Snapshot, WriteTime,
};
use uuid::Uuid;

use crate::db::Db;
use crate::ledger as points;
use crate::replace_if_some;
use crate::rows::{self, ACCOUNTS};

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

#[async_trait]
impl AccountRepository for SqlAccountRepository {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create(&self, new: NewAccount, at: WriteTime) -> Result<Account, RepoError> {
        new.account_type.check_balance(new.current_balance)?;
        let opened_on = new.opened_on.unwrap_or(at.today);
        let account = Account {
            id: new.id,
            user_id: new.user_id,
            name: new.name.as_str().to_owned(),
            account_type: new.account_type,
            institution_name: new.institution_name,
            current_balance: new.current_balance,
            opening_balance: new.current_balance,
            opened_on,
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
             current_balance, opening_balance, opened_on, available_balance, currency, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $10)",
            [
                account.id.into(),
                account.user_id.into(),
                account.name.clone().into(),
                account.account_type.as_str().into(),
                account.institution_name.clone().into(),
                sql.money(account.current_balance)?,
                opened_on.into(),
                sql.money_opt(account.available_balance)?,
                account.currency.as_str().into(),
                at.now.into(),
            ],
        )
        .await?;
        // The opening point: the history starts here, even at 0.
        sql.exec(
            "INSERT INTO balance_snapshots (id, account_id, date, balance, available_balance, \
             currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            [
                Uuid::now_v7().into(),
                account.id.into(),
                opened_on.into(),
                sql.money(account.opening_balance)?,
                sql.money_opt(account.available_balance)?,
                account.currency.as_str().into(),
                at.now.into(),
            ],
        )
        .await?;
        txn.commit().await?;
        Ok(account)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn list(&self, user_id: Uuid) -> Result<Vec<Account>, RepoError> {
        self.db
            .sql()
            .all_owned(&ACCOUNTS, user_id, "name, id")
            .await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Account, RepoError> {
        self.db.sql().owned(&ACCOUNTS, user_id, id).await
    }

    #[tracing::instrument(skip(self, update), err(level = "debug"))]
    async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        update: AccountUpdate,
        at: WriteTime,
    ) -> Result<Account, RepoError> {
        self.db
            .retrying(|| async {
                let update = update.clone();
                let txn = self.db.begin_write().await?;
                let sql = txn.sql();
                let mut account = sql.locked(&ACCOUNTS, user_id, id).await?;
                let name = update.name.map(|n| n.as_str().to_owned());
                replace_if_some(&mut account.name, name);
                replace_if_some(&mut account.institution_name, update.institution_name);
                account.updated_at = at.now;
                sql.exec(
            "UPDATE accounts SET name = $1, institution_name = $2, updated_at = $3 WHERE id = $4",
            [
                account.name.clone().into(),
                account.institution_name.clone().into(),
                at.now.into(),
                id.into(),
            ],
        )
        .await?;
                if let Some(opened_on) = update.opened_on {
                    let first = points::first_entry(&sql, id).await?;
                    ledger::check_opening(opened_on, first, at.today)?;
                    points::move_opening(&sql, &mut account, opened_on, at.now).await?;
                }
                if let Some(stated) = update.current_balance {
                    if account.is_manual() {
                        account.account_type.check_balance(stated)?;
                    }
                    let as_of = ledger::check_as_of(
                        update.as_of.unwrap_or(at.today),
                        account.opened_on,
                        at.today,
                    )?;
                    points::reconcile(&sql, &mut account, as_of, stated, at.now).await?;
                }
                if let Some(available) = update.available_balance {
                    points::set_available(&sql, &mut account, available, at.today, at.now).await?;
                }
                txn.commit().await?;
                Ok(account)
            })
            .await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        sql.locked(&ACCOUNTS, user_id, id).await?;
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

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn adjustments(&self, user_id: Uuid, id: Uuid) -> Result<Vec<Adjustment>, RepoError> {
        self.get(user_id, id).await?;
        self.db
            .sql()
            .read_all(
                "SELECT id, account_id, date, amount, balance, created_at \
                 FROM balance_adjustments WHERE account_id = $1 ORDER BY date, created_at, id",
                [id.into()],
                rows::adjustment,
            )
            .await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn snapshots(
        &self,
        user_id: Uuid,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<Snapshot>, RepoError> {
        self.get(user_id, id).await?;
        self.db
            .sql()
            .all_dated(
                "SELECT date, balance, available_balance, currency FROM balance_snapshots \
                 WHERE account_id = $1",
                id,
                from,
                to,
                rows::snapshot,
            )
            .await
    }
}
