//! The chip data of an authorisation (ISO 8583 DE 55): the ARQC and the data it covers,
//! and what the Card Verification Results say about the chip's offline PIN.

use emv_crypto::Cvn;
// Transaction data covered by the cryptogram, in the order of EMV 4.4 Book 2 §8.1.1
// Table 26: one definition for the card and the host, in emv-crypto.
use emv_crypto::cryptogram::AC_DATA_ELEMENTS as AC_DATA;
use emv_crypto::cryptogram::AcData;
use emv_tlv::bits::iad::{CcdCvr, McCvr, VisaCvr};
use emv_tlv::bits::{AcType, Cid, Iad, IadFormat};
use emv_tlv::{Tag, Tlv};

use crate::Error;

/// What the host reads from DE 55.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipData {
    /// Application Transaction Counter (9F36).
    pub atc: u16,
    /// Unpredictable Number (9F37).
    pub un: [u8; 4],
    /// The ARQC (9F26).
    pub arqc: [u8; 8],
    /// Cryptogram Information Data (9F27).
    pub cid: u8,
    /// Issuer Application Data (9F10).
    pub iad: Vec<u8>,
    /// The AC input's transaction data (33 bytes, [`AC_DATA`] order).
    pub ac_data: Vec<u8>,
    /// Amount, Authorised (9F02), in minor units.
    pub amount: u64,
    /// Transaction Currency Code (5F2A).
    pub currency: u16,
    /// Transaction Type (9C).
    pub transaction_type: u8,
    /// PAN Sequence Number (5F34), when present.
    pub psn: Option<String>,
    /// Application Expiration Date (5F24) as YYMM, when present.
    pub expiry: Option<String>,
}

impl ChipData {
    /// Whether the cryptogram is an ARQC (CID b8-b7 = 10, EMV 4.4 Book 3 §6.5.5.4).
    pub fn is_arqc(&self) -> bool {
        Cid(self.cid).ac_type() == AcType::Arqc
    }

    /// The inputs of `emv_crypto::cryptogram::verify_ac`.
    pub fn ac_inputs(&self) -> AcData<'_> {
        AcData::new(self.atc, self.un, &self.ac_data, &self.iad)
    }
}

fn bcd_number(what: &str, v: &[u8]) -> Result<u64, Error> {
    let mut n: u64 = 0;
    for b in v {
        for nib in [b >> 4, b & 0x0F] {
            if nib > 9 {
                return Err(Error::IccData(format!("{what} is not BCD")));
            }
            n = n * 10 + u64::from(nib);
        }
    }
    Ok(n)
}

fn value<'a>(list: &[Tlv<'a>], tag: u32) -> Option<&'a [u8]> {
    emv_tlv::find(list, Tag::new(tag)).map(|t| t.value())
}

/// Parses DE 55. Empty data (card not present, magnetic stripe) is `None`.
pub fn parse(icc: &[u8]) -> Result<Option<ChipData>, Error> {
    if icc.is_empty() {
        return Ok(None);
    }
    let list = emv_tlv::parse_all(icc).map_err(|e| Error::IccData(e.to_string()))?;
    let mut missing = Vec::new();
    let mut get = |tag: u32, len: Option<usize>, name: &str| -> Result<Vec<u8>, Error> {
        match value(&list, tag) {
            Some(v) if len.is_none_or(|l| v.len() == l) => Ok(v.to_vec()),
            Some(v) => Err(Error::IccData(format!(
                "{tag:02X} ({name}) must be {} bytes, got {}",
                len.unwrap_or(0),
                v.len()
            ))),
            None => {
                missing.push(format!("{tag:02X} ({name})"));
                Ok(Vec::new())
            }
        }
    };
    let arqc = get(0x9F26, Some(8), "Application Cryptogram")?;
    let cid = get(0x9F27, Some(1), "Cryptogram Information Data")?;
    let iad = get(0x9F10, None, "Issuer Application Data")?;
    let mut ac_data = Vec::with_capacity(33);
    for (tag, len, name) in AC_DATA {
        ac_data.extend_from_slice(&get(tag, Some(len), name)?);
    }
    if !missing.is_empty() {
        return Err(Error::IccData(format!(
            "missing {} (an online request carries the ARQC and the data it covers)",
            missing.join(", ")
        )));
    }
    let psn = match value(&list, 0x5F34) {
        Some([b]) if b >> 4 <= 9 && b & 0x0F <= 9 => Some(format!("{b:02X}")),
        Some(_) => return Err(Error::IccData("5F34 (PSN) must be one BCD byte".into())),
        None => None,
    };
    let expiry = match value(&list, 0x5F24) {
        Some([y, m, _]) => Some(format!("{y:02X}{m:02X}")),
        Some(_) => {
            return Err(Error::IccData(
                "5F24 (expiry) must be 3 bytes YYMMDD".into(),
            ));
        }
        None => None,
    };
    let arr = |v: &[u8]| -> [u8; 8] {
        let mut a = [0u8; 8];
        a.copy_from_slice(v);
        a
    };
    // offsets into ac_data follow AC_DATA: 9F02 0..6, 5F2A 19..21, 9C 24, 9F37 25..29, 9F36 31..33
    Ok(Some(ChipData {
        atc: u16::from_be_bytes([ac_data[31], ac_data[32]]),
        un: [ac_data[25], ac_data[26], ac_data[27], ac_data[28]],
        arqc: arr(&arqc),
        cid: cid[0],
        iad,
        amount: bcd_number("9F02 (Amount, Authorised)", &ac_data[0..6])?,
        currency: u16::try_from(bcd_number("5F2A (currency)", &ac_data[19..21])?).unwrap_or(0),
        transaction_type: ac_data[24],
        psn,
        expiry,
        ac_data,
    }))
}

