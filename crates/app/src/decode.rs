//! Reading a request's body, query string and path, and saying in plain words which field or
//! parameter could not be read and what was expected there.
//!
//! serde's own messages name Rust types (`expected struct CreateBody`, `expected u32`) or say
//! nothing of the field (`input is out of range`), so they never reach a client: the field's
//! path comes from `serde_path_to_error`, and each kind of message is rewritten into what the
//! client should have sent (`date: expected a date as YYYY-MM-DD`). A message of a kind not
//! known here becomes "not a valid value", never the original text.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_path_to_error::{Path, Segment};
use uuid::Uuid;

use crate::error::ApiError;

/// What a request part is read from: its error code and the word for one of its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A JSON body (`invalid_body`); its keys are fields.
    Body,
    /// A query string (`invalid_query`); its keys are parameters.
    Query,
}

impl Part {
    fn code(self) -> &'static str {
        match self {
            Part::Body => "invalid_body",
            Part::Query => "invalid_query",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Part::Body => "field",
            Part::Query => "parameter",
        }
    }
}

/// What a date must look like.
pub const DATE: &str = "expected a date as YYYY-MM-DD";
/// What an id must look like.
pub const UUID: &str = "expected a UUID";

/// Reads a JSON body (already known to be an object) into `T`.
///
/// # Errors
/// A 400 `invalid_body` naming the field that could not be read.
pub fn body<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| refuse(Part::Body, &e))
}

/// Reads JSON text into `T`, as a body is read.
///
/// # Errors
/// A 400 `malformed_json` for text that is not JSON, `invalid_body` for JSON that is not an
/// object or whose fields cannot be read.
pub fn json<T: DeserializeOwned>(text: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(text)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("malformed JSON: {e}")))?;
    if !value.is_object() {
        return Err(not_an_object());
    }
    body(value)
}

/// The 400 for a body that is JSON but not an object.
#[must_use]
pub fn not_an_object() -> ApiError {
    ApiError::bad_request("invalid_body", "the body must be a JSON object")
}

/// Reads a query string (without the `?`) into `T`.
///
/// # Errors
/// A 400 `invalid_query` naming the parameter that could not be read.
pub fn query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let parameters = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(parameters).map_err(|e| refuse(Part::Query, &e))
}

/// The 400 `invalid_path` for a path whose parameters could not be read. Every path
/// parameter that can fail to parse is an id (`id`, `item_id`): those that are not UUIDs are
/// named. A path that failed otherwise is refused without naming one.
#[must_use]
pub fn path(parameters: &actix_web::dev::Path<actix_web::dev::Url>) -> ApiError {
    let fields: BTreeMap<String, String> = parameters
        .iter()
        .filter(|(name, value)| {
            (*name == "id" || name.ends_with("_id")) && Uuid::parse_str(value).is_err()
        })
        .map(|(name, _)| (name.to_owned(), UUID.to_owned()))
        .collect();
    if fields.is_empty() {
        ApiError::bad_request("invalid_path", "the path could not be read")
    } else {
        ApiError::unreadable("invalid_path", fields)
    }
}

fn refuse<E: std::fmt::Display>(part: Part, error: &serde_path_to_error::Error<E>) -> ApiError {
    let (field, reason) = explain(part, error.path(), &error.inner().to_string());
    match field {
        Some(field) => ApiError::unreadable(part.code(), BTreeMap::from([(field, reason)])),
        None => ApiError::bad_request(part.code(), reason),
    }
}

