//! The authorisation messages a terminal and an issuer exchange, shaped after ISO 8583
//! (the data elements are named in each field's doc), and the [`Host`] trait through
//! which the kernel goes online. The embedded issuer host and the HTTP client both
//! implement [`Host`]; the kernel never knows which one it talks to.
//!
//! Byte fields serialise as upper-case hex strings so the JSON forms are readable.
//! Pure: no I/O.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::too_many_lines))] // test tables read top to bottom

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

mod hexser;
mod response_code;

pub use response_code::ResponseCode;

/// Message type indicator (ISO 8583 MTI) of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MessageType {
    /// `0100`: authorisation request (dual message: POS).
    #[default]
    AuthorisationRequest,
    /// `0200`: financial request (single message: ATM).
    FinancialRequest,
}

impl MessageType {
    /// The four-digit MTI.
    pub fn mti(self) -> &'static str {
        match self {
            Self::AuthorisationRequest => "0100",
            Self::FinancialRequest => "0200",
        }
    }
}

/// Transaction type, the first two digits of the processing code (ISO 8583 DE 3) and
/// EMV tag 9C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "kebab-case")]
pub enum TransactionType {
    /// `00`: goods and services.
    #[default]
    Purchase,
    /// `01`: cash (ATM withdrawal, manual cash).
    Cash,
    /// `09`: purchase with cashback.
    Cashback,
    /// `20`: refund / return.
    Refund,
}

