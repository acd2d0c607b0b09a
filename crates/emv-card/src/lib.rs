//! A software EMV contact card (work in progress).
#![forbid(unsafe_code)]
