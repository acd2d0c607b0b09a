//! The terminal side of PC/SC: [`PcscReader`] drives a card in a PC/SC reader (a real one,
//! or vpcd's virtual reader with our software card in it) through the `pcsc` crate, and
//! [`list_readers`] tells which readers there are and what is in them.
//!
//! PC/SC failures become [`TransportError`]s a kernel can act on: card removed, no card,
//! card mute, reader gone, sharing violation. The T=0 `61xx`/`6Cxx` loop is not here but
//! in [`emv_apdu::exchange`], which the kernel calls on top of [`Transport::transmit`].

use std::ffi::{CStr, CString};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use emv_apdu::{Transport, TransportError};
use pcsc::{Context, Disposition, Protocol, Protocols, ReaderState, Scope, ShareMode, State};

use crate::Error;

/// How a reader is picked: its index in the PC/SC reader list, or its name. A name that
/// is not an exact match may be a case-insensitive part of exactly one reader's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderSelector {
    /// Position in [`list_readers`].
    Index(usize),
    /// Name or part of a name.
    Name(String),
}

impl FromStr for ReaderSelector {
    type Err = std::convert::Infallible;
    /// All digits is an index, anything else a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.parse::<usize>() {
            Ok(i) if s.bytes().all(|b| b.is_ascii_digit()) => Self::Index(i),
            _ => Self::Name(s.to_owned()),
        })
    }
}

impl fmt::Display for ReaderSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(i) => write!(f, "{i}"),
            Self::Name(n) => f.write_str(n),
        }
    }
}

/// One reader as [`list_readers`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// Position in the list (what `--reader N` means).
    pub index: usize,
    /// The reader's name.
    pub name: String,
    /// A card is in the reader.
    pub card_present: bool,
    /// The card's ATR, when one is present.
    pub atr: Option<Vec<u8>>,
    /// Another application is connected to the card.
    pub in_use: bool,
    /// Another application holds the card exclusively.
    pub exclusive: bool,
    /// The card is present but did not answer the reset.
    pub mute: bool,
}

/// The readers PC/SC knows, with card presence and ATR. No readers is an empty list; no
/// pcscd is [`Error::NoService`].
pub fn list_readers() -> Result<Vec<ReaderInfo>, Error> {
    let ctx = establish()?;
    let names = reader_names(&ctx)?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut states: Vec<ReaderState> = names
        .iter()
        .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
        .collect();
    // UNAWARE makes it return the current state at once (PC/SC Part 5, SCardGetStatusChange)
    ctx.get_status_change(Duration::ZERO, &mut states)
        .map_err(|e| pcsc_error("reading reader states", e))?;
    Ok(states
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let st = s.event_state();
            let present = st.contains(State::PRESENT);
            ReaderInfo {
                index,
                name: s.name().to_string_lossy().into_owned(),
                card_present: present,
                atr: (present && !s.atr().is_empty()).then(|| s.atr().to_vec()),
                in_use: st.contains(State::INUSE),
                exclusive: st.contains(State::EXCLUSIVE),
                mute: st.contains(State::MUTE),
            }
        })
        .collect())
}

fn establish() -> Result<Context, Error> {
    Context::establish(Scope::User).map_err(|e| match e {
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => Error::NoService(code(e)),
        e => pcsc_error("establishing a context", e),
    })
}

fn reader_names(ctx: &Context) -> Result<Vec<CString>, Error> {
    match ctx.list_readers_owned() {
        Ok(n) => Ok(n),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e @ (pcsc::Error::NoService | pcsc::Error::ServiceStopped)) => {
            Err(Error::NoService(code(e)))
        }
        Err(e) => Err(pcsc_error("listing readers", e)),
    }
}

/// The error's text and its PC/SC code, e.g. `Card removed (0x80100069)`.
fn code(e: pcsc::Error) -> String {
    format!("{e} (0x{:08X})", e as u32)
}

fn pcsc_error(context: &'static str, e: pcsc::Error) -> Error {
    Error::Pcsc {
        context,
        message: code(e),
    }
}

