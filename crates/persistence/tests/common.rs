#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, TimeZone, Utc};
use nestegg_domain::{Email, Money, Preferences, Price, Quantity, UnitCost, Username};
use nestegg_migration::{Migrator, MigratorTrait};
use nestegg_persistence::SqlUserRepository;
use nestegg_persistence::codec::{self, Scale};
use nestegg_persistence::sql::statement;
use nestegg_persistence::testing::TestDb;
use nestegg_ports::{NewUser, User, UserRepository, WriteTime};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DbErr, ExecResult, QueryResult, Value};
use uuid::Uuid;

pub fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

/// 2026-11-25, the tests' today.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

/// `n` days from today (negative: before).
pub fn day(n: i64) -> NaiveDate {
    today() + chrono::TimeDelta::days(n)
}

/// The write time of every repository call in the tests: [`now`], on [`today`].
pub fn at() -> WriteTime {
    WriteTime {
        now: now(),
        today: today(),
    }
}

/// A decimal from its exact text (`"0.1"`).
pub fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

/// Money from its text (`"-12.50"`).
pub fn m(s: &str) -> Money {
    Money::new(dec(s)).unwrap()
}

/// A quantity from its text.
pub fn qty(s: &str) -> Quantity {
    Quantity::new(dec(s)).unwrap()
}

/// A price from its text.
pub fn price(s: &str) -> Price {
    Price::new(dec(s)).unwrap()
}

/// An average cost from its text.
pub fn cost(s: &str) -> UnitCost {
    UnitCost::new(dec(s)).unwrap()
}

/// Money from cents.
pub fn cents(c: i64) -> Money {
    Money::new(Decimal::new(c, 2)).unwrap()
}

pub async fn make_user(db: &TestDb, name: &str) -> User {
    SqlUserRepository::new(db.db.clone())
        .create(NewUser {
            id: Uuid::now_v7(),
            email: Email::parse(&format!("{name}@example.com")).unwrap(),
            username: Username::parse(name).unwrap(),
            password_hash: "$2b$04$hash".into(),
            preferences: Preferences::default(),
            now: now(),
        })
        .await
        .unwrap()
}

/// Runs SQL with `$1`-style placeholders on either backend; the database's answer.
pub async fn try_exec(db: &TestDb, sql: &str, values: Vec<Value>) -> Result<ExecResult, DbErr> {
    db.db
        .conn()
        .execute_raw(statement(db.backend(), sql, values))
        .await
}

/// Runs SQL with `$1`-style placeholders on either backend; it must succeed.
pub async fn exec(db: &TestDb, sql: &str, values: Vec<Value>) {
    try_exec(db, sql, values).await.unwrap();
}

/// Every row a query returns.
pub async fn rows(db: &TestDb, sql: &str, values: Vec<Value>) -> Vec<QueryResult> {
    db.db
        .conn()
        .query_all_raw(statement(db.backend(), sql, values))
        .await
        .unwrap()
}

/// The one row a query returns.
pub async fn row(db: &TestDb, sql: &str, values: Vec<Value>) -> QueryResult {
    let mut all = rows(db, sql, values).await;
    assert_eq!(all.len(), 1, "{sql}");
    all.remove(0)
}

/// `n` of a `SELECT COUNT(*) AS n` query.
pub async fn count(db: &TestDb, sql: &str, values: Vec<Value>) -> i64 {
    row(db, sql, values).await.try_get("", "n").unwrap()
}

/// An amount as the backend stores money.
pub fn money_value(db: &TestDb, amount: Decimal) -> Value {
    codec::encode(db.backend(), amount, Scale::Money).unwrap()
}

/// Inserts a transaction of `amount` straight into the table, past the repositories.
pub async fn insert_transaction(
    db: &TestDb,
    id: Uuid,
    user: Uuid,
    account: Uuid,
    amount: Decimal,
) -> Result<ExecResult, DbErr> {
    try_exec(
        db,
        "INSERT INTO transactions (id, user_id, account_id, amount, date, description, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, '2026-11-25', 'x', $5, $5)",
        vec![
            id.into(),
            user.into(),
            account.into(),
            money_value(db, amount),
            now().into(),
        ],
    )
    .await
}

/// Inserts an account of `kind` with `balance` straight into the table.
pub async fn insert_account(
    db: &TestDb,
    user: Uuid,
    kind: &str,
    balance: Decimal,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    try_exec(
        db,
        "INSERT INTO accounts (id, user_id, name, type, current_balance, currency, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'USD', $6, $6)",
        vec![
            id.into(),
            user.into(),
            kind.into(),
            kind.into(),
            money_value(db, balance),
            now().into(),
        ],
    )
    .await?;
    Ok(id)
}

/// Reverts the migration `name` and every later one, leaving the schema `name` found.
pub async fn revert_from(db: &TestDb, name: &str) {
    let all = Migrator::migrations();
    let at = all
        .iter()
        .position(|m| m.name() == name)
        .unwrap_or_else(|| panic!("{name} is not a migration"));
    let steps = u32::try_from(all.len() - at).unwrap();
    db.db.migrate_down(Some(steps)).await.unwrap();
}

/// Asserts the database refused a write for `constraint` (a name, or words of the message).
pub fn assert_refused<T: std::fmt::Debug>(result: Result<T, DbErr>, constraint: &str) {
    let message = result.unwrap_err().to_string().to_lowercase();
    assert!(message.contains(constraint), "{message}");
}
