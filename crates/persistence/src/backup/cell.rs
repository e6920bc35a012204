//! One value of a row: read from either backend, written to a backup in a canonical,
//! backend-neutral text, read back from it, and bound for an insert on either backend.
//!
//! The canonical text of a row is a JSON array with one element per column: `null` for NULL;
//! ids lower-case and hyphenated; text as it is; booleans as `true`/`false`; dates as
//! `YYYY-MM-DD`; instants in RFC 3339 UTC (`...Z`) with the fractional digits stored (none,
//! 3, 6 or 9); decimals as exact decimal strings without trailing zeros (`"0.1"`, never
//! through a float); JSON documents as a string holding their canonical text (keys sorted,
//! no spaces, numbers as exact decimals). The same data gives the same text on either backend.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use sea_orm::{DbBackend, Value};
use serde_json::Value as Json;
use uuid::Uuid;

use super::tables::{Column, Kind};
use crate::codec::{self, Scale};
use crate::rows::Row;
use nestegg_ports::RepoError;

/// A value of a column, knowing its kind; `None` is NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    Boolean(Option<bool>),
    Date(Option<NaiveDate>),
    Timestamp(Option<DateTime<Utc>>),
    Decimal(Option<Decimal>, Scale),
    /// The document's canonical text.
    Json(Option<String>),
}

impl Cell {
    /// Reads `column` of a row.
    pub(crate) fn read(row: &Row, column: &Column) -> Result<Self, RepoError> {
        let name = column.name;
        Ok(match column.kind {
            Kind::Uuid => Cell::Uuid(row.get(name)?),
            Kind::Text => Cell::Text(row.get(name)?),
            Kind::Boolean => Cell::Boolean(row.get(name)?),
            Kind::Date => Cell::Date(row.get(name)?),
            Kind::Timestamp => Cell::Timestamp(row.get(name)?),
            Kind::Decimal(scale) => Cell::Decimal(row.decimal_opt(name, scale)?, scale),
            Kind::Json => Cell::Json(row.get::<Option<Json>>(name)?.map(|j| canonical_json(&j))),
        })
    }

    /// The value as an element of a row's canonical JSON array.
    pub(crate) fn to_json(&self) -> Json {
        match self {
            Cell::Uuid(v) => v.map_or(Json::Null, |u| Json::String(u.hyphenated().to_string())),
            Cell::Text(v) | Cell::Json(v) => v.clone().map_or(Json::Null, Json::String),
            Cell::Boolean(v) => v.map_or(Json::Null, Json::Bool),
            Cell::Date(v) => v.map_or(Json::Null, |d| {
                Json::String(d.format("%Y-%m-%d").to_string())
            }),
            Cell::Timestamp(v) => v.map_or(Json::Null, |t| {
                Json::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            }),
            Cell::Decimal(v, _) => {
                v.map_or(Json::Null, |d| Json::String(d.normalize().to_string()))
            }
        }
    }

