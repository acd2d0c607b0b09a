//! An EMV contact terminal kernel (work in progress).
#![forbid(unsafe_code)]
