//! Enciphered offline PIN tests, including the O01/O02 reference vectors
//! (docs/test-vectors.md §3).

use hex_literal::hex;
use proptest::prelude::*;

use super::*;
use crate::oda::test_keys::{ICC_768_E3, ICC_896_E65537, ICC_1024_E3};

/// O01 key: 1024 bits, e = 3, given as n and d only.
const O01_N: [u8; 128] = hex!(
    "BA1D2CC24705E323348B15EE12180984F0916FBE90518F189705569835F8EE3AF303B3A55C176BC6F6158DF8B287EC884F33FCD1A7AEC0186D0A2D3C84CF174078A2EBC7C4E61C8387027777EA1D3FD3162A664753AEE081B52C6CA35600B506B124DB0178479A4302CADB0ACF59B23997DF9C5641558DDD37F625DD74C09953"
);
const O01_D: [u8; 128] = hex!(
    "7C13732C2F594217785CB94961655BADF5B64A7F0AE10A1064AE39BACEA5F4274CAD226E3D64F284A40E5EA5CC5A9DB034CD53366FC9D5659E06C8D30334BA29D5CC141A0D533914E453E968B8422BD7C3614521CD2F72B624C3DD608E75B35697520587AD4E5A2962458C5CCCD38150920FFF6564083888B847C8B189A80FBB"
);
const O01_UN: [u8; 8] = hex!("1122334455667788");
const O01_ENCIPHERED: [u8; 128] = hex!(
    "9A974D40549111B9356FAC6139A20F667EE57F6B7C1C6F30D96A53AEB323D117E021DC599713ACF094441412F93AC6EE966AAC102E6D1FD778BFC8D50B18ED4C388A858ABA46137CD26B603DB303A98450ADFDCEF375B9066A6FCBE3D65D5B5A4DF4DBEC573D8C735339EF232F9FE3950B2DD4D183C1624E0ED80BDFE3906E88"
);

fn o01_key() -> RsaPrivateKey {
    RsaPrivateKey::from_private_exponent(&O01_N, &[3], &O01_D).unwrap()
}

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

#[test]
fn o01_terminal_side_is_byte_exact() {
    let key = o01_key();
    let padding = [0xAAu8; 111];
    let enciphered =
        encipher_pin_with_padding(key.public_key(), "1234", &O01_UN, &padding).unwrap();
    assert_eq!(enciphered, O01_ENCIPHERED);
    // The VERIFY command of the vector: 00 20 00 88 80 ‖ enciphered data.
    let mut apdu = hex!("0020008880").to_vec();
    apdu.extend_from_slice(&enciphered);
    assert_eq!(apdu[..9], hex!("00200088809A974D40"));
    assert_eq!(apdu.len(), 5 + 128);
}

#[test]
fn o01_card_side_recovers_the_pin_and_plaintext() {
    let key = o01_key();
    let pin = decipher_pin(&key, &O01_ENCIPHERED, &O01_UN).unwrap();
    assert_eq!(pin.digits(), "1234");
    assert!(pin.ct_eq("1234"));
    assert!(!pin.ct_eq("1235"));
    assert!(!pin.ct_eq("12345"));
    // The plaintext block of the vector.
    let plaintext = key.decipher(&O01_ENCIPHERED).unwrap();
    let mut expected = hex!("7F241234FFFFFFFFFF1122334455667788").to_vec();
    expected.extend_from_slice(&[0xAA; 111]);
    assert_eq!(plaintext.as_slice(), expected.as_slice());
}

#[test]
fn o02_plaintext_pin_block() {
    // O02: VERIFY P2 = 80 carries the bare format 2 block.
    let block = format2_pin_block("1234").unwrap();
    assert_eq!(*block, hex!("241234FFFFFFFFFF"));
    let mut apdu = hex!("0020008008").to_vec();
    apdu.extend_from_slice(block.as_slice());
    assert_eq!(apdu, hex!("0020008008241234FFFFFFFFFF"));
    assert_eq!(
        *OfflinePin::new("1234").unwrap().pin_block().unwrap(),
        hex!("241234FFFFFFFFFF")
    );
    // Other examples of Book 3 Table 25 / docs/emv.md §4.2.
    assert_eq!(
        *format2_pin_block("9999").unwrap(),
        hex!("249999FFFFFFFFFF")
    );
    assert_eq!(
        *format2_pin_block("999999999999").unwrap(),
        hex!("2C999999999999FF")
    );
}

#[test]
fn card_rejects_wrong_challenge_with_6984() {
    let key = o01_key();
    let mut other = O01_UN;
    other[7] ^= 1;
    let err = decipher_pin(&key, &O01_ENCIPHERED, &other).unwrap_err();
    assert_eq!(err, CryptoError::EncipheredPinChallenge);
    assert_eq!(card_status_word(&err), Some(0x6984));
}

/// Enciphers arbitrary plaintext (for malformed-data tests).
fn encipher_raw(key: &RsaPublicKey, data: &[u8]) -> Vec<u8> {
    key.encipher(data).unwrap()
}

fn raw_plaintext(header: u8, block: [u8; 8], un: [u8; 8], n: usize) -> Vec<u8> {
    let mut data = vec![header];
    data.extend_from_slice(&block);
    data.extend_from_slice(&un);
    data.resize(n, 0x55);
    data
}

