//! TR-31 key blocks (ANSI X9.143 / ASC X9 TR 31-2018), key-derivation binding versions
//! **B** (TDES) and **D** (AES): how the host imports IMKs and PIN keys.
//!
//! * Derivation (TR-31:2018 §5.3.2.1 / §5.3.2.3): `KBEK`/`KBAK` = CMAC(KBPK) over
//!   `counter ‖ usage (0000 enc, 0001 MAC) ‖ 00 ‖ algorithm ‖ length in bits`, one CMAC
//!   block per counter value (algorithm 0000 = 2TDEA, 0001 = 3TDEA, 0002/3/4 = AES-128/192/256).
//! * Payload: `key length in bits (2 bytes) ‖ key ‖ pad`, where the pad masks the key
//!   length up to the longest key of the algorithm (24 bytes TDES, 32 AES) and fills to
//!   the block size (psec's default).
//! * MAC: CMAC(KBAK) over `header (ASCII) ‖ clear payload` (8 bytes B, 16 bytes D).
//! * Encipherment: CBC(KBEK) with IV = the MAC.
//!
//! Versions A and C (variant binding) are refused: they are deprecated by TR-31:2018.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::block::{self, Aes, Tdes};
use crate::keys::{AesKey, TdesKey};
use crate::mac::{aes_cmac, tdes_cmac};
use crate::util;

/// A parsed TR-31 key block header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tr31Header {
    /// The whole header as it appears in the key block (incl. optional blocks).
    pub raw: String,
    /// Version ID (`B` or `D`).
    pub version: char,
    /// Key usage, e.g. `P0` (PIN encryption), `E0` (EMV issuer master key AC).
    pub key_usage: String,
    /// Algorithm: `T` (TDES), `A` (AES), …
    pub algorithm: char,
    /// Mode of use, e.g. `E`, `D`, `B`, `X`.
    pub mode_of_use: char,
    /// Key version number (2 characters).
    pub key_version: String,
    /// Exportability: `E`, `N` or `S`.
    pub exportability: char,
    /// Optional blocks as (ID, data) pairs, in order.
    pub optional_blocks: Vec<(String, String)>,
}

fn kb_err(reason: impl Into<String>) -> CryptoError {
    CryptoError::KeyBlock(reason.into())
}

/// Parses the header at the start of `s` (fixed 16 characters plus optional blocks) and
/// returns it with its length in characters.
pub fn parse_header(s: &str) -> Result<(Tr31Header, usize), CryptoError> {
    if !s.is_ascii() {
        return Err(kb_err("key block must be ASCII"));
    }
    let b = s.as_bytes();
    if b.len() < 16 {
        return Err(kb_err(format!(
            "header is 16 characters at least, got {}",
            b.len()
        )));
    }
    let field = |r: core::ops::Range<usize>| s.get(r).unwrap_or_default().to_string();
    let nblocks: usize = field(12..14).parse().map_err(|_| {
        kb_err(format!(
            "number of optional blocks {:?} is not 2 digits",
            field(12..14)
        ))
    })?;
    let mut pos = 16;
    let mut optional_blocks = Vec::with_capacity(nblocks);
    for _ in 0..nblocks {
        let id = s
            .get(pos..pos + 2)
            .ok_or_else(|| kb_err("optional block ID is truncated"))?;
        let len_hex = s
            .get(pos + 2..pos + 4)
            .ok_or_else(|| kb_err("optional block length is truncated"))?;
        let mut len = usize::from_str_radix(len_hex, 16)
            .map_err(|_| kb_err(format!("optional block {id} length {len_hex:?} is not hex")))?;
        let mut data_start = pos + 4;
        if len == 0 {
            // extended length: 2 hex digits giving the length of the length, then the length
            let ll_hex = s
                .get(pos + 4..pos + 6)
                .ok_or_else(|| kb_err("extended length is truncated"))?;
            let ll = usize::from_str_radix(ll_hex, 16)
                .map_err(|_| kb_err("extended length-of-length is not hex"))?;
            let l_hex = s
                .get(pos + 6..pos + 6 + ll)
                .ok_or_else(|| kb_err("extended length is truncated"))?;
            len = usize::from_str_radix(l_hex, 16)
                .map_err(|_| kb_err("extended length is not hex"))?;
            data_start = pos + 6 + ll;
        }
        if len < data_start - pos {
            return Err(kb_err(format!(
                "optional block {id} length does not cover its ID and length"
            )));
        }
        let end = pos
            .checked_add(len)
            .ok_or_else(|| kb_err(format!("optional block {id} length overflows")))?;
        let data = s
            .get(data_start..end)
            .ok_or_else(|| kb_err(format!("optional block {id} is truncated")))?;
        optional_blocks.push((id.to_string(), data.to_string()));
        pos = end;
    }
    let c = |i: usize| char::from(b[i]);
    Ok((
        Tr31Header {
            raw: s[..pos].to_string(),
            version: c(0),
            key_usage: field(5..7),
            algorithm: c(7),
            mode_of_use: c(8),
            key_version: field(9..11),
            exportability: c(11),
            optional_blocks,
        },
        pos,
    ))
}

