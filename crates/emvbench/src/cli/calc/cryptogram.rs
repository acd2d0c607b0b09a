//! `calc arqc`, `arpc` and `script`: application cryptograms, issuer authentication and
//! issuer-script commands, per Cryptogram Version Number.

use anyhow::{Error, Result};
use clap::ArgGroup;
use emv_crypto::CryptoError;
use emv_crypto::cryptogram::{self, AcData, AcSessionKey, ArpcKey, ArpcMethod, ArpcResponse, Cvn};
use emv_crypto::pinblock::Pin;
use emv_crypto::script::{self, IccKeys, ScriptCommand, ScriptCommandKind, ScriptContext};

use super::parse::{self, Secret, choice, input, secret};
use super::report::Report;

/// The `--cvn` parser: every CVN the library supports, by its CLI name.
fn cvn_parser() -> impl clap::builder::TypedValueParser<Value = Cvn> {
    choice::<Cvn>(Cvn::ALL.map(Cvn::name))
}

/// Maps a library error from a computation over several inputs to the argument most
/// likely at fault.
fn cvn_error(default_arg: &'static str) -> impl Fn(CryptoError) -> Error {
    move |e| {
        let arg = match &e {
            CryptoError::InvalidPan(_) => "--pan",
            CryptoError::InvalidPsn(_) => "--psn",
            CryptoError::CvnInput { reason, .. } if reason.contains("counters") => "--counters",
            CryptoError::CvnInput { reason, .. } if reason.contains("IAD") => "--iad",
            CryptoError::CvnInput { reason, .. } if reason.contains("current PIN") => {
                "--current-pin"
            }
            _ => default_arg,
        };
        parse::crypto(arg)(e)
    }
}

/// The UN, required when the CVN's key is the Mastercard SKD session key (`needed`).
fn un_arg(un: Option<&str>, cvn: Cvn, needed: bool) -> Result<[u8; 4]> {
    match un {
        Some(s) => parse::hex_array::<4>("--un", s),
        None if needed => Err(input(
            "--un",
            format!(
                "{cvn} keys with the Mastercard session key (R = ATC || 0000 || UN): give the \
                 Unpredictable Number (9F37)"
            ),
        )),
        None => Ok([0; 4]),
    }
}

pub const ARQC_EXAMPLES: &str = "\
Examples (pyemv V09, V10, V13: ATC 0001, UN 12345678):
  $ emvbench calc arqc --cvn visa-10 --imk 0123456789ABCDEFFEDCBA9876543210 \\
      --pan 4761739001010119 --atc 0001 \\
      --data 000000001000000000000000082600000080000826240115001234567858000001 \\
      --iad 06010A03A00000
  ARQC   F8848BFCEE3AD314
  MK     5183894598EAD6D00402D6CD9B0E2FFE  (KCV 488FE4)
  SK     5183894598EAD6D00402D6CD9B0E2FFE  (KCV 488FE4; visa-10 has no session key: the MK)
  Input  00000000100000000000000008260000008000082624011500123456785800000103A00000
  $ emvbench calc arqc --cvn visa-18 --imk 0123456789ABCDEFFEDCBA9876543210 \\
      --pan 4761739001010119 --atc 0001 \\
      --data 000000001000000000000000082600000080000826240115001234567858000001 \\
      --iad 06011203A00000
  ARQC   34FCF03846F66793
  MK     5183894598EAD6D00402D6CD9B0E2FFE  (KCV 488FE4)
  SK     61AE372A0B94610B1C6458086494B35D  (KCV 873FD7)
  Input  00000000100000000000000008260000008000082624011500123456785800000106011203A00000
  $ emvbench calc arqc --cvn mc-16 --imk 0123456789ABCDEFFEDCBA9876543210 \\
      --pan 5413330089600010 --atc 0001 --un 12345678 \\
      --data 000000001000000000000000082600000080000826240115001234567858000001 \\
      --iad 0110A000032200000000
  ARQC   797759A7378F90E0
  MK     5D70E9267694BCFEBC62FDBA8A5BF186  (KCV 32A0EB)
  SK     C7F468F113A2A23B833EADAD100B3B07  (KCV D38924)
  Input  000000001000000000000000082600000080000826240115001234567858000001A00003220000

