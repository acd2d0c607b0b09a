//! Command APDUs: a borrowing parser for the card side ([`CommandView`]) and an owned
//! builder/encoder for the terminal and the issuer host ([`Command`]).
//!
//! The body forms follow ISO/IEC 7816-4 §5.1 (Table 1 and the decoding rules that
//! follow it); EMV 4.4 Book 1 (application layer) and Book 3 §6.3 use the same structure (EMV itself
//! only ever sends short APDUs, but the parser accepts every case):
//!
//! | case | body after `CLA INS P1 P2`             | Nc        | Ne                        |
//! |------|----------------------------------------|-----------|---------------------------|
//! | 1    | (empty)                                | 0         | absent                    |
//! | 2S   | `Le`                                   | 0         | 1..=255, `00` = 256       |
//! | 3S   | `Lc data`  (Lc = 1..=255)              | Lc        | absent                    |
//! | 4S   | `Lc data Le`                           | Lc        | 1..=255, `00` = 256       |
//! | 2E   | `00 Le1 Le2`                           | 0         | 1..=65535, `0000` = 65536 |
//! | 3E   | `00 Lc1 Lc2 data` (Lc = 1..=65535)     | Lc        | absent                    |
//! | 4E   | `00 Lc1 Lc2 data Le1 Le2`              | Lc        | 1..=65535, `0000` = 65536 |
//!
//! Given the fields and the length form, the encoding is unique, so
//! `CommandView::parse` is injective: re-encoding a parsed view in the same form
//! ([`Command::encode`] with [`LengthForm::Extended`] when [`CommandView::extended`])
//! gives back the input bytes.

use crate::cla::Cla;
use crate::error::ApduError;
use crate::known::KnownCommand;

/// Largest Nc an APDU can carry (extended Lc `FFFF`).
pub const MAX_NC: usize = 65_535;
/// Largest Ne an APDU can ask for (extended Le `0000`).
pub const MAX_NE: usize = 65_536;
/// Largest Nc in a short APDU.
pub const MAX_SHORT_NC: usize = 255;
/// Largest Ne in a short APDU (short Le `00`).
pub const MAX_SHORT_NE: usize = 256;

/// Ne encoded by a short Le byte: `00` means 256.
#[must_use]
pub const fn ne_from_short_le(le: u8) -> usize {
    if le == 0 { MAX_SHORT_NE } else { le as usize }
}

/// Ne encoded by an extended Le field: `0000` means 65536.
#[must_use]
pub const fn ne_from_extended_le(le: u16) -> usize {
    if le == 0 { MAX_NE } else { le as usize }
}

/// The short Le byte for `ne` (256 → `00`), or `None` if `ne` is not 1..=256.
#[must_use]
pub const fn short_le(ne: usize) -> Option<u8> {
    match ne {
        MAX_SHORT_NE => Some(0),
        1..=255 => Some(ne as u8),
        _ => None,
    }
}

/// The ISO/IEC 7816-4 case of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApduCase {
    /// No data, no response data expected.
    Case1,
    /// Short Le only.
    Case2Short,
    /// Short Lc and data.
    Case3Short,
    /// Short Lc, data, short Le.
    Case4Short,
    /// Extended Le only.
    Case2Extended,
    /// Extended Lc and data.
    Case3Extended,
    /// Extended Lc, data, extended Le.
    Case4Extended,
}

impl ApduCase {
    /// Determines the case from the presence of data and Ne and the length form.
    /// A command with neither data nor Ne is case 1 whatever `extended` says.
    #[must_use]
    pub const fn of(has_data: bool, has_ne: bool, extended: bool) -> Self {
        match (has_data, has_ne, extended) {
            (false, false, _) => Self::Case1,
            (false, true, false) => Self::Case2Short,
            (true, false, false) => Self::Case3Short,
            (true, true, false) => Self::Case4Short,
            (false, true, true) => Self::Case2Extended,
            (true, false, true) => Self::Case3Extended,
            (true, true, true) => Self::Case4Extended,
        }
    }

