//! The field table: ISO 8583:1987 data elements 1–128 with their names, types and lengths,
//! laid out exactly as pyiso8583's stock specifications `default_ascii` and `default`
//! (docs/iso8583.md §2). The two layouts differ only in the bitmaps and the binary fields
//! (type `b`: 52, 55, 64, 96, 128): raw bytes in [`Format::Binary`], upper-case hex text in
//! [`Format::Ascii`] (twice as many characters, and a length prefix counting characters).

/// Which of the two stock layouts a message is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// pyiso8583 `default_ascii`: MTI 4 ASCII digits, bitmaps 16 hex characters, every
    /// field ASCII, binary fields as hex text, LL/LLL prefixes ASCII digits.
    #[default]
    Ascii,
    /// pyiso8583 `default`: bitmaps and binary fields as raw bytes, the rest as above.
    Binary,
}

impl Format {
    /// The name on the command line (`ascii`, `binary`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ascii => "ascii",
            Self::Binary => "binary",
        }
    }

    /// Parses `ascii` or `binary`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ascii" => Some(Self::Ascii),
            "binary" | "bin" => Some(Self::Binary),
            _ => None,
        }
    }

    /// Bytes one bitmap takes.
    pub fn bitmap_len(self) -> usize {
        match self {
            Self::Ascii => 16,
            Self::Binary => 8,
        }
    }
}

/// ISO 8583:1987 §4.3 data element types (the ones the 1987 table uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `n`: numeric digits.
    N,
    /// `a`, `an`, `ans`: printable ASCII (0x20–0x7E).
    Ans,
    /// `ns`: digits and special characters (printable ASCII).
    Ns,
    /// `z`: track 2 or 3 code set (digits, `=` or `D` separator, `F` pad at the end).
    Z,
    /// `x+n`: `C` (credit) or `D` (debit) then digits.
    XN,
    /// `b`: binary (raw bytes, or hex text in the ASCII layout).
    B,
}

impl FieldType {
    /// The notation of ISO 8583:1987 §4.3.
    pub fn notation(self) -> &'static str {
        match self {
            Self::N => "n",
            Self::Ans => "ans",
            Self::Ns => "ns",
            Self::Z => "z",
            Self::XN => "x+n",
            Self::B => "b",
        }
    }
}

/// How long a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Length {
    /// Fixed length (characters; bytes for type `b`).
    Fixed(usize),
    /// LLVAR: two ASCII length digits, then up to this many characters.
    LlVar(usize),
    /// LLLVAR: three ASCII length digits, then up to this many characters (bytes for `b`).
    LllVar(usize),
}

impl Length {
    /// Width of the length prefix in bytes.
    pub fn prefix_len(self) -> usize {
        match self {
            Self::Fixed(_) => 0,
            Self::LlVar(_) => 2,
            Self::LllVar(_) => 3,
        }
    }

    /// Maximum (fixed: exact) length of the value.
    pub fn max(self) -> usize {
        match self {
            Self::Fixed(n) | Self::LlVar(n) | Self::LllVar(n) => n,
        }
    }
}

/// One data element's definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Data element number, 1–128.
    pub number: u8,
    /// Name as in ISO 8583:1987 (pyiso8583's descriptions).
    pub name: &'static str,
    /// Data type.
    pub ty: FieldType,
    /// Length of the value: characters, or bytes for type `b` (the ASCII layout carries
    /// twice as many hex characters and counts them in the prefix).
    pub len: Length,
}

impl FieldSpec {
    /// The encoded length unit count for a value of `value_len` in `format`: hex text
    /// doubles binary fields in the ASCII layout.
    pub fn wire_len(&self, format: Format, value_len: usize) -> usize {
        match (self.ty, format) {
            (FieldType::B, Format::Ascii) => value_len * 2,
            _ => value_len,
        }
    }

    /// The maximum (fixed: exact) length on the wire in `format`.
    pub fn wire_max(&self, format: Format) -> usize {
        self.wire_len(format, self.len.max())
    }

    /// The layout as pyiso8583 writes it, e.g. `n 6`, `ans ..999`, `b 8`.
    pub fn describe(&self) -> String {
        match self.len {
            Length::Fixed(n) => format!("{} {n}", self.ty.notation()),
            Length::LlVar(n) => format!("{} ..{n}", self.ty.notation()),
            Length::LllVar(n) => format!("{} ...{n}", self.ty.notation()),
        }
    }
}

/// The spec of data element `number` (1–128), `None` outside that range.
pub fn field(number: u8) -> Option<&'static FieldSpec> {
    FIELDS.get(usize::from(number).checked_sub(1)?)
}

/// All 128 data elements, in order.
pub fn fields() -> &'static [FieldSpec] {
    &FIELDS
}

const fn f(number: u8, name: &'static str, ty: FieldType, len: Length) -> FieldSpec {
    FieldSpec {
        number,
        name,
        ty,
        len,
    }
}

use FieldType::{B, N, Ns, XN, Z};
use Length::{Fixed, LlVar, LllVar};
const ANS: FieldType = FieldType::Ans;

