//! Data element formats and sources (EMV 4.4 Book 1 §4.3 "Data Element Format Conventions",
//! Book 3 Annex A "Data Elements Dictionary").

use core::fmt;

/// How a data element's value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `n`: numeric, BCD, right-justified, padded with leading zeros (Book 1 §4.3).
    Numeric,
    /// `cn`: compressed numeric, BCD, left-justified, padded with trailing `F`s.
    CompressedNumeric,
    /// `a`: alphabetic.
    Alpha,
    /// `an`: alphanumeric.
    AlphaNumeric,
    /// `ans`: alphanumeric and special characters (ISO/IEC 8859 common character set).
    AlphaNumericSpecial,
    /// `b`: binary (bit fields, keys, cryptograms).
    Binary,
    /// A constructed template; its value is a list of TLVs.
    Template,
    /// Format depends on the payment system or issuer (proprietary data).
    Var,
}

impl Format {
    /// The spec's short notation (`n`, `cn`, `b`, ...).
    pub fn notation(self) -> &'static str {
        match self {
            Format::Numeric => "n",
            Format::CompressedNumeric => "cn",
            Format::Alpha => "a",
            Format::AlphaNumeric => "an",
            Format::AlphaNumericSpecial => "ans",
            Format::Binary => "b",
            Format::Template => "template",
            Format::Var => "var",
        }
    }

    /// Formats whose bytes are text (`a`, `an`, `ans`).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Format::Alpha | Format::AlphaNumeric | Format::AlphaNumericSpecial
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.notation())
    }
}

/// Who provides a data element (Book 3 Annex A, column "Source").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The card (ICC).
    Icc,
    /// The terminal.
    Terminal,
    /// The issuer (host), via the authorisation response.
    Issuer,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Icc => "ICC",
            Source::Terminal => "Terminal",
            Source::Issuer => "Issuer",
        })
    }
}
