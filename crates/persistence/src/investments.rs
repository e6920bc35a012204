//! The securities repository: shared and private securities, and their prices.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::portfolio::Position;
use nestegg_domain::{InvestmentType, Percentage, Price, Quantity, UnitCost};
use nestegg_ports::{
    Investment, InvestmentFilter, InvestmentPage, InvestmentRepository, NewInvestment, PricePoint,
    RepoError,
};
use sea_orm::{ConnectionTrait, DbBackend, Value};
use uuid::Uuid;

use crate::codec::Scale;
use crate::db::Db;
use crate::rows::{self, Row, from_row};
use crate::sql::{Lock, Sql, keyset, page};

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

pub(crate) const COLUMNS: &str = "id, owner_user_id, symbol, name, type, exchange, current_price, \
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

pub(crate) fn investment(row: &Row) -> Result<Investment, RepoError> {
    Ok(from_row!(row => Investment {
        id,
        owner: row.get("owner_user_id")?,
        symbol, name,
        investment_type: row.parsed("type", InvestmentType::parse)?,
        exchange,
        current_price: row.kind_opt("current_price", Scale::Fine, Price::new)?,
        price_date,
        market_cap: row.money_opt("market_cap")?,
        pe_ratio: row.money_opt("pe_ratio")?,
        dividend_yield: row.kind_opt("dividend_yield", Scale::Percent, Percentage::new)?,
        expense_ratio: row.kind_opt("expense_ratio", Scale::Percent, Percentage::new)?,
        sector, industry, country, created_at, updated_at,
    }))
}

/// Visible to the user whose id is parameter `n`: shared, or theirs.
fn visible_to(n: usize) -> String {
    format!("(owner_user_id IS NULL OR owner_user_id = ${n})")
}

fn visible_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM investments WHERE id = $1 AND {}",
        visible_to(2)
    )
}

/// Adds a price to a security's history; when it is the latest (`latest` is the date of the
/// current price), it becomes the current price and every portfolio holding the security is
/// revalued. Whether it became the current price.
pub(crate) async fn record_price(
    sql: &Sql<'_, impl ConnectionTrait>,
    id: Uuid,
    price: Price,
    date: NaiveDate,
    latest: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let value = sql.decimal(price.value(), Scale::Fine)?;
    sql.exec(
        "INSERT INTO investment_prices (id, investment_id, date, price, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (investment_id, date) DO UPDATE SET price = excluded.price, \
         updated_at = excluded.updated_at",
        [
            Uuid::now_v7().into(),
            id.into(),
            date.into(),
            value.clone(),
            now.into(),
        ],
    )
    .await?;
    if latest.is_some_and(|d| date < d) {
        return Ok(false);
    }
    sql.exec(
        "UPDATE investments SET current_price = $1, price_date = $2, updated_at = $3 \
         WHERE id = $4",
        [value, date.into(), now.into(), id.into()],
    )
    .await?;
    revalue(sql, id, price, now).await?;
    Ok(true)
}

/// Revalues every portfolio item holding `investment_id` at `price`, then the totals of the
/// portfolios concerned. Figures are computed by the domain (half-even), not by SQL rounding.
pub(crate) async fn revalue(
    sql: &Sql<'_, impl ConnectionTrait>,
    investment_id: Uuid,
    price: Price,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let items = sql
        .all(
            "SELECT id, portfolio_id, quantity, average_cost FROM portfolio_items \
             WHERE investment_id = $1",
            [investment_id.into()],
        )
        .await?;
    let mut portfolios: Vec<Uuid> = Vec::new();
    for row in &items {
        let position = Position {
            quantity: row.kind("quantity", Scale::Fine, Quantity::new)?,
            average_cost: row.kind("average_cost", Scale::Fine, UnitCost::new)?,
        };
        let v = position.value_at(price)?;
        sql.exec(
            "UPDATE portfolio_items SET current_value = $1, unrealized_gain_loss = $2, \
             unrealized_gain_loss_percent = $3, updated_at = $4 WHERE id = $5",
            [
                sql.money(v.current_value)?,
                sql.money(v.unrealized_gain_loss)?,
                sql.decimal_opt(v.unrealized_gain_loss_percent, Scale::Money)?,
                now.into(),
                row.get::<Uuid>("id")?.into(),
            ],
        )
        .await?;
        let portfolio: Uuid = row.get("portfolio_id")?;
        if !portfolios.contains(&portfolio) {
            portfolios.push(portfolio);
        }
    }
    for portfolio in portfolios {
        crate::portfolios::refresh_total(sql, portfolio, now).await?;
    }
    Ok(())
}