/// Maps a PC/SC failure of a connect or transmit to what the kernel needs to know
/// (PC/SC Part 5 return codes; docs/virtual-reader.md §6 for which one appears when).
fn transport_error(e: pcsc::Error) -> TransportError {
    use pcsc::Error as E;
    match e {
        E::RemovedCard => TransportError::CardRemoved,
        E::NoSmartcard => TransportError::NoCard,
        E::UnresponsiveCard | E::UnpoweredCard | E::Timeout | E::NotTransacted => {
            TransportError::CardMute(code(e))
        }
        E::SharingViolation => TransportError::SharingViolation(format!(
            "{}: another application holds the card exclusively",
            code(e)
        )),
        E::ReaderUnavailable
        | E::UnknownReader
        | E::NoReadersAvailable
        | E::NoService
        | E::ServiceStopped
        | E::CommError
        | E::InvalidHandle => TransportError::ReaderUnavailable(code(e)),
        E::ResetCard => TransportError::Other(format!(
            "{}: another application reset the card, its transaction state is lost",
            code(e)
        )),
        e => TransportError::Other(code(e)),
    }
}

/// A card in a PC/SC reader, as a [`Transport`]. Shared mode, T=0 or T=1 (whatever the
/// ATR and the reader agree on).
pub struct PcscReader {
    ctx: Context,
    reader: CString,
    card: Option<pcsc::Card>,
    /// Connected or reset and no APDU since: `power_on` need not reset again.
    fresh: bool,
    atr: Vec<u8>,
    protocol: Option<Protocol>,
    buf: Vec<u8>,
}

