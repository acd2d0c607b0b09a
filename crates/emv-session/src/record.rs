//! The trace recorder: a consumer of the kernel's event stream that writes what a replay
//! needs (power events, the exact exchanges, the issuer's answers) into a
//! [`Trace`](emv_transport::trace::Trace).

use emv_apdu::TransportError;
use emv_auth::AdviceReason;
use emv_kernel::{Event, Observer};
use emv_transport::trace::{Event as TraceEvent, Trace};

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
                response => self.trace.push(TraceEvent::Exchange {
                    command: x.command.to_vec(),
                    response: response.map(<[u8]>::to_vec).map_err(|e| e.to_string()),
                }),
            },
            Event::HostAnswer(answer) => self.trace.push(TraceEvent::Host(host_json(*answer))),
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

/// The issuer's answer as a trace's `@host` line holds it (it carries no PIN).
fn host_json(answer: Result<&emv_auth::AuthResponse, &emv_auth::HostError>) -> String {
    match answer {
        Ok(resp) => {
            // The authorisation code and the retrieval reference number are the host's
            // and never reach the card: left out so that a recorded trace is the same on
            // every run and against every host.
            let mut v = serde_json::to_value(resp).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                m.remove("auth_code");
                m.remove("rrn");
            }
            v.to_string()
        }
        Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
    }
}
