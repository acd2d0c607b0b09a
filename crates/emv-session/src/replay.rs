//! Replaying the card side of a trace against the kernel (`emvbench trace replay
//! --as-card`): the recorded R-APDUs and issuer answers play the card and the host, the
//! kernel runs each recorded transaction again with the recorded terminal, amount, date and
//! seed, and every C-APDU it sends must be the recorded one. This regression-tests the
//! kernel without any card.
//!
//! The PIN digits are not in a trace's markers: the PIN pad enters a stand-in PIN for each
//! recorded entry, so VERIFY commands are compared on their header (CLA INS P1 P2 Lc) only,
//! and so is any command whose PIN data the trace holds redacted (`[PIN]`, `docs/formats.md`
//! §3).

use std::collections::{BTreeMap, VecDeque};

use emv_apdu::{Transport, TransportError};
use emv_auth::{
    Advice, AdviceReason, AdviceResponse, AuthRequest, AuthResponse, Host, HostError, ResponseCode,
    TransactionType,
};
use emv_kernel::{
    Kernel, KernelConfig, Profile, ScriptedPinPad, TransactionDate, TransactionParams,
    TransactionTime,
};
use emv_transport::trace::{Compared, Event, Mismatch, Trace};

use crate::SessionError;

/// The fields of a trace's `@transaction` marker: what `--as-card` needs to run the
/// kernel again (the PIN entries by kind only, never their digits).
pub fn transaction_fields(
    terminal: &str,
    terminal_tags: &str,
    p: &TransactionParams,
    pin_kinds: &[&str],
) -> Vec<(&'static str, String)> {
    vec![
        ("terminal", terminal.to_string()),
        ("terminal-tags", terminal_tags.to_string()),
        ("amount", p.amount.to_string()),
        ("amount-other", p.amount_other.to_string()),
        ("type", p.transaction_type.name().to_string()),
        (
            "date",
            format!("{:04}-{:02}-{:02}", p.date.year, p.date.month, p.date.day),
        ),
        (
            "time",
            format!("{:02}{:02}{:02}", p.time.hour, p.time.minute, p.time.second),
        ),
        ("seed", p.seed.to_string()),
        ("stan", p.stan.to_string()),
        ("forced-online", p.merchant_forced_online.to_string()),
        ("pins", pin_kinds.join(",")),
    ]
}

/// What a card-side replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsCardStats {
    /// Transactions run again.
    pub transactions: usize,
    /// Commands compared.
    pub commands: usize,
}

struct Expected {
    line: usize,
    command: Vec<u8>,
    redacted: bool,
    response: Result<Vec<u8>, String>,
}

/// The recorded card: answers each expected command with its recorded response.
struct AsCard {
    atr: Vec<u8>,
    queue: VecDeque<Expected>,
    removed: bool,
    mismatch: Option<Mismatch>,
    compared: usize,
    /// The transaction's last line (its `@end`): where a command beyond the trace is
    /// reported.
    last_line: usize,
}

/// Whether the kernel's command is the recorded one (VERIFY data, and redacted PIN data,
/// excepted: the header and Lc are compared).
fn same_command(sent: &[u8], e: &Expected) -> bool {
    let recorded = &e.command;
    let verify = |c: &[u8]| c.len() > 5 && c[1] == 0x20;
    if (verify(sent) && verify(recorded)) || e.redacted {
        return sent.len() == recorded.len() && sent.get(..5) == recorded.get(..5);
    }
    sent == recorded.as_slice()
}

impl Transport for AsCard {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.mismatch.is_some() {
            return Err(TransportError::TraceMismatch("replay stopped".into()));
        }
        let Some(e) = self.queue.pop_front() else {
            if self.removed {
                return Err(TransportError::CardRemoved);
            }
            self.mismatch = Some(Mismatch {
                line: self.last_line,
                compared: Compared::Command,
                command: capdu.to_vec(),
                expected: "no further command: the recorded transaction ends here".into(),
                actual: format!("command {}", emv_apdu::describe::redacted_hex(capdu)),
                offset: None,
            });
            return Err(TransportError::TraceMismatch("beyond the trace".into()));
        };
        self.compared += 1;
        if !same_command(capdu, &e) {
            let offset = capdu
                .iter()
                .zip(e.command.iter())
                .position(|(a, b)| a != b)
                .or(Some(capdu.len().min(e.command.len())));
            let shown = |c: &[u8]| emv_apdu::describe::redacted_hex(c);
            self.mismatch = Some(Mismatch {
                line: e.line,
                compared: Compared::Command,
                command: e.command.clone(),
                expected: format!("command {}", shown(&e.command)),
                actual: format!("command {}", shown(capdu)),
                offset,
            });
            return Err(TransportError::TraceMismatch("command differs".into()));
        }
        e.response.map_err(|text| match text.as_str() {
            "card removed" => TransportError::CardRemoved,
            _ => TransportError::Other(text),
        })
    }
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(self.atr.clone())
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(self.atr.clone())
    }
    fn power_off(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
}

/// The recorded issuer.
struct AsHost(VecDeque<String>);

impl Host for AsHost {
    fn authorise(&mut self, _request: &AuthRequest) -> Result<AuthResponse, HostError> {
        let Some(json) = self.0.pop_front() else {
            return Err(HostError::Unreachable(
                "the trace holds no issuer answer here".into(),
            ));
        };
        let v: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| HostError::Internal(format!("@host line: {e}")))?;
        if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
            return Err(HostError::Unreachable(err.to_string()));
        }
        serde_json::from_value(v).map_err(|e| HostError::Internal(format!("@host line: {e}")))
    }
    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError> {
        Ok(AdviceResponse {
            response_code: ResponseCode::APPROVED,
            reversed: advice.reason == AdviceReason::Reversal,
        })
    }
}

