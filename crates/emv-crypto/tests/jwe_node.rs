//! Interoperability: plain WebCrypto in Node (no npm packages) decrypts the JWE tokens we
//! make, for ECDH-ES (with and without apu/apv), RSA-OAEP-256 and dir, to the J02/J03 keys
//! and to keys Node generates and exports as JWK (the browser's "View PIN" flow).
//!
//! Skips with a loud message when `node` is not on PATH, unless `EMVBENCH_REQUIRE_NODE=1`.
#![allow(clippy::too_many_lines)] // test tables read top to bottom

use std::io::Write;
use std::process::{Command, Stdio};

use emv_crypto::jwe::{JweEncrypter, PrivateJwk, PublicJwk};
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "vectors/jwe.rs"]
mod vectors;

/// Decrypts `{"cases":[{"token","jwk"}]}` from stdin with WebCrypto and prints the
/// plaintexts as a JSON array of strings. Mirrors what the View PIN page does.
const DECRYPT_JS: &str = r#"
import { webcrypto as crypto } from 'node:crypto';
const subtle = crypto.subtle;
const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const be32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const lp = (bytes) => cat(be32(bytes.length), bytes);
async function concatKdf(z, enc, apu, apv, bits) {
  const other = cat(lp(new TextEncoder().encode(enc)), lp(apu), lp(apv), be32(bits));
  const h = new Uint8Array(await subtle.digest('SHA-256', cat(be32(1), z, other)));
  return h.slice(0, bits / 8);
}
async function decrypt(token, jwk) {
  const [h, ek, iv, ct, tag] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  if (header.enc !== 'A256GCM') throw new Error('enc ' + header.enc);
  let cek;
  if (header.alg === 'ECDH-ES') {
    const priv = await subtle.importKey('jwk', jwk, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    const epk = await subtle.importKey('jwk', header.epk, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const z = new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: epk }, priv, 256));
    cek = await concatKdf(z, header.enc, header.apu ? b64(header.apu) : new Uint8Array(), header.apv ? b64(header.apv) : new Uint8Array(), 256);
  } else if (header.alg === 'RSA-OAEP-256') {
    const priv = await subtle.importKey('jwk', jwk, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']);
    cek = new Uint8Array(await subtle.decrypt({ name: 'RSA-OAEP' }, priv, b64(ek)));
  } else if (header.alg === 'dir') {
    cek = b64(jwk.k);
  } else {
    throw new Error('alg ' + header.alg);
  }
  for (const v of Object.values(header)) if (v === null) throw new Error('null header member');
  const key = await subtle.importKey('raw', cek, 'AES-GCM', false, ['decrypt']);
  const pt = await subtle.decrypt(
    { name: 'AES-GCM', iv: b64(iv), additionalData: new TextEncoder().encode(h), tagLength: 128 },
    key, cat(b64(ct), b64(tag)));
  return new TextDecoder().decode(pt);
}
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', async () => {
  const { cases } = JSON.parse(input);
  const out = [];
  for (const c of cases) out.push(await decrypt(c.token, c.jwk));
  console.log(JSON.stringify(out));
});
"#;

/// Generates a P-256 ECDH key pair and an RSA-OAEP-256 key pair and prints their JWKs,
/// as the browser page does.
const GENERATE_JS: &str = r#"
import { webcrypto as crypto } from 'node:crypto';
const subtle = crypto.subtle;
const ec = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
const rsa = await subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['encrypt', 'decrypt']);
console.log(JSON.stringify({
  ec: { public: await subtle.exportKey('jwk', ec.publicKey), private: await subtle.exportKey('jwk', ec.privateKey) },
  rsa: { public: await subtle.exportKey('jwk', rsa.publicKey), private: await subtle.exportKey('jwk', rsa.privateKey) },
}));
"#;

