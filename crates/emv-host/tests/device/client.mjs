// An independent PIN Control client (docs/issuer-host.md §6): plain fetch + WebCrypto, no
// project code. Plays the issuer back-end (token with the API key) and the device (posts
// controlId, makes its own P-256 key pair, decrypts the ECDH-ES JWE). Reads its settings as
// JSON on stdin; prints one JSON object with what it saw.
import { webcrypto as crypto } from 'node:crypto';
const subtle = crypto.subtle;
const te = new TextEncoder();
const EC = { name: 'ECDH', namedCurve: 'P-256' };

const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const b64e = (b) => Buffer.from(b).toString('base64url');
const be32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const cat = (...p) => { const o = new Uint8Array(p.reduce((n, x) => n + x.length, 0)); let i = 0; for (const x of p) { o.set(x, i); i += x.length; } return o; };
const lp = (b) => cat(be32(b.length), b);
async function cek(priv, pub, apu, apv) {
  const z = new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: pub }, priv, 256));
  const k = new Uint8Array(await subtle.digest('SHA-256', cat(be32(1), z, lp(te.encode('A256GCM')), lp(apu), lp(apv), be32(256))));
  return subtle.importKey('raw', k, 'AES-GCM', false, ['encrypt', 'decrypt']);
}
const pubKey = (j) => subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: j.x, y: j.y }, EC, false, []);
async function decrypt(token, priv) {
  const [h, ek, iv, ct, tag] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  if (header.alg !== 'ECDH-ES' || header.enc !== 'A256GCM' || ek !== '') throw new Error('header ' + JSON.stringify(header));
  const key = await cek(priv, await pubKey(header.epk), header.apu ? b64(header.apu) : new Uint8Array(), header.apv ? b64(header.apv) : new Uint8Array());
  const pt = await subtle.decrypt({ name: 'AES-GCM', iv: b64(iv), additionalData: te.encode(h) }, key, cat(b64(ct), b64(tag)));
  return { text: new TextDecoder().decode(pt), apv: header.apv ? Buffer.from(b64(header.apv)).toString() : '' };
}
async function encrypt(text, recipient, apvText) {
  const eph = await subtle.generateKey(EC, true, ['deriveBits']);
  const epk = await subtle.exportKey('jwk', eph.publicKey);
  const apv = te.encode(apvText);
  const h = b64e(te.encode(JSON.stringify({ alg: 'ECDH-ES', enc: 'A256GCM', epk: { kty: 'EC', crv: 'P-256', x: epk.x, y: epk.y }, apv: b64e(apv) })));
  const key = await cek(eph.privateKey, await pubKey(recipient), new Uint8Array(), apv);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const out = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: te.encode(h) }, key, te.encode(text)));
  return [h, '', b64e(iv), b64e(out.slice(0, -16)), b64e(out.slice(-16))].join('.');
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const cfg = JSON.parse(input);
const out = {};

async function token(scope) {
  const r = await fetch(`${cfg.base}/pin-control/v1/plastics/${encodeURIComponent(cfg.plasticId)}/token`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${cfg.apiKey}` }, body: JSON.stringify({ scope }),
  });
  if (r.status !== 200) throw new Error(`token: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}
async function openPage(pinURL, id) {
  const r = await fetch(pinURL, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ controlId: id }) });
  const html = await r.text();
  const m = html.match(/<script type="application\/json" id="pc-data">([\s\S]*?)<\/script>/);
  return { status: r.status, html, csp: r.headers.get('content-security-policy'), data: m ? JSON.parse(m[1]) : null };
}
async function postJson(path, body) {
  const r = await fetch(new URL(path, cfg.base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

// View PIN
const t = await token('VIEW_PIN');
out.expiresIn = t.expiresIn;
out.plasticStatus = t.plasticStatus;
const page = await openPage(t.pinURL, t.id);
out.pageStatus = page.status;
out.csp = page.csp;
out.pageHasPin = page.html.includes(cfg.expectPin);
const pair = await subtle.generateKey(EC, false, ['deriveBits']);
const jwk = await subtle.exportKey('jwk', pair.publicKey);
const v = await postJson(page.data.viewURL, { publicKey: jwk });
out.viewStatus = v.status;
const d = await decrypt(v.body.pin, pair.privateKey);
out.pin = d.text;
out.apvIsSnapshot = d.apv === page.data.snapshotId;
out.secondReveal = (await postJson(page.data.viewURL, { publicKey: jwk })).status;
out.revealWithoutSnapshot = (await postJson('/pin-control/v1/snapshots/00000000000000000000000000000000/view', { publicKey: jwk })).status;
out.replay = (await openPage(t.pinURL, t.id)).status;
// tampered: flip one character of the ciphertext
const parts = t.id.split('.');
parts[3] = (parts[3][0] === 'A' ? 'B' : 'A') + parts[3].slice(1);
out.tampered = (await openPage(t.pinURL, parts.join('.'))).status;
out.expired = (await openPage(t.pinURL, cfg.expiredId)).status;

// Set PIN: a trivial PIN first, then the new one
const s = await token('SET_PIN');
const sp = await openPage(s.pinURL, s.id);
const weak = await postJson(sp.data.setURL, { encryptedPin: await encrypt(cfg.weakPin, sp.data.serviceKey, sp.data.snapshotId) });
out.weakStatus = weak.status;
out.weakError = weak.body.error;
out.weakDetail = weak.body.detail;
const set = await postJson(sp.data.setURL, { encryptedPin: await encrypt(cfg.newPin, sp.data.serviceKey, sp.data.snapshotId) });
out.setStatus = set.status;
out.setResult = set.body.result;
console.log(JSON.stringify(out));
