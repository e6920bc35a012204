//! `nestegg backup` and `nestegg restore`: the demo data copied SQLite -> PostgreSQL -> SQLite
//! with every table equal, and the binary's output and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nestegg::config::Settings;
use nestegg::state::AppState;
use nestegg_application::accounts::AccountInput;
use nestegg_application::auth::ProfileChange;
use nestegg_application::investments::InvestmentInput;
use nestegg_application::transactions::TransactionInput;
use nestegg_persistence::Db;
use nestegg_persistence::backup::{self, Summary, TABLES};
use nestegg_persistence::sql::statement;
use nestegg_persistence::testing::TestDb;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn settings(database_url: &str) -> Settings {
    let key = STANDARD.encode([7u8; 32]);
    let vars = [
        ("DATABASE_URL", database_url.to_owned()),
        ("NESTEGG_BCRYPT_COST", "4".to_owned()),
        (
            "NESTEGG_JWT_SECRET",
            "test-secret-test-secret-test-secret!".to_owned(),
        ),
        ("NESTEGG_ENCRYPTION_KEY", key),
    ];
    Settings::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap()
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("nestegg-backup-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}?mode=rwc", self.path(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

const UNICODE: &str = "Café ☕ 東京 🦀 \"quoted\" back\\slash";

/// The demo user, plus values that are easy to get wrong: a balance of 12345678901234.5678, an
/// overdraft of -250.75, a transaction of 0.1, a price of 8 places, unicode and quotes in
/// text, control characters, NULLs, JSON preferences with numbers, and a row in every table. Returns the user's
/// login and password.
async fn demo_with_tricky_values(db: &TestDb) -> (String, String) {
    let state = AppState::new(&db.db, &settings(&db.url)).unwrap();
    let login = state.demo.create(&state.auth).await.unwrap();
    let user = user_of(&state, &login.username, &login.password).await;
    let account = |name: &str, kind: &str, balance: &str| AccountInput {
        name: name.to_owned(),
        account_type: kind.to_owned(),
        institution_name: None,
        current_balance: dec(balance),
        available_balance: None,
        currency: Some("EUR".to_owned()),
        opened_on: None,
    };
    state
        .accounts
        .create(user, account(UNICODE, "savings", "12345678901234.5678"))
        .await
        .unwrap();
    let overdrawn = state
        .accounts
        .create(user, account("Overdrawn", "checking", "-250.75"))
        .await
        .unwrap();
    state
        .transactions
        .create(
            user,
            TransactionInput {
                account_id: overdrawn.id,
                amount: dec("0.1"),
                date: state.clock.today(),
                description: UNICODE.to_owned(),
                merchant_name: None,
                category: None,
                is_pending: None,
                is_recurring: None,
            },
        )
        .await
        .unwrap();
    let security = state
        .investments
        .create(
            user,
            InvestmentInput {
                symbol: "LONG".to_owned(),
                name: "Eight places".to_owned(),
                investment_type: "crypto".to_owned(),
                ..InvestmentInput::default()
            },
        )
        .await
        .unwrap();
    state
        .investments
        .put_price(user, security.id, dec("1234.56789012"), None)
        .await
        .unwrap();
    state
        .reports
        .put_rate(user, "EUR", dec("1.08765432"), None)
        .await
        .unwrap();
    let preferences = serde_json::from_str(
        r#"{"theme": "dark ☾", "page_size": 25, "ratio": 1.50, "nested": {"b": [1, 2.0], "a": null}}"#,
    )
    .unwrap();
    state
        .auth
        .update_profile(
            user,
            ProfileChange {
                username: None,
                preferences: Some(preferences),
            },
        )
        .await
        .unwrap();
    // No route writes a Plaid connection without Plaid; one straight into the table.
    db.db
        .conn()
        .execute_raw(statement(
            db.backend(),
            "INSERT INTO plaid_connections (id, user_id, plaid_item_id, access_token, \
             institution_name, is_active, sync_status, error_message, created_at, updated_at, \
             lease_holder, lease_until) \
             VALUES ($1, $2, 'item-1', 'sealed', $3, $4, 'error', $7, $5, $5, $6, $5)",
            [
                Uuid::now_v7().into(),
                user.into(),
                UNICODE.into(),
                true.into(),
                state.clock.now().into(),
                Uuid::now_v7().into(),
                "line one\nline two\t✓".into(),
            ],
        ))
        .await
        .unwrap();
    (login.username, login.password)
}

async fn backup_of(db: &Db) -> (String, Summary) {
    let mut out = Vec::new();
    let summary = backup::backup(db, &mut out).await.unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

/// Everything after the header (which names the backend and the time).
fn body(file: &str) -> &str {
    file.split_once('\n').unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_data_round_trips_sqlite_to_postgres_to_sqlite_with_every_table_equal_postgres() {
    let Some(postgres) = TestDb::postgres().await else {
        return;
    };
    let first = TestDb::sqlite().await;
    let (username, password) = demo_with_tricky_values(&first).await;
    let (first_file, first_summary) = backup_of(&first.db).await;
    for t in &first_summary.tables {
        assert!(t.rows > 0, "table {} has no rows to compare", t.table);
    }
    assert_eq!(first_summary.backend, "sqlite");

    let restored = backup::restore(&postgres.db, first_file.as_bytes(), false)
        .await
        .unwrap();
    assert_eq!(restored.tables, first_summary.tables);
    let in_postgres = backup::summarize(&postgres.db).await.unwrap();
    assert_eq!(in_postgres.backend, "postgres");
    assert_eq!(
        in_postgres.tables, first_summary.tables,
        "PostgreSQL's checksums are SQLite's"
    );
    // What PostgreSQL holds, read by PostgreSQL itself.
    let text = |sql: &'static str| {
        let conn = postgres.db.conn();
        async move {
            conn.query_one_raw(statement(sea_orm::DbBackend::Postgres, sql, []))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<String>(0)
                .unwrap()
        }
    };
    assert_eq!(
        text("SELECT current_balance::text FROM accounts WHERE name LIKE 'Café%'").await,
        "12345678901234.5678"
    );
    assert_eq!(
        text("SELECT name FROM accounts WHERE name LIKE 'Café%'").await,
        UNICODE
    );
    assert_eq!(
        text("SELECT current_balance::text FROM accounts WHERE name = 'Overdrawn'").await,
        "-250.6500",
        "the overdraft of -250.75 plus the transaction of 0.1"
    );
    assert_eq!(
        text("SELECT amount::text FROM transactions WHERE merchant_name IS NULL AND amount = 0.1")
            .await,
        "0.1000"
    );
    assert_eq!(
        text("SELECT current_price::text FROM investments WHERE symbol = 'LONG'").await,
        "1234.56789012"
    );
    assert_eq!(
        text("SELECT (preferences->>'ratio') || ' ' || (preferences->>'theme') FROM users").await,
        "1.5 dark ☾"
    );

    let (postgres_file, postgres_summary) = backup_of(&postgres.db).await;
    assert_eq!(postgres_summary.tables, first_summary.tables);
    assert!(postgres_file.starts_with("{\"nestegg_backup\":1,"));
    assert_eq!(body(&postgres_file), body(&first_file));

    // The last copy goes into a new SQLite file without a schema: restore migrates it.
    let dir = TempDir::new();
    let last = Db::connect(&dir.sqlite_url("last.db")).await.unwrap();
    backup::restore(&last, postgres_file.as_bytes(), false)
        .await
        .unwrap();
    let (last_file, last_summary) = backup_of(&last).await;
    assert_eq!(last_summary.tables, first_summary.tables);
    let (first_rows, last_rows): (Vec<&str>, Vec<&str>) = (
        body(&first_file).lines().collect(),
        body(&last_file).lines().collect(),
    );
    assert_eq!(first_rows.len(), last_rows.len());
    for (a, b) in first_rows.iter().zip(&last_rows) {
        assert_eq!(a, b, "every row of every table is equal");
    }
    assert_eq!(
        first_rows.len() as u64,
        first_summary.rows() + 2 * TABLES.len() as u64 + 1,
        "a start, the rows and an end per table, and the end"
    );

    // The copy is usable: the demo user logs in and sees the same accounts.
    let before = AppState::new(&first.db, &settings(&first.url)).unwrap();
    let after = AppState::new(&last, &settings(&dir.sqlite_url("last.db"))).unwrap();
    let user = user_of(&before, &username, &password).await;
    assert_eq!(user_of(&after, &username, &password).await, user);
    assert_eq!(
        after.accounts.list(user).await.unwrap(),
        before.accounts.list(user).await.unwrap()
    );
    last.close().await.unwrap();
}

async fn user_of(state: &AppState, username: &str, password: &str) -> Uuid {
    let tokens = state.auth.login(username, password, None).await.unwrap();
    state
        .auth
        .authenticate(&tokens.access_token)
        .await
        .unwrap()
        .user_id
}

/// Runs the binary with only `env`; its exit status, stdout and stderr.
fn nestegg(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_nestegg"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        status.success(),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// The per-table lines of a backup's or restore's output.
fn table_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.contains(" sha256 ")).collect()
}

fn assert_one_line_per_table(stdout: &str) {
    let lines = table_lines(stdout);
    assert_eq!(lines.len(), TABLES.len(), "{stdout}");
    for (line, table) in lines.iter().zip(TABLES) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.len(), 5, "{line}");
        assert_eq!(words[0], table.name, "{line}");
        assert!(words[1].parse::<u64>().is_ok(), "{line}");
        assert_eq!(words[2..4], ["rows", "sha256"], "{line}");
        assert!(
            words[4].len() == 12 && words[4].chars().all(|c| c.is_ascii_hexdigit()),
            "{line}"
        );
    }
}

async fn rows_in(url: &str) -> u64 {
    let db = Db::connect(url).await.unwrap();
    let rows = backup::summarize(&db).await.unwrap().rows();
    db.close().await.unwrap();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_backs_up_and_restores_with_a_line_per_table_and_fails_clearly_with_a_non_zero_exit()
 {
    let dir = TempDir::new();
    let source = dir.sqlite_url("source.db");
    let file = dir.path("nestegg.backup");
    let file_arg = file.to_str().unwrap();
    let env = |url: &str| {
        vec![
            ("DATABASE_URL", url.to_owned()),
            ("NESTEGG_BCRYPT_COST", "4".to_owned()),
        ]
    };
    let run = |args: &[&str], url: &str| {
        let env = env(url);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        nestegg(args, &env)
    };

    let (ok, _, stderr) = run(&["demo"], &source);
    assert!(ok, "{stderr}");
    let (ok, backed_up, stderr) = run(&["backup", file_arg], &source);
    assert!(ok, "{stderr}");
    assert_one_line_per_table(&backed_up);
    assert!(
        backed_up.contains(&format!("to {file_arg}; read back and verified")),
        "{backed_up}"
    );
    assert!(file.exists());
    assert!(!dir.path("nestegg.backup.partial").exists());

    // Into the database it came from: refused, naming the tables and the flag.
    let (ok, stdout, refused) = run(&["restore", file_arg], &source);
    assert!(!ok);
    assert!(stdout.is_empty(), "{stdout}");
    for words in [
        "not empty",
        "users (1 row)",
        "accounts (9 rows)",
        "--replace",
    ] {
        assert!(refused.contains(words), "{words} in {refused}");
    }
    let (ok, replaced, stderr) = run(&["restore", "--replace", file_arg], &source);
    assert!(ok, "{stderr}");
    assert_eq!(table_lines(&replaced), table_lines(&backed_up));

    // Into a new database: migrated, then restored with the same counts and checksums.
    let target = dir.sqlite_url("target.db");
    let (ok, restored, stderr) = run(&["restore", file_arg], &target);
    assert!(ok, "{stderr}");
    assert_one_line_per_table(&restored);
    assert_eq!(table_lines(&restored), table_lines(&backed_up));
    assert!(
        restored.contains("into sqlite; counts and checksums verified"),
        "{restored}"
    );

    // A damaged file: refused, and nothing written.
    let text = std::fs::read_to_string(&file).unwrap();
    let damaged = dir.path("damaged.backup");
    std::fs::write(&damaged, text.replacen("Chase", "Chace", 1)).unwrap();
    let empty = dir.sqlite_url("empty.db");
    let (ok, _, refused) = run(&["restore", damaged.to_str().unwrap()], &empty);
    assert!(!ok);
    assert!(
        refused.contains("the backup is damaged: table accounts"),
        "{refused}"
    );
    assert!(refused.contains("nothing was restored"), "{refused}");
    assert_eq!(rows_in(&empty).await, 0);

    // Files that cannot be read or written.
    let (ok, _, missing) = run(&["restore", dir.path("nothing").to_str().unwrap()], &empty);
    assert!(!ok);
    assert!(missing.contains("nestegg: cannot open"), "{missing}");
    let nowhere = dir.path("no/such/dir/b");
    let (ok, _, unwritable) = run(&["backup", nowhere.to_str().unwrap()], &source);
    assert!(!ok);
    assert!(unwritable.contains("cannot create"), "{unwritable}");
    assert!(Path::new(&file).exists(), "the earlier backup is untouched");
}
