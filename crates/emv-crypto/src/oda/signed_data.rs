//! Signed Static Application Data (SDA, Book 2 §5.4, Table 7) and Signed Dynamic
//! Application Data (Table 17; DDA §6.5, CDA §6.6).

use super::rsa_key::{RsaPrivateKey, RsaPublicKey};
use super::{
    FORMAT_SIGNED_DYNAMIC_DATA, FORMAT_SIGNED_STATIC_DATA, HASH_ALGORITHM_SHA1, HASH_LEN, PAD,
    RECOVERED_DATA_HEADER, check_hash, recover_frame, seal_frame, sha1,
};
use crate::CryptoError;

const SSAD: &str = "Signed Static Application Data";
const SDAD: &str = "Signed Dynamic Application Data";

/// Length of an Application Cryptogram (tag `9F26`).
const AC_LEN: usize = 8;

/// Signs the Static Data to be Authenticated with the issuer's private key, giving the
/// Signed Static Application Data (tag `93`, Book 2 §5.4 Table 7):
/// `6A 03 01 DAC(2) BB…BB hash BC`, hash = SHA-1(format … pad ‖ static data).
pub fn sign_static_application_data(
    issuer: &RsaPrivateKey,
    data_authentication_code: [u8; 2],
    static_data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let n = issuer.modulus_len();
    let mut frame = Vec::with_capacity(n);
    frame.push(RECOVERED_DATA_HEADER);
    frame.push(FORMAT_SIGNED_STATIC_DATA);
    frame.push(HASH_ALGORITHM_SHA1);
    frame.extend_from_slice(&data_authentication_code);
    // Pad Pattern: N_I − 26 bytes of 'BB' (Table 7).
    frame.resize(n - HASH_LEN - 1, PAD);
    seal_frame(issuer, frame, &[static_data])
}

/// Verifies Signed Static Application Data (Book 2 §5.4 steps 1–7) with the recovered issuer
/// key and returns the Data Authentication Code (to be stored in tag `9F45`).
pub fn verify_static_application_data(
    issuer: &RsaPublicKey,
    signed: &[u8],
    static_data: &[u8],
) -> Result<[u8; 2], CryptoError> {
    let recovered = recover_frame(issuer, signed, SSAD, FORMAT_SIGNED_STATIC_DATA)?;
    let n = recovered.len();
    // Steps 5–7: SHA-1 over Signed Data Format … Pad Pattern ‖ Static Data.
    check_hash(
        &recovered,
        recovered[2],
        &[&recovered[1..n - HASH_LEN - 1], static_data],
        SSAD,
    )?;
    Ok([recovered[3], recovered[4]])
}

/// The ICC Dynamic Data of DDA (Book 2 §6.5.1): ICC Dynamic Number Length ‖ ICC
/// Dynamic Number (2..=8 bytes). A card may append further data after this.
pub fn dda_icc_dynamic_data(icc_dynamic_number: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let len = dynamic_number_len(icc_dynamic_number.len())?;
    let mut out = Vec::with_capacity(1 + icc_dynamic_number.len());
    out.push(len);
    out.extend_from_slice(icc_dynamic_number);
    Ok(out)
}

fn dynamic_number_len(len: usize) -> Result<u8, CryptoError> {
    // Book 2 §6.5.1 / §6.6.1: the ICC Dynamic Number is 2 to 8 bytes.
    match u8::try_from(len) {
        Ok(l @ 2..=8) => Ok(l),
        _ => Err(CryptoError::InvalidInput {
            what: "ICC dynamic number",
            reason: format!("{len} bytes, expected 2..=8"),
        }),
    }
}

/// The ICC Dynamic Number (tag `9F4C`) inside recovered ICC Dynamic Data (Book 2 Tables 18
/// and 19: first byte is its length, 2..=8).
pub fn icc_dynamic_number(icc_dynamic_data: &[u8]) -> Result<&[u8], CryptoError> {
    let (&len, rest) = icc_dynamic_data
        .split_first()
        .ok_or(CryptoError::OdaDynamicData("empty"))?;
    if !(2..=8).contains(&len) {
        return Err(CryptoError::OdaDynamicData(
            "ICC dynamic number length is not 2..=8",
        ));
    }
    rest.get(..usize::from(len))
        .ok_or(CryptoError::OdaDynamicData("ICC dynamic number truncated"))
}

