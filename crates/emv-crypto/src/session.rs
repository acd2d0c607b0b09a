//! Session key derivation from an ICC master key.
//!
//! * EMV common session key (EMV 4.4 Book 2 A1.3.1): with an 8-byte diversification value
//!   `R`, `SK = TDES(MK)[R0 R1 F0 R3…R7] ‖ TDES(MK)[R0 R1 0F R3…R7]`, odd parity.
//!   `R = ATC ‖ 00…00` for AC/ARPC keys; `R = ARQC` for secure-messaging keys.
//! * Mastercard proprietary SKD (M/Chip 4 CVN 16/17, Interac CVN 133): the same function
//!   with `R = ATC ‖ 00 00 ‖ UN`.
//! * EMV2000 tree (EMV 4.1 Book 2 A1.3, superseded by A1.3.1 in 2005): branch factor 4,
//!   height 8, IV zero by default.
//! * Visa secure messaging (VIS 1.5, CVN 10/18): `SK_L = MK_L ⊕ (00×6 ‖ ATC)`,
//!   `SK_R = MK_R ⊕ (00×6 ‖ (ATC ⊕ FFFF))`, odd parity.

use core::fmt;

use zeroize::Zeroizing;

use crate::CryptoError;
use crate::block::{RawBlockCipher, set_odd_parity};
use crate::keys::TdesKey;

/// Session key method, as the CLI names it (`session-key common|mastercard|emv2000|visa-sm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(ascii_case_insensitive, parse_err_ty = CryptoError, parse_err_fn = method_error)]
pub enum SessionKeyMethod {
    /// EMV common session key, `R` given (or `ATC ‖ 00×6`).
    #[strum(to_string = "common", serialize = "csk", serialize = "emv")]
    Common,
    /// Mastercard SKD, `R = ATC ‖ 0000 ‖ UN`.
    #[strum(
        to_string = "mastercard",
        serialize = "mc",
        serialize = "skd",
        serialize = "mc-skd"
    )]
    Mastercard,
    /// EMV2000 tree (b = 4, h = 8, IV 0).
    #[strum(to_string = "emv2000", serialize = "emv2000-tree", serialize = "tree")]
    Emv2000,
    /// Visa secure-messaging key (XOR of the ATC into the master key).
    #[strum(to_string = "visa-sm", serialize = "visa", serialize = "visa_sm")]
    VisaSm,
}

fn method_error(got: &str) -> CryptoError {
    CryptoError::InvalidInput {
        what: "session key method",
        reason: format!("expected common, mastercard, emv2000 or visa-sm, got {got:?}"),
    }
}

impl fmt::Display for SessionKeyMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.into())
    }
}

fn require_double(mk: &TdesKey, what: &'static str) -> Result<(), CryptoError> {
    if mk.byte_len() != 16 {
        return Err(CryptoError::KeyLength {
            algorithm: what,
            expected: "16 bytes (double-length ICC master key)",
            got: mk.byte_len(),
        });
    }
    Ok(())
}

/// EMV common session key (EMV 4.4 Book 2 A1.3.1) for a double-length master key.
pub fn common_session_key(mk: &TdesKey, r: &[u8; 8]) -> Result<TdesKey, CryptoError> {
    require_double(mk, "EMV common session key derivation")?;
    let c = mk.cipher();
    let mut a = *r;
    a[2] = 0xF0;
    let mut b = *r;
    b[2] = 0x0F;
    c.encrypt(&mut a);
    c.encrypt(&mut b);
    let mut sk = Zeroizing::new([0u8; 16]);
    sk[..8].copy_from_slice(&a);
    sk[8..].copy_from_slice(&b);
    set_odd_parity(&mut sk[..]);
    TdesKey::new(&sk[..])
}

/// `R = ATC ‖ 00 00 00 00 00 00`, the AC/ARPC diversification value (A1.3.1).
pub fn r_from_atc(atc: u16) -> [u8; 8] {
    let [h, l] = atc.to_be_bytes();
    [h, l, 0, 0, 0, 0, 0, 0]
}

/// `R = ATC ‖ 00 00 ‖ UN`, the Mastercard SKD diversification value.
pub fn r_mastercard(atc: u16, un: &[u8; 4]) -> [u8; 8] {
    let [h, l] = atc.to_be_bytes();
    [h, l, 0, 0, un[0], un[1], un[2], un[3]]
}