impl fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscReader")
            .field("reader", &self.reader)
            .field("connected", &self.card.is_some())
            .field("atr", &crate::atr::hex_upper(&self.atr))
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl PcscReader {
    /// Opens the reader `selector` picks (an index such as `0`, or a (part of a) name
    /// such as `Virtual PCD 00 00`) and connects to its card.
    pub fn open(selector: &str) -> Result<Self, Error> {
        let sel = ReaderSelector::from_str(selector).unwrap_or_else(|e| match e {});
        Self::open_selector(&sel)
    }

    /// [`open`](Self::open) with a parsed selector.
    pub fn open_selector(sel: &ReaderSelector) -> Result<Self, Error> {
        let mut r = Self::select(sel)?;
        r.connect()?;
        Ok(r)
    }

    /// Picks the reader without connecting (for [`wait_for_card`](Self::wait_for_card)
    /// before a card is there); the first [`Transport::power_on`] connects.
    pub fn select(sel: &ReaderSelector) -> Result<Self, Error> {
        let ctx = establish()?;
        let names = reader_names(&ctx)?;
        let reader = pick(&names, sel)?;
        Ok(Self {
            ctx,
            reader,
            card: None,
            fresh: false,
            atr: Vec::new(),
            protocol: None,
            buf: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        })
    }

    /// The reader's name.
    pub fn name(&self) -> String {
        self.reader.to_string_lossy().into_owned()
    }

    /// The ATR of the last power-up.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The protocol in use, `T=0` or `T=1`, once connected.
    pub fn protocol(&self) -> Option<&'static str> {
        match self.protocol? {
            Protocol::T0 => Some("T=0"),
            Protocol::T1 => Some("T=1"),
            Protocol::RAW => Some("raw"),
        }
    }

    /// Waits until a card is in the reader (`present`) or not (`!present`), at most
    /// `timeout`. Ok(false) on timeout. pcscd notices vpcd cards on its 400 ms poll
    /// (docs/virtual-reader.md §7: budget 0.5 s, wait with SCardGetStatusChange).
    pub fn wait_for_card(&self, present: bool, timeout: Duration) -> Result<bool, Error> {
        let deadline = Instant::now() + timeout;
        // UNAWARE: the first call reports the current state at once; later calls block
        // until the state differs from the one last seen (PC/SC Part 5, SCardGetStatusChange)
        let mut st = [ReaderState::new(self.reader.clone(), State::UNAWARE)];
        let mut wait = Duration::ZERO;
        loop {
            match self.ctx.get_status_change(wait, &mut st) {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(Error::Transport(transport_error(e))),
            }
            let s = st[0].event_state();
            if s.intersects(State::UNKNOWN | State::UNAVAILABLE) {
                return Err(Error::Transport(TransportError::ReaderUnavailable(
                    format!("reader {:?} is gone", self.name()),
                )));
            }
            if s.contains(State::PRESENT) == present {
                return Ok(true);
            }
            wait = deadline.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                return Ok(false);
            }
            st[0].sync_current_state();
        }
    }

    fn connect(&mut self) -> Result<(), TransportError> {
        let card = self
            .ctx
            .connect(
                &self.reader,
                ShareMode::Shared,
                Protocols::T0 | Protocols::T1,
            )
            .map_err(transport_error)?;
        self.card = Some(card);
        self.after_power_up()
    }

    fn after_power_up(&mut self) -> Result<(), TransportError> {
        self.fresh = true;
        let Some(card) = &self.card else {
            return Err(TransportError::Other("not connected".into()));
        };
        let st = card.status2_owned().map_err(transport_error)?;
        self.atr = st.atr().to_vec();
        self.protocol = st.protocol2();
        Ok(())
    }

    /// Reconnects with `how`; a handle the card no longer answers on (removed and put
    /// back, docs/virtual-reader.md §6) is dropped and a new connection made.
    fn repower(&mut self, how: Disposition) -> Result<(), TransportError> {
        if let Some(card) = &mut self.card {
            match card.reconnect(ShareMode::Shared, Protocols::T0 | Protocols::T1, how) {
                Ok(()) => return self.after_power_up(),
                Err(
                    pcsc::Error::RemovedCard
                    | pcsc::Error::ResetCard
                    | pcsc::Error::InvalidHandle
                    | pcsc::Error::NoSmartcard
                    | pcsc::Error::NotTransacted
                    | pcsc::Error::UnpoweredCard,
                ) => {}
                Err(e) => return Err(transport_error(e)),
            }
        }
        self.drop_card();
        self.connect()
    }

    fn drop_card(&mut self) {
        if let Some(card) = self.card.take() {
            // the handle may be stale; nothing to do about a failure
            let _ = card.disconnect(Disposition::LeaveCard);
        }
        self.fresh = false;
        self.protocol = None;
    }

    /// After a failed transmit: SCARD_E_NOT_TRANSACTED is all an in-flight exchange gets
    /// when the card goes away; the reader shows EMPTY only after pcscd's next 400 ms
    /// poll (docs/virtual-reader.md §9 pitfall 9). Wait that long to tell removal from muteness.
    fn classify(&mut self, e: pcsc::Error) -> TransportError {
        let ambiguous = matches!(
            e,
            pcsc::Error::NotTransacted | pcsc::Error::CommError | pcsc::Error::UnresponsiveCard
        );
        if ambiguous {
            match self.wait_for_card(false, Duration::from_millis(600)) {
                Ok(true) => {
                    self.drop_card();
                    return TransportError::CardRemoved;
                }
                Err(Error::Transport(t)) => return t,
                _ => {}
            }
        }
        let t = transport_error(e);
        if matches!(
            t,
            TransportError::CardRemoved | TransportError::ReaderUnavailable(_)
        ) {
            self.drop_card();
        }
        t
    }
}

fn pick(names: &[CString], sel: &ReaderSelector) -> Result<CString, Error> {
    let available = || {
        if names.is_empty() {
            "none (is a reader plugged in, or vsmartcard-vpcd installed?)".to_owned()
        } else {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{i}: {}", n.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let not_found = || Error::ReaderNotFound {
        selector: sel.to_string(),
        available: available(),
    };
    match sel {
        ReaderSelector::Index(i) => names.get(*i).cloned().ok_or_else(not_found),
        ReaderSelector::Name(want) => {
            let lossy = |n: &CStr| n.to_string_lossy().into_owned();
            if let Some(n) = names.iter().find(|n| lossy(n) == *want) {
                return Ok(n.clone());
            }
            let w = want.to_lowercase();
            let hits: Vec<&CString> = names
                .iter()
                .filter(|n| lossy(n).to_lowercase().contains(&w))
                .collect();
            match hits.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(not_found()),
                _ => Err(Error::Pcsc {
                    context: "selecting a reader",
                    message: format!("{want:?} matches several readers: {}", available()),
                }),
            }
        }
    }
}

