//! The trace recorder: a consumer of the kernel's event stream that writes what a replay
//! needs (power events, the exact exchanges, the issuer's answers) into a
//! [`Trace`](emv_transport::trace::Trace).

use emv_apdu::TransportError;
use emv_auth::AdviceReason;
use emv_kernel::{Event, Observer};
use emv_transport::trace::{Event as TraceEvent, Trace, redact};

/// Writes a transaction's events into a trace.
#[derive(Debug)]
pub struct TraceRecorder<'t> {
    trace: &'t mut Trace,
    /// The card left the reader: written once, until the next power-on.
    removed: bool,
}

impl<'t> TraceRecorder<'t> {
    /// Records into `trace`.
    pub fn new(trace: &'t mut Trace) -> Self {
        Self {
            trace,
            removed: false,
        }
    }
}

impl TraceRecorder<'_> {
    fn card_removed(&mut self) {
        if !std::mem::replace(&mut self.removed, true) {
            self.trace.push(TraceEvent::Removed);
        }
    }
}

impl Observer for TraceRecorder<'_> {
    fn on_event(&mut self, event: &Event<'_>) {
        match event {
            Event::PowerOn { atr } => {
                self.removed = false;
                self.trace.push(TraceEvent::PowerOn(atr.to_vec()));
            }
            Event::PowerOff => self.trace.push(TraceEvent::PowerOff),
            Event::Exchange(x) => match x.response {
                // a card that left the reader is one `@card-removed` line: the commands
                // it did not get are not exchanges
                Err(TransportError::CardRemoved) => self.card_removed(),
                response => {
                    // PIN data stays out of the trace unless asked for (docs/formats.md §3)
                    let (command, redacted) = if self.trace.pins_in_clear {
                        (x.command.to_vec(), false)
                    } else {
                        redact(x.command)
                    };
                    self.trace.push(TraceEvent::Exchange {
                        command,
                        redacted,
                        response: response.map(<[u8]>::to_vec).map_err(|e| e.to_string()),
                    });
                }
            },
            Event::HostAnswer(answer) => {
                let json = host_json(*answer, !self.trace.pins_in_clear);
                self.trace.push(TraceEvent::Host(json));
            }
            // a reversal gives money back: the trace shows it (completion advices do not
            // reach the card and are left out)
            Event::Advice { advice, delivered } if advice.reason == AdviceReason::Reversal => {
                let answer = match delivered {
                    Ok(a) => a.response_code.as_str().to_owned(),
                    Err(_) => "undelivered".to_owned(),
                };
                self.trace.marker(
                    "reversal",
                    &[],
                    &[("stan", advice.stan.to_string()), ("response", answer)],
                );
            }
            _ => {}
        }
    }
}

/// The issuer's answer as a trace's `@host` line holds it; with `redact_pins`, the data of
/// the PIN CHANGE commands in its scripts is zeros, as on the `>>` line that delivers them.
fn host_json(
    answer: Result<&emv_auth::AuthResponse, &emv_auth::HostError>,
    redact_pins: bool,
) -> String {
    match answer {
        Ok(resp) => {
            // The authorisation code and the retrieval reference number are the host's
            // and never reach the card: left out so that a recorded trace is the same on
            // every run and against every host.
            let mut v = serde_json::to_value(resp).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                m.remove("auth_code");
                m.remove("rrn");
                if redact_pins
                    && let Some(serde_json::Value::Array(scripts)) = m.get_mut("issuer_scripts")
                {
                    for s in scripts.iter_mut() {
                        if let Some(bytes) = s.as_str().and_then(|h| hex::decode(h).ok()) {
                            *s = hex::encode_upper(redact_script(bytes)).into();
                        }
                    }
                }
            }
            v.to_string()
        }
        Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
    }
}

/// An Issuer Script Template (`71`/`72`, EMV 4.4 Book 3 Annex A) with the data of every
/// PIN-bearing command (tag `86`) zeroed; anything that does not parse is left as it is.
fn redact_script(template: Vec<u8>) -> Vec<u8> {
    let mut out = template.clone();
    if let Ok(list) = emv_tlv::parse_all(&template) {
        for t in list {
            for c in t.find_all(emv_tlv::Tag::new(0x86)) {
                let (redacted, _) = redact(c.value());
                let at = c.value_offset();
                out[at..at + redacted.len()].copy_from_slice(&redacted);
            }
        }
    }
    out
}
