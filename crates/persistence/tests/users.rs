//! The user and refresh-token repositories on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Duration, Utc};
use nestegg_domain::{Email, Preferences, Username};
use nestegg_persistence::both_backends;
use nestegg_persistence::codec::{self, Scale};
use nestegg_persistence::testing::TestDb;
use nestegg_persistence::{SqlRefreshTokenRepository, SqlUserRepository};
use nestegg_ports::{
    Conflict, NewRefreshToken, NewSession, NewUser, RefreshTokenRepository, RepoError, Rotation,
    UserRepository,
};
use rust_decimal::Decimal;
use sea_orm::Value;
use serde_json::json;
use uuid::Uuid;

fn token(user_id: Uuid, family_id: Uuid, hash: &str) -> NewRefreshToken {
    NewRefreshToken {
        id: Uuid::now_v7(),
        user_id,
        family_id,
        token_hash: hash.into(),
        expires_at: common::now() + Duration::days(30),
        created_at: common::now(),
    }
}

/// Begins a session `family` of `user_id` lasting `days`, with its first token `hash`; the
/// token's id.
async fn start(
    tokens: &SqlRefreshTokenRepository,
    user_id: Uuid,
    family: Uuid,
    hash: &str,
    days: i64,
) -> Uuid {
    let first = token(user_id, family, hash);
    let id = first.id;
    let session = NewSession {
        id: family,
        user_id,
        expires_at: common::now() + Duration::days(days),
        created_at: common::now(),
    };
    tokens.start(session, first).await.unwrap();
    id
}

/// A session of Ada's, begun with the token "h1".
struct Session {
    tokens: SqlRefreshTokenRepository,
    user: Uuid,
    family: Uuid,
    /// The id of the first token, "h1".
    first: Uuid,
}

impl Session {
    /// A new user Ada and a session of hers lasting `days`.
    async fn start(db: &TestDb, days: i64) -> Self {
        let tokens = SqlRefreshTokenRepository::new(db.db.clone());
        let user = common::make_user(db, "ada").await.id;
        let family = Uuid::now_v7();
        let first = start(&tokens, user, family, "h1", days).await;
        Self {
            tokens,
            user,
            family,
            first,
        }
    }

    /// Rotates the token `id` into a new token `hash` of the session, at `at`.
    async fn rotate(&self, id: Uuid, at: DateTime<Utc>, hash: &str) -> Rotation {
        self.tokens
            .rotate(id, at, token(self.user, self.family, hash))
            .await
            .unwrap()
    }
}

/// Whether the session `id` is stored and live at the tests' now.
async fn live(tokens: &SqlRefreshTokenRepository, id: Uuid) -> bool {
    tokens
        .find_session(id)
        .await
        .unwrap()
        .is_some_and(|s| s.is_live(common::now()))
}

/// Whether the refresh token stored under `hash` is revoked.
async fn revoked(tokens: &SqlRefreshTokenRepository, hash: &str) -> bool {
    tokens
        .find_by_hash(hash)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}

both_backends!(
    a_taken_email_or_username_is_a_conflict_naming_it,
    |db: TestDb| async move {
        let repo = SqlUserRepository::new(db.db.clone());
        common::make_user(&db, "ada").await;
        for (email, username, taken) in [
            ("ada@example.com", "other", Conflict::Email),
            ("other@example.com", "ada", Conflict::Username),
        ] {
            let err = repo
                .create(NewUser {
                    id: Uuid::now_v7(),
                    email: Email::parse(email).unwrap(),
                    username: Username::parse(username).unwrap(),
                    password_hash: "h".into(),
                    preferences: Preferences::default(),
                    now: common::now(),
                })
                .await
                .unwrap_err();
            assert!(
                matches!(&err, RepoError::Conflict(c) if *c == taken),
                "{email} {username}: {err:?}"
            );
        }
    }
);

both_backends!(
    users_are_found_by_email_or_username,
    |db: TestDb| async move {
        let repo = SqlUserRepository::new(db.db.clone());
        let ada = common::make_user(&db, "ada").await;
        assert_eq!(repo.find_by_login("ada").await.unwrap().unwrap().id, ada.id);
        assert_eq!(
            repo.find_by_login("ada@example.com")
                .await
                .unwrap()
                .unwrap()
                .id,
            ada.id
        );
        assert!(repo.find_by_login("bob").await.unwrap().is_none());
        let found = repo.find_by_id(ada.id).await.unwrap().unwrap();
        assert_eq!(found, ada);
    }
);

