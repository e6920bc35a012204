//! Portfolio items: reading, inserting and storing them valued at their security's price,
//! and keeping the portfolio's total in step.

use chrono::{DateTime, Utc};
use nestegg_domain::portfolio::Position;
use nestegg_domain::{Money, Percentage, Price};
use nestegg_ports::{NewItem, PortfolioItem, RepoError};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::rows::{self, ITEM_COLUMNS};
use crate::codec::Scale;
use crate::sql::{Lock, Sql};

/// The current price of a security the user can see.
pub(super) async fn visible_price(
    sql: &Sql<'_, impl ConnectionTrait>,
    user_id: Uuid,
    investment_id: Uuid,
) -> Result<Option<Price>, RepoError> {
    // FOR SHARE: a price change waits for this write, or this write sees the new price.
    let row = sql
        .one_locked(
            Some(Lock::Share),
            "SELECT current_price FROM investments WHERE id = $1 \
             AND (owner_user_id IS NULL OR owner_user_id = $2)",
            [investment_id.into(), user_id.into()],
        )
        .await?;
    row.kind_opt("current_price", Scale::Fine, Price::new)
}

/// One item of a portfolio, locked with `lock` when given.
pub(super) async fn read_item(
    sql: &Sql<'_, impl ConnectionTrait>,
    portfolio_id: Uuid,
    item_id: Uuid,
    lock: Option<Lock>,
) -> Result<PortfolioItem, RepoError> {
    let query =
        format!("SELECT {ITEM_COLUMNS} FROM portfolio_items WHERE id = $1 AND portfolio_id = $2");
    let row = sql
        .one_locked(lock, &query, [item_id.into(), portfolio_id.into()])
        .await?;
    rows::item(&row)
}

/// The portfolio's item holding a security, if any, locked for the trade about to change it.
pub(super) async fn lock_item_of(
    sql: &Sql<'_, impl ConnectionTrait>,
    portfolio_id: Uuid,
    investment_id: Uuid,
) -> Result<Option<PortfolioItem>, RepoError> {
    sql.opt_locked(
        Some(Lock::Update),
        &format!(
            "SELECT {ITEM_COLUMNS} FROM portfolio_items WHERE portfolio_id = $1 \
             AND investment_id = $2"
        ),
        [portfolio_id.into(), investment_id.into()],
    )
    .await?
    .map(|row| rows::item(&row))
    .transpose()
}

/// Writes an item's position and its values at `price`.
pub(super) async fn store_item(
    sql: &Sql<'_, impl ConnectionTrait>,
    item_id: Uuid,
    position: Position,
    price: Option<Price>,
    target: Option<Percentage>,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let valuation = price.map(|p| position.value_at(p)).transpose()?;
    sql.exec(
        "UPDATE portfolio_items SET quantity = $1, average_cost = $2, current_value = $3, \
         unrealized_gain_loss = $4, unrealized_gain_loss_percent = $5, target_allocation = $6, \
         updated_at = $7 WHERE id = $8",
        [
            sql.decimal(position.quantity.value(), Scale::Fine)?,
            sql.decimal(position.average_cost.value(), Scale::Fine)?,
            sql.money_opt(valuation.map(|v| v.current_value))?,
            sql.money_opt(valuation.map(|v| v.unrealized_gain_loss))?,
            sql.decimal_opt(
                valuation.and_then(|v| v.unrealized_gain_loss_percent),
                Scale::Money,
            )?,
            sql.decimal_opt(target.map(|t| t.value()), Scale::Percent)?,
            now.into(),
            item_id.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Inserts an item, then stores its values at `price`.
pub(super) async fn insert_item(
    sql: &Sql<'_, impl ConnectionTrait>,
    portfolio_id: Uuid,
    new: &NewItem,
    price: Option<Price>,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    sql.exec(
        "INSERT INTO portfolio_items (id, portfolio_id, investment_id, quantity, average_cost, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        [
            new.id.into(),
            portfolio_id.into(),
            new.investment_id.into(),
            sql.decimal(new.position.quantity.value(), Scale::Fine)?,
            sql.decimal(new.position.average_cost.value(), Scale::Fine)?,
            now.into(),
        ],
    )
    .await?;
    store_item(sql, new.id, new.position, price, new.target_allocation, now).await
}

/// Holds `position` of a security in a portfolio, valued at `price`: the item is created, or
/// its position replaced (its target weight kept).
pub(crate) async fn write_item(
    sql: &Sql<'_, impl ConnectionTrait>,
    portfolio_id: Uuid,
    investment_id: Uuid,
    position: Position,
    price: Price,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    match lock_item_of(sql, portfolio_id, investment_id).await? {
        Some(item) => {
            store_item(
                sql,
                item.id,
                position,
                Some(price),
                item.target_allocation,
                now,
            )
            .await
        }
        None => {
            let new = NewItem {
                id: Uuid::now_v7(),
                investment_id,
                position,
                target_allocation: None,
            };
            insert_item(sql, portfolio_id, &new, Some(price), now).await
        }
    }
}

/// Deletes an item.
pub(super) async fn delete_item(
    sql: &Sql<'_, impl ConnectionTrait>,
    item_id: Uuid,
) -> Result<(), RepoError> {
    sql.exec(
        "DELETE FROM portfolio_items WHERE id = $1",
        [item_id.into()],
    )
    .await?;
    Ok(())
}

/// Recomputes a portfolio's `total_value` from its items, range-checked by the domain (a
/// total beyond the range of money is a 422, not a database overflow).
pub(crate) async fn refresh_total(
    sql: &Sql<'_, impl ConnectionTrait>,
    portfolio_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let values = sql
        .all(
            "SELECT current_value FROM portfolio_items WHERE portfolio_id = $1 \
             AND current_value IS NOT NULL",
            [portfolio_id.into()],
        )
        .await?;
    let mut total = Money::ZERO;
    for row in &values {
        total = total.checked_add(row.money("current_value")?)?;
    }
    sql.exec(
        "UPDATE portfolios SET total_value = $1, updated_at = $2 WHERE id = $3",
        [sql.money(total)?, now.into(), portfolio_id.into()],
    )
    .await?;
    Ok(())
}
