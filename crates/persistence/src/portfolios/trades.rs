//! Trades: applying one to the portfolio's item, the trade history, and holdings with the
//! realized gains of every trade.

use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::Money;
use nestegg_domain::portfolio::{self, Position};
use nestegg_ports::{NewItem, NewTrade, PortfolioHoldings, RepoError, Trade};
use sea_orm::Value;
use uuid::Uuid;

use super::items::{
    delete_item, insert_item, lock_item_of, read_item, refresh_total, store_item, visible_price,
};
use super::rows::{self, HOLDING_COLUMNS, PORTFOLIOS, TRADE_COLUMNS};
use crate::codec::Scale;
use crate::db::Db;

/// Applies a trade to the portfolio's item of the security (the domain computes the new
/// position and the realized gain) and appends it to the history.
pub(super) async fn trade(
    db: &Db,
    user_id: Uuid,
    id: Uuid,
    trade: NewTrade,
    now: DateTime<Utc>,
) -> Result<Trade, RepoError> {
    let txn = db.begin_write().await?;
    let sql = txn.sql();
    sql.locked(&PORTFOLIOS, user_id, id).await?;
    let price = visible_price(&sql, user_id, trade.investment_id).await?;
    let existing = lock_item_of(&sql, id, trade.investment_id).await?;
    let held = existing.as_ref().map(|i| Position {
        quantity: i.quantity,
        average_cost: i.average_cost,
    });
    let traded = portfolio::trade(held, trade.side, trade.quantity, trade.price, trade.fee)?;
    let (after, realized) = (traded.position, traded.realized_gain);
    let item_id = match (&existing, after) {
        (Some(i), Some(position)) => {
            store_item(&sql, i.id, position, price, i.target_allocation, now).await?;
            Some(i.id)
        }
        (Some(i), None) => {
            delete_item(&sql, i.id).await?;
            None
        }
        (None, Some(position)) => {
            let new = NewItem {
                id: Uuid::now_v7(),
                investment_id: trade.investment_id,
                position,
                target_allocation: None,
            };
            insert_item(&sql, id, &new, price, now).await?;
            Some(new.id)
        }
        (None, None) => None,
    };
    sql.exec(
        "INSERT INTO portfolio_trades (id, portfolio_id, investment_id, side, quantity, \
         price, fee, date, realized_gain, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        [
            trade.id.into(),
            id.into(),
            trade.investment_id.into(),
            trade.side.as_str().into(),
            sql.decimal(trade.quantity.value(), Scale::Fine)?,
            sql.decimal(trade.price.value(), Scale::Fine)?,
            sql.money(trade.fee)?,
            trade.date.into(),
            sql.money_opt(realized)?,
            now.into(),
        ],
    )
    .await?;
    refresh_total(&sql, id, now).await?;
    let item = match item_id {
        Some(item_id) => Some(read_item(&sql, id, item_id, None).await?),
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

/// A page of the trade history, newest first, after the `(date, id)` cursor: `limit + 1`
/// rows, so the caller can tell whether there is a next page.
pub(super) async fn trades(
    db: &Db,
    id: Uuid,
    after: Option<(NaiveDate, Uuid)>,
    limit: u32,
) -> Result<Vec<Trade>, RepoError> {
    let mut values: Vec<Value> = vec![id.into()];
    let mut query = format!("SELECT {TRADE_COLUMNS} FROM portfolio_trades WHERE portfolio_id = $1");
    if let Some((date, after_id)) = after {
        values.push(date.into());
        values.push(after_id.into());
        query.push_str(" AND (date, id) < ($2, $3)");
    }
    query.push_str(&format!(
        " ORDER BY date DESC, id DESC LIMIT {}",
        limit.max(1) + 1
    ));
    db.sql().read_all(&query, values, rows::trade).await
}

/// The portfolio, its holdings and the realized gains of all its trades, read from one
/// snapshot, so a concurrent trade cannot make the items and the realized sum disagree.
pub(super) async fn holdings(
    db: &Db,
    user_id: Uuid,
    id: Uuid,
) -> Result<PortfolioHoldings, RepoError> {
    let txn = db.begin_read().await?;
    let sql = txn.sql();
    let portfolio = sql.owned(&PORTFOLIOS, user_id, id).await?;
    let holdings = sql
        .read_all(
            &format!(
                "SELECT {HOLDING_COLUMNS} FROM portfolio_items i JOIN investments v \
                 ON v.id = i.investment_id WHERE i.portfolio_id = $1 \
                 ORDER BY i.created_at, i.id"
            ),
            [id.into()],
            rows::holding,
        )
        .await?;
    let realized = sql
        .one(
            "SELECT COALESCE(SUM(realized_gain), 0) AS realized FROM portfolio_trades \
             WHERE portfolio_id = $1",
            [id.into()],
        )
        .await?
        .decimal("realized", Scale::Money)?;
    txn.commit().await?;
    Ok(PortfolioHoldings {
        portfolio,
        holdings,
        realized_gain_loss: Money::new(realized)?,
    })
}
