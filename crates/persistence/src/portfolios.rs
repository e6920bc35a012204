//! The portfolio repository: portfolios with one default, items kept valued, and trades.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nestegg_domain::portfolio::{self, Holding, Position, Side};
use nestegg_domain::{InvestmentType, Money, Percentage, Price, Quantity, UnitCost};
use nestegg_ports::{
    Conflict, ItemUpdate, NewItem, NewPortfolio, NewTrade, Portfolio, PortfolioHoldings,
    PortfolioItem, PortfolioRepository, PortfolioUpdate, RepoError, Trade, TypeTargets,
};
use sea_orm::{ConnectionTrait, DbBackend, IsolationLevel, QueryResult, TransactionTrait};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::accounts::for_update;
use crate::codec::{self, Scale};
use crate::db::Db;
use crate::error::db_err;
use crate::rows::{self, corrupt, get};
use crate::sql::statement;

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

const PORTFOLIO_COLUMNS: &str = "id, user_id, name, description, total_value, currency, \
    is_default, target_allocation, created_at, updated_at";
const ITEM_COLUMNS: &str = "id, portfolio_id, investment_id, quantity, average_cost, \
    current_value, unrealized_gain_loss, unrealized_gain_loss_percent, target_allocation, \
    created_at, updated_at";

/// Targets as stored: `{"stock": "60"}`.
fn targets_json(t: &TypeTargets) -> Json {
    let map: Map<String, Json> = t
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                Json::String(v.value().normalize().to_string()),
            )
        })
        .collect();
    Json::Object(map)
}

fn targets_from(json: &Json) -> Result<TypeTargets, RepoError> {
    let Json::Object(map) = json else {
        return Err(corrupt("target_allocation"));
    };
    map.iter()
        .map(|(k, v)| {
            let t = InvestmentType::parse(k).map_err(|_| corrupt("target_allocation"))?;
            let p = v
                .as_str()
                .and_then(|s| nestegg_domain::decimal::parse_exact(s).ok())
                .and_then(|d| Percentage::new(d).ok())
                .ok_or_else(|| corrupt("target_allocation"))?;
            Ok((t, p))
        })
        .collect()
}

