//! Exact decimals in and out of both backends.
//!
//! PostgreSQL stores `NUMERIC(18, s)` and binds `Decimal` natively. SQLite has no exact decimal
//! type (and a `NUMERIC` column would turn `0.1` into a binary float), so the value times
//! `10^s` is stored as an `INTEGER`: SQLite adds and compares 64-bit integers exactly, so
//! `SUM`, `ORDER BY` and range filters in SQL stay exact. The domain's kinds cap every value
//! well inside an `i64` at its scale.

pub use nestegg_migration::dialect::Scale;
use nestegg_ports::RepoError;
use rust_decimal::Decimal;
use sea_orm::{DbBackend, QueryResult, Value};

/// Encodes a decimal for a column of `scale` on `backend`.
///
/// # Errors
/// [`RepoError::Unexpected`] when the value has more places than the column keeps or does not
/// fit: the domain should have refused it, so this is a bug, never silent rounding.
pub fn encode(backend: DbBackend, value: Decimal, scale: Scale) -> Result<Value, RepoError> {
    let places = scale.places();
    let normalized = value.normalize();
    if normalized.scale() > places {
        return Err(unexpected(format!(
            "{value} has more than {places} decimal places"
        )));
    }
    if backend != DbBackend::Sqlite {
        return Ok(Value::from(value));
    }
    let mut scaled = normalized;
    scaled.rescale(places);
    if scaled.scale() != places {
        return Err(unexpected(format!(
            "{value} cannot be scaled to {places} places"
        )));
    }
    i64::try_from(scaled.mantissa())
        .map(Value::from)
        .map_err(|_| unexpected(format!("{value} does not fit a 64-bit column")))
}

/// Encodes an optional decimal (`NULL` for `None`).
///
/// # Errors
/// As [`encode`].
pub fn encode_opt(
    backend: DbBackend,
    value: Option<Decimal>,
    scale: Scale,
) -> Result<Value, RepoError> {
    match value {
        Some(v) => encode(backend, v, scale),
        None if backend == DbBackend::Sqlite => Ok(Value::BigInt(None)),
        None => Ok(Value::from(None::<Decimal>)),
    }
}

/// Reads a decimal column (or a `SUM` of one) of `scale`.
///
/// # Errors
/// [`RepoError::Unexpected`] when the column is missing, `NULL` or of another type.
pub fn decode(
    backend: DbBackend,
    row: &QueryResult,
    column: &str,
    scale: Scale,
) -> Result<Decimal, RepoError> {
    decode_opt(backend, row, column, scale)?
        .ok_or_else(|| unexpected(format!("column {column} is NULL")))
}

/// Reads an optional decimal column.
///
/// # Errors
/// [`RepoError::Unexpected`] when the column is missing or of another type.
pub fn decode_opt(
    backend: DbBackend,
    row: &QueryResult,
    column: &str,
    scale: Scale,
) -> Result<Option<Decimal>, RepoError> {
    if backend == DbBackend::Sqlite {
        let units: Option<i64> = row
            .try_get("", column)
            .map_err(|e| unexpected(format!("reading {column}: {e}")))?;
        Ok(units.map(|u| Decimal::new(u, scale.places())))
    } else {
        row.try_get("", column)
            .map_err(|e| unexpected(format!("reading {column}: {e}")))
    }
}

fn unexpected(message: String) -> RepoError {
    RepoError::Unexpected(anyhow::anyhow!(message))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use nestegg_domain::{Money, Percentage, Price, Quantity};

    #[test]
    fn storage_scales_match_the_domains_kinds() {
        assert_eq!(Scale::Money.places(), Money::SCALE);
        assert_eq!(Scale::Fine.places(), Quantity::SCALE);
        assert_eq!(Scale::Fine.places(), Price::SCALE);
        assert_eq!(Scale::Percent.places(), Percentage::SCALE);
    }

    #[test]
    fn the_largest_values_of_each_kind_fit_a_sqlite_integer() {
        let cases = [
            (Money::limit(), Scale::Money),
            (Quantity::limit(), Scale::Fine),
            (Price::limit(), Scale::Fine),
        ];
        for (limit, scale) in cases {
            let largest = limit - Decimal::new(1, scale.places());
            for v in [largest, -largest] {
                assert!(encode(DbBackend::Sqlite, v, scale).is_ok(), "{v}");
            }
        }
    }

    #[test]
    fn sqlite_stores_scaled_integers() {
        let v = encode(DbBackend::Sqlite, Decimal::new(-1, 4), Scale::Money).unwrap();
        assert_eq!(v, Value::BigInt(Some(-1)));
        let v = encode(DbBackend::Sqlite, Decimal::new(1, 1), Scale::Money).unwrap();
        assert_eq!(v, Value::BigInt(Some(1000)));
    }

    #[test]
    fn a_value_with_too_many_places_is_an_error_not_a_rounding() {
        assert!(encode(DbBackend::Sqlite, Decimal::new(1, 5), Scale::Money).is_err());
        assert!(encode(DbBackend::Postgres, Decimal::new(1, 5), Scale::Money).is_err());
    }
}
