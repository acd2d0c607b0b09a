//! Readable decoding of TLV data and bit fields, as a payment engineer's decoder tool shows
//! them: a tree of data objects with tag names, values rendered by format, and the bits
//! of known fields decoded inline.

use core::fmt::Write as _;

use strum::VariantNames as _;

use crate::bits::{
    AdditionalTerminalCapabilities, Afl, Aip, Auc, Cid, CvmList, CvmResults, Describe, Iad,
    TerminalCapabilities, TerminalType, Tsi, Tvr,
};
use crate::dol::Dol;
use crate::error::{TlvError, TlvErrorKind};
use crate::format::Format;
use crate::tag::Tag;
use crate::tlv::Tlv;

/// The bit fields and structures [`describe_as`] can decode on their own (`decode --as`):
/// each by its CLI name (`to_string`) or an alias (its tag, a spelling without hyphens),
/// ASCII case-insensitively.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(ascii_case_insensitive, parse_err_ty = String, parse_err_fn = unknown_kind)]
pub enum DecodeAs {
    /// Terminal Verification Results (95).
    #[strum(to_string = "tvr", serialize = "95")]
    Tvr,
    /// Transaction Status Information (9B).
    #[strum(to_string = "tsi", serialize = "9b")]
    Tsi,
    /// Application Interchange Profile (82).
    #[strum(to_string = "aip", serialize = "82")]
    Aip,
    /// Application Usage Control (9F07).
    #[strum(to_string = "auc", serialize = "9f07")]
    Auc,
    /// CVM List (8E).
    #[strum(
        to_string = "cvm-list",
        serialize = "cvm",
        serialize = "8e",
        serialize = "cvmlist"
    )]
    CvmList,
    /// CVM Results (9F34).
    #[strum(
        to_string = "cvm-results",
        serialize = "9f34",
        serialize = "cvmresults"
    )]
    CvmResults,
    /// Terminal Capabilities (9F33).
    #[strum(to_string = "9f33", serialize = "terminal-capabilities")]
    TerminalCapabilities,
    /// Additional Terminal Capabilities (9F40).
    #[strum(to_string = "9f40", serialize = "additional-terminal-capabilities")]
    AdditionalTerminalCapabilities,
    /// Terminal Type (9F35).
    #[strum(to_string = "9f35", serialize = "terminal-type")]
    TerminalType,
    /// Cryptogram Information Data (9F27).
    #[strum(to_string = "cid", serialize = "9f27")]
    Cid,
    /// A data object list (PDOL, CDOL1/2, DDOL, TDOL).
    #[strum(to_string = "dol")]
    Dol,
    /// Issuer Application Data (9F10).
    #[strum(to_string = "iad", serialize = "9f10")]
    Iad,
    /// Application File Locator (94).
    #[strum(to_string = "afl", serialize = "94")]
    Afl,
    /// Issuer Script Results (9F5B).
    #[strum(to_string = "script-results", serialize = "9f5b", serialize = "isr")]
    ScriptResults,
}

/// The error of `DecodeAs::from_str`: the kinds there are.
fn unknown_kind(s: &str) -> String {
    format!(
        "unknown kind {s:?}; expected tlv or one of: {}",
        DecodeAs::VARIANTS.join(", ")
    )
}

impl DecodeAs {
    /// The field decoded for values of `tag`, if it has one.
    pub fn for_tag(tag: Tag) -> Option<DecodeAs> {
        Some(match tag.value() {
            0x95 => DecodeAs::Tvr,
            0x9B => DecodeAs::Tsi,
            0x82 => DecodeAs::Aip,
            0x9F07 => DecodeAs::Auc,
            0x8E => DecodeAs::CvmList,
            0x9F34 => DecodeAs::CvmResults,
            0x9F33 => DecodeAs::TerminalCapabilities,
            0x9F40 => DecodeAs::AdditionalTerminalCapabilities,
            0x9F35 => DecodeAs::TerminalType,
            0x9F27 => DecodeAs::Cid,
            0x8C | 0x8D | 0x9F38 | 0x9F49 | 0x97 => DecodeAs::Dol,
            0x9F10 => DecodeAs::Iad,
            0x94 => DecodeAs::Afl,
            0x9F5B => DecodeAs::ScriptResults,
            _ => return None,
        })
    }

