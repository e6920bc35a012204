//! Holdings from a bank sync: securities matched or created, their prices kept as history, and
//! one item per security in the user's "Plaid" portfolio, all in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use nestegg_domain::CurrencyCode;
use nestegg_ports::{
    HoldingsBatch, NewPortfolio, RepoError, SyncedSecurity, TypeTargets, WriteTime,
};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::investments::record_price;
use crate::portfolios::{insert, refresh_total, write_item};
use crate::sql::{Lock, Sql};

/// The name of the portfolio a sync keeps the holdings in.
pub(crate) const PORTFOLIO: &str = "Plaid";

pub(crate) async fn apply(
    sql: &Sql<'_, impl ConnectionTrait>,
    batch: &HoldingsBatch,
    at: WriteTime,
) -> Result<usize, RepoError> {
    let portfolio = plaid_portfolio(sql, batch.user_id, at.now).await?;
    let mut securities: HashMap<&str, Uuid> = HashMap::new();
    for security in &batch.securities {
        let id = security_id(sql, security, at.now).await?;
        securities.insert(security.plaid_security_id.as_str(), id);
    }
    let mut held = Vec::new();
    for holding in &batch.holdings {
        let Some(investment) = securities.get(holding.plaid_security_id.as_str()).copied() else {
            continue;
        };
        let latest = sql
            .one(
                "SELECT price_date FROM investments WHERE id = $1",
                [investment.into()],
            )
            .await?
            .get("price_date")?;
        record_price(
            sql,
            investment,
            holding.price,
            holding.price_date,
            latest,
            at.now,
        )
        .await?;
        write_item(
            sql,
            portfolio,
            investment,
            holding.position,
            holding.price,
            at.now,
        )
        .await?;
        held.push(investment);
    }
    // What is no longer held leaves the portfolio.
    let stored = sql
        .all(
            "SELECT id, investment_id FROM portfolio_items WHERE portfolio_id = $1",
            [portfolio.into()],
        )
        .await?;
    for row in &stored {
        let investment: Uuid = row.get("investment_id")?;
        if !held.contains(&investment) {
            let item: Uuid = row.get("id")?;
            sql.exec("DELETE FROM portfolio_items WHERE id = $1", [item.into()])
                .await?;
        }
    }
    refresh_total(sql, portfolio, at.now).await?;
    Ok(held.len())
}

/// The user's "Plaid" portfolio, created when missing (the default only if it is the user's
/// first).
async fn plaid_portfolio(
    sql: &Sql<'_, impl ConnectionTrait>,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, RepoError> {
    if let Some(row) = sql
        .opt_locked(
            Some(Lock::Update),
            "SELECT id FROM portfolios WHERE user_id = $1 AND name = $2 ORDER BY id LIMIT 1",
            [user_id.into(), PORTFOLIO.into()],
        )
        .await?
    {
        return row.get("id");
    }
    let new = NewPortfolio {
        id: Uuid::now_v7(),
        user_id,
        name: PORTFOLIO.to_owned(),
        description: Some("Holdings synced from linked institutions".to_owned()),
        currency: CurrencyCode::USD,
        is_default: false,
        target_allocation: TypeTargets::default(),
    };
    // Through the portfolios' own insert, so a user's first portfolio is the default here too.
    insert(sql, &new, now).await?;
    Ok(new.id)
}

/// The security's id: found by Plaid security id, else a shared one with its ticker (which
/// then remembers the Plaid id), else a new shared security.
async fn security_id(
    sql: &Sql<'_, impl ConnectionTrait>,
    security: &SyncedSecurity,
    now: DateTime<Utc>,
) -> Result<Uuid, RepoError> {
    if let Some(row) = sql
        .opt(
            "SELECT id FROM investments WHERE plaid_security_id = $1",
            [security.plaid_security_id.clone().into()],
        )
        .await?
    {
        return row.get("id");
    }
    if let Some(row) = sql
        .opt(
            "SELECT id FROM investments WHERE owner_user_id IS NULL AND symbol = $1 \
             AND plaid_security_id IS NULL ORDER BY id LIMIT 1",
            [security.symbol.as_str().into()],
        )
        .await?
    {
        let id: Uuid = row.get("id")?;
        sql.exec(
            "UPDATE investments SET plaid_security_id = $1, updated_at = $2 WHERE id = $3",
            [
                security.plaid_security_id.clone().into(),
                now.into(),
                id.into(),
            ],
        )
        .await?;
        return Ok(id);
    }
    let id = Uuid::now_v7();
    sql.exec(
        "INSERT INTO investments (id, owner_user_id, symbol, name, type, plaid_security_id, \
         created_at, updated_at) VALUES ($1, NULL, $2, $3, $4, $5, $6, $6)",
        [
            id.into(),
            security.symbol.as_str().into(),
            security.name.clone().into(),
            security.investment_type.as_str().into(),
            security.plaid_security_id.clone().into(),
            now.into(),
        ],
    )
    .await?;
    Ok(id)
}
