//! The user and refresh-token repositories on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use nestegg_domain::{Email, Preferences, Username};
use nestegg_persistence::both_backends;
use nestegg_persistence::codec::{self, Scale};
use nestegg_persistence::testing::TestDb;
use nestegg_persistence::{SqlRefreshTokenRepository, SqlUserRepository};
use nestegg_ports::{
    Conflict, NewRefreshToken, NewUser, RefreshTokenRepository, RepoError, UserRepository,
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
    let tokens = SqlRefreshTokenRepository::new(db.db.clone());
    let ada = common::make_user(&db, "ada").await;
    let family = Uuid::now_v7();
    let first = token(ada.id, family, "h1");
    let first_id = first.id;
    tokens.insert(first).await.unwrap();
    assert!(
        tokens
            .rotate(first_id, common::now(), token(ada.id, family, "h2"))
            .await
            .unwrap()
    );
    assert!(
        !tokens
            .rotate(first_id, common::now(), token(ada.id, family, "h3"))
            .await
            .unwrap()
    );
    assert!(tokens.find_by_hash("h3").await.unwrap().is_none());
    let spent = tokens.find_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(spent.used_at, Some(common::now()));
    tokens.revoke_family(family, common::now()).await.unwrap();
    assert!(revoked(&tokens, "h2").await);
});

both_backends!(
    changing_the_password_revokes_every_refresh_token_of_the_user,
    |db: TestDb| async move {
        let users = SqlUserRepository::new(db.db.clone());
        let tokens = SqlRefreshTokenRepository::new(db.db.clone());
        let ada = common::make_user(&db, "ada").await;
        let bob = common::make_user(&db, "bob").await;
        for (user, hash) in [(ada.id, "a1"), (ada.id, "a2"), (bob.id, "b1")] {
            tokens
                .insert(token(user, Uuid::now_v7(), hash))
                .await
                .unwrap();
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
    }
);

/// Every table with a row owned (directly or not) by the user, and how to find theirs.
const OWNED: &[(&str, &str)] = &[
    ("users", "users WHERE id = $1"),
    ("fx_rates", "fx_rates WHERE user_id = $1"),
    ("refresh_tokens", "refresh_tokens WHERE user_id = $1"),
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
