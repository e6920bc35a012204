//! A helper macro for the domain's closed sets of names (account types, categories, ...).

/// Defines a `snake_case` string enumeration with parsing, display and serde.
macro_rules! string_enum {
    (
        $(#[$doc:meta])*
        $name:ident, $kind:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The names of all values, comma separated, for messages.
            pub const EXPECTED: &'static str = concat!($($text, ", "),+);

            /// The value's name.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a name.
            ///
            /// # Errors
            /// [`crate::DomainError::UnknownVariant`] for a name not in the set.
            pub fn parse(text: &str) -> Result<Self, crate::DomainError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::DomainError::UnknownVariant {
                        kind: $kind,
                        value: text.chars().take(64).collect(),
                        expected: Self::EXPECTED.trim_end_matches(", "),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use string_enum;
