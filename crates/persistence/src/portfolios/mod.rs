//! The portfolio repository: portfolios with one default, items kept valued, and trades.

mod items;
pub(crate) mod rows;
mod trades;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::Money;
use nestegg_domain::portfolio::Position;
use nestegg_ports::{
    Conflict, ItemUpdate, NewItem, NewPortfolio, NewTrade, Portfolio, PortfolioHoldings,
    PortfolioItem, PortfolioRepository, PortfolioUpdate, RepoError, Trade,
};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use items::{delete_item, insert_item, read_item, store_item, visible_price};
pub(crate) use items::{refresh_total, write_item};
use rows::{ITEM_COLUMNS, PORTFOLIOS, targets_json};

use crate::db::{Db, WriteTxn};
use crate::replace_if_some;
use crate::sql::{Lock, Sql};

/// Portfolios in the SQL database.
#[derive(Debug, Clone)]
pub struct SqlPortfolioRepository {
    db: Db,
}

impl SqlPortfolioRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Ends a write to the portfolio `id`'s item `item_id`: revalues the portfolio, reads the item
/// as stored and commits.
async fn item_written(
    txn: WriteTxn<'_>,
    id: Uuid,
    item_id: Uuid,
    now: DateTime<Utc>,
) -> Result<PortfolioItem, RepoError> {
    let sql = txn.sql();
    refresh_total(&sql, id, now).await?;
    let stored = read_item(&sql, id, item_id, None).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Serializes changes to a user's default flag (PostgreSQL; SQLite's write gate already does).
async fn lock_user(sql: &Sql<'_, impl ConnectionTrait>, user_id: Uuid) -> Result<(), RepoError> {
    sql.lock(
        Lock::Update,
        "SELECT id FROM users WHERE id = $1",
        [user_id.into()],
    )
    .await
}

/// Clears the user's default flag, for another portfolio to take it.
async fn clear_default(
    sql: &Sql<'_, impl ConnectionTrait>,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    sql.exec(
        "UPDATE portfolios SET is_default = $1, updated_at = $2 \
         WHERE user_id = $3 AND is_default = $4",
        [false.into(), now.into(), user_id.into(), true.into()],
    )
    .await?;
    Ok(())
}

/// Stores a new portfolio, keeping the rule that exactly one of a user's portfolios is the
/// default: the first one is, whatever it asked, and one that asks takes the flag over.
/// Whether it is the default.
pub(crate) async fn insert(
    sql: &Sql<'_, impl ConnectionTrait>,
    new: &NewPortfolio,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    lock_user(sql, new.user_id).await?;
    let has_default = sql
        .opt(
            "SELECT 1 AS d FROM portfolios WHERE user_id = $1 AND is_default = $2",
            [new.user_id.into(), true.into()],
        )
        .await?
        .is_some();
    let is_default = new.is_default || !has_default;
    if is_default && has_default {
        clear_default(sql, new.user_id, now).await?;
    }
    sql.exec(
        "INSERT INTO portfolios (id, user_id, name, description, total_value, currency, \
         is_default, target_allocation, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        [
            new.id.into(),
            new.user_id.into(),
            new.name.clone().into(),
            new.description.clone().into(),
            sql.money(Money::ZERO)?,
            new.currency.as_str().into(),
            is_default.into(),
            targets_json(&new.target_allocation).into(),
            now.into(),
        ],
    )
    .await?;
    Ok(is_default)
}

/// A security that is gone or not the user's to see is a 404, not a conflict.
fn conflict_or(e: RepoError) -> RepoError {
    match e {
        RepoError::Conflict(Conflict::Restricted) => RepoError::NotFound,
        other => other,
    }
}