/// EMV common session key for application cryptograms: `R = ATC ‖ 00×6`.
pub fn common_session_key_atc(mk: &TdesKey, atc: u16) -> Result<TdesKey, CryptoError> {
    common_session_key(mk, &r_from_atc(atc))
}

/// Mastercard proprietary session key (SKD): CSK function with `R = ATC ‖ 0000 ‖ UN`.
pub fn mastercard_session_key(
    mk: &TdesKey,
    atc: u16,
    un: &[u8; 4],
) -> Result<TdesKey, CryptoError> {
    common_session_key(mk, &r_mastercard(atc, un))
}

/// Secure-messaging session key with `R` = the application cryptogram (EMV 4.4 Book 2
/// A1.3.1, "for secure messaging R is the AC"; M/Chip CVN 16–21, Visa CVN 22).
pub fn script_session_key(mk_sm: &TdesKey, arqc: &[u8; 8]) -> Result<TdesKey, CryptoError> {
    common_session_key(mk_sm, arqc)
}

/// Visa secure-messaging session key: `SK_L = MK_L ⊕ (00×6 ‖ ATC)`,
/// `SK_R = MK_R ⊕ (00×6 ‖ ATC ⊕ FFFF)`, then odd parity (VIS 1.5 Appendix; pyemv
/// `derive_visa_sm_sk`).
pub fn visa_sm_session_key(mk: &TdesKey, atc: u16) -> Result<TdesKey, CryptoError> {
    require_double(mk, "Visa secure-messaging key derivation")?;
    let mut sk = Zeroizing::new([0u8; 16]);
    sk.copy_from_slice(mk.as_bytes());
    let [h, l] = atc.to_be_bytes();
    sk[6] ^= h;
    sk[7] ^= l;
    sk[14] ^= !h;
    sk[15] ^= !l;
    set_odd_parity(&mut sk[..]);
    TdesKey::new(&sk[..])
}

/// EMV2000 tree function F (EMV 4.1 Book 2 A1.3.1):
/// `F(X, Y, j) = TDES(X)[Y_L ⊕ j] ‖ TDES(X)[Y_R ⊕ j ⊕ 'F0']`, j as an 8-byte integer.
fn tree_f(x: &[u8; 16], y: &[u8; 16], j: u64) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    let k = TdesKey::new(x)?;
    let c = k.cipher();
    let jb = j.to_be_bytes();
    let mut l = [0u8; 8];
    let mut r = [0u8; 8];
    for i in 0..8 {
        l[i] = y[i] ^ jb[i];
        r[i] = y[8 + i] ^ jb[i];
    }
    r[7] ^= 0xF0;
    c.encrypt(&mut l);
    c.encrypt(&mut r);
    let mut out = Zeroizing::new([0u8; 16]);
    out[..8].copy_from_slice(&l);
    out[8..].copy_from_slice(&r);
    Ok(out)
}

/// Tree node G(IK, IV, j, i) (EMV 4.1 Book 2 A1.3.1): G(…, j, 0) = IK,
/// G(…, j, −1) = IV, G(…, j, i) = F(G(…, j div b, i−1), G(…, j div b², i−2), j mod b).
fn tree_g(
    ik: &[u8; 16],
    iv: &[u8; 16],
    j: u64,
    i: i32,
    b: u64,
) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    match i {
        i if i < 0 => Ok(Zeroizing::new(*iv)),
        0 => Ok(Zeroizing::new(*ik)),
        _ => {
            let parent = tree_g(ik, iv, j / b, i - 1, b)?;
            let grand = tree_g(ik, iv, j / (b * b), i - 2, b)?;
            tree_f(&parent, &grand, j % b)
        }
    }
}

