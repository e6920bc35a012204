//! An export walks a user's transaction history by id, a page at a time. With an index on
//! `user_id` alone each page had to sort all of the user's history to find the next thousand
//! rows (a million rows took minutes); `(user_id, id)` serves both that walk and every lookup
//! by user, so it replaces the old index under the same name instead of adding a second one.
//! (Transactions are walked along their existing `(user_id, date, id)` index.)

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;
use crate::steps::Steps;

#[derive(DeriveMigrationName)]
pub struct Migration;

impl Steps for Migration {
    fn up(_: Dialect) -> Vec<String> {
        vec![
            "DROP INDEX idx_transaction_history_user_id".to_owned(),
            "CREATE INDEX idx_transaction_history_user_id ON transaction_history (user_id, id)"
                .to_owned(),
        ]
    }

    fn down(_: Dialect) -> Vec<String> {
        vec![
            "DROP INDEX idx_transaction_history_user_id".to_owned(),
            "CREATE INDEX idx_transaction_history_user_id ON transaction_history (user_id)"
                .to_owned(),
        ]
    }
}