struct Block {
    line: usize,
    fields: BTreeMap<String, String>,
    card: AsCard,
    host: VecDeque<String>,
}

fn blocks(trace: &Trace) -> Result<Vec<Block>, SessionError> {
    let mut out: Vec<Block> = Vec::new();
    for l in &trace.lines {
        match &l.event {
            Event::Marker { name, fields, .. } if name == "transaction" => out.push(Block {
                line: l.number,
                fields: fields.clone(),
                card: AsCard {
                    atr: Vec::new(),
                    queue: VecDeque::new(),
                    removed: false,
                    mismatch: None,
                    compared: 0,
                    last_line: l.number,
                },
                host: VecDeque::new(),
            }),
            Event::PowerOn(atr) => {
                if let Some(b) = out.last_mut() {
                    b.card.atr = atr.clone();
                }
            }
            Event::Exchange {
                command,
                response,
                redacted,
            } => {
                let Some(b) = out.last_mut() else {
                    return Err(SessionError::Input(format!(
                        "line {}: an exchange before any @transaction line",
                        l.number
                    )));
                };
                b.card.last_line = l.number;
                b.card.queue.push_back(Expected {
                    line: l.number,
                    command: command.clone(),
                    redacted: *redacted,
                    response: response.clone(),
                });
            }
            Event::Removed => {
                if let Some(b) = out.last_mut() {
                    b.card.removed = true;
                }
            }
            Event::Host(json) => {
                if let Some(b) = out.last_mut() {
                    b.host.push_back(json.clone());
                }
            }
            Event::Marker { name, .. } if name == "end" => {
                if let Some(b) = out.last_mut() {
                    b.card.last_line = l.number;
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn params(b: &Block) -> Result<(Kernel, TransactionParams, Vec<&'static str>), SessionError> {
    let bad = |what: &str| {
        SessionError::Input(format!(
            "line {}: @transaction needs {what} to be replayed as the card",
            b.line
        ))
    };
    let get = |k: &str| b.fields.get(k).ok_or_else(|| bad(k));
    let num = |k: &str| -> Result<u64, SessionError> {
        get(k)?.parse().map_err(|_| bad(&format!("a numeric {k}")))
    };
    let mut profile = Profile::load(get("terminal")?)?;
    for t in b
        .fields
        .get("terminal-tags")
        .map(|t| t.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>())
        .unwrap_or_default()
    {
        profile.override_tag_str(t)?;
    }
    let transaction_type: TransactionType =
        get("type")?.parse().map_err(|_| bad("a known type"))?;
    let time = get("time")?;
    let t = |r: std::ops::Range<usize>| time.get(r).and_then(|d| d.parse::<u8>().ok());
    let (Some(hour), Some(minute), Some(second)) = (t(0..2), t(2..4), t(4..6)) else {
        return Err(bad("time=HHMMSS"));
    };
    let p = TransactionParams {
        amount: num("amount")?,
        amount_other: num("amount-other")?,
        transaction_type,
        date: TransactionDate::parse(get("date")?)?,
        time: TransactionTime {
            hour,
            minute,
            second,
        },
        seed: num("seed")?,
        unpredictable_number: None,
        stan: u32::try_from(num("stan")?).map_err(|_| bad("a 6-digit stan"))?,
        merchant_forced_online: b.fields.get("forced-online").is_some_and(|v| v == "true"),
    };
    // stand-in PINs: the digits are not recorded; the card's answers are
    let pins = b
        .fields
        .get("pins")
        .map(|p| {
            p.split(',')
                .filter(|s| !s.is_empty())
                .map(|k| if k == "bypass" { "bypass" } else { "0000" })
                .collect()
        })
        .unwrap_or_default();
    Ok((Kernel::new(profile, KernelConfig::default()), p, pins))
}

/// Replays the card side of `trace` against the kernel; the first command that differs is
/// the error.
pub fn replay_as_card(trace: &Trace) -> Result<AsCardStats, ReplayError> {
    let mut stats = AsCardStats::default();
    for mut b in blocks(trace).map_err(ReplayError::Setup)? {
        let (kernel, params, pins) = params(&b).map_err(ReplayError::Setup)?;
        let mut pad = ScriptedPinPad::new(pins).map_err(|e| ReplayError::Setup(e.into()))?;
        let mut host = AsHost(std::mem::take(&mut b.host));
        kernel
            .run(&mut b.card, &mut pad, &mut host, &params)
            .map_err(|e| ReplayError::Setup(e.into()))?;
        stats.transactions += 1;
        stats.commands += b.card.compared;
        if let Some(m) = b.card.mismatch.take() {
            return Err(ReplayError::Mismatch(Box::new(m)));
        }
        if let Some(left) = b.card.queue.front() {
            return Err(ReplayError::Mismatch(Box::new(Mismatch {
                line: left.line,
                compared: Compared::Command,
                command: left.command.clone(),
                expected: format!(
                    "command {}",
                    emv_apdu::describe::redacted_hex(&left.command)
                ),
                actual: "(the kernel ended the transaction before it)".into(),
                offset: None,
            })));
        }
    }
    Ok(stats)
}

/// Why a card-side replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The trace cannot be replayed (missing fields, unknown terminal).
    #[error(transparent)]
    Setup(SessionError),
    /// The kernel sent something else.
    #[error("{0}")]
    Mismatch(Box<Mismatch>),
}