/// ISO 8583:1987 data elements, with the lengths and prefixes of pyiso8583's stock
/// `default_ascii` / `default` tables (tests/pyiso8583_vectors.rs checks every row against
/// pyiso8583's, dumped in tests/interop/iso8583_vectors.txt). Field 1 is the secondary bitmap and field 65 the
/// tertiary bitmap indicator: neither is a data field here.
static FIELDS: [FieldSpec; 128] = [
    f(1, "Bitmap, Secondary", B, Fixed(8)),
    f(2, "Primary Account Number (PAN)", N, LlVar(19)),
    f(3, "Processing Code", N, Fixed(6)),
    f(4, "Amount, Transaction", N, Fixed(12)),
    f(5, "Amount, Settlement", N, Fixed(12)),
    f(6, "Amount, Cardholder Billing", N, Fixed(12)),
    f(7, "Transmission Date and Time", N, Fixed(10)),
    f(8, "Amount, Cardholder Billing Fee", N, Fixed(8)),
    f(9, "Conversion Rate, Settlement", N, Fixed(8)),
    f(10, "Conversion Rate, Cardholder Billing", N, Fixed(8)),
    f(11, "System Trace Audit Number", N, Fixed(6)),
    f(12, "Time, Local Transaction", N, Fixed(6)),
    f(13, "Date, Local Transaction", N, Fixed(4)),
    f(14, "Date, Expiration", N, Fixed(4)),
    f(15, "Date, Settlement", N, Fixed(4)),
    f(16, "Date, Conversion", N, Fixed(4)),
    f(17, "Date, Capture", N, Fixed(4)),
    f(18, "Merchant Type", N, Fixed(4)),
    f(19, "Acquiring Institution Country Code", N, Fixed(3)),
    f(20, "PAN Country Code", N, Fixed(3)),
    f(21, "Forwarding Institution Country Code", N, Fixed(3)),
    f(22, "Point-of-Service Entry Mode", N, Fixed(3)),
    f(23, "PAN Sequence Number", N, Fixed(3)),
    f(24, "Network International ID (NII)", N, Fixed(3)),
    f(25, "Point-of-Service Condition Code", N, Fixed(2)),
    f(26, "Point-of-Service Capture Code", N, Fixed(2)),
    f(27, "Authorizing ID Response Length", N, Fixed(1)),
    f(28, "Amount, Transaction Fee", XN, Fixed(9)),
    f(29, "Amount, Settlement Fee", XN, Fixed(9)),
    f(30, "Amount, Transaction Processing Fee", XN, Fixed(9)),
    f(31, "Amount, Settlement Processing Fee", XN, Fixed(9)),
    f(32, "Acquiring Institution ID Code", N, LlVar(11)),
    f(33, "Forwarding Institution ID Code", N, LlVar(11)),
    f(34, "Primary Account Number, Extended", Ns, LlVar(28)),
    f(35, "Track 2 Data", Z, LlVar(37)),
    f(36, "Track 3 Data", Z, LllVar(104)),
    f(37, "Retrieval Reference Number", ANS, Fixed(12)),
    f(38, "Authorization ID Response", ANS, Fixed(6)),
    f(39, "Response Code", ANS, Fixed(2)),
    f(40, "Service Restriction Code", ANS, Fixed(3)),
    f(41, "Card Acceptor Terminal ID", ANS, Fixed(8)),
    f(42, "Card Acceptor ID Code", ANS, Fixed(15)),
    f(43, "Card Acceptor Name/Location", ANS, Fixed(40)),
    f(44, "Additional Response Data", ANS, LlVar(25)),
    f(45, "Track 1 Data", ANS, LlVar(76)),
    f(46, "Additional Data - ISO", ANS, LllVar(999)),
    f(47, "Additional Data - National", ANS, LllVar(999)),
    f(48, "Additional Data - Private", ANS, LllVar(999)),
    f(49, "Currency Code, Transaction", ANS, Fixed(3)),
    f(50, "Currency Code, Settlement", ANS, Fixed(3)),
    f(51, "Currency Code, Cardholder Billing", ANS, Fixed(3)),
    f(52, "PIN", B, Fixed(8)),
    // ISO 8583:1987 types DE 53 n 16 and leaves its content to the networks; here it names
    // the zone PIN key of DE 52 (docs/iso8583.md §3), so it is ans 16, space padded
    f(53, "Security-Related Control Information", ANS, Fixed(16)),
    f(54, "Additional Amounts", ANS, LllVar(240)),
    f(55, "ICC data", B, LllVar(255)),
    f(56, "Reserved ISO", ANS, LllVar(999)),
    f(57, "Reserved National", ANS, LllVar(999)),
    f(58, "Reserved National", ANS, LllVar(999)),
    f(59, "Reserved National", ANS, LllVar(999)),
    f(60, "Reserved National", ANS, LllVar(999)),
    f(61, "Reserved Private", ANS, LllVar(999)),
    f(62, "Reserved Private", ANS, LllVar(999)),
    f(63, "Reserved Private", ANS, LllVar(999)),
    f(64, "MAC", B, Fixed(8)),
    f(65, "Bitmap, Extended", B, Fixed(8)),
    f(66, "Settlement Code", N, Fixed(1)),
    f(67, "Extended Payment Code", N, Fixed(2)),
    f(68, "Receiving Institution Country Code", N, Fixed(3)),
    f(69, "Settlement Institution Country Code", N, Fixed(3)),
    f(70, "Network Management Information Code", N, Fixed(3)),
    f(71, "Message Number", N, Fixed(4)),
    f(72, "Message Number, Last", N, Fixed(4)),
    f(73, "Date, Action", N, Fixed(6)),
    f(74, "Credits, Number", N, Fixed(10)),
    f(75, "Credits, Reversal Number", N, Fixed(10)),
    f(76, "Debits, Number", N, Fixed(10)),
    f(77, "Debits, Reversal Number", N, Fixed(10)),
    f(78, "Transfer, Number", N, Fixed(10)),
    f(79, "Transfer, Reversal Number", N, Fixed(10)),
    f(80, "Inquiries, Number", N, Fixed(10)),
    f(81, "Authorizations, Number", N, Fixed(10)),
    f(82, "Credits, Processing Fee Amount", N, Fixed(12)),
    f(83, "Credits, Transaction Fee Amount", N, Fixed(12)),
    f(84, "Debits, Processing Fee Amount", N, Fixed(12)),
    f(85, "Debits, Transaction Fee Amount", N, Fixed(12)),
    f(86, "Credits, Amount", N, Fixed(16)),
    f(87, "Credits, Reversal Amount", N, Fixed(16)),
    f(88, "Debits, Amount", N, Fixed(16)),
    f(89, "Debits, Reversal Amount", N, Fixed(16)),
    f(90, "Original Data Elements", N, Fixed(42)),
    f(91, "File Update Code", ANS, Fixed(1)),
    f(92, "File Security Code", ANS, Fixed(2)),
    f(93, "Response Indicator", ANS, Fixed(5)),
    f(94, "Service Indicator", ANS, Fixed(7)),
    f(95, "Replacement Amounts", ANS, Fixed(42)),
    f(96, "Message Security Code", B, Fixed(8)),
    f(97, "Amount, Net Settlement", XN, Fixed(17)),
    f(98, "Payee", ANS, Fixed(25)),
    f(99, "Settlement Institution ID Code", N, LlVar(11)),
    f(100, "Receiving Institution ID Code", N, LlVar(11)),
    f(101, "File Name", ANS, LlVar(17)),
    f(102, "Account ID 1", ANS, LlVar(28)),
    f(103, "Account ID 2", ANS, LlVar(28)),
    f(104, "Transaction Description", ANS, LllVar(100)),
    f(105, "Reserved for ISO Use", ANS, LllVar(999)),
    f(106, "Reserved for ISO Use", ANS, LllVar(999)),
    f(107, "Reserved for ISO Use", ANS, LllVar(999)),
    f(108, "Reserved for ISO Use", ANS, LllVar(999)),
    f(109, "Reserved for ISO Use", ANS, LllVar(999)),
    f(110, "Reserved for ISO Use", ANS, LllVar(999)),
    f(111, "Reserved for ISO Use", ANS, LllVar(999)),
    f(112, "Reserved for National Use", ANS, LllVar(999)),
    f(113, "Reserved for National Use", ANS, LllVar(999)),
    f(114, "Reserved for National Use", ANS, LllVar(999)),
    f(115, "Reserved for National Use", ANS, LllVar(999)),
    f(116, "Reserved for National Use", ANS, LllVar(999)),
    f(117, "Reserved for National Use", ANS, LllVar(999)),
    f(118, "Reserved for National Use", ANS, LllVar(999)),
    f(119, "Reserved for National Use", ANS, LllVar(999)),
    f(120, "Reserved for Private Use", ANS, LllVar(999)),
    f(121, "Reserved for Private Use", ANS, LllVar(999)),
    f(122, "Reserved for Private Use", ANS, LllVar(999)),
    f(123, "Reserved for Private Use", ANS, LllVar(999)),
    f(124, "Reserved for Private Use", ANS, LllVar(999)),
    f(125, "Reserved for Private Use", ANS, LllVar(999)),
    f(126, "Reserved for Private Use", ANS, LllVar(999)),
    f(127, "Reserved for Private Use", ANS, LllVar(999)),
    f(128, "MAC", B, Fixed(8)),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_numbered_in_order() {
        for (i, s) in fields().iter().enumerate() {
            assert_eq!(usize::from(s.number), i + 1);
        }
        assert!(field(0).is_none() && field(129).is_none());
        assert_eq!(field(55).map(|s| s.wire_max(Format::Ascii)), Some(510));
        assert_eq!(field(55).map(|s| s.wire_max(Format::Binary)), Some(255));
        assert_eq!(field(64).map(|s| s.wire_max(Format::Ascii)), Some(16));
    }
}
