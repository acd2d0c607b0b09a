//! ISO/IEC 7816-4 APDUs as EMV uses them (being written).
#![forbid(unsafe_code)]
