use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mockall::Sequence;
use nestegg_domain::{AccountType, SyncStatus, TransactionCategory};
use nestegg_ports::cache::MockCache;
use nestegg_ports::connection::MockConnectionRepository;
use nestegg_ports::plaid::MockPlaid;
use nestegg_ports::{
    AccessToken, Cipher, Connection, ConnectionSecret, ExchangedItem, PlaidAccount, PlaidError,
    PlaidItem, PlaidTransaction, RemovedTransaction, Sealed, SecurityError, SyncCounts, SyncPage,
};
use uuid::Uuid;

use super::*;
use crate::test_support::{
    Counted, Recorded, Seen, clock, date, dec, expect_invalidations, money, now, report_cache,
};

/// A cipher that "seals" by prefixing the key id and the context, so tests can see both.
struct PlainCipher {
    current: &'static str,
}

impl Cipher for PlainCipher {
    fn current_key_id(&self) -> String {
        self.current.into()
    }

    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, SecurityError> {
        Ok(Sealed {
            key_id: self.current.into(),
            ciphertext: format!(
                "{}|{}",
                hex(context),
                String::from_utf8(plaintext.to_vec()).unwrap()
            ),
        })
    }

    fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, SecurityError> {
        let (ctx, plain) = sealed
            .ciphertext
            .split_once('|')
            .ok_or(SecurityError::Invalid)?;
        if ctx != hex(context) || !["k1", "k2"].contains(&sealed.key_id.as_str()) {
            return Err(SecurityError::Invalid);
        }
        Ok(plain.as_bytes().to_vec())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn connection(user_id: Uuid) -> Connection {
    Connection {
        id: Uuid::now_v7(),
        user_id,
        plaid_item_id: "item-1".into(),
        institution_id: Some("ins_1".into()),
        institution_name: Some("First Platypus Bank".into()),
        is_active: true,
        sync_status: SyncStatus::Pending,
        last_sync_at: None,
        error_message: None,
        created_at: now(),
        updated_at: now(),
    }
}

fn secret_for(c: &Connection, cursor: Option<&str>) -> ConnectionSecret {
    ConnectionSecret {
        access_token: PlainCipher { current: "k1" }
            .seal(b"access-sandbox-1", c.id.as_bytes())
            .unwrap(),
        cursor: cursor.map(str::to_owned),
    }
}

fn plaid_account(id: &str, kind: &str, subtype: &str, current: &str) -> PlaidAccount {
    PlaidAccount {
        account_id: id.into(),
        name: format!("{subtype} account"),
        official_name: None,
        mask: Some("0000".into()),
        account_type: kind.into(),
        subtype: Some(subtype.into()),
        current: Some(dec(current)),
        available: None,
        currency: Some("USD".into()),
    }
}

fn plaid_txn(id: &str, amount: &str) -> PlaidTransaction {
    PlaidTransaction {
        transaction_id: id.into(),
        account_id: "acc-1".into(),
        amount: dec(amount),
        currency: Some("USD".into()),
        date: date(2026, 11, 20),
        name: Some("Coffee".into()),
        merchant_name: Some("Bean".into()),
        pending: false,
        pending_transaction_id: None,
        category: Some("FOOD_AND_DRINK".into()),
    }
}

fn page(added: Vec<PlaidTransaction>, next: &str, has_more: bool) -> SyncPage {
    SyncPage {
        added,
        modified: Vec::new(),
        removed: Vec::new(),
        next_cursor: next.into(),
        has_more,
    }
}

/// Statuses recorded on connections: the connection, status and message.
type Statuses = Arc<Mutex<Vec<(Uuid, SyncStatus, Option<String>)>>>;

struct Setup {
    plaid: MockPlaid,
    repo: MockConnectionRepository,
    cache: MockCache,
}

impl Setup {
    fn new() -> Self {
        Self {
            plaid: MockPlaid::new(),
            repo: MockConnectionRepository::new(),
            cache: MockCache::new(),
        }
    }

    /// The lease is granted and released, and the final status is recorded once.
    fn leased(&mut self, c: &Connection, status: SyncStatus) -> Seen<Option<String>> {
        let id = c.id;
        // Taken once, then renewed after every page.
        self.repo
            .expect_acquire()
            .withf(move |conn, _, _, _, _| *conn == id)
            .returning(|_, _, _, _, _| Ok(true));
        self.repo.expect_release().times(1).returning(|_, _| Ok(()));
        let seen = Seen::new();
        let keep = seen.handle();
        self.repo
            .expect_set_status()
            .withf(move |conn, s, _, _, _| *conn == id && *s == status)
            .times(1)
            .returning(move |_, _, message, _, _| {
                keep.keep(message);
                Ok(())
            });
        seen
    }

    fn service(self) -> BankSync {
        BankSync::new(
            Some(Arc::new(self.plaid)),
            Arc::new(self.repo),
            Arc::new(PlainCipher { current: "k1" }),
            report_cache(self.cache),
            Arc::new(clock()),
            SyncSettings::default(),
        )
    }

    /// Every lease is granted and released.
    fn leases(&mut self) {
        self.repo
            .expect_acquire()
            .returning(|_, _, _, _, _| Ok(true));
        self.repo.expect_release().returning(|_, _| Ok(()));
    }

    /// Plaid has no accounts and no new transactions for any item.
    fn nothing_new(&mut self) {
        self.plaid.expect_accounts().returning(|_| Ok(vec![]));
        self.plaid
            .expect_transactions_sync()
            .returning(|_, _, _| Ok(page(vec![], "c1", false)));
    }

    /// Exactly one (empty) batch is applied, and the user's reports are dropped once.
    fn applies_once(&mut self, user: Uuid) {
        self.repo
            .expect_apply()
            .times(1)
            .returning(|_, _| Ok(SyncCounts::default()));
        expect_invalidations(&mut self.cache, user, 1);
    }

    /// Every status recorded on a connection, in order: the connection, status and message.
    fn statuses(&mut self) -> Statuses {
        let statuses = Statuses::default();
        let seen = Arc::clone(&statuses);
        self.repo
            .expect_set_status()
            .returning(move |id, status, message, _, _| {
                seen.lock().unwrap().push((id, status, message));
                Ok(())
            });
        statuses
    }

    /// Syncs `c` by hand: the result, and the outcome of each sync counted.
    async fn run_by_hand(self, c: &Connection) -> (Result<SyncReport, AppError>, Vec<SyncOutcome>) {
        let (service, counted) = self.counting();
        let result = service.run(c, SyncTrigger::Manual).await;
        (result, outcomes(&counted, SyncTrigger::Manual))
    }

    /// Runs the scheduled syncs: how many connections ran, and the outcome of each sync counted.
    async fn sync_due(self) -> (usize, Vec<SyncOutcome>) {
        let (service, counted) = self.counting();
        let ran = service.sync_due(Duration::from_secs(3600), 10).await;
        (ran.unwrap(), outcomes(&counted, SyncTrigger::Scheduled))
    }

    /// The service, and what it counts.
    fn counting(self) -> (BankSync, Arc<Recorded>) {
        let recorded = Arc::new(Recorded::default());
        (self.service().with_metrics(recorded.clone()), recorded)
    }
}

/// A user's connection and a setup whose repository hands out its sealed token and `cursor`.
fn with_connection(cursor: Option<&str>) -> (Uuid, Connection, Setup) {
    let user = Uuid::now_v7();
    let c = connection(user);
    let mut s = Setup::new();
    let secret = secret_for(&c, cursor);
    s.repo
        .expect_secret()
        .returning(move |_| Ok(secret.clone()));
    (user, c, s)
}

/// Two connections of one user, due in this order, and a setup whose repository lists them as
/// due and hands out each one's sealed token.
fn two_due() -> (Uuid, Connection, Connection, Setup) {
    let user = Uuid::now_v7();
    let (first, second) = (connection(user), connection(user));
    let (first_secret, second_secret) = (secret_for(&first, None), secret_for(&second, None));
    let first_id = first.id;
    let mut s = Setup::new();
    let due = vec![first.clone(), second.clone()];
    s.repo.expect_due().returning(move |_, _| Ok(due.clone()));
    s.repo.expect_secret().returning(move |id| {
        Ok(if id == first_id {
            first_secret.clone()
        } else {
            second_secret.clone()
        })
    });
    (user, first, second, s)
}

/// The outcome of each sync `counted` counted, in order; each was started by `trigger`.
fn outcomes(counted: &Recorded, trigger: SyncTrigger) -> Vec<SyncOutcome> {
    counted
        .calls()
        .into_iter()
        .map(|call| match call {
            Counted::Sync(t, outcome) if t == trigger => outcome,
            other => panic!("expected a {trigger:?} sync, counted {other:?}"),
        })
        .collect()
}

fn assert_in_progress<T: std::fmt::Debug>(result: Result<T, AppError>) {
    assert!(
        matches!(
            result,
            Err(AppError::Conflict {
                code: "sync_in_progress",
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_sync_pulls_every_page_then_applies_them_with_the_last_cursor_in_one_write() {
    let user = Uuid::now_v7();
    let c = connection(user);
    let mut s = Setup::new();
    let secret = secret_for(&c, Some("c0"));
    let found = c.clone();
    s.repo
        .expect_get()
        .withf(move |u, _| *u == user)
        .returning(move |_, _| Ok(found.clone()));
    s.repo
        .expect_secret()
        .returning(move |_| Ok(secret.clone()));
    s.leased(&c, SyncStatus::Ok);
    s.plaid
        .expect_accounts()
        .withf(|token| token.expose() == "access-sandbox-1")
        .returning(|_| {
            Ok(vec![plaid_account(
                "acc-1",
                "depository",
                "checking",
                "-5.25",
            )])
        });
    let mut seq = Sequence::new();
    s.plaid
        .expect_transactions_sync()
        .withf(|_, cursor, count| cursor.as_deref() == Some("c0") && *count == 500)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(page(vec![plaid_txn("t1", "4.50")], "c1", true)));
    s.plaid
        .expect_transactions_sync()
        .withf(|_, cursor, _| cursor.as_deref() == Some("c1"))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| {
            let mut last = page(vec![plaid_txn("t2", "-1200")], "c2", false);
            last.removed = vec![RemovedTransaction {
                transaction_id: "t0".into(),
                account_id: "acc-1".into(),
            }];
            Ok(last)
        });
    let applied = Seen::new();
    let keep = applied.handle();
    s.repo.expect_apply().times(1).returning(move |batch, _| {
        keep.keep(batch);
        Ok(SyncCounts {
            accounts: 1,
            added: 2,
            modified: 0,
            removed: 1,
        })
    });
    expect_invalidations(&mut s.cache, user, 1);
    let report = s.service().sync(user, c.id).await.unwrap();
    assert_eq!(report.sync_status, SyncStatus::Ok);
    assert_eq!(
        (report.transactions_added, report.transactions_removed),
        (2, 1)
    );

    let batch: SyncBatch = applied.take();
    assert_eq!(batch.cursor, "c2");
    assert_eq!(batch.accounts.len(), 1);
    assert_eq!(batch.accounts[0].account_type, AccountType::Checking);
    assert_eq!(
        batch.accounts[0].balance,
        money("-5.25"),
        "overdrawn, as reported"
    );
    let amounts: Vec<_> = batch.added.iter().map(|t| t.amount).collect();
    assert_eq!(
        amounts,
        [money("-4.50"), money("1200")],
        "Plaid's sign flipped"
    );
    assert_eq!(batch.added[0].category, TransactionCategory::FoodAndDrink);
    assert_eq!(batch.removed, ["t0"]);
}

#[tokio::test]
async fn a_mutation_during_pagination_restarts_from_the_saved_cursor_and_drops_the_partial_pages() {
    let (user, c, mut s) = with_connection(Some("saved"));
    s.leased(&c, SyncStatus::Ok);
    s.plaid.expect_accounts().returning(|_| Ok(vec![]));
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    s.plaid
        .expect_transactions_sync()
        .returning(move |_, cursor, _| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            match (n, cursor.as_deref()) {
                (0, Some("saved")) => Ok(page(vec![plaid_txn("stale", "1")], "p1", true)),
                (1, Some("p1")) => Err(PlaidError::MutationDuringPagination),
                (2, Some("saved")) => Ok(page(vec![plaid_txn("fresh", "2")], "p2", true)),
                (3, Some("p2")) => Ok(page(vec![plaid_txn("fresh2", "3")], "done", false)),
                other => panic!("unexpected call {other:?}"),
            }
        });
    let applied = Seen::new();
    let keep = applied.handle();
    s.repo.expect_apply().times(1).returning(move |batch, _| {
        keep.keep(batch);
        Ok(SyncCounts::default())
    });
    expect_invalidations(&mut s.cache, user, 1);
    s.service().run(&c, SyncTrigger::Manual).await.unwrap();
    let batch: SyncBatch = applied.take();
    let ids: Vec<_> = batch
        .added
        .iter()
        .map(|t| t.plaid_transaction_id.as_str())
        .collect();
    assert_eq!(ids, ["fresh", "fresh2"], "the stale page is not applied");
    assert_eq!(batch.cursor, "done");
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn login_required_leaves_the_data_untouched_and_is_recorded_on_the_connection() {
    let (_, c, mut s) = with_connection(None);
    let message = s.leased(&c, SyncStatus::LoginRequired);
    s.plaid
        .expect_accounts()
        .returning(|_| Err(PlaidError::LoginRequired));
    s.repo.expect_apply().never();
    let (report, outcomes) = s.run_by_hand(&c).await;
    assert_eq!(report.unwrap().sync_status, SyncStatus::LoginRequired);
    assert!(message.take().unwrap().contains("sign in again"));
    assert_eq!(outcomes, [SyncOutcome::LoginRequired]);
}

#[tokio::test]
async fn a_second_sync_while_one_holds_the_lease_is_refused_with_sync_in_progress() {
    let c = connection(Uuid::now_v7());
    let mut s = Setup::new();
    s.repo.expect_acquire().returning(|_, _, _, _, _| Ok(false));
    s.plaid.expect_accounts().never();
    s.repo.expect_set_status().never();
    let (result, outcomes) = s.run_by_hand(&c).await;
    assert_in_progress(result);
    assert_eq!(outcomes, [SyncOutcome::InProgress]);
}

#[tokio::test]
async fn a_scheduled_sync_leases_a_connection_only_as_it_was_listed_and_skips_one_synced_meanwhile()
{
    let c = connection(Uuid::now_v7());
    let listed = c.updated_at;
    let mut s = Setup::new();
    let due = vec![c.clone()];
    s.repo.expect_due().returning(move |_, _| Ok(due.clone()));
    // Another instance synced it after this one listed it: the store refuses the lease.
    s.repo
        .expect_acquire()
        .withf(move |_, _, _, _, as_listed| *as_listed == Some(listed))
        .times(1)
        .returning(|_, _, _, _, _| Ok(false));
    s.plaid.expect_accounts().never();
    s.repo.expect_set_status().never();
    assert_eq!(s.sync_due().await, (0, vec![SyncOutcome::InProgress]));
}

#[tokio::test]
async fn a_sync_asked_for_by_hand_leases_the_connection_whatever_changed_since_it_was_read() {
    let c = connection(Uuid::now_v7());
    let mut s = Setup::new();
    s.repo
        .expect_acquire()
        .withf(|_, _, _, _, listed| listed.is_none())
        .times(1)
        .returning(|_, _, _, _, _| Ok(false));
    assert_in_progress(s.service().run(&c, SyncTrigger::Manual).await);
}

#[tokio::test]
async fn one_failing_connection_does_not_stop_the_scheduled_syncs_of_the_others() {
    let (user, bad, good, mut s) = two_due();
    s.leases();
    let statuses = s.statuses();
    // The first item's bank is down; the second syncs.
    let mut calls = 0;
    s.plaid.expect_accounts().returning(move |_| {
        calls += 1;
        if calls == 1 {
            Err(PlaidError::Unavailable("institution down".into()))
        } else {
            Ok(vec![])
        }
    });
    s.plaid
        .expect_transactions_sync()
        .returning(|_, _, _| Ok(page(vec![], "c1", false)));
    s.applies_once(user);
    assert_eq!(
        s.sync_due().await,
        (2, vec![SyncOutcome::PlaidError, SyncOutcome::Ok])
    );
    let statuses: Vec<_> = statuses
        .lock()
        .unwrap()
        .iter()
        .map(|(id, status, _)| (*id, *status))
        .collect();
    assert_eq!(
        statuses,
        [(bad.id, SyncStatus::Error), (good.id, SyncStatus::Ok)]
    );
}

#[tokio::test]
async fn an_account_that_cannot_be_stored_is_skipped_and_named_while_the_rest_sync() {
    let (user, c, mut s) = with_connection(None);
    let message = s.leased(&c, SyncStatus::Ok);
    s.plaid.expect_accounts().returning(|_| {
        let mut crypto = plaid_account("acc-2", "investment", "crypto exchange", "1");
        crypto.currency = None;
        Ok(vec![
            plaid_account("acc-1", "credit", "credit card", "300"),
            crypto,
        ])
    });
    s.plaid.expect_transactions_sync().returning(|_, _, _| {
        let mut zero = plaid_txn("z", "0");
        zero.account_id = "acc-1".into();
        Ok(page(vec![zero, plaid_txn("t1", "9.99")], "c1", false))
    });
    let applied = Seen::new();
    let keep = applied.handle();
    s.repo.expect_apply().returning(move |batch, _| {
        keep.keep(batch);
        Ok(SyncCounts::default())
    });
    expect_invalidations(&mut s.cache, user, 1);
    s.service().run(&c, SyncTrigger::Manual).await.unwrap();
    let batch: SyncBatch = applied.take();
    assert_eq!(batch.accounts.len(), 1);
    assert_eq!(batch.accounts[0].account_type, AccountType::CreditCard);
    assert_eq!(batch.added.len(), 1, "the zero-amount one is left out");
    let message = message.take().unwrap();
    assert!(
        message.contains("crypto exchange account skipped"),
        "{message}"
    );
    assert!(
        message.contains("1 transactions without a valid amount"),
        "{message}"
    );
}

#[tokio::test]
async fn linking_seals_the_token_for_its_row_and_asks_for_a_first_sync() {
    let user = Uuid::now_v7();
    let mut s = Setup::new();
    s.plaid
        .expect_exchange_public_token()
        .withf(|t| t == "public-sandbox-1")
        .returning(|_| {
            Ok(ExchangedItem {
                access_token: AccessToken::new("access-sandbox-9"),
                item_id: "item-9".into(),
            })
        });
    s.plaid.expect_item().returning(|_| {
        Ok(PlaidItem {
            item_id: "item-9".into(),
            institution_id: Some("ins_1".into()),
            institution_name: Some("Platypus".into()),
        })
    });
    let stored = Seen::new();
    let keep = stored.handle();
    s.repo.expect_create().returning(move |new, _| {
        keep.keep(new.clone());
        let mut c = connection(new.user_id);
        c.id = new.id;
        c.plaid_item_id = new.plaid_item_id;
        Ok(c)
    });
    s.repo
        .expect_request_sync()
        .times(1)
        .returning(|_, _| Ok(()));
    let connected = s
        .service()
        .connect(user, " public-sandbox-1 ")
        .await
        .unwrap();
    let new: NewConnection = stored.take();
    assert_eq!(new.id, connected.id);
    assert_eq!(new.institution_name.as_deref(), Some("Platypus"));
    assert!(
        new.access_token
            .ciphertext
            .starts_with(&hex(connected.id.as_bytes())),
        "sealed for its own row"
    );
}

#[tokio::test]
async fn an_empty_public_token_or_a_missing_configuration_is_refused_before_calling_plaid() {
    let s = Setup::new();
    let err = s.service().connect(Uuid::now_v7(), "  ").await.unwrap_err();
    assert!(matches!(err, AppError::Validation(f) if f.contains_key("public_token")));
    let unconfigured = BankSync::new(
        None,
        Arc::new(MockConnectionRepository::new()),
        Arc::new(PlainCipher { current: "k1" }),
        report_cache(MockCache::new()),
        Arc::new(clock()),
        SyncSettings::default(),
    );
    assert!(matches!(
        unconfigured.link_token(Uuid::now_v7()).await,
        Err(AppError::NotConfigured("plaid"))
    ));
}

#[tokio::test]
async fn webhooks_for_unknown_items_are_ignored_and_known_ones_set_the_status() {
    let mut s = Setup::new();
    let user = Uuid::now_v7();
    let known = connection(user);
    let id = known.id;
    s.repo
        .expect_by_item()
        .returning(move |item| Ok((item == "item-1").then(|| known.clone())));
    s.repo
        .expect_request_sync()
        .withf(move |c, _| *c == id)
        .times(1)
        .returning(|_, _| Ok(()));
    s.repo
        .expect_set_status()
        .withf(move |c, status, _, _, _| *c == id && *status == SyncStatus::LoginRequired)
        .times(1)
        .returning(|_, _, _, _, _| Ok(()));
    let service = s.service();
    let hook = |kind: &str, code: &str, item: &str| Webhook {
        webhook_type: kind.into(),
        webhook_code: code.into(),
        item_id: item.into(),
        error_code: Some("ITEM_LOGIN_REQUIRED".into()),
        consent_expiration_time: None,
    };
    service
        .webhook(&hook("TRANSACTIONS", "SYNC_UPDATES_AVAILABLE", "unknown"))
        .await
        .unwrap();
    service
        .webhook(&hook("TRANSACTIONS", "SYNC_UPDATES_AVAILABLE", "item-1"))
        .await
        .unwrap();
    service
        .webhook(&hook("ITEM", "ERROR", "item-1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn rotating_keys_reseals_old_tokens_and_leaves_current_and_unreadable_ones() {
    let mut s = Setup::new();
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let old = PlainCipher { current: "k2" };
    let now_key = PlainCipher { current: "k1" };
    let tokens = vec![
        (a, old.seal(b"tok-a", a.as_bytes()).unwrap()),
        (b, now_key.seal(b"tok-b", b.as_bytes()).unwrap()),
        // Copied from another row: its context does not match, so it does not open.
        (c, old.seal(b"tok-a", a.as_bytes()).unwrap()),
    ];
    s.repo.expect_tokens().returning(move || Ok(tokens.clone()));
    let replaced = Seen::new();
    let keep = replaced.handle();
    s.repo
        .expect_replace_token()
        .times(1)
        .returning(move |id, _, new| {
            keep.keep((id, new));
            Ok(true)
        });
    let done = s.service().rotate_keys().await.unwrap();
    assert_eq!(
        done,
        Rotation {
            rotated: 1,
            current: 1,
            unreadable: 1
        }
    );
    let (id, new): (Uuid, Sealed) = replaced.take();
    assert_eq!((id, new.key_id.as_str()), (a, "k1"));
    assert_eq!(
        PlainCipher { current: "k1" }
            .open(&new, a.as_bytes())
            .unwrap(),
        b"tok-a"
    );
}

#[test]
fn plaid_failures_reach_the_client_as_their_kind() {
    assert!(matches!(
        upstream(PlaidError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }),
        AppError::RateLimited { retry_after } if retry_after == Duration::from_secs(7)
    ));
    assert!(matches!(
        upstream(PlaidError::Unavailable("x".into())),
        AppError::Unavailable(_)
    ));
    assert!(matches!(
        upstream(PlaidError::Other {
            code: "INVALID_PUBLIC_TOKEN".into(),
            request_id: None
        }),
        AppError::Rule {
            code: "plaid_error",
            ..
        }
    ));
}

#[tokio::test]
async fn holdings_of_an_investment_item_merge_per_security_and_a_holdings_failure_is_only_a_note() {
    use nestegg_ports::{Holdings, PlaidHolding, PlaidSecurity};
    let (user, c, mut s) = with_connection(None);
    s.leases();
    s.repo.expect_set_status().returning(|_, _, _, _, _| Ok(()));
    s.plaid.expect_accounts().returning(|_| {
        Ok(vec![
            plaid_account("acc-b", "investment", "brokerage", "5000"),
            plaid_account("acc-r", "investment", "401k", "9000"),
        ])
    });
    s.plaid
        .expect_transactions_sync()
        .returning(|_, _, _| Ok(page(vec![], "c1", false)));
    s.repo
        .expect_apply()
        .returning(|_, _| Ok(SyncCounts::default()));
    let lot = |account: &str, quantity: &str, basis: Option<&str>| PlaidHolding {
        account_id: account.into(),
        security_id: "sec-vti".into(),
        institution_price: dec("250"),
        institution_price_as_of: Some(date(2026, 11, 23)),
        quantity: dec(quantity),
        cost_basis: basis.map(dec),
        currency: Some("USD".into()),
    };
    let mut first = true;
    s.plaid.expect_holdings().times(2).returning(move |_| {
        if std::mem::take(&mut first) {
            Ok(Holdings {
                accounts: vec![],
                holdings: vec![lot("acc-b", "10", Some("2000")), lot("acc-r", "2", None)],
                securities: vec![PlaidSecurity {
                    security_id: "sec-vti".into(),
                    name: Some("Vanguard Total Stock Market ETF".into()),
                    ticker_symbol: Some("VTI".into()),
                    security_type: Some("etf".into()),
                    close_price: Some(dec("251")),
                    close_price_as_of: None,
                    currency: Some("USD".into()),
                }],
            })
        } else {
            Err(PlaidError::Other {
                code: "PRODUCT_NOT_READY".into(),
                request_id: None,
            })
        }
    });
    let applied = Seen::new();
    let keep = applied.handle();
    s.repo
        .expect_apply_holdings()
        .times(1)
        .returning(move |batch, _| {
            keep.keep(batch);
            Ok(1)
        });
    expect_invalidations(&mut s.cache, user, 2);
    let service = s.service();
    let report = service.run(&c, SyncTrigger::Manual).await.unwrap();
    assert_eq!(report.holdings, 1);
    let batch: HoldingsBatch = applied.take();
    assert_eq!(batch.holdings.len(), 1);
    let held = &batch.holdings[0];
    // 12 units: 2000 paid for 10, and 2 of unknown cost counted at 250.
    assert_eq!(held.position.quantity.value(), dec("12"));
    assert_eq!(held.position.average_cost.value(), dec("208.33333333"));
    assert_eq!(held.price_date, date(2026, 11, 23));
    assert_eq!(batch.securities[0].symbol.as_str(), "VTI");

    let report = service.run(&c, SyncTrigger::Manual).await.unwrap();
    assert_eq!(report.sync_status, SyncStatus::Ok);
    assert!(
        report
            .error_message
            .unwrap()
            .contains("holdings not synced")
    );
}

#[tokio::test]
async fn a_sync_that_loses_its_lease_mid_pagination_stops_and_records_nothing() {
    let (_, c, mut s) = with_connection(Some("c0"));
    let mut calls = 0;
    // Granted, renewed after page 1, then another instance holds it.
    s.repo.expect_acquire().returning(move |_, _, _, _, _| {
        calls += 1;
        Ok(calls <= 2)
    });
    s.repo.expect_release().times(1).returning(|_, _| Ok(()));
    s.plaid.expect_accounts().returning(|_| Ok(vec![]));
    s.plaid
        .expect_transactions_sync()
        .times(2)
        .returning(|_, _, _| Ok(page(vec![plaid_txn("t", "1")], "next", true)));
    s.repo.expect_apply().never();
    s.repo.expect_set_status().never();
    assert_in_progress(s.service().run(&c, SyncTrigger::Manual).await);
}

#[tokio::test]
async fn a_batch_another_sync_superseded_is_not_recorded_as_an_error() {
    let (_, c, mut s) = with_connection(Some("c0"));
    s.leases();
    s.nothing_new();
    s.repo
        .expect_apply()
        .withf(|batch, _| batch.from_cursor.as_deref() == Some("c0"))
        .returning(|_, _| Err(RepoError::Conflict(Conflict::SyncSuperseded)));
    s.repo.expect_set_status().never();
    let (result, outcomes) = s.run_by_hand(&c).await;
    assert_in_progress(result);
    assert_eq!(outcomes, [SyncOutcome::Superseded]);
}

#[tokio::test]
async fn once_told_to_stop_the_scheduled_syncs_start_no_further_connection_after_the_running_one() {
    let (user, first, _, mut s) = two_due();
    let first_id = first.id;
    let leased = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&leased);
    s.repo.expect_acquire().returning(move |id, _, _, _, _| {
        seen.lock().unwrap().push(id);
        Ok(true)
    });
    s.repo.expect_release().returning(|_, _| Ok(()));
    s.repo.expect_set_status().returning(|_, _, _, _, _| Ok(()));
    s.nothing_new();
    s.applies_once(user);
    // Asked before looking for due connections and before each one: the stop comes while the
    // first one syncs.
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let keep_going = || asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2;
    let ran = s
        .service()
        .sync_due_while(Duration::from_secs(3600), 10, &keep_going)
        .await
        .unwrap();
    assert_eq!(ran, 1);
    assert!(leased.lock().unwrap().iter().all(|id| *id == first_id));
}
