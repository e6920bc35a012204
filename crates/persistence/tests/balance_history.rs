//! Balance history from the ledger, through the real repositories on both backends: an
//! account's balance on every date is its opening balance (from its opening date) plus its
//! posted transactions plus its adjustments dated on or before it, whatever order the writes
//! came in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{at, cents, day, m};
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use nestegg_domain::{
    AccountName, AccountType, CurrencyCode, DomainError, Money, TransactionAmount,
    TransactionCategory,
};
use nestegg_persistence::testing::{Backend, TestDb};
use nestegg_persistence::{
    SqlAccountRepository, SqlReportRepository, SqlTransactionRepository, both_backends,
};
use nestegg_ports::{
    Account, AccountRepository, AccountUpdate, NewAccount, NewTransaction, RepoError,
    ReportRepository, TransactionRepository, TransactionUpdate,
};
use proptest::prelude::*;
use uuid::Uuid;

struct Repos {
    /// Kept so the database lives as long as the repositories.
    _db: TestDb,
    user: Uuid,
    accounts: SqlAccountRepository,
    transactions: SqlTransactionRepository,
    reports: SqlReportRepository,
}

impl Repos {
    async fn new(db: TestDb) -> Self {
        let user = common::make_user(&db, "ada").await.id;
        Self {
            accounts: SqlAccountRepository::new(db.db.clone()),
            transactions: SqlTransactionRepository::new(db.db.clone()),
            reports: SqlReportRepository::new(db.db.clone()),
            user,
            _db: db,
        }
    }

    async fn open(&self, t: AccountType, opening: Money, opened_on: Option<NaiveDate>) -> Uuid {
        self.accounts
            .create(
                NewAccount {
                    id: Uuid::now_v7(),
                    user_id: self.user,
                    name: AccountName::parse("Account").unwrap(),
                    account_type: t,
                    institution_name: None,
                    current_balance: opening,
                    available_balance: None,
                    currency: CurrencyCode::USD,
                    opened_on,
                },
                at(),
            )
            .await
            .unwrap()
            .id
    }

    async fn post(
        &self,
        account: Uuid,
        amount: Money,
        date: NaiveDate,
        pending: bool,
    ) -> Result<Uuid, RepoError> {
        self.transactions
            .create(
                NewTransaction {
                    id: Uuid::now_v7(),
                    user_id: self.user,
                    account_id: account,
                    amount: TransactionAmount::new(amount).unwrap(),
                    date,
                    description: "t".into(),
                    merchant_name: None,
                    category: TransactionCategory::Other,
                    is_pending: pending,
                    is_recurring: false,
                },
                at(),
            )
            .await
            .map(|t| t.id)
    }

    async fn change(&self, id: Uuid, update: TransactionUpdate) -> Result<(), RepoError> {
        self.transactions
            .update(self.user, id, update, at())
            .await
            .map(drop)
    }

    async fn update(&self, account: Uuid, update: AccountUpdate) -> Result<(), RepoError> {
        self.accounts
            .update(self.user, account, update, at())
            .await
            .map(drop)
    }

    /// States the account's balance (on `as_of`, or today).
    async fn reconcile(
        &self,
        account: Uuid,
        balance: Money,
        as_of: Option<NaiveDate>,
    ) -> Result<(), RepoError> {
        let update = AccountUpdate {
            current_balance: Some(balance),
            as_of,
            ..Default::default()
        };
        self.update(account, update).await
    }

    /// Moves the account's opening date.
    async fn reopen(&self, account: Uuid, opened_on: NaiveDate) -> Result<(), RepoError> {
        let update = AccountUpdate {
            opened_on: Some(opened_on),
            ..Default::default()
        };
        self.update(account, update).await
    }

    /// Marks the transaction pending or posted.
    async fn set_pending(&self, id: Uuid, pending: bool) -> Result<(), RepoError> {
        let update = TransactionUpdate {
            is_pending: Some(pending),
            ..Default::default()
        };
        self.change(id, update).await
    }

    /// The balance on `date` as reports read it.
    async fn balance_on(&self, account: Uuid, date: NaiveDate) -> Money {
        self.reports
            .balances_on(self.user, date)
            .await
            .unwrap()
            .get(&account)
            .copied()
            .unwrap_or(Money::ZERO)
    }

    /// The balance on `date` as `GET /accounts/{id}/snapshots` shows it: the latest point on
    /// or before it.
    async fn point_on(&self, account: Uuid, date: NaiveDate) -> Money {
        self.accounts
            .snapshots(self.user, account, None, Some(date))
            .await
            .unwrap()
            .last()
            .map_or(Money::ZERO, |s| s.balance)
    }

