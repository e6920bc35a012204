//! The securities repository: shared and private securities, and their prices.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::portfolio::Position;
use nestegg_domain::{InvestmentType, Money, Percentage, Price, Quantity, UnitCost};
use nestegg_ports::{
    Investment, InvestmentFilter, InvestmentPage, InvestmentRepository, NewInvestment, PricePoint,
    RepoError,
};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};
use uuid::Uuid;

use crate::accounts::for_update;
use crate::codec::{self, Scale};
use crate::db::Db;
use crate::error::db_err;
use crate::rows::{self, corrupt, get};
use crate::sql::statement;

/// Securities in the SQL database.
#[derive(Debug, Clone)]
pub struct SqlInvestmentRepository {
    db: Db,
}

impl SqlInvestmentRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

const COLUMNS: &str = "id, owner_user_id, symbol, name, type, exchange, current_price, \
    price_date, market_cap, pe_ratio, dividend_yield, expense_ratio, sector, industry, country, \
    created_at, updated_at";

/// Symbols sort byte-wise on both backends (PostgreSQL's locale would ignore punctuation).
fn symbol_order(b: DbBackend) -> &'static str {
    if b == DbBackend::Postgres {
        "symbol COLLATE \"C\""
    } else {
        "symbol"
    }
}

fn investment(b: DbBackend, row: &QueryResult) -> Result<Investment, RepoError> {
    Ok(Investment {
        id: get(row, "id")?,
        owner: get(row, "owner_user_id")?,
        symbol: get(row, "symbol")?,
        name: get(row, "name")?,
        investment_type: InvestmentType::parse(&get::<String>(row, "type")?)
            .map_err(|_| corrupt("investment type"))?,
        exchange: get(row, "exchange")?,
        current_price: rows::kind_opt(b, row, "current_price", Scale::Fine, Price::new)?,
        price_date: get(row, "price_date")?,
        market_cap: rows::money_opt(b, row, "market_cap")?,
        pe_ratio: rows::money_opt(b, row, "pe_ratio")?,
        dividend_yield: rows::kind_opt(b, row, "dividend_yield", Scale::Percent, Percentage::new)?,
        expense_ratio: rows::kind_opt(b, row, "expense_ratio", Scale::Percent, Percentage::new)?,
        sector: get(row, "sector")?,
        industry: get(row, "industry")?,
        country: get(row, "country")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Visible to the user whose id is parameter `n`: shared, or theirs.
fn visible_to(n: usize) -> String {
    format!("(owner_user_id IS NULL OR owner_user_id = ${n})")
}

async fn visible(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    user_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Investment, RepoError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM investments WHERE id = $1 AND {}{}",
        visible_to(2),
        if lock { for_update(b) } else { "" }
    );
    let row = conn
        .query_one_raw(statement(b, &sql, [id.into(), user_id.into()]))
        .await
        .map_err(db_err)?
        .ok_or(RepoError::NotFound)?;
    investment(b, &row)
}

/// Revalues every portfolio item holding `investment_id` at `price`, then the totals of the
/// portfolios concerned. Figures are computed by the domain (half-even), not by SQL rounding.
pub(crate) async fn revalue(
    conn: &impl ConnectionTrait,
    b: DbBackend,
    investment_id: Uuid,
    price: Price,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let items = conn
        .query_all_raw(statement(
            b,
            "SELECT id, portfolio_id, quantity, average_cost FROM portfolio_items \
             WHERE investment_id = $1",
            [investment_id.into()],
        ))
        .await
        .map_err(db_err)?;
    let mut portfolios: Vec<Uuid> = Vec::new();
    for row in &items {
        let position = Position {
            quantity: rows::kind(b, row, "quantity", Scale::Fine, Quantity::new)?,
            average_cost: rows::kind(b, row, "average_cost", Scale::Fine, UnitCost::new)?,
        };
        let v = position.value_at(price)?;
        conn.execute_raw(statement(
            b,
            "UPDATE portfolio_items SET current_value = $1, unrealized_gain_loss = $2, \
             unrealized_gain_loss_percent = $3, updated_at = $4 WHERE id = $5",
            [
                codec::encode(b, v.current_value.value(), Scale::Money)?,
                codec::encode(b, v.unrealized_gain_loss.value(), Scale::Money)?,
                codec::encode_opt(b, v.unrealized_gain_loss_percent, Scale::Money)?,
                now.into(),
                get::<Uuid>(row, "id")?.into(),
            ],
        ))
        .await
        .map_err(db_err)?;
        let portfolio: Uuid = get(row, "portfolio_id")?;
        if !portfolios.contains(&portfolio) {
            portfolios.push(portfolio);
        }
    }
    for portfolio in portfolios {
        crate::portfolios::refresh_total(conn, b, portfolio, now).await?;
    }
    Ok(())
}

#[async_trait]
impl InvestmentRepository for SqlInvestmentRepository {
    #[tracing::instrument(skip_all, err)]
    async fn create(
        &self,
        new: NewInvestment,
        now: DateTime<Utc>,
    ) -> Result<Investment, RepoError> {
        let b = self.db.backend();
        let pct =
            |p: Option<Percentage>| codec::encode_opt(b, p.map(|x| x.value()), Scale::Percent);
        let money = |m: Option<Money>| codec::encode_opt(b, m.map(|x| x.value()), Scale::Money);
        self.db
            .conn()
            .execute_raw(statement(
                b,
                "INSERT INTO investments (id, owner_user_id, symbol, name, type, exchange, \
                 market_cap, pe_ratio, dividend_yield, expense_ratio, sector, industry, country, \
                 created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
                [
                    new.id.into(),
                    new.owner.into(),
                    new.symbol.clone().into(),
                    new.name.clone().into(),
                    new.investment_type.as_str().into(),
                    new.exchange.clone().into(),
                    money(new.market_cap)?,
                    money(new.pe_ratio)?,
                    pct(new.dividend_yield)?,
                    pct(new.expense_ratio)?,
                    new.sector.clone().into(),
                    new.industry.clone().into(),
                    new.country.clone().into(),
                    now.into(),
                ],
            ))
            .await
            .map_err(db_err)?;
        Ok(Investment {
            id: new.id,
            owner: new.owner,
            symbol: new.symbol,
            name: new.name,
            investment_type: new.investment_type,
            exchange: new.exchange,
            current_price: None,
            price_date: None,
            market_cap: new.market_cap,
            pe_ratio: new.pe_ratio,
            dividend_yield: new.dividend_yield,
            expense_ratio: new.expense_ratio,
            sector: new.sector,
            industry: new.industry,
            country: new.country,
            created_at: now,
            updated_at: now,
        })
    }

    #[tracing::instrument(skip(self), err)]
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Investment, RepoError> {
        visible(self.db.conn(), self.db.backend(), user_id, id, false).await
    }

    #[tracing::instrument(skip(self), err)]
    async fn list(
        &self,
        user_id: Uuid,
        filter: InvestmentFilter,
    ) -> Result<InvestmentPage, RepoError> {
        let b = self.db.backend();
        let order = symbol_order(b);
        let mut values: Vec<Value> = vec![user_id.into()];
        let mut sql = format!("SELECT {COLUMNS} FROM investments WHERE {}", visible_to(1));
        if let Some(symbol) = filter.symbol {
            values.push(symbol.to_uppercase().into());
            sql.push_str(&format!(" AND symbol = ${}", values.len()));
        }
        if let Some(q) = filter.q.filter(|q| !q.is_empty()) {
            values.push(crate::transactions::contains_pattern(&q, b).into());
            let n = values.len();
            sql.push_str(&format!(
                " AND (lower(symbol) LIKE ${n} ESCAPE '\\' OR lower(name) LIKE ${n} ESCAPE '\\')"
            ));
        }
        if let Some((symbol, id)) = filter.after {
            values.push(symbol.into());
            values.push(id.into());
            let n = values.len();
            sql.push_str(&format!(" AND ({order}, id) > (${}, ${n})", n - 1));
        }
        let limit = filter.limit.max(1);
        sql.push_str(&format!(" ORDER BY {order}, id LIMIT {}", limit + 1));
        let mut items = self
            .db
            .conn()
            .query_all_raw(statement(b, &sql, values))
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| investment(b, row))
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|i| (i.symbol.clone(), i.id))
        } else {
            None
        };
        Ok(InvestmentPage { items, next })
    }

    #[tracing::instrument(skip(self), err)]
    async fn put_price(
        &self,
        user_id: Uuid,
        id: Uuid,
        point: PricePoint,
        now: DateTime<Utc>,
    ) -> Result<Investment, RepoError> {
        let b = self.db.backend();
        let txn = self.db.begin_write().await?;
        // Lock order everywhere: portfolios, then the security, then items. A trade takes its
        // portfolio first too, so the two cannot deadlock, and it reads the price after.
        if b == DbBackend::Postgres {
            txn.txn
                .execute_raw(statement(
                    b,
                    "SELECT id FROM portfolios WHERE id IN (SELECT portfolio_id FROM \
                     portfolio_items WHERE investment_id = $1) ORDER BY id FOR UPDATE",
                    [id.into()],
                ))
                .await
                .map_err(db_err)?;
        }
        let mut security = visible(&txn.txn, b, user_id, id, true).await?;
        if security.owner != Some(user_id) {
            // Shared reference data is written by sync and operators only.
            return Err(RepoError::NotFound);
        }
        txn.txn
            .execute_raw(statement(
                b,
                "INSERT INTO investment_prices (id, investment_id, date, price, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (investment_id, date) DO UPDATE SET price = excluded.price, \
                 updated_at = excluded.updated_at",
                [
                    Uuid::now_v7().into(),
                    id.into(),
                    point.date.into(),
                    codec::encode(b, point.price.value(), Scale::Fine)?,
                    now.into(),
                ],
            ))
            .await
            .map_err(db_err)?;
        if security.price_date.is_none_or(|d| point.date >= d) {
            txn.txn
                .execute_raw(statement(
                    b,
                    "UPDATE investments SET current_price = $1, price_date = $2, updated_at = $3 \
                     WHERE id = $4",
                    [
                        codec::encode(b, point.price.value(), Scale::Fine)?,
                        point.date.into(),
                        now.into(),
                        id.into(),
                    ],
                ))
                .await
                .map_err(db_err)?;
            security.current_price = Some(point.price);
            security.price_date = Some(point.date);
            security.updated_at = now;
            revalue(&txn.txn, b, id, point.price, now).await?;
        }
        txn.commit().await?;
        Ok(security)
    }

    #[tracing::instrument(skip(self), err)]
    async fn prices(
        &self,
        user_id: Uuid,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<PricePoint>, RepoError> {
        let b = self.db.backend();
        self.get(user_id, id).await?;
        let mut values: Vec<Value> = vec![id.into()];
        let mut sql =
            String::from("SELECT date, price FROM investment_prices WHERE investment_id = $1");
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
                Ok(PricePoint {
                    date: get(row, "date")?,
                    price: rows::kind(b, row, "price", Scale::Fine, Price::new)?,
                })
            })
            .collect()
    }
}
