//! `calc kcv`, `derive-mk`, `session-key` and `mac`: keys and MACs.

use anyhow::Result;
use emv_crypto::block::Padding;
use emv_crypto::kdf::{self, MkDerivation};
use emv_crypto::keys::{self, KeyAlgorithm};
use emv_crypto::mac::{self, MacAlgorithm};
use emv_crypto::session::{self, SessionKeyMethod};
use emv_crypto::util::to_hex;

use super::parse::{self, Secret, choice, input, secret};
use super::report::Report;

pub const KCV_EXAMPLES: &str = "\
Example (pyemv V18 / psec P10):
  $ emvbench calc kcv --key 0123456789ABCDEFFEDCBA9876543210
  KCV  08D7B4";

/// Arguments of `calc kcv`.
#[derive(Debug, clap::Args)]
pub struct KcvArgs {
    /// The key in hex: 8 bytes (DES), 16 or 24 (TDES); 16, 24 or 32 with --algorithm aes.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    key: Secret,

    /// tdes: E(K)[00..00] with DES/TDES (ANSI X9.24); aes: AES-ECB of a zero block;
    /// aes-cmac: AES-CMAC of a zero block (X9.24-1:2017 for AES keys).
    #[arg(
        long,
        value_name = "ALG",
        default_value = "tdes",
        value_parser = choice::<KeyAlgorithm>(["tdes", "aes", "aes-cmac"])
    )]
    algorithm: KeyAlgorithm,
}

/// Run `calc kcv`.
pub fn kcv(a: KcvArgs) -> Result<Report> {
    let key = parse::key_bytes("--key", &a.key)?;
    let kcv = keys::kcv(a.algorithm, &key).map_err(parse::crypto("--key"))?;
    let mut r = Report::new();
    r.hex("KCV", "kcv", &kcv);
    r.json(
        "algorithm",
        match a.algorithm {
            KeyAlgorithm::Tdes if key.len() == 8 => "des",
            KeyAlgorithm::Tdes => "tdes",
            KeyAlgorithm::Aes => "aes",
            KeyAlgorithm::AesCmac => "aes-cmac",
        },
    );
    Ok(r)
}

pub const DERIVE_MK_EXAMPLES: &str = "\
Examples (pyemv V01, V02):
  $ emvbench calc derive-mk --imk 0123456789ABCDEFFEDCBA9876543210 --pan 4761739001010119 \\
      --psn 00
  MK  5183894598EAD6D00402D6CD9B0E2FFE  (KCV 488FE4)
  $ emvbench calc derive-mk --imk 0123456789ABCDEFFEDCBA9876543210 \\
      --pan 4761739001010119123 --option b
  MK  01D59E9D5134263B76494610DA5D8A51  (KCV 7B87A3)

The MK has odd parity. Derive MK-SMI and MK-SMC the same way from IMK-SMI and IMK-SMC.";

/// Arguments of `calc derive-mk`.
#[derive(Debug, clap::Args)]
pub struct DeriveMkArgs {
    /// Issuer master key (IMK-AC, IMK-SMI or IMK-SMC), 16 or 24 bytes in hex.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    imk: Secret,

    /// Application PAN (5A), 8-19 digits.
    #[arg(long, value_name = "DIGITS")]
    pan: String,

    /// PAN Sequence Number (5F34), 2 digits.
    #[arg(long, value_name = "NN", default_value = "00")]
    psn: String,

    /// EMV 4.4 Book 2 A1.4 option: a (A1.4.1) or b (A1.4.2, Visa CVN 18/22). Option b
    /// differs from a only for PANs of more than 16 digits.
    #[arg(
        long,
        value_name = "a|b",
        default_value = "a",
        value_parser = choice::<MkDerivation>(["a", "b"])
    )]
    option: MkDerivation,
}

