//! `calc pin-block`, `pin-block-decode`, `pvv` and `ibm3624`: ISO 9564-1 PIN blocks and
//! PIN verification values.

use anyhow::Result;
use emv_crypto::block;
use emv_crypto::pinblock::{self, Fill, Pin, PinBlockFormat, PinBlockKey};
use emv_crypto::pvv::{self, DecimalisationTable};
use emv_crypto::util::to_hex;

use super::parse::{self, Secret, choice, input, secret};
use super::report::Report;

fn format_parser() -> impl clap::builder::TypedValueParser<Value = PinBlockFormat> {
    choice::<PinBlockFormat>(["0", "1", "2", "3", "4"])
}

/// The PAN, checked, if the format needs it for this operation (`keyed`: a key is given).
fn pan_for(format: PinBlockFormat, pan: Option<&str>, keyed: bool) -> Result<Option<&str>> {
    let needed = match format {
        PinBlockFormat::Iso0 | PinBlockFormat::Iso3 => true,
        // the format 4 PAN field only enters the encipherment
        PinBlockFormat::Iso4 => keyed,
        PinBlockFormat::Iso1 | PinBlockFormat::Iso2 => false,
    };
    match pan {
        Some(p) => parse::pan("--pan", p).map(Some),
        None if needed => Err(input(
            "--pan",
            format!(
                "format {} {} the PAN: give --pan",
                format.number(),
                if format == PinBlockFormat::Iso4 {
                    "enciphers with"
                } else {
                    "combines the PIN with"
                }
            ),
        )),
        None => Ok(None),
    }
}

pub const PIN_BLOCK_EXAMPLES: &str = "\
Examples (psec P01, P03, P05):
  $ emvbench calc pin-block --format 0 --pin 1234 --pan 4761739001010119 \\
      --key 0123456789ABCDEFFEDCBA9876543210
  Clear      041223C6FFEFEFEE
  Encrypted  AC0708A3C923D34D
  $ emvbench calc pin-block --format 2 --pin 1234
  Clear  241234FFFFFFFFFF
  $ emvbench calc pin-block --format 4 --pin 1234 --pan 4761739001010119 \\
      --key 00112233445566778899AABBCCDDEEFF --fill 0123456789ABCDEF
  PIN field  441234AAAAAAAAAA0123456789ABCDEF
  PAN field  44761739001010119000000000000000
  Encrypted  EE834D17A2045301604C8D459A368A5B

