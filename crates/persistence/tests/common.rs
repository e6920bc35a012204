#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use nestegg_domain::{Email, Preferences, Username};
use nestegg_persistence::SqlUserRepository;
use nestegg_persistence::testing::TestDb;
use nestegg_ports::{NewUser, User, UserRepository};
use uuid::Uuid;

pub fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

pub async fn make_user(db: &TestDb, name: &str) -> User {
    SqlUserRepository::new(db.db.clone())
        .create(NewUser {
            id: Uuid::now_v7(),
            email: Email::parse(&format!("{name}@example.com")).unwrap(),
            username: Username::parse(name).unwrap(),
            password_hash: "$2b$04$hash".into(),
            preferences: Preferences::default(),
            now: now(),
        })
        .await
        .unwrap()
}