fn portfolio(b: DbBackend, row: &QueryResult) -> Result<Portfolio, RepoError> {
    Ok(Portfolio {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        currency: rows::currency(row, "currency")?,
        is_default: get(row, "is_default")?,
        target_allocation: targets_from(&get::<Json>(row, "target_allocation")?)?,
        total_value: rows::money(b, row, "total_value")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn item(b: DbBackend, row: &QueryResult) -> Result<PortfolioItem, RepoError> {
    Ok(PortfolioItem {
        id: get(row, "id")?,
        portfolio_id: get(row, "portfolio_id")?,
        investment_id: get(row, "investment_id")?,
        quantity: rows::kind(b, row, "quantity", Scale::Fine, Quantity::new)?,
        average_cost: rows::kind(b, row, "average_cost", Scale::Fine, UnitCost::new)?,
        current_value: rows::money_opt(b, row, "current_value")?,
        unrealized_gain_loss: rows::money_opt(b, row, "unrealized_gain_loss")?,
        unrealized_gain_loss_percent: codec::decode_opt(
            b,
            row,
            "unrealized_gain_loss_percent",
            Scale::Money,
        )?,
        target_allocation: rows::kind_opt(
            b,
            row,
            "target_allocation",
            Scale::Percent,
            Percentage::new,
        )?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

async fn lock_portfolio(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    user_id: Uuid,
    id: Uuid,
) -> Result<Portfolio, RepoError> {
    let sql = format!(
        "SELECT {PORTFOLIO_COLUMNS} FROM portfolios WHERE id = $1 AND user_id = $2{}",
        for_update(b)
    );
    let row = conn
        .query_one_raw(statement(b, &sql, [id.into(), user_id.into()]))
        .await
        .map_err(db_err)?
        .ok_or(RepoError::NotFound)?;
    portfolio(b, &row)
}

/// The current price of a security the user can see.
async fn visible_price(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    user_id: Uuid,
    investment_id: Uuid,
) -> Result<Option<Price>, RepoError> {
    // FOR SHARE: a price change waits for this write, or this write sees the new price.
    let sql = format!(
        "SELECT current_price FROM investments WHERE id = $1 \
         AND (owner_user_id IS NULL OR owner_user_id = $2){}",
        if b == DbBackend::Postgres {
            " FOR SHARE"
        } else {
            ""
        }
    );
    let row = conn
        .query_one_raw(statement(b, &sql, [investment_id.into(), user_id.into()]))
        .await
        .map_err(db_err)?
        .ok_or(RepoError::NotFound)?;
    rows::kind_opt(b, &row, "current_price", Scale::Fine, Price::new)
}

/// Writes an item's position and its values at `price`.
#[allow(clippy::too_many_arguments)]
async fn store_item(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    item_id: Uuid,
    position: Position,
    price: Option<Price>,
    target: Option<Percentage>,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let valuation = price.map(|p| position.value_at(p)).transpose()?;
    conn.execute_raw(statement(
        b,
        "UPDATE portfolio_items SET quantity = $1, average_cost = $2, current_value = $3, \
         unrealized_gain_loss = $4, unrealized_gain_loss_percent = $5, target_allocation = $6, \
         updated_at = $7 WHERE id = $8",
        [
            codec::encode(b, position.quantity.value(), Scale::Fine)?,
            codec::encode(b, position.average_cost.value(), Scale::Fine)?,
            codec::encode_opt(b, valuation.map(|v| v.current_value.value()), Scale::Money)?,
            codec::encode_opt(
                b,
                valuation.map(|v| v.unrealized_gain_loss.value()),
                Scale::Money,
            )?,
            codec::encode_opt(
                b,
                valuation.and_then(|v| v.unrealized_gain_loss_percent),
                Scale::Money,
            )?,
            codec::encode_opt(b, target.map(|t| t.value()), Scale::Percent)?,
            now.into(),
            item_id.into(),
        ],
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn insert_item(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    portfolio_id: Uuid,
    new: &NewItem,
    price: Option<Price>,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    conn.execute_raw(statement(
        b,
        "INSERT INTO portfolio_items (id, portfolio_id, investment_id, quantity, average_cost, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        [
            new.id.into(),
            portfolio_id.into(),
            new.investment_id.into(),
            codec::encode(b, new.position.quantity.value(), Scale::Fine)?,
            codec::encode(b, new.position.average_cost.value(), Scale::Fine)?,
            now.into(),
        ],
    ))
    .await
    .map_err(db_err)?;
    store_item(
        conn,
        b,
        new.id,
        new.position,
        price,
        new.target_allocation,
        now,
    )
    .await
}

/// Recomputes a portfolio's `total_value` from its items, range-checked by the domain (a
/// total beyond the range of money is a 422, not a database overflow).
pub(crate) async fn refresh_total(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    portfolio_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let values = conn
        .query_all_raw(statement(
            b,
            "SELECT current_value FROM portfolio_items WHERE portfolio_id = $1 \
             AND current_value IS NOT NULL",
            [portfolio_id.into()],
        ))
        .await
        .map_err(db_err)?;
    let mut total = Money::ZERO;
    for row in &values {
        total = total.checked_add(rows::money(b, row, "current_value")?)?;
    }
    conn.execute_raw(statement(
        b,
        "UPDATE portfolios SET total_value = $1, updated_at = $2 WHERE id = $3",
        [
            codec::encode(b, total.value(), Scale::Money)?,
            now.into(),
            portfolio_id.into(),
        ],
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Serializes changes to a user's default flag (PostgreSQL; SQLite's write gate already does).
async fn lock_user(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    user_id: Uuid,
) -> Result<(), RepoError> {
    if b == DbBackend::Postgres {
        conn.execute_raw(statement(
            b,
            "SELECT id FROM users WHERE id = $1 FOR UPDATE",
            [user_id.into()],
        ))
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

async fn read_item(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    portfolio_id: Uuid,
    item_id: Uuid,
    lock: bool,
) -> Result<PortfolioItem, RepoError> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM portfolio_items WHERE id = $1 AND portfolio_id = $2{}",
        if lock { for_update(b) } else { "" }
    );
    let row = conn
        .query_one_raw(statement(b, &sql, [item_id.into(), portfolio_id.into()]))
        .await
        .map_err(db_err)?
        .ok_or(RepoError::NotFound)?;
    item(b, &row)
}

fn conflict_or(e: RepoError) -> RepoError {
    match e {
        RepoError::Conflict(Conflict::Restricted) => RepoError::NotFound,
        other => other,
    }
}

#[async_trait]
impl PortfolioRepository for SqlPortfolioRepository {
    #[tracing::instrument(skip_all, err)]
    async fn create(&self, new: NewPortfolio, now: DateTime<Utc>) -> Result<Portfolio, RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        lock_user(&txn.txn, b, new.user_id).await?;
        let has_default = txn
            .txn
            .query_one_raw(statement(
                b,
                "SELECT 1 AS d FROM portfolios WHERE user_id = $1 AND is_default = $2",
                [new.user_id.into(), true.into()],
            ))
            .await
            .map_err(db_err)?
            .is_some();
        let is_default = new.is_default || !has_default;
        if is_default && has_default {
            txn.txn
                .execute_raw(statement(
                    b,
                    "UPDATE portfolios SET is_default = $1, updated_at = $2 \
                     WHERE user_id = $3 AND is_default = $4",
                    [false.into(), now.into(), new.user_id.into(), true.into()],
                ))
                .await
                .map_err(db_err)?;
        }
        txn.txn
            .execute_raw(statement(
                b,
                "INSERT INTO portfolios (id, user_id, name, description, total_value, currency, \
                 is_default, target_allocation, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                [
                    new.id.into(),
                    new.user_id.into(),
                    new.name.clone().into(),
                    new.description.clone().into(),
                    codec::encode(b, Money::ZERO.value(), Scale::Money)?,
                    new.currency.as_str().into(),
                    is_default.into(),
                    targets_json(&new.target_allocation).into(),
                    now.into(),
                ],
            ))
            .await
            .map_err(db_err)?;
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

    #[tracing::instrument(skip(self), err)]
    async fn list(&self, user_id: Uuid) -> Result<Vec<Portfolio>, RepoError> {
        let b = self.db.backend();
        let sql = format!(
            "SELECT {PORTFOLIO_COLUMNS} FROM portfolios WHERE user_id = $1 \
             ORDER BY is_default DESC, name, id"
        );
        self.db
            .conn()
            .query_all_raw(statement(b, &sql, [user_id.into()]))
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| portfolio(b, r))
            .collect()
    }

    #[tracing::instrument(skip(self), err)]
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Portfolio, RepoError> {
        let b = self.db.backend();
        let sql =
            format!("SELECT {PORTFOLIO_COLUMNS} FROM portfolios WHERE id = $1 AND user_id = $2");
        let row = self
            .db
            .conn()
            .query_one_raw(statement(b, &sql, [id.into(), user_id.into()]))
            .await
            .map_err(db_err)?
            .ok_or(RepoError::NotFound)?;
        portfolio(b, &row)
    }

    #[tracing::instrument(skip(self, update), err)]
    async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        update: PortfolioUpdate,
        now: DateTime<Utc>,
    ) -> Result<Portfolio, RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        lock_user(&txn.txn, b, user_id).await?;
        let mut p = lock_portfolio(&txn.txn, b, user_id, id).await?;
        if let Some(name) = update.name {
            p.name = name;
        }
        if let Some(description) = update.description {
            p.description = description;
        }
        if let Some(targets) = update.target_allocation {
            p.target_allocation = targets;
        }
        if update.make_default && !p.is_default {
            txn.txn
                .execute_raw(statement(
                    b,
                    "UPDATE portfolios SET is_default = $1, updated_at = $2 \
                     WHERE user_id = $3 AND is_default = $4",
                    [false.into(), now.into(), user_id.into(), true.into()],
                ))
                .await
                .map_err(db_err)?;
            p.is_default = true;
        }
        p.updated_at = now;
        txn.txn
            .execute_raw(statement(
                b,
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
            ))
            .await
            .map_err(db_err)?;
        txn.commit().await?;
        Ok(p)
    }

    #[tracing::instrument(skip(self), err)]
    async fn delete(&self, user_id: Uuid, id: Uuid, now: DateTime<Utc>) -> Result<(), RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        lock_user(&txn.txn, b, user_id).await?;
        let p = lock_portfolio(&txn.txn, b, user_id, id).await?;
        for sql in [
            "DELETE FROM portfolio_trades WHERE portfolio_id = $1",
            "DELETE FROM portfolio_items WHERE portfolio_id = $1",
            "DELETE FROM portfolios WHERE id = $1",
        ] {
            txn.txn
                .execute_raw(statement(b, sql, [id.into()]))
                .await
                .map_err(db_err)?;
        }
        if p.is_default {
            // Promote the oldest remaining portfolio, if any.
            txn.txn
                .execute_raw(statement(
                    b,
                    "UPDATE portfolios SET is_default = $1, updated_at = $2 WHERE id = \
                     (SELECT id FROM portfolios WHERE user_id = $3 ORDER BY created_at, id LIMIT 1)",
                    [true.into(), now.into(), user_id.into()],
                ))
                .await
                .map_err(db_err)?;
        }
        txn.commit().await
    }

    #[tracing::instrument(skip(self), err)]
    async fn items(&self, user_id: Uuid, id: Uuid) -> Result<Vec<PortfolioItem>, RepoError> {
        let b = self.db.backend();
        self.get(user_id, id).await?;
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM portfolio_items WHERE portfolio_id = $1 ORDER BY created_at, id"
        );
        self.db
            .conn()
            .query_all_raw(statement(b, &sql, [id.into()]))
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| item(b, r))
            .collect()
    }

    #[tracing::instrument(skip(self, new), err)]
    async fn add_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        new: NewItem,
        now: DateTime<Utc>,
    ) -> Result<PortfolioItem, RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        lock_portfolio(&txn.txn, b, user_id, id).await?;
        let price = visible_price(&txn.txn, b, user_id, new.investment_id).await?;
        insert_item(&txn.txn, b, id, &new, price, now)
            .await
            .map_err(conflict_or)?;
        refresh_total(&txn.txn, b, id, now).await?;
        let stored = read_item(&txn.txn, b, id, new.id, false).await?;
        txn.commit().await?;
        Ok(stored)
    }

    #[tracing::instrument(skip(self, update), err)]
    async fn update_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        item_id: Uuid,
        update: ItemUpdate,
        now: DateTime<Utc>,
    ) -> Result<PortfolioItem, RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        lock_portfolio(&txn.txn, b, user_id, id).await?;
        let current = read_item(&txn.txn, b, id, item_id, true).await?;
        let position = Position {
            quantity: update.quantity.unwrap_or(current.quantity),
            average_cost: update.average_cost.unwrap_or(current.average_cost),
        };
        let target = update
            .target_allocation
            .unwrap_or(current.target_allocation);
        let price = visible_price(&txn.txn, b, user_id, current.investment_id).await?;
        store_item(&txn.txn, b, item_id, position, price, target, now).await?;
        refresh_total(&txn.txn, b, id, now).await?;
        let stored = read_item(&txn.txn, b, id, item_id, false).await?;
        txn.commit().await?;
        Ok(stored)
    }

    #[tracing::instrument(skip(self), err)]
    async fn delete_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        item_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        lock_portfolio(&txn.txn, b, user_id, id).await?;
        read_item(&txn.txn, b, id, item_id, true).await?;
        txn.txn
            .execute_raw(statement(
                b,
                "DELETE FROM portfolio_items WHERE id = $1",
                [item_id.into()],
            ))
            .await
            .map_err(db_err)?;
        refresh_total(&txn.txn, b, id, now).await?;
        txn.commit().await
    }

    #[tracing::instrument(skip(self, trade), err)]
    async fn trade(
        &self,
        user_id: Uuid,
        id: Uuid,
        trade: NewTrade,
        now: DateTime<Utc>,
    ) -> Result<Trade, RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        lock_portfolio(&txn.txn, b, user_id, id).await?;
        let price = visible_price(&txn.txn, b, user_id, trade.investment_id).await?;
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM portfolio_items WHERE portfolio_id = $1 \
             AND investment_id = $2{}",
            for_update(b)
        );
        let existing = txn
            .txn
            .query_one_raw(statement(b, &sql, [id.into(), trade.investment_id.into()]))
            .await
            .map_err(db_err)?
            .map(|r| item(b, &r))
            .transpose()?;
        let held = existing.as_ref().map(|i| Position {
            quantity: i.quantity,
            average_cost: i.average_cost,
        });
        let traded = portfolio::trade(held, trade.side, trade.quantity, trade.price, trade.fee)?;
        let (after, realized) = (traded.position, traded.realized_gain);
        let item_id = match (&existing, after) {
            (Some(i), Some(position)) => {
                store_item(&txn.txn, b, i.id, position, price, i.target_allocation, now).await?;
                Some(i.id)
            }
            (Some(i), None) => {
                txn.txn
                    .execute_raw(statement(
                        b,
                        "DELETE FROM portfolio_items WHERE id = $1",
                        [i.id.into()],
                    ))
                    .await
                    .map_err(db_err)?;
                None
            }
            (None, Some(position)) => {
                let new = NewItem {
                    id: Uuid::now_v7(),
                    investment_id: trade.investment_id,
                    position,
                    target_allocation: None,
                };
                insert_item(&txn.txn, b, id, &new, price, now).await?;
                Some(new.id)
            }
            (None, None) => None,
        };
        txn.txn
            .execute_raw(statement(
                b,
                "INSERT INTO portfolio_trades (id, portfolio_id, investment_id, side, quantity, \
                 price, fee, date, realized_gain, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
                [
                    trade.id.into(),
                    id.into(),
                    trade.investment_id.into(),
                    trade.side.as_str().into(),
                    codec::encode(b, trade.quantity.value(), Scale::Fine)?,
                    codec::encode(b, trade.price.value(), Scale::Fine)?,
                    codec::encode(b, trade.fee.value(), Scale::Money)?,
                    trade.date.into(),
                    codec::encode_opt(b, realized.map(|m| m.value()), Scale::Money)?,
                    now.into(),
                ],
            ))
            .await
            .map_err(db_err)?;
        refresh_total(&txn.txn, b, id, now).await?;
        let item = match item_id {
            Some(item_id) => Some(read_item(&txn.txn, b, id, item_id, false).await?),
            None => None,
        };
        txn.commit().await?;
        Ok(Trade {
            id: trade.id,
            investment_id: trade.investment_id,
            side: trade.side,
            quantity: trade.quantity,
            price: trade.price,
            fee: trade.fee,
            date: trade.date,
            realized_gain: realized,
            item,
        })
    }

    #[tracing::instrument(skip(self), err)]
    async fn trades(
        &self,
        user_id: Uuid,
        id: Uuid,
        after: Option<(chrono::NaiveDate, Uuid)>,
        limit: u32,
    ) -> Result<Vec<Trade>, RepoError> {
        let b = self.db.backend();
        self.get(user_id, id).await?;
        let mut values: Vec<sea_orm::Value> = vec![id.into()];
        let mut sql = String::from(
            "SELECT id, investment_id, side, quantity, price, fee, date, realized_gain \
             FROM portfolio_trades WHERE portfolio_id = $1",
        );
        if let Some((date, after_id)) = after {
            values.push(date.into());
            values.push(after_id.into());
            sql.push_str(" AND (date, id) < ($2, $3)");
        }
        sql.push_str(&format!(
            " ORDER BY date DESC, id DESC LIMIT {}",
            limit.max(1) + 1
        ));
        self.db
            .conn()
            .query_all_raw(statement(b, &sql, values))
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok(Trade {
                    id: get(row, "id")?,
                    investment_id: get(row, "investment_id")?,
                    side: Side::parse(&get::<String>(row, "side")?).map_err(|_| corrupt("side"))?,
                    quantity: rows::kind(b, row, "quantity", Scale::Fine, Quantity::new)?,
                    price: rows::kind(b, row, "price", Scale::Fine, Price::new)?,
                    fee: rows::money(b, row, "fee")?,
                    date: get(row, "date")?,
                    realized_gain: rows::money_opt(b, row, "realized_gain")?,
                    item: None,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip(self), err)]
    async fn holdings(&self, user_id: Uuid, id: Uuid) -> Result<PortfolioHoldings, RepoError> {
        let b = self.db.backend();
        // One snapshot, so a concurrent trade cannot make the items and the realized sum
        // disagree (REPEATABLE READ on PostgreSQL; SQLite reads are snapshots already).
        let txn = self
            .db
            .conn()
            .begin_with_config(
                (b == DbBackend::Postgres).then_some(IsolationLevel::RepeatableRead),
                None,
            )
            .await
            .map_err(db_err)?;
        let sql =
            format!("SELECT {PORTFOLIO_COLUMNS} FROM portfolios WHERE id = $1 AND user_id = $2");
        let found = txn
            .query_one_raw(statement(b, &sql, [id.into(), user_id.into()]))
            .await
            .map_err(db_err)?
            .ok_or(RepoError::NotFound)?;
        let portfolio = portfolio(b, &found)?;
        let rows = txn
            .query_all_raw(statement(
                b,
                "SELECT i.id AS item_id, i.investment_id, i.quantity, i.average_cost, \
                 i.target_allocation, v.symbol, v.name, v.type, v.sector, v.country, \
                 v.current_price FROM portfolio_items i JOIN investments v \
                 ON v.id = i.investment_id WHERE i.portfolio_id = $1 ORDER BY i.created_at, i.id",
                [id.into()],
            ))
            .await
            .map_err(db_err)?;
        let holdings = rows
            .iter()
            .map(|row| {
                let holding = Holding {
                    item_id: get(row, "item_id")?,
                    investment_id: get(row, "investment_id")?,
                    symbol: get(row, "symbol")?,
                    investment_type: InvestmentType::parse(&get::<String>(row, "type")?)
                        .map_err(|_| corrupt("type"))?,
                    sector: get(row, "sector")?,
                    country: get(row, "country")?,
                    position: Position {
                        quantity: rows::kind(b, row, "quantity", Scale::Fine, Quantity::new)?,
                        average_cost: rows::kind(
                            b,
                            row,
                            "average_cost",
                            Scale::Fine,
                            UnitCost::new,
                        )?,
                    },
                    price: rows::kind_opt(b, row, "current_price", Scale::Fine, Price::new)?,
                    target_percent: rows::kind_opt(
                        b,
                        row,
                        "target_allocation",
                        Scale::Percent,
                        Percentage::new,
                    )?,
                };
                Ok((holding, get::<String>(row, "name")?))
            })
            .collect::<Result<Vec<_>, RepoError>>()?;
        let row = txn
            .query_one_raw(statement(
                b,
                "SELECT COALESCE(SUM(realized_gain), 0) AS realized FROM portfolio_trades \
                 WHERE portfolio_id = $1",
                [id.into()],
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| corrupt("realized gains"))?;
        txn.commit().await.map_err(db_err)?;
        Ok(PortfolioHoldings {
            portfolio,
            holdings,
            realized_gain_loss: Money::new(codec::decode(b, &row, "realized", Scale::Money)?)?,
        })
    }
}