fn node_found() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Runs an ES module script with `stdin`; returns stdout, or the failure as text.
fn run_node(script: &str, stdin: &str) -> Result<String, String> {
    let mut child = Command::new("node")
        .args(["--input-type=module", "-e", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(stdin.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `true` if the test should run; prints a loud skip message otherwise.
fn node_or_skip() -> bool {
    if node_found() {
        return true;
    }
    assert!(
        std::env::var("EMVBENCH_REQUIRE_NODE").as_deref() != Ok("1"),
        "EMVBENCH_REQUIRE_NODE=1 but `node` was not found on PATH"
    );
    // Written to the real stderr, not through `eprintln!`, so libtest's output capture
    // does not hide it.
    let _ = std::io::stderr().write_all(
        b"\n**********************************************************************\n\
          *** SKIPPED jwe_node: `node` not found on PATH; WebCrypto interop  ***\n\
          *** NOT tested. Set EMVBENCH_REQUIRE_NODE=1 to make this an error. ***\n\
          **********************************************************************\n",
    );
    false
}

#[test]
fn webcrypto_decrypts_our_tokens_for_the_reference_keys() {
    if !node_or_skip() {
        return;
    }
    let plaintext = vectors::PLAINTEXT;
    let rsa_private: Value = serde_json::from_str(vectors::J02_PRIVATE_JWK).unwrap();
    let ec_private: Value = serde_json::from_str(vectors::J03_PRIVATE_JWK).unwrap();
    let dir_key: Value = serde_json::from_str(vectors::J01_JWK).unwrap();
    let rsa = PrivateJwk::from_json(vectors::J02_PRIVATE_JWK)
        .unwrap()
        .public_jwk()
        .unwrap();
    let ec = PrivateJwk::from_json(vectors::J03_PRIVATE_JWK)
        .unwrap()
        .public_jwk()
        .unwrap();
    let dir = PrivateJwk::from_json(vectors::J01_JWK).unwrap();

    let cases = json!({ "cases": [
        { "token": JweEncrypter::new(&ec).kid("viewpin-ec-1").encrypt(plaintext.as_bytes()).unwrap(), "jwk": ec_private },
        { "token": JweEncrypter::new(&ec).agreement_info(b"host", b"browser").content_type("application/json").encrypt(plaintext.as_bytes()).unwrap(), "jwk": ec_private },
        { "token": JweEncrypter::new(&rsa).encrypt(plaintext.as_bytes()).unwrap(), "jwk": rsa_private },
        { "token": JweEncrypter::direct_jwk(&dir).unwrap().encrypt(plaintext.as_bytes()).unwrap(), "jwk": dir_key },
        { "token": vectors::J01_TOKEN, "jwk": dir_key },
    ]});
    let out = run_node(DECRYPT_JS, &cases.to_string()).unwrap();
    let got: Vec<String> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(got, vec![plaintext.to_owned(); 5]);
}

#[test]
fn webcrypto_generated_keys_round_trip() {
    if !node_or_skip() {
        return;
    }
    let keys: Value = serde_json::from_str(run_node(GENERATE_JS, "").unwrap().trim()).unwrap();
    let mut cases = Vec::new();
    for kind in ["ec", "rsa"] {
        // Import the public JWK exactly as WebCrypto exported it (with ext, key_ops, alg).
        let public = PublicJwk::from_value(&keys[kind]["public"]).unwrap();
        let token = JweEncrypter::new(&public).encrypt(b"PIN 4321").unwrap();
        cases.push(json!({ "token": token, "jwk": keys[kind]["private"] }));
    }
    let out = run_node(DECRYPT_JS, &json!({ "cases": cases }).to_string()).unwrap();
    let got: Vec<String> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(got, ["PIN 4321", "PIN 4321"]);

    // And our decrypt opens tokens for those keys (private JWKs as WebCrypto exports them).
    for kind in ["ec", "rsa"] {
        let private = PrivateJwk::from_json(&keys[kind]["private"].to_string()).unwrap();
        let public = private.public_jwk().unwrap();
        let token = JweEncrypter::new(&public).encrypt(b"x").unwrap();
        assert_eq!(
            emv_crypto::jwe::decrypt(&token, &private)
                .unwrap()
                .plaintext
                .as_slice(),
            b"x"
        );
    }
}
