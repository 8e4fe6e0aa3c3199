//! Data variants: which of the documented shapes the simulator's objects take, so that the
//! shape contracts merged from many runs hold the variety real servers show (reference §1.1
//! user model, §2.1 requestable account, §3.1 secret, and the lookups' documented models).
//!
//! A variant never leaves what the documentation allows: a field the docs type as
//! `string|null` is a string in one variant and `null` in another, an optional string is empty
//! in one and filled in another. Only [`DataVariant::Extended`] carries an undocumented extra
//! field on some objects, as newer real servers do. This module owns the names and the
//! per-variant choices; each API area builds its own objects from them.

use std::fmt;
use std::str::FromStr;

/// Which documented shapes the simulator's data takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataVariant {
    /// A mix inside every list: a directory run-as user with a SID, local and domain accounts,
    /// `DomainName` null and text, dates and nulls. The shipped snapshots record this one.
    #[default]
    Standard,
    /// The sparse end of what the docs allow: a local run-as user without SID (`SID: null`,
    /// `EmailAddress: ""`), null descriptions and dates, GUID-looking names, and the
    /// array form of lookups the newer docs show (`GET UserGroups?name=` as `[{…}]`).
    Sparse,
    /// The filled end: every optional string set, every date present, and an undocumented
    /// extra field on some objects, as newer servers add fields the docs do not list yet.
    Extended,
}

impl DataVariant {
    /// Every variant.
    pub const ALL: &'static [DataVariant] = &[DataVariant::Standard, DataVariant::Sparse, DataVariant::Extended];

    /// The name `--data` and `--sim-data` take.
    pub fn name(self) -> &'static str {
        match self {
            DataVariant::Standard => "standard",
            DataVariant::Sparse => "sparse",
            DataVariant::Extended => "extended",
        }
    }

    /// One line on what the variant produces.
    pub fn description(self) -> &'static str {
        match self {
            DataVariant::Standard => {
                "a documented mix in every list: SID and no SID, null and text, dates and nulls (the default)"
            }
            DataVariant::Sparse => "nulls, empty strings and GUID-looking names wherever the docs allow them",
            DataVariant::Extended => "every optional field filled, plus an undocumented extra field on some objects",
        }
    }

    /// Whether optional strings are left null or empty where the docs allow it.
    pub(crate) fn sparse(self) -> bool {
        self == DataVariant::Sparse
    }

    /// Whether some objects carry an undocumented extra field.
    pub(crate) fn extras(self) -> bool {
        self == DataVariant::Extended
    }

    /// A string the docs type as plain `string` but real servers leave empty: `""` in the sparse
    /// variant, the text otherwise.
    pub(crate) fn or_empty(self, text: &str) -> String {
        if self.sparse() { String::new() } else { text.to_owned() }
    }
}

impl fmt::Display for DataVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DataVariant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        DataVariant::ALL.iter().copied().find(|d| d.name() == s).ok_or_else(|| {
            let names: Vec<&str> = DataVariant::ALL.iter().map(|d| d.name()).collect();
            format!("unknown data variant `{s}`; variants: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in DataVariant::ALL {
            assert_eq!(d.name().parse::<DataVariant>(), Ok(*d));
            assert!(!d.description().is_empty());
        }
        assert!("full".parse::<DataVariant>().is_err_and(|e| e.contains("standard, sparse, extended")));
        assert_eq!(DataVariant::default(), DataVariant::Standard);
    }

    #[test]
    fn optional_text_follows_the_variant() {
        assert_eq!(DataVariant::Sparse.or_empty("x"), "");
        assert_eq!(DataVariant::Extended.or_empty("x"), "x");
    }
}
