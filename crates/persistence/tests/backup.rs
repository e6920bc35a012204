//! Backup and restore of a whole database: the description of the tables against the
//! migrated catalogue, and the refusals (a database holding data, a damaged file, other
//! migrations), on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nestegg_migration::MigratorTrait;
use nestegg_persistence::backup::{self, BackupError, Kind, Summary, TABLES};
use nestegg_persistence::both_backends;
use nestegg_persistence::testing::{Backend, TestDb};
use sea_orm::DbBackend;
use uuid::Uuid;

/// A user with an overdrawn checking account and a transaction of 0.1.
async fn seed(db: &TestDb, name: &str) {
    let user = make_user(db, name).await;
    let account = insert_account(db, user.id, "checking", dec("-250.75"))
        .await
        .unwrap();
    insert_transaction(db, Uuid::now_v7(), user.id, account, dec("0.1"))
        .await
        .unwrap();
}

async fn backup_of(db: &TestDb) -> String {
    let mut out = Vec::new();
    backup::backup(&db.db, &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

/// Another fresh database on the same backend as `db`.
async fn another(db: &TestDb) -> TestDb {
    let backend = match db.backend() {
        DbBackend::Postgres => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    TestDb::new(backend).await.unwrap()
}

/// Restores `file` into `db` (`replace`: over the rows it holds).
async fn restore(db: &TestDb, file: &str, replace: bool) -> Result<Summary, BackupError> {
    backup::restore(&db.db, file.as_bytes(), replace).await
}

/// Whether `e` refuses a backup made at other migrations, into a database without a schema
/// (`target_is_new`) or not.
fn refuses_migrations(e: &BackupError, target_is_new: bool) -> bool {
    matches!(e, BackupError::Migrations { target_is_new: new, .. } if *new == target_is_new)
}

async fn rows_in(db: &TestDb) -> u64 {
    backup::summarize(&db.db).await.unwrap().rows()
}

/// Every way the migrated catalogue differs from the backup's description of the tables.
async fn differences(db: &TestDb) -> Vec<String> {
    let pg = db.backend() == DbBackend::Postgres;
    let tables_sql = if pg {
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> 'seaql_migrations' ORDER BY 1"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> 'seaql_migrations' ORDER BY 1"
    };
    let mut found: Vec<String> = rows(db, tables_sql, vec![])
        .await
        .iter()
        .map(|r| r.try_get("", "name").unwrap())
        .filter(|name: &String| !backup::NOT_COPIED.contains(&name.as_str()))
        .collect();
    found.sort();
    let mut described: Vec<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
    described.sort();
    let mut diffs = Vec::new();
    for t in found.iter().filter(|t| !described.contains(t)) {
        diffs.push(format!("table {t} is not described"));
    }
    for t in described.iter().filter(|t| !found.contains(t)) {
        diffs.push(format!("table {t} is described but not in the database"));
    }
    let columns_sql = if pg {
        "SELECT column_name::text AS name, data_type::text AS type, \
         numeric_scale::int4 AS scale FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
    } else {
        "SELECT name, type, NULL AS scale FROM pragma_table_info($1) ORDER BY cid"
    };
    for table in TABLES.iter().filter(|t| found.iter().any(|f| f == t.name)) {
        let columns: Vec<(String, String, Option<i32>)> =
            rows(db, columns_sql, vec![table.name.into()])
                .await
                .iter()
                .map(|r| {
                    (
                        r.try_get("", "name").unwrap(),
                        r.try_get("", "type").unwrap(),
                        r.try_get("", "scale").unwrap(),
                    )
                })
                .collect();
        let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
        let expected: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        if names != expected {
            diffs.push(format!(
                "table {} has the columns {names:?}, described {expected:?}",
                table.name
            ));
            continue;
        }
        for (column, (name, kind, scale)) in table.columns.iter().zip(&columns) {
            let fits = match (pg, column.kind) {
                (true, Kind::Uuid) => kind == "uuid",
                (true, Kind::Text) => kind == "character varying" || kind == "text",
                (true, Kind::Boolean) => kind == "boolean",
                (true, Kind::Date) => kind == "date",
                (true, Kind::Timestamp) => kind == "timestamp with time zone",
                (true, Kind::Decimal(s)) => {
                    kind == "numeric" && *scale == Some(i32::try_from(s.places()).unwrap())
                }
                (true, Kind::Json) => kind == "jsonb",
                (false, Kind::Uuid) => kind == "BLOB",
                (false, Kind::Text) => kind.starts_with("VARCHAR") || kind == "TEXT",
                (false, Kind::Boolean | Kind::Decimal(_)) => kind == "INTEGER",
                (false, Kind::Date) => kind == "DATE",
                (false, Kind::Timestamp | Kind::Json) => kind == "TEXT",
            };
            if !fits {
                diffs.push(format!(
                    "{}.{name} is {kind} (scale {scale:?}), described as {}",
                    table.name,
                    column.kind.name()
                ));
            }
        }
    }
    diffs
}

both_backends!(
    every_table_and_column_of_the_migrated_schema_is_described_for_backups_with_its_kind,
    |db: TestDb| async move {
        assert_eq!(differences(&db).await, Vec::<String>::new());
        for table in TABLES {
            assert_eq!(table.columns[0].name, "id", "{}", table.name);
            assert_eq!(table.columns[0].kind, Kind::Uuid, "{}", table.name);
        }
    }
);

both_backends!(
    a_table_or_column_added_by_a_migration_and_not_described_is_caught,
    |db: TestDb| async move {
        exec(&db, "CREATE TABLE budgets (id TEXT PRIMARY KEY)", vec![]).await;
        exec(&db, "ALTER TABLE users ADD COLUMN nickname TEXT", vec![]).await;
        let diffs = differences(&db).await;
        assert!(
            diffs
                .iter()
                .any(|d| d.contains("table budgets is not described")),
            "{diffs:?}"
        );
        assert!(diffs.iter().any(|d| d.contains("nickname")), "{diffs:?}");
    }
);

both_backends!(
    a_restore_into_a_database_holding_rows_is_refused_naming_them_and_replace_replaces_them,
    |db: TestDb| async move {
        seed(&db, "ada").await;
        let file = backup_of(&db).await;
        let before = backup::summarize(&db.db).await.unwrap();

        let refused = restore(&db, &file, false).await.unwrap_err();
        let BackupError::NotEmpty { tables } = &refused else {
            panic!("{refused}");
        };
        assert_eq!(
            tables,
            &vec![("users", 1), ("accounts", 1), ("transactions", 1)]
        );
        assert!(
            refused
                .to_string()
                .contains("users (1 row), accounts (1 row), transactions (1 row)"),
            "{refused}"
        );

        seed(&db, "bob").await;
        let restored = restore(&db, &file, true).await.unwrap();
        assert_eq!(restored.tables, before.tables);
        assert_eq!(
            backup::summarize(&db.db).await.unwrap().tables,
            before.tables,
            "bob is gone, ada is back as she was"
        );
    }
);

both_backends!(
    a_damaged_backup_is_refused_and_nothing_is_written,
    |db: TestDb| async move {
        seed(&db, "ada").await;
        let file = backup_of(&db).await;
        assert!(file.contains("\"ada@example.com\""), "{file}");
        assert!(file.contains("\"0.1\""), "{file}");
        let rows_line = "\"end_of_table\":\"accounts\",\"rows\":1,";
        assert!(file.contains(rows_line), "{file}");
        let lines: Vec<&str> = file.lines().collect();
        let damaged = [
            (
                "an edited email",
                file.replace("ada@example.com", "eve@example.com"),
            ),
            ("an edited amount", file.replace("\"0.1\"", "\"0.2\"")),
            (
                "a wrong count",
                file.replace(rows_line, "\"end_of_table\":\"accounts\",\"rows\":2,"),
            ),
            ("a cut", lines[..lines.len() - 3].join("\n")),
            (
                "a removed row",
                lines
                    .iter()
                    .filter(|l| !l.contains("ada@example.com"))
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        ];

        let target = another(&db).await;
        for (what, text) in &damaged {
            assert!(backup::verify(text.as_bytes()).is_err(), "{what}");
            let refused = restore(&target, text, false).await.unwrap_err();
            assert!(
                matches!(
                    refused,
                    BackupError::Damaged { .. } | BackupError::Format { .. }
                ),
                "{what}: {refused}"
            );
            assert_eq!(rows_in(&target).await, 0, "{what}: nothing is written");
        }
        let edited = restore(&target, &damaged[0].1, false).await.unwrap_err();
        assert!(
            edited.to_string().contains("table users"),
            "the message names the table: {edited}"
        );

        // With replace, the rows already there are kept when the file is damaged.
        seed(&target, "bob").await;
        let kept = backup::summarize(&target.db).await.unwrap();
        for (what, text) in &damaged {
            restore(&target, text, true).await.unwrap_err();
            assert_eq!(
                backup::summarize(&target.db).await.unwrap(),
                kept,
                "{what}: the deletions are rolled back"
            );
        }

        let good = restore(&target, &file, true).await.unwrap();
        assert_eq!(good.rows(), 3);
    }
);

/// `file` with the last migration taken out of its header.
fn one_migration_fewer(file: &str) -> String {
    let (header, rest) = file.split_once('\n').unwrap();
    let mut header: serde_json::Value = serde_json::from_str(header).unwrap();
    header["migrations"].as_array_mut().unwrap().pop();
    format!("{header}\n{rest}")
}

both_backends!(
    a_backup_of_other_migrations_is_refused_and_an_empty_database_is_migrated_first,
    |db: TestDb| async move {
        seed(&db, "ada").await;
        let file = backup_of(&db).await;
        let older = one_migration_fewer(&file);

        let target = another(&db).await;
        let refused = restore(&target, &older, false).await.unwrap_err();
        assert!(refuses_migrations(&refused, false), "{refused}");
        let fewer = nestegg_migration::Migrator::migrations().len() - 1;
        assert!(
            refused
                .to_string()
                .contains(&format!("the backup was made at {fewer} migrations")),
            "{refused}"
        );

        // A database without a schema is migrated, but only for a backup of this nestegg's
        // migrations.
        target.db.migrate_down(None).await.unwrap();
        let refused = restore(&target, &older, false).await.unwrap_err();
        assert!(refuses_migrations(&refused, true), "{refused}");
        let status = target.db.migration_status().await.unwrap();
        assert!(status.iter().all(|m| !m.applied), "left unmigrated");
        let restored = restore(&target, &file, false).await.unwrap();
        assert_eq!(restored.rows(), 3);
        assert_eq!(
            backup::summarize(&target.db).await.unwrap().tables,
            backup::summarize(&db.db).await.unwrap().tables
        );

        // A database behind this nestegg's migrations is not backed up.
        db.db.migrate_down(Some(1)).await.unwrap();
        let mut out = Vec::new();
        let refused = backup::backup(&db.db, &mut out).await.unwrap_err();
        assert!(
            matches!(refused, BackupError::SourceMigrations { .. }),
            "{refused}"
        );
        assert!(
            refused.to_string().contains("nestegg migrate up"),
            "{refused}"
        );
    }
);