both_backends!(
    a_profile_update_changes_only_what_is_given,
    |db: TestDb| async move {
        let repo = SqlUserRepository::new(db.db.clone());
        let ada = common::make_user(&db, "ada").await;
        let prefs = Preferences::parse(json!({"base_currency": "EUR"})).unwrap();
        let later = common::now() + Duration::hours(1);
        let updated = repo
            .update_profile(ada.id, None, Some(prefs.clone()), later)
            .await
            .unwrap();
        assert_eq!(updated.username, ada.username);
        assert_eq!(updated.preferences, prefs);
        assert_eq!(updated.updated_at, later);
        assert_eq!(updated.created_at, ada.created_at);
        common::make_user(&db, "bob").await;
        let err = repo
            .update_profile(ada.id, Some(Username::parse("bob").unwrap()), None, later)
            .await
            .unwrap_err();
        assert!(matches!(err, RepoError::Conflict(Conflict::Username)));
        let err = repo
            .update_profile(Uuid::now_v7(), None, None, later)
            .await
            .unwrap_err();
        assert!(matches!(err, RepoError::NotFound), "{err:?}");
    }
);

both_backends!(a_token_rotates_only_once, |db: TestDb| async move {
    let s = Session::start(&db, 90).await;
    let tokens = &s.tokens;
    assert_eq!(
        s.rotate(s.first, common::now(), "h2").await,
        Rotation::Rotated
    );
    assert_eq!(
        s.rotate(s.first, common::now(), "h3").await,
        Rotation::AlreadySpent
    );
    assert!(tokens.find_by_hash("h3").await.unwrap().is_none());
    let spent = tokens.find_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(spent.used_at, Some(common::now()));
    tokens.revoke_family(s.family, common::now()).await.unwrap();
    assert!(revoked(tokens, "h2").await);
});

both_backends!(
    revoking_a_family_ends_its_session_and_no_token_rotates_in_it_afterwards,
    |db: TestDb| async move {
        let s = Session::start(&db, 90).await;
        let (tokens, family, other) = (&s.tokens, s.family, Uuid::now_v7());
        start(tokens, s.user, other, "o1", 90).await;
        let session = tokens.find_session(family).await.unwrap().unwrap();
        assert_eq!(
            (session.user_id, session.expires_at),
            (s.user, common::now() + Duration::days(90))
        );
        assert!(session.is_live(common::now()));

        tokens.revoke_family(family, common::now()).await.unwrap();

        let ended = tokens.find_session(family).await.unwrap().unwrap();
        assert_eq!(ended.revoked_at, Some(common::now()));
        assert_eq!(
            s.rotate(s.first, common::now(), "h2").await,
            Rotation::SessionEnded
        );
        assert!(tokens.find_by_hash("h2").await.unwrap().is_none());
        assert!(
            live(tokens, other).await,
            "another session of ada ended too"
        );
    }
);

both_backends!(
    a_session_past_its_absolute_lifetime_no_longer_rotates,
    |db: TestDb| async move {
        let s = Session::start(&db, 1).await;
        let later = common::now() + Duration::days(1);
        assert_eq!(s.rotate(s.first, later, "h2").await, Rotation::SessionEnded);
        let spent = s.tokens.find_by_hash("h1").await.unwrap().unwrap();
        assert_eq!(spent.used_at, None, "a refused rotation changed the token");
    }
);

both_backends!(
    a_refresh_racing_a_password_change_never_leaves_a_usable_token_200_times,
    workers = 4,
    |db: TestDb| async move {
        let users = SqlUserRepository::new(db.db.clone());
        let tokens = SqlRefreshTokenRepository::new(db.db.clone());
        let ada = common::make_user(&db, "ada").await;
        for round in 0..200 {
            let family = Uuid::now_v7();
            let first = start(&tokens, ada.id, family, &format!("first-{round}"), 90).await;
            let next = token(ada.id, family, &format!("next-{round}"));
            let (rotation, changed) = tokio::join!(
                tokens.rotate(first, common::now(), next),
                users.change_password(ada.id, format!("hash-{round}"), common::now()),
            );
            changed.unwrap();
            assert!(
                !live(&tokens, family).await,
                "round {round}: session lives on"
            );
            // Which side wins is the scheduler's choice; a token minted by a winning refresh
            // must have been revoked by the change that followed it.
            if rotation.unwrap() == Rotation::Rotated {
                assert!(
                    revoked(&tokens, &format!("next-{round}")).await,
                    "round {round}: a token minted in the race escaped the revocation"
                );
            }
        }
    }
);

