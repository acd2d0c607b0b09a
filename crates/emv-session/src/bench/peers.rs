//! The `crypto` group of `emvbench bench` (single cryptographic operations) and, with
//! `--peers`, the same operations done by other implementations, timed in the same run on
//! the same machine:
//!
//! - OpenSSL's C code with its assembly (`openssl speed`): RSA-1024 signature, TDES;
//! - pyemv / psec, the Python EMV and PIN libraries `.ci/run` checks our results against,
//!   and the `cryptography` package they sit on (OpenSSL 3 underneath), run by `peers.py`.
//!
//! A peer that is not installed is reported as skipped with the reason, never guessed.

use std::process::Command;
use std::time::Duration;

use emv_crypto::block;
use emv_crypto::cryptogram::{AcData, Cvn, generate_ac};
use emv_crypto::keys::TdesKey;
use emv_crypto::oda::test_keys;
use emv_crypto::pinblock::{self, Fill, Pin, PinBlockFormat};
use emv_crypto::pvv;
use serde::Serialize;

use super::{BenchOptions, Measurement, measurement, time_loop};
use crate::SessionError;

/// The peers' script, compiled in so `--peers` works from any directory.
const PEERS_PY: &str = include_str!("peers.py");

/// Where the peers come from.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// The `openssl` command.
    pub openssl: String,
    /// A Python with pyemv 1.5.0 and psec 1.3.0 installed.
    pub python: String,
}

impl Default for PeerOptions {
    fn default() -> Self {
        Self {
            openssl: "openssl".into(),
            python: "python3".into(),
        }
    }
}

/// One of our operations next to one peer's.
#[derive(Debug, Clone, Serialize)]
pub struct PeerComparison {
    /// Stable identifier of the operation (`rsa1024-private`, `tdes-block`, …).
    pub id: String,
    /// The operation in words (our measurement's name).
    pub operation: String,
    /// Our mean time, nanoseconds.
    pub ours_ns: f64,
    /// The peer and how it was run.
    pub peer: String,
    /// The peer's mean time, nanoseconds, when it ran.
    pub peer_ns: Option<f64>,
    /// Peer time / our time (above 1: we are faster).
    pub ratio: Option<f64>,
    /// Why the peer did not run.
    pub skipped: Option<String>,
}

const TDES_KEY: &str = "0123456789ABCDEFFEDCBA9876543210";
const PAN: &str = "4761739001010119";
const PSN: &str = "01";
const PIN: &str = "4821";