/// Run `calc derive-mk`.
pub fn derive_mk(a: DeriveMkArgs) -> Result<Report> {
    let imk = parse::tdes("--imk", &a.imk)?;
    let pan = parse::pan("--pan", &a.pan)?;
    let psn = parse::psn(&a.psn)?;
    let mk = kdf::derive_icc_mk(&imk, pan, Some(psn), a.option).map_err(parse::crypto("--pan"))?;
    let mut r = Report::new();
    r.key("MK", "mk", "kcv", &mk);
    r.json(
        "option",
        match a.option {
            MkDerivation::OptionA => "a",
            MkDerivation::OptionB => "b",
        },
    );
    Ok(r)
}

pub const SESSION_KEY_EXAMPLES: &str = "\
Examples (pyemv V03, MK of V01, ATC 0001; docs/test-vectors.md §1):
  $ emvbench calc session-key --mk 5183894598EAD6D00402D6CD9B0E2FFE --method common \\
      --atc 0001
  SK  61AE372A0B94610B1C6458086494B35D  (KCV 873FD7)
  R   0001000000000000
  $ emvbench calc session-key --mk 5183894598EAD6D00402D6CD9B0E2FFE --method mastercard \\
      --atc 0001 --un 12345678
  SK  2CB6C7F4C13BC4164961D0F89BD68CE9  (KCV 703E85)
  R   0001000012345678
  $ emvbench calc session-key --mk 5183894598EAD6D00402D6CD9B0E2FFE --method emv2000 \\
      --atc 0001
  SK  BF20A1A43D8558D9F7073BBA3DB98552  (KCV 2C22B4)
  $ emvbench calc session-key --mk FBFD293264F1D001AE7C76BA6715292F --method visa-sm \\
      --atc 0001
  SK  FBFD293264F1D001AE7C76BA6715D6D0  (KCV CF7713)
  $ emvbench calc session-key --mk 0123456789ABCDEFFEDCBA9876543210 --method common \\
      --r 001C000000000000
  SK  E9FB384AF807B940FEDCEA613461B0C4  (KCV 7DD53C)
  R   001C000000000000

For secure-messaging keys of M/Chip and Visa CVN 22, use --method common --r <ARQC>.";

/// Arguments of `calc session-key`.
#[derive(Debug, clap::Args)]
pub struct SessionKeyArgs {
    /// ICC master key (MK-AC, MK-SMI or MK-SMC), 16 bytes in hex.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    mk: Secret,

    /// common: EMV common session key (Book 2 A1.3.1), R = ATC || 00..00 or --r;
    /// mastercard: M/Chip SKD, R = ATC || 0000 || UN; emv2000: EMV 4.1 tree (b 4, h 8,
    /// IV 0); visa-sm: Visa secure messaging (ATC XORed into the MK).
    #[arg(
        long,
        value_name = "METHOD",
        value_parser = choice::<SessionKeyMethod>(["common", "mastercard", "emv2000", "visa-sm"])
    )]
    method: SessionKeyMethod,

    /// Application Transaction Counter (9F36), 2 bytes in hex.
    #[arg(long, value_name = "HEX", required_unless_present = "r")]
    atc: Option<String>,

    /// Unpredictable Number (9F37), 4 bytes in hex (--method mastercard only).
    #[arg(long, value_name = "HEX", required_if_eq("method", "mastercard"))]
    un: Option<String>,

    /// Diversification value R, 8 bytes in hex (--method common only), e.g. the ARQC for
    /// secure-messaging keys; replaces ATC || 00..00.
    #[arg(long = "r", value_name = "HEX")]
    r: Option<String>,
}

