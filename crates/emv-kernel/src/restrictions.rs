//! Processing restrictions: EMV 4.4 Book 3 §10.4 (application version, Application Usage
//! Control, effective and expiration dates).

use emv_apdu::Transport;
use emv_auth::{Host, TransactionType};
use emv_tlv::bits::{AdditionalTerminalCapabilities as Atc, Auc, Tvr};
use emv_tlv::tags;

use crate::error::KernelError;
use crate::event::{Stage, Topic};
use crate::kernel::Transaction;
use crate::pinpad::PinPad;
use crate::util::{hex, yymmdd};

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    /// Processing restrictions (Book 3 §10.4); sets TVR byte 2 bits, never terminates.
    pub fn processing_restrictions(&mut self) -> Result<(), KernelError> {
        self.enter(Stage::ProcessingRestrictions);
        self.check_application_version();
        self.check_usage_control();
        self.check_dates();
        Ok(())
    }

    /// Book 3 §10.4.1: if the card has an Application Version Number (9F08) and it differs
    /// from the terminal's (9F09), set "ICC and terminal have different application
    /// versions"; if the card has none, no check.
    fn check_application_version(&mut self) {
        let card = self
            .data
            .icc(tags::APPLICATION_VERSION_NUMBER)
            .map(<[u8]>::to_vec);
        let terminal = self
            .data
            .terminal(tags::APPLICATION_VERSION_NUMBER_TERMINAL)
            .map(<[u8]>::to_vec);
        match (card, terminal) {
            (Some(c), Some(t)) if c != t => self.set_tvr(
                Tvr::VERSIONS_DIFFER,
                Topic::Restrictions,
                Some("Book 3 §10.4.1"),
                &format!("card version {} ≠ terminal {}", hex(&c), hex(&t)),
            ),
            (Some(_), Some(_)) => self.decide_per(
                Topic::Restrictions,
                "Book 3 §10.4.1",
                "application versions match",
            ),
            _ => self.decide_per(
                Topic::Restrictions,
                "Book 3 §10.4.1",
                "no Application Version Number on the card: not checked",
            ),
        }
    }

    /// Book 3 §10.4.2: Application Usage Control against the terminal (ATM or not) and the
    /// transaction (domestic/international from 5F28 vs 9F1A; cash, goods, services,
    /// cashback).
    fn check_usage_control(&mut self) {
        let Some(auc) = self.data.icc(tags::AUC).and_then(Auc::from_slice) else {
            self.decide_per(
                Topic::Restrictions,
                "Book 3 §10.4.2",
                "no Application Usage Control: not checked",
            );
            return;
        };
        let mut refused: Vec<&str> = Vec::new();
        if self.profile.is_atm() {
            if !auc.is_set(Auc::ATMS) {
                refused.push("not valid at ATMs");
            }
        } else if !auc.is_set(Auc::NON_ATM_TERMINALS) {
            refused.push("not valid at terminals other than ATMs");
        }
        let issuer_country = self.data.icc(tags::ISSUER_COUNTRY_CODE).map(<[u8]>::to_vec);
        let terminal_country = self
            .data
            .terminal(tags::TERMINAL_COUNTRY_CODE)
            .map(<[u8]>::to_vec);
        if let (Some(ic), Some(tc)) = (issuer_country, terminal_country) {
            let domestic = ic == tc;
            let atc = self.profile.additional_capabilities;
            let pick = |d, i| if domestic { d } else { i };
            let say = |d: &'static str, i: &'static str| if domestic { d } else { i };
            match self.params.transaction_type {
                TransactionType::Cash => {
                    if !auc.is_set(pick(Auc::DOMESTIC_CASH, Auc::INTERNATIONAL_CASH)) {
                        refused.push(say(
                            "not valid for domestic cash",
                            "not valid for international cash",
                        ));
                    }
                }
                TransactionType::Purchase | TransactionType::Cashback => {
                    // goods or services, as the terminal sells them (9F40)
                    let goods = atc.is_set(Atc::GOODS)
                        && auc.is_set(pick(Auc::DOMESTIC_GOODS, Auc::INTERNATIONAL_GOODS));
                    let services = atc.is_set(Atc::SERVICES)
                        && auc.is_set(pick(Auc::DOMESTIC_SERVICES, Auc::INTERNATIONAL_SERVICES));
                    if !goods && !services {
                        refused.push(say(
                            "not valid for domestic goods or services",
                            "not valid for international goods or services",
                        ));
                    }
                    if self.params.is_cashback()
                        && !auc.is_set(pick(Auc::DOMESTIC_CASHBACK, Auc::INTERNATIONAL_CASHBACK))
                    {
                        refused.push(say(
                            "domestic cashback not allowed",
                            "international cashback not allowed",
                        ));
                    }
                }
                TransactionType::Refund => {}
            }
        }
        if refused.is_empty() {
            self.decide_per(
                Topic::Restrictions,
                "Book 3 §10.4.2",
                format!("usage control {} allows the transaction", auc.to_hex()),
            );
        } else {
            let why = format!(
                "usage control {}: {} (Book 3 §10.4.2)",
                auc.to_hex(),
                refused.join(", ")
            );
            self.set_tvr(Tvr::SERVICE_NOT_ALLOWED, Topic::Restrictions, None, &why);
        }
    }

    /// Book 3 §10.4.3: effective date after today → "not yet effective"; expiration date
    /// before today → "expired application".
    fn check_dates(&mut self) {
        let today = {
            let d = self.params.date;
            (d.year, d.month, d.day)
        };
        if let Some(v) = self.data.icc(tags::EFFECTIVE_DATE).map(<[u8]>::to_vec) {
            match yymmdd(&v) {
                Some(eff) if eff > today => self.set_tvr(
                    Tvr::NOT_YET_EFFECTIVE,
                    Topic::Restrictions,
                    Some("Book 3 §10.4.3"),
                    &format!("effective date {} is after today", hex(&v)),
                ),
                Some(_) => {}
                None => self.set_tvr(
                    Tvr::NOT_YET_EFFECTIVE,
                    Topic::Restrictions,
                    Some("Book 3 §10.4.3"),
                    &format!("effective date {} is not a date", hex(&v)),
                ),
            }
        }
        if let Some(v) = self.data.icc(tags::EXPIRY_DATE).map(<[u8]>::to_vec) {
            match yymmdd(&v) {
                Some(exp) if exp < today => self.set_tvr(
                    Tvr::EXPIRED_APPLICATION,
                    Topic::Restrictions,
                    Some("Book 3 §10.4.3"),
                    &format!("expiration date {} is before today", hex(&v)),
                ),
                Some(_) => {}
                None => self.set_tvr(
                    Tvr::EXPIRED_APPLICATION,
                    Topic::Restrictions,
                    Some("Book 3 §10.4.3"),
                    &format!("expiration date {} is not a date", hex(&v)),
                ),
            }
        }
    }
}
