//! Messages ↔ the emv-auth types (docs/iso8583.md §3): 0100/0200 ↔ [`AuthRequest`],
//! 0110/0210 ↔ [`AuthResponse`], 0120/0220/0400/0420 ↔ [`Advice`],
//! 0130/0230/0410/0430 ↔ [`AdviceResponse`], and 0800/0810 network management.

use emv_auth::{
    Advice, AdviceReason, AdviceResponse, AuthRequest, AuthResponse, Channel, EntryMode,
    MessageType, OnlinePinResult, OriginalData, PinData, ResponseCode, TransactionType,
};
use emv_tlv::Tag;

use crate::Error;
use crate::message::{Message, Mti};

/// DE 18 merchant type of an ATM (ISO 18245 MCC 6011, automated cash disbursements).
const MCC_ATM: &str = "6011";
/// DE 25 point-of-service condition code of an electronic commerce transaction (card
/// schemes' ISO 8583:1987 acquirer specifications: 59).
const POS_CONDITION_ECOMMERCE: &str = "59";
/// DE 54 amount type of a cashback amount (ISO 8583:1987 DE 54 amount types: 40).
const AMOUNT_TYPE_CASHBACK: &str = "40";

/// What a request message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// 0100/0200: authorise.
    Authorisation(AuthRequest),
    /// 0120/0220 completion advice, 0400 reversal request, 0420 reversal advice.
    Advice(Advice),
    /// 0800: network management.
    Network(NetworkCode),
}

/// DE 70 network management information codes (ISO 8583:1987 DE 70).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkCode {
    /// `001`: sign-on.
    SignOn,
    /// `002`: sign-off.
    SignOff,
    /// `301`: echo test.
    Echo,
}

impl NetworkCode {
    /// The three DE 70 digits.
    pub fn code(self) -> &'static str {
        match self {
            Self::SignOn => "001",
            Self::SignOff => "002",
            Self::Echo => "301",
        }
    }

    /// The code for three DE 70 digits, if this host takes it.
    pub fn from_code(s: &str) -> Option<Self> {
        [Self::SignOn, Self::SignOff, Self::Echo]
            .into_iter()
            .find(|c| c.code() == s)
    }
}

// ------------------------------------------------------------------------------------
// Field helpers

fn set(m: &mut Message, de: u8, value: impl Into<Vec<u8>>) -> Result<(), Error> {
    m.set(de, value).map(|_| ())
}

/// Left-justified, space-padded to the field's fixed width (ans fields 41, 42, 53).
fn padded(de: u8, s: &str, width: usize) -> Result<String, Error> {
    if s.len() > width {
        return Err(Error::field_err(
            de,
            format!("{s:?} is longer than {width} characters"),
        ));
    }
    Ok(format!("{s:<width$}"))
}

fn digits(de: u8, n: u64, width: usize) -> Result<String, Error> {
    let s = format!("{n:0width$}");
    match s.len() == width {
        true => Ok(s),
        false => Err(Error::field_err(
            de,
            format!("{n} has more than {width} digits"),
        )),
    }
}

fn text(m: &Message, de: u8) -> Option<&str> {
    m.text(de)
}

fn required(m: &Message, de: u8) -> Result<&str, Error> {
    text(m, de).ok_or_else(|| Error::missing(&m.mti, de))
}

fn number<T: std::str::FromStr>(de: u8, s: &str) -> Result<T, Error> {
    if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
        return Err(Error::field_err(de, format!("{s:?} is not digits")));
    }
    s.parse()
        .map_err(|_| Error::field_err(de, format!("{s:?} is out of range")))
}

/// MMDDhhmmss with each part in range (ISO 8583:1987 DE 7, n 10).
fn check_date_time(de: u8, s: &str) -> Result<(), Error> {
    let part = |i: usize| s.get(i..i + 2).and_then(|p| p.parse::<u8>().ok());
    let ok = s.len() == 10
        && matches!(part(0), Some(1..=12))
        && matches!(part(2), Some(1..=31))
        && matches!(part(4), Some(0..=23))
        && matches!(part(6), Some(0..=59))
        && matches!(part(8), Some(0..=59));
    match ok {
        true => Ok(()),
        false => Err(Error::field_err(de, format!("{s:?} is not MMDDhhmmss"))),
    }
}