impl TransactionType {
    /// The 9C / DE 3 positions 1–2 value.
    pub fn code(self) -> u8 {
        match self {
            Self::Purchase => 0x00,
            Self::Cash => 0x01,
            Self::Cashback => 0x09,
            Self::Refund => 0x20,
        }
    }

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for TransactionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the transaction comes from (ISO 8583 DE 22 / DE 25 in spirit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[derive(strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum Channel {
    /// Card present at a point-of-sale terminal (attended or unattended).
    #[default]
    Pos,
    /// Card present at an ATM.
    Atm,
    /// Card not present (e-commerce, mail/telephone order): no chip data, no PIN.
    Ecommerce,
}

impl Channel {
    /// The name used in JSON and reports.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The online PIN as the terminal sends it: an encrypted ISO 9564 PIN block (DE 52) and
/// the identifier of the key it is encrypted under (DE 53 security control in spirit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinData {
    /// Encrypted PIN block: 8 bytes (format 0, TDES) or 16 bytes (format 4, AES).
    #[serde(with = "hexser")]
    pub pin_block: Vec<u8>,
    /// ISO 9564-1 format number: 0 or 4.
    pub format: u8,
    /// Identifier of the terminal PIN key (zone PIN key) that encrypts the block.
    pub key_id: String,
}

/// An authorisation or financial request (ISO 8583 0100/0200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthRequest {
    /// Message type (MTI).
    #[serde(default)]
    pub message_type: MessageType,
    /// Primary account number (DE 2), digits only.
    pub pan: String,
    /// PAN sequence number (DE 23), two digits; absent for card-not-present.
    #[serde(default)]
    pub psn: Option<String>,
    /// Expiry date YYMM (DE 14).
    #[serde(default)]
    pub expiry: Option<String>,
    /// Transaction type (DE 3 positions 1–2).
    #[serde(default)]
    pub transaction_type: TransactionType,
    /// Amount, authorised, in minor units of `currency` (DE 4).
    pub amount: u64,
    /// Amount, other (cashback), in minor units (DE 54 in spirit; 9F03).
    #[serde(default)]
    pub amount_other: u64,
    /// ISO 4217 numeric currency code (DE 49), e.g. 978.
    pub currency: u16,
    /// Channel.
    #[serde(default)]
    pub channel: Channel,
    /// Terminal type (9F35), e.g. 0x22 attended POS, 0x14 ATM.
    #[serde(default)]
    pub terminal_type: u8,
    /// Terminal country code (9F1A), ISO 3166 numeric.
    #[serde(default)]
    pub terminal_country: u16,
    /// Terminal identification (DE 41).
    #[serde(default)]
    pub terminal_id: String,
    /// System trace audit number (DE 11).
    #[serde(default)]
    pub stan: u32,
    /// Online PIN (DE 52 + key id), when the cardholder entered one.
    #[serde(default)]
    pub pin: Option<PinData>,
    /// ICC data (DE 55): the BER-TLV the terminal forwards (9F26, 9F27, 9F10, 9F36, 9F37,
    /// 95, 9A, 9C, 9F02, 5F2A, 82, 9F1A, 9F34, 9F33, 9F35, ...). Empty for card-not-present.
    #[serde(default, with = "hexser")]
    pub icc_data: Vec<u8>,
    /// Point-of-service entry mode (DE 22), when the acquirer sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_mode: Option<EntryMode>,
    /// Transmission date and time (DE 7), `MMDDhhmmss` UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transmitted_at: Option<String>,
    /// Retrieval reference number (DE 37), 12 characters, when the acquirer assigned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrn: Option<String>,
    /// Card acceptor identification code (DE 42), the merchant.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub merchant_id: String,
}

/// How the PAN was read: ISO 8583:1987 DE 22 positions 1–2 (point-of-service entry mode),
/// with the values of the card schemes' acquirer specifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "kebab-case")]
pub enum EntryMode {
    /// `00`: unknown.
    Unknown,
    /// `01`: key entered (manual, mail/telephone order, e-commerce).
    Manual,
    /// `02`: magnetic stripe, track data may be incomplete.
    MagStripe,
    /// `05`: integrated circuit card (contact chip).
    Chip,
    /// `07`: contactless chip.
    Contactless,
    /// `80`: magnetic stripe fallback after a failed chip read.
    Fallback,
    /// `81`: e-commerce.
    Ecommerce,
    /// `90`: magnetic stripe, full track read.
    MagStripeFull,
    /// `91`: contactless magnetic stripe.
    ContactlessMagStripe,
}

impl EntryMode {
    /// The two-digit DE 22 positions 1–2 code.
    pub fn code(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Manual => 1,
            Self::MagStripe => 2,
            Self::Chip => 5,
            Self::Contactless => 7,
            Self::Fallback => 80,
            Self::Ecommerce => 81,
            Self::MagStripeFull => 90,
            Self::ContactlessMagStripe => 91,
        }
    }

    /// The entry mode with this DE 22 positions 1–2 code, if it is one of the above.
    pub fn from_code(code: u8) -> Option<Self> {
        [
            Self::Unknown,
            Self::Manual,
            Self::MagStripe,
            Self::Chip,
            Self::Contactless,
            Self::Fallback,
            Self::Ecommerce,
            Self::MagStripeFull,
            Self::ContactlessMagStripe,
        ]
        .into_iter()
        .find(|m| m.code() == code)
    }

    /// Whether the PAN came from a chip (contact or contactless EMV): the request must then
    /// carry the chip's ARQC in DE 55.
    pub fn is_chip(self) -> bool {
        matches!(self, Self::Chip | Self::Contactless)
    }

    /// The name used in JSON.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What the host concluded about an online PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum OnlinePinResult {
    /// The PIN matched.
    Verified,
    /// The PIN did not match (response code 55).
    Incorrect,
    /// The online PIN is blocked (response code 75).
    Blocked,
}

impl OnlinePinResult {
    /// The name used in the outcome JSON.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for OnlinePinResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The issuer's answer (ISO 8583 0110/0210).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResponse {
    /// Response code (DE 39).
    pub response_code: ResponseCode,
    /// Human-readable reason for the decision (never contains a PIN or key).
    pub reason: String,
    /// Authorisation identification response (DE 38), on approval.
    #[serde(default)]
    pub auth_code: Option<String>,
    /// Retrieval reference number (DE 37): the request's, or the one the host assigned.
    /// Advices and reversals of this transaction quote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrn: Option<String>,
    /// Issuer Authentication Data, tag 91 value (ARPC ‖ ARC or ARPC ‖ CSU ‖ ...).
    #[serde(default, with = "hexser::option")]
    pub issuer_authentication_data: Option<Vec<u8>>,
    /// Issuer script templates (complete `71 ..` and `72 ..` TLVs, in order).
    #[serde(default, with = "hexser::list")]
    pub issuer_scripts: Vec<Vec<u8>>,
    /// The host's verdict on the online PIN, when one was sent.
    #[serde(default)]
    pub online_pin: Option<OnlinePinResult>,
}

impl AuthResponse {
    /// The ICC response data (DE 55 of the response): 91 followed by the scripts.
    pub fn icc_data(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(iad) = &self.issuer_authentication_data {
            out.push(0x91);
            // 91 is at most 16 bytes, a one-byte length
            out.push(u8::try_from(iad.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(iad);
        }
        for s in &self.issuer_scripts {
            out.extend_from_slice(s);
        }
        out
    }
}

/// Why an advice is sent (ISO 8583 0220/0420 in spirit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AdviceReason {
    /// The transaction completed; carries the final cryptogram and the script results.
    #[default]
    Completion,
    /// The terminal reverses an approval (card declined it after the host approved, card
    /// removed before completion).
    Reversal,
}

/// A completion/advice after the final GENERATE AC: tells the host how the card ended
/// the transaction and what happened to the scripts (9F5B), so it can settle pending
/// scripts (EMV 4.4 Book 4 §6.3.9, Annex A5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Advice {
    /// Why this advice is sent.
    #[serde(default)]
    pub reason: AdviceReason,
    /// Whether the terminal expects an answer (0400 reversal request) or only informs
    /// (0120/0220 completion, 0420 reversal advice, store-and-forward).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub request: bool,
    /// Primary account number.
    pub pan: String,
    /// PAN sequence number.
    #[serde(default)]
    pub psn: Option<String>,
    /// System trace audit number of the authorisation this completes.
    #[serde(default)]
    pub stan: u32,
    /// ICC data after the final GENERATE AC (9F26, 9F27, 9F36, 9F10, 95, 9B, 9F5B ...).
    #[serde(default, with = "hexser")]
    pub icc_data: Vec<u8>,
    /// Retrieval reference number (DE 37) of the answer this advice is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrn: Option<String>,
    /// Terminal identification (DE 41).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub terminal_id: String,
    /// Amount of the original transaction (DE 4), minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    /// Currency of the original transaction (DE 49).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<u16>,
    /// Transmission date and time of this advice (DE 7), `MMDDhhmmss` UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transmitted_at: Option<String>,
    /// Original data elements (DE 90): which request this advice or reversal is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<OriginalData>,
}

/// ISO 8583:1987 DE 90, original data elements (n 42): the message a reversal or advice
/// refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OriginalData {
    /// Original message type (`0100`, `0200`).
    pub mti: String,
    /// Original STAN (DE 11).
    pub stan: u32,
    /// Original transmission date and time (DE 7), `MMDDhhmmss`.
    pub transmitted_at: String,
    /// Original acquiring institution id (DE 32), up to 11 digits, zero padded.
    #[serde(default)]
    pub acquirer: String,
    /// Original forwarding institution id (DE 33), up to 11 digits, zero padded.
    #[serde(default)]
    pub forwarder: String,
}

/// The issuer's answer to an advice or reversal (ISO 8583 0130/0230/0410/0430).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdviceResponse {
    /// Response code (DE 39): `00` taken (a reversal of an already reversed transaction
    /// too), `25` no such original transaction.
    pub response_code: ResponseCode,
    /// Whether this advice gave an approval's amount back.
    #[serde(default)]
    pub reversed: bool,
}

