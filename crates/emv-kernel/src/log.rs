//! The transaction logs: every APDU exchanged (with the command's name) and every
//! decision the kernel took, so a payment engineer can follow the transaction.

use emv_apdu::{CommandView, Response, Transport, TransportError, exchange, ins_name};
use serde::Serialize;

use crate::error::KernelError;
use crate::util::hex;

/// A stage of the transaction (EMV 4.4 Book 3 §10, Book 4 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Book 1 §12.
    ApplicationSelection,
    /// Book 3 §10.1.
    InitiateApplicationProcessing,
    /// Book 3 §10.2.
    ReadApplicationData,
    /// Book 3 §10.3.
    OfflineDataAuthentication,
    /// Book 3 §10.4.
    ProcessingRestrictions,
    /// Book 3 §10.5.
    CardholderVerification,
    /// Book 3 §10.6.
    TerminalRiskManagement,
    /// Book 3 §10.7.
    TerminalActionAnalysis,
    /// Book 3 §10.8.
    CardActionAnalysis,
    /// Book 3 §10.9.
    OnlineProcessing,
    /// Book 3 §10.10.
    IssuerScriptProcessing,
    /// Book 3 §10.11.
    Completion,
}

impl Stage {
    /// The stage's name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::ApplicationSelection => "application selection",
            Stage::InitiateApplicationProcessing => "initiate application processing",
            Stage::ReadApplicationData => "read application data",
            Stage::OfflineDataAuthentication => "offline data authentication",
            Stage::ProcessingRestrictions => "processing restrictions",
            Stage::CardholderVerification => "cardholder verification",
            Stage::TerminalRiskManagement => "terminal risk management",
            Stage::TerminalActionAnalysis => "terminal action analysis",
            Stage::CardActionAnalysis => "card action analysis",
            Stage::OnlineProcessing => "online processing",
            Stage::IssuerScriptProcessing => "issuer script processing",
            Stage::Completion => "completion",
        }
    }
}

impl core::fmt::Display for Stage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// One decision, in the words of the spec section it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The stage.
    pub stage: Stage,
    /// What was decided and why.
    pub text: String,
}

/// One APDU exchange as it went over the wire (a GET RESPONSE is its own record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApduRecord {
    /// The command's name (`READ RECORD SFI 1 record 2`, `VERIFY (plaintext PIN)`).
    pub name: String,
    /// C-APDU, upper-case hex; the data of a plaintext VERIFY is masked with `*`.
    pub command: String,
    /// R-APDU (data and status word), upper-case hex; empty if the card did not answer.
    pub response: String,
}

/// The name of a C-APDU for logs.
pub fn command_name(capdu: &[u8]) -> String {
    if let Ok(view) = CommandView::parse(capdu)
        && let Some(known) = view.identify()
    {
        return known.to_string();
    }
    capdu
        .get(1)
        .and_then(|&ins| ins_name(ins))
        .unwrap_or("UNKNOWN")
        .to_owned()
}

/// Hex of a C-APDU with the PIN block of a plaintext VERIFY (`00 20 00 80`) masked.
pub fn masked_command(capdu: &[u8]) -> String {
    if capdu.len() > 5 && capdu[1] == 0x20 && capdu[3] == 0x80 {
        let mut s = hex(&capdu[..5]);
        s.push_str(&"*".repeat(2 * (capdu.len() - 5)));
        return s;
    }
    hex(capdu)
}

/// A transport that records every exchange.
struct Tap<'t, T: ?Sized> {
    inner: &'t mut T,
    log: &'t mut Vec<ApduRecord>,
}

impl<T: Transport + ?Sized> Transport for Tap<'_, T> {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let result = self.inner.transmit(capdu);
        self.log.push(ApduRecord {
            name: command_name(capdu),
            command: masked_command(capdu),
            response: result.as_ref().map(|r| hex(r)).unwrap_or_default(),
        });
        result
    }
}

/// The card as the kernel talks to it: every command goes through
/// [`emv_apdu::exchange`] (which owns the `61xx`/`6Cxx` loop) and is logged.
pub(crate) struct CardIo<'a, T: ?Sized> {
    transport: &'a mut T,
    pub(crate) log: Vec<ApduRecord>,
}

impl<'a, T: Transport + ?Sized> CardIo<'a, T> {
    pub(crate) fn new(transport: &'a mut T) -> Self {
        CardIo {
            transport,
            log: Vec::new(),
        }
    }

    /// Send a command and return the complete response.
    pub(crate) fn send(&mut self, command: &emv_apdu::Command) -> Result<Response, KernelError> {
        let bytes = command.to_bytes()?;
        self.send_raw(&bytes)
    }

    /// Send an already encoded C-APDU (issuer script commands).
    pub(crate) fn send_raw(&mut self, capdu: &[u8]) -> Result<Response, KernelError> {
        let mut tap = Tap {
            inner: &mut *self.transport,
            log: &mut self.log,
        };
        exchange(&mut tap, capdu).map_err(|source| KernelError::Card {
            command: command_name(capdu),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_masking() {
        assert_eq!(
            command_name(&[0x80, 0xCA, 0x9F, 0x17, 0x00]),
            "GET DATA 9F17"
        );
        assert_eq!(command_name(&[0x00, 0x0E, 0x00, 0x00]), "UNKNOWN");
        let verify = [
            0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let m = masked_command(&verify);
        assert_eq!(m, "0020008008****************");
        assert!(!m.contains("1234"));
        assert_eq!(
            masked_command(&[0x00, 0x84, 0x00, 0x00, 0x00]),
            "0084000000"
        );
    }
}