fn trimmed(m: &Message, de: u8) -> Option<String> {
    text(m, de)
        .map(|s| s.trim_end().to_owned())
        .filter(|s| !s.is_empty())
}

/// PAN from DE 2, else from the track 2 equivalent (DE 35, ISO/IEC 7813: PAN, separator,
/// YYMM expiry, service code, discretionary data); when both are present they agree.
fn pan_and_expiry(m: &Message) -> Result<(String, Option<String>), Error> {
    let track = text(m, 35).map(parse_track2).transpose()?;
    let expiry = text(m, 14)
        .map(str::to_owned)
        .or_else(|| track.as_ref().and_then(|t| t.1.clone()));
    match (text(m, 2), track) {
        (Some(pan), Some((t, _))) if pan != t => {
            Err(Error::field_err(35, "the track 2 PAN differs from DE 2"))
        }
        (Some(pan), _) => Ok((pan.to_owned(), expiry)),
        (None, Some((t, _))) => Ok((t, expiry)),
        (None, None) => Err(Error::missing(&m.mti, 2)),
    }
}

fn parse_track2(t: &str) -> Result<(String, Option<String>), Error> {
    let sep = t
        .find(['=', 'D'])
        .ok_or_else(|| Error::field_err(35, "no field separator (= or D)"))?;
    let pan = &t[..sep];
    if pan.is_empty() || pan.len() > 19 || !pan.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::field_err(
            35,
            "the PAN before the separator is not 1-19 digits",
        ));
    }
    let expiry = t.get(sep + 1..sep + 5).map(str::to_owned);
    Ok((pan.to_owned(), expiry))
}

fn psn(m: &Message) -> Result<Option<String>, Error> {
    match text(m, 23) {
        None => Ok(None),
        Some(s) if s.starts_with('0') => Ok(Some(s[1..].to_owned())),
        Some(s) => Err(Error::field_err(
            23,
            format!("{s:?}: a PAN sequence number is 00-99"),
        )),
    }
}

fn currency(m: &Message) -> Result<Option<u16>, Error> {
    text(m, 49).map(|s| number(49, s)).transpose()
}

/// The value of a tag at the top level of DE 55, if DE 55 parses and has it.
fn icc_tag(icc: &[u8], tag: u32) -> Option<Vec<u8>> {
    let list = emv_tlv::parse_all(icc).ok()?;
    emv_tlv::find(&list, Tag::new(tag)).map(|t| t.value().to_vec())
}

fn check_icc(icc: &[u8]) -> Result<(), Error> {
    emv_tlv::parse_all(icc)
        .map(|_| ())
        .map_err(|e| Error::field_err(55, format!("not BER-TLV: {e}")))
}

// ------------------------------------------------------------------------------------
// 0100/0200 ↔ AuthRequest

/// The processing code (DE 3): transaction type, from account, to account (default).
fn processing_code(t: TransactionType) -> String {
    format!("{:02X}0000", t.code())
}

fn transaction_type(m: &Message) -> Result<TransactionType, Error> {
    let code = required(m, 3)?;
    // DE 3 positions 1-2 are EMV 9C's values written in decimal digits (Book 3 Annex A)
    let t = [
        TransactionType::Purchase,
        TransactionType::Cash,
        TransactionType::Cashback,
        TransactionType::Refund,
    ]
    .into_iter()
    .find(|t| code.get(..2) == Some(format!("{:02X}", t.code()).as_str()));
    t.ok_or_else(|| Error::Unsupported {
        field: 3,
        reason: format!(
            "transaction type {:?} is not one this host processes",
            &code[..2]
        ),
    })
}

