//! `emvbench card`: talk to the software card by hand.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use emv_apdu::{CommandView, KnownCommand, ResponseView};
use emv_card::{Card, CardStore, FileStore, MemoryStore, Personalisation, TagOverride, profile};
use emv_tlv::describe;
use serde_json::json;

use super::InputError;

pub const EXAMPLES: &str = "\
Examples:
  emvbench card profiles
  emvbench card send --profile visa-cvn18 00A404000E315041592E5359532E444446303100
  emvbench card send --profile visa-cvn18 --state /tmp/card.json --decode \\
      00A4040007A000000003101000 80A8000002830000 00B2010C00 80CA9F1700
  emvbench card send --profile visa-cvn18 --state /tmp/card.json \\
      00A4040007A000000003101000 80A8000002830000 0020008008249999FFFFFFFFFF

Without --state the card starts fresh and forgets everything when the command ends; with
--state FILE its PIN Try Counter, ATC, blocks and PIN survive between runs (the file is
written atomically; the PIN is stored enciphered). VERIFY data is masked in the output
unless --show-pin is given.";

/// Arguments of `emvbench card`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: CardCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CardCommand {
    /// Send C-APDUs to a software card and print each response with its status word.
    #[command(after_long_help = EXAMPLES)]
    Send(SendArgs),
    /// List the card profiles in card-profiles/ (or $EMVBENCH_CARD_PROFILES).
    Profiles,
}

#[derive(Debug, clap::Args)]
struct SendArgs {
    /// Card profile: a name in card-profiles/ (e.g. visa-cvn18) or a path to a TOML file.
    #[arg(long, value_name = "PROFILE")]
    profile: String,
    /// Keep the card's state in this file (created on first use).
    #[arg(long, value_name = "FILE")]
    state: Option<std::path::PathBuf>,
    /// Override a data object of the profile, e.g. 8E=000000000000000042031F03 (repeatable).
    #[arg(long = "card-tag", value_name = "TAG=HEX")]
    card_tags: Vec<TagOverride>,
    /// Seed for GET CHALLENGE and ICC dynamic numbers (deterministic output).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Also print each response's TLV tree with tag names.
    #[arg(long)]
    decode: bool,
    /// Print VERIFY and PIN CHANGE data instead of masking it.
    #[arg(long)]
    show_pin: bool,
    /// Print one JSON object per exchange instead of text.
    #[arg(long)]
    json: bool,
    /// The C-APDUs, in hex (spaces inside one argument are allowed). `-` reads them from
    /// standard input, one per line, answering each line at once (so a program can build
    /// the next command from the last answer, e.g. an issuer script from the ARQC).
    #[arg(required = true, value_name = "APDU_HEX")]
    apdus: Vec<String>,
}

/// Dispatch `emvbench card ...`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        CardCommand::Profiles => {
            for name in profile::available_profiles() {
                let desc = Personalisation::load(&name, &[])
                    .map(|p| p.description)
                    .unwrap_or_else(|e| format!("(invalid: {e})"));
                println!("{name:<28} {desc}");
            }
            Ok(ExitCode::SUCCESS)
        }
        CardCommand::Send(a) => send(a),
    }
}

fn send(a: SendArgs) -> Result<ExitCode> {
    // Parse every APDU first: a typo in the third one must not leave the card changed.
    let mut apdus = Vec::new();
    let interactive = a.apdus.iter().any(|h| h == "-");
    if interactive && a.apdus.len() > 1 {
        return Err(InputError(
            "`-` (read APDUs from standard input) must be the only APDU argument".into(),
        )
        .into());
    }
    for (i, h) in a.apdus.iter().enumerate().filter(|_| !interactive) {
        let bytes = emv_tlv::hex::decode(h)
            .map_err(|e| InputError(format!("APDU {} ({h:?}): {e}", i + 1)))?;
        apdus.push(bytes);
    }
    let perso =
        Personalisation::load(&a.profile, &a.card_tags).map_err(|e| InputError(e.to_string()))?;
    let perso = Arc::new(perso);
    match &a.state {
        Some(path) => {
            let card = Card::new(perso, FileStore::new(path))
                .with_context(|| format!("opening card state {}", path.display()))?;
            exchange_all(card, &apdus, &a)
        }
        None => exchange_all(Card::new(perso, MemoryStore::new())?, &apdus, &a),
    }
}

