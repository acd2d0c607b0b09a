//! Answer To Reset decoding for reader listings: convention, interface bytes, the protocols
//! the card offers, historical bytes and the check byte (ISO/IEC 7816-3 §8.2).

use std::fmt;

use crate::Error;

/// A decoded ATR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atr {
    /// The ATR as received.
    pub raw: Vec<u8>,
    /// TS: `3B` direct or `3F` inverse convention (ISO/IEC 7816-3 §8.1).
    pub inverse_convention: bool,
    /// The protocols offered, in the order of the TDi bytes; T=0 alone when there is no
    /// TD1 (ISO/IEC 7816-3 §8.2.3). T=15 (global bytes) is not a protocol and is left out.
    pub protocols: Vec<u8>,
    /// TA1 (Fi/Di), if present.
    pub ta1: Option<u8>,
    /// TB1 (programming voltage; EMV 4.4 Book 1 §8.3 asks for `00`), if present.
    pub tb1: Option<u8>,
    /// TC1 (extra guard time), if present.
    pub tc1: Option<u8>,
    /// The first TAi for T=1 with i ≥ 3: the IFSC (ISO/IEC 7816-3 §11.4.2), if present.
    pub t1_ifsc: Option<u8>,
    /// The first TBi for T=1 with i ≥ 3: BWI and CWI (ISO/IEC 7816-3 §11.4.3), if present.
    pub t1_bwi_cwi: Option<u8>,
    /// TA2 present: the card is in specific mode (ISO/IEC 7816-3 §6.3.1).
    pub specific_mode: bool,
    /// The historical bytes (ISO/IEC 7816-4 §8.1.1).
    pub historical: Vec<u8>,
    /// TCK and whether the XOR of T0..TCK is zero; `None` when TCK is absent (only T=0
    /// offered, ISO/IEC 7816-3 §8.2.5).
    pub tck: Option<(u8, bool)>,
}

impl Atr {
    /// Decodes `raw`; fails on a truncated ATR or a bad TS.
    pub fn parse(raw: &[u8]) -> Result<Self, Error> {
        let bad = |m: &str| Error::Atr(format!("{m} in {}", hex_upper(raw)));
        let (&ts, rest) = raw.split_first().ok_or_else(|| bad("empty ATR"))?;
        let inverse_convention = match ts {
            0x3B => false,
            0x3F => true,
            _ => return Err(bad("TS is neither 3B nor 3F")),
        };
        let (&t0, mut rest) = rest.split_first().ok_or_else(|| bad("no T0"))?;
        let k = usize::from(t0 & 0x0F);
        let mut y = t0 >> 4;
        let mut protocols = Vec::new();
        let mut ta1 = None;
        let (mut tb1, mut tc1, mut t1_ifsc, mut t1_bwi_cwi) = (None, None, None, None);
        // the protocol TDi(-1) named: the interface bytes of group i ≥ 3 are for it
        let mut group_protocol = None;
        let mut specific_mode = false;
        let mut needs_tck = false;
        // i is the index of the interface-byte group (TAi, TBi, TCi, TDi)
        let mut i = 1;
        loop {
            let mut take = |present: bool| -> Result<Option<u8>, Error> {
                if !present {
                    return Ok(None);
                }
                let (&b, r) = rest
                    .split_first()
                    .ok_or_else(|| bad("interface bytes truncated"))?;
                rest = r;
                Ok(Some(b))
            };
            let ta = take(y & 0x1 != 0)?;
            let tb = take(y & 0x2 != 0)?;
            let tc = take(y & 0x4 != 0)?;
            let td = take(y & 0x8 != 0)?;
            if i == 1 {
                (ta1, tb1, tc1) = (ta, tb, tc);
            }
            if i >= 3 && group_protocol == Some(1) {
                t1_ifsc = t1_ifsc.or(ta);
                t1_bwi_cwi = t1_bwi_cwi.or(tb);
            }
            if i == 2 && ta.is_some() {
                specific_mode = true;
            }
            let Some(td) = td else { break };
            let t = td & 0x0F;
            group_protocol = Some(t);
            if t != 0x0F && !protocols.contains(&t) {
                protocols.push(t);
            }
            // TCK is present unless T=0 is the only protocol (§8.2.5)
            if t != 0 {
                needs_tck = true;
            }
            y = td >> 4;
            i += 1;
        }
        if protocols.is_empty() {
            protocols.push(0);
        }
        if rest.len() < k {
            return Err(bad("historical bytes truncated"));
        }
        let (historical, rest) = rest.split_at(k);
        let tck = match (needs_tck, rest) {
            (false, []) => None,
            (true, [tck]) => {
                let xor = raw[1..].iter().fold(0u8, |a, b| a ^ b);
                Some((*tck, xor == 0))
            }
            (true, []) => return Err(bad("TCK missing")),
            _ => return Err(bad("extra bytes after the historical bytes")),
        };
        Ok(Self {
            raw: raw.to_vec(),
            inverse_convention,
            protocols,
            ta1,
            tb1,
            tc1,
            t1_ifsc,
            t1_bwi_cwi,
            specific_mode,
            historical: historical.to_vec(),
            tck,
        })
    }