    /// Reads an element of a row's array in a backup as a value of `column`; `Err` says why
    /// it is not one.
    pub(crate) fn parse(value: &Json, column: &Column) -> Result<Self, String> {
        let text = match value {
            Json::Null => None,
            Json::Bool(b) if column.kind == Kind::Boolean => return Ok(Cell::Boolean(Some(*b))),
            Json::String(s) if column.kind != Kind::Boolean => Some(s.as_str()),
            _ => {
                return Err(format!(
                    "column {} holds {value}, which is not a {} value",
                    column.name,
                    column.kind.name()
                ));
            }
        };
        let bad = |why: &dyn std::fmt::Display| format!("column {}: {why}", column.name);
        Ok(match column.kind {
            Kind::Uuid => Cell::Uuid(text.map(Uuid::parse_str).transpose().map_err(|e| bad(&e))?),
            Kind::Text => Cell::Text(text.map(str::to_owned)),
            Kind::Boolean => Cell::Boolean(None),
            Kind::Date => Cell::Date(
                text.map(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d"))
                    .transpose()
                    .map_err(|e| bad(&e))?,
            ),
            Kind::Timestamp => Cell::Timestamp(
                text.map(DateTime::parse_from_rfc3339)
                    .transpose()
                    .map_err(|e| bad(&e))?
                    .map(|t| t.with_timezone(&Utc)),
            ),
            Kind::Decimal(scale) => {
                let d = text
                    .map(Decimal::from_str_exact)
                    .transpose()
                    .map_err(|e| bad(&e))?;
                if let Some(d) = d
                    && d.normalize().scale() > scale.places()
                {
                    return Err(bad(&format!(
                        "{d} has more than the column's {} decimal places",
                        scale.places()
                    )));
                }
                Cell::Decimal(d, scale)
            }
            Kind::Json => Cell::Json(
                text.map(serde_json::from_str::<Json>)
                    .transpose()
                    .map_err(|e| bad(&e))?
                    .map(|j| canonical_json(&j)),
            ),
        })
    }

    /// The value bound for an insert on `backend` (decimals through the codec, never as a
    /// float; NULLs typed as their column).
    pub(crate) fn bind(&self, backend: DbBackend) -> Result<Value, RepoError> {
        Ok(match self {
            Cell::Uuid(v) => Value::Uuid(*v),
            Cell::Text(v) => Value::String(v.clone()),
            Cell::Boolean(v) => Value::Bool(*v),
            Cell::Date(v) => Value::ChronoDate(*v),
            Cell::Timestamp(v) => Value::ChronoDateTimeUtc(*v),
            Cell::Decimal(v, scale) => codec::encode_opt(backend, *v, *scale)?,
            Cell::Json(v) => Value::Json(
                v.as_deref()
                    .map(serde_json::from_str::<Json>)
                    .transpose()
                    .map_err(|e| RepoError::Unexpected(e.into()))?
                    .map(Box::new),
            ),
        })
    }
}

/// A row's canonical text: the JSON array of its cells.
pub(crate) fn row_text(cells: &[Cell]) -> String {
    Json::Array(cells.iter().map(Cell::to_json).collect()).to_string()
}

/// A JSON document's canonical text: object keys sorted by their bytes, no spaces, numbers
/// as exact decimals without trailing zeros or exponent (so `1.50`, `1.5e0` and PostgreSQL's
/// `jsonb` rendering of either all read `1.5`).
pub(crate) fn canonical_json(value: &Json) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Json, out: &mut String) {
    match value {
        Json::Number(n) => out.push_str(&canonical_number(&n.to_string())),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(key.clone()).to_string());
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A JSON number's text as an exact decimal, or as it is when no decimal holds it exactly
/// (beyond 28 digits).
fn canonical_number(text: &str) -> String {
    let exact = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str_exact(text)
    };
    exact.map_or_else(|_| text.to_owned(), |d| d.normalize().to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn a_json_document_has_one_canonical_text_whatever_its_key_order_and_number_spelling() {
        let a =
            serde_json::from_str::<Json>(r#"{"b": [1.50, 2e2, "x"], "a": {"d": null, "c": true}}"#)
                .unwrap();
        let b =
            serde_json::from_str::<Json>(r#"{"a":{"c":true,"d":null},"b":[1.5,200,"x"]}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            canonical_json(&b),
            r#"{"a":{"c":true,"d":null},"b":[1.5,200,"x"]}"#
        );
        assert_eq!(canonical_json(&json!({"é": "☕"})), r#"{"é":"☕"}"#);
    }

    #[test]
    fn decimals_are_written_exactly_and_read_back_exactly() {
        let column = Column {
            name: "price",
            kind: Kind::Decimal(Scale::Fine),
        };
        for text in [
            "0.1",
            "12345678901234.5678",
            "-250.75",
            "1234.56789012",
            "0",
        ] {
            let cell = Cell::parse(&json!(text), &column).unwrap();
            assert_eq!(cell.to_json(), json!(text));
        }
        let trailing = Cell::parse(&json!("0.10000000"), &column).unwrap();
        assert_eq!(trailing.to_json(), json!("0.1"));
        assert!(Cell::parse(&json!("0.000000001"), &column).is_err());
        assert!(Cell::parse(&json!(0.1), &column).is_err(), "never a float");
    }

    #[test]
    fn instants_keep_the_precision_stored_in_utc() {
        let column = Column {
            name: "created_at",
            kind: Kind::Timestamp,
        };
        let cell = Cell::parse(&json!("2026-11-25T22:16:33.993704+01:00"), &column).unwrap();
        assert_eq!(cell.to_json(), json!("2026-11-25T21:16:33.993704Z"));
        let whole = Cell::parse(&json!("2026-11-25T21:16:33Z"), &column).unwrap();
        assert_eq!(whole.to_json(), json!("2026-11-25T21:16:33Z"));
    }
}
