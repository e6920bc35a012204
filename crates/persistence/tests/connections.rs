//! Linked connections through the real repository on both backends: a sync's batch lands in
//! one transaction, derives opening balances, replays without duplicates, keeps the user's
//! edits when a pending transaction posts, the sync lease admits one holder at a time, and
//! holdings follow the institution into the user's Plaid portfolio.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use common::{at, cost, day, m, qty, today};
use nestegg_domain::portfolio::Position;
use nestegg_domain::{
    AccountType, CurrencyCode, InvestmentType, Symbol, SyncStatus, TransactionCategory,
};
use nestegg_persistence::testing::TestDb;
use nestegg_persistence::{
    SqlAccountRepository, SqlConnectionRepository, SqlInvestmentRepository, SqlPortfolioRepository,
    SqlTransactionRepository, both_backends,
};
use nestegg_ports::{
    AccountRepository, Conflict, ConnectionRepository, HoldingsBatch, InvestmentRepository,
    NewConnection, NewItem, NewPortfolio, PortfolioRepository, RepoError, Sealed, SyncBatch,
    SyncCounts, SyncedAccount, SyncedHolding, SyncedSecurity, SyncedTransaction, TransactionFilter,
    TransactionRepository, TransactionUpdate, TypeTargets,
};
use uuid::Uuid;

struct Fixture {
    _db: TestDb,
    user: Uuid,
    connection: Uuid,
    repo: SqlConnectionRepository,
    accounts: SqlAccountRepository,
    transactions: SqlTransactionRepository,
}

impl Fixture {
    async fn new(db: TestDb) -> Self {
        let user = common::make_user(&db, "ada").await.id;
        let repo = SqlConnectionRepository::new(db.db.clone());
        let connection = repo
            .create(
                NewConnection {
                    id: Uuid::now_v7(),
                    user_id: user,
                    plaid_item_id: format!("item-{}", Uuid::now_v7()),
                    access_token: Sealed {
                        key_id: "k1".into(),
                        ciphertext: "v1:sealed".into(),
                    },
                    institution_id: Some("ins_109508".into()),
                    institution_name: Some("First Platypus Bank".into()),
                },
                common::now(),
            )
            .await
            .unwrap()
            .id;
        Self {
            accounts: SqlAccountRepository::new(db.db.clone()),
            transactions: SqlTransactionRepository::new(db.db.clone()),
            repo,
            user,
            connection,
            _db: db,
        }
    }

