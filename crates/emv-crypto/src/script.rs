//! Issuer-script secure messaging: command MACs, enciphered PIN data for PIN change, the
//! complete script C-APDUs per CVN (host side), and the card side's MAC check and PIN
//! decipherment (the card identifies the command itself, from its header).
//!
//! **MAC (integrity)**: ISO/IEC 9797-1 MAC algorithm 3, padding method 2, 8 bytes, with the
//! SM integrity session key (EMV 4.4 Book 2 §9.2.3, A1.2.1). Format 2 (CLA `84`, Visa VIS
//! and M/Chip; docs/emv.md §5.5): MAC input = `CLA INS P1 P2 Lc ‖ ATC ‖ ARQC ‖ data`,
//! where **Lc is the final Lc of the command (enciphered data + 8-byte MAC)**, as pyemv
//! `cvn.py` and the VIS/M/Chip recipes do; ATC and ARQC are "present for the MAC but not
//! transmitted". Interac CVN 133 MACs `header ‖ data` only.
//!
//! **M/Chip note**: for CVN 16/17/20/21 the AC used both as `R` for the SM session keys
//! and in the MAC input "is incremented by 1 for each script command after the first"
//! (pyemv MasterCardCVN docstrings; docs/emv.md §5.5, §8.6). [`ScriptContext`] carries
//! the 0-based `command_index` for that; other CVNs ignore it.
//!
//! **Confidentiality** (EMV 4.4 Book 2 §9.3, A1.1; docs/emv.md §5.6), [`PinEncipherment`]:
//! EMV generic (TDES-CBC, IV 0, always padding method 2 → 16 bytes), Mastercard (TDES-CBC,
//! IV 0, padding only if not a block multiple → 8 bytes), Visa (TDES-ECB over
//! `len ‖ data ‖ 80 00…` → 16 bytes). Visa CVN 10/18 (and CVN 22 with the current PIN)
//! encipher the VIS PIN block (keyed with UDK-A, [`vis_pin_block`]); the others an ISO
//! 9564-1 format 2 block.
//!
//! Commands (EMV 4.4 Book 3 §6.5; docs/emv.md §5.3): APPLICATION BLOCK `84 1E 00 00`,
//! APPLICATION UNBLOCK `84 18 00 00`, CARD BLOCK `84 16 00 00`, PIN CHANGE/UNBLOCK
//! `84 24 00 P2` (P2 `00` unblock, `01` change with the current PIN (Visa), `02` change
//! without), PUT DATA `04 DA tag`.

use core::fmt;

use zeroize::Zeroizing;

use crate::CryptoError;
use crate::block::{self, Padding};
use crate::cryptogram::{Cvn, SmSessionKey};
use crate::keys::TdesKey;
use crate::mac::{retail_mac, verify_mac_value};
use crate::pinblock::{self, Fill, Pin, PinBlockFormat};
use crate::session;
use crate::util;

/// Script command MAC length used by all supported CVNs.
pub const SCRIPT_MAC_LEN: usize = 8;

/// The command MAC: MAC algorithm 3, padding method 2, 8 bytes, over `mac_input`.
pub fn command_mac(sk_smi: &TdesKey, mac_input: &[u8]) -> Result<[u8; 8], CryptoError> {
    retail_mac(sk_smi, mac_input, Padding::Method2)
}

/// How command data (the new PIN) is enciphered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr)]
pub enum PinEncipherment {
    /// EMV generic / CCD: TDES-CBC, IV 0, always padding method 2.
    #[strum(serialize = "EMV")]
    Emv,
    /// Mastercard / Interac: TDES-CBC, IV 0, padding method 2 only if not a multiple of 8.
    Mastercard,
    /// Visa: TDES-ECB over `length(1) ‖ data ‖ 80 00…`.
    Visa,
}

impl PinEncipherment {
    fn name(self) -> &'static str {
        self.into()
    }
}

/// Enciphers command data with the SM confidentiality session key.
pub fn encipher_command_data(
    sk_smc: &TdesKey,
    data: &[u8],
    method: PinEncipherment,
) -> Result<Vec<u8>, CryptoError> {
    match method {
        PinEncipherment::Emv => {
            block::tdes_cbc_encrypt(sk_smc, None, &block::pad(data, Padding::Method2, 8))
        }
        PinEncipherment::Mastercard => {
            if data.len().is_multiple_of(8) && !data.is_empty() {
                block::tdes_cbc_encrypt(sk_smc, None, data)
            } else {
                block::tdes_cbc_encrypt(sk_smc, None, &block::pad(data, Padding::Method2, 8))
            }
        }
        PinEncipherment::Visa => {
            let len = u8::try_from(data.len()).map_err(|_| CryptoError::InvalidInput {
                what: "command data",
                reason: format!(
                    "Visa encipherment takes at most 255 bytes, got {}",
                    data.len()
                ),
            })?;
            let mut plain = Zeroizing::new(vec![len]);
            plain.extend_from_slice(data);
            block::tdes_ecb_encrypt(sk_smc, &block::pad(&plain, Padding::Method2, 8))
        }
    }
}

/// Deciphers command data and removes the method's framing. For `Mastercard`, data that
/// was a block multiple is returned as is (there is no padding to remove).
pub fn decipher_command_data(
    sk_smc: &TdesKey,
    enc: &[u8],
    method: PinEncipherment,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let err =
        |r: &str| CryptoError::ScriptCommand(format!("{} enciphered data: {r}", method.name()));
    match method {
        PinEncipherment::Emv => {
            let plain = Zeroizing::new(block::tdes_cbc_decrypt(sk_smc, None, enc)?);
            Ok(Zeroizing::new(block::unpad_method2(&plain, 8)?.to_vec()))
        }
        PinEncipherment::Mastercard => {
            Ok(Zeroizing::new(block::tdes_cbc_decrypt(sk_smc, None, enc)?))
        }
        PinEncipherment::Visa => {
            let plain = Zeroizing::new(block::tdes_ecb_decrypt(sk_smc, enc)?);
            let (&len, rest) = plain.split_first().ok_or_else(|| err("empty"))?;
            let len = usize::from(len);
            if len > rest.len() {
                return Err(err("length byte exceeds the data"));
            }
            // what follows the data must be exactly 80 00… to the block end
            let pad = &rest[len..];
            if pad.first() != Some(&0x80)
                || pad[1..].iter().any(|&b| b != 0)
                || plain.len() - (1 + len) > 8
            {
                return Err(err("padding after the length-prefixed data is not 80 00…"));
            }
            Ok(Zeroizing::new(rest[..len].to_vec()))
        }
    }
}

