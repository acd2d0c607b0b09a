//! Foreign APDU logs as traces (`emvbench trace import --from FORMAT FILE -o OUT.trace`):
//! the logs people have of a card and a terminal talking, turned into the trace format
//! (docs/formats.md §3) so that `trace replay` plays them against the software card and
//! `trace replay --as-card` plays the foreign card's answers against our kernel.
//!
//! Formats (docs/formats.md §6):
//! - `plain`: a hex dump with one command and its answer per pair of lines, marked `>>`/`<<`,
//!   `C-APDU:`/`R-APDU:` (openemv emv-tool's `--debug-level CARD` output is one: its
//!   `[TTL] C-APDU: ...`/`[TTL] R-APDU: ...` lines), or `->`/`<-`; other lines are ignored;
//! - `pcscd`: pcscd's own APDU log (`pcscd --foreground --apdu`), lines `APDU: XX XX ...`
//!   and `SW: XX XX ...`;
//! - `pcsc-spy`: pcsc-lite's `pcsc-spy` output, `SCardTransmit` calls with their
//!   `pbSendBuffer`/`pbRecvBuffer` hex dumps.
//!
//! PIN data is redacted on import (VERIFY and PIN CHANGE data, as the trace recorder does).
//! Each power-on in the log starts a transaction; a log without power events is one.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::trace::{Event, Trace, redact};

/// A foreign log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `>>`/`<<`, `C-APDU:`/`R-APDU:` or `->`/`<-` hex lines.
    Plain,
    /// pcscd's `--apdu` log.
    Pcscd,
    /// `pcsc-spy` output.
    PcscSpy,
}

impl LogFormat {
    /// The names `--from` takes.
    pub const NAMES: &'static str = "plain, pcscd, pcsc-spy";
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "plain" => Ok(Self::Plain),
            "pcscd" => Ok(Self::Pcscd),
            "pcsc-spy" => Ok(Self::PcscSpy),
            _ => Err(format!("unknown log format {s:?} (one of {})", Self::NAMES)),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain => "plain",
            Self::Pcscd => "pcscd",
            Self::PcscSpy => "pcsc-spy",
        })
    }
}

/// A log that cannot be imported, with the line (1-based) where it goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ImportError {
    /// 1-based line in the log.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// What the imported trace says about its card and transactions.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The `@card` line's fields (profile, seed, tags) when the log is of one of our cards;
    /// `trace replay` needs it, `--as-card` does not.
    pub card: Option<Vec<(String, String)>>,
    /// The `@transaction` fields for `--as-card` (terminal, amount, type, ...).
    pub transaction: Vec<(String, String)>,
    /// Where the log came from, for the trace's header comment.
    pub source: String,
}

/// One event read from a log, with its line.
#[derive(Debug)]
enum Item {
    PowerOn(Vec<u8>),
    Command(Vec<u8>),
    Response(Vec<u8>),
}

/// The hex bytes of `s` (spaces allowed between bytes), or why not.
fn hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    let compact: String = s.split_whitespace().collect();
    if compact.is_empty() {
        return Err("no hex data".into());
    }
    hex::decode(&compact).map_err(|e| format!("{compact:?} is not hex: {e}"))
}

/// The text after `marker` on `line`, up to a ` (` comment or `#`.
fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let i = line.find(marker)?;
    let rest = &line[i + marker.len()..];
    let end = [rest.find(" ("), rest.find('#')]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn plain(text: &str) -> Result<Vec<(usize, Item)>, ImportError> {
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let (cmd, body) = if let Some(b) = after(t, "C-APDU:") {
            (true, b)
        } else if let Some(b) = after(t, "R-APDU:") {
            (false, b)
        } else if let Some(b) = t.strip_prefix(">>").or_else(|| t.strip_prefix("->")) {
            (true, b.split('#').next().unwrap_or(""))
        } else if let Some(b) = t.strip_prefix("<<").or_else(|| t.strip_prefix("<-")) {
            (false, b.split('#').next().unwrap_or(""))
        } else if let Some(b) = after(t, "ATR:") {
            // emv-tool prints the ATR it got (`[EMV] ATR: 3B68...`): a power-on
            let atr = hex_bytes(b).map_err(|reason| ImportError {
                line: i + 1,
                reason,
            })?;
            items.push((i + 1, Item::PowerOn(atr)));
            continue;
        } else {
            continue;
        };
        let bytes = hex_bytes(body).map_err(|reason| ImportError {
            line: i + 1,
            reason,
        })?;
        items.push((
            i + 1,
            if cmd {
                Item::Command(bytes)
            } else {
                Item::Response(bytes)
            },
        ));
    }
    Ok(items)
}