    /// `T=0, T=1`.
    pub fn protocols_text(&self) -> String {
        self.protocols
            .iter()
            .map(|t| format!("T={t}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The historical bytes as text when they are all printable ASCII.
    pub fn historical_text(&self) -> Option<String> {
        (!self.historical.is_empty()
            && self
                .historical
                .iter()
                .all(|b| b.is_ascii_graphic() || *b == b' '))
        .then(|| self.historical.iter().map(|&b| char::from(b)).collect())
    }
}

impl fmt::Display for Atr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", hex_upper(&self.raw), self.protocols_text())?;
        if !self.historical.is_empty() {
            write!(f, "; historical bytes {}", hex_upper(&self.historical))?;
            if let Some(t) = self.historical_text() {
                write!(f, " {t:?}")?;
            }
        }
        if let Some((_, false)) = self.tck {
            write!(f, "; TCK wrong")?;
        }
        write!(f, ")")
    }
}

pub(crate) fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_card_answers_the_emv_basic_atr_for_t0() {
        // EMV 4.4 Book 1 §8.3: TS 3B, T0 6x, TB1 00, TC1, no TD1 (T=0 only), no TCK
        let a = Atr::parse(&emv_card::ATR).unwrap();
        assert!(!a.inverse_convention);
        assert_eq!(a.raw[1] >> 4, 0x6, "T0: TB1 and TC1 only");
        assert_eq!(a.protocols, [0]);
        assert_eq!((a.ta1, a.tb1, a.tc1), (None, Some(0x00), Some(0x00)));
        assert_eq!(a.tck, None, "T=0 only: no TCK");
        assert_eq!(a.historical_text().as_deref(), Some("emvbench"));
        assert!(a.to_string().contains("(T=0;"), "{a}");
    }

    #[test]
    fn the_t1_option_is_a_complete_t1_atr() {
        // EMV 4.4 Book 1 §8.3: TB1 00, TC1, TD1 T=1, TD2 T=1 with TA3 (IFSC) and TB3
        // (BWI/CWI), TCK
        let a = Atr::parse(&emv_card::ATR_T1).unwrap();
        assert_eq!(a.protocols, [1]);
        assert_eq!((a.tb1, a.tc1), (Some(0x00), Some(0x00)));
        assert_eq!(a.t1_ifsc, Some(0xFE));
        assert_eq!(a.t1_bwi_cwi, Some(0x45));
        assert_eq!(a.tck, Some((emv_card::ATR_T1[16], true)));
        assert_eq!(a.historical_text().as_deref(), Some("emvbench"));
    }

    #[test]
    fn t0_only_atrs_have_no_tck() {
        // EMV basic ATR for T=0 and the Multiflex ATR from docs/virtual-reader.md §5
        for raw in [&[0x3B, 0x60, 0x00, 0x00][..], &[0x3B, 0x02, 0x14, 0x50]] {
            let a = Atr::parse(raw).unwrap();
            assert_eq!(a.protocols, [0]);
            assert_eq!(a.tck, None);
        }
        // T0 = 60: TB1 and TC1, no historical bytes; T0 = 02: two historical bytes
        assert!(
            Atr::parse(&[0x3B, 0x60, 0x00, 0x00])
                .unwrap()
                .historical
                .is_empty()
        );
        let a = Atr::parse(&[0x3B, 0x02, 0x14, 0x50]).unwrap();
        assert_eq!(a.historical, [0x14, 0x50]);
    }

    #[test]
    fn t1_atr_with_global_bytes() {
        // the card's former ATR: T=0 then T=1 without TB3 (no T=1 parameters)
        let a = Atr::parse(&[
            0x3B, 0x88, 0x80, 0x01, 0x65, 0x6D, 0x76, 0x62, 0x65, 0x6E, 0x63, 0x68, 0x15,
        ])
        .unwrap();
        assert_eq!(a.protocols, [0, 1]);
        assert_eq!((a.t1_ifsc, a.t1_bwi_cwi), (None, None));
        // the packaged vicc's ATR (docs/virtual-reader.md §5): TA1=13, TD1=81 and TD2=01 (T=1)
        let a = Atr::parse(&[
            0x3B, 0x95, 0x13, 0x81, 0x01, 0x80, 0x73, 0xFF, 0x01, 0x00, 0x0B,
        ])
        .unwrap();
        assert_eq!(a.protocols, [1]);
        assert_eq!(a.ta1, Some(0x13));
        assert_eq!(a.historical, [0x80, 0x73, 0xFF, 0x01, 0x00]);
        assert_eq!(a.tck, Some((0x0B, true)));
    }

    #[test]
    fn truncated_and_malformed_atrs_are_errors() {
        for raw in [
            &[][..],
            &[0x3C, 0x00],
            &[0x3B],
            &[0x3B, 0x88, 0x80],
            &[0x3B, 0x02, 0x14],
            &[0x3B, 0x02, 0x14, 0x50, 0x00],
            &[0x3B, 0x80, 0x01],
        ] {
            assert!(Atr::parse(raw).is_err(), "{raw:02X?}");
        }
    }
}
