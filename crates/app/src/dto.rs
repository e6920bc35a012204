//! Request and response building blocks shared by the routes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use nestegg_domain::decimal::serde_exact;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// A decimal read exactly from a JSON string or number (never through `f64`).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(transparent)]
pub struct Dec(#[serde(deserialize_with = "serde_exact::deserialize")] pub Decimal);

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
///
/// # Errors
/// Those of `T`'s deserializer.
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A field that may be left out but not set to `null`: records why under `field`.
pub fn not_null<T>(
    field: &str,
    value: Option<Option<T>>,
    errors: &mut std::collections::BTreeMap<String, String>,
) -> Option<T> {
    match value {
        Some(None) => {
            errors.insert(
                field.to_owned(),
                "must not be null; leave it out to keep it".into(),
            );
            None
        }
        Some(Some(v)) => Some(v),
        None => None,
    }
}

/// A page of a list that can grow.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// This page.
    pub items: Vec<T>,
    /// The cursor of the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A list that stays small.
#[derive(Debug, Serialize)]
pub struct Items<T> {
    /// Every item.
    pub items: Vec<T>,
}

/// Encodes a keyset position (a sort key and an id) as an opaque cursor.
#[must_use]
pub fn encode_key_cursor(key: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{key}|{id}"))
}

/// Decodes a cursor made by [`encode_key_cursor`]; `None` for anything else.
#[must_use]
pub fn decode_key_cursor(cursor: &str) -> Option<(String, Uuid)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (key, id) = text.rsplit_once('|')?;
    Some((key.to_owned(), id.parse().ok()?))
}

/// Reads an optional `?cursor=` with `decode`; one this API did not give out is a 400.
///
/// # Errors
/// [`ApiError`] `invalid_cursor`.
pub fn parse_cursor<T>(
    cursor: Option<&str>,
    decode: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    cursor
        .map(|c| {
            decode(c).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "the cursor is not one this API gave out")
            })
        })
        .transpose()
}

/// A (date, id) keyset position as an opaque cursor.
#[must_use]
pub fn encode_cursor(date: NaiveDate, id: Uuid) -> String {
    encode_key_cursor(&date.to_string(), id)
}

/// Decodes a cursor made by [`encode_cursor`]; `None` for anything else.
#[must_use]
pub fn decode_cursor(cursor: &str) -> Option<(NaiveDate, Uuid)> {
    let (date, id) = decode_key_cursor(cursor)?;
    Some((date.parse().ok()?, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        let date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(decode_cursor(&encode_cursor(date, id)), Some((date, id)));
        for bad in [
            "",
            "!!",
            "MjAyNi0xMS0yNQ",
            &URL_SAFE_NO_PAD.encode("2026-13-01|x"),
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