impl AuthRequest {
    /// A card-not-present purchase (e-commerce: no chip data, no terminal), as an issuer's
    /// own channels and test tools send it: ISO 8583 channel "e-commerce", DE 55 absent,
    /// the online PIN block if the channel captured one.
    pub fn card_not_present(
        pan: &str,
        amount: u64,
        currency: u16,
        country: u16,
        pin: Option<PinData>,
    ) -> Self {
        AuthRequest {
            message_type: MessageType::AuthorisationRequest,
            pan: pan.into(),
            psn: None,
            expiry: None,
            transaction_type: TransactionType::Purchase,
            amount,
            amount_other: 0,
            currency,
            channel: Channel::Ecommerce,
            terminal_type: 0,
            terminal_country: country,
            terminal_id: String::new(),
            stan: 0,
            pin,
            icc_data: Vec::new(),
            entry_mode: Some(EntryMode::Ecommerce),
            transmitted_at: None,
            rrn: None,
            merchant_id: String::new(),
        }
    }
}

/// Why the terminal could not get an answer from the host: the kernel then follows
/// "unable to go online" (EMV 4.4 Book 4 §10.7, default action codes).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostError {
    /// The host could not be reached or did not answer.
    #[error("host unreachable: {0}")]
    Unreachable(String),
    /// The host refused the message as malformed (a bug in the terminal, not a decline).
    #[error("host rejected the message: {0}")]
    Rejected(String),
    /// The host failed internally.
    #[error("host failure: {0}")]
    Internal(String),
}

/// An issuer host as the terminal sees it.
pub trait Host {
    /// Sends an authorisation/financial request and returns the issuer's answer.
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError>;

    /// Sends a completion advice, a reversal request or a reversal advice.
    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError>;
}

/// No issuer host at all (a terminal without a link, `--host none`): every message fails
/// as [`HostError::Unreachable`], so the kernel goes "unable to go online".
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHost;

impl NoHost {
    const WHY: &'static str = "no issuer host is configured";
}

impl Host for NoHost {
    fn authorise(&mut self, _request: &AuthRequest) -> Result<AuthResponse, HostError> {
        Err(HostError::Unreachable(Self::WHY.into()))
    }