both_backends!(
    changing_the_password_ends_every_session_and_refresh_token_of_the_user,
    |db: TestDb| async move {
        let users = SqlUserRepository::new(db.db.clone());
        let tokens = SqlRefreshTokenRepository::new(db.db.clone());
        let ada = common::make_user(&db, "ada").await;
        let bob = common::make_user(&db, "bob").await;
        let mut families = Vec::new();
        for (user, hash) in [(ada.id, "a1"), (ada.id, "a2"), (bob.id, "b1")] {
            let family = Uuid::now_v7();
            start(&tokens, user, family, hash, 90).await;
            families.push(family);
        }
        users
            .change_password(ada.id, "new-hash".into(), common::now())
            .await
            .unwrap();
        assert_eq!(
            users
                .find_by_id(ada.id)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            "new-hash"
        );
        for (hash, of_ada) in [("a1", true), ("a2", true), ("b1", false)] {
            assert_eq!(revoked(&tokens, hash).await, of_ada, "{hash}");
        }
        for (family, of_ada) in families.into_iter().zip([true, true, false]) {
            assert_eq!(live(&tokens, family).await, !of_ada);
        }
    }
);

/// Every table with a row owned (directly or not) by the user, and how to find theirs.
const OWNED: &[(&str, &str)] = &[
    ("users", "users WHERE id = $1"),
    ("fx_rates", "fx_rates WHERE user_id = $1"),
    ("refresh_tokens", "refresh_tokens WHERE user_id = $1"),
    ("sessions", "sessions WHERE user_id = $1"),
    ("plaid_connections", "plaid_connections WHERE user_id = $1"),
    ("accounts", "accounts WHERE user_id = $1"),
    ("transactions", "transactions WHERE user_id = $1"),
    (
        "transaction_history",
        "transaction_history WHERE user_id = $1",
    ),
    (
        "balance_snapshots",
        "balance_snapshots s JOIN accounts a ON a.id = s.account_id WHERE a.user_id = $1",
    ),
    ("investments", "investments WHERE owner_user_id = $1"),
    ("portfolios", "portfolios WHERE user_id = $1"),
    (
        "portfolio_items",
        "portfolio_items i JOIN portfolios p ON p.id = i.portfolio_id WHERE p.user_id = $1",
    ),
];

/// Gives `user` one row in every table.
async fn fill(db: &TestDb, user: Uuid) {
    let b = db.backend();
    let now: Value = common::now().into();
    let m = |units: i64| codec::encode(b, Decimal::new(units, 2), Scale::Money).unwrap();
    let f = |units: i64| codec::encode(b, Decimal::new(units, 2), Scale::Fine).unwrap();
    let (conn, acct, txn, pf, inv) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    // An item and a trade of the same position: 10 units of the private fund at 9.
    let position = || -> Vec<Value> {
        vec![
            Uuid::now_v7().into(),
            pf.into(),
            inv.into(),
            f(1_000),
            f(900),
            now.clone(),
        ]
    };
    let statements: Vec<(&str, Vec<Value>)> = vec![
        (
            "INSERT INTO fx_rates (id, user_id, currency, base_currency, rate, date, created_at, \
             updated_at) VALUES ($1, $2, 'EUR', 'USD', $3, '2026-11-01', $4, $4)",
            vec![Uuid::now_v7().into(), user.into(), f(108), now.clone()],
        ),
        (
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5)",
            vec![
                Uuid::now_v7().into(),
                user.into(),
                Uuid::now_v7().into(),
                user.simple().to_string().into(),
                now.clone(),
            ],
        ),
        (
            "INSERT INTO sessions (id, user_id, expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $3, $3)",
            vec![Uuid::now_v7().into(), user.into(), now.clone()],
        ),
        (
            "INSERT INTO plaid_connections (id, user_id, plaid_item_id, access_token, \
             created_at, updated_at) VALUES ($1, $2, $3, 'sealed', $4, $4)",
            vec![
                conn.into(),
                user.into(),
                format!("item-{user}").into(),
                now.clone(),
            ],
        ),
        (
            "INSERT INTO accounts (id, user_id, connection_id, name, type, current_balance, \
             currency, created_at, updated_at) VALUES ($1, $2, $3, 'Checking', 'checking', $4, 'USD', $5, $5)",
            vec![
                acct.into(),
                user.into(),
                conn.into(),
                m(100_000),
                now.clone(),
            ],
        ),
        (
            "INSERT INTO transactions (id, user_id, account_id, amount, date, description, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, '2026-11-01', 'Coffee', $5, $5)",
            vec![txn.into(), user.into(), acct.into(), m(-450), now.clone()],
        ),
        (
            "INSERT INTO transaction_history (id, user_id, transaction_id, account_id, action, \
             changes, created_at) VALUES ($1, $2, $3, $4, 'created', '{}', $5)",
            vec![
                Uuid::now_v7().into(),
                user.into(),
                txn.into(),
                acct.into(),
                now.clone(),
            ],
        ),
        (
            "INSERT INTO balance_snapshots (id, account_id, date, balance, currency, created_at, \
             updated_at) VALUES ($1, $2, '2026-11-01', $3, 'USD', $4, $4)",
            vec![Uuid::now_v7().into(), acct.into(), m(100_000), now.clone()],
        ),
        (
            "INSERT INTO investments (id, owner_user_id, symbol, name, type, current_price, \
             created_at, updated_at) VALUES ($1, $2, 'PRIV', 'Private fund', 'other', $3, $4, $4)",
            vec![inv.into(), user.into(), f(1_000), now.clone()],
        ),
        (
            "INSERT INTO portfolios (id, user_id, name, is_default, target_allocation, \
             created_at, updated_at) VALUES ($1, $2, 'Main', $3, '{}', $4, $4)",
            vec![pf.into(), user.into(), true.into(), now.clone()],
        ),
        (
            "INSERT INTO portfolio_items (id, portfolio_id, investment_id, quantity, \
             average_cost, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
            position(),
        ),
        (
            "INSERT INTO investment_prices (id, investment_id, date, price, created_at, \
             updated_at) VALUES ($1, $2, '2026-11-01', $3, $4, $4)",
            vec![Uuid::now_v7().into(), inv.into(), f(1_000), now.clone()],
        ),
        (
            "INSERT INTO portfolio_trades (id, portfolio_id, investment_id, side, quantity, \
             price, date, created_at, updated_at) \
             VALUES ($1, $2, $3, 'buy', $4, $5, '2026-11-01', $6, $6)",
            position(),
        ),
    ];
    for (sql, values) in statements {
        common::exec(db, sql, values).await;
    }
}