    fn batch(
        &self,
        cursor: &str,
        accounts: Vec<SyncedAccount>,
        added: Vec<SyncedTransaction>,
    ) -> SyncBatch {
        SyncBatch {
            connection_id: self.connection,
            user_id: self.user,
            institution_name: Some("First Platypus Bank".into()),
            from_cursor: None,
            cursor: cursor.into(),
            accounts,
            added,
            modified: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// Syncs accounts and new transactions, read up to `cursor`: [`Self::batch`], applied.
    async fn sync(
        &self,
        cursor: &str,
        accounts: Vec<SyncedAccount>,
        added: Vec<SyncedTransaction>,
    ) -> SyncCounts {
        self.apply(self.batch(cursor, accounts, added))
            .await
            .unwrap()
    }

    /// Applies `batch` as a sync would: read from the cursor saved now.
    async fn apply(&self, mut batch: SyncBatch) -> Result<SyncCounts, RepoError> {
        batch.from_cursor = self.cursor().await;
        self.repo.apply(batch, at()).await
    }

    /// Whether `holder` gets the connection's sync lease from `now` until `until` (see
    /// `ConnectionRepository::acquire`).
    async fn lease(
        &self,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        listed: Option<DateTime<Utc>>,
    ) -> bool {
        self.repo
            .acquire(self.connection, holder, now, until, listed)
            .await
            .unwrap()
    }

    async fn account(&self, plaid_id: &str) -> nestegg_ports::Account {
        self.accounts
            .list(self.user)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.plaid_account_id.as_deref() == Some(plaid_id))
            .expect("the synced account exists")
    }

    /// The account's balance adjustments, oldest first.
    async fn adjustments(&self, account: Uuid) -> Vec<nestegg_ports::Adjustment> {
        self.accounts.adjustments(self.user, account).await.unwrap()
    }

    /// The connection as its user reads it.
    async fn connection(&self) -> nestegg_ports::Connection {
        self.repo.get(self.user, self.connection).await.unwrap()
    }

    /// The cursor the next sync reads from.
    async fn cursor(&self) -> Option<String> {
        self.repo.secret(self.connection).await.unwrap().cursor
    }

    async fn stored(&self) -> Vec<nestegg_ports::Transaction> {
        self.transactions
            .list(
                self.user,
                TransactionFilter {
                    limit: 1000,
                    ..TransactionFilter::default()
                },
            )
            .await
            .unwrap()
            .items
    }
}

/// A USD account as the bank reports it.
fn synced(id: &str, name: &str, account_type: AccountType, balance: &str) -> SyncedAccount {
    SyncedAccount {
        plaid_account_id: id.into(),
        name: name.into(),
        account_type,
        balance: m(balance),
        available_balance: None,
        currency: CurrencyCode::USD,
    }
}

fn checking(balance: &str) -> SyncedAccount {
    synced(
        "acc-checking",
        "Plaid Checking",
        AccountType::Checking,
        balance,
    )
}

fn card(owed: &str) -> SyncedAccount {
    synced("acc-card", "Plaid Card", AccountType::CreditCard, owed)
}

fn txn(id: &str, account: &str, amount: &str, date: NaiveDate) -> SyncedTransaction {
    SyncedTransaction {
        plaid_transaction_id: id.into(),
        plaid_account_id: account.into(),
        amount: m(amount),
        date,
        description: format!("txn {id}"),
        merchant_name: None,
        category: TransactionCategory::Shopping,
        is_pending: false,
        pending_transaction_id: None,
    }
}

both_backends!(
    a_first_sync_derives_the_opening_balance_so_the_history_ends_at_the_banks_balance,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        let batch = f.batch(
            "c1",
            vec![checking("1000"), card("250")],
            vec![
                txn("t1", "acc-checking", "-100", day(-400)),
                txn("t2", "acc-checking", "2500", day(-30)),
                txn("t3", "acc-card", "-250", day(-3)),
                SyncedTransaction {
                    is_pending: true,
                    ..txn("t4", "acc-checking", "-40", day(0))
                },
            ],
        );
        let counts = f.apply(batch).await.unwrap();
        assert_eq!((counts.accounts, counts.added), (2, 4));

        let checking = f.account("acc-checking").await;
        assert_eq!(checking.current_balance, m("1000"));
        // 1000 = opening + (-100 + 2500): the pending one does not count yet.
        assert_eq!(checking.opening_balance, m("-1400"));
        assert_eq!(checking.opened_on, day(-400));
        assert_eq!(checking.connection_id, Some(f.connection));
        let points = f
            .accounts
            .snapshots(f.user, checking.id, None, None)
            .await
            .unwrap();
        let balances: Vec<_> = points.iter().map(|p| (p.date, p.balance)).collect();
        assert_eq!(
            balances,
            [(day(-400), m("-1500")), (day(-30), m("1000"))],
            "the history leads to the bank's balance"
        );

        // Spending on the card raised what is owed to the reported 250, from an opening of 0.
        let card = f.account("acc-card").await;
        assert_eq!(card.current_balance, m("250"));
        assert_eq!(card.opening_balance, m("0"));

        assert_eq!(f.cursor().await.as_deref(), Some("c1"));
    }
);