/// Encodes a request as 0100 (authorisation) or 0200 (financial).
pub fn auth_request_to_message(req: &AuthRequest) -> Result<Message, Error> {
    let mti = Mti::parse(req.message_type.mti().as_bytes())?;
    let mut m = Message::new(mti);
    set(&mut m, 2, req.pan.as_str())?;
    set(&mut m, 3, processing_code(req.transaction_type))?;
    set(&mut m, 4, digits(4, req.amount, 12)?)?;
    if let Some(t) = &req.transmitted_at {
        set(&mut m, 7, t.as_str())?;
    }
    set(&mut m, 11, digits(11, u64::from(req.stan), 6)?)?;
    if let Some(e) = &req.expiry {
        set(&mut m, 14, e.as_str())?;
    }
    match req.channel {
        Channel::Atm => set(&mut m, 18, MCC_ATM)?,
        Channel::Ecommerce => set(&mut m, 25, POS_CONDITION_ECOMMERCE)?,
        Channel::Pos => set(&mut m, 25, "00")?,
    }
    if req.terminal_country != 0 {
        set(&mut m, 19, digits(19, u64::from(req.terminal_country), 3)?)?;
    }
    if let Some(mode) = req.entry_mode {
        // position 3: PIN entry capability, 1 = can accept PINs (ISO 8583:1987 DE 22)
        let cap = if req.pin.is_some() { 1 } else { 0 };
        set(&mut m, 22, format!("{:02}{cap}", mode.code()))?;
    }
    if let Some(p) = &req.psn {
        set(&mut m, 23, format!("0{p:0>2}"))?;
    }
    if let Some(rrn) = &req.rrn {
        set(&mut m, 37, rrn.as_str())?;
    }
    if !req.terminal_id.is_empty() {
        set(&mut m, 41, padded(41, &req.terminal_id, 8)?)?;
    }
    if !req.merchant_id.is_empty() {
        set(&mut m, 42, padded(42, &req.merchant_id, 15)?)?;
    }
    set(&mut m, 49, digits(49, u64::from(req.currency), 3)?)?;
    if let Some(pin) = &req.pin {
        set_pin(&mut m, pin)?;
    }
    if req.amount_other > 0 {
        let a = format!(
            "00{AMOUNT_TYPE_CASHBACK}{:03}D{}",
            req.currency,
            digits(54, req.amount_other, 12)?
        );
        set(&mut m, 54, a)?;
    }
    if !req.icc_data.is_empty() {
        set(&mut m, 55, req.icc_data.clone())?;
    }
    Ok(m)
}

fn set_pin(m: &mut Message, pin: &PinData) -> Result<(), Error> {
    // DE 52 is b 64: an ISO 9564-1 format 0 (or 1, 3) block; format 4 (16 bytes) does not fit
    if pin.pin_block.len() != 8 || pin.format == 4 {
        return Err(Error::field_err(
            52,
            format!(
                "a PIN block of format {} ({} bytes) does not fit DE 52 (b 64)",
                pin.format,
                pin.pin_block.len()
            ),
        ));
    }
    set(m, 52, pin.pin_block.clone())?;
    set(m, 53, padded(53, &pin.key_id, 16)?)
}

fn additional_cashback(m: &Message) -> Result<u64, Error> {
    let Some(s) = text(m, 54) else { return Ok(0) };
    if s.len() % 20 != 0 {
        return Err(Error::field_err(
            54,
            "not a sequence of 20-character amounts",
        ));
    }
    let mut total = 0u64;
    for i in (0..s.len()).step_by(20) {
        let a = &s[i..i + 20];
        if &a[2..4] == AMOUNT_TYPE_CASHBACK {
            total = total
                .checked_add(number(54, &a[8..])?)
                .ok_or_else(|| Error::field_err(54, "amounts overflow"))?;
        }
    }
    Ok(total)
}

fn channel(m: &Message, entry: Option<EntryMode>, terminal_type: u8) -> Channel {
    if entry == Some(EntryMode::Ecommerce) || text(m, 25) == Some(POS_CONDITION_ECOMMERCE) {
        Channel::Ecommerce
    } else if text(m, 18) == Some(MCC_ATM) || matches!(terminal_type, 0x14..=0x16) {
        // 9F35 14-16: unattended financial institution terminals (EMV 4.4 Book 4 Annex A1)
        Channel::Atm
    } else {
        Channel::Pos
    }
}