/// The field serde stopped at, as a client names it (`target_allocation.stock`,
/// `items[0]`); `None` at the top.
fn field_name(path: &Path) -> Option<String> {
    let mut name = String::new();
    for segment in path {
        match segment {
            Segment::Map { key } => {
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(key);
            }
            Segment::Seq { index } => name.push_str(&format!("[{index}]")),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    (!name.is_empty()).then_some(name)
}

/// `outer.inner`, or `inner` at the top.
fn within(outer: Option<String>, inner: &str) -> String {
    outer.map_or_else(|| inner.to_owned(), |o| format!("{o}.{inner}"))
}

/// The names quoted in `` `a`, `b` `` style, in order.
fn quoted(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// `expected one of: a, b`, `expected: a`, or `none` for an empty list.
fn one_of(names: &[&str], none: &str) -> String {
    match names {
        [] => none.to_owned(),
        [only] => format!("expected: {only}"),
        _ => format!("expected one of: {}", names.join(", ")),
    }
}

/// The field or parameter a message is about and the reason to give for it.
fn explain(part: Part, path: &Path, message: &str) -> (Option<String>, String) {
    let at = field_name(path);
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        return (Some(within(at, name)), "required".into());
    }
    if let Some(rest) = message.strip_prefix("duplicate field `") {
        let name = rest.trim_end_matches('`');
        return (Some(within(at, name)), "given more than once".into());
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let key = part.key();
        let reason = format!(
            "unknown {key}; {}",
            one_of(&quoted(expected), &format!("no {key}s are taken"))
        );
        // The path ends at the unknown key; without one, the message names it.
        return (at.or_else(|| Some(name.to_owned())), reason);
    }
    (at, reason(message))
}

/// What a message of serde or of a value's parser says was expected, in plain words.
#[must_use]
pub fn reason(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let expected = rest.split_once('`').map_or("", |(_, e)| e);
        return one_of(&quoted(expected), "not a valid value");
    }
    for kind in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(kind)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            let wanted = format!("expected {}", plain(expected));
            return if found == "null" {
                format!("{wanted}, not null")
            } else {
                wanted
            };
        }
    }
    match message {
        // chrono's parse errors: dates are the only dates-and-times a request holds.
        "input is out of range"
        | "no possible date and time matching input"
        | "input is not enough for unique date and time"
        | "input contains invalid characters"
        | "premature end of input"
        | "trailing input"
        | "bad or unsupported format string"
        | "impossible" => DATE.into(),
        // The integer parser's, and serde_json's for a number an integer cannot hold.
        "invalid digit found in string"
        | "cannot parse integer from empty string"
        | "invalid number" => "expected a whole number".into(),
        "number too large to fit in target type" => "expected a smaller whole number".into(),
        "number too small to fit in target type" => "expected a larger whole number".into(),
        "provided string was not `true` or `false`" => "expected true or false".into(),
        _ if message.starts_with("UUID parsing failed") => UUID.into(),
        // This crate's own values (decimals) say what they expect in plain words.
        _ if message.starts_with("expected ") && !message.contains('`') => message.into(),
        _ => "not a valid value".into(),
    }
}