    /// 1, 2, 3 or 4.
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            Self::Case1 => 1,
            Self::Case2Short | Self::Case2Extended => 2,
            Self::Case3Short | Self::Case3Extended => 3,
            Self::Case4Short | Self::Case4Extended => 4,
        }
    }

    /// Whether the length fields are extended.
    #[must_use]
    pub const fn is_extended(self) -> bool {
        matches!(
            self,
            Self::Case2Extended | Self::Case3Extended | Self::Case4Extended
        )
    }

    /// Whether the command carries data (cases 3 and 4).
    #[must_use]
    pub const fn has_data(self) -> bool {
        matches!(self.number(), 3 | 4)
    }

    /// Whether the command expects response data (cases 2 and 4).
    #[must_use]
    pub const fn expects_data(self) -> bool {
        matches!(self.number(), 2 | 4)
    }
}

/// Which length fields [`Command::encode`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LengthForm {
    /// Short unless Nc > 255 or Ne > 256 (then extended for both fields).
    #[default]
    Auto,
    /// Short; an error if the command needs extended lengths.
    Short,
    /// Extended, even when short would do (a case 1 command has no length fields and
    /// stays 4 bytes).
    Extended,
}

/// A parsed C-APDU borrowing its data from the input (the card side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandView<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// The command data field (Nc = `data.len()` bytes; empty in cases 1 and 2).
    pub data: &'a [u8],
    /// Ne, the maximum number of response data bytes expected: `None` in cases 1 and 3,
    /// otherwise 1..=65536.
    pub ne: Option<usize>,
    /// Whether the length fields were extended (cases 2E, 3E, 4E).
    pub extended: bool,
}

impl<'a> CommandView<'a> {
    /// Parses a C-APDU. Every malformed input is an [`ApduError`] naming the offset;
    /// nothing panics.
    ///
    /// ```
    /// use emv_apdu::CommandView;
    /// let gpo = CommandView::parse(&[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00])?;
    /// assert_eq!((gpo.cla, gpo.ins), (0x80, 0xA8));
    /// assert_eq!(gpo.data, &[0x83, 0x00]);
    /// assert_eq!(gpo.ne, Some(256));
    /// # Ok::<(), emv_apdu::ApduError>(())
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ApduError> {
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(ApduError::CommandTooShort { len: bytes.len() });
        };
        let (data, ne, extended): (&'a [u8], Option<usize>, bool) = match body {
            // Case 1.
            [] => (&[], None, false),
            // Case 2S.
            [le] => (&[], Some(ne_from_short_le(*le)), false),
            // B5 = 00 followed by more bytes: extended length fields.
            [0, rest @ ..] => {
                let (data, ne) = parse_extended(rest)?;
                (data, ne, true)
            }
            // Short Lc = 1..=255.
            [lc, rest @ ..] => {
                let (data, ne) = parse_short(usize::from(*lc), rest)?;
                (data, ne, false)
            }
        };
        Ok(Self {
            cla: *cla,
            ins: *ins,
            p1: *p1,
            p2: *p2,
            data,
            ne,
            extended,
        })
    }

    /// The ISO case.
    #[must_use]
    pub const fn case(&self) -> ApduCase {
        ApduCase::of(!self.data.is_empty(), self.ne.is_some(), self.extended)
    }

    /// The class byte with its accessors.
    #[must_use]
    pub const fn class(&self) -> Cla {
        Cla(self.cla)
    }

    /// `CLA INS P1 P2`.
    #[must_use]
    pub const fn header(&self) -> [u8; 4] {
        [self.cla, self.ins, self.p1, self.p2]
    }

    /// P1 P2 as a big-endian `u16` (the tag of GET DATA / PUT DATA).
    #[must_use]
    pub const fn p1p2(&self) -> u16 {
        u16::from_be_bytes([self.p1, self.p2])
    }

    /// The command this is, if EMV defines it (see [`KnownCommand::identify`]).
    #[must_use]
    pub fn identify(&self) -> Option<KnownCommand> {
        KnownCommand::identify(self.cla, self.ins, self.p1, self.p2)
    }

    /// An owned copy (the length form is not kept: [`Command::to_bytes`] picks it).
    #[must_use]
    pub fn to_command(&self) -> Command {
        Command {
            cla: self.cla,
            ins: self.ins,
            p1: self.p1,
            p2: self.p2,
            data: self.data.to_vec(),
            ne: self.ne,
        }
    }

    /// Re-encodes in the same length form as parsed; for any successfully parsed input
    /// this gives the input bytes back.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        let form = if self.extended {
            LengthForm::Extended
        } else {
            LengthForm::Short
        };
        encode_parts(self.header(), self.data, self.ne, form)
    }
}