/// Reads a 0100/0200 (or a repeat 0101/0201) as an [`AuthRequest`]. A PIN block's key is
/// DE 53's, else `default_pin_key` (the link's zone PIN key).
pub fn message_to_auth_request(m: &Message, default_pin_key: &str) -> Result<AuthRequest, Error> {
    let message_type = match m.mti.kind() {
        100 => MessageType::AuthorisationRequest,
        200 => MessageType::FinancialRequest,
        _ => return Err(Error::UnsupportedMti(m.mti.to_string())),
    };
    let (pan, expiry) = pan_and_expiry(m)?;
    let transaction_type = transaction_type(m)?;
    let amount = number(4, required(m, 4)?)?;
    let stan = number(11, required(m, 11)?)?;
    let currency = currency(m)?.ok_or_else(|| Error::missing(&m.mti, 49))?;
    if let Some(t) = text(m, 7) {
        check_date_time(7, t)?;
    }
    let entry_mode = text(m, 22)
        .map(|s| {
            number::<u8>(22, &s[..2]).and_then(|c| {
                EntryMode::from_code(c)
                    .ok_or_else(|| Error::field_err(22, format!("unknown PAN entry mode {c:02}")))
            })
        })
        .transpose()?;
    let icc_data = m.get(55).map(<[u8]>::to_vec).unwrap_or_default();
    check_icc(&icc_data)?;
    let terminal_type = icc_tag(&icc_data, 0x9F35)
        .and_then(|v| v.first().copied())
        .unwrap_or(0);
    let terminal_country = match text(m, 19) {
        Some(s) => number(19, s)?,
        None => icc_tag(&icc_data, 0x9F1A)
            .map(|v| hex::encode(v).parse::<u16>().unwrap_or(0))
            .unwrap_or(0),
    };
    let pin = m.get(52).map(|block| PinData {
        pin_block: block.to_vec(),
        format: 0,
        key_id: trimmed(m, 53).unwrap_or_else(|| default_pin_key.to_owned()),
    });
    Ok(AuthRequest {
        message_type,
        pan,
        psn: psn(m)?,
        expiry,
        transaction_type,
        amount,
        amount_other: additional_cashback(m)?,
        currency,
        channel: channel(m, entry_mode, terminal_type),
        terminal_type,
        terminal_country,
        terminal_id: trimmed(m, 41).unwrap_or_default(),
        stan,
        pin,
        icc_data,
        entry_mode,
        transmitted_at: text(m, 7).map(str::to_owned),
        rrn: text(m, 37).map(str::to_owned),
        merchant_id: trimmed(m, 42).unwrap_or_default(),
    })
}

// ------------------------------------------------------------------------------------
// Answers

/// The fields an answer repeats from its request (ISO 8583:1987 Annex, "mandatory echo").
const ECHO: [u8; 14] = [2, 3, 4, 7, 11, 12, 13, 23, 37, 41, 42, 49, 70, 90];

/// An answer to `request` with response code `code`: the response MTI and the request's
/// echoed fields. `None` when the request's MTI expects no answer.
pub fn answer(request: &Message, code: ResponseCode) -> Option<Message> {
    let mut a = Message::new(request.mti.response()?);
    for de in ECHO {
        if let Some(v) = request.get(de) {
            // the value decoded from the same field type, so it is valid
            let _ = a.set(de, v.to_vec());
        }
    }
    let _ = a.set(39, code.0.to_vec());
    Some(a)
}

/// The answer to a message whose MTI is readable but whose body is not: the response MTI
/// and DE 39 = `30` format error. `None` when the MTI expects no answer.
pub fn format_error(mti: Mti) -> Option<Message> {
    let mut a = Message::new(mti.response()?);
    let _ = a.set(39, ResponseCode::FORMAT_ERROR.0.to_vec());
    Some(a)
}

/// The 0110/0210 for `resp` to the request `request`.
pub fn auth_response_to_message(request: &Message, resp: &AuthResponse) -> Result<Message, Error> {
    let mut m = answer(request, resp.response_code)
        .ok_or_else(|| Error::UnsupportedMti(request.mti.to_string()))?;
    if let Some(rrn) = &resp.rrn {
        set(&mut m, 37, rrn.as_str())?;
    }
    if let Some(code) = &resp.auth_code {
        set(&mut m, 38, padded(38, code, 6)?)?;
    }
    let icc = resp.icc_data();
    if !icc.is_empty() {
        set(&mut m, 55, icc)?;
    }
    Ok(m)
}

