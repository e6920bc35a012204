#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use mockall::predicate::eq;
use nestegg_ports::RepoError;
use nestegg_ports::cache::MockCache;
use nestegg_ports::transaction::MockTransactionRepository;

use super::*;
use crate::test_support::{
    Seen, check_page_limits, clock, date, dec, expect_invalidations, invalid_fields, money,
    overdraft, refusal, report_cache, transaction, transaction_from, validation, write_time,
};

struct Mocks {
    transactions: MockTransactionRepository,
    cache: MockCache,
}

impl Mocks {
    fn new() -> Self {
        Self {
            transactions: MockTransactionRepository::new(),
            cache: MockCache::new(),
        }
    }

    /// The store holds `current` under its id, which is returned.
    fn holding(&mut self, current: Transaction) -> Uuid {
        let id = current.id;
        self.transactions
            .expect_get()
            .withf(move |_, i| *i == id)
            .returning(move |_, _| Ok(current.clone()));
        id
    }

    /// Nothing may be recorded, changed or deleted, and no report dropped.
    fn writes_nothing(&mut self) {
        self.transactions.expect_create().never();
        self.transactions.expect_update().never();
        self.transactions.expect_delete().never();
        self.cache.expect_invalidate().never();
    }

    fn service(self) -> TransactionService {
        TransactionService::new(
            Arc::new(self.transactions),
            report_cache(self.cache),
            Arc::new(clock()),
        )
    }
}

fn from_plaid() -> Transaction {
    Transaction {
        plaid_transaction_id: Some("plaid-1".into()),
        ..transaction()
    }
}

fn input() -> TransactionInput {
    TransactionInput {
        account_id: Uuid::now_v7(),
        amount: dec("-20"),
        date: date(2026, 11, 20),
        description: "Groceries".into(),
        merchant_name: None,
        category: None,
        is_pending: None,
        is_recurring: None,
    }
}

#[tokio::test]
async fn recording_hands_the_store_defaults_trimmed_text_and_the_clocks_write_time() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let given = input();
    let account = given.account_id;
    let seen = Seen::new();
    m.transactions
        .expect_create()
        .times(1)
        .returning(seen.storing(transaction_from));
    expect_invalidations(&mut m.cache, user, 1);
    m.service()
        .create(
            user,
            TransactionInput {
                description: "  Groceries ".into(),
                merchant_name: Some("   ".into()),
                ..given
            },
        )
        .await
        .unwrap();
    let (new, at) = seen.take();
    assert_eq!((new.user_id, new.account_id), (user, account));
    assert!(!new.id.is_nil());
    assert_eq!(new.amount.money().value(), dec("-20"));
    assert_eq!(new.description, "Groceries");
    assert_eq!(new.merchant_name, None);
    assert_eq!(new.category, TransactionCategory::Other);
    assert!(!new.is_pending);
    assert!(!new.is_recurring);
    assert_eq!(at, write_time());
}

#[tokio::test]
async fn recording_keeps_the_category_and_flags_given() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    m.transactions
        .expect_create()
        .withf(|new, _| {
            new.category == TransactionCategory::Income && new.is_pending && new.is_recurring
        })
        .times(1)
        .returning(|new, _| Ok(transaction_from(&new)));
    expect_invalidations(&mut m.cache, user, 1);
    let created = m
        .service()
        .create(
            user,
            TransactionInput {
                amount: dec("3400"),
                category: Some("income".into()),
                is_pending: Some(true),
                is_recurring: Some(true),
                ..input()
            },
        )
        .await
        .unwrap();
    assert_eq!(created.category, TransactionCategory::Income);
}