#[test]
fn card_rejects_bad_header_and_length_with_6984() {
    let key = ICC_768_E3.private_key().unwrap();
    let pk = key.public_key();
    let un = hex!("0102030405060708");
    let bad = encipher_raw(pk, &raw_plaintext(0x7E, hex!("241234FFFFFFFFFF"), un, 96));
    let err = decipher_pin(&key, &bad, &un).unwrap_err();
    assert_eq!(err, CryptoError::EncipheredPinHeader);
    assert_eq!(card_status_word(&err), Some(0x6984));

    let err = decipher_pin(&key, &bad[1..], &un).unwrap_err();
    assert_eq!(
        err,
        CryptoError::EncipheredPinLength {
            expected: 96,
            got: 95
        }
    );
    assert_eq!(card_status_word(&err), Some(0x6984));
    // Data not below the modulus cannot be recovered.
    assert_eq!(
        decipher_pin(&key, &[0xFF; 96], &un).unwrap_err(),
        CryptoError::EncipheredPinHeader
    );
    // A cryptogram made for another key: header check (almost surely) fails.
    let other = ICC_1024_E3.private_key().unwrap();
    let for_other =
        encipher_pin_with_padding(other.public_key(), "1234", &un, &[0; 128 - 17]).unwrap();
    assert_eq!(
        decipher_pin(&key, &for_other[..96], &un).map(|_| ()),
        Err(CryptoError::EncipheredPinHeader)
    );
}

#[test]
fn card_rejects_bad_pin_blocks_with_6a80() {
    let key = ICC_768_E3.private_key().unwrap();
    let pk = key.public_key();
    let un = hex!("A1A2A3A4A5A6A7A8");
    let cases: [([u8; 8], &str); 7] = [
        (hex!("141234FFFFFFFFFF"), "control field"),
        (hex!("341234FFFFFFFFFF"), "control field"),
        (hex!("23123FFFFFFFFFFF"), "PIN length field"),
        (hex!("2D12345678901234"), "PIN length field"),
        (hex!("24123AFFFFFFFFFF"), "is not 0-9"),
        (hex!("241234FFFFFFFFFE"), "fill nibble"),
        (hex!("2412340FFFFFFFFF"), "fill nibble"),
    ];
    for (block, reason) in cases {
        let enciphered = encipher_raw(pk, &raw_plaintext(0x7F, block, un, 96));
        let err = decipher_pin(&key, &enciphered, &un).unwrap_err();
        match &err {
            CryptoError::OfflinePinBlockFormat(why) => {
                assert!(why.contains(reason), "{block:02X?}: {why}")
            }
            other => panic!("{block:02X?}: {other:?}"),
        }
        assert_eq!(card_status_word(&err), Some(0x6A80));
    }
    assert_eq!(card_status_word(&CryptoError::JweDecryption), None);
}

#[test]
fn terminal_rejects_bad_pins_and_padding() {
    let key = ICC_768_E3.private_key().unwrap();
    let pk = key.public_key();
    let un = [0u8; 8];
    for pin in ["123", "1234567890123", "12a4", "", "１２３４"] {
        assert!(encipher_pin(pk, pin, &un, &mut rng()).is_err(), "{pin}");
        assert!(OfflinePin::new(pin).is_err());
    }
    assert!(encipher_pin_with_padding(pk, "1234", &un, &[0; 78]).is_err());
    assert!(encipher_pin_with_padding(pk, "1234", &un, &[0; 80]).is_err());
}

#[test]
fn random_padding_round_trip() {
    for key in [ICC_768_E3, ICC_896_E65537, ICC_1024_E3] {
        let key = key.private_key().unwrap();
        let un = hex!("0011223344556677");
        let a = encipher_pin(key.public_key(), "0000", &un, &mut rng()).unwrap();
        let b = encipher_pin(key.public_key(), "0000", &un, &mut rng()).unwrap();
        assert_ne!(a, b, "padding must be random");
        assert_eq!(a.len(), key.modulus_len());
        for data in [a, b] {
            assert_eq!(decipher_pin(&key, &data, &un).unwrap().digits(), "0000");
        }
    }
}

#[test]
fn pin_is_never_printed() {
    let pin = OfflinePin::new("98765").unwrap();
    let printed = format!("{pin:?}");
    assert_eq!(printed, "OfflinePin(5 digits)");
    assert_eq!(pin.len(), 5);
    assert!(!pin.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_pin_round_trips(
        pin in "[0-9]{4,12}",
        un in any::<[u8; 8]>(),
        padding in proptest::collection::vec(any::<u8>(), 96 - 17),
    ) {
        let key = ICC_768_E3.private_key().unwrap();
        let enciphered = encipher_pin_with_padding(key.public_key(), &pin, &un, &padding).unwrap();
        let recovered = decipher_pin(&key, &enciphered, &un).unwrap();
        prop_assert_eq!(recovered.digits(), pin.as_str());
        let block = format2_pin_block(&pin).unwrap();
        let parsed = parse_format2_pin_block(block.as_slice()).unwrap();
        prop_assert_eq!(parsed.digits(), pin.as_str());
    }
}
