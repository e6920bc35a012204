//! The rules of the domain, each as an error that says which rule broke.

use crate::account::AccountType;

/// A domain rule that a value or an operation broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A decimal has more decimal places than its kind allows.
    #[error("{kind} allows at most {max_scale} decimal places")]
    TooPrecise {
        /// What the value is (money, quantity, ...).
        kind: &'static str,
        /// The most decimal places allowed.
        max_scale: u32,
    },
    /// A decimal is outside the range its kind can hold.
    #[error("{kind} must be between -{limit} and {limit}")]
    OutOfRange {
        /// What the value is.
        kind: &'static str,
        /// The exclusive magnitude limit, as text.
        limit: &'static str,
    },
    /// A value that must be positive is zero or negative.
    #[error("{kind} must be greater than zero")]
    NotPositive {
        /// What the value is.
        kind: &'static str,
    },
    /// A value that must not be negative is negative.
    #[error("{kind} must not be negative")]
    Negative {
        /// What the value is.
        kind: &'static str,
    },
    /// A percentage is outside 0 to 100.
    #[error("a percentage must be between 0 and 100")]
    PercentageOutOfRange,
    /// A set of target percentages adds up to more than 100.
    #[error("target percentages add up to {total}, more than 100")]
    AllocationOver100 {
        /// The sum, as text.
        total: String,
    },
    /// A transaction amount of zero.
    #[error("a transaction amount must not be zero")]
    ZeroAmount,
    /// A negative balance on an account type that cannot have one.
    #[error("a {account_type} account cannot have a negative balance")]
    NegativeBalanceNotAllowed {
        /// The account's type.
        account_type: AccountType,
    },
    /// A currency code that is not an active ISO 4217 code.
    #[error("'{code}' is not an ISO 4217 currency code")]
    UnknownCurrency {
        /// The code given.
        code: String,
    },
    /// A name of an enumeration (account type, category, ...) that is not one of its values.
    #[error("'{value}' is not a valid {kind}; expected one of: {expected}")]
    UnknownVariant {
        /// The enumeration.
        kind: &'static str,
        /// The value given.
        value: String,
        /// The allowed values, comma separated.
        expected: &'static str,
    },
    /// Text that is empty (after trimming) where text is required.
    #[error("{kind} must not be empty")]
    EmptyText {
        /// What the text is.
        kind: &'static str,
    },
    /// Text that is longer than allowed.
    #[error("{kind} must be at most {max} characters")]
    TextTooLong {
        /// What the text is.
        kind: &'static str,
        /// The most characters allowed.
        max: usize,
    },
    /// Text holding control characters.
    #[error("{kind} must not contain control characters")]
    InvalidText {
        /// What the text is.
        kind: &'static str,
    },
    /// An email address that is not well formed.
    #[error("not a valid email address")]
    InvalidEmail,
    /// A username outside 3-32 characters of `[a-z0-9_.-]`.
    #[error("a username is 3 to 32 characters of a-z, 0-9, '_', '.' and '-'")]
    InvalidUsername,
    /// A password outside 10-128 characters.
    #[error("a password is 10 to 128 characters")]
    InvalidPassword,
    /// Preferences that are not a JSON object, or a field in them of the wrong kind.
    #[error("invalid preferences: {reason}")]
    InvalidPreferences {
        /// What is wrong.
        reason: String,
    },
    /// A date range or interval that cannot be served.
    #[error("invalid range: {reason}")]
    InvalidRange {
        /// What is wrong.
        reason: String,
    },
    /// A ticker symbol that is not 1-20 ticker characters.
    #[error("a symbol is 1 to 20 of A-Z, 0-9, '.', '-', '^', '=' and '/'")]
    InvalidSymbol,
    /// A sale of more units than are held.
    #[error("cannot sell {requested} units: only {held} are held")]
    InsufficientQuantity {
        /// Units held, as text.
        held: String,
        /// Units asked to sell, as text.
        requested: String,
    },
    /// An account's opening date after its first dated entry.
    #[error("the account cannot open after its first entry, dated {first}")]
    OpenedAfterFirstEntry {
        /// The first transaction's or adjustment's date.
        first: chrono::NaiveDate,
    },
    /// An entry dated before the account's opening date.
    #[error("the account opened on {opened_on}; move its opening date back first")]
    BeforeOpening {
        /// The account's opening date.
        opened_on: chrono::NaiveDate,
    },
    /// A date after today where only past or present days make sense.
    #[error("{what} cannot be after today ({today})")]
    InFuture {
        /// What the date is.
        what: &'static str,
        /// Today.
        today: chrono::NaiveDate,
    },
    /// A computation overflowed the range of its kind.
    #[error("the result is too large to represent")]
    Overflow,
}

impl DomainError {
    /// A stable snake_case code for the rule, for API clients.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::TooPrecise { .. } => "too_precise",
            DomainError::OutOfRange { .. } | DomainError::Overflow => "out_of_range",
            DomainError::NotPositive { .. } => "not_positive",
            DomainError::Negative { .. } => "negative",
            DomainError::PercentageOutOfRange => "percentage_out_of_range",
            DomainError::AllocationOver100 { .. } => "allocation_over_100",
            DomainError::ZeroAmount => "zero_amount",
            DomainError::NegativeBalanceNotAllowed { .. } => "negative_balance_not_allowed",
            DomainError::UnknownCurrency { .. } => "unknown_currency",
            DomainError::UnknownVariant { .. } => "unknown_value",
            DomainError::EmptyText { .. } => "empty",
            DomainError::TextTooLong { .. } => "too_long",
            DomainError::InvalidText { .. } => "invalid_text",
            DomainError::InvalidEmail => "invalid_email",
            DomainError::InvalidUsername => "invalid_username",
            DomainError::InvalidPassword => "invalid_password",
            DomainError::InvalidPreferences { .. } => "invalid_preferences",
            DomainError::InvalidRange { .. } => "invalid_range",
            DomainError::InsufficientQuantity { .. } => "insufficient_quantity",
            DomainError::InvalidSymbol => "invalid_symbol",
            DomainError::OpenedAfterFirstEntry { .. } => "opened_after_first_entry",
            DomainError::BeforeOpening { .. } => "before_opening",
            DomainError::InFuture { .. } => "in_future",
        }
    }
}