/// Short form body after a non-zero Lc at offset 4: `data` (case 3S) or `data Le` (4S).
fn parse_short(lc: usize, rest: &[u8]) -> Result<(&[u8], Option<usize>), ApduError> {
    const LC_OFFSET: usize = 4;
    if rest.len() < lc {
        return Err(ApduError::DataTruncated {
            lc,
            lc_offset: LC_OFFSET,
            available: rest.len(),
        });
    }
    let (data, tail) = rest.split_at(lc);
    match tail {
        [] => Ok((data, None)),
        [le] => Ok((data, Some(ne_from_short_le(*le)))),
        [_, extra @ ..] => Err(ApduError::TrailingBytes {
            offset: LC_OFFSET + 1 + lc + 1,
            count: extra.len(),
        }),
    }
}

/// Extended form body after the `00` at offset 4 (`rest` is non-empty).
fn parse_extended(rest: &[u8]) -> Result<(&[u8], Option<usize>), ApduError> {
    const LC_OFFSET: usize = 5;
    const DATA_OFFSET: usize = 7;
    match rest {
        [] | [_] => Err(ApduError::ShortLcZero),
        // Case 2E.
        [hi, lo] => Ok((
            &[],
            Some(ne_from_extended_le(u16::from_be_bytes([*hi, *lo]))),
        )),
        [hi, lo, after_lc @ ..] => {
            let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
            if lc == 0 {
                return Err(ApduError::ExtendedLcZero { offset: LC_OFFSET });
            }
            if after_lc.len() < lc {
                return Err(ApduError::DataTruncated {
                    lc,
                    lc_offset: LC_OFFSET,
                    available: after_lc.len(),
                });
            }
            let (data, tail) = after_lc.split_at(lc);
            match tail {
                // Case 3E.
                [] => Ok((data, None)),
                [_] => Err(ApduError::ExtendedLeTruncated {
                    offset: DATA_OFFSET + lc,
                }),
                // Case 4E.
                [hi, lo] => Ok((
                    data,
                    Some(ne_from_extended_le(u16::from_be_bytes([*hi, *lo]))),
                )),
                [_, _, extra @ ..] => Err(ApduError::TrailingBytes {
                    offset: DATA_OFFSET + lc + 2,
                    count: extra.len(),
                }),
            }
        }
    }
}

/// An owned C-APDU (the terminal and issuer-host side).
///
/// Build one with the functions in [`crate::commands`], or by hand; encode it with
/// [`to_bytes`](Self::to_bytes), which picks short or extended length fields.
///
/// ```
/// use emv_apdu::{Command, commands};
/// let bytes = commands::get_processing_options(&[]).to_bytes()?;
/// assert_eq!(bytes, [0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00]);
/// assert_eq!(Command::parse(&bytes)?, commands::get_processing_options(&[]));
/// # Ok::<(), emv_apdu::ApduError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (at most 65535 bytes can be encoded).
    pub data: Vec<u8>,
    /// Ne: `None` (no response data expected) or 1..=65536 (256 encodes as short Le
    /// `00`, 65536 as extended Le `0000`).
    pub ne: Option<usize>,
}

