//! APDU traces: the recorded exchanges of one or more transactions in a plain-text,
//! diffable format (`docs/formats.md` §3), and their replay against the software card. The
//! session records a trace from the kernel's event stream; the comments name and redact
//! each command through [`emv_apdu::describe`].
//!
//! ```text
//! # emvbench APDU trace, format 1
//! @card profile=visa-cvn18 seed=1
//! @transaction 1 terminal=pos-attended amount=2500 type=purchase date=2026-01-15 ...
//! @power-on 3B6A00008031C0A1021401
//! >> 00A404000E315041592E5359532E444446303100   # SELECT 1PAY.SYS.DDF01
//! << 6F1A840E315041592E5359532E4444463031A508880101  9000   # Success
//! @host {"response_code":"00", ...}
//! @power-off
//! ```
//! Lines starting with `#` and text after `   # ` are comments; `@` lines are events with
//! `key=value` fields; `>>` / `<<` are a C-APDU and its R-APDU (data and status word) in
//! upper-case hex. The exchanges are exact, so that a replay is byte for byte; the comments
//! mask the PIN of a plaintext VERIFY.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use emv_apdu::Transport;
use emv_apdu::describe::{command_comment, command_name, response_comment};
use emv_card::{Card, CardStore};

use crate::InProcessCard;

/// The first line of every trace.
pub const MAGIC: &str = "# emvbench APDU trace, format 1";

/// One thing that happened, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `@NAME key=value ...`: a marker (card, transaction, host call, remove, end...).
    Marker {
        /// The marker's name (`card`, `transaction`, `host-call`, `end`, ...).
        name: String,
        /// Its positional words (e.g. the transaction number).
        args: Vec<String>,
        /// Its fields.
        fields: BTreeMap<String, String>,
    },
    /// The card was powered on and answered this ATR.
    PowerOn(Vec<u8>),
    /// The card was powered off (or reset).
    PowerOff,
    /// The card was pulled out of the reader.
    Removed,
    /// A C-APDU and what came back: the R-APDU, or the transport error in words.
    Exchange {
        /// The command. When `redacted`, its data field (after `CLA INS P1 P2 Lc`) is zeros
        /// standing for PIN data the trace does not hold (`docs/formats.md` §3).
        command: Vec<u8>,
        /// The command carried PIN data that was not recorded (see [`redact`]).
        redacted: bool,
        /// The response (data + SW1 SW2), or the error.
        response: Result<Vec<u8>, String>,
    },
    /// The issuer host's answer to an authorisation, as JSON (no PIN in it).
    Host(String),
}

/// An event and the line it was read from (0 for recorded events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: usize,
    /// The event.
    pub event: Event,
}

/// A trace: its events in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The events.
    pub lines: Vec<Line>,
    /// The PIN-bearing commands are recorded in clear (`--record-pins`); the header then
    /// carries [`PINS_IN_CLEAR_WARNING`]. By default they are redacted.
    pub pins_in_clear: bool,
}

/// The marker that stands for the data field of a PIN-bearing command in a trace
/// (`>> 0020008008[PIN]`): VERIFY (plaintext or enciphered) and PIN CHANGE, as
/// [`emv_apdu::describe::secret`] names them (`docs/formats.md` §3).
pub const PIN_MARKER: &str = "[PIN]";

/// The header line of a trace recorded with the PINs in clear.
pub const PINS_IN_CLEAR_WARNING: &str = "# WARNING: recorded with --record-pins: the VERIFY and PIN CHANGE data below hold PINs; do not share this file";

/// A C-APDU as a trace stores it by default: a PIN-bearing command's data field zeroed
/// (the bool says whether it was), everything else as it was.
pub fn redact(command: &[u8]) -> (Vec<u8>, bool) {
    if emv_apdu::describe::secret(command).is_some() && command.len() > 5 {
        let mut c = command.to_vec();
        c[5..].fill(0);
        (c, true)
    } else {
        (command.to_vec(), false)
    }
}

