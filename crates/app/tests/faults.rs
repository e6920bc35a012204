//! The real `nestegg` binary while what it depends on fails: PostgreSQL stopped and started
//! again under writes, Redis stopped and started again, and SIGTERM with work in flight.
//! PostgreSQL and Redis are private instances of the test (see `support`), never the
//! machine's shared ones, which other tests use at the same time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nestegg_plaid_fake::{FakeConfig, FakePlaid};
use reqwest::{Client, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use support::{
    PrivatePostgres, PrivateRedis, Server, TempDir, answer, checking, create, get, link, plaid_env,
    post, query, server_env, sign_up,
};

/// What one request answered, and when it was sent and answered.
#[derive(Debug, Clone)]
struct Outcome {
    sent: Instant,
    answered: Instant,
    status: Option<StatusCode>,
    body: Value,
}

/// A write the server acknowledged (2xx).
#[derive(Debug, Clone)]
struct Acknowledged {
    id: String,
    account: String,
    amount: Decimal,
    is_pending: bool,
}

/// The `i`th amount a writer sends: positive (deposits into a checking account), with cents.
fn amount(writer: usize, i: usize) -> Decimal {
    Decimal::new(
        i64::try_from(100 + (writer * 37 + i * 101) % 9_900).unwrap(),
        2,
    )
}

/// Posts transactions to `account` one after another until `stop`; every outcome, and the
/// writes acknowledged.
async fn write_until(
    client: Client,
    url: String,
    token: String,
    account: String,
    writer: usize,
    stop: Arc<AtomicBool>,
) -> (Vec<Outcome>, Vec<Acknowledged>) {
    let (mut outcomes, mut acknowledged) = (Vec::new(), Vec::new());
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let amount = amount(writer, i);
        let is_pending = i % 5 == 4;
        let body = json!({
            "account_id": account, "amount": amount.to_string(),
            "date": chrono::Utc::now().date_naive(), "description": format!("w{writer}-{i}"),
            "is_pending": is_pending,
        });
        let sent = Instant::now();
        let result = client
            .post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await;
        let (status, body) = match result {
            Ok(response) => {
                let (status, body) = answer(response).await;
                (Some(status), body)
            }
            Err(e) => (None, Value::String(e.to_string())),
        };
        if status == Some(StatusCode::CREATED) {
            acknowledged.push(Acknowledged {
                id: body["id"].as_str().unwrap().to_owned(),
                account: account.clone(),
                amount,
                is_pending,
            });
        }
        outcomes.push(Outcome {
            sent,
            answered: Instant::now(),
            status,
            body,
        });
        i += 1;
        if status == Some(StatusCode::SERVICE_UNAVAILABLE) {
            // What a client told to try again shortly does.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    (outcomes, acknowledged)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_writes_answers_503_in_the_envelope_recovers_without_a_restart_and_keeps_every_acknowledged_write_whole()
 {
    let Some(pg) = PrivatePostgres::start() else {
        return;
    };
    let dir = TempDir::new("pg-fault");
    let server = Server::start(&server_env(&pg.url()), &dir.path().join("nestegg.log")).await;
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // Four users with a checking account each, two writers per account.
    let mut accounts = Vec::new();
    for n in 0..4 {
        let token = sign_up(&client, &server, &format!("writer{n}")).await;
        let account = checking(&client, &server, &token, "1000.01").await;
        accounts.push((token, account));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (token, account) = accounts[w % accounts.len()].clone();
            tokio::spawn(write_until(
                client.clone(),
                server.url("/transactions"),
                token,
                account,
                w,
                stop.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    pg.stop_immediately();
    let down = Instant::now();
    // While it is down, readiness says so and requests are answered 503 in the envelope,
    // each after the pool's 5 s wait for a connection (so the outage lasts longer than that,
    // and writes sent during it are answered before it ends).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let accounts_url = server.url("/accounts");
    let ((status, ready), (listed_status, listed)) = tokio::join!(
        readiness(&client, &server),
        get(&client, &accounts_url, &accounts[0].0)
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["database"], "unavailable", "{ready}");
    assert_eq!(listed_status, StatusCode::SERVICE_UNAVAILABLE, "{listed}");
    assert_eq!(listed["error"]["code"], "service_unavailable", "{listed}");
    tokio::time::sleep(Duration::from_secs(6).saturating_sub(down.elapsed())).await;
    let up = Instant::now();
    pg.start_again();

    // The same process, not restarted, takes writes again.
    let recovered = loop {
        let (status, body) = post(
            &client,
            &server.url("/transactions"),
            Some(&accounts[0].0),
            &json!({"account_id": accounts[0].1, "amount": "0.01",
                    "date": chrono::Utc::now().date_naive(), "description": "probe"}),
        )
        .await;
        if status == StatusCode::CREATED {
            break Instant::now();
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "no recovery 30 s after PostgreSQL returned:\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    let mut acknowledged = Vec::new();
    for writer in writers {
        let (o, a) = writer.await.unwrap();
        outcomes.extend(o);
        acknowledged.extend(a);
    }

    // Every answer was a 201 or a 503 in the envelope; never a 500, never a dropped connection.
    for o in &outcomes {
        match o.status {
            Some(StatusCode::CREATED) => {}
            Some(StatusCode::SERVICE_UNAVAILABLE) => {
                let code = o.body["error"]["code"].as_str().unwrap_or_default();
                assert!(
                    ["service_unavailable", "busy"].contains(&code),
                    "a 503 outside the envelope: {}",
                    o.body
                );
            }
            other => panic!(
                "{other:?} {} (sent {:?} after the stop)\n{}",
                o.body,
                o.sent.checked_duration_since(down),
                server.logs()
            ),
        }
    }
    let while_down = outcomes
        .iter()
        .filter(|o| o.sent > down && o.answered < up)
        .collect::<Vec<_>>();
    assert!(!while_down.is_empty(), "no write was answered while down");
    assert!(
        while_down
            .iter()
            .all(|o| o.status == Some(StatusCode::SERVICE_UNAVAILABLE)),
        "a write succeeded while PostgreSQL was down"
    );
    let after = outcomes
        .iter()
        .filter(|o| o.sent > recovered && o.status == Some(StatusCode::CREATED))
        .count();
    assert!(after > 0, "no writer's write succeeded after the recovery");

    // Every acknowledged write is stored as it was acknowledged; none is half-applied: each
    // account's balance is its opening balance plus its posted transactions, its latest
    // balance point agrees, and every transaction has its history entry.
    let stored: BTreeMap<String, (String, Decimal, bool)> = query(
        &pg.url(),
        "SELECT id::text AS id, account_id::text AS account, amount::text AS amount, \
         is_pending FROM transactions",
    )
    .await
    .iter()
    .map(|r| {
        (
            r.try_get::<String>("", "id").unwrap(),
            (
                r.try_get::<String>("", "account").unwrap(),
                r.try_get::<String>("", "amount").unwrap().parse().unwrap(),
                r.try_get::<bool>("", "is_pending").unwrap(),
            ),
        )
    })
    .collect();
    for a in &acknowledged {
        assert_eq!(
            stored.get(&a.id),
            Some(&(a.account.clone(), a.amount, a.is_pending)),
            "acknowledged write {} is missing or changed",
            a.id
        );
    }
    assert!(
        acknowledged.len() > 20,
        "only {} writes acknowledged",
        acknowledged.len()
    );
    let unbalanced = query(
        &pg.url(),
        "SELECT a.id::text AS id, a.current_balance::text AS balance, \
           (a.opening_balance + COALESCE((SELECT SUM(t.amount) FROM transactions t \
             WHERE t.account_id = a.id AND NOT t.is_pending), 0))::text AS expected, \
           (SELECT s.balance FROM balance_snapshots s WHERE s.account_id = a.id \
             ORDER BY s.date DESC LIMIT 1)::text AS latest_point \
         FROM accounts a",
    )
    .await
    .iter()
    .map(|r| {
        let get = |c: &str| r.try_get::<String>("", c).unwrap();
        (
            get("id"),
            get("balance"),
            get("expected"),
            get("latest_point"),
        )
    })
    .filter(|(_, balance, expected, point)| {
        let (b, e, p): (Decimal, Decimal, Decimal) = (
            balance.parse().unwrap(),
            expected.parse().unwrap(),
            point.parse().unwrap(),
        );
        b != e || b != p
    })
    .collect::<Vec<_>>();
    assert!(unbalanced.is_empty(), "{unbalanced:?}");
    let orphans = query(
        &pg.url(),
        "SELECT COUNT(*) AS n FROM transactions t WHERE NOT EXISTS \
         (SELECT 1 FROM transaction_history h WHERE h.transaction_id = t.id)",
    )
    .await;
    assert_eq!(orphans[0].try_get::<i64>("", "n").unwrap(), 0);
    let (status, ready) = readiness(&client, &server).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
}

/// The user's net worth as `/overview` answers it.
async fn net_worth(client: &Client, server: &Server, token: &str) -> String {
    let (status, overview) = get(client, &server.url("/overview"), token).await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    overview["net_worth"].as_str().unwrap().to_owned()
}

async fn readiness(client: &Client, server: &Server) -> (StatusCode, Value) {
    answer(
        client
            .get(format!("{}/health/ready", server.base))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_leaves_answers_correct_and_readiness_degraded_and_when_it_returns_with_its_old_data_no_stale_report_is_served()
 {
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let dir = TempDir::new("redis-fault");
    let mut env = server_env(&dir.sqlite_url());
    env.push(("REDIS_URL", redis.url()));
    env.push(("NESTEGG_REDIS_PREFIX", "faults:".to_owned()));
    let server = Server::start(&env, &dir.path().join("nestegg.log")).await;
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let token = sign_up(&client, &server, "ada").await;
    let account = checking(&client, &server, &token, "100").await;
    let deposit = |amount: &str| {
        json!({"account_id": account, "amount": amount,
               "date": chrono::Utc::now().date_naive(), "description": "deposit"})
    };
    let cached = |redis: &PrivateRedis| redis.cli(&["--scan", "--pattern", "faults:cache:*:f:*"]);
    assert_eq!(net_worth(&client, &server, &token).await, "100");
    assert!(
        !cached(&redis).trim().is_empty(),
        "the overview was not cached"
    );

    // Redis stops. Readiness says the cache is degraded (still 200); writes, reports and logins
    // go on, promptly, from the database.
    redis.stop();
    let (status, ready) = readiness(&client, &server).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready, json!({"database": "ok", "cache": "degraded"}));
    let started = Instant::now();
    create(&client, &server.url("/transactions"), &token, &deposit("5")).await;
    assert_eq!(net_worth(&client, &server, &token).await, "105");
    let (status, login) = post(
        &client,
        &server.url("/auth/login"),
        None,
        &json!({"login": "ada", "password": support::PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answers waited on the missing Redis: {:?}",
        started.elapsed()
    );

    // Redis returns with what it held: the overview cached before the deposit, under the
    // version of before it (the deposit's invalidation could not reach it).
    redis.start_again().await;
    assert!(!cached(&redis).trim().is_empty(), "Redis came back empty");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, ready) = readiness(&client, &server).await;
        assert_eq!(status, StatusCode::OK, "{ready}");
        if ready["cache"] == "ok" {
            break;
        }
        assert!(Instant::now() < deadline, "the cache never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(net_worth(&client, &server, &token).await, "105");

    // And the cache is in use again: a write invalidates, a read caches.
    create(&client, &server.url("/transactions"), &token, &deposit("1")).await;
    assert!(
        cached(&redis).trim().is_empty(),
        "the write left a cached report"
    );
    assert_eq!(net_worth(&client, &server, &token).await, "106");
    assert!(
        !cached(&redis).trim().is_empty(),
        "the overview was not cached again"
    );
    assert_eq!(net_worth(&client, &server, &token).await, "106");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_slow_request_in_flight_finish_with_200_refuses_new_connections_and_exits_0_within_the_shutdown_timeout()
 {
    let dir = TempDir::new("sigterm");
    drains_on_sigterm(dir.sqlite_url(), &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_on_postgres_lets_a_slow_request_in_flight_finish_with_200_and_exits_0() {
    let Some(pg) = PrivatePostgres::start() else {
        return;
    };
    let dir = TempDir::new("sigterm-pg");
    drains_on_sigterm(pg.url(), &dir).await;
}

/// Waits (up to 10 s) until the fake Plaid has been asked for a first sync page; fails with
/// `never` otherwise.
async fn first_sync_page_asked(fake: &FakePlaid, never: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.calls_to("/transactions/sync") < 1 {
        assert!(Instant::now() < deadline, "{never}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The server, sent SIGTERM at `terminated`, exits with status 0 within the shutdown timeout.
async fn exits_0_within_the_shutdown_timeout(server: &mut Server, terminated: Instant) {
    let exited = server.exited_within(Duration::from_secs(12)).await;
    let status = exited.unwrap_or_else(|| panic!("still running 12 s after SIGTERM"));
    assert!(status.success(), "exited with {status}:\n{}", server.logs());
    assert!(
        terminated.elapsed() < Duration::from_secs(11),
        "{:?}",
        terminated.elapsed()
    );
}

/// A server on `database_url` with Plaid at `fake` and the scheduler syncing every
/// `sync_interval` seconds (0: off), logging into `dir`, and ada signed up on it:
/// (server, client, ada's token).
async fn ada_on_plaid(
    database_url: &str,
    fake: &FakePlaid,
    sync_interval: &str,
    dir: &TempDir,
) -> (Server, Client, String) {
    let mut env = server_env(database_url);
    env.extend(plaid_env(fake));
    env.push(("NESTEGG_SYNC_INTERVAL_SECONDS", sync_interval.to_owned()));
    let server = Server::start(&env, &dir.path().join("nestegg.log")).await;
    let client = Client::new();
    let token = sign_up(&client, &server, "ada").await;
    (server, client, token)
}

/// A sync held up by a slow Plaid is in flight when SIGTERM comes: it is answered in full,
/// no new connection is taken, and the process exits 0 within the shutdown timeout.
async fn drains_on_sigterm(database_url: String, dir: &TempDir) {
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    let (mut server, client, token) = ada_on_plaid(&database_url, &fake, "0", dir).await;
    let connection = link(&client, &server, &token, &fake).await;
    // The default item's transactions (about 1,440, by the calendar) come in three pages,
    // each answered after 1.5 s.
    fake.set_delay(Some("/transactions/sync"), Duration::from_millis(1500));
    let sync = tokio::spawn({
        let (client, token) = (client.clone(), token.clone());
        let url = server.url(&format!(
            "/plaid/connections/{}/sync",
            connection["id"].as_str().unwrap()
        ));
        async move { answer(client.post(url).bearer_auth(token).send().await.unwrap()).await }
    });
    first_sync_page_asked(&fake, "the sync never started").await;
    server.terminate();
    let terminated = Instant::now();

    // No new connection is taken.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = std::net::TcpStream::connect(("127.0.0.1", server.port));
    assert_eq!(
        refused.map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "a new connection was accepted after SIGTERM"
    );

    // The request in flight is answered in full.
    let (status, report) = sync.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{report}\n{}", server.logs());
    assert_eq!(report["sync_status"], "ok", "{report}");
    let item = connection["plaid_item_id"].as_str().unwrap();
    let expected = fake.log_len(item).unwrap();
    assert!(expected > 1000, "{expected}");
    assert_eq!(report["transactions_added"], expected, "{report}");
    assert!(
        terminated.elapsed() > Duration::from_secs(2),
        "answered too soon to have been in flight"
    );

    exits_0_within_the_shutdown_timeout(&mut server, terminated).await;
    assert!(
        server.logs().contains("nestegg stopped"),
        "{}",
        server.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigterm_the_scheduler_finishes_the_sync_it_is_running_starts_no_other_and_the_process_exits_0()
 {
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    let dir = TempDir::new("sigterm-scheduler");
    let database_url = dir.sqlite_url();
    let (mut server, client, token) = ada_on_plaid(&database_url, &fake, "1", &dir).await;
    // Each scheduled sync takes a few pages of 500, each answered after 0.7 s; two items are
    // due.
    fake.set_delay(Some("/transactions/sync"), Duration::from_millis(700));
    let item = link(&client, &server, &token, &fake).await["plaid_item_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = link(&client, &server, &token, &fake).await["plaid_item_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pages = fake.log_len(&item).unwrap().div_ceil(500) as u64;
    assert!(pages >= 3, "{pages} pages");
    first_sync_page_asked(&fake, "the scheduler never synced").await;
    server.terminate();
    let terminated = Instant::now();
    exits_0_within_the_shutdown_timeout(&mut server, terminated).await;

    // The sync it was running finished and let go of its lease, none of its calls to Plaid
    // failing on the way; the other never started.
    assert!(
        !server.logs().contains("plaid call failed"),
        "{}",
        server.logs()
    );
    assert_eq!(
        fake.calls_to("/transactions/sync"),
        pages,
        "{:?}\n{}",
        fake.calls(),
        server.logs()
    );
    let rows = query(
        &database_url,
        "SELECT sync_cursor, lease_holder, last_sync_at FROM plaid_connections ORDER BY id",
    )
    .await;
    let states: Vec<(bool, bool, bool)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get::<Option<String>>("", "sync_cursor")
                    .unwrap()
                    .is_some(),
                r.try_get::<Option<uuid::Uuid>>("", "lease_holder")
                    .unwrap()
                    .is_some(),
                r.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", "last_sync_at")
                    .unwrap()
                    .is_some(),
            )
        })
        .collect();
    let synced = (true, false, true);
    let untouched = (false, false, false);
    assert!(
        states == [synced, untouched] || states == [untouched, synced],
        "{states:?} (cursor, lease, synced)\n{}",
        server.logs()
    );
    let rows = query(&database_url, "SELECT COUNT(*) AS n FROM transactions").await;
    let synced_item = [&item, &other]
        .iter()
        .map(|i| fake.log_len(i).unwrap())
        .collect::<Vec<_>>();
    assert!(
        synced_item.contains(&usize::try_from(rows[0].try_get::<i64>("", "n").unwrap()).unwrap()),
        "{synced_item:?}"
    );
}
