//! Requests built the way a card and a terminal would build them (a valid ARQC over the
//! CDOL1 data, PIN blocks under the TEST terminal keys), and the card's side of the answer
//! (ARPC check, script verification): for tests, benches and demos. TEST keys only.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use emv_auth::{
    Advice, AdviceReason, AuthRequest, AuthResponse, Channel, EntryMode, MessageType, PinData,
    TransactionType,
};
use emv_crypto::cryptogram::{ArpcResponse, generate_ac, verify_issuer_authentication_data};
use emv_crypto::pinblock::{self, Fill, PinBlockFormat};
use emv_crypto::script::{
    IccKeys, SCRIPT_MAC_LEN, ScriptCommandKind, ScriptContext, decipher_pin_change_data,
};
use emv_crypto::{AesKey, Cvn, Pin, TdesKey};
use emv_tlv::{Builder, Tag};

use crate::Error;
use crate::keys::Secret;
use crate::provision::{CardProvision, CardStatus, PinVerificationMethod, Plastic, PlasticStatus};

/// TEST terminal PIN key `TPK-TEST-01` (TDES, ISO 9564 format 0).
pub const TEST_TPK: &str = "C1D0F8FB4958670DBA40AB1F3752EF0D";
/// TEST terminal PIN key `TPK-AES-TEST-01` (AES-128, ISO 9564 format 4).
pub const TEST_TPK_AES: &str = "2B7E151628AED2A6ABF7158809CF4F3C";
/// TEST issuer master keys (AC, SMI, SMC).
pub const TEST_IMKS: [&str; 3] = [
    "0123456789ABCDEFFEDCBA9876543210",
    "FEDCBA98765432100123456789ABCDEF",
    "89ABCDEF0123456776543210FEDCBA98",
];
/// The TEST issuer API key of `host-keys/test-keys.toml`.
pub const TEST_API_KEY: &str = "test-issuer-api-key-do-not-use-in-production";
/// The completion advice a terminal sends after `online` was answered `resp`: the answer's
/// STAN and RRN, the ATC (9F36) and, when given, the Issuer Script Results (9F5B).
pub fn completion(online: &Online, resp: &AuthResponse, results: Option<&[u8]>) -> Advice {
    let mut icc = vec![0x9F, 0x36, 0x02];
    icc.extend_from_slice(&online.atc.to_be_bytes());
    if let Some(r) = results {
        icc.extend_from_slice(&[0x9F, 0x5B, u8::try_from(r.len()).unwrap_or(u8::MAX)]);
        icc.extend_from_slice(r);
    }
    Advice {
        reason: AdviceReason::Completion,
        request: false,
        pan: online.request.pan.clone(),
        psn: online.request.psn.clone(),
        stan: online.request.stan,
        icc_data: icc,
        rrn: resp.rrn.clone(),
        terminal_id: online.request.terminal_id.clone(),
        amount: Some(online.request.amount),
        currency: Some(online.request.currency),
        transmitted_at: online.request.transmitted_at.clone(),
        original: None,
    }
}

/// The reversal (0400) a terminal sends for `online` answered `resp`: STAN, RRN, terminal
/// id and DE 7 of the original, no DE 90.
pub fn reversal(online: &Online, resp: &AuthResponse) -> Advice {
    Advice {
        reason: AdviceReason::Reversal,
        request: true,
        icc_data: Vec::new(),
        ..completion(online, resp, None)
    }
}

/// The acquirer key of the TEST key file (host-keys/test-keys.toml): the network routes'
/// credential.
pub const TEST_ACQUIRER_KEY: &str = "test-acquirer-key-do-not-use-in-production";

/// A temporary directory removed on drop (and, for a test on PostgreSQL, the database
/// [`open_issuer`] made for it, dropped with it).
#[derive(Debug)]
pub struct TempDir(PathBuf, std::sync::Mutex<Vec<Cleanup>>);

/// Something to undo when a [`TempDir`] goes.
struct Cleanup(Box<dyn FnOnce() + Send>);

impl std::fmt::Debug for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cleanup")
    }
}

