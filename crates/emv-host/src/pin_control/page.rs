//! The device page (the HTML snapshot): markup, the strict headers, the per-response
//! nonce. The script ([`PAGE_JS`]) and the stylesheet ([`PAGE_CSS`]) are plain files next
//! to this one so they can be read and reviewed as what they are.
//!
//! No PIN is ever in the page (docs/issuer-host.md §6.2): the script fetches it encrypted to a key
//! it made on the device.

use super::{PinControlConfig, Scope, SnapshotView};

/// Where the device POSTs `controlId` (the `pinURL` path).
pub const PIN_PATH: &str = "/pin-control/v1/pin";

/// The page's script: key pair, reveal, decrypt, show, hide and wipe, Set PIN, app hooks.
pub const PAGE_JS: &str = include_str!("page.js");

/// The page's neutral stylesheet; every colour, font and size is a `--pc-*` custom
/// property an issuer can override ([`PinControlConfig::theme_css`]).
pub const PAGE_CSS: &str = include_str!("page.css");

/// The `Content-Security-Policy` of a page with `nonce` (docs/issuer-host.md §6.2: script nonce,
/// `default-src 'none'`, `connect-src 'self'`, configurable `frame-ancestors`).
pub fn content_security_policy(nonce: &str, config: &PinControlConfig) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {}",
        config.frame_ancestors.trim()
    )
}

/// The other strict headers of every PIN Control answer (docs/issuer-host.md §6.2).
pub const STRICT_HEADERS: [(&str, &str); 3] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
];

/// Text safe inside HTML text and double-quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script type="application/json">` element.
fn json_in_script(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn shell(nonce: &str, config: &PinControlConfig, title: &str, body: &str) -> String {
    let theme = config.theme_css.as_deref().unwrap_or("");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{title}</title>\n\
         <style nonce=\"{nonce}\">\n{PAGE_CSS}\n{theme}\n</style>\n</head>\n{body}</html>\n",
        title = esc(title),
    )
}

/// The snapshot page for `snap`.
pub fn render(snap: &SnapshotView, nonce: &str, config: &PinControlConfig) -> String {
    let base = "/pin-control/v1/snapshots";
    let data = serde_json::json!({
        "scope": snap.scope.name(),
        "snapshotId": snap.snapshot_id,
        "viewURL": format!("{base}/{}/view", snap.snapshot_id),
        "setURL": format!("{base}/{}/set", snap.snapshot_id),
        "displaySeconds": config.display_seconds,
        "expiresIn": snap.expires_in,
        "serviceKey": snap.service_key.as_deref()
            .and_then(|k| serde_json::from_str::<serde_json::Value>(k).ok()),
        "pinMin": 4,
        "pinMax": 12,
    });
    let main = match snap.scope {
        Scope::ViewPin => {
            "<main class=\"pc-card\" id=\"pc\">\n\
             <h1 class=\"pc-title\">Your PIN</h1>\n\
             <div class=\"pc-pin\" id=\"pin\" aria-live=\"polite\" data-state=\"loading\">\u{2022}\u{2022}\u{2022}\u{2022}</div>\n\
             <p class=\"pc-status\" id=\"status\" role=\"status\">Decrypting on this device\u{2026}</p>\n\
             <button class=\"pc-button\" id=\"close\" type=\"button\">Close</button>\n\
             </main>\n"
        }
        Scope::SetPin => {
            "<main class=\"pc-card\" id=\"pc\">\n\
             <h1 class=\"pc-title\">Choose a new PIN</h1>\n\
             <form id=\"set-form\" class=\"pc-form\" autocomplete=\"off\" novalidate>\n\
             <label class=\"pc-label\" for=\"pin1\">New PIN (4 to 12 digits)</label>\n\
             <input class=\"pc-input\" id=\"pin1\" type=\"password\" inputmode=\"numeric\" \
             autocomplete=\"off\" maxlength=\"12\" pattern=\"[0-9]*\" required>\n\
             <label class=\"pc-label\" for=\"pin2\">Repeat the new PIN</label>\n\
             <input class=\"pc-input\" id=\"pin2\" type=\"password\" inputmode=\"numeric\" \
             autocomplete=\"off\" maxlength=\"12\" pattern=\"[0-9]*\" required>\n\
             <button class=\"pc-button pc-primary\" id=\"submit\" type=\"submit\">Set PIN</button>\n\
             </form>\n\
             <p class=\"pc-status\" id=\"status\" role=\"status\"></p>\n\
             <button class=\"pc-button\" id=\"close\" type=\"button\">Close</button>\n\
             </main>\n"
        }
    };
    let body = format!(
        "<body data-scope=\"{scope}\">\n{main}\
         <script type=\"application/json\" id=\"pc-data\">{data}</script>\n\
         <script nonce=\"{nonce}\">\n{PAGE_JS}\n</script>\n</body>\n",
        scope = snap.scope.name(),
        data = json_in_script(&data),
    );
    let title = match snap.scope {
        Scope::ViewPin => "Your PIN",
        Scope::SetPin => "Choose a new PIN",
    };
    shell(nonce, config, title, &body)
}

/// A page for a refused controlId (expired, used, tampered...): the reason in words and
/// as `data-code`, and the app hook told (`pin_control_error`).
pub fn render_error(code: &str, message: &str, nonce: &str, config: &PinControlConfig) -> String {
    let data = serde_json::json!({ "error": code });
    let body = format!(
        "<body data-scope=\"ERROR\">\n<main class=\"pc-card\" id=\"pc\">\n\
         <h1 class=\"pc-title\">PIN not available</h1>\n\
         <p class=\"pc-error\" id=\"error\" data-code=\"{code}\">{message}</p>\n\
         <button class=\"pc-button\" id=\"close\" type=\"button\">Close</button>\n</main>\n\
         <script type=\"application/json\" id=\"pc-data\">{data}</script>\n\
         <script nonce=\"{nonce}\">\n{PAGE_JS}\n</script>\n</body>\n",
        code = esc(code),
        message = esc(message),
        data = json_in_script(&data),
    );
    shell(nonce, config, "PIN not available", &body)
}
