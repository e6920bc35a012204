//! Balance points: one `balance_snapshots` row per account and date where the balance changed,
//! kept right by the domain's [`Step`]s inside the writing transaction.
//!
//! A step adds a point on its date if there is none (carrying the balance of the point before
//! it, or 0 before the first) and then shifts that point and every later one in one statement,
//! so a back-dated write moves the whole history at once and no loop runs in Rust.

use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::Money;
use nestegg_domain::ledger::{self, Step};
use nestegg_ports::{Account, RepoError};
use sea_orm::{ConnectionTrait, DbBackend};
use uuid::Uuid;

use crate::sql::Sql;

// Dates are written into these statements as literals ('YYYY-MM-DD', from a `NaiveDate`, so
// nothing can be injected), not bound: with a bound date, PostgreSQL's generic plan for a
// cached prepared statement scans all of an account's points through the `account_id` index
// and filters them (1.2 ms on ten years of daily points), where the literal lets it range-scan
// `(account_id, date)` (0.09 ms). The values bound are: $1 delta, $2 account, $3 new point id,
// $4 zero, $5 currency, $6 now.

/// The point on `date` unless the account has one (`missing` says how to tell: a table
/// lookup, or the rows a shift just moved), with the balance of the point before it plus the
/// delta, and its available balance.
fn point_sql(date: NaiveDate, missing: &str) -> String {
    let before = format!(
        "FROM balance_snapshots p WHERE p.account_id = $2 AND p.date < '{date}' \
         ORDER BY p.date DESC LIMIT 1"
    );
    format!(
        "INSERT INTO balance_snapshots (id, account_id, date, balance, available_balance, \
         currency, created_at, updated_at) \
         SELECT $3, $2, '{date}', COALESCE((SELECT p.balance {before}), $4) + $1, \
         (SELECT p.available_balance {before}), $5, $6, $6 WHERE NOT EXISTS ({missing})"
    )
}

/// The point on `date` and every later one move by the delta.
fn shift_sql(date: NaiveDate) -> String {
    format!(
        "UPDATE balance_snapshots SET balance = balance + $1, updated_at = $6 \
         WHERE account_id = $2 AND date >= '{date}'"
    )
}

async fn write_points(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &Account,
    step: Step,
    now: DateTime<Utc>,
    shift: bool,
) -> Result<(), RepoError> {
    let values = || -> Result<Vec<sea_orm::Value>, RepoError> {
        Ok(vec![
            sql.money(step.delta)?,
            account.id.into(),
            Uuid::now_v7().into(),
            sql.money(Money::ZERO)?,
            account.currency.as_str().into(),
            now.into(),
        ])
    };
    let date = step.date;
    let stored =
        format!("SELECT 1 FROM balance_snapshots s WHERE s.account_id = $2 AND s.date = '{date}'");
    if !shift {
        sql.exec(&point_sql(date, &stored), values()?).await?;
    } else if sql.backend() == DbBackend::Postgres {
        // One round trip for the common write: move the points from the step's date on, and
        // add its own point only if the shift did not find one. The point's lookups read only
        // dates before the step's, which the shift does not touch.
        let moved = format!("SELECT 1 FROM moved WHERE moved.date = '{date}'");
        let statement = format!(
            "WITH moved AS ({} RETURNING date) {}",
            shift_sql(date),
            point_sql(date, &moved)
        );
        sql.exec(&statement, values()?).await?;
    } else {
        sql.exec(&shift_sql(date), values()?).await?;
        sql.exec(&point_sql(date, &stored), values()?).await?;
    }
    Ok(())
}

/// Adds a point on `date` unless the account has one, carrying the balance (and available
/// balance) of the point before it.
pub(crate) async fn ensure_point(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &Account,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let step = Step {
        date,
        delta: Money::ZERO,
    };
    write_points(sql, account, step, now, false).await
}

/// Applies one step to the points: its date's point and every later one move by its delta.
async fn shift(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &Account,
    step: Step,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    write_points(sql, account, step, now, true).await
}

/// Applies `steps` to a locked account: the new current balance (checked against the type's
/// rule on a manual account; a linked account's balance is the institution's, whatever its
/// sign) and every point they move. The caller holds the account's lock.
pub(crate) async fn apply(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &mut Account,
    steps: &[Step],
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    if steps.is_empty() {
        return Ok(());
    }
    account.current_balance = if account.is_manual() {
        ledger::apply(account.account_type, account.current_balance, steps)?
    } else {
        ledger::sum(account.current_balance, steps)?
    };
    for step in steps {
        shift(sql, account, *step, now).await?;
    }
    store_balance(sql, account, now).await
}

/// Writes the account's current balance.
async fn store_balance(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &mut Account,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    sql.exec(
        "UPDATE accounts SET current_balance = $1, updated_at = $2 WHERE id = $3",
        [
            sql.money(account.current_balance)?,
            now.into(),
            account.id.into(),
        ],
    )
    .await?;
    account.updated_at = now;
    Ok(())
}

/// Moves a locked account's opening (its balance and the date it counts from) to `date`,
/// keeping a point there even when the opening balance is 0.
pub(crate) async fn move_opening(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &mut Account,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    if date == account.opened_on {
        return Ok(());
    }
    let steps = ledger::replace(
        Some(Step {
            date: account.opened_on,
            delta: account.opening_balance,
        }),
        Some(Step {
            date,
            delta: account.opening_balance,
        }),
    )?;
    ensure_point(sql, account, date, now).await?;
    apply(sql, account, &steps, now).await?;
    account.opened_on = date;
    sql.exec(
        "UPDATE accounts SET opened_on = $1, updated_at = $2 WHERE id = $3",
        [date.into(), now.into(), account.id.into()],
    )
    .await?;
    Ok(())
}

