//! Bounded, trimmed text fields: names, descriptions, merchants.

use crate::error::DomainError;

/// Trims `text` and checks it is non-empty and at most `max` characters.
///
/// # Errors
/// [`DomainError::EmptyText`] or [`DomainError::TextTooLong`].
pub fn required(text: &str, kind: &'static str, max: usize) -> Result<String, DomainError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DomainError::EmptyText { kind });
    }
    bounded(trimmed, kind, max)
}

/// Trims optional `text`; blank becomes `None`; at most `max` characters.
///
/// # Errors
/// [`DomainError::TextTooLong`].
pub fn optional(
    text: Option<&str>,
    kind: &'static str,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => bounded(t, kind, max).map(Some),
    }
}

fn bounded(text: &str, kind: &'static str, max: usize) -> Result<String, DomainError> {
    if text.chars().count() > max {
        return Err(DomainError::TextTooLong { kind, max });
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(DomainError::InvalidText { kind });
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(required("  Chase  ", "a name", 5).unwrap(), "Chase");
        assert_eq!(required("ééééé", "a name", 5).unwrap(), "ééééé");
        assert_eq!(
            required("abcdef", "a name", 5),
            Err(DomainError::TextTooLong {
                kind: "a name",
                max: 5
            })
        );
        assert_eq!(
            required("   ", "a name", 5),
            Err(DomainError::EmptyText { kind: "a name" })
        );
    }

    #[test]
    fn blank_optional_text_is_none_and_control_characters_are_refused() {
        assert_eq!(optional(Some("  "), "a merchant", 10).unwrap(), None);
        assert_eq!(optional(None, "a merchant", 10).unwrap(), None);
        assert!(optional(Some("a\u{0}b"), "a merchant", 10).is_err());
    }
}
