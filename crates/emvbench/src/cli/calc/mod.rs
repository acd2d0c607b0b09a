//! `emvbench calc`: a payment engineer's crypto calculator over `emv-crypto`.
//!
//! One module per family: [`keys`] (kcv, derive-mk, session-key, mac), [`cryptogram`]
//! (arqc, arpc, script), [`pin`] (pin-block, pin-block-decode, pvv, ibm3624). Each
//! operation returns a [`report::Report`] that prints as text or JSON.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

mod cryptogram;
mod keys;
mod parse;
mod pin;
mod report;

pub const EXAMPLES: &str = "\
Examples:
  emvbench calc kcv --key 0123456789ABCDEFFEDCBA9876543210
  emvbench calc derive-mk --imk 0123456789ABCDEFFEDCBA9876543210 --pan 4761739001010119
  emvbench calc pin-block --format 0 --pin 1234 --pan 4761739001010119 \\
      --key 0123456789ABCDEFFEDCBA9876543210
  emvbench calc arqc --help

Hex is upper or lower case (spaces inside a quoted value are ignored); output hex is
upper case. Every operation takes --json and its --help shows an example with reference
vectors. Bad input (hex, lengths, digits) exits with code 2 and names the argument; keys
and PINs are never echoed in errors.";

/// Arguments of `emvbench calc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    // boxed: the operations' arguments are large next to the other subcommands'
    #[command(subcommand)]
    op: Box<Op>,

    /// Print JSON (one flat object, hex upper-case) instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Op {
    /// Key check value of a DES, TDES or AES key.
    #[command(after_long_help = keys::KCV_EXAMPLES)]
    Kcv(keys::KcvArgs),
    /// ICC master key from an issuer master key, PAN and PSN (EMV Book 2 A1.4).
    #[command(name = "derive-mk", after_long_help = keys::DERIVE_MK_EXAMPLES)]
    DeriveMk(keys::DeriveMkArgs),
    /// Session key from an ICC master key: common, mastercard, emv2000 or visa-sm.
    #[command(name = "session-key", after_long_help = keys::SESSION_KEY_EXAMPLES)]
    SessionKey(keys::SessionKeyArgs),
    /// Application cryptogram (ARQC/TC/AAC) for a CVN, from the IMK-AC.
    #[command(after_long_help = cryptogram::ARQC_EXAMPLES)]
    Arqc(cryptogram::ArqcArgs),
    /// ARPC and tag 91 for a CVN: method 1 (--arc) or method 2 (--csu).
    #[command(after_long_help = cryptogram::ARPC_EXAMPLES)]
    Arpc(cryptogram::ArpcArgs),
    /// ISO/IEC 9797-1 MAC, algorithm 1 or 3 (retail MAC).
    #[command(after_long_help = keys::MAC_EXAMPLES)]
    Mac(keys::MacArgs),
    /// Issuer-script command APDU with its MAC (PIN unblock/change, application/card block).
    #[command(after_long_help = cryptogram::SCRIPT_EXAMPLES)]
    Script(cryptogram::ScriptArgs),
    /// ISO 9564-1 PIN block, formats 0-4, clear and enciphered.
    #[command(name = "pin-block", after_long_help = pin::PIN_BLOCK_EXAMPLES)]
    PinBlock(pin::PinBlockArgs),
    /// Decipher and decode an ISO 9564-1 PIN block back to the PIN.
    #[command(name = "pin-block-decode", after_long_help = pin::PIN_BLOCK_DECODE_EXAMPLES)]
    PinBlockDecode(pin::PinBlockDecodeArgs),
    /// Visa PIN Verification Value (PVV).
    #[command(after_long_help = pin::PVV_EXAMPLES)]
    Pvv(pin::PvvArgs),
    /// IBM 3624 natural PIN and offset.
    #[command(after_long_help = pin::IBM3624_EXAMPLES)]
    Ibm3624(pin::Ibm3624Args),
}

/// Run `calc`.
pub fn run(args: Args) -> Result<ExitCode> {
    let report = match *args.op {
        Op::Kcv(a) => keys::kcv(a),
        Op::DeriveMk(a) => keys::derive_mk(a),
        Op::SessionKey(a) => keys::session_key(a),
        Op::Arqc(a) => cryptogram::arqc(a),
        Op::Arpc(a) => cryptogram::arpc(a),
        Op::Mac(a) => keys::mac(a),
        Op::Script(a) => cryptogram::script(a),
        Op::PinBlock(a) => pin::pin_block(a),
        Op::PinBlockDecode(a) => pin::pin_block_decode(a),
        Op::Pvv(a) => pin::pvv(a),
        Op::Ibm3624(a) => pin::ibm3624(a),
    }?;
    let out = report.render(args.json);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
