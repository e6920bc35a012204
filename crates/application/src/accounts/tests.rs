#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use mockall::predicate::eq;
use nestegg_domain::DomainError;
use nestegg_ports::account::MockAccountRepository;
use nestegg_ports::cache::MockCache;

use super::*;
use crate::test_support::{
    Seen, account, account_from, clock, date, dec, expect_invalidations, invalid_fields, money,
    refusal, report_cache, unavailable, validation, write_time,
};

struct Mocks {
    accounts: MockAccountRepository,
    cache: MockCache,
}

impl Mocks {
    fn new() -> Self {
        Self {
            accounts: MockAccountRepository::new(),
            cache: MockCache::new(),
        }
    }

    /// Nothing may be created or changed, and no report dropped.
    fn writes_nothing(mut self) -> Self {
        self.accounts.expect_create().never();
        self.accounts.expect_update().never();
        self.cache.expect_invalidate().never();
        self
    }

    /// The store keeps exactly one new account (what it was handed is kept for the test to look
    /// at), and the user's cached reports are dropped once.
    fn creating_one(&mut self, user: Uuid) -> Seen<(NewAccount, WriteTime)> {
        let seen = Seen::new();
        self.accounts
            .expect_create()
            .times(1)
            .returning(seen.storing(account_from));
        expect_invalidations(&mut self.cache, user, 1);
        seen
    }

    fn service(self) -> AccountService {
        AccountService::new(
            Arc::new(self.accounts),
            report_cache(self.cache),
            Arc::new(clock()),
        )
    }
}

fn input(account_type: &str, balance: &str) -> AccountInput {
    AccountInput {
        name: "Everyday".into(),
        account_type: account_type.into(),
        institution_name: None,
        current_balance: dec(balance),
        available_balance: None,
        currency: None,
        opened_on: None,
    }
}

#[tokio::test]
async fn a_negative_opening_balance_is_allowed_on_a_credit_card() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    m.creating_one(user);
    let account = m
        .service()
        .create(user, input("credit_card", "-5"))
        .await
        .unwrap();
    assert_eq!(account.current_balance.value(), dec("-5"));
    assert_eq!(account.account_type, AccountType::CreditCard);
}

#[tokio::test]
async fn creating_hands_the_store_trimmed_text_usd_by_default_and_the_clocks_write_time() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let seen = m.creating_one(user);
    m.service()
        .create(
            user,
            AccountInput {
                name: "  Everyday  ".into(),
                account_type: "savings".into(),
                institution_name: Some("  Ally ".into()),
                current_balance: dec("12.5"),
                available_balance: Some(dec("10")),
                currency: None,
                opened_on: None,
            },
        )
        .await
        .unwrap();
    let (new, at) = seen.take();
    assert_eq!(new.user_id, user);
    assert!(!new.id.is_nil());
    assert_eq!(new.name.as_str(), "Everyday");
    assert_eq!(new.account_type, AccountType::Savings);
    assert_eq!(new.institution_name.as_deref(), Some("Ally"));
    assert_eq!(new.current_balance.value(), dec("12.5"));
    assert_eq!(new.available_balance.map(Money::value), Some(dec("10")));
    assert_eq!(new.currency, CurrencyCode::USD);
    assert_eq!(at, write_time());
}

#[tokio::test]
async fn an_explicit_currency_and_a_blank_institution_are_stored_as_given_and_absent() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let seen = m.creating_one(user);
    let mut account = input("checking", "0");
    account.currency = Some("EUR".into());
    account.institution_name = Some("   ".into());
    let created = m.service().create(user, account).await.unwrap();
    let (new, _) = seen.take();
    assert_eq!(new.currency, CurrencyCode::parse("EUR").unwrap());
    assert!(new.institution_name.is_none());
    assert_eq!(created.currency.as_str(), "EUR");
}