/// UDK-A block of the VIS PIN block: `00 00 00 00 ‖ MK-AC[4..8]` (the rightmost 4 bytes of
/// the left half of the ICC master key for AC; pyemv `format_vis_pin_block`).
fn vis_block_a(mk_ac: &TdesKey) -> [u8; 8] {
    let b = mk_ac.as_bytes();
    [0, 0, 0, 0, b[4], b[5], b[6], b[7]]
}

/// Current-PIN block: the PIN digits left-justified, zero-filled to 16 nibbles.
fn current_pin_block(pin: &Pin) -> Zeroizing<[u8; 8]> {
    let mut nib = Zeroizing::new([0u8; 16]);
    nib[..pin.len()].copy_from_slice(pin.digits());
    let mut out = Zeroizing::new([0u8; 8]);
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nib[2 * i] << 4) | nib[2 * i + 1];
    }
    out
}

/// The 8-byte VIS PIN block (docs/emv.md §5.6; pyemv `format_vis_pin_block`):
/// `(00000000 ‖ UDK-A[4..8]) ⊕ (0N ‖ new PIN ‖ F…F)`, further XORed with the current PIN
/// (left-justified, zero-filled) when the issuer requires it (P2 = 01).
pub fn vis_pin_block(
    mk_ac: &TdesKey,
    new_pin: &Pin,
    current_pin: Option<&Pin>,
) -> Result<Zeroizing<[u8; 8]>, CryptoError> {
    // the B block has the ISO-0 PIN field layout with control 0 and no PAN
    let b = pinblock::encode_pin_block(PinBlockFormat::Iso2, new_pin, None, &Fill::Random)?;
    let mut out = Zeroizing::new(*b);
    out[0] = u8::try_from(new_pin.len()).unwrap_or(0); // control nibble 0, length N
    util::xor_in_place(&mut out[..], &vis_block_a(mk_ac));
    if let Some(cur) = current_pin {
        util::xor_in_place(&mut out[..], &current_pin_block(cur)[..]);
    }
    Ok(out)
}

/// Card side: recovers and validates the new PIN from a VIS PIN block.
///
/// The VIS block does not authenticate the current PIN: XORing with a current PIN other
/// than the issuer's either breaks the format (error) or yields a different, well-formed
/// PIN. Integrity comes from the command MAC; the current PIN only binds the change to
/// the cardholder's knowledge as the issuer holds it.
pub fn decode_vis_pin_block(
    mk_ac: &TdesKey,
    block: &[u8],
    current_pin: Option<&Pin>,
) -> Result<Pin, CryptoError> {
    let mut b: Zeroizing<[u8; 8]> =
        Zeroizing::new(block.try_into().map_err(|_| CryptoError::InvalidPinBlock {
            format: "VIS PIN block",
            reason: format!("must be 8 bytes, got {}", block.len()),
        })?);
    util::xor_in_place(&mut b[..], &vis_block_a(mk_ac));
    if let Some(cur) = current_pin {
        util::xor_in_place(&mut b[..], &current_pin_block(cur)[..]);
    }
    if b[0] >> 4 != 0 {
        return Err(CryptoError::InvalidPinBlock {
            format: "VIS PIN block",
            reason: format!("control field is {:X}, expected 0", b[0] >> 4),
        });
    }
    // same field rules as ISO format 2 once the control nibble is swapped
    b[0] |= 0x20;
    pinblock::decode_pin_block(PinBlockFormat::Iso2, &b[..], None).map_err(|e| match e {
        CryptoError::InvalidPinBlock { reason, .. } => CryptoError::InvalidPinBlock {
            format: "VIS PIN block",
            reason,
        },
        other => other,
    })
}

/// The three ICC master keys the issuer derives per card (EMV 4.4 Book 2 A1.4; docs/emv.md
/// §6.1): for AC, SM integrity (MAC) and SM confidentiality (encipherment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IccKeys {
    /// ICC master key for application cryptograms (also keys the VIS PIN block).
    pub ac: TdesKey,
    /// ICC master key for secure-messaging integrity.
    pub smi: TdesKey,
    /// ICC master key for secure-messaging confidentiality.
    pub smc: TdesKey,
}

impl IccKeys {
    /// Derives the three ICC master keys from the issuer master keys with the CVN's option.
    pub fn derive(
        cvn: Cvn,
        imk_ac: &TdesKey,
        imk_smi: &TdesKey,
        imk_smc: &TdesKey,
        pan: &str,
        psn: Option<&str>,
    ) -> Result<Self, CryptoError> {
        Ok(Self {
            ac: cvn.derive_icc_mk(imk_ac, pan, psn)?,
            smi: cvn.derive_icc_mk(imk_smi, pan, psn)?,
            smc: cvn.derive_icc_mk(imk_smc, pan, psn)?,
        })
    }
}

/// The transaction a script rides on: the CVN, the card's ATC and the ARQC of the first
/// GENERATE AC, and the 0-based position of this command in the script (M/Chip AC
/// increment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptContext {
    /// Cryptogram version of the card application.
    pub cvn: Cvn,
    /// Application Transaction Counter (9F36) of the transaction.
    pub atc: u16,
    /// The ARQC (9F26) of the first GENERATE AC.
    pub arqc: [u8; 8],
    /// 0 for the first script command, 1 for the second, …
    pub command_index: u32,
}

impl ScriptContext {
    /// Context for the first command of a script.
    pub fn new(cvn: Cvn, atc: u16, arqc: [u8; 8]) -> Self {
        Self {
            cvn,
            atc,
            arqc,
            command_index: 0,
        }
    }

    /// The same context for command number `index` (0-based).
    pub fn command(mut self, index: u32) -> Self {
        self.command_index = index;
        self
    }

    /// The AC this command uses: the ARQC, plus `command_index` for M/Chip CVNs.
    pub fn effective_ac(&self) -> [u8; 8] {
        if self.cvn.sm_increments_ac_per_command() {
            session::increment_ac(&self.arqc, u64::from(self.command_index))
        } else {
            self.arqc
        }
    }

    /// The SM integrity and confidentiality session keys for this command.
    pub fn session_keys(&self, keys: &IccKeys) -> Result<(TdesKey, TdesKey), CryptoError> {
        match self.cvn.sm_session_key() {
            SmSessionKey::VisaAtc => Ok((
                session::visa_sm_session_key(&keys.smi, self.atc)?,
                session::visa_sm_session_key(&keys.smc, self.atc)?,
            )),
            SmSessionKey::CommonArqc => {
                let r = self.effective_ac();
                Ok((
                    session::script_session_key(&keys.smi, &r)?,
                    session::script_session_key(&keys.smc, &r)?,
                ))
            }
        }
    }

    /// The MAC input for a command with header `CLA INS P1 P2 Lc` and (enciphered) data.
    pub fn mac_input(&self, header: &[u8; 5], data: &[u8]) -> Vec<u8> {
        let mut m = header.to_vec();
        if self.cvn.sm_mac_includes_transaction_data() {
            m.extend_from_slice(&self.atc.to_be_bytes());
            m.extend_from_slice(&self.effective_ac());
        }
        m.extend_from_slice(data);
        m
    }
}

