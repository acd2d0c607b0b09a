//! A minimal terminal for driving the card in tests: builds commands with emv-apdu and
//! checks answers with emv-crypto, independently of the card's own code paths.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use emv_apdu::{AcType, Response, StatusWord, commands};
use emv_card::{Card, CardStore, MemoryStore, Personalisation, TagOverride};
use emv_crypto::Cvn;
use emv_crypto::cryptogram::{self, AcData};
use emv_crypto::keys::TdesKey;
use emv_crypto::pinblock::Pin;
use emv_crypto::script::{
    IccKeys, ScriptCommand, ScriptContext, build_script_command, command_mac,
};
use emv_tlv::Tag;

pub fn perso(name: &str) -> Arc<Personalisation> {
    Arc::new(Personalisation::load(name, &[]).unwrap())
}

pub fn perso_with(name: &str, overrides: &[&str]) -> Arc<Personalisation> {
    let o: Vec<TagOverride> = overrides.iter().map(|s| s.parse().unwrap()).collect();
    Arc::new(Personalisation::load(name, &o).unwrap())
}

pub fn card(name: &str) -> Card<MemoryStore> {
    Card::in_memory(perso(name)).unwrap().with_seed(7)
}

/// Sends and decodes.
pub fn send<S: CardStore>(card: &mut Card<S>, apdu: &[u8]) -> Response {
    Response::parse(&card.handle(apdu)).unwrap()
}

pub fn sw<S: CardStore>(card: &mut Card<S>, apdu: &[u8]) -> u16 {
    u16::from(send(card, apdu).sw)
}

pub fn hex(s: &str) -> Vec<u8> {
    emv_tlv::hex::decode(s).unwrap()
}

pub fn select_app<S: CardStore>(card: &mut Card<S>) -> Response {
    let aid = card.personalisation().apps[0].aid.clone();
    send(card, &commands::select(&aid).to_bytes().unwrap())
}

/// SELECT + GPO (empty PDOL).
pub fn start<S: CardStore>(card: &mut Card<S>) {
    assert_eq!(select_app(card).sw, StatusWord::Success);
    let r = send(
        card,
        &commands::get_processing_options(&[]).to_bytes().unwrap(),
    );
    assert_eq!(r.sw, StatusWord::Success);
}

pub fn verify_pin<S: CardStore>(card: &mut Card<S>, pin: &str) -> u16 {
    let block = emv_crypto::offline_pin::OfflinePin::new(pin)
        .unwrap()
        .pin_block()
        .unwrap();
    sw(
        card,
        &commands::verify_plaintext(&block).to_bytes().unwrap(),
    )
}

pub fn ptc<S: CardStore>(card: &mut Card<S>) -> u8 {
    let r = send(card, &commands::get_data(0x9F17).to_bytes().unwrap());
    assert_eq!(r.sw, StatusWord::Success, "GET DATA 9F17");
    r.data[3]
}

/// The CDOL1 data this test terminal sends (33 bytes for the shipped profiles' CDOL1).
pub struct Tx {
    pub amount: u64,
    pub un: [u8; 4],
    pub tvr: [u8; 5],
}

impl Default for Tx {
    fn default() -> Self {
        Self {
            amount: 2500,
            un: [0x11, 0x22, 0x33, 0x44],
            tvr: [0; 5],
        }
    }
}

fn bcd12(v: u64) -> Vec<u8> {
    hex(&format!("{v:012}"))
}

impl Tx {
    /// Values for the CDOL1 of `card`'s first application.
    pub fn cdol1<S: CardStore>(&self, card: &Card<S>) -> Vec<u8> {
        let dol = &card.personalisation().apps[0].cdol1;
        let amount = bcd12(self.amount);
        let other = bcd12(0);
        let values: Vec<(u32, Vec<u8>)> = vec![
            (0x9F02, amount),
            (0x9F03, other),
            (0x9F1A, vec![0x02, 0x50]),
            (0x95, self.tvr.to_vec()),
            (0x5F2A, vec![0x09, 0x78]),
            (0x9A, vec![0x26, 0x11, 0x22]),
            (0x9C, vec![0x00]),
            (0x9F37, self.un.to_vec()),
            (0x9F35, vec![0x22]),
            (0x9F34, vec![0x41, 0x03, 0x02]),
        ];
        dol.build(|t: Tag| {
            values
                .iter()
                .find(|(x, _)| *x == t.value())
                .map(|(_, v)| v.as_slice())
        })
    }

