//! Where a database URL points, said for people (never with its password), and why a
//! connection failed with what to do about it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sea_orm::sqlx;
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{DbErr, RuntimeErr};

/// The database a URL names: its kind and where it is. Shows no password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (its absolute path), or an in-memory database (`None`).
    Sqlite {
        /// The file, made absolute against the working directory.
        path: Option<PathBuf>,
    },
    /// A PostgreSQL database.
    Postgres {
        /// Host name or address, or the Unix socket's directory.
        host: String,
        /// Port.
        port: u16,
        /// User name.
        user: String,
        /// Database name.
        database: String,
    },
    /// A URL neither backend reads.
    Unknown,
}

impl Location {
    /// Reads `url` (`sqlite:...` or `postgres:...`); never fails: an unreadable URL is
    /// [`Location::Unknown`].
    #[must_use]
    pub fn of(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            let Ok(options) = SqliteConnectOptions::from_str(url) else {
                return Self::Unknown;
            };
            let file = options.get_filename();
            let (name, query) = url.split_once('?').unwrap_or((url, ""));
            let name = name
                .strip_prefix("sqlite://")
                .or_else(|| name.strip_prefix("sqlite:"))
                .unwrap_or(name);
            let in_memory =
                matches!(name, "" | ":memory:") || query.split('&').any(|p| p == "mode=memory");
            let path =
                (!in_memory).then(|| std::path::absolute(file).unwrap_or_else(|_| file.to_owned()));
            return Self::Sqlite { path };
        }
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let Ok(options) = PgConnectOptions::from_str(url) else {
                return Self::Unknown;
            };
            let host = options.get_socket().map_or_else(
                || options.get_host().to_owned(),
                |socket| socket.display().to_string(),
            );
            return Self::Postgres {
                host,
                port: options.get_port(),
                user: options.get_username().to_owned(),
                database: options
                    .get_database()
                    .unwrap_or(options.get_username())
                    .to_owned(),
            };
        }
        Self::Unknown
    }

    /// `sqlite` or `postgres`, for logs.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path: Some(path) } => write!(f, "SQLite database {}", path.display()),
            Self::Sqlite { path: None } => f.write_str("in-memory SQLite database"),
            Self::Postgres {
                host,
                port,
                user,
                database,
            } => write!(
                f,
                "PostgreSQL database {database} at {host}:{port} as user {user}"
            ),
            Self::Unknown => f.write_str("database of DATABASE_URL"),
        }
    }
}

/// A database that could not be opened: which one, why, and the likely fix. One line, and
/// never the URL's password.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the {location}: {cause}; {fix}")]
pub struct ConnectError {
    /// The database.
    pub location: Location,
    /// What the driver said.
    pub cause: String,
    /// What to do about it.
    pub fix: String,
}

impl ConnectError {
    /// Explains `err`, met connecting to `url`.
    pub(crate) fn new(url: &str, err: &DbErr) -> Self {
        let location = Location::of(url);
        let sqlx_err = match err {
            DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
            _ => None,
        };
        let cause = match sqlx_err {
            // The message alone: sqlx adds the server's source line (" at line 948").
            Some(sqlx::Error::Database(db)) => db.message().to_owned(),
            Some(e) => e.to_string(),
            None => err.to_string(),
        };
        let code = match sqlx_err {
            Some(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()),
            _ => None,
        };
        let fix = fix(&location, url, sqlx_err, code.as_deref());
        Self {
            cause: redact(url, &cause),
            fix,
            location,
        }
    }
}

/// The likely fix for a failure to open `location`.
fn fix(location: &Location, url: &str, err: Option<&sqlx::Error>, code: Option<&str>) -> String {
    match location {
        Location::Sqlite { path: Some(path) } => {
            let dir = path.parent().unwrap_or(Path::new("/"));
            if !dir.is_dir() {
                format!(
                    "the directory {} does not exist: create it, or correct the path in \
                     DATABASE_URL",
                    dir.display()
                )
            } else if !path.exists() && url.contains("mode=r") && !url.contains("mode=rwc") {
                "the file does not exist and DATABASE_URL's mode forbids creating it: correct \
                 the path, or remove the mode to create the file"
                    .to_owned()
            } else {
                format!(
                    "check that this user may read and write {} and the directory it is in",
                    path.display()
                )
            }
        }
        Location::Postgres {
            host,
            port,
            user,
            database,
        } => match (code, err) {
            // invalid_catalog_name
            (Some("3D000"), _) => format!(
                "create it (createdb -h {host} -p {port} -U {user} {database}) or correct the \
                 database name in DATABASE_URL"
            ),
            // invalid_password, invalid_authorization_specification (an unknown role, or no
            // pg_hba.conf entry for it)
            (Some("28P01" | "28000"), _) => "check the user name and password in DATABASE_URL, \
                 and that the role exists and pg_hba.conf lets it in from here"
                .to_owned(),
            (_, Some(sqlx::Error::Tls(_))) => {
                "check the TLS settings (sslmode) in DATABASE_URL and the server's certificate"
                    .to_owned()
            }
            (_, Some(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut)) => format!(
                "check that PostgreSQL is running and accepts connections at {host}:{port}, \
                 and the host and port in DATABASE_URL"
            ),
            _ => "check DATABASE_URL".to_owned(),
        },
        Location::Sqlite { path: None } => "check DATABASE_URL".to_owned(),
        Location::Unknown => {
            "DATABASE_URL must be sqlite://FILE or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                .to_owned()
        }
    }
}

/// `text` without the password of `url`, should the driver have quoted the URL.
fn redact(url: &str, text: &str) -> String {
    match password(url) {
        Some(secret) if !secret.is_empty() => text.replace(secret, "***"),
        _ => text.to_owned(),
    }
}

/// The password in a URL's `user:password@` part, as written.
fn password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_names_the_database_and_never_the_password() {
        let pg = Location::of("postgres://nestegg:s3cret@db.example:5433/money?sslmode=prefer");
        assert_eq!(
            pg.to_string(),
            "PostgreSQL database money at db.example:5433 as user nestegg"
        );
        let relative = Location::of("sqlite://nestegg.db");
        let Location::Sqlite { path: Some(path) } = &relative else {
            panic!("{relative:?}");
        };
        assert!(
            path.is_absolute() && path.ends_with("nestegg.db"),
            "{path:?}"
        );
        assert_eq!(
            Location::of("sqlite:///var/lib/n.db?mode=rwc").to_string(),
            "SQLite database /var/lib/n.db"
        );
        assert_eq!(
            Location::of("sqlite::memory:").to_string(),
            "in-memory SQLite database"
        );
        assert_eq!(Location::of("mysql://x").kind(), "unknown");
    }

    #[test]
    fn a_password_quoted_back_by_the_driver_is_masked() {
        let url = "postgres://u:pa55word@h/d";
        assert_eq!(
            redact(url, &format!("no driver for '{url}'")),
            "no driver for 'postgres://u:***@h/d'"
        );
        assert_eq!(password("postgres://u@h/d"), None);
        assert_eq!(password("postgres://h/d?user=a@b"), None);
    }
}