--data is the transaction data in the scheme's order, usually 9F02 9F03 9F1A 95 5F2A 9A 9C
9F37 82 9F36 (33 bytes); the CVN appends its scheme data from --iad (the CVR for visa-10
and M/Chip, the whole IAD for visa-18, visa-22 and interac-133) and --counters (mc-17,
mc-21). A raw cryptogram over data alone (the bench set of docs/test-vectors.md §4) is
`calc mac --key <SK> --data <data>` with the key from `derive-mk` and `session-key`.";

/// The card and transaction identifiers every cryptogram and script op needs.
#[derive(Debug, clap::Args)]
pub struct CardArgs {
    /// Application PAN (5A), 8-19 digits.
    #[arg(long, value_name = "DIGITS")]
    pan: String,

    /// PAN Sequence Number (5F34), 2 digits.
    #[arg(long, value_name = "NN", default_value = "00")]
    psn: String,

    /// Application Transaction Counter (9F36) of the transaction, 2 bytes in hex.
    #[arg(long, value_name = "HEX")]
    atc: String,
}

impl CardArgs {
    /// The validated PAN, PSN and ATC.
    fn parse(&self) -> Result<(&str, &str, u16)> {
        Ok((
            parse::pan("--pan", &self.pan)?,
            parse::psn(&self.psn)?,
            parse::atc(&self.atc)?,
        ))
    }
}

/// Arguments of `calc arqc`.
#[derive(Debug, clap::Args)]
pub struct ArqcArgs {
    /// Cryptogram Version Number (selects MK option, session key, padding, scheme data).
    #[arg(long, value_name = "CVN", value_parser = cvn_parser())]
    cvn: Cvn,

    /// Issuer master key for application cryptograms (IMK-AC), 16 bytes in hex.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    imk: Secret,

    #[command(flatten)]
    card: CardArgs,

    /// Transaction data in the scheme's order, in hex (see below).
    #[arg(long, value_name = "HEX")]
    data: String,

    /// Unpredictable Number (9F37), 4 bytes in hex: needed by the CVNs keyed with the
    /// Mastercard session key (mc-16, mc-17, interac-133).
    #[arg(long, value_name = "HEX")]
    un: Option<String>,

    /// Issuer Application Data (9F10) as the card returns it.
    #[arg(long, value_name = "HEX")]
    iad: Option<String>,

    /// M/Chip counters for mc-17 and mc-21, 8 or 16 bytes in hex (default: IAD bytes 11-18).
    #[arg(long, value_name = "HEX")]
    counters: Option<String>,
}

/// Run `calc arqc`.
pub fn arqc(a: ArqcArgs) -> Result<Report> {
    let imk = parse::tdes("--imk", &a.imk)?;
    let (pan, psn, atc) = a.card.parse()?;
    let data = parse::hex("--data", &a.data)?;
    let un = un_arg(
        a.un.as_deref(),
        a.cvn,
        a.cvn.ac_session_key() == AcSessionKey::MastercardSkd,
    )?;
    let iad = a
        .iad
        .as_deref()
        .map(|s| parse::hex("--iad", s))
        .transpose()?
        .unwrap_or_default();
    let counters = a
        .counters
        .as_deref()
        .map(|s| parse::hex("--counters", s))
        .transpose()?;
    let mut tx = AcData::new(atc, un, &data, &iad);
    if let Some(c) = counters.as_deref() {
        tx = tx.with_counters(c);
    }
    let (mk, c) =
        cryptogram::arqc_from_imk(a.cvn, &imk, pan, Some(psn), &tx).map_err(cvn_error("--imk"))?;
    let mut r = Report::new();
    r.hex("ARQC", "arqc", &c.ac);
    r.key("MK", "mk", "mk_kcv", &mk);
    r.key("SK", "sk", "sk_kcv", &c.session_key);
    if a.cvn.ac_session_key() == AcSessionKey::MasterKey {
        r.note(format!("{} has no session key: the MK", a.cvn));
    }
    r.hex("Input", "input", &c.input);
    r.json("cvn", a.cvn.name());
    Ok(r)
}

