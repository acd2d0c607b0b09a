//! The EMV data element dictionary: name, short label, format, source, value length and the
//! templates each tag is found in.
//!
//! Sources: EMV 4.4 Book 3 Annex A (Table 33 "Data Elements Dictionary"), Book 4 Annex A
//! (terminal data elements), EMV contactless Books A, B, C-2 and C-3 for the contactless
//! entries, and the payment-system tag `9F5B` for the Book 4 "Issuer Script Results".
//!
//! Conventions:
//! - Lengths are in bytes of the value (`n 12` is 6 bytes, `cn` up to 19 digits is 10).
//! - "var. up to N" in the spec is `0..=N`; "var." where the spec gives no bound is `0..=252`
//!   for data inside a record or FCI (the limit of templates `70`, `6F`, `61`), and
//!   `0..=`[`NO_MAX`] for data not bound by such a template (`71`, `72`, `77`, `80`, `99`, ...).
//! - Public key certificates are at most 248 bytes (1984-bit keys, Book 2 Annex A); key
//!   remainders follow from the certificate formats (at most 36 or 42 bytes).
//! - Where EMV writes an en dash ("Issuer Action Code – Default") the names use `-`.
//! - `templates` lists where the element is found; `80` appears there although it is a
//!   primitive (Response Message Template Format 1 concatenates untagged values).

use crate::format::{Format, Source};
use crate::tag::Tag;

/// `max_len` of elements for which the specification states no upper bound.
pub const NO_MAX: u16 = u16::MAX;

/// One data element of the EMV dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagInfo {
    /// The tag.
    pub tag: Tag,
    /// EMV name, e.g. "Application Interchange Profile".
    pub name: &'static str,
    /// Short label for tables, e.g. "AIP"; unique, compared case-insensitively.
    pub short: &'static str,
    /// Value format.
    pub format: Format,
    /// Who provides the element.
    pub source: Source,
    /// Minimum value length in bytes.
    pub min_len: u16,
    /// Maximum value length in bytes ([`NO_MAX`] when the spec states no bound).
    pub max_len: u16,
    /// Templates the element is found in, e.g. `70` and `77`; empty if top level or not
    /// carried in a template.
    pub templates: &'static [Tag],
}

impl TagInfo {
    /// The value length when it is fixed (`min_len == max_len`).
    pub const fn fixed_len(&self) -> Option<u16> {
        if self.min_len == self.max_len {
            Some(self.min_len)
        } else {
            None
        }
    }

    /// Whether a value of `len` bytes is within `min_len..=max_len`.
    pub fn length_ok(&self, len: usize) -> bool {
        len >= usize::from(self.min_len) && len <= usize::from(self.max_len)
    }

    /// Whether the element may be found in template `t`.
    pub fn found_in(&self, t: Tag) -> bool {
        self.templates.contains(&t)
    }
}

/// The dictionary entry for `tag`, if EMV (or one of the contactless books) defines it.
pub fn lookup(tag: Tag) -> Option<&'static TagInfo> {
    TABLE
        .binary_search_by_key(&tag, |e| e.tag)
        .ok()
        .map(|i| &TABLE[i])
}

/// Every entry, sorted by tag value.
pub fn all() -> &'static [TagInfo] {
    TABLE
}

/// The entry whose short label is `s`, ignoring ASCII case and surrounding whitespace
/// (`"tvr"`, `"CDOL1"`).
pub fn by_short_name(s: &str) -> Option<&'static TagInfo> {
    let s = s.trim();
    TABLE.iter().find(|e| e.short.eq_ignore_ascii_case(s))
}

// Formats and sources, short for the table below.
const N: Format = Format::Numeric;
const CN: Format = Format::CompressedNumeric;
const A: Format = Format::Alpha;
const AN: Format = Format::AlphaNumeric;
const ANS: Format = Format::AlphaNumericSpecial;
const B: Format = Format::Binary;
const TPL: Format = Format::Template;
const VAR_FMT: Format = Format::Var;
const ICC: Source = Source::Icc;
const TERM: Source = Source::Terminal;
const ISS: Source = Source::Issuer;

/// "var." inside a record or FCI: bounded by the 252-byte limit of the enclosing template.
const VAR: u16 = 252;

// Templates.
const NONE: &[Tag] = &[];
const T_61: &[Tag] = &[Tag::new(0x61)];
const T_61_A5: &[Tag] = &[Tag::new(0x61), Tag::new(0xA5)];
const T_6F: &[Tag] = &[Tag::new(0x6F)];
const T_70: &[Tag] = &[Tag::new(0x70)];
const T_70_77: &[Tag] = &[Tag::new(0x70), Tag::new(0x77)];
const T_70_77_BF0C: &[Tag] = &[Tag::new(0x70), Tag::new(0x77), Tag::new(0xBF0C)];
const T_71_72: &[Tag] = &[Tag::new(0x71), Tag::new(0x72)];
const T_77_80: &[Tag] = &[Tag::new(0x77), Tag::new(0x80)];
const T_A5: &[Tag] = &[Tag::new(0xA5)];
const T_BF0C: &[Tag] = &[Tag::new(0xBF0C)];
const T_BF0C_73: &[Tag] = &[Tag::new(0xBF0C), Tag::new(0x73)];

/// One table row: tag, short label, EMV name, format, source, min and max length, templates.
macro_rules! e {
    ($tag:expr, $short:expr, $name:expr, $fmt:expr, $src:expr, $min:expr, $max:expr, $tpl:expr) => {
        TagInfo {
            tag: Tag::new($tag),
            name: $name,
            short: $short,
            format: $fmt,
            source: $src,
            min_len: $min,
            max_len: $max,
            templates: $tpl,
        }
    };
}