/// Kind of post-issuance command, as the CLI names it (`pin-unblock`, `pin-change`,
/// `app-block`, `app-unblock`, `card-block`, `put-data`), parsed in any case and also from
/// `application-block` and `application-unblock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[strum(parse_err_ty = CryptoError, parse_err_fn = unknown_script_command)]
pub enum ScriptCommandKind {
    /// PIN CHANGE/UNBLOCK with P2 = 00.
    PinUnblock,
    /// PIN CHANGE/UNBLOCK with P2 = 01 or 02.
    PinChange,
    /// APPLICATION BLOCK.
    #[strum(to_string = "app-block", serialize = "application-block")]
    ApplicationBlock,
    /// APPLICATION UNBLOCK.
    #[strum(to_string = "app-unblock", serialize = "application-unblock")]
    ApplicationUnblock,
    /// CARD BLOCK.
    CardBlock,
    /// PUT DATA.
    PutData,
}

fn unknown_script_command(s: &str) -> CryptoError {
    CryptoError::InvalidInput {
        what: "script command",
        reason: format!(
            "expected pin-unblock, pin-change, app-block, app-unblock, card-block or put-data, got {:?}",
            s.trim().to_ascii_lowercase()
        ),
    }
}

impl ScriptCommandKind {
    /// The CLI name.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for ScriptCommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A post-issuance command the host wants to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptCommand {
    /// PIN UNBLOCK: `84 24 00 00 08 MAC` (resets the PIN Try Counter).
    PinUnblock,
    /// PIN CHANGE: `84 24 00 02` (or `01` with the current PIN, Visa) `Lc enc-PIN MAC`.
    PinChange {
        /// The new PIN.
        new_pin: Pin,
        /// The current PIN, for Visa P2 = 01 (VIS PIN block).
        current_pin: Option<Pin>,
    },
    /// APPLICATION BLOCK `84 1E 00 00`.
    ApplicationBlock,
    /// APPLICATION UNBLOCK `84 18 00 00`.
    ApplicationUnblock,
    /// CARD BLOCK `84 16 00 00`.
    CardBlock,
    /// PUT DATA `04 DA P1P2=tag Lc value MAC` (value in clear, MAC-protected).
    PutData {
        /// Tag written (P1 P2).
        tag: u16,
        /// New value.
        value: Vec<u8>,
    },
}

impl ScriptCommand {
    /// Builds a command from the CLI's `--command`, `--new-pin`, `--current-pin`.
    pub fn from_kind(
        kind: ScriptCommandKind,
        new_pin: Option<Pin>,
        current_pin: Option<Pin>,
    ) -> Result<Self, CryptoError> {
        let no_pins = |k: ScriptCommandKind| -> Result<(), CryptoError> {
            if new_pin.is_some() || current_pin.is_some() {
                return Err(CryptoError::InvalidInput {
                    what: "script command",
                    reason: format!("{k} takes no PIN"),
                });
            }
            Ok(())
        };
        match kind {
            ScriptCommandKind::PinChange => Ok(Self::PinChange {
                new_pin: new_pin.ok_or(CryptoError::InvalidInput {
                    what: "script command",
                    reason: "pin-change needs the new PIN".into(),
                })?,
                current_pin,
            }),
            ScriptCommandKind::PinUnblock => no_pins(kind).map(|()| Self::PinUnblock),
            ScriptCommandKind::ApplicationBlock => no_pins(kind).map(|()| Self::ApplicationBlock),
            ScriptCommandKind::ApplicationUnblock => {
                no_pins(kind).map(|()| Self::ApplicationUnblock)
            }
            ScriptCommandKind::CardBlock => no_pins(kind).map(|()| Self::CardBlock),
            ScriptCommandKind::PutData => Err(CryptoError::InvalidInput {
                what: "script command",
                reason: "put-data needs a tag and value: build ScriptCommand::PutData".into(),
            }),
        }
    }

    /// The command's kind.
    pub fn kind(&self) -> ScriptCommandKind {
        match self {
            Self::PinUnblock => ScriptCommandKind::PinUnblock,
            Self::PinChange { .. } => ScriptCommandKind::PinChange,
            Self::ApplicationBlock => ScriptCommandKind::ApplicationBlock,
            Self::ApplicationUnblock => ScriptCommandKind::ApplicationUnblock,
            Self::CardBlock => ScriptCommandKind::CardBlock,
            Self::PutData { .. } => ScriptCommandKind::PutData,
        }
    }
}

/// The PIN data encipherment and block format a CVN uses for PIN change.
fn pin_change_recipe(cvn: Cvn, with_current: bool) -> Result<(PinEncipherment, bool), CryptoError> {
    // (encipherment, VIS block?)
    match cvn {
        Cvn::Visa10 | Cvn::Visa18 => Ok((PinEncipherment::Visa, true)),
        Cvn::Visa22 => Ok((PinEncipherment::Visa, with_current)),
        Cvn::Mc16 | Cvn::Mc17 | Cvn::Mc20 | Cvn::Mc21 | Cvn::Interac133 => {
            if with_current {
                Err(CryptoError::CvnInput {
                    cvn: cvn.name(),
                    reason: "PIN change with the current PIN (P2 = 01) is a Visa VIS feature; \
                             this CVN changes the PIN without it (P2 = 02)"
                        .into(),
                })
            } else {
                Ok((PinEncipherment::Mastercard, false))
            }
        }
    }
}

/// Enciphered PIN data for a PIN change, as `cvn` builds it (VIS block or ISO-2, Visa or
/// Mastercard encipherment), under the SM confidentiality session key `sk_smc`.
pub fn encipher_pin_change_data(
    cvn: Cvn,
    mk_ac: &TdesKey,
    sk_smc: &TdesKey,
    new_pin: &Pin,
    current_pin: Option<&Pin>,
) -> Result<Vec<u8>, CryptoError> {
    let (enc, vis) = pin_change_recipe(cvn, current_pin.is_some())?;
    let clear = if vis {
        vis_pin_block(mk_ac, new_pin, current_pin)?
    } else {
        pinblock::encode_pin_block(PinBlockFormat::Iso2, new_pin, None, &Fill::Random)?
    };
    encipher_command_data(sk_smc, &clear[..], enc)
}