/// What the last CVR said about the chip's offline PIN (docs/emv.md §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChipPinState {
    /// PIN Try Limit exceeded (offline PIN blocked); `None` when the layout is not known.
    pub offline_pin_blocked: Option<bool>,
    /// The chip's PIN Try Counter, where the CVR carries it (M/Chip, CCD).
    pub pin_try_counter: Option<u8>,
}

/// Reads the offline PIN state from the CVR in the IAD (9F10) of an ARQC.
pub fn pin_state(cvn: Cvn, iad: &[u8]) -> ChipPinState {
    let detected = Iad::detect(iad).or_else(|| {
        // the card's CVN decides when the length alone does not (Interac: layout unknown)
        if cvn.is_mastercard() {
            Iad::with_format(iad, IadFormat::Mastercard)
        } else if cvn.is_visa() {
            Iad::with_format(iad, IadFormat::Visa)
        } else {
            None
        }
    });
    let Some(iad) = detected else {
        return ChipPinState::default();
    };
    match iad.format {
        // VIS CVR byte 3 b7 "PIN Try Limit exceeded" (docs/emv.md §4.5)
        IadFormat::Visa => VisaCvr::from_slice(iad.cvr())
            .map(|c| ChipPinState {
                offline_pin_blocked: Some(c.is_set(VisaCvr::PIN_TRY_LIMIT_EXCEEDED)),
                pin_try_counter: None,
            })
            .unwrap_or_default(),
        // M/Chip CVR byte 4 b4 "PIN Try Limit exceeded", byte 3 b4-b1 PTC (docs/emv.md §4.5)
        IadFormat::Mastercard => McCvr::from_slice(iad.cvr())
            .map(|c| ChipPinState {
                offline_pin_blocked: Some(c.is_set(McCvr::PTL_EXCEEDED)),
                pin_try_counter: Some(c.pin_try_counter()),
            })
            .unwrap_or_default(),
        // CCD CVR byte 2 b2 "PIN Try Limit exceeded", b8-b5 PTC (EMV 4.4 Book 3 Annex C9.3)
        IadFormat::Ccd => CcdCvr::from_slice(iad.cvr())
            .map(|c| ChipPinState {
                offline_pin_blocked: Some(c.is_set(CcdCvr::PIN_TRY_LIMIT_EXCEEDED)),
                pin_try_counter: Some(c.0[1] >> 4),
            })
            .unwrap_or_default(),
        // VIS IAD format 2: CVR bytes 2-4 carry format 0's bytes 2-4 (byte 3 b7 "PIN Try
        // Limit exceeded"), byte 1 the CDCVM (docs/emv.md §4.5); read as format 0's CVR,
        // whose byte 1 is its length
        IadFormat::Visa2 => iad
            .cvr()
            .get(1..4)
            .and_then(|b| VisaCvr::from_slice(&[&[VisaCvr::LENGTH][..], b].concat()))
            .map(|c| ChipPinState {
                offline_pin_blocked: Some(c.is_set(VisaCvr::PIN_TRY_LIMIT_EXCEEDED)),
                pin_try_counter: None,
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visa_iad_format_2_carries_the_pin_state_in_cvr_byte_3() {
        // 1F CVN DKI | CVR 00 A0 40 00 01 | IDD option 00 | IDD
        let mut iad = hex::decode("1F220100A040000100").unwrap();
        iad.resize(32, 0);
        assert_eq!(pin_state(Cvn::Visa22, &iad).offline_pin_blocked, Some(true));
        iad[5] = 0x00;
        assert_eq!(
            pin_state(Cvn::Visa22, &iad).offline_pin_blocked,
            Some(false)
        );
    }

    #[test]
    fn cvr_pin_states() {
        let visa = hex::decode("06011203A04000").unwrap();
        assert_eq!(
            pin_state(Cvn::Visa18, &visa).offline_pin_blocked,
            Some(true)
        );
        let visa_ok = hex::decode("06011203A00000").unwrap();
        assert_eq!(
            pin_state(Cvn::Visa18, &visa_ok).offline_pin_blocked,
            Some(false)
        );
        let mc = hex::decode("0110A00003220000000000000000000000FF").unwrap();
        let s = pin_state(Cvn::Mc16, &mc);
        assert_eq!(s.offline_pin_blocked, Some(false));
        assert_eq!(s.pin_try_counter, Some(3));
        let mc_blocked = hex::decode("0110A00000080000000000000000000000FF").unwrap();
        let s = pin_state(Cvn::Mc16, &mc_blocked);
        assert_eq!(s.offline_pin_blocked, Some(true));
        assert_eq!(s.pin_try_counter, Some(0));
        assert_eq!(pin_state(Cvn::Visa10, &[1, 2]), ChipPinState::default());
    }

    #[test]
    fn de55_errors_name_the_tag() {
        assert!(parse(&[]).unwrap().is_none());
        let e = parse(&[0x9F, 0x26, 0x02, 1, 2]).unwrap_err().to_string();
        assert!(e.contains("9F26"), "{e}");
        let e = parse(&[0x9F, 0x27, 0x01, 0x80]).unwrap_err().to_string();
        assert!(e.contains("missing 9F26") && e.contains("9F36"), "{e}");
        let e = parse(&[0x9F, 0x27, 0x05]).unwrap_err().to_string();
        assert!(e.contains("ICC data"), "{e}");
    }
}
