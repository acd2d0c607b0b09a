// PIN Control device page (emvbench): docs/pin.md §7 steps 4-6, docs/issuer-host.md §6.3-§6.4.
// The PIN reaches this page only as a JWE (ECDH-ES + A256GCM) encrypted to a P-256 key made
// here with WebCrypto (private key non-extractable); it is decrypted here, shown for
// displaySeconds, then hidden and its bytes wiped. Set PIN encrypts the chosen PIN to the
// snapshot's service key the same way. App hooks: see notify().
(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('pc-data').textContent);
  const $ = (id) => document.getElementById(id);
  const subtle = window.crypto && window.crypto.subtle;
  const te = new TextEncoder();
  const EC = { name: 'ECDH', namedCurve: 'P-256' };
  const DOTS = '\u2022\u2022\u2022\u2022';

  // Tell the embedding app (docs/issuer-host.md §6.5 callback names: view_pin_success,
  // view_pin_error, set_pin_success, set_pin_error, set_pin_validation_error; plus
  // pin_closed and pin_control_error): iframe parent and opener by postMessage (no secret
  // in the message), Android JS interface `android_handler`, iOS WKWebView message handler
  // `ios_handler`, React Native WebView, and a `pin-control` DOM event.
  function notify(event, extra) {
    const msg = Object.assign({ source: 'emvbench-pin-control', event: event, scope: data.scope || null }, extra || {});
    const hooks = [
      () => { if (window.parent && window.parent !== window) window.parent.postMessage(msg, '*'); },
      () => { if (window.opener) window.opener.postMessage(msg, '*'); },
      () => { const h = window.android_handler; if (h && typeof h[event] === 'function') h[event](); },
      () => { const w = window.webkit; if (w && w.messageHandlers && w.messageHandlers.ios_handler) w.messageHandlers.ios_handler.postMessage(msg); },
      () => { if (window.ReactNativeWebView) window.ReactNativeWebView.postMessage(JSON.stringify(msg)); },
      () => { document.dispatchEvent(new CustomEvent('pin-control', { detail: msg })); },
    ];
    for (const hook of hooks) {
      try { hook(); } catch (e) { /* an absent or failing bridge must not break the page */ }
    }
  }

  function status(text, kind) {
    const s = $('status');
    if (!s) return;
    s.textContent = text;
    if (kind) s.dataset.kind = kind; else delete s.dataset.kind;
  }

  // base64url without padding (RFC 7515 §2)
  function b64u(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function unb64u(str) {
    const s = atob(str.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((str.length + 3) % 4));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const be32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  function cat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  const lp = (b) => cat(be32(b.length), b);

  // ECDH-ES content key (RFC 7518 §4.6.2): Concat KDF, one SHA-256 round, 256 bits,
  // AlgorithmID = "A256GCM", PartyUInfo = apu, PartyVInfo = apv (the snapshot id).
  async function contentKey(privateKey, publicKey, apu, apv) {
    const z = new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: publicKey }, privateKey, 256));
    const input = cat(be32(1), z, lp(te.encode('A256GCM')), lp(apu), lp(apv), be32(256));
    const raw = new Uint8Array(await subtle.digest('SHA-256', input));
    z.fill(0);
    input.fill(0);
    const key = await subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    raw.fill(0);
    return key;
  }
  const ecPublic = (jwk) => subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, EC, false, []);

  // Compact JWE decryption (RFC 7516 §5.2), ECDH-ES + A256GCM only.
  async function jweDecrypt(token, privateKey) {
    const parts = token.split('.');
    if (parts.length !== 5 || parts[1] !== '') throw new Error('The answer is not an ECDH-ES JWE.');
    const header = JSON.parse(new TextDecoder().decode(unb64u(parts[0])));
    if (header.alg !== 'ECDH-ES' || header.enc !== 'A256GCM' || !header.epk) throw new Error('Unexpected JWE header.');
    const apv = header.apv ? unb64u(header.apv) : new Uint8Array(0);
    if (new TextDecoder().decode(apv) !== data.snapshotId) throw new Error('The PIN was encrypted for another page.');
    const key = await contentKey(privateKey, await ecPublic(header.epk), header.apu ? unb64u(header.apu) : new Uint8Array(0), apv);
    const pt = await subtle.decrypt(
      { name: 'AES-GCM', iv: unb64u(parts[2]), additionalData: te.encode(parts[0]), tagLength: 128 },
      key, cat(unb64u(parts[3]), unb64u(parts[4])));
    return new Uint8Array(pt);
  }

  // Compact JWE encryption (RFC 7516 §5.1) to the service's key, ECDH-ES + A256GCM.
  async function jweEncrypt(plaintext, recipientJwk) {
    const eph = await subtle.generateKey(EC, false, ['deriveBits']);
    const epk = await subtle.exportKey('jwk', eph.publicKey);
    const apv = te.encode(data.snapshotId);
    const header = { alg: 'ECDH-ES', enc: 'A256GCM', epk: { kty: 'EC', crv: 'P-256', x: epk.x, y: epk.y }, apv: b64u(apv) };
    const protectedHeader = b64u(te.encode(JSON.stringify(header)));
    const key = await contentKey(eph.privateKey, await ecPublic(recipientJwk), new Uint8Array(0), apv);
    const iv = window.crypto.getRandomValues(new Uint8Array(12));
    const out = new Uint8Array(await subtle.encrypt(
      { name: 'AES-GCM', iv: iv, additionalData: te.encode(protectedHeader), tagLength: 128 }, key, plaintext));
    return [protectedHeader, '', b64u(iv), b64u(out.subarray(0, out.length - 16)), b64u(out.subarray(out.length - 16))].join('.');
  }

  async function postJson(url, body) {
    const r = await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
    });
    let j = null;
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    if (!r.ok) {
      const err = new Error((j && j.detail) || ('HTTP ' + r.status));
      err.code = j && j.error;
      err.status = r.status;
      throw err;
    }
    return j;
  }

  let closed = false;
  let timer = null;
  let tick = null;
  // Hide and wipe (docs/pin.md §7 step 6), then tell the app.
  function close(reason) {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    clearInterval(tick);
    const p = $('pin');
    if (p) { p.textContent = DOTS; p.dataset.state = 'hidden'; }
    for (const id of ['pin1', 'pin2']) { const i = $(id); if (i) i.value = ''; }
    const f = $('set-form');
    if (f) f.hidden = true;
    if (!data.error) status(reason === 'timeout' ? 'The PIN is hidden again.' : 'Closed.');
    notify('pin_closed', { reason: reason });
  }

  async function view() {
    if (!subtle) throw new Error('This browser has no WebCrypto: the PIN cannot be shown safely.');
    const pair = await subtle.generateKey(EC, false, ['deriveBits']);
    const jwk = await subtle.exportKey('jwk', pair.publicKey);
    const answer = await postJson(data.viewURL, { publicKey: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } });
    const digits = await jweDecrypt(answer.pin, pair.privateKey);
    if (closed) { digits.fill(0); return; }
    const p = $('pin');
    p.textContent = new TextDecoder().decode(digits);
    digits.fill(0);
    p.dataset.state = 'shown';
    const seconds = answer.displaySeconds || data.displaySeconds;
    let left = seconds;
    status('Hidden again in ' + left + ' s');
    tick = setInterval(() => { left -= 1; if (left > 0) status('Hidden again in ' + left + ' s'); }, 1000);
    timer = setTimeout(() => close('timeout'), seconds * 1000);
    notify('view_pin_success');
  }

  function setPin() {
    const form = $('set-form');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const a = $('pin1');
      const b = $('pin2');
      if (!/^[0-9]{4,12}$/.test(a.value)) {
        status('The PIN must be 4 to 12 digits.', 'error');
        notify('set_pin_validation_error', { code: 'invalid-pin' });
        return;
      }
      if (a.value !== b.value) {
        status('The two PINs are not the same.', 'error');
        notify('set_pin_validation_error', { code: 'pins-differ' });
        return;
      }
      const pt = te.encode(a.value);
      a.value = '';
      b.value = '';
      $('submit').disabled = true;
      status('Encrypting on this device\u2026');
      try {
        const token = await jweEncrypt(pt, data.serviceKey);
        pt.fill(0);
        const r = await postJson(data.setURL, { encryptedPin: token });
        form.hidden = true;
        status(r.message, 'ok');
        notify('set_pin_success');
      } catch (e) {
        pt.fill(0);
        status(e.message || 'The PIN could not be set.', 'error');
        if (e.status === 422) {
          $('submit').disabled = false;
          notify('set_pin_validation_error', { code: e.code || 'invalid-pin' });
        } else {
          form.hidden = true;
          notify('set_pin_error', { code: e.code || 'error' });
        }
      }
    });
  }

  const closeButton = $('close');
  if (closeButton) closeButton.addEventListener('click', () => close('user'));
  document.addEventListener('visibilitychange', () => { if (document.hidden && data.scope === 'VIEW_PIN') close('hidden'); });
  if (data.error) {
    notify('pin_control_error', { code: data.error });
  } else if (data.scope === 'VIEW_PIN') {
    view().catch((e) => {
      const p = $('pin');
      if (p) p.dataset.state = 'error';
      status(e.message || 'The PIN could not be shown.', 'error');
      notify('view_pin_error', { code: e.code || 'error' });
    });
  } else if (data.scope === 'SET_PIN') {
    setPin();
  }
})();