    /// The CLI name.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

fn fixed<const N: usize>(what: &str, v: &[u8]) -> Result<[u8; N], TlvError> {
    <[u8; N]>::try_from(v).map_err(|_| {
        TlvError::new(
            0,
            TlvErrorKind::BadValue(format!("{what} is {N} bytes, got {}", v.len())),
        )
    })
}

/// Decode `value` as the given field; a value of the wrong length is an error.
pub fn describe_as(kind: DecodeAs, value: &[u8]) -> Result<Vec<String>, TlvError> {
    Ok(match kind {
        DecodeAs::Tvr => Tvr(fixed("TVR", value)?).describe(),
        DecodeAs::Tsi => Tsi(fixed("TSI", value)?).describe(),
        DecodeAs::Aip => Aip(fixed("AIP", value)?).describe(),
        DecodeAs::Auc => Auc(fixed("AUC", value)?).describe(),
        DecodeAs::CvmList => CvmList::parse(value)?.describe(),
        DecodeAs::CvmResults => CvmResults(fixed("CVM Results", value)?).describe(),
        DecodeAs::TerminalCapabilities => {
            TerminalCapabilities(fixed("Terminal Capabilities", value)?).describe()
        }
        DecodeAs::AdditionalTerminalCapabilities => {
            AdditionalTerminalCapabilities(fixed("Additional Terminal Capabilities", value)?)
                .describe()
        }
        DecodeAs::TerminalType => {
            let [b] = fixed::<1>("Terminal Type", value)?;
            TerminalType(b).describe()
        }
        DecodeAs::Cid => {
            let [b] = fixed::<1>("CID", value)?;
            Cid(b).describe()
        }
        DecodeAs::Dol => describe_dol(&Dol::parse(value)?),
        DecodeAs::Iad => match Iad::detect(value) {
            Some(iad) => iad.describe(),
            None => vec!["Layout not recognised (not Visa, M/Chip or CCD)".to_owned()],
        },
        DecodeAs::Afl => Afl::parse(value)?.describe(),
        DecodeAs::ScriptResults => describe_script_results(value)?,
    })
}

fn describe_dol(dol: &Dol) -> Vec<String> {
    let mut v: Vec<String> = dol
        .entries()
        .iter()
        .map(|e| {
            let name = crate::dictionary::lookup(e.tag).map_or("(unknown tag)", |i| i.name);
            format!("{:<6} {:>3} bytes  {name}", e.tag.to_string(), e.len)
        })
        .collect();
    v.push(format!(
        "Total: {} bytes of DOL-related data",
        dol.data_len()
    ));
    v
}

/// Issuer Script Results: 5 bytes per script (EMV 4.4 Book 4 Annex A5).
fn describe_script_results(value: &[u8]) -> Result<Vec<String>, TlvError> {
    if value.is_empty() || !value.len().is_multiple_of(5) {
        return Err(TlvError::new(
            0,
            TlvErrorKind::BadValue(format!(
                "Issuer Script Results are 5 bytes per script, got {}",
                value.len()
            )),
        ));
    }
    Ok(value
        .chunks_exact(5)
        .enumerate()
        .map(|(i, c)| {
            let result = match c[0] >> 4 {
                0 => "script not performed",
                1 => "script processing failed",
                2 => "script processing successful",
                _ => "RFU result",
            };
            let seq = match c[0] & 0x0F {
                0 => String::new(),
                0x0F => ", failing command: 15th or later".to_owned(),
                n => format!(", failing command: {n}"),
            };
            format!(
                "Script {}: {result}{seq}, Script Identifier {}",
                i + 1,
                crate::hex::encode(&c[1..])
            )
        })
        .collect())
}

/// The value of a primitive rendered by its format: digits for `n` and `cn`, text for
/// `a`/`an`/`ans` when printable, dates as `YYYY-MM-DD`; `None` for binary.
pub fn render_value(tag: Tag, value: &[u8]) -> Option<String> {
    let info = crate::dictionary::lookup(tag)?;
    match info.format {
        Format::Numeric => {
            let digits = bcd_digits(value)?;
            match tag.value() {
                // dates YYMMDD (Book 3 Annex A: 5F24, 5F25, 9A)
                0x5F24 | 0x5F25 | 0x9A if digits.len() == 6 => Some(format!(
                    "20{}-{}-{}",
                    &digits[0..2],
                    &digits[2..4],
                    &digits[4..6]
                )),
                // amounts n12 with the usual two decimals (exponent not known here)
                0x9F02 | 0x9F03 if digits.len() == 12 => {
                    let n: u64 = digits.parse().ok()?;
                    Some(format!(
                        "{} ({}.{:02} with 2 decimals)",
                        n,
                        n / 100,
                        n % 100
                    ))
                }
                0x9C if value.len() == 1 => {
                    Some(format!("{digits} ({})", transaction_type(value[0])))
                }
                _ => Some(digits),
            }
        }
        Format::CompressedNumeric => {
            let digits = bcd_digits_f_padded(value)?;
            Some(digits)
        }
        f if f.is_text() => {
            let printable = value.iter().all(|b| (0x20..0x7F).contains(b));
            printable.then(|| format!("\"{}\"", String::from_utf8_lossy(value)))
        }
        _ => match tag.value() {
            0x9F17 if value.len() == 1 => Some(format!("{} tries left", value[0])),
            0x9F36 | 0x9F13 if value.len() == 2 => {
                Some(format!("{}", u16::from_be_bytes([value[0], value[1]])))
            }
            _ => None,
        },
    }
}

/// ISO 8583 processing code / EMV Transaction Type (9C) in words.
pub fn transaction_type(b: u8) -> &'static str {
    match b {
        0x00 => "goods and services",
        0x01 => "cash",
        0x09 => "purchase with cashback",
        0x17 => "cash disbursement",
        0x20 => "refund",
        0x30 => "balance inquiry",
        0x31 => "balance inquiry",
        0x70 => "PIN change/unblock",
        _ => "other",
    }
}