impl TempDir {
    /// A fresh directory under the system temp dir, named after `tag`.
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "emv-host-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        let _ = std::fs::create_dir_all(&p);
        Self(p, std::sync::Mutex::default())
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Runs `undo` when the directory goes.
    pub fn on_drop(&self, undo: impl FnOnce() + Send + 'static) {
        self.1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Cleanup(Box::new(undo)));
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let undo = std::mem::take(
            self.1
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for u in undo {
            (u.0)();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The store backend the tests run on: `EMVBENCH_TEST_BACKEND` = `sqlite` (the default)
/// or `postgres` (built with the `postgres` feature; the server `EMVBENCH_TEST_POSTGRES`
/// names, e.g. `postgres://emvbench@127.0.0.1:55432/postgres`, where each test gets a
/// database of its own). `.ci/run` runs the host's tests once per backend.
pub fn test_backend() -> Result<&'static str, Error> {
    match std::env::var("EMVBENCH_TEST_BACKEND").as_deref() {
        Ok("postgres") => Ok("postgres"),
        Ok("sqlite") | Err(_) => Ok("sqlite"),
        Ok(other) => Err(Error::BadRequest(format!(
            "EMVBENCH_TEST_BACKEND={other:?}: expected sqlite or postgres"
        ))),
    }
}

/// The error for `EMVBENCH_TEST_BACKEND=postgres` in a build without PostgreSQL.
#[cfg(not(feature = "postgres"))]
fn no_postgres() -> Error {
    Error::BadRequest(
        "EMVBENCH_TEST_BACKEND=postgres needs the `postgres` feature (--features emv-host/postgres)"
            .into(),
    )
}

/// The issuer a test runs against, on the backend [`test_backend`] names: SQLite in `dir`,
/// or a PostgreSQL database named after `dir` (created on first use, dropped with `dir`).
/// Two calls with one `dir` share one store, as two host processes on one database do.
pub fn open_issuer(dir: &TempDir, keys: crate::HostKeys) -> Result<crate::Issuer, Error> {
    match test_backend()? {
        "postgres" => open_postgres_issuer(dir, keys),
        _ => crate::Issuer::open(dir.path(), keys),
    }
}

#[cfg(not(feature = "postgres"))]
fn open_postgres_issuer(_dir: &TempDir, _keys: crate::HostKeys) -> Result<crate::Issuer, Error> {
    Err(no_postgres())
}

#[cfg(feature = "postgres")]
fn open_postgres_issuer(dir: &TempDir, keys: crate::HostKeys) -> Result<crate::Issuer, Error> {
    let url = postgres_test_database(dir)?;
    crate::Issuer::open_postgres(&url, keys, 16)
}

/// Everything the test's store holds, as bytes to search: the SQLite files in `dir`, or
/// every row of every table of the PostgreSQL database, as text.
pub fn stored_bytes(dir: &TempDir) -> Result<Vec<u8>, Error> {
    match test_backend()? {
        "postgres" => postgres_rows(dir),
        _ => {
            let mut out = Vec::new();
            let entries = std::fs::read_dir(dir.path()).map_err(|e| Error::io("test dir", e))?;
            for f in entries {
                let f = f.map_err(|e| Error::io("test dir", e))?;
                out.extend(std::fs::read(f.path()).map_err(|e| Error::io("test file", e))?);
            }
            Ok(out)
        }
    }
}

/// The one text value (or NULL) `sql` selects from the test's store, read directly (not
/// through the host): what a test checks was, or was not, stored.
pub fn stored_text(dir: &TempDir, sql: &str) -> Result<Option<String>, Error> {
    match test_backend()? {
        "postgres" => postgres_text(dir, sql),
        _ => {
            let conn = rusqlite::Connection::open(dir.path().join(crate::store::DB_FILE))?;
            Ok(conn.query_row(sql, [], |r| r.get(0))?)
        }
    }
}

#[cfg(not(feature = "postgres"))]
fn postgres_text(_dir: &TempDir, _sql: &str) -> Result<Option<String>, Error> {
    Err(no_postgres())
}

#[cfg(feature = "postgres")]
fn postgres_text(dir: &TempDir, sql: &str) -> Result<Option<String>, Error> {
    let url = postgres_test_database(dir)?;
    let rows = crate::store::postgres::simple_query(&url, sql)?;
    match rows.as_slice() {
        [row] => Ok(row.first().cloned().flatten()),
        _ => Err(Error::BadRequest(format!(
            "{sql}: {} rows, expected one",
            rows.len()
        ))),
    }
}

#[cfg(not(feature = "postgres"))]
fn postgres_rows(_dir: &TempDir) -> Result<Vec<u8>, Error> {
    Err(no_postgres())
}

#[cfg(feature = "postgres")]
fn postgres_rows(dir: &TempDir) -> Result<Vec<u8>, Error> {
    use crate::store::postgres::simple_query;
    let url = postgres_test_database(dir)?;
    let tables = simple_query(
        &url,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )?;
    let mut out = Vec::new();
    for t in tables
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
    {
        for row in simple_query(&url, &format!("SELECT t::text FROM {t} t"))? {
            for v in row.into_iter().flatten() {
                out.extend(v.into_bytes());
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

/// [`postgres_test_database`] for a test that only makes sense on PostgreSQL: `None`, with a
/// loud line on stderr, when no server is named (`EMVBENCH_TEST_POSTGRES`), an error
/// instead when `EMVBENCH_REQUIRE_POSTGRES` is set (CI).
#[cfg(feature = "postgres")]
pub fn postgres_test_database_or_skip(dir: &TempDir) -> Result<Option<String>, Error> {
    if std::env::var_os("EMVBENCH_TEST_POSTGRES").is_some() {
        return postgres_test_database(dir).map(Some);
    }
    if std::env::var_os("EMVBENCH_REQUIRE_POSTGRES").is_some() {
        return Err(Error::BadRequest(
            "EMVBENCH_REQUIRE_POSTGRES is set but EMVBENCH_TEST_POSTGRES names no server".into(),
        ));
    }
    eprintln!("SKIPPED: no PostgreSQL server (set EMVBENCH_TEST_POSTGRES to run)");
    Ok(None)
}

/// The URL of the PostgreSQL database for `dir`'s test, creating it (and arranging its
/// drop) on first use.
#[cfg(feature = "postgres")]
pub fn postgres_test_database(dir: &TempDir) -> Result<String, Error> {
    let admin = std::env::var("EMVBENCH_TEST_POSTGRES").map_err(|_| {
        Error::BadRequest(
            "EMVBENCH_TEST_POSTGRES is not set: the PostgreSQL server the tests may create \
             databases on (postgres://USER@HOST:PORT/postgres)"
                .into(),
        )
    })?;
    let name: String = dir
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let name = format!("t_{}", &name[name.len().saturating_sub(50)..]);
    use crate::store::postgres::simple_query;
    let exists = simple_query(
        &admin,
        &format!("SELECT datname::text FROM pg_database WHERE datname = '{name}'"),
    )?;
    if exists.is_empty() {
        simple_query(&admin, &format!("CREATE DATABASE {name}"))?;
        let (admin2, name2) = (admin.clone(), name.clone());
        dir.on_drop(move || {
            let _ = simple_query(
                &admin2,
                &format!("DROP DATABASE IF EXISTS {name2} WITH (FORCE)"),
            );
        });
    }
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// A provisioning record with the TEST IMKs: expiry 4912, open-to-buy 1,000.00 EUR, one
/// ACTIVE plastic `P-<last 4 PAN digits>-1`.
pub fn provision(pan: &str, cvn: Cvn, pin: &str, method: PinVerificationMethod) -> CardProvision {
    CardProvision {
        pan: pan.into(),
        psn: "01".into(),
        expiry: "4912".into(),
        cvn,
        imk_ac: Secret::new(TEST_IMKS[0]),
        imk_smi: Secret::new(TEST_IMKS[1]),
        imk_smc: Secret::new(TEST_IMKS[2]),
        pin: Secret::new(pin),
        pin_verification: method,
        pvki: None,
        view_pin: false,
        online_pin_try_limit: 3,
        offline_pin_try_limit: 3,
        open_to_buy: 100_000,
        currency: 978,
        status: CardStatus::Active,
        plastics: vec![Plastic {
            plastic_id: format!("P-{}-1", &pan[pan.len().saturating_sub(4)..]),
            expiry: "4912".into(),
            status: PlasticStatus::Active,
        }],
    }
}

/// PIN of the [`load_card`]s.
pub const LOAD_PIN: &str = "4821";

/// For load runs (benches): a newly provisioned Visa CVN 18 card (PVV, PIN [`LOAD_PIN`])
/// whose PAN no other `load_card` of this process has, with an open-to-buy no run can
/// exhaust.
pub fn load_card(issuer: &crate::Issuer) -> Result<TestCard, Error> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let pan = format!(
        "4761739001{:06}",
        NEXT.fetch_add(1, Ordering::Relaxed) % 1_000_000
    );
    let mut p = provision(&pan, Cvn::Visa18, LOAD_PIN, PinVerificationMethod::Pvv);
    p.open_to_buy = 1 << 50;
    issuer.provision(&p, false)?;
    TestCard::new(&p)
}

/// The chip's offline PIN state as its CVR reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChipPin {
    /// PIN Try Counter.
    pub ptc: u8,
    /// PIN Try Limit exceeded.
    pub blocked: bool,
}

impl Default for ChipPin {
    fn default() -> Self {
        Self {
            ptc: 3,
            blocked: false,
        }
    }
}

/// A software card as far as the host sees it: its keys and its ATC.
#[derive(Debug, Clone)]
pub struct TestCard {
    /// PAN.
    pub pan: String,
    /// PSN.
    pub psn: String,
    /// Expiry YYMM.
    pub expiry: String,
    /// CVN.
    pub cvn: Cvn,
    /// ICC master keys.
    pub keys: IccKeys,
    /// ATC of the next transaction.
    pub atc: u16,
    /// What the CVR reports.
    pub chip_pin: ChipPin,
}

/// A script command of an answer as the test card reads it: what it is and, for a PIN
/// CHANGE, the new PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedScriptCommand {
    /// What it does.
    pub kind: ScriptCommandKind,
    /// The header `CLA INS P1 P2`.
    pub header: [u8; 4],
    /// For PIN CHANGE: the new PIN, deciphered and validated.
    pub new_pin: Option<Pin>,
    /// The command data before the MAC.
    pub data: Vec<u8>,
}

/// The card's view of an answer: the authenticated ARC/CSU (if tag 91 was sent) and the
/// verified script commands with their Script Identifiers.
pub type CheckedResponse = (Option<ArpcResponse>, Vec<([u8; 4], VerifiedScriptCommand)>);

/// One online request as the card made it (what the card needs to check the answer).
#[derive(Debug, Clone)]
pub struct Online {
    /// The request.
    pub request: AuthRequest,
    /// ATC used.
    pub atc: u16,
    /// Unpredictable number.
    pub un: [u8; 4],
    /// The ARQC.
    pub arqc: [u8; 8],
}

impl TestCard {
    /// The card of a provisioning record (derives its ICC keys).
    pub fn new(p: &CardProvision) -> Result<Self, Error> {
        let k = |s: &Secret| TdesKey::from_hex(s.expose());
        Ok(Self {
            pan: p.pan.clone(),
            psn: p.psn.clone(),
            expiry: p.expiry.clone(),
            cvn: p.cvn,
            keys: IccKeys::derive(
                p.cvn,
                &k(&p.imk_ac)?,
                &k(&p.imk_smi)?,
                &k(&p.imk_smc)?,
                &p.pan,
                Some(&p.psn),
            )?,
            atc: 1,
            chip_pin: ChipPin::default(),
        })
    }

    /// The IAD the card returns with its CVR (Visa format 0/1/3, M/Chip, per the CVN).
    pub fn iad(&self) -> Vec<u8> {
        let cvn = self.cvn.iad_byte();
        if self.cvn.is_visa() {
            // 06 DKI CVN 03 CVR(3): byte 3 b7 = PIN Try Limit exceeded (docs/emv.md §4.5)
            let b3 = if self.chip_pin.blocked { 0x40 } else { 0x00 };
            vec![0x06, 0x01, cvn, 0x03, 0xA0, b3, 0x00]
        } else {
            // DKI CVN CVR(6) DAC(2) counters(8): CVR byte 3 low nibble PTC, byte 4 0x08 PTL exceeded
            let b4 = if self.chip_pin.blocked { 0x08 } else { 0x00 };
            let mut v = vec![
                0x01,
                cvn,
                0xA0,
                0x00,
                self.chip_pin.ptc & 0x0F,
                b4,
                0x00,
                0x00,
            ];
            v.extend_from_slice(&[0u8; 10]);
            v
        }
    }

    /// Builds an online request (ARQC over the CDOL1 data, EMV 4.4 Book 2 §8.1.1) and
    /// advances the ATC. `pin` adds a format 0 PIN block under `TPK-TEST-01`.
    pub fn online(&mut self, amount: u64, pin: Option<&str>) -> Result<Online, Error> {
        let atc = self.atc;
        self.atc = self.atc.wrapping_add(1);
        let mut un = [0u8; 4];
        getrandom::fill(&mut un).map_err(|e| Error::BadRequest(e.to_string()))?;
        let amount_bcd = bcd6(amount);
        let parts: [(u32, Vec<u8>); 10] = [
            (0x9F02, amount_bcd.to_vec()),
            (0x9F03, vec![0; 6]),
            (0x9F1A, vec![0x02, 0x50]),
            (0x95, vec![0x00, 0x00, 0x00, 0x80, 0x00]),
            (0x5F2A, vec![0x09, 0x78]),
            (0x9A, vec![0x26, 0x05, 0x01]),
            (0x9C, vec![0x00]),
            (0x9F37, un.to_vec()),
            (0x82, vec![0x39, 0x00]),
            (0x9F36, atc.to_be_bytes().to_vec()),
        ];
        let data: Vec<u8> = parts.iter().flat_map(|(_, v)| v.clone()).collect();
        let iad = self.iad();
        let arqc = generate_ac(
            self.cvn,
            &self.keys.ac,
            &emv_crypto::cryptogram::AcData::new(atc, un, &data, &iad),
        )?;
        let mut b = Builder::new()
            .primitive(Tag::new(0x9F26), &arqc)
            .primitive(Tag::new(0x9F27), &[0x80])
            .primitive(Tag::new(0x9F10), &iad);
        for (t, v) in &parts {
            b = b.primitive(Tag::new(*t), v);
        }
        let psn = u8::from_str_radix(&self.psn, 16).unwrap_or(0);
        let icc = b.primitive(Tag::new(0x5F34), &[psn]).build();
        let request = AuthRequest {
            message_type: MessageType::FinancialRequest,
            pan: self.pan.clone(),
            psn: Some(self.psn.clone()),
            expiry: Some(self.expiry.clone()),
            transaction_type: TransactionType::Purchase,
            amount,
            amount_other: 0,
            currency: 978,
            channel: Channel::Atm,
            terminal_type: 0x14,
            terminal_country: 250,
            terminal_id: "ATM00001".into(),
            stan: u32::from(atc),
            pin: pin.map(|p| pin_block_iso0(p, &self.pan)).transpose()?,
            icc_data: icc,
            entry_mode: Some(EntryMode::Chip),
            transmitted_at: Some("0115120000".into()),
            rrn: None,
            merchant_id: String::new(),
        };
        Ok(Online {
            request,
            atc,
            un,
            arqc,
        })
    }

    /// The card's check of the answer: the ARPC in tag 91 (a bad ARPC is an error), then
    /// each script command verified and deciphered as the chip would (EMV 4.4 Book 2 §9).
    /// Returns the ARC/CSU and the commands per Script Identifier.
    pub fn check_response(
        &self,
        online: &Online,
        resp: &AuthResponse,
    ) -> Result<CheckedResponse, Error> {
        let arpc = resp
            .issuer_authentication_data
            .as_ref()
            .map(|iad| {
                verify_issuer_authentication_data(
                    self.cvn,
                    &self.keys.ac,
                    online.atc,
                    &online.un,
                    &online.arqc,
                    iad,
                )
            })
            .transpose()?;
        let mut cmds = Vec::new();
        for t in &resp.issuer_scripts {
            let tlv = emv_tlv::parse_one(t).map_err(|e| Error::IccData(e.to_string()))?;
            let id = tlv
                .find(Tag::new(0x9F18))
                .and_then(|i| <[u8; 4]>::try_from(i.value()).ok())
                .ok_or_else(|| Error::IccData("script without 9F18".into()))?;
            for (i, c) in tlv.find_all(Tag::new(0x86)).iter().enumerate() {
                let ctx = ScriptContext::new(self.cvn, online.atc, online.arqc)
                    .command(u32::try_from(i).unwrap_or(0));
                cmds.push((id, verify_host_command(&self.keys, &ctx, c.value())?));
            }
        }
        Ok((arpc, cmds))
    }
}

/// What the host sends (PIN UNBLOCK `84 24 00 00`, PIN CHANGE `84 24 00 02`): split, MAC
/// checked and the new PIN deciphered with the card-side functions of emv-crypto, as the
/// software card does for every post-issuance command (EMV 4.4 Book 2 §9).
fn verify_host_command(
    keys: &IccKeys,
    ctx: &ScriptContext,
    apdu: &[u8],
) -> Result<VerifiedScriptCommand, Error> {
    let bad = |what: &str| Error::IccData(format!("script command: {what}"));
    let (header5, rest) = apdu.split_first_chunk::<5>().ok_or_else(|| bad("no Lc"))?;
    let lc = usize::from(header5[4]);
    if rest.len() != lc || lc < SCRIPT_MAC_LEN {
        return Err(bad("Lc does not fit the data and the MAC"));
    }
    let (data, mac) = rest.split_at(lc - SCRIPT_MAC_LEN);
    let (sk_smi, sk_smc) = ctx.session_keys(keys)?;
    ctx.verify_command_mac(&sk_smi, header5, data, mac)?;
    let header = [header5[0], header5[1], header5[2], header5[3]];
    let (kind, new_pin) = match header {
        [0x84, 0x24, 0x00, 0x00] if data.is_empty() => (ScriptCommandKind::PinUnblock, None),
        [0x84, 0x24, 0x00, 0x02] => (
            ScriptCommandKind::PinChange,
            Some(decipher_pin_change_data(
                ctx.cvn, &keys.ac, &sk_smc, data, None,
            )?),
        ),
        _ => return Err(bad("not a PIN UNBLOCK or PIN CHANGE the host sends")),
    };
    Ok(VerifiedScriptCommand {
        kind,
        header,
        new_pin,
        data: data.to_vec(),
    })
}

/// Issuer Script Results (9F5B) saying every script of `resp` ran successfully.
pub fn script_results_ok(resp: &AuthResponse) -> Vec<u8> {
    let mut out = Vec::new();
    for t in &resp.issuer_scripts {
        if let Ok(tlv) = emv_tlv::parse_one(t)
            && let Some(id) = tlv.find(Tag::new(0x9F18))
        {
            out.push(0x20);
            out.extend_from_slice(id.value());
        }
    }
    out
}

fn bcd6(mut n: u64) -> [u8; 6] {
    let mut out = [0u8; 6];
    for b in out.iter_mut().rev() {
        let lo = (n % 10) as u8;
        n /= 10;
        let hi = (n % 10) as u8;
        n /= 10;
        *b = (hi << 4) | lo;
    }
    out
}

/// A format 0 PIN block under `TPK-TEST-01`.
pub fn pin_block_iso0(pin: &str, pan: &str) -> Result<PinData, Error> {
    let k = TdesKey::from_hex(TEST_TPK)?;
    let b = pinblock::encrypt_pin_block(
        &k,
        PinBlockFormat::Iso0,
        &Pin::new(pin)?,
        Some(pan),
        &Fill::Random,
    )?;
    Ok(PinData {
        pin_block: b.to_vec(),
        format: 0,
        key_id: "TPK-TEST-01".into(),
    })
}

/// A format 4 PIN block under `TPK-AES-TEST-01`.
pub fn pin_block_iso4(pin: &str, pan: &str) -> Result<PinData, Error> {
    let k = AesKey::from_hex(TEST_TPK_AES)?;
    let b = pinblock::encrypt_pin_block_iso4(&k, &Pin::new(pin)?, pan, &Fill::Random)?;
    Ok(PinData {
        pin_block: b.to_vec(),
        format: 4,
        key_id: "TPK-AES-TEST-01".into(),
    })
}

/// A card-not-present request (no chip data), optionally with an online PIN (format 0).
pub fn card_not_present(pan: &str, amount: u64, pin: Option<&str>) -> Result<AuthRequest, Error> {
    let pin = pin.map(|p| pin_block_iso0(p, pan)).transpose()?;
    Ok(AuthRequest::card_not_present(pan, amount, 978, 250, pin))
}