#[tokio::test]
async fn listing_asks_for_fifty_by_default_and_passes_the_parsed_criteria() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let account = Uuid::now_v7();
    let cursor = (date(2026, 11, 2), Uuid::now_v7());
    let expected = TransactionFilter {
        account_id: Some(account),
        from: Some(date(2026, 1, 1)),
        to: Some(date(2026, 12, 31)),
        category: Some(TransactionCategory::Travel),
        q: Some("united".into()),
        min_amount: Some(money("-500")),
        max_amount: Some(money("-10")),
        is_pending: Some(false),
        after: Some(cursor),
        limit: DEFAULT_PAGE,
    };
    let next = (date(2026, 10, 1), Uuid::now_v7());
    m.transactions
        .expect_list()
        .with(eq(user), eq(expected))
        .times(1)
        .returning(move |_, _| {
            Ok(TransactionPage {
                items: vec![],
                next: Some(next),
            })
        });
    let page = m
        .service()
        .list(
            user,
            TransactionQuery {
                account_id: Some(account),
                from: Some(date(2026, 1, 1)),
                to: Some(date(2026, 12, 31)),
                category: Some("travel".into()),
                q: Some("united".into()),
                min_amount: Some(dec("-500")),
                max_amount: Some(dec("-10")),
                is_pending: Some(false),
                limit: None,
                after: Some(cursor),
            },
        )
        .await
        .unwrap();
    assert_eq!(DEFAULT_PAGE, 50);
    // The store reads one row more than the page and returns the cursor; it is passed on as is.
    assert_eq!(page.next, Some(next));
}

#[tokio::test]
async fn a_page_limit_must_be_between_1_and_500() {
    check_page_limits(async |limit, ok| {
        let mut m = Mocks::new();
        m.transactions
            .expect_list()
            .withf(move |_, f| i64::from(f.limit) == limit)
            .times(usize::from(ok))
            .returning(|_, _| {
                Ok(TransactionPage {
                    items: vec![],
                    next: None,
                })
            });
        let query = TransactionQuery {
            limit: Some(limit),
            ..Default::default()
        };
        m.service().list(Uuid::now_v7(), query).await.map(drop)
    })
    .await;
}

