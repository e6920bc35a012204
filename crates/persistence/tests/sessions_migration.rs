//! The sessions migration turns existing refresh-token families into sessions, and goes down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::exec;
use nestegg_persistence::SqlRefreshTokenRepository;
use nestegg_persistence::both_backends;
use nestegg_persistence::testing::TestDb;
use nestegg_ports::RefreshTokenRepository;
use uuid::Uuid;

const SESSIONS: &str = "m20261128_000006_sessions";

/// A refresh token of `family` as the schema before sessions stored it.
async fn old_token(db: &TestDb, user: Uuid, family: Uuid, days: i64, used: bool) {
    let created = common::now() + Duration::days(days);
    let used_at = used.then_some(created);
    exec(
        db,
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, used_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        vec![
            Uuid::now_v7().into(),
            user.into(),
            family.into(),
            Uuid::now_v7().simple().to_string().into(),
            (created + Duration::days(30)).into(),
            used_at.into(),
            created.into(),
        ],
    )
    .await;
}

both_backends!(
    existing_families_become_sessions_live_until_their_last_token_expires,
    |db: TestDb| async move {
        common::revert_from(&db, SESSIONS).await;
        let ada = common::make_user(&db, "ada").await.id;
        let (live, spent) = (Uuid::now_v7(), Uuid::now_v7());
        old_token(&db, ada, live, 0, true).await;
        old_token(&db, ada, live, 2, false).await;
        old_token(&db, ada, spent, 0, true).await;
        db.db.migrate_up().await.unwrap();

        let tokens = SqlRefreshTokenRepository::new(db.db.clone());
        let session = tokens.find_session(live).await.unwrap().unwrap();
        assert_eq!(session.user_id, ada);
        assert_eq!(session.created_at, common::now());
        assert_eq!(session.expires_at, common::now() + Duration::days(32));
        assert!(session.is_live(common::now()));
        let ended = tokens.find_session(spent).await.unwrap().unwrap();
        assert!(!ended.is_live(common::now()));

        common::revert_from(&db, SESSIONS).await;
        let left = common::count(
            &db,
            "SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = $1",
            vec![ada.into()],
        )
        .await;
        assert_eq!(left, 3, "going down lost refresh tokens");
    }
);