/// Signs ICC Dynamic Data with the ICC private key (Book 2 §6.5.1, Table 17):
/// `6A 05 01 L_DD ICC-dynamic-data BB…BB hash BC`, hash = SHA-1(format … pad ‖ terminal
/// dynamic data). For DDA the terminal dynamic data is the DDOL data sent in INTERNAL
/// AUTHENTICATE; for CDA it is the Unpredictable Number (see [`sign_cda`]).
pub fn sign_dynamic_application_data(
    icc: &RsaPrivateKey,
    icc_dynamic_data: &[u8],
    terminal_dynamic_data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let n = icc.modulus_len();
    // Table 17: L_DD ≤ N_IC − 25.
    let max = n - 25;
    let l_dd = u8::try_from(icc_dynamic_data.len())
        .ok()
        .filter(|&l| usize::from(l) <= max)
        .ok_or_else(|| CryptoError::InvalidInput {
            what: "ICC dynamic data",
            reason: format!(
                "{} bytes, at most {max} fit a {n}-byte key",
                icc_dynamic_data.len()
            ),
        })?;
    let mut frame = Vec::with_capacity(n);
    frame.push(RECOVERED_DATA_HEADER);
    frame.push(FORMAT_SIGNED_DYNAMIC_DATA);
    frame.push(HASH_ALGORITHM_SHA1);
    frame.push(l_dd);
    frame.extend_from_slice(icc_dynamic_data);
    frame.resize(n - HASH_LEN - 1, PAD);
    seal_frame(icc, frame, &[terminal_dynamic_data])
}

/// Recovers and verifies Signed Dynamic Application Data (tag `9F4B`) for DDA (Book 2
/// §6.5.2 steps 1–8) and returns the ICC Dynamic Data. `terminal_dynamic_data` is the DDOL
/// data the terminal sent.
pub fn recover_dynamic_application_data(
    icc: &RsaPublicKey,
    signed: &[u8],
    terminal_dynamic_data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let recovered = recover_frame(icc, signed, SDAD, FORMAT_SIGNED_DYNAMIC_DATA)?;
    let icc_dynamic_data = split_dynamic_data(&recovered)?;
    // Steps 5–7: SHA-1 over Signed Data Format … Pad Pattern ‖ terminal dynamic data.
    let n = recovered.len();
    check_hash(
        &recovered,
        recovered[2],
        &[&recovered[1..n - HASH_LEN - 1], terminal_dynamic_data],
        SDAD,
    )?;
    Ok(icc_dynamic_data.to_vec())
}

/// The ICC Dynamic Data field of a recovered Table 17 frame, with its length checked.
fn split_dynamic_data(recovered: &[u8]) -> Result<&[u8], CryptoError> {
    let n = recovered.len();
    let l_dd = usize::from(recovered[3]);
    if l_dd > n - 25 {
        return Err(CryptoError::OdaDynamicData(
            "ICC dynamic data length exceeds N_IC - 25",
        ));
    }
    Ok(&recovered[4..4 + l_dd])
}

/// Transaction Data Hash Code for CDA (Book 2 §6.6.1 and §6.6.2 step 9): SHA-1 over the
/// PDOL data values sent in GET PROCESSING OPTIONS, the CDOL1 data values of the first
/// GENERATE AC, the CDOL2 data values of the second GENERATE AC (if this is the second),
/// and the TLV data objects of the GENERATE AC response in the order received, *without*
/// the Signed Dynamic Application Data (`9F4B`). `response_tlvs` must be the raw bytes as
/// the card sent them (minus `9F4B`), not re-encoded.
pub fn cda_transaction_data_hash(
    pdol_values: &[u8],
    cdol1_values: &[u8],
    cdol2_values: Option<&[u8]>,
    response_tlvs: &[u8],
) -> [u8; HASH_LEN] {
    sha1(&[
        pdol_values,
        cdol1_values,
        cdol2_values.unwrap_or_default(),
        response_tlvs,
    ])
}