/// Host side: the complete script C-APDU (`CLA INS P1 P2 Lc data MAC`) for `cmd`, keyed
/// and formatted as `ctx.cvn` specifies. Put it in tag 86 of a 71/72 template.
pub fn build_script_command(
    keys: &IccKeys,
    ctx: &ScriptContext,
    cmd: &ScriptCommand,
) -> Result<Vec<u8>, CryptoError> {
    let (sk_smi, sk_smc) = ctx.session_keys(keys)?;
    let (cla, ins, p1, p2, data): (u8, u8, u8, u8, Vec<u8>) = match cmd {
        ScriptCommand::PinUnblock => (0x84, 0x24, 0x00, 0x00, Vec::new()),
        ScriptCommand::PinChange {
            new_pin,
            current_pin,
        } => {
            let enc = encipher_pin_change_data(
                ctx.cvn,
                &keys.ac,
                &sk_smc,
                new_pin,
                current_pin.as_ref(),
            )?;
            let p2 = if current_pin.is_some() { 0x01 } else { 0x02 };
            (0x84, 0x24, 0x00, p2, enc)
        }
        ScriptCommand::ApplicationBlock => (0x84, 0x1E, 0x00, 0x00, Vec::new()),
        ScriptCommand::ApplicationUnblock => (0x84, 0x18, 0x00, 0x00, Vec::new()),
        ScriptCommand::CardBlock => (0x84, 0x16, 0x00, 0x00, Vec::new()),
        ScriptCommand::PutData { tag, value } => {
            let [t1, t2] = tag.to_be_bytes();
            (0x04, 0xDA, t1, t2, value.clone())
        }
    };
    let lc = u8::try_from(data.len() + SCRIPT_MAC_LEN).map_err(|_| CryptoError::InvalidInput {
        what: "script command data",
        reason: format!("{} bytes do not fit a short Lc with the MAC", data.len()),
    })?;
    let header = [cla, ins, p1, p2, lc];
    let mac = command_mac(&sk_smi, &ctx.mac_input(&header, &data))?;
    let mut apdu = header.to_vec();
    apdu.extend_from_slice(&data);
    apdu.extend_from_slice(&mac);
    Ok(apdu)
}

impl ScriptContext {
    /// Card side: checks a script command's MAC, in constant time, with the SM integrity
    /// session key `sk_smi` ([`Self::session_keys`]); a wrong MAC is `VerificationFailed`.
    /// `header` is `CLA INS P1 P2 Lc` as received (Lc counts the data and the MAC), `data`
    /// the command data before the MAC. Which command it is, and whether its length and
    /// parameters fit, is the card's business (it identifies the command before calling).
    pub fn verify_command_mac(
        &self,
        sk_smi: &TdesKey,
        header: &[u8; 5],
        data: &[u8],
        mac: &[u8],
    ) -> Result<(), CryptoError> {
        let expected = command_mac(sk_smi, &self.mac_input(header, data))?;
        verify_mac_value(mac, &expected, "issuer script command MAC")
    }
}

/// Card side of [`encipher_pin_change_data`]: deciphers the PIN data of a PIN CHANGE with
/// the SM confidentiality session key `sk_smc` and validates the new PIN (a malformed
/// block is an error, never a PIN). `current_pin` is the card's PIN when the command is
/// P2 = 01 (the VIS block carries it), `None` for P2 = 02.
pub fn decipher_pin_change_data(
    cvn: Cvn,
    mk_ac: &TdesKey,
    sk_smc: &TdesKey,
    enc: &[u8],
    current_pin: Option<&Pin>,
) -> Result<Pin, CryptoError> {
    let (method, vis) = pin_change_recipe(cvn, current_pin.is_some())?;
    let clear = decipher_command_data(sk_smc, enc, method)?;
    if vis {
        decode_vis_pin_block(mk_ac, &clear, current_pin)
    } else {
        pinblock::decode_pin_block(PinBlockFormat::Iso2, &clear, None)
    }
}

