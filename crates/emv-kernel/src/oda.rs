//! Offline data authentication: EMV 4.4 Book 3 §10.3, Book 2 §5 (SDA), §6.5 (DDA), §6.6
//! (CDA; the signature itself is checked with the GENERATE AC answer in `action`).

use emv_apdu::{Transport, commands};
use emv_auth::Host;
use emv_crypto::CryptoError;
use emv_crypto::oda::{self, RsaPublicKey, YearMonth};
use emv_tlv::bits::{Aip, TerminalCapabilities, Tsi, Tvr};
use emv_tlv::{Dol, Tag, tags};

use crate::error::KernelError;
use crate::event::{Stage, Topic};
use crate::kernel::{Cda, OdaMethod, Transaction};
use crate::pinpad::PinPad;
use crate::util::hex;

/// Why ODA failed: `missing` sets "ICC data missing" as well (Book 3 §10.3).
pub(crate) struct OdaFailure {
    pub missing: bool,
    pub reason: String,
    /// The card stopped communicating (removed, mute, no status word): not an ODA
    /// failure but the end of the card session, so the transaction terminates.
    pub card_lost: Option<KernelError>,
}

impl OdaFailure {
    fn missing(what: &str) -> Self {
        OdaFailure {
            missing: true,
            reason: format!("{what} missing"),
            card_lost: None,
        }
    }

    fn failed(reason: impl Into<String>) -> Self {
        OdaFailure {
            missing: false,
            reason: reason.into(),
            card_lost: None,
        }
    }
}