/// Our single operations, each with its stable id: the same operations `peers.py` and
/// `openssl speed` time.
pub(super) fn primitives(
    opts: &BenchOptions,
) -> Result<Vec<(&'static str, Measurement)>, SessionError> {
    let key = TdesKey::from_hex(TDES_KEY)?;
    let cvn = Cvn::Visa18;
    let mk = cvn.derive_icc_mk(&key, PAN, Some(PSN))?;
    let pin = Pin::new(PIN)?;
    let data: Vec<u8> = (0u8..33).collect();
    let iad = [0x06, 0x01, 0x12, 0x03, 0xA0, 0x00, 0x00];
    let rsa768 = test_keys::ICC_768_E3.private_key()?;
    let rsa1024 = test_keys::ICC_1024_E3.private_key()?;
    // below both moduli (their top bit is set)
    let rsa_input = vec![0x6A; 128];
    let n = |full| opts.n(full);
    let mut out = Vec::new();
    let mut add = |id, name: &str, unit: &str, iters: u64, t: Duration| {
        out.push((id, measurement("crypto", name, unit, iters, t)));
    };

    let iters = n(200_000);
    let t = time_loop(n(1_000), iters, || {
        std::hint::black_box(block::tdes_encrypt_block(&key, &[0x5A; 8]));
        Ok(())
    })?;
    add(
        "tdes-block",
        "TDES block encryption (8 bytes, 2-key)",
        "block",
        iters,
        t,
    );

    let iters = n(50_000);
    let t = time_loop(n(500), iters, || {
        std::hint::black_box(cvn.derive_icc_mk(&key, PAN, Some(PSN))?);
        Ok(())
    })?;
    add(
        "icc-mk-derivation",
        "ICC master key derivation from the IMK (option A)",
        "key",
        iters,
        t,
    );

    let t = time_loop(n(500), iters, || {
        std::hint::black_box(generate_ac(
            cvn,
            &mk,
            &AcData::new(1, [1, 2, 3, 4], &data, &iad),
        )?);
        Ok(())
    })?;
    add(
        "arqc-cvn18",
        "ARQC, Visa CVN 18 (session key + MAC over 40 bytes)",
        "cryptogram",
        iters,
        t,
    );

    let t = time_loop(n(500), iters, || {
        std::hint::black_box(pinblock::encrypt_pin_block(
            &key,
            PinBlockFormat::Iso0,
            &pin,
            Some(PAN),
            &Fill::Random,
        )?);
        Ok(())
    })?;
    add(
        "pin-block-iso0-tdes",
        "ISO 9564 format 0 PIN block + TDES encryption",
        "block",
        iters,
        t,
    );

    let t = time_loop(n(500), iters, || {
        std::hint::black_box(pvv::visa_pvv(&key, PAN, 1, &pin)?);
        Ok(())
    })?;
    add("visa-pvv", "Visa PVV generation", "PVV", iters, t);

    let iters = n(5_000);
    let t = time_loop(n(100), iters, || {
        std::hint::black_box(rsa768.sign(&rsa_input[..96])?);
        Ok(())
    })?;
    add(
        "rsa768-private",
        "RSA-768 private operation (CRT, fault-checked)",
        "operation",
        iters,
        t,
    );
    let t = time_loop(n(100), iters, || {
        std::hint::black_box(rsa1024.sign(&rsa_input)?);
        Ok(())
    })?;
    add(
        "rsa1024-private",
        "RSA-1024 private operation (CRT, fault-checked)",
        "operation",
        iters,
        t,
    );
    Ok(out)
}