#[async_trait]
impl InvestmentRepository for SqlInvestmentRepository {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create(
        &self,
        new: NewInvestment,
        now: DateTime<Utc>,
    ) -> Result<Investment, RepoError> {
        let sql = self.db.sql();
        let pct = |p: Option<Percentage>| sql.decimal_opt(p.map(|x| x.value()), Scale::Percent);
        sql.exec(
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
                sql.money_opt(new.market_cap)?,
                sql.money_opt(new.pe_ratio)?,
                pct(new.dividend_yield)?,
                pct(new.expense_ratio)?,
                new.sector.clone().into(),
                new.industry.clone().into(),
                new.country.clone().into(),
                now.into(),
            ],
        )
        .await?;
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

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Investment, RepoError> {
        let row = self
            .db
            .sql()
            .one(&visible_sql(), [id.into(), user_id.into()])
            .await?;
        investment(&row)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn list(
        &self,
        user_id: Uuid,
        filter: InvestmentFilter,
    ) -> Result<InvestmentPage, RepoError> {
        let conn = self.db.sql();
        let b = conn.backend();
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
        let after = filter.after.map(|(symbol, id)| (symbol.into(), id));
        let limit = keyset(&mut sql, &mut values, order, false, after, filter.limit);
        let found = conn.all(&sql, values).await?;
        let read = found.iter().map(investment).collect::<Result<_, _>>()?;
        let (items, next) = page(read, limit, |i| (i.symbol.clone(), i.id));
        Ok(InvestmentPage { items, next })
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn put_price(
        &self,
        user_id: Uuid,
        id: Uuid,
        point: PricePoint,
        now: DateTime<Utc>,
    ) -> Result<Investment, RepoError> {
        self.db
            .retrying(|| async {
                let txn = self.db.begin_write().await?;
                let sql = txn.sql();
                // Lock order everywhere: portfolios, then the security, then items. A trade
                // takes its portfolio first too, so the two cannot deadlock, and it reads the
                // price after.
                sql.lock(
                    Lock::Update,
                    "SELECT id FROM portfolios WHERE id IN (SELECT portfolio_id FROM \
                     portfolio_items WHERE investment_id = $1) ORDER BY id",
                    [id.into()],
                )
                .await?;
                let row = sql
                    .one_locked(
                        Some(Lock::Update),
                        &visible_sql(),
                        [id.into(), user_id.into()],
                    )
                    .await?;
                let mut security = investment(&row)?;
                if security.owner != Some(user_id) {
                    // Shared reference data is written by sync and operators only.
                    return Err(RepoError::NotFound);
                }
                if record_price(&sql, id, point.price, point.date, security.price_date, now).await?
                {
                    security.current_price = Some(point.price);
                    security.price_date = Some(point.date);
                    security.updated_at = now;
                }
                txn.commit().await?;
                Ok(security)
            })
            .await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn prices(
        &self,
        user_id: Uuid,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<PricePoint>, RepoError> {
        self.get(user_id, id).await?;
        self.db
            .sql()
            .all_dated(
                "SELECT date, price FROM investment_prices WHERE investment_id = $1",
                id,
                from,
                to,
                rows::price_point,
            )
            .await
    }
}
