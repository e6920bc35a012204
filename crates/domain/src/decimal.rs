//! Exact decimal kinds: money, quantities, prices, percentages and exchange rates.
//!
//! Each kind caps its decimal places and its magnitude so that every valid value can be stored
//! exactly by every backend (PostgreSQL `NUMERIC`, SQLite scaled integers in an `i64`), and
//! refuses input that would need rounding rather than rounding it silently. Results of
//! arithmetic are rounded half-even to the kind's scale only where a value is produced.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::DomainError;

/// Parses a plain decimal literal exactly: an optional `-`, digits, and an optional fraction.
///
/// No exponent, no `+`, no spaces, no digit separators: what a person typed is what is stored.
///
/// # Errors
/// Returns a message when the text is not such a literal or has more than 28 significant digits.
pub fn parse_exact(text: &str) -> Result<Decimal, String> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed =
        !int.is_empty() && digits_ok(int) && frac.is_none_or(|f| !f.is_empty() && digits_ok(f));
    if !well_formed {
        return Err(format!("'{text}' is not a decimal number"));
    }
    Decimal::from_str_exact(text).map_err(|_| format!("'{text}' has too many digits"))
}

/// The text of a decimal with no trailing zeros (`"1000.1"`, `"2500"`), as responses show it.
#[must_use]
pub fn to_text(value: Decimal) -> String {
    value.normalize().to_string()
}

/// Rounds half-even to `scale` decimal places: the one rounding rule for computed values.
#[must_use]
pub fn round(value: Decimal, scale: u32) -> Decimal {
    value.round_dp_with_strategy(scale, RoundingStrategy::MidpointNearestEven)
}

fn check(
    value: Decimal,
    kind: &'static str,
    max_scale: u32,
    limit: Decimal,
    limit_text: &'static str,
) -> Result<Decimal, DomainError> {
    let value = value.normalize();
    if value.scale() > max_scale {
        return Err(DomainError::TooPrecise { kind, max_scale });
    }
    if value.abs() >= limit {
        return Err(DomainError::OutOfRange {
            kind,
            limit: limit_text,
        });
    }
    Ok(value)
}

/// 10^14, 10^10 and 10^3 as decimals, built at compile time (no parsing on the hot path).
const E14: Decimal = Decimal::from_parts(0x107A_4000, 0x5AF3, 0, false, 0);
const E10: Decimal = Decimal::from_parts(0x540B_E400, 0x2, 0, false, 0);
const E3: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);

macro_rules! decimal_kind {
    ($(#[$doc:meta])* $name:ident, $kind:literal, scale = $scale:literal, limit = $limit:literal, $limit_const:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Decimal);

        impl $name {
            /// Decimal places this kind keeps, and the scale it is stored at.
            pub const SCALE: u32 = $scale;
            /// Values must be strictly smaller than this in magnitude (a power of ten).
            pub const LIMIT_TEXT: &'static str = $limit;

            /// The magnitude limit as a decimal.
            #[must_use]
            pub const fn limit() -> Decimal {
                $limit_const
            }

            /// The value as a plain decimal.
            #[must_use]
            pub fn value(self) -> Decimal {
                self.0
            }

            /// `value` normalized, if it has this kind's places and magnitude (the checks every
            /// kind shares; its constructor adds its own sign rule).
            fn checked(value: Decimal) -> Result<Decimal, DomainError> {
                check(value, Self::KIND, $scale, $limit_const, $limit)
            }

            /// What errors call a value of this kind.
            const KIND: &'static str = $kind;

            /// Rounds a computed value half-even to this kind's scale, then checks its rules.
            ///
            /// # Errors
            /// As for the kind's constructor, on the rounded value.
            pub fn from_computed(value: Decimal) -> Result<Self, DomainError> {
                Self::new(round(value, $scale))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.normalize(), f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&to_text(self.0))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = serde_exact::deserialize(deserializer)?;
                Self::new(raw).map_err(serde::de::Error::custom)
            }
        }

        impl TryFrom<Decimal> for $name {
            type Error = DomainError;
            fn try_from(value: Decimal) -> Result<Self, DomainError> {
                Self::new(value)
            }
        }

        impl From<$name> for Decimal {
            fn from(value: $name) -> Decimal {
                value.0
            }
        }
    };
}