enum Binding {
    B(TdesKey, TdesKey),
    D(AesKey, AesKey),
}

impl Binding {
    fn derive(version: char, kbpk: &[u8]) -> Result<Self, CryptoError> {
        // derivation data: counter ‖ usage ‖ 00 ‖ algorithm ‖ length (TR-31:2018 Table 1)
        let dd = |counter: u8, usage: u8, alg: u8, bits: u16| {
            let [l1, l2] = bits.to_be_bytes();
            [counter, 0, usage, 0, 0, alg, l1, l2]
        };
        match version {
            'B' => {
                let k = TdesKey::new(kbpk)?;
                let (alg, bits) = if kbpk.len() == 16 { (0, 128) } else { (1, 192) };
                let mut enc = Zeroizing::new(Vec::new());
                let mut mac = Zeroizing::new(Vec::new());
                for i in 1..=u8::try_from(kbpk.len() / 8).unwrap_or(0) {
                    enc.extend_from_slice(&tdes_cmac(&k, &dd(i, 0, alg, bits)));
                    mac.extend_from_slice(&tdes_cmac(&k, &dd(i, 1, alg, bits)));
                }
                Ok(Self::B(TdesKey::new(&enc)?, TdesKey::new(&mac)?))
            }
            'D' => {
                let k = AesKey::new(kbpk)?;
                let (alg, bits) = match kbpk.len() {
                    16 => (2, 128),
                    24 => (3, 192),
                    _ => (4, 256),
                };
                let mut enc = Zeroizing::new(Vec::new());
                let mut mac = Zeroizing::new(Vec::new());
                for i in 1..=u8::try_from(kbpk.len().div_ceil(16)).unwrap_or(0) {
                    let mut d = [0u8; 8];
                    d.copy_from_slice(&dd(i, 0, alg, bits));
                    enc.extend_from_slice(&aes_cmac(&k, &d));
                    d[2] = 1;
                    mac.extend_from_slice(&aes_cmac(&k, &d));
                }
                enc.truncate(kbpk.len());
                mac.truncate(kbpk.len());
                Ok(Self::D(AesKey::new(&enc)?, AesKey::new(&mac)?))
            }
            other => Err(kb_err(format!(
                "version {other:?} is not supported (B = TDES and D = AES key derivation binding are)"
            ))),
        }
    }

    fn block(&self) -> usize {
        match self {
            Self::B(..) => 8,
            Self::D(..) => 16,
        }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::B(_, kbak) => tdes_cmac(kbak, data).to_vec(),
            Self::D(_, kbak) => aes_cmac(kbak, data).to_vec(),
        }
    }

    fn encrypt(&self, iv: &[u8], data: &mut [u8]) {
        match self {
            Self::B(kbek, _) => {
                let mut ivb = [0u8; 8];
                ivb.copy_from_slice(&iv[..8]);
                block::cbc_encrypt_in_place(&Tdes::new(kbek.as_bytes()), &ivb, data);
            }
            Self::D(kbek, _) => {
                let mut ivb = [0u8; 16];
                ivb.copy_from_slice(&iv[..16]);
                block::cbc_encrypt_in_place(&Aes::new(kbek.as_bytes()), &ivb, data);
            }
        }
    }

    fn decrypt(&self, iv: &[u8], data: &mut [u8]) {
        match self {
            Self::B(kbek, _) => {
                let mut ivb = [0u8; 8];
                ivb.copy_from_slice(&iv[..8]);
                block::cbc_decrypt_in_place(&Tdes::new(kbek.as_bytes()), &ivb, data);
            }
            Self::D(kbek, _) => {
                let mut ivb = [0u8; 16];
                ivb.copy_from_slice(&iv[..16]);
                block::cbc_decrypt_in_place(&Aes::new(kbek.as_bytes()), &ivb, data);
            }
        }
    }
}