#[async_trait]
impl PortfolioRepository for SqlPortfolioRepository {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create(&self, new: NewPortfolio, now: DateTime<Utc>) -> Result<Portfolio, RepoError> {
        let txn = self.db.begin_write().await?;
        let is_default = insert(&txn.sql(), &new, now).await?;
        txn.commit().await?;
        Ok(Portfolio {
            id: new.id,
            user_id: new.user_id,
            name: new.name,
            description: new.description,
            currency: new.currency,
            is_default,
            target_allocation: new.target_allocation,
            total_value: Money::ZERO,
            created_at: now,
            updated_at: now,
        })
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn list(&self, user_id: Uuid) -> Result<Vec<Portfolio>, RepoError> {
        self.db
            .sql()
            .all_owned(&PORTFOLIOS, user_id, "is_default DESC, name, id")
            .await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Portfolio, RepoError> {
        self.db.sql().owned(&PORTFOLIOS, user_id, id).await
    }

    #[tracing::instrument(skip(self, update), err(level = "debug"))]
    async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        update: PortfolioUpdate,
        now: DateTime<Utc>,
    ) -> Result<Portfolio, RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        lock_user(&sql, user_id).await?;
        let mut p = sql.locked(&PORTFOLIOS, user_id, id).await?;
        replace_if_some(&mut p.name, update.name);
        replace_if_some(&mut p.description, update.description);
        replace_if_some(&mut p.target_allocation, update.target_allocation);
        if update.make_default && !p.is_default {
            clear_default(&sql, user_id, now).await?;
            p.is_default = true;
        }
        p.updated_at = now;
        sql.exec(
            "UPDATE portfolios SET name = $1, description = $2, target_allocation = $3, \
             is_default = $4, updated_at = $5 WHERE id = $6",
            [
                p.name.clone().into(),
                p.description.clone().into(),
                targets_json(&p.target_allocation).into(),
                p.is_default.into(),
                now.into(),
                id.into(),
            ],
        )
        .await?;
        txn.commit().await?;
        Ok(p)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn delete(&self, user_id: Uuid, id: Uuid, now: DateTime<Utc>) -> Result<(), RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        lock_user(&sql, user_id).await?;
        let p = sql.locked(&PORTFOLIOS, user_id, id).await?;
        for statement in [
            "DELETE FROM portfolio_trades WHERE portfolio_id = $1",
            "DELETE FROM portfolio_items WHERE portfolio_id = $1",
            "DELETE FROM portfolios WHERE id = $1",
        ] {
            sql.exec(statement, [id.into()]).await?;
        }
        if p.is_default {
            // Promote the oldest remaining portfolio, if any.
            sql.exec(
                "UPDATE portfolios SET is_default = $1, updated_at = $2 WHERE id = \
                 (SELECT id FROM portfolios WHERE user_id = $3 ORDER BY created_at, id LIMIT 1)",
                [true.into(), now.into(), user_id.into()],
            )
            .await?;
        }
        txn.commit().await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn items(&self, user_id: Uuid, id: Uuid) -> Result<Vec<PortfolioItem>, RepoError> {
        self.get(user_id, id).await?;
        self.db
            .sql()
            .read_all(
                &format!(
                    "SELECT {ITEM_COLUMNS} FROM portfolio_items WHERE portfolio_id = $1 \
                     ORDER BY created_at, id"
                ),
                [id.into()],
                rows::item,
            )
            .await
    }

    #[tracing::instrument(skip(self, new), err(level = "debug"))]
    async fn add_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        new: NewItem,
        now: DateTime<Utc>,
    ) -> Result<PortfolioItem, RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        sql.locked(&PORTFOLIOS, user_id, id).await?;
        let price = visible_price(&sql, user_id, new.investment_id).await?;
        insert_item(&sql, id, &new, price, now)
            .await
            .map_err(conflict_or)?;
        item_written(txn, id, new.id, now).await
    }

    #[tracing::instrument(skip(self, update), err(level = "debug"))]
    async fn update_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        item_id: Uuid,
        update: ItemUpdate,
        now: DateTime<Utc>,
    ) -> Result<PortfolioItem, RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        sql.locked(&PORTFOLIOS, user_id, id).await?;
        let current = read_item(&sql, id, item_id, Some(Lock::Update)).await?;
        let position = Position {
            quantity: update.quantity.unwrap_or(current.quantity),
            average_cost: update.average_cost.unwrap_or(current.average_cost),
        };
        let target = update
            .target_allocation
            .unwrap_or(current.target_allocation);
        let price = visible_price(&sql, user_id, current.investment_id).await?;
        store_item(&sql, item_id, position, price, target, now).await?;
        item_written(txn, id, item_id, now).await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn delete_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        item_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        sql.locked(&PORTFOLIOS, user_id, id).await?;
        read_item(&sql, id, item_id, Some(Lock::Update)).await?;
        delete_item(&sql, item_id).await?;
        refresh_total(&sql, id, now).await?;
        txn.commit().await
    }

    #[tracing::instrument(skip(self, trade), err(level = "debug"))]
    async fn trade(
        &self,
        user_id: Uuid,
        id: Uuid,
        trade: NewTrade,
        now: DateTime<Utc>,
    ) -> Result<Trade, RepoError> {
        self.db
            .retrying(|| trades::trade(&self.db, user_id, id, trade.clone(), now))
            .await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn trades(
        &self,
        user_id: Uuid,
        id: Uuid,
        after: Option<(NaiveDate, Uuid)>,
        limit: u32,
    ) -> Result<Vec<Trade>, RepoError> {
        self.get(user_id, id).await?;
        trades::trades(&self.db, id, after, limit).await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn holdings(&self, user_id: Uuid, id: Uuid) -> Result<PortfolioHoldings, RepoError> {
        trades::holdings(&self.db, user_id, id).await
    }
}