decimal_kind!(
    /// An amount of money: up to 4 decimal places, magnitude below 10^14, either sign.
    Money, "an amount of money", scale = 4, limit = "100000000000000", E14
);
decimal_kind!(
    /// A quantity of a security: up to 8 decimal places, greater than zero, below 10^10.
    Quantity, "a quantity", scale = 8, limit = "10000000000", E10
);
decimal_kind!(
    /// A price per unit: up to 8 decimal places, greater than zero, below 10^10.
    Price, "a price", scale = 8, limit = "10000000000", E10
);
decimal_kind!(
    /// A cost per unit (an average cost): up to 8 decimal places, zero or more, below 10^10.
    UnitCost, "a unit cost", scale = 8, limit = "10000000000", E10
);
decimal_kind!(
    /// A percentage from 0 to 100 with up to 4 decimal places.
    Percentage, "a percentage", scale = 4, limit = "1000", E3
);
decimal_kind!(
    /// An exchange rate: units of the base currency per unit of another; positive, 8 places.
    Rate, "an exchange rate", scale = 8, limit = "10000000000", E10
);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Checks that `value` is money: at most 4 decimal places and below 10^14 in magnitude.
    ///
    /// # Errors
    /// [`DomainError::TooPrecise`] or [`DomainError::OutOfRange`].
    pub fn new(value: Decimal) -> Result<Self, DomainError> {
        Self::checked(value).map(Self)
    }

    /// Money that must not be negative (costs, fees).
    ///
    /// # Errors
    /// As [`Money::new`], or [`DomainError::Negative`].
    pub fn non_negative(value: Decimal, kind: &'static str) -> Result<Self, DomainError> {
        let money = Self::new(value)?;
        if money.is_negative() {
            return Err(DomainError::Negative { kind });
        }
        Ok(money)
    }

    /// Whether the amount is below zero.
    #[must_use]
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// Whether the amount is zero.
    #[must_use]
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// The sum, if it stays within range.
    ///
    /// # Errors
    /// [`DomainError::OutOfRange`] when the sum leaves the range of money.
    pub fn checked_add(self, other: Money) -> Result<Money, DomainError> {
        // Two valid amounts have at most 4 places, so only the range can break.
        Self::within_range(self.0 + other.0)
    }

    /// The difference, if it stays within range.
    ///
    /// # Errors
    /// [`DomainError::OutOfRange`] when the difference leaves the range of money.
    pub fn checked_sub(self, other: Money) -> Result<Money, DomainError> {
        Self::within_range(self.0 - other.0)
    }

    fn within_range(value: Decimal) -> Result<Money, DomainError> {
        // |mantissa| >= 10^(14 + scale) without rescaling: a sum's scale is at most 4.
        let bound = 10u128.pow(14 + value.scale().min(4));
        if value.scale() > 4 || value.mantissa().unsigned_abs() >= bound {
            return Err(DomainError::OutOfRange {
                kind: "an amount of money",
                limit: Self::LIMIT_TEXT,
            });
        }
        Ok(Money(value))
    }

    /// The amount in another currency at `rate` (units of the target per unit of this one),
    /// rounded half-even to 4 places.
    ///
    /// # Errors
    /// [`DomainError::OutOfRange`] when the result leaves the range of money.
    pub fn convert(self, rate: Rate) -> Result<Money, DomainError> {
        let product = self
            .0
            .checked_mul(rate.value())
            .ok_or(DomainError::Overflow)?;
        Money::from_computed(product)
    }

    /// The amount with its sign flipped.
    #[must_use]
    pub fn negated(self) -> Money {
        Money(-self.0)
    }
}