fn bcd_digits(value: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(value.len() * 2);
    for &b in value {
        for n in [b >> 4, b & 0x0F] {
            if n > 9 {
                return None;
            }
            s.push(char::from(b'0' + n));
        }
    }
    Some(s)
}

fn bcd_digits_f_padded(value: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(value.len() * 2);
    let mut padding = false;
    for &b in value {
        for n in [b >> 4, b & 0x0F] {
            match n {
                0..=9 if !padding => s.push(char::from(b'0' + n)),
                0x0F => padding = true,
                _ => return None,
            }
        }
    }
    Some(s)
}

/// One decoded data object, for display or JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The tag.
    pub tag: Tag,
    /// The dictionary name, if the tag is known.
    pub name: Option<&'static str>,
    /// The dictionary short label, if known.
    pub short: Option<&'static str>,
    /// Offset of the tag in the input.
    pub offset: usize,
    /// Value length.
    pub len: usize,
    /// Value bytes (primitives only; empty for constructed objects).
    pub value: Vec<u8>,
    /// The value rendered by its format (digits, text, date).
    pub text: Option<String>,
    /// Decoded bits or structure.
    pub decoded: Vec<String>,
    /// A problem found while decoding the value (wrong length for a bit field, ...).
    pub warning: Option<String>,
    /// Children of a constructed object.
    pub children: Vec<Node>,
}