/// The first lines of a trace file: the magic line and what the file holds.
fn header(pins_in_clear: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MAGIC}");
    let _ = writeln!(
        out,
        "# Lines: `@event key=value`, `>> C-APDU`, `<< R-APDU` (hex). Replay with\n# `emvbench trace replay FILE`; {}",
        if pins_in_clear {
            "PINs are masked in comments only."
        } else {
            "PIN data is recorded as [PIN]."
        }
    );
    if pins_in_clear {
        let _ = writeln!(out, "{PINS_IN_CLEAR_WARNING}");
    }
    out
}

/// One event as its trace line(s) (docs/formats.md §3).
fn render_event(out: &mut String, event: &Event) {
    match event {
        Event::Marker { name, args, fields } => {
            if name == "transaction" || name == "host-call" || name == "card" {
                out.push('\n');
            }
            let _ = write!(out, "@{name}");
            for a in args {
                let _ = write!(out, " {a}");
            }
            for (k, v) in fields {
                let _ = write!(out, " {k}={}", quote(v));
            }
            out.push('\n');
        }
        Event::PowerOn(atr) => {
            let _ = writeln!(out, "@power-on {}", hex(atr));
        }
        Event::PowerOff => out.push_str("@power-off\n"),
        Event::Removed => out.push_str("@card-removed\n"),
        Event::Exchange {
            command,
            response,
            redacted,
        } => {
            let shown = match command.get(..5) {
                Some(header) if *redacted => format!(">> {}{PIN_MARKER}", hex(header)),
                _ => format!(">> {}", hex(command)),
            };
            let comment = if *redacted {
                command_name(command)
            } else {
                command_comment(command)
            };
            let _ = writeln!(out, "{shown:<44}   # {comment}");
            match response {
                Ok(r) => {
                    let _ = writeln!(
                        out,
                        "{:<44}   # {}",
                        format!("<< {}", hex(r)),
                        response_comment(r)
                    );
                }
                Err(e) => {
                    let _ = writeln!(out, "<< !{}", e.replace('\n', " "));
                }
            }
        }
        Event::Host(json) => {
            let _ = writeln!(out, "@host {json}");
        }
    }
}

/// A trace written as it happens (`emvbench card serve --record`): the header when it is
/// created, then each event as soon as it is added, flushed, so that the file is a
/// complete trace at every moment. PIN-bearing commands are redacted unless the writer
/// was made with `pins_in_clear`.
#[derive(Debug)]
pub struct TraceWriter<W: std::io::Write> {
    out: W,
    pins_in_clear: bool,
}

impl<W: std::io::Write> TraceWriter<W> {
    /// Writes the header, then `markers` (e.g. `@card profile= seed= tags=`).
    pub fn new(mut out: W, pins_in_clear: bool, markers: &[Event]) -> std::io::Result<Self> {
        let mut text = header(pins_in_clear);
        for m in markers {
            render_event(&mut text, m);
        }
        out.write_all(text.as_bytes())?;
        out.flush()?;
        Ok(Self { out, pins_in_clear })
    }

    /// Appends an exchange, its command redacted per the writer's setting.
    pub fn exchange(
        &mut self,
        command: &[u8],
        response: Result<Vec<u8>, String>,
    ) -> std::io::Result<()> {
        let (command, redacted) = if self.pins_in_clear {
            (command.to_vec(), false)
        } else {
            redact(command)
        };
        self.event(&Event::Exchange {
            command,
            response,
            redacted,
        })
    }

    /// Appends an event.
    pub fn event(&mut self, event: &Event) -> std::io::Result<()> {
        let mut text = String::new();
        render_event(&mut text, event);
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

/// A trace file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct TraceError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl Trace {
    /// Adds an event.
    pub fn push(&mut self, event: Event) {
        self.lines.push(Line { number: 0, event });
    }

    /// Adds a marker.
    pub fn marker(&mut self, name: &str, args: &[&str], fields: &[(&str, String)]) {
        self.push(Event::Marker {
            name: name.to_string(),
            args: args.iter().map(|a| (*a).to_string()).collect(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        });
    }

    /// The first marker called `name`.
    pub fn find_marker(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.lines.iter().find_map(|l| match &l.event {
            Event::Marker {
                name: n, fields, ..
            } if n == name => Some(fields),
            _ => None,
        })
    }

    /// Number of APDU exchanges.
    pub fn exchanges(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l.event, Event::Exchange { .. }))
            .count()
    }