    fn advise(&mut self, _advice: &Advice) -> Result<AdviceResponse, HostError> {
        Err(HostError::Unreachable(Self::WHY.into()))
    }
}

impl<H: Host + ?Sized> Host for &mut H {
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError> {
        (**self).authorise(request)
    }
    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError> {
        (**self).advise(advice)
    }
}

impl<H: Host + ?Sized> Host for Box<H> {
    fn authorise(&mut self, request: &AuthRequest) -> Result<AuthResponse, HostError> {
        (**self).authorise(request)
    }
    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError> {
        (**self).advise(advice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_json_round_trips_with_hex_fields() {
        let req = AuthRequest {
            message_type: MessageType::FinancialRequest,
            pan: "4761739001010010".into(),
            psn: Some("01".into()),
            expiry: Some("2912".into()),
            transaction_type: TransactionType::Cash,
            amount: 2000,
            amount_other: 0,
            currency: 978,
            channel: Channel::Atm,
            terminal_type: 0x14,
            terminal_country: 250,
            terminal_id: "ATM00001".into(),
            stan: 7,
            pin: Some(PinData {
                pin_block: vec![0x12, 0xAB, 0, 0, 0, 0, 0, 0],
                format: 0,
                key_id: "TPK-TEST-01".into(),
            }),
            icc_data: vec![0x9F, 0x36, 0x02, 0x00, 0x07],
            entry_mode: Some(EntryMode::Chip),
            transmitted_at: Some("0115120000".into()),
            rrn: None,
            merchant_id: "MERCHANT0000001".into(),
        };
        let json = serde_json::to_string(&req).unwrap();
        assert!(json.contains("\"icc_data\":\"9F36020007\""), "{json}");
        assert!(
            json.contains("\"pin_block\":\"12AB000000000000\""),
            "{json}"
        );
        assert!(json.contains("\"channel\":\"atm\""), "{json}");
        assert!(json.contains("\"entry_mode\":\"chip\""), "{json}");
        assert!(
            !json.contains("rrn"),
            "absent optional fields stay out: {json}"
        );
        let back: AuthRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, req);
    }

    fn json_name<T: Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn names_are_the_json_names_and_parse_back() {
        for t in [
            TransactionType::Purchase,
            TransactionType::Cash,
            TransactionType::Cashback,
            TransactionType::Refund,
        ] {
            assert_eq!(t.name(), json_name(t));
            assert_eq!(t.name().parse::<TransactionType>().unwrap(), t);
        }
        assert!("Purchase".parse::<TransactionType>().is_err());
        for c in [Channel::Pos, Channel::Atm, Channel::Ecommerce] {
            assert_eq!(c.name(), json_name(c));
        }
        for r in [
            OnlinePinResult::Verified,
            OnlinePinResult::Incorrect,
            OnlinePinResult::Blocked,
        ] {
            assert_eq!(r.name(), json_name(r));
        }
    }

    #[test]
    fn entry_modes_map_to_their_de22_codes() {
        for code in 0..=99u8 {
            if let Some(m) = EntryMode::from_code(code) {
                assert_eq!(m.code(), code);
                assert_eq!(m.name(), json_name(m));
                assert_eq!(m.name().parse::<EntryMode>().unwrap(), m);
            }
        }
        assert_eq!(EntryMode::from_code(5), Some(EntryMode::Chip));
        assert_eq!(EntryMode::from_code(3), None);
        assert!(EntryMode::Contactless.is_chip() && !EntryMode::Fallback.is_chip());
    }

    #[test]
    fn unknown_request_field_is_rejected() {
        let err = serde_json::from_str::<AuthRequest>(
            r#"{"pan":"1","amount":1,"currency":978,"pinn":"1234"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("pinn"), "{err}");
    }

    #[test]
    fn response_icc_data_is_91_then_scripts() {
        let resp = AuthResponse {
            response_code: ResponseCode::APPROVED,
            reason: "approved".into(),
            auth_code: None,
            rrn: Some("612345000001".into()),
            issuer_authentication_data: Some(vec![1, 2, 3, 4, 0x03, 0x90, 0, 0]),
            issuer_scripts: vec![vec![0x72, 0x02, 0xAA, 0xBB]],
            online_pin: None,
        };
        assert_eq!(
            resp.icc_data(),
            [0x91, 8, 1, 2, 3, 4, 3, 0x90, 0, 0, 0x72, 2, 0xAA, 0xBB]
        );
        let json = serde_json::to_string(&resp).unwrap();
        assert!(json.contains("\"response_code\":\"00\""), "{json}");
        let back: AuthResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back, resp);
    }
}
