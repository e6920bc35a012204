//! What the binary says when it starts: a bcrypt cost too low for production is warned about.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `nestegg serve` on a fresh SQLite file with `cost`, waits until it serves, stops it,
/// and returns everything it logged.
fn start_log(cost: &str) -> String {
    let dir = std::env::temp_dir().join(format!("nestegg-start-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.join("log");
    let out = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nestegg"))
        .arg("serve")
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/n.db?mode=rwc", dir.display()),
        )
        .env("NESTEGG_ADDR", format!("127.0.0.1:{port}"))
        .env("NESTEGG_BCRYPT_COST", cost)
        .env("NESTEGG_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("nestegg is serving") || Instant::now() > deadline {
            break text;
        }
        assert!(child.try_wait().unwrap().is_none(), "exited early:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().ok();
    child.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
    assert!(text.contains("nestegg is serving"), "never served:\n{text}");
    text
}

#[test]
fn a_bcrypt_cost_below_ten_is_warned_about_at_start_and_a_sound_one_is_not() {
    let cheap = start_log("4");
    let warning = cheap
        .lines()
        .find(|l| l.contains("NESTEGG_BCRYPT_COST is below 10"))
        .unwrap_or_else(|| panic!("no warning in:\n{cheap}"));
    assert!(warning.contains("\"WARN\""), "{warning}");
    assert!(!start_log("10").contains("NESTEGG_BCRYPT_COST is below 10"));
}
