//! Support for the workspace-level end-to-end tests in `tests/*.rs`.
//!
//! [`ChipHost`]: an issuer that approves with a valid ARPC for a software card, computed from
//! the card profile's TEST issuer master key, the way the embedded host answers a genuine
//! card (`emvbench run`), without a database.
//!
//! [`stage_of`]: the transaction stage a command of the APDU log was sent in (the fault
//! injection tests check that a transaction ends at the stage of the command that failed).
#![allow(clippy::too_many_lines)] // test tables read top to bottom

use emv_auth::{Advice, AdviceResponse, AuthRequest, AuthResponse, Host, HostError, ResponseCode};
use emv_card::Personalisation;
use emv_crypto::cryptogram::{ArpcResponse, generate_arpc};
use emv_crypto::{CryptoError, Cvn, TdesKey};
use emv_kernel::Stage;
use emv_tlv::Tag;

/// An issuer that approves every authorisation (response code `00`) with Issuer
/// Authentication Data for the card's CVN (EMV 4.4 Book 2 §8.2: ARPC method 1 over ARC `00`,
/// method 2 with a CSU "approved") and records the requests and advices.
#[derive(Debug)]
pub struct ChipHost {
    cvn: Cvn,
    mk_ac: TdesKey,
    /// Authorisation requests received.
    pub requests: Vec<AuthRequest>,
    /// Advices received.
    pub advices: Vec<Advice>,
}

impl ChipHost {
    /// The issuer of the card personalised as `p` (its ICC master key for AC is derived
    /// from the profile's `imk_ac`).
    pub fn for_card(p: &Personalisation) -> Result<Self, CryptoError> {
        let imk = TdesKey::from_hex(p.source.keys.imk_ac.trim())?;
        Ok(ChipHost {
            cvn: p.cvn,
            mk_ac: p.cvn.derive_icc_mk(&imk, &p.pan, Some(&p.psn))?,
            requests: Vec::new(),
            advices: Vec::new(),
        })
    }

    fn arpc(&self, icc_data: &[u8]) -> Result<Vec<u8>, String> {
        let tlvs = emv_tlv::parse_all(icc_data).map_err(|e| format!("DE 55: {e}"))?;
        let value = |t: u32| -> Result<Vec<u8>, String> {
            emv_tlv::find(&tlvs, Tag::new(t))
                .map(|x| x.value().to_vec())
                .ok_or_else(|| format!("DE 55 without {t:X}"))
        };
        let fixed = |t: u32, n: usize| -> Result<Vec<u8>, String> {
            let v = value(t)?;
            if v.len() == n {
                Ok(v)
            } else {
                Err(format!("{t:X} has {} bytes, not {n}", v.len()))
            }
        };
        let mut arqc = [0u8; 8];
        arqc.copy_from_slice(&fixed(0x9F26, 8)?);
        let atc = fixed(0x9F36, 2)?;
        let mut un = [0u8; 4];
        un.copy_from_slice(&fixed(0x9F37, 4)?);
        let response = ArpcResponse::approval(self.cvn.arpc_method());
        let arpc = generate_arpc(
            self.cvn,
            &self.mk_ac,
            u16::from_be_bytes([atc[0], atc[1]]),
            &un,
            &arqc,
            &response,
        )
        .map_err(|e| e.to_string())?;
        Ok(arpc.issuer_authentication_data)
    }
}

impl Host for ChipHost {
    fn authorise(&mut self, req: &AuthRequest) -> Result<AuthResponse, HostError> {
        self.requests.push(req.clone());
        let iad = self.arpc(&req.icc_data).map_err(HostError::Unreachable)?;
        Ok(AuthResponse {
            response_code: ResponseCode::APPROVED,
            reason: "approved by the test issuer".into(),
            auth_code: Some("123456".into()),
            rrn: Some("000000000001".into()),
            issuer_authentication_data: Some(iad),
            issuer_scripts: Vec::new(),
            online_pin: None,
        })
    }

    fn advise(&mut self, advice: &Advice) -> Result<AdviceResponse, HostError> {
        self.advices.push(advice.clone());
        Ok(AdviceResponse {
            response_code: ResponseCode::APPROVED,
            reversed: advice.reason == emv_auth::AdviceReason::Reversal,
        })
    }
}

/// The stage in which the last command of `names` (command names of an APDU log, from the
/// first exchange on) was sent: SELECT and the PSE's records in application selection (Book
/// 1 §12), GET PROCESSING OPTIONS in initiate application processing, the AFL's records in
/// read application data, INTERNAL AUTHENTICATE in offline data authentication, GET DATA
/// 9F17, GET CHALLENGE and VERIFY in cardholder verification, other GET DATA in terminal
/// risk management, the first GENERATE AC in terminal action analysis, EXTERNAL
/// AUTHENTICATE in online processing, the second GENERATE AC in completion, anything else
/// (issuer script commands) in issuer script processing (Book 3 §10).
///
/// # Panics
/// If `names` is empty.
#[allow(clippy::panic)]
pub fn stage_of<S: AsRef<str>>(names: &[S]) -> Stage {
    let Some((last, before)) = names.split_last() else {
        panic!("stage_of: no command");
    };
    let before = || before.iter().map(AsRef::as_ref);
    let gpo_done = before().any(|n| n.starts_with("GET PROCESSING OPTIONS"));
    let gen_acs = before().filter(|n| n.starts_with("GENERATE AC")).count();
    match last.as_ref() {
        n if n.starts_with("SELECT") => Stage::ApplicationSelection,
        n if n.starts_with("READ RECORD") && !gpo_done => Stage::ApplicationSelection,
        n if n.starts_with("GET PROCESSING OPTIONS") => Stage::InitiateApplicationProcessing,
        n if n.starts_with("READ RECORD") => Stage::ReadApplicationData,
        n if n.starts_with("INTERNAL AUTHENTICATE") => Stage::OfflineDataAuthentication,
        n if n.starts_with("GET DATA 9F17")
            || n.starts_with("GET CHALLENGE")
            || n.starts_with("VERIFY") =>
        {
            Stage::CardholderVerification
        }
        n if n.starts_with("GET DATA") => Stage::TerminalRiskManagement,
        n if n.starts_with("GENERATE AC") && gen_acs == 0 => Stage::TerminalActionAnalysis,
        n if n.starts_with("GENERATE AC") => Stage::Completion,
        n if n.starts_with("EXTERNAL AUTHENTICATE") => Stage::OnlineProcessing,
        _ => Stage::IssuerScriptProcessing,
    }
}