both_backends!(
    replaying_a_batch_changes_nothing_and_a_later_difference_is_an_adjustment_today,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        let batch = f.batch(
            "c1",
            vec![checking("500")],
            vec![
                txn("t1", "acc-checking", "-20", day(-10)),
                txn("t2", "acc-checking", "-30", day(-5)),
            ],
        );
        f.apply(batch.clone()).await.unwrap();
        let first = f.account("acc-checking").await;
        // The same batch again, as if a late sync read it from the old cursor: refused whole.
        let mut stale = batch.clone();
        stale.cursor = "c0".into();
        assert!(matches!(
            f.repo.apply(stale, at()).await,
            Err(RepoError::Conflict(Conflict::SyncSuperseded))
        ));
        assert_eq!(
            f.cursor().await.as_deref(),
            Some("c1"),
            "the cursor did not move back"
        );
        // Read from the saved cursor, the same transactions are recognized, not stored twice.
        let again = f.apply(batch).await.unwrap();
        assert_eq!((again.added, again.modified), (0, 0));
        assert_eq!(f.stored().await.len(), 2, "no duplicate");
        let second = f.account("acc-checking").await;
        assert_eq!(second.current_balance, first.current_balance);
        assert!(f.adjustments(second.id).await.is_empty());

        // The bank now says 480 with no new transaction: a -20 adjustment dated today.
        f.sync("c2", vec![checking("480")], vec![]).await;
        let adjusted = f.account("acc-checking").await;
        assert_eq!(adjusted.current_balance, m("480"));
        let adjustments = f.adjustments(adjusted.id).await;
        assert_eq!(adjustments.len(), 1);
        assert_eq!(
            (adjustments[0].date, adjustments[0].amount),
            (today(), m("-20"))
        );
    }
);

both_backends!(
    a_posted_transaction_replaces_its_pending_one_keeping_the_users_edits_and_history,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        let pending = SyncedTransaction {
            is_pending: true,
            ..txn("p1", "acc-checking", "-12.50", day(-2))
        };
        f.sync("c1", vec![checking("100")], vec![pending]).await;
        let stored = f.stored().await;
        let id = stored[0].id;
        f.transactions
            .update(
                f.user,
                id,
                TransactionUpdate {
                    category: Some(TransactionCategory::FoodAndDrink),
                    is_recurring: Some(true),
                    ..TransactionUpdate::default()
                },
                at(),
            )
            .await
            .unwrap();

        let posted = SyncedTransaction {
            pending_transaction_id: Some("p1".into()),
            ..txn("t1", "acc-checking", "-13.75", day(-1))
        };
        let mut batch = f.batch("c2", vec![checking("86.25")], vec![posted]);
        batch.removed = vec!["p1".into()];
        let counts = f.apply(batch).await.unwrap();
        assert_eq!((counts.added, counts.removed), (1, 0));

        let stored = f.stored().await;
        assert_eq!(
            stored.len(),
            1,
            "the posted one took the pending one's place"
        );
        let t = &stored[0];
        assert_eq!(t.id, id);
        assert_eq!(t.plaid_transaction_id.as_deref(), Some("t1"));
        assert_eq!(
            (t.amount, t.date, t.is_pending),
            (m("-13.75"), day(-1), false)
        );
        assert_eq!(t.category, TransactionCategory::FoodAndDrink);
        assert!(t.is_recurring);
        let history = f.transactions.history(f.user, id).await.unwrap();
        assert_eq!(history.len(), 3, "created, edited, posted");
        let account = f.account("acc-checking").await;
        assert_eq!(account.current_balance, m("86.25"));
        assert!(
            f.adjustments(account.id).await.is_empty(),
            "the posting alone explains the new balance"
        );
    }
);

both_backends!(
    modified_and_removed_transactions_move_the_history_and_unknown_ones_are_passed_over,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        f.sync(
            "c1",
            vec![checking("100")],
            vec![
                txn("t1", "acc-checking", "-10", day(-3)),
                txn("t2", "acc-checking", "-20", day(-2)),
                txn("x1", "acc-unknown", "-5", day(-2)),
            ],
        )
        .await;
        assert_eq!(f.stored().await.len(), 2);
        let mut batch = f.batch("c2", vec![checking("95")], vec![]);
        batch.modified = vec![txn("t1", "acc-checking", "-15", day(-3))];
        batch.removed = vec!["t2".into(), "never-seen".into()];
        let counts = f.apply(batch).await.unwrap();
        assert_eq!((counts.modified, counts.removed), (1, 1));
        let stored = f.stored().await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].amount, m("-15"));
        let account = f.account("acc-checking").await;
        // Opening 130 (100 + 10 + 20); -15 leaves 115; the bank's 95 is a -20 adjustment.
        assert_eq!(account.opening_balance, m("130"));
        assert_eq!(account.current_balance, m("95"));
        let adjustments = f.adjustments(account.id).await;
        assert_eq!(adjustments.len(), 1);
        assert_eq!(adjustments[0].amount, m("-20"));
    }
);