/// Issuer Script Template `71` or `72` (EMV 4.4 Book 3 Annex A; docs/emv.md §5.1):
/// `[9F18 04 script-id] 86 L command …`. Lengths use BER short/long form; the
/// 128-byte script limit of Book 4 §6.3.9 is the caller's policy.
pub fn issuer_script_template(
    template: u8,
    script_id: Option<[u8; 4]>,
    commands: &[Vec<u8>],
) -> Result<Vec<u8>, CryptoError> {
    if template != 0x71 && template != 0x72 {
        return Err(CryptoError::InvalidInput {
            what: "issuer script template",
            reason: format!("tag must be 71 or 72, got {template:02X}"),
        });
    }
    fn push_len(out: &mut Vec<u8>, len: usize) -> Result<(), CryptoError> {
        match len {
            0..=0x7F => out.push(len as u8),
            0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
            _ => {
                return Err(CryptoError::InvalidInput {
                    what: "issuer script",
                    reason: format!("{len} bytes is too long for a script"),
                });
            }
        }
        Ok(())
    }
    let mut body = Vec::new();
    if let Some(id) = script_id {
        body.extend_from_slice(&[0x9F, 0x18, 0x04]);
        body.extend_from_slice(&id);
    }
    for c in commands {
        body.push(0x86);
        push_len(&mut body, c.len())?;
        body.extend_from_slice(c);
    }
    let mut out = vec![template];
    push_len(&mut out, body.len())?;
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::{from_hex, to_hex};
    use hex_literal::hex;

    fn k(h: &str) -> TdesKey {
        TdesKey::from_hex(h).unwrap()
    }
    fn pin(s: &str) -> Pin {
        Pin::new(s).unwrap()
    }

    /// docs/test-vectors.md §1 common inputs: IMK-AC/SMI/SMC and PAN 4761… or 5413…, ATC 0001.
    fn keys(cvn: Cvn, pan: &str) -> IccKeys {
        IccKeys::derive(
            cvn,
            &k("0123456789ABCDEFFEDCBA9876543210"),
            &k("FEDCBA98765432100123456789ABCDEF"),
            &k("89ABCDEF0123456776543210FEDCBA98"),
            pan,
            None,
        )
        .unwrap()
    }

    /// What a card makes of a script command (these tests' stand-in for the card's own
    /// handler, `emv-card`'s `commands/scripts.rs`).
    #[derive(Debug, PartialEq, Eq)]
    struct Verified {
        kind: ScriptCommandKind,
        new_pin: Option<Pin>,
    }

    /// Splits `CLA INS P1 P2 Lc data MAC` (a trailing Le tolerated), checks the MAC,
    /// identifies the command by its header and deciphers a new PIN, with the functions a
    /// card uses.
    fn verify_script_command(
        keys: &IccKeys,
        ctx: &ScriptContext,
        apdu: &[u8],
        current_pin: Option<&Pin>,
    ) -> Result<Verified, CryptoError> {
        let malformed = |m: &str| CryptoError::ScriptCommand(m.into());
        let (header, rest) = apdu
            .split_first_chunk::<5>()
            .ok_or_else(|| malformed("no Lc"))?;
        let lc = usize::from(header[4]);
        if (rest.len() != lc && rest.len() != lc + 1) || lc < SCRIPT_MAC_LEN {
            return Err(malformed("Lc"));
        }
        let (data, mac) = rest[..lc].split_at(lc - SCRIPT_MAC_LEN);
        let (sk_smi, sk_smc) = ctx.session_keys(keys)?;
        ctx.verify_command_mac(&sk_smi, header, data, mac)?;
        let kind = match (header[1], header[3]) {
            (0x24, 0x00) => ScriptCommandKind::PinUnblock,
            (0x24, 0x01 | 0x02) => ScriptCommandKind::PinChange,
            (0x1E, _) => ScriptCommandKind::ApplicationBlock,
            (0x18, _) => ScriptCommandKind::ApplicationUnblock,
            (0x16, _) => ScriptCommandKind::CardBlock,
            (0xDA, _) => ScriptCommandKind::PutData,
            _ => return Err(malformed("unknown command")),
        };
        let new_pin = match kind {
            ScriptCommandKind::PinChange => Some(decipher_pin_change_data(
                ctx.cvn,
                &keys.ac,
                &sk_smc,
                data,
                current_pin.filter(|_| header[3] == 0x01),
            )?),
            ScriptCommandKind::PutData => None,
            _ if !data.is_empty() => return Err(malformed("data on a data-less command")),
            _ => None,
        };
        Ok(Verified { kind, new_pin })
    }

    /// pyemv V07: MAC with SK-SMI (R = ARQC) over header ‖ ATC ‖ ARQC and header only.
    #[test]
    fn pyemv_v07() {
        let mk_smi = k("FBFD293264F1D001AE7C76BA6715292F");
        let sk = session::script_session_key(&mk_smi, &hex!("B63A56E0E044C045")).unwrap();
        assert_eq!(sk.as_bytes(), hex!("EFFB374CD9899D327F51A8F294D698B5"));
        let mac = command_mac(&sk, &hex!("84240000080001B63A56E0E044C045")).unwrap();
        assert_eq!(mac, hex!("B7A6C52C5826B22A"));
        assert_eq!(
            command_mac(&sk, &hex!("8424000008")).unwrap(),
            hex!("BFB819464FF1A7E7")
        );
        // the same through the context (M/Chip-style CVN, first command)
        let ctx = ScriptContext::new(Cvn::Mc20, 1, hex!("B63A56E0E044C045"));
        assert_eq!(
            ctx.mac_input(&hex!("8424000008"), &[]),
            hex!("84240000080001B63A56E0E044C045")
        );
    }

    /// pyemv V08: PIN data encipherment variants and VIS PIN blocks.
    #[test]
    fn pyemv_v08() {
        let sk_smc = session::script_session_key(
            &k("25C41094CB08151392A292D0E0EC083B"),
            &hex!("B63A56E0E044C045"),
        )
        .unwrap();
        assert_eq!(sk_smc.as_bytes(), hex!("62C1CD8A46A1834FDFCDF2C2C41CF17A"));
        let iso2 = hex!("241234FFFFFFFFFF");
        assert_eq!(
            encipher_command_data(&sk_smc, &iso2, PinEncipherment::Emv).unwrap(),
            hex!("4EE03F37F9C89BDB462D73481D3E486E")
        );
        assert_eq!(
            encipher_command_data(&sk_smc, &iso2, PinEncipherment::Mastercard).unwrap(),
            hex!("4EE03F37F9C89BDB")
        );
        assert_eq!(
            encipher_command_data(&sk_smc, &iso2, PinEncipherment::Visa).unwrap(),
            hex!("E9999B833564F8C2C0A2148C1BD0BBAA")
        );
        for m in [
            PinEncipherment::Emv,
            PinEncipherment::Mastercard,
            PinEncipherment::Visa,
        ] {
            let e = encipher_command_data(&sk_smc, &iso2, m).unwrap();
            assert_eq!(&decipher_command_data(&sk_smc, &e, m).unwrap()[..], &iso2);
        }
        let mk_ac = k("5183894598EAD6D00402D6CD9B0E2FFE");
        assert_eq!(
            *vis_pin_block(&mk_ac, &pin("1234"), None).unwrap(),
            hex!("041234FF6715292F")
        );
        assert_eq!(
            *vis_pin_block(&mk_ac, &pin("1234"), Some(&pin("9999"))).unwrap(),
            hex!("9D8B34FF6715292F")
        );
        assert_eq!(
            decode_vis_pin_block(&mk_ac, &hex!("041234FF6715292F"), None).unwrap(),
            pin("1234")
        );
        assert_eq!(
            decode_vis_pin_block(&mk_ac, &hex!("9D8B34FF6715292F"), Some(&pin("9999"))).unwrap(),
            pin("1234")
        );
        // pyemv sm doc: VIS block with MK 0123..3210
        assert_eq!(
            *vis_pin_block(&k("0123456789ABCDEFFEDCBA9876543210"), &pin("1234"), None).unwrap(),
            hex!("041234FF76543210")
        );
        // docs/test-vectors.md §5: EMV and MC encipherment under 0123..3210 / AAAA..BBBB
        assert_eq!(
            encipher_command_data(
                &k("0123456789ABCDEFFEDCBA9876543210"),
                &hex!("249999FFFFFFFFFF"),
                PinEncipherment::Emv
            )
            .unwrap(),
            hex!("5A862D1381CCB94822CFDD706A376178")
        );
        // docs/test-vectors.md §5 lists this MC vector under "SK-SMC AAAA…BBBB"; the value is the
        // pyemv sm.py doctest, whose key is 0123..3210 (under AAAA..BBBB it is different).
        assert_eq!(
            encipher_command_data(
                &k("0123456789ABCDEFFEDCBA9876543210"),
                &hex!("241234FFFFFFFFFF"),
                PinEncipherment::Mastercard
            )
            .unwrap(),
            hex!("9859240AE52820C3")
        );
        assert_ne!(
            encipher_command_data(
                &k("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB"),
                &hex!("241234FFFFFFFFFF"),
                PinEncipherment::Mastercard
            )
            .unwrap(),
            hex!("9859240AE52820C3")
        );
    }

    /// docs/emv.md §5.6 / pyemv tests/test_sm_hsm.py (HSM-checked).
    #[test]
    fn hsm_checked_vectors() {
        let pan = "1234567890123456";
        let mk_smc = crate::kdf::derive_icc_mk_option_a(
            &k("11111111111111112222222222222222"),
            pan,
            Some("01"),
        )
        .unwrap();
        let mk_smi = crate::kdf::derive_icc_mk_option_a(
            &k("0123456789ABCDEFFEDCBA9876543210"),
            pan,
            Some("01"),
        )
        .unwrap();
        let mk_ac = crate::kdf::derive_icc_mk_option_a(
            &k("FEDCBA98765432100123456789ABCDEF"),
            pan,
            Some("01"),
        )
        .unwrap();
        assert_eq!(mk_smc.kcv(), hex!("6B0F76"));
        assert_eq!(mk_smi.kcv(), hex!("02396B"));
        assert_eq!(mk_ac.kcv(), hex!("C5CACD"));
        // common SK with R = ABCDEF1234567890
        let r = hex!("ABCDEF1234567890");
        let sk_smc = session::common_session_key(&mk_smc, &r).unwrap();
        let sk_smi = session::common_session_key(&mk_smi, &r).unwrap();
        assert_eq!(sk_smc.kcv(), hex!("D694B8"));
        assert_eq!(sk_smi.kcv(), hex!("F088F8"));
        assert_eq!(
            command_mac(&sk_smi, &hex!("8424000008")).unwrap(),
            hex!("CF323F09A0F6AB9E")
        );
        // Mastercard PIN change, 4 and 12 digits
        let e = encipher_command_data(
            &sk_smc,
            &hex!("249999FFFFFFFFFF"),
            PinEncipherment::Mastercard,
        )
        .unwrap();
        assert_eq!(e, hex!("28367E05DE3381C2"));
        let mut m = hex!("8424000210").to_vec();
        m.extend_from_slice(&e);
        assert_eq!(command_mac(&sk_smi, &m).unwrap(), hex!("8C4D10091A093B5B"));
        let e12 = encipher_command_data(
            &sk_smc,
            &hex!("2C999999999999FF"),
            PinEncipherment::Mastercard,
        )
        .unwrap();
        assert_eq!(e12, hex!("99AD3AF9EB3ECF0C"));
        let mut m = hex!("8424000210").to_vec();
        m.extend_from_slice(&e12);
        assert_eq!(command_mac(&sk_smi, &m).unwrap(), hex!("1471D88C6393BE21"));
        // CCD / EMV generic encipherment
        let e = encipher_command_data(&sk_smc, &hex!("249999FFFFFFFFFF"), PinEncipherment::Emv)
            .unwrap();
        assert_eq!(e, hex!("28367E05DE3381C29D30A6055A8DEB86"));
        let mut m = hex!("8424000210").to_vec();
        m.extend_from_slice(&e);
        assert_eq!(command_mac(&sk_smi, &m).unwrap(), hex!("69DA1EE208823022"));
        // VIS PIN change, Visa SM keys from ATC FFFF
        let sk_smc_v = session::visa_sm_session_key(&mk_smc, 0xFFFF).unwrap();
        let sk_smi_v = session::visa_sm_session_key(&mk_smi, 0xFFFF).unwrap();
        assert_eq!(sk_smc_v.kcv(), hex!("BD7C46"));
        assert_eq!(sk_smi_v.kcv(), hex!("A41D47"));
        let vis = vis_pin_block(&mk_ac, &pin("9999"), None).unwrap();
        assert_eq!(*vis, hex!("049999FFC4B001F1"));
        let e = encipher_command_data(&sk_smc_v, &vis[..], PinEncipherment::Visa).unwrap();
        assert_eq!(e, hex!("D421231A6FD2F0FAEE671384F0D3A7B9"));
        let mut m = hex!("8424000210").to_vec();
        m.extend_from_slice(&e);
        assert_eq!(
            command_mac(&sk_smi_v, &m).unwrap(),
            hex!("F67E37E67B06AB99")
        );
        let vis_c = vis_pin_block(&mk_ac, &pin("9999"), Some(&pin("8888"))).unwrap();
        assert_eq!(*vis_c, hex!("8C1199FFC4B001F1"));
        let e = encipher_command_data(&sk_smc_v, &vis_c[..], PinEncipherment::Visa).unwrap();
        assert_eq!(e, hex!("C29371CC36BA70C1EE671384F0D3A7B9"));
        let mut m = hex!("8424000110").to_vec();
        m.extend_from_slice(&e);
        assert_eq!(
            command_mac(&sk_smi_v, &m).unwrap(),
            hex!("6AB3AD15D8B0621A")
        );
        let vis12 =
            vis_pin_block(&mk_ac, &pin("999999999999"), Some(&pin("888888888888"))).unwrap();
        assert_eq!(*vis12, hex!("841111112A5E67F1"));
        let e = encipher_command_data(&sk_smc_v, &vis12[..], PinEncipherment::Visa).unwrap();
        assert_eq!(e, hex!("622066A74F1E974AEE671384F0D3A7B9"));
        let mut m = hex!("8424000110").to_vec();
        m.extend_from_slice(&e);
        assert_eq!(
            command_mac(&sk_smi_v, &m).unwrap(),
            hex!("829AC5DE4B88074D")
        );
    }

    struct Case {
        cvn: Cvn,
        pan: &'static str,
        arqc: [u8; 8],
        unblock_mac: [u8; 8],
        pin_change: &'static str,
        pin_change_current: Option<&'static str>,
    }

    /// pyemv V09–V16 script commands (ATC 0001, new PIN 1234, current PIN 9999).
    #[test]
    fn pyemv_cvn_script_commands() {
        let cases = [
            Case {
                cvn: Cvn::Visa10,
                pan: "4761739001010119",
                arqc: hex!("F8848BFCEE3AD314"),
                unblock_mac: [0; 8],
                pin_change: "84240002185A58EE067516E47518ED3A46E1599A4F387267EDFBC2A06C",
                pin_change_current: Some(
                    "84240001188C0D8C406CD19BCF18ED3A46E1599A4FCF9D69BFD8A44795",
                ),
            },
            Case {
                cvn: Cvn::Visa18,
                pan: "4761739001010119",
                arqc: hex!("34FCF03846F66793"),
                unblock_mac: hex!("1CB0064B0CF4EDE4"),
                pin_change: "84240002185A58EE067516E47518ED3A46E1599A4FD7CA26BFA8692F52",
                pin_change_current: None,
            },
            Case {
                cvn: Cvn::Visa22,
                pan: "4761739001010119",
                arqc: hex!("8739803DEE057EEA"),
                unblock_mac: hex!("0FF9C80692081503"),
                pin_change: "84240002185D1AD66B39E589D28589001A9A6CB8C3D7754920DB640DDD",
                pin_change_current: Some(
                    "8424000118E8B2C3811CA3D929890208B2ACD8BE5D19E196FAD5925300",
                ),
            },
            Case {
                cvn: Cvn::Interac133,
                pan: "4761739001010119",
                arqc: hex!("9EDC1D34E83E56C3"),
                unblock_mac: hex!("CCABD76787087106"),
                pin_change: "84240002105CA025FFA17C0F373C3A4044F21AD0F3",
                pin_change_current: None,
            },
            Case {
                cvn: Cvn::Mc16,
                pan: "5413330089600010",
                arqc: hex!("797759A7378F90E0"),
                unblock_mac: hex!("59E58C92696C86EC"),
                pin_change: "84240002100DA3B902B90DAC55572E282C7E0ED950",
                pin_change_current: None,
            },
            Case {
                cvn: Cvn::Mc20,
                pan: "5413330089600010",
                arqc: hex!("1648485C17857161"),
                unblock_mac: hex!("C84F43C51A613A3F"),
                pin_change: "84240002102FC53C799B63E9C6A84F7AC487F6F7E2",
                pin_change_current: None,
            },
        ];
        for c in cases {
            let keys = keys(c.cvn, c.pan);
            let ctx = ScriptContext::new(c.cvn, 0x0001, c.arqc);
            if c.cvn != Cvn::Visa10 {
                let apdu = build_script_command(&keys, &ctx, &ScriptCommand::PinUnblock).unwrap();
                assert_eq!(
                    to_hex(&apdu),
                    format!("8424000008{}", to_hex(&c.unblock_mac)),
                    "unblock {}",
                    c.cvn
                );
                let v = verify_script_command(&keys, &ctx, &apdu, None).unwrap();
                assert_eq!(v.kind, ScriptCommandKind::PinUnblock);
            }
            let cmd = ScriptCommand::PinChange {
                new_pin: pin("1234"),
                current_pin: None,
            };
            let apdu = build_script_command(&keys, &ctx, &cmd).unwrap();
            assert_eq!(to_hex(&apdu), c.pin_change, "pin change {}", c.cvn);
            let v = verify_script_command(&keys, &ctx, &apdu, None).unwrap();
            assert_eq!(v.new_pin, Some(pin("1234")));
            if let Some(want) = c.pin_change_current {
                let cmd = ScriptCommand::PinChange {
                    new_pin: pin("1234"),
                    current_pin: Some(pin("9999")),
                };
                let apdu = build_script_command(&keys, &ctx, &cmd).unwrap();
                assert_eq!(to_hex(&apdu), want, "pin change with current {}", c.cvn);
                let v = verify_script_command(&keys, &ctx, &apdu, Some(&pin("9999"))).unwrap();
                assert_eq!(v.new_pin, Some(pin("1234")));
                // a card whose current PIN differs recovers something else: a format error
                // (length/fill nibbles hit) or a different PIN, never the intended one
                for other in ["9998", "1999", "99999"] {
                    match verify_script_command(&keys, &ctx, &apdu, Some(&pin(other))) {
                        Ok(v) => assert_ne!(v.new_pin, Some(pin("1234"))),
                        Err(e) => assert!(matches!(e, CryptoError::InvalidPinBlock { .. }), "{e}"),
                    }
                }
            }
        }
        // V09: APPLICATION UNBLOCK MAC with the Visa SM key
        let keys10 = keys(Cvn::Visa10, "4761739001010119");
        let ctx10 = ScriptContext::new(Cvn::Visa10, 1, hex!("F8848BFCEE3AD314"));
        let (smi, _) = ctx10.session_keys(&keys10).unwrap();
        assert_eq!(smi.as_bytes(), hex!("FBFD293264F1D001AE7C76BA6715D6D0"));
        let apdu =
            build_script_command(&keys10, &ctx10, &ScriptCommand::ApplicationUnblock).unwrap();
        assert_eq!(apdu, hex!("84180000080E8EC1320EF1CA1E"));
        assert_eq!(
            verify_script_command(&keys10, &ctx10, &apdu, None)
                .unwrap()
                .kind,
            ScriptCommandKind::ApplicationUnblock
        );
    }

    /// docs/test-vectors.md §1 / pyemv cvn.py module doc (Visa CVN 18, IMKs AAAA/BBBB/CCCC).
    #[test]
    fn pyemv_cvn18_module_doc() {
        let keys = IccKeys::derive(
            Cvn::Visa18,
            &k("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            &k("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"),
            &k("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"),
            "1234567890123456",
            Some("00"),
        )
        .unwrap();
        let ctx = ScriptContext::new(Cvn::Visa18, 0x0FFF, hex!("769577B5ABE9FE62"));
        let apdu = build_script_command(&keys, &ctx, &ScriptCommand::ApplicationUnblock).unwrap();
        assert_eq!(apdu, hex!("8418000008B5CB29759F9C3919"));
        let cmd = ScriptCommand::PinChange {
            new_pin: pin("9999"),
            current_pin: None,
        };
        let apdu = build_script_command(&keys, &ctx, &cmd).unwrap();
        assert_eq!(
            to_hex(&apdu),
            "84240002182DC7A061323BA62472BC5308BD291B5F665B3A927E60661E"
        );
    }

    /// docs/test-vectors.md §4, the bench set: SK-SMI(R = ARQC) DF01…, unblock MAC EF84B422728D7A24
    /// over `8424000008 ‖ 0012 ‖ ARQC` (M/Chip-style recipe, first command).
    #[test]
    fn emv_reference_bench_unblock() {
        let imk = k("0123456789ABCDEFFEDCBA9876543210");
        let keys = IccKeys::derive(
            Cvn::Mc20,
            &imk,
            &k("11111111111111112222222222222222"),
            &imk,
            "5413330089020011",
            Some("01"),
        )
        .unwrap();
        let ctx = ScriptContext::new(Cvn::Mc20, 0x0012, hex!("0168F0A07A03AC68"));
        let (smi, _) = ctx.session_keys(&keys).unwrap();
        assert_eq!(smi.as_bytes(), hex!("DF01F2E3AB85AD7F927C7AD6DC6D1525"));
        let apdu = build_script_command(&keys, &ctx, &ScriptCommand::PinUnblock).unwrap();
        assert_eq!(apdu, hex!("8424000008EF84B422728D7A24"));
    }

    /// pyemv V17: Issuer Script Template 2 with the CVN 18 PIN change command.
    #[test]
    fn pyemv_v17_template() {
        let cmd = from_hex(
            "c",
            "84240002185A58EE067516E47518ED3A46E1599A4FD7CA26BFA8692F52",
        )
        .unwrap();
        let t = issuer_script_template(0x72, Some(hex!("00000001")), &[cmd]).unwrap();
        assert_eq!(
            to_hex(&t),
            "72269F180400000001861D84240002185A58EE067516E47518ED3A46E1599A4FD7CA26BFA8692F52"
        );
        assert!(issuer_script_template(0x73, None, &[]).is_err());
    }

    #[test]
    fn mchip_ac_increment_per_command() {
        let keys = keys(Cvn::Mc16, "5413330089600010");
        let arqc = hex!("797759A7378F90E0");
        let first = ScriptContext::new(Cvn::Mc16, 1, arqc);
        let second = first.command(1);
        assert_eq!(second.effective_ac(), hex!("797759A7378F90E1"));
        let a1 = build_script_command(&keys, &first, &ScriptCommand::PinUnblock).unwrap();
        let a2 = build_script_command(&keys, &second, &ScriptCommand::PinUnblock).unwrap();
        assert_ne!(a1, a2);
        assert!(verify_script_command(&keys, &second, &a2, None).is_ok());
        assert!(verify_script_command(&keys, &first, &a2, None).is_err());
        // Visa ignores the index
        let v = ScriptContext::new(Cvn::Visa18, 1, arqc).command(3);
        assert_eq!(v.effective_ac(), arqc);
    }

    #[test]
    fn card_side_rejects_bad_commands() {
        let keys = keys(Cvn::Mc16, "5413330089600010");
        let ctx = ScriptContext::new(Cvn::Mc16, 1, hex!("797759A7378F90E0"));
        let good = from_hex("c", "84240002100DA3B902B90DAC55572E282C7E0ED950").unwrap();
        assert!(verify_script_command(&keys, &ctx, &good, None).is_ok());
        // bad MAC
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            verify_script_command(&keys, &ctx, &bad, None),
            Err(CryptoError::VerificationFailed("issuer script command MAC"))
        );
        // bad Lc / truncated
        assert!(verify_script_command(&keys, &ctx, &good[..good.len() - 1], None).is_err());
        assert!(verify_script_command(&keys, &ctx, &good[..4], None).is_err());
        // a correctly MACed command whose PIN block is garbage: error, never a PIN
        let (smi, smc) = ctx.session_keys(&keys).unwrap();
        let garbage_plain = hex!("251234FFFFFFFFFF"); // length 5 but only 4 digits then F
        let enc = encipher_command_data(&smc, &garbage_plain, PinEncipherment::Mastercard).unwrap();
        let header = [0x84, 0x24, 0x00, 0x02, 0x10];
        let mac = command_mac(&smi, &ctx.mac_input(&header, &enc)).unwrap();
        let mut apdu = header.to_vec();
        apdu.extend_from_slice(&enc);
        apdu.extend_from_slice(&mac);
        assert!(matches!(
            verify_script_command(&keys, &ctx, &apdu, None),
            Err(CryptoError::InvalidPinBlock { .. })
        ));
        // MC does not do P2 = 01
        let cmd = ScriptCommand::PinChange {
            new_pin: pin("1234"),
            current_pin: Some(pin("0000")),
        };
        assert!(matches!(
            build_script_command(&keys, &ctx, &cmd),
            Err(CryptoError::CvnInput { .. })
        ));
    }

    #[test]
    fn other_commands_round_trip() {
        for cvn in Cvn::ALL {
            let pan = if cvn.is_mastercard() {
                "5413330089600010"
            } else {
                "4761739001010119"
            };
            let keys = keys(cvn, pan);
            let ctx = ScriptContext::new(cvn, 7, hex!("0102030405060708"));
            for cmd in [
                ScriptCommand::ApplicationBlock,
                ScriptCommand::ApplicationUnblock,
                ScriptCommand::CardBlock,
                ScriptCommand::PinUnblock,
                ScriptCommand::PutData {
                    tag: 0x9F14,
                    value: vec![0x05],
                },
            ] {
                let apdu = build_script_command(&keys, &ctx, &cmd).unwrap();
                let v = verify_script_command(&keys, &ctx, &apdu, None).unwrap();
                assert_eq!(v.kind, cmd.kind(), "{cvn} {cmd:?}");
            }
        }
        let put = build_script_command(
            &keys(Cvn::Visa18, "4761739001010119"),
            &ScriptContext::new(Cvn::Visa18, 1, [0; 8]),
            &ScriptCommand::PutData {
                tag: 0x9F14,
                value: vec![0x05],
            },
        )
        .unwrap();
        assert_eq!(&put[..6], &hex!("04DA9F140905"));
    }

    #[test]
    fn command_kind_parsing() {
        assert_eq!(
            "pin-change".parse::<ScriptCommandKind>().unwrap(),
            ScriptCommandKind::PinChange
        );
        assert!("x".parse::<ScriptCommandKind>().is_err());
        for (kind, name) in [
            (ScriptCommandKind::PinUnblock, "pin-unblock"),
            (ScriptCommandKind::PinChange, "pin-change"),
            (ScriptCommandKind::ApplicationBlock, "app-block"),
            (ScriptCommandKind::ApplicationUnblock, "app-unblock"),
            (ScriptCommandKind::CardBlock, "card-block"),
            (ScriptCommandKind::PutData, "put-data"),
        ] {
            assert_eq!(kind.to_string(), name);
            assert_eq!(name.parse::<ScriptCommandKind>().unwrap(), kind);
            assert_eq!(
                name.to_uppercase().parse::<ScriptCommandKind>().unwrap(),
                kind
            );
        }
        assert_eq!(
            "Application-Block".parse::<ScriptCommandKind>().unwrap(),
            ScriptCommandKind::ApplicationBlock
        );
        assert!(ScriptCommand::from_kind(ScriptCommandKind::PinChange, None, None).is_err());
        assert!(
            ScriptCommand::from_kind(ScriptCommandKind::CardBlock, Some(pin("1234")), None)
                .is_err()
        );
        assert_eq!(
            ScriptCommand::from_kind(ScriptCommandKind::CardBlock, None, None).unwrap(),
            ScriptCommand::CardBlock
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn script_round_trip_and_flip(cvn_i in 0usize..8, atc in any::<u16>(), arqc in any::<[u8; 8]>(),
                                          idx in 0u32..3, new in "[0-9]{4,12}", cur in "[0-9]{4,12}",
                                          with_current in any::<bool>(), flip in any::<prop::sample::Index>()) {
                let cvn = Cvn::ALL[cvn_i];
                let pan = if cvn.is_mastercard() { "5413330089600010" } else { "4761739001010119" };
                let keys = keys(cvn, pan);
                let ctx = ScriptContext::new(cvn, atc, arqc).command(idx);
                let with_current = with_current && cvn.is_visa();
                let current = Pin::new(&cur).unwrap();
                let cmd = ScriptCommand::PinChange {
                    new_pin: Pin::new(&new).unwrap(),
                    current_pin: with_current.then(|| current.clone()),
                };
                let apdu = build_script_command(&keys, &ctx, &cmd).unwrap();
                let v = verify_script_command(&keys, &ctx, &apdu, Some(&current)).unwrap();
                prop_assert_eq!(v.new_pin, Some(Pin::new(&new).unwrap()));
                // any flipped bit (header, data or MAC) is rejected
                let mut bad = apdu.clone();
                let i = flip.index(bad.len());
                bad[i] ^= 0x01;
                prop_assert!(verify_script_command(&keys, &ctx, &bad, Some(&current)).is_err());
            }
        }
    }
}
