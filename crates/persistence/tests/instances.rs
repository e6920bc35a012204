//! What instances without Redis share through the database: cache versions, login counters
//! and the claim that keeps a sole instance alone. Each throttle or version store below is a
//! separate instance's adapter over its own connection pool to the same database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use nestegg_persistence::testing::{Backend, TestDb};
use nestegg_persistence::{
    ClaimError, Db, InstanceClaim, InstanceRole, SqlLoginThrottle, SqlScopeVersions, both_backends,
};
use nestegg_ports::throttle::PENDING_TIMEOUT;
use nestegg_ports::{LoginThrottle, ScopeVersions, ThrottleKey, Throttled};

mod common;

fn key(name: &str, max: u32) -> ThrottleKey {
    ThrottleKey {
        key: name.into(),
        max_failures: max,
        window: Duration::from_secs(900),
    }
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

/// A second instance's pool over the same database.
async fn other_pool(db: &TestDb) -> Db {
    Db::connect(&db.url).await.unwrap()
}

/// The login throttle as two server instances see it, each through its own pool.
async fn two_throttles(db: &TestDb) -> (SqlLoginThrottle, SqlLoginThrottle) {
    (
        SqlLoginThrottle::new(db.db.clone()),
        SqlLoginThrottle::new(other_pool(db).await),
    )
}

both_backends!(
    a_scope_version_bumped_through_one_instance_is_read_by_another_and_only_grows,
    |db: TestDb| async move {
        let first = SqlScopeVersions::new(db.db.clone());
        let second = SqlScopeVersions::new(other_pool(&db).await);
        assert_eq!(second.current("user:1").await.unwrap(), 0);

        first.bump("user:1").await.unwrap();
        first.bump("user:1").await.unwrap();
        second.bump("user:1").await.unwrap();

        assert_eq!(second.current("user:1").await.unwrap(), 3);
        assert_eq!(first.current("user:1").await.unwrap(), 3);
        assert_eq!(first.current("user:2").await.unwrap(), 0);
    }
);

both_backends!(
    bumps_from_many_tasks_at_once_are_all_counted,
    workers = 4,
    |db: TestDb| async move {
        let versions = std::sync::Arc::new(SqlScopeVersions::new(db.db.clone()));
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let v = versions.clone();
                tokio::spawn(async move { v.bump("user:1").await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(versions.current("user:1").await.unwrap(), 40);
    }
);

both_backends!(
    failures_counted_through_one_instance_refuse_the_next_attempt_on_another_until_the_window_ends,
    |db: TestDb| async move {
        let (first, second) = two_throttles(&db).await;
        let keys = [key("pair:ada", 3)];
        for throttle in [&first, &second, &first] {
            throttle.acquire(&keys, t0()).await.unwrap();
            throttle.fail(&keys, t0()).await;
        }

        let later = t0() + TimeDelta::seconds(100);
        assert_eq!(
            second.acquire(&keys, later).await,
            Err(Throttled::Refused {
                retry_after: Duration::from_secs(800)
            })
        );
        let after = t0() + TimeDelta::seconds(900);
        assert_eq!(first.acquire(&keys, after).await, Ok(vec![0]));
    }
);

both_backends!(
    attempts_being_judged_on_one_instance_make_the_next_wait_on_another_and_forgiven_ones_never_count,
    |db: TestDb| async move {
        let (first, second) = two_throttles(&db).await;
        let keys = [key("pair:ada", 2)];
        first.acquire(&keys, t0()).await.unwrap();
        second.acquire(&keys, t0()).await.unwrap();
        assert_eq!(first.acquire(&keys, t0()).await, Err(Throttled::Busy));
        // Attempts never settled (their requests dropped) stop counting after a while.
        let later = t0() + TimeDelta::from_std(PENDING_TIMEOUT).unwrap();
        assert_eq!(second.acquire(&keys, later).await, Ok(vec![0]));
        second.forgive(&keys, later).await;
        for _ in 0..10 {
            first.acquire(&keys, later).await.unwrap();
            second.forgive(&keys, later).await;
        }
        assert_eq!(first.acquire(&keys, later).await, Ok(vec![0]));
    }
);

both_backends!(
    failures_are_reported_per_key_in_the_order_asked_and_a_refused_attempt_counts_nowhere,
    |db: TestDb| async move {
        let throttle = SqlLoginThrottle::new(db.db.clone());
        let addr = [key("addr:1", 1)];
        throttle.acquire(&addr, t0()).await.unwrap();
        throttle.fail(&addr, t0()).await;
        let both = [key("user:ada", ThrottleKey::NO_LIMIT), key("addr:1", 1)];
        assert!(matches!(
            throttle.acquire(&both, t0()).await,
            Err(Throttled::Refused { .. })
        ));
        let login = [key("user:ada", ThrottleKey::NO_LIMIT), key("addr:2", 5)];
        assert_eq!(throttle.acquire(&login, t0()).await, Ok(vec![0, 0]));
        throttle.fail(&login[..1], t0()).await;
        throttle.forgive(&login[1..], t0()).await;
        assert_eq!(throttle.acquire(&login, t0()).await, Ok(vec![1, 0]));
    }
);

both_backends!(
    counters_whose_window_ended_are_deleted_as_attempts_come,
    |db: TestDb| async move {
        let throttle = SqlLoginThrottle::new(db.db.clone());
        for n in 0..20 {
            let keys = [key(&format!("addr:{n}"), 5)];
            throttle.acquire(&keys, t0()).await.unwrap();
            throttle.fail(&keys, t0()).await;
        }
        let rows = || common::count(&db, "SELECT COUNT(*) AS n FROM login_throttle", vec![]);
        assert_eq!(rows().await, 20);

        let later = t0() + TimeDelta::seconds(901);
        throttle
            .acquire(&[key("addr:new", 5)], later)
            .await
            .unwrap();

        assert_eq!(rows().await, 1);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_failed_logins_on_two_instances_never_get_past_the_limit() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let pools = [db.db.clone(), other_pool(&db).await];
    let keys = [key("pair:ada", 5)];
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let throttle = SqlLoginThrottle::new(pools[n % 2].clone());
            let keys = keys.clone();
            tokio::spawn(async move {
                let admitted = throttle.acquire(&keys, t0()).await.is_ok();
                if admitted {
                    throttle.fail(&keys, t0()).await;
                }
                admitted
            })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.unwrap());
    }
    assert!(admitted <= 5, "{admitted} attempts were judged");
    assert!(admitted >= 1);
    let throttle = SqlLoginThrottle::new(db.db.clone());
    let counted = throttle.acquire(&keys, t0()).await;
    assert!(
        admitted < 5 || matches!(counted, Err(Throttled::Refused { .. })),
        "{counted:?}"
    );
}

#[tokio::test]
async fn postgres_a_sole_instance_refuses_a_second_of_either_role_and_instances_of_several_share() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let sole = InstanceClaim::claim(&db.db, InstanceRole::Sole)
        .await
        .unwrap();
    let other = other_pool(&db).await;
    for role in [InstanceRole::Sole, InstanceRole::Shared] {
        let refused = InstanceClaim::claim(&other, role).await;
        assert!(matches!(refused, Err(ClaimError::Taken(_))), "{role:?}");
    }
    drop(sole);
    // The lock ends with its transaction, rolled back as the claim is dropped.
    let mut shared = None;
    for _ in 0..50 {
        if let Ok(claim) = InstanceClaim::claim(&other, InstanceRole::Shared).await {
            shared = Some(claim);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shared = shared.expect("the sole instance's claim ended with it");
    let beside = InstanceClaim::claim(&db.db, InstanceRole::Shared)
        .await
        .unwrap();
    assert!(shared.holds().await && beside.holds().await);
    assert!(matches!(
        InstanceClaim::claim(&db.db, InstanceRole::Sole).await,
        Err(ClaimError::Taken(why)) if why.contains("NESTEGG_INSTANCES=several")
    ));
}

#[tokio::test]
async fn an_sqlite_file_is_claimed_by_one_holder_at_a_time_and_free_again_once_it_lets_go() {
    let dir = std::env::temp_dir().join(format!("nestegg-claim-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("n.db").display());
    let (first, second) = (
        Db::connect(&url).await.unwrap(),
        Db::connect(&url).await.unwrap(),
    );

    let claim = InstanceClaim::claim(&first, InstanceRole::Sole)
        .await
        .unwrap();
    assert!(claim.holds().await);
    let refused = InstanceClaim::claim(&second, InstanceRole::Sole).await;
    assert!(
        matches!(&refused, Err(ClaimError::Taken(why)) if why.contains("SQLite")),
        "{refused:?}"
    );
    drop(claim);
    assert!(
        InstanceClaim::claim(&second, InstanceRole::Sole)
            .await
            .is_ok()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn an_in_memory_sqlite_database_is_claimed_without_a_lock() {
    let db = Db::connect("sqlite::memory:").await.unwrap();
    let claim = InstanceClaim::claim(&db, InstanceRole::Sole).await.unwrap();
    assert!(claim.holds().await);
}