both_backends!(
    an_overdrawn_checking_account_is_stored_as_the_bank_reports_it,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        f.sync(
            "c1",
            vec![checking("-42.10")],
            vec![txn("t1", "acc-checking", "-100", day(-1))],
        )
        .await;
        assert_eq!(f.account("acc-checking").await.current_balance, m("-42.10"));
    }
);

both_backends!(
    the_sync_lease_admits_one_holder_until_it_expires_or_is_released,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let now = common::now();
        let until = now + TimeDelta::minutes(5);
        assert!(f.lease(a, now, until, None).await);
        assert!(!f.lease(b, now, until, None).await);
        // A crashed holder's lease runs out.
        let later = until + TimeDelta::seconds(1);
        assert!(f.lease(b, later, later + TimeDelta::minutes(5), None).await);
        f.repo.release(f.connection, a).await.unwrap();
        assert!(
            !f.lease(a, later, later, None).await,
            "a stale holder's release does not free another's lease"
        );
        f.repo.release(f.connection, b).await.unwrap();
        assert!(f.lease(a, later, later, None).await);
    }
);

both_backends!(
    a_lease_asked_for_a_connection_as_listed_is_refused_once_a_sync_changed_it_meanwhile,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        let now = common::now();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        // Both instances list the connection as due.
        let listed = f.repo.due(now, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        let as_listed = Some(listed[0].updated_at);
        // The first syncs it and gives the lease back.
        let until = now + TimeDelta::minutes(5);
        assert!(f.lease(a, now, until, as_listed).await);
        let later = now + TimeDelta::seconds(2);
        f.repo
            .set_status(f.connection, SyncStatus::Ok, None, Some(later), later)
            .await
            .unwrap();
        f.repo.release(f.connection, a).await.unwrap();

        // The second's list is older than that sync: no lease, so no second sync.
        assert!(!f.lease(b, later, until, as_listed).await);
        // Listed afresh (or asked for by hand) it is leased as before.
        let fresh = f.connection().await.updated_at;
        assert!(f.lease(b, later, until, Some(fresh)).await);
        f.repo.release(f.connection, b).await.unwrap();
        assert!(f.lease(a, later, until, None).await);
    }
);

both_backends!(
    statuses_are_recorded_and_a_linked_item_cannot_be_linked_twice,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        let now = common::now();
        f.repo
            .set_status(
                f.connection,
                SyncStatus::LoginRequired,
                Some("sign in again".into()),
                None,
                now,
            )
            .await
            .unwrap();
        let c = f.connection().await;
        assert_eq!(c.sync_status, SyncStatus::LoginRequired);
        assert!(c.last_sync_at.is_none());
        assert!(
            f.repo
                .due(now + TimeDelta::days(1), 10)
                .await
                .unwrap()
                .is_empty(),
            "a connection waiting for the user is not due"
        );
        f.repo
            .set_status(f.connection, SyncStatus::Ok, None, Some(now), now)
            .await
            .unwrap();
        let c = f.connection().await;
        assert_eq!(
            (c.sync_status, c.error_message, c.last_sync_at),
            (SyncStatus::Ok, None, Some(now))
        );

        let again = f
            .repo
            .create(
                NewConnection {
                    id: Uuid::now_v7(),
                    user_id: f.user,
                    plaid_item_id: c.plaid_item_id.clone(),
                    access_token: Sealed {
                        key_id: "k1".into(),
                        ciphertext: "v1:x".into(),
                    },
                    institution_id: None,
                    institution_name: None,
                },
                now,
            )
            .await;
        assert!(matches!(
            again,
            Err(RepoError::Conflict(Conflict::PlaidItem))
        ));
        let other = common::make_user(&f._db, "bob").await.id;
        assert!(matches!(
            f.repo.get(other, f.connection).await,
            Err(RepoError::NotFound)
        ));
    }
);

both_backends!(
    deleting_a_connection_keeps_its_accounts_and_history_as_manual_data,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        f.sync(
            "c1",
            vec![checking("100")],
            vec![txn("t1", "acc-checking", "-10", day(-3))],
        )
        .await;
        f.repo.delete(f.user, f.connection).await.unwrap();
        assert!(f.repo.list(f.user).await.unwrap().is_empty());
        let account = f.account("acc-checking").await;
        assert_eq!(account.connection_id, None);
        assert_eq!(account.current_balance, m("100"));
        let stored = f.stored().await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].plaid_transaction_id, None, "now editable");
    }
);