    /// The text of the trace.
    pub fn to_text(&self) -> String {
        let mut out = header(self.pins_in_clear);
        for l in &self.lines {
            render_event(&mut out, &l.event);
        }
        out
    }

    /// Reads a trace.
    pub fn parse(text: &str) -> Result<Self, TraceError> {
        let mut lines = Vec::new();
        let mut pending: Option<(usize, Vec<u8>, bool)> = None;
        let mut saw_magic = false;
        let mut pins_in_clear = false;
        // the line of the `@transaction` not yet closed by its `@end`
        let mut open: Option<usize> = None;
        let mut last = 0;
        for (i, raw) in text.lines().enumerate() {
            let number = i + 1;
            let err = |reason: String| TraceError {
                line: number,
                reason,
            };
            if raw.trim() == MAGIC {
                saw_magic = true;
                continue;
            }
            if raw.trim() == PINS_IN_CLEAR_WARNING {
                pins_in_clear = true;
                continue;
            }
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if !saw_magic {
                return Err(err(format!(
                    "not an emvbench trace (the first line must be {MAGIC:?})"
                )));
            }
            last = number;
            if let Some(rest) = line.strip_prefix(">>") {
                if let Some((n, ..)) = pending {
                    return Err(err(format!("the command on line {n} has no response")));
                }
                pending = Some(match rest.trim().strip_suffix(PIN_MARKER) {
                    Some(header) => (number, redacted_command(header).map_err(err)?, true),
                    None => (number, parse_hex(rest.trim()).map_err(err)?, false),
                });
                continue;
            }
            if let Some(rest) = line.strip_prefix("<<") {
                let Some((n, command, redacted)) = pending.take() else {
                    return Err(err("a response without a command before it".into()));
                };
                let response = parse_response(rest.trim()).map_err(err)?;
                lines.push(Line {
                    number: n,
                    event: Event::Exchange {
                        command,
                        response,
                        redacted,
                    },
                });
                continue;
            }
            if let Some((n, ..)) = pending {
                return Err(err(format!("the command on line {n} has no response")));
            }
            let Some(rest) = line.strip_prefix('@') else {
                return Err(err(format!(
                    "expected `>>`, `<<`, `@event` or a `#` comment, got {:?}",
                    truncate(line)
                )));
            };
            let event = parse_event(rest).map_err(err)?;
            if let Event::Marker { name, .. } = &event {
                track_transaction(name, number, &mut open).map_err(err)?;
            }
            lines.push(Line { number, event });
        }
        if let Some((n, ..)) = pending {
            return Err(TraceError {
                line: n,
                reason: "the command has no response (the trace is cut short)".into(),
            });
        }
        if let Some(start) = open {
            return Err(TraceError {
                line: last.max(start),
                reason: format!(
                    "the trace ends inside the transaction of line {start}, before its @end \
                     line (it is cut short)"
                ),
            });
        }
        if !saw_magic {
            return Err(TraceError {
                line: 1,
                reason: format!("not an emvbench trace (the first line must be {MAGIC:?})"),
            });
        }
        Ok(Trace {
            lines,
            pins_in_clear,
        })
    }
}