/// EMV2000 tree session key with explicit parameters: `SK = G(MK, IV, ATC, H) ⊕
/// G(MK, IV, ATC div b², H−2)`, odd parity (EMV 4.1 Book 2 A1.3.1). `b^H` must exceed
/// every ATC (b = 2, 4 or 16 in EMV 4.1; `height` ≥ 2).
pub fn emv2000_session_key_with(
    mk: &TdesKey,
    atc: u16,
    branch_factor: u8,
    height: u8,
    iv: &[u8; 16],
) -> Result<TdesKey, CryptoError> {
    require_double(mk, "EMV2000 tree session key derivation")?;
    if !matches!(branch_factor, 2 | 4 | 16) || !(2..=16).contains(&height) {
        return Err(CryptoError::InvalidInput {
            what: "EMV2000 tree parameters",
            reason: format!(
                "branch factor must be 2, 4 or 16 and height 2–16, got b={branch_factor} h={height}"
            ),
        });
    }
    let b = u64::from(branch_factor);
    if b.checked_pow(u32::from(height))
        .is_none_or(|cap| u64::from(atc) >= cap)
    {
        return Err(CryptoError::InvalidInput {
            what: "EMV2000 tree parameters",
            reason: format!("ATC {atc:04X} does not fit a tree with b={b}, h={height}"),
        });
    }
    let ik: [u8; 16] = crate::util::array("master key", mk.as_bytes())?;
    let ik = Zeroizing::new(ik);
    let h = i32::from(height);
    let leaf = tree_g(&ik, iv, u64::from(atc), h, b)?;
    let grand = tree_g(&ik, iv, u64::from(atc) / (b * b), h - 2, b)?;
    let mut sk = Zeroizing::new([0u8; 16]);
    for i in 0..16 {
        sk[i] = leaf[i] ^ grand[i];
    }
    set_odd_parity(&mut sk[..]);
    TdesKey::new(&sk[..])
}

/// EMV2000 tree session key with the EMV 4.1 default parameters b = 4, H = 8, IV = 0.
pub fn emv2000_session_key(mk: &TdesKey, atc: u16) -> Result<TdesKey, CryptoError> {
    emv2000_session_key_with(mk, atc, 4, 8, &[0; 16])
}

/// The CLI's `session-key`: derive a session key by `method`.
///
/// * `Common`: `r` if given, else `R = ATC ‖ 00×6` (needs `atc`).
/// * `Mastercard`: needs `atc` and `un`.
/// * `Emv2000`, `VisaSm`: need `atc`.
pub fn derive_session_key(
    method: SessionKeyMethod,
    mk: &TdesKey,
    atc: Option<u16>,
    un: Option<&[u8; 4]>,
    r: Option<&[u8; 8]>,
) -> Result<TdesKey, CryptoError> {
    let need_atc = || {
        atc.ok_or(CryptoError::InvalidInput {
            what: "ATC",
            reason: format!("session key method {method} needs the ATC"),
        })
    };
    match method {
        SessionKeyMethod::Common => match r {
            Some(r) => common_session_key(mk, r),
            None => common_session_key_atc(mk, need_atc()?),
        },
        SessionKeyMethod::Mastercard => {
            let un = un.ok_or(CryptoError::InvalidInput {
                what: "unpredictable number",
                reason: "session key method mastercard needs the UN (9F37, 4 bytes)".into(),
            })?;
            mastercard_session_key(mk, need_atc()?, un)
        }
        SessionKeyMethod::Emv2000 => emv2000_session_key(mk, need_atc()?),
        SessionKeyMethod::VisaSm => visa_sm_session_key(mk, need_atc()?),
    }
}