/// Length of the pad for a key of `key_len` bytes under `algorithm`: masks the key to the
/// longest key of the algorithm (24 for TDES, 32 for AES) and fills to `block`.
fn pad_len(algorithm: char, key_len: usize, block: usize) -> usize {
    let masked = match algorithm {
        'T' => 24,
        'A' => 32,
        _ => key_len,
    }
    .max(key_len);
    (2 + masked).div_ceil(block) * block - 2 - key_len
}

/// Wraps `key` under `kbpk` with `header` (its 4-digit length field is recomputed).
/// `pad` fixes the pad bytes (tests); `None` draws them from the OS RNG.
pub fn wrap(
    kbpk: &[u8],
    header: &str,
    key: &[u8],
    pad: Option<&[u8]>,
) -> Result<String, CryptoError> {
    let (h, hlen) = parse_header(header)?;
    if hlen != header.len() {
        return Err(kb_err(
            "header has trailing characters after its optional blocks",
        ));
    }
    let binding = Binding::derive(h.version, kbpk)?;
    let bs = binding.block();
    let n = pad_len(h.algorithm, key.len(), bs);
    let pad = match pad {
        Some(p) if p.len() == n => Zeroizing::new(p.to_vec()),
        Some(p) => {
            return Err(kb_err(format!(
                "pad must be {n} bytes for this key, got {}",
                p.len()
            )));
        }
        None => {
            let mut p = Zeroizing::new(vec![0u8; n]);
            getrandom::fill(&mut p)
                .map_err(|e| kb_err(format!("operating system RNG failed: {e}")))?;
            p
        }
    };
    let bits = u16::try_from(key.len() * 8).map_err(|_| kb_err("key too long"))?;
    let mut payload = Zeroizing::new(bits.to_be_bytes().to_vec());
    payload.extend_from_slice(key);
    payload.extend_from_slice(&pad);
    let total = hlen + payload.len() * 2 + bs * 2;
    if total > 9999 {
        return Err(kb_err(format!(
            "key block of {total} characters exceeds 9999"
        )));
    }
    let header = format!("{}{total:04}{}", &header[..1], &header[5..]);
    let mut mac_input = header.as_bytes().to_vec();
    mac_input.extend_from_slice(&payload);
    let mac = binding.mac(&mac_input);
    mac_input.iter_mut().for_each(|b| *b = 0);
    let mut enc = payload.to_vec();
    binding.encrypt(&mac, &mut enc);
    Ok(format!(
        "{header}{}{}",
        util::to_hex(&enc),
        util::to_hex(&mac)
    ))
}

