//! The crate's one error type.

use thiserror::Error;

/// What went wrong with an ISO 8583 message; field errors name the data element.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The message ends before `what` is complete.
    #[error("message truncated: {what} needs {needed} more byte(s)")]
    Truncated {
        /// The part being read (`MTI`, `primary bitmap`, `DE 4`, ...).
        what: String,
        /// How many more bytes it needs (at least).
        needed: usize,
    },
    /// The MTI is not four ASCII digits.
    #[error("message type indicator is not four digits: {0}")]
    Mti(String),
    /// A bitmap is malformed (non-hex text, a tertiary bitmap).
    #[error("bitmap: {0}")]
    Bitmap(String),
    /// A data element is malformed: its length prefix, its length, or its characters.
    #[error("DE {field} ({name}): {reason}")]
    Field {
        /// Data element number.
        field: u8,
        /// Its name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Bytes follow the last field the bitmap announces.
    #[error("{0} byte(s) of extra data after the last field")]
    TrailingData(usize),
    /// The framing (length header, TPDU) is wrong.
    #[error("framing: {0}")]
    Frame(String),
    /// A field the message type requires is absent.
    #[error("{mti}: DE {field} ({name}) is mandatory")]
    Missing {
        /// The message type.
        mti: String,
        /// Data element number.
        field: u8,
        /// Its name.
        name: &'static str,
    },
    /// A message type this host does not take (or a response where a request is due).
    #[error("message type {0} is not supported")]
    UnsupportedMti(String),
    /// A well-formed message asks for something the host does not do (a partial reversal,
    /// an unknown network management code): answered `12`.
    #[error("DE {field}: {reason}")]
    Unsupported {
        /// Data element number.
        field: u8,
        /// What is not supported.
        reason: String,
    },
    /// The message carries no MAC (DE 64 / DE 128) though the link requires one.
    #[error("no MAC in DE 64/128")]
    MacMissing,
    /// The MAC does not verify, or sits in the wrong field.
    #[error("MAC does not verify: {0}")]
    MacInvalid(String),
    /// A key could not be used.
    #[error("MAC key: {0}")]
    Key(String),
}

impl Error {
    /// The data element the error is about, if any.
    pub fn field(&self) -> Option<u8> {
        match self {
            Self::Field { field, .. } | Self::Missing { field, .. } => Some(*field),
            Self::Unsupported { field, .. } => Some(*field),
            _ => None,
        }
    }

    /// Whether the error is the peer's fault in the format of a message (answered `30`).
    pub fn is_format_error(&self) -> bool {
        matches!(
            self,
            Self::Truncated { .. }
                | Self::Mti(_)
                | Self::Bitmap(_)
                | Self::Field { .. }
                | Self::TrailingData(_)
                | Self::Frame(_)
                | Self::Missing { .. }
        )
    }

    pub(crate) fn field_err(field: u8, reason: impl Into<String>) -> Self {
        Self::Field {
            field,
            name: crate::spec::field(field).map_or("?", |s| s.name),
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(mti: &crate::Mti, field: u8) -> Self {
        Self::Missing {
            mti: mti.to_string(),
            field,
            name: crate::spec::field(field).map_or("?", |s| s.name),
        }
    }
}