/// Reads a 0110/0210. `pin_sent` says whether the request carried DE 52: the online PIN
/// verdict is then read from DE 39 (`55` incorrect, `75` blocked, an approval verified).
pub fn message_to_auth_response(m: &Message, pin_sent: bool) -> Result<AuthResponse, Error> {
    if !matches!(m.mti.kind(), 110 | 210) {
        return Err(Error::UnsupportedMti(m.mti.to_string()));
    }
    let response_code = response_code(m)?;
    let mut iad = None;
    let mut scripts = Vec::new();
    if let Some(icc) = m.get(55) {
        let list = emv_tlv::parse_all(icc)
            .map_err(|e| Error::field_err(55, format!("not BER-TLV: {e}")))?;
        for t in list {
            match t.tag().value() {
                0x91 => iad = Some(t.value().to_vec()),
                0x71 | 0x72 => scripts.push(t.raw().to_vec()),
                _ => {}
            }
        }
    }
    let online_pin = match (pin_sent, response_code) {
        (false, _) => None,
        (true, ResponseCode::INCORRECT_PIN) => Some(OnlinePinResult::Incorrect),
        (true, ResponseCode::PIN_TRIES_EXCEEDED) => Some(OnlinePinResult::Blocked),
        (true, c) if c.is_approved() => Some(OnlinePinResult::Verified),
        (true, _) => None,
    };
    Ok(AuthResponse {
        response_code,
        reason: response_code.meaning().to_owned(),
        auth_code: trimmed(m, 38),
        rrn: text(m, 37).map(str::to_owned),
        issuer_authentication_data: iad,
        issuer_scripts: scripts,
        online_pin,
    })
}

fn response_code(m: &Message) -> Result<ResponseCode, Error> {
    let rc = required(m, 39)?;
    ResponseCode::parse(rc).map_err(|e| Error::field_err(39, e))
}

// ------------------------------------------------------------------------------------
// Advices and reversals

/// The MTI an advice travels as: 0400 reversal request, 0420 reversal advice, 0220
/// completion of a financial (0200) transaction, else 0120.
pub fn advice_mti(advice: &Advice) -> Mti {
    match (advice.reason, advice.request) {
        (AdviceReason::Reversal, true) => Mti::lit(b"0400"),
        (AdviceReason::Reversal, false) => Mti::lit(b"0420"),
        (AdviceReason::Completion, _) => match advice.original.as_ref().map(|o| o.mti.as_str()) {
            Some("0200") => Mti::lit(b"0220"),
            _ => Mti::lit(b"0120"),
        },
    }
}

/// DE 90: original MTI (4) ‖ STAN (6) ‖ transmission date and time (10) ‖ acquiring
/// institution (11) ‖ forwarding institution (11) (ISO 8583:1987 DE 90, n 42).
pub fn original_data_to_field(o: &OriginalData) -> Result<String, Error> {
    let id = |de: u8, s: &str| -> Result<String, Error> {
        if s.len() > 11 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::field_err(
                90,
                format!("DE {de} {s:?} is not up to 11 digits"),
            ));
        }
        Ok(format!("{s:0>11}"))
    };
    let s = format!(
        "{}{}{}{}{}",
        Mti::parse(o.mti.as_bytes()).map_err(|e| Error::field_err(90, e.to_string()))?,
        digits(90, u64::from(o.stan), 6)?,
        o.transmitted_at,
        id(32, &o.acquirer)?,
        id(33, &o.forwarder)?
    );
    check_date_time(90, &o.transmitted_at)?;
    Ok(s)
}

fn original_data(s: &str) -> Result<OriginalData, Error> {
    // the codec has checked: 42 digits
    if s.len() != 42 {
        return Err(Error::field_err(90, "not 42 digits"));
    }
    let mti = Mti::parse(&s.as_bytes()[..4])?;
    if !matches!(mti.kind(), 100 | 200) {
        return Err(Error::field_err(
            90,
            format!("original message type {mti} is not an authorisation (0100/0200)"),
        ));
    }
    check_date_time(90, &s[10..20])?;
    Ok(OriginalData {
        mti: mti.to_string(),
        stan: number(90, &s[4..10])?,
        transmitted_at: s[10..20].to_owned(),
        acquirer: s[20..31].to_owned(),
        forwarder: s[31..42].to_owned(),
    })
}