#[tokio::test]
async fn a_store_outage_is_passed_on_and_leaves_the_cached_reports_alone() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    m.accounts
        .expect_create()
        .returning(|_, _| Err(unavailable()));
    m.accounts
        .expect_list()
        .with(eq(user))
        .returning(|_| Err(unavailable()));
    m.cache.expect_invalidate().never();
    let service = m.service();
    for (case, result) in [
        (
            "creating",
            service.create(user, input("checking", "1")).await.map(drop),
        ),
        ("listing", service.list(user).await.map(drop)),
    ] {
        assert!(
            matches!(&result, Err(AppError::Unavailable(why)) if why == "down"),
            "{case}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_or_foreign_account_is_not_found_naming_the_account_and_drops_no_reports() {
    let mut m = Mocks::new();
    m.accounts
        .expect_get()
        .returning(|_, _| Err(RepoError::NotFound));
    m.accounts
        .expect_update()
        .returning(|_, _, _, _| Err(RepoError::NotFound));
    m.accounts
        .expect_delete()
        .returning(|_, _| Err(RepoError::NotFound));
    m.cache.expect_invalidate().never();
    let service = m.service();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    for (case, result) in [
        ("getting", service.get(user, id).await.map(drop)),
        (
            "updating",
            service
                .update(user, id, AccountPatch::default())
                .await
                .map(drop),
        ),
        ("deleting", service.delete(user, id).await),
    ] {
        assert!(
            matches!(result, Err(AppError::NotFound("account"))),
            "{case}: {result:?}"
        );
    }
}

#[tokio::test]
async fn an_update_changes_only_the_given_fields_and_drops_the_users_cached_reports() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let account = account(user);
    let id = account.id;
    m.accounts
        .expect_update()
        .withf(move |u, i, update, at| {
            *u == user
                && *i == id
                && update.name.as_ref().map(AccountName::as_str) == Some("Renamed")
                && update.institution_name == Some(None)
                && update.current_balance.is_none()
                && update.available_balance == Some(None)
                && *at == write_time()
        })
        .times(1)
        .returning(move |_, _, _, _| Ok(account.clone()));
    expect_invalidations(&mut m.cache, user, 1);
    let updated = m
        .service()
        .update(
            user,
            id,
            AccountPatch {
                name: Some(" Renamed ".into()),
                institution_name: Some(Some("  ".into())),
                available_balance: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.id, id);
}

#[tokio::test]
async fn deleting_an_account_with_transactions_is_a_conflict_and_drops_no_reports() {
    let mut m = Mocks::new();
    m.accounts
        .expect_delete()
        .returning(|_, _| Err(RepoError::Conflict(Conflict::AccountHasTransactions)));
    m.cache.expect_invalidate().never();
    let err = m
        .service()
        .delete(Uuid::now_v7(), Uuid::now_v7())
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), ("conflict", "account_has_transactions"));
    assert!(matches!(err, AppError::Conflict { field: None, .. }));
}

#[tokio::test]
async fn deleting_an_account_drops_the_users_cached_reports() {
    let mut m = Mocks::new();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    m.accounts
        .expect_delete()
        .with(eq(user), eq(id))
        .times(1)
        .returning(|_, _| Ok(()));
    expect_invalidations(&mut m.cache, user, 1);
    m.service().delete(user, id).await.unwrap();
}

#[tokio::test]
async fn a_backwards_or_unsupported_snapshot_range_is_refused_under_its_fields_without_reading() {
    for (case, from, to, fields) in [
        (
            "ending before it starts",
            Some(date(2026, 2, 1)),
            Some(date(2026, 1, 31)),
            &["to"][..],
        ),
        (
            "starting before year 1",
            Some(date(0, 12, 31)),
            None,
            &["from"],
        ),
        (
            "ending after year 9999",
            None,
            Some(date(10_000, 1, 1)),
            &["to"],
        ),
        (
            "with both ends out of range",
            Some(date(0, 12, 31)),
            Some(date(10_000, 1, 1)),
            &["from", "to"],
        ),
    ] {
        let mut m = Mocks::new();
        m.accounts.expect_snapshots().never();
        let err = m
            .service()
            .snapshots(Uuid::now_v7(), Uuid::now_v7(), from, to)
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(err), fields, "{case}");
    }
}

#[tokio::test]
async fn snapshots_are_read_for_the_range_asked_and_a_foreign_account_is_not_found() {
    let mut m = Mocks::new();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    let (from, to) = (date(2026, 1, 1), date(2026, 1, 31));
    m.accounts
        .expect_snapshots()
        .with(eq(user), eq(id), eq(Some(from)), eq(Some(to)))
        .times(1)
        .returning(|_, _, _, _| Err(RepoError::NotFound));
    let err = m
        .service()
        .snapshots(user, id, Some(from), Some(to))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound("account")));
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_written() {
    let service = Mocks::new().writes_nothing().service();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    let all_invalid = AccountInput {
        name: "   ".into(),
        account_type: "chequing".into(),
        institution_name: Some("x".repeat(256)),
        current_balance: dec("1.00001"),
        available_balance: Some(dec("2.00001")),
        currency: Some("usd".into()),
        // After today (the clock's).
        opened_on: Some(date(2026, 11, 25)),
    };
    let all_invalid_patch = AccountPatch {
        name: Some(String::new()),
        institution_name: Some(Some("i".repeat(256))),
        current_balance: Some(dec("0.00001")),
        as_of: Some(date(2026, 11, 25)),
        available_balance: Some(Some(dec("0.00001"))),
        opened_on: Some(date(10000, 1, 1)),
    };
    let as_of_alone = AccountPatch {
        as_of: Some(date(2026, 11, 1)),
        ..Default::default()
    };
    for (case, result, fields) in [
        (
            "creating",
            service.create(user, all_invalid).await.map(drop),
            vec![
                "available_balance",
                "currency",
                "current_balance",
                "institution_name",
                "name",
                "opened_on",
                "type",
            ],
        ),
        (
            "updating",
            service.update(user, id, all_invalid_patch).await.map(drop),
            vec![
                "as_of",
                "available_balance",
                "current_balance",
                "institution_name",
                "name",
                "opened_on",
            ],
        ),
        (
            "a reading day without a balance",
            service.update(user, id, as_of_alone).await.map(drop),
            vec!["as_of"],
        ),
    ] {
        assert_eq!(invalid_fields(result.expect_err(case)), fields, "{case}");
    }
}

