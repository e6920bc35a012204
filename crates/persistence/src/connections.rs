//! The connection repository: linked Plaid items, their sync lease, and the one transaction in
//! which a sync's accounts, transactions, balances and cursor are written together.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::ledger::{self, Posting, Step};
use nestegg_domain::{Money, SyncStatus};
use nestegg_ports::{
    Account, Conflict, Connection, ConnectionRepository, ConnectionSecret, HistoryAction,
    HoldingsBatch, NewConnection, RepoError, Sealed, SyncBatch, SyncCounts, SyncedAccount,
    SyncedTransaction, Transaction, WriteTime,
};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use crate::db::Db;
use crate::ledger as points;
use crate::rows::{self, ACCOUNT_COLUMNS, Owned, Row, TRANSACTION_COLUMNS, from_row};
use crate::sql::{Lock, Sql};
use crate::transactions::{content, record};

pub(crate) const CONNECTION_COLUMNS: &str = "id, user_id, plaid_item_id, institution_id, \
    institution_name, is_active, sync_status, last_sync_at, error_message, created_at, updated_at";

const CONNECTIONS: Owned<Connection> = Owned {
    name: "plaid_connections",
    columns: CONNECTION_COLUMNS,
    read: connection,
};

pub(crate) fn connection(row: &Row) -> Result<Connection, RepoError> {
    Ok(from_row!(row => Connection {
        id, user_id, plaid_item_id, institution_id, institution_name, is_active,
        sync_status: row.parsed("sync_status", SyncStatus::parse)?,
        last_sync_at, error_message, created_at, updated_at,
    }))
}

/// Above this many changed dates in one account, a sync rebuilds the account's balance points
/// in one statement instead of shifting the later points once per date.
const REBUILD_AFTER: usize = 16;

/// Rows per multi-row `INSERT`: well under both backends' limits on bound values.
const INSERT_CHUNK: usize = 400;

/// Plaid ids per `IN (...)` lookup.
const LOOKUP_CHUNK: usize = 500;

/// Linked connections in the SQL database.
#[derive(Debug, Clone)]
pub struct SqlConnectionRepository {
    db: Db,
}