/// Unwraps a key block: checks the length field, deciphers, authenticates the MAC in
/// constant time (a bad MAC is `VerificationFailed`) and returns the header and key.
pub fn unwrap(
    kbpk: &[u8],
    key_block: &str,
) -> Result<(Tr31Header, Zeroizing<Vec<u8>>), CryptoError> {
    let (h, hlen) = parse_header(key_block)?;
    let declared: usize = key_block
        .get(1..5)
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| kb_err("length field is not 4 digits"))?;
    if declared != key_block.len() {
        return Err(kb_err(format!(
            "length field says {declared} characters, block has {}",
            key_block.len()
        )));
    }
    let binding = Binding::derive(h.version, kbpk)?;
    let bs = binding.block();
    let body = util::from_hex("TR-31 key block", &key_block[hlen..])?;
    if body.len() < bs * 2 || (body.len() - bs) % bs != 0 {
        return Err(kb_err("encrypted payload is not whole blocks"));
    }
    let (enc, mac) = body.split_at(body.len() - bs);
    let mut payload = Zeroizing::new(enc.to_vec());
    binding.decrypt(mac, &mut payload);
    let mut mac_input = Zeroizing::new(key_block.as_bytes()[..hlen].to_vec());
    mac_input.extend_from_slice(&payload);
    let expected = binding.mac(&mac_input);
    if !bool::from(expected.ct_eq(mac)) {
        return Err(CryptoError::VerificationFailed("TR-31 key block MAC"));
    }
    let bits = usize::from(u16::from_be_bytes([payload[0], payload[1]]));
    if bits % 8 != 0 || 2 + bits / 8 > payload.len() {
        return Err(kb_err("key length field is inconsistent with the payload"));
    }
    Ok((h, Zeroizing::new(payload[2..2 + bits / 8].to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn counting_pad(n: usize) -> Vec<u8> {
        (0..n).map(|i| i as u8).collect()
    }

    /// psec P11 (pad bytes 00 01 02 …) and the psec tr31.unwrap doctest.
    #[test]
    fn psec_p11() {
        let kbpk_b = hex!("89ABCDEF0123456776543210FEDCBA98");
        let pek = hex!("0123456789ABCDEFFEDCBA9876543210");
        let kb = wrap(&kbpk_b, "B0000P0TE00N0000", &pek, Some(&counting_pad(14))).unwrap();
        assert_eq!(
            kb,
            "B0096P0TE00N0000D47DE314F98406715D9873F1F60395246C730340911D9E25BBA974E8F2158614F05DB42CC1E60C0C"
        );
        let (h, key) = unwrap(&kbpk_b, &kb).unwrap();
        assert_eq!(&key[..], &pek);
        assert_eq!(
            (h.key_usage.as_str(), h.algorithm, h.mode_of_use),
            ("P0", 'T', 'E')
        );

        let kbpk_d = hex!("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
        let aes = hex!("00112233445566778899AABBCCDDEEFF");
        let kb = wrap(&kbpk_d, "D0000P0AE00N0000", &aes, Some(&counting_pad(30))).unwrap();
        assert_eq!(
            kb,
            "D0144P0AE00N0000CC3EC350471ADEA0BE96AC0D4B4F3C9526F9569A3AFED36D21FEE8F77624F3FD971FA3EB44BE820D44801469D4A4A245D63981AAA8E4B4A13D9A0435C69F001C"
        );
        assert_eq!(&unwrap(&kbpk_d, &kb).unwrap().1[..], &aes);

        let kb = wrap(&kbpk_b, "B0000E0TE00N0000", &pek, Some(&counting_pad(14))).unwrap();
        assert_eq!(
            kb,
            "B0096E0TE00N0000D5638CBC80F176ADEAA7A918306B453A320C9543165EB81EBE2FCEABBE58CAA9DDCC6AF962F06F04"
        );
        assert_eq!(&unwrap(&kbpk_b, &kb).unwrap().1[..], &pek);

        let (_, doc) = unwrap(
            &[0xAB; 16],
            "B0096P0TE00N0000471D4FBE35E5865BDE20DBF4C15503161F55D681170BF8DD14D01B6822EF8550CB67C569DE8AC048",
        )
        .unwrap();
        assert_eq!(&doc[..], &[0xCD; 16]);
    }

    /// psec module doc: ASCII KBPK "FFFFFFFFEEEEEEEE" and an optional block.
    #[test]
    fn psec_module_doc() {
        let (_, k) = unwrap(
            b"FFFFFFFFEEEEEEEE",
            "B0096P0TE00N0000A800A7D1A4C0C1BE762177E1CC59D84844EB67C9F6432B2CA34187AE2E0385EBEE2231697BC5DAE8",
        )
        .unwrap();
        assert_eq!(&k[..], b"CCCCCCCCDDDDDDDD");
        let (h, k) = unwrap(
            b"FFFFFFFFEEEEEEEE",
            "B0120P0TE00N0200TT0EHelloWorldPB0A0000008FE0CA0F00BAA9A1E3695A6C051FAB695FCE07E289BC0151D096909BB87670F63238670402E90A37",
        )
        .unwrap();
        assert_eq!(&k[..], b"CCCCCCCCDDDDDDDD");
        assert_eq!(
            h.optional_blocks[0],
            ("TT".to_string(), "HelloWorld".to_string())
        );
    }

    #[test]
    fn tampering_and_errors() {
        let kbpk = hex!("89ABCDEF0123456776543210FEDCBA98");
        let kb = wrap(&kbpk, "B0000P0TE00N0000", &[0x11; 16], None).unwrap();
        assert!(unwrap(&kbpk, &kb).is_ok());
        // header byte changed → MAC fails
        let tampered = kb.replacen("P0TE", "P0TD", 1);
        assert_eq!(
            unwrap(&kbpk, &tampered).unwrap_err(),
            CryptoError::VerificationFailed("TR-31 key block MAC")
        );
        assert!(unwrap(&kbpk, &kb[..kb.len() - 2]).is_err());
        assert!(unwrap(&[0x22; 16], &kb).is_err());
        assert!(wrap(&kbpk, "A0000P0TE00N0000", &[0x11; 16], None).is_err());
        assert!(wrap(&kbpk, "B0000P0TE00N0000", &[0x11; 16], Some(&[0; 3])).is_err());
    }
}