impl Command {
    /// A case 1 command (header only).
    #[must_use]
    pub const fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            ne: None,
        }
    }

    /// Sets the data field.
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets Ne (1..=65536; checked when encoding).
    #[must_use]
    pub const fn with_ne(mut self, ne: usize) -> Self {
        self.ne = Some(ne);
        self
    }

    /// Sets Ne from a short Le byte (`00` = 256): what GET RESPONSE after `61xx` and the
    /// re-send after `6Cxx` use.
    #[must_use]
    pub const fn with_le(mut self, le: u8) -> Self {
        self.ne = Some(ne_from_short_le(le));
        self
    }

    /// Replaces the class byte (e.g. [`Cla::SM_FORMAT1`] for a format 1 script command).
    #[must_use]
    pub const fn with_cla(mut self, cla: u8) -> Self {
        self.cla = cla;
        self
    }

    /// Parses a C-APDU into an owned command.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        CommandView::parse(bytes).map(|v| v.to_command())
    }

    /// The class byte with its accessors.
    #[must_use]
    pub const fn class(&self) -> Cla {
        Cla(self.cla)
    }

    /// `CLA INS P1 P2`.
    #[must_use]
    pub const fn header(&self) -> [u8; 4] {
        [self.cla, self.ins, self.p1, self.p2]
    }

    /// Whether encoding needs extended length fields (Nc > 255 or Ne > 256).
    #[must_use]
    pub const fn needs_extended(&self) -> bool {
        needs_extended(self.data.len(), self.ne)
    }

    /// The ISO case [`to_bytes`](Self::to_bytes) produces.
    #[must_use]
    pub const fn case(&self) -> ApduCase {
        ApduCase::of(
            !self.data.is_empty(),
            self.ne.is_some(),
            self.needs_extended(),
        )
    }

    /// The command this is, if EMV defines it (see [`KnownCommand::identify`]).
    #[must_use]
    pub fn identify(&self) -> Option<KnownCommand> {
        KnownCommand::identify(self.cla, self.ins, self.p1, self.p2)
    }

    /// Encodes with short length fields when they suffice, extended otherwise
    /// (ISO/IEC 7816-4 §5.1). Fails if the data exceed 65535 bytes or Ne is 0 or above
    /// 65536.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        self.encode(LengthForm::Auto)
    }

    /// Encodes with the chosen length form.
    pub fn encode(&self, form: LengthForm) -> Result<Vec<u8>, ApduError> {
        encode_parts(self.header(), &self.data, self.ne, form)
    }

    /// The encoded header and Lc field (auto length form) without data and Le: the
    /// prefix that issuer-script MACs cover (e.g. `84 24 00 00 08` for a PIN UNBLOCK
    /// whose data is the 8-byte MAC). Without data this is just the header.
    pub fn header_and_lc(&self) -> Result<Vec<u8>, ApduError> {
        let mut bytes = self.to_bytes()?;
        let len = match (self.data.is_empty(), self.needs_extended()) {
            (true, _) => 4,
            (false, false) => 5,
            (false, true) => 7,
        };
        bytes.truncate(len);
        Ok(bytes)
    }
}

impl TryFrom<&[u8]> for Command {
    type Error = ApduError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Self::parse(bytes)
    }
}

impl From<CommandView<'_>> for Command {
    fn from(view: CommandView<'_>) -> Self {
        view.to_command()
    }
}

const fn needs_extended(nc: usize, ne: Option<usize>) -> bool {
    let ne_big = match ne {
        Some(ne) => ne > MAX_SHORT_NE,
        None => false,
    };
    nc > MAX_SHORT_NC || ne_big
}

