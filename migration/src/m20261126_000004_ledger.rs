//! Balances from the ledger: every account gets an opening balance on an opening date, balance
//! adjustments (reconciliations) get a table, and the snapshots are rebuilt as the balance at
//! every date where it changed.
//!
//! An account's balance on date D is its opening balance (counted from `opened_on`) plus the
//! effects of its posted transactions dated on or before D plus its adjustments dated on or
//! before D. Converting keeps every current balance: the opening balance is the current balance
//! less the effects of the posted transactions, and `opened_on` is the account's creation day or
//! its earliest transaction's date, whichever is earlier. The snapshots written before (one per
//! day on which a write happened) are replaced by the ledger's points.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;
use crate::steps::Steps;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The signed effect of a transaction row `t` on its account `a`'s balance.
const EFFECT: &str =
    "CASE WHEN a.type IN ('credit_card', 'loan', 'mortgage') THEN -t.amount ELSE t.amount END";

impl Steps for Migration {
    fn up(d: Dialect) -> Vec<String> {
        let f = d.bool_lit(false);
        let created_day = d.day_of("accounts.created_at");
        let opened = d.least(
            &created_day,
            &format!(
                "COALESCE((SELECT MIN(t.date) FROM transactions t \
                 WHERE t.account_id = accounts.id), {created_day})"
            ),
        );
        let mut sql = vec![
            d.sql(
                "ALTER TABLE accounts ADD COLUMN opening_balance {money} NOT NULL DEFAULT {zero_m}",
            ),
            // SQLite cannot add a NOT NULL column without a default nor tighten it later; every
            // row gets its real date below, and the repositories always write it.
            if d.0 == sea_orm_migration::sea_orm::DbBackend::Postgres {
                "ALTER TABLE accounts ADD COLUMN opened_on DATE".to_owned()
            } else {
                "ALTER TABLE accounts ADD COLUMN opened_on DATE NOT NULL DEFAULT '1970-01-01'"
                    .to_owned()
            },
            d.sql(
                "CREATE TABLE balance_adjustments (
    id {id} NOT NULL PRIMARY KEY,
    account_id {id} NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    date DATE NOT NULL,
    amount {money} NOT NULL,
    balance {money} NOT NULL,
    {audit},
    CONSTRAINT ck_balance_adjustments_amount_not_zero CHECK (amount <> {zero_m})
)",
            ),
            "CREATE INDEX idx_balance_adjustments_account_date ON balance_adjustments \
             (account_id, date)"
                .to_owned(),
            format!(
                "UPDATE accounts SET opening_balance = current_balance - \
                 COALESCE((SELECT SUM({EFFECT}) \
                 FROM transactions t JOIN accounts a ON a.id = t.account_id \
                 WHERE t.account_id = accounts.id AND t.is_pending = {f}), 0), opened_on = {opened}"
            ),
        ];
        if d.0 == sea_orm_migration::sea_orm::DbBackend::Postgres {
            sql.push(
                "ALTER TABLE accounts ALTER COLUMN opened_on SET NOT NULL, \
                 ALTER COLUMN opened_on SET DEFAULT CURRENT_DATE"
                    .to_owned(),
            );
            // A back-dated write rewrites every later point's balance, a column no index
            // holds: room left on each page lets PostgreSQL update the rows in place (HOT)
            // instead of adding an entry to each of the table's four indexes per row (measured:
            // 32 ms -> 3 ms for three years of daily points).
            sql.push("ALTER TABLE balance_snapshots SET (fillfactor = 70)".to_owned());
        }
        sql.push("DELETE FROM balance_snapshots".to_owned());
        // One point per account and date with an entry: the running sum of the opening balance and
        // the posted transactions' effects.
        sql.push(
            d.sql(
                "INSERT INTO balance_snapshots (id, account_id, date, balance, available_balance, \
                 currency, created_at, updated_at) \
                 SELECT {new_id}, e.account_id, e.date, \
                 SUM(e.delta) OVER (PARTITION BY e.account_id ORDER BY e.date), \
                 NULL, acc.currency, {now}, {now} \
                 FROM (SELECT x.account_id, x.date, SUM(x.delta) AS delta FROM ( \
                     SELECT id AS account_id, opened_on AS date, opening_balance AS delta \
                     FROM accounts \
                     UNION ALL \
                     SELECT t.account_id, t.date, {EFFECT} AS delta FROM transactions t \
                     JOIN accounts a ON a.id = t.account_id WHERE t.is_pending = {f} \
                 ) x GROUP BY x.account_id, x.date) e \
                 JOIN accounts acc ON acc.id = e.account_id",
            )
            .replace("{EFFECT}", EFFECT),
        );
        // The latest point keeps the account's available balance, as the old snapshots did.
        sql.push(
            "UPDATE balance_snapshots SET available_balance = (SELECT a.available_balance \
             FROM accounts a WHERE a.id = balance_snapshots.account_id) \
             WHERE date = (SELECT MAX(s.date) FROM balance_snapshots s \
             WHERE s.account_id = balance_snapshots.account_id)"
                .to_owned(),
        );
        sql
    }

    /// Drops the adjustments and the opening columns; current balances and the ledger's
    /// snapshot points stay as they are.
    fn down(d: Dialect) -> Vec<String> {
        let mut sql: Vec<String> = [
            "DROP TABLE IF EXISTS balance_adjustments",
            "ALTER TABLE accounts DROP COLUMN opened_on",
            "ALTER TABLE accounts DROP COLUMN opening_balance",
        ]
        .map(str::to_owned)
        .to_vec();
        if d.0 == sea_orm_migration::sea_orm::DbBackend::Postgres {
            sql.push("ALTER TABLE balance_snapshots RESET (fillfactor)".to_owned());
        }
        sql
    }
}