/// A new user `name` with one row in every table; their id.
async fn filled(db: &TestDb, name: &str) -> Uuid {
    let user = common::make_user(db, name).await.id;
    fill(db, user).await;
    user
}

async fn counts(db: &TestDb, user: Uuid) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for (table, theirs) in OWNED {
        let sql = format!("SELECT COUNT(*) AS n FROM {theirs}");
        out.push((*table, common::count(db, &sql, vec![user.into()]).await));
    }
    out
}

both_backends!(
    deleting_a_user_leaves_no_row_of_theirs_in_any_table_and_spares_others,
    |db: TestDb| async move {
        let repo = SqlUserRepository::new(db.db.clone());
        let ada = filled(&db, "ada").await;
        let bob = filled(&db, "bob").await;
        assert!(counts(&db, ada).await.iter().all(|(_, n)| *n == 1));

        repo.delete(ada).await.unwrap();

        for (table, n) in counts(&db, ada).await {
            assert_eq!(n, 0, "{table} still holds a row of the deleted user");
        }
        for (table, n) in counts(&db, bob).await {
            assert_eq!(n, 1, "{table} lost a row of another user");
        }
        assert!(matches!(repo.delete(ada).await, Err(RepoError::NotFound)));
    }
);

both_backends!(
    a_transaction_cannot_point_at_another_users_account,
    |db: TestDb| async move {
        let ada = filled(&db, "ada").await;
        let bob = common::make_user(&db, "bob").await.id;
        let row = common::row(
            &db,
            "SELECT id FROM accounts WHERE user_id = $1",
            vec![ada.into()],
        )
        .await;
        let adas_account: Uuid = row.try_get("", "id").unwrap();
        let result =
            common::insert_transaction(&db, Uuid::now_v7(), bob, adas_account, Decimal::ONE).await;
        common::assert_refused(result, "foreign key");
    }
);

both_backends!(
    an_account_with_transactions_cannot_be_deleted_by_the_database,
    |db: TestDb| async move {
        let ada = filled(&db, "ada").await;
        let result = common::try_exec(
            &db,
            "DELETE FROM accounts WHERE user_id = $1",
            vec![ada.into()],
        )
        .await;
        common::assert_refused(result, "foreign key");
        let left = common::count(
            &db,
            "SELECT COUNT(*) AS n FROM accounts WHERE user_id = $1",
            vec![ada.into()],
        )
        .await;
        assert_eq!(left, 1);
    }
);
