//! Typed EMV bit fields.