/// Encodes an advice (0120/0220/0400/0420, see [`advice_mti`]).
pub fn advice_to_message(advice: &Advice) -> Result<Message, Error> {
    let mut m = Message::new(advice_mti(advice));
    set(&mut m, 2, advice.pan.as_str())?;
    if let Some(a) = advice.amount {
        set(&mut m, 4, digits(4, a, 12)?)?;
    }
    if let Some(t) = &advice.transmitted_at {
        set(&mut m, 7, t.as_str())?;
    }
    set(&mut m, 11, digits(11, u64::from(advice.stan), 6)?)?;
    if let Some(p) = &advice.psn {
        set(&mut m, 23, format!("0{p:0>2}"))?;
    }
    if let Some(rrn) = &advice.rrn {
        set(&mut m, 37, rrn.as_str())?;
    }
    if !advice.terminal_id.is_empty() {
        set(&mut m, 41, padded(41, &advice.terminal_id, 8)?)?;
    }
    if let Some(c) = advice.currency {
        set(&mut m, 49, digits(49, u64::from(c), 3)?)?;
    }
    if !advice.icc_data.is_empty() {
        set(&mut m, 55, advice.icc_data.clone())?;
    }
    if let Some(o) = &advice.original {
        set(&mut m, 90, original_data_to_field(o)?)?;
    }
    Ok(m)
}

/// Reads a 0120/0220 completion advice, a 0400 reversal request or a 0420 reversal advice
/// (and their repeats). The STAN is the original's: DE 90's when present, else DE 11.
pub fn message_to_advice(m: &Message) -> Result<Advice, Error> {
    let (reason, request) = match m.mti.kind() {
        120 | 220 => (AdviceReason::Completion, false),
        400 => (AdviceReason::Reversal, true),
        420 => (AdviceReason::Reversal, false),
        _ => return Err(Error::UnsupportedMti(m.mti.to_string())),
    };
    let (pan, _) = pan_and_expiry(m)?;
    let own_stan: u32 = number(11, required(m, 11)?)?;
    let original = text(m, 90).map(original_data).transpose()?;
    if let Some(t) = text(m, 7) {
        check_date_time(7, t)?;
    }
    if let Some(r) = text(m, 95) {
        // DE 95 (an 42): actual amounts after a partial reversal; zeros reverse it all
        if !r.bytes().all(|b| b == b'0' || b == b' ') && reason == AdviceReason::Reversal {
            return Err(Error::Unsupported {
                field: 95,
                reason: "partial reversals (a non-zero replacement amount) are not supported"
                    .into(),
            });
        }
    }
    let icc_data = m.get(55).map(<[u8]>::to_vec).unwrap_or_default();
    check_icc(&icc_data)?;
    Ok(Advice {
        reason,
        request,
        pan,
        psn: psn(m)?,
        stan: original.as_ref().map_or(own_stan, |o| o.stan),
        icc_data,
        rrn: text(m, 37).map(str::to_owned),
        terminal_id: trimmed(m, 41).unwrap_or_default(),
        amount: text(m, 4).map(|s| number(4, s)).transpose()?,
        currency: currency(m)?,
        transmitted_at: text(m, 7).map(str::to_owned),
        original,
    })
}

/// The 0130/0230/0410/0430 for `resp` to `request`.
pub fn advice_response_to_message(
    request: &Message,
    resp: &AdviceResponse,
) -> Result<Message, Error> {
    answer(request, resp.response_code)
        .ok_or_else(|| Error::UnsupportedMti(request.mti.to_string()))
}

/// Reads a 0130/0230/0410/0430. The wire does not say whether this message gave the amount
/// back or an earlier one did: `reversed` is an approved answer to a reversal.
pub fn message_to_advice_response(m: &Message) -> Result<AdviceResponse, Error> {
    let reversal = match m.mti.kind() {
        130 | 230 => false,
        410 | 430 => true,
        _ => return Err(Error::UnsupportedMti(m.mti.to_string())),
    };
    let response_code = response_code(m)?;
    Ok(AdviceResponse {
        response_code,
        reversed: reversal && response_code.is_approved(),
    })
}

// ------------------------------------------------------------------------------------
// Network management and the request dispatcher

/// An 0800 with DE 7, DE 11 and DE 70.
pub fn network_request(
    code: NetworkCode,
    stan: u32,
    transmitted_at: &str,
) -> Result<Message, Error> {
    let mut m = Message::new(Mti::lit(b"0800"));
    set(&mut m, 7, transmitted_at)?;
    set(&mut m, 11, digits(11, u64::from(stan), 6)?)?;
    set(&mut m, 70, code.code())?;
    Ok(m)
}