impl From<CryptoError> for OdaFailure {
    fn from(e: CryptoError) -> Self {
        OdaFailure {
            missing: matches!(e, CryptoError::OdaRemainderMissing { .. }),
            reason: e.to_string(),
            card_lost: None,
        }
    }
}

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    /// Chooses and performs offline data authentication (Book 3 §10.3): CDA if card and
    /// terminal support it, else DDA, else SDA, else "ODA was not performed".
    pub fn offline_data_authentication(&mut self) -> Result<(), KernelError> {
        self.enter(Stage::OfflineDataAuthentication);
        let caps = self.profile.capabilities;
        let aip = self.aip;
        self.oda_method =
            if aip.is_set(Aip::CDA_SUPPORTED) && caps.is_set(TerminalCapabilities::CDA) {
                OdaMethod::Cda
            } else if aip.is_set(Aip::DDA_SUPPORTED) && caps.is_set(TerminalCapabilities::DDA) {
                OdaMethod::Dda
            } else if aip.is_set(Aip::SDA_SUPPORTED) && caps.is_set(TerminalCapabilities::SDA) {
                OdaMethod::Sda
            } else {
                OdaMethod::None
            };
        match self.oda_method {
            OdaMethod::None => {
                self.set_tvr(
                    Tvr::ODA_NOT_PERFORMED,
                    Topic::DataAuthentication,
                    Some("Book 3 §10.3"),
                    "card and terminal share no ODA method",
                );
            }
            OdaMethod::Sda => {
                // Book 3 §10.3 (EMV 4.3 onwards): 'SDA selected' when SDA is performed
                self.set_tvr(
                    Tvr::SDA_SELECTED,
                    Topic::DataAuthentication,
                    Some("Book 3 §10.3"),
                    "SDA is performed",
                );
                self.set_tsi(Tsi::ODA_PERFORMED);
                match self.sda() {
                    Ok(()) => {
                        self.decide_per(Topic::DataAuthentication, "Book 2 §5", "SDA successful")
                    }
                    Err(f) => self.oda_failed(Tvr::SDA_FAILED, f),
                }
            }
            OdaMethod::Dda => {
                self.set_tsi(Tsi::ODA_PERFORMED);
                match self.dda() {
                    Ok(()) => {
                        self.decide_per(Topic::DataAuthentication, "Book 2 §6.5", "DDA successful")
                    }
                    // EMV Book 1 §6.1 (card session): a card that is removed or no longer
                    // answers ends the card session, and the transaction with it. Book 2
                    // §6.5's "DDA failed" is about the card's answer to INTERNAL
                    // AUTHENTICATE (status word, data, signature), not about a card that
                    // gave none: going on would send the next commands to a card that is
                    // gone and name the wrong stage as the one that failed.
                    Err(OdaFailure {
                        card_lost: Some(e), ..
                    }) => return Err(e),
                    Err(f) => self.oda_failed(Tvr::DDA_FAILED, f),
                }
            }
            OdaMethod::Cda => {
                // Book 2 §6.6: the keys are recovered now, the signature is checked with the
                // GENERATE AC response.
                self.set_tsi(Tsi::ODA_PERFORMED);
                match self.recover_icc_key() {
                    Ok(()) => {
                        self.cda = Cda::Ready;
                        self.decide_per(
                            Topic::DataAuthentication,
                            "Book 2 §6.6",
                            "CDA selected: ICC public key recovered",
                        );
                    }
                    Err(f) => self.oda_failed(Tvr::CDA_FAILED, f),
                }
            }
        }
        Ok(())
    }

    fn oda_failed(&mut self, bit: emv_tlv::bits::Bit, f: OdaFailure) {
        if f.missing {
            self.set_tvr(
                Tvr::ICC_DATA_MISSING,
                Topic::DataAuthentication,
                None,
                &f.reason,
            );
        }
        let why = format!("{} (Book 3 §10.3)", f.reason);
        self.set_tvr(bit, Topic::DataAuthentication, None, &why);
    }

    fn today(&self) -> Result<YearMonth, OdaFailure> {
        YearMonth::from_transaction_date(&self.params.date.to_bcd())
            .map_err(|e| OdaFailure::failed(e.to_string()))
    }

    fn need(&self, tag: Tag, name: &str) -> Result<Vec<u8>, OdaFailure> {
        self.data
            .icc(tag)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| OdaFailure::missing(&format!("{name} ({tag})")))
    }

    /// Static Data to be Authenticated (Book 3 §10.3): the ODA records, then the AIP if the
    /// SDA Tag List (9F4A) names it; any other tag in 9F4A fails ODA.
    fn static_data(&self) -> Result<Vec<u8>, OdaFailure> {
        let mut out = self.oda_data.clone();
        if let Some(list) = self.data.icc(tags::SDA_TAG_LIST) {
            if list != [0x82] {
                return Err(OdaFailure::failed(format!(
                    "SDA Tag List {} names more than the AIP",
                    hex(list)
                )));
            }
            out.extend_from_slice(&self.aip.0);
        }
        Ok(out)
    }

    /// Recovers the Issuer Public Key (Book 2 §5.3) with the CA key named by the RID of the
    /// selected AID and 8F.
    pub(crate) fn recover_issuer_key(&mut self) -> Result<RsaPublicKey, OdaFailure> {
        if let Some(k) = &self.issuer_key {
            return Ok(k.clone());
        }
        let index = self.need(tags::CA_PUBLIC_KEY_INDEX, "CA Public Key Index")?;
        let [index] = index.as_slice() else {
            return Err(OdaFailure::failed("CA Public Key Index is not one byte"));
        };
        let aid = self
            .data
            .icc(tags::DF_NAME)
            .map(<[u8]>::to_vec)
            .or_else(|| self.selected.as_ref().map(|c| c.df_name.clone()))
            .unwrap_or_default();
        let Some(ca) = self.config.ca_keys.get_for_aid(&aid, *index) else {
            return Err(OdaFailure::failed(format!(
                "no CA public key for RID {} index {index:02X} (Book 2 §5.2)",
                hex(aid.get(..5).unwrap_or_default())
            )));
        };
        let ca = ca.key.clone();
        let cert = self.need(
            tags::ISSUER_PUBLIC_KEY_CERTIFICATE,
            "Issuer Public Key Certificate",
        )?;
        let exp = self.need(
            tags::ISSUER_PUBLIC_KEY_EXPONENT,
            "Issuer Public Key Exponent",
        )?;
        let pan = self.need(tags::PAN, "Application PAN")?;
        let rem = self
            .data
            .icc(tags::ISSUER_PUBLIC_KEY_REMAINDER)
            .unwrap_or_default()
            .to_vec();
        let today = self.today()?;
        let key = oda::recover_issuer_public_key(&ca, &cert, &rem, &exp, &pan, today)?;
        self.issuer_key = Some(key.key.clone());
        Ok(key.key)
    }

    /// Recovers the ICC Public Key (Book 2 §6.4).
    pub(crate) fn recover_icc_key(&mut self) -> Result<(), OdaFailure> {
        let issuer = self.recover_issuer_key()?;
        let cert = self.need(
            tags::ICC_PUBLIC_KEY_CERTIFICATE,
            "ICC Public Key Certificate",
        )?;
        let exp = self.need(tags::ICC_PUBLIC_KEY_EXPONENT, "ICC Public Key Exponent")?;
        let pan = self.need(tags::PAN, "Application PAN")?;
        let rem = self
            .data
            .icc(tags::ICC_PUBLIC_KEY_REMAINDER)
            .unwrap_or_default()
            .to_vec();
        let static_data = self.static_data()?;
        let today = self.today()?;
        let key =
            oda::recover_icc_public_key(&issuer, &cert, &rem, &exp, &static_data, &pan, today)?;
        self.icc_key = Some(key.key);
        Ok(())
    }

    /// SDA (Book 2 §5.4).
    fn sda(&mut self) -> Result<(), OdaFailure> {
        let issuer = self.recover_issuer_key()?;
        let ssad = self.need(
            tags::SIGNED_STATIC_APPLICATION_DATA,
            "Signed Static Application Data",
        )?;
        let static_data = self.static_data()?;
        let dac = oda::verify_static_application_data(&issuer, &ssad, &static_data)?;
        self.data.set_icc(tags::DATA_AUTHENTICATION_CODE, &dac);
        Ok(())
    }

    /// DDA (Book 2 §6.5): INTERNAL AUTHENTICATE with the DDOL data.
    fn dda(&mut self) -> Result<(), OdaFailure> {
        self.recover_icc_key()?;
        let ddol = match self.data.icc(tags::DDOL) {
            Some(d) => d.to_vec(),
            None => match &self.profile.default_ddol {
                Some(d) => {
                    self.decide_per(
                        Topic::DataAuthentication,
                        "Book 2 §6.5.1",
                        "card has no DDOL: default DDOL used",
                    );
                    d.clone()
                }
                None => return Err(OdaFailure::missing("DDOL (9F49) and default DDOL")),
            },
        };
        let dol =
            Dol::parse(&ddol).map_err(|e| OdaFailure::failed(format!("DDOL malformed: {e}")))?;
        if !dol
            .entries()
            .iter()
            .any(|e| e.tag == tags::UNPREDICTABLE_NUMBER)
        {
            return Err(OdaFailure::failed(
                "the DDOL does not ask for the Unpredictable Number (Book 2 §6.5.1)",
            ));
        }
        let ddol_data = self.data.build_dol(&dol);
        let resp = self
            .send(&commands::internal_authenticate(&ddol_data))
            .map_err(|e| match e {
                KernelError::Card { .. } | KernelError::Transport(_) => OdaFailure {
                    missing: false,
                    reason: e.to_string(),
                    card_lost: Some(e),
                },
                // a DDOL whose data does not fit in a command: the card's data is at fault
                other => OdaFailure::failed(other.to_string()),
            })?;
        if !resp.sw.is_success() {
            return Err(OdaFailure::failed(format!(
                "INTERNAL AUTHENTICATE answered {:04X}",
                resp.sw.to_u16()
            )));
        }
        let tlv = emv_tlv::parse_one(&resp.data)
            .map_err(|e| OdaFailure::failed(format!("INTERNAL AUTHENTICATE response: {e}")))?;
        let sdad = match tlv.tag().value() {
            0x80 => tlv.value().to_vec(),
            0x77 => tlv
                .find(tags::SIGNED_DYNAMIC_APPLICATION_DATA)
                .map(|t| t.value().to_vec())
                .ok_or_else(|| OdaFailure::missing("Signed Dynamic Application Data (9F4B)"))?,
            other => {
                return Err(OdaFailure::failed(format!(
                    "INTERNAL AUTHENTICATE response template {other:X}"
                )));
            }
        };
        let icc_key = self
            .icc_key
            .clone()
            .ok_or_else(|| OdaFailure::failed("ICC public key not recovered"))?;
        let dynamic = oda::recover_dynamic_application_data(&icc_key, &sdad, &ddol_data)?;
        let number = oda::icc_dynamic_number(&dynamic)?;
        self.data.set_icc(tags::ICC_DYNAMIC_NUMBER, number);
        Ok(())
    }
}