/// Runs the peers and lines them up with our operations.
pub(super) fn compare(
    ours: &[(&'static str, Measurement)],
    peers: &PeerOptions,
    quick: bool,
) -> Vec<PeerComparison> {
    let seconds = if quick { 0.2 } else { 1.0 };
    let mut rows = Vec::new();
    let mut row = |id: &str, peer: String, result: Result<f64, String>| {
        let Some((_, m)) = ours.iter().find(|(ours_id, _)| *ours_id == id) else {
            return;
        };
        let (peer_ns, skipped) = match result {
            Ok(ns) => (Some(ns), None),
            Err(why) => (None, Some(why)),
        };
        rows.push(PeerComparison {
            id: id.into(),
            operation: m.name.clone(),
            ours_ns: m.mean_ns,
            peer,
            peer_ns,
            ratio: peer_ns.map(|p| p / m.mean_ns.max(1e-9)),
            skipped,
        });
    };

    // OpenSSL in C: `openssl speed` (its own timing loop, -elapsed for wall time as ours)
    let speed = openssl_speed(&peers.openssl, seconds);
    let version = speed
        .as_ref()
        .map_or_else(|_| "openssl".to_string(), |s| s.version.clone());
    row(
        "rsa1024-private",
        format!("{version} `speed rsa1024` (C + assembly, CRT, blinded)"),
        speed.as_ref().map_err(Clone::clone).and_then(|s| {
            s.rsa1024_sign_ns
                .ok_or_else(|| "no `rsa 1024 bits` line in its output".into())
        }),
    );
    row(
        "tdes-block",
        format!("{version} `speed des-ede3` (C, 16-byte CBC buffers, per 8-byte block)"),
        speed.as_ref().map_err(Clone::clone).and_then(|s| {
            s.tdes_block_ns
                .ok_or_else(|| "no `des-ede3` line in its output".into())
        }),
    );

    // pyemv / psec / cryptography
    match python_peers(&peers.python, seconds) {
        Ok(found) => {
            for (id, (peer, ns)) in found {
                row(&id, peer, Ok(ns));
            }
        }
        Err(why) => {
            for (id, _) in ours {
                row(
                    id,
                    format!("pyemv/psec ({})", peers.python),
                    Err(why.clone()),
                );
            }
        }
    }
    rows
}

/// What `openssl speed` reported.
#[derive(Debug, Clone, PartialEq)]
struct OpensslSpeed {
    version: String,
    rsa1024_sign_ns: Option<f64>,
    tdes_block_ns: Option<f64>,
}

fn openssl_speed(openssl: &str, seconds: f64) -> Result<OpensslSpeed, String> {
    let run = |args: &[&str]| -> Result<String, String> {
        let out = Command::new(openssl)
            .args(args)
            .output()
            .map_err(|e| format!("`{openssl}` did not start: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`{openssl} {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let version = run(&["version"])?;
    let secs = format!("{}", seconds.ceil().max(1.0));
    let rsa = run(&["speed", "-seconds", &secs, "-elapsed", "rsa1024"])?;
    let tdes = run(&["speed", "-seconds", &secs, "-elapsed", "des-ede3"])?;
    Ok(OpensslSpeed {
        version: version
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
        rsa1024_sign_ns: parse_rsa_sign(&rsa, 1024),
        tdes_block_ns: parse_cipher_block(&tdes, "des-ede3", 8),
    })
}

/// From `openssl speed rsaN`: the line `rsa N bits <sign s> <verify s> <sign/s> <verify/s>`
/// gives the seconds per signature.
fn parse_rsa_sign(out: &str, bits: u32) -> Option<f64> {
    let prefix = format!("rsa {bits} bits ");
    let line = out.lines().find(|l| l.trim_start().starts_with(&prefix))?;
    let secs = line.trim_start()[prefix.len()..]
        .split_whitespace()
        .next()?;
    let secs: f64 = secs.trim_end_matches('s').parse().ok()?;
    (secs > 0.0).then_some(secs * 1e9)
}

/// From `openssl speed <cipher>`: the cipher's line gives thousands of bytes per second for
/// buffers of 16, 64, 256, … bytes; the 16-byte column is the closest to one EMV operation.
/// Returns nanoseconds per `block` bytes.
fn parse_cipher_block(out: &str, cipher: &str, block: u32) -> Option<f64> {
    let line = out.lines().find(|l| {
        l.split_whitespace().next() == Some(cipher)
            && l.split_whitespace()
                .nth(1)
                .is_some_and(|v| v.ends_with('k'))
    })?;
    let kbytes: f64 = line
        .split_whitespace()
        .nth(1)?
        .trim_end_matches('k')
        .parse()
        .ok()?;
    (kbytes > 0.0).then(|| f64::from(block) / (kbytes * 1000.0) * 1e9)
}

/// One operation timed by `peers.py`: its id, and the peer's name and nanoseconds.
type PythonPeer = (String, (String, f64));

/// Runs `peers.py` and returns, per operation id, the peer's name and its nanoseconds.
fn python_peers(python: &str, seconds: f64) -> Result<Vec<PythonPeer>, String> {
    let out = Command::new(python)
        .args(["-c", PEERS_PY, &seconds.to_string()])
        .output()
        .map_err(|e| format!("`{python}` did not start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "peers.py failed under `{python}`: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    parse_python_peers(&String::from_utf8_lossy(&out.stdout))
}

fn parse_python_peers(stdout: &str) -> Result<Vec<PythonPeer>, String> {
    let v: serde_json::Value = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("peers.py printed no JSON: {e}"))?;
    if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
        return Err(err.to_string());
    }
    let versions = v
        .get("versions")
        .and_then(|m| m.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let peers = v
        .get("peers")
        .and_then(|p| p.as_object())
        .ok_or("peers.py printed no `peers` object")?;
    let mut found = Vec::new();
    for (id, p) in peers {
        let name = p.get("peer").and_then(|n| n.as_str());
        let ns = p.get("ns").and_then(serde_json::Value::as_f64);
        match (name, ns) {
            (Some(name), Some(ns)) if ns > 0.0 => {
                found.push((id.clone(), (format!("{name} [Python; {versions}]"), ns)));
            }
            _ => return Err(format!("peers.py: malformed entry `{id}`")),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output of OpenSSL 3.0.19 on this project's machine (trimmed).
    const RSA_OUT: &str = "\
Doing 1024 bits private rsa's for 1s: 11477 1024 bits private RSA's in 1.00s
CPUINFO: OPENSSL_ia32cap=0xfffa3203078bffff:0x405fc6f1bf07ab
                  sign    verify    sign/s verify/s
rsa 1024 bits 0.000087s 0.000006s  11477.0 174301.0
";
    const TDES_OUT: &str = "\
The 'numbers' are in 1000s of bytes per second processed.
type             16 bytes     64 bytes    256 bytes   1024 bytes   8192 bytes  16384 bytes
des-ede3         27207.78k    28176.79k    28172.61k    29288.45k    28467.20k    28503.22k
";

    #[test]
    fn openssl_speed_lines_are_read_in_the_right_units() {
        let rsa = parse_rsa_sign(RSA_OUT, 1024).unwrap();
        assert!((rsa - 87_000.0).abs() < 1e-6, "{rsa}");
        assert_eq!(parse_rsa_sign(RSA_OUT, 2048), None);
        // 8 bytes at 27,207,780 bytes/s = 294.0 ns
        let tdes = parse_cipher_block(TDES_OUT, "des-ede3", 8).unwrap();
        assert!((tdes - 294.03).abs() < 0.01, "{tdes}");
        assert_eq!(parse_cipher_block(TDES_OUT, "aes-128-cbc", 16), None);
        assert_eq!(parse_cipher_block("des-ede3 0.00k", "des-ede3", 8), None);
    }

    #[test]
    fn python_peers_json_is_checked() {
        let ok = r#"{"python":"3.11","versions":{"pyemv":"1.5.0"},
            "peers":{"tdes-block":{"peer":"psec","ns":10274.2}}}"#;
        let found = parse_python_peers(ok).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "tdes-block");
        assert_eq!(found[0].1.1, 10274.2);
        assert!(found[0].1.0.contains("pyemv 1.5.0"), "{}", found[0].1.0);
        let missing = parse_python_peers(r#"{"error":"No module named 'pyemv'"}"#).unwrap_err();
        assert!(missing.contains("pyemv"), "{missing}");
        assert!(parse_python_peers("Traceback").is_err());
        let bad = r#"{"peers":{"tdes-block":{"peer":"psec","ns":-1}}}"#;
        assert!(parse_python_peers(bad).unwrap_err().contains("tdes-block"));
    }

    #[test]
    fn a_missing_peer_is_skipped_with_its_reason_never_guessed() {
        let ours = vec![(
            "tdes-block",
            measurement("crypto", "TDES", "block", 1, Duration::from_nanos(300)),
        )];
        let rows = compare(
            &ours,
            &PeerOptions {
                openssl: "/nonexistent/openssl".into(),
                python: "/nonexistent/python3".into(),
            },
            true,
        );
        assert_eq!(rows.len(), 2, "{rows:?}");
        for r in &rows {
            assert_eq!(r.peer_ns, None);
            assert_eq!(r.ratio, None);
            let why = r.skipped.as_deref().unwrap_or_default();
            assert!(why.contains("did not start"), "{why}");
        }
    }
}
