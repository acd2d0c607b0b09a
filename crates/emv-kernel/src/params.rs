//! What the merchant (or the ATM) tells the kernel about one transaction.

use emv_auth::TransactionType;

use crate::error::KernelError;
use crate::util::to_bcd;

/// A transaction date (tag 9A). Years 2000-2049 (EMV's `YY` window, Book 4 §6.7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionDate {
    /// Four-digit year, 2000..=2049.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day, 1..=31.
    pub day: u8,
}

impl TransactionDate {
    /// A checked date.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, KernelError> {
        if !(2000..=2049).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day)
        {
            return Err(KernelError::Params(format!(
                "date {year:04}-{month:02}-{day:02} is not a date between 2000-01-01 and 2049-12-31"
            )));
        }
        Ok(Self { year, month, day })
    }

    /// Parse `YYYY-MM-DD` or `YYMMDD`.
    pub fn parse(s: &str) -> Result<Self, KernelError> {
        let bad = || KernelError::Params(format!("date {s:?}: expected YYYY-MM-DD or YYMMDD"));
        let digits: String = s.chars().filter(|c| *c != '-').collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let num = |r: core::ops::Range<usize>| digits.get(r).and_then(|d| d.parse::<u16>().ok());
        let (y, m, d) = match digits.len() {
            8 if s.len() == 10 => (num(0..4), num(4..6), num(6..8)),
            6 if s.len() == 6 => (num(0..2).map(|y| 2000 + y), num(2..4), num(4..6)),
            _ => return Err(bad()),
        };
        match (y, m, d) {
            (Some(y), Some(m), Some(d)) => Self::new(y, m as u8, d as u8),
            _ => Err(bad()),
        }
    }

    /// `YYMMDD` in BCD (tag 9A).
    pub fn to_bcd(self) -> [u8; 3] {
        let b = |v: u16| (((v / 10) % 10) as u8) << 4 | (v % 10) as u8;
        [
            b(self.year % 100),
            b(u16::from(self.month)),
            b(u16::from(self.day)),
        ]
    }
}

/// A transaction time (tag 9F21, `HHMMSS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransactionTime {
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// Second, 0..=59.
    pub second: u8,
}

impl TransactionTime {
    /// `HHMMSS` in BCD (tag 9F21).
    pub fn to_bcd(self) -> [u8; 3] {
        let b = |v: u8| ((v / 10) % 10) << 4 | (v % 10);
        [b(self.hour), b(self.minute), b(self.second)]
    }
}

/// The parameters of one transaction. Together with the terminal profile, the kernel
/// configuration and the card, they fully determine the APDUs: the date, the time and the
/// random seed are inputs, never read from a clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionParams {
    /// Amount, Authorised (9F02, 81) in minor units of the terminal currency; includes any
    /// cashback.
    pub amount: u64,
    /// Amount, Other (9F03, 9F04): the cashback part.
    pub amount_other: u64,
    /// Transaction type (9C).
    pub transaction_type: TransactionType,
    /// Transaction date (9A).
    pub date: TransactionDate,
    /// Transaction time (9F21).
    pub time: TransactionTime,
    /// Seed of the kernel's random source (Unpredictable Number, random selection,
    /// enciphered PIN padding).
    pub seed: u64,
    /// Forces the Unpredictable Number (9F37) instead of drawing it from the seed.
    pub unpredictable_number: Option<[u8; 4]>,
    /// Transaction Sequence Counter (9F41) and system trace audit number of the request.
    pub stan: u32,
    /// The merchant forces the transaction online (TVR byte 4 bit 4, Book 4 §6.3.6).
    pub merchant_forced_online: bool,
}

impl Default for TransactionParams {
    fn default() -> Self {
        TransactionParams {
            amount: 0,
            amount_other: 0,
            transaction_type: TransactionType::Purchase,
            date: TransactionDate {
                year: 2026,
                month: 1,
                day: 15,
            },
            time: TransactionTime {
                hour: 12,
                minute: 0,
                second: 0,
            },
            seed: 0,
            unpredictable_number: None,
            stan: 1,
            merchant_forced_online: false,
        }
    }
}

impl TransactionParams {
    /// A purchase of `amount` minor units with the default date (2026-01-15 12:00:00) and
    /// seed 0.
    pub fn purchase(amount: u64) -> Self {
        TransactionParams {
            amount,
            ..Self::default()
        }
    }

    /// Checks the amounts fit their fields (n12) and Amount, Other ≤ Amount, Authorised
    /// (Book 4 §6.5.6: the authorised amount includes the cashback).
    pub fn validate(&self) -> Result<(), KernelError> {
        if to_bcd(self.amount, 6).is_none() {
            return Err(KernelError::Params(format!(
                "amount {} does not fit n12",
                self.amount
            )));
        }
        if self.amount_other > self.amount {
            return Err(KernelError::Params(format!(
                "amount other {} is larger than the amount {} (which includes it)",
                self.amount_other, self.amount
            )));
        }
        TransactionDate::new(self.date.year, self.date.month, self.date.day)?;
        if self.time.hour > 23 || self.time.minute > 59 || self.time.second > 59 {
            return Err(KernelError::Params("time is not HH:MM:SS".into()));
        }
        Ok(())
    }

    /// Cash (9C 01): ATM withdrawal or manual cash.
    pub fn is_cash(&self) -> bool {
        self.transaction_type == TransactionType::Cash
    }

    /// Purchase with cashback: 9C 09, or a purchase with an Amount, Other (Book 3 Annex C3
    /// condition 05; docs/emv.md §2.3, §8.4).
    pub fn is_cashback(&self) -> bool {
        self.transaction_type == TransactionType::Cashback
            || (self.transaction_type == TransactionType::Purchase && self.amount_other > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            TransactionDate::parse("2026-03-09").unwrap().to_bcd(),
            [0x26, 0x03, 0x09]
        );
        assert_eq!(
            TransactionDate::parse("261231").unwrap(),
            TransactionDate::new(2026, 12, 31).unwrap()
        );
        assert!(TransactionDate::parse("2026-13-01").is_err());
        assert!(TransactionDate::parse("20260101x").is_err());
        let t = TransactionTime {
            hour: 9,
            minute: 5,
            second: 59,
        };
        assert_eq!(t.to_bcd(), [0x09, 0x05, 0x59]);
    }

    #[test]
    fn validation() {
        let mut p = TransactionParams::purchase(1000);
        assert!(p.validate().is_ok());
        p.amount_other = 2000;
        assert!(p.validate().is_err());
        p.amount_other = 500;
        assert!(p.is_cashback());
        assert!(
            TransactionParams::purchase(1_000_000_000_000)
                .validate()
                .is_err()
        );
    }
}