/// `new` for the kinds that must be above zero (quantities, prices, rates).
macro_rules! positive_kind {
    ($($name:ident),*) => {$(
        impl $name {
            /// Checks that `value` is above zero, with this kind's places and magnitude.
            ///
            /// # Errors
            /// [`DomainError::NotPositive`], [`DomainError::TooPrecise`] or
            /// [`DomainError::OutOfRange`].
            pub fn new(value: Decimal) -> Result<Self, DomainError> {
                let value = Self::checked(value)?;
                if value <= Decimal::ZERO {
                    return Err(DomainError::NotPositive { kind: Self::KIND });
                }
                Ok(Self(value))
            }
        }
    )*};
}
positive_kind!(Quantity, Price, Rate);

impl UnitCost {
    /// Zero (shares received for free).
    pub const ZERO: UnitCost = UnitCost(Decimal::ZERO);

    /// Checks that `value` is a cost of zero or more with at most 8 decimal places.
    ///
    /// # Errors
    /// [`DomainError::Negative`], [`DomainError::TooPrecise`] or [`DomainError::OutOfRange`].
    pub fn new(value: Decimal) -> Result<Self, DomainError> {
        let value = Self::checked(value)?;
        if value < Decimal::ZERO {
            return Err(DomainError::Negative { kind: Self::KIND });
        }
        Ok(Self(value))
    }
}

impl Percentage {
    /// Zero percent.
    pub const ZERO: Percentage = Percentage(Decimal::ZERO);

    /// Checks that `value` is between 0 and 100 inclusive with at most 4 decimal places.
    ///
    /// # Errors
    /// [`DomainError::PercentageOutOfRange`] or [`DomainError::TooPrecise`].
    pub fn new(value: Decimal) -> Result<Self, DomainError> {
        let value = Self::checked(value).map_err(|e| match e {
            DomainError::OutOfRange { .. } => DomainError::PercentageOutOfRange,
            other => other,
        })?;
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err(DomainError::PercentageOutOfRange);
        }
        Ok(Self(value))
    }

    /// Checks that target percentages add up to at most 100.
    ///
    /// # Errors
    /// [`DomainError::AllocationOver100`] with the sum.
    pub fn check_allocation<I: IntoIterator<Item = Percentage>>(
        targets: I,
    ) -> Result<Decimal, DomainError> {
        let total: Decimal = targets.into_iter().map(Percentage::value).sum();
        if total > Decimal::ONE_HUNDRED {
            return Err(DomainError::AllocationOver100 {
                total: to_text(total),
            });
        }
        Ok(total)
    }
}

/// Serde support for decimals as JSON strings (`"0.1"`), exactly.
///
/// Decimals travel as strings so that no JSON reader turns them into binary floats. Reading a
/// JSON *number* exactly needs its literal text, which only serde_json's `arbitrary_precision`
/// keeps; that global feature is left to the service that embeds this crate (Nestegg's app
/// crate switches it on for its request bodies), so this crate never depends on it.
pub mod serde_exact {
    use std::fmt;

    use rust_decimal::Decimal;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    use super::{parse_exact, to_text};

    struct ExactVisitor;

    impl Visitor<'_> for ExactVisitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string holding a decimal number")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            parse_exact(v).map_err(E::custom)
        }
    }

    /// Deserializes a decimal from a string, exactly.
    ///
    /// # Errors
    /// When the input is not a string holding a plain decimal literal.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        deserializer.deserialize_str(ExactVisitor)
    }

    /// Serializes a decimal as its text without trailing zeros.
    ///
    /// # Errors
    /// Those of the serializer.
    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&to_text(*value))
    }

    /// The same for optional decimals.
    pub mod option {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serializer};

        #[derive(Deserialize)]
        struct Wrapped(#[serde(deserialize_with = "super::deserialize")] Decimal);

        /// Deserializes an optional decimal; `null` is `None`.
        ///
        /// # Errors
        /// As [`super::deserialize`].
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Decimal>, D::Error> {
            Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|w| w.0))
        }

        /// Serializes an optional decimal as text or `null`.
        ///
        /// # Errors
        /// Those of the serializer.
        pub fn serialize<S: Serializer>(
            value: &Option<Decimal>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => super::serialize(v, serializer),
                None => serializer.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