fn pcscd(text: &str) -> Result<Vec<(usize, Item)>, ImportError> {
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let item = if let Some(b) = after(line, "APDU: ") {
            Item::Command(hex_bytes(b).map_err(|reason| ImportError {
                line: i + 1,
                reason,
            })?)
        } else if let Some(b) = after(line, "SW: ") {
            Item::Response(hex_bytes(b).map_err(|reason| ImportError {
                line: i + 1,
                reason,
            })?)
        } else if let Some(b) = after(line, "ATR: ") {
            Item::PowerOn(hex_bytes(b).map_err(|reason| ImportError {
                line: i + 1,
                reason,
            })?)
        } else {
            continue;
        };
        items.push((i + 1, item));
    }
    Ok(items)
}

/// A line without ANSI colour sequences (`ESC [ … m`): pcsc-spy colours its output on a
/// terminal, and a log captured with `script` keeps them.
fn strip_ansi(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains('\u{1b}') {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // skip to the end of the control sequence (a letter)
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The bytes of one pcsc-spy dump line, `OFFS HH HH … HH  ascii`: the offset, then the hex
/// column (16 bytes, `HH ` each, padded with spaces on the last line), then the bytes as
/// ASCII. The hex column is read by position, so ASCII that looks like hex (`AB`) is
/// never taken for a byte.
fn spy_dump_line(t: &str) -> Option<Result<Vec<u8>, String>> {
    let (off, rest) = t.split_at_checked(4)?;
    if !off.bytes().all(|b| b.is_ascii_hexdigit()) || !rest.starts_with(' ') {
        return None;
    }
    let hex_column = rest.get(1..48).unwrap_or(&rest[1..]);
    Some(
        hex_column
            .split_whitespace()
            .map(|w| u8::from_str_radix(w, 16).map_err(|_| format!("{w:?} is not a hex byte")))
            .collect(),
    )
}

/// pcsc-spy (pcsc-lite's `pcsc-spy`, with or without `-n`, coloured or not): inside each
/// `SCardTransmit`, the `bSendBuffer` dump is the command and the `bRecvBuffer` dump the
/// response (` i  0000 00 A4 04 00 … ascii`, 16 bytes a line). Other calls' buffers
/// (`SCardControl`, `SCardGetAttrib`) are not APDUs and are skipped.
fn pcsc_spy(text: &str) -> Result<Vec<(usize, Item)>, ImportError> {
    #[derive(PartialEq)]
    enum In {
        None,
        Send,
        Recv,
    }
    let mut items = Vec::new();
    let mut state = In::None;
    let mut in_transmit = false;
    let mut buf: Vec<u8> = Vec::new();
    let mut start = 0;
    let flush = |state: &In, buf: &mut Vec<u8>, start: usize, items: &mut Vec<(usize, Item)>| {
        if buf.is_empty() {
            return;
        }
        let bytes = std::mem::take(buf);
        match state {
            In::Send => items.push((start, Item::Command(bytes))),
            In::Recv => items.push((start, Item::Response(bytes))),
            In::None => {}
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line = strip_ansi(raw);
        let t = line.trim_start();
        // a call begins with its name on a line of its own
        if t.starts_with("SCard") {
            flush(&state, &mut buf, start, &mut items);
            state = In::None;
            in_transmit = t.starts_with("SCardTransmit");
            continue;
        }
        // ` i ` / ` o ` marks a parameter going in or out
        let Some(field) = t.strip_prefix("i ").or_else(|| t.strip_prefix("o ")) else {
            continue;
        };
        if field.starts_with("bSendBuffer") || field.starts_with("bRecvBuffer") {
            flush(&state, &mut buf, start, &mut items);
            state = match (in_transmit, field.starts_with("bSendBuffer")) {
                (false, _) => In::None,
                (true, true) => In::Send,
                (true, false) => In::Recv,
            };
            start = i + 1;
            continue;
        }
        if state == In::None {
            continue;
        }
        match spy_dump_line(field.trim_start()) {
            Some(bytes) => buf.extend(bytes.map_err(|reason| ImportError {
                line: i + 1,
                reason,
            })?),
            None => {
                flush(&state, &mut buf, start, &mut items);
                state = In::None;
            }
        }
    }
    flush(&state, &mut buf, start, &mut items);
    Ok(items)
}

/// Builds the trace of a log, event by event.
struct Builder<'a> {
    trace: Trace,
    opts: &'a ImportOptions,
    /// Transactions opened so far.
    open: usize,
    exchanges: usize,
    /// VERIFY commands in the open transaction.
    verifies: usize,
    /// A command waiting for its answer, with its line.
    pending: Option<(usize, Vec<u8>)>,
}

impl Builder<'_> {
    fn start(&mut self) {
        self.open += 1;
        self.trace.push(Event::Marker {
            name: "transaction".into(),
            args: vec![self.open.to_string()],
            fields: self.opts.transaction.iter().cloned().collect(),
        });
    }

    /// Closes the open transaction: `pins=` one PIN entry per VERIFY the terminal sent
    /// (the kinds of entry, never digits; docs/formats.md §3), then `@end`.
    fn end(&mut self) {
        let pins = vec!["pin"; self.verifies].join(",");
        if let Some(Event::Marker { fields, .. }) = self
            .trace
            .lines
            .iter_mut()
            .rev()
            .map(|l| &mut l.event)
            .find(|e| matches!(e, Event::Marker { name, .. } if name == "transaction"))
        {
            fields.insert("pins".into(), pins);
        }
        self.verifies = 0;
        self.trace.push(Event::PowerOff);
        self.trace
            .marker("end", &[], &[("outcome", "imported".into())]);
    }

    fn unanswered(&self, why: &str) -> Result<(), ImportError> {
        match &self.pending {
            Some((line, _)) => Err(ImportError {
                line: *line,
                reason: why.into(),
            }),
            None => Ok(()),
        }
    }

    fn item(&mut self, line: usize, item: Item) -> Result<(), ImportError> {
        match item {
            Item::PowerOn(atr) => {
                self.unanswered("a command without its answer before the next power-on")?;
                if self.open > 0 {
                    self.end();
                }
                self.start();
                self.trace.push(Event::PowerOn(atr));
            }
            Item::Command(c) => {
                self.unanswered("a command without its answer")?;
                if c.len() < 4 {
                    return Err(ImportError {
                        line,
                        reason: format!("a command of {} bytes (at least CLA INS P1 P2)", c.len()),
                    });
                }
                self.pending = Some((line, c));
            }
            Item::Response(r) => {
                let Some((_, c)) = self.pending.take() else {
                    return Err(ImportError {
                        line,
                        reason: "an answer without a command".into(),
                    });
                };
                if r.len() < 2 {
                    return Err(ImportError {
                        line,
                        reason: "an answer shorter than a status word (SW1 SW2)".into(),
                    });
                }
                if self.open == 0 {
                    self.start();
                }
                if c.get(1) == Some(&0x20) {
                    self.verifies += 1;
                }
                // PIN data redacted, as the trace recorder does (docs/formats.md §3)
                let (command, redacted) = redact(&c);
                self.trace.push(Event::Exchange {
                    command,
                    redacted,
                    response: Ok(r),
                });
                self.exchanges += 1;
            }
        }
        Ok(())
    }
}

/// Reads `text` as a log in `format` and returns it as a trace.
///
/// # Errors
/// A line that claims to hold hex and does not, a command without its answer (or an
/// answer without a command), an answer shorter than a status word, or a log with no
/// exchange at all, each with its line.
pub fn import(format: LogFormat, text: &str, opts: &ImportOptions) -> Result<Trace, ImportError> {
    let items = match format {
        LogFormat::Plain => plain(text)?,
        LogFormat::Pcscd => pcscd(text)?,
        LogFormat::PcscSpy => pcsc_spy(text)?,
    };
    let mut b = Builder {
        trace: Trace::default(),
        opts,
        open: 0,
        exchanges: 0,
        verifies: 0,
        pending: None,
    };
    b.trace.marker(
        "imported",
        &[],
        &[
            ("from", format.to_string()),
            ("source", opts.source.clone()),
        ],
    );
    if let Some(card) = &opts.card {
        b.trace.push(Event::Marker {
            name: "card".into(),
            args: Vec::new(),
            fields: card.iter().cloned().collect::<BTreeMap<_, _>>(),
        });
    }
    for (line, item) in items {
        b.item(line, item)?;
    }
    b.unanswered("the log ends with a command without its answer")?;
    if b.exchanges == 0 {
        return Err(ImportError {
            line: text.lines().count().max(1),
            reason: format!("no exchange found: is this a {format} log?"),
        });
    }
    b.end();
    Ok(b.trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ImportOptions {
        ImportOptions {
            source: "test".into(),
            ..ImportOptions::default()
        }
    }

    #[test]
    fn emv_tool_card_log_and_plain_dumps_import() {
        let log = "[EMV] ATR: 3B680000656D7662656E6368\n\
            [TTL] C-APDU: 00A404000E315041592E5359532E444446303100 (SELECT first 1PAY.SYS.DDF01)\n\
            [TTL] C-TPDU: 00A404000E315041592E5359532E444446303100\n\
            [TTL] R-APDU: 6A82 (Checking error: File or application not found)\n\
            >> 0020008008241234FFFFFFFFFF   # VERIFY\n\
            << 9000\n";
        let t = import(LogFormat::Plain, log, &opts()).unwrap();
        assert_eq!(t.exchanges(), 2);
        let text = t.to_text();
        assert!(
            text.contains("0020008008[PIN]") && !text.contains("241234"),
            "{text}"
        );
        // the imported trace reads back
        assert_eq!(Trace::parse(&text).unwrap().exchanges(), 2);
    }

    #[test]
    fn pcscd_and_pcsc_spy_logs_import() {
        let pcscd = "00000010 APDU: 00 A4 04 00 0E 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31 00\n\
                     00000300 SW: 6A 82\n";
        assert_eq!(
            import(LogFormat::Pcscd, pcscd, &opts())
                .unwrap()
                .exchanges(),
            1
        );
        // the layout pcsc-spy -n prints (pcsc-lite 1.9)
        let spy = "SCardTransmit\n i hCard: 0x????\n i pioSendPci.dwProtocol: 0x????\n \
                   i bSendLength 0x00000005 (5)\n i bSendBuffer\n \
                   i  0000 00 B2 01 0C 00                                  .....\n \
                   o bRecvLength 0x00000007 (7)\n o bRecvBuffer\n \
                   o  0000 70 03 5A 01 47 90 00                            p.Z.G..\n \
                   => Command successful. (SCARD_S_SUCCESS [0x00000000])\n";
        let t = import(LogFormat::PcscSpy, spy, &opts()).unwrap();
        assert_eq!(t.exchanges(), 1);
        assert!(t.to_text().contains("<< 70035A01479000"));
    }

    #[test]
    fn pcsc_spy_reads_the_hex_column_only_and_only_transmit_buffers() {
        // as pcsc-spy's hexdump() prints them: the last line's hex column padded, then the
        // ASCII (here "AB", which looks like a hex byte); a control call's buffers are not
        // APDUs; colours as on a terminal
        let spy = "SCardControl\n i hCard: 0x1\n i bSendBuffer\n \
                   i  0000 42 00 00 0D                                      B...\n \
                   o bRecvBuffer\n o  0000 06 04 00 31 30 00                                .xyz.\n\
                   \u{1b}[34mSCardTransmit\u{1b}[0m\n \
                   \u{1b}[32m i bSendBuffer\u{1b}[0m\n \
                   \u{1b}[32m i  0000 00 CA 41 42                                      ..AB\u{1b}[0m\n \
                   o bRecvBuffer\n \
                   o  0000 41 42 90 00                                      AB..\n";
        let t = import(LogFormat::PcscSpy, spy, &opts()).unwrap();
        assert_eq!(t.exchanges(), 1, "{}", t.to_text());
        let text = t.to_text();
        assert!(text.contains(">> 00CA4142 "), "{text}");
        assert!(text.contains("<< 41429000"), "{text}");
    }

    #[test]
    fn broken_logs_name_their_line() {
        let e = import(
            LogFormat::Plain,
            ">> 00A4\n>> 00B2010C00\n<< 9000\n",
            &opts(),
        )
        .unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = import(LogFormat::Plain, "hello\n<< 9000\n", &opts()).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = import(LogFormat::Plain, ">> 00B2010C00\n<< 9G00\n", &opts()).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = import(LogFormat::Plain, ">> 00B2010C00\n<< 90\n", &opts()).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = import(LogFormat::Plain, "nothing here\n", &opts()).unwrap_err();
        assert!(e.reason.contains("no exchange"), "{e}");
        let e = import(LogFormat::Plain, ">> 00B2010C00\n", &opts()).unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }
}
