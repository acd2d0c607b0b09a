//! `emvbench readers`: the PC/SC readers, whether a card is in each, and its ATR decoded.
//! Needs the `pcsc` cargo feature (libpcsclite-dev at build time); without it, this and
//! every other reader command explain how to get it and exit with code 2.

use std::process::ExitCode;

use anyhow::Result;

/// What a build without PC/SC says when a reader is asked for.
pub const NO_PCSC: &str = "\
this emvbench was built without PC/SC support (cargo feature `pcsc`).
To use card readers, install the PC/SC library and service, then rebuild:
  apt-get install libpcsclite-dev pcscd pkg-config
  cargo build --release --features pcsc
(`emvbench card serve`, the software card in a virtual reader, works in every build.)";

/// [`NO_PCSC`] as an error (exit code 2): for reader commands in a build without the
/// `pcsc` feature.
#[cfg_attr(feature = "pcsc", allow(dead_code))]
pub fn pcsc_unavailable() -> anyhow::Error {
    super::InputError(NO_PCSC.to_string()).into()
}

/// Arguments of `emvbench readers`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Run `emvbench readers`.
#[cfg(not(feature = "pcsc"))]
pub fn run(_args: Args) -> Result<ExitCode> {
    Err(pcsc_unavailable())
}

/// Run `emvbench readers`.
#[cfg(feature = "pcsc")]
pub fn run(args: Args) -> Result<ExitCode> {
    use emv_transport::atr::Atr;
    use serde_json::json;

    let readers = emv_transport::pcsc::list_readers()?;
    if args.json {
        let list: Vec<_> = readers
            .iter()
            .map(|r| {
                let atr = r.atr.as_deref().map(Atr::parse);
                json!({
                    "index": r.index,
                    "name": r.name,
                    "card_present": r.card_present,
                    "atr": r.atr.as_deref().map(hex::encode_upper),
                    "protocols": atr.as_ref().and_then(|a| a.as_ref().ok())
                        .map(|a| a.protocols.iter().map(|t| format!("T={t}")).collect::<Vec<_>>()),
                    "historical_bytes": atr.as_ref().and_then(|a| a.as_ref().ok())
                        .map(|a| hex::encode_upper(&a.historical)),
                    "historical_text": atr.as_ref().and_then(|a| a.as_ref().ok())
                        .and_then(Atr::historical_text),
                    "atr_error": atr.as_ref().and_then(|a| a.as_ref().err()).map(ToString::to_string),
                    "in_use": r.in_use,
                    "exclusive": r.exclusive,
                    "mute": r.mute,
                })
            })
            .collect();
        println!("{}", json!({ "readers": list }));
        return Ok(ExitCode::SUCCESS);
    }
    if readers.is_empty() {
        println!(
            "no PC/SC readers (plug one in; for a virtual one: apt-get install vsmartcard-vpcd, restart pcscd)"
        );
    }
    for r in &readers {
        println!("{}: {}", r.index, r.name);
        let mut flags = Vec::new();
        if r.in_use {
            flags.push("in use");
        }
        if r.exclusive {
            flags.push("exclusive");
        }
        if r.mute {
            flags.push("mute");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", flags.join(", "))
        };
        match (&r.atr, r.card_present) {
            (Some(atr), _) => match Atr::parse(atr) {
                Ok(a) => {
                    println!("   card: present{flags}, ATR {}", hex::encode_upper(atr));
                    println!("   protocols: {}", a.protocols_text());
                    if !a.historical.is_empty() {
                        let text = a
                            .historical_text()
                            .map(|t| format!(" {t:?}"))
                            .unwrap_or_default();
                        println!(
                            "   historical bytes: {}{text}",
                            hex::encode_upper(&a.historical)
                        );
                    }
                }
                Err(e) => println!(
                    "   card: present{flags}, ATR {} ({e})",
                    hex::encode_upper(atr)
                ),
            },
            (None, true) => println!("   card: present{flags}, no ATR"),
            (None, false) => println!("   card: none"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