fn exchange_all<S: CardStore>(
    mut card: Card<S>,
    apdus: &[Vec<u8>],
    a: &SendArgs,
) -> Result<ExitCode> {
    if let Some(seed) = a.seed {
        card = card.with_seed(seed);
    }
    if a.apdus.iter().any(|h| h == "-") {
        // One line in, one exchange out, flushed, until the end of the input; a line that
        // is not hex is reported and skipped (the card is not touched).
        use std::io::{BufRead, Write};
        for (n, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line?;
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            match emv_tlv::hex::decode(t) {
                Ok(capdu) => print_exchange(&mut card, &capdu, a),
                Err(e) => eprintln!("line {}: {e}", n + 1),
            }
            std::io::stdout().flush()?;
        }
    }
    for capdu in apdus {
        print_exchange(&mut card, capdu, a);
    }
    let st = card.status();
    if !a.json {
        println!(
            "card: PIN try counter {}/{}, ATC {}, application {}, card {}",
            st.pin_try_counter,
            st.pin_try_limit,
            st.atc,
            if st.app_blocked { "blocked" } else { "usable" },
            if st.card_blocked { "blocked" } else { "usable" },
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_exchange<S: CardStore>(card: &mut Card<S>, capdu: &[u8], a: &SendArgs) {
    let rapdu = card.handle(capdu);
    let view = CommandView::parse(capdu).ok();
    let known = view.and_then(|v| v.identify());
    let name = known.map_or_else(
        || {
            view.map_or("malformed C-APDU".to_owned(), |v| {
                emv_apdu::ins_name(v.ins)
                    .unwrap_or("unknown command")
                    .to_owned()
            })
        },
        |k| k.name().to_owned(),
    );
    let shown = mask(capdu, known, a.show_pin);
    let (data, sw, meaning) = match ResponseView::parse(&rapdu) {
        Ok(r) => (
            r.data.to_vec(),
            format!("{:04X}", u16::from(r.sw)),
            r.sw.meaning(),
        ),
        Err(_) => (Vec::new(), String::new(), "no answer".to_owned()),
    };
    if a.json {
        println!(
            "{}",
            json!({
                "command": name, "capdu": shown, "data": hex::encode_upper(&data),
                "sw": sw, "meaning": meaning,
            })
        );
    } else {
        println!(">> {shown}  {name}");
        println!("<< {}{sw}  {meaning}", spaced(&data));
        if a.decode && !data.is_empty() {
            match emv_tlv::parse_all(&data) {
                Ok(list) => {
                    print!("{}", indent(&describe::render_tree(&describe::tree(&list))))
                }
                Err(e) => println!("   (not BER-TLV: {e})"),
            }
        }
    }
}

fn spaced(data: &[u8]) -> String {
    if data.is_empty() {
        String::new()
    } else {
        format!("{} ", hex::encode_upper(data))
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("   {l}\n")).collect()
}

/// The C-APDU as printed: the data of commands that carry a PIN is masked.
fn mask(capdu: &[u8], known: Option<KnownCommand>, show: bool) -> String {
    let carries_pin = matches!(
        known,
        Some(
            KnownCommand::VerifyPlaintext
                | KnownCommand::VerifyEnciphered
                | KnownCommand::PinChangeUnblock(_)
        )
    );
    if show || !carries_pin || capdu.len() <= 5 {
        return hex::encode_upper(capdu);
    }
    format!(
        "{} {}",
        hex::encode_upper(&capdu[..5]),
        "*".repeat(2 * (capdu.len() - 5))
    )
}
