//! The message authentication code of a link: ISO/IEC 9797-1 MAC algorithm 3 (padding
//! method 1, 8 bytes) under the link's double-length key, in DE 64, or in DE 128 when the
//! message has a secondary bitmap (ISO 8583:1987 §4.4: the MAC is the last field of the
//! last bitmap). The MAC input is the encoded message from the first byte of the MTI to the
//! last byte before the MAC field, with the MAC field's bit already set in the bitmap
//! (docs/iso8583.md §5); framing and TPDU are not part of it.

use emv_crypto::TdesKey;
use emv_crypto::block::Padding;
use emv_crypto::mac::{retail_mac, verify_mac_value};

use crate::Error;
use crate::message::Message;
use crate::spec::{Format, field};

/// The field the MAC of `msg` goes in: 128 if the message has any field 65–127, else 64.
pub fn mac_field(msg: &Message) -> u8 {
    match msg.fields().any(|(de, _)| (65..128).contains(&de)) {
        true => 128,
        false => 64,
    }
}

fn mac_wire_len(format: Format, de: u8) -> usize {
    field(de).map_or(0, |s| s.wire_max(format))
}

fn compute(key: &TdesKey, data: &[u8]) -> Result<[u8; 8], Error> {
    retail_mac(key, data, Padding::Method1).map_err(|e| Error::Key(e.to_string()))
}

/// Sets the MAC of `msg` (DE 64 or 128, any MAC already there replaced) and returns the
/// encoded message.
pub fn sign(msg: &mut Message, format: Format, key: &TdesKey) -> Result<Vec<u8>, Error> {
    msg.remove(64);
    msg.remove(128);
    let de = mac_field(msg);
    msg.set(de, vec![0u8; 8])?;
    let mut encoded = msg.encode(format)?;
    let body = encoded.len() - mac_wire_len(format, de);
    let mac = compute(key, &encoded[..body])?;
    msg.set(de, mac.to_vec())?;
    encoded.truncate(body);
    match format {
        Format::Binary => encoded.extend_from_slice(&mac),
        Format::Ascii => encoded.extend_from_slice(hex::encode_upper(mac).as_bytes()),
    }
    Ok(encoded)
}

/// Checks the MAC of a decoded message against its encoded bytes `raw` (the message only,
/// MTI to the end, as received).
pub fn verify(msg: &Message, raw: &[u8], format: Format, key: &TdesKey) -> Result<(), Error> {
    let (has64, has128) = (msg.has(64), msg.has(128));
    let de = match (has64, has128) {
        (false, false) => return Err(Error::MacMissing),
        (true, true) => return Err(Error::MacInvalid("both DE 64 and DE 128 present".into())),
        (true, false) if msg.has_secondary() => {
            return Err(Error::MacInvalid(
                "DE 64 with a secondary bitmap: the MAC belongs in DE 128".into(),
            ));
        }
        (true, false) => 64,
        (false, true) => 128,
    };
    let received = msg.get(de).unwrap_or_default();
    let body = raw
        .len()
        .checked_sub(mac_wire_len(format, de))
        .ok_or_else(|| Error::MacInvalid("message shorter than its MAC".into()))?;
    let computed = compute(key, &raw[..body])?;
    // the whole 8 bytes, compared in constant time (ISO/IEC 9797-1 §5: m = 64)
    if received.len() != computed.len() {
        return Err(Error::MacInvalid(format!(
            "{} bytes in DE {de}",
            received.len()
        )));
    }
    verify_mac_value(received, &computed, "ISO 8583 MAC")
        .map_err(|_| Error::MacInvalid(format!("DE {de} does not match")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Mti;

    fn key() -> TdesKey {
        TdesKey::from_hex("4F1E8A3BC2D70695E1A0B7C48D2F3961").unwrap()
    }

    #[test]
    fn sign_then_verify_in_both_layouts_and_fields() {
        for format in [Format::Ascii, Format::Binary] {
            for secondary in [false, true] {
                let mut m = Message::new(Mti::from_number(800).unwrap());
                m.set(11, "000001").unwrap();
                if secondary {
                    m.set(70, "301").unwrap();
                }
                let raw = sign(&mut m, format, &key()).unwrap();
                assert!(m.has(if secondary { 128 } else { 64 }));
                let decoded = Message::decode(format, &raw).unwrap();
                assert_eq!(decoded, m);
                verify(&decoded, &raw, format, &key()).unwrap();
                // one flipped bit in the body fails
                let mut bad = raw.clone();
                bad[5] ^= 0x01;
                if let Ok(d) = Message::decode(format, &bad) {
                    assert!(verify(&d, &bad, format, &key()).is_err());
                }
                // no MAC at all
                let mut bare = m.clone();
                bare.remove(64);
                bare.remove(128);
                let raw = bare.encode(format).unwrap();
                assert_eq!(verify(&bare, &raw, format, &key()), Err(Error::MacMissing));
            }
        }
    }
}
