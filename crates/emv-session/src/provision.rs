//! The issuer host's view of a card, taken from the same card profile the software card is
//! personalised from (docs/issuer-host.md §1: cards are provisioned from the same card
//! profiles as the software card, so that a card and the host agree out of the box).

use emv_card::Personalisation;
use emv_host::keys::Secret;
use emv_host::{CardProvision, CardRef, CardStatus, PinVerificationMethod, Plastic};

use crate::SessionError;

/// The provisioning record of the card personalised as `perso`: PAN, PSN, expiry, CVN,
/// issuer master keys, the personalisation PIN (turned into verification data by the host
/// and dropped), the `[host]` section (online PIN try limit, verification method, balance,
/// plastics) and the chip's PIN Try Limit.
pub fn card_provision(perso: &Personalisation) -> Result<CardProvision, SessionError> {
    let src = &perso.source;
    let bad = |reason: String| SessionError::Provision {
        profile: perso.name.clone(),
        reason,
    };
    let pin_verification: PinVerificationMethod =
        src.host.pin_verification.parse().map_err(|_| {
            bad(format!(
                "[host] pin_verification {:?}: expected pvv, ibm3624 or encrypted",
                src.host.pin_verification
            ))
        })?;
    // Application Currency Code (9F42, n3) and Exponent (9F44): EMV 4.4 Book 3 Annex A.
    let currency = match src.data.get("9F42") {
        Some(h) => h
            .trim()
            .parse::<u16>()
            .map_err(|_| bad(format!("[data] 9F42 {h:?} is not a numeric currency code")))?,
        None => 978,
    };
    let exponent = match src.data.get("9F44") {
        Some(h) => h
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|e| *e <= 3)
            .ok_or_else(|| bad(format!("[data] 9F44 {h:?} is not a currency exponent 0-3")))?,
        None => 2,
    };
    let open_to_buy = parse_amount(&src.host.balance, exponent)
        .map_err(|e| bad(format!("[host] balance: {e}")))?;
    let plastics = src
        .host
        .plastics
        .iter()
        .map(|p| {
            Ok(Plastic {
                plastic_id: p.id.clone(),
                expiry: p.expiry.clone(),
                status: p.status.parse().map_err(|_| {
                    bad(format!(
                        "plastic {}: status {:?} is not one of ACTIVE, INACTIVE, LOST, STOLEN, REPLACED",
                        p.id, p.status
                    ))
                })?,
            })
        })
        .collect::<Result<Vec<_>, SessionError>>()?;
    let provision = CardProvision {
        pan: perso.pan.clone(),
        psn: perso.psn.clone(),
        expiry: perso.expiry.clone(),
        cvn: perso.cvn,
        imk_ac: Secret::new(src.keys.imk_ac.clone()),
        imk_smi: Secret::new(src.keys.imk_smi.clone()),
        imk_smc: Secret::new(src.keys.imk_smc.clone()),
        pin: Secret::new(src.card.pin.clone()),
        pin_verification,
        pvki: None,
        view_pin: src.host.view_pin,
        online_pin_try_limit: src.host.online_pin_try_limit,
        offline_pin_try_limit: perso.pin_try_limit,
        open_to_buy,
        currency,
        status: CardStatus::Active,
        plastics,
    };
    provision.validate().map_err(|e| bad(e.to_string()))?;
    Ok(provision)
}

/// The host's reference to the card personalised as `perso`.
pub fn card_ref(perso: &Personalisation) -> CardRef {
    CardRef::new(perso.pan.clone(), Some(&perso.psn))
}

/// An amount in major units (`"12.34"`, `"12"`, `"0.5"`) as minor units with `exponent`
/// decimals. No sign, no thousands separators, at most `exponent` decimals.
pub fn parse_amount(text: &str, exponent: u32) -> Result<u64, String> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (t.contains('.') && !digits(frac)) {
        return Err(format!("{text:?} is not an amount such as 12.34"));
    }
    if frac.len() > exponent as usize {
        return Err(format!(
            "{text:?} has more than {exponent} decimal(s) for this currency"
        ));
    }
    let scale = 10u64.pow(exponent);
    let w: u64 = whole
        .parse()
        .map_err(|_| format!("{text:?} is too large"))?;
    let f: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = exponent as usize)
            .parse()
            .map_err(|_| format!("{text:?} is not an amount"))?
    };
    w.checked_mul(scale)
        .and_then(|m| m.checked_add(f))
        // Amount, Authorised is n12 (Book 3 Annex A): at most 999 999 999 999 minor units.
        .filter(|v| *v <= 999_999_999_999)
        .ok_or_else(|| format!("{text:?} is larger than the 12 digits of Amount, Authorised"))
}

/// Minor units as major units with `exponent` decimals (`1234`, 2 → `"12.34"`).
pub fn format_amount(minor: u64, exponent: u32) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(exponent);
    format!(
        "{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = exponent as usize
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn amounts_parse_in_minor_units() {
        assert_eq!(parse_amount("12.34", 2), Ok(1234));
        assert_eq!(parse_amount("12.3", 2), Ok(1230));
        assert_eq!(parse_amount("12", 2), Ok(1200));
        assert_eq!(parse_amount("0.05", 2), Ok(5));
        assert_eq!(parse_amount("7", 0), Ok(7));
        assert_eq!(parse_amount("9999999999.99", 2), Ok(999_999_999_999));
        for bad in [
            "",
            "-1",
            "1.234",
            "1,00",
            "1.",
            ".5",
            "abc",
            "10000000000.00",
        ] {
            assert!(parse_amount(bad, 2).is_err(), "{bad:?} accepted");
        }
        assert_eq!(format_amount(1234, 2), "12.34");
        assert_eq!(format_amount(5, 2), "0.05");
        assert_eq!(format_amount(5, 0), "5");
    }

    #[test]
    fn every_card_profile_provisions_the_host() {
        let keys = emv_host::HostKeys::load_test_keys().unwrap();
        let issuer = emv_host::Issuer::in_memory(keys).unwrap();
        let names = emv_card::profile::available_profiles();
        assert!(names.len() >= 5, "{names:?}");
        for name in names {
            let perso = Personalisation::load(&name, &[]).unwrap();
            let p = card_provision(&perso).unwrap();
            assert_eq!(p.pan, perso.pan);
            assert_eq!(p.offline_pin_try_limit, perso.pin_try_limit);
            issuer.provision(&p, false).unwrap();
            let view = issuer.card_status(&card_ref(&perso)).unwrap();
            assert_eq!(
                view.online_pin_tries_left,
                perso.source.host.online_pin_try_limit
            );
            assert_eq!(
                view.plastics.len(),
                perso.source.host.plastics.len(),
                "{name}"
            );
            // docs/pin.md §7: every built-in card whose plastics offer View PIN can show
            // its PIN from the start, whatever its verification method
            assert!(perso.source.host.view_pin, "{name}");
            assert!(view.view_pin, "{name}: View PIN cannot show the PIN");
            assert_eq!(
                issuer.reveal_pin(&card_ref(&perso), "test").unwrap(),
                emv_crypto::Pin::new(&perso.source.card.pin).unwrap(),
                "{name}"
            );
        }
    }
}