/// Reads a request message: what it asks the issuer. Answers (`0110`, ...) and message
/// types this host does not take are [`Error::UnsupportedMti`].
pub fn parse_request(m: &Message, default_pin_key: &str) -> Result<Request, Error> {
    match m.mti.kind() {
        100 | 200 => message_to_auth_request(m, default_pin_key).map(Request::Authorisation),
        120 | 220 | 400 | 420 => message_to_advice(m).map(Request::Advice),
        800 => {
            required(m, 11)?;
            let code = required(m, 70)?;
            NetworkCode::from_code(code)
                .map(Request::Network)
                .ok_or_else(|| Error::Unsupported {
                    field: 70,
                    reason: format!(
                        "network management code {code} (this host takes 001, 002, 301)"
                    ),
                })
        }
        _ => Err(Error::UnsupportedMti(m.mti.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AuthRequest {
        AuthRequest {
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
                pin_block: vec![0x12, 0xAB, 0, 0, 0, 0, 0, 1],
                format: 0,
                key_id: "TPK-TEST-01".into(),
            }),
            icc_data: vec![0x9F, 0x35, 0x01, 0x14, 0x9F, 0x36, 0x02, 0x00, 0x07],
            entry_mode: Some(EntryMode::Chip),
            transmitted_at: Some("0115120000".into()),
            rrn: Some("612345000001".into()),
            merchant_id: "MERCHANT0000001".into(),
        }
    }

    #[test]
    fn auth_request_round_trips_through_both_layouts() {
        for format in [crate::Format::Ascii, crate::Format::Binary] {
            let mut req = request();
            let m = auth_request_to_message(&req).unwrap();
            assert_eq!(m.mti.as_str(), "0200");
            assert_eq!(m.text(3), Some("010000"));
            assert_eq!(m.text(22), Some("051"));
            assert_eq!(m.text(53), Some("TPK-TEST-01     "));
            let back = Message::decode(format, &m.encode(format).unwrap()).unwrap();
            assert_eq!(message_to_auth_request(&back, "OTHER").unwrap(), req);
            // without DE 53 the link's key; e-commerce by DE 25; cashback in DE 54
            req.channel = Channel::Ecommerce;
            req.amount_other = 500;
            req.transaction_type = TransactionType::Cashback;
            req.icc_data.clear();
            req.terminal_type = 0;
            let mut m = auth_request_to_message(&req).unwrap();
            m.remove(53);
            let got = message_to_auth_request(&m, "TPK-LINK").unwrap();
            assert_eq!(got.pin.unwrap().key_id, "TPK-LINK");
            assert_eq!(got.channel, Channel::Ecommerce);
            assert_eq!(
                (got.amount_other, got.transaction_type),
                (500, TransactionType::Cashback)
            );
        }
    }

    #[test]
    fn track2_gives_pan_and_expiry() {
        let mut m = auth_request_to_message(&request()).unwrap();
        m.remove(2);
        m.remove(14);
        m.set(35, "4761739001010010=29122010000").unwrap();
        let r = message_to_auth_request(&m, "K").unwrap();
        assert_eq!(
            (r.pan.as_str(), r.expiry.as_deref()),
            ("4761739001010010", Some("2912"))
        );
        m.set(2, "4761739001010028").unwrap();
        assert_eq!(
            message_to_auth_request(&m, "K").unwrap_err().field(),
            Some(35)
        );
    }

    #[test]
    fn missing_and_bad_fields_are_named() {
        let mut m = auth_request_to_message(&request()).unwrap();
        m.remove(4);
        let e = message_to_auth_request(&m, "K").unwrap_err();
        assert_eq!(e.field(), Some(4));
        assert!(e.is_format_error());
        let mut m = auth_request_to_message(&request()).unwrap();
        m.set(3, "990000").unwrap();
        let e = message_to_auth_request(&m, "K").unwrap_err();
        assert!(matches!(e, Error::Unsupported { field: 3, .. }), "{e}");
        let mut m = auth_request_to_message(&request()).unwrap();
        m.set(7, "1399120000").unwrap();
        assert_eq!(
            message_to_auth_request(&m, "K").unwrap_err().field(),
            Some(7)
        );
        let mut p = request();
        p.pin = Some(PinData {
            pin_block: vec![0; 16],
            format: 4,
            key_id: "TPK-AES-TEST-01".into(),
        });
        assert_eq!(auth_request_to_message(&p).unwrap_err().field(), Some(52));
    }

    #[test]
    fn auth_response_carries_91_and_scripts() {
        let req = auth_request_to_message(&request()).unwrap();
        let resp = AuthResponse {
            response_code: ResponseCode::APPROVED,
            reason: "approved".into(),
            auth_code: Some("A1B2C3".into()),
            rrn: Some("612345000001".into()),
            issuer_authentication_data: Some(vec![1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x30]),
            issuer_scripts: vec![vec![0x72, 0x04, 0x86, 0x02, 0x84, 0x24]],
            online_pin: Some(OnlinePinResult::Verified),
        };
        let m = auth_response_to_message(&req, &resp).unwrap();
        assert_eq!(m.mti.as_str(), "0210");
        assert_eq!(m.text(11), Some("000007"));
        assert_eq!(m.text(39), Some("00"));
        let back = message_to_auth_response(&m, true).unwrap();
        assert_eq!(back.issuer_scripts, resp.issuer_scripts);
        assert_eq!(
            back.issuer_authentication_data,
            resp.issuer_authentication_data
        );
        assert_eq!(back.online_pin, Some(OnlinePinResult::Verified));
        assert_eq!(back.auth_code.as_deref(), Some("A1B2C3"));
    }

    #[test]
    fn advices_and_reversals() {
        let original = OriginalData {
            mti: "0200".into(),
            stan: 7,
            transmitted_at: "0115120000".into(),
            acquirer: String::new(),
            forwarder: String::new(),
        };
        let mut advice = Advice {
            reason: AdviceReason::Reversal,
            request: true,
            pan: "4761739001010010".into(),
            psn: Some("01".into()),
            stan: 7,
            icc_data: vec![0x9F, 0x5B, 0x05, 0x20, 0, 0, 0, 0],
            rrn: Some("612345000001".into()),
            terminal_id: "ATM00001".into(),
            amount: Some(2000),
            currency: Some(978),
            transmitted_at: Some("0115120100".into()),
            original: Some(OriginalData {
                acquirer: "00000000000".into(),
                forwarder: "00000000000".into(),
                ..original.clone()
            }),
        };
        let m = advice_to_message(&advice).unwrap();
        assert_eq!(m.mti.as_str(), "0400");
        assert_eq!(
            m.text(90),
            Some("020000000701151200000000000000000000000000")
        );
        assert_eq!(message_to_advice(&m).unwrap(), advice);
        advice.request = false;
        assert_eq!(advice_mti(&advice).as_str(), "0420");
        advice.reason = AdviceReason::Completion;
        assert_eq!(advice_mti(&advice).as_str(), "0220");
        advice.original = None;
        assert_eq!(advice_mti(&advice).as_str(), "0120");
        // a partial reversal is refused as unsupported
        let mut m = advice_to_message(&Advice {
            reason: AdviceReason::Reversal,
            ..advice.clone()
        })
        .unwrap();
        m.set(95, format!("{:0<42}", "000000001000")).unwrap();
        assert!(matches!(
            message_to_advice(&m),
            Err(Error::Unsupported { field: 95, .. })
        ));
        let a = answer(&m, ResponseCode::NO_ORIGINAL).unwrap();
        assert_eq!(a.mti.as_str(), "0430");
        let r = message_to_advice_response(&a).unwrap();
        assert_eq!(
            (r.response_code, r.reversed),
            (ResponseCode::NO_ORIGINAL, false)
        );
    }

    #[test]
    fn network_management() {
        let m = network_request(NetworkCode::Echo, 3, "0115120000").unwrap();
        assert_eq!(
            parse_request(&m, "K").unwrap(),
            Request::Network(NetworkCode::Echo)
        );
        let a = answer(&m, ResponseCode::APPROVED).unwrap();
        assert_eq!(
            (a.mti.as_str(), a.text(70), a.text(39)),
            ("0810", Some("301"), Some("00"))
        );
        let mut m = m;
        m.set(70, "999").unwrap();
        assert!(matches!(
            parse_request(&m, "K"),
            Err(Error::Unsupported { field: 70, .. })
        ));
        let e = format_error(crate::Mti::from_number(100).unwrap()).unwrap();
        assert_eq!((e.mti.as_str(), e.text(39)), ("0110", Some("30")));
    }
}
