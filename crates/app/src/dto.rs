//! Request and response building blocks shared by the routes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use nestegg_domain::decimal::parse_exact;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::decode;
use crate::error::ApiError;

/// A decimal read exactly from a JSON string or number (never through `f64`).
#[derive(Debug, Clone, Copy)]
pub struct Dec(pub Decimal);

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => text,
            // With `arbitrary_precision` (this crate's feature) a number keeps its literal text.
            serde_json::Value::Number(number) => number.as_str().to_owned(),
            _ => {
                return Err(D::Error::custom(
                    "expected a decimal number, as a string or a JSON number",
                ));
            }
        };
        parse_exact(&text)
            .map(Dec)
            .map_err(|_| D::Error::custom(DECIMAL))
    }
}

/// What a request decimal must look like.
const DECIMAL: &str =
    "expected a decimal number such as \"-12.50\" (at most 28 digits, no exponent)";

/// A string in the grammar responses write decimals in, or a JSON number read exactly.
impl utoipa::PartialSchema for Dec {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::schema::DecimalInput::schema()
    }
}

impl utoipa::ToSchema for Dec {
    fn name() -> std::borrow::Cow<'static, str> {
        crate::openapi::schema::DecimalInput::name()
    }
}

/// A request body: a JSON object read into `T`. Unlike `web::Json`, a JSON array is refused
/// even when every field of `T` is optional (serde would read `[]` as a struct with no fields),
/// so a body is never silently taken for an empty one, and a field that cannot be read is a
/// 400 naming it with what was expected, in plain words ([`decode::body`]). Size and
/// content-type errors are those of `web::JsonConfig`; the name `Json` lets the OpenAPI
/// generator see the request body.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// `into_inner` and `Deref` for an extractor that wraps what it read, as actix's own do.
macro_rules! unwraps_to_inner {
    ($extractor:ident, $doc:literal) => {
        impl<T> $extractor<T> {
            #[doc = $doc]
            pub fn into_inner(self) -> T {
                self.0
            }
        }

        impl<T> std::ops::Deref for $extractor<T> {
            type Target = T;

            fn deref(&self) -> &T {
                &self.0
            }
        }
    };
}

unwraps_to_inner!(Json, "The body.");

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let value = actix_web::web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let actix_web::web::Json(value) = value.await?;
            if !value.is_object() {
                return Err(decode::not_an_object().into());
            }
            decode::body(value).map(Json).map_err(Into::into)
        })
    }
}

/// A query string read into `T`. Unlike `web::Query`, a value that cannot be read is a 400
/// naming its parameter with what was expected, in plain words ([`decode::query`]); the name
/// `Query` lets the OpenAPI generator see the parameters.
#[derive(Debug)]
pub struct Query<T>(pub T);

unwraps_to_inner!(Query, "The parameters.");

impl<T: serde::de::DeserializeOwned> actix_web::FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        _payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        std::future::ready(
            decode::query(req.query_string())
                .map(Query)
                .map_err(Into::into),
        )
    }
}

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

/// Fields of a PATCH body that may be left out but not set to `null`: each `null` is recorded,
/// and [`Nulls::check`] refuses them all at once.
#[derive(Debug, Default)]
pub struct Nulls(std::collections::BTreeMap<String, String>);

impl Nulls {
    /// The field's value when present, `None` when absent; an explicit `null` is recorded.
    pub fn take<T>(&mut self, field: &str, value: Option<Option<T>>) -> Option<T> {
        match value {
            Some(None) => {
                self.0.insert(
                    field.to_owned(),
                    "must not be null; leave it out to keep it".into(),
                );
                None
            }
            Some(Some(v)) => Some(v),
            None => None,
        }
    }

    /// `Ok` when no field was `null`.
    ///
    /// # Errors
    /// A validation error naming every `null` field.
    pub fn check(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(nestegg_application::AppError::Validation(self.0).into())
        }
    }
}

/// A page of a list that can grow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// This page.
    pub items: Vec<T>,
    /// The cursor of the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A list that stays small.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    /// Every item.
    pub items: Vec<T>,
}

/// Records as the list of their response shapes: `Items::<AccountDto>::from(accounts)`.
impl<S, T: From<S>> From<Vec<S>> for Items<T> {
    fn from(rows: Vec<S>) -> Self {
        Self {
            items: rows.into_iter().map(T::from).collect(),
        }
    }
}

/// A date range in a query string, either end optional: `?from=2026-01-01&to=2026-06-30`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// On or after.
    pub from: Option<NaiveDate>,
    /// On or before.
    pub to: Option<NaiveDate>,
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
    // A forged cursor with a date no database holds is as invalid as any other forgery.
    let date = nestegg_domain::report::check_date(date.parse().ok()?).ok()?;
    Some((date, id))
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
            // Dates outside 0001..9999, which a database would choke on.
            &URL_SAFE_NO_PAD.encode(format!("+20000-01-01|{id}")),
            &URL_SAFE_NO_PAD.encode(format!("-0005-01-01|{id}")),
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn decimals_are_read_exactly_from_json_numbers_and_strings() {
        let read = |json: &str| serde_json::from_str::<Dec>(json).map(|d| d.0);
        assert_eq!(read("0.1").unwrap(), Decimal::new(1, 1));
        assert_eq!(
            read("1234567890.12345678").unwrap(),
            Decimal::new(123_456_789_012_345_678, 8)
        );
        assert_eq!(read(r#""-45.50""#).unwrap(), Decimal::new(-4550, 2));
        assert_eq!(read("-7").unwrap(), Decimal::from(-7));
        for bad in ["true", "null", r#""ten""#, "1e3", "[1]"] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