/// `# ...` comments: a line starting with `#`, or text after whitespace + `#`.
fn strip_comment(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with('#') {
        return "";
    }
    // `@host {json}` may hold '#' inside strings: only whitespace-then-# starts a comment
    // outside of the JSON
    if t.starts_with("@host") {
        return line;
    }
    match line.find(" #") {
        Some(i) => &line[..i],
        None => line,
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

fn quote(v: &str) -> String {
    if v.is_empty() || v.contains([' ', '"', '#']) {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

/// `1 terminal=pos-attended name="two words"` → (["1"], {terminal, name}).
fn parse_fields(s: &str) -> Result<(Vec<String>, BTreeMap<String, String>), String> {
    let mut args = Vec::new();
    let mut fields = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            args.push(key);
            continue;
        }
        chars.next();
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!("field {key}: unterminated quote"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        fields.insert(key, value);
    }
    Ok((args, fields))
}

/// A `<<` line's text: the R-APDU (at least SW1 SW2), or `!error` for a transport error.
fn parse_response(rest: &str) -> Result<Result<Vec<u8>, String>, String> {
    match rest.strip_prefix('!') {
        Some(e) => Ok(Err(e.trim().to_string())),
        None => {
            let r = parse_hex(rest)?;
            if r.len() < 2 {
                return Err("a response has at least SW1 SW2".into());
            }
            Ok(Ok(r))
        }
    }
}

/// An `@` line's text after the `@`.
fn parse_event(rest: &str) -> Result<Event, String> {
    let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    Ok(match name {
        "power-on" => Event::PowerOn(parse_hex(tail.trim())?),
        "power-off" => Event::PowerOff,
        "card-removed" => Event::Removed,
        "host" => Event::Host(tail.trim().to_string()),
        _ => {
            let (args, fields) = parse_fields(tail)?;
            Event::Marker {
                name: name.to_string(),
                args,
                fields,
            }
        }
    })
}

/// A transaction ends with its `@end` line: `open` is the line of the `@transaction` not
/// yet closed; a new one while one is open, or an `@end` without one, is an error.
fn track_transaction(name: &str, number: usize, open: &mut Option<usize>) -> Result<(), String> {
    match (name, *open) {
        ("transaction", Some(start)) => Err(format!(
            "a new transaction starts, but the one on line {start} has no @end line (the \
             trace is incomplete)"
        )),
        ("transaction", None) => {
            *open = Some(number);
            Ok(())
        }
        ("end", None) => Err("an @end line without its @transaction line".into()),
        ("end", Some(_)) => {
            *open = None;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `0020008008` before [`PIN_MARKER`]: the header and Lc, then Lc zeros for the data.
fn redacted_command(header: &str) -> Result<Vec<u8>, String> {
    let mut c = parse_hex(header.trim())?;
    let [_, _, _, _, lc] = *c.as_slice() else {
        return Err(format!(
            "{PIN_MARKER} follows the command header and Lc (5 bytes), not {} bytes",
            c.len()
        ));
    };
    c.resize(5 + usize::from(lc), 0);
    if emv_apdu::describe::secret(&c).is_none() {
        return Err(format!(
            "{PIN_MARKER} stands for the data of VERIFY or PIN CHANGE only"
        ));
    }
    Ok(c)
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains('*') {
        return Err("masked bytes (`*`) cannot be replayed; record with the PINs kept".into());
    }
    hex::decode(&compact).map_err(|e| format!("{:?} is not hex: {e}", truncate(&compact)))
}

/// Upper-case hex.
pub fn hex(b: &[u8]) -> String {
    hex::encode_upper(b)
}

/// What a replay compared when it found a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compared {
    /// The card's answer to a power-on (ATR).
    Atr,
    /// The card's answer to a command (R-APDU: data and status word).
    Response,
    /// The command the terminal sent (`--as-card`), or that it sent one at all.
    Command,
}

/// Where a replay first differs from the trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct Mismatch {
    /// Line of the exchange in the trace.
    pub line: usize,
    /// What differs: only responses are decoded as data and status word.
    pub compared: Compared,
    /// The command sent.
    pub command: Vec<u8>,
    /// What the trace says came back.
    pub expected: String,
    /// What came back now.
    pub actual: String,
    /// Offset of the first differing byte (when both are byte strings).
    pub offset: Option<usize>,
}

impl Mismatch {
    fn render(&self) -> String {
        let what = match self.compared {
            Compared::Atr => "the power-on",
            Compared::Response => "answered differently",
            Compared::Command => "is not what the terminal sent",
        };
        let mut s = if self.compared == Compared::Atr {
            format!(
                "line {}: {what} answered differently\n  expected ATR {}\n  actual   ATR {}",
                self.line, self.expected, self.actual
            )
        } else {
            format!(
                "line {}: {} {what}\n  command  {}\n  expected {}\n  actual   {}",
                self.line,
                command_comment(&self.command),
                emv_apdu::describe::redacted_hex(&self.command),
                self.expected,
                self.actual
            )
        };
        if let Some(o) = self.offset {
            let _ = write!(
                s,
                "\n           {}^ first difference at byte {o}",
                "  ".repeat(o)
            );
        }
        for (label, text) in [("expected", &self.expected), ("actual", &self.actual)] {
            if self.compared == Compared::Response
                && let Ok(b) = hex::decode(text)
            {
                let _ = write!(s, "\n  {label}: {}", decode_response(&b));
            }
        }
        s
    }
}

/// A response decoded for people: its status word and TLV tree.
pub fn decode_response(r: &[u8]) -> String {
    let Some(split) = r.len().checked_sub(2) else {
        return "(no status word)".into();
    };
    let mut s = response_comment(r);
    if split > 0
        && let Ok(list) = emv_tlv::parse_all(&r[..split])
    {
        let tree = emv_tlv::describe::render_tree(&emv_tlv::describe::tree(&list));
        for l in tree.lines() {
            let _ = write!(s, "\n      {l}");
        }
    }
    s
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayStats {
    /// Exchanges replayed.
    pub exchanges: usize,
    /// Power-ons replayed.
    pub power_ons: usize,
}

/// Replays the terminal side of `trace` against `card` (personalised as the trace's
/// `@card` says): every power event and C-APDU in order, every R-APDU and ATR compared
/// byte for byte. Stops at the first difference.
pub fn replay_against_card<S: CardStore>(
    trace: &Trace,
    card: &mut InProcessCard<S>,
) -> Result<ReplayStats, Box<Mismatch>> {
    replay_against_card_with(trace, card, None)
}

/// [`replay_against_card`], with `pin` entered where the recorded card accepted a redacted
/// PIN (default: the card's own PIN at that moment). A redacted PIN-bearing command
/// (`[PIN]`) is sent with the data the card builds for it
/// ([`Card::stand_in_pin_data`]): the PIN where the recorded answer was `9000`, another
/// PIN where it was not; its answer is compared byte for byte like every other.
pub fn replay_against_card_with<S: CardStore>(
    trace: &Trace,
    card: &mut InProcessCard<S>,
    pin: Option<&str>,
) -> Result<ReplayStats, Box<Mismatch>> {
    let mut stats = ReplayStats::default();
    for l in &trace.lines {
        match &l.event {
            Event::PowerOn(atr) => {
                card.insert();
                let got = card.power_on().map_err(|e| e.to_string());
                stats.power_ons += 1;
                if got.as_ref() != Ok(atr) {
                    return Err(Box::new(Mismatch {
                        line: l.number,
                        compared: Compared::Atr,
                        command: Vec::new(),
                        expected: hex(atr),
                        actual: got.map(|a| hex(&a)).unwrap_or_else(|e| e),
                        offset: None,
                    }));
                }
            }
            Event::PowerOff => {
                let _ = card.power_off();
            }
            Event::Removed => card.remove(),
            Event::Exchange {
                command,
                response,
                redacted,
            } => {
                stats.exchanges += 1;
                let filled;
                let command = match command.get(..5) {
                    Some(&[a, b, c, d, e]) if *redacted => {
                        let accepted = matches!(response, Ok(r) if r.ends_with(&[0x90, 0x00]));
                        let data = card
                            .card()
                            .stand_in_pin_data(&[a, b, c, d, e], pin, accepted)
                            .map_err(|e| {
                                Box::new(Mismatch {
                                    line: l.number,
                                    compared: Compared::Command,
                                    command: command.clone(),
                                    expected: format!("{PIN_MARKER} filled for the card"),
                                    actual: e.to_string(),
                                    offset: None,
                                })
                            })?;
                        filled = [&[a, b, c, d, e][..], &data].concat();
                        &filled
                    }
                    _ => command,
                };
                let got = card.transmit(command).map_err(|e| e.to_string());
                let same = match (&got, response) {
                    (Ok(a), Ok(b)) => a == b,
                    (Err(_), Err(_)) => true,
                    _ => false,
                };
                if !same {
                    let offset = match (&got, response) {
                        (Ok(a), Ok(b)) => a
                            .iter()
                            .zip(b.iter())
                            .position(|(x, y)| x != y)
                            .or(Some(a.len().min(b.len()))),
                        _ => None,
                    };
                    let show = |r: &Result<Vec<u8>, String>| match r {
                        Ok(b) => hex(b),
                        Err(e) => format!("(error: {e})"),
                    };
                    return Err(Box::new(Mismatch {
                        line: l.number,
                        compared: Compared::Response,
                        command: command.clone(),
                        expected: show(response),
                        actual: show(&got),
                        offset,
                    }));
                }
            }
            Event::Marker { .. } | Event::Host(_) => {}
        }
    }
    Ok(stats)
}

/// The fields of a trace's `@card` marker (read back by [`card_for_trace`]).
pub fn card_fields(
    profile: &str,
    seed: u64,
    overrides: &[emv_card::TagOverride],
) -> Vec<(&'static str, String)> {
    let tags = overrides
        .iter()
        .map(|o| format!("{:X}={}", o.tag, hex::encode_upper(&o.value)))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        ("profile", profile.to_string()),
        ("seed", seed.to_string()),
        ("tags", tags),
    ]
}

/// Opens the software card a trace's `@card` marker names (`profile`, `seed`, `tags`).
pub fn card_for_trace(trace: &Trace) -> Result<InProcessCard<emv_card::MemoryStore>, String> {
    let card = trace
        .find_marker("card")
        .ok_or("the trace has no @card line (it was not recorded with the software card)")?;
    let profile = card.get("profile").ok_or("@card has no profile=")?;
    let overrides = card
        .get("tags")
        .map(|t| {
            t.split(',')
                .filter(|s| !s.is_empty())
                .map(str::parse)
                .collect::<Result<Vec<emv_card::TagOverride>, _>>()
        })
        .transpose()
        .map_err(|e| format!("@card tags: {e}"))?
        .unwrap_or_default();
    let perso = emv_card::Personalisation::load(profile, &overrides).map_err(|e| e.to_string())?;
    let mut c = Card::in_memory(Arc::new(perso)).map_err(|e| e.to_string())?;
    if let Some(seed) = card.get("seed") {
        let seed: u64 = seed
            .parse()
            .map_err(|_| format!("@card seed={seed:?} is not a number"))?;
        c = c.with_seed(seed);
    }
    let mut t = InProcessCard::new(c);
    // a trace starts with the card out of the field: its first event powers it on
    t.remove();
    Ok(t)
}

/// Compares two traces exchange by exchange: the differences, decoded. Empty when the
/// exchanges are the same.
pub fn diff(a: &Trace, b: &Trace) -> Vec<String> {
    type Numbered = (usize, Vec<u8>, Result<Vec<u8>, String>, bool);
    let ex = |t: &Trace| -> Vec<Numbered> {
        t.lines
            .iter()
            .filter_map(|l| match &l.event {
                Event::Exchange {
                    command,
                    response,
                    redacted,
                } => Some((l.number, command.clone(), response.clone(), *redacted)),
                _ => None,
            })
            .collect()
    };
    // a redacted command is the same as any with its header; PIN data is never printed
    let same_command = |x: &Numbered, y: &Numbered| {
        x.1 == y.1 || ((x.3 || y.3) && x.1.get(..5) == y.1.get(..5) && x.1.len() == y.1.len())
    };
    let shown = |c: &Numbered| match c.1.get(..5) {
        Some(h) if c.3 => format!("{}{PIN_MARKER}", hex(h)),
        _ => emv_apdu::describe::redacted_hex(&c.1),
    };
    let (xa, xb) = (ex(a), ex(b));
    let mut out = Vec::new();
    let show = |r: &Result<Vec<u8>, String>| match r {
        Ok(b) => hex(b),
        Err(e) => format!("(error: {e})"),
    };
    for i in 0..xa.len().max(xb.len()) {
        match (xa.get(i), xb.get(i)) {
            (Some(x), Some(y)) if same_command(x, y) && x.2 == y.2 => {}
            (Some(x), Some(y)) => {
                let mut s = format!("exchange {} (A line {}, B line {}):", i + 1, x.0, y.0);
                if !same_command(x, y) {
                    let _ = write!(
                        s,
                        "\n  command A {}   # {}\n  command B {}   # {}",
                        shown(x),
                        command_name(&x.1),
                        shown(y),
                        command_name(&y.1)
                    );
                } else {
                    let _ = write!(s, "\n  command   {}   # {}", shown(x), command_name(&x.1));
                }
                if x.2 != y.2 {
                    let _ = write!(s, "\n  response A {}", show(&x.2));
                    if let Ok(r) = &x.2 {
                        let _ = write!(s, "\n    {}", decode_response(r));
                    }
                    let _ = write!(s, "\n  response B {}", show(&y.2));
                    if let Ok(r) = &y.2 {
                        let _ = write!(s, "\n    {}", decode_response(r));
                    }
                }
                out.push(s);
            }
            (Some(x), None) => out.push(format!(
                "exchange {} only in A (line {}): {}   # {}",
                i + 1,
                x.0,
                shown(x),
                command_name(&x.1)
            )),
            (None, Some(y)) => out.push(format!(
                "exchange {} only in B (line {}): {}   # {}",
                i + 1,
                y.0,
                shown(y),
                command_name(&y.1)
            )),
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> Trace {
        let mut t = Trace::default();
        t.marker(
            "card",
            &[],
            &[("profile", "visa-cvn18".into()), ("seed", "1".into())],
        );
        t.marker("transaction", &["1"], &[("note", "two words".into())]);
        t.push(Event::PowerOn(vec![0x3B, 0x00]));
        t.push(Event::Exchange {
            command: vec![0x00, 0x20, 0x00, 0x80, 0x02, 0x24, 0x12],
            response: Ok(vec![0x63, 0xC2]),
            redacted: false,
        });
        t.push(Event::Exchange {
            command: vec![0x00, 0xB2, 0x01, 0x0C, 0x00],
            response: Err("card removed".into()),
            redacted: false,
        });
        t.push(Event::Host(
            "{\"response_code\":\"00\", \"x\": \"a # b\"}".into(),
        ));
        t.push(Event::Removed);
        t.push(Event::PowerOff);
        t.marker("end", &[], &[("outcome", "approved".into())]);
        t
    }

    #[test]
    fn text_round_trips_and_masks_the_pin_in_comments() {
        let t = sample();
        let text = t.to_text();
        assert!(text.contains("PIN ****"), "{text}");
        assert!(text.contains("note=\"two words\""), "{text}");
        let back = Trace::parse(&text).unwrap();
        let events: Vec<_> = back.lines.iter().map(|l| l.event.clone()).collect();
        let orig: Vec<_> = t.lines.iter().map(|l| l.event.clone()).collect();
        assert_eq!(events, orig);
        assert_eq!(back.exchanges(), 2);
    }

    #[test]
    fn bad_traces_name_the_line() {
        let e = Trace::parse("hello").unwrap_err();
        assert!(e.reason.contains("not an emvbench trace"));
        let e = Trace::parse(&format!("{MAGIC}\n>> 00A4\n>> 00B2\n")).unwrap_err();
        assert_eq!(e.line, 3);
        let e = Trace::parse(&format!("{MAGIC}\n<< 9000\n")).unwrap_err();
        assert!(e.reason.contains("without a command"), "{e}");
        let e = Trace::parse(&format!("{MAGIC}\n>> 00ZZ\n")).unwrap_err();
        assert_eq!(e.line, 2);
        let e = Trace::parse(&format!("{MAGIC}\n>> 00A4\n<< 90\n")).unwrap_err();
        assert!(e.reason.contains("SW1 SW2"), "{e}");
        let e = Trace::parse(&format!("{MAGIC}\nwhat\n")).unwrap_err();
        assert_eq!(e.line, 2);
        let e = Trace::parse(&format!("{MAGIC}\n@x a=\"open\n")).unwrap_err();
        assert!(e.reason.contains("unterminated"), "{e}");
    }

    #[test]
    fn diff_names_the_differing_exchange() {
        let a = sample();
        let mut b = sample();
        if let Event::Exchange { response, .. } = &mut b.lines[3].event {
            *response = Ok(vec![0x63, 0xC1]);
        }
        let d = diff(&a, &b);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("exchange 1"), "{}", d[0]);
        assert!(d[0].contains("63C1"), "{}", d[0]);
        assert!(diff(&a, &a).is_empty());
    }
}