impl SqlConnectionRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ConnectionRepository for SqlConnectionRepository {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create(
        &self,
        new: NewConnection,
        now: DateTime<Utc>,
    ) -> Result<Connection, RepoError> {
        let sql = self.db.sql();
        sql.exec(
            "INSERT INTO plaid_connections (id, user_id, plaid_item_id, access_token, key_id, \
             institution_id, institution_name, is_active, sync_status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
            [
                new.id.into(),
                new.user_id.into(),
                new.plaid_item_id.into(),
                new.access_token.ciphertext.into(),
                new.access_token.key_id.into(),
                new.institution_id.into(),
                new.institution_name.into(),
                true.into(),
                SyncStatus::Pending.as_str().into(),
                now.into(),
            ],
        )
        .await?;
        sql.owned(&CONNECTIONS, new.user_id, new.id).await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn list(&self, user_id: Uuid) -> Result<Vec<Connection>, RepoError> {
        self.db
            .sql()
            .all_owned(&CONNECTIONS, user_id, "created_at, id")
            .await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Connection, RepoError> {
        self.db.sql().owned(&CONNECTIONS, user_id, id).await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn by_item(&self, plaid_item_id: &str) -> Result<Option<Connection>, RepoError> {
        self.db
            .sql()
            .opt(
                &format!(
                    "SELECT {CONNECTION_COLUMNS} FROM plaid_connections WHERE plaid_item_id = $1"
                ),
                [plaid_item_id.into()],
            )
            .await?
            .as_ref()
            .map(connection)
            .transpose()
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn secret(&self, id: Uuid) -> Result<ConnectionSecret, RepoError> {
        let row = self
            .db
            .sql()
            .one(
                "SELECT access_token, key_id, sync_cursor FROM plaid_connections WHERE id = $1",
                [id.into()],
            )
            .await?;
        Ok(ConnectionSecret {
            access_token: sealed(&row)?,
            cursor: row.get("sync_cursor")?,
        })
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn acquire(
        &self,
        id: Uuid,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        listed: Option<DateTime<Utc>>,
    ) -> Result<bool, RepoError> {
        // One conditional UPDATE: of two instances racing for the lease, the database lets
        // exactly one match the condition; and an instance whose list of due connections is
        // older than another's finished sync (which changed `updated_at`) matches nothing.
        let mut sql = "UPDATE plaid_connections SET lease_holder = $1, lease_until = $2 \
                       WHERE id = $3 AND (lease_until IS NULL OR lease_until < $4 \
                       OR lease_holder = $1)"
            .to_owned();
        let mut values = vec![holder.into(), until.into(), id.into(), now.into()];
        if let Some(listed) = listed {
            sql.push_str(" AND updated_at = $5");
            values.push(listed.into());
        }
        let taken = self.db.sql().exec(&sql, values).await?;
        Ok(taken == 1)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn release(&self, id: Uuid, holder: Uuid) -> Result<(), RepoError> {
        self.db
            .sql()
            .exec(
                "UPDATE plaid_connections SET lease_holder = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease_holder = $2",
                [id.into(), holder.into()],
            )
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn set_status(
        &self,
        id: Uuid,
        status: SyncStatus,
        error_message: Option<String>,
        synced_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let changed = self
            .db
            .sql()
            .exec(
                "UPDATE plaid_connections SET sync_status = $1, error_message = $2, \
                 last_sync_at = COALESCE($3, last_sync_at), updated_at = $4 WHERE id = $5",
                [
                    status.as_str().into(),
                    error_message.into(),
                    synced_at.into(),
                    now.into(),
                    id.into(),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(RepoError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn request_sync(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), RepoError> {
        self.db
            .sql()
            .exec(
                "UPDATE plaid_connections SET sync_requested_at = $1 WHERE id = $2",
                [now.into(), id.into()],
            )
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn due(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Connection>, RepoError> {
        self.db
            .sql()
            .read_all(
                &format!(
                    "SELECT {CONNECTION_COLUMNS} FROM plaid_connections \
                     WHERE is_active = $1 AND sync_status <> $2 \
                     AND (sync_requested_at IS NOT NULL OR last_sync_at IS NULL \
                     OR last_sync_at < $3) \
                     ORDER BY COALESCE(last_sync_at, created_at), id LIMIT {}",
                    limit.max(1)
                ),
                [
                    true.into(),
                    SyncStatus::LoginRequired.as_str().into(),
                    before.into(),
                ],
                connection,
            )
            .await
    }

    #[tracing::instrument(skip_all, err(level = "debug"), fields(connection = %batch.connection_id))]
    async fn apply(&self, batch: SyncBatch, at: WriteTime) -> Result<SyncCounts, RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        let saved: Option<String> = sql
            .one_locked(
                Some(Lock::Update),
                "SELECT sync_cursor FROM plaid_connections WHERE id = $1 AND user_id = $2",
                [batch.connection_id.into(), batch.user_id.into()],
            )
            .await?
            .get("sync_cursor")?;
        if saved != batch.from_cursor {
            return Err(RepoError::Conflict(Conflict::SyncSuperseded));
        }
        let mut writer = BatchWriter::load(&sql, &batch, at).await?;
        let mut counts = SyncCounts {
            accounts: batch.accounts.len(),
            ..SyncCounts::default()
        };
        counts.added = writer.add(&sql, &batch.added).await?;
        counts.modified = writer.modify(&sql, &batch.modified).await?;
        counts.removed = writer.remove(&sql, &batch.removed).await?;
        writer.settle(&sql, &batch.accounts).await?;
        sql.exec(
            "UPDATE plaid_connections SET sync_cursor = $1, sync_requested_at = NULL, \
             updated_at = $2 WHERE id = $3",
            [
                batch.cursor.into(),
                at.now.into(),
                batch.connection_id.into(),
            ],
        )
        .await?;
        txn.commit().await?;
        Ok(counts)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn apply_holdings(
        &self,
        batch: HoldingsBatch,
        at: WriteTime,
    ) -> Result<usize, RepoError> {
        // Revaluing other users' holdings locks their portfolios after the security, the
        // reverse of a trade's order; a deadlock that follows is retried like any collision.
        self.db
            .retrying(|| async {
                let txn = self.db.begin_write().await?;
                let held = crate::holdings::apply(&txn.sql(), &batch, at).await?;
                txn.commit().await?;
                Ok(held)
            })
            .await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        sql.locked(&CONNECTIONS, user_id, id).await?;
        // Unlinked, the transactions are the user's own: editable and deletable. The accounts
        // keep their Plaid ids as a record of where they came from (and the balance rule of a
        // linked account), while `connection_id` goes with the connection.
        sql.exec(
            "UPDATE transactions SET plaid_transaction_id = NULL WHERE account_id IN \
             (SELECT id FROM accounts WHERE connection_id = $1)",
            [id.into()],
        )
        .await?;
        sql.exec(
            "UPDATE accounts SET connection_id = NULL WHERE connection_id = $1",
            [id.into()],
        )
        .await?;
        sql.exec("DELETE FROM plaid_connections WHERE id = $1", [id.into()])
            .await?;
        txn.commit().await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tokens(&self) -> Result<Vec<(Uuid, Sealed)>, RepoError> {
        self.db
            .sql()
            .read_all(
                "SELECT id, access_token, key_id FROM plaid_connections ORDER BY id",
                [],
                |row| Ok((row.get("id")?, sealed(row)?)),
            )
            .await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn replace_token(&self, id: Uuid, old: Sealed, new: Sealed) -> Result<bool, RepoError> {
        let changed = self
            .db
            .sql()
            .exec(
                "UPDATE plaid_connections SET access_token = $1, key_id = $2 \
                 WHERE id = $3 AND access_token = $4",
                [
                    new.ciphertext.into(),
                    new.key_id.into(),
                    id.into(),
                    old.ciphertext.into(),
                ],
            )
            .await?;
        Ok(changed == 1)
    }
}

fn sealed(row: &Row) -> Result<Sealed, RepoError> {
    Ok(Sealed {
        key_id: row.get::<Option<String>>("key_id")?.unwrap_or_default(),
        ciphertext: row.get("access_token")?,
    })
}

/// A stored transaction a batch touches, and whether the user chose its category.
struct Stored {
    transaction: Transaction,
    category_edited: bool,
}

/// The state of one sync's write: the user's linked accounts by Plaid id, which of them this
/// batch created, the stored transactions it touches by Plaid id, and the balance steps it owes
/// each account, applied once at the end.
struct BatchWriter {
    user_id: Uuid,
    connection_id: Uuid,
    institution_name: Option<String>,
    at: WriteTime,
    accounts: HashMap<String, Account>,
    created: HashSet<Uuid>,
    stored: HashMap<String, Stored>,
    steps: HashMap<Uuid, BTreeMap<NaiveDate, Money>>,
}

impl BatchWriter {
    /// Upserts the batch's accounts and reads the stored transactions it refers to.
    async fn load(
        sql: &Sql<'_, impl ConnectionTrait>,
        batch: &SyncBatch,
        at: WriteTime,
    ) -> Result<Self, RepoError> {
        let mut writer = Self {
            user_id: batch.user_id,
            connection_id: batch.connection_id,
            institution_name: batch.institution_name.clone(),
            at,
            accounts: HashMap::new(),
            created: HashSet::new(),
            stored: HashMap::new(),
            steps: HashMap::new(),
        };
        for row in sql
            .all(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts \
                     WHERE user_id = $1 AND plaid_account_id IS NOT NULL"
                ),
                [batch.user_id.into()],
            )
            .await?
        {
            let account = rows::account(&row)?;
            if let Some(plaid_id) = account.plaid_account_id.clone() {
                writer.accounts.insert(plaid_id, account);
            }
        }
        for synced in &batch.accounts {
            writer.upsert_account(sql, synced).await?;
        }
        let wanted: Vec<&str> = batch
            .added
            .iter()
            .chain(&batch.modified)
            .flat_map(|t| {
                std::iter::once(t.plaid_transaction_id.as_str())
                    .chain(t.pending_transaction_id.as_deref())
            })
            .chain(batch.removed.iter().map(String::as_str))
            .collect();
        for chunk in wanted.chunks(LOOKUP_CHUNK) {
            let values: Vec<Value> = chunk.iter().map(|id| (*id).into()).collect();
            let select = format!(
                "SELECT {TRANSACTION_COLUMNS}, category_edited FROM transactions \
                 WHERE user_id = $1 AND plaid_transaction_id IN ({})",
                placeholders(chunk.len(), 2)
            );
            let rows = sql
                .all(&select, std::iter::once(batch.user_id.into()).chain(values))
                .await?;
            for row in rows {
                let transaction = rows::transaction(&row)?;
                let category_edited = row.get("category_edited")?;
                if let Some(plaid_id) = transaction.plaid_transaction_id.clone() {
                    writer.stored.insert(
                        plaid_id,
                        Stored {
                            transaction,
                            category_edited,
                        },
                    );
                }
            }
        }
        Ok(writer)
    }

    /// Creates the account (at 0, opened today: [`Self::settle`] derives its opening), or
    /// refreshes its name and link.
    async fn upsert_account(
        &mut self,
        sql: &Sql<'_, impl ConnectionTrait>,
        synced: &SyncedAccount,
    ) -> Result<(), RepoError> {
        let now = self.at.now;
        if let Some(account) = self.accounts.get_mut(&synced.plaid_account_id) {
            sql.exec(
                "UPDATE accounts SET name = $1, connection_id = $2, updated_at = $3 WHERE id = $4",
                [
                    synced.name.clone().into(),
                    self.connection_id.into(),
                    now.into(),
                    account.id.into(),
                ],
            )
            .await?;
            account.name.clone_from(&synced.name);
            account.connection_id = Some(self.connection_id);
            return Ok(());
        }
        let account = Account {
            id: Uuid::now_v7(),
            user_id: self.user_id,
            name: synced.name.clone(),
            account_type: synced.account_type,
            institution_name: self.institution_name.clone(),
            current_balance: Money::ZERO,
            opening_balance: Money::ZERO,
            opened_on: self.at.today,
            available_balance: synced.available_balance,
            currency: synced.currency,
            plaid_account_id: Some(synced.plaid_account_id.clone()),
            connection_id: Some(self.connection_id),
            created_at: now,
            updated_at: now,
        };
        sql.exec(
            "INSERT INTO accounts (id, user_id, connection_id, plaid_account_id, name, type, \
             institution_name, current_balance, opening_balance, opened_on, available_balance, \
             currency, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $12)",
            [
                account.id.into(),
                account.user_id.into(),
                self.connection_id.into(),
                synced.plaid_account_id.clone().into(),
                account.name.clone().into(),
                account.account_type.as_str().into(),
                account.institution_name.clone().into(),
                sql.money(Money::ZERO)?,
                account.opened_on.into(),
                sql.money_opt(account.available_balance)?,
                account.currency.as_str().into(),
                now.into(),
            ],
        )
        .await?;
        self.created.insert(account.id);
        self.accounts
            .insert(synced.plaid_account_id.clone(), account);
        Ok(())
    }

    /// Owes `t`'s account the change from `before` to `after` (either may be absent).
    fn owe(
        &mut self,
        account: &Account,
        before: Option<&Transaction>,
        after: Option<&Transaction>,
    ) -> Result<(), RepoError> {
        let step = |t: &Transaction| {
            Step::of(
                Posting {
                    amount: t.amount,
                    is_pending: t.is_pending,
                },
                t.date,
                account.account_type,
            )
        };
        let owed = self.steps.entry(account.id).or_default();
        for s in ledger::replace(before.and_then(step), after.and_then(step))? {
            let entry = owed.entry(s.date).or_insert(Money::ZERO);
            *entry = entry.checked_add(s.delta)?;
        }
        Ok(())
    }

    /// Inserts new transactions (in bulk), turns a pending one into the posted one that
    /// replaces it, and treats one stored already (a replay) as a change.
    async fn add(
        &mut self,
        sql: &Sql<'_, impl ConnectionTrait>,
        added: &[SyncedTransaction],
    ) -> Result<usize, RepoError> {
        let mut fresh = Vec::new();
        let mut count = 0;
        for t in added {
            let Some(account) = self.accounts.get(&t.plaid_account_id).cloned() else {
                continue;
            };
            if self.stored.contains_key(&t.plaid_transaction_id) {
                self.change(sql, &account, t, &t.plaid_transaction_id)
                    .await?;
            } else if let Some(pending) = t
                .pending_transaction_id
                .as_deref()
                .filter(|p| self.stored.contains_key(*p))
            {
                self.change(sql, &account, t, pending).await?;
                count += 1;
            } else {
                let created = Transaction {
                    id: Uuid::now_v7(),
                    account_id: account.id,
                    amount: t.amount,
                    date: t.date,
                    description: t.description.clone(),
                    merchant_name: t.merchant_name.clone(),
                    category: t.category,
                    is_pending: t.is_pending,
                    is_recurring: false,
                    plaid_transaction_id: Some(t.plaid_transaction_id.clone()),
                    created_at: self.at.now,
                    updated_at: self.at.now,
                };
                self.owe(&account, None, Some(&created))?;
                self.stored.insert(
                    t.plaid_transaction_id.clone(),
                    Stored {
                        transaction: created.clone(),
                        category_edited: false,
                    },
                );
                fresh.push(created);
                count += 1;
            }
        }
        self.insert(sql, &fresh).await?;
        Ok(count)
    }

    /// Applies changed transactions; one never seen before is added.
    async fn modify(
        &mut self,
        sql: &Sql<'_, impl ConnectionTrait>,
        modified: &[SyncedTransaction],
    ) -> Result<usize, RepoError> {
        let mut count = 0;
        for t in modified {
            let Some(account) = self.accounts.get(&t.plaid_account_id).cloned() else {
                continue;
            };
            if self.stored.contains_key(&t.plaid_transaction_id) {
                count += usize::from(
                    self.change(sql, &account, t, &t.plaid_transaction_id)
                        .await?,
                );
            } else {
                count += self.add(sql, std::slice::from_ref(t)).await?;
            }
        }
        Ok(count)
    }

    /// Rewrites the stored transaction `stored_id` as `t` says, keeping the user's own choices
    /// (a category they picked, the recurring flag) and the row's history. Whether it changed.
    async fn change(
        &mut self,
        sql: &Sql<'_, impl ConnectionTrait>,
        account: &Account,
        t: &SyncedTransaction,
        stored_id: &str,
    ) -> Result<bool, RepoError> {
        let Some(Stored {
            transaction: before,
            category_edited,
        }) = self.stored.remove(stored_id)
        else {
            return Ok(false);
        };
        let mut after = before.clone();
        after.account_id = account.id;
        after.amount = t.amount;
        after.date = t.date;
        after.description.clone_from(&t.description);
        after.merchant_name.clone_from(&t.merchant_name);
        after.is_pending = t.is_pending;
        after.plaid_transaction_id = Some(t.plaid_transaction_id.clone());
        if !category_edited {
            after.category = t.category;
        }
        if after != before {
            after.updated_at = self.at.now;
            if after.account_id != before.account_id {
                if let Some(old) = self
                    .accounts
                    .values()
                    .find(|a| a.id == before.account_id)
                    .cloned()
                {
                    self.owe(&old, Some(&before), None)?;
                }
                self.owe(account, None, Some(&after))?;
            } else {
                self.owe(account, Some(&before), Some(&after))?;
            }
            sql.exec(
                "UPDATE transactions SET account_id = $1, amount = $2, date = $3, \
                 description = $4, merchant_name = $5, category = $6, is_pending = $7, \
                 plaid_transaction_id = $8, updated_at = $9 WHERE id = $10",
                std::iter::once(after.account_id.into())
                    .chain(content(sql, &after)?)
                    .chain([
                        after.is_pending.into(),
                        after.plaid_transaction_id.clone().into(),
                        self.at.now.into(),
                        after.id.into(),
                    ]),
            )
            .await?;
            record(sql, self.user_id, Some(&before), Some(&after), self.at).await?;
        }
        let changed = after != before;
        self.stored.insert(
            t.plaid_transaction_id.clone(),
            Stored {
                transaction: after,
                category_edited,
            },
        );
        Ok(changed)
    }

    /// Deletes removed transactions (one already gone, or renamed into its posted successor
    /// in this batch, is passed over).
    async fn remove(
        &mut self,
        sql: &Sql<'_, impl ConnectionTrait>,
        removed: &[String],
    ) -> Result<usize, RepoError> {
        let mut count = 0;
        for plaid_id in removed {
            let Some(Stored {
                transaction: before,
                ..
            }) = self.stored.remove(plaid_id)
            else {
                continue;
            };
            if before.plaid_transaction_id.as_deref() != Some(plaid_id.as_str()) {
                continue;
            }
            let Some(account) = self
                .accounts
                .values()
                .find(|a| a.id == before.account_id)
                .cloned()
            else {
                continue;
            };
            self.owe(&account, Some(&before), None)?;
            sql.exec("DELETE FROM transactions WHERE id = $1", [before.id.into()])
                .await?;
            record(sql, self.user_id, Some(&before), None, self.at).await?;
            count += 1;
        }
        Ok(count)
    }

    /// Inserts new transactions and their "created" history, many rows per statement.
    async fn insert(
        &self,
        sql: &Sql<'_, impl ConnectionTrait>,
        fresh: &[Transaction],
    ) -> Result<(), RepoError> {
        for chunk in fresh.chunks(INSERT_CHUNK) {
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 12);
            let mut history: Vec<Value> = Vec::with_capacity(chunk.len() * 7);
            for t in chunk {
                values.extend([t.id.into(), self.user_id.into(), t.account_id.into()]);
                values.extend(content(sql, t)?);
                values.extend([
                    t.is_pending.into(),
                    t.is_recurring.into(),
                    t.plaid_transaction_id.clone().into(),
                    self.at.now.into(),
                ]);
                history.extend([
                    Uuid::now_v7().into(),
                    self.user_id.into(),
                    t.id.into(),
                    t.account_id.into(),
                    HistoryAction::Created.as_str().into(),
                    serde_json::Value::Object(Transaction::diff(None, Some(t))).into(),
                    self.at.now.into(),
                ]);
            }
            sql.exec(
                &format!(
                    "INSERT INTO transactions (id, user_id, account_id, amount, date, \
                     description, merchant_name, category, is_pending, is_recurring, \
                     plaid_transaction_id, created_at, updated_at) VALUES {}",
                    tuples(chunk.len(), 12, |row, n| format!("{row}, ${n}"))
                ),
                values,
            )
            .await?;
            sql.exec(
                &format!(
                    "INSERT INTO transaction_history (id, user_id, transaction_id, account_id, \
                     action, changes, created_at) VALUES {}",
                    tuples(chunk.len(), 7, |row, _| row)
                ),
                history,
            )
            .await?;
        }
        Ok(())
    }

    /// Brings every touched account's balance history up to date: the steps it is owed, then
    /// the institution's balance. A new account's opening balance is derived so that its
    /// posted transactions lead to that balance; on a known account a difference becomes an
    /// adjustment dated today.
    async fn settle(
        &mut self,
        sql: &Sql<'_, impl ConnectionTrait>,
        synced: &[SyncedAccount],
    ) -> Result<(), RepoError> {
        let reported: HashMap<&str, &SyncedAccount> = synced
            .iter()
            .map(|a| (a.plaid_account_id.as_str(), a))
            .collect();
        let today = self.at.today;
        let now = self.at.now;
        for (plaid_id, account) in &mut self.accounts {
            let owed = self.steps.remove(&account.id).unwrap_or_default();
            let bank = reported.get(plaid_id.as_str());
            if self.created.contains(&account.id) {
                let Some(bank) = bank else { continue };
                let moved = owed
                    .range(..=today)
                    .try_fold(Money::ZERO, |sum, (_, delta)| sum.checked_add(*delta))?;
                account.opening_balance = bank.balance.checked_sub(moved)?;
                account.opened_on = owed
                    .keys()
                    .next()
                    .map_or(today, |first| (*first).min(today));
                sql.exec(
                    "UPDATE accounts SET opening_balance = $1, opened_on = $2 WHERE id = $3",
                    [
                        sql.money(account.opening_balance)?,
                        account.opened_on.into(),
                        account.id.into(),
                    ],
                )
                .await?;
                points::rebuild(sql, account, now).await?;
                continue;
            }
            if let Some(first) = owed.keys().next().filter(|d| **d < account.opened_on) {
                points::move_opening(sql, account, *first, now).await?;
            }
            if owed.len() > REBUILD_AFTER {
                points::rebuild(sql, account, now).await?;
            } else {
                let steps: Vec<Step> = owed
                    .into_iter()
                    .filter(|(_, delta)| !delta.is_zero())
                    .map(|(date, delta)| Step { date, delta })
                    .collect();
                points::apply(sql, account, &steps, now).await?;
            }
            let Some(bank) = bank else { continue };
            points::reconcile(sql, account, today, bank.balance, now).await?;
            if account.available_balance != bank.available_balance {
                points::set_available(sql, account, bank.available_balance, today, now).await?;
            }
        }
        Ok(())
    }
}

/// `$first, ..., $(first + n - 1)`.
fn placeholders(n: usize, first: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `rows` tuples of `width` placeholders each, numbered from `$1`; `last` may append to each
/// tuple's list (given the list and the next free number) before it is closed.
fn tuples(rows: usize, width: usize, last: impl Fn(String, usize) -> String) -> String {
    (0..rows)
        .map(|r| {
            let list = placeholders(width, r * width + 1);
            format!("({})", last(list, r * width + width))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