impl Transport for PcscReader {
    fn transmit(&mut self, capdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let Some(card) = &self.card else {
            return Err(TransportError::Other(
                "the card is not powered (power_on first)".into(),
            ));
        };
        match card.transmit(capdu, &mut self.buf) {
            Ok(r) if r.len() >= 2 => {
                self.fresh = false;
                Ok(r.to_vec())
            }
            // vpcd 0.8 reports a card that left mid-exchange as success with no bytes
            // (measured); a reader may do the same for a mute card
            Ok(_) => Err(self.classify(pcsc::Error::NotTransacted)),
            Err(e) => Err(self.classify(e)),
        }
    }

    /// Cold reset (SCardReconnect with SCARD_UNPOWER_CARD), or the power-up of the
    /// connection just made. Returns the ATR.
    fn power_on(&mut self) -> Result<Vec<u8>, TransportError> {
        if self.card.is_none() {
            self.connect()?;
        } else if !self.fresh {
            self.repower(Disposition::UnpowerCard)?;
        }
        Ok(self.atr.clone())
    }

    /// Warm reset (SCARD_RESET_CARD). Returns the ATR.
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        if self.card.is_none() {
            self.connect()?;
        } else {
            self.repower(Disposition::ResetCard)?;
        }
        Ok(self.atr.clone())
    }

    /// Disconnects with SCARD_UNPOWER_CARD.
    fn power_off(&mut self) -> Result<(), TransportError> {
        if let Some(card) = self.card.take() {
            self.fresh = false;
            card.disconnect(Disposition::UnpowerCard)
                .map_err(|(_, e)| transport_error(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<CString> {
        n.iter().map(|s| CString::new(*s).unwrap()).collect()
    }

    #[test]
    fn selectors_parse() {
        assert_eq!("0".parse(), Ok(ReaderSelector::Index(0)));
        assert_eq!("12".parse(), Ok(ReaderSelector::Index(12)));
        assert_eq!("+1".parse(), Ok(ReaderSelector::Name("+1".into())));
        assert_eq!(
            "Virtual PCD 00 01".parse(),
            Ok(ReaderSelector::Name("Virtual PCD 00 01".into()))
        );
    }

    #[test]
    fn readers_are_picked_by_index_exact_name_or_unique_part() {
        let n = names(&["Virtual PCD 00 00", "Virtual PCD 00 01", "ACS ACR39U 00 00"]);
        let p = |s: &str| pick(&n, &s.parse().unwrap()).map(|c| c.into_string().unwrap());
        assert_eq!(p("1").unwrap(), "Virtual PCD 00 01");
        assert_eq!(p("Virtual PCD 00 00").unwrap(), "Virtual PCD 00 00");
        assert_eq!(p("acr39").unwrap(), "ACS ACR39U 00 00");
        assert!(matches!(p("3"), Err(Error::ReaderNotFound { .. })));
        assert!(matches!(p("gemalto"), Err(Error::ReaderNotFound { .. })));
        let e = p("virtual").unwrap_err().to_string();
        assert!(e.contains("several"), "{e}");
        let e = pick(&[], &ReaderSelector::Index(0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none"), "{e}");
    }

    #[test]
    fn pcsc_codes_map_to_transport_errors() {
        use pcsc::Error as E;
        assert_eq!(transport_error(E::RemovedCard), TransportError::CardRemoved);
        assert_eq!(transport_error(E::NoSmartcard), TransportError::NoCard);
        assert!(matches!(
            transport_error(E::SharingViolation),
            TransportError::SharingViolation(_)
        ));
        assert!(matches!(
            transport_error(E::UnresponsiveCard),
            TransportError::CardMute(_)
        ));
        assert!(matches!(
            transport_error(E::ReaderUnavailable),
            TransportError::ReaderUnavailable(_)
        ));
        let TransportError::CardMute(m) = transport_error(E::NotTransacted) else {
            panic!()
        };
        assert!(m.contains("0x80100016"), "{m}");
    }
}
