//! The use cases' errors: what went wrong, in terms a client can act on.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use nestegg_domain::DomainError;
use nestegg_domain::report::check_date;
use nestegg_ports::{RepoError, SecurityError};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input values that break rules, by field.
    #[error("validation failed")]
    Validation(BTreeMap<String, String>),
    /// A business rule refused the operation.
    #[error("{message}")]
    Rule {
        /// Stable snake_case code.
        code: &'static str,
        /// Human sentence.
        message: String,
    },
    /// The caller is not authenticated (bad credentials, bad or spent token).
    #[error("{message}")]
    Unauthorized {
        /// Stable snake_case code.
        code: &'static str,
        /// Human sentence.
        message: &'static str,
    },
    /// The thing does not exist, or is not the caller's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A duplicate or a restricted change.
    #[error("{message}")]
    Conflict {
        /// Stable snake_case code.
        code: &'static str,
        /// Human sentence.
        message: String,
        /// The field at fault, if one is.
        field: Option<&'static str>,
    },
    /// Too many attempts; try again after the duration.
    #[error("too many attempts")]
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The caller may not do this on this server (`registration_closed`).
    #[error("{message}")]
    Forbidden {
        /// Stable snake_case code.
        code: &'static str,
        /// Human sentence.
        message: &'static str,
    },
    /// The server has too much of this work queued; try again after the duration.
    #[error("overloaded")]
    Overloaded {
        /// How long to wait.
        retry_after: Duration,
    },
    /// A dependency is down.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Concurrent writes kept colliding; the client should try again in a moment.
    #[error("busy")]
    Busy,
    /// An optional integration (`plaid`) has no settings on this server.
    #[error("{0} is not configured on this server")]
    NotConfigured(&'static str),
    /// A bug or an unexpected failure; the cause is logged, never shown.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl AppError {
    /// One invalid field.
    #[must_use]
    pub fn invalid(field: &str, error: &DomainError) -> Self {
        Self::Validation(BTreeMap::from([(field.to_owned(), error.to_string())]))
    }
}

impl From<RepoError> for AppError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::NotFound => AppError::NotFound("resource"),
            RepoError::Conflict(what) => AppError::Conflict {
                message: format!("this conflicts with existing data ({what})"),
                code: "conflict",
                field: None,
            },
            RepoError::Rule(rule) => AppError::from(rule),
            RepoError::Unavailable(why) => AppError::Unavailable(why),
            RepoError::Busy => AppError::Busy,
            RepoError::Unexpected(e) => AppError::Unexpected(e),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(rule: DomainError) -> Self {
        AppError::Rule {
            code: rule.code(),
            message: rule.to_string(),
        }
    }
}

impl From<SecurityError> for AppError {
    fn from(err: SecurityError) -> Self {
        match err {
            SecurityError::Busy { retry_after } => AppError::Overloaded { retry_after },
            other => AppError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// Collects field errors so that a client hears about every bad field at once.
#[derive(Debug, Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl From<BTreeMap<String, String>> for FieldErrors {
    fn from(fields: BTreeMap<String, String>) -> Self {
        Self(fields)
    }
}

impl FieldErrors {
    /// Keeps the value if valid, else records why under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, DomainError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.insert(field.to_owned(), e.to_string());
                None
            }
        }
    }

    /// Checks an optional field (of a patch or a query) only when it is given: its value if
    /// given and valid, else `None`, with why recorded under `field` when it was invalid.
    pub fn check_given<V, T>(
        &mut self,
        field: &str,
        given: Option<V>,
        check: impl FnOnce(V) -> Result<T, DomainError>,
    ) -> Option<T> {
        given.and_then(|v| self.check(field, check(v)))
    }

    /// Checks an optional `from`/`to` range of days: each date must be one the store can hold,
    /// and `to` must not come before `from`; each failure is recorded under its field.
    pub fn check_range(&mut self, from: Option<NaiveDate>, to: Option<NaiveDate>) {
        let from = self.check_given("from", from, check_date);
        let to = self.check_given("to", to, check_date);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            self.0.insert("to".into(), "must not be before from".into());
        }
    }

    /// The recorded fields, to add more before finishing.
    #[must_use]
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    /// `Err(Validation)` if any field failed.
    ///
    /// # Errors
    /// [`AppError::Validation`] with every recorded field.
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// Ends validation: answers the collected field errors, if any, and otherwise rebinds each
/// checked `Option` to its value (`valid!(errors; name, amount)`). Every field was checked, so
/// a missing value after a clean finish is a bug, reported as unexpected.
macro_rules! valid {
    ($errors:ident; $($field:ident),+ $(,)?) => {
        $errors.finish()?;
        let ($(Some($field),)+) = ($($field,)+) else {
            return Err($crate::error::AppError::Unexpected(anyhow::anyhow!(
                "validated fields missing"
            )));
        };
    };
}
pub(crate) use valid;