pub const ARPC_EXAMPLES: &str = "\
Examples (docs/test-vectors.md §4 bench set: ARQC 0168F0A07A03AC68 of IMK-AC 0123..3210, PAN
5413330089020011, PSN 01, ATC 0012; the AC session key is the common session key):
  $ emvbench calc arpc --cvn mc-20 --imk 0123456789ABCDEFFEDCBA9876543210 \\
      --pan 5413330089020011 --psn 01 --atc 0012 --arqc 0168F0A07A03AC68 --arc 3030
  ARPC    7B7E2767D69BC57C  (method 1)
  Tag 91  7B7E2767D69BC57C3030
  MK      73C4677545D991E986074A16BFBACD75  (KCV 194F24)
  SK      CB5BD98F5B85163E29CD58CE7661F85D  (KCV 2A9E03; ARPC key)
  $ emvbench calc arpc --cvn visa-18 --imk 0123456789ABCDEFFEDCBA9876543210 \\
      --pan 5413330089020011 --psn 01 --atc 0012 --arqc 0168F0A07A03AC68 --csu 03900000
  ARPC    15D4C7CD  (method 2)
  Tag 91  15D4C7CD03900000
  MK      73C4677545D991E986074A16BFBACD75  (KCV 194F24)
  SK      CB5BD98F5B85163E29CD58CE7661F85D  (KCV 2A9E03; ARPC key)

--arc gives ARPC method 1 (EMV 4.4 Book 2 §8.2.1), --csu method 2 (§8.2.2); the key is
the one the CVN specifies (the MK for visa-10, mc-16, mc-17; else the AC session key).";

/// Arguments of `calc arpc`.
#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("response").required(true).args(["arc", "csu"])))]
pub struct ArpcArgs {
    /// Cryptogram Version Number (selects MK option and ARPC key).
    #[arg(long, value_name = "CVN", value_parser = cvn_parser())]
    cvn: Cvn,

    /// Issuer master key for application cryptograms (IMK-AC), 16 bytes in hex.
    #[arg(long, value_name = "HEX", value_parser = secret)]
    imk: Secret,

    #[command(flatten)]
    card: CardArgs,

    /// The ARQC (9F26) to answer, 8 bytes in hex.
    #[arg(long, value_name = "HEX")]
    arqc: String,

    /// Authorisation Response Code (8A), 2 bytes in hex: ARPC method 1.
    #[arg(long, value_name = "HEX")]
    arc: Option<String>,

    /// Card Status Update, 4 bytes in hex: ARPC method 2.
    #[arg(long, value_name = "HEX")]
    csu: Option<String>,

    /// Proprietary Authentication Data for method 2, 0-8 bytes in hex.
    #[arg(long, value_name = "HEX", requires = "csu")]
    pad: Option<String>,

    /// Unpredictable Number (9F37), 4 bytes in hex: only interac-133 needs it (its ARPC
    /// key is the Mastercard session key).
    #[arg(long, value_name = "HEX")]
    un: Option<String>,
}