/// Reconciles a locked account to `stated` on `date`: the difference to the ledger's balance
/// that day is recorded as an adjustment, which steps that day's point and every later one.
pub(crate) async fn reconcile(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &mut Account,
    date: NaiveDate,
    stated: Money,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let on_ledger = balance_on(sql, account.id, date).await?;
    let amount = ledger::adjustment(on_ledger, stated)?;
    if amount.is_zero() {
        return Ok(());
    }
    sql.exec(
        "INSERT INTO balance_adjustments (id, account_id, date, amount, balance, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        [
            Uuid::now_v7().into(),
            account.id.into(),
            date.into(),
            sql.money(amount)?,
            sql.money(stated)?,
            now.into(),
        ],
    )
    .await?;
    apply(
        sql,
        account,
        &[Step {
            date,
            delta: amount,
        }],
        now,
    )
    .await
}

/// Sets a locked account's available balance; it is known as of `today`, so today's point
/// keeps it.
pub(crate) async fn set_available(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &mut Account,
    available: Option<Money>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    account.available_balance = available;
    sql.exec(
        "UPDATE accounts SET available_balance = $1 WHERE id = $2",
        [sql.money_opt(available)?, account.id.into()],
    )
    .await?;
    ensure_point(sql, account, today, now).await?;
    sql.exec(
        "UPDATE balance_snapshots SET available_balance = $1, updated_at = $2 \
         WHERE account_id = $3 AND date = $4",
        [
            sql.money_opt(available)?,
            now.into(),
            account.id.into(),
            today.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The account's balance on `date`: its latest point on or before it, 0 before the first.
pub(crate) async fn balance_on(
    sql: &Sql<'_, impl ConnectionTrait>,
    account_id: Uuid,
    date: NaiveDate,
) -> Result<Money, RepoError> {
    // The date as a literal, for the plan (see above).
    match sql
        .opt(
            &format!(
                "SELECT balance FROM balance_snapshots WHERE account_id = $1 \
                 AND date <= '{date}' ORDER BY date DESC LIMIT 1"
            ),
            [account_id.into()],
        )
        .await?
    {
        Some(row) => row.money("balance"),
        None => Ok(Money::ZERO),
    }
}

/// The date of the account's first transaction or adjustment, if it has any.
pub(crate) async fn first_entry(
    sql: &Sql<'_, impl ConnectionTrait>,
    account_id: Uuid,
) -> Result<Option<NaiveDate>, RepoError> {
    let row = sql
        .one(
            "SELECT MIN(d) AS first FROM (\
             SELECT MIN(date) AS d FROM transactions WHERE account_id = $1 \
             UNION ALL SELECT MIN(date) AS d FROM balance_adjustments WHERE account_id = $1) x",
            [account_id.into()],
        )
        .await?;
    row.get("first")
}

/// Rewrites a locked account's balance points from scratch, in two statements: the running sum
/// of its opening balance, posted transactions and adjustments, one point per date. For writes
/// that touch many dates at once (a bank's years of history), where shifting the later points
/// once per date would cost a pass over the history each.
pub(crate) async fn rebuild(
    sql: &Sql<'_, impl ConnectionTrait>,
    account: &mut Account,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let effect = match account.account_type.class() {
        nestegg_domain::AccountClass::Asset => "amount",
        nestegg_domain::AccountClass::Liability => "-amount",
    };
    let new_id = if sql.backend() == DbBackend::Postgres {
        "gen_random_uuid()"
    } else {
        "randomblob(16)"
    };
    sql.exec(
        "DELETE FROM balance_snapshots WHERE account_id = $1",
        [account.id.into()],
    )
    .await?;
    sql.exec(
        &format!(
            "INSERT INTO balance_snapshots (id, account_id, date, balance, available_balance, \
             currency, created_at, updated_at) \
             SELECT {new_id}, $1, e.date, SUM(e.delta) OVER (ORDER BY e.date), NULL, $2, $3, $3 \
             FROM (SELECT x.date, SUM(x.delta) AS delta FROM ( \
                 SELECT opened_on AS date, opening_balance AS delta FROM accounts WHERE id = $1 \
                 UNION ALL SELECT date, {effect} AS delta FROM transactions \
                 WHERE account_id = $1 AND is_pending = $4 \
                 UNION ALL SELECT date, amount AS delta FROM balance_adjustments \
                 WHERE account_id = $1 \
             ) x GROUP BY x.date) e"
        ),
        [
            account.id.into(),
            account.currency.as_str().into(),
            now.into(),
            false.into(),
        ],
    )
    .await?;
    let latest = sql
        .one(
            "SELECT balance, date FROM balance_snapshots WHERE account_id = $1 \
             ORDER BY date DESC LIMIT 1",
            [account.id.into()],
        )
        .await?;
    account.current_balance = latest.money("balance")?;
    let last: NaiveDate = latest.get("date")?;
    sql.exec(
        "UPDATE balance_snapshots SET available_balance = $1 WHERE account_id = $2 AND date = $3",
        [
            sql.money_opt(account.available_balance)?,
            account.id.into(),
            last.into(),
        ],
    )
    .await?;
    store_balance(sql, account, now).await
}