/// Build the display tree of parsed data objects (constructed values are expected to be
/// valid, as [`crate::parse_all`] guarantees).
pub fn tree(list: &[Tlv<'_>]) -> Vec<Node> {
    list.iter().map(node).collect()
}

fn node(t: &Tlv<'_>) -> Node {
    let info = crate::dictionary::lookup(t.tag());
    let mut n = Node {
        tag: t.tag(),
        name: info.map(|i| i.name),
        short: info.map(|i| i.short),
        offset: t.offset(),
        len: t.value().len(),
        value: Vec::new(),
        text: None,
        decoded: Vec::new(),
        warning: None,
        children: Vec::new(),
    };
    if t.is_constructed() {
        n.children = t
            .children()
            .map_while(Result::ok)
            .map(|c| node(&c))
            .collect();
        return n;
    }
    n.value = t.value().to_vec();
    n.text = render_value(t.tag(), t.value());
    if let Some(kind) = DecodeAs::for_tag(t.tag()) {
        match describe_as(kind, t.value()) {
            Ok(lines) => n.decoded = lines,
            Err(e) => n.warning = Some(e.kind.to_string()),
        }
    }
    if let Some(i) = info
        && n.warning.is_none()
        && !i.length_ok(t.value().len())
    {
        n.warning = Some(format!(
            "length {} outside {}..{} for this tag",
            t.value().len(),
            i.min_len,
            i.max_len
        ));
    }
    n
}

/// Render a tree as indented text.
pub fn render_tree(nodes: &[Node]) -> String {
    let mut out = String::new();
    for n in nodes {
        render_node(n, 0, &mut out);
    }
    out
}

fn render_node(n: &Node, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let name = match (n.name, n.short) {
        // an acronym label (AIP, CDOL1) helps; a descriptive one (AMT_AUTH) does not
        (Some(name), Some(short))
            if !name.contains(short) && !short.contains('_') && short.len() <= 6 =>
        {
            format!("{name} ({short})")
        }
        (Some(name), _) => name.to_owned(),
        (None, _) => "Unknown tag".to_owned(),
    };
    if n.children.is_empty() && !n.tag.is_constructed() {
        let _ = write!(
            out,
            "{pad}{} {name} [{}]: {}",
            n.tag,
            n.len,
            crate::hex::encode(&n.value)
        );
        if let Some(t) = n
            .text
            .as_ref()
            .filter(|t| **t != crate::hex::encode(&n.value))
        {
            let _ = write!(out, " = {t}");
        }
        out.push('\n');
    } else {
        let _ = writeln!(out, "{pad}{} {name} [{}]", n.tag, n.len);
    }
    for line in &n.decoded {
        let _ = writeln!(out, "{pad}    {line}");
    }
    if let Some(w) = &n.warning {
        let _ = writeln!(out, "{pad}    ! {w}");
    }
    for c in &n.children {
        render_node(c, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::decode;

    #[test]
    fn kinds_parse_by_name_and_alias() {
        assert_eq!("tvr".parse::<DecodeAs>().unwrap(), DecodeAs::Tvr);
        assert_eq!(
            "9F33".parse::<DecodeAs>().unwrap(),
            DecodeAs::TerminalCapabilities
        );
        assert_eq!("CVM".parse::<DecodeAs>().unwrap(), DecodeAs::CvmList);
        assert!(
            "nope"
                .parse::<DecodeAs>()
                .unwrap_err()
                .contains("cvm-results")
        );
        for name in DecodeAs::VARIANTS {
            let kind = name.parse::<DecodeAs>().unwrap();
            assert_eq!(kind.name(), *name);
        }
    }

    #[test]
    fn wrong_length_is_an_error() {
        let e = describe_as(DecodeAs::Tvr, &[0, 0, 0x80, 0]).unwrap_err();
        assert_eq!(e.kind.to_string(), "TVR is 5 bytes, got 4");
    }

    #[test]
    fn values_render_by_format() {
        assert_eq!(
            render_value(Tag::new(0x5A), &decode("4761739001010119").unwrap()).unwrap(),
            "4761739001010119"
        );
        assert_eq!(
            render_value(Tag::new(0x5A), &decode("476173900101011912 3F").unwrap()).unwrap(),
            "4761739001010119123"
        );
        assert_eq!(
            render_value(Tag::new(0x5F24), &decode("271231").unwrap()).unwrap(),
            "2027-12-31"
        );
        assert_eq!(
            render_value(Tag::new(0x50), b"VISA CREDIT").unwrap(),
            "\"VISA CREDIT\""
        );
        assert_eq!(
            render_value(Tag::new(0x9F17), &[3]).unwrap(),
            "3 tries left"
        );
        assert!(render_value(Tag::new(0x9F26), &[0; 8]).is_none());
        // found by the tlv_parse fuzz target: an empty 9C used to index out of bounds
        assert_eq!(render_value(Tag::new(0x9C), &[]).unwrap(), "");
        assert_eq!(render_value(Tag::new(0x9C), &[0x01]).unwrap(), "01 (cash)");
        assert!(render_value(Tag::new(0x9F02), &decode("00000000123A").unwrap()).is_none());
    }

    #[test]
    fn script_results() {
        let d = describe_as(
            DecodeAs::ScriptResults,
            &decode("2000000001 1200000002").unwrap(),
        )
        .unwrap();
        assert_eq!(
            d[0],
            "Script 1: script processing successful, Script Identifier 00000001"
        );
        assert_eq!(
            d[1],
            "Script 2: script processing failed, failing command: 2, Script Identifier 00000002"
        );
        assert!(describe_as(DecodeAs::ScriptResults, &[0x20]).is_err());
    }

    #[test]
    fn tree_marks_bad_lengths() {
        let data = decode("95 04 00008000").unwrap();
        let list = crate::parse_all(&data).unwrap();
        let t = tree(&list);
        assert_eq!(t[0].warning.as_deref(), Some("TVR is 5 bytes, got 4"));
        assert!(render_tree(&t).contains("! TVR is 5 bytes, got 4"));
    }
}