/// The dictionary, sorted by tag value (one-byte tags, then two-byte, then three-byte).
#[rustfmt::skip]
static TABLE: &[TagInfo] = &[
    // ---- one-byte tags ----
    e!(0x42, "IIN", "Issuer Identification Number (IIN)", N, ICC, 3, 3, T_BF0C_73),
    e!(0x4F, "AID", "Application Dedicated File (ADF) Name", B, ICC, 5, 16, T_61),
    e!(0x50, "APP_LABEL", "Application Label", ANS, ICC, 1, 16, T_61_A5),
    e!(0x56, "TRACK1", "Track 1 Data", ANS, ICC, 0, 76, T_70),
    e!(0x57, "TRACK2", "Track 2 Equivalent Data", B, ICC, 0, 19, T_70_77),
    e!(0x5A, "PAN", "Application Primary Account Number (PAN)", CN, ICC, 0, 10, T_70_77),
    e!(0x61, "APP_TEMPLATE", "Application Template", TPL, ICC, 0, VAR, T_70),
    e!(0x6F, "FCI", "File Control Information (FCI) Template", TPL, ICC, 0, VAR, NONE),
    e!(0x70, "RECORD", "READ RECORD Response Message Template", TPL, ICC, 0, VAR, NONE),
    e!(0x71, "SCRIPT1", "Issuer Script Template 1", TPL, ISS, 0, NO_MAX, NONE),
    e!(0x72, "SCRIPT2", "Issuer Script Template 2", TPL, ISS, 0, NO_MAX, NONE),
    e!(0x73, "DIR_DISC", "Directory Discretionary Template", TPL, ICC, 0, VAR, T_61),
    e!(0x77, "RMTF2", "Response Message Template Format 2", TPL, ICC, 0, NO_MAX, NONE),
    e!(0x80, "RMTF1", "Response Message Template Format 1", B, ICC, 0, NO_MAX, NONE),
    e!(0x81, "AMT_AUTH_BIN", "Amount, Authorised (Binary)", B, TERM, 4, 4, NONE),
    e!(0x82, "AIP", "Application Interchange Profile", B, ICC, 2, 2, T_77_80),
    e!(0x83, "CMD_TEMPLATE", "Command Template", B, TERM, 0, NO_MAX, NONE),
    e!(0x84, "DF_NAME", "Dedicated File (DF) Name", B, ICC, 5, 16, T_6F),
    e!(0x86, "SCRIPT_CMD", "Issuer Script Command", B, ISS, 0, 261, T_71_72),
    e!(0x87, "API", "Application Priority Indicator", B, ICC, 1, 1, T_61_A5),
    e!(0x88, "SFI", "Short File Identifier (SFI)", B, ICC, 1, 1, T_A5),
    e!(0x89, "AUTH_CODE", "Authorisation Code", VAR_FMT, ISS, 6, 6, NONE),
    e!(0x8A, "ARC", "Authorisation Response Code", AN, ISS, 2, 2, NONE),
    e!(0x8C, "CDOL1", "Card Risk Management Data Object List 1 (CDOL1)", B, ICC, 0, VAR, T_70_77),
    e!(0x8D, "CDOL2", "Card Risk Management Data Object List 2 (CDOL2)", B, ICC, 0, VAR, T_70_77),
    e!(0x8E, "CVM_LIST", "Cardholder Verification Method (CVM) List", B, ICC, 10, VAR, T_70_77),
    e!(0x8F, "CAPKI", "Certification Authority Public Key Index", B, ICC, 1, 1, T_70_77),
    e!(0x90, "ISS_PK_CERT", "Issuer Public Key Certificate", B, ICC, 1, 248, T_70_77),
    e!(0x91, "ISS_AUTH_DATA", "Issuer Authentication Data", B, ISS, 8, 16, NONE),
    e!(0x92, "ISS_PK_REM", "Issuer Public Key Remainder", B, ICC, 1, 36, T_70_77),
    e!(0x93, "SSAD", "Signed Static Application Data", B, ICC, 1, 248, T_70_77),
    e!(0x94, "AFL", "Application File Locator (AFL)", B, ICC, 0, VAR, T_77_80),
    e!(0x95, "TVR", "Terminal Verification Results", B, TERM, 5, 5, NONE),
    e!(0x97, "TDOL", "Transaction Certificate Data Object List (TDOL)", B, ICC, 0, VAR, T_70_77),
    e!(0x98, "TC_HASH", "Transaction Certificate (TC) Hash Value", B, TERM, 20, 20, NONE),
    e!(0x99, "PIN_DATA", "Transaction Personal Identification Number (PIN) Data", B, TERM, 0, NO_MAX, NONE),
    e!(0x9A, "TXN_DATE", "Transaction Date", N, TERM, 3, 3, NONE),
    e!(0x9B, "TSI", "Transaction Status Information", B, TERM, 2, 2, NONE),
    e!(0x9C, "TXN_TYPE", "Transaction Type", N, TERM, 1, 1, NONE),
    e!(0x9D, "DDF_NAME", "Directory Definition File (DDF) Name", B, ICC, 5, 16, T_61),
    e!(0xA5, "FCI_PROP", "File Control Information (FCI) Proprietary Template", TPL, ICC, 0, VAR, T_6F),
    // ---- two-byte tags ----
    e!(0x5F20, "CH_NAME", "Cardholder Name", ANS, ICC, 2, 26, T_70_77),
    e!(0x5F24, "EXPIRY", "Application Expiration Date", N, ICC, 3, 3, T_70_77),
    e!(0x5F25, "EFFECTIVE", "Application Effective Date", N, ICC, 3, 3, T_70_77),
    e!(0x5F28, "ISS_COUNTRY", "Issuer Country Code", N, ICC, 2, 2, T_70_77),
    e!(0x5F2A, "TXN_CURRENCY", "Transaction Currency Code", N, TERM, 2, 2, NONE),
    e!(0x5F2D, "LANG_PREF", "Language Preference", AN, ICC, 2, 8, T_A5),
    e!(0x5F30, "SERVICE_CODE", "Service Code", N, ICC, 2, 2, T_70_77),
    e!(0x5F34, "PSN", "Application Primary Account Number (PAN) Sequence Number", N, ICC, 1, 1, T_70_77),
    e!(0x5F36, "TXN_CURR_EXP", "Transaction Currency Exponent", N, TERM, 1, 1, NONE),
    e!(0x5F50, "ISS_URL", "Issuer URL", ANS, ICC, 0, VAR, T_BF0C_73),
    e!(0x5F53, "IBAN", "International Bank Account Number (IBAN)", VAR_FMT, ICC, 0, 34, T_BF0C_73),
    e!(0x5F54, "BIC", "Bank Identifier Code (BIC)", VAR_FMT, ICC, 8, 11, T_BF0C_73),
    e!(0x5F55, "ISS_COUNTRY_A2", "Issuer Country Code (alpha2 format)", A, ICC, 2, 2, T_BF0C_73),
    e!(0x5F56, "ISS_COUNTRY_A3", "Issuer Country Code (alpha3 format)", A, ICC, 3, 3, T_BF0C_73),
    e!(0x5F57, "ACCOUNT_TYPE", "Account Type", N, TERM, 1, 1, NONE),
    e!(0x9F01, "ACQ_ID", "Acquirer Identifier", N, TERM, 6, 6, NONE),
    e!(0x9F02, "AMT_AUTH", "Amount, Authorised (Numeric)", N, TERM, 6, 6, NONE),
    e!(0x9F03, "AMT_OTHER", "Amount, Other (Numeric)", N, TERM, 6, 6, NONE),
    e!(0x9F04, "AMT_OTHER_BIN", "Amount, Other (Binary)", B, TERM, 4, 4, NONE),
    e!(0x9F05, "APP_DISC_DATA", "Application Discretionary Data", B, ICC, 1, 32, T_70_77),
    e!(0x9F06, "AID_TERM", "Application Identifier (AID) - terminal", B, TERM, 5, 16, NONE),
    e!(0x9F07, "AUC", "Application Usage Control", B, ICC, 2, 2, T_70_77),
    e!(0x9F08, "AVN", "Application Version Number", B, ICC, 2, 2, T_70_77),
    e!(0x9F09, "AVN_TERM", "Application Version Number", B, TERM, 2, 2, NONE),
    e!(0x9F0A, "ASRPD", "Application Selection Registered Proprietary Data", B, ICC, 0, 222, T_BF0C),
    e!(0x9F0B, "CH_NAME_EXT", "Cardholder Name Extended", ANS, ICC, 27, 45, T_70_77),
    e!(0x9F0C, "IINE", "Issuer Identification Number Extended (IINE)", N, ICC, 3, 4, T_BF0C_73),
    e!(0x9F0D, "IAC_DEFAULT", "Issuer Action Code - Default", B, ICC, 5, 5, T_70_77),
    e!(0x9F0E, "IAC_DENIAL", "Issuer Action Code - Denial", B, ICC, 5, 5, T_70_77),
    e!(0x9F0F, "IAC_ONLINE", "Issuer Action Code - Online", B, ICC, 5, 5, T_70_77),
    e!(0x9F10, "IAD", "Issuer Application Data", B, ICC, 0, 32, T_77_80),
    e!(0x9F11, "ICTI", "Issuer Code Table Index", N, ICC, 1, 1, T_A5),
    e!(0x9F12, "APP_PREF_NAME", "Application Preferred Name", ANS, ICC, 1, 16, T_61_A5),
    e!(0x9F13, "LAST_ONLINE_ATC", "Last Online Application Transaction Counter (ATC) Register", B, ICC, 2, 2, NONE),
    e!(0x9F14, "LCOL", "Lower Consecutive Offline Limit", B, ICC, 1, 1, T_70_77),
    e!(0x9F15, "MCC", "Merchant Category Code", N, TERM, 2, 2, NONE),
    e!(0x9F16, "MERCHANT_ID", "Merchant Identifier", ANS, TERM, 15, 15, NONE),
    e!(0x9F17, "PTC", "Personal Identification Number (PIN) Try Counter", B, ICC, 1, 1, NONE),
    e!(0x9F18, "SCRIPT_ID", "Issuer Script Identifier", B, ISS, 4, 4, T_71_72),
    e!(0x9F19, "TRID", "Token Requestor ID", N, ICC, 6, 6, T_70_77),
    e!(0x9F1A, "TERM_COUNTRY", "Terminal Country Code", N, TERM, 2, 2, NONE),
    e!(0x9F1B, "FLOOR_LIMIT", "Terminal Floor Limit", B, TERM, 4, 4, NONE),
    e!(0x9F1C, "TID", "Terminal Identification", AN, TERM, 8, 8, NONE),
    e!(0x9F1D, "TRMD", "Terminal Risk Management Data", B, TERM, 1, 8, NONE),
    e!(0x9F1E, "IFD_SN", "Interface Device (IFD) Serial Number", AN, TERM, 8, 8, NONE),
    e!(0x9F1F, "TRACK1_DD", "Track 1 Discretionary Data", ANS, ICC, 0, VAR, T_70_77),
    e!(0x9F20, "TRACK2_DD", "Track 2 Discretionary Data", CN, ICC, 0, VAR, T_70_77),
    e!(0x9F21, "TXN_TIME", "Transaction Time", N, TERM, 3, 3, NONE),
    e!(0x9F22, "CAPKI_TERM", "Certification Authority Public Key Index", B, TERM, 1, 1, NONE),
    e!(0x9F23, "UCOL", "Upper Consecutive Offline Limit", B, ICC, 1, 1, T_70_77),
    e!(0x9F24, "PAR", "Payment Account Reference (PAR)", AN, ICC, 29, 29, T_70_77),
    e!(0x9F26, "AC", "Application Cryptogram", B, ICC, 8, 8, T_77_80),
    e!(0x9F27, "CID", "Cryptogram Information Data", B, ICC, 1, 1, T_77_80),
    e!(0x9F29, "EXT_SELECTION", "Extended Selection", B, ICC, 0, VAR, T_61),
    e!(0x9F2A, "KERNEL_IDENTIFIER", "Kernel Identifier", B, ICC, 1, 8, T_61),
    e!(0x9F2D, "ICC_PIN_PK_CERT", "Integrated Circuit Card (ICC) PIN Encipherment Public Key Certificate", B, ICC, 1, 248, T_70_77),
    e!(0x9F2E, "ICC_PIN_PK_EXP", "Integrated Circuit Card (ICC) PIN Encipherment Public Key Exponent", B, ICC, 1, 3, T_70_77),
    e!(0x9F2F, "ICC_PIN_PK_REM", "Integrated Circuit Card (ICC) PIN Encipherment Public Key Remainder", B, ICC, 1, 42, T_70_77),
    e!(0x9F32, "ISS_PK_EXP", "Issuer Public Key Exponent", B, ICC, 1, 3, T_70_77),
    e!(0x9F33, "TERM_CAP", "Terminal Capabilities", B, TERM, 3, 3, NONE),
    e!(0x9F34, "CVM_RESULTS", "Cardholder Verification Method (CVM) Results", B, TERM, 3, 3, NONE),
    e!(0x9F35, "TERM_TYPE", "Terminal Type", N, TERM, 1, 1, NONE),
    e!(0x9F36, "ATC", "Application Transaction Counter (ATC)", B, ICC, 2, 2, T_77_80),
    e!(0x9F37, "UN", "Unpredictable Number", B, TERM, 4, 4, NONE),
    e!(0x9F38, "PDOL", "Processing Options Data Object List (PDOL)", B, ICC, 0, VAR, T_A5),
    e!(0x9F39, "POS_ENTRY_MODE", "Point-of-Service (POS) Entry Mode", N, TERM, 1, 1, NONE),
    e!(0x9F3A, "AMT_REF", "Amount, Reference Currency", B, TERM, 4, 4, NONE),
    e!(0x9F3B, "APP_REF_CURRENCY", "Application Reference Currency", N, ICC, 2, 8, T_70_77),
    e!(0x9F3C, "TXN_REF_CURRENCY", "Transaction Reference Currency Code", N, TERM, 2, 2, NONE),
    e!(0x9F3D, "TXN_REF_CURR_EXP", "Transaction Reference Currency Exponent", N, TERM, 1, 1, NONE),
    e!(0x9F40, "ADD_TERM_CAP", "Additional Terminal Capabilities", B, TERM, 5, 5, NONE),
    e!(0x9F41, "TSC", "Transaction Sequence Counter", N, TERM, 2, 4, NONE),
    e!(0x9F42, "APP_CURRENCY", "Application Currency Code", N, ICC, 2, 2, T_70_77),
    e!(0x9F43, "APP_REF_CURR_EXP", "Application Reference Currency Exponent", N, ICC, 1, 4, T_70_77),
    e!(0x9F44, "APP_CURR_EXP", "Application Currency Exponent", N, ICC, 1, 1, T_70_77),
    e!(0x9F45, "DAC", "Data Authentication Code", B, ICC, 2, 2, NONE),
    e!(0x9F46, "ICC_PK_CERT", "Integrated Circuit Card (ICC) Public Key Certificate", B, ICC, 1, 248, T_70_77),
    e!(0x9F47, "ICC_PK_EXP", "Integrated Circuit Card (ICC) Public Key Exponent", B, ICC, 1, 3, T_70_77),
    e!(0x9F48, "ICC_PK_REM", "Integrated Circuit Card (ICC) Public Key Remainder", B, ICC, 1, 42, T_70_77),
    e!(0x9F49, "DDOL", "Dynamic Data Authentication Data Object List (DDOL)", B, ICC, 0, VAR, T_70_77),
    e!(0x9F4A, "SDA_TAG_LIST", "Static Data Authentication Tag List", B, ICC, 0, VAR, T_70_77),
    e!(0x9F4B, "SDAD", "Signed Dynamic Application Data", B, ICC, 1, 248, T_77_80),
    e!(0x9F4C, "ICC_DN", "Integrated Circuit Card (ICC) Dynamic Number", B, ICC, 2, 8, NONE),
    e!(0x9F4D, "LOG_ENTRY", "Log Entry", B, ICC, 2, 2, T_BF0C_73),
    e!(0x9F4E, "MERCHANT_NAME", "Merchant Name and Location", ANS, TERM, 0, NO_MAX, NONE),
    e!(0x9F4F, "LOG_FORMAT", "Log Format", B, ICC, 0, NO_MAX, NONE),
    e!(0x9F53, "TCC", "Transaction Category Code", AN, TERM, 1, 1, NONE),
    e!(0x9F5B, "SCRIPT_RESULTS", "Issuer Script Results", B, TERM, 0, NO_MAX, NONE),
    e!(0x9F66, "TTQ", "Terminal Transaction Qualifiers (TTQ)", B, TERM, 4, 4, NONE),
    e!(0x9F6A, "UN_NUMERIC", "Unpredictable Number (Numeric)", N, TERM, 4, 4, NONE),
    e!(0x9F6B, "TRACK2_DATA", "Track 2 Data", B, ICC, 0, 19, T_70),
    e!(0x9F6C, "CTQ", "Card Transaction Qualifiers (CTQ)", B, ICC, 2, 2, T_70_77),
    e!(0x9F6E, "FFI", "Form Factor Indicator (FFI)", B, ICC, 4, 32, T_70_77_BF0C),
    e!(0x9F7C, "CED", "Customer Exclusive Data (CED)", B, ICC, 0, 32, T_70_77),
    e!(0xBF0C, "FCI_IDD", "File Control Information (FCI) Issuer Discretionary Data", TPL, ICC, 0, 222, T_A5),
    // ---- three-byte tags (EMV contactless Book C-2 kernel data) ----
    e!(0xDF810C, "KERNEL_ID", "Kernel ID", B, TERM, 1, 1, NONE),
    e!(0xDF8115, "ERROR_IND", "Error Indication", B, TERM, 6, 6, NONE),
    e!(0xDF8116, "UIRD", "User Interface Request Data", B, TERM, 22, 22, NONE),
    e!(0xDF8117, "CARD_DATA_INPUT_CAP", "Card Data Input Capability", B, TERM, 1, 1, NONE),
    e!(0xDF8118, "CVM_CAP_CVM_REQ", "CVM Capability - CVM Required", B, TERM, 1, 1, NONE),
    e!(0xDF8119, "CVM_CAP_NO_CVM_REQ", "CVM Capability - No CVM Required", B, TERM, 1, 1, NONE),
    e!(0xDF811B, "KERNEL_CONFIG", "Kernel Configuration", B, TERM, 1, 1, NONE),
    e!(0xDF811C, "TORN_MAX_LIFETIME", "Max Lifetime of Torn Transaction Log Record", B, TERM, 2, 2, NONE),
    e!(0xDF811D, "TORN_MAX_RECORDS", "Max Number of Torn Transaction Log Records", B, TERM, 1, 1, NONE),
    e!(0xDF811E, "MS_CVM_CAP_CVM_REQ", "Mag-stripe CVM Capability - CVM Required", B, TERM, 1, 1, NONE),
    e!(0xDF811F, "SECURITY_CAP", "Security Capability", B, TERM, 1, 1, NONE),
    e!(0xDF8120, "TAC_DEFAULT", "Terminal Action Code - Default", B, TERM, 5, 5, NONE),
    e!(0xDF8121, "TAC_DENIAL", "Terminal Action Code - Denial", B, TERM, 5, 5, NONE),
    e!(0xDF8122, "TAC_ONLINE", "Terminal Action Code - Online", B, TERM, 5, 5, NONE),
    e!(0xDF8123, "CL_FLOOR_LIMIT", "Reader Contactless Floor Limit", N, TERM, 6, 6, NONE),
    e!(0xDF8124, "CL_TXN_LIMIT_NO_ODCVM", "Reader Contactless Transaction Limit (No On-device CVM)", N, TERM, 6, 6, NONE),
    e!(0xDF8125, "CL_TXN_LIMIT_ODCVM", "Reader Contactless Transaction Limit (On-device CVM)", N, TERM, 6, 6, NONE),
    e!(0xDF8126, "CVM_REQ_LIMIT", "Reader CVM Required Limit", N, TERM, 6, 6, NONE),
    e!(0xDF8127, "TIMEOUT", "Time Out Value", B, TERM, 2, 2, NONE),
    e!(0xDF8129, "OPS", "Outcome Parameter Set", B, TERM, 8, 8, NONE),
    e!(0xDF812C, "MS_CVM_CAP_NO_CVM_REQ", "Mag-stripe CVM Capability - No CVM Required", B, TERM, 1, 1, NONE),
    e!(0xDF812D, "MSG_HOLD_TIME", "Message Hold Time", N, TERM, 3, 3, NONE),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags;

    fn t(v: u32) -> Tag {
        Tag::new(v)
    }

    #[test]
    fn sorted_unique_and_large_enough() {
        assert!(all().len() >= 150, "only {} entries", all().len());
        for w in all().windows(2) {
            assert!(
                w[0].tag < w[1].tag,
                "{} then {}: not sorted or duplicate",
                w[0].tag,
                w[1].tag
            );
        }
    }

    #[test]
    fn every_entry_is_found_by_lookup() {
        for e in all() {
            assert_eq!(lookup(e.tag).map(|f| f.tag), Some(e.tag));
        }
        assert!(lookup(t(0x01)).is_none());
        assert!(lookup(t(0x9F7F)).is_none());
        assert!(lookup(t(0xDF8101)).is_none());
    }

    #[test]
    fn constructed_iff_template() {
        for e in all() {
            assert_eq!(
                e.tag.is_constructed(),
                e.format == Format::Template,
                "{} {}: constructed={} format={}",
                e.tag,
                e.name,
                e.tag.is_constructed(),
                e.format
            );
        }
    }

    #[test]
    fn lengths_and_labels_are_sane() {
        for e in all() {
            assert!(
                e.min_len <= e.max_len,
                "{}: min {} > max {}",
                e.tag,
                e.min_len,
                e.max_len
            );
            assert!(
                !e.name.is_empty() && e.name.trim() == e.name,
                "{}: bad name",
                e.tag
            );
            assert!(
                !e.short.is_empty()
                    && e.short.len() <= 24
                    && e.short
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{}: bad short label {:?}",
                e.tag,
                e.short
            );
            // Fixed-length BCD/text values in the table are at least one byte.
            if e.format != Format::Template && e.fixed_len().is_some() {
                assert!(e.min_len > 0, "{}: zero fixed length", e.tag);
            }
        }
    }

    #[test]
    fn short_labels_are_unique_ignoring_case() {
        for (i, a) in all().iter().enumerate() {
            for b in &all()[i + 1..] {
                assert!(
                    !a.short.eq_ignore_ascii_case(b.short),
                    "{} and {} share short label {}",
                    a.tag,
                    b.tag,
                    a.short
                );
            }
        }
    }

    #[test]
    fn templates_are_known_containers() {
        for e in all() {
            for &c in e.templates {
                let Some(ci) = lookup(c) else {
                    panic!("{}: template {} not in the dictionary", e.tag, c);
                };
                // 80 (Response Message Template Format 1) is a primitive holding untagged values.
                assert!(
                    ci.format == Format::Template || c == t(0x80),
                    "{}: container {} is not a template",
                    e.tag,
                    c
                );
                assert_ne!(c, e.tag, "{} lists itself as its template", e.tag);
            }
        }
    }

    #[test]
    fn by_short_name_is_case_insensitive() {
        assert_eq!(by_short_name("tvr").map(|e| e.tag), Some(t(0x95)));
        assert_eq!(by_short_name("TVR").map(|e| e.tag), Some(t(0x95)));
        assert_eq!(by_short_name("aip").map(|e| e.tag), Some(t(0x82)));
        assert_eq!(by_short_name("Cdol1").map(|e| e.tag), Some(t(0x8C)));
        assert_eq!(by_short_name("cdol2").map(|e| e.tag), Some(t(0x8D)));
        assert_eq!(by_short_name("cid").map(|e| e.tag), Some(t(0x9F27)));
        assert_eq!(by_short_name(" atc ").map(|e| e.tag), Some(t(0x9F36)));
        assert_eq!(by_short_name("pdol").map(|e| e.tag), Some(t(0x9F38)));
        assert!(by_short_name("").is_none());
        assert!(by_short_name("no such label").is_none());
    }

    #[test]
    fn helpers() {
        let aip = lookup(t(0x82)).unwrap();
        assert_eq!(aip.fixed_len(), Some(2));
        assert!(aip.length_ok(2) && !aip.length_ok(1) && !aip.length_ok(3));
        assert!(aip.found_in(t(0x77)) && aip.found_in(t(0x80)) && !aip.found_in(t(0x70)));
        let pan = lookup(t(0x5A)).unwrap();
        assert_eq!(pan.fixed_len(), None);
        assert!(pan.length_ok(8) && !pan.length_ok(11));
    }

    /// Check one entry against the spec: format, source, length range and templates.
    #[track_caller]
    fn spec(tag: u32, name: &str, format: Format, source: Source, len: (u16, u16), tpl: &[u32]) {
        let e = lookup(t(tag)).unwrap_or_else(|| panic!("{tag:X} missing"));
        assert_eq!(e.name, name, "{tag:X} name");
        assert_eq!(e.format, format, "{tag:X} format");
        assert_eq!(e.source, source, "{tag:X} source");
        assert_eq!((e.min_len, e.max_len), len, "{tag:X} length");
        let want: Vec<Tag> = tpl.iter().map(|&v| t(v)).collect();
        assert_eq!(e.templates, want.as_slice(), "{tag:X} templates");
    }

    #[test]
    fn spot_check_against_spec() {
        use Format::*;
        use Source::*;
        spec(
            0x82,
            "Application Interchange Profile",
            Binary,
            Icc,
            (2, 2),
            &[0x77, 0x80],
        );
        spec(
            0x9F02,
            "Amount, Authorised (Numeric)",
            Numeric,
            Terminal,
            (6, 6),
            &[],
        );
        spec(
            0x9F03,
            "Amount, Other (Numeric)",
            Numeric,
            Terminal,
            (6, 6),
            &[],
        );
        spec(
            0x5A,
            "Application Primary Account Number (PAN)",
            CompressedNumeric,
            Icc,
            (0, 10),
            &[0x70, 0x77],
        );
        spec(
            0x95,
            "Terminal Verification Results",
            Binary,
            Terminal,
            (5, 5),
            &[],
        );
        spec(
            0x9B,
            "Transaction Status Information",
            Binary,
            Terminal,
            (2, 2),
            &[],
        );
        spec(
            0x9F17,
            "Personal Identification Number (PIN) Try Counter",
            Binary,
            Icc,
            (1, 1),
            &[],
        );
        spec(
            0x9F34,
            "Cardholder Verification Method (CVM) Results",
            Binary,
            Terminal,
            (3, 3),
            &[],
        );
        spec(
            0x9F27,
            "Cryptogram Information Data",
            Binary,
            Icc,
            (1, 1),
            &[0x77, 0x80],
        );
        spec(
            0x9F26,
            "Application Cryptogram",
            Binary,
            Icc,
            (8, 8),
            &[0x77, 0x80],
        );
        spec(
            0x9F36,
            "Application Transaction Counter (ATC)",
            Binary,
            Icc,
            (2, 2),
            &[0x77, 0x80],
        );
        spec(
            0x9F10,
            "Issuer Application Data",
            Binary,
            Icc,
            (0, 32),
            &[0x77, 0x80],
        );
        spec(
            0x8E,
            "Cardholder Verification Method (CVM) List",
            Binary,
            Icc,
            (10, 252),
            &[0x70, 0x77],
        );
        spec(
            0x8C,
            "Card Risk Management Data Object List 1 (CDOL1)",
            Binary,
            Icc,
            (0, 252),
            &[0x70, 0x77],
        );
        spec(
            0x94,
            "Application File Locator (AFL)",
            Binary,
            Icc,
            (0, 252),
            &[0x77, 0x80],
        );
        spec(
            0x9F37,
            "Unpredictable Number",
            Binary,
            Terminal,
            (4, 4),
            &[],
        );
        spec(
            0x9F33,
            "Terminal Capabilities",
            Binary,
            Terminal,
            (3, 3),
            &[],
        );
        spec(
            0x9F40,
            "Additional Terminal Capabilities",
            Binary,
            Terminal,
            (5, 5),
            &[],
        );
        spec(0x9F35, "Terminal Type", Numeric, Terminal, (1, 1), &[]);
        spec(
            0x5F2A,
            "Transaction Currency Code",
            Numeric,
            Terminal,
            (2, 2),
            &[],
        );
        spec(0x9A, "Transaction Date", Numeric, Terminal, (3, 3), &[]);
        spec(
            0x5F24,
            "Application Expiration Date",
            Numeric,
            Icc,
            (3, 3),
            &[0x70, 0x77],
        );
        spec(
            0x4F,
            "Application Dedicated File (ADF) Name",
            Binary,
            Icc,
            (5, 16),
            &[0x61],
        );
        spec(
            0x50,
            "Application Label",
            AlphaNumericSpecial,
            Icc,
            (1, 16),
            &[0x61, 0xA5],
        );
        spec(
            0x9F38,
            "Processing Options Data Object List (PDOL)",
            Binary,
            Icc,
            (0, 252),
            &[0xA5],
        );
        spec(
            0x91,
            "Issuer Authentication Data",
            Binary,
            Issuer,
            (8, 16),
            &[],
        );
        spec(
            0x8A,
            "Authorisation Response Code",
            AlphaNumeric,
            Issuer,
            (2, 2),
            &[],
        );
        spec(
            0x86,
            "Issuer Script Command",
            Binary,
            Issuer,
            (0, 261),
            &[0x71, 0x72],
        );
        spec(
            0x9F18,
            "Issuer Script Identifier",
            Binary,
            Issuer,
            (4, 4),
            &[0x71, 0x72],
        );
        spec(
            0x9F07,
            "Application Usage Control",
            Binary,
            Icc,
            (2, 2),
            &[0x70, 0x77],
        );
        spec(
            0x9F0D,
            "Issuer Action Code - Default",
            Binary,
            Icc,
            (5, 5),
            &[0x70, 0x77],
        );
        spec(
            0xBF0C,
            "File Control Information (FCI) Issuer Discretionary Data",
            Template,
            Icc,
            (0, 222),
            &[0xA5],
        );
        spec(
            0x70,
            "READ RECORD Response Message Template",
            Template,
            Icc,
            (0, 252),
            &[],
        );
    }

    /// Every `pub const` in tags.rs, read from its source so a new constant cannot be missed.
    fn tag_constants() -> Vec<(&'static str, Tag)> {
        let src = include_str!("tags.rs");
        let mut out = Vec::new();
        for line in src
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("pub const "))
        {
            let rest = &line["pub const ".len()..];
            let (name, rest) = rest
                .split_once(':')
                .unwrap_or_else(|| panic!("bad line {line}"));
            let hex = rest
                .trim()
                .strip_prefix("Tag = Tag::new(0x")
                .and_then(|r| r.strip_suffix(");"))
                .unwrap_or_else(|| {
                    panic!("tags.rs line not of the form `NAME: Tag = Tag::new(0x..);`: {line}")
                });
            let v = u32::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad hex in {line}"));
            out.push((name, t(v)));
        }
        out
    }

    #[test]
    fn every_tags_constant_is_in_the_dictionary() {
        let consts = tag_constants();
        let declared = include_str!("tags.rs").matches("pub const ").count();
        assert_eq!(consts.len(), declared, "some constants were not parsed");
        assert!(consts.len() >= 100);
        for (name, tag) in &consts {
            assert!(
                lookup(*tag).is_some(),
                "tags::{name} ({tag}) is not in the dictionary"
            );
        }
        for (i, (a, ta)) in consts.iter().enumerate() {
            for (b, tb) in &consts[i + 1..] {
                assert_ne!(ta, tb, "tags::{a} and tags::{b} are the same tag");
            }
        }
    }

    #[test]
    fn named_constants_have_the_right_values() {
        // Compile-time references, so a rename in tags.rs is caught here too.
        let expected: &[(Tag, u32)] = &[
            (tags::AIP, 0x82),
            (tags::AFL, 0x94),
            (tags::APPLICATION_CRYPTOGRAM, 0x9F26),
            (tags::CID, 0x9F27),
            (tags::ISSUER_APPLICATION_DATA, 0x9F10),
            (tags::ATC, 0x9F36),
            (tags::PIN_TRY_COUNTER, 0x9F17),
            (tags::CVM_LIST, 0x8E),
            (tags::CVM_RESULTS, 0x9F34),
            (tags::TVR, 0x95),
            (tags::TSI, 0x9B),
            (tags::TERMINAL_CAPABILITIES, 0x9F33),
            (tags::ADDITIONAL_TERMINAL_CAPABILITIES, 0x9F40),
            (tags::TERMINAL_TYPE, 0x9F35),
            (tags::AMOUNT_AUTHORISED, 0x9F02),
            (tags::AMOUNT_OTHER, 0x9F03),
            (tags::UNPREDICTABLE_NUMBER, 0x9F37),
            (tags::PDOL, 0x9F38),
            (tags::CDOL1, 0x8C),
            (tags::CDOL2, 0x8D),
            (tags::DDOL, 0x9F49),
            (tags::TDOL, 0x97),
            (tags::ISSUER_SCRIPT_TEMPLATE_1, 0x71),
            (tags::ISSUER_SCRIPT_TEMPLATE_2, 0x72),
            (tags::ISSUER_SCRIPT_COMMAND, 0x86),
            (tags::ISSUER_SCRIPT_IDENTIFIER, 0x9F18),
            (tags::ISSUER_SCRIPT_RESULTS, 0x9F5B),
            (tags::ISSUER_AUTHENTICATION_DATA, 0x91),
            (tags::AUTHORISATION_RESPONSE_CODE, 0x8A),
            (tags::AUTHORISATION_CODE, 0x89),
            (tags::RESPONSE_MESSAGE_TEMPLATE_FORMAT_1, 0x80),
            (tags::RESPONSE_MESSAGE_TEMPLATE_FORMAT_2, 0x77),
            (tags::READ_RECORD_RESPONSE_TEMPLATE, 0x70),
            (tags::FCI_TEMPLATE, 0x6F),
            (tags::FCI_PROPRIETARY_TEMPLATE, 0xA5),
            (tags::FCI_ISSUER_DISCRETIONARY_DATA, 0xBF0C),
            (tags::DF_NAME, 0x84),
            (tags::AID, 0x4F),
            (tags::AID_TERMINAL, 0x9F06),
            (tags::APPLICATION_LABEL, 0x50),
            (tags::PAN, 0x5A),
            (tags::PAN_SEQUENCE_NUMBER, 0x5F34),
            (tags::EXPIRY_DATE, 0x5F24),
            (tags::EFFECTIVE_DATE, 0x5F25),
            (tags::AUC, 0x9F07),
            (tags::APPLICATION_VERSION_NUMBER, 0x9F08),
            (tags::APPLICATION_VERSION_NUMBER_TERMINAL, 0x9F09),
            (tags::APPLICATION_CURRENCY_CODE, 0x9F42),
            (tags::APPLICATION_CURRENCY_EXPONENT, 0x9F44),
            (tags::TRANSACTION_CURRENCY_CODE, 0x5F2A),
            (tags::TRANSACTION_CURRENCY_EXPONENT, 0x5F36),
            (tags::TERMINAL_COUNTRY_CODE, 0x9F1A),
            (tags::ISSUER_COUNTRY_CODE, 0x5F28),
            (tags::TRANSACTION_DATE, 0x9A),
            (tags::TRANSACTION_TYPE, 0x9C),
            (tags::TRANSACTION_TIME, 0x9F21),
            (tags::SDA_TAG_LIST, 0x9F4A),
            (tags::CA_PUBLIC_KEY_INDEX, 0x8F),
            (tags::CA_PUBLIC_KEY_INDEX_TERMINAL, 0x9F22),
            (tags::ISSUER_PUBLIC_KEY_CERTIFICATE, 0x90),
            (tags::ISSUER_PUBLIC_KEY_REMAINDER, 0x92),
            (tags::ISSUER_PUBLIC_KEY_EXPONENT, 0x9F32),
            (tags::SIGNED_STATIC_APPLICATION_DATA, 0x93),
            (tags::ICC_PUBLIC_KEY_CERTIFICATE, 0x9F46),
            (tags::ICC_PUBLIC_KEY_EXPONENT, 0x9F47),
            (tags::ICC_PUBLIC_KEY_REMAINDER, 0x9F48),
            (tags::SIGNED_DYNAMIC_APPLICATION_DATA, 0x9F4B),
            (tags::ICC_DYNAMIC_NUMBER, 0x9F4C),
            (tags::ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE, 0x9F2D),
            (tags::IAC_DEFAULT, 0x9F0D),
            (tags::IAC_DENIAL, 0x9F0E),
            (tags::IAC_ONLINE, 0x9F0F),
            (tags::LOG_ENTRY, 0x9F4D),
            (tags::LOG_FORMAT, 0x9F4F),
            (tags::LAST_ONLINE_ATC_REGISTER, 0x9F13),
            (tags::LOWER_CONSECUTIVE_OFFLINE_LIMIT, 0x9F14),
            (tags::UPPER_CONSECUTIVE_OFFLINE_LIMIT, 0x9F23),
            (tags::TERMINAL_FLOOR_LIMIT, 0x9F1B),
            (tags::TRACK2_EQUIVALENT_DATA, 0x57),
            (tags::CARDHOLDER_NAME, 0x5F20),
            (tags::APPLICATION_PREFERRED_NAME, 0x9F12),
            (tags::APPLICATION_PRIORITY_INDICATOR, 0x87),
            (tags::SFI, 0x88),
            (tags::APPLICATION_TEMPLATE, 0x61),
            (tags::DIRECTORY_DISCRETIONARY_TEMPLATE, 0x73),
            (tags::TTQ, 0x9F66),
            (tags::CTQ, 0x9F6C),
            (tags::TRANSACTION_PIN_DATA, 0x99),
            (tags::POS_ENTRY_MODE, 0x9F39),
            (tags::TRANSACTION_SEQUENCE_COUNTER, 0x9F41),
            (tags::DATA_AUTHENTICATION_CODE, 0x9F45),
            (tags::MERCHANT_NAME_AND_LOCATION, 0x9F4E),
            (tags::PAYMENT_ACCOUNT_REFERENCE, 0x9F24),
            (tags::TOKEN_REQUESTOR_ID, 0x9F19),
            (tags::TAC_DEFAULT, 0xDF8120),
        ];
        for &(tag, v) in expected {
            assert_eq!(tag.value(), v, "{tag}");
            assert!(lookup(tag).is_some(), "{tag}");
        }
    }
}
