//! A simulated issuer host (work in progress).
#![forbid(unsafe_code)]