#[tokio::test]
async fn a_balance_the_accounts_type_forbids_is_reported_under_current_balance_naming_the_rule() {
    let mut m = Mocks::new();
    m.accounts.expect_create().never();
    // The service cannot know the type of a stored account: the store checks it.
    m.accounts.expect_update().returning(|_, _, _, _| {
        Err(RepoError::Rule(DomainError::NegativeBalanceNotAllowed {
            account_type: AccountType::Savings,
        }))
    });
    m.cache.expect_invalidate().never();
    let service = m.service();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    let overdrawn = AccountPatch {
        current_balance: Some(dec("-1")),
        ..Default::default()
    };
    for (case, result, says) in [
        (
            "opening a savings account overdrawn",
            service.create(user, input("savings", "-5")).await.map(drop),
            "negative balance",
        ),
        (
            "overdrawing a savings account",
            service.update(user, id, overdrawn).await.map(drop),
            "savings",
        ),
    ] {
        let fields = validation(result.expect_err(case));
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["current_balance"],
            "{case}"
        );
        assert!(
            fields["current_balance"].contains(says),
            "{case}: {fields:?}"
        );
    }
}

#[tokio::test]
async fn rules_the_store_checks_on_the_ledger_are_reported_under_the_field_they_concern() {
    let mut m = Mocks::new();
    let rules = [
        (
            DomainError::OpenedAfterFirstEntry {
                first: date(2026, 10, 1),
            },
            "opened_on",
            "2026-10-01",
        ),
        (
            DomainError::BeforeOpening {
                opened_on: date(2026, 9, 1),
            },
            "as_of",
            "2026-09-01",
        ),
        (
            DomainError::NegativeBalanceNotAllowed {
                account_type: AccountType::Savings,
            },
            "current_balance",
            "savings",
        ),
    ];
    let answers = std::sync::Mutex::new(
        rules
            .clone()
            .into_iter()
            .map(|(r, _, _)| r)
            .collect::<Vec<_>>(),
    );
    m.accounts
        .expect_update()
        .times(rules.len())
        .returning(move |_, _, _, _| Err(RepoError::Rule(answers.lock().unwrap().remove(0))));
    m.cache.expect_invalidate().never();
    let service = m.service();
    for (rule, field, says) in rules {
        let patch = AccountPatch {
            current_balance: Some(dec("1")),
            as_of: Some(date(2026, 11, 1)),
            opened_on: Some(date(2026, 11, 1)),
            ..Default::default()
        };
        let fields = validation(
            service
                .update(Uuid::now_v7(), Uuid::now_v7(), patch)
                .await
                .expect_err(field),
        );
        assert_eq!(fields.keys().collect::<Vec<_>>(), [field], "{rule:?}");
        assert!(fields[field].contains(says), "{rule:?}: {fields:?}");
    }
}

#[tokio::test]
async fn a_reconciliation_hands_the_store_the_balance_its_day_and_the_new_opening_date() {
    let mut m = Mocks::new();
    let user = Uuid::now_v7();
    let seen: Seen<AccountUpdate> = Seen::new();
    let keep = seen.handle();
    m.accounts
        .expect_update()
        .times(1)
        .returning(move |user_id, _, update, _| {
            keep.keep(update);
            Ok(account(user_id))
        });
    expect_invalidations(&mut m.cache, user, 1);
    m.service()
        .update(
            user,
            Uuid::now_v7(),
            AccountPatch {
                current_balance: Some(dec("1234.56")),
                as_of: Some(date(2026, 11, 20)),
                opened_on: Some(date(2025, 1, 1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let update = seen.take();
    assert_eq!(update.current_balance, Some(money("1234.56")));
    assert_eq!(update.as_of, Some(date(2026, 11, 20)));
    assert_eq!(update.opened_on, Some(date(2025, 1, 1)));
}
