//! Application File Locator (94), EMV 4.4 Book 3 §10.2.

use super::Describe;
use crate::error::{TlvError, TlvErrorKind};

/// One 4-byte AFL entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AflEntry {
    /// Short File Identifier (byte 1 b8-b4), 1-30.
    pub sfi: u8,
    /// First record to read.
    pub first_record: u8,
    /// Last record to read.
    pub last_record: u8,
    /// How many records, from the first, take part in offline data authentication.
    pub oda_records: u8,
}

impl AflEntry {
    /// The records named, in reading order.
    pub fn records(&self) -> impl Iterator<Item = u8> {
        self.first_record..=self.last_record
    }
}

/// A parsed Application File Locator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Afl(pub Vec<AflEntry>);

impl Afl {
    /// Parse and check the AFL: a multiple of 4 bytes; SFI 1-30; first record ≥ 1; last ≥
    /// first; ODA count ≤ records (Book 3 §10.2: otherwise the terminal terminates the
    /// transaction).
    pub fn parse(data: &[u8]) -> Result<Afl, TlvError> {
        if !data.len().is_multiple_of(4) {
            return Err(TlvError::new(
                data.len() - data.len() % 4,
                TlvErrorKind::BadValue(format!("AFL length {} is not a multiple of 4", data.len())),
            ));
        }
        let mut out = Vec::with_capacity(data.len() / 4);
        for (i, c) in data.chunks_exact(4).enumerate() {
            let e = AflEntry {
                sfi: c[0] >> 3,
                first_record: c[1],
                last_record: c[2],
                oda_records: c[3],
            };
            let bad = |why: &str| {
                TlvError::new(
                    i * 4,
                    TlvErrorKind::BadValue(format!("AFL entry {}: {why}", i + 1)),
                )
            };
            if c[0] & 0x07 != 0 {
                return Err(bad("low three bits of the SFI byte must be zero"));
            }
            if e.sfi == 0 || e.sfi >= 31 {
                return Err(bad("SFI must be 1 to 30"));
            }
            if e.first_record == 0 {
                return Err(bad("first record must not be 0"));
            }
            if e.last_record < e.first_record {
                return Err(bad("last record is before the first"));
            }
            if usize::from(e.oda_records) > usize::from(e.last_record - e.first_record) + 1 {
                return Err(bad("more ODA records than records"));
            }
            out.push(e);
        }
        Ok(Afl(out))
    }
}

impl Describe for Afl {
    fn describe(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|e| {
                let recs = if e.first_record == e.last_record {
                    format!("record {}", e.first_record)
                } else {
                    format!("records {}-{}", e.first_record, e.last_record)
                };
                format!(
                    "SFI {}, {recs}, {} for offline data authentication",
                    e.sfi, e.oda_records
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_entries() {
        let afl = Afl::parse(&[0x08, 0x01, 0x01, 0x00, 0x10, 0x01, 0x03, 0x01]).unwrap();
        assert_eq!(afl.0.len(), 2);
        assert_eq!(afl.0[1].sfi, 2);
        assert_eq!(afl.0[1].records().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            afl.describe(),
            [
                "SFI 1, record 1, 0 for offline data authentication",
                "SFI 2, records 1-3, 1 for offline data authentication"
            ]
        );
    }

    #[test]
    fn bad_entries() {
        assert!(Afl::parse(&[0x08, 0x01, 0x01]).is_err());
        assert!(Afl::parse(&[0x08, 0x00, 0x01, 0x00]).is_err());
        assert!(Afl::parse(&[0x08, 0x02, 0x01, 0x00]).is_err());
        assert!(Afl::parse(&[0x08, 0x01, 0x01, 0x02]).is_err());
        assert!(Afl::parse(&[0x00, 0x01, 0x01, 0x00]).is_err());
        assert!(Afl::parse(&[0x09, 0x01, 0x01, 0x00]).is_err());
    }
}
