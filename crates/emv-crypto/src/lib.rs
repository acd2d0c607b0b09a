//! Payment cryptography shared by the card, the kernel and the host (being written).
#![forbid(unsafe_code)]