fn holding(security: &str, quantity: &str, average: &str, price: &str) -> SyncedHolding {
    SyncedHolding {
        plaid_security_id: security.into(),
        position: Position {
            quantity: qty(quantity),
            average_cost: cost(average),
        },
        price: common::price(price),
        price_date: today(),
    }
}

fn security(id: &str, symbol: &str) -> SyncedSecurity {
    SyncedSecurity {
        plaid_security_id: id.into(),
        symbol: Symbol::parse(symbol).unwrap(),
        name: format!("{symbol} fund"),
        investment_type: InvestmentType::Etf,
    }
}

both_backends!(
    holdings_match_shared_securities_by_ticker_revalue_every_holder_and_follow_what_is_held,
    |db: TestDb| async move {
        let f = Fixture::new(db).await;
        let portfolios = SqlPortfolioRepository::new(f._db.db.clone());
        let investments = SqlInvestmentRepository::new(f._db.db.clone());
        // A shared VTI another user already holds, priced at 200 yesterday.
        let vti = Uuid::now_v7();
        common::exec(
            &f._db,
            "INSERT INTO investments (id, symbol, name, type, created_at, updated_at) \
             VALUES ($1, 'VTI', 'Vanguard Total Stock Market', 'etf', $2, $2)",
            vec![vti.into(), common::now().into()],
        )
        .await;
        let bob = common::make_user(&f._db, "bob").await.id;
        let bobs = portfolios
            .create(
                NewPortfolio {
                    id: Uuid::now_v7(),
                    user_id: bob,
                    name: "Bob's".into(),
                    description: None,
                    currency: CurrencyCode::USD,
                    is_default: true,
                    target_allocation: TypeTargets::default(),
                },
                common::now(),
            )
            .await
            .unwrap()
            .id;
        portfolios
            .add_item(
                bob,
                bobs,
                NewItem {
                    id: Uuid::now_v7(),
                    investment_id: vti,
                    position: holding("x", "2", "150", "1").position,
                    target_allocation: None,
                },
                common::now(),
            )
            .await
            .unwrap();

        let batch = HoldingsBatch {
            user_id: f.user,
            securities: vec![security("sec-vti", "VTI"), security("sec-new", "NEWF")],
            holdings: vec![
                holding("sec-vti", "10", "180", "250"),
                holding("sec-new", "3", "10", "12.5"),
            ],
        };
        assert_eq!(f.repo.apply_holdings(batch.clone(), at()).await.unwrap(), 2);
        // Replaying it changes nothing.
        assert_eq!(f.repo.apply_holdings(batch, at()).await.unwrap(), 2);

        let mine = portfolios.list(f.user).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].name, "Plaid");
        assert!(
            mine[0].is_default,
            "a user's first portfolio is the default"
        );
        let items = portfolios.items(f.user, mine[0].id).await.unwrap();
        assert_eq!(items.len(), 2);
        let held_vti = items.iter().find(|i| i.investment_id == vti).unwrap();
        assert_eq!(held_vti.current_value, Some(m("2500")));
        assert_eq!(held_vti.unrealized_gain_loss, Some(m("700")));

        // The shared security took the institution's price, and Bob's holding moved with it.
        let prices = investments.prices(bob, vti, None, None).await.unwrap();
        assert_eq!(prices.len(), 1);
        assert_eq!(prices[0].price, common::price("250"));
        let bobs_items = portfolios.items(bob, bobs).await.unwrap();
        assert_eq!(bobs_items[0].current_value, Some(m("500")));

        // Sold at the bank: the item leaves the Plaid portfolio.
        f.repo
            .apply_holdings(
                HoldingsBatch {
                    user_id: f.user,
                    securities: vec![security("sec-new", "NEWF")],
                    holdings: vec![holding("sec-new", "3", "10", "13")],
                },
                at(),
            )
            .await
            .unwrap();
        let items = portfolios.items(f.user, mine[0].id).await.unwrap();
        assert_eq!(items.len(), 1);
        assert_ne!(items[0].investment_id, vti);
        assert_eq!(items[0].current_value, Some(m("39")));
    }
);
