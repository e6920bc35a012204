//! Bank sync: what a linked connection needs to sync safely, and the balance rule relaxed for
//! the figures banks report.
//!
//! - `plaid_connections` gains the id of the key its access token is encrypted under
//!   (`key_id`), a lease (`lease_holder`, `lease_until`) so that one sync per item runs at a
//!   time across server instances, and `sync_requested_at` (a webhook's request for a sync);
//!   its statuses become `pending`, `syncing`, `ok`, `error`, `login_required` (`synced` becomes
//!   `ok`).
//! - `transactions.category_edited` remembers that the user chose a category, so a sync that
//!   changes the transaction keeps the user's choice.
//! - `investments.plaid_security_id`: the security a holding refers to, matched on later syncs.
//! - `ck_accounts_balance_not_negative` allows a negative balance on checking accounts (an
//!   overdraft) and on any Plaid-linked account (the bank's figure is stored as reported), a
//!   deliberate relaxation of the seed schema's rule. Manual savings, investment and retirement
//!   accounts still cannot go below zero.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::dialect::Dialect;
use crate::steps::Steps;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_BALANCE_RULE: &str = "CHECK (current_balance >= {zero_m} OR type = 'credit_card')";
const NEW_BALANCE_RULE: &str = "CHECK (current_balance >= {zero_m} OR type IN ('credit_card', 'checking') \
     OR plaid_account_id IS NOT NULL)";
const OLD_STATUSES: &str = "CHECK (sync_status IN ('pending','syncing','synced','error'))";
const NEW_STATUSES: &str =
    "CHECK (sync_status IN ('pending','syncing','ok','error','login_required'))";

impl Steps for Migration {
    fn up(d: Dialect) -> Vec<String> {
        let mut sql = vec![
            "ALTER TABLE plaid_connections ADD COLUMN key_id VARCHAR(64)".to_owned(),
            d.sql("ALTER TABLE plaid_connections ADD COLUMN lease_holder {id}"),
            d.sql("ALTER TABLE plaid_connections ADD COLUMN lease_until {ts}"),
            d.sql("ALTER TABLE plaid_connections ADD COLUMN sync_requested_at {ts}"),
            d.sql("ALTER TABLE transactions ADD COLUMN category_edited {b} NOT NULL DEFAULT {f}"),
            "ALTER TABLE investments ADD COLUMN plaid_security_id VARCHAR(255)".to_owned(),
            "CREATE UNIQUE INDEX uq_investments_plaid_security_id ON investments \
             (plaid_security_id)"
                .to_owned(),
        ];
        if d.0 == DbBackend::Postgres {
            sql.extend([
                "ALTER TABLE accounts DROP CONSTRAINT ck_accounts_balance_not_negative".to_owned(),
                format!(
                    "ALTER TABLE accounts ADD CONSTRAINT ck_accounts_balance_not_negative {}",
                    d.sql(NEW_BALANCE_RULE)
                ),
                "ALTER TABLE plaid_connections DROP CONSTRAINT ck_plaid_connections_sync_status"
                    .to_owned(),
            ]);
        }
        sql.push(
            "UPDATE plaid_connections SET sync_status = 'ok' WHERE sync_status = 'synced'".into(),
        );
        if d.0 == DbBackend::Postgres {
            sql.push(format!(
                "ALTER TABLE plaid_connections ADD CONSTRAINT ck_plaid_connections_sync_status \
                 {NEW_STATUSES}"
            ));
        }
        sql
    }

    /// Drops the new columns and restores the old rules. On PostgreSQL the restored balance
    /// rule is `NOT VALID`: overdrawn accounts stored meanwhile stay as they are.
    fn down(d: Dialect) -> Vec<String> {
        let mut sql = vec![
            "DROP INDEX IF EXISTS uq_investments_plaid_security_id".to_owned(),
            "ALTER TABLE investments DROP COLUMN plaid_security_id".to_owned(),
            "ALTER TABLE transactions DROP COLUMN category_edited".to_owned(),
            "ALTER TABLE plaid_connections DROP COLUMN sync_requested_at".to_owned(),
            "ALTER TABLE plaid_connections DROP COLUMN lease_until".to_owned(),
            "ALTER TABLE plaid_connections DROP COLUMN lease_holder".to_owned(),
            "ALTER TABLE plaid_connections DROP COLUMN key_id".to_owned(),
        ];
        if d.0 == DbBackend::Postgres {
            sql.extend([
                "ALTER TABLE accounts DROP CONSTRAINT ck_accounts_balance_not_negative".to_owned(),
                format!(
                    "ALTER TABLE accounts ADD CONSTRAINT ck_accounts_balance_not_negative {} \
                     NOT VALID",
                    d.sql(OLD_BALANCE_RULE)
                ),
                "ALTER TABLE plaid_connections DROP CONSTRAINT ck_plaid_connections_sync_status"
                    .to_owned(),
            ]);
        }
        sql.push(
            "UPDATE plaid_connections SET sync_status = CASE sync_status \
             WHEN 'ok' THEN 'synced' WHEN 'login_required' THEN 'error' ELSE sync_status END"
                .into(),
        );
        if d.0 == DbBackend::Postgres {
            sql.push(format!(
                "ALTER TABLE plaid_connections ADD CONSTRAINT ck_plaid_connections_sync_status \
                 {OLD_STATUSES}"
            ));
        }
        sql
    }

    fn sqlite_rewrites() -> Vec<(&'static str, String, String)> {
        let d = Dialect(DbBackend::Sqlite);
        vec![
            ("accounts", d.sql(OLD_BALANCE_RULE), d.sql(NEW_BALANCE_RULE)),
            (
                "plaid_connections",
                OLD_STATUSES.to_owned(),
                NEW_STATUSES.to_owned(),
            ),
        ]
    }
}
