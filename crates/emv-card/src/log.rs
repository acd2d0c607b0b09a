//! The transaction log (EMV 4.4 Book 3 Annex D; docs/emv.md §9.4). A profile that gives
//! the application a Log Entry (9F4D: the log's SFI, 11–30, and how many records it
//! keeps) and a Log Format (9F4F, a DOL) gets a cyclic log file: the FCI carries the Log
//! Entry in its FCI Issuer Discretionary Data (BF0C), every GENERATE AC that ends a
//! transaction (a TC or AAC) adds a record, and READ RECORD on that SFI returns them,
//! record 1 the most recent. A record is the values the Log Format names, concatenated
//! without tags or lengths (Annex D), built by the DOL rules of Book 3 §5.4 from the
//! terminal's CDOL data and the card's own data; what neither has is zeros. The records
//! are part of the persistent state, written with the GENERATE AC's other changes.

use emv_tlv::bits::AcType;
use emv_tlv::{Dol, Tag};

use crate::Card;
use crate::store::CardStore;

/// A Log Entry (9F4D) as the personalisation checked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    /// The log's short file identifier (11–30: Book 3 Annex D, the SFIs of files the
    /// terminal reads outside the AFL).
    pub sfi: u8,
    /// How many records the cyclic file keeps (1–255).
    pub records: u8,
}

impl LogEntry {
    /// Reads a 9F4D value: `SFI ‖ number of records`.
    pub fn parse(value: &[u8]) -> Result<Self, String> {
        let [sfi, records] = <[u8; 2]>::try_from(value)
            .map_err(|_| format!("{} bytes; a Log Entry is 2 (SFI, records)", value.len()))?;
        if !(11..=30).contains(&sfi) {
            return Err(format!("SFI {sfi} is not 11–30 (EMV 4.4 Book 3 Annex D)"));
        }
        if records == 0 {
            return Err("a log of 0 records".into());
        }
        Ok(Self { sfi, records })
    }
}

impl<S: CardStore> Card<S> {
    /// Adds the record of a transaction that ended with `result` to application `i`'s
    /// log (if it has one): newest first, the oldest dropped once the file is full. The
    /// caller makes it durable with the rest of the GENERATE AC.
    pub(crate) fn log_transaction(
        &mut self,
        i: usize,
        result: AcType,
        terminal: &[(u32, Vec<u8>)],
    ) {
        let app = &self.perso.apps[i];
        let (Some(entry), Some(format)) = (app.log_entry, app.log_format.as_ref()) else {
            return;
        };
        let cid = [result.bits()];
        let atc = self.state.atc.to_be_bytes();
        let ptc = [self.state.pin_try_counter];
        let last_online = self.state.last_online_atc.to_be_bytes();
        let record = format.build(|tag: Tag| {
            let t = tag.value();
            if let Some((_, v)) = terminal.iter().find(|(x, _)| *x == t) {
                return Some(v.as_slice());
            }
            match t {
                0x9F27 => Some(&cid[..]),
                0x9F36 => Some(&atc[..]),
                0x9F17 => Some(&ptc[..]),
                0x9F13 => Some(&last_online[..]),
                0x82 => Some(&app.aip[..]),
                _ => app.get(t),
            }
        });
        let log = self
            .state
            .transaction_log
            .entry(hex::encode_upper(&app.aid))
            .or_default();
        log.insert(0, hex::encode_upper(record));
        log.truncate(usize::from(entry.records));
    }

    /// Record `record` (1 = the most recent) of application `i`'s log, if it exists.
    pub(crate) fn log_record(&self, i: usize, record: u8) -> Option<Vec<u8>> {
        let app = &self.perso.apps[i];
        let log = self
            .state
            .transaction_log
            .get(&hex::encode_upper(&app.aid))?;
        let hex_record = log.get(usize::from(record).checked_sub(1)?)?;
        hex::decode(hex_record).ok()
    }
}

/// The Log Format's DOL, when the application has a Log Entry.
pub(crate) fn log_format(data: &std::collections::BTreeMap<u32, Vec<u8>>) -> Option<Dol> {
    data.get(&0x9F4F).and_then(|v| Dol::parse(v).ok())
}