    async fn account(&self, id: Uuid) -> Account {
        self.accounts.get(self.user, id).await.unwrap()
    }

    async fn current(&self, account: Uuid) -> Money {
        self.account(account).await.current_balance
    }

    async fn opened_on(&self, account: Uuid) -> NaiveDate {
        self.account(account).await.opened_on
    }

    /// Every day from `from` to `to` reads `expected` both ways.
    async fn assert_days(&self, account: Uuid, expected: &[(i64, &str)]) {
        for (d, want) in expected {
            assert_eq!(
                self.balance_on(account, day(*d)).await,
                m(want),
                "report balance on day {d}"
            );
            assert_eq!(
                self.point_on(account, day(*d)).await,
                m(want),
                "snapshot on day {d}"
            );
        }
    }
}

both_backends!(
    three_back_dated_transactions_read_right_on_every_day,
    |db: TestDb| async move {
        let r = Repos::new(db).await;
        // A checking account opened today with 1000; then -100, +500 and -50 dated 40, 20
        // and 5 days ago.
        let a = r.open(AccountType::Checking, m("1000"), None).await;
        for (amount, d) in [("-100", -40), ("500", -20), ("-50", -5)] {
            r.post(a, m(amount), day(d), false).await.unwrap();
        }
        assert_eq!(r.opened_on(a).await, day(-40));
        assert_eq!(r.current(a).await, m("1350"));
        let mut expected = vec![(-45, "0"), (-41, "0")];
        expected.extend((-40..-20).map(|d| (d, "900")));
        expected.extend((-20..-5).map(|d| (d, "1400")));
        expected.extend((-5..=0).map(|d| (d, "1350")));
        r.assert_days(a, &expected).await;
        // One point per date where the balance changed.
        let points = r.accounts.snapshots(r.user, a, None, None).await.unwrap();
        let dates: Vec<NaiveDate> = points.iter().map(|p| p.date).collect();
        assert!(dates.contains(&day(-40)) && dates.contains(&day(-20)) && dates.contains(&day(-5)));
    }
);

both_backends!(
    a_reconciliation_steps_the_history_on_its_day_and_later_days_keep_their_transactions,
    |db: TestDb| async move {
        let r = Repos::new(db).await;
        let a = r
            .open(AccountType::Checking, m("1000"), Some(day(-30)))
            .await;
        r.post(a, m("500"), day(-20), false).await.unwrap();
        r.post(a, m("-50"), day(-5), false).await.unwrap();
        // The bank said 1234.56 ten days ago; the ledger said 1500.
        r.reconcile(a, m("1234.56"), Some(day(-10))).await.unwrap();
        r.assert_days(
            a,
            &[
                (-30, "1000"),
                (-20, "1500"),
                (-11, "1500"),
                (-10, "1234.56"),
                (-5, "1184.56"),
                (0, "1184.56"),
            ],
        )
        .await;
        assert_eq!(r.current(a).await, m("1184.56"));
        let adjustments = r.accounts.adjustments(r.user, a).await.unwrap();
        assert_eq!(adjustments.len(), 1);
        assert_eq!(
            (
                adjustments[0].date,
                adjustments[0].amount,
                adjustments[0].balance
            ),
            (day(-10), m("-265.44"), m("1234.56"))
        );
        // Stating what the ledger already says records nothing.
        r.reconcile(a, m("1184.56"), None).await.unwrap();
        assert_eq!(r.accounts.adjustments(r.user, a).await.unwrap().len(), 1);
        // Before the opening date there is nothing to reconcile.
        let err = r.reconcile(a, m("1"), Some(day(-31))).await.unwrap_err();
        assert!(
            matches!(err, RepoError::Rule(DomainError::BeforeOpening { .. })),
            "{err:?}"
        );
    }
);