fn encode_parts(
    header: [u8; 4],
    data: &[u8],
    ne: Option<usize>,
    form: LengthForm,
) -> Result<Vec<u8>, ApduError> {
    let nc = data.len();
    if nc > MAX_NC {
        return Err(ApduError::DataTooLong { len: nc });
    }
    if let Some(ne) = ne
        && !(1..=MAX_NE).contains(&ne)
    {
        return Err(ApduError::InvalidNe { ne });
    }
    let extended = match form {
        LengthForm::Auto => needs_extended(nc, ne),
        LengthForm::Extended => true,
        LengthForm::Short => {
            if needs_extended(nc, ne) {
                return Err(ApduError::NeedsExtendedLength { nc, ne });
            }
            false
        }
    };

    let mut out = Vec::with_capacity(4 + 3 + nc + 2);
    out.extend_from_slice(&header);
    if extended {
        // Extended Lc and Le are both introduced by one 00 byte (ISO/IEC 7816-4 §5.1):
        // case 2E `00 Le1 Le2`, 3E `00 Lc1 Lc2 data`, 4E `00 Lc1 Lc2 data Le1 Le2`.
        // Lengths are big-endian (the bug in apdu 0.4 wrote them little-endian).
        if nc > 0 || ne.is_some() {
            out.push(0x00);
        }
        if nc > 0 {
            out.extend_from_slice(&u16_field(nc));
            out.extend_from_slice(data);
        }
        if let Some(ne) = ne {
            // 65536 is encoded as 0000.
            out.extend_from_slice(&u16_field(ne % MAX_NE));
        }
    } else {
        if nc > 0 {
            out.push(u8_field(nc));
            out.extend_from_slice(data);
        }
        if let Some(ne) = ne {
            // 256 is encoded as 00.
            out.push(u8_field(ne % MAX_SHORT_NE));
        }
    }
    Ok(out)
}

/// The low byte of a value already checked to be < 256.
const fn u8_field(v: usize) -> u8 {
    (v & 0xFF) as u8
}