/// Run `calc arpc`.
pub fn arpc(a: ArpcArgs) -> Result<Report> {
    let imk = parse::tdes("--imk", &a.imk)?;
    let (pan, psn, atc) = a.card.parse()?;
    let arqc = parse::hex_array::<8>("--arqc", &a.arqc)?;
    // clap's `requires = "csu"` is waived when --arc (in conflict with --csu) is present
    if a.pad.is_some() && a.csu.is_none() {
        return Err(input(
            "--pad",
            "proprietary authentication data goes with --csu (ARPC method 2)",
        ));
    }
    let response = match (&a.arc, &a.csu) {
        (Some(arc), _) => ArpcResponse::Arc(parse::hex_array::<2>("--arc", arc)?),
        (None, Some(csu)) => ArpcResponse::Csu {
            csu: parse::hex_array::<4>("--csu", csu)?,
            proprietary: a
                .pad
                .as_deref()
                .map(|s| parse::hex("--pad", s))
                .transpose()?
                .unwrap_or_default(),
        },
        // clap's required group makes this unreachable; answer it like clap would
        (None, None) => return Err(input("--arc/--csu", "give --arc or --csu")),
    };
    let sk_used = a.cvn.arpc_key() == ArpcKey::AcSessionKey;
    let un = un_arg(
        a.un.as_deref(),
        a.cvn,
        sk_used && a.cvn.ac_session_key() == AcSessionKey::MastercardSkd,
    )?;
    let mk = a
        .cvn
        .derive_icc_mk(&imk, pan, Some(psn))
        .map_err(cvn_error("--imk"))?;
    let key = cryptogram::arpc_key(a.cvn, &mk, atc, &un).map_err(cvn_error("--imk"))?;
    let out = cryptogram::generate_arpc(a.cvn, &mk, atc, &un, &arqc, &response)
        .map_err(cvn_error("--pad"))?;
    let (method, wanted) = match (&response, a.cvn.arpc_method()) {
        (ArpcResponse::Arc(_), m) => (1, m),
        (ArpcResponse::Csu { .. }, m) => (2, m),
    };
    let cvn_method = match wanted {
        ArpcMethod::Method1 => 1,
        ArpcMethod::Method2 => 2,
    };
    if method != cvn_method {
        eprintln!(
            "note: {} specifies ARPC method {cvn_method} ({}); computing method {method} as asked",
            a.cvn,
            if cvn_method == 1 { "--arc" } else { "--csu" }
        );
    }
    let mut r = Report::new();
    r.hex("ARPC", "arpc", &out.arpc);
    r.note(format!("method {method}"));
    r.hex("Tag 91", "tag91", &out.issuer_authentication_data);
    r.key("MK", "mk", "mk_kcv", &mk);
    if sk_used {
        r.key("SK", "sk", "sk_kcv", &key);
    }
    r.note("ARPC key");
    r.json_int("method", method);
    r.json("arpc_key", if sk_used { "sk" } else { "mk" });
    r.json("cvn", a.cvn.name());
    Ok(r)
}

pub const SCRIPT_EXAMPLES: &str = "\
Examples (docs/test-vectors.md §4 bench set; pyemv cvn.py Visa CVN 18 module doc):
  $ emvbench calc script --cvn mc-20 --imk-ac 0123456789ABCDEFFEDCBA9876543210 \\
      --imk-smi 11111111111111112222222222222222 \\
      --imk-smc 0123456789ABCDEFFEDCBA9876543210 --pan 5413330089020011 --psn 01 \\
      --atc 0012 --arqc 0168F0A07A03AC68 --command pin-unblock
  APDU       8424000008EF84B422728D7A24
  MAC        EF84B422728D7A24
  MAC input  842400000800120168F0A07A03AC68
  SK-SMI     DF01F2E3AB85AD7F927C7AD6DC6D1525  (KCV C1229A)
  SK-SMC     08EF026794C151A15EABCE01B6678AF4  (KCV 4E1E28)
  $ emvbench calc script --cvn visa-18 --imk-ac AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \\
      --imk-smi BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB \\
      --imk-smc CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC --pan 1234567890123456 --atc 0FFF \\
      --arqc 769577B5ABE9FE62 --command pin-change --new-pin 9999
  APDU       84240002182DC7A061323BA62472BC5308BD291B5F665B3A927E60661E
  MAC        665B3A927E60661E
  MAC input  84240002180FFF769577B5ABE9FE622DC7A061323BA62472BC5308BD291B5F
  SK-SMI     1976DA4551D343D5D9F44968BCE9C8A7  (KCV E59397)
  SK-SMC     023B4F38629EF81052CEE649A4011AE6  (KCV 834518)

The three ICC master keys are derived from the IMKs with the CVN's option (A, or B for
visa-18 and visa-22); session keys, MAC input and PIN encipherment follow the CVN.
--current-pin (PIN change with P2 = 01, VIS PIN block) exists for the Visa CVNs only.";

/// Arguments of `calc script`.
#[derive(Debug, clap::Args)]
pub struct ScriptArgs {
    /// Cryptogram Version Number (selects key derivation, session keys, MAC input and
    /// PIN encipherment).
    #[arg(long, value_name = "CVN", value_parser = cvn_parser())]
    cvn: Cvn,

