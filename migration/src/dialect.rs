//! The few places where the two backends need different SQL, kept in one spot.

use sea_orm_migration::sea_orm::DbBackend;

/// How an exact decimal column is stored: its number of decimal places.
///
/// PostgreSQL keeps `NUMERIC(18, scale)`; SQLite keeps the value times `10^scale` as an
/// `INTEGER` (i64), which SQLite sums and compares exactly. The scales match the domain's
/// kinds: money 4, quantities and prices 8, percentages 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Money, ratios and signed percentages: 4 places.
    Money,
    /// Quantities, prices, average costs and exchange rates: 8 places.
    Fine,
    /// Percentages from 0 to 100: 4 places.
    Percent,
}

impl Scale {
    /// Decimal places kept.
    #[must_use]
    pub fn places(self) -> u32 {
        match self {
            Scale::Money | Scale::Percent => 4,
            Scale::Fine => 8,
        }
    }
}

/// SQL fragments for one backend.
#[derive(Debug, Clone, Copy)]
pub struct Dialect(pub DbBackend);

impl Dialect {
    fn pg(self) -> bool {
        self.0 == DbBackend::Postgres
    }

    /// Column type for ids.
    #[must_use]
    pub fn uuid(self) -> &'static str {
        if self.pg() { "UUID" } else { "BLOB" }
    }

    /// Column type for UTC timestamps.
    #[must_use]
    pub fn timestamp(self) -> &'static str {
        if self.pg() { "TIMESTAMPTZ" } else { "TEXT" }
    }

    /// Column type for JSON documents.
    #[must_use]
    pub fn json(self) -> &'static str {
        if self.pg() { "JSONB" } else { "TEXT" }
    }

    /// Column type for booleans.
    #[must_use]
    pub fn boolean(self) -> &'static str {
        if self.pg() { "BOOLEAN" } else { "INTEGER" }
    }

    /// Literal true / false.
    #[must_use]
    pub fn bool_lit(self, value: bool) -> &'static str {
        match (self.pg(), value) {
            (true, true) => "TRUE",
            (true, false) => "FALSE",
            (false, true) => "1",
            (false, false) => "0",
        }
    }

    /// Column type for an exact decimal of this scale.
    #[must_use]
    pub fn decimal(self, scale: Scale) -> String {
        if self.pg() {
            format!("NUMERIC(18, {})", scale.places())
        } else {
            "INTEGER".to_owned()
        }
    }

    /// A decimal literal (`"100"`, `"0"`) as stored at this scale.
    #[must_use]
    pub fn decimal_lit(self, scale: Scale, whole: i64) -> String {
        if self.pg() {
            whole.to_string()
        } else {
            (i128::from(whole) * 10i128.pow(scale.places())).to_string()
        }
    }

    /// A new random id, in SQL.
    #[must_use]
    pub fn new_uuid(self) -> &'static str {
        if self.pg() {
            "gen_random_uuid()"
        } else {
            "randomblob(16)"
        }
    }

    /// The current time as a timestamp column stores it, in SQL.
    #[must_use]
    pub fn now(self) -> &'static str {
        if self.pg() {
            "now()"
        } else {
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        }
    }

    /// The UTC day of a timestamp column, in SQL.
    #[must_use]
    pub fn day_of(self, column: &str) -> String {
        if self.pg() {
            format!("(({column}) AT TIME ZONE 'UTC')::date")
        } else {
            format!("substr({column}, 1, 10)")
        }
    }

    /// The smaller of two values, in SQL.
    #[must_use]
    pub fn least(self, a: &str, b: &str) -> String {
        if self.pg() {
            format!("LEAST({a}, {b})")
        } else {
            format!("MIN({a}, {b})")
        }
    }
}
