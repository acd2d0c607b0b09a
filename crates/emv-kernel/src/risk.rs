//! Terminal risk management: EMV 4.4 Book 3 §10.6 (floor limit §10.6.1, random
//! transaction selection §10.6.2, velocity checking §10.6.3) and the new card check.

use emv_apdu::{Transport, commands};
use emv_auth::Host;
use emv_tlv::bits::{Aip, Tsi, Tvr};
use emv_tlv::{Tag, tags};

use crate::error::KernelError;
use crate::event::{Stage, Topic};
use crate::kernel::Transaction;
use crate::pinpad::PinPad;
use crate::util::decimal;

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    /// Terminal risk management (Book 3 §10.6), performed when the AIP asks for it
    /// (byte 1 bit 4); sets TVR byte 4 (and byte 2 "New card") and TSI byte 1 bit 4.
    pub fn terminal_risk_management(&mut self) -> Result<(), KernelError> {
        self.enter(Stage::TerminalRiskManagement);
        if self.params.merchant_forced_online {
            self.set_tvr(
                Tvr::MERCHANT_FORCED_ONLINE,
                Topic::RiskManagement,
                None,
                "merchant forced the transaction online",
            );
        }
        if !self.aip.is_set(Aip::TERMINAL_RISK_MANAGEMENT) {
            self.decide_per(
                Topic::RiskManagement,
                "Book 3 §10.6",
                "AIP: terminal risk management not requested",
            );
            return Ok(());
        }
        let amount = self.params.amount;
        let floor = self.profile.floor_limit;
        let e = self.profile.currency_exponent;
        let (shown, limit) = (decimal(amount, e), decimal(floor, e));
        // Book 3 §10.6.1: amount (this transaction; no transaction log) ≥ floor limit
        if amount >= floor {
            self.set_tvr(
                Tvr::FLOOR_LIMIT_EXCEEDED,
                Topic::RiskManagement,
                Some("Book 3 §10.6.1"),
                &format!("floor limit check: amount {shown} ≥ floor limit {limit}"),
            );
        } else {
            self.decide_per(
                Topic::RiskManagement,
                "Book 3 §10.6.1",
                format!(
                    "floor limit check: amount {shown} < floor limit {limit}: TVR byte 4 bit 8 \
                     \"Transaction exceeds floor limit\" stays clear"
                ),
            );
        }
        self.random_selection(amount, floor);
        self.velocity_checking()?;
        self.set_tsi(Tsi::TERMINAL_RISK_MANAGEMENT_PERFORMED);
        Ok(())
    }

    /// Book 3 §10.6.2: below the threshold the transaction is selected when a random
    /// number 1-99 is ≤ the target percentage; between threshold and floor limit the
    /// percentage grows linearly to the maximum target percentage; offline-only terminals
    /// do not perform it; at or above the floor limit it is not needed.
    fn random_selection(&mut self, amount: u64, floor: u64) {
        let Some(rs) = self.profile.random_selection else {
            return;
        };
        if self.profile.terminal_type.is_offline_only() || amount >= floor {
            return;
        }
        let percent = if amount < rs.threshold {
            u64::from(rs.target_percent)
        } else {
            let span = floor.saturating_sub(rs.threshold).max(1);
            let spread = u64::from(rs.max_target_percent.saturating_sub(rs.target_percent));
            u64::from(rs.target_percent) + spread * (amount - rs.threshold) / span
        };
        let draw = u64::from(self.rng.percent());
        if draw <= percent {
            self.set_tvr(
                Tvr::RANDOMLY_SELECTED_ONLINE,
                Topic::RiskManagement,
                Some("Book 3 §10.6.2"),
                &format!("random number {draw} ≤ transaction target percentage {percent}"),
            );
        } else {
            self.decide_per(
                Topic::RiskManagement,
                "Book 3 §10.6.2",
                format!("random selection: {draw} > target percentage {percent}, not selected"),
            );
        }
    }

    /// Book 3 §10.6.3: with both consecutive offline limits on the card, read the ATC and
    /// the Last Online ATC Register; if either cannot be read set both limit bits; compare
    /// ATC − last online ATC with the limits; a last online ATC of 0 means a new card.
    fn velocity_checking(&mut self) -> Result<(), KernelError> {
        if !self.profile.velocity_checking {
            return Ok(());
        }
        let lower = self
            .data
            .icc(tags::LOWER_CONSECUTIVE_OFFLINE_LIMIT)
            .map(<[u8]>::to_vec);
        let upper = self
            .data
            .icc(tags::UPPER_CONSECUTIVE_OFFLINE_LIMIT)
            .map(<[u8]>::to_vec);
        let (Some([lower]), Some([upper])) = (lower.as_deref(), upper.as_deref()) else {
            self.decide_per(
                Topic::RiskManagement,
                "Book 3 §10.6.3",
                "no consecutive offline limits (9F14/9F23) on the card: no velocity checking",
            );
            return Ok(());
        };
        let (lower, upper) = (*lower, *upper);
        let atc = self.get_data_u16(tags::ATC)?;
        let last_online = self.get_data_u16(tags::LAST_ONLINE_ATC_REGISTER)?;
        let (Some(atc), Some(last_online)) = (atc, last_online) else {
            self.set_tvr(
                Tvr::LOWER_CONSECUTIVE_OFFLINE_LIMIT_EXCEEDED,
                Topic::RiskManagement,
                Some("Book 3 §10.6.3"),
                "ATC or Last Online ATC Register not returned",
            );
            self.set_tvr(
                Tvr::UPPER_CONSECUTIVE_OFFLINE_LIMIT_EXCEEDED,
                Topic::RiskManagement,
                Some("Book 3 §10.6.3"),
                "ATC or Last Online ATC Register not returned",
            );
            return Ok(());
        };
        let offline = atc.saturating_sub(last_online);
        self.decide(Topic::RiskManagement, format!(
            "ATC {atc}, last online ATC {last_online}: {offline} offline since; limits {lower}/{upper}"
        ));
        if offline > u16::from(lower) {
            self.set_tvr(
                Tvr::LOWER_CONSECUTIVE_OFFLINE_LIMIT_EXCEEDED,
                Topic::RiskManagement,
                Some("Book 3 §10.6.3"),
                &format!("{offline} > lower consecutive offline limit {lower}"),
            );
        }
        if offline > u16::from(upper) {
            self.set_tvr(
                Tvr::UPPER_CONSECUTIVE_OFFLINE_LIMIT_EXCEEDED,
                Topic::RiskManagement,
                Some("Book 3 §10.6.3"),
                &format!("{offline} > upper consecutive offline limit {upper}"),
            );
        }
        if last_online == 0 {
            self.set_tvr(
                Tvr::NEW_CARD,
                Topic::RiskManagement,
                Some("Book 3 §10.6.3"),
                "Last Online ATC Register is 0",
            );
        }
        Ok(())
    }

    /// GET DATA of a 2-byte counter; `None` if the card does not return it as `tag 02 xxxx`.
    pub(crate) fn get_data_u16(&mut self, tag: Tag) -> Result<Option<u16>, KernelError> {
        let resp = self.send(&commands::get_data(u16::try_from(tag.value()).unwrap_or(0)))?;
        if !resp.sw.is_success() {
            return Ok(None);
        }
        Ok(emv_tlv::parse_one(&resp.data)
            .ok()
            .filter(|t| t.tag() == tag)
            .and_then(|t| match t.value() {
                [a, b] => Some(u16::from_be_bytes([*a, *b])),
                _ => None,
            }))
    }
}