both_backends!(
    an_edit_that_moves_a_transaction_across_a_week_boundary_moves_its_effect_with_it,
    |db: TestDb| async move {
        let r = Repos::new(db).await;
        let a = r.open(AccountType::Savings, m("100"), Some(day(-30))).await;
        let paycheck = r.post(a, m("500"), day(-20), false).await.unwrap();
        r.change(
            paycheck,
            TransactionUpdate {
                date: Some(day(-3)),
                amount: Some(TransactionAmount::new(m("450")).unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        r.assert_days(
            a,
            &[
                (-21, "100"),
                (-20, "100"),
                (-4, "100"),
                (-3, "550"),
                (0, "550"),
            ],
        )
        .await;
        // Back to pending: it counts nowhere; posted again: it counts from its date.
        r.set_pending(paycheck, true).await.unwrap();
        r.assert_days(a, &[(-3, "100"), (0, "100")]).await;
        r.set_pending(paycheck, false).await.unwrap();
        r.assert_days(a, &[(-4, "100"), (-3, "550")]).await;
        // Deleting it takes it out of every later day.
        r.transactions.delete(r.user, paycheck, at()).await.unwrap();
        r.assert_days(a, &[(-3, "100"), (0, "100")]).await;
        assert_eq!(r.current(a).await, m("100"));
    }
);

both_backends!(
    the_opening_date_moves_back_with_older_transactions_and_never_after_the_first_entry,
    |db: TestDb| async move {
        let r = Repos::new(db).await;
        let house = r.open(AccountType::Other, m("425000"), None).await;
        // An account without transactions carries its opening forward.
        r.assert_days(house, &[(-1, "0"), (0, "425000")]).await;
        r.reopen(house, day(-400)).await.unwrap();
        r.assert_days(house, &[(-401, "0"), (-400, "425000"), (-1, "425000")])
            .await;
        let card = r
            .open(AccountType::CreditCard, Money::ZERO, Some(day(-10)))
            .await;
        r.post(card, m("-45.50"), day(-15), false).await.unwrap();
        assert_eq!(r.opened_on(card).await, day(-15));
        r.assert_days(card, &[(-16, "0"), (-15, "45.5"), (0, "45.5")])
            .await;
        let err = r.reopen(card, day(-14)).await.unwrap_err();
        assert!(
            matches!(err, RepoError::Rule(DomainError::OpenedAfterFirstEntry { first }) if first == day(-15)),
            "{err:?}"
        );
        let err = r.reopen(card, day(1)).await.unwrap_err();
        assert!(
            matches!(err, RepoError::Rule(DomainError::InFuture { .. })),
            "{err:?}"
        );
    }
);

both_backends!(
    a_transaction_dated_after_today_counts_from_its_date_and_not_today,
    |db: TestDb| async move {
        let r = Repos::new(db).await;
        let a = r.open(AccountType::Checking, m("100"), None).await;
        r.post(a, m("2500"), day(7), false).await.unwrap();
        assert_eq!(r.balance_on(a, day(0)).await, m("100"));
        assert_eq!(r.balance_on(a, day(7)).await, m("2600"));
        assert_eq!(r.current(a).await, m("2600"));
    }
);

/// What a test does to one account.
#[derive(Debug, Clone)]
enum Op {
    /// Create a transaction: cents, day offset, pending.
    Create(i64, i64, bool),
    /// Change the nth live transaction's amount and date.
    Edit(usize, i64, i64),
    /// Post or unpost the nth live transaction.
    Pending(usize, bool),
    /// Delete the nth live transaction.
    Delete(usize),
    /// Reconcile to cents on a day.
    Reconcile(i64, i64),
    /// Move the opening date.
    Open(i64),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let amount = (-40_000i64..60_000).prop_filter("non-zero", |c| *c != 0);
    let date = -60i64..=0;
    proptest::collection::vec(
        prop_oneof![
            4 => (amount.clone(), date.clone(), any::<bool>()).prop_map(|(a, d, p)| Op::Create(a, d, p)),
            2 => (any::<usize>(), amount, date.clone()).prop_map(|(i, a, d)| Op::Edit(i, a, d)),
            1 => (any::<usize>(), any::<bool>()).prop_map(|(i, p)| Op::Pending(i, p)),
            1 => any::<usize>().prop_map(Op::Delete),
            1 => (0i64..500_000, date.clone()).prop_map(|(c, d)| Op::Reconcile(c, d)),
            1 => (-90i64..=0).prop_map(Op::Open),
        ],
        1..20,
    )
}

/// The plain recomputation: entries summed per date.
#[derive(Debug)]
struct Model {
    opening: (NaiveDate, Money),
    transactions: BTreeMap<Uuid, (NaiveDate, Money, bool)>,
    adjustments: Vec<(NaiveDate, Money)>,
}

impl Model {
    fn balance_on(&self, date: NaiveDate) -> Money {
        let mut total = Money::ZERO;
        if self.opening.0 <= date {
            total = total.checked_add(self.opening.1).unwrap();
        }
        for (d, a, pending) in self.transactions.values() {
            if !pending && *d <= date {
                total = total.checked_add(*a).unwrap();
            }
        }
        for (d, a) in &self.adjustments {
            if *d <= date {
                total = total.checked_add(*a).unwrap();
            }
        }
        total
    }

    fn first_entry(&self) -> Option<NaiveDate> {
        self.transactions
            .values()
            .map(|t| t.0)
            .chain(self.adjustments.iter().map(|a| a.0))
            .min()
    }

    fn nth(&self, i: usize) -> Option<Uuid> {
        (!self.transactions.is_empty()).then(|| {
            *self
                .transactions
                .keys()
                .nth(i % self.transactions.len())
                .unwrap()
        })
    }

    /// The opening date moves back to a transaction dated before it.
    fn reopen_for(&mut self, date: NaiveDate) {
        if date < self.opening.0 {
            self.opening.0 = date;
        }
    }
}

async fn random_writes(backend: Backend, ops: Vec<Op>) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let r = Repos::new(db).await;
    // A savings account: anything that would take it below zero is refused and changes
    // nothing, which the model must then ignore too.
    let opening = m("2000");
    let a = r.open(AccountType::Savings, opening, Some(day(-30))).await;
    let mut model = Model {
        opening: (day(-30), opening),
        transactions: BTreeMap::new(),
        adjustments: Vec::new(),
    };
    for op in ops {
        match op {
            Op::Create(c, d, pending) => {
                if let Ok(id) = r.post(a, cents(c), day(d), pending).await {
                    model.reopen_for(day(d));
                    model.transactions.insert(id, (day(d), cents(c), pending));
                }
            }
            Op::Edit(i, c, d) => {
                let Some(id) = model.nth(i) else { continue };
                let update = TransactionUpdate {
                    amount: Some(TransactionAmount::new(cents(c)).unwrap()),
                    date: Some(day(d)),
                    ..Default::default()
                };
                if r.change(id, update).await.is_ok() {
                    model.reopen_for(day(d));
                    let t = model.transactions.get_mut(&id).unwrap();
                    (t.0, t.1) = (day(d), cents(c));
                }
            }
            Op::Pending(i, pending) => {
                let Some(id) = model.nth(i) else { continue };
                if r.set_pending(id, pending).await.is_ok() {
                    model.transactions.get_mut(&id).unwrap().2 = pending;
                }
            }
            Op::Delete(i) => {
                let Some(id) = model.nth(i) else { continue };
                if r.transactions.delete(r.user, id, at()).await.is_ok() {
                    model.transactions.remove(&id);
                }
            }
            Op::Reconcile(c, d) => {
                let result = r.reconcile(a, cents(c), Some(day(d))).await;
                if day(d) < model.opening.0 {
                    assert!(result.is_err(), "a reconciliation before the opening");
                } else if result.is_ok() {
                    let diff = cents(c).checked_sub(model.balance_on(day(d))).unwrap();
                    if !diff.is_zero() {
                        model.adjustments.push((day(d), diff));
                    }
                }
            }
            Op::Open(d) => {
                let result = r.reopen(a, day(d)).await;
                let allowed = model.first_entry().is_none_or(|f| day(d) <= f);
                assert_eq!(result.is_ok(), allowed, "opening on day {d}: {result:?}");
                if allowed {
                    model.opening.0 = day(d);
                }
            }
        }
    }
    assert_eq!(r.opened_on(a).await, model.opening.0);
    for d in -95..=1 {
        let want = model.balance_on(day(d));
        assert_eq!(r.balance_on(a, day(d)).await, want, "day {d}");
    }
    assert_eq!(r.current(a).await, model.balance_on(day(1)));
    assert!(!r.current(a).await.is_negative());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn any_sequence_of_dated_writes_leaves_every_days_balance_equal_to_the_plain_sum_on_sqlite_and_postgres(
        ops in ops(),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(random_writes(Backend::Sqlite, ops.clone()));
        rt.block_on(random_writes(Backend::Postgres, ops));
    }
}

async fn concurrent_back_dated(db: TestDb) {
    let r = Arc::new(Repos::new(db).await);
    let a = r
        .open(AccountType::Checking, m("100"), Some(day(-60)))
        .await;
    // Pairs of writes racing each other, each back-dated to another day.
    let tasks: Vec<_> = (0..20i64)
        .map(|i| {
            let r = Arc::clone(&r);
            tokio::spawn(async move { r.post(a, cents(1_000 + i), day(-50 + 2 * i), false).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for d in -61..=0 {
        // 100 plus every deposit i of 10.00 + i cents dated -50 + 2i on or before day d.
        let posted: i64 = (0..20i64)
            .filter(|i| -50 + 2 * i <= d)
            .map(|i| 1_000 + i)
            .sum();
        let want = if d < -60 {
            Money::ZERO
        } else {
            m("100").checked_add(cents(posted)).unwrap()
        };
        assert_eq!(r.balance_on(a, day(d)).await, want, "day {d}");
    }
}

both_backends!(
    concurrent_back_dated_writes_to_one_account_leave_every_point_right,
    workers = 4,
    concurrent_back_dated
);