/// The 8-byte value `ac + n` (big-endian, wrapping): the M/Chip rule that the AC used for
/// script session keys and MAC input "is incremented by 1 for each script command after
/// the first" (pyemv MasterCardCVN16..21 docstrings; docs/emv.md §5.5).
pub fn increment_ac(ac: &[u8; 8], n: u64) -> [u8; 8] {
    u64::from_be_bytes(*ac).wrapping_add(n).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn k(h: &str) -> TdesKey {
        TdesKey::from_hex(h).unwrap()
    }

    /// docs/test-vectors.md §5 (pyemv doctests).
    #[test]
    fn emv_reference_vectors() {
        let mk = k("0123456789ABCDEFFEDCBA9876543210");
        assert_eq!(
            common_session_key(&mk, &hex!("001C000000000000"))
                .unwrap()
                .as_bytes(),
            hex!("E9FB384AF807B940FEDCEA613461B0C4")
        );
        assert_eq!(
            common_session_key_atc(&mk, 0x001C).unwrap().as_bytes(),
            hex!("E9FB384AF807B940FEDCEA613461B0C4")
        );
        assert_eq!(
            visa_sm_session_key(&mk, 0x001C).unwrap().as_bytes(),
            hex!("0123456789ABCDF2FEDCBA987654CDF2")
        );
        assert_eq!(
            emv2000_session_key(&mk, 0x001C).unwrap().as_bytes(),
            hex!("E5BF6D1067F194B0A89B7F5D83BC64A2")
        );
        // docs/test-vectors.md §4 bench set: MK-AC 73C4…, ATC 0012 → SK CB5B…
        let mc = k("73C4677545D991E986074A16BFBACD75");
        assert_eq!(
            common_session_key_atc(&mc, 0x0012).unwrap().as_bytes(),
            hex!("CB5BD98F5B85163E29CD58CE7661F85D")
        );
    }

    /// pyemv V03.
    #[test]
    fn pyemv_v03() {
        let mk = k("5183894598EAD6D00402D6CD9B0E2FFE");
        assert_eq!(r_from_atc(1), hex!("0001000000000000"));
        let csk = common_session_key_atc(&mk, 1).unwrap();
        assert_eq!(csk.as_bytes(), hex!("61AE372A0B94610B1C6458086494B35D"));
        assert_eq!(csk.left().as_bytes(), &hex!("61AE372A0B94610B"));
        assert_eq!(r_mastercard(1, &hex!("12345678")), hex!("0001000012345678"));
        assert_eq!(
            mastercard_session_key(&mk, 1, &hex!("12345678"))
                .unwrap()
                .as_bytes(),
            hex!("2CB6C7F4C13BC4164961D0F89BD68CE9")
        );
        let smi = k("FBFD293264F1D001AE7C76BA6715292F");
        assert_eq!(
            visa_sm_session_key(&smi, 1).unwrap().as_bytes(),
            hex!("FBFD293264F1D001AE7C76BA6715D6D0")
        );
        assert_eq!(
            emv2000_session_key(&mk, 1).unwrap().as_bytes(),
            hex!("BF20A1A43D8558D9F7073BBA3DB98552")
        );
    }

    /// pyemv V07/V08: script keys with R = ARQC.
    #[test]
    fn pyemv_script_keys() {
        let arqc = hex!("B63A56E0E044C045");
        let smi = k("FBFD293264F1D001AE7C76BA6715292F");
        assert_eq!(
            script_session_key(&smi, &arqc).unwrap().as_bytes(),
            hex!("EFFB374CD9899D327F51A8F294D698B5")
        );
        let smc = k("25C41094CB08151392A292D0E0EC083B");
        assert_eq!(
            script_session_key(&smc, &arqc).unwrap().as_bytes(),
            hex!("62C1CD8A46A1834FDFCDF2C2C41CF17A")
        );
        // docs/test-vectors.md §4 bench set: IMK-SMI 1111…2222 → SK-SMI(R=ARQC)
        let imk_smi = k("11111111111111112222222222222222");
        let mk_smi =
            crate::kdf::derive_icc_mk_option_a(&imk_smi, "5413330089020011", Some("01")).unwrap();
        assert_eq!(
            script_session_key(&mk_smi, &hex!("0168F0A07A03AC68"))
                .unwrap()
                .as_bytes(),
            hex!("DF01F2E3AB85AD7F927C7AD6DC6D1525")
        );
    }

    #[test]
    fn cli_dispatch_and_errors() {
        let mk = k("0123456789ABCDEFFEDCBA9876543210");
        let a = derive_session_key(SessionKeyMethod::Common, &mk, Some(0x1C), None, None).unwrap();
        let b = derive_session_key(
            SessionKeyMethod::Common,
            &mk,
            None,
            None,
            Some(&hex!("001C000000000000")),
        )
        .unwrap();
        assert_eq!(a, b);
        assert!(
            derive_session_key(SessionKeyMethod::Mastercard, &mk, Some(1), None, None).is_err()
        );
        assert!(derive_session_key(SessionKeyMethod::VisaSm, &mk, None, None, None).is_err());
        let mk3 = k("0123456789ABCDEFFEDCBA98765432100123456789ABCDEF");
        assert!(matches!(
            common_session_key_atc(&mk3, 1),
            Err(CryptoError::KeyLength { got: 24, .. })
        ));
        assert!(emv2000_session_key_with(&mk, 0xFFFF, 2, 8, &[0; 16]).is_err());
        assert_eq!(
            "visa-sm".parse::<SessionKeyMethod>().unwrap(),
            SessionKeyMethod::VisaSm
        );
        assert!("x".parse::<SessionKeyMethod>().is_err());
    }

    #[test]
    fn ac_increment() {
        assert_eq!(
            increment_ac(&hex!("12345678123456FF"), 1),
            hex!("1234567812345700")
        );
        assert_eq!(
            increment_ac(&hex!("FFFFFFFFFFFFFFFF"), 1),
            hex!("0000000000000000")
        );
    }
}