Formats 0-3 are 8 bytes enciphered with TDES (ECB); format 4 is 16 bytes enciphered with
AES as E(E(PIN field) XOR PAN field), and \"clear\" in the JSON is its PIN field. Without
--key only the clear block is computed (\"encrypted\" is null in the JSON). The fill of
formats 1, 3 and 4 is random unless --fill gives it: 14 minus the PIN length nibbles for
formats 1 and 3 (A-F for 3), 16 for format 4.";

/// Arguments of `calc pin-block`.
#[derive(Debug, clap::Args)]
pub struct PinBlockArgs {
    /// ISO 9564-1 format: 0 (PIN XOR PAN, fill F), 1 (random fill, no PAN), 2 (fill F, no
    /// PAN; ICC), 3 (PIN XOR PAN, random fill A-F), 4 (AES, 16 bytes).
    #[arg(long, value_name = "N", value_parser = format_parser())]
    format: PinBlockFormat,

    /// The PIN, 4-12 digits.
    #[arg(long, value_name = "DIGITS", value_parser = secret)]
    pin: Secret,

    /// PAN, 8-19 digits: formats 0 and 3, and format 4 with --key.
    #[arg(long, value_name = "DIGITS")]
    pan: Option<String>,

    /// PIN encryption key in hex: TDES (16 or 24 bytes) for formats 0-3, AES (16, 24 or
    /// 32 bytes) for format 4.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    key: Option<Secret>,

    /// Fill nibbles in hex for formats 1, 3 and 4, for reproducible blocks (default:
    /// random).
    #[arg(long, value_name = "HEX")]
    fill: Option<String>,
}

/// Run `calc pin-block`.
pub fn pin_block(a: PinBlockArgs) -> Result<Report> {
    let format = a.format;
    let pin = parse::pin("--pin", &a.pin)?;
    let pan = pan_for(format, a.pan.as_deref(), a.key.is_some())?;
    let fill = match &a.fill {
        None => Fill::Random,
        Some(_) if matches!(format, PinBlockFormat::Iso0 | PinBlockFormat::Iso2) => {
            return Err(input(
                "--fill",
                format!("format {} has no random fill (it is F)", format.number()),
            ));
        }
        Some(f) => Fill::hex_digits(f).map_err(parse::crypto("--fill"))?,
    };
    let fill_err = parse::crypto("--fill");
    let mut r = Report::new();
    r.json_int("format", u64::from(format.number()));
    if format == PinBlockFormat::Iso4 {
        // draw the fill once so that the PIN field shown is the one enciphered
        let field = pinblock::pin_field_iso4(&pin, &fill).map_err(&fill_err)?;
        let nibbles: Vec<u8> = field[8..].iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
        r.secret("PIN field", "clear", to_hex(&field[..]).into());
        if let Some(pan) = pan {
            let pan_field = pinblock::pan_field_iso4(pan).map_err(parse::crypto("--pan"))?;
            r.hex("PAN field", "pan_field", &pan_field);
        }
        match &a.key {
            Some(k) => {
                let key = parse::aes("--key", k)?;
                let pan = pan.unwrap_or_default();
                let enc =
                    pinblock::encrypt_pin_block_iso4(&key, &pin, pan, &Fill::Nibbles(nibbles))
                        .map_err(parse::crypto("--pan"))?;
                r.hex("Encrypted", "encrypted", &enc);
            }
            None => {
                r.null("encrypted");
            }
        }
    } else {
        let clear = pinblock::encode_pin_block(format, &pin, pan, &fill).map_err(&fill_err)?;
        r.secret("Clear", "clear", to_hex(&clear[..]).into());
        match &a.key {
            Some(k) => {
                let key = parse::tdes("--key", k)?;
                // the clear block above, enciphered (pinblock::encrypt_pin_block would
                // draw a new random fill)
                let enc = block::tdes_encrypt_block(&key, &clear);
                r.hex("Encrypted", "encrypted", &enc);
            }
            None => {
                r.null("encrypted");
            }
        }
    }
    Ok(r)
}

pub const PIN_BLOCK_DECODE_EXAMPLES: &str = "\
Examples (psec P01, P05):
  $ emvbench calc pin-block-decode --format 0 --block AC0708A3C923D34D \\
      --pan 4761739001010119 --key 0123456789ABCDEFFEDCBA9876543210
  PIN  1234
  $ emvbench calc pin-block-decode --format 4 --block EE834D17A2045301604C8D459A368A5B \\
      --pan 4761739001010119 --key 00112233445566778899AABBCCDDEEFF
  PIN  1234
  $ emvbench calc pin-block-decode --format 2 --block 241234FFFFFFFFFF
  PIN  1234

Every rule of the format is checked (control nibble, length, digits, fill); a block that
breaks one is an error, never a PIN.";

/// Arguments of `calc pin-block-decode`.
#[derive(Debug, clap::Args)]
pub struct PinBlockDecodeArgs {
    /// ISO 9564-1 format, 0-4.
    #[arg(long, value_name = "N", value_parser = format_parser())]
    format: PinBlockFormat,

    /// The PIN block in hex: enciphered with --key, else clear (the PIN field for format 4).
    #[arg(long, value_name = "HEX", value_parser = secret)]
    block: Secret,

    /// PAN, 8-19 digits: formats 0 and 3, and format 4 with --key.
    #[arg(long, value_name = "DIGITS")]
    pan: Option<String>,

    /// PIN encryption key in hex: TDES for formats 0-3, AES for format 4.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    key: Option<Secret>,
}

/// Run `calc pin-block-decode`.
pub fn pin_block_decode(a: PinBlockDecodeArgs) -> Result<Report> {
    let format = a.format;
    let pan = pan_for(format, a.pan.as_deref(), a.key.is_some())?;
    let block = zeroize::Zeroizing::new(parse::hex("--block", a.block.as_str())?);
    let pin = match &a.key {
        None => pinblock::decode_pin_block(format, &block, pan),
        Some(k) if format == PinBlockFormat::Iso4 => {
            let key = parse::aes("--key", k)?;
            pinblock::pin_block_decode(PinBlockKey::Aes(&key), format, &block, pan)
        }
        Some(k) => {
            let key = parse::tdes("--key", k)?;
            pinblock::pin_block_decode(PinBlockKey::Tdes(&key), format, &block, pan)
        }
    }
    .map_err(parse::crypto("--block"))?;
    let mut r = Report::new();
    r.secret("PIN", "pin", pin.expose());
    r.json_int("format", u64::from(format.number()));
    Ok(r)
}

pub const PVV_EXAMPLES: &str = "\
Examples (psec P07; docs/test-vectors.md §2):
  $ emvbench calc pvv --pvk 0123456789ABCDEFFEDCBA9876543210 --pan 4761739001010119 \\
      --pvki 1 --pin 1234
  PVV  0949
  $ emvbench calc pvv --pvk 0123456789ABCDEFFEDCBA9876543210 --pan 1122334455667788 \\
      --pvki 3 --pin 4524
  PVV  4021";

/// Arguments of `calc pvv`.
#[derive(Debug, clap::Args)]
pub struct PvvArgs {
    /// PIN verification key (PVK), 16 or 24 bytes in hex.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    pvk: Secret,

    /// PAN, 12-19 digits (its 11 rightmost digits before the check digit are used).
    #[arg(long, value_name = "DIGITS")]
    pan: String,

    /// PIN Verification Key Index, one digit 0-9.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=9))]
    pvki: u8,

    /// The PIN, 4-12 digits (its 4 leftmost digits are used).
    #[arg(long, value_name = "DIGITS", value_parser = secret)]
    pin: Secret,
}

/// Run `calc pvv`.
pub fn pvv(a: PvvArgs) -> Result<Report> {
    let pvk = parse::tdes("--pvk", &a.pvk)?;
    let pan = parse::pan("--pan", &a.pan)?;
    let pin = parse::pin("--pin", &a.pin)?;
    let v = pvv::visa_pvv(&pvk, pan, a.pvki, &pin).map_err(parse::crypto("--pan"))?;
    let mut r = Report::new();
    r.secret("PVV", "pvv", v.into());
    Ok(r)
}

pub const IBM3624_EXAMPLES: &str = "\
Examples (psec P06; docs/test-vectors.md §2):
  $ emvbench calc ibm3624 --pvk 0123456789ABCDEFFEDCBA9876543210 \\
      --decimalisation 0123456789012345 --validation-data 4761739001010119 --pin 1234
  Natural PIN  7519
  Offset       4725
  $ emvbench calc ibm3624 --pvk 0123456789ABCDEFFEDCBA9876543210 \\
      --decimalisation 1234567890123456 --validation-data 1122334455667788 --pin 4524
  Natural PIN  4524
  Offset       0000

The validation data (1-16 hex digits, usually PAN digits) is padded to 16 with --pad and
enciphered under the PVK; the decimalised result's leftmost digits are the natural PIN.";

/// Arguments of `calc ibm3624`.
#[derive(Debug, clap::Args)]
pub struct Ibm3624Args {
    /// PIN verification key (PVK), 16 or 24 bytes in hex.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    pvk: Secret,

    /// Decimalisation table: 16 decimal digits, the digit for each hex digit 0-F.
    #[arg(long, value_name = "DIGITS")]
    decimalisation: String,

    /// Validation data, 1-16 hex digits (usually PAN digits).
    #[arg(long = "validation-data", value_name = "HEX")]
    validation_data: String,

    /// The customer PIN, 4-12 digits (the natural PIN has as many digits).
    #[arg(long, value_name = "DIGITS", value_parser = secret)]
    pin: Secret,

    /// Pad character completing the validation data to 16 hex digits.
    #[arg(long, value_name = "HEX DIGIT", default_value = "F")]
    pad: String,
}

/// Run `calc ibm3624`.
pub fn ibm3624(a: Ibm3624Args) -> Result<Report> {
    let pvk = parse::tdes("--pvk", &a.pvk)?;
    let table: DecimalisationTable = a.decimalisation.parse().map_err(|_| {
        input(
            "--decimalisation",
            format!(
                "the table must be 16 decimal digits, got {:?}",
                a.decimalisation
            ),
        )
    })?;
    let pad = match a.pad.chars().collect::<Vec<_>>()[..] {
        [c] if c.is_ascii_hexdigit() => c.to_ascii_uppercase(),
        _ => {
            return Err(input(
                "--pad",
                format!("must be one hex digit, got {:?}", a.pad),
            ));
        }
    };
    let pin: Pin = parse::pin("--pin", &a.pin)?;
    let res = pvv::ibm3624(&pvk, &table, &a.validation_data, pad, &pin)
        .map_err(parse::crypto("--validation-data"))?;
    let mut r = Report::new();
    r.secret("Natural PIN", "natural_pin", res.natural_pin.expose());
    r.text("Offset", "offset", res.offset);
    Ok(r)
}
