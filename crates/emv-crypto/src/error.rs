//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in `emv-crypto`.
///
/// Variants are added per module; keep each message specific enough that a payment
/// engineer knows which input to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key of the wrong length for the algorithm.
    #[error("key length {got} bytes is invalid for {algorithm} (expected {expected})")]
    KeyLength {
        /// Algorithm name.
        algorithm: &'static str,
        /// Accepted lengths, in words.
        expected: &'static str,
        /// Length given.
        got: usize,
    },
    /// Input data of the wrong length.
    #[error("{what}: {reason}")]
    InvalidInput {
        /// Which input.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    // --- offline data authentication (oda) ---
    /// ODA: a certificate or signature is not as long as the modulus of the key that must
    /// recover it (EMV 4.4 Book 2 §5.3 step 1, §5.4 step 1, §6.3 step 1, §6.5.2 step 1).
    #[error("ODA: {what} is {got} bytes but the recovering key's modulus is {expected} bytes")]
    OdaLength {
        /// Which object (certificate or signature).
        what: &'static str,
        /// Modulus length in bytes.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// ODA: the Recovered Data Trailer is not 'BC' (Book 2 §5.3 step 2, §6.3 step 2).
    #[error("ODA: {what}: recovered data trailer is {got:02X}, expected BC")]
    OdaTrailer {
        /// Which object.
        what: &'static str,
        /// Trailer byte found.
        got: u8,
    },
    /// ODA: the Recovered Data Header is not '6A' (Book 2 §5.3 step 3, §6.3 step 3).
    #[error("ODA: {what}: recovered data header is {got:02X}, expected 6A")]
    OdaHeader {
        /// Which object.
        what: &'static str,
        /// Header byte found.
        got: u8,
    },
    /// ODA: the Certificate Format / Signed Data Format is wrong (Book 2 §5.3 step 4 etc.).
    #[error("ODA: {what}: format {got:02X}, expected {expected:02X}")]
    OdaFormat {
        /// Which object.
        what: &'static str,
        /// Format required.
        expected: u8,
        /// Format found.
        got: u8,
    },
    /// ODA: the Hash Algorithm Indicator is not supported (only '01' = SHA-1, Book 2 Annex B3).
    #[error("ODA: {what}: hash algorithm indicator {got:02X} is not supported")]
    OdaHashAlgorithm {
        /// Which object.
        what: &'static str,
        /// Indicator found.
        got: u8,
    },
    /// ODA: the Public Key Algorithm Indicator is not supported (only '01' = RSA, Annex B2).
    #[error("ODA: {what}: public key algorithm indicator {got:02X} is not supported")]
    OdaKeyAlgorithm {
        /// Which object.
        what: &'static str,
        /// Indicator found.
        got: u8,
    },
    /// ODA: the recomputed hash differs from the recovered Hash Result (Book 2 §5.3 step 7).
    #[error("ODA: {what}: hash result does not match")]
    OdaHash {
        /// Which object.
        what: &'static str,
    },
    /// ODA: the Issuer Identifier does not match the leftmost PAN digits (Book 2 §5.3 step 8).
    #[error("ODA: issuer identifier does not match the application PAN")]
    OdaIssuerIdentifier,
    /// ODA: the PAN in the ICC certificate differs from the Application PAN (Book 2 §6.4 step 8).
    #[error("ODA: {what}: certificate PAN does not match the application PAN")]
    OdaPan {
        /// Which certificate.
        what: &'static str,
    },
    /// ODA: the certificate expired before the reference date (Book 2 §5.3 step 9, §6.4 step 9).
    #[error("ODA: {what} expired (MMYY {expiry:02X?})")]
    OdaExpired {
        /// Which certificate.
        what: &'static str,
        /// Certificate Expiration Date as recovered (MMYY, BCD).
        expiry: [u8; 2],
    },
    /// ODA: a public key (length, exponent or remainder) in a certificate is inconsistent
    /// (Book 2 §5.3 step 11, §6.4 step 11).
    #[error("ODA: {what}: {reason}")]
    OdaPublicKey {
        /// Which certificate.
        what: &'static str,
        /// What is inconsistent.
        reason: &'static str,
    },
    /// ODA: the public key needs a remainder (tag `92`, `9F48` or `9F2F`) but none was
    /// given (Book 2 Table 6 / Table 14 notes; the kernel sets "ICC data missing").
    #[error("ODA: {what}: public key remainder missing")]
    OdaRemainderMissing {
        /// Which certificate.
        what: &'static str,
    },
    /// ODA: the ICC Dynamic Data in a Signed Dynamic Application Data is malformed
    /// (Book 2 §6.5.2 Table 17, §6.6.2).
    #[error("ODA: ICC dynamic data: {0}")]
    OdaDynamicData(&'static str),
    /// CDA: the CID inside the signature differs from the CID returned by GENERATE AC
    /// (Book 2 §6.6.2 step 5).
    #[error("CDA: signed CID {signed:02X} differs from response CID {response:02X}")]
    OdaCdaCid {
        /// CID recovered from the ICC Dynamic Data.
        signed: u8,
        /// CID (9F27) in the GENERATE AC response.
        response: u8,
    },
    /// CDA: the Transaction Data Hash Code does not match (Book 2 §6.6.2 steps 9-11).
    #[error("CDA: transaction data hash code does not match")]
    OdaTransactionDataHash,
    // --- enciphered offline PIN (offline_pin) ---
    /// Enciphered PIN: the enciphered data is not as long as the key's modulus
    /// (Book 2 §7.2; the card answers 6984).
    #[error("enciphered PIN data is {got} bytes, the PIN key's modulus is {expected} bytes")]
    EncipheredPinLength {
        /// Modulus length in bytes.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// Enciphered PIN: the deciphered data does not start with '7F' (Book 2 §7.2; card 6984).
    #[error("enciphered PIN data header is not 7F")]
    EncipheredPinHeader,
    /// Enciphered PIN: the ICC Unpredictable Number in the deciphered data is not the
    /// challenge the card issued (Book 2 §7.2; card 6984).
    #[error("enciphered PIN data does not carry the ICC challenge")]
    EncipheredPinChallenge,
    /// Offline PIN: the PIN block is not a valid ISO 9564 format 2 block
    /// (Book 3 §6.5.12.2 Table 25; card 6A80).
    #[error("offline PIN block format: {0}")]
    OfflinePinBlockFormat(String),
    // --- JWE (jwe) ---
    /// JWE: the token or a JWK is not well formed (RFC 7516 §7.1, RFC 7517).
    #[error("JWE: malformed {0}")]
    JweMalformed(&'static str),
    /// JWE: an algorithm or header parameter we do not implement (RFC 7516 §4.1).
    #[error("JWE: unsupported {what} {value:?}")]
    JweUnsupported {
        /// Which parameter (`alg`, `enc`, `crit`, `zip`, `kty`, `crv`).
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// JWE: the key does not fit the algorithm, or is invalid (e.g. not a P-256 point).
    #[error("JWE: invalid key: {0}")]
    JweKey(&'static str),
    /// JWE: decryption failed (wrong key, or tampered header, IV, ciphertext or tag).
    #[error("JWE: decryption failed")]
    JweDecryption,
    // ---- symmetric part (block, mac, keys, kdf, session, cryptogram, script, pinblock,
    // ---- pvv, cvv, tr31): variants added by the symmetric-crypto work
    /// Data that must be whole cipher blocks is not.
    #[error("{what}: length {got} bytes is not a multiple of the {block}-byte block")]
    BlockLength {
        /// Which input.
        what: &'static str,
        /// Cipher block size in bytes.
        block: usize,
        /// Length given.
        got: usize,
    },
    /// A hexadecimal string that does not decode.
    #[error("{what}: invalid hex ({reason})")]
    InvalidHex {
        /// Which input.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A PAN that is not usable (not 8–19 decimal digits).
    #[error("invalid PAN: {0}")]
    InvalidPan(String),
    /// A PAN Sequence Number that is not 2 decimal digits.
    #[error("PAN sequence number must be 2 digits (e.g. \"00\"), got {0:?}")]
    InvalidPsn(String),
    /// A PIN with too few or too many digits.
    #[error("PIN must be {min}–{max} digits, got {got}")]
    PinLength {
        /// Shortest allowed.
        min: usize,
        /// Longest allowed.
        max: usize,
        /// Number of digits given.
        got: usize,
    },
    /// A PIN containing something other than the digits 0-9 (the PIN is not echoed).
    #[error("PIN must contain only the digits 0-9")]
    PinNotNumeric,
    /// A PIN block that does not decode under the expected format. Never yields a PIN.
    #[error("invalid PIN block ({format}): {reason}")]
    InvalidPinBlock {
        /// Which block format was expected, e.g. "ISO 9564-1 format 0".
        format: &'static str,
        /// What is wrong (positions only; no PIN digits are echoed).
        reason: String,
    },
    /// A MAC length the algorithm does not allow.
    #[error("MAC length must be {min}–{max} bytes, got {got}")]
    MacLength {
        /// Shortest allowed.
        min: usize,
        /// Longest allowed.
        max: usize,
        /// Length asked for or received.
        got: usize,
    },
    /// ISO/IEC 9797-1 padding method 2 that is malformed after decipherment.
    #[error("invalid ISO/IEC 9797-1 padding method 2: {0}")]
    InvalidPadding(&'static str),
    /// A cryptogram version name or IAD CVN byte that is not supported.
    #[error(
        "unknown cryptogram version {0} (expected visa-10, visa-18, visa-22, mc-16, mc-17, mc-20, mc-21 or interac-133)"
    )]
    UnknownCvn(String),
    /// An input that the chosen CVN needs is missing or does not fit it.
    #[error("CVN {cvn}: {reason}")]
    CvnInput {
        /// The CVN, e.g. "mc-17".
        cvn: &'static str,
        /// What is missing or wrong.
        reason: String,
    },
    /// An issuer-script command that is malformed or not what was expected.
    #[error("script command: {0}")]
    ScriptCommand(String),
    /// A TR-31 key block that is malformed, unsupported or does not authenticate.
    #[error("TR-31 key block: {0}")]
    KeyBlock(String),
    /// A MAC, cryptogram, certificate or token did not verify.
    #[error("verification failed: {0}")]
    VerificationFailed(&'static str),
}