    /// AC input data (9F02 9F03 9F1A 95 5F2A 9A 9C 9F37) as the host rebuilds it.
    pub fn ac_data(&self, aip: [u8; 2], atc: u16) -> Vec<u8> {
        let mut d = bcd12(self.amount);
        d.extend(bcd12(0));
        d.extend([0x02, 0x50]);
        d.extend(self.tvr);
        d.extend([0x09, 0x78, 0x26, 0x11, 0x22, 0x00]);
        d.extend(self.un);
        d.extend(aip);
        d.extend(atc.to_be_bytes());
        d
    }
}

/// What a first GENERATE AC returned (format 2 without CDA, or format 1).
pub struct AcResult {
    pub cid: u8,
    pub atc: u16,
    pub ac: [u8; 8],
    pub iad: Vec<u8>,
}

pub fn parse_ac(data: &[u8]) -> AcResult {
    let top = emv_tlv::parse_one(data).unwrap();
    if top.tag() == Tag::new(0x80) {
        let v = top.value();
        return AcResult {
            cid: v[0],
            atc: u16::from_be_bytes([v[1], v[2]]),
            ac: v[3..11].try_into().unwrap(),
            iad: v[11..].to_vec(),
        };
    }
    let get = |t: u32| top.find(Tag::new(t)).unwrap().value().to_vec();
    AcResult {
        cid: get(0x9F27)[0],
        atc: u16::from_be_bytes(get(0x9F36).try_into().unwrap()),
        ac: get(0x9F26).try_into().unwrap(),
        iad: get(0x9F10),
    }
}

pub fn generate_ac<S: CardStore>(card: &mut Card<S>, t: AcType, data: &[u8]) -> Response {
    send(
        card,
        &commands::generate_ac(t, false, data).to_bytes().unwrap(),
    )
}

/// The issuer's view: keys from the profile's IMKs (as the host derives them).
pub struct Issuer {
    pub cvn: Cvn,
    pub keys: IccKeys,
}

impl Issuer {
    pub fn of<S: CardStore>(card: &Card<S>) -> Self {
        let p = card.personalisation();
        let k = &p.source.keys;
        let cvn = p.cvn;
        let keys = IccKeys::derive(
            cvn,
            &TdesKey::from_hex(&k.imk_ac).unwrap(),
            &TdesKey::from_hex(&k.imk_smi).unwrap(),
            &TdesKey::from_hex(&k.imk_smc).unwrap(),
            &p.pan,
            Some(&p.psn),
        )
        .unwrap();
        Self { cvn, keys }
    }

    pub fn verify_arqc(&self, tx: &Tx, aip: [u8; 2], r: &AcResult) -> bool {
        let data = tx.ac_data(aip, r.atc);
        cryptogram::verify_ac(
            self.cvn,
            &self.keys.ac,
            &AcData::new(r.atc, tx.un, &data, &r.iad),
            &r.ac,
        )
        .is_ok()
    }

    pub fn script(&self, atc: u16, arqc: [u8; 8], index: u32, cmd: &ScriptCommand) -> Vec<u8> {
        let ctx = ScriptContext::new(self.cvn, atc, arqc).command(index);
        build_script_command(&self.keys, &ctx, cmd).unwrap()
    }

    /// Any command `header ‖ Lc ‖ data ‖ MAC`, MACed as the CVN specifies (for malformed
    /// script commands with a valid MAC); `lc` overrides the Lc byte.
    pub fn secured(
        &self,
        atc: u16,
        arqc: [u8; 8],
        index: u32,
        header: [u8; 4],
        data: &[u8],
    ) -> Vec<u8> {
        let ctx = ScriptContext::new(self.cvn, atc, arqc).command(index);
        let (smi, _) = ctx.session_keys(&self.keys).unwrap();
        let lc = u8::try_from(data.len() + 8).unwrap();
        let h5 = [header[0], header[1], header[2], header[3], lc];
        let mac = command_mac(&smi, &ctx.mac_input(&h5, data)).unwrap();
        [&h5[..], data, &mac[..]].concat()
    }

    pub fn pin_change(new: &str) -> ScriptCommand {
        ScriptCommand::PinChange {
            new_pin: Pin::new(new).unwrap(),
            current_pin: None,
        }
    }
}

/// SELECT, GPO, first GENERATE AC asking for an ARQC; returns the AC fields.
pub fn go_online<S: CardStore>(card: &mut Card<S>, tx: &Tx) -> AcResult {
    start(card);
    let data = tx.cdol1(card);
    let r = generate_ac(card, AcType::Arqc, &data);
    assert_eq!(r.sw, StatusWord::Success);
    let ac = parse_ac(&r.data);
    assert_eq!(ac.cid & 0xC0, 0x80, "expected an ARQC");
    ac
}
