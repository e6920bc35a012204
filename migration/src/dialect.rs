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

/// The fragments whose SQL depends on the backend only: `{name}`, then its PostgreSQL and its
/// SQLite text.
const BY_BACKEND: &[(&str, &str, &str)] = &[
    // An id: a 16-byte BLOB on SQLite.
    ("{id}", "UUID", "BLOB"),
    // A UTC timestamp: RFC 3339 text on SQLite.
    ("{ts}", "TIMESTAMPTZ", "TEXT"),
    ("{json}", "JSONB", "TEXT"),
    ("{b}", "BOOLEAN", "INTEGER"),
    // A new random id, and the current time as a timestamp column stores it.
    ("{new_id}", "gen_random_uuid()", "randomblob(16)"),
    ("{now}", "now()", "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"),
];

impl Dialect {
    fn pg(self) -> bool {
        self.0 == DbBackend::Postgres
    }

    /// `template` with each fragment's `{name}` replaced by its SQL for this backend: those of
    /// `BY_BACKEND` (`{id}`, `{ts}`, `{json}`, `{b}`, `{new_id}`, `{now}`), `{t}` and `{f}`
    /// (true and false), `{money}`, `{fine}` and `{pct}` (decimals of [`Scale::Money`],
    /// [`Scale::Fine`] and [`Scale::Percent`]), `{zero_m}`, `{zero_f}`, `{zero_p}` and
    /// `{hundred_p}` (their literals), and `{audit}` (the `created_at` and `updated_at` columns
    /// most tables end with).
    #[must_use]
    pub fn sql(self, template: &str) -> String {
        // `{audit}` comes first: its text holds `{ts}`, filled in after it.
        let mut fragments = vec![
            (
                "{audit}",
                "created_at {ts} NOT NULL,\n    updated_at {ts} NOT NULL".to_owned(),
            ),
            ("{t}", self.bool_lit(true).to_owned()),
            ("{f}", self.bool_lit(false).to_owned()),
            ("{money}", self.decimal(Scale::Money)),
            ("{fine}", self.decimal(Scale::Fine)),
            ("{pct}", self.decimal(Scale::Percent)),
            ("{zero_m}", self.decimal_lit(Scale::Money, 0)),
            ("{zero_f}", self.decimal_lit(Scale::Fine, 0)),
            ("{zero_p}", self.decimal_lit(Scale::Percent, 0)),
            ("{hundred_p}", self.decimal_lit(Scale::Percent, 100)),
        ];
        fragments.extend(
            BY_BACKEND
                .iter()
                .map(|&(name, pg, sqlite)| (name, if self.pg() { pg } else { sqlite }.to_owned())),
        );
        fragments
            .iter()
            .fold(template.to_owned(), |sql, (name, value)| {
                sql.replace(name, value)
            })
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