/// serde's name for what it expected (`u32`, `a formatted date string`, `struct X`) in
/// plain words.
fn plain(expected: &str) -> &'static str {
    match expected {
        "a string" | "a borrowed string" | "string or map" => "a string",
        "a boolean" => "true or false",
        "a formatted date string" => "a date as YYYY-MM-DD",
        "a formatted UUID string" | "a UUID string" => "a UUID",
        "a sequence" => "a list",
        "a map" => "an object",
        "a character" => "one character",
        "any valid JSON value" => "a JSON value",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        _ if expected.starts_with("struct ") || expected.starts_with("a map ") => "an object",
        _ if expected.starts_with("a tuple") || expected.starts_with("a sequence ") => "a list",
        _ => "a valid value",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::NaiveDate;
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::dto::Dec;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct CreateBody {
        name: String,
        date: Option<NaiveDate>,
        id: Option<Uuid>,
        limit: Option<u32>,
        is_default: Option<bool>,
        amount: Option<Dec>,
        weights: Option<BTreeMap<String, Dec>>,
        ids: Option<Vec<Uuid>>,
        side: Option<Side>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Side {
        Buy,
        Sell,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nothing {}

    fn body_error(value: serde_json::Value) -> (String, Option<BTreeMap<String, String>>) {
        match body::<CreateBody>(value).unwrap_err() {
            ApiError::BadRequest {
                code,
                message,
                fields,
                ..
            } => {
                assert_eq!(code, "invalid_body");
                (message, fields)
            }
            other @ ApiError::App(_) => panic!("{other:?}"),
        }
    }

    fn query_error(text: &str) -> String {
        match query::<CreateBody>(text).unwrap_err() {
            ApiError::BadRequest { code, message, .. } => {
                assert_eq!(code, "invalid_query");
                message
            }
            other @ ApiError::App(_) => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_body_value_is_named_by_its_path_with_what_was_expected_in_plain_words() {
        for (body, message) in [
            (
                json!({"name": "x", "date": "25/11/2026"}),
                "date: expected a date as YYYY-MM-DD",
            ),
            (
                json!({"name": "x", "date": 7}),
                "date: expected a date as YYYY-MM-DD",
            ),
            (json!({"name": "x", "id": "nope"}), "id: expected a UUID"),
            (json!({"name": "x", "id": 7}), "id: expected a UUID"),
            (
                json!({"name": "x", "limit": "5"}),
                "limit: expected a whole number, 0 or more",
            ),
            (
                json!({"name": "x", "limit": -1}),
                "limit: expected a whole number",
            ),
            (
                json!({"name": "x", "is_default": "yes"}),
                "is_default: expected true or false",
            ),
            (json!({"name": 5}), "name: expected a string"),
            (json!({"name": null}), "name: expected a string, not null"),
            (
                json!({"name": "x", "weights": []}),
                "weights: expected an object",
            ),
            (json!({"name": "x", "ids": "a"}), "ids: expected a list"),
            (
                json!({"name": "x", "ids": ["a"]}),
                "ids[0]: expected a UUID",
            ),
            (
                json!({"name": "x", "side": "hold"}),
                "side: expected one of: buy, sell",
            ),
            (json!({"name": "x", "side": 1}), "side: expected a string"),
            (json!({"date": "2026-01-01"}), "name: required"),
            (
                json!({"name": "x", "admin": true}),
                "admin: unknown field; expected one of: name, date, id, limit, is_default, \
                 amount, weights, ids, side",
            ),
        ] {
            assert_eq!(body_error(body.clone()).0, message, "{body}");
        }
        let (message, fields) = body_error(json!({"name": "x", "weights": {"stock": "lots"}}));
        assert!(message.starts_with("weights.stock: expected a decimal number"));
        assert_eq!(
            fields.unwrap().keys().collect::<Vec<_>>(),
            ["weights.stock"]
        );
        let none = body::<Nothing>(json!({"x": 1})).unwrap_err().to_string();
        assert_eq!(none, "x: unknown field; no fields are taken");
    }

    #[test]
    fn a_query_parameter_is_named_with_what_was_expected_in_plain_words() {
        for (query, message) in [
            (
                "name=x&date=2026-13-01",
                "date: expected a date as YYYY-MM-DD",
            ),
            ("name=x&date=", "date: expected a date as YYYY-MM-DD"),
            ("name=x&limit=-1", "limit: expected a whole number"),
            (
                "name=x&limit=99999999999",
                "limit: expected a smaller whole number",
            ),
            ("name=x&id=x", "id: expected a UUID"),
            (
                "name=x&is_default=maybe",
                "is_default: expected true or false",
            ),
            ("name=x&name=y", "name: given more than once"),
            ("", "name: required"),
            (
                "name=x&sort=date",
                "sort: unknown parameter; expected one of: name, date, id, \
              limit, is_default, amount, weights, ids, side",
            ),
        ] {
            assert_eq!(query_error(query), message, "{query}");
        }
    }

    #[test]
    fn a_message_of_an_unknown_kind_is_never_passed_on() {
        assert_eq!(
            reason("invalid type: integer `5`, expected CreateBody"),
            "expected a valid value"
        );
        assert_eq!(reason("something about `CreateBody`"), "not a valid value");
        assert_eq!(reason("expected `NaiveDate`"), "not a valid value");
    }
}