/// The low two bytes, big-endian, of a value already checked to be < 65536.
const fn u16_field(v: usize) -> [u8; 2] {
    ((v & 0xFFFF) as u16).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn cmd(data: &[u8], ne: Option<usize>) -> Command {
        Command {
            cla: 0x00,
            ins: 0xB0,
            p1: 0x12,
            p2: 0x34,
            data: data.to_vec(),
            ne,
        }
    }

    /// Encodes, checks the bytes, parses back, checks the view and the round trip.
    fn check(c: &Command, expected: &[u8], case: ApduCase) {
        let bytes = c.to_bytes().unwrap();
        assert_eq!(bytes, expected);
        assert_eq!(c.case(), case);
        let v = CommandView::parse(&bytes).unwrap();
        assert_eq!(v.case(), case);
        assert_eq!(v.extended, case.is_extended());
        assert_eq!(v.data, &c.data[..]);
        assert_eq!(v.ne, c.ne);
        assert_eq!(v.to_command(), *c);
        assert_eq!(v.to_bytes().unwrap(), expected);
    }

    #[test]
    fn case1() {
        check(&cmd(&[], None), &hex!("00B01234"), ApduCase::Case1);
    }

    #[test]
    fn case2_short() {
        check(
            &cmd(&[], Some(1)),
            &hex!("00B0123401"),
            ApduCase::Case2Short,
        );
        check(
            &cmd(&[], Some(255)),
            &hex!("00B01234FF"),
            ApduCase::Case2Short,
        );
        check(
            &cmd(&[], Some(256)),
            &hex!("00B0123400"),
            ApduCase::Case2Short,
        );
    }

    #[test]
    fn case3_short() {
        check(
            &cmd(&[0xAA], None),
            &hex!("00B0123401AA"),
            ApduCase::Case3Short,
        );
        let data = [0x5A; 255];
        let mut expected = hex!("00B01234FF").to_vec();
        expected.extend_from_slice(&data);
        check(&cmd(&data, None), &expected, ApduCase::Case3Short);
    }

    #[test]
    fn case4_short() {
        check(
            &cmd(&[0xAA, 0xBB], Some(256)),
            &hex!("00B0123402AABB00"),
            ApduCase::Case4Short,
        );
        check(
            &cmd(&[0xAA], Some(1)),
            &hex!("00B0123401AA01"),
            ApduCase::Case4Short,
        );
    }

    #[test]
    fn case2_extended() {
        check(
            &cmd(&[], Some(257)),
            &hex!("00B01234000101"),
            ApduCase::Case2Extended,
        );
        check(
            &cmd(&[], Some(65535)),
            &hex!("00B0123400FFFF"),
            ApduCase::Case2Extended,
        );
        check(
            &cmd(&[], Some(65536)),
            &hex!("00B01234000000"),
            ApduCase::Case2Extended,
        );
    }

    #[test]
    fn case3_extended() {
        let data: Vec<u8> = (0..300u16).map(|i| (i % 251) as u8).collect();
        let mut expected = hex!("00B0123400012C").to_vec();
        expected.extend_from_slice(&data);
        check(&cmd(&data, None), &expected, ApduCase::Case3Extended);
    }

    #[test]
    fn case4_extended() {
        // Big data forces extended Le even for a small Ne.
        let data = vec![0x11; 256];
        let mut expected = hex!("00B01234000100").to_vec();
        expected.extend_from_slice(&data);
        expected.extend_from_slice(&hex!("0100"));
        check(&cmd(&data, Some(256)), &expected, ApduCase::Case4Extended);
        // Big Ne forces extended Lc even for small data.
        check(
            &cmd(&[0xAA], Some(65536)),
            &hex!("00B01234000001AA0000"),
            ApduCase::Case4Extended,
        );
        check(
            &cmd(&[0xAA], Some(257)),
            &hex!("00B01234000001AA0101"),
            ApduCase::Case4Extended,
        );
    }

    #[test]
    fn maximum_extended_data() {
        let data = vec![0xEE; MAX_NC];
        let c = cmd(&data, Some(MAX_NE));
        let bytes = c.to_bytes().unwrap();
        assert_eq!(bytes.len(), 4 + 3 + MAX_NC + 2);
        assert_eq!(&bytes[4..7], &hex!("00FFFF"));
        assert_eq!(&bytes[bytes.len() - 2..], &hex!("0000"));
        assert_eq!(Command::parse(&bytes).unwrap(), c);
    }

    #[test]
    fn forced_forms() {
        let c = cmd(&[0xAA], Some(256));
        assert_eq!(
            c.encode(LengthForm::Extended).unwrap(),
            hex!("00B01234000001AA0100")
        );
        assert_eq!(c.encode(LengthForm::Short).unwrap(), hex!("00B0123401AA00"));
        assert_eq!(
            cmd(&[], None).encode(LengthForm::Extended).unwrap(),
            hex!("00B01234")
        );
        assert_eq!(
            cmd(&[], Some(5)).encode(LengthForm::Extended).unwrap(),
            hex!("00B01234000005")
        );
        assert_eq!(
            cmd(&[], Some(257)).encode(LengthForm::Short),
            Err(ApduError::NeedsExtendedLength {
                nc: 0,
                ne: Some(257)
            })
        );
        // A non-canonical extended encoding parses, and re-encodes to the same bytes in
        // its own form but to short bytes through the owned command.
        let ext = hex!("00B01234000001AA0100");
        let v = CommandView::parse(&ext).unwrap();
        assert!(v.extended);
        assert_eq!(v.case(), ApduCase::Case4Extended);
        assert_eq!(v.to_bytes().unwrap(), ext);
        assert_eq!(v.to_command().to_bytes().unwrap(), hex!("00B0123401AA00"));
    }

    #[test]
    fn encode_errors() {
        assert_eq!(
            cmd(&vec![0; MAX_NC + 1], None).to_bytes(),
            Err(ApduError::DataTooLong { len: MAX_NC + 1 })
        );
        assert_eq!(
            cmd(&[], Some(0)).to_bytes(),
            Err(ApduError::InvalidNe { ne: 0 })
        );
        assert_eq!(
            cmd(&[], Some(MAX_NE + 1)).to_bytes(),
            Err(ApduError::InvalidNe { ne: MAX_NE + 1 })
        );
    }

    #[test]
    fn malformed() {
        use ApduError as E;
        let cases: &[(&[u8], ApduError)] = &[
            (&[], E::CommandTooShort { len: 0 }),
            (&hex!("00"), E::CommandTooShort { len: 1 }),
            (&hex!("00A404"), E::CommandTooShort { len: 3 }),
            // 00 then one byte: neither a short Lc nor an extended field.
            (&hex!("00A4040000FF"), E::ShortLcZero),
            (&hex!("00A4040000 00"), E::ShortLcZero),
            // Short Lc longer than the data.
            (
                &hex!("00A404000EAABB"),
                E::DataTruncated {
                    lc: 14,
                    lc_offset: 4,
                    available: 2,
                },
            ),
            (
                &hex!("00A4040002AA"),
                E::DataTruncated {
                    lc: 2,
                    lc_offset: 4,
                    available: 1,
                },
            ),
            // Short: data, Le, then more.
            (
                &hex!("00A4040001AA0000"),
                E::TrailingBytes {
                    offset: 7,
                    count: 1,
                },
            ),
            (
                &hex!("00A4040001AA000000"),
                E::TrailingBytes {
                    offset: 7,
                    count: 2,
                },
            ),
            // Extended Lc 0000 followed by bytes.
            (&hex!("00A40400000000AA"), E::ExtendedLcZero { offset: 5 }),
            (&hex!("00A4040000000000"), E::ExtendedLcZero { offset: 5 }),
            // Extended Lc longer than the data.
            (
                &hex!("00A40400000003AABB"),
                E::DataTruncated {
                    lc: 3,
                    lc_offset: 5,
                    available: 2,
                },
            ),
            // Extended data followed by a 1-byte Le.
            (
                &hex!("00A40400000001AA00"),
                E::ExtendedLeTruncated { offset: 8 },
            ),
            // Extended data, Le, then more.
            (
                &hex!("00A40400000001AA000000"),
                E::TrailingBytes {
                    offset: 10,
                    count: 1,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                CommandView::parse(input),
                Err(expected.clone()),
                "input {input:02X?}"
            );
        }
    }

    #[test]
    fn valid_edge_forms() {
        // 00 00 00 with nothing after it is case 2E with Ne = 65536.
        let v = CommandView::parse(&hex!("00B01234000000")).unwrap();
        assert_eq!((v.case(), v.ne), (ApduCase::Case2Extended, Some(65536)));
        // A 7-byte input with B5 = 00 is always 2E.
        let v = CommandView::parse(&hex!("00B01234000105")).unwrap();
        assert_eq!((v.case(), v.ne), (ApduCase::Case2Extended, Some(0x105)));
        // python-emv style VERIFY: a case 3 command with a trailing Le = 00 is case 4S.
        let v = CommandView::parse(&hex!("002000800824 1234FFFFFFFFFF00")).unwrap();
        assert_eq!(v.case(), ApduCase::Case4Short);
        assert_eq!(v.data, &hex!("241234FFFFFFFFFF"));
        assert_eq!(v.ne, Some(256));
    }

    #[test]
    fn header_and_lc() {
        let c = Command::new(0x84, 0x24, 0x00, 0x00).with_data([0u8; 8]);
        assert_eq!(c.header_and_lc().unwrap(), hex!("8424000008"));
        assert_eq!(
            Command::new(0x00, 0x84, 0, 0)
                .with_ne(8)
                .header_and_lc()
                .unwrap(),
            hex!("00840000")
        );
        let big = Command::new(0x84, 0xDA, 0x9F, 0x4F).with_data(vec![0; 300]);
        assert_eq!(big.header_and_lc().unwrap(), hex!("84DA9F4F00012C"));
    }

    #[test]
    fn le_helpers() {
        assert_eq!(ne_from_short_le(0), 256);
        assert_eq!(ne_from_short_le(0x1F), 31);
        assert_eq!(ne_from_extended_le(0), 65536);
        assert_eq!(ne_from_extended_le(0x0100), 256);
        assert_eq!(short_le(256), Some(0));
        assert_eq!(short_le(1), Some(1));
        assert_eq!(short_le(0), None);
        assert_eq!(short_le(257), None);
        assert_eq!(Command::new(0, 0xC0, 0, 0).with_le(0).ne, Some(256));
        assert_eq!(Command::new(0, 0xC0, 0, 0).with_le(0x20).ne, Some(32));
    }

    #[test]
    fn view_accessors() {
        let v = CommandView::parse(&hex!("84DA9F4F03010203")).unwrap();
        assert_eq!(v.header(), hex!("84DA9F4F"));
        assert_eq!(v.p1p2(), 0x9F4F);
        assert!(v.class().has_secure_messaging());
        assert_eq!(
            Command::try_from(&hex!("84DA9F4F03010203")[..]).unwrap(),
            Command::from(v)
        );
    }
}