/// Run `calc session-key`.
pub fn session_key(a: SessionKeyArgs) -> Result<Report> {
    let mk = parse::tdes("--mk", &a.mk)?;
    let atc = a.atc.as_deref().map(parse::atc).transpose()?;
    let un =
        a.un.as_deref()
            .map(|s| parse::hex_array::<4>("--un", s))
            .transpose()?;
    let r =
        a.r.as_deref()
            .map(|s| parse::hex_array::<8>("--r", s))
            .transpose()?;
    if r.is_some() && a.method != SessionKeyMethod::Common {
        return Err(input("--r", "only --method common takes R"));
    }
    if un.is_some() && a.method != SessionKeyMethod::Mastercard {
        return Err(input("--un", "only --method mastercard uses the UN"));
    }
    let sk = session::derive_session_key(a.method, &mk, atc, un.as_ref(), r.as_ref())
        .map_err(parse::crypto("--mk"))?;
    let mut rep = Report::new();
    rep.key("SK", "sk", "kcv", &sk);
    // the diversification value actually used
    let used_r = match (a.method, r, atc, un) {
        (SessionKeyMethod::Common, Some(r), _, _) => Some(r),
        (SessionKeyMethod::Common, None, Some(atc), _) => Some(session::r_from_atc(atc)),
        (SessionKeyMethod::Mastercard, _, Some(atc), Some(un)) => {
            Some(session::r_mastercard(atc, &un))
        }
        _ => None,
    };
    if let Some(r) = used_r {
        rep.hex("R", "r", &r);
    }
    rep.json("method", a.method.to_string());
    Ok(rep)
}

pub const MAC_EXAMPLES: &str = "\
Examples (ISO/IEC 9797-1 Annex B, data \"Now is the time for all \"; pyemv V06):
  $ emvbench calc mac --key 0123456789ABCDEFFEDCBA9876543210 \\
      --data 4E6F77206973207468652074696D6520666F7220616C6C20 --padding 1
  MAC  A1C72E74EA3FA9B6
  $ emvbench calc mac --key 0123456789ABCDEF \\
      --data 4E6F77206973207468652074696D6520666F7220616C6C20 --algorithm 1 --padding 1
  MAC  70A30640CC76DD8B
  $ emvbench calc mac --key 0123456789ABCDEFFEDCBA9876543210 --data 8424000008 --length 4
  MAC  0BFFF5DF";

/// Arguments of `calc mac`.
#[derive(Debug, clap::Args)]
pub struct MacArgs {
    /// MAC key in hex: 16 bytes (K_L || K_R) for algorithm 3; 8 (DES), 16 or 24 bytes
    /// (TDES) for algorithm 1.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    key: Secret,

    /// The data to MAC, in hex (may be empty).
    #[arg(long, value_name = "HEX")]
    data: String,

    /// ISO/IEC 9797-1 MAC algorithm: 1 (CBC-MAC) or 3 (retail MAC, ANSI X9.19, as EMV
    /// uses for cryptograms and secure messaging).
    #[arg(
        long,
        value_name = "N",
        default_value = "3",
        value_parser = choice::<MacAlgorithm>(["1", "3"])
    )]
    algorithm: MacAlgorithm,

    /// ISO/IEC 9797-1 padding method: 1 (zeros), 2 (80 then zeros, EMV) or 3 (length
    /// block).
    #[arg(
        long,
        value_name = "N",
        default_value = "2",
        value_parser = choice::<Padding>(["1", "2", "3"])
    )]
    padding: Padding,

    /// MAC length in bytes, 4-8 (the leftmost bytes are kept).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u8).range(4..=8))]
    length: u8,
}

/// Run `calc mac`.
pub fn mac(a: MacArgs) -> Result<Report> {
    let key = parse::key_bytes("--key", &a.key)?;
    let data = parse::hex("--data", &a.data)?;
    let m = mac::compute_mac(a.algorithm, &key, a.padding, usize::from(a.length), &data)
        .map_err(parse::crypto("--key"))?;
    let mut r = Report::new();
    r.hex("MAC", "mac", &m);
    r.json_int(
        "algorithm",
        match a.algorithm {
            MacAlgorithm::Alg1 => 1,
            MacAlgorithm::Alg3 => 3,
        },
    );
    r.json_int(
        "padding",
        match a.padding {
            Padding::Method1 => 1,
            Padding::Method2 => 2,
            Padding::Method3 => 3,
        },
    );
    r.json("data", to_hex(&data));
    Ok(r)
}
