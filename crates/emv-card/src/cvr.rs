//! Card Verification Results and the Issuer Application Data (9F10) that carries them, per
//! scheme layout (docs/emv.md §4.5; bit tables in `emv_tlv::bits::{VisaCvr, McCvr}`).
//!
//! Layouts produced:
//! * Visa CVN 10 and 18: IAD format 0/1/3 `06 DKI CVN 03 CVR(3)` (7 bytes).
//! * Visa CVN 22: IAD format 2, the 32-byte layout Visa defines for CVN'22' (docs/emv.md
//!   §4.5): `1F 22 DKI CVR(5) IDD-option-ID 00 IDD(23)`. CVR byte 1 (CDCVM entity and type)
//!   is `00` on a contact card; bytes 2–4 are format 0's three CVR bytes, except that byte
//!   2's b3 and b2 mean "CDCVM performed" and RFU in format 2, so the offline PIN bits stay
//!   clear there; byte 5 b1 says secure messaging uses EMV session keys (CVN 22 does).
//! * M/Chip (CVN 16, 17, 20, 21): `DKI CVN CVR(6) DAC(2) counters(8)` (18 bytes).

use emv_crypto::Cvn;
use emv_tlv::bits::AcType;
use emv_tlv::bits::iad::{McCvr, VisaCvr};

/// What the CVR reports for one GENERATE AC.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CvrInputs {
    pub first: Option<AcType>,
    /// `None`: second GENERATE AC not (yet) requested.
    pub second: Option<AcType>,
    pub pin_performed: bool,
    pub pin_enciphered: bool,
    pub pin_failed: bool,
    pub pin_successful: bool,
    pub pin_try_counter: u8,
    pub pin_limit_exceeded: bool,
    pub last_online_not_completed: bool,
    pub issuer_auth_failed_last: bool,
    pub issuer_auth_performed: bool,
    pub issuer_auth_failed: bool,
    pub script_commands: u8,
    pub script_failed: bool,
    pub pin_changed: bool,
    pub lower_offline_exceeded: bool,
    pub upper_offline_exceeded: bool,
    pub go_online_next: bool,
    pub unable_to_go_online: bool,
    pub dda_performed: bool,
    pub new_card: bool,
    pub consecutive_offline: u8,
}

fn first_bits(t: Option<AcType>) -> u8 {
    match t {
        Some(AcType::Tc) => 1,
        Some(AcType::Arqc) => 2,
        _ => 0,
    }
}

fn second_bits(t: Option<AcType>) -> u8 {
    match t {
        None => 2,
        Some(AcType::Tc) => 1,
        _ => 0,
    }
}

/// The IAD for `cvn`.
pub(crate) fn iad(cvn: Cvn, dki: u8, c: &CvrInputs) -> Vec<u8> {
    let types = (second_bits(c.second) << 6) | (first_bits(c.first) << 4);
    if cvn.is_visa() {
        // VIS numbering: byte 1 the length, byte 2 b8-b5 the cryptogram types
        let mut cvr = VisaCvr::empty();
        cvr.0[1] = types;
        let mut set = |on: bool, bit| {
            if on {
                cvr.set(bit);
            }
        };
        set(c.issuer_auth_failed, VisaCvr::ISSUER_AUTH_FAILED);
        set(c.pin_performed, VisaCvr::OFFLINE_PIN_PERFORMED);
        set(c.pin_failed, VisaCvr::OFFLINE_PIN_FAILED);
        set(c.unable_to_go_online, VisaCvr::UNABLE_TO_GO_ONLINE);
        set(
            c.last_online_not_completed,
            VisaCvr::LAST_ONLINE_NOT_COMPLETED,
        );
        set(c.pin_limit_exceeded, VisaCvr::PIN_TRY_LIMIT_EXCEEDED);
        set(
            c.lower_offline_exceeded || c.upper_offline_exceeded,
            VisaCvr::VELOCITY_EXCEEDED,
        );
        set(c.new_card, VisaCvr::NEW_CARD);
        set(c.issuer_auth_failed_last, VisaCvr::ISSUER_AUTH_FAILED_LAST);
        set(c.script_failed, VisaCvr::SCRIPT_FAILED);
        set(c.dda_performed, VisaCvr::DDA_PERFORMED);
        cvr.0[3] |= (c.script_commands.min(15)) << 4;
        if cvn == Cvn::Visa22 {
            return visa_format_2(cvn, dki, &cvr);
        }
        let mut v = vec![0x06, dki, cvn.iad_byte()];
        v.extend_from_slice(&cvr.0);
        v
    } else {
        let mut cvr = McCvr::new();
        cvr.0[0] = types;
        let mut set = |on: bool, bit| {
            if on {
                cvr.set(bit);
            }
        };
        set(c.pin_performed, McCvr::OFFLINE_PIN_PERFORMED);
        set(
            c.pin_performed && c.pin_enciphered,
            McCvr::OFFLINE_ENCRYPTED_PIN_PERFORMED,
        );
        set(c.pin_successful, McCvr::OFFLINE_PIN_SUCCESSFUL);
        set(c.issuer_auth_performed, McCvr::ISSUER_AUTH_PERFORMED);
        set(c.pin_changed, McCvr::OFFLINE_CHANGE_PIN_SUCCESSFUL);
        set(
            c.last_online_not_completed,
            McCvr::LAST_ONLINE_NOT_COMPLETED,
        );
        set(c.unable_to_go_online, McCvr::UNABLE_TO_GO_ONLINE);
        set(!c.pin_performed, McCvr::OFFLINE_PIN_NOT_PERFORMED);
        set(c.pin_failed, McCvr::OFFLINE_PIN_FAILED);
        set(c.pin_limit_exceeded, McCvr::PTL_EXCEEDED);
        set(c.lower_offline_exceeded, McCvr::LOWER_CONSECUTIVE_EXCEEDED);
        set(c.upper_offline_exceeded, McCvr::UPPER_CONSECUTIVE_EXCEEDED);
        set(c.go_online_next, McCvr::GO_ONLINE_NEXT);
        set(
            c.issuer_auth_failed || c.issuer_auth_failed_last,
            McCvr::ISSUER_AUTH_FAILED,
        );
        set(c.script_commands > 0, McCvr::SCRIPT_RECEIVED);
        set(c.script_failed, McCvr::SCRIPT_FAILED);
        cvr.0[2] = (c.script_commands.min(15) << 4) | (c.pin_try_counter & 0x0F);
        let mut v = vec![dki, cvn.iad_byte()];
        v.extend_from_slice(&cvr.0);
        // DAC/IDN, then the counters field (8 bytes: consecutive offline count first).
        v.extend_from_slice(&[0x00, 0x00]);
        v.extend_from_slice(&[c.consecutive_offline, 0, 0, 0, 0, 0, 0, 0]);
        v
    }
}