#[tokio::test]
async fn listing_refuses_unrepresentable_amounts_dates_and_overlong_searches() {
    let mut m = Mocks::new();
    m.transactions.expect_list().never();
    let err = m
        .service()
        .list(
            Uuid::now_v7(),
            TransactionQuery {
                from: Some(date(0, 1, 1)),
                to: Some(date(10_000, 1, 1)),
                q: Some("q".repeat(501)),
                min_amount: Some(dec("0.00001")),
                max_amount: Some(dec("100000000000000")),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let fields = validation(err);
    assert_eq!(
        fields.keys().collect::<Vec<_>>(),
        ["from", "max_amount", "min_amount", "q", "to"]
    );
    assert_eq!(fields["q"], "at most 500 characters");
}

#[tokio::test]
async fn a_plaid_transaction_takes_a_new_description_and_its_unchanged_amount_account_date_and_pending_flag()
 {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let current = from_plaid();
    let (id, account, amount, day) = (
        current.id,
        current.account_id,
        current.amount.value(),
        current.date,
    );
    m.holding(current.clone());
    m.transactions
        .expect_update()
        .withf(|_, _, update, _| update.description.as_deref() == Some("Team lunch"))
        .times(1)
        .returning(move |_, _, _, _| Ok(current.clone()));
    expect_invalidations(&mut m.cache, user, 1);
    m.service()
        .update(
            user,
            id,
            TransactionPatch {
                description: Some("Team lunch".into()),
                account_id: Some(account),
                amount: Some(amount),
                date: Some(day),
                is_pending: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_correction_hands_the_store_exactly_the_changes_and_drops_the_users_reports() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let current = transaction();
    let id = m.holding(current.clone());
    let expected = TransactionUpdate {
        description: Some("Dinner".into()),
        merchant_name: Some(None),
        category: Some(TransactionCategory::Entertainment),
        is_recurring: Some(true),
        amount: Some(TransactionAmount::new(money("-40")).unwrap()),
        date: Some(date(2026, 11, 3)),
        is_pending: None,
    };
    m.transactions
        .expect_update()
        .with(eq(user), eq(id), eq(expected), eq(write_time()))
        .times(1)
        .returning(move |_, _, _, _| Ok(current.clone()));
    expect_invalidations(&mut m.cache, user, 1);
    m.service()
        .update(
            user,
            id,
            TransactionPatch {
                description: Some(" Dinner ".into()),
                merchant_name: Some(None),
                category: Some("entertainment".into()),
                is_recurring: Some(true),
                amount: Some(dec("-40")),
                date: Some(date(2026, 11, 3)),
                is_pending: None,
                account_id: None,
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn posting_a_pending_transaction_and_making_it_pending_again_hand_the_store_only_the_flag() {
    for (was_pending, now_pending) in [(true, false), (false, true)] {
        let mut m = Mocks::new();
        let user = Uuid::now_v7();
        let current = Transaction {
            is_pending: was_pending,
            ..transaction()
        };
        let id = m.holding(current.clone());
        let expected = TransactionUpdate {
            is_pending: Some(now_pending),
            ..Default::default()
        };
        m.transactions
            .expect_update()
            .with(eq(user), eq(id), eq(expected), eq(write_time()))
            .times(1)
            .returning(move |_, _, _, _| {
                Ok(Transaction {
                    is_pending: now_pending,
                    ..current.clone()
                })
            });
        expect_invalidations(&mut m.cache, user, 1);
        let updated = m
            .service()
            .update(
                user,
                id,
                TransactionPatch {
                    is_pending: Some(now_pending),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(updated.is_pending, now_pending);
    }
}

#[tokio::test]
async fn a_plaid_transaction_cannot_be_deleted() {
    let mut m = Mocks::new();
    let id = m.holding(from_plaid());
    m.writes_nothing();
    let err = m.service().delete(Uuid::now_v7(), id).await.unwrap_err();
    assert_eq!(refusal(&err), ("conflict", "plaid_transaction"));
}

#[tokio::test]
async fn deleting_a_manual_transaction_uses_the_clocks_write_time_and_drops_the_users_reports() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let id = m.holding(transaction());
    m.transactions
        .expect_delete()
        .with(eq(user), eq(id), eq(write_time()))
        .times(1)
        .returning(|_, _, _| Ok(()));
    expect_invalidations(&mut m.cache, user, 1);
    m.service().delete(user, id).await.unwrap();
}

#[tokio::test]
async fn what_the_user_cannot_see_is_not_found_naming_it_and_nothing_is_written() {
    let mut m = Mocks::new();
    let (user, missing) = (Uuid::now_v7(), Uuid::now_v7());
    let gone_id = m.holding(transaction());
    m.transactions
        .expect_get()
        .withf(move |_, i| *i != gone_id)
        .returning(|_, _| Err(RepoError::NotFound));
    m.transactions
        .expect_create()
        .returning(|_, _| Err(RepoError::NotFound));
    m.transactions
        .expect_list()
        .returning(|_, _| Err(RepoError::NotFound));
    m.transactions.expect_update().never();
    // Read before the delete, then gone when it is deleted.
    m.transactions
        .expect_delete()
        .returning(|_, _, _| Err(RepoError::NotFound));
    m.transactions
        .expect_history()
        .returning(|_, _| Err(RepoError::NotFound));
    m.cache.expect_invalidate().never();
    let service = m.service();
    for (case, result, what) in [
        (
            "recording on another user's account",
            service.create(user, input()).await.map(drop),
            "account",
        ),
        (
            "listing another user's account",
            service
                .list(user, TransactionQuery::default())
                .await
                .map(drop),
            "account",
        ),
        (
            "getting a missing transaction",
            service.get(user, missing).await.map(drop),
            "transaction",
        ),
        (
            "correcting a missing transaction",
            service
                .update(user, missing, TransactionPatch::default())
                .await
                .map(drop),
            "transaction",
        ),
        (
            "deleting a transaction the store no longer has",
            service.delete(user, gone_id).await,
            "transaction",
        ),
        (
            "the history of a transaction the user never had",
            service.history(user, missing).await.map(drop),
            "transaction",
        ),
    ] {
        assert!(
            matches!(result, Err(AppError::NotFound(named)) if named == what),
            "{case}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_write_that_would_overdraw_an_asset_is_a_rule_error_and_drops_no_reports() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let id = m.holding(transaction());
    m.transactions
        .expect_create()
        .returning(|_, _| Err(overdraft()));
    m.transactions
        .expect_update()
        .returning(|_, _, _, _| Err(overdraft()));
    m.transactions
        .expect_delete()
        .returning(|_, _, _| Err(overdraft()));
    m.cache.expect_invalidate().never();
    let service = m.service();
    let correction = TransactionPatch {
        amount: Some(dec("-1000000")),
        ..Default::default()
    };
    for (case, result) in [
        ("recording", service.create(user, input()).await.map(drop)),
        (
            "correcting",
            service.update(user, id, correction).await.map(drop),
        ),
        ("deleting", service.delete(user, id).await),
    ] {
        assert!(
            matches!(
                result,
                Err(AppError::Rule {
                    code: "negative_balance_not_allowed",
                    ..
                })
            ),
            "{case}: {result:?}"
        );
    }
}

#[tokio::test]
async fn the_account_and_a_plaid_transactions_amount_date_and_pending_flag_cannot_change() {
    for (current, patch, field) in [
        (
            transaction(),
            TransactionPatch {
                account_id: Some(Uuid::now_v7()),
                ..Default::default()
            },
            "account_id",
        ),
        (
            from_plaid(),
            TransactionPatch {
                amount: Some(dec("-13")),
                ..Default::default()
            },
            "amount",
        ),
        (
            from_plaid(),
            TransactionPatch {
                date: Some(date(2026, 11, 2)),
                ..Default::default()
            },
            "date",
        ),
        (
            Transaction {
                is_pending: true,
                ..from_plaid()
            },
            TransactionPatch {
                is_pending: Some(false),
                ..Default::default()
            },
            "is_pending",
        ),
        (
            from_plaid(),
            TransactionPatch {
                is_pending: Some(true),
                ..Default::default()
            },
            "is_pending",
        ),
    ] {
        let mut m = Mocks::new();
        let id = m.holding(current);
        m.writes_nothing();
        let err = m
            .service()
            .update(Uuid::now_v7(), id, patch)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AppError::Rule { code: "read_only_field", message } if message.starts_with(field)),
            "{field}: {err:?}"
        );
    }
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_read_or_written() {
    let mut m = Mocks::new();
    let id = m.holding(transaction());
    m.writes_nothing();
    m.transactions.expect_list().never();
    let service = m.service();
    let user = Uuid::now_v7();
    let recording = TransactionInput {
        amount: Decimal::ZERO,
        date: date(10_000, 1, 1),
        description: "  ".into(),
        merchant_name: Some("m".repeat(256)),
        category: Some("groceries".into()),
        ..input()
    };
    let listing = TransactionQuery {
        from: Some(date(2026, 2, 1)),
        to: Some(date(2026, 1, 1)),
        category: Some("fun".into()),
        q: Some("a\u{7}b".into()),
        min_amount: Some(dec("10")),
        max_amount: Some(dec("5")),
        limit: Some(0),
        ..Default::default()
    };
    let correction = TransactionPatch {
        description: Some(" ".into()),
        merchant_name: Some(Some("m".repeat(256))),
        category: Some("misc".into()),
        amount: Some(Decimal::ZERO),
        ..Default::default()
    };
    for (case, result, fields) in [
        (
            "recording",
            service.create(user, recording).await.map(drop),
            vec!["amount", "category", "date", "description", "merchant_name"],
        ),
        (
            "listing",
            service.list(user, listing).await.map(drop),
            vec!["category", "limit", "max_amount", "q", "to"],
        ),
        (
            "correcting",
            service.update(user, id, correction).await.map(drop),
            vec!["amount", "category", "description", "merchant_name"],
        ),
    ] {
        assert_eq!(invalid_fields(result.expect_err(case)), fields, "{case}");
    }
}