    /// Issuer master key for AC (IMK-AC), 16 bytes in hex (keys the VIS PIN block).
    #[arg(long = "imk-ac", value_name = "HEX", value_parser = secret)]
    imk_ac: Secret,

    /// Issuer master key for secure-messaging integrity (IMK-SMI), 16 bytes in hex.
    #[arg(long = "imk-smi", value_name = "HEX", value_parser = secret)]
    imk_smi: Secret,

    /// Issuer master key for secure-messaging confidentiality (IMK-SMC), 16 bytes in hex.
    #[arg(long = "imk-smc", value_name = "HEX", value_parser = secret)]
    imk_smc: Secret,

    #[command(flatten)]
    card: CardArgs,

    /// The ARQC (9F26) of the transaction, 8 bytes in hex.
    #[arg(long, value_name = "HEX")]
    arqc: String,

    /// The post-issuance command.
    #[arg(
        long,
        value_name = "COMMAND",
        value_parser = choice::<ScriptCommandKind>([
            "pin-unblock", "pin-change", "app-block", "app-unblock", "card-block"
        ])
    )]
    command: ScriptCommandKind,

    /// The new PIN (4-12 digits), for pin-change.
    #[arg(
        long = "new-pin",
        value_name = "DIGITS",
        value_parser = secret,
        required_if_eq("command", "pin-change")
    )]
    new_pin: Option<Secret>,

    /// The current PIN (4-12 digits), for a Visa PIN change with P2 = 01.
    #[arg(long = "current-pin", value_name = "DIGITS", value_parser = secret, requires = "new_pin")]
    current_pin: Option<Secret>,

    /// Position of this command in the script, from 0: M/Chip CVNs add it to the ARQC
    /// for the session keys and the MAC.
    #[arg(long = "command-index", value_name = "N", default_value_t = 0)]
    command_index: u32,
}

/// Run `calc script`.
pub fn script(a: ScriptArgs) -> Result<Report> {
    let imk_ac = parse::tdes("--imk-ac", &a.imk_ac)?;
    let imk_smi = parse::tdes("--imk-smi", &a.imk_smi)?;
    let imk_smc = parse::tdes("--imk-smc", &a.imk_smc)?;
    let (pan, psn, atc) = a.card.parse()?;
    let arqc = parse::hex_array::<8>("--arqc", &a.arqc)?;
    let new_pin: Option<Pin> = a
        .new_pin
        .as_ref()
        .map(|p| parse::pin("--new-pin", p))
        .transpose()?;
    let current_pin: Option<Pin> = a
        .current_pin
        .as_ref()
        .map(|p| parse::pin("--current-pin", p))
        .transpose()?;
    let cmd = ScriptCommand::from_kind(a.command, new_pin, current_pin).map_err(|e| {
        let arg = if a.new_pin.is_some() {
            "--new-pin"
        } else {
            "--current-pin"
        };
        parse::crypto(arg)(e)
    })?;
    let keys = IccKeys::derive(a.cvn, &imk_ac, &imk_smi, &imk_smc, pan, Some(psn))
        .map_err(cvn_error("--pan"))?;
    let ctx = ScriptContext::new(a.cvn, atc, arqc).command(a.command_index);
    let (sk_smi, sk_smc) = ctx.session_keys(&keys).map_err(cvn_error("--imk-smi"))?;
    let apdu = script::build_script_command(&keys, &ctx, &cmd).map_err(cvn_error("--command"))?;
    let split = apdu.len().saturating_sub(script::SCRIPT_MAC_LEN);
    let (body, mac) = apdu.split_at(split);
    let mac_input = match body.split_first_chunk::<5>() {
        Some((header, data)) => ctx.mac_input(header, data),
        None => Vec::new(),
    };
    let mut r = Report::new();
    r.hex("APDU", "apdu", &apdu);
    r.hex("MAC", "mac", mac);
    r.hex("MAC input", "mac_input", &mac_input);
    r.key("SK-SMI", "sk_smi", "sk_smi_kcv", &sk_smi);
    r.key("SK-SMC", "sk_smc", "sk_smc_kcv", &sk_smc);
    r.json("command", a.command.to_string());
    r.json("cvn", a.cvn.name());
    Ok(r)
}