/// Visa IAD format 2 (32 bytes, see the module comment).
fn visa_format_2(cvn: Cvn, dki: u8, cvr: &VisaCvr) -> Vec<u8> {
    /// CVR byte 5 b1: secure messaging uses EMV session key derivation.
    const SM_EMV_SESSION_KEYS: u8 = 0x01;
    let mut v = vec![0x1F, cvn.iad_byte(), dki, 0x00];
    // the CVR's bytes 2-4 as VIS numbers them (cvr.0[0] is format 0's length byte); byte 2
    // b3 (CDCVM performed) and b2 (RFU) are not format 0's offline PIN bits
    v.push(cvr.0[1] & !(VisaCvr::OFFLINE_PIN_PERFORMED.mask | VisaCvr::OFFLINE_PIN_FAILED.mask));
    v.extend_from_slice(&cvr.0[2..]);
    v.push(SM_EMV_SESSION_KEYS);
    // Issuer Discretionary Data Option ID 00 (no IDD), then the IDD field, unused
    v.push(0x00);
    v.resize(32, 0x00);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use emv_tlv::bits::{Iad, IadFormat};

    #[test]
    fn layouts_are_recognised_by_the_decoder() {
        let c = CvrInputs {
            first: Some(AcType::Arqc),
            pin_performed: true,
            pin_failed: true,
            pin_limit_exceeded: true,
            pin_try_counter: 0,
            ..CvrInputs::default()
        };
        let v = iad(Cvn::Visa18, 1, &c);
        let d = Iad::detect(&v).unwrap();
        assert_eq!(d.format, IadFormat::Visa);
        assert_eq!(d.cvn(), 0x12);
        let cvr = VisaCvr::from_slice(d.cvr()).unwrap();
        assert!(cvr.is_set(VisaCvr::PIN_TRY_LIMIT_EXCEEDED));
        assert_eq!(cvr.0[..2], [0x03, 0xA0 | 0x04 | 0x02]);
        assert_eq!(Cvn::from_iad(&v).unwrap(), Cvn::Visa18);

        let m = iad(Cvn::Mc16, 1, &c);
        let d = Iad::detect(&m).unwrap();
        assert_eq!(d.format, IadFormat::Mastercard);
        let cvr = McCvr::from_slice(d.cvr()).unwrap();
        assert!(cvr.is_set(McCvr::PTL_EXCEEDED));
        assert_eq!(cvr.pin_try_counter(), 0);
        assert_eq!(Cvn::from_iad(&m).unwrap(), Cvn::Mc16);
        // CVN 22: IAD format 2 (32 bytes, 1F, CVN 22, DKI, 5-byte CVR, IDD option ID 00)
        let v = iad(Cvn::Visa22, 1, &c);
        assert_eq!(v.len(), 32);
        assert_eq!(&v[..3], [0x1F, 0x22, 0x01]);
        assert_eq!(v[8] & 0xF0, 0, "IDD option ID");
        assert_eq!(Cvn::from_iad(&v).unwrap(), Cvn::Visa22);
        let d = Iad::detect(&v).unwrap();
        assert_eq!(d.format, IadFormat::Visa2);
        assert_eq!(d.cvr(), [0x00, 0xA0, 0x40, 0x00, 0x01]);
    }
}
