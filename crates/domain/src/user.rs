//! Users: email, username, password and preferences, each valid by construction.

use std::fmt;

use serde_json::{Map, Value};

use crate::currency::CurrencyCode;
use crate::error::DomainError;

/// A well-formed email address, stored lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Most characters in an address (RFC 5321's path limit).
    pub const MAX: usize = 254;

    /// Checks and lower-cases an address: one `@`, a local part of at most 64 printable
    /// characters, and a domain of dot-separated labels of letters, digits and hyphens.
    ///
    /// # Errors
    /// [`DomainError::InvalidEmail`].
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let email = text.trim().to_lowercase();
        if email.len() > Self::MAX {
            return Err(DomainError::InvalidEmail);
        }
        let (local, domain) = email.split_once('@').ok_or(DomainError::InvalidEmail)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(DomainError::InvalidEmail)
        }
    }

    /// The address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: 3 to 32 characters of `[a-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Checks a username. Upper-case letters are refused rather than folded, so what a user
    /// chose is what they log in with.
    ///
    /// # Errors
    /// [`DomainError::InvalidUsername`].
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let ok = (3..=32).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(DomainError::InvalidUsername)
        }
    }

    /// The username.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plain-text password of 10 to 128 characters; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks a new password's length in characters (not bytes).
    ///
    /// # Errors
    /// [`DomainError::InvalidPassword`].
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        if (10..=128).contains(&text.chars().count()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(DomainError::InvalidPassword)
        }
    }

    /// The password, for hashing or verifying only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A user's preferences: a JSON object of at most 16 KiB, whose `base_currency`, when present,
/// is an ISO 4217 code (the currency reports are given in; `USD` when absent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Preferences(Map<String, Value>);

impl Preferences {
    /// Largest serialized size accepted.
    pub const MAX_BYTES: usize = 16 * 1024;

    /// Checks a preferences value.
    ///
    /// # Errors
    /// [`DomainError::InvalidPreferences`] when it is not an object, is too large, or has a
    /// `base_currency` that is not a currency code.
    pub fn parse(value: Value) -> Result<Self, DomainError> {
        let Value::Object(map) = value else {
            return Err(DomainError::InvalidPreferences {
                reason: "preferences must be a JSON object".into(),
            });
        };
        if Value::Object(map.clone()).to_string().len() > Self::MAX_BYTES {
            return Err(DomainError::InvalidPreferences {
                reason: format!("preferences must be at most {} bytes", Self::MAX_BYTES),
            });
        }
        match map.get("base_currency") {
            None => {}
            Some(Value::String(code)) => {
                CurrencyCode::parse(code)?;
            }
            Some(_) => {
                return Err(DomainError::InvalidPreferences {
                    reason: "base_currency must be a currency code string".into(),
                });
            }
        }
        Ok(Self(map))
    }

    /// The currency reports are given in.
    #[must_use]
    pub fn base_currency(&self) -> CurrencyCode {
        self.0
            .get("base_currency")
            .and_then(Value::as_str)
            .and_then(|c| CurrencyCode::parse(c).ok())
            .unwrap_or_default()
    }

    /// The preferences as a JSON value.
    #[must_use]
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails_are_stored_lower_case() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@exa mple.com",
            "ada@-example.com",
            ".ada@example.com",
            "ada@example..com",
            "ada<script>@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(DomainError::InvalidEmail), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(DomainError::InvalidEmail));
    }

    #[test]
    fn usernames_are_three_to_thirty_two_of_the_allowed_characters() {
        for good in ["ada", "ada.lovelace-1_2", &"a".repeat(32)] {
            assert!(Username::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "ad",
            &"a".repeat(33),
            "Ada",
            "ada lovelace",
            "ada@home",
            "adé",
        ] {
            assert_eq!(
                Username::parse(bad),
                Err(DomainError::InvalidUsername),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn passwords_are_ten_to_one_hundred_twenty_eight_characters() {
        assert!(Password::parse("0123456789").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert_eq!(
            Password::parse("012345678"),
            Err(DomainError::InvalidPassword)
        );
        assert_eq!(
            Password::parse(&"x".repeat(129)),
            Err(DomainError::InvalidPassword)
        );
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn preferences_must_be_an_object_with_a_valid_base_currency() {
        assert_eq!(Preferences::default().base_currency(), CurrencyCode::USD);
        let p = Preferences::parse(json!({"base_currency": "EUR", "theme": "dark"})).unwrap();
        assert_eq!(p.base_currency().as_str(), "EUR");
        assert!(Preferences::parse(json!(["EUR"])).is_err());
        assert!(Preferences::parse(json!({"base_currency": "EURO"})).is_err());
        assert!(Preferences::parse(json!({"base_currency": 978})).is_err());
        assert!(Preferences::parse(json!({"blob": "x".repeat(20_000)})).is_err());
    }
}