/// What the card signs for CDA (Book 2 §6.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdaInput<'a> {
    /// ICC Dynamic Number (`9F4C`), 2..=8 bytes.
    pub icc_dynamic_number: &'a [u8],
    /// Cryptogram Information Data (`9F27`) returned in the response.
    pub cid: u8,
    /// Application Cryptogram (`9F26`: TC, ARQC or AAC).
    pub application_cryptogram: [u8; 8],
    /// Transaction Data Hash Code ([`cda_transaction_data_hash`]).
    pub transaction_data_hash: [u8; HASH_LEN],
    /// Unpredictable Number (`9F37`) from the CDOL data: the terminal dynamic data of CDA.
    pub unpredictable_number: &'a [u8],
}

/// Signs for CDA (Book 2 §6.6.1): ICC Dynamic Data = ICC Dynamic Number Length ‖ ICC
/// Dynamic Number ‖ CID ‖ AC ‖ Transaction Data Hash Code, signed as in Table 17 with the
/// Unpredictable Number as terminal dynamic data. Returns the `9F4B` value.
pub fn sign_cda(icc: &RsaPrivateKey, input: &CdaInput<'_>) -> Result<Vec<u8>, CryptoError> {
    let mut data = dda_icc_dynamic_data(input.icc_dynamic_number)?;
    data.push(input.cid);
    data.extend_from_slice(&input.application_cryptogram);
    data.extend_from_slice(&input.transaction_data_hash);
    sign_dynamic_application_data(icc, &data, input.unpredictable_number)
}

/// What a successful CDA verification yields (Book 2 §6.6.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdaRecovered {
    /// ICC Dynamic Number (store as `9F4C`).
    pub icc_dynamic_number: Vec<u8>,
    /// Application Cryptogram (store as `9F26`: it is only in the signature).
    pub application_cryptogram: [u8; 8],
}

/// Verifies CDA (Book 2 §6.6.2): recovers the `9F4B` value with the ICC key, checks length,
/// trailer, header and format (steps 1–4), that the signed CID equals `response_cid` (step
/// 5), the hash over the signed fields and `unpredictable_number` (steps 6–8), and that the
/// signed Transaction Data Hash Code equals `transaction_data_hash` (steps 9–11).
pub fn verify_cda(
    icc: &RsaPublicKey,
    signed: &[u8],
    unpredictable_number: &[u8],
    response_cid: u8,
    transaction_data_hash: &[u8; HASH_LEN],
) -> Result<CdaRecovered, CryptoError> {
    use subtle::ConstantTimeEq;
    let recovered = recover_frame(icc, signed, SDAD, FORMAT_SIGNED_DYNAMIC_DATA)?;
    let data = split_dynamic_data(&recovered)?;
    let number = icc_dynamic_number(data)?;
    let rest = &data[1 + number.len()..];
    if rest.len() < 1 + AC_LEN + HASH_LEN {
        return Err(CryptoError::OdaDynamicData(
            "too short for CID, cryptogram and transaction data hash",
        ));
    }
    // Step 5: the CID in the signature must be the CID the card returned.
    let cid = rest[0];
    if cid != response_cid {
        return Err(CryptoError::OdaCdaCid {
            signed: cid,
            response: response_cid,
        });
    }
    // Steps 6–8: hash over Signed Data Format … Pad Pattern ‖ Unpredictable Number.
    let n = recovered.len();
    check_hash(
        &recovered,
        recovered[2],
        &[&recovered[1..n - HASH_LEN - 1], unpredictable_number],
        SDAD,
    )?;
    let mut application_cryptogram = [0u8; AC_LEN];
    application_cryptogram.copy_from_slice(&rest[1..1 + AC_LEN]);
    // Steps 9–11: Transaction Data Hash Code.
    let signed_hash = &rest[1 + AC_LEN..1 + AC_LEN + HASH_LEN];
    if !bool::from(signed_hash.ct_eq(transaction_data_hash)) {
        return Err(CryptoError::OdaTransactionDataHash);
    }
    Ok(CdaRecovered {
        icc_dynamic_number: number.to_vec(),
        application_cryptogram,
    })
}
